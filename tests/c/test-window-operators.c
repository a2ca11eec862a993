/* test-window-operators.c: the window operators (flow-op-window.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The expected outputs are Bytewax 0.21's: most cases are the tests of
 * its `bytewax.operators.windowing` (test_collect_window,
 * test_fold_window_session, test_fold_window_sliding, ...) rewritten in
 * C; the others follow its definitions (a window contains t when
 * open <= t < close, items before the watermark are late, every window
 * closes at the end of input). Runs use the test clock of
 * flow_test_run(): time moves only when the run waits (PAUSE markers),
 * nothing sleeps.
 *
 * Items are `(key, value)`; a value is `(seconds, label)` or `seconds`,
 * its timestamp being ALIGN + seconds.
 */

#include "config.h"

#include "flow-test-utils.h"
#include "flow-private.h"

#define SEC G_GINT64_CONSTANT (1000000)

static gint64
align_to (void)
{
  g_autoptr(GDateTime) dt = g_date_time_new_utc (2022, 1, 1, 0, 0, 0);

  return g_date_time_to_unix (dt) * SEC;
}

static gint64
get_ts (GVariant  *value,
        gpointer   user_data,
        GError   **error)
{
  GVariant *v = value;
  g_autoptr(GVariant) first = NULL;

  if (g_variant_is_of_type (v, G_VARIANT_TYPE_TUPLE))
    v = first = flow_variant_unbox (g_variant_get_child_value (value, 0));
  if (!g_variant_is_of_type (v, G_VARIANT_TYPE_INT64))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                   "no timestamp in %s", g_variant_get_type_string (value));
      return 0;
    }
  return align_to () + g_variant_get_int64 (v) * SEC;
}

/* count_window items are whole `(key, seconds)` tuples. */
static gint64
get_ts_whole (GVariant  *item,
              gpointer   user_data,
              GError   **error)
{
  g_autoptr(GVariant) v = flow_variant_unbox (g_variant_get_child_value (item, 1));

  return get_ts (v, user_data, error);
}

static FlowWindowClock *
event_clock (GTimeSpan wait)
{
  g_autoptr(GError) error = NULL;
  FlowEventClock *clock = flow_event_clock_new (wait, get_ts, NULL, NULL, &error);

  g_assert_no_error (error);
  return FLOW_WINDOW_CLOCK (clock);
}

static FlowWindower *
tumbling (gint64 seconds)
{
  g_autoptr(GError) error = NULL;
  FlowTumblingWindower *w = flow_tumbling_windower_new (seconds * SEC, align_to (), &error);

  g_assert_no_error (error);
  return FLOW_WINDOWER (w);
}

static FlowWindower *
session (gint64 gap_seconds)
{
  g_autoptr(GError) error = NULL;
  FlowSessionWindower *w = flow_session_windower_new (gap_seconds * SEC, &error);

  g_assert_no_error (error);
  return FLOW_WINDOWER (w);
}

/* Runs the flow with `down`, `late` and `meta` each into its own sink
 * and returns their reprs. */
typedef struct
{
  char *down;
  char *late;
  char *meta;
} Outs;

static void
outs_clear (Outs *o)
{
  g_free (o->down);
  g_free (o->late);
  g_free (o->meta);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Outs, outs_clear)

static gboolean
run_window (FlowHarness    *h,
            FlowWindowOut  *out,
            Outs           *o,
            GError        **error)
{
  g_autoptr(FlowTestingSink) late = flow_testing_sink_new ();
  g_autoptr(FlowTestingSink) meta = flow_testing_sink_new ();
  gboolean ok;

  g_assert_nonnull (out);
  flow_stream_output (flow_window_out_get_down (out), "out", FLOW_SINK (h->sink));
  flow_stream_output (flow_window_out_get_late (out), "out_late", FLOW_SINK (late));
  flow_stream_output (flow_window_out_get_meta (out), "out_meta", FLOW_SINK (meta));
  g_object_unref (out);
  ok = flow_test_run (h->flow, error);
  o->down = flow_test_sink_repr (h->sink);
  o->late = flow_test_sink_repr (late);
  o->meta = flow_test_sink_repr (meta);
  return ok;
}

#define RUN(h, out, o)                                                      \
  G_STMT_START {                                                           \
    g_autoptr(GError) _error = NULL;                                       \
    run_window ((h), (out), (o), &_error);                                 \
    g_assert_no_error (_error);                                            \
  } G_STMT_END

/* Bytewax's test_collect_window: waiting forever, the windows close at
 * the end of input, each value in timestamp order. */
static void
test_collect_ordered (FlowHarness   *h,
                      gconstpointer  data)
{
  g_autoptr(FlowWindowClock) clock = event_clock (G_MAXINT64 / 2);
  g_autoptr(FlowWindower) windower = tumbling (10);
  g_auto(Outs) o = { 0 };
  FlowStream *s = flow_harness_input (h, "[('ALL', <(int64 0, int64 1)>), ('ALL', <(int64 8, int64 3)>), ('ALL', <(int64 4, int64 2)>),"
                                          " ('ALL', <(int64 13, int64 5)>), ('ALL', <(int64 12, int64 4)>)]");

  RUN (h, flow_stream_collect_window (s, "collect_window", clock, windower, TRUE), &o);
  g_assert_cmpstr (o.down, ==, "[('ALL', (0, [(0, 1), (4, 2), (8, 3)])), "
                               "('ALL', (1, [(12, 4), (13, 5)]))]");
  g_assert_cmpstr (o.late, ==, "[]");
}

/* Unordered, values go in as they come. */
static void
test_collect_unordered (FlowHarness   *h,
                        gconstpointer  data)
{
  g_autoptr(FlowWindowClock) clock = event_clock (G_MAXINT64 / 2);
  g_autoptr(FlowWindower) windower = tumbling (10);
  g_auto(Outs) o = { 0 };
  FlowStream *s = flow_harness_input (h, "[('ALL', <int64 0>), ('ALL', <int64 8>), ('ALL', <int64 4>)]");

  RUN (h, flow_stream_collect_window (s, "collect_window", clock, windower, FALSE), &o);
  g_assert_cmpstr (o.down, ==, "[('ALL', (0, [0, 8, 4]))]");
}

static GVariant *
build_list (gpointer user_data, GError **error)
{
  return g_variant_new_array (G_VARIANT_TYPE_VARIANT, NULL, 0);
}

/* Appends the label of a `(seconds, label)` value. */
static GVariant *
add_label (GVariant *acc, GVariant *value, gpointer user_data, GError **error)
{
  GVariantBuilder b;
  GVariantIter iter;
  GVariant *child;
  g_autoptr(GVariant) label = flow_variant_unbox (g_variant_get_child_value (value, 1));

  g_variant_builder_init (&b, G_VARIANT_TYPE ("av"));
  g_variant_iter_init (&iter, acc);
  while ((child = g_variant_iter_next_value (&iter)))
    {
      g_variant_builder_add_value (&b, child);
      g_variant_unref (child);
    }
  g_variant_builder_add (&b, "v", label);
  return g_variant_builder_end (&b);
}

static GVariant *
concat (GVariant *a, GVariant *b, gpointer user_data, GError **error)
{
  GVariantBuilder builder;
  GVariantIter iter;
  GVariant *child;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("av"));
  g_variant_iter_init (&iter, a);
  while ((child = g_variant_iter_next_value (&iter)))
    {
      g_variant_builder_add_value (&builder, child);
      g_variant_unref (child);
    }
  g_variant_iter_init (&iter, b);
  while ((child = g_variant_iter_next_value (&iter)))
    {
      g_variant_builder_add_value (&builder, child);
      g_variant_unref (child);
    }
  return g_variant_builder_end (&builder);
}

/* Bytewax's test_fold_window_session: three sessions with a 5 s gap; the
 * late item goes out on `late` with LATE_SESSION_ID. */
static void
test_fold_session (FlowHarness   *h,
                   gconstpointer  data)
{
  g_autoptr(FlowWindowClock) clock = event_clock (0);
  g_autoptr(FlowWindower) windower = session (5);
  g_auto(Outs) o = { 0 };
  FlowStream *s = flow_harness_input (h, "[('ALL', <(int64 1, 'a')>), ('ALL', <(int64 5, 'b')>),"
                                          " ('ALL', <(int64 11, 'c')>), ('ALL', <(int64 12, 'd')>),"
                                          " ('ALL', <(int64 13, 'e')>), ('ALL', <(int64 14, 'f')>),"
                                          " ('ALL', <(int64 20, 'g')>), ('ALL', <(int64 1, 'h')>)]");

  RUN (h, flow_stream_fold_window (s, "sum", clock, windower, build_list, NULL, NULL,
                                   add_label, NULL, NULL, concat, NULL, NULL, TRUE), &o);
  g_assert_cmpstr (o.down, ==, "[('ALL', (0, ['a', 'b'])), ('ALL', (1, ['c', 'd', 'e', 'f'])), "
                               "('ALL', (2, ['g']))]");
  g_assert_cmpstr (o.late, ==, "[('ALL', (-1, (1, 'h')))]");
}

/* Bytewax's test_fold_window_sliding: 10 s windows every 5 s. */
static void
test_fold_sliding (FlowHarness   *h,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FlowWindowClock) clock = event_clock (0);
  g_autoptr(FlowSlidingWindower) windower = flow_sliding_windower_new (10 * SEC, 5 * SEC,
                                                                       align_to (), &error);
  g_auto(Outs) o = { 0 };
  FlowStream *s = flow_harness_input (h, "[('ALL', <(int64 1, 'a')>), ('ALL', <(int64 4, 'b')>),"
                                          " ('ALL', <(int64 8, 'c')>), ('ALL', <(int64 12, 'd')>),"
                                          " ('ALL', <(int64 13, 'e')>), ('ALL', <(int64 14, 'f')>),"
                                          " ('ALL', <(int64 16, 'g')>), ('ALL', <(int64 1, 'h')>)]");

  g_assert_no_error (error);
  RUN (h, flow_stream_fold_window (s, "sum", clock, FLOW_WINDOWER (windower), build_list, NULL, NULL,
                                   add_label, NULL, NULL, concat, NULL, NULL, TRUE), &o);
  g_assert_cmpstr (o.down, ==, "[('ALL', (-1, ['a', 'b'])), ('ALL', (0, ['a', 'b', 'c'])), "
                               "('ALL', (1, ['c', 'd', 'e', 'f'])), ('ALL', (2, ['d', 'e', 'f', 'g'])), "
                               "('ALL', (3, ['g']))]");
  /* h (1 s) is late for the two windows that held 1 s. */
  g_assert_cmpstr (o.late, ==, "[('ALL', (-1, (1, 'h'))), ('ALL', (0, (1, 'h')))]");
}


static char *
key_first (GVariant *item, gpointer user_data, GError **error)
{
  g_autoptr(GVariant) k = g_variant_get_child_value (item, 0);

  return g_variant_dup_string (k, NULL);
}

/* count_window makes its keys; per key, 10 s tumbling windows from
 * ALIGN (negative ids before it), late items on `late` (whole), the
 * metadata of every window when it closes. */
static void
test_count_late_meta (FlowHarness   *h,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FlowWindowClock) clock = FLOW_WINDOW_CLOCK (flow_event_clock_new (0, get_ts_whole, NULL, NULL, &error));
  g_autoptr(FlowWindower) windower = tumbling (10);
  g_autoptr(FlowTestingSink) meta = flow_testing_sink_new ();
  g_autoptr(FlowTestingSink) late = flow_testing_sink_new ();
  g_autofree char *down = NULL;
  g_autofree char *metas = NULL;
  g_autofree char *expected_meta = NULL;
  g_autofree char *lates = NULL;
  FlowWindowOut *out;
  gint64 a = align_to ();
  FlowStream *s = flow_harness_input (h, "[('a', <int64 -5>), ('b', <int64 0>), ('a', <int64 3>), ('a', <int64 9>),"
                                          " ('b', <int64 12>), ('a', <int64 15>), ('a', <int64 2>), ('b', <int64 25>)]");

  g_assert_no_error (error);
  out = flow_stream_count_window (s, "count", clock, windower, key_first, NULL, NULL);
  flow_stream_output (flow_window_out_get_down (out), "out", FLOW_SINK (h->sink));
  flow_stream_output (flow_window_out_get_late (out), "out_late", FLOW_SINK (late));
  flow_stream_output (flow_window_out_get_meta (out), "out_meta", FLOW_SINK (meta));
  g_object_unref (out);
  g_assert_true (flow_test_run (h->flow, &error));
  g_assert_no_error (error);

  down = flow_test_sink_repr_sorted (h->sink);
  g_assert_cmpstr (down, ==, "[('a', (-1, 1)), ('a', (0, 2)), ('a', (1, 1)), "
                             "('b', (0, 1)), ('b', (1, 1)), ('b', (2, 1))]");
  lates = flow_test_sink_repr (late);
  g_assert_cmpstr (lates, ==, "[('a', (0, ('a', 2)))]");
  metas = flow_test_sink_repr_sorted (meta);
  expected_meta = g_strdup_printf ("[('a', (-1, (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", []))), "
                                   "('a', (0, (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", []))), "
                                   "('a', (1, (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", []))), "
                                   "('b', (0, (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", []))), "
                                   "('b', (1, (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", []))), "
                                   "('b', (2, (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", [])))]",
                                   a - 10 * SEC, a, a, a + 10 * SEC, a + 10 * SEC, a + 20 * SEC,
                                   a, a + 10 * SEC, a + 10 * SEC, a + 20 * SEC, a + 20 * SEC, a + 30 * SEC);
  g_assert_cmpstr (metas, ==, expected_meta);
}

/* Windows align on align_to, not on the epoch. */
static void
test_alignment (FlowHarness   *h,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FlowWindowClock) clock = event_clock (G_MAXINT64 / 2);
  g_autoptr(FlowTumblingWindower) windower = flow_tumbling_windower_new (10 * SEC, align_to () + 3 * SEC, &error);
  g_auto(Outs) o = { 0 };
  FlowStream *s = flow_harness_input (h, "[('k', <int64 2>), ('k', <int64 3>), ('k', <int64 12>), ('k', <int64 13>)]");

  g_assert_no_error (error);
  RUN (h, flow_stream_collect_window (s, "w", clock, FLOW_WINDOWER (windower), TRUE), &o);
  g_assert_cmpstr (o.down, ==, "[('k', (-1, [2])), ('k', (0, [3, 12])), ('k', (1, [13]))]");
}

/* A value that falls within the gap of two sessions merges them: the
 * later one into the earlier, whose metadata lists it. */
static void
test_session_merge (FlowHarness   *h,
                    gconstpointer  data)
{
  g_autoptr(FlowWindowClock) clock = event_clock (G_MAXINT64 / 2);
  g_autoptr(FlowWindower) windower = session (5);
  g_auto(Outs) o = { 0 };
  g_autofree char *expected_meta = NULL;
  FlowStream *s = flow_harness_input (h, "[('k', <int64 0>), ('k', <int64 10>), ('k', <int64 5>), ('k', <int64 30>)]");

  RUN (h, flow_stream_collect_window (s, "w", clock, windower, FALSE), &o);
  g_assert_cmpstr (o.down, ==, "[('k', (0, [0, 5, 10])), ('k', (2, [30]))]");
  expected_meta = g_strdup_printf ("[('k', (0, (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", [1]))), "
                                   "('k', (2, (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", [])))]",
                                   align_to (), align_to () + 10 * SEC,
                                   align_to () + 30 * SEC, align_to () + 30 * SEC);
  g_assert_cmpstr (o.meta, ==, expected_meta);
}

/* While the input waits, the watermark moves with system time: the
 * window of 'z' closes at its deadline (a wake-up of the step), before
 * the item after the pause; without it, the end of input would close
 * both windows in key order ('a' first). */
static void
test_wake_closes (FlowHarness   *h,
                  gconstpointer  data)
{
  g_autoptr(FlowWindowClock) clock = event_clock (0);
  g_autoptr(FlowWindower) windower = tumbling (10);
  g_auto(Outs) o = { 0 };
  FlowStream *s = flow_harness_input (h, "[('z', <int64 0>), ('a', <int64 100>)]");

  flow_testing_source_add_marker (h->source, 1, FLOW_TESTING_MARKER_PAUSE, 30.0);
  RUN (h, flow_stream_collect_window (s, "w", clock, windower, TRUE), &o);
  g_assert_cmpstr (o.down, ==, "[('z', (0, [0])), ('a', (10, [100]))]");
}

static GVariant *
add_int (GVariant *acc, GVariant *value, gpointer user_data, GError **error)
{
  return g_variant_new_int64 (g_variant_get_int64 (acc) + g_variant_get_int64 (value));
}

static GVariant *
negate (GVariant *value, gpointer user_data, GError **error)
{
  return g_variant_new_int64 (-g_variant_get_int64 (value));
}

static void
test_reduce_max_min (FlowHarness   *h,
                     gconstpointer  data)
{
  g_autoptr(FlowWindowClock) clock = event_clock (G_MAXINT64 / 2);
  g_autoptr(FlowWindower) windower = tumbling (10);
  g_autoptr(FlowTestingSink) max = flow_testing_sink_new ();
  g_autoptr(FlowTestingSink) min = flow_testing_sink_new ();
  g_autoptr(FlowTestingSink) max_by = flow_testing_sink_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *sums = NULL, *maxs = NULL, *mins = NULL, *maxs_by = NULL;
  FlowStream *s = flow_harness_input (h, "[('k', <int64 3>), ('k', <int64 9>), ('k', <int64 1>), ('k', <int64 12>), ('j', <int64 4>)]");
  FlowWindowOut *out;

  out = flow_stream_reduce_window (s, "sum", clock, windower, add_int, NULL, NULL, TRUE);
  flow_stream_output (flow_window_out_get_down (out), "out", FLOW_SINK (h->sink));
  g_object_unref (out);
  out = flow_stream_max_window (s, "max", clock, windower, NULL, NULL, NULL);
  flow_stream_output (flow_window_out_get_down (out), "out_max", FLOW_SINK (max));
  g_object_unref (out);
  out = flow_stream_min_window (s, "min", clock, windower, NULL, NULL, NULL);
  flow_stream_output (flow_window_out_get_down (out), "out_min", FLOW_SINK (min));
  g_object_unref (out);
  out = flow_stream_max_window (s, "max_by", clock, windower, negate, NULL, NULL);
  flow_stream_output (flow_window_out_get_down (out), "out_max_by", FLOW_SINK (max_by));
  g_object_unref (out);
  g_assert_true (flow_test_run (h->flow, &error));
  g_assert_no_error (error);

  sums = flow_test_sink_repr_sorted (h->sink);
  maxs = flow_test_sink_repr_sorted (max);
  mins = flow_test_sink_repr_sorted (min);
  maxs_by = flow_test_sink_repr_sorted (max_by);
  g_assert_cmpstr (sums, ==, "[('j', (0, 4)), ('k', (0, 13)), ('k', (1, 12))]");
  g_assert_cmpstr (maxs, ==, "[('j', (0, 4)), ('k', (0, 9)), ('k', (1, 12))]");
  g_assert_cmpstr (mins, ==, "[('j', (0, 4)), ('k', (0, 1)), ('k', (1, 12))]");
  g_assert_cmpstr (maxs_by, ==, "[('j', (0, 4)), ('k', (0, 1)), ('k', (1, 12))]");
}

/* A timestamp getter that fails stops the run, naming the step and the
 * key. */
static void
test_bad_timestamp (FlowHarness   *h,
                    gconstpointer  data)
{
  g_autoptr(FlowWindowClock) clock = event_clock (0);
  g_autoptr(FlowWindower) windower = tumbling (10);
  g_autoptr(GError) error = NULL;
  g_auto(Outs) o = { 0 };
  FlowStream *s = flow_harness_input (h, "[('k', <int64 3>), ('bad', <'x'>)]");

  g_assert_false (run_window (h, flow_stream_collect_window (s, "w", clock, windower, TRUE),
                              &o, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION);
  flow_test_assert_error_has (error, "collect_window step 'test.w' failed for key 'bad'");
  flow_test_assert_error_has (error, "no timestamp in s");
  g_assert_cmpstr (o.down, ==, "[]");
}
/* A FlowWindowLogic subclass: sums the window's values; emits the sum
 * at close. */
typedef struct
{
  FlowWindowLogic parent_instance;
  gint64          sum;
} TestSumLogic;

typedef struct
{
  FlowWindowLogicClass parent_class;
} TestSumLogicClass;

static GType test_sum_logic_get_type (void);
G_DEFINE_TYPE (TestSumLogic, test_sum_logic, FLOW_TYPE_WINDOW_LOGIC)

static GVariant *
sum_on_value (FlowWindowLogic *logic, GVariant *value, GError **error)
{
  ((TestSumLogic *) logic)->sum += g_variant_get_int64 (value);
  return NULL;
}

static GVariant *
sum_on_merge (FlowWindowLogic *logic, FlowWindowLogic *consumed, GError **error)
{
  ((TestSumLogic *) logic)->sum += ((TestSumLogic *) consumed)->sum;
  return NULL;
}

static GVariant *
sum_on_close (FlowWindowLogic *logic, GError **error)
{
  GVariant *sum = g_variant_new_variant (g_variant_new_int64 (((TestSumLogic *) logic)->sum));

  return g_variant_new_array (G_VARIANT_TYPE_VARIANT, &sum, 1);
}

static GVariant *
sum_snapshot (FlowWindowLogic *logic, GError **error)
{
  return g_variant_new_int64 (((TestSumLogic *) logic)->sum);
}

static gboolean
sum_restore (FlowWindowLogic *logic, GVariant *state, GError **error)
{
  ((TestSumLogic *) logic)->sum = g_variant_get_int64 (state);
  return TRUE;
}

static void
test_sum_logic_class_init (TestSumLogicClass *klass)
{
  FlowWindowLogicClass *logic_class = FLOW_WINDOW_LOGIC_CLASS (klass);

  logic_class->on_value = sum_on_value;
  logic_class->on_merge = sum_on_merge;
  logic_class->on_close = sum_on_close;
  logic_class->snapshot = sum_snapshot;
  logic_class->restore = sum_restore;
}

static void
test_sum_logic_init (TestSumLogic *self)
{
}

/* window with a subclassed FlowWindowLogic, over sessions that merge. */
static void
test_window_logic (FlowHarness   *h,
                   gconstpointer  data)
{
  g_autoptr(FlowWindowClock) clock = event_clock (G_MAXINT64 / 2);
  g_autoptr(FlowWindower) windower = session (5);
  g_auto(Outs) o = { 0 };
  FlowStream *s = flow_harness_input (h, "[('k', <int64 0>), ('k', <int64 10>), ('k', <int64 5>),"
                                          " ('k', <int64 30>), ('j', <int64 1>)]");

  RUN (h, flow_stream_window (s, "w", clock, windower, test_sum_logic_get_type (), FALSE), &o);
  g_assert_cmpstr (o.down, ==, "[('j', (0, 1)), ('k', (0, 15)), ('k', (2, 30))]");
}

/* join_window: the values of each key on two streams, per window; each
 * insert mode. */
static void
test_join_window (FlowHarness   *h,
                  gconstpointer  data)
{
  g_autoptr(FlowWindowClock) clock = event_clock (G_MAXINT64 / 2);
  g_autoptr(FlowWindower) windower = tumbling (10);
  g_autoptr(FlowTestingSource) other_source =
    flow_test_source_new_parse ("[('u1', <int64 3>), ('u1', <int64 4>), ('u2', <int64 15>)]");
  g_autoptr(FlowTestingSink) first = flow_testing_sink_new ();
  g_autoptr(FlowTestingSink) product = flow_testing_sink_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *lasts = NULL, *firsts = NULL, *products = NULL;
  FlowStream *s = flow_harness_input (h, "[('u1', <int64 1>), ('u1', <int64 2>), ('u3', <int64 12>)]");
  FlowStream *other = flow_dataflow_input (h->flow, "inp2", FLOW_SOURCE (other_source));
  FlowWindowOut *out;

  out = flow_stream_join_window (s, "last", clock, windower, &other, 1, FLOW_JOIN_INSERT_MODE_LAST);
  flow_stream_output (flow_window_out_get_down (out), "out", FLOW_SINK (h->sink));
  g_object_unref (out);
  out = flow_stream_join_window (s, "first", clock, windower, &other, 1, FLOW_JOIN_INSERT_MODE_FIRST);
  flow_stream_output (flow_window_out_get_down (out), "out_first", FLOW_SINK (first));
  g_object_unref (out);
  out = flow_stream_join_window (s, "product", clock, windower, &other, 1, FLOW_JOIN_INSERT_MODE_PRODUCT);
  flow_stream_output (flow_window_out_get_down (out), "out_product", FLOW_SINK (product));
  g_object_unref (out);
  g_assert_true (flow_test_run (h->flow, &error));
  g_assert_no_error (error);

  lasts = flow_test_sink_repr_sorted (h->sink);
  firsts = flow_test_sink_repr_sorted (first);
  products = flow_test_sink_repr_sorted (product);
  g_assert_cmpstr (lasts, ==, "[('u1', (0, (2, 4))), ('u2', (1, (None, 15))), ('u3', (1, (12, None)))]");
  g_assert_cmpstr (firsts, ==, "[('u1', (0, (1, 3))), ('u2', (1, (None, 15))), ('u3', (1, (12, None)))]");
  g_assert_cmpstr (products, ==, "[('u1', (0, (1, 3))), ('u1', (0, (1, 4))), ('u1', (0, (2, 3))), "
                                 "('u1', (0, (2, 4))), ('u2', (1, (None, 15))), ('u3', (1, (12, None)))]");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add (path, FlowHarness, NULL, flow_harness_setup, func, flow_harness_teardown)

  ADD ("/window-operators/collect/ordered", test_collect_ordered);
  ADD ("/window-operators/collect/unordered", test_collect_unordered);
  ADD ("/window-operators/fold/session", test_fold_session);
  ADD ("/window-operators/fold/sliding", test_fold_sliding);
  ADD ("/window-operators/count/late-meta", test_count_late_meta);
  ADD ("/window-operators/alignment", test_alignment);
  ADD ("/window-operators/session/merge", test_session_merge);
  ADD ("/window-operators/wake/closes", test_wake_closes);
  ADD ("/window-operators/reduce-max-min", test_reduce_max_min);
  ADD ("/window-operators/errors/bad-timestamp", test_bad_timestamp);
  ADD ("/window-operators/window/logic", test_window_logic);
  ADD ("/window-operators/join-window", test_join_window);

#undef ADD
  return g_test_run ();
}
