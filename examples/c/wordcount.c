/* wordcount.c: counts the words of a text file.
 *
 *   wordcount [-r DIR -s SECONDS -b SECONDS] FILE
 *
 * prints ('word', count) for every word of FILE, in alphabetical order.
 * Words are runs of letters (with apostrophes inside them, as in "don't"),
 * lower-cased. With -r, a later run over the same file that grew counts
 * only what was added, on top of the restored counts.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <flow.h>

/* A line becomes the array of its words: flat_map emits each. */
static GVariant *
tokenize (GVariant  *line,
          gpointer   user_data,
          GError   **error)
{
  g_autofree char *lower = g_utf8_strdown (g_variant_get_string (line, NULL), -1);
  GVariantBuilder words;
  GString *word = g_string_new (NULL);

  g_variant_builder_init (&words, G_VARIANT_TYPE_STRING_ARRAY);
  for (const char *p = lower; ; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isalpha (c) ||
          (c == '\'' && word->len > 0 && g_unichar_isalpha (g_utf8_get_char (g_utf8_next_char (p)))))
        g_string_append_unichar (word, c);
      else if (word->len > 0)
        {
          g_variant_builder_add (&words, "s", word->str);
          g_string_truncate (word, 0);
        }
      if (c == 0)
        break;
    }
  g_string_free (word, TRUE);
  return g_variant_builder_end (&words);
}

static char *
the_word (GVariant  *word,
          gpointer   user_data,
          GError   **error)
{
  return g_variant_dup_string (word, NULL);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("wordcount");
  g_autoptr(FlowRunner) runner = flow_runner_new (flow);
  g_autoptr(FlowFileSource) source = NULL;
  g_autoptr(FlowStdOutSink) sink = flow_std_out_sink_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) args = g_strdupv (argv);
  FlowStream *s;

  /* The standard options first; what remains is the file. */
  if (!flow_runner_parse_args (runner, &args, &error) || g_strv_length (args) != 2)
    {
      g_printerr ("Usage: %s [-r DIR -s SECONDS -b SECONDS] FILE\n%s%s",
                  argv[0], error ? error->message : "", error ? "\n" : "");
      return 2;
    }
  source = flow_file_source_new (args[1]);

  s = flow_dataflow_input (flow, "lines", FLOW_SOURCE (source));
  s = flow_stream_flat_map (s, "words", tokenize, NULL, NULL);
  s = flow_stream_count_final (s, "count", the_word, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));

  if (!flow_runner_run (runner, NULL, &error))
    {
      g_printerr ("%s: %s\n", argv[0], error->message);
      return 1;
    }
  return 0;
}
