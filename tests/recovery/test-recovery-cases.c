/* test-recovery-cases.c: Bytewax-style recovery cases
 *
 * Aborts before and after snapshots, continuation with EOF markers, the
 * seed tutorial, the state of every stateful operator across a resume,
 * tombstones, and what the backup interval keeps.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "recovery-common.h"
#include "flow-runner-private.h"
#include "flow-time-private.h"

/* ------------------------------------------------------------------------
 * Flows
 * ------------------------------------------------------------------------ */

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
update_sum (GVariant  *sum,
            GVariant  *value,
            GVariant **emit,
            gpointer   user_data,
            GError   **error)
{
  gint64 updated = g_variant_get_int64 (sum) + g_variant_get_int64 (value);

  *emit = g_variant_new_int64 (updated);
  return g_variant_new_int64 (updated);
}

static GVariant *
int_array (const gint64 *values,
           guint         n)
{
  return g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, values, n, sizeof (gint64));
}

/* The seed tutorial's flow: key "ALL", a running sum, to @sink. */
static FlowDataflow *
sum_flow (const char      *id,
          FlowSource      *source,
          FlowTestingSink *sink)
{
  FlowDataflow *flow = flow_dataflow_new (id);
  FlowStream *s;

  s = flow_dataflow_input (flow, "inp", source);
  s = flow_stream_key_on (s, "key_stream", key_all, NULL, NULL);
  s = flow_stream_stateful_map (s, "running_count", zero, NULL, NULL, update_sum, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));
  return flow;
}

/* What the sum flow prints for @values[from..n) when the sum before them
 * is @start: ('ALL', running sum) each. */
static GStrv
expected_sums (const gint64 *values,
               guint         from,
               guint         n,
               gint64        start)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  gint64 sum = start;

  for (guint i = from; i < n; i++)
    {
      sum += values[i];
      rec_add (lines, "('ALL', %" G_GINT64_FORMAT ")", sum);
    }
  return rec_strv (lines);
}

static gint64
sum_of (const gint64 *values,
        guint         n)
{
  gint64 sum = 0;

  for (guint i = 0; i < n; i++)
    sum += values[i];
  return sum;
}

/* ------------------------------------------------------------------------
 * The seed tutorial
 * ------------------------------------------------------------------------ */

static void
test_seed (void)
{
  static const gint64 first[] = { 0, 1, 2 };
  static const gint64 second[] = { 3, 4 };
  g_autofree char *dir = rec_init_dir (1);
  g_autoptr(GError) error = NULL;
  guint64 resume = 0;

  {
    g_autoptr(FlowTestingSource) source = flow_testing_source_new (int_array (first, 3));
    g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
    g_autoptr(FlowDataflow) flow = sum_flow ("recovery", FLOW_SOURCE (source), sink);
    g_auto(GStrv) got = NULL;
    g_auto(GStrv) expected = expected_sums (first, 0, 3, 0);

    rec_run (flow, dir, 30, 180, &resume, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (resume, ==, 0);
    got = rec_sink_reprs (sink);
    rec_assert_strv (got, expected);
  }

  /* The input changed: it is new data, added to the restored sum. */
  {
    g_autoptr(FlowTestingSource) source = flow_testing_source_new (int_array (second, 2));
    g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
    g_autoptr(FlowDataflow) flow = sum_flow ("recovery", FLOW_SOURCE (source), sink);
    g_auto(GStrv) got = NULL;
    g_auto(GStrv) expected = expected_sums (second, 0, 2, sum_of (first, 3));

    rec_run (flow, dir, 30, 180, &resume, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (resume, >, 0);
    got = rec_sink_reprs (sink);
    rec_assert_strv (got, expected);
    g_assert_cmpstr (got[0], ==, "('ALL', 6)");
    g_assert_cmpstr (got[1], ==, "('ALL', 10)");
  }

  rec_rm_rf (dir);
}

/* The same input again is a continuation: nothing new to process; the
 * same input grown continues after what was consumed. */
static void
test_seed_same_and_grown_input (void)
{
  static const gint64 first[] = { 0, 1, 2 };
  static const gint64 grown[] = { 0, 1, 2, 3, 4 };
  g_autofree char *dir = rec_init_dir (2);
  g_autoptr(GError) error = NULL;

  for (guint run = 0; run < 3; run++)
    {
      const gint64 *values = run < 2 ? first : grown;
      guint n = run < 2 ? 3 : 5;
      g_autoptr(FlowTestingSource) source = flow_testing_source_new (int_array (values, n));
      g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
      g_autoptr(FlowDataflow) flow = sum_flow ("recovery", FLOW_SOURCE (source), sink);
      g_auto(GStrv) got = NULL;
      g_auto(GStrv) expected = NULL;

      rec_run (flow, dir, 30, 0, NULL, &error);
      g_assert_no_error (error);
      got = rec_sink_reprs (sink);
      if (run == 0)
        expected = expected_sums (first, 0, 3, 0);
      else if (run == 1)
        expected = g_new0 (char *, 1);
      else
        expected = expected_sums (grown, 3, 5, sum_of (grown, 3));
      rec_assert_strv (got, expected);
    }

  rec_rm_rf (dir);
}

/* ------------------------------------------------------------------------
 * Aborts
 * ------------------------------------------------------------------------ */

static void
test_abort_before_snapshot (void)
{
  static const gint64 values[] = { 0, 1, 2, 3, 4 };
  g_autofree char *dir = rec_init_dir (1);
  g_autoptr(FlowTestingSource) source = flow_testing_source_new (int_array (values, 5));
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got1 = NULL;
  g_auto(GStrv) got2 = NULL;
  g_auto(GStrv) expected1 = expected_sums (values, 0, 3, 0);
  g_auto(GStrv) expected2 = expected_sums (values, 0, 5, 0);
  g_autofree char *states = NULL;
  guint64 resume = 99;

  flow_testing_source_add_marker (source, 3, FLOW_TESTING_MARKER_ABORT, 0);
  flow = sum_flow ("abort", FLOW_SOURCE (source), sink);

  /* An epoch of an hour: the abort comes before any snapshot. */
  g_assert_false (rec_run (flow, dir, 3600, 0, NULL, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_ABORTED);
  g_clear_error (&error);
  got1 = rec_sink_reprs (sink);
  rec_assert_strv (got1, expected1);
  flow_testing_sink_clear (sink);

  states = rec_show_states (dir);
  g_assert_cmpstr (states, ==, "  (none)\n");

  /* Nothing was committed: the resumed run replays all of the input. */
  rec_run (flow, dir, 3600, 0, &resume, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (resume, ==, 0);
  got2 = rec_sink_reprs (sink);
  rec_assert_strv (got2, expected2);

  rec_rm_rf (dir);
}

static void
test_abort_after_snapshots (void)
{
  static const gint64 values[] = { 5, 1, 4, 2, 8, 3, 7, 6, 9, 10 };
  g_autofree char *dir = rec_init_dir (2);
  g_autoptr(FlowTestingSource) source = flow_testing_source_new (int_array (values, 10));
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got1 = NULL;
  g_auto(GStrv) got2 = NULL;
  g_auto(GStrv) expected1 = expected_sums (values, 0, 6, 0);
  g_auto(GStrv) expected2 = expected_sums (values, 6, 10, sum_of (values, 6));
  g_autofree char *states = NULL;
  g_autofree char *want = NULL;
  guint64 resume = 0;

  flow_testing_source_add_marker (source, 6, FLOW_TESTING_MARKER_ABORT, 0);
  flow = sum_flow ("abort", FLOW_SOURCE (source), sink);

  /* Every batch (of one item) is an epoch, committed before the next. */
  g_assert_false (rec_run (flow, dir, 0, 0, NULL, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_ABORTED);
  g_clear_error (&error);
  got1 = rec_sink_reprs (sink);
  rec_assert_strv (got1, expected1);
  flow_testing_sink_clear (sink);

  want = g_strdup_printf ("    'ALL': %" G_GINT64_FORMAT "\n", sum_of (values, 6));
  states = rec_show_states (dir);
  g_assert_nonnull (strstr (states, want));

  /* The resumed run continues after the last committed epoch: the six
   * items before the abort were all committed, none is repeated. */
  rec_run (flow, dir, 0, 0, &resume, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (resume, >=, 6);
  got2 = rec_sink_reprs (sink);
  rec_assert_strv (got2, expected2);

  rec_rm_rf (dir);
}

/* An abort in an epoch that was not closed yet: the items of that epoch,
 * and only those, are processed again (at-least-once), on the state of
 * the last committed epoch. */
static void
test_abort_uncommitted_epoch (void)
{
  static const gint64 values[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  g_autofree char *dir = rec_init_dir (1);
  g_autoptr(FlowTestingSource) source = flow_testing_source_new (int_array (values, 8));
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got1 = NULL;
  g_auto(GStrv) got2 = NULL;
  g_auto(GStrv) expected1 = expected_sums (values, 0, 6, 0);
  g_auto(GStrv) expected2 = expected_sums (values, 3, 8, sum_of (values, 3));

  /* Epochs of 1 s: the first closes (at 1 s) during the pause after 3
   * items; items 4 to 6 come at 1.5 s and the abort right after them,
   * before the second epoch closes (at 2 s). */
  flow_testing_source_set_batch_size (source, 10);
  flow_testing_source_add_marker (source, 3, FLOW_TESTING_MARKER_PAUSE, 1.5);
  flow_testing_source_add_marker (source, 6, FLOW_TESTING_MARKER_ABORT, 0);
  flow = sum_flow ("abort", FLOW_SOURCE (source), sink);

  g_assert_false (rec_run (flow, dir, 1.0, 0, NULL, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_ABORTED);
  g_clear_error (&error);
  got1 = rec_sink_reprs (sink);
  rec_assert_strv (got1, expected1);
  flow_testing_sink_clear (sink);

  rec_run (flow, dir, 1.0, 0, NULL, &error);
  g_assert_no_error (error);
  got2 = rec_sink_reprs (sink);
  rec_assert_strv (got2, expected2);

  rec_rm_rf (dir);
}

/* ------------------------------------------------------------------------
 * Continuation
 * ------------------------------------------------------------------------ */

static void
test_continuation (void)
{
  static const gint64 values[] = { 0, 1, 2, 3, 4 };
  static const char *expected[3][4] = { { "0", "1", "2" }, { "3", "4", NULL }, { NULL } };
  g_autofree char *dir = rec_init_dir (1);
  g_autoptr(GError) error = NULL;
  guint64 last_resume = 0;

  for (guint run = 0; run < 3; run++)
    {
      g_autoptr(FlowTestingSource) source = flow_testing_source_new (int_array (values, 5));
      g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
      g_autoptr(FlowDataflow) flow = flow_dataflow_new ("continuation");
      g_auto(GStrv) got = NULL;
      g_autofree char *want = g_strjoinv (", ", (GStrv) expected[run]);
      g_autofree char *have = NULL;
      guint64 resume = 0;

      flow_testing_source_add_marker (source, 3, FLOW_TESTING_MARKER_EOF, 0);
      flow_stream_output (flow_dataflow_input (flow, "inp", FLOW_SOURCE (source)), "out",
                          FLOW_SINK (sink));

      rec_run (flow, dir, 10, 0, &resume, &error);
      g_assert_no_error (error);
      got = rec_sink_reprs (sink);
      have = g_strjoinv (", ", got);
      g_assert_cmpstr (have, ==, want);
      if (run > 0)
        g_assert_cmpuint (resume, >, last_resume);
      last_resume = resume;
    }

  rec_rm_rf (dir);
}

/* ------------------------------------------------------------------------
 * Every stateful operator
 * ------------------------------------------------------------------------ */

#define N_OPS_ITEMS 30

static char *
key_mod3 (GVariant  *item,
          gpointer   user_data,
          GError   **error)
{
  return g_strdup_printf ("k%d", (int) (g_variant_get_int64 (item) % 3));
}

static char *
key_mod4 (GVariant  *item,
          gpointer   user_data,
          GError   **error)
{
  return g_strdup_printf ("c%d", (int) (g_variant_get_int64 (item) % 4));
}

static GVariant *
count_and_echo (GVariant  *state,
                GVariant  *value,
                GVariant **emit,
                gpointer   user_data,
                GError   **error)
{
  gint64 count = (state ? g_variant_get_int64 (state) : 0) + 1;
  GVariant *pair[2] = { g_variant_new_variant (g_variant_new_int64 (count)),
                        g_variant_new_variant (value) };

  *emit = g_variant_new_array (G_VARIANT_TYPE_VARIANT, pair, 2);
  return g_variant_new_int64 (count);
}

static GVariant *
empty_string (gpointer   user_data,
              GError   **error)
{
  return g_variant_new_string ("");
}

static GVariant *
append_number (GVariant  *acc,
               GVariant  *value,
               gpointer   user_data,
               GError   **error)
{
  return g_variant_new_take_string (g_strdup_printf ("%s%" G_GINT64_FORMAT ",",
                                                     g_variant_get_string (acc, NULL),
                                                     g_variant_get_int64 (value)));
}

static GVariant *
add_values (GVariant  *acc,
            GVariant  *value,
            gpointer   user_data,
            GError   **error)
{
  return g_variant_new_int64 (g_variant_get_int64 (acc) + g_variant_get_int64 (value));
}

static GVariant *
scramble (GVariant  *value,
          gpointer   user_data,
          GError   **error)
{
  return g_variant_new_int64 ((g_variant_get_int64 (value) * 7) % 11);
}

static const char *op_names[] = { "map", "flat", "fold", "reduce", "count", "max", "min", "collect" };
#define N_OPS G_N_ELEMENTS (op_names)

/* A flow with every stateful operator, each to its own testing sink. */
static FlowDataflow *
ops_flow (FlowTestingSource  *source,
          FlowTestingSink   **sinks)
{
  FlowDataflow *flow = flow_dataflow_new ("ops");
  FlowStream *inp, *keyed, *s[N_OPS];

  inp = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  keyed = flow_stream_key_on (inp, "key", key_mod3, NULL, NULL);
  s[0] = flow_stream_stateful_map (keyed, "map", zero, NULL, NULL, update_sum, NULL, NULL);
  s[1] = flow_stream_stateful_flat_map (keyed, "flat", NULL, NULL, NULL, count_and_echo, NULL, NULL);
  s[2] = flow_stream_fold_final (keyed, "fold", empty_string, NULL, NULL, append_number, NULL, NULL);
  s[3] = flow_stream_reduce_final (keyed, "reduce", add_values, NULL, NULL);
  s[4] = flow_stream_count_final (inp, "count", key_mod4, NULL, NULL);
  s[5] = flow_stream_max_final (keyed, "max", NULL, NULL, NULL);
  s[6] = flow_stream_min_final (keyed, "min", scramble, NULL, NULL);
  s[7] = flow_stream_collect (keyed, "collect", 3600, 4);
  for (guint i = 0; i < N_OPS; i++)
    {
      g_autofree char *id = g_strdup_printf ("out_%s", op_names[i]);
      sinks[i] = flow_testing_sink_new ();
      flow_stream_output (s[i], id, FLOW_SINK (sinks[i]));
    }
  return flow;
}

static void
test_stateful_operators (void)
{
  gint64 values[N_OPS_ITEMS];
  g_autofree char *dir = rec_init_dir (3);
  g_autoptr(GError) error = NULL;
  GStrv reference[N_OPS] = { NULL };
  GStrv resumed[N_OPS] = { NULL };
  FlowTestingSink *sinks[N_OPS];
  guint n_runs = 0;

  for (guint i = 0; i < N_OPS_ITEMS; i++)
    values[i] = (i * 37 + 11) % 50;

  /* Uninterrupted, without recovery. */
  {
    g_autoptr(FlowTestingSource) source = flow_testing_source_new (int_array (values, N_OPS_ITEMS));
    g_autoptr(FlowDataflow) flow = ops_flow (source, sinks);

    rec_run (flow, NULL, 0, 0, NULL, &error);
    g_assert_no_error (error);
    for (guint i = 0; i < N_OPS; i++)
      {
        reference[i] = rec_sink_reprs (sinks[i]);
        g_object_unref (sinks[i]);
        g_assert_cmpuint (g_strv_length (reference[i]), >, 0);
      }
  }

  /* With recovery, aborted twice in the middle. */
  {
    g_autoptr(FlowTestingSource) source = flow_testing_source_new (int_array (values, N_OPS_ITEMS));
    g_autoptr(FlowDataflow) flow = NULL;

    flow_testing_source_add_marker (source, 10, FLOW_TESTING_MARKER_ABORT, 0);
    flow_testing_source_add_marker (source, 21, FLOW_TESTING_MARKER_ABORT, 0);
    flow = ops_flow (source, sinks);
    for (guint i = 0; i < N_OPS; i++)
      resumed[i] = g_new0 (char *, 1);

    for (;;)
      {
        gboolean ok = rec_run (flow, dir, 0, 0, NULL, &error);

        n_runs++;
        for (guint i = 0; i < N_OPS; i++)
          {
            g_auto(GStrv) got = rec_sink_reprs (sinks[i]);
            GStrv all = rec_strv_concat ((const char * const *) resumed[i], (const char * const *) got);

            g_strfreev (resumed[i]);
            resumed[i] = all;
            flow_testing_sink_clear (sinks[i]);
          }
        if (ok)
          break;
        g_assert_error (error, FLOW_ERROR, FLOW_ERROR_ABORTED);
        g_clear_error (&error);

        if (n_runs == 1)
          {
            /* Every stateful step has state to resume from; the running
             * sum of k0 is that of the first ten items. */
            g_autofree char *states = rec_show_states (dir);
            g_autofree char *want = NULL;
            gint64 k0 = 0;

            for (guint i = 0; i < 10; i++)
              if (values[i] % 3 == 0)
                k0 += values[i];
            want = g_strdup_printf ("  ops.map (3 keys)\n    'k0': %" G_GINT64_FORMAT "\n", k0);
            g_assert_nonnull (strstr (states, want));
            for (guint i = 0; i < N_OPS; i++)
              {
                g_autofree char *step = g_strdup_printf ("  ops.%s (", op_names[i]);
                if (strstr (states, step) == NULL)
                  g_error ("no state of step ops.%s after the abort:\n%s", op_names[i], states);
              }
          }
      }
    g_assert_cmpuint (n_runs, ==, 3);
    for (guint i = 0; i < N_OPS; i++)
      g_object_unref (sinks[i]);
  }

  for (guint i = 0; i < N_OPS; i++)
    {
      if (!g_strv_equal ((const char * const *) resumed[i], (const char * const *) reference[i]))
        {
          g_autofree char *a = g_strjoinv (", ", resumed[i]);
          g_autofree char *b = g_strjoinv (", ", reference[i]);
          g_error ("step %s: resumed runs gave [%s], an uninterrupted run [%s]", op_names[i], a, b);
        }
      g_strfreev (resumed[i]);
      g_strfreev (reference[i]);
    }

  rec_rm_rf (dir);
}

/* Runs @flow once against @dir on the test clock @clock. */
static gboolean
run_on_clock (FlowDataflow  *flow,
              const char    *dir,
              double         snapshot_interval,
              FlowClock     *clock,
              GError       **error)
{
  g_autoptr(FlowRunner) runner = flow_runner_new (flow);

  flow_runner_set_recovery_directory (runner, dir);
  flow_runner_set_snapshot_interval (runner, snapshot_interval);
  return flow_runner_run_with_test_clock (runner, clock, NULL, error);
}

/* A collect list pending at a crash keeps its deadline: when the deadline
 * passed while the flow was down, the resumed run emits it at once, not
 * together with what comes later. */
static void
test_collect_deadline (void)
{
  static const gint64 values[] = { 1, 2, 3 };
  g_autofree char *dir = rec_init_dir (1);
  g_autoptr(FlowTestingSource) source = flow_testing_source_new (int_array (values, 3));
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("collect");
  g_autoptr(FlowClock) clock = flow_clock_new_test (G_GINT64_CONSTANT (1700000000000000));
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got1 = NULL;
  g_auto(GStrv) got2 = NULL;
  FlowStream *s;

  flow_testing_source_add_marker (source, 2, FLOW_TESTING_MARKER_ABORT, 0);
  flow_testing_source_add_marker (source, 2, FLOW_TESTING_MARKER_PAUSE, 1.0);
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_key_on (s, "key", key_all, NULL, NULL);
  s = flow_stream_collect (s, "collect", 1.0, 0);
  flow_stream_output (s, "out", FLOW_SINK (sink));

  g_assert_false (run_on_clock (flow, dir, 0, clock, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_ABORTED);
  g_clear_error (&error);
  got1 = rec_sink_reprs (sink);
  g_assert_cmpuint (g_strv_length (got1), ==, 0);
  flow_testing_sink_clear (sink);

  /* Down for longer than the timeout. */
  flow_clock_advance (clock, 1300 * 1000);

  run_on_clock (flow, dir, 0, clock, &error);
  g_assert_no_error (error);
  got2 = rec_sink_reprs (sink);
  g_assert_cmpuint (g_strv_length (got2), ==, 2);
  g_assert_cmpstr (got2[0], ==, "('ALL', [1, 2])");
  g_assert_cmpstr (got2[1], ==, "('ALL', [3])");

  rec_rm_rf (dir);
}

typedef struct
{
  FlowClock *clock;
  GArray    *times;
} RecordTime;

static void
record_time (const char  *step_id,
             GVariant    *item,
             gpointer     user_data,
             GError     **error)
{
  RecordTime *rt = user_data;
  gint64 now = flow_clock_get_monotonic (rt->clock);

  g_array_append_val (rt->times, now);
}

/* A collect list pending at a crash keeps its deadline when the resumed
 * run starts before it: it is emitted at the deadline set when its first
 * item came, not a whole timeout after the resume. */
static void
test_collect_deadline_kept (void)
{
  static const gint64 values[] = { 1, 2, 3 };
  g_autofree char *dir = rec_init_dir (1);
  g_autoptr(FlowTestingSource) source = flow_testing_source_new (int_array (values, 3));
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("collect");
  g_autoptr(FlowClock) clock = flow_clock_new_test (G_GINT64_CONSTANT (1700000000000000));
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (gint64));
  RecordTime rt = { clock, times };
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = NULL;
  gint64 start;
  FlowStream *s;

  flow_testing_source_add_marker (source, 2, FLOW_TESTING_MARKER_ABORT, 0);
  flow_testing_source_add_marker (source, 2, FLOW_TESTING_MARKER_PAUSE, 3.0);
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_key_on (s, "key", key_all, NULL, NULL);
  s = flow_stream_collect (s, "collect", 2.0, 0);
  s = flow_stream_inspect (s, "when", record_time, &rt, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));

  /* The list [1, 2] is due 2 s after start. */
  start = flow_clock_get_monotonic (clock);
  g_assert_false (run_on_clock (flow, dir, 0, clock, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_ABORTED);
  g_clear_error (&error);
  g_assert_cmpuint (times->len, ==, 0);

  /* Resumed 1 s after start: still due at 2 s, not at 3 s. */
  flow_clock_advance (clock, start + G_USEC_PER_SEC - flow_clock_get_monotonic (clock));
  run_on_clock (flow, dir, 0, clock, &error);
  g_assert_no_error (error);
  got = rec_sink_reprs (sink);
  g_assert_cmpuint (g_strv_length (got), ==, 2);
  g_assert_cmpstr (got[0], ==, "('ALL', [1, 2])");
  g_assert_cmpstr (got[1], ==, "('ALL', [3])");
  g_assert_cmpint (g_array_index (times, gint64, 0) - start, ==, 2 * G_USEC_PER_SEC);

  rec_rm_rf (dir);
}

/* ------------------------------------------------------------------------
 * A commit that fails ends the run with its error (it never hangs), and a
 * later run, with the fault gone, gives the output of an uninterrupted run.
 * ------------------------------------------------------------------------ */

typedef struct
{
  const char *part;       /* the partition file */
  gint64      at_sum;     /* install the fault when this sum goes by */
} FaultAt;

/* Makes every later commit of the partition fail: a trigger refuses the
 * row each commit writes into `fronts`. */
static void
install_fault (const char  *step_id,
               GVariant    *item,
               gpointer     user_data,
               GError     **error)
{
  FaultAt *fault = user_data;
  g_autoptr(GVariant) value = g_variant_get_child_value (item, 1);
  g_autoptr(GVariant) sum = g_variant_get_variant (value);

  if (g_variant_get_int64 (sum) == fault->at_sum)
    rec_sql_exec (fault->part,
                  "CREATE TRIGGER flow_test_fault BEFORE INSERT ON fronts"
                  " BEGIN SELECT RAISE(ABORT, 'injected fault'); END;");
}

static void
test_commit_fails (gconstpointer data)
{
  gboolean last = GPOINTER_TO_INT (data);
  static const gint64 values[] = { 0, 1, 2, 3, 4 };
  g_autofree char *dir = rec_init_dir (1);
  g_autofree char *part = rec_part_path (dir, 0);
  FaultAt fault = { part, last ? 10 : 3 };
  g_autoptr(FlowClock) clock = flow_clock_new_test (G_GINT64_CONSTANT (1700000000000000));
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) expected = expected_sums (values, 0, 5, 0);

  for (guint round = 0; round < 2; round++)
    {
      g_autoptr(FlowTestingSource) source = flow_testing_source_new (int_array (values, 5));
      g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
      g_autoptr(FlowDataflow) flow = flow_dataflow_new ("fault");
      g_autoptr(FlowRunner) runner = NULL;
      g_auto(GStrv) got = NULL;
      FlowStream *s;

      /* One item per batch; with "last", the only commit after the start
       * is the final one (the epoch is longer than the run). */
      flow_testing_source_set_batch_size (source, 1);
      s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
      s = flow_stream_key_on (s, "key", key_all, NULL, NULL);
      s = flow_stream_stateful_map (s, "sum", zero, NULL, NULL, update_sum, NULL, NULL);
      if (round == 0)
        s = flow_stream_inspect (s, "fault", install_fault, &fault, NULL);
      flow_stream_output (s, "out", FLOW_SINK (sink));

      runner = flow_runner_new (flow);
      flow_runner_set_recovery_directory (runner, dir);
      flow_runner_set_snapshot_interval (runner, last ? 3600 : 0);
      if (round == 0)
        {
          g_assert_false (flow_runner_run_with_test_clock (runner, clock, NULL, &error));
          g_assert_nonnull (error);
          g_test_message ("%s", error->message);
          g_assert_nonnull (strstr (error->message, "committing epoch"));
          g_assert_nonnull (strstr (error->message, "injected fault"));
          g_assert_false (flow_runner_get_running (runner));
          g_clear_error (&error);
          rec_sql_exec (part, "DROP TRIGGER flow_test_fault");
        }
      else
        {
          /* What was committed before the fault, and nothing after it:
           * the rerun replays from there to the same output. */
          g_assert_true (flow_runner_run_with_test_clock (runner, clock, NULL, &error));
          g_assert_no_error (error);
          got = rec_sink_reprs (sink);
          if (last)
            rec_assert_strv (got, expected);
          else
            {
              guint n = g_strv_length (got);
              g_auto(GStrv) tail = NULL;

              g_assert_cmpuint (n, >=, 1);
              g_assert_cmpuint (n, <=, 5);
              tail = rec_strv_slice ((const char * const *) expected, 5 - n, 5);
              rec_assert_strv (got, tail);
            }
        }
    }

  rec_rm_rf (dir);
}

/* ------------------------------------------------------------------------
 * Tombstones
 * ------------------------------------------------------------------------ */

typedef struct
{
  const char *key;
  gint64      value;
} Pair;

static GVariant *
pairs_array (const Pair *pairs,
             guint       n)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sv)"));
  for (guint i = 0; i < n; i++)
    g_variant_builder_add (&builder, "(sv)", pairs[i].key, g_variant_new_int64 (pairs[i].value));
  return g_variant_builder_end (&builder);
}

/* A negative value discards the key's state. */
static GVariant *
sum_or_discard (GVariant  *sum,
                GVariant  *value,
                GVariant **emit,
                gpointer   user_data,
                GError   **error)
{
  gint64 v = g_variant_get_int64 (value);

  if (v < 0)
    return NULL;
  *emit = g_variant_new_int64 (g_variant_get_int64 (sum) + v);
  return g_variant_new_int64 (g_variant_get_int64 (sum) + v);
}

static FlowDataflow *
pairs_flow (const char      *id,
            FlowSource      *source,
            FlowTestingSink *sink)
{
  FlowDataflow *flow = flow_dataflow_new (id);
  FlowStream *s;

  s = flow_dataflow_input (flow, "inp", source);
  s = flow_stream_stateful_map (s, "sum", zero, NULL, NULL, sum_or_discard, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));
  return flow;
}

/* The rows of (step, key) over every partition of @dir: "epoch|live" with
 * live 1 for a state and 0 for a tombstone, by epoch. */
static char *
key_rows (const char *dir,
          guint       n_partitions,
          const char *step,
          const char *key)
{
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *sql = g_strdup_printf ("SELECT epoch, ser IS NOT NULL FROM snaps WHERE "
                                          "step_id = '%s' AND state_key = '%s' ORDER BY epoch",
                                          step, key);

  for (guint i = 0; i < n_partitions; i++)
    {
      g_autofree char *path = rec_part_path (dir, i);
      g_auto(GStrv) rows = rec_sql_rows (path, sql);

      for (guint j = 0; rows[j] != NULL; j++)
        g_ptr_array_add (all, g_strdup (rows[j]));
    }
  g_ptr_array_add (all, NULL);
  return g_strjoinv (" ", (GStrv) all->pdata);
}

/* "0 1 1" -> the live flags of rows "e|0 e|1 e|1". */
static char *
live_flags (const char *rows)
{
  g_auto(GStrv) parts = g_strsplit (rows, " ", -1);
  GString *flags = g_string_new (NULL);

  for (guint i = 0; parts[i] != NULL && parts[i][0] != '\0'; i++)
    {
      const char *bar = strchr (parts[i], '|');
      g_assert_nonnull (bar);
      g_string_append_printf (flags, "%s%s", flags->len ? " " : "", bar + 1);
    }
  return g_string_free (flags, FALSE);
}

static void
test_tombstones (void)
{
  static const Pair pairs[] = {
    { "a", 1 }, { "b", 10 }, { "a", 2 }, { "a", -1 }, { "c", 7 }, { "c", -1 }, { "b", 20 },
    /* second run */
    { "a", 5 }, { "b", 1 }, { "c", 4 }, { "e", 3 }, { "e", -1 },
    /* third run */
    { "d", 1 },
    /* fourth run */
    { "e", 2 },
  };
  static const guint run_end[] = { 7, 12, 13, 14 };
  static const char *expected[] = {
    "('a', 1), ('b', 10), ('a', 3), ('c', 7), ('b', 30)",
    "('a', 5), ('b', 31), ('c', 4), ('e', 3)",
    "('d', 1)",
    "('e', 2)",
  };
  g_autofree char *dir = rec_init_dir (2);
  g_autoptr(GError) error = NULL;

  for (guint run = 0; run < 4; run++)
    {
      g_autoptr(FlowTestingSource) source = flow_testing_source_new (pairs_array (pairs, run_end[run]));
      g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
      g_autoptr(FlowDataflow) flow = pairs_flow ("tomb", FLOW_SOURCE (source), sink);
      g_auto(GStrv) got = NULL;
      g_autofree char *joined = NULL;
      /* The third run collects garbage; the others keep every snapshot. */
      double backup = run == 2 ? 0 : 3600;
      gboolean ok;

      if (run == 0)
        flow_testing_source_add_marker (source, 7, FLOW_TESTING_MARKER_ABORT, 0);
      ok = rec_run (flow, dir, 0, backup, NULL, &error);
      if (run == 0)
        {
          g_assert_false (ok);
          g_assert_error (error, FLOW_ERROR, FLOW_ERROR_ABORTED);
          g_clear_error (&error);
        }
      else
        g_assert_no_error (error);
      got = rec_sink_reprs (sink);
      joined = g_strjoinv (", ", got);
      g_assert_cmpstr (joined, ==, expected[run]);

      if (run == 0)
        {
          g_autofree char *a = key_rows (dir, 2, "tomb.sum", "a");
          g_autofree char *c = key_rows (dir, 2, "tomb.sum", "c");
          g_autofree char *b = key_rows (dir, 2, "tomb.sum", "b");
          g_autofree char *fa = live_flags (a);
          g_autofree char *fc = live_flags (c);
          g_autofree char *fb = live_flags (b);
          g_autofree char *states = rec_show_states (dir);

          /* The discarded keys end with a tombstone; older rows are kept
           * within the backup interval. */
          g_assert_cmpstr (fa, ==, "1 1 0");
          g_assert_cmpstr (fc, ==, "1 0");
          g_assert_cmpstr (fb, ==, "1 1");
          g_assert_nonnull (strstr (states, "  tomb.sum (1 key)\n"
                                            "    'b': 30\n"));
          g_assert_true (g_str_has_suffix (states, "  (2 discarded keys not shown)\n"));
        }
      if (run == 2)
        {
          /* Garbage collection dropped the tombstone of e with the rows
           * it hid: nothing is left of e. */
          g_autofree char *e = key_rows (dir, 2, "tomb.sum", "e");
          g_assert_cmpstr (e, ==, "");
        }
    }

  rec_rm_rf (dir);
}

/* ------------------------------------------------------------------------
 * Snapshot interval 0 and the backup interval
 * ------------------------------------------------------------------------ */

static void
test_interval_zero_subprocess (void)
{
  static const gint64 values[] = { 3, 1, 4, 1, 5 };
  g_autofree char *dir = rec_init_dir (1);
  g_autoptr(FlowTestingSource) source = flow_testing_source_new (int_array (values, 5));
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = sum_flow ("zero", FLOW_SOURCE (source), sink);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = NULL;
  g_auto(GStrv) expected = expected_sums (values, 0, 5, 0);
  g_autofree char *rows = NULL;
  g_autofree char *flags = NULL;

  if (!g_test_subprocess ())
    {
      g_test_skip ("only run by /recovery/snapshot-interval-zero");
      rec_rm_rf (dir);
      return;
    }

  rec_run (flow, dir, 0, 3600, NULL, &error);
  g_assert_no_error (error);
  got = rec_sink_reprs (sink);
  rec_assert_strv (got, expected);

  /* One epoch per batch: the state of the key was snapshotted five times. */
  rows = key_rows (dir, 1, "zero.running_count", "ALL");
  flags = live_flags (rows);
  g_assert_cmpstr (flags, ==, "1 1 1 1 1");

  rec_rm_rf (dir);
}

static void
test_interval_zero (void)
{
  /* In a subprocess with a time limit: a runner that never closes the
   * epoch, or never gets to the input, fails here instead of hanging. */
  g_test_trap_subprocess ("/recovery/snapshot-interval-zero/subprocess", 20 * G_USEC_PER_SEC,
                          G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static const Pair backup_pairs[] = {
  { "k0", 1 }, { "k1", 2 }, { "k2", 3 }, { "k0", 4 }, { "k1", 5 }, { "k2", 6 },
  { "k0", 7 }, { "k1", 8 }, { "k2", 9 }, { "k0", 10 }, { "k1", 11 }, { "k2", 12 },
  /* the second run of the time horizon test */
  { "k1", 100 },
};

static void
run_backup_flow (const char *dir,
                 guint       n,
                 double      backup)
{
  g_autoptr(FlowTestingSource) source = flow_testing_source_new (pairs_array (backup_pairs, n));
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = pairs_flow ("bk", FLOW_SOURCE (source), sink);
  g_autoptr(GError) error = NULL;

  rec_run (flow, dir, 0, backup, NULL, &error);
  g_assert_no_error (error);
}

static void
test_backup_keeps (void)
{
  g_autofree char *dir = rec_init_dir (1);
  g_autofree char *part = rec_part_path (dir, 0);

  run_backup_flow (dir, 12, 3600);

  /* Nothing is older than an hour: every snapshot of every key is kept,
   * one per item (each item was its own epoch). */
  for (guint k = 0; k < 3; k++)
    {
      g_autofree char *key = g_strdup_printf ("k%u", k);
      g_autofree char *rows = key_rows (dir, 1, "bk.sum", key);
      g_autofree char *flags = live_flags (rows);

      g_assert_cmpstr (flags, ==, "1 1 1 1");
    }
  g_assert_cmpint (rec_sql_int (part, "SELECT value FROM meta WHERE name = 'gc_epoch'"), ==, 0);

  rec_rm_rf (dir);
}

static void
test_backup_zero_collects (void)
{
  g_autofree char *dir = rec_init_dir (1);
  g_autofree char *part = rec_part_path (dir, 0);
  g_autofree char *states = NULL;
  gint64 frontier;

  run_backup_flow (dir, 12, 0);

  /* Only the newest snapshot of each key is left, with its final sum. */
  for (guint k = 0; k < 3; k++)
    {
      g_autofree char *key = g_strdup_printf ("k%u", k);
      g_autofree char *rows = key_rows (dir, 1, "bk.sum", key);
      g_autofree char *flags = live_flags (rows);

      g_assert_cmpstr (flags, ==, "1");
    }
  states = rec_show_states (dir);
  g_assert_nonnull (strstr (states, "  bk.sum (3 keys)\n"
                                    "    'k0': 22\n"
                                    "    'k1': 26\n"
                                    "    'k2': 30\n"));
  /* The horizon is the newest epoch before the last one. */
  frontier = rec_sql_int (part, "SELECT MAX(epoch) FROM fronts");
  g_assert_cmpint (rec_sql_int (part, "SELECT value FROM meta WHERE name = 'gc_epoch'"), ==, frontier - 1);

  rec_rm_rf (dir);
}

/* Snapshots committed longer ago than the backup interval are collected,
 * keeping the newest one per key at or before the horizon; the younger
 * ones are all kept. */
static void
test_backup_time_horizon (void)
{
  g_autofree char *dir = rec_init_dir (1);
  g_autofree char *part = rec_part_path (dir, 0);
  g_autofree char *age = NULL;
  g_autoptr(GPtrArray) expected = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) before = NULL;
  g_auto(GStrv) after = NULL;
  gint64 horizon, old_frontier;

  run_backup_flow (dir, 12, 3600);
  before = rec_sql_rows (part, "SELECT state_key, epoch FROM snaps WHERE step_id = 'bk.sum' "
                               "ORDER BY state_key, epoch");
  g_assert_cmpuint (g_strv_length (before), ==, 12);
  old_frontier = rec_sql_int (part, "SELECT MAX(epoch) FROM fronts");

  /* Make the epochs up to the one of the seventh item two hours old. */
  horizon = rec_sql_int (part, "SELECT epoch FROM snaps WHERE step_id = 'bk.sum' "
                               "ORDER BY epoch LIMIT 1 OFFSET 6");
  age = g_strdup_printf ("UPDATE epochs SET committed_at = committed_at - 7200000000 "
                         "WHERE epoch <= %" G_GINT64_FORMAT, horizon);
  rec_sql_exec (part, age);

  /* Resume with one more item, keeping an hour of snapshots. */
  run_backup_flow (dir, 13, 3600);

  /* Expected: per key, of the rows at or before the horizon only the
   * newest; every younger row. */
  for (guint i = 0; before[i] != NULL; i++)
    {
      g_auto(GStrv) row = g_strsplit (before[i], "|", 2);
      gint64 epoch = g_ascii_strtoll (row[1], NULL, 10);
      gboolean newest_before_horizon = TRUE;

      if (epoch <= horizon && before[i + 1] != NULL)
        {
          g_auto(GStrv) next = g_strsplit (before[i + 1], "|", 2);
          if (g_str_equal (next[0], row[0]) && g_ascii_strtoll (next[1], NULL, 10) <= horizon)
            newest_before_horizon = FALSE;
        }
      if (epoch > horizon || newest_before_horizon)
        g_ptr_array_add (expected, g_strdup (before[i]));
    }
  g_ptr_array_add (expected, NULL);

  {
    g_autofree char *sql = g_strdup_printf ("SELECT state_key, epoch FROM snaps WHERE step_id = 'bk.sum' "
                                            "AND epoch <= %" G_GINT64_FORMAT " ORDER BY state_key, epoch",
                                            old_frontier);
    after = rec_sql_rows (part, sql);
  }
  rec_assert_strv (after, (GStrv) expected->pdata);
  g_assert_cmpuint (g_strv_length (after), <, 12);
  g_assert_cmpint (rec_sql_int (part, "SELECT value FROM meta WHERE name = 'gc_epoch'"), ==, horizon);

  rec_rm_rf (dir);
}

/* ------------------------------------------------------------------------
 * Rescaling (Bytewax's test_rescale): a directory written by 3 workers
 * resumes with 1, then 2, then 5 (docs/workers.md)
 * ------------------------------------------------------------------------ */

static char *
key_mod5 (GVariant  *item,
          gpointer   user_data,
          GError   **error)
{
  return g_strdup_printf ("k%" G_GINT64_FORMAT, g_variant_get_int64 (item) % 5);
}

static void
test_rescale (void)
{
  enum { N = 40 };
  static const guint workers[] = { 3, 1, 2, 5 };
  g_autofree char *dir = rec_init_dir (3);
  g_autoptr(GVariantBuilder) builder = g_variant_builder_new (G_VARIANT_TYPE ("ax"));
  g_autoptr(FlowTestingSource) source = NULL;
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("rescale");
  g_autoptr(GHashTable) last = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  FlowStream *s;
  gint64 totals[5] = { 0 };

  for (gint64 v = 1; v <= N; v++)
    {
      g_variant_builder_add (builder, "x", v);
      totals[v % 5] += v;
    }
  source = flow_testing_source_new (g_variant_builder_end (builder));
  flow_testing_source_set_batch_size (source, 2);
  /* Aborts trigger once per source object: the runs end at 10, 20, 30. */
  flow_testing_source_add_marker (source, 10, FLOW_TESTING_MARKER_ABORT, 0);
  flow_testing_source_add_marker (source, 20, FLOW_TESTING_MARKER_ABORT, 0);
  flow_testing_source_add_marker (source, 30, FLOW_TESTING_MARKER_ABORT, 0);

  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_key_on (s, "key", key_mod5, NULL, NULL);
  s = flow_stream_stateful_map (s, "sum", zero, NULL, NULL, update_sum, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));

  for (guint r = 0; r < G_N_ELEMENTS (workers); r++)
    {
      g_autoptr(FlowRunner) runner = flow_runner_new (flow);
      g_autoptr(GError) error = NULL;
      gboolean ok;
      guint n = flow_testing_sink_get_n_items (sink);

      flow_runner_set_recovery_directory (runner, dir);
      flow_runner_set_snapshot_interval (runner, 0);
      flow_runner_set_workers (runner, workers[r]);
      ok = flow_runner_run (runner, NULL, &error);
      if (r + 1 < G_N_ELEMENTS (workers))
        g_assert_error (error, FLOW_ERROR, FLOW_ERROR_ABORTED);
      else
        {
          g_assert_no_error (error);
          g_assert_true (ok);
        }

      /* Every sum a run emits continues from the state it resumed with:
       * per key, the sums only grow, by values of that key. */
      for (guint i = n; i < flow_testing_sink_get_n_items (sink); i++)
        {
          g_autoptr(GVariant) item = flow_testing_sink_get_item (sink, i);
          const char *key;
          g_autoptr(GVariant) value = NULL;
          gint64 sum;

          g_variant_get (item, "(&sv)", &key, &value);
          sum = g_variant_get_int64 (value);
          g_hash_table_replace (last, g_strdup (key), GINT_TO_POINTER ((int) sum));
        }
    }

  /* Each key's last sum is the sum of all its values: no state was lost
   * or counted twice across 3, 1, 2 and 5 workers. */
  for (guint k = 0; k < 5; k++)
    {
      g_autofree char *key = g_strdup_printf ("k%u", k);

      g_assert_true (g_hash_table_contains (last, key));
      g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (last, key)), ==, totals[k]);
    }
  rec_rm_rf (dir);
}

/* Window operators ------------------------------------------------------ */

static gint64
window_ts (GVariant  *value,
           gpointer   user_data,
           GError   **error)
{
  /* Seconds after 2022-01-01T00:00:00Z. */
  return G_GINT64_CONSTANT (1640995200000000) + g_variant_get_int64 (value) * G_USEC_PER_SEC;
}

static FlowDataflow *
window_flow (FlowTestingSource *source,
             FlowTestingSink   *sink)
{
  FlowDataflow *flow = flow_dataflow_new ("windows");
  g_autoptr(FlowEventClock) clock = flow_event_clock_new (0, window_ts, NULL, NULL, NULL);
  g_autoptr(FlowTumblingWindower) windower =
    flow_tumbling_windower_new (10 * G_USEC_PER_SEC, G_GINT64_CONSTANT (1640995200000000), NULL);
  g_autoptr(FlowWindowOut) out = NULL;
  FlowStream *s;

  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  out = flow_stream_collect_window (s, "collect", FLOW_WINDOW_CLOCK (clock),
                                    FLOW_WINDOWER (windower), TRUE);
  flow_stream_output (flow_window_out_get_down (out), "out", FLOW_SINK (sink));
  return flow;
}

/* Aborted while windows are open, and resumed: each window is emitted
 * once, with all its items, as in a run that was not interrupted; the
 * stored window states read well in `flow-recovery show`. */
static void
test_windows (void)
{
  static const char *items =
    "[('a', <int64 1>), ('b', <int64 2>), ('a', <int64 5>), ('b', <int64 12>),"
    " ('a', <int64 8>), ('a', <int64 15>), ('b', <int64 18>), ('a', <int64 3>),"
    " ('b', <int64 25>)]";
  g_autofree char *ref_dir = rec_init_dir (1);
  g_autofree char *dir = rec_init_dir (2);
  g_autoptr(GVariant) parsed = g_variant_parse (NULL, items, NULL, NULL, NULL);
  g_autoptr(FlowTestingSource) ref_source = flow_testing_source_new (parsed);
  g_autoptr(FlowTestingSource) source = flow_testing_source_new (parsed);
  g_autoptr(FlowTestingSink) ref_sink = flow_testing_sink_new ();
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) ref_flow = window_flow (ref_source, ref_sink);
  g_autoptr(FlowDataflow) flow = window_flow (source, sink);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) ref = NULL;
  g_auto(GStrv) got1 = NULL;
  g_auto(GStrv) got2 = NULL;
  g_auto(GStrv) got = NULL;
  g_autofree char *states = NULL;

  /* Independently of the code: 10 s windows per key, event time, no
   * wait; 'a' at 3 s is late (the watermark of 'a' is 15 s then). */
  const char *expected[] = {
    "('b', (0, [2]))",
    "('a', (0, [1, 5, 8]))",
    "('b', (1, [12, 18]))",   /* at 'b' 25 s */
    "('a', (1, [15]))",       /* at the end of input, in key order */
    "('b', (2, [25]))",
    NULL,
  };

  g_assert_true (rec_run (ref_flow, ref_dir, 0, 0, NULL, &error));
  g_assert_no_error (error);
  ref = rec_sink_reprs (ref_sink);
  rec_assert_strv (ref, expected);

  /* Killed after 'a' at 8 s: the windows 0 of 'a' and 1 of 'b' are open. */
  flow_testing_source_add_marker (source, 5, FLOW_TESTING_MARKER_ABORT, 0);
  g_assert_false (rec_run (flow, dir, 0, 0, NULL, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_ABORTED);
  g_clear_error (&error);
  got1 = rec_sink_reprs (sink);
  flow_testing_sink_clear (sink);

  states = rec_show_states (dir);
  g_test_message ("%s", states);
  g_assert_nonnull (strstr (states, "  windows.collect (2 keys)\n"));
  g_assert_nonnull (strstr (states, "    'a': windows {0: [1, 5, 8]}, watermark 2022-01-01T00:00:08Z"));
  g_assert_nonnull (strstr (states, "    'b': windows {1: [12]}, watermark 2022-01-01T00:00:12Z"));

  rec_run (flow, dir, 0, 0, NULL, &error);
  g_assert_no_error (error);
  got2 = rec_sink_reprs (sink);
  got = rec_strv_concat ((const char * const *) got1, (const char * const *) got2);
  rec_assert_strv (got, ref);

  rec_rm_rf (ref_dir);
  rec_rm_rf (dir);
}

/* The flat window states (docs/recovery-format.md, "Window states"):
 * a well-formed one decodes to what the layout says; a foreign version,
 * truncated bytes or trailing bytes are refused as corrupt. */
static GVariant *
bytes_state (const guint8 *data,
             gsize         n)
{
  return g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, n, 1));
}

static void
test_window_state_layout (void)
{
  /* Watermark 5 (zigzag 10), an event clock (t0 -1 → 1, base 2 → 4), a
   * fixed windower with one window (count 1 → 2), id 3 open at 6 for 4, count window 3 holding
   * 7, one queued int32 42 at ts 1 on input 0. */
  static const guint8 good[] = {
    'F', 'W', 1, 10, 2, 1, 4, 3, 2, 6, 12, 8, 2, 6, 'c', 14,
    2, 2, 0, 'i', 0, 8, 42, 0, 0, 0,
  };
  g_autoptr(GVariant) state = bytes_state (good, sizeof good);
  g_autoptr(GVariant) decoded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  g_assert_true (flow_window_state_is_encoded (state));
  decoded = flow_window_state_decode (state, NULL, &error);
  g_assert_no_error (error);
  text = g_variant_print (decoded, FALSE);
  g_assert_cmpstr (text, ==, "(<(int64 -1, int64 2)>, <[(int64 3, int64 6, int64 10)]>, 5, "
                   "{3: <int64 7>}, [(<42>, 1, 0)])");

  {
    guint8 other[sizeof good];
    g_autoptr(GVariant) v = NULL;
    g_autoptr(GVariant) d = NULL;

    memcpy (other, good, sizeof good);
    other[2] = 3;
    v = bytes_state (other, sizeof other);
    d = flow_window_state_decode (v, NULL, &error);
    g_assert_null (d);
    g_assert_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION);
    g_assert_nonnull (strstr (error->message, "version 3"));
    g_clear_error (&error);
  }
  for (gsize n = 3; n < sizeof good; n++)
    {
      g_autoptr(GVariant) v = bytes_state (good, n);
      g_autoptr(GVariant) d = flow_window_state_decode (v, NULL, &error);

      g_assert_null (d);
      g_assert_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION);
      g_assert_nonnull (strstr (error->message, "malformed"));
      g_clear_error (&error);
    }
  {
    guint8 longer[sizeof good + 1];
    g_autoptr(GVariant) v = NULL;
    g_autoptr(GVariant) d = NULL;

    memcpy (longer, good, sizeof good);
    longer[sizeof good] = 0;
    v = bytes_state (longer, sizeof longer);
    d = flow_window_state_decode (v, NULL, &error);
    g_assert_null (d);
    g_assert_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION);
    g_clear_error (&error);
  }
  {
    g_autoptr(GVariant) v = g_variant_ref_sink (g_variant_new_int64 (1));
    g_assert_false (flow_window_state_is_encoded (v));
  }
}

static gint64
window_ts_checked (GVariant  *value,
                   gpointer   user_data,
                   GError   **error)
{
  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                   "no timestamp in a %s", g_variant_get_type_string (value));
      return 0;
    }
  /* A huge number of seconds is not a time. */
  return window_ts (value, user_data, error) + (g_variant_get_int64 (value) > 1000000 ?
                                                G_GINT64_CONSTANT (300000000000000000) : 0);
}

/* A timestamp getter that fails, or gives something that is not a time:
 * the run stops with an error naming the step and the key, and the epoch
 * of the bad item is not committed (the windows keep what came before). */
static void
test_windows_bad_timestamp (gconstpointer data)
{
  const char *bad = data;
  g_autofree char *items = g_strdup_printf ("[('a', <int64 1>), ('b', <int64 2>), ('a', <int64 3>), "
                                            "('b', %s), ('a', <int64 4>)]", bad);
  g_autofree char *dir = rec_init_dir (1);
  g_autoptr(GVariant) parsed = g_variant_parse (NULL, items, NULL, NULL, NULL);
  g_autoptr(FlowTestingSource) source = flow_testing_source_new (parsed);
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("windows");
  g_autoptr(FlowEventClock) clock = flow_event_clock_new (0, window_ts_checked, NULL, NULL, NULL);
  g_autoptr(FlowTumblingWindower) windower =
    flow_tumbling_windower_new (10 * G_USEC_PER_SEC, G_GINT64_CONSTANT (1640995200000000), NULL);
  g_autoptr(FlowWindowOut) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *states = NULL;
  FlowStream *s;

  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  out = flow_stream_collect_window (s, "collect", FLOW_WINDOW_CLOCK (clock),
                                    FLOW_WINDOWER (windower), TRUE);
  flow_stream_output (flow_window_out_get_down (out), "out", FLOW_SINK (sink));

  /* Every batch (of one item) is an epoch, committed before the next. */
  g_assert_false (rec_run (flow, dir, 0, 0, NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "collect_window step 'windows.collect' failed for key 'b'"));
  g_assert_nonnull (strstr (error->message, "timestamp getter"));

  states = rec_show_states (dir);
  g_test_message ("%s", states);
  g_assert_nonnull (strstr (states, "    'a': windows {0: [1, 3]}"));
  g_assert_nonnull (strstr (states, "    'b': windows {0: [2]}"));
  g_assert_null (strstr (states, "[1, 3, 4]"));

  rec_rm_rf (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/recovery/seed", test_seed);
  g_test_add_func ("/recovery/rescale", test_rescale);
  g_test_add_func ("/recovery/seed/same-and-grown-input", test_seed_same_and_grown_input);
  g_test_add_func ("/recovery/abort/before-snapshot", test_abort_before_snapshot);
  g_test_add_func ("/recovery/abort/after-snapshots", test_abort_after_snapshots);
  g_test_add_func ("/recovery/abort/uncommitted-epoch", test_abort_uncommitted_epoch);
  g_test_add_func ("/recovery/continuation", test_continuation);
  g_test_add_func ("/recovery/snapshot-interval-zero", test_interval_zero);
  g_test_add_func ("/recovery/snapshot-interval-zero/subprocess", test_interval_zero_subprocess);
  g_test_add_func ("/recovery/operators/all-stateful", test_stateful_operators);
  g_test_add_func ("/recovery/operators/collect-deadline", test_collect_deadline);
  g_test_add_func ("/recovery/operators/collect-deadline-kept", test_collect_deadline_kept);
  g_test_add_func ("/recovery/operators/windows", test_windows);
  g_test_add_func ("/recovery/operators/window-state-layout", test_window_state_layout);
  g_test_add_data_func ("/recovery/operators/windows-bad-timestamp/fails",
                        "<'soon'>", test_windows_bad_timestamp);
  g_test_add_data_func ("/recovery/operators/windows-bad-timestamp/not-a-time",
                        "<int64 9000000000>", test_windows_bad_timestamp);
  g_test_add_data_func ("/recovery/commit-fails/last", GINT_TO_POINTER (TRUE), test_commit_fails);
  g_test_add_data_func ("/recovery/commit-fails/middle", GINT_TO_POINTER (FALSE), test_commit_fails);
  g_test_add_func ("/recovery/tombstones", test_tombstones);
  g_test_add_func ("/recovery/backup/keeps-older-snapshots", test_backup_keeps);
  g_test_add_func ("/recovery/backup/zero-collects", test_backup_zero_collects);
  g_test_add_func ("/recovery/backup/time-horizon", test_backup_time_horizon);

  return g_test_run ();
}
