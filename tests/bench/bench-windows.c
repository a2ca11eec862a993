/* bench-windows: a keyed count over 1 s tumbling event-time windows.
 *
 * Throughput: N items (default 10M) over 1,000 keys, 10,000 items per
 * second of event time (item i at T0 + i * 100 µs, key i % 1000), through
 * input → count_window (event clock waiting 5 s) → sink, against a plain C
 * loop that buckets the same items by hand (the same GVariant items, the
 * same key and timestamp functions, a GHashTable of per-key current window
 * and count, emitting a count when a key's window changes and all at the
 * end), measured in the same run. Target: flow ≥ 0.3 of the loop.
 *
 * Snapshot cost: making the snapshots of 100,000 keys each with one open
 * window (what the window operator stores per key: clock, windower and
 * window states) and committing them in one epoch through libflow's
 * store, against the same for 100,000 keys of stateful_map (an int64
 * state each). Target: windows ≤ stateful_map... as a ratio, printed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gstdio.h>
#include <stdio.h>
#include <time.h>

#include "flow-store-private.h"
#include "flow-time-private.h"

#define N_KEYS 1000
#define STEP_USEC 100            /* 10,000 items per second of event time */
#define T0 G_GINT64_CONSTANT (1700000000000000)

static char *keys[N_KEYS];

/* The process's CPU time (s): on a loaded machine, the figure to trust. */
static double
cpu_now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double last_cpu;   /* CPU time of the last run_plain() / run_flow() */

/* ---- the user functions, shared by the flow and the plain loop ---- */

static char *
key_of (GVariant *item, gpointer user_data, GError **error)
{
  return g_strdup (keys[(guint64) g_variant_get_int64 (item) % N_KEYS]);
}

static gint64
ts_of (GVariant *item, gpointer user_data, GError **error)
{
  return T0 + g_variant_get_int64 (item) * STEP_USEC;
}

/* ---- a source generating 0 .. n-1 and a sink that counts ---- */

#define BENCH_TYPE_SOURCE (bench_source_get_type ())
G_DECLARE_FINAL_TYPE (BenchSource, bench_source, BENCH, SOURCE, FlowSource)
struct _BenchSource { FlowSource parent; gint64 n; guint batch; };
G_DEFINE_FINAL_TYPE (BenchSource, bench_source, FLOW_TYPE_SOURCE)

#define BENCH_TYPE_PART (bench_part_get_type ())
G_DECLARE_FINAL_TYPE (BenchPart, bench_part, BENCH, PART, FlowSourcePartition)
struct _BenchPart { FlowSourcePartition parent; gint64 next, n; guint batch; };
G_DEFINE_FINAL_TYPE (BenchPart, bench_part, FLOW_TYPE_SOURCE_PARTITION)

static GVariant *
bench_part_next_batch (FlowSourcePartition *part, GError **error)
{
  BenchPart *self = BENCH_PART (part);
  gint64 end = MIN (self->next + self->batch, self->n);
  gint64 *values;
  GVariant *batch;

  if (self->next >= self->n)
    return NULL;
  values = g_new (gint64, end - self->next);
  for (gint64 i = self->next; i < end; i++)
    values[i - self->next] = i;
  batch = g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, values, end - self->next, sizeof (gint64));
  g_free (values);
  self->next = end;
  return g_variant_ref_sink (batch);
}

static GVariant *
bench_part_snapshot (FlowSourcePartition *part, GError **error)
{
  return g_variant_new_int64 (BENCH_PART (part)->next);
}

static void bench_part_class_init (BenchPartClass *k)
{
  FLOW_SOURCE_PARTITION_CLASS (k)->next_batch = bench_part_next_batch;
  FLOW_SOURCE_PARTITION_CLASS (k)->snapshot = bench_part_snapshot;
}
static void bench_part_init (BenchPart *self) {}

static FlowSourcePartition *
bench_source_build_part (FlowSource *source, const char *step_id, const char *key,
                         GVariant *resume, GError **error)
{
  BenchSource *self = BENCH_SOURCE (source);
  BenchPart *part = g_object_new (BENCH_TYPE_PART, NULL);

  part->n = self->n;
  part->batch = self->batch;
  part->next = resume ? g_variant_get_int64 (resume) : 0;
  return FLOW_SOURCE_PARTITION (part);
}

static void bench_source_class_init (BenchSourceClass *k)
{
  FLOW_SOURCE_CLASS (k)->build_part = bench_source_build_part;
}
static void bench_source_init (BenchSource *self) {}

#define BENCH_TYPE_SINK (bench_sink_get_type ())
G_DECLARE_FINAL_TYPE (BenchSink, bench_sink, BENCH, SINK, FlowSink)
struct _BenchSink { FlowSink parent; guint64 count; gint64 total; };
G_DEFINE_FINAL_TYPE (BenchSink, bench_sink, FLOW_TYPE_SINK)

#define BENCH_TYPE_SINK_PART (bench_sink_part_get_type ())
G_DECLARE_FINAL_TYPE (BenchSinkPart, bench_sink_part, BENCH, SINK_PART, FlowSinkPartition)
struct _BenchSinkPart { FlowSinkPartition parent; BenchSink *sink; };
G_DEFINE_FINAL_TYPE (BenchSinkPart, bench_sink_part, FLOW_TYPE_SINK_PARTITION)

static gboolean
bench_sink_part_write_batch (FlowSinkPartition *part, GPtrArray *items, GError **error)
{
  BenchSink *sink = BENCH_SINK_PART (part)->sink;

  /* (key, (window_id, count)): add up the counts, a check. (Taken apart
   * child by child, as a sink that cares for speed would, rather than
   * through format strings.) */
  for (guint i = 0; i < items->len; i++)
    {
      g_autoptr(GVariant) boxed = g_variant_get_child_value (g_ptr_array_index (items, i), 1);
      g_autoptr(GVariant) pair = g_variant_get_variant (boxed);
      g_autoptr(GVariant) inner = g_variant_get_child_value (pair, 1);
      g_autoptr(GVariant) count = g_variant_get_variant (inner);

      sink->total += g_variant_get_int64 (count);
    }
  sink->count += items->len;
  return TRUE;
}

static void bench_sink_part_class_init (BenchSinkPartClass *k)
{
  FLOW_SINK_PARTITION_CLASS (k)->write_batch = bench_sink_part_write_batch;
}
static void bench_sink_part_init (BenchSinkPart *self) {}

static FlowSinkPartition *
bench_sink_build_part (FlowSink *sink, const char *step_id, const char *key,
                       GVariant *resume, GError **error)
{
  BenchSinkPart *part = g_object_new (BENCH_TYPE_SINK_PART, NULL);

  part->sink = BENCH_SINK (sink);
  return FLOW_SINK_PARTITION (part);
}

static void bench_sink_class_init (BenchSinkClass *k)
{
  FLOW_SINK_CLASS (k)->build_part = bench_sink_build_part;
}
static void bench_sink_init (BenchSink *self) {}

/* ---- throughput: the two contenders ---- */

typedef struct
{
  gint64 window;
  gint64 count;
} Bucket;

static double
run_plain (gint64 n, guint64 *windows)
{
  g_autoptr(GHashTable) buckets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  guint64 emitted = 0;
  gint64 total = 0;
  gint64 start = g_get_monotonic_time ();
  double cpu = cpu_now ();
  GHashTableIter iter;
  gpointer value;

  for (gint64 i = 0; i < n; i++)
    {
      GVariant *item = g_variant_ref_sink (g_variant_new_int64 (i));
      char *key = key_of (item, NULL, NULL);
      gint64 window = (ts_of (item, NULL, NULL) - T0) / G_USEC_PER_SEC;
      Bucket *b = g_hash_table_lookup (buckets, key);

      if (b == NULL)
        {
          b = g_new0 (Bucket, 1);
          b->window = window;
          g_hash_table_insert (buckets, key, b);
        }
      else
        {
          g_free (key);
          if (b->window != window)
            {
              emitted++;
              total += b->count;
              b->window = window;
              b->count = 0;
            }
        }
      b->count++;
      g_variant_unref (item);
    }
  g_hash_table_iter_init (&iter, buckets);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      emitted++;
      total += ((Bucket *) value)->count;
    }

  g_assert_cmpint (total, ==, n);
  *windows = emitted;
  last_cpu = cpu_now () - cpu;
  return (g_get_monotonic_time () - start) / 1e6;
}

static double
run_flow (gint64 n, guint batch, guint64 *windows)
{
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("bench");
  g_autoptr(BenchSource) source = g_object_new (BENCH_TYPE_SOURCE, NULL);
  g_autoptr(BenchSink) sink = g_object_new (BENCH_TYPE_SINK, NULL);
  g_autoptr(FlowEventClock) clock = NULL;
  g_autoptr(FlowTumblingWindower) windower = NULL;
  g_autoptr(FlowWindowOut) out = NULL;
  g_autoptr(FlowRunner) runner = NULL;
  g_autoptr(GError) error = NULL;
  FlowStream *s;
  gint64 start;
  double cpu;

  /* A 5 s wait: the watermark also moves with system time, and a loaded
   * machine that stalls for longer than a key's gap in event time would
   * make items late. */
  clock = flow_event_clock_new (5 * G_USEC_PER_SEC, ts_of, NULL, NULL, &error);
  g_assert_no_error (error);
  windower = flow_tumbling_windower_new (G_USEC_PER_SEC, T0, &error);
  g_assert_no_error (error);

  source->n = n;
  source->batch = batch;
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  out = flow_stream_count_window (s, "count", FLOW_WINDOW_CLOCK (clock), FLOW_WINDOWER (windower),
                                  key_of, NULL, NULL);
  flow_stream_output (flow_window_out_get_down (out), "out", FLOW_SINK (sink));

  runner = flow_runner_new (flow);
  flow_runner_set_snapshot_interval (runner, 10.0);
  start = g_get_monotonic_time ();
  cpu = cpu_now ();
  if (!flow_runner_run (runner, NULL, &error))
    g_error ("run failed: %s", error->message);
  last_cpu = cpu_now () - cpu;
  g_assert_cmpint (sink->total, ==, n);
  *windows = sink->count;
  return (g_get_monotonic_time () - start) / 1e6;
}

/* ---- snapshot cost ---- */

static void
remove_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (dir);
}

static void
committed (guint64 epoch, const GError *error, gpointer user_data)
{
  if (error != NULL)
    g_error ("commit failed: %s", error->message);
  *(gboolean *) user_data = TRUE;
}

/* What the window operator stores for a key with one open window of
 * count_window: the row made by the operator's own encoder
 * (flow_window_state_encode(), which flow_op_window_snapshot() calls),
 * from the same clock and windower states, in a reused buffer as the
 * operator's. */
static GVariant *
window_snapshot (FlowWindowClockState *clock,
                 FlowWindowerState    *windower,
                 gint64                watermark,
                 gint64                window_id,
                 gint64                count)
{
  static GByteArray *scratch;
  FlowWindowRowSlot slot = { window_id, count, NULL };

  if (scratch == NULL)
    scratch = g_byte_array_sized_new (64);
  return flow_window_state_encode (scratch, clock, windower, watermark, &slot, 1, TRUE, NULL, 0);
}

typedef enum { SNAP_WINDOWS, SNAP_MAP, SNAP_MAP_SIZED } SnapKind;

typedef struct
{
  double make, commit;          /* wall, s */
  double make_cpu, commit_cpu;  /* CPU of the process (the store's thread included), s */
  gsize  bytes;
} SnapCost;

/* Makes the rows of @n keys (the snapshots, timed) and commits them in one
 * epoch (timed). SNAP_MAP_SIZED: stateful_map's rows with `ay` states of
 * @sized bytes (the windows' size), to tell the cost of the bytes from the
 * cost of the rows. */
static void
snapshot_cost (guint n, SnapKind kind, gsize sized, SnapCost *cost)
{
  gboolean windows = kind == SNAP_WINDOWS;
  g_autofree char *dir = g_dir_make_tmp ("flow-bench-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(FlowEventClock) clock = flow_event_clock_new (0, ts_of, NULL, NULL, NULL);
  g_autoptr(FlowTumblingWindower) windower = flow_tumbling_windower_new (G_USEC_PER_SEC, T0, NULL);
  g_autoptr(GPtrArray) clocks = g_ptr_array_new_with_free_func ((GDestroyNotify) flow_window_clock_state_unref);
  g_autoptr(GPtrArray) windowers = g_ptr_array_new_with_free_func ((GDestroyNotify) flow_windower_state_unref);
  g_autoptr(GPtrArray) states = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  char **names = g_new0 (char *, n + 1);
  gboolean done = FALSE;
  FlowStore *store;
  GArray *rows;
  gint64 start;
  double cpu;

  /* The live state of each key, as the operators hold it. */
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("user-%08u", i);

      names[i] = g_ref_string_new (name);
      if (windows)
        {
          g_autoptr(GVariant) item = g_variant_ref_sink (g_variant_new_int64 (i));
          FlowWindowClockState *cs = flow_window_clock_new_state (FLOW_WINDOW_CLOCK (clock));
          FlowWindowerState *ws = flow_windower_new_state (FLOW_WINDOWER (windower));
          gint64 ts, wm;
          gsize n_ids;
          g_autofree gint64 *ids = NULL;

          flow_window_clock_state_before_batch (cs);
          flow_window_clock_state_on_item (cs, item, &ts, &wm, NULL);
          ids = flow_windower_state_open_for (ws, ts, &n_ids);
          g_ptr_array_add (clocks, cs);
          g_ptr_array_add (windowers, ws);
        }
      else if (kind == SNAP_MAP_SIZED)
        {
          g_autofree guint8 *data = g_malloc (sized);

          for (gsize j = 0; j < sized; j++)
            data[j] = (guint8) (i >> (8 * (j % 4)));
          g_ptr_array_add (states, g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, sized, 1)));
        }
      else
        g_ptr_array_add (states, g_variant_ref_sink (g_variant_new_int64 (i)));
    }

  if (!flow_recovery_init_dir (dir, 1, &error))
    g_error ("%s", error->message);
  store = flow_store_open (dir, FLOW_STORE_OPEN_RUN, &error);
  if (store == NULL || !flow_store_begin_execution (store, "bench", 1, 0, g_get_real_time (), NULL,
                                                    context, committed, &done, &error))
    g_error ("%s", error->message);

  start = g_get_monotonic_time ();
  cpu = cpu_now ();
  rows = g_array_sized_new (FALSE, TRUE, sizeof (FlowSnapRow), n);
  g_array_set_clear_func (rows, (GDestroyNotify) flow_snap_row_clear);
  cost->bytes = 0;
  for (guint i = 0; i < n; i++)
    {
      FlowSnapRow row = { "bench.count", g_ref_string_acquire (names[i]), NULL };

      if (windows)
        row.state = window_snapshot (g_ptr_array_index (clocks, i), g_ptr_array_index (windowers, i),
                                     T0 + i * STEP_USEC, (i * STEP_USEC) / G_USEC_PER_SEC, 1);
      else
        row.state = g_variant_ref (g_ptr_array_index (states, i));
      cost->bytes += g_variant_get_size (row.state);
      g_array_append_val (rows, row);
    }
  cost->make = (g_get_monotonic_time () - start) / 1e6;
  cost->make_cpu = cpu_now () - cpu;

  start = g_get_monotonic_time ();
  cpu = cpu_now ();
  flow_store_commit_async (store, 1, g_get_real_time (), rows);
  while (!done)
    g_main_context_iteration (context, TRUE);
  cost->commit = (g_get_monotonic_time () - start) / 1e6;
  cost->commit_cpu = cpu_now () - cpu;

  flow_store_free (store);
  remove_dir (dir);
  for (guint i = 0; i < n; i++)
    g_ref_string_release (names[i]);
  g_free (names);
}

/* Keeps the least of each figure over the runs. */
static void
snap_best (SnapCost *best, const SnapCost *c)
{
  best->make = MIN (best->make, c->make);
  best->commit = MIN (best->commit, c->commit);
  best->make_cpu = MIN (best->make_cpu, c->make_cpu);
  best->commit_cpu = MIN (best->commit_cpu, c->commit_cpu);
  best->bytes = c->bytes;
}

static void
snap_print (const char *what, const SnapCost *c, guint n)
{
  g_print ("  %-26s %6.3f s wall (%.3f make + %.3f commit), %6.3f s CPU (%.3f + %.3f), "
           "%.0f bytes/key\n", what, c->make + c->commit, c->make, c->commit,
           c->make_cpu + c->commit_cpu, c->make_cpu, c->commit_cpu, (double) c->bytes / n);
}

int
main (int argc, char **argv)
{
  gint64 n = 10 * 1000 * 1000;
  int batch = 1024;
  int repeat = 3;
  int snapshot_keys = 100000;
  g_autofree char *only = NULL;
  int sized_bytes = 0;
  GOptionEntry entries[] = {
    { "items", 'n', 0, G_OPTION_ARG_INT64, &n, "Items to push (default 10M)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Items per source batch (default 1024)", "N" },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &repeat, "Best of N runs (default 3)", "N" },
    { "snapshot-keys", 0, 0, G_OPTION_ARG_INT, &snapshot_keys, "Keys of the snapshot cost (default 100,000)", "N" },
    { "sized-bytes", 0, 0, G_OPTION_ARG_INT, &sized_bytes, "State size of the third snapshot row (default: the windows')", "N" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &only, "Run one part alone, for a profiler: flow, plain, snapshot", "PART" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- libflow window operator benchmark");
  g_autoptr(GError) error = NULL;
  double plain = G_MAXDOUBLE, flow = G_MAXDOUBLE;
  double plain_cpu = G_MAXDOUBLE, flow_cpu = G_MAXDOUBLE;
  SnapCost win = { G_MAXDOUBLE, G_MAXDOUBLE, G_MAXDOUBLE, G_MAXDOUBLE, 0 };
  SnapCost map = win, sized = win;
  guint64 plain_windows = 0, flow_windows = 0;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  for (int i = 0; i < N_KEYS; i++)
    keys[i] = g_strdup_printf ("key-%d", i);

  if (only != NULL)
    {
      for (int r = 0; r < repeat; r++)
        if (g_str_equal (only, "flow"))
          {
            double t = run_flow (n, batch, &flow_windows);
            g_print ("flow: %.3f s (CPU %.3f s)\n", t, last_cpu);
          }
        else if (g_str_equal (only, "plain"))
          {
            double t = run_plain (n, &plain_windows);
            g_print ("plain: %.3f s (CPU %.3f s)\n", t, last_cpu);
          }
        else if (g_str_equal (only, "snapshot"))
          {
            SnapCost c;

            snapshot_cost (snapshot_keys, SNAP_WINDOWS, 0, &c);
            snap_print ("open windows:", &c, snapshot_keys);
            snapshot_cost (snapshot_keys, SNAP_MAP, 0, &c);
            snap_print ("stateful_map:", &c, snapshot_keys);
          }
        else
          {
            g_printerr ("--only takes flow, plain or snapshot\n");
            return 2;
          }
      return 0;
    }

  for (int r = 0; r < repeat; r++)
    {
      double t;
      SnapCost c;

      t = run_plain (n, &plain_windows);
      plain = MIN (plain, t);
      plain_cpu = MIN (plain_cpu, last_cpu);
      t = run_flow (n, batch, &flow_windows);
      flow = MIN (flow, t);
      flow_cpu = MIN (flow_cpu, last_cpu);
      g_assert_cmpuint (plain_windows, ==, flow_windows);

      snapshot_cost (snapshot_keys, SNAP_WINDOWS, 0, &c);
      snap_best (&win, &c);
      snapshot_cost (snapshot_keys, SNAP_MAP, 0, &c);
      snap_best (&map, &c);
      snapshot_cost (snapshot_keys, SNAP_MAP_SIZED,
                     sized_bytes > 0 ? (gsize) sized_bytes : win.bytes / snapshot_keys, &c);
      snap_best (&sized, &c);
    }

  g_print ("items: %" G_GINT64_FORMAT ", keys: %d, 1 s tumbling windows, %d items/s of event time, "
           "source batch: %d, best of %d\n", n, N_KEYS, (int) (G_USEC_PER_SEC / STEP_USEC), batch, repeat);
  g_print ("windows emitted:                   %" G_GUINT64_FORMAT "\n", flow_windows);
  g_print ("plain C loop (bucketing by hand): %8.3f s  %12.0f items/s  (CPU %.3f s)\n",
           plain, n / plain, plain_cpu);
  g_print ("libflow count_window:             %8.3f s  %12.0f items/s  (CPU %.3f s)\n",
           flow, n / flow, flow_cpu);
  g_print ("ratio flow / plain loop:          %8.3f wall, %.3f CPU  (target >= 0.3)\n",
           plain / flow, plain_cpu / flow_cpu);
  g_print ("snapshot of %d keys, one epoch (make the rows + commit them; each figure the "
           "least of %d runs):\n", snapshot_keys, repeat);
  snap_print ("open windows:", &win, snapshot_keys);
  snap_print ("stateful_map:", &map, snapshot_keys);
  snap_print ("stateful_map, bigger states:", &sized, snapshot_keys);
  g_print ("  ratio windows / stateful_map: %.2f wall, %.2f CPU  (target <= 1)\n",
           (win.make + win.commit) / (map.make + map.commit),
           (win.make_cpu + win.commit_cpu) / (map.make_cpu + map.commit_cpu));
  return 0;
}
