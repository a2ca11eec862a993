/* bench-fanout: main-loop gaps during run_async() of a flat_map-heavy flow
 *
 * A 10 ms timeout on the caller's context records the time between its
 * dispatches while FileSource → flat_map (one line → --words words) →
 * key_on → stateful_map (count per word) → FileSink runs, without
 * recovery, with the source's batch size (--batch-size; 0: the
 * FileSource default of 1000 lines). The baseline is the same timeout on an
 * idle context for as long as the run took. Printed: p50, p99 and max of
 * the gaps of both, and the ratio of the maxima.
 *
 * libflow pushes a batch into the graph in sub-batches sized by the
 * measured cost of an item and yields after about 10 ms of work, so a
 * gap should be about 10 ms plus at most one such dispatch (before the
 * split by time, a dispatch lasted a whole batch's fan-out: batch size ×
 * words per line items of work).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <flow.h>

#include "bench-common.h"
#include "bench-gaps-common.h"
#include <stdio.h>
#include <string.h>


static GVariant *
split (GVariant *item, gpointer user_data, GError **error)
{
  g_auto(GStrv) words = g_strsplit (g_variant_get_string (item, NULL), " ", -1);
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("as"));
  for (guint i = 0; words[i] != NULL; i++)
    if (words[i][0] != '\0')
      g_variant_builder_add (&b, "s", words[i]);
  return g_variant_builder_end (&b);
}

static char *
key_of (GVariant *item, gpointer user_data, GError **error)
{
  return g_variant_dup_string (item, NULL);
}

static GVariant *
count (GVariant *n, GVariant *value, GVariant **emit, gpointer user_data, GError **error)
{
  gint64 total = (n != NULL ? g_variant_get_int64 (n) : 0) + 1;

  *emit = g_variant_new_int64 (total);
  return g_variant_new_int64 (total);
}


int
main (int argc, char **argv)
{
  gint64 lines = 20000;
  int words = 50, batch_size = 0;
  GOptionEntry entries[] = {
    { "lines", 'n', 0, G_OPTION_ARG_INT64, &lines, "Lines of input (default 20000)", "N" },
    { "words", 'k', 0, G_OPTION_ARG_INT, &words, "Words per line (default 50)", "K" },
    { "batch-size", 'B', 0, G_OPTION_ARG_INT, &batch_size, "Lines per input batch (default: FileSource's)", "B" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- main-loop gaps of a fan-out flow");
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = bench_tmp_dir_new ();
  g_autofree char *input = NULL, *output = NULL;
  g_autoptr(FlowDataflow) flow = NULL;
  g_autoptr(FlowRunner) runner = NULL;
  g_autoptr(FlowFileSink) sink = NULL;
  g_autoptr(FlowFileSource) source = NULL;
  BenchGaps gaps = { NULL, NULL, 0 };
  gint64 took;
  GString *text;
  FlowStream *s;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    g_error ("%s", error->message);

  input = g_build_filename (dir, "in.txt", NULL);
  output = g_build_filename (dir, "out.txt", NULL);
  text = g_string_new (NULL);
  for (gint64 i = 0; i < lines; i++)
    {
      for (int w = 0; w < words; w++)
        g_string_append_printf (text, "%sw%" G_GINT64_FORMAT, w ? " " : "", (i * 31 + w * 7) % 5000);
      g_string_append_c (text, '\n');
    }
  if (!g_file_set_contents (input, text->str, text->len, &error))
    g_error ("setting up: %s", error->message);
  g_string_free (text, TRUE);

  flow = flow_dataflow_new ("fanout");
  source = flow_file_source_new (input);
  if (batch_size > 0)
    g_object_set (source, "batch-size", (guint) batch_size, NULL);
  sink = flow_file_sink_new (output);
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_flat_map (s, "split", split, NULL, NULL);
  s = flow_stream_key_on (s, "key", key_of, NULL, NULL);
  s = flow_stream_stateful_map (s, "count", NULL, NULL, NULL, count, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));
  runner = flow_runner_new (flow);

  bench_gaps_measure (runner, &gaps);
  took = gaps.took;

  {
    guint bs = 0;
    g_object_get (source, "batch-size", &bs, NULL);
    printf ("bench-fanout: %" G_GINT64_FORMAT " lines x %d words, batch %u lines "
            "(%u items per batch after flat_map), run took %.2f s (%.2f M words/s)\n",
            lines, words, bs, bs * words, took / 1e6, lines * words / (took / 1e6) / 1e6);
  }
  bench_gaps_report (&gaps);

  bench_gaps_clear (&gaps);
  bench_remove_dir (dir);
  return 0;
}
