/* bench-core: items/s through input → map → key_on → stateful_map → sink,
 * against a plain C loop doing the same work with a GHashTable.
 *
 * Both call the same functions on the same GVariant items, so the ratio is
 * what the dataflow machinery costs. With --recovery, the flow also runs
 * with a recovery directory and -s 1 (or -s S), to measure snapshot
 * overhead (issue 12's targets: at most 10 % at -s 0.05, 3 % at -s 1).
 * CPU times (all threads: the recovery writer's too) are printed beside
 * the wall-clock figures: on a loaded machine they say more.
 *
 * With -w N, the flow also runs over a source and a sink of N partitions
 * with 1 worker and with N (docs/workers.md), and prints their ratio by
 * the wall clock (the figure that counts, on a quiet machine) and by CPU
 * time (items per CPU-second, which other processes on the machine change
 * much less). --workers-only runs only that comparison.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <flow.h>
#include "bench-common.h"
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#define N_KEYS 1000

static char *keys[N_KEYS];

/* ---- the user functions, shared by the flow and the plain loop ---- */

static GVariant *
double_it (GVariant *item, gpointer user_data, GError **error)
{
  return g_variant_new_int64 (g_variant_get_int64 (item) * 2);
}

static char *
key_of (GVariant *item, gpointer user_data, GError **error)
{
  return g_strdup (keys[(guint64) g_variant_get_int64 (item) / 2 % N_KEYS]);
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

/* ---- a source generating 0 .. n-1 and a sink that counts ---- */

#define BENCH_TYPE_SOURCE (bench_source_get_type ())
G_DECLARE_FINAL_TYPE (BenchSource, bench_source, BENCH, SOURCE, FlowSource)
struct _BenchSource { FlowSource parent; gint64 n; guint batch; guint parts; };
G_DEFINE_FINAL_TYPE (BenchSource, bench_source, FLOW_TYPE_SOURCE)

#define BENCH_TYPE_PART (bench_part_get_type ())
G_DECLARE_FINAL_TYPE (BenchPart, bench_part, BENCH, PART, FlowSourcePartition)
struct _BenchPart { FlowSourcePartition parent; gint64 next, n; guint batch, step; };
G_DEFINE_FINAL_TYPE (BenchPart, bench_part, FLOW_TYPE_SOURCE_PARTITION)

static GVariant *
bench_part_next_batch (FlowSourcePartition *part, GError **error)
{
  BenchPart *self = BENCH_PART (part);
  gint64 *values;
  GVariant *batch;
  guint k = 0;

  if (self->next >= self->n)
    return NULL;
  /* Partition j of P reads j, j + P, j + 2P… */
  values = g_new (gint64, self->batch);
  for (; k < self->batch && self->next < self->n; k++, self->next += self->step)
    values[k] = self->next;
  batch = g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, values, k, sizeof (gint64));
  g_free (values);
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
  part->step = MAX (self->parts, 1);
  part->next = resume ? g_variant_get_int64 (resume) : (gint64) g_ascii_strtoll (key, NULL, 10);
  return FLOW_SOURCE_PARTITION (part);
}

/* "0" … "P-1" */
static char **
bench_list_parts (guint parts)
{
  char **names = g_new0 (char *, MAX (parts, 1) + 1);

  for (guint i = 0; i < MAX (parts, 1); i++)
    names[i] = g_strdup_printf ("%u", i);
  return names;
}

static char **
bench_source_list_parts (FlowSource *source, GError **error)
{
  return bench_list_parts (BENCH_SOURCE (source)->parts);
}

static void bench_source_class_init (BenchSourceClass *k)
{
  FLOW_SOURCE_CLASS (k)->build_part = bench_source_build_part;
  FLOW_SOURCE_CLASS (k)->list_parts = bench_source_list_parts;
}
static void bench_source_init (BenchSource *self) {}

#define BENCH_TYPE_SINK (bench_sink_get_type ())
G_DECLARE_FINAL_TYPE (BenchSink, bench_sink, BENCH, SINK, FlowSink)
struct _BenchSink { FlowSink parent; guint parts; GPtrArray *built; };
G_DEFINE_FINAL_TYPE (BenchSink, bench_sink, FLOW_TYPE_SINK)

#define BENCH_TYPE_SINK_PART (bench_sink_part_get_type ())
G_DECLARE_FINAL_TYPE (BenchSinkPart, bench_sink_part, BENCH, SINK_PART, FlowSinkPartition)
/* Each partition counts what it got (on its worker's thread); the sink
 * sums them once the run is over. */
struct _BenchSinkPart { FlowSinkPartition parent; guint64 count; };
G_DEFINE_FINAL_TYPE (BenchSinkPart, bench_sink_part, FLOW_TYPE_SINK_PARTITION)

static gboolean
bench_sink_part_write_batch (FlowSinkPartition *part, GPtrArray *items, GError **error)
{
  BENCH_SINK_PART (part)->count += items->len;
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

  g_ptr_array_add (BENCH_SINK (sink)->built, g_object_ref (part));
  return FLOW_SINK_PARTITION (part);
}

static char **
bench_sink_list_parts (FlowSink *sink, GError **error)
{
  return bench_list_parts (BENCH_SINK (sink)->parts);
}

static guint64
bench_sink_count (BenchSink *self)
{
  guint64 count = 0;

  for (guint i = 0; i < self->built->len; i++)
    count += BENCH_SINK_PART (g_ptr_array_index (self->built, i))->count;
  return count;
}

static void
bench_sink_finalize (GObject *object)
{
  g_ptr_array_unref (BENCH_SINK (object)->built);
  G_OBJECT_CLASS (bench_sink_parent_class)->finalize (object);
}

static void bench_sink_class_init (BenchSinkClass *k)
{
  G_OBJECT_CLASS (k)->finalize = bench_sink_finalize;
  FLOW_SINK_CLASS (k)->build_part = bench_sink_build_part;
  FLOW_SINK_CLASS (k)->list_parts = bench_sink_list_parts;
}
static void bench_sink_init (BenchSink *self)
{
  self->built = g_ptr_array_new_with_free_func (g_object_unref);
}

/* ---- the two contenders ---- */

/* The CPU time (user + system, all threads) of the last run_plain() or
 * run_flow_on(), and the calling thread's alone in last_thread_cpu: with
 * one worker the flow runs on it, while the recovery writer thread
 * serialises, inserts and fsyncs in parallel (on another core of a
 * multi-core machine). */
static double last_cpu, last_thread_cpu;

static double
thread_cpu_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}



static double
run_plain (gint64 n)
{
  g_autoptr(GHashTable) states = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                        (GDestroyNotify) g_variant_unref);
  guint64 count = 0;
  gint64 start = g_get_monotonic_time ();
  double cpu0 = bench_cpu_seconds ();
  double thread_cpu0 = thread_cpu_seconds ();

  for (gint64 i = 0; i < n; i++)
    {
      GVariant *item = g_variant_ref_sink (g_variant_new_int64 (i));
      GVariant *mapped = g_variant_ref_sink (double_it (item, NULL, NULL));
      char *key = key_of (mapped, NULL, NULL);
      GVariant *state = g_hash_table_lookup (states, key);
      GVariant *emit = NULL;
      GVariant *new_state = running_count (state, mapped, &emit, NULL, NULL);

      if (state == NULL)
        g_hash_table_insert (states, key, new_state);
      else
        {
          g_hash_table_replace (states, key, new_state);
        }
      count++;
      g_variant_unref (emit);
      g_variant_unref (mapped);
      g_variant_unref (item);
    }

  g_assert_cmpuint (count, ==, (guint64) n);
  g_assert_cmpuint (g_hash_table_size (states), ==, MIN (n, N_KEYS));
  last_cpu = bench_cpu_seconds () - cpu0;
  last_thread_cpu = thread_cpu_seconds () - thread_cpu0;
  return (g_get_monotonic_time () - start) / 1e6;
}

static double
run_flow_on (gint64 n, guint batch, const char *recovery_dir, double interval, guint64 *epochs,
             guint parts, guint workers)
{
  double cpu0, thread_cpu0;
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("bench");
  g_autoptr(BenchSource) source = g_object_new (BENCH_TYPE_SOURCE, NULL);
  g_autoptr(BenchSink) sink = g_object_new (BENCH_TYPE_SINK, NULL);
  g_autoptr(FlowRunner) runner = NULL;
  g_autoptr(GError) error = NULL;
  FlowStream *s;
  gint64 start;

  source->n = n;
  source->batch = batch;
  source->parts = parts;
  sink->parts = parts;
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_map (s, "double", double_it, NULL, NULL);
  s = flow_stream_key_on (s, "key", key_of, NULL, NULL);
  s = flow_stream_stateful_map (s, "count", NULL, NULL, NULL, running_count, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));

  runner = flow_runner_new (flow);
  flow_runner_set_recovery_directory (runner, recovery_dir);
  flow_runner_set_snapshot_interval (runner, interval);
  flow_runner_set_workers (runner, workers);

  start = g_get_monotonic_time ();
  cpu0 = bench_cpu_seconds ();
  thread_cpu0 = thread_cpu_seconds ();
  if (!flow_runner_run (runner, NULL, &error))
    g_error ("run failed: %s", error->message);
  last_cpu = bench_cpu_seconds () - cpu0;
  last_thread_cpu = thread_cpu_seconds () - thread_cpu0;
  g_assert_cmpuint (bench_sink_count (sink), ==, (guint64) n);
  if (epochs)
    *epochs = flow_runner_get_epoch (runner) - flow_runner_get_resume_epoch (runner) - 1;
  return (g_get_monotonic_time () - start) / 1e6;
}

static double
run_flow (gint64 n, guint batch, const char *recovery_dir, double interval, guint64 *epochs)
{
  return run_flow_on (n, batch, recovery_dir, interval, epochs, 1, 1);
}


int
main (int argc, char **argv)
{
  gint64 n = 10 * 1000 * 1000;
  int batch = 1024;
  int repeat = 3;
  gboolean recovery = FALSE;
  double interval = 1.0;
  gboolean flow_only = FALSE;
  gboolean recovery_only = FALSE;
  gboolean workers_only = FALSE;
  int workers = 0;
  GOptionEntry entries[] = {
    { "workers", 'w', 0, G_OPTION_ARG_INT, &workers, "Also compare N workers with 1, over N partitions", "N" },
    { "workers-only", 0, 0, G_OPTION_ARG_NONE, &workers_only, "Only run the -w comparison (for profiling)", NULL },
    { "recovery-only", 0, 0, G_OPTION_ARG_NONE, &recovery_only, "Only run the flow with recovery (for profiling)", NULL },
    { "flow-only", 0, 0, G_OPTION_ARG_NONE, &flow_only, "Only run the flow (for profiling)", NULL },
    { "items", 'n', 0, G_OPTION_ARG_INT64, &n, "Items to push (default 10M)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Items per source batch (default 1024)", "N" },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &repeat, "Best of N runs (default 3)", "N" },
    { "recovery", 0, 0, G_OPTION_ARG_NONE, &recovery, "Also measure with recovery, -s 1", NULL },
    { "snapshot-interval", 's', 0, G_OPTION_ARG_DOUBLE, &interval, "Snapshot interval with --recovery (default 1)", "S" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- libflow core benchmark");
  g_autoptr(GError) error = NULL;
  double plain = G_MAXDOUBLE, flow = G_MAXDOUBLE, with_recovery = G_MAXDOUBLE;
  double plain_cpu = G_MAXDOUBLE, flow_cpu = G_MAXDOUBLE, recovery_cpu = G_MAXDOUBLE;
  double flow_thread_cpu = G_MAXDOUBLE, recovery_thread_cpu = G_MAXDOUBLE, writer_cpu = G_MAXDOUBLE;
  double one = G_MAXDOUBLE, many = G_MAXDOUBLE, one_cpu = 0, many_cpu = 0;
  guint64 epochs = 0;

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
      double t;

      /* (MIN() evaluates its arguments twice: time once, then compare.) */
      if (workers_only)
        goto workers;
      t = flow_only ? 1 : run_plain (n);
      plain = MIN (plain, t);
      plain_cpu = MIN (plain_cpu, flow_only ? 1 : last_cpu);
      t = recovery_only ? 1 : run_flow (n, batch, NULL, 10.0, NULL);
      flow = MIN (flow, t);
      flow_cpu = MIN (flow_cpu, recovery_only ? 1 : last_cpu);
      flow_thread_cpu = MIN (flow_thread_cpu, recovery_only ? 1 : last_thread_cpu);
      if (recovery)
        {
          g_autofree char *dir = g_dir_make_tmp ("flow-bench-XXXXXX", NULL);
          if (!flow_recovery_init_dir (dir, 1, &error))
            g_error ("%s", error->message);
          t = run_flow (n, batch, dir, interval, &epochs);
          with_recovery = MIN (with_recovery, t);
          recovery_cpu = MIN (recovery_cpu, last_cpu);
          recovery_thread_cpu = MIN (recovery_thread_cpu, last_thread_cpu);
          writer_cpu = MIN (writer_cpu, last_cpu - last_thread_cpu);
          if (g_getenv ("BENCH_VERBOSE"))
            g_printerr ("run %d with recovery: %.3f s wall, %.3f s CPU, %.3f s flow thread\n",
                        r, t, last_cpu, last_thread_cpu);
          bench_remove_dir (dir);
        }
    workers:
      if (workers > 1)
        {
          t = g_getenv ("BENCH_SKIP_ONE") ? 1 : run_flow_on (n, batch, NULL, 10.0, NULL, workers, 1);
          if (t < one)
            one = t, one_cpu = last_cpu;
          t = g_getenv ("BENCH_SKIP_MANY") ? 1 : run_flow_on (n, batch, NULL, 10.0, NULL, workers, workers);
          if (t < many)
            many = t, many_cpu = last_cpu;
        }
    }

  g_print ("items: %" G_GINT64_FORMAT ", keys: %d, source batch: %d, best of %d\n", n, N_KEYS, batch, repeat);
  if (!workers_only)
    {
      g_print ("plain C loop (GHashTable):   %8.3f s  %12.0f items/s\n", plain, n / plain);
      g_print ("libflow flow:                %8.3f s  %12.0f items/s\n", flow, n / flow);
      g_print ("ratio flow / plain loop:     %8.3f  (CPU time: %.3f)\n", plain / flow, plain_cpu / flow_cpu);
    }
  if (recovery)
    {
      g_print ("libflow flow, recovery -s %g: %8.3f s  %12.0f items/s  (%" G_GUINT64_FORMAT " epochs)\n",
               interval, with_recovery, n / with_recovery, epochs);
      /* Three honest figures: the wall clock (what a user waits; noisy on
       * a loaded machine), the flow thread's CPU (what recovery adds on
       * the flow's own path: snapshot collection, handing rows over), and
       * the whole process's CPU (adds the writer thread's serialisation,
       * SQLite inserts and fsyncs, which run in parallel). */
      g_print ("recovery overhead, wall:     %+7.1f %%\n", (with_recovery / flow - 1) * 100);
      g_print ("recovery overhead, CPU:      %+7.1f %% flow thread, %+.1f %% all threads "
               "(other threads: %.3f s of %.3f s)\n",
               (recovery_thread_cpu / flow_thread_cpu - 1) * 100, (recovery_cpu / flow_cpu - 1) * 100,
               writer_cpu, recovery_cpu);
    }
  if (workers > 1)
    {
      g_print ("%d partitions, 1 worker:      %8.3f s  %12.0f items/s  (CPU %.3f s)\n",
               workers, one, n / one, one_cpu);
      g_print ("%d partitions, %d workers:     %8.3f s  %12.0f items/s  (CPU %.3f s)\n",
               workers, workers, many, n / many, many_cpu);
      g_print ("ratio %d workers / 1 worker:   %8.3f  (wall clock: items/s)\n", workers, one / many);
      /* Robust under load (other processes take cores, not CPU time): the
       * items per CPU-second of the whole process (the workers', and the
       * coordinator's, which is next to nothing), their ratio (1.0: the
       * workers spend no CPU on being several), and what that allows on
       * N free cores: the wall-clock ratio of a quiet machine is at most
       * N times the CPU ratio. */
      g_print ("CPU per item:                %8.3f us with 1 worker, %.3f us with %d "
               "(each worker's CPU over the items it read)\n",
               one_cpu / n * 1e6, many_cpu / n * 1e6, workers);
      g_print ("items per CPU-second:        %12.0f with 1 worker, %.0f with %d; ratio %.3f\n",
               n / one_cpu, n / many_cpu, workers, one_cpu / many_cpu);
      g_print ("CPU-bound bound on %d cores:  %8.3f  (%d x the CPU ratio)\n",
               workers, workers * one_cpu / many_cpu, workers);
    }
  return 0;
}
