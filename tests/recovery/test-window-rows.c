/* test-window-rows.c: the stored rows of the window operators
 *
 * Version 2 of a window key's row (docs/recovery-format.md, "Window
 * states"): its layout byte by byte, a round trip through the encoder and
 * the decoder for each kind of clock, windower and contents, refusal of
 * truncated or changed rows, a resume from version 2 rows, and a resume
 * from a recovery directory written by the libflow before it (version 1
 * rows: tests/recovery/fixtures/windows-v1), which must give exactly the
 * output of an uninterrupted run.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "recovery-common.h"
#include "flow-time-private.h"

/* A windower fingerprint as a row has it: 4 bytes, little-endian. */
#define FP(fp) (guint8) (fp), (guint8) ((fp) >> 8), (guint8) ((fp) >> 16), (guint8) ((fp) >> 24)

/* ------------------------------------------------------------------------
 * The flow of the version 1 fixture
 *
 * tests/recovery/fixtures/windows-v1/part-0.sqlite3 was written by libflow
 * at commit cdd9478 (version 1 rows) running v1_flow() with an ABORT marker
 * at item 7 (its WAL then checkpointed into the file). This flow must not
 * change: the fixture holds its states.
 * ------------------------------------------------------------------------ */

#define V1_T0 G_GINT64_CONSTANT (1640995200000000)   /* 2022-01-01T00:00:00Z */
/* The system time of the runs (a test clock that stays there): fixed, so
 * that the watermarks do not move with the time between the fixture's
 * writing and the test's resume. */
#define V1_NOW G_GINT64_CONSTANT (1795910400000000)  /* 2026-11-29T00:00:00Z */
#define V1_ABORT_AT 7

static const char *v1_items =
  "[('a', <int64 1>), ('b', <int64 2>), ('a', <int64 5>), ('b', <int64 12>),"
  " ('a', <int64 8>), ('a', <int64 15>), ('b', <int64 18>), ('a', <int64 3>),"
  " ('b', <int64 25>), ('a', <int64 40>), ('b', <int64 41>), ('a', <int64 44>)]";

/* The int64 of seconds in @value: itself, boxed, or the value of a whole
 * (key, value) item (count_window's clock gets whole items). */
static GVariant *
v1_seconds (GVariant *value)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_VARIANT))
    {
      g_autoptr(GVariant) inner = g_variant_get_variant (value);
      return v1_seconds (inner);
    }
  if (g_variant_is_container (value))
    {
      g_autoptr(GVariant) inner = g_variant_get_child_value (value, g_variant_n_children (value) - 1);
      return v1_seconds (inner);
    }
  return g_variant_ref (value);
}

static gint64
v1_ts (GVariant  *value,
       gpointer   user_data,
       GError   **error)
{
  g_autoptr(GVariant) v = v1_seconds (value);

  return V1_T0 + g_variant_get_int64 (v) * G_USEC_PER_SEC;
}

/* count_window's key: of the values themselves. */
static char *
v1_key (GVariant  *value,
        gpointer   user_data,
        GError   **error)
{
  g_autoptr(GVariant) v = v1_seconds (value);

  return g_strdup_printf ("k%d", (int) (g_variant_get_int64 (v) % 3));
}

typedef struct
{
  FlowTestingSource *source;
  FlowTestingSink   *sinks[3];
  FlowDataflow      *flow;
} V1Flow;

/* Three window steps on one input: collect_window (event clock waiting
 * 5 s, 10 s tumbling windows, ordered: values wait in the queue),
 * count_window (the same clock, 20 s windows every 10 s) and count_window
 * over sessions (gap 5 s: the windower's state is a serialised GVariant).
 * @collect_length: the tumbling windows' length (10 s: the fixture's). */
static void
v1_flow_init (V1Flow    *f,
              GTimeSpan  collect_length)
{
  g_autoptr(GVariant) parsed = g_variant_parse (NULL, v1_items, NULL, NULL, NULL);
  g_autoptr(FlowEventClock) clock = flow_event_clock_new (0, v1_ts, NULL, NULL, NULL);
  g_autoptr(FlowEventClock) waiting = flow_event_clock_new (5 * G_USEC_PER_SEC, v1_ts, NULL, NULL, NULL);
  g_autoptr(FlowTumblingWindower) tumbling = flow_tumbling_windower_new (collect_length, V1_T0, NULL);
  g_autoptr(FlowSlidingWindower) sliding =
    flow_sliding_windower_new (20 * G_USEC_PER_SEC, 10 * G_USEC_PER_SEC, V1_T0, NULL);
  g_autoptr(FlowSessionWindower) session = flow_session_windower_new (5 * G_USEC_PER_SEC, NULL);
  g_autoptr(FlowWindowOut) collect = NULL;
  g_autoptr(FlowWindowOut) count = NULL;
  g_autoptr(FlowWindowOut) sessions = NULL;
  FlowStream *s;

  f->source = flow_testing_source_new (parsed);
  for (guint i = 0; i < 3; i++)
    f->sinks[i] = flow_testing_sink_new ();
  f->flow = flow_dataflow_new ("v1");
  s = flow_dataflow_input (f->flow, "inp", FLOW_SOURCE (f->source));
  collect = flow_stream_collect_window (s, "collect", FLOW_WINDOW_CLOCK (waiting),
                                        FLOW_WINDOWER (tumbling), TRUE);
  count = flow_stream_count_window (s, "count", FLOW_WINDOW_CLOCK (waiting),
                                    FLOW_WINDOWER (sliding), v1_key, NULL, NULL);
  sessions = flow_stream_count_window (s, "session", FLOW_WINDOW_CLOCK (clock),
                                       FLOW_WINDOWER (session), v1_key, NULL, NULL);
  flow_stream_output (flow_window_out_get_down (collect), "out-collect", FLOW_SINK (f->sinks[0]));
  flow_stream_output (flow_window_out_get_down (count), "out-count", FLOW_SINK (f->sinks[1]));
  flow_stream_output (flow_window_out_get_down (sessions), "out-session", FLOW_SINK (f->sinks[2]));
}

static void
v1_flow_clear (V1Flow *f)
{
  g_clear_object (&f->flow);
  g_clear_object (&f->source);
  for (guint i = 0; i < 3; i++)
    g_clear_object (&f->sinks[i]);
}

/* Runs @f once in @dir with the fixed system time. */
static gboolean
v1_run (V1Flow      *f,
        const char  *dir,
        GError     **error)
{
  g_autoptr(FlowRunner) runner = flow_runner_new (f->flow);
  g_autoptr(FlowTestClock) now = flow_test_clock_new (V1_NOW);

  flow_runner_set_test_clock (runner, now);
  flow_runner_set_recovery_directory (runner, dir);
  flow_runner_set_snapshot_interval (runner, 0);
  return flow_runner_run (runner, NULL, error);
}

/* The output of each sink, one line per item, "N: repr". */
static GStrv
v1_output (V1Flow *f)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < 3; i++)
    {
      g_auto(GStrv) reprs = rec_sink_reprs (f->sinks[i]);

      for (guint j = 0; reprs[j] != NULL; j++)
        rec_add (lines, "%u: %s", i, reprs[j]);
    }
  return rec_strv (lines);
}

/* The output of an uninterrupted run. */
static GStrv
v1_reference (void)
{
  g_autofree char *dir = rec_init_dir (1);
  g_autoptr(GError) error = NULL;
  V1Flow f;
  GStrv out;

  v1_flow_init (&f, 10 * G_USEC_PER_SEC);
  g_assert_true (v1_run (&f, dir, &error));
  g_assert_no_error (error);
  out = v1_output (&f);
  v1_flow_clear (&f);
  rec_rm_rf (dir);
  return out;
}

/* Runs the flow in a new directory until the abort at V1_ABORT_AT (the
 * run that wrote the fixture): the directory; its output in @out. */
static char *
v1_aborted_dir (GStrv *out)
{
  char *dir = rec_init_dir (1);
  g_autoptr(GError) error = NULL;
  V1Flow f;

  v1_flow_init (&f, 10 * G_USEC_PER_SEC);
  flow_testing_source_add_marker (f.source, V1_ABORT_AT, FLOW_TESTING_MARKER_ABORT, 0);
  g_assert_false (v1_run (&f, dir, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_ABORTED);
  *out = v1_output (&f);
  v1_flow_clear (&f);
  return dir;
}

/* Resumes @dir to the end: its output, concatenated (per sink) after
 * @before, must be @ref. */
static void
v1_assert_resume (const char         *dir,
                  const char * const *before,
                  const char * const *ref)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) after = NULL;
  g_auto(GStrv) got = NULL;
  g_autoptr(GPtrArray) sorted = g_ptr_array_new ();
  g_autoptr(GPtrArray) expected = g_ptr_array_new ();
  V1Flow f;

  v1_flow_init (&f, 10 * G_USEC_PER_SEC);
  g_assert_true (v1_run (&f, dir, &error));
  g_assert_no_error (error);
  after = v1_output (&f);
  v1_flow_clear (&f);

  /* Each sink's items, in order: the lines are "sink: item", so a stable
   * sort by sink keeps each sink's order. */
  got = rec_strv_concat (before, (const char * const *) after);
  for (guint s = 0; s < 3; s++)
    {
      char prefix[8];

      g_snprintf (prefix, sizeof prefix, "%u: ", s);
      for (guint i = 0; got[i] != NULL; i++)
        if (g_str_has_prefix (got[i], prefix))
          g_ptr_array_add (sorted, got[i]);
      for (guint i = 0; ref[i] != NULL; i++)
        if (g_str_has_prefix (ref[i], prefix))
          g_ptr_array_add (expected, (gpointer) ref[i]);
    }
  g_ptr_array_add (sorted, NULL);
  g_ptr_array_add (expected, NULL);
  rec_assert_strv (sorted->pdata, expected->pdata);
}

static char *
fixture_copy (void)
{
  char *dir = rec_tmpdir ();
  g_autofree char *from = g_test_build_filename (G_TEST_DIST, "recovery", "fixtures", "windows-v1",
                                                 "part-0.sqlite3", NULL);
  g_autofree char *to = rec_part_path (dir, 0);

  rec_copy_file (from, to);
  return dir;
}

/* The window lines of `flow-recovery show`, with the windower's part
 * (version 1 rows hold the windows' times, version 2 rows their ids)
 * cut out. */
static GStrv
show_windows (const char *dir)
{
  g_autofree char *states = rec_show_states (dir);
  g_auto(GStrv) lines = g_strsplit (states, "\n", -1);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *windower = strstr (lines[i], ", windower ");
      const char *clock = strstr (lines[i], ", clock ");

      if (strstr (lines[i], ": windows {") == NULL)
        continue;
      g_assert_nonnull (windower);
      g_assert_nonnull (clock);
      rec_add (out, "%.*s%s", (int) (windower - lines[i]), lines[i], clock);
    }
  return rec_strv (out);
}

/* A directory of version 1 rows resumes: the output after the resume
 * completes what was emitted before the abort into exactly the output of
 * an uninterrupted run, and its states read in `flow-recovery show` as
 * the same states written as version 2 rows. */
static void
test_v1_directory (void)
{
  g_auto(GStrv) ref = v1_reference ();
  g_auto(GStrv) before = NULL;
  g_autofree char *v2_dir = v1_aborted_dir (&before);
  g_autofree char *v1_dir = fixture_copy ();
  g_auto(GStrv) v1_show = show_windows (v1_dir);
  g_auto(GStrv) v2_show = show_windows (v2_dir);
  g_autofree char *v1_text = rec_show_states (v1_dir);

  g_test_message ("version 1 rows:\n%s", v1_text);
  /* The fixture is what v1_flow() stores at the abort: 8 keys of window
   * steps, among them queued values, several windows, a session. */
  g_assert_cmpuint (g_strv_length (v1_show), ==, 8);
  g_assert_nonnull (strstr (v1_text, "    'b': windows {1: [12]}, watermark 2022-01-01T00:00:13Z, "
                            "1 queued [18 at 2022-01-01T00:00:18Z], windower [1 "
                            "(2022-01-01T00:00:10Z to 2022-01-01T00:00:20Z)]"));
  rec_assert_strv (v2_show, v1_show);

  v1_assert_resume (v1_dir, (const char * const *) before, (const char * const *) ref);
  /* The resumed run wrote version 2 rows over them: still readable. */
  g_strfreev (show_windows (v1_dir));

  rec_rm_rf (v1_dir);
  rec_rm_rf (v2_dir);
}

/* Version 2 rows: a run aborted with open windows, queued values and
 * sessions resumes to the output of an uninterrupted run. */
static void
test_v2_resume (void)
{
  g_auto(GStrv) ref = v1_reference ();
  g_auto(GStrv) before = NULL;
  g_autofree char *dir = v1_aborted_dir (&before);

  v1_assert_resume (dir, (const char * const *) before, (const char * const *) ref);
  rec_rm_rf (dir);
}

/* Resuming version 2 rows with other windowing parameters is refused,
 * naming the step and the key. */
static void
test_changed_windower (void)
{
  g_auto(GStrv) before = NULL;
  g_autofree char *dir = v1_aborted_dir (&before);
  g_autoptr(GError) error = NULL;
  V1Flow f;

  v1_flow_init (&f, 20 * G_USEC_PER_SEC);
  g_assert_false (v1_run (&f, dir, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "step 'v1.collect'"));
  g_assert_nonnull (strstr (error->message, "key 'b'"));
  g_assert_nonnull (strstr (error->message, "parameters changed"));
  v1_flow_clear (&f);
  rec_rm_rf (dir);
}

/* ------------------------------------------------------------------------
 * The layout and the round trip
 * ------------------------------------------------------------------------ */

static GVariant *
bytes_state (const guint8 *data,
             gsize         n)
{
  return g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, n, 1));
}

static gint64
ts_int (GVariant  *value,
        gpointer   user_data,
        GError   **error)
{
  return g_variant_get_int64 (value);
}

static FlowWindowClockState *
event_state (FlowEventClock *clock,
             gint64          t0,
             gint64          base)
{
  g_autoptr(GVariant) snap = g_variant_ref_sink (g_variant_new ("(xx)", t0, base));
  g_autoptr(GError) error = NULL;
  FlowWindowClockState *st = flow_window_clock_restore_state (FLOW_WINDOW_CLOCK (clock), snap, &error);

  g_assert_no_error (error);
  return st;
}

static FlowWindowerState *
windower_state (FlowWindower *windower,
                const char   *snapshot)
{
  g_autoptr(GVariant) snap = g_variant_parse (NULL, snapshot, NULL, NULL, NULL);
  g_autoptr(GError) error = NULL;
  FlowWindowerState *st;

  g_assert_nonnull (snap);
  st = flow_windower_restore_state (windower, snap, &error);
  g_assert_no_error (error);
  return st;
}

static void
assert_bytes (GVariant     *row,
              const guint8 *expected,
              gsize         n)
{
  gsize len;
  const guint8 *data = g_variant_get_fixed_array (row, &len, 1);

  g_assert_cmpstr (g_variant_get_type_string (row), ==, "ay");
  if (len != n || memcmp (data, expected, n) != 0)
    {
      g_autoptr(GString) hex = g_string_new ("got:");

      for (gsize i = 0; i < len; i++)
        g_string_append_printf (hex, " %02x", data[i]);
      g_test_message ("%s", hex->str);
    }
  g_assert_cmpmem (data, len, expected, n);
}

/* The bytes of a row, as docs/recovery-format.md lays them out, for the
 * common case (an event clock, one tumbling window of count_window) and
 * for one with every optional field; each decodes to its states. */
static void
test_layout (void)
{
  g_autoptr(FlowEventClock) clock = flow_event_clock_new (0, ts_int, NULL, NULL, NULL);
  g_autoptr(FlowTumblingWindower) tumbling = flow_tumbling_windower_new (10, 100, NULL);
  g_autoptr(FlowWindowClockState) cs = event_state (clock, 1000, 125);
  g_autoptr(FlowWindowerState) ws = windower_state (FLOW_WINDOWER (tumbling),
                                                    "[(int64 2, int64 120, int64 130)]");
  g_autoptr(GByteArray) scratch = g_byte_array_new ();
  FlowWindowRowSlot slot = { 2, 7, NULL };
  const gint64 *windows;
  guint n;
  guint32 fp;
  g_autoptr(GVariant) row = NULL;
  g_autoptr(GVariant) decoded = NULL;
  g_autoptr(GVariant) shown = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  g_assert_true (flow_windower_state_peek_fixed (ws, &windows, &n, &fp));
  g_assert_cmpuint (n, ==, 1);

  /* Header: version 2, event clock (2 << 5), fixed windower, counts; the
   * base 125 (zigzag 250: 0xfa 0x01), t0 - base = 875 (1750: 0xd6 0x0d);
   * the watermark is the base (not written); 1 window (2), the
   * fingerprint (4 bytes, little-endian), id 2 (4); its count 7 (14). */
  {
    const guint8 expected[] = { 0x80 | 0x40 | 0x10 | 0x01, 0xfa, 0x01, 0xd6, 0x0d, 2, FP (fp), 4, 14 };

    row = flow_window_state_encode (scratch, cs, ws, 125, &slot, 1, TRUE, NULL, 0);
    assert_bytes (row, expected, sizeof expected);
  }
  g_assert_true (flow_window_state_is_encoded (row));
  decoded = flow_window_state_decode (row, FLOW_WINDOWER (tumbling), &error);
  g_assert_no_error (error);
  text = g_variant_print (decoded, FALSE);
  g_assert_cmpstr (text, ==, "(<(int64 1000, int64 125)>, <[(int64 2, int64 120, int64 130)]>, 125, "
                   "{2: <int64 7>}, [])");
  g_clear_pointer (&text, g_free);
  /* Without the windower (flow-recovery show): the ids. */
  shown = flow_window_state_decode (row, NULL, &error);
  g_assert_no_error (error);
  text = g_variant_print (shown, FALSE);
  g_assert_cmpstr (text, ==, "(<(int64 1000, int64 125)>, <[int64 2]>, 125, {2: <int64 7>}, [])");
  g_clear_pointer (&text, g_free);
  g_clear_pointer (&row, g_variant_unref);
  g_clear_pointer (&decoded, g_variant_unref);

  /* A system clock, a watermark, windows that are not the windower's,
   * contents as GVariants and a queued value. */
  {
    g_autoptr(FlowSystemClock) system = flow_system_clock_new ();
    g_autoptr(FlowWindowClockState) ss = flow_window_clock_new_state (FLOW_WINDOW_CLOCK (system));
    g_autoptr(GVariant) contents = g_variant_ref_sink (g_variant_new_int32 (9));
    g_autoptr(GVariant) value = g_variant_ref_sink (g_variant_new_byte (5));
    FlowWindowRowSlot slots[2] = { { 3, 0, contents }, { 1, 0, contents } };
    FlowWindowRowQueued queued = { value, 130, 1 };
    /* Header: version 2, system clock (1 << 5), fixed, watermark, ids,
     * queue; watermark 127 (254: 0xfe 0x01); the windower's window 2 as
     * above; 2 windows: id 3 (6), then 1 - 3 = -2 (3), each an int32 9
     * ("i", NUL, size 4 (8), 9 0 0 0); 1 queued value (2) at 130 - 127
     * (6) on input 1 (2): a byte 5 ("y", NUL, size 1 (2), 5). */
    const guint8 expected[] = {
      0x80 | 0x20 | 0x10 | 0x08 | 0x04 | 0x02, 0xfe, 0x01, 2, FP (fp), 4,
      4, 6, 'i', 0, 8, 9, 0, 0, 0, 3, 'i', 0, 8, 9, 0, 0, 0,
      2, 6, 2, 'y', 0, 2, 5,
    };

    row = flow_window_state_encode (scratch, ss, ws, 127, slots, 2, FALSE, &queued, 1);
    assert_bytes (row, expected, sizeof expected);
    decoded = flow_window_state_decode (row, FLOW_WINDOWER (tumbling), &error);
    g_assert_no_error (error);
    text = g_variant_print (decoded, FALSE);
    g_assert_cmpstr (text, ==, "(<()>, <[(int64 2, int64 120, int64 130)]>, 127, "
                     "{3: <9>, 1: <9>}, [(<byte 0x05>, 130, 1)])");
  }
}

/* Every kind of clock and windower, and each operator's contents, survive
 * the encoder and the decoder: the decoded snapshots are the states'. */
static void
test_roundtrip (void)
{
  g_autoptr(FlowEventClock) event = flow_event_clock_new (5, ts_int, NULL, NULL, NULL);
  g_autoptr(FlowSystemClock) system = flow_system_clock_new ();
  g_autoptr(FlowTumblingWindower) tumbling = flow_tumbling_windower_new (10, -7, NULL);
  g_autoptr(FlowSlidingWindower) sliding = flow_sliding_windower_new (30, 10, -7, NULL);
  g_autoptr(FlowSessionWindower) session = flow_session_windower_new (4, NULL);
  FlowWindower *windowers[] = { FLOW_WINDOWER (tumbling), FLOW_WINDOWER (sliding), FLOW_WINDOWER (session) };
  /* (8, then 0, then 4: sessions that merge.) */
  const gint64 times[] = { -100, -3, 8, 0, 4, 12, 13, 40, G_GINT64_CONSTANT (1700000000000000) };
  g_autoptr(GByteArray) scratch = g_byte_array_new ();

  for (guint w = 0; w < G_N_ELEMENTS (windowers); w++)
    for (guint c = 0; c < 2; c++)
      for (guint t = 1; t <= G_N_ELEMENTS (times); t++)
        for (guint counts = 0; counts < 2; counts++)
          {
            g_autoptr(FlowWindowClockState) cs =
              c == 0 ? event_state (event, G_GINT64_CONSTANT (1795910400000000) + t, times[t - 1] - 5)
                     : flow_window_clock_new_state (FLOW_WINDOW_CLOCK (system));
            g_autoptr(FlowWindowerState) ws = flow_windower_new_state (windowers[w]);
            g_autoptr(GVariant) clock_snap = NULL;
            g_autoptr(GVariant) windower_snap = NULL;
            g_autoptr(GArray) slots = g_array_new (FALSE, TRUE, sizeof (FlowWindowRowSlot));
            g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
            g_autoptr(GVariant) row = NULL;
            g_autoptr(GVariant) decoded = NULL;
            g_autoptr(GVariant) expected = NULL;
            g_autoptr(GError) error = NULL;
            GVariantBuilder windows, queue;
            FlowWindowRowQueued queued[2];
            gint64 watermark = times[t - 1] - (t % 3);

            g_variant_builder_init (&windows, G_VARIANT_TYPE ("a{xv}"));
            for (guint i = 0; i < t; i++)
              {
                gsize n;
                g_autofree gint64 *ids = flow_windower_state_open_for (ws, times[i], &n);

                for (gsize j = 0; j < n; j++)
                  {
                    FlowWindowRowSlot slot = { ids[j], (gint64) i - 3, NULL };
                    GVariant *contents;
                    gboolean seen = FALSE;

                    for (guint k = 0; k < slots->len; k++)
                      seen |= g_array_index (slots, FlowWindowRowSlot, k).id == ids[j];
                    if (seen)
                      continue;
                    contents = g_variant_ref_sink (counts ? g_variant_new_int64 (slot.count)
                                                          : g_variant_new_parsed ("[%x, %x]", ids[j],
                                                                                  times[i]));
                    g_ptr_array_add (keep, contents);
                    slot.contents = counts ? NULL : contents;
                    g_array_append_val (slots, slot);
                    g_variant_builder_add (&windows, "{xv}", ids[j], contents);
                  }
              }
            /* Ordered operators queue values (not with counts). */
            g_variant_builder_init (&queue, G_VARIANT_TYPE ("a(vxu)"));
            for (guint q = 0; q < (counts ? 0 : 2); q++)
              {
                GVariant *value = g_variant_ref_sink (g_variant_new_string (q ? "late" : "soon"));

                g_ptr_array_add (keep, value);
                queued[q].value = value;
                queued[q].ts = watermark + 3 - (gint64) q * 9;
                queued[q].side = q;
                g_variant_builder_add (&queue, "(vxu)", value, queued[q].ts, q);
              }

            clock_snap = flow_window_clock_state_snapshot (cs);
            windower_snap = flow_windower_state_snapshot (ws);
            expected = g_variant_ref_sink (g_variant_new ("(vvxa{xv}a(vxu))", clock_snap, windower_snap,
                                                          watermark, &windows, &queue));
            if (w == 2 && t == 5)
              {
                g_autofree char *text = g_variant_print (windower_snap, FALSE);

                /* 4 merged the session of 8 into that of -3 and 0. */
                g_assert_nonnull (strstr (text, "(1, -3, 8, [2])"));
                g_assert_nonnull (strstr (text, "[(2, 1)]"));
              }
            row = flow_window_state_encode (scratch, cs, ws, watermark,
                                            (FlowWindowRowSlot *) (gpointer) slots->data, slots->len,
                                            counts, queued, counts ? 0 : 2);
            g_assert_true (flow_window_state_is_encoded (row));
            decoded = flow_window_state_decode (row, windowers[w], &error);
            g_assert_no_error (error);
            if (!g_variant_equal (decoded, expected))
              {
                g_autofree char *got = g_variant_print (decoded, TRUE);
                g_autofree char *want = g_variant_print (expected, TRUE);

                g_error ("windower %u, clock %u, %u items, counts %u:\n got %s\nwant %s",
                         w, c, t, counts, got, want);
              }
          }
}

/* Version 2 rows cut short, or with bytes after their end, are refused
 * as corrupt; so is a row of a tumbling windower given to another
 * windower, or to one of other parameters. */
static void
test_refused (void)
{
  g_autoptr(FlowEventClock) clock = flow_event_clock_new (0, ts_int, NULL, NULL, NULL);
  g_autoptr(FlowTumblingWindower) tumbling = flow_tumbling_windower_new (10, 100, NULL);
  g_autoptr(FlowTumblingWindower) other = flow_tumbling_windower_new (10, 101, NULL);
  g_autoptr(FlowSessionWindower) session = flow_session_windower_new (10, NULL);
  g_autoptr(FlowWindowClockState) cs = event_state (clock, 1000, 125);
  g_autoptr(FlowWindowerState) ws = windower_state (FLOW_WINDOWER (tumbling),
                                                    "[(int64 2, int64 120, int64 130), "
                                                    "(int64 3, int64 130, int64 140)]");
  g_autoptr(GVariant) contents = g_variant_ref_sink (g_variant_new_string ("x"));
  g_autoptr(GVariant) value = g_variant_ref_sink (g_variant_new_int64 (4));
  FlowWindowRowSlot slots[2] = { { 2, 0, contents }, { 3, 0, contents } };
  FlowWindowRowQueued queued = { value, 140, 0 };
  g_autoptr(GByteArray) scratch = g_byte_array_new ();
  g_autoptr(GVariant) row = flow_window_state_encode (scratch, cs, ws, 126, slots, 2, FALSE, &queued, 1);
  g_autoptr(GError) error = NULL;
  gsize n;
  const guint8 *data = g_variant_get_fixed_array (row, &n, 1);

  for (gsize len = 1; len < n; len++)
    {
      g_autoptr(GVariant) v = bytes_state (data, len);
      g_autoptr(GVariant) d = flow_window_state_decode (v, FLOW_WINDOWER (tumbling), &error);

      g_assert_null (d);
      g_assert_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION);
      g_clear_error (&error);
    }
  {
    g_autofree guint8 *longer = g_malloc0 (n + 1);
    g_autoptr(GVariant) v = NULL;
    g_autoptr(GVariant) d = NULL;

    memcpy (longer, data, n);
    v = bytes_state (longer, n + 1);
    d = flow_window_state_decode (v, FLOW_WINDOWER (tumbling), &error);
    g_assert_null (d);
    g_assert_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION);
    g_assert_nonnull (strstr (error->message, "malformed"));
    g_clear_error (&error);
  }

  g_assert_null (flow_window_state_decode (row, FLOW_WINDOWER (other), &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "parameters changed"));
  g_clear_error (&error);
  g_assert_null (flow_window_state_decode (row, FLOW_WINDOWER (session), &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "FlowSessionWindower"));
  g_clear_error (&error);
}

/* ------------------------------------------------------------------------
 * flow-recovery show
 * ------------------------------------------------------------------------ */

static GVariant *
bytes_init (gpointer   user_data,
            GError   **error)
{
  static const guint8 looks_like_a_row[] = { 0x90, 0x01 };

  return g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, looks_like_a_row, 2, 1);
}

static GVariant *
keep_state (GVariant  *state,
            GVariant  *value,
            GVariant **emit,
            gpointer   user_data,
            GError   **error)
{
  return g_variant_ref (state);
}

/* A state of another operator whose first byte looks like a version 2
 * header is shown as the bytes it is. */
static void
test_show_other_bytes (void)
{
  g_autofree char *dir = rec_init_dir (1);
  g_autoptr(GVariant) items = g_variant_parse (NULL, "[('a', <1>)]", NULL, NULL, NULL);
  g_autoptr(FlowTestingSource) source = flow_testing_source_new (items);
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("bytes");
  g_autoptr(GError) error = NULL;
  g_autofree char *states = NULL;
  FlowStream *s;

  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_stateful_map (s, "keep", bytes_init, NULL, NULL, keep_state, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));
  g_assert_true (rec_run (flow, dir, 0, 0, NULL, &error));
  g_assert_no_error (error);

  states = rec_show_states (dir);
  g_test_message ("%s", states);
  g_assert_nonnull (strstr (states, "  bytes.keep (1 key)\n    'a': b'\\x90\\x01'\n"));
  rec_rm_rf (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/window-rows/layout", test_layout);
  g_test_add_func ("/window-rows/roundtrip", test_roundtrip);
  g_test_add_func ("/window-rows/refused", test_refused);
  g_test_add_func ("/window-rows/v1-directory", test_v1_directory);
  g_test_add_func ("/window-rows/v2-resume", test_v2_resume);
  g_test_add_func ("/window-rows/changed-windower", test_changed_windower);
  g_test_add_func ("/window-rows/show-other-bytes", test_show_other_bytes);
  return g_test_run ();
}
