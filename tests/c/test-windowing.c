/* test-windowing.c: windowers and window clocks (libflow/time/)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Expected values come from Bytewax 0.21's definitions (a window contains
 * t when open <= t < close; window i opens at align_to + i * offset) and
 * from the examples of its windowing documentation, computed
 * independently of the code under test. Time comes from a test clock
 * pushed as the thread's default clock: no test reads the real time.
 */

#include "config.h"

#include "flow-test-utils.h"
#include "flow-clock-private.h"
#include "flow-time-private.h"

#define SEC  G_GINT64_CONSTANT (1000000)
#define MINUTE (60 * SEC)
#define HOUR (60 * MINUTE)

/* µs since the epoch of a UTC date and time. */
static gint64
utc (int year, int month, int day, int hour, int minute, int second)
{
  g_autoptr(GDateTime) dt = g_date_time_new_utc (year, month, day, hour, minute, second);

  return g_date_time_to_unix (dt) * SEC;
}

/* Each test runs with a test clock as the thread's default: its real time
 * starts at 2024-01-01T00:00:00Z and moves only when advanced. */
typedef struct
{
  FlowClock *clock;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->clock = flow_clock_new_test (utc (2024, 1, 1, 0, 0, 0));
  flow_clock_push_thread_default (f->clock);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  flow_clock_pop_thread_default (f->clock);
  g_clear_pointer (&f->clock, flow_clock_unref);
}

/* Windows a brute-force reading of the definition puts @t in. */
static GArray *
brute_force_ids (gint64 length,
                 gint64 offset,
                 gint64 align_to,
                 gint64 t)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));

  for (gint64 i = -1000; i <= 1000; i++)
    {
      gint64 open = align_to + i * offset;

      if (open <= t && t < open + length)
        g_array_append_val (ids, i);
    }
  return ids;
}

static void
assert_ids (const gint64 *ids,
            gsize         n_ids,
            const gint64 *expected,
            gsize         n_expected)
{
  g_assert_cmpmem (ids, n_ids * sizeof (gint64), expected, n_expected * sizeof (gint64));
}

#define ASSERT_IDS(ids, n, ...)                                              \
  G_STMT_START {                                                             \
    const gint64 _exp[] = { __VA_ARGS__ };                                   \
    assert_ids ((ids), (n), _exp, G_N_ELEMENTS (_exp));                      \
  } G_STMT_END

static gint64 get_ts (GVariant *value, gpointer user_data, GError **error);

/* Tumbling ---------------------------------------------------------------- */

static void
test_tumbling_boundaries (Fixture       *f,
                          gconstpointer  data)
{
  gint64 align = utc (2023, 12, 14, 0, 0, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(FlowTumblingWindower) w = flow_tumbling_windower_new (HOUR, align, &error);
  g_autoptr(FlowWindowerState) st = NULL;
  g_autoptr(GPtrArray) closed = NULL;
  g_autofree gint64 *ids = NULL;
  gsize n = 0;
  gint64 at = 0;

  g_assert_no_error (error);
  g_assert_cmpint (flow_tumbling_windower_get_length (w), ==, HOUR);
  g_assert_cmpint (flow_tumbling_windower_get_align_to (w), ==, align);

  /* Open time inclusive, close time exclusive; ids count from align_to,
   * negative before it. */
  g_assert_cmpint (flow_tumbling_windower_get_window_id (w, align), ==, 0);
  g_assert_cmpint (flow_tumbling_windower_get_window_id (w, align + HOUR - 1), ==, 0);
  g_assert_cmpint (flow_tumbling_windower_get_window_id (w, align + HOUR), ==, 1);
  g_assert_cmpint (flow_tumbling_windower_get_window_id (w, align - 1), ==, -1);
  g_assert_cmpint (flow_tumbling_windower_get_window_id (w, align - HOUR), ==, -1);
  g_assert_cmpint (flow_tumbling_windower_get_window_id (w, align - HOUR - 1), ==, -2);
  g_assert_cmpint (flow_tumbling_windower_get_window_id (w, utc (2023, 12, 15, 0, 0, 0)), ==, 24);

  st = flow_windower_new_state (FLOW_WINDOWER (w));
  g_assert_true (flow_windower_state_is_empty (st));
  g_assert_false (flow_windower_state_notify_at (st, &at));

  ids = flow_windower_state_open_for (st, align + 30* MINUTE, &n);
  ASSERT_IDS (ids, n, 0);
  g_clear_pointer (&ids, g_free);
  ids = flow_windower_state_open_for (st, align + 90* MINUTE, &n);
  ASSERT_IDS (ids, n, 1);
  g_clear_pointer (&ids, g_free);
  ids = flow_windower_state_open_for (st, align - 1, &n);
  ASSERT_IDS (ids, n, -1);
  g_clear_pointer (&ids, g_free);
  g_assert_false (flow_windower_state_is_empty (st));

  /* The earliest close is window -1's, at align_to. */
  g_assert_true (flow_windower_state_notify_at (st, &at));
  g_assert_cmpint (at, ==, align);

  /* A watermark just before a close time does not close it. */
  closed = flow_windower_state_close_for (st, align - 1);
  g_assert_cmpuint (closed->len, ==, 0);
  g_clear_pointer (&closed, g_ptr_array_unref);

  /* At the close time it does: window -1 [align - 1h, align). */
  closed = flow_windower_state_close_for (st, align + HOUR);
  g_assert_cmpuint (closed->len, ==, 2);
  g_assert_cmpint (flow_window_metadata_get_window_id (closed->pdata[0]), ==, -1);
  g_assert_cmpint (flow_window_metadata_get_open_time (closed->pdata[0]), ==, align - HOUR);
  g_assert_cmpint (flow_window_metadata_get_close_time (closed->pdata[0]), ==, align);
  g_assert_cmpint (flow_window_metadata_get_window_id (closed->pdata[1]), ==, 0);
  g_assert_cmpint (flow_window_metadata_get_close_time (closed->pdata[1]), ==, align + HOUR);
  g_clear_pointer (&closed, g_ptr_array_unref);

  g_assert_true (flow_windower_state_notify_at (st, &at));
  g_assert_cmpint (at, ==, align + 2 * HOUR);

  /* The end of input closes everything. */
  closed = flow_windower_state_close_for (st, FLOW_TIMESTAMP_MAX);
  g_assert_cmpuint (closed->len, ==, 1);
  g_assert_cmpint (flow_window_metadata_get_window_id (closed->pdata[0]), ==, 1);
  g_assert_true (flow_windower_state_is_empty (st));
}

static void
test_tumbling_matches_definition (Fixture       *f,
                                  gconstpointer  data)
{
  /* An odd length and an align_to that is not a multiple of it. */
  gint64 length = 7 * SEC + 3;
  gint64 align = utc (2020, 2, 29, 13, 17, 5) + 11;
  g_autoptr(FlowTumblingWindower) w = flow_tumbling_windower_new (length, align, NULL);

  for (gint64 t = align - 5 * length; t < align + 5 * length; t += length / 5 + 1)
    {
      g_autoptr(GArray) expected = brute_force_ids (length, length, align, t);

      g_assert_cmpuint (expected->len, ==, 1);
      g_assert_cmpint (flow_tumbling_windower_get_window_id (w, t), ==,
                       g_array_index (expected, gint64, 0));
    }
}

/* Sliding ----------------------------------------------------------------- */

static void
test_sliding_overlap (Fixture       *f,
                      gconstpointer  data)
{
  /* Bytewax's documentation: 1 hour windows every 30 minutes, aligned to
   * 2023-12-14T00:00: window 0 at 00:00, 1 at 00:30, 2 at 01:00. */
  gint64 align = utc (2023, 12, 14, 0, 0, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(FlowSlidingWindower) w = flow_sliding_windower_new (HOUR, 30* MINUTE, align, &error);
  g_autoptr(FlowWindowerState) st = NULL;
  g_autoptr(GPtrArray) closed = NULL;
  g_autofree gint64 *ids = NULL;
  gsize n = 0;
  gint64 at;

  g_assert_no_error (error);
  g_assert_cmpint (flow_sliding_windower_get_open_time (w, 1), ==, align + 30* MINUTE);
  g_assert_cmpint (flow_sliding_windower_get_close_time (w, 1), ==, align + 90* MINUTE);
  g_assert_cmpint (flow_sliding_windower_get_open_time (w, 2), ==, utc (2023, 12, 14, 1, 0, 0));

  ids = flow_sliding_windower_get_window_ids (w, utc (2023, 12, 14, 0, 45, 0), &n);
  ASSERT_IDS (ids, n, 0, 1);
  g_clear_pointer (&ids, g_free);
  /* Exactly at an open time: in that window and the one before. */
  ids = flow_sliding_windower_get_window_ids (w, utc (2023, 12, 14, 0, 30, 0), &n);
  ASSERT_IDS (ids, n, 0, 1);
  g_clear_pointer (&ids, g_free);
  ids = flow_sliding_windower_get_window_ids (w, utc (2023, 12, 13, 23, 50, 0), &n);
  ASSERT_IDS (ids, n, -2, -1);
  g_clear_pointer (&ids, g_free);

  /* Opening from a state: both windows open; the watermark at 01:00
   * closes window 0 only. */
  st = flow_windower_new_state (FLOW_WINDOWER (w));
  ids = flow_windower_state_open_for (st, utc (2023, 12, 14, 0, 45, 0), &n);
  ASSERT_IDS (ids, n, 0, 1);
  g_clear_pointer (&ids, g_free);
  ids = flow_windower_state_open_for (st, utc (2023, 12, 14, 1, 10, 0), &n);
  ASSERT_IDS (ids, n, 1, 2);
  g_clear_pointer (&ids, g_free);
  g_assert_true (flow_windower_state_notify_at (st, &at));
  g_assert_cmpint (at, ==, utc (2023, 12, 14, 1, 0, 0));

  closed = flow_windower_state_close_for (st, utc (2023, 12, 14, 1, 0, 0));
  g_assert_cmpuint (closed->len, ==, 1);
  g_assert_cmpint (flow_window_metadata_get_window_id (closed->pdata[0]), ==, 0);
  g_clear_pointer (&closed, g_ptr_array_unref);

  /* A late item is reported for the windows it would have been in, and
   * opens nothing. */
  ids = flow_windower_state_late_for (st, utc (2023, 12, 14, 0, 10, 0), &n);
  ASSERT_IDS (ids, n, -1, 0);
  g_clear_pointer (&ids, g_free);

  closed = flow_windower_state_close_for (st, FLOW_TIMESTAMP_MAX);
  g_assert_cmpuint (closed->len, ==, 2);
  g_assert_cmpint (flow_window_metadata_get_window_id (closed->pdata[0]), ==, 1);
  g_assert_cmpint (flow_window_metadata_get_window_id (closed->pdata[1]), ==, 2);
}

static void
test_sliding_matches_definition (Fixture       *f,
                                 gconstpointer  data)
{
  /* Lengths that are and are not multiples of the offset, and an offset
   * equal to the length (tumbling). */
  const gint64 params[][2] = {
    { 10 * SEC, 3 * SEC }, { 10 * SEC, 5 * SEC }, { 10 * SEC, 10 * SEC },
    { 7, 2 }, { 1, 1 }, { 9, 4 },
  };
  gint64 align = utc (2023, 1, 1, 0, 0, 0) + 1;

  for (gsize p = 0; p < G_N_ELEMENTS (params); p++)
    {
      gint64 length = params[p][0], offset = params[p][1];
      g_autoptr(FlowSlidingWindower) w = flow_sliding_windower_new (length, offset, align, NULL);
      gint64 step = MAX (offset / 7, 1);

      for (gint64 t = align - 3 * length; t <= align + 3 * length; t += step)
        {
          g_autoptr(GArray) expected = brute_force_ids (length, offset, align, t);
          g_autofree gint64 *ids = NULL;
          gsize n;

          ids = flow_sliding_windower_get_window_ids (w, t, &n);
          assert_ids (ids, n, (gint64 *) (gpointer) expected->data, expected->len);
          for (gsize i = 0; i < n; i++)
            {
              g_assert_cmpint (flow_sliding_windower_get_open_time (w, ids[i]), <=, t);
              g_assert_cmpint (flow_sliding_windower_get_close_time (w, ids[i]), >, t);
            }
        }
    }
}

/* Bad parameters ---------------------------------------------------------- */

static void
test_bad_parameters (Fixture       *f,
                     gconstpointer  data)
{
  gint64 now = utc (2024, 1, 1, 0, 0, 0);
  gint64 past = utc (2023, 1, 1, 0, 0, 0);
  GError *error = NULL;

#define EXPECT_INVALID(call, part)                                          \
  G_STMT_START {                                                            \
    gpointer obj = (call);                                                  \
    g_assert_null (obj);                                                    \
    g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT);        \
    flow_test_assert_error_has (error, part);                               \
    g_clear_error (&error);                                                 \
  } G_STMT_END

  EXPECT_INVALID (flow_tumbling_windower_new (0, past, &error), "tumbling window length");
  EXPECT_INVALID (flow_tumbling_windower_new (-SEC, past, &error), "tumbling window length");
  EXPECT_INVALID (flow_sliding_windower_new (0, SEC, past, &error), "sliding window length");
  EXPECT_INVALID (flow_sliding_windower_new (SEC, 0, past, &error), "sliding window offset");
  EXPECT_INVALID (flow_sliding_windower_new (SEC, -1, past, &error), "sliding window offset");
  EXPECT_INVALID (flow_sliding_windower_new (SEC, 2 * SEC, past, &error),
                  "offset (2000000 µs) can't be longer than its length");
  EXPECT_INVALID (flow_session_windower_new (0, &error), "session window gap");
  EXPECT_INVALID (flow_session_windower_new (-MINUTE, &error), "session window gap");
  EXPECT_INVALID (flow_tumbling_windower_new (G_MAXINT64, past, &error), "longer than the range");

  /* align_to in the future of the (test) clock; the present is fine. */
  EXPECT_INVALID (flow_tumbling_windower_new (SEC, now + 1, &error), "align_to");
  EXPECT_INVALID (flow_sliding_windower_new (2 * SEC, SEC, now + HOUR, &error), "in the future");
  g_object_unref (flow_tumbling_windower_new (SEC, now, &error));
  g_assert_no_error (error);
  flow_clock_advance (f->clock, HOUR);
  g_object_unref (flow_sliding_windower_new (2 * SEC, SEC, now + HOUR, &error));
  g_assert_no_error (error);
  EXPECT_INVALID (flow_tumbling_windower_new (SEC, FLOW_TIMESTAMP_MIN - 1, &error), "align_to");

  EXPECT_INVALID (flow_event_clock_new (-1, get_ts, NULL, NULL, &error),
                  "wait_for_system_duration");

  /* Waiting longer than all time is waiting for the end of input. */
  {
    g_autoptr(FlowEventClock) forever = flow_event_clock_new (G_MAXINT64, get_ts, NULL, NULL, &error);
    g_autoptr(FlowWindowClockState) st = NULL;
    g_autoptr(GVariant) v = g_variant_ref_sink (g_variant_new_int64 (FLOW_TIMESTAMP_MAX));
    gint64 ts, wm;

    g_assert_no_error (error);
    g_assert_cmpint (flow_event_clock_get_wait_for_system_duration (forever), ==,
                     FLOW_TIMESTAMP_MAX - FLOW_TIMESTAMP_MIN);
    st = flow_window_clock_new_state (FLOW_WINDOW_CLOCK (forever));
    flow_window_clock_state_before_batch (st);
    g_assert_true (flow_window_clock_state_on_item (st, v, &ts, &wm, &error));
    g_assert_cmpint (wm, ==, FLOW_TIMESTAMP_MIN);
  }

  /* The GDateTime constructors. */
  {
    g_autoptr(GDateTime) dt = g_date_time_new_utc (2023, 12, 14, 0, 0, 0);
    g_autoptr(GTimeZone) tz = g_time_zone_new_offset (2 * 3600);
    g_autoptr(GDateTime) local = g_date_time_new (tz, 2023, 12, 14, 2, 0, 0);
    g_autoptr(FlowTumblingWindower) t = flow_tumbling_windower_new_for_date_time (HOUR, dt, &error);
    g_autoptr(FlowSlidingWindower) s = flow_sliding_windower_new_for_date_time (HOUR, MINUTE, local, &error);

    g_assert_no_error (error);
    g_assert_cmpint (flow_tumbling_windower_get_align_to (t), ==, utc (2023, 12, 14, 0, 0, 0));
    /* 02:00+02:00 is 00:00Z. */
    g_assert_cmpint (flow_sliding_windower_get_align_to (s), ==, utc (2023, 12, 14, 0, 0, 0));
    EXPECT_INVALID (flow_tumbling_windower_new_for_date_time (0, dt, &error), "length");
  }
#undef EXPECT_INVALID
}

/* Sessions ---------------------------------------------------------------- */

static gint64
open_one (FlowWindowerState *st,
          gint64             t)
{
  g_autofree gint64 *ids = NULL;
  gsize n = 0;

  ids = flow_windower_state_open_for (st, t, &n);
  g_assert_cmpuint (n, ==, 1);
  return ids[0];
}

static void
test_session_documented (Fixture       *f,
                         gconstpointer  data)
{
  /* Bytewax's documentation: values at 00:00, 00:10, 00:15, 00:50, 01:00
   * and 01:30 with a 30 minute gap. 00:50 is 35 minutes after 00:15: a
   * new session. 01:30 is exactly the gap after 01:00: Bytewax 0.21's
   * code (since_close <= gap) joins it to session 1, although the
   * documentation's drawing (from an earlier version) shows a third
   * session; libflow follows the code. */
  g_autoptr(FlowSessionWindower) w = flow_session_windower_new (30* MINUTE, NULL);
  g_autoptr(FlowWindowerState) st = flow_windower_new_state (FLOW_WINDOWER (w));
  g_autoptr(GPtrArray) closed = NULL;
  g_autoptr(GVariant) merged = NULL;
  gint64 at;

  g_assert_cmpint (flow_session_windower_get_gap (w), ==, 30* MINUTE);
  g_assert_cmpint (open_one (st, utc (2023, 12, 14, 0, 0, 0)), ==, 0);
  g_assert_cmpint (open_one (st, utc (2023, 12, 14, 0, 10, 0)), ==, 0);
  g_assert_cmpint (open_one (st, utc (2023, 12, 14, 0, 15, 0)), ==, 0);
  g_assert_cmpint (open_one (st, utc (2023, 12, 14, 0, 50, 0)), ==, 1);
  g_assert_cmpint (open_one (st, utc (2023, 12, 14, 1, 0, 0)), ==, 1);
  g_assert_cmpint (open_one (st, utc (2023, 12, 14, 1, 30, 0)), ==, 1);

  merged = flow_windower_state_take_merged (st);
  g_assert_cmpuint (g_variant_n_children (merged), ==, 0);

  /* Session 0 closes once the watermark is strictly more than the gap
   * after 00:15; notify_at is that first instant. */
  g_assert_true (flow_windower_state_notify_at (st, &at));
  g_assert_cmpint (at, ==, utc (2023, 12, 14, 0, 45, 0) + 1);
  closed = flow_windower_state_close_for (st, utc (2023, 12, 14, 0, 45, 0));
  g_assert_cmpuint (closed->len, ==, 0);
  g_clear_pointer (&closed, g_ptr_array_unref);
  closed = flow_windower_state_close_for (st, at);
  g_assert_cmpuint (closed->len, ==, 1);
  g_assert_cmpint (flow_window_metadata_get_window_id (closed->pdata[0]), ==, 0);
  g_assert_cmpint (flow_window_metadata_get_open_time (closed->pdata[0]), ==, utc (2023, 12, 14, 0, 0, 0));
  g_assert_cmpint (flow_window_metadata_get_close_time (closed->pdata[0]), ==, utc (2023, 12, 14, 0, 15, 0));
  g_clear_pointer (&closed, g_ptr_array_unref);

  closed = flow_windower_state_close_for (st, FLOW_TIMESTAMP_MAX);
  g_assert_cmpuint (closed->len, ==, 1);
  g_assert_cmpint (flow_window_metadata_get_window_id (closed->pdata[0]), ==, 1);
  g_assert_cmpint (flow_window_metadata_get_open_time (closed->pdata[0]), ==, utc (2023, 12, 14, 0, 50, 0));
  g_assert_cmpint (flow_window_metadata_get_close_time (closed->pdata[0]), ==, utc (2023, 12, 14, 1, 30, 0));

  /* Never empty: the next session of this key is 2, not 0 again. */
  g_assert_false (flow_windower_state_is_empty (st));
  g_assert_false (flow_windower_state_notify_at (st, NULL));
  g_assert_cmpint (open_one (st, utc (2023, 12, 15, 0, 0, 0)), ==, 2);
}

static void
assert_merges (FlowWindowerState *st,
               const char        *expected)
{
  g_autoptr(GVariant) merged = flow_windower_state_take_merged (st);
  g_autofree char *text = g_variant_print (merged, FALSE);

  g_assert_cmpstr (text, ==, expected);
}

static void
test_session_merges (Fixture       *f,
                     gconstpointer  data)
{
  gint64 t0 = utc (2024, 1, 1, 0, 0, 0);
  g_autoptr(FlowSessionWindower) w = flow_session_windower_new (30 * SEC, NULL);
  g_autoptr(FlowWindowerState) st = flow_windower_new_state (FLOW_WINDOWER (w));
  g_autoptr(GPtrArray) closed = NULL;
  g_autofree gint64 *late = NULL;
  const gint64 *merged_ids;
  gsize n;

  g_assert_cmpint (open_one (st, t0), ==, 0);          /* [0, 0] */
  g_assert_cmpint (open_one (st, t0 + 100 * SEC), ==, 1); /* [100, 100] */
  g_assert_cmpint (open_one (st, t0 + 60 * SEC), ==, 2);  /* [60, 60] */
  assert_merges (st, "[]");

  /* 80 is within the gap before session 1, which now opens at 80, within
   * the gap of session 2's close (60): 1 merges into 2, which opened
   * first. The item is reported in the session it touched (1), as
   * Bytewax's; the operator moves it when it applies the merge. */
  g_assert_cmpint (open_one (st, t0 + 80 * SEC), ==, 1);

  /* 30 extends session 0 to [0, 30], within the gap of session 2 (opens
   * at 60): 2 merges into 0. */
  g_assert_cmpint (open_one (st, t0 + 30 * SEC), ==, 0);
  assert_merges (st, "[(1, 2), (2, 0)]");
  assert_merges (st, "[]");

  /* Later items in the merged span go to session 0. */
  g_assert_cmpint (open_one (st, t0 + 90 * SEC), ==, 0);

  /* Late items cannot be placed in a session. */
  late = flow_windower_state_late_for (st, t0 - HOUR, &n);
  ASSERT_IDS (late, n, FLOW_LATE_SESSION_ID);

  closed = flow_windower_state_close_for (st, t0 + 130 * SEC);
  g_assert_cmpuint (closed->len, ==, 0);
  g_clear_pointer (&closed, g_ptr_array_unref);
  closed = flow_windower_state_close_for (st, t0 + 130 * SEC + 1);
  g_assert_cmpuint (closed->len, ==, 1);
  g_assert_cmpint (flow_window_metadata_get_window_id (closed->pdata[0]), ==, 0);
  g_assert_cmpint (flow_window_metadata_get_open_time (closed->pdata[0]), ==, t0);
  g_assert_cmpint (flow_window_metadata_get_close_time (closed->pdata[0]), ==, t0 + 100 * SEC);
  /* Both merged sessions, also 1 that was merged into 2 before 2 was
   * merged into 0 (Bytewax lists only 2: a libflow choice). */
  merged_ids = flow_window_metadata_get_merged_ids (closed->pdata[0], &n);
  ASSERT_IDS (merged_ids, n, 1, 2);
}

static void
test_session_merge_within (Fixture       *f,
                           gconstpointer  data)
{
  /* A session extended back to within the gap of one that opened earlier
   * merges into it, and the target takes the later close time. */
  gint64 t0 = utc (2024, 1, 1, 0, 0, 0);
  g_autoptr(FlowSessionWindower) w = flow_session_windower_new (10 * SEC, NULL);
  g_autoptr(FlowWindowerState) st = flow_windower_new_state (FLOW_WINDOWER (w));
  g_autoptr(GPtrArray) closed = NULL;

  g_assert_cmpint (open_one (st, t0 + 20 * SEC), ==, 0);
  g_assert_cmpint (open_one (st, t0 + 5 * SEC), ==, 1);
  g_assert_cmpint (open_one (st, t0 + 12 * SEC), ==, 0);  /* 0 opens at 12 */
  assert_merges (st, "[(0, 1)]");
  closed = flow_windower_state_close_for (st, FLOW_TIMESTAMP_MAX);
  g_assert_cmpuint (closed->len, ==, 1);
  g_assert_cmpint (flow_window_metadata_get_window_id (closed->pdata[0]), ==, 1);
  g_assert_cmpint (flow_window_metadata_get_open_time (closed->pdata[0]), ==, t0 + 5 * SEC);
  g_assert_cmpint (flow_window_metadata_get_close_time (closed->pdata[0]), ==, t0 + 20 * SEC);
}

static void
test_out_of_range (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(FlowSessionWindower) w = flow_session_windower_new (HOUR, NULL);
  g_autoptr(FlowTumblingWindower) t = flow_tumbling_windower_new (HOUR, 0, NULL);
  g_autoptr(FlowWindowerState) st = flow_windower_new_state (FLOW_WINDOWER (w));
  g_autoptr(GPtrArray) closed = NULL;
  g_autofree gint64 *ids = NULL;
  gsize n = 42;

  g_assert_cmpint (open_one (st, FLOW_TIMESTAMP_MIN), ==, 0);
  g_assert_cmpint (open_one (st, FLOW_TIMESTAMP_MAX), ==, 1);

  /* Watermarks past the ends of time are the ends. */
  closed = flow_windower_state_close_for (st, G_MININT64);
  g_assert_cmpuint (closed->len, ==, 0);
  g_clear_pointer (&closed, g_ptr_array_unref);
  closed = flow_windower_state_close_for (st, G_MAXINT64);
  g_assert_cmpuint (closed->len, ==, 1);
  g_clear_pointer (&closed, g_ptr_array_unref);

  /* Timestamps outside are a programming error. */
  g_test_expect_message ("Flow", G_LOG_LEVEL_CRITICAL, "*timestamp >= FLOW_TIMESTAMP_MIN*");
  ids = flow_windower_state_open_for (st, G_MAXINT64, &n);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (n, ==, 0);
  g_test_expect_message ("Flow", G_LOG_LEVEL_CRITICAL, "*timestamp >= FLOW_TIMESTAMP_MIN*");
  g_assert_cmpint (flow_tumbling_windower_get_window_id (t, G_MININT64), ==, 0);
  g_test_assert_expected_messages ();
}

/* Snapshots --------------------------------------------------------------- */

/* Runs @times through a state, snapshotting and restoring it after each
 * item, and compares every result with an uninterrupted state. */
static void
check_snapshot_roundtrip (FlowWindower *w,
                          const gint64 *times,
                          gsize         n_times)
{
  g_autoptr(FlowWindowerState) plain = flow_windower_new_state (w);
  g_autoptr(FlowWindowerState) resumed = flow_windower_new_state (w);

  for (gsize i = 0; i < n_times; i++)
    {
      g_autoptr(GVariant) snap = flow_windower_state_snapshot (resumed);
      g_autoptr(GVariant) snap2 = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree gint64 *a = NULL;
      g_autofree gint64 *b = NULL;
      gsize na, nb;

      g_clear_pointer (&resumed, flow_windower_state_unref);
      resumed = flow_windower_restore_state (w, snap, &error);
      g_assert_no_error (error);
      snap2 = flow_windower_state_snapshot (resumed);
      g_assert_true (g_variant_equal (snap, snap2));

      a = flow_windower_state_open_for (plain, times[i], &na);
      b = flow_windower_state_open_for (resumed, times[i], &nb);
      assert_ids (a, na, b, nb);
    }

  {
    g_autoptr(GVariant) ma = flow_windower_state_take_merged (plain);
    g_autoptr(GVariant) mb = flow_windower_state_take_merged (resumed);
    g_autoptr(GPtrArray) ca = flow_windower_state_close_for (plain, FLOW_TIMESTAMP_MAX);
    g_autoptr(GPtrArray) cb = flow_windower_state_close_for (resumed, FLOW_TIMESTAMP_MAX);

    g_assert_true (g_variant_equal (ma, mb));
    g_assert_cmpuint (ca->len, ==, cb->len);
    g_assert_cmpuint (ca->len, >, 0);
    for (guint i = 0; i < ca->len; i++)
      g_assert_true (flow_window_metadata_equal (ca->pdata[i], cb->pdata[i]));
  }
}

static void
test_snapshot_restore (Fixture       *f,
                       gconstpointer  data)
{
  gint64 t0 = utc (2024, 1, 1, 0, 0, 0);
  const gint64 times[] = {
    t0, t0 + 100 * SEC, t0 + 60 * SEC, t0 + 80 * SEC, t0 + 30 * SEC, t0 + 500 * SEC,
    t0 - 40 * SEC, t0 + 520 * SEC,
  };
  g_autoptr(FlowSessionWindower) session = flow_session_windower_new (30 * SEC, NULL);
  g_autoptr(FlowSlidingWindower) sliding = flow_sliding_windower_new (60 * SEC, 20 * SEC, t0 - HOUR, NULL);
  g_autoptr(FlowTumblingWindower) tumbling = flow_tumbling_windower_new (45 * SEC, t0 - 7, NULL);
  g_autoptr(FlowTumblingWindower) other = flow_tumbling_windower_new (30 * SEC, t0 - 7, NULL);
  g_autoptr(FlowWindowerState) st = NULL;
  g_autoptr(GVariant) snap = NULL;
  g_autoptr(GVariant) bad = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gint64 *ids = NULL;
  gsize n;

  check_snapshot_roundtrip (FLOW_WINDOWER (session), times, G_N_ELEMENTS (times));
  check_snapshot_roundtrip (FLOW_WINDOWER (sliding), times, G_N_ELEMENTS (times));
  check_snapshot_roundtrip (FLOW_WINDOWER (tumbling), times, G_N_ELEMENTS (times));

  /* A snapshot of another kind of windower, or other parameters, is
   * refused. */
  st = flow_windower_new_state (FLOW_WINDOWER (tumbling));
  ids = flow_windower_state_open_for (st, t0, &n);
  snap = flow_windower_state_snapshot (st);
  g_assert_cmpstr (g_variant_get_type_string (snap), ==, "a(xxx)");
  g_assert_null (flow_windower_restore_state (FLOW_WINDOWER (session), snap, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION);
  flow_test_assert_error_has (error, "FlowSessionWindower");
  g_clear_error (&error);
  g_assert_null (flow_windower_restore_state (FLOW_WINDOWER (other), snap, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT);
  flow_test_assert_error_has (error, "parameters changed");
  g_clear_error (&error);

  bad = g_variant_ref_sink (g_variant_new_parsed ("(int64 5, [(int64 7, int64 1, int64 2, @ax [])], @a(xx) [])"));
  g_assert_null (flow_windower_restore_state (FLOW_WINDOWER (session), bad, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION);
}

/* Window metadata --------------------------------------------------------- */

static void
test_metadata (Fixture       *f,
               gconstpointer  data)
{
  const gint64 merged[] = { 5, 2, 5, 3 };
  g_autoptr(FlowWindowMetadata) m = flow_window_metadata_new (1, utc (2023, 12, 14, 0, 0, 0) + 7,
                                                               utc (2023, 12, 14, 1, 0, 0),
                                                               merged, G_N_ELEMENTS (merged));
  g_autoptr(FlowWindowMetadata) same = flow_window_metadata_new (1, utc (2023, 12, 14, 0, 0, 0) + 7,
                                                                  utc (2023, 12, 14, 1, 0, 0),
                                                                  merged + 1, 3);
  g_autoptr(FlowWindowMetadata) other = flow_window_metadata_new (1, utc (2023, 12, 14, 0, 0, 0) + 7,
                                                                   utc (2023, 12, 14, 1, 0, 0),
                                                                   NULL, 0);
  g_autoptr(GDateTime) open = flow_window_metadata_dup_open_date_time (m);
  g_autoptr(GDateTime) close = flow_window_metadata_dup_close_date_time (m);
  g_autofree char *open_text = g_date_time_format_iso8601 (open);
  g_autofree char *close_text = g_date_time_format_iso8601 (close);
  const gint64 *ids;
  gsize n;

  ids = flow_window_metadata_get_merged_ids (m, &n);
  ASSERT_IDS (ids, n, 2, 3, 5);
  g_assert_true (flow_window_metadata_equal (m, same));
  g_assert_false (flow_window_metadata_equal (m, other));
  g_assert_cmpstr (open_text, ==, "2023-12-14T00:00:00.000007Z");
  g_assert_cmpstr (close_text, ==, "2023-12-14T01:00:00Z");
  g_assert_true (G_TYPE_IS_BOXED (FLOW_TYPE_WINDOW_METADATA));
}

/* Clocks ------------------------------------------------------------------ */

/* Items are int64 timestamps; anything else is "not a time". */
static gint64
get_ts (GVariant  *value,
        gpointer   user_data,
        GError   **error)
{
  guint *calls = user_data;

  if (calls != NULL)
    (*calls)++;
  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
                   "item %s has no timestamp", g_variant_get_type_string (value));
      return 0;
    }
  return g_variant_get_int64 (value);
}

static gint64
hm (int hour, int minute)
{
  return utc (2024, 1, 1, hour, minute, 0);
}

static void
on_item (FlowWindowClockState *st,
         gint64                event_time,
         gint64               *timestamp,
         gint64               *watermark)
{
  g_autoptr(GVariant) value = g_variant_ref_sink (g_variant_new_int64 (event_time));
  g_autoptr(GError) error = NULL;

  flow_window_clock_state_before_batch (st);
  g_assert_true (flow_window_clock_state_on_item (st, value, timestamp, watermark, &error));
  g_assert_no_error (error);
}

static void
test_event_clock_documented (Fixture       *f,
                             gconstpointer  data)
{
  /* Bytewax's windowing documentation, wait_for_system_duration = 5 min:
   *
   * | Real  | Watermark | Item  | Late? | Resulting watermark |
   * | 10:32 | None      | 10:35 | No    | 10:30               |
   * | 10:33 | 10:30     |       |       | 10:31               |
   * | 10:34 | 10:32     | 10:38 | No    | 10:33               |
   * | 10:36 | 10:35     | 10:39 | No    | 10:35 (*)           |
   * | 10:38 | 10:37     | 10:36 | Yes   | 10:37               |
   *
   * (*) The table says 10:34, but the watermark never goes back and
   * Bytewax's code gives 10:35 (10:39 - 5 min does not pass it). */
  guint calls = 0;
  g_autoptr(GError) error = NULL;
  g_autoptr(FlowEventClock) clock = NULL;
  g_autoptr(FlowWindowClockState) st = NULL;
  gint64 ts, wm, sys;

  flow_clock_advance (f->clock, 10 * HOUR + 32* MINUTE);   /* 10:32 */
  clock = flow_event_clock_new (5 * MINUTE, get_ts, &calls, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (flow_event_clock_get_wait_for_system_duration (clock), ==, 5* MINUTE);
  st = flow_window_clock_new_state (FLOW_WINDOW_CLOCK (clock));

  on_item (st, hm (10, 35), &ts, &wm);
  g_assert_cmpint (ts, ==, hm (10, 35));
  g_assert_cmpint (wm, ==, hm (10, 30));
  g_assert_cmpint (calls, ==, 1);

  flow_clock_advance (f->clock, MINUTE);                    /* 10:33 */
  g_assert_cmpint (flow_window_clock_state_on_notify (st), ==, hm (10, 31));

  flow_clock_advance (f->clock, MINUTE);                    /* 10:34 */
  on_item (st, hm (10, 38), &ts, &wm);
  g_assert_cmpint (wm, ==, hm (10, 33));
  g_assert_cmpint (ts >= wm, ==, TRUE);

  /* When will the watermark reach 10:40? 7 minutes of system time after
   * 10:34, if no item pushes it. */
  g_assert_true (flow_window_clock_state_to_system_utc (st, hm (10, 40), &sys));
  g_assert_cmpint (sys, ==, hm (10, 41));

  flow_clock_advance (f->clock, 2* MINUTE);                /* 10:36 */
  on_item (st, hm (10, 39), &ts, &wm);
  g_assert_cmpint (wm, ==, hm (10, 35));

  flow_clock_advance (f->clock, 2* MINUTE);                /* 10:38 */
  on_item (st, hm (10, 36), &ts, &wm);
  g_assert_cmpint (wm, ==, hm (10, 37));
  g_assert_cmpint (ts, <, wm);                           /* late */

  /* The batch's system time is read once, before it. */
  flow_clock_advance (f->clock, MINUTE);                    /* 10:39 */
  g_assert_cmpint (flow_window_clock_state_on_notify (st), ==, hm (10, 38));
  flow_clock_advance (f->clock, 3* MINUTE);                /* 10:42 */
  g_assert_cmpint (flow_window_clock_state_on_notify (st), ==, hm (10, 41));

  g_assert_cmpint (flow_window_clock_state_on_eof (st), ==, FLOW_TIMESTAMP_MAX);
  /* on_eof does not change the state. */
  g_assert_cmpint (flow_window_clock_state_on_notify (st), ==, hm (10, 41));
}

static void
test_event_clock_before_first_item (Fixture       *f,
                                    gconstpointer  data)
{
  g_autoptr(FlowEventClock) clock = flow_event_clock_new (0, get_ts, NULL, NULL, NULL);
  g_autoptr(FlowWindowClockState) st = flow_window_clock_new_state (FLOW_WINDOW_CLOCK (clock));
  gint64 ts, wm;

  /* Bytewax: UTC_MIN, advancing with system time. */
  g_assert_cmpint (flow_window_clock_state_on_notify (st), ==, FLOW_TIMESTAMP_MIN);
  flow_clock_advance (f->clock, 3 * SEC);
  g_assert_cmpint (flow_window_clock_state_on_notify (st), ==, FLOW_TIMESTAMP_MIN + 3 * SEC);

  /* With no wait, an item's timestamp is the watermark: the next older
   * item is late. */
  on_item (st, hm (9, 0), &ts, &wm);
  g_assert_cmpint (wm, ==, hm (9, 0));
  on_item (st, hm (9, 0) - 1, &ts, &wm);
  g_assert_cmpint (ts, <, wm);
  /* Even the earliest time is accepted. */
  on_item (st, FLOW_TIMESTAMP_MIN, &ts, &wm);
  g_assert_cmpint (ts, ==, FLOW_TIMESTAMP_MIN);
  g_assert_cmpint (wm, ==, hm (9, 0));
}

static void
test_event_clock_errors (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(FlowEventClock) clock = flow_event_clock_new (0, get_ts, NULL, NULL, NULL);
  g_autoptr(FlowWindowClockState) st = flow_window_clock_new_state (FLOW_WINDOW_CLOCK (clock));
  g_autoptr(GVariant) not_a_time = g_variant_ref_sink (g_variant_new_string ("x"));
  g_autoptr(GVariant) too_late = g_variant_ref_sink (g_variant_new_int64 (FLOW_TIMESTAMP_MAX + 1));
  g_autoptr(GVariant) ok = g_variant_ref_sink (g_variant_new_int64 (hm (1, 0)));
  g_autoptr(GError) error = NULL;
  gint64 ts = 42, wm = 42;

  flow_window_clock_state_before_batch (st);
  g_assert_false (flow_window_clock_state_on_item (st, not_a_time, &ts, &wm, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE);
  flow_test_assert_error_has (error, "timestamp getter failed: item s has no timestamp");
  g_clear_error (&error);
  g_assert_cmpint (ts, ==, 42);

  g_assert_false (flow_window_clock_state_on_item (st, too_late, &ts, &wm, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION);
  flow_test_assert_error_has (error, "not a time between the years 1 and 9999");
  g_clear_error (&error);

  /* The failures left the watermark where it was. */
  g_assert_true (flow_window_clock_state_on_item (st, ok, &ts, &wm, &error));
  g_assert_no_error (error);
  g_assert_cmpint (wm, ==, hm (1, 0));
}

static gint64
get_ts_uncounted (GVariant  *value,
                  gpointer   user_data,
                  GError   **error)
{
  return get_ts (value, NULL, error);
}

static void
count_destroy (gpointer data)
{
  (*(guint *) data)++;
}

static void
test_event_clock_snapshot (Fixture       *f,
                           gconstpointer  data)
{
  guint destroyed = 0;
  FlowEventClock *clock = flow_event_clock_new (10 * SEC, get_ts_uncounted, &destroyed, count_destroy, NULL);
  g_autoptr(FlowWindowClockState) st = flow_window_clock_new_state (FLOW_WINDOW_CLOCK (clock));
  g_autoptr(FlowWindowClockState) restored = NULL;
  g_autoptr(FlowSystemClock) system = flow_system_clock_new ();
  g_autoptr(GVariant) snap = NULL;
  g_autoptr(GError) error = NULL;
  gint64 ts, wm;

  flow_clock_advance (f->clock, HOUR);                    /* system 01:00 */
  on_item (st, hm (5, 0), &ts, &wm);
  g_assert_cmpint (wm, ==, hm (5, 0) - 10 * SEC);
  snap = flow_window_clock_state_snapshot (st);
  g_assert_cmpstr (g_variant_get_type_string (snap), ==, "(xx)");

  /* The run is down for 2 minutes: the watermark counts that system time
   * (as Bytewax's, which keeps the system time of the maximum). */
  flow_clock_advance (f->clock, 2* MINUTE);
  restored = flow_window_clock_restore_state (FLOW_WINDOW_CLOCK (clock), snap, &error);
  g_assert_no_error (error);
  g_assert_cmpint (flow_window_clock_state_on_notify (restored), ==, hm (5, 2) - 10 * SEC);
  g_assert_cmpint (flow_window_clock_state_on_notify (st), ==, hm (5, 2) - 10 * SEC);

  g_assert_null (flow_window_clock_restore_state (FLOW_WINDOW_CLOCK (system), snap, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION);
  g_clear_error (&error);

  g_clear_pointer (&st, flow_window_clock_state_unref);
  g_clear_pointer (&restored, flow_window_clock_state_unref);
  g_assert_cmpuint (destroyed, ==, 0);
  g_assert_finalize_object (clock);
  g_assert_cmpuint (destroyed, ==, 1);
}

static void
test_system_clock (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(FlowSystemClock) clock = flow_system_clock_new ();
  g_autoptr(FlowWindowClockState) st = flow_window_clock_new_state (FLOW_WINDOW_CLOCK (clock));
  g_autoptr(FlowWindowClockState) restored = NULL;
  g_autoptr(GVariant) snap = NULL;
  g_autoptr(GVariant) value = g_variant_ref_sink (g_variant_new_string ("anything"));
  g_autoptr(GError) error = NULL;
  gint64 ts, wm, sys;

  flow_clock_advance (f->clock, 5 * SEC);
  flow_window_clock_state_before_batch (st);
  g_assert_true (flow_window_clock_state_on_item (st, value, &ts, &wm, &error));
  g_assert_cmpint (ts, ==, utc (2024, 1, 1, 0, 0, 5));
  g_assert_cmpint (wm, ==, ts);

  /* Items of one batch share its time. */
  flow_clock_advance (f->clock, SEC);
  g_assert_true (flow_window_clock_state_on_item (st, value, &ts, &wm, &error));
  g_assert_cmpint (ts, ==, utc (2024, 1, 1, 0, 0, 5));
  g_assert_cmpint (flow_window_clock_state_on_notify (st), ==, utc (2024, 1, 1, 0, 0, 6));

  g_assert_true (flow_window_clock_state_to_system_utc (st, hm (3, 0), &sys));
  g_assert_cmpint (sys, ==, hm (3, 0));
  g_assert_cmpint (flow_window_clock_state_on_eof (st), ==, FLOW_TIMESTAMP_MAX);

  snap = flow_window_clock_state_snapshot (st);
  g_assert_cmpstr (g_variant_get_type_string (snap), ==, "()");
  restored = flow_window_clock_restore_state (FLOW_WINDOW_CLOCK (clock), snap, &error);
  g_assert_no_error (error);
  g_assert_true (flow_window_clock_state_get_clock (restored) == FLOW_WINDOW_CLOCK (clock));
}

/* A window operator's loop, as docs/time-and-windows.md proposes it, over
 * an event clock and tumbling windows: the events go where Bytewax would
 * put them. */
static void
test_operator_loop (Fixture       *f,
                    gconstpointer  data)
{
  gint64 t0 = utc (2023, 6, 1, 12, 0, 0);
  g_autoptr(FlowEventClock) clock = flow_event_clock_new (0, get_ts, NULL, NULL, NULL);
  g_autoptr(FlowTumblingWindower) w = flow_tumbling_windower_new (10 * SEC, t0, NULL);
  g_autoptr(FlowWindowClockState) cs = flow_window_clock_new_state (FLOW_WINDOW_CLOCK (clock));
  g_autoptr(FlowWindowerState) ws = flow_windower_new_state (FLOW_WINDOWER (w));
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GPtrArray) closed = g_ptr_array_new_with_free_func ((GDestroyNotify) flow_window_metadata_unref);
  g_autoptr(GString) events = g_string_new (NULL);
  const gint64 items[] = { 0, 4, 12, 3, 25, 21, 9 };   /* seconds after t0 */

  flow_window_clock_state_before_batch (cs);
  for (gsize i = 0; i < G_N_ELEMENTS (items); i++)
    {
      g_autoptr(GVariant) v = g_variant_ref_sink (g_variant_new_int64 (t0 + items[i] * SEC));
      gint64 ts, wm;

      g_assert_true (flow_window_clock_state_on_item (cs, v, &ts, &wm, NULL));
      g_array_set_size (ids, 0);
      if (ts < wm)
        {
          flow_windower_state_late_for_into (ws, ts, ids);
          for (guint j = 0; j < ids->len; j++)
            g_string_append_printf (events, "late %" G_GINT64_FORMAT ":%" G_GINT64_FORMAT "; ",
                                    g_array_index (ids, gint64, j), items[i]);
        }
      else
        flow_windower_state_open_for_into (ws, ts, ids);
      flow_windower_state_close_for_into (ws, wm, closed);
      for (guint j = 0; j < closed->len; j++)
        g_string_append_printf (events, "close %" G_GINT64_FORMAT "; ",
                                flow_window_metadata_get_window_id (closed->pdata[j]));
      g_ptr_array_set_size (closed, 0);
    }
  flow_windower_state_close_for_into (ws, flow_window_clock_state_on_eof (cs), closed);
  for (guint j = 0; j < closed->len; j++)
    g_string_append_printf (events, "close %" G_GINT64_FORMAT "; ",
                            flow_window_metadata_get_window_id (closed->pdata[j]));

  /* 12 s closes window 0 ([0, 10)); 3 is then late for it; 25 closes
   * window 1; 21 and 9 are late; the end closes window 2. */
  g_assert_cmpstr (events->str, ==, "close 0; late 0:3; close 1; late 2:21; late 0:9; close 2; ");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/windowing/tumbling/boundaries", test_tumbling_boundaries);
  ADD ("/windowing/tumbling/definition", test_tumbling_matches_definition);
  ADD ("/windowing/sliding/overlap", test_sliding_overlap);
  ADD ("/windowing/sliding/definition", test_sliding_matches_definition);
  ADD ("/windowing/bad-parameters", test_bad_parameters);
  ADD ("/windowing/session/documented", test_session_documented);
  ADD ("/windowing/session/merges", test_session_merges);
  ADD ("/windowing/session/merge-within", test_session_merge_within);
  ADD ("/windowing/out-of-range", test_out_of_range);
  ADD ("/windowing/snapshot-restore", test_snapshot_restore);
  ADD ("/windowing/metadata", test_metadata);
  ADD ("/windowing/event-clock/documented", test_event_clock_documented);
  ADD ("/windowing/event-clock/before-first-item", test_event_clock_before_first_item);
  ADD ("/windowing/event-clock/errors", test_event_clock_errors);
  ADD ("/windowing/event-clock/snapshot", test_event_clock_snapshot);
  ADD ("/windowing/system-clock", test_system_clock);
  ADD ("/windowing/operator-loop", test_operator_loop);

#undef ADD
  return g_test_run ();
}
