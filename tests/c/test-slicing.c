/* test-slicing.c: an input batch is pushed into the graph in sub-batches
 * (time slices of the main loop); what a run produces does not depend on
 * where the batches are split, and an epoch closes only once every item
 * read was pushed
 *
 * The split points are fixed with flow_exec_set_test_slice_items() (a
 * sub-batch of N items per dispatch), so nothing here depends on speed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "flow-test-utils.h"
#include "flow-exec-private.h"

#define N_LINES 90
#define BATCH 30

/* What the flat_map saw, and what it does to the test clock. */
static guint lines_seen;
static GTimeSpan advance_per_line;
static GCancellable *cancel_at_line_cancellable;
static guint cancel_at_line;

/* Line @i: 1 to 5 words out of 11. */
static GVariant *
make_lines (void)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("av"));
  for (guint i = 0; i < N_LINES; i++)
    {
      g_autoptr(GString) line = g_string_new (NULL);

      for (guint j = 0; j <= i % 5; j++)
        g_string_append_printf (line, "%sw%u", j > 0 ? " " : "", (i * 7 + j * 3) % 11);
      g_variant_builder_add (&b, "v", g_variant_new_string (line->str));
    }
  return g_variant_builder_end (&b);
}

static GVariant *
split_words (GVariant  *item,
             gpointer   data,
             GError   **error)
{
  g_auto(GStrv) words = g_strsplit (g_variant_get_string (item, NULL), " ", -1);

  lines_seen++;
  if (advance_per_line > 0)
    flow_clock_advance (flow_test_clock (), advance_per_line);
  if (cancel_at_line > 0 && lines_seen == cancel_at_line)
    g_cancellable_cancel (cancel_at_line_cancellable);
  return g_variant_new_strv ((const char * const *) words, -1);
}

static char *
word_key (GVariant  *item,
          gpointer   data,
          GError   **error)
{
  return g_variant_dup_string (item, NULL);
}

static GVariant *
zero (gpointer   data,
      GError   **error)
{
  return g_variant_new_int64 (0);
}

static GVariant *
count (GVariant  *state,
       GVariant  *value,
       GVariant **emit,
       gpointer   data,
       GError   **error)
{
  gint64 n = g_variant_get_int64 (state) + 1;

  *emit = g_variant_new_int64 (n);
  return g_variant_new_int64 (n);
}

/* lines → flat_map (words) → key_on → stateful_map (count) → sink */
static FlowDataflow *
word_count_flow (FlowTestingSink *sink)
{
  FlowDataflow *flow = flow_dataflow_new ("slicing");
  g_autoptr(FlowTestingSource) source = flow_testing_source_new (make_lines ());
  FlowStream *s;

  flow_testing_source_set_batch_size (source, BATCH);
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_flat_map (s, "split", split_words, NULL, NULL);
  s = flow_stream_key_on (s, "key", word_key, NULL, NULL);
  s = flow_stream_stateful_map (s, "count", zero, NULL, NULL, count, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));
  return flow;
}

/* The counts computed here, without libflow: one per word, in order. */
static GStrv
expected_counts (void)
{
  g_autoptr(GVariant) lines = g_variant_ref_sink (make_lines ());
  g_autoptr(GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GStrvBuilder) out = g_strv_builder_new ();

  for (gsize i = 0; i < g_variant_n_children (lines); i++)
    {
      g_autoptr(GVariant) boxed = g_variant_get_child_value (lines, i);
      g_autoptr(GVariant) line = g_variant_get_variant (boxed);
      g_auto(GStrv) words = g_strsplit (g_variant_get_string (line, NULL), " ", -1);

      for (guint j = 0; words[j] != NULL; j++)
        {
          guint n = GPOINTER_TO_UINT (g_hash_table_lookup (counts, words[j])) + 1;
          g_autofree char *repr = g_strdup_printf ("('%s', %u)", words[j], n);

          g_hash_table_replace (counts, g_strdup (words[j]), GUINT_TO_POINTER (n));
          g_strv_builder_add (out, repr);
        }
    }
  return g_strv_builder_end (out);
}

static void
reset (void)
{
  lines_seen = 0;
  advance_per_line = 0;
  cancel_at_line = 0;
  cancel_at_line_cancellable = NULL;
}

/* The same items in the same order, however the batches are split. */
static void
test_same_output (void)
{
  static const guint sizes[] = { 0, 1, 4, 29, 64 };
  g_auto(GStrv) expected = expected_counts ();

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
      g_autoptr(FlowDataflow) flow = word_count_flow (sink);
      g_autoptr(GError) error = NULL;
      g_auto(GStrv) got = NULL;

      reset ();
      flow_exec_set_test_slice_items (sizes[i]);
      flow_test_run (flow, &error);
      g_assert_no_error (error);
      got = flow_test_sink_reprs (sink);
      g_assert_cmpstrv (got, expected);
      g_assert_cmpuint (lines_seen, ==, N_LINES);
    }
  flow_exec_set_test_slice_items (0);
}

static void
epoch_closed_cb (FlowRunner *runner,
                 guint64     epoch,
                 GArray     *seen)
{
  g_array_append_val (seen, lines_seen);
}

/* The clock passes the epoch's deadline in the middle of a batch: the
 * close waits until the rest of the batch was pushed, since the source's
 * snapshot (its read position) covers the whole batch. */
static void
test_epoch_waits_for_pending (gconstpointer data)
{
  guint slice = GPOINTER_TO_UINT (data);
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = word_count_flow (sink);
  g_autoptr(FlowRunner) runner = flow_runner_new (flow);
  g_autoptr(GArray) seen = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) expected = expected_counts ();
  g_auto(GStrv) got = NULL;

  reset ();
  flow_exec_set_test_slice_items (slice);
  /* A batch takes 30 × 0.3 s of the test clock: three epochs' worth. */
  advance_per_line = 300 * 1000;
  flow_runner_set_snapshot_interval (runner, 1.0);
  g_signal_connect (runner, "epoch-closed", G_CALLBACK (epoch_closed_cb), seen);
  flow_test_run_with (runner, &error);
  flow_exec_set_test_slice_items (0);
  g_assert_no_error (error);

  got = flow_test_sink_reprs (sink);
  g_assert_cmpstrv (got, expected);
  /* One close per batch (each came due in its middle), and the final one. */
  g_assert_cmpuint (seen->len, ==, N_LINES / BATCH + 1);
  for (guint i = 0; i < seen->len; i++)
    g_assert_cmpuint (g_array_index (seen, guint, i), ==, MIN ((i + 1) * BATCH, N_LINES));
}

/* Cancelling stops the run between two sub-batches, not at the end of the
 * batch. */
static void
test_cancel_mid_batch (void)
{
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = word_count_flow (sink);
  g_autoptr(FlowRunner) runner = flow_runner_new (flow);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  reset ();
  flow_exec_set_test_slice_items (2);
  cancel_at_line = 5;
  cancel_at_line_cancellable = cancellable;
  g_assert_false (flow_runner_run_with_test_clock (runner, flow_test_clock (), cancellable, &error));
  flow_exec_set_test_slice_items (0);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* The sub-batch of lines 5 and 6 was the last one pushed. */
  g_assert_cmpuint (lines_seen, ==, 6);
  reset ();
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/slicing/same-output", test_same_output);
  g_test_add_data_func ("/slicing/epoch-waits/by-time", GUINT_TO_POINTER (0),
                        test_epoch_waits_for_pending);
  g_test_add_data_func ("/slicing/epoch-waits/one-item", GUINT_TO_POINTER (1),
                        test_epoch_waits_for_pending);
  g_test_add_data_func ("/slicing/epoch-waits/seven-items", GUINT_TO_POINTER (7),
                        test_epoch_waits_for_pending);
  g_test_add_func ("/slicing/cancel-mid-batch", test_cancel_mid_batch);

  return g_test_run ();
}
