/* bench-recovery: snapshot commit and resume throughput.
 *
 * Commit: changed keys committed per second through libflow's store (rows
 * serialised and written by its writer thread), for 100,000 and 1,000,000
 * changed keys in one epoch, next to a plain SQLite insert of the same rows
 * (prepared statement, one transaction, same schema and pragmas, the state
 * blobs serialised beforehand) measured in the same run.
 *
 * Steady epochs (issue 12): what recovery every 50 ms asks of the store,
 * 200 epochs in a row each changing the same 1,000 (10,000) keys, garbage
 * collected at every commit: CPU (all threads) per epoch, next to plain
 * SQLite replacing one row per key in place (the least any store can do;
 * libflow keeps two rows per key and deletes the older one).
 *
 * Resume: keys restored per second when a dataflow with 1,000,000 keys of
 * stateful_map state resumes (the second run reads no input: its time is
 * opening the partitions, loading and deserialising every state and
 * rebuilding the state table).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <sqlite3.h>
#include <stdio.h>

#include "flow-store-private.h"

#include "bench-common.h"

static char **
make_keys (guint n)
{
  char **keys = g_new0 (char *, n + 1);

  for (guint i = 0; i < n; i++)
    keys[i] = g_strdup_printf ("user-%08u", i);
  return keys;
}

typedef struct
{
  gboolean done;
  guint64  epoch;
} CommitWait;

static void
committed (guint64 epoch, const GError *error, gpointer user_data)
{
  CommitWait *w = user_data;

  if (error != NULL)
    g_error ("commit failed: %s", error->message);
  w->epoch = epoch;
  w->done = TRUE;
}

/* libflow's store of one partition in @dir (a recovery directory), in an
 * execution whose commits end on @context. */
static FlowStore *
libflow_open (const char   *dir,
              GMainContext *context,
              CommitWait   *w)
{
  g_autoptr(GError) error = NULL;
  FlowStore *store = flow_store_open (dir, FLOW_STORE_OPEN_RUN, &error);

  if (store == NULL || !flow_store_begin_execution (store, "bench", 1, 0, g_get_real_time (), NULL, context, committed, w, &error))
    g_error ("%s", error->message);
  return store;
}

/* The rows of one epoch: @n keys of step bench.count, key i with the state
 * @base + i. */
static GArray *
libflow_rows (guint n, char **keys, gint64 base)
{
  GArray *rows = g_array_sized_new (FALSE, TRUE, sizeof (FlowSnapRow), n);

  g_array_set_clear_func (rows, (GDestroyNotify) flow_snap_row_clear);
  for (guint i = 0; i < n; i++)
    {
      FlowSnapRow row = { "bench.count", g_ref_string_new (keys[i]),
                          g_variant_ref_sink (g_variant_new_int64 (base + i)) };
      g_array_append_val (rows, row);
    }
  return rows;
}

/* Commits @rows as @epoch and waits until they are durable. */
static void
libflow_commit (FlowStore *store, GMainContext *context, CommitWait *w, guint64 epoch, GArray *rows)
{
  w->done = FALSE;
  flow_store_commit_async (store, epoch, g_get_real_time (), rows);
  while (!w->done)
    g_main_context_iteration (context, TRUE);
}

/* Plain SQLite in @dir with libflow's pragmas: the table of snapshots with
 * an epoch column (@with_epoch: libflow's) or one row per key; *@stmt
 * inserts or replaces a row. */
static sqlite3 *
plain_open (const char *dir, gboolean with_epoch, sqlite3_stmt **stmt)
{
  g_autofree char *path = g_build_filename (dir, "plain.sqlite3", NULL);
  sqlite3 *db;

  if (sqlite3_open (path, &db) != SQLITE_OK)
    g_error ("sqlite3_open: %s", sqlite3_errmsg (db));
  if (with_epoch)
    {
      sqlite3_exec (db,
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                    "CREATE TABLE snaps (step_id TEXT NOT NULL, state_key TEXT NOT NULL,"
                    " epoch INTEGER NOT NULL, ser BLOB, PRIMARY KEY (step_id, state_key, epoch)) WITHOUT ROWID;",
                    NULL, NULL, NULL);
      sqlite3_prepare_v2 (db, "INSERT OR REPLACE INTO snaps VALUES (?1, ?2, ?3, ?4)", -1, stmt, NULL);
    }
  else
    {
      sqlite3_exec (db,
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                    "CREATE TABLE snaps (step_id TEXT NOT NULL, state_key TEXT NOT NULL,"
                    " ser BLOB, PRIMARY KEY (step_id, state_key)) WITHOUT ROWID;",
                    NULL, NULL, NULL);
      sqlite3_prepare_v2 (db, "INSERT OR REPLACE INTO snaps VALUES (?1, ?2, ?3)", -1, stmt, NULL);
    }
  return db;
}

/* The states @base + i of @n keys, serialised as libflow does. */
static GBytes **
plain_blobs_new (guint n, gint64 base)
{
  GBytes **blobs = g_new (GBytes *, n);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GVariant) v = g_variant_ref_sink (g_variant_new_int64 (base + i));
      blobs[i] = flow_variant_serialize (v);
    }
  return blobs;
}

static void
plain_blobs_free (GBytes **blobs, guint n)
{
  for (guint i = 0; i < n; i++)
    g_bytes_unref (blobs[i]);
  g_free (blobs);
}

/* One transaction inserting @n rows (as @epoch if @epoch > 0, for the
 * table with an epoch column). */
static void
plain_insert (sqlite3 *db, sqlite3_stmt *stmt, guint n, char **keys, GBytes **blobs, gint64 epoch)
{
  sqlite3_exec (db, "BEGIN", NULL, NULL, NULL);
  for (guint i = 0; i < n; i++)
    {
      gsize size;
      gconstpointer data = g_bytes_get_data (blobs[i], &size);

      sqlite3_bind_text (stmt, 1, "bench.count", -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, keys[i], -1, SQLITE_STATIC);
      if (epoch > 0)
        sqlite3_bind_int64 (stmt, 3, epoch);
      sqlite3_bind_blob (stmt, epoch > 0 ? 4 : 3, data, size, SQLITE_STATIC);
      if (sqlite3_step (stmt) != SQLITE_DONE)
        g_error ("insert: %s", sqlite3_errmsg (db));
      sqlite3_reset (stmt);
    }
  if (sqlite3_exec (db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    g_error ("commit: %s", sqlite3_errmsg (db));
}

/* libflow: hand the rows of one epoch to the store and wait until durable. */
static double
commit_libflow (guint n, char **keys)
{
  g_autofree char *dir = bench_recovery_dir_new (1);
  g_autoptr(GMainContext) context = g_main_context_new ();
  CommitWait w = { FALSE, 0 };
  FlowStore *store = libflow_open (dir, context, &w);
  GArray *rows = libflow_rows (n, keys, 0);
  gint64 start;
  double seconds;

  start = g_get_monotonic_time ();
  libflow_commit (store, context, &w, 1, rows);
  seconds = bench_seconds_since (start);

  flow_store_free (store);
  bench_remove_dir (dir);
  return seconds;
}

/* Plain SQLite: the same rows, same table, same pragmas. */
static double
commit_plain (guint n, char **keys)
{
  g_autofree char *dir = bench_tmp_dir_new ();
  GBytes **blobs = plain_blobs_new (n, 0);
  sqlite3_stmt *stmt;
  sqlite3 *db = plain_open (dir, TRUE, &stmt);
  gint64 start;
  double seconds;

  start = g_get_monotonic_time ();
  plain_insert (db, stmt, n, keys, blobs, 1);
  seconds = bench_seconds_since (start);

  sqlite3_finalize (stmt);
  sqlite3_close (db);
  plain_blobs_free (blobs, n);
  bench_remove_dir (dir);
  return seconds;
}

/* ---- steady epochs ---- */

/* What a dataflow with recovery every 50 ms asks of the store: many small
 * epochs in a row, each changing the same @n keys, garbage collected at
 * every commit (backup interval 0). Returns the CPU seconds (all threads:
 * the writer's serialisation, inserts and garbage collection; the caller
 * only waits) per epoch, and the wall seconds per epoch in @wall. */
static double
steady_libflow (guint n, guint epochs, char **keys, double *wall)
{
  g_autofree char *dir = bench_recovery_dir_new (1);
  g_autoptr(GMainContext) context = g_main_context_new ();
  CommitWait w = { FALSE, 0 };
  FlowStore *store = libflow_open (dir, context, &w);
  double cpu = 0;
  gint64 elapsed = 0;

  for (guint e = 1; e <= epochs; e++)
    {
      GArray *rows = libflow_rows (n, keys, (gint64) e * n);
      double cpu0 = bench_cpu_seconds ();
      gint64 start = g_get_monotonic_time ();

      libflow_commit (store, context, &w, e, rows);
      elapsed += g_get_monotonic_time () - start;
      cpu += bench_cpu_seconds () - cpu0;
    }

  flow_store_free (store);
  bench_remove_dir (dir);
  *wall = elapsed / 1e6 / epochs;
  return cpu / epochs;
}

/* The least SQLite can do for the same epochs: one row per key, replaced
 * in place, the blobs serialised beforehand, same pragmas. */
static double
steady_plain (guint n, guint epochs, char **keys, double *wall)
{
  g_autofree char *dir = bench_tmp_dir_new ();
  sqlite3_stmt *stmt;
  sqlite3 *db = plain_open (dir, FALSE, &stmt);
  double cpu = 0;
  gint64 elapsed = 0;

  for (guint e = 1; e <= epochs; e++)
    {
      GBytes **blobs = plain_blobs_new (n, (gint64) e * n);
      double cpu0 = bench_cpu_seconds ();
      gint64 start = g_get_monotonic_time ();

      plain_insert (db, stmt, n, keys, blobs, 0);
      elapsed += g_get_monotonic_time () - start;
      cpu += bench_cpu_seconds () - cpu0;
      plain_blobs_free (blobs, n);
    }

  sqlite3_finalize (stmt);
  sqlite3_close (db);
  bench_remove_dir (dir);
  *wall = elapsed / 1e6 / epochs;
  return cpu / epochs;
}

/* ---- resume ---- */

/* A source that only notes when it is first polled: everything before that
 * in a run is opening the partitions and restoring state. */
#define PROBE_TYPE_SOURCE (probe_source_get_type ())
G_DECLARE_FINAL_TYPE (ProbeSource, probe_source, PROBE, SOURCE, FlowSource)
struct _ProbeSource { FlowSource parent; gint64 first_poll; };
G_DEFINE_FINAL_TYPE (ProbeSource, probe_source, FLOW_TYPE_SOURCE)

#define PROBE_TYPE_PART (probe_part_get_type ())
G_DECLARE_FINAL_TYPE (ProbePart, probe_part, PROBE, PART, FlowSourcePartition)
struct _ProbePart { FlowSourcePartition parent; ProbeSource *source; };
G_DEFINE_FINAL_TYPE (ProbePart, probe_part, FLOW_TYPE_SOURCE_PARTITION)

static GVariant *
probe_part_next_batch (FlowSourcePartition *part, GError **error)
{
  ProbeSource *source = PROBE_PART (part)->source;

  if (source->first_poll == 0)
    source->first_poll = g_get_monotonic_time ();
  return NULL;
}

static void probe_part_class_init (ProbePartClass *k)
{
  FLOW_SOURCE_PARTITION_CLASS (k)->next_batch = probe_part_next_batch;
}
static void probe_part_init (ProbePart *self) {}

static FlowSourcePartition *
probe_source_build_part (FlowSource *source, const char *step_id, const char *key,
                         GVariant *resume, GError **error)
{
  ProbePart *part = g_object_new (PROBE_TYPE_PART, NULL);

  part->source = PROBE_SOURCE (source);
  return FLOW_SOURCE_PARTITION (part);
}

static void probe_source_class_init (ProbeSourceClass *k)
{
  FLOW_SOURCE_CLASS (k)->build_part = probe_source_build_part;
}
static void probe_source_init (ProbeSource *self) {}

static char *
key_is_item (GVariant *item, gpointer user_data, GError **error)
{
  return g_strdup_printf ("user-%08" G_GINT64_FORMAT, g_variant_get_int64 (item));
}

static GVariant *
count (GVariant *state, GVariant *value, GVariant **emit, gpointer user_data, GError **error)
{
  return g_variant_new_int64 ((state ? g_variant_get_int64 (state) : 0) + 1);
}

static double
run_counting_flow (const char *dir, gint64 n_keys, double *restore_seconds)
{
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("bench");
  g_autoptr(FlowSource) source = NULL;
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowRunner) runner = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gint64 *values = g_new (gint64, MAX (n_keys, 1));
  FlowStream *s;
  gint64 start;

  for (gint64 i = 0; i < n_keys; i++)
    values[i] = i;
  if (n_keys > 0)
    {
      source = FLOW_SOURCE (flow_testing_source_new (g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, values,
                                                                                n_keys, sizeof (gint64))));
      flow_testing_source_set_batch_size (FLOW_TESTING_SOURCE (source), 4096);
    }
  else
    source = g_object_new (PROBE_TYPE_SOURCE, NULL);

  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_key_on (s, "key", key_is_item, NULL, NULL);
  s = flow_stream_stateful_map (s, "count", NULL, NULL, NULL, count, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));

  runner = flow_runner_new (flow);
  flow_runner_set_recovery_directory (runner, dir);
  flow_runner_set_snapshot_interval (runner, 3600);

  start = g_get_monotonic_time ();
  if (!flow_runner_run (runner, NULL, &error))
    g_error ("run failed: %s", error->message);
  if (restore_seconds)
    *restore_seconds = (PROBE_SOURCE (source)->first_poll - start) / 1e6;
  return bench_seconds_since (start);
}

int
main (int argc, char **argv)
{
  guint sizes[] = { 100000, 1000000 };
  guint steady_sizes[] = { 1000, 10000 };
  gint64 resume_keys = 1000000;
  char **keys;
  g_autofree char *dir = NULL;
  double fill, resume, whole;

  keys = make_keys (sizes[G_N_ELEMENTS (sizes) - 1]);
  if (argc > 1 && g_str_equal (argv[1], "--resume-only"))
    sizes[0] = sizes[1] = steady_sizes[0] = steady_sizes[1] = 0;
  if (argc > 1 && g_str_equal (argv[1], "--steady-only"))
    sizes[0] = sizes[1] = resume_keys = 0;

  g_print ("Snapshot commit (one epoch, int64 states, 1 partition, synchronous=FULL):\n");
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      double plain = G_MAXDOUBLE, flow = G_MAXDOUBLE;

      if (sizes[i] == 0)
        continue;
      for (int r = 0; r < 3; r++)
        {
          bench_keep_best (&plain, commit_plain (sizes[i], keys));
          bench_keep_best (&flow, commit_libflow (sizes[i], keys));
        }
      g_print ("  %8u keys: libflow %10.0f keys/s (%.3f s), plain SQLite insert %10.0f keys/s (%.3f s), ratio %.2f\n",
               sizes[i], sizes[i] / flow, flow, sizes[i] / plain, plain, plain / flow);
    }

  g_print ("Steady epochs (the same keys changed in every epoch, garbage collected at every\n"
           "commit; CPU of all threads per epoch, against SQLite replacing one row per key):\n");
  for (guint i = 0; i < G_N_ELEMENTS (steady_sizes); i++)
    {
      double plain = G_MAXDOUBLE, flow = G_MAXDOUBLE, plain_wall = G_MAXDOUBLE, flow_wall = G_MAXDOUBLE;

      if (steady_sizes[i] == 0)
        continue;
      for (int r = 0; r < 3; r++)
        {
          double wall;

          bench_keep_best (&plain, steady_plain (steady_sizes[i], 200, keys, &wall));
          bench_keep_best (&plain_wall, wall);
          bench_keep_best (&flow, steady_libflow (steady_sizes[i], 200, keys, &wall));
          bench_keep_best (&flow_wall, wall);
        }
      g_print ("  %6u keys x 200 epochs: libflow %7.3f ms CPU (%.2f us/key), %7.3f ms wall per epoch;"
               " plain SQLite %7.3f ms CPU, %7.3f ms wall; CPU ratio %.2f\n",
               steady_sizes[i], flow * 1e3, flow * 1e6 / steady_sizes[i], flow_wall * 1e3,
               plain * 1e3, plain_wall * 1e3, plain / flow);
    }

  if (resume_keys == 0)
    {
      g_strfreev (keys);
      return 0;
    }
  dir = bench_recovery_dir_new (1);
  fill = run_counting_flow (dir, resume_keys, NULL);
  whole = run_counting_flow (dir, 0, &resume);
  g_print ("Resume: %" G_GINT64_FORMAT " keys of stateful_map state restored in %.3f s: %.0f keys/s\n"
           "        (from run() to the first poll of the input; the whole resumed run, including its\n"
           "        final commit and freeing the state, took %.3f s; the first run building and\n"
           "        committing the keys took %.3f s)\n",
           resume_keys, resume, resume_keys / resume, whole, fill);
  bench_remove_dir (dir);

  g_strfreev (keys);
  return 0;
}
