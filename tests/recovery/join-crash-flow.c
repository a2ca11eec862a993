/* join-crash-flow.c: the join the join crash test kills and resumes.
 *
 *   join-crash-flow MODE LEFT RIGHT OUTPUT PROGRESS [RUNNER OPTIONS]
 *
 * LEFT and RIGHT are files of numbers, one a line. Each line n becomes
 * the item ('k%06u' of n, n) on its side (the right side's value is 2n);
 * the two sides are joined (MODE: "complete" emits each key when both its
 * values are there, "final" every key at the end of input, with the
 * "product" insert mode) into the file OUTPUT. Every left line is also
 * written to PROGRESS, which the test watches to kill at a moment when
 * the join holds state.
 *
 * Environment: JOIN_CRASH_BATCH sets the file sources' batch size.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>
#include <string.h>

#include <flow.h>

static char *
key_of (GVariant  *item,
        gpointer   user_data,
        GError   **error)
{
  guint64 n;

  if (!g_ascii_string_to_unsigned (g_variant_get_string (item, NULL), 10, 0, G_MAXUINT32, &n, error))
    return NULL;
  return g_strdup_printf ("k%06u", (guint) n);
}

static GVariant *
number (GVariant  *line,
        gpointer   user_data,
        GError   **error)
{
  guint64 n;

  if (!g_ascii_string_to_unsigned (g_variant_get_string (line, NULL), 10, 0, G_MAXUINT32, &n, error))
    return NULL;
  return g_variant_new_int64 ((gint64) n * GPOINTER_TO_INT (user_data));
}

static FlowStream *
side (FlowDataflow  *flow,
      const char    *name,
      const char    *path,
      int            factor,
      guint          batch,
      FlowStream   **lines)
{
  g_autoptr(FlowFileSource) source = flow_file_source_new (path);
  g_autofree char *key_id = g_strconcat ("key_", name, NULL);
  g_autofree char *value_id = g_strconcat ("value_", name, NULL);
  FlowStream *s;

  if (batch > 0)
    flow_file_source_set_batch_size (source, batch);
  *lines = flow_dataflow_input (flow, name, FLOW_SOURCE (source));
  s = flow_stream_key_on (*lines, key_id, key_of, NULL, NULL);
  return flow_stream_map_value (s, value_id, number, GINT_TO_POINTER (factor), NULL);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("joincrash");
  g_autoptr(FlowFileSink) sink = NULL;
  g_autoptr(FlowFileSink) progress = NULL;
  g_autoptr(FlowRunner) runner = NULL;
  const char *batch_s = g_getenv ("JOIN_CRASH_BATCH");
  guint batch = batch_s ? (guint) atoi (batch_s) : 0;
  FlowStream *left, *right, *left_lines, *right_lines, *joined;
  gboolean final;

  if (argc < 6 || (!g_str_equal (argv[1], "complete") && !g_str_equal (argv[1], "final")))
    {
      g_printerr ("usage: %s complete|final LEFT RIGHT OUTPUT PROGRESS [RUNNER OPTIONS]\n", argv[0]);
      return 2;
    }
  final = g_str_equal (argv[1], "final");

  left = side (flow, "left", argv[2], 1, batch, &left_lines);
  right = side (flow, "right", argv[3], 2, batch, &right_lines);
  joined = flow_stream_join (left, "join", &right, 1,
                             final ? FLOW_JOIN_INSERT_MODE_PRODUCT : FLOW_JOIN_INSERT_MODE_LAST,
                             final ? FLOW_JOIN_EMIT_MODE_FINAL : FLOW_JOIN_EMIT_MODE_COMPLETE);
  sink = flow_file_sink_new (argv[4]);
  flow_stream_output (joined, "out", FLOW_SINK (sink));
  progress = flow_file_sink_new (argv[5]);
  flow_stream_output (left_lines, "progress", FLOW_SINK (progress));

  runner = flow_runner_new (flow);
  /* argv[1..5] are ours: the runner sees the program name and the
   * options after them. */
  argv[5] = argv[0];
  return flow_runner_run_with_args (runner, argc - 5, argv + 5);
}
