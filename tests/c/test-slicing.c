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
word_count_flow_from (FlowSource      *source,
                      FlowMapFunc      split,
                      FlowTestingSink *sink)
{
  FlowDataflow *flow = flow_dataflow_new ("slicing");
  FlowStream *s;

  s = flow_dataflow_input (flow, "inp", source);
  s = flow_stream_flat_map (s, "split", split, NULL, NULL);
  s = flow_stream_key_on (s, "key", word_key, NULL, NULL);
  s = flow_stream_stateful_map (s, "count", zero, NULL, NULL, count, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));
  return flow;
}

static FlowDataflow *
word_count_flow (FlowTestingSink *sink)
{
  g_autoptr(FlowTestingSource) source = flow_testing_source_new (make_lines ());

  flow_testing_source_set_batch_size (source, BATCH);
  return word_count_flow_from (FLOW_SOURCE (source), split_words, sink);
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

/* ---- a source of our own, whose batches are `av` arrays ---- */

static int
strcmp_p (gconstpointer a,
          gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* Its batches are unboxed a sub-batch at a time (threaded workers: at most
 * 64 items), and what the graph did not take is released after each. */
#define ARRAY_ROUNDS 5
#define ARRAY_BATCH 150

#define TEST_TYPE_ARRAY_PART (test_array_part_get_type ())
G_DECLARE_FINAL_TYPE (TestArrayPart, test_array_part, TEST, ARRAY_PART, FlowSourcePartition)
struct _TestArrayPart { FlowSourcePartition parent; GVariant *lines; gsize next; };
G_DEFINE_FINAL_TYPE (TestArrayPart, test_array_part, FLOW_TYPE_SOURCE_PARTITION)

static GVariant *
test_array_part_next_batch (FlowSourcePartition  *part,
                            GError              **error)
{
  TestArrayPart *self = TEST_ARRAY_PART (part);
  gsize n = g_variant_n_children (self->lines);
  GVariantBuilder b;

  if (self->next >= ARRAY_ROUNDS * n)
    return NULL;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("av"));
  for (guint k = 0; k < ARRAY_BATCH && self->next < ARRAY_ROUNDS * n; k++, self->next++)
    {
      g_autoptr(GVariant) line = g_variant_get_child_value (self->lines, self->next % n);
      g_variant_builder_add_value (&b, line);
    }
  return g_variant_builder_end (&b);
}

static GVariant *
test_array_part_snapshot (FlowSourcePartition  *part,
                          GError              **error)
{
  return g_variant_new_uint64 (TEST_ARRAY_PART (part)->next);
}

static void
test_array_part_finalize (GObject *object)
{
  g_variant_unref (TEST_ARRAY_PART (object)->lines);
  G_OBJECT_CLASS (test_array_part_parent_class)->finalize (object);
}

static void
test_array_part_class_init (TestArrayPartClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_array_part_finalize;
  FLOW_SOURCE_PARTITION_CLASS (klass)->next_batch = test_array_part_next_batch;
  FLOW_SOURCE_PARTITION_CLASS (klass)->snapshot = test_array_part_snapshot;
}

static void
test_array_part_init (TestArrayPart *self)
{
  self->lines = g_variant_ref_sink (make_lines ());
}

#define TEST_TYPE_ARRAY_SOURCE (test_array_source_get_type ())
G_DECLARE_FINAL_TYPE (TestArraySource, test_array_source, TEST, ARRAY_SOURCE, FlowSource)
struct _TestArraySource { FlowSource parent; };
G_DEFINE_FINAL_TYPE (TestArraySource, test_array_source, FLOW_TYPE_SOURCE)

static char **
test_array_source_list_parts (FlowSource  *source,
                              GError     **error)
{
  return g_strsplit ("only", ",", -1);
}

static FlowSourcePartition *
test_array_source_build_part (FlowSource  *source,
                              const char  *step_id,
                              const char  *key,
                              GVariant    *resume,
                              GError     **error)
{
  return g_object_new (TEST_TYPE_ARRAY_PART, NULL);
}

static void
test_array_source_class_init (TestArraySourceClass *klass)
{
  FLOW_SOURCE_CLASS (klass)->list_parts = test_array_source_list_parts;
  FLOW_SOURCE_CLASS (klass)->build_part = test_array_source_build_part;
}

static void
test_array_source_init (TestArraySource *self)
{
}

static GVariant *
split_words_or_fail (GVariant  *item,
                     gpointer   data,
                     GError   **error)
{
  if (cancel_at_line > 0 && lines_seen + 1 == cancel_at_line)
    {
      lines_seen++;
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_FAILED, "line %u is bad", cancel_at_line);
      return NULL;
    }
  return split_words (item, data, error);
}

static FlowDataflow *
array_word_count_flow (FlowTestingSink *sink)
{
  g_autoptr(TestArraySource) source = g_object_new (TEST_TYPE_ARRAY_SOURCE, NULL);

  return word_count_flow_from (FLOW_SOURCE (source), split_words_or_fail, sink);
}

/* The counts of ARRAY_ROUNDS rounds of the lines, sorted (with several
 * workers, only each word's own counts keep their order). */
static GStrv
expected_array_counts (void)
{
  g_auto(GStrv) once = expected_counts ();
  g_autoptr(GHashTable) per_round = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func (g_free);

  /* each round adds the word's count of one round to the counts */
  for (guint j = 0; once[j] != NULL; j++)
    {
      g_autofree char *word = g_strndup (once[j] + 2, strchr (once[j] + 2, '\'') - (once[j] + 2));
      g_hash_table_replace (per_round, g_strdup (word),
                            GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (per_round, word)) + 1));
    }
  for (guint r = 0; r < ARRAY_ROUNDS; r++)
    for (guint j = 0; once[j] != NULL; j++)
      {
        g_autofree char *word = g_strndup (once[j] + 2, strchr (once[j] + 2, '\'') - (once[j] + 2));
        guint n = (guint) g_ascii_strtoull (strrchr (once[j], ' ') + 1, NULL, 10);

        g_ptr_array_add (all, g_strdup_printf ("('%s', %u)", word,
                                               r * GPOINTER_TO_UINT (g_hash_table_lookup (per_round, word)) + n));
      }
  g_ptr_array_sort (all, strcmp_p);
  g_ptr_array_add (all, NULL);
  return (GStrv) g_ptr_array_steal (all, NULL);
}

/* A source's `av` batches larger than a sub-batch give the same counts
 * with 1, 2 and 3 workers (threads: C steps), and with any split. */
static void
test_array_source (void)
{
  static const guint workers[] = { 1, 2, 3 };
  static const guint sizes[] = { 0, 7 };
  g_auto(GStrv) expected = expected_array_counts ();

  for (guint w = 0; w < G_N_ELEMENTS (workers); w++)
    for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
      {
        g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
        g_autoptr(FlowDataflow) flow = array_word_count_flow (sink);
        g_autoptr(FlowRunner) runner = flow_runner_new (flow);
        g_autoptr(GError) error = NULL;
        g_auto(GStrv) got = NULL;

        reset ();
        flow_exec_set_test_slice_items (sizes[i]);
        flow_runner_set_workers (runner, workers[w]);
        flow_test_run_with (runner, &error);
        flow_exec_set_test_slice_items (0);
        g_assert_no_error (error);
        got = flow_test_sink_reprs (sink);
        qsort (got, g_strv_length (got), sizeof (char *), strcmp_p);
        g_assert_cmpstrv (got, expected);
        g_assert_cmpuint (lines_seen, ==, ARRAY_ROUNDS * N_LINES);
      }
}

/* A step failing in the middle of a batch (past its first sub-batch)
 * stops the run with its error; the batch's other items are released. */
static void
test_array_source_fails (void)
{
  static const guint workers[] = { 1, 2 };

  for (guint w = 0; w < G_N_ELEMENTS (workers); w++)
    {
      g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
      g_autoptr(FlowDataflow) flow = array_word_count_flow (sink);
      g_autoptr(FlowRunner) runner = flow_runner_new (flow);
      g_autoptr(GError) error = NULL;

      reset ();
      cancel_at_line = ARRAY_BATCH + 100;   /* the second batch's third sub-batch */
      flow_runner_set_workers (runner, workers[w]);
      flow_test_run_with (runner, &error);
      g_assert_error (error, FLOW_ERROR, FLOW_ERROR_FAILED);
      g_assert_nonnull (strstr (error->message, "'slicing.split'"));
      g_assert_nonnull (strstr (error->message, "line 250 is bad"));
      g_assert_cmpuint (lines_seen, ==, ARRAY_BATCH + 100);
      reset ();
    }
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
  g_test_add_func ("/slicing/array-source", test_array_source);
  g_test_add_func ("/slicing/array-source-fails", test_array_source_fails);

  return g_test_run ();
}
