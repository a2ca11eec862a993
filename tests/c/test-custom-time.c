/* test-custom-time.c: clocks and windowers written outside libflow (the
 * vfuncs of FlowWindowClockClass and FlowWindowerClass)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A C subclass of each: TestSecondsClock reads the timestamp from the
 * value (seconds since the epoch) and keeps the latest as the watermark;
 * TestFixedWindower puts each item in the window of `length` seconds
 * that holds it (window id: seconds / length). Both keep their per-key
 * state in a TestKeyState object (what build() returns), snapshotted as
 * GVariants. The expected outputs are worked out by hand from these
 * definitions.
 */

#include "config.h"

#include "flow-test-utils.h"
#include "flow-private.h"

#define SEC G_GINT64_CONSTANT (1000000)

/* The per-key state of both: the clock's max timestamp, the windower's
 * open windows (id -> close time). */
typedef struct
{
  GObject     parent_instance;
  gint64      max_ts;
  GHashTable *open;   /* gint64* id -> gint64* close */
} TestKeyState;

typedef GObjectClass TestKeyStateClass;

static GType test_key_state_get_type (void);
G_DEFINE_TYPE (TestKeyState, test_key_state, G_TYPE_OBJECT)

static void
test_key_state_finalize (GObject *object)
{
  g_hash_table_unref (((TestKeyState *) object)->open);
  G_OBJECT_CLASS (test_key_state_parent_class)->finalize (object);
}

static void
test_key_state_class_init (TestKeyStateClass *klass)
{
  klass->finalize = test_key_state_finalize;
}

static void
test_key_state_init (TestKeyState *self)
{
  self->max_ts = FLOW_TIMESTAMP_MIN;
  self->open = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
}

/* TestSecondsClock ---------------------------------------------------- */

typedef struct
{
  FlowWindowClock parent_instance;
  guint           n_built;
  guint           n_resumed;
} TestSecondsClock;

typedef FlowWindowClockClass TestSecondsClockClass;

static GType test_seconds_clock_get_type (void);
G_DEFINE_TYPE (TestSecondsClock, test_seconds_clock, FLOW_TYPE_WINDOW_CLOCK)

static GObject *
clock_build (FlowWindowClock  *clock,
             GVariant         *resume_state,
             GError          **error)
{
  TestSecondsClock *self = (TestSecondsClock *) clock;
  TestKeyState *st = g_object_new (test_key_state_get_type (), NULL);

  self->n_built++;
  if (resume_state != NULL)
    {
      self->n_resumed++;
      st->max_ts = g_variant_get_int64 (resume_state);
    }
  return G_OBJECT (st);
}

static gboolean
clock_on_item (FlowWindowClock  *clock,
               GObject          *logic,
               GVariant         *value,
               gint64           *timestamp,
               gint64           *watermark,
               GError          **error)
{
  TestKeyState *st = (TestKeyState *) logic;

  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                   "no seconds in %s", g_variant_get_type_string (value));
      return FALSE;
    }
  *timestamp = g_variant_get_int64 (value) * SEC;
  st->max_ts = MAX (st->max_ts, *timestamp);
  *watermark = st->max_ts;
  return TRUE;
}

static gint64
clock_on_notify (FlowWindowClock  *clock,
                 GObject          *logic,
                 GError          **error)
{
  return ((TestKeyState *) logic)->max_ts;
}

static GVariant *
clock_snapshot (FlowWindowClock  *clock,
                GObject          *logic,
                GError          **error)
{
  return g_variant_new_int64 (((TestKeyState *) logic)->max_ts);
}

static void
test_seconds_clock_class_init (TestSecondsClockClass *klass)
{
  /* No before_batch, on_eof (FLOW_TIMESTAMP_MAX) nor to_system_utc
   * (never woken): the optional ones. */
  klass->build = clock_build;
  klass->on_item = clock_on_item;
  klass->on_notify = clock_on_notify;
  klass->snapshot = clock_snapshot;
}

static void
test_seconds_clock_init (TestSecondsClock *self)
{
}

/* TestFixedWindower --------------------------------------------------- */

typedef struct
{
  FlowWindower parent_instance;
  gint64       length;      /* seconds */
  gboolean     bad_ids;     /* open_for returns the wrong type */
} TestFixedWindower;

typedef FlowWindowerClass TestFixedWindowerClass;

static GType test_fixed_windower_get_type (void);
G_DEFINE_TYPE (TestFixedWindower, test_fixed_windower, FLOW_TYPE_WINDOWER)

static GObject *
windower_build (FlowWindower  *windower,
                GVariant      *resume_state,
                GError       **error)
{
  TestKeyState *st = g_object_new (test_key_state_get_type (), NULL);

  if (resume_state != NULL)
    {
      GVariantIter iter;
      gint64 id, close;

      g_variant_iter_init (&iter, resume_state);
      while (g_variant_iter_next (&iter, "(xx)", &id, &close))
        g_hash_table_insert (st->open, g_memdup2 (&id, sizeof id), g_memdup2 (&close, sizeof close));
    }
  return G_OBJECT (st);
}

static GVariant *
windower_ids (FlowWindower  *windower,
              GObject       *logic,
              gint64         timestamp,
              gboolean       open)
{
  TestFixedWindower *self = (TestFixedWindower *) windower;
  TestKeyState *st = (TestKeyState *) logic;
  gint64 len = self->length * SEC;
  gint64 id = timestamp / len;   /* (the tests' times are positive) */

  if (self->bad_ids)
    return g_variant_new_string ("not ids");
  if (open && !g_hash_table_contains (st->open, &id))
    {
      gint64 close = (id + 1) * len;
      g_hash_table_insert (st->open, g_memdup2 (&id, sizeof id), g_memdup2 (&close, sizeof close));
    }
  return g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, &id, 1, sizeof id);
}

static GVariant *
windower_open_for (FlowWindower *windower, GObject *logic, gint64 timestamp, GError **error)
{
  return windower_ids (windower, logic, timestamp, TRUE);
}

static GVariant *
windower_late_for (FlowWindower *windower, GObject *logic, gint64 timestamp, GError **error)
{
  return windower_ids (windower, logic, timestamp, FALSE);
}

static GVariant *
windower_merged (FlowWindower *windower, GObject *logic, GError **error)
{
  return g_variant_new_array (G_VARIANT_TYPE ("(xx)"), NULL, 0);
}

static int
compare_int64 (gconstpointer a,
               gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static GVariant *
windower_close_for (FlowWindower *windower, GObject *logic, gint64 watermark, GError **error)
{
  TestFixedWindower *self = (TestFixedWindower *) windower;
  TestKeyState *st = (TestKeyState *) logic;
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  GVariantBuilder b;
  GHashTableIter iter;
  gpointer k, v;

  g_hash_table_iter_init (&iter, st->open);
  while (g_hash_table_iter_next (&iter, &k, &v))
    if (*(gint64 *) v <= watermark)
      g_array_append_val (ids, *(gint64 *) k);
  g_array_sort (ids, compare_int64);
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(xxxax)"));
  for (guint i = 0; i < ids->len; i++)
    {
      gint64 id = g_array_index (ids, gint64, i);

      g_variant_builder_add (&b, "(xxx@ax)", id, id * self->length * SEC,
                             (id + 1) * self->length * SEC,
                             g_variant_new_array (G_VARIANT_TYPE_INT64, NULL, 0));
      g_hash_table_remove (st->open, &id);
    }
  return g_variant_builder_end (&b);
}

static gboolean
windower_notify_at (FlowWindower *windower, GObject *logic, gint64 *notify_at, GError **error)
{
  TestKeyState *st = (TestKeyState *) logic;
  GHashTableIter iter;
  gpointer v;
  gboolean found = FALSE;

  g_hash_table_iter_init (&iter, st->open);
  while (g_hash_table_iter_next (&iter, NULL, &v))
    if (!found || *(gint64 *) v < *notify_at)
      {
        *notify_at = *(gint64 *) v;
        found = TRUE;
      }
  return found;
}

static gboolean
windower_is_empty (FlowWindower *windower, GObject *logic, GError **error)
{
  return g_hash_table_size (((TestKeyState *) logic)->open) == 0;
}

static GVariant *
windower_snapshot (FlowWindower *windower, GObject *logic, GError **error)
{
  TestKeyState *st = (TestKeyState *) logic;
  GVariantBuilder b;
  GHashTableIter iter;
  gpointer k, v;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(xx)"));
  g_hash_table_iter_init (&iter, st->open);
  while (g_hash_table_iter_next (&iter, &k, &v))
    g_variant_builder_add (&b, "(xx)", *(gint64 *) k, *(gint64 *) v);
  return g_variant_builder_end (&b);
}

static void
test_fixed_windower_class_init (TestFixedWindowerClass *klass)
{
  klass->build = windower_build;
  klass->open_for = windower_open_for;
  klass->late_for = windower_late_for;
  klass->merged = windower_merged;
  klass->close_for = windower_close_for;
  klass->notify_at = windower_notify_at;
  klass->is_empty = windower_is_empty;
  klass->snapshot = windower_snapshot;
}

static void
test_fixed_windower_init (TestFixedWindower *self)
{
}

static FlowWindower *
fixed_windower (gint64 length)
{
  TestFixedWindower *w = g_object_new (test_fixed_windower_get_type (), NULL);

  w->length = length;
  return FLOW_WINDOWER (w);
}

/* Tests --------------------------------------------------------------- */

static char *
run_collect (FlowHarness     *h,
             FlowWindowClock *clock,
             FlowWindower    *windower,
             const char      *input,
             char           **late_repr,
             char           **meta_repr,
             GError         **error)
{
  g_autoptr(FlowTestingSink) late = flow_testing_sink_new ();
  g_autoptr(FlowTestingSink) meta = flow_testing_sink_new ();
  FlowStream *s = flow_harness_input (h, input);
  FlowWindowOut *out = flow_stream_collect_window (s, "w", clock, windower, TRUE);

  flow_stream_output (flow_window_out_get_down (out), "out", FLOW_SINK (h->sink));
  flow_stream_output (flow_window_out_get_late (out), "out_late", FLOW_SINK (late));
  flow_stream_output (flow_window_out_get_meta (out), "out_meta", FLOW_SINK (meta));
  g_object_unref (out);
  if (!flow_test_run (h->flow, error))
    return NULL;
  if (late_repr != NULL)
    *late_repr = flow_test_sink_repr_sorted (late);
  if (meta_repr != NULL)
    *meta_repr = flow_test_sink_repr_sorted (meta);
  return flow_test_sink_repr_sorted (h->sink);
}

/* Both subclasses in a window operator: items go in the windows the
 * windower gives, in timestamp order; late ones (before the clock's
 * watermark) go out on `late`; windows close when the watermark reaches
 * their close time and at the end of input. */
static void
test_custom_collect (FlowHarness   *h,
                     gconstpointer  data)
{
  g_autoptr(FlowWindowClock) clock = g_object_new (test_seconds_clock_get_type (), NULL);
  g_autoptr(FlowWindower) windower = fixed_windower (10);
  g_autoptr(GError) error = NULL;
  g_autofree char *late = NULL, *meta = NULL;
  g_autofree char *down =
    run_collect (h, clock, windower,
                 "[('a', <int64 1>), ('a', <int64 5>), ('b', <int64 3>), ('a', <int64 12>),"
                 " ('a', <int64 4>), ('b', <int64 25>), ('a', <int64 21>)]",
                 &late, &meta, &error);

  g_assert_no_error (error);
  /* 'a': 1 and 5 in window 0; 12 (watermark 12) closes window 0; 4 is
   * late (before 12) for window 0; 21 closes window 1. */
  g_assert_cmpstr (down, ==, "[('a', (0, [1, 5])), ('a', (1, [12])), ('a', (2, [21])), "
                             "('b', (0, [3])), ('b', (2, [25]))]");
  g_assert_cmpstr (late, ==, "[('a', (0, 4))]");
  g_assert_cmpstr (meta, ==, "[('a', (0, (0, 10000000, []))), ('a', (1, (10000000, 20000000, []))), "
                             "('a', (2, (20000000, 30000000, []))), ('b', (0, (0, 10000000, []))), "
                             "('b', (2, (20000000, 30000000, [])))]");
  /* A state per key. */
  g_assert_cmpuint (((TestSecondsClock *) clock)->n_built, ==, 2);
  g_assert_cmpuint (((TestSecondsClock *) clock)->n_resumed, ==, 0);
}

/* A clock's failure stops the run with an error naming the step, the
 * key and the method. */
static void
test_custom_clock_error (FlowHarness   *h,
                         gconstpointer  data)
{
  g_autoptr(FlowWindowClock) clock = g_object_new (test_seconds_clock_get_type (), NULL);
  g_autoptr(FlowWindower) windower = fixed_windower (10);
  g_autoptr(GError) error = NULL;
  g_autofree char *down =
    run_collect (h, clock, windower, "[('a', <int64 1>), ('bad', <'x'>)]", NULL, NULL, &error);

  g_assert_null (down);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION);
  flow_test_assert_error_has (error, "collect_window step 'test.w' failed for key 'bad'");
  flow_test_assert_error_has (error, "on_item(): no seconds in s");
}

/* A windower returning the wrong type stops the run with an error naming
 * the step, the key, the method and the type. */
static void
test_custom_windower_wrong_type (FlowHarness   *h,
                                 gconstpointer  data)
{
  g_autoptr(FlowWindowClock) clock = g_object_new (test_seconds_clock_get_type (), NULL);
  g_autoptr(FlowWindower) windower = fixed_windower (10);
  g_autoptr(GError) error = NULL;
  g_autofree char *down = NULL;

  ((TestFixedWindower *) windower)->bad_ids = TRUE;
  down = run_collect (h, clock, windower, "[('k', <int64 1>)]", NULL, NULL, &error);
  g_assert_null (down);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE);
  flow_test_assert_error_has (error, "collect_window step 'test.w' failed for key 'k'");
  flow_test_assert_error_has (error, "open_for(): the windower TestFixedWindower returned "
                                     "a value of type s, not ax (window ids)");
}

/* The states directly: new, resumed from a snapshot (the clock's
 * build() gets it back), and the public state API going through the
 * vfuncs. */
static void
test_custom_states (void)
{
  g_autoptr(FlowWindowClock) clock = g_object_new (test_seconds_clock_get_type (), NULL);
  g_autoptr(FlowWindower) windower = fixed_windower (10);
  g_autoptr(FlowWindowClockState) cs = flow_window_clock_new_state (clock);
  g_autoptr(FlowWindowerState) ws = flow_windower_new_state (windower);
  g_autoptr(FlowWindowClockState) cs2 = NULL;
  g_autoptr(FlowWindowerState) ws2 = NULL;
  g_autoptr(GVariant) csnap = NULL, wsnap = NULL, value = g_variant_ref_sink (g_variant_new_int64 (15));
  g_autoptr(GPtrArray) closed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gint64 *ids = NULL;
  gint64 ts, wm, at;
  gsize n;

  flow_window_clock_state_before_batch (cs);
  g_assert_true (flow_window_clock_state_on_item (cs, value, &ts, &wm, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ts, ==, 15 * SEC);
  g_assert_cmpint (wm, ==, 15 * SEC);
  g_assert_cmpint (flow_window_clock_state_on_notify (cs), ==, 15 * SEC);
  g_assert_cmpint (flow_window_clock_state_on_eof (cs), ==, FLOW_TIMESTAMP_MAX);
  g_assert_false (flow_window_clock_state_to_system_utc (cs, 20 * SEC, NULL));

  ids = flow_windower_state_open_for (ws, ts, &n);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpint (ids[0], ==, 1);
  g_assert_true (flow_windower_state_notify_at (ws, &at));
  g_assert_cmpint (at, ==, 20 * SEC);
  g_assert_false (flow_windower_state_is_empty (ws));

  csnap = flow_window_clock_state_snapshot (cs);
  wsnap = flow_windower_state_snapshot (ws);
  g_assert_cmpstr (g_variant_get_type_string (wsnap), ==, "a(xx)");
  cs2 = flow_window_clock_restore_state (clock, csnap, &error);
  g_assert_no_error (error);
  ws2 = flow_windower_restore_state (windower, wsnap, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (((TestSecondsClock *) clock)->n_resumed, ==, 1);
  g_assert_cmpint (flow_window_clock_state_on_notify (cs2), ==, 15 * SEC);

  closed = flow_windower_state_close_for (ws2, 20 * SEC);
  g_assert_cmpuint (closed->len, ==, 1);
  g_assert_cmpint (flow_window_metadata_get_window_id (closed->pdata[0]), ==, 1);
  g_assert_cmpint (flow_window_metadata_get_open_time (closed->pdata[0]), ==, 10 * SEC);
  g_assert_true (flow_windower_state_is_empty (ws2));
  g_assert_false (flow_windower_state_is_empty (ws));
}

/* An event clock reading the system time from a function (Bytewax's
 * now_getter): the watermark advances with that time. */
static gint64
fake_now (gpointer user_data)
{
  return *(gint64 *) user_data;
}

static gint64
value_seconds (GVariant *value, gpointer user_data, GError **error)
{
  return g_variant_get_int64 (value) * SEC;
}

static void
test_event_clock_now_func (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FlowEventClock) clock = flow_event_clock_new (5 * SEC, value_seconds, NULL, NULL, &error);
  g_autoptr(FlowWindowClockState) st = NULL;
  g_autoptr(FlowWindowClockState) resumed = NULL;
  g_autoptr(GVariant) snap = NULL;
  g_autoptr(GVariant) value = g_variant_ref_sink (g_variant_new_int64 (100));
  gint64 *now = g_new (gint64, 1);
  gint64 ts, wm;

  g_assert_no_error (error);
  *now = 1000 * SEC;
  flow_event_clock_set_now_func (clock, fake_now, now, g_free);
  st = flow_window_clock_new_state (FLOW_WINDOW_CLOCK (clock));
  g_assert_cmpint (flow_window_clock_state_on_notify (st), ==, FLOW_TIMESTAMP_MIN);
  flow_window_clock_state_before_batch (st);
  g_assert_true (flow_window_clock_state_on_item (st, value, &ts, &wm, &error));
  g_assert_cmpint (wm, ==, 95 * SEC);
  *now += 2 * SEC;
  g_assert_cmpint (flow_window_clock_state_on_notify (st), ==, 97 * SEC);
  snap = flow_window_clock_state_snapshot (st);
  *now += 1 * SEC;
  resumed = flow_window_clock_restore_state (FLOW_WINDOW_CLOCK (clock), snap, &error);
  g_assert_no_error (error);
  g_assert_cmpint (flow_window_clock_state_on_notify (resumed), ==, 98 * SEC);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add (path, FlowHarness, NULL, flow_harness_setup, func, flow_harness_teardown)

  ADD ("/custom-time/collect", test_custom_collect);
  ADD ("/custom-time/clock-error", test_custom_clock_error);
  ADD ("/custom-time/windower-wrong-type", test_custom_windower_wrong_type);
  g_test_add_func ("/custom-time/states", test_custom_states);
  g_test_add_func ("/custom-time/event-clock-now-func", test_event_clock_now_func);

  return g_test_run ();
}
