/* recovery.c: the seed tutorial's dataflow in C.
 *
 * A running sum over the input, keyed on "ALL", printed to standard output.
 * Run it with -r DIR -s 30 -b 180 after 'flow-recovery init DIR 1'; run it
 * again with other input and it continues from the restored sum.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <flow.h>

/* The tutorial changes this to 3, 4 before the second run; the build makes
 * both programs (recovery and recovery-second). */
#ifndef INP
#define INP 0, 1, 2
#endif

static char *
key_all (GVariant  *item,
         gpointer   user_data,
         GError   **error)
{
  return g_strdup ("ALL");
}

static GVariant *
zero (gpointer   user_data,
      GError   **error)
{
  return g_variant_new_int64 (0);
}

static GVariant *
update_sum (GVariant  *current_sum,
            GVariant  *new_item,
            GVariant **emit,
            gpointer   user_data,
            GError   **error)
{
  gint64 updated_sum = g_variant_get_int64 (current_sum) + g_variant_get_int64 (new_item);

  *emit = g_variant_new_int64 (updated_sum);
  return g_variant_new_int64 (updated_sum);
}

int
main (int    argc,
      char **argv)
{
  static const gint64 inp[] = { INP };
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("recovery");
  g_autoptr(FlowTestingSource) source = NULL;
  g_autoptr(FlowStdOutSink) sink = flow_std_out_sink_new ();
  g_autoptr(FlowRunner) runner = NULL;
  FlowStream *input_stream, *keyed_stream, *total_sum_stream;

  source = flow_testing_source_new (g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, inp,
                                                               G_N_ELEMENTS (inp), sizeof inp[0]));

  input_stream = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  /* Stateful operators require their input to be keyed; the static key
   * "ALL" processes all input together. */
  keyed_stream = flow_stream_key_on (input_stream, "key_stream", key_all, NULL, NULL);
  total_sum_stream = flow_stream_stateful_map (keyed_stream, "running_count",
                                               zero, NULL, NULL,
                                               update_sum, NULL, NULL);
  flow_stream_output (total_sum_stream, "out", FLOW_SINK (sink));

  runner = flow_runner_new (flow);
  return flow_runner_run_with_args (runner, argc, argv);
}
