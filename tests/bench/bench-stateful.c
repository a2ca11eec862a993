/* bench-stateful: items/s through input → key_on → stateful (a C
 * FlowStatefulLogic counting each key's values) → sink, against the same
 * count with stateful_map, and against a plain C loop calling the same
 * logic objects from a GHashTable.
 *
 * The ratios say what the logic objects cost (vfunc calls, emitted arrays,
 * grouping a batch by key) next to stateful_map's functions, and what the
 * dataflow costs next to the loop. With --recovery, the stateful flow also
 * runs with a recovery directory and -s 1 (a snapshot() per key per batch).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <flow.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench-common.h"

#define N_KEYS 1000

static char *keys[N_KEYS];

static char *
key_of (GVariant *item, gpointer user_data, GError **error)
{
  return g_strdup (keys[(guint64) g_variant_get_int64 (item) % N_KEYS]);
}

static GVariant *
running_count (GVariant *state, GVariant *value, GVariant **emit,
               gpointer user_data, GError **error)
{
  gint64 count = (state ? g_variant_get_int64 (state) : 0) + 1;
  GVariant *new_state = g_variant_ref_sink (g_variant_new_int64 (count));

  *emit = g_variant_ref (new_state);
  return new_state;
}

/* ---- the logic: emits each key's running count ---- */

#define BENCH_TYPE_COUNTER (bench_counter_get_type ())
G_DECLARE_FINAL_TYPE (BenchCounter, bench_counter, BENCH, COUNTER, FlowStatefulLogic)
struct _BenchCounter { FlowStatefulLogic parent; gint64 count; };
G_DEFINE_FINAL_TYPE (BenchCounter, bench_counter, FLOW_TYPE_STATEFUL_LOGIC)

static GVariant *
bench_counter_on_item (FlowStatefulLogic *logic, GVariant *value, gboolean *discard, GError **error)
{
  GVariant *count = g_variant_new_int64 (++BENCH_COUNTER (logic)->count);

  return g_variant_new_array (G_VARIANT_TYPE_INT64, &count, 1);
}

static GVariant *
bench_counter_snapshot (FlowStatefulLogic *logic, GError **error)
{
  return g_variant_new_int64 (BENCH_COUNTER (logic)->count);
}

static void bench_counter_class_init (BenchCounterClass *k)
{
  FLOW_STATEFUL_LOGIC_CLASS (k)->on_item = bench_counter_on_item;
  FLOW_STATEFUL_LOGIC_CLASS (k)->snapshot = bench_counter_snapshot;
}
static void bench_counter_init (BenchCounter *self) {}

static FlowStatefulLogic *
build_counter (const char *key, GVariant *resume, gpointer user_data, GError **error)
{
  BenchCounter *self = g_object_new (BENCH_TYPE_COUNTER, NULL);

  if (resume != NULL)
    self->count = g_variant_get_int64 (resume);
  return FLOW_STATEFUL_LOGIC (self);
}

/* ---- a source generating 0 .. n-1 ---- */

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

/* ---- the contenders ---- */

static double
run_plain (gint64 n)
{
  g_autoptr(GHashTable) logics = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  guint64 count = 0;
  gint64 start = g_get_monotonic_time ();

  for (gint64 i = 0; i < n; i++)
    {
      GVariant *item = g_variant_ref_sink (g_variant_new_int64 (i));
      char *key = key_of (item, NULL, NULL);
      FlowStatefulLogic *logic = g_hash_table_lookup (logics, key);
      gboolean discard = FALSE;
      GVariant *emit;

      if (logic == NULL)
        {
          logic = build_counter (key, NULL, NULL, NULL);
          g_hash_table_insert (logics, key, logic);
        }
      else
        g_free (key);
      emit = g_variant_ref_sink (flow_stateful_logic_on_item (logic, item, &discard, NULL));
      count += g_variant_n_children (emit);
      g_variant_unref (emit);
      g_variant_unref (item);
    }

  g_assert_cmpuint (count, ==, (guint64) n);
  return bench_seconds_since (start);
}

static double
run_flow (gint64 n, guint batch, gboolean logic, const char *recovery_dir, double interval)
{
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("bench");
  g_autoptr(BenchSource) source = g_object_new (BENCH_TYPE_SOURCE, NULL);
  g_autoptr(BenchCountSink) sink = bench_count_sink_new (FALSE);
  g_autoptr(FlowRunner) runner = NULL;
  g_autoptr(GError) error = NULL;
  FlowStream *s;
  gint64 start;

  source->n = n;
  source->batch = batch;
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_key_on (s, "key", key_of, NULL, NULL);
  if (logic)
    s = flow_stream_stateful (s, "count", build_counter, NULL, NULL);
  else
    s = flow_stream_stateful_map (s, "count", NULL, NULL, NULL, running_count, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));

  runner = flow_runner_new (flow);
  flow_runner_set_recovery_directory (runner, recovery_dir);
  flow_runner_set_snapshot_interval (runner, interval);

  start = g_get_monotonic_time ();
  if (!flow_runner_run (runner, NULL, &error))
    g_error ("run failed: %s", error->message);
  g_assert_cmpuint (sink->count, ==, (guint64) n);
  return bench_seconds_since (start);
}

int
main (int argc, char **argv)
{
  gint64 n = 2 * 1000 * 1000;
  int batch = 1024;
  int repeat = 3;
  gboolean recovery = FALSE;
  GOptionEntry entries[] = {
    { "items", 'n', 0, G_OPTION_ARG_INT64, &n, "Items to push (default 2M)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Items per source batch (default 1024)", "N" },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &repeat, "Best of N runs (default 3)", "N" },
    { "recovery", 0, 0, G_OPTION_ARG_NONE, &recovery, "Also measure stateful with recovery, -s 1", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- libflow stateful benchmark");
  g_autoptr(GError) error = NULL;
  double plain = G_MAXDOUBLE, logic = G_MAXDOUBLE, map = G_MAXDOUBLE, with_recovery = G_MAXDOUBLE;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  for (int i = 0; i < N_KEYS; i++)
    keys[i] = g_strdup_printf ("key-%d", i);

  for (int r = 0; r < repeat; r++)
    {
      bench_keep_best (&plain, run_plain (n));
      bench_keep_best (&logic, run_flow (n, batch, TRUE, NULL, 10.0));
      bench_keep_best (&map, run_flow (n, batch, FALSE, NULL, 10.0));
      if (recovery)
        {
          g_autofree char *dir = bench_recovery_dir_new (1);

          bench_keep_best (&with_recovery, run_flow (n, batch, TRUE, dir, 1.0));
          bench_remove_dir (dir);
        }
    }

  g_print ("items: %" G_GINT64_FORMAT ", keys: %d, source batch: %d, best of %d\n", n, N_KEYS, batch, repeat);
  g_print ("plain C loop (logic objects): %8.3f s  %12.0f items/s\n", plain, n / plain);
  g_print ("stateful (C logic):           %8.3f s  %12.0f items/s\n", logic, n / logic);
  g_print ("stateful_map (C function):    %8.3f s  %12.0f items/s\n", map, n / map);
  g_print ("ratio stateful / plain loop:  %8.3f\n", plain / logic);
  g_print ("ratio stateful / stateful_map:%8.3f\n", map / logic);
  if (recovery)
    {
      g_print ("stateful, recovery -s 1:      %8.3f s  %12.0f items/s\n", with_recovery, n / with_recovery);
      g_print ("recovery overhead:            %+7.1f %%\n", (with_recovery / logic - 1) * 100);
    }
  return 0;
}
