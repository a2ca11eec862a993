/* flow-store.c: the SQLite recovery partitions of a directory
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The format is documented in docs/recovery-format.md. In short, every
 * partition file holds:
 *
 *   meta        (name TEXT PRIMARY KEY, value)   format, partition_index,
 *                                                partition_count, flow_id,
 *                                                gc_epoch, created_at
 *   executions  (ex_num, worker_count, resume_epoch, started_at)
 *   fronts      (ex_num, worker_index, epoch, committed_at)
 *   epochs      (epoch, committed_at)
 *   snaps       (step_id, state_key, epoch, ser)  ser: a serialised `v`,
 *                                                 NULL for a tombstone
 *
 * A row of snaps lives in the partition its (step_id, state_key) hashes
 * to. A partition's frontier (the newest epoch in fronts) says up to which
 * epoch all its rows are there: every epoch is written to a partition in
 * one transaction, with its front. A new execution resumes from the
 * smallest frontier over all partitions.
 *
 * Format 2 has no index besides the primary keys (format 1 had snaps_epoch,
 * still read and written as it is). The writer thread garbage collects
 * from the (step, key) of the rows it wrote, remembered per epoch; rows of
 * earlier executions, or too many to remember, by a pass over the table.
 */

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "flow-store-private.h"
#include "flow-tsan-private.h"

typedef struct
{
  FlowStorePartitionInfo  info;
  sqlite3                *db;
  sqlite3_stmt           *insert_snap;
  sqlite3_stmt           *insert_front;
  sqlite3_stmt           *insert_epoch;
  sqlite3_stmt           *select_horizon;
  sqlite3_stmt           *delete_key;
  sqlite3_stmt           *delete_keys;   /* GC_BATCH keys of a step */

  /* Garbage collection, on the writer thread only. Every row this
   * execution wrote after epoch recorded_from is remembered in records
   * (GcEpoch*, oldest first): once the horizon passes an epoch, the rows
   * its keys superseded are deleted key by key, a range of the primary
   * key (no index on epochs to keep up: format 2). Before that, or when
   * there were too many to remember, a full scan of the table does it,
   * at most once per as many rows written as the table had after the
   * previous one. */
  GQueue                  records;
  gsize                   n_recorded;
  guint64                 recorded_from;
  gint64                  rows_since_scan;
  gint64                  rows_at_scan;
} Partition;

/* A row written in a recorded epoch: enough to delete what it supersedes. */
typedef struct
{
  const char *step_id;     /* interned */
  char       *key;         /* GRefString */
  gboolean    tombstone;
} GcKey;

typedef struct
{
  guint64  epoch;
  GArray  *keys;           /* GcKey */
} GcEpoch;

gsize flow_store_gc_record_limit = 1 << 20;

/* Keys deleted by one statement of the garbage collection. */
#define GC_BATCH 32

typedef struct
{
  guint64  epoch;
  gint64   now;    /* the run's wall-clock time at the epoch close */
  GArray  *rows;   /* FlowSnapRow */
  GPtrArray *syncs; /* FlowSinkPartition to sync() first, or NULL */
} Job;

struct _FlowStore
{
  char                *directory;
  int                  lock_fd;   /* the directory, flock()ed by a run */
  GPtrArray           *parts;   /* Partition* */
  char                *flow_id;
  guint64              resume_epoch;

  /* execution */
  guint64              ex_num;
  gint64               backup_usec;
  GMainContext        *context;
  FlowStoreCommitFunc  commit_func;
  gpointer             commit_data;

  /* writer thread */
  GThread             *thread;
  GAsyncQueue         *jobs;
  GMutex               lock;
  GCond                cond;
  gboolean             busy;
  GSList              *pending;  /* Done* of commits not yet notified, newest first */
};

static const Job stop_job;

void (*flow_store_test_opened_hook) (const char *directory) = NULL;
void (*flow_store_test_init_hook) (guint step) = NULL;
int flow_store_busy_timeout_ms = 10000;

static void drop_notifications (FlowStore *store,
                                gboolean   notify);
static void store_wait         (FlowStore *store);

/* ------------------------------------------------------------------------
 * SQLite helpers
 * ------------------------------------------------------------------------ */

/* What went wrong, in words a user can act on: the code says the kind
 * (disk full, locked, corrupt, I/O error), SQLite's message the detail. */
static const char *
sql_problem (int code)
{
  switch (code & 0xff)
    {
    case SQLITE_FULL:
      return "the disk is full";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PROTOCOL:   /* WAL locks that kept failing */
      return "the file is locked by another process";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return "the file is corrupt (see 'flow-recovery check')";
    case SQLITE_IOERR:
      return "I/O error";
    case SQLITE_READONLY:
      return "the file cannot be written";
    case SQLITE_CANTOPEN:
      return "the file cannot be opened";
    case SQLITE_NOMEM:
      return "out of memory";
    case SQLITE_ERROR:
      return "the file is not laid out as a libflow partition (see 'flow-recovery check')";
    default:
      return "SQLite error";
    }
}

static gboolean
sql_error (Partition   *p,
           int          code,
           const char  *what,
           GError     **error)
{
  int flow_code = FLOW_ERROR_FAILED;
  const char *detail = p->db ? sqlite3_errmsg (p->db) : sqlite3_errstr (code);

  switch (code & 0xff)
    {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_ERROR:   /* our own statements: a table or index is missing */
      flow_code = FLOW_ERROR_CORRUPT_PARTITION;
      break;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PROTOCOL:
      flow_code = FLOW_ERROR_IO;
      break;
    default:
      break;
    }

  g_set_error (error, FLOW_ERROR, flow_code,
               "recovery partition %s: %s failed: %s (%.200s)",
               p->info.path, what, sql_problem (code), detail);
  return FALSE;
}

/* What a statement does, for messages (which never hold SQL). */
static const char *
sql_describe (const char *sql)
{
  while (g_ascii_isspace (*sql))
    sql++;
  if (g_ascii_strncasecmp (sql, "BEGIN", 5) == 0)
    return "starting a transaction";
  if (g_ascii_strncasecmp (sql, "COMMIT", 6) == 0)
    return "committing";
  if (g_ascii_strncasecmp (sql, "SELECT", 6) == 0)
    return "reading";
  if (g_ascii_strncasecmp (sql, "PRAGMA", 6) == 0 || g_ascii_strncasecmp (sql, "CREATE", 6) == 0)
    return "setting up";
  return "writing";
}

static gboolean
sql_exec (Partition   *p,
          const char  *sql,
          GError     **error)
{
  int rc = sqlite3_exec (p->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    return sql_error (p, rc, sql_describe (sql), error);
  return TRUE;
}

static sqlite3_stmt *
sql_prepare (Partition   *p,
             const char  *sql,
             GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (p->db, sql, -1, &stmt, NULL);

  if (rc != SQLITE_OK)
    {
      sql_error (p, rc, sql_describe (sql), error);
      return NULL;
    }
  return stmt;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

static void
gc_key_clear (gpointer data)
{
  GcKey *k = data;

  g_clear_pointer (&k->key, g_ref_string_release);
}

static GcEpoch *
gc_epoch_new (guint64 epoch,
              guint   reserve)
{
  GcEpoch *ge = g_new0 (GcEpoch, 1);

  ge->epoch = epoch;
  ge->keys = g_array_sized_new (FALSE, FALSE, sizeof (GcKey), reserve);
  g_array_set_clear_func (ge->keys, gc_key_clear);
  return ge;
}

static void
gc_epoch_free (gpointer data)
{
  GcEpoch *ge = data;

  g_array_unref (ge->keys);
  g_free (ge);
}

static void
partition_free (Partition *p)
{
  g_queue_clear_full (&p->records, gc_epoch_free);
  g_clear_pointer (&p->delete_key, sqlite3_finalize);
  g_clear_pointer (&p->delete_keys, sqlite3_finalize);
  g_clear_pointer (&p->insert_snap, sqlite3_finalize);
  g_clear_pointer (&p->insert_front, sqlite3_finalize);
  g_clear_pointer (&p->insert_epoch, sqlite3_finalize);
  g_clear_pointer (&p->select_horizon, sqlite3_finalize);
  if (p->db != NULL)
    sqlite3_close (p->db);
  g_free (p->info.path);
  g_free (p->info.flow_id);
  g_free (p->info.directory_id);
  g_free (p);
}

guint
flow_store_partition_for (guint       n_partitions,
                          const char *step_id,
                          const char *key)
{
  guint64 h = flow_hash_string (FLOW_HASH_SEED, step_id);

  h = flow_hash_string (h, key);
  return (guint) (h % n_partitions);
}

/* ------------------------------------------------------------------------
 * Creating
 * ------------------------------------------------------------------------ */

static gboolean
check_directory (const char  *directory,
                 const char  *hint,
                 GError     **error)
{
  GStatBuf st;

  if (g_stat (directory, &st) != 0)
    {
      int saved = errno;
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_NO_PARTITIONS,
                   "recovery directory %s %s%s", directory,
                   saved == ENOENT ? "does not exist" : g_strerror (saved),
                   saved == ENOENT ? hint : "");
      return FALSE;
    }
  if (!S_ISDIR (st.st_mode))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_NO_PARTITIONS,
                   "recovery directory %s is not a directory", directory);
      return FALSE;
    }
  return TRUE;
}

static const char *schema =
  "PRAGMA journal_mode = WAL;"
  "BEGIN;"
  "CREATE TABLE meta (name TEXT PRIMARY KEY NOT NULL, value) WITHOUT ROWID;"
  "CREATE TABLE executions (ex_num INTEGER PRIMARY KEY NOT NULL,"
  "                         worker_count INTEGER NOT NULL,"
  "                         resume_epoch INTEGER NOT NULL,"
  "                         started_at INTEGER NOT NULL);"
  "CREATE TABLE fronts (ex_num INTEGER NOT NULL,"
  "                     worker_index INTEGER NOT NULL,"
  "                     epoch INTEGER NOT NULL,"
  "                     committed_at INTEGER NOT NULL,"
  "                     PRIMARY KEY (ex_num, worker_index)) WITHOUT ROWID;"
  "CREATE TABLE epochs (epoch INTEGER PRIMARY KEY NOT NULL,"
  "                     committed_at INTEGER NOT NULL);"
  "CREATE TABLE snaps (step_id TEXT NOT NULL,"
  "                    state_key TEXT NOT NULL,"
  "                    epoch INTEGER NOT NULL,"
  "                    ser BLOB,"
  "                    PRIMARY KEY (step_id, state_key, epoch)) WITHOUT ROWID;";

char *
flow_store_partition_path (const char *directory,
                           guint       index)
{
  g_autofree char *name = g_strdup_printf ("part-%u.sqlite3", index);

  return g_build_filename (directory, name, NULL);
}

/* An init in progress: written first, removed last. While it is there,
 * the partitions are not to be used, and init may remove them. */
#define INIT_MARKER ".flow-init"

static char *
init_temp_path (const char *directory,
                guint       index)
{
  g_autofree char *name = g_strdup_printf (".part-%u.sqlite3.init", index);

  return g_build_filename (directory, name, NULL);
}

static gboolean
is_init_leftover (const char *name)
{
  return (g_str_has_prefix (name, ".part-") && strstr (name, ".sqlite3.init") != NULL) ||
         g_str_has_prefix (name, INIT_MARKER);
}

static gboolean
io_error (const char  *what,
          const char  *path,
          int          saved_errno,
          GError     **error)
{
  g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO, "%s %s failed: %s",
               what, path, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
fsync_path (const char  *path,
            gboolean     is_dir,
            GError     **error)
{
  int fd = open (path, (is_dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
  int saved;

  if (fd < 0)
    return io_error ("opening", path, errno, error);
  if (fsync (fd) != 0)
    {
      saved = errno;
      close (fd);
      return io_error ("syncing", path, saved, error);
    }
  close (fd);
  return TRUE;
}

static void
unlink_db (const char *path)
{
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (path, "-shm", NULL);
  g_autofree char *journal = g_strconcat (path, "-journal", NULL);

  g_unlink (path);
  g_unlink (wal);
  g_unlink (shm);
  g_unlink (journal);
}

/* Creates partition @index at @path, a new file readable by its owner
 * only: its states may be Python pickles, which a run unpickles. */
static gboolean
create_partition (const char  *path,
                  guint        index,
                  guint        count,
                  const char  *directory_id,
                  GError     **error)
{
  Partition p = { { (char *) path, index, count, 0, NULL, 0, 0, NULL }, NULL, NULL, NULL, NULL };
  g_autofree char *meta = NULL;
  int rc;
  int fd;
  gboolean ok;

  /* SQLite would create it with the umask's mode: make it first. Its
   * -wal and -shm files take its mode. */
  fd = open (path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    return io_error ("creating", path, errno, error);
  close (fd);

  rc = sqlite3_open_v2 (path, &p.db, SQLITE_OPEN_READWRITE, NULL);
  if (rc != SQLITE_OK)
    {
      ok = sql_error (&p, rc, "creating the file", error);
      goto out;
    }

  meta = g_strdup_printf ("INSERT INTO meta (name, value) VALUES"
                          " ('application', 'libflow'),"
                          " ('format', %d),"
                          " ('partition_index', %u),"
                          " ('partition_count', %u),"
                          " ('directory_id', '%s'),"
                          " ('flow_id', NULL),"
                          " ('gc_epoch', 0),"
                          " ('created_at', %" G_GINT64_FORMAT ");"
                          "COMMIT;",
                          FLOW_STORE_FORMAT_VERSION, index, count, directory_id, g_get_real_time ());
  ok = sql_exec (&p, schema, error) && sql_exec (&p, meta, error);

out:
  if (p.db != NULL && sqlite3_close (p.db) != SQLITE_OK && ok)
    ok = sql_error (&p, SQLITE_IOERR, "closing the file", error);
  /* Closed, its WAL was checkpointed into it and removed: sync it. */
  return ok && fsync_path (path, FALSE, error);
}

/* A partition made by the unfinished init @init_id that no run used:
 * init may remove it. */
static gboolean
is_unused_partition_of (const char *path,
                        const char *init_id)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gboolean ok = FALSE;

  /* Read-write (never created): a read-only connection would leave -wal
   * and -shm files next to a partition it then refuses to remove. */
  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2 (db,
                          "SELECT (SELECT value FROM meta WHERE name = 'directory_id'),"
                          " (SELECT value FROM meta WHERE name = 'flow_id'),"
                          " (SELECT COUNT(*) FROM executions)",
                          -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    ok = g_strcmp0 ((const char *) sqlite3_column_text (stmt, 0), init_id) == 0 &&
         sqlite3_column_type (stmt, 1) == SQLITE_NULL &&
         sqlite3_column_int64 (stmt, 2) == 0;
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return ok;
}

/* Removes what an interrupted init left in @directory: its temporary
 * files, and the partitions it already renamed if no run used them. */
static gboolean
clean_interrupted_init (const char  *directory,
                        GError     **error)
{
  g_autofree char *marker = g_build_filename (directory, INIT_MARKER, NULL);
  g_autofree char *init_id = NULL;
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) remove = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) leftovers = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (!g_file_get_contents (marker, &init_id, NULL, NULL))
    init_id = NULL;   /* killed before the marker was there: no partition is its */
  else
    g_strstrip (init_id);

  dir = g_dir_open (directory, 0, NULL);
  if (dir == NULL)
    return TRUE;  /* the caller reports it */
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      guint index;
      g_autofree char *path = g_build_filename (directory, name, NULL);

      if (is_init_leftover (name))
        g_ptr_array_add (leftovers, g_steal_pointer (&path));
      else if (init_id != NULL && g_str_has_prefix (name, "part-") &&
               g_str_has_suffix (name, ".sqlite3") && sscanf (name, "part-%u.sqlite3", &index) == 1)
        {
          if (!is_unused_partition_of (path, init_id))
            {
              g_set_error (error, FLOW_ERROR, FLOW_ERROR_PARTITIONS_EXIST,
                           "recovery directory %s holds an interrupted init (%s) and a "
                           "partition %s that is not one it made, or that a run used; "
                           "refusing to remove anything: move the partitions you want "
                           "to keep elsewhere, then remove %s",
                           directory, marker, path, marker);
              return FALSE;
            }
          g_ptr_array_add (remove, g_steal_pointer (&path));
        }
    }

  for (guint i = 0; i < remove->len; i++)
    unlink_db (g_ptr_array_index (remove, i));
  /* The marker last: until then, a new try cleans up again. */
  for (guint i = 0; i < leftovers->len; i++)
    if (!g_str_equal (g_ptr_array_index (leftovers, i), marker))
      g_unlink (g_ptr_array_index (leftovers, i));
  if (g_unlink (marker) != 0 && errno != ENOENT)
    return io_error ("removing", marker, errno, error);
  return fsync_path (directory, TRUE, error);
}

/**
 * flow_recovery_init_dir:
 * @directory: (type filename): an existing directory
 * @n_partitions: the number of partitions, at least 1
 * @error: return location for a #GError
 *
 * Creates the recovery partitions `part-0.sqlite3` … `part-{N-1}.sqlite3`
 * in @directory, as `flow-recovery init DIR N` and Python's
 * `python3 -m flow.recovery DIR N` do. The number of partitions is fixed
 * from then on (at most 65535); state keys are spread over them by a
 * stable hash. The files are readable and writable by their owner only.
 *
 * Nothing is created (and nothing is touched) if @directory does not exist
 * or already holds partitions. The partitions are made under temporary
 * names, synced to disk, then renamed: an init that was killed or failed
 * leaves a directory that runs refuse (saying to run init again) and that
 * the next init cleans up.
 *
 * Returns: %TRUE, or %FALSE with @error set
 */
gboolean
flow_recovery_init_dir (const char  *directory,
                        guint        n_partitions,
                        GError     **error)
{
  g_autoptr(GDir) dir = NULL;
  g_autofree char *directory_id = g_uuid_string_random ();
  g_autofree char *marker = NULL;
  gboolean interrupted = FALSE;
  GError *local = NULL;
  const char *name;
  guint step = 0;

  g_return_val_if_fail (directory != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (n_partitions == 0 || n_partitions > FLOW_STORE_MAX_PARTITIONS)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "the number of recovery partitions must be at least 1 and at most %u, "
                   "not %u", FLOW_STORE_MAX_PARTITIONS, n_partitions);
      return FALSE;
    }

  if (!check_directory (directory, "; create it first", error))
    return FALSE;
  dir = g_dir_open (directory, 0, &local);
  if (dir == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_NO_PARTITIONS,
                   "recovery directory %s cannot be read: %s", directory, local->message);
      g_error_free (local);
      return FALSE;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    if (is_init_leftover (name))
      interrupted = TRUE;
  if (interrupted && !clean_interrupted_init (directory, error))
    return FALSE;

  g_dir_rewind (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, "part-") && g_str_has_suffix (name, ".sqlite3"))
      {
        g_set_error (error, FLOW_ERROR, FLOW_ERROR_PARTITIONS_EXIST,
                     "recovery directory %s already holds partitions (%s); "
                     "refusing to overwrite them",
                     directory, name);
        return FALSE;
      }

#define STEP() G_STMT_START { if (flow_store_test_init_hook != NULL) flow_store_test_init_hook (step); step++; } G_STMT_END

  marker = g_build_filename (directory, INIT_MARKER, NULL);
  if (!g_file_set_contents_full (marker, directory_id, -1, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0600, &local))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO, "recovery directory %s: %s",
                   directory, local->message);
      g_error_free (local);
      return FALSE;
    }
  STEP ();

  for (guint i = 0; i < n_partitions; i++)
    {
      g_autofree char *temp = init_temp_path (directory, i);

      if (!create_partition (temp, i, n_partitions, directory_id, error))
        goto failed;
      STEP ();
    }
  for (guint i = 0; i < n_partitions; i++)
    {
      g_autofree char *temp = init_temp_path (directory, i);
      g_autofree char *path = flow_store_partition_path (directory, i);

      if (g_rename (temp, path) != 0)
        {
          io_error ("renaming", temp, errno, error);
          goto failed;
        }
      STEP ();
    }
  if (!fsync_path (directory, TRUE, error))
    goto failed;
  STEP ();

  /* Done: without the marker, the partitions are the directory's. */
  if (g_unlink (marker) != 0)
    {
      io_error ("removing", marker, errno, error);
      goto failed;
    }
  return fsync_path (directory, TRUE, error);

#undef STEP

failed:
  /* Remove only what this call created. */
  for (guint i = 0; i < n_partitions; i++)
    {
      g_autofree char *temp = init_temp_path (directory, i);
      g_autofree char *path = flow_store_partition_path (directory, i);

      unlink_db (temp);
      if (is_unused_partition_of (path, directory_id))
        unlink_db (path);
    }
  g_unlink (marker);
  return FALSE;
}

/* ------------------------------------------------------------------------
 * Opening
 * ------------------------------------------------------------------------ */

static gboolean
meta_corrupt (Partition   *p,
              const char  *name,
              const char  *problem,
              GError     **error)
{
  g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
               "recovery partition %s is corrupt: its %s %s; restore it from a backup "
               "or start over with a new recovery directory",
               p->info.path, name, problem);
  return FALSE;
}

/* An integer of the metadata, in [0, @max]. */
static gboolean
meta_uint (Partition     *p,
           sqlite3_stmt  *stmt,
           const char    *name,
           guint64        max,
           guint64       *value,
           GError       **error)
{
  gint64 v;

  if (sqlite3_column_type (stmt, 1) != SQLITE_INTEGER)
    return meta_corrupt (p, name, "is not an integer", error);
  v = sqlite3_column_int64 (stmt, 1);
  if (v < 0 || (guint64) v > max)
    {
      g_autofree char *problem = g_strdup_printf ("is out of range (%" G_GINT64_FORMAT ")", v);
      return meta_corrupt (p, name, problem, error);
    }
  *value = (guint64) v;
  return TRUE;
}

/* Every table (and in format 1, the index) of the format is there. */
static gboolean
check_schema (Partition  *p,
              GError    **error)
{
  static const char * const names[] = { "meta", "executions", "fronts", "epochs", "snaps",
                                        "snaps_epoch" };
  /* Format 2 has no index: a format-1 partition's snaps_epoch is
   * maintained by SQLite, nothing reads it. */
  guint n_names = p->info.format_version == 1 ? 6 : 5;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  guint found = 0;
  int rc;

  rc = sqlite3_prepare_v2 (p->db, "SELECT name FROM sqlite_schema WHERE type IN ('table', 'index')",
                           -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    return sql_error (p, rc, "reading its schema", error);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *name = (const char *) sqlite3_column_text (stmt, 0);

      for (guint i = 0; name != NULL && i < G_N_ELEMENTS (names); i++)
        if (g_str_equal (name, names[i]))
          found |= 1u << i;
    }
  if (rc != SQLITE_DONE)
    return sql_error (p, rc, "reading its schema", error);
  for (guint i = 0; i < n_names; i++)
    if (!(found & (1u << i)))
      {
        g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                     "recovery partition %s is corrupt: its %s %s is missing; restore it "
                     "from a backup or start over with a new recovery directory",
                     p->info.path, i < 5 ? "table" : "index", names[i]);
        return FALSE;
      }
  return TRUE;
}

static gboolean
read_meta (Partition  *p,
           GError    **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gboolean has_format = FALSE, has_index = FALSE, has_count = FALSE, is_libflow = FALSE;
  int rc;

  rc = sqlite3_prepare_v2 (p->db, "SELECT name, value FROM meta", -1, &stmt, NULL);
  if (rc == SQLITE_ERROR)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                   "recovery partition %s is not a libflow recovery partition (%s)",
                   p->info.path, sqlite3_errmsg (p->db));
      return FALSE;
    }
  if (rc != SQLITE_OK)
    return sql_error (p, rc, "reading its metadata", error);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *name = (const char *) sqlite3_column_text (stmt, 0);
      guint64 value = 0;

      if (name == NULL)
        continue;
      if (g_str_equal (name, "application"))
        is_libflow = g_strcmp0 ((const char *) sqlite3_column_text (stmt, 1), "libflow") == 0;
      else if (g_str_equal (name, "format"))
        {
          if (!meta_uint (p, stmt, name, G_MAXINT, &value, error))
            return FALSE;
          p->info.format_version = (guint) value;
          has_format = TRUE;
        }
      else if (g_str_equal (name, "partition_index"))
        {
          if (!meta_uint (p, stmt, name, FLOW_STORE_MAX_PARTITIONS - 1, &value, error))
            return FALSE;
          p->info.index = (guint) value;
          has_index = TRUE;
        }
      else if (g_str_equal (name, "partition_count"))
        {
          if (!meta_uint (p, stmt, name, FLOW_STORE_MAX_PARTITIONS, &value, error))
            return FALSE;
          p->info.count = (guint) value;
          has_count = TRUE;
        }
      else if (g_str_equal (name, "flow_id"))
        {
          const char *text = (const char *) sqlite3_column_text (stmt, 1);

          if (text != NULL && !g_utf8_validate (text, -1, NULL))
            return meta_corrupt (p, name, "is not UTF-8 text", error);
          g_free (p->info.flow_id);
          p->info.flow_id = g_strdup (text);
        }
      else if (g_str_equal (name, "gc_epoch"))
        {
          if (!meta_uint (p, stmt, name, G_MAXINT64, &value, error))
            return FALSE;
          p->info.gc_epoch = value;
        }
      else if (g_str_equal (name, "directory_id"))
        {
          const char *text = (const char *) sqlite3_column_text (stmt, 1);

          if (sqlite3_column_type (stmt, 1) != SQLITE_TEXT || text == NULL || text[0] == '\0' ||
              strlen (text) > 64 || !g_utf8_validate (text, -1, NULL))
            return meta_corrupt (p, name, "is not an identifier", error);
          g_free (p->info.directory_id);
          p->info.directory_id = g_strdup (text);
        }
    }
  if (rc != SQLITE_DONE)
    return sql_error (p, rc, "reading its metadata", error);

  if (!is_libflow || !has_format || !has_index || !has_count || p->info.directory_id == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                   "recovery partition %s is not a libflow recovery partition "
                   "(its metadata is incomplete)", p->info.path);
      return FALSE;
    }
  if (p->info.format_version < FLOW_STORE_FORMAT_VERSION_OLDEST ||
      p->info.format_version > FLOW_STORE_FORMAT_VERSION)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_UNSUPPORTED_FORMAT,
                   "recovery partition %s has format version %u; this libflow (%s) "
                   "reads versions %d to %d only",
                   p->info.path, p->info.format_version, FLOW_VERSION_S,
                   FLOW_STORE_FORMAT_VERSION_OLDEST, FLOW_STORE_FORMAT_VERSION);
      return FALSE;
    }
  if (!check_schema (p, error))
    return FALSE;
  if (p->info.count == 0)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                   "recovery partition %s says the directory has 0 partitions",
                   p->info.path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_frontier (Partition  *p,
               GError    **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  stmt = sql_prepare (p, "SELECT MAX(epoch) FROM fronts", error);
  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    return sql_error (p, rc, "reading its frontier", error);
  if (sqlite3_column_type (stmt, 0) != SQLITE_NULL &&
      (sqlite3_column_type (stmt, 0) != SQLITE_INTEGER || sqlite3_column_int64 (stmt, 0) < 0))
    return meta_corrupt (p, "newest committed epoch", "is out of range", error);
  p->info.frontier = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

static gboolean
parse_part_name (const char *name,
                 guint      *index)
{
  const char *digits;
  guint64 value;
  char *end;

  if (!g_str_has_prefix (name, "part-") || !g_str_has_suffix (name, ".sqlite3"))
    return FALSE;
  digits = name + strlen ("part-");
  if (!g_ascii_isdigit (*digits))
    return FALSE;
  value = g_ascii_strtoull (digits, &end, 10);
  if (!g_str_equal (end, ".sqlite3") || value > G_MAXUINT)
    return FALSE;
  *index = (guint) value;
  return TRUE;
}

static int
compare_parts (gconstpointer a,
               gconstpointer b)
{
  const Partition *pa = *(Partition * const *) a;
  const Partition *pb = *(Partition * const *) b;

  return pa->info.index < pb->info.index ? -1 : pa->info.index > pb->info.index;
}

/* Opens partition @p. A run needs to write it. A tool only reads, but
 * opens a writable file read-write all the same: a read-only connection
 * to a WAL database leaves its -wal and -shm files behind, where the
 * last read-write connection removes them. On a read-only file or file
 * system a tool opens it read-only, and if SQLite cannot make there the
 * shared-memory file it needs even to read a WAL database, immutable (no
 * one can write it there). */
static gboolean
open_partition (Partition           *p,
                FlowStoreOpenFlags   flags,
                GError             **error)
{
  g_autofree char *dir = g_path_get_dirname (p->info.path);
  int rc;

  if ((flags & FLOW_STORE_OPEN_RUN) ||
      (g_access (p->info.path, W_OK) == 0 && g_access (dir, W_OK) == 0))
    rc = sqlite3_open_v2 (p->info.path, &p->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  else
    rc = sqlite3_open_v2 (p->info.path, &p->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    return sql_error (p, rc, "opening", error);
  sqlite3_busy_timeout (p->db, flow_store_busy_timeout_ms);
  sqlite3_extended_result_codes (p->db, 0);

  if ((flags & FLOW_STORE_OPEN_RUN) && sqlite3_db_readonly (p->db, "main") == 1)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO,
                   "recovery partition %s cannot be written (a read-only file or file "
                   "system); a run writes its snapshots there", p->info.path);
      return FALSE;
    }

  if (!(flags & FLOW_STORE_OPEN_RUN))
    {
      /* A first read tells whether the WAL can be read here. */
      g_autoptr(sqlite3_stmt) probe = NULL;

      rc = sqlite3_prepare_v2 (p->db, "SELECT 1 FROM sqlite_schema LIMIT 1", -1, &probe, NULL);
      if (rc == SQLITE_OK)
        rc = sqlite3_step (probe);
      if (rc == SQLITE_CANTOPEN || rc == SQLITE_READONLY)
        {
          g_autofree char *wal = g_strconcat (p->info.path, "-wal", NULL);
          g_autofree char *uri = NULL;

          g_clear_pointer (&probe, sqlite3_finalize);
          sqlite3_close (p->db);
          p->db = NULL;
          if (g_file_test (wal, G_FILE_TEST_EXISTS))
            {
              g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO,
                           "recovery partition %s cannot be read here: its write-ahead "
                           "log %s holds changes that need a writable directory to be read",
                           p->info.path, wal);
              return FALSE;
            }
          uri = g_uri_join (G_URI_FLAGS_NONE, "file", NULL, NULL, -1, p->info.path,
                            "immutable=1", NULL);
          rc = sqlite3_open_v2 (uri, &p->db,
                                SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, NULL);
          if (rc != SQLITE_OK)
            return sql_error (p, rc, "opening", error);
          sqlite3_extended_result_codes (p->db, 0);
        }
    }
  return TRUE;
}

static FlowStore *
open_partitions (const char          *directory,
                 FlowStoreOpenFlags   flags,
                 GError             **error)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) parts = NULL;
  g_autoptr(GArray) indices = NULL;
  GError *local = NULL;
  const char *name;
  guint count;
  FlowStore *store;

  {
    g_autofree char *hint = g_strdup_printf ("; create it and its partitions with "
                                             "'flow-recovery init %s N'", directory);
    if (!check_directory (directory, hint, error))
      return NULL;
  }
  {
    g_autofree char *marker = g_build_filename (directory, INIT_MARKER, NULL);

    if (g_file_test (marker, G_FILE_TEST_EXISTS))
      {
        g_set_error (error, FLOW_ERROR, FLOW_ERROR_NO_PARTITIONS,
                     "recovery directory %s holds an unfinished 'flow-recovery init' (it was "
                     "interrupted); run 'flow-recovery init %s N' again",
                     directory, directory);
        return NULL;
      }
  }
  dir = g_dir_open (directory, 0, &local);
  if (dir == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_NO_PARTITIONS,
                   "recovery directory %s cannot be read: %s", directory, local->message);
      g_error_free (local);
      return NULL;
    }

  parts = g_ptr_array_new_with_free_func ((GDestroyNotify) partition_free);
  indices = g_array_new (FALSE, FALSE, sizeof (guint));
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      guint index;

      if (parse_part_name (name, &index))
        g_array_append_val (indices, index);
    }

  if (indices->len == 0)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_NO_PARTITIONS,
                   "recovery directory %s has no recovery partitions; create them with "
                   "'flow-recovery init %s N'",
                   directory, directory);
      return NULL;
    }

  for (guint i = 0; i < indices->len; i++)
    {
      Partition *p = g_new0 (Partition, 1);
      guint index = g_array_index (indices, guint, i);

      p->info.path = flow_store_partition_path (directory, index);
      g_ptr_array_add (parts, p);

      if (!open_partition (p, flags, error) || !read_meta (p, error))
        return NULL;
      if (p->info.index != index)
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_INCONSISTENT_PARTITIONS,
                       "recovery partition %s says it is partition %u, not %u: partition "
                       "files were renamed or mixed up",
                       p->info.path, p->info.index, index);
          return NULL;
        }
      if (!read_frontier (p, error))
        return NULL;
    }

  g_ptr_array_sort (parts, compare_parts);

  /* Every partition must agree on the count, and all must be there. */
  count = ((Partition *) g_ptr_array_index (parts, 0))->info.count;
  for (guint i = 0; i < parts->len; i++)
    {
      Partition *p = g_ptr_array_index (parts, i);

      if (p->info.count != count)
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_INCONSISTENT_PARTITIONS,
                       "recovery partitions of %s disagree on their number: %s says %u, "
                       "%s says %u",
                       directory, ((Partition *) g_ptr_array_index (parts, 0))->info.path, count,
                       p->info.path, p->info.count);
          return NULL;
        }
      if (p->info.index >= count)
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_INCONSISTENT_PARTITIONS,
                       "recovery partition %s is partition %u, but the directory has only "
                       "%u partitions",
                       p->info.path, p->info.index, count);
          return NULL;
        }
    }
  if (parts->len != count)
    {
      GString *missing = g_string_new (NULL);
      guint n_missing = count - parts->len;
      guint named = 0;

      /* A few names, then a count. */
      for (guint i = 0, j = 0; i < count && named < 3; i++)
        {
          if (j < parts->len && ((Partition *) g_ptr_array_index (parts, j))->info.index == i)
            j++;
          else
            {
              g_string_append_printf (missing, "%spart-%u.sqlite3", missing->len ? ", " : "", i);
              named++;
            }
        }
      if (n_missing > named)
        g_string_append_printf (missing, " and %u more", n_missing - named);
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_MISSING_PARTITIONS,
                   "recovery directory %s should have %u partitions, but %s %s missing",
                   directory, count, missing->str, n_missing > 1 ? "are" : "is");
      g_string_free (missing, TRUE);
      return NULL;
    }

  store = g_new0 (FlowStore, 1);
  store->lock_fd = -1;
  store->directory = g_strdup (directory);
  store->parts = g_steal_pointer (&parts);
  g_mutex_init (&store->lock);
  g_cond_init (&store->cond);

  store->resume_epoch = G_MAXUINT64;
  for (guint i = 0; i < store->parts->len; i++)
    {
      Partition *p = g_ptr_array_index (store->parts, i);

      store->resume_epoch = MIN (store->resume_epoch, p->info.frontier);
      if (p->info.flow_id != NULL && store->flow_id == NULL)
        store->flow_id = g_strdup (p->info.flow_id);
    }

  return store;
}

/* One run at a time per directory: an advisory lock on the directory
 * itself (not on a partition file, whose POSIX locks belong to SQLite),
 * released when the store is freed or the process dies. Returns the
 * locked descriptor, or -1. */
static int
lock_directory (const char  *directory,
                GError     **error)
{
  int fd = open (directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO,
                   "recovery directory %s cannot be opened: %s",
                   directory, g_strerror (saved));
      return -1;
    }
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int saved = errno;

      close (fd);
      if (saved == EWOULDBLOCK)
        g_set_error (error, FLOW_ERROR, FLOW_ERROR_PARTITIONS_IN_USE,
                     "recovery directory %s is in use by another run; two runs cannot "
                     "snapshot into the same partitions", directory);
      else
        g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO,
                     "recovery directory %s cannot be locked: %s",
                     directory, g_strerror (saved));
      return -1;
    }
  return fd;
}

FlowStore *
flow_store_open (const char          *directory,
                 FlowStoreOpenFlags   flags,
                 GError             **error)
{
  FlowStore *store;
  int lock_fd = -1;

  /* A run locks first: what it reads then stays as it read it until it
   * ends (another run that read it before would otherwise resume from a
   * stale epoch and discard this run's later ones). */
  if (flags & FLOW_STORE_OPEN_RUN)
    {
      g_autofree char *hint = g_strdup_printf ("; create it and its partitions with "
                                               "'flow-recovery init %s N'", directory);
      if (!check_directory (directory, hint, error))
        return NULL;
      if (g_access (directory, W_OK) != 0)
        {
          int saved = errno;
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO,
                       "recovery directory %s cannot be written (%s); a run writes its "
                       "snapshots there", directory, g_strerror (saved));
          return NULL;
        }
      lock_fd = lock_directory (directory, error);
      if (lock_fd < 0)
        return NULL;
    }

  store = open_partitions (directory, flags, error);
  if (store == NULL)
    {
      if (lock_fd >= 0)
        close (lock_fd);
      return NULL;
    }
  store->lock_fd = lock_fd;

  if (flow_store_test_opened_hook != NULL)
    flow_store_test_opened_hook (directory);
  return store;
}

void
flow_store_free (FlowStore *store)
{
  if (store == NULL)
    return;

  if (store->thread != NULL)
    {
      store_wait (store);
      flow_tsan_release (&stop_job);
      g_async_queue_push (store->jobs, (gpointer) &stop_job);
      g_thread_join (store->thread);
    }
  g_clear_pointer (&store->jobs, g_async_queue_unref);

  drop_notifications (store, FALSE);

  g_clear_pointer (&store->parts, g_ptr_array_unref);
  if (store->lock_fd >= 0)
    close (store->lock_fd);  /* releases the lock */
  g_clear_pointer (&store->context, g_main_context_unref);
  g_mutex_clear (&store->lock);
  g_cond_clear (&store->cond);
  g_free (store->flow_id);
  g_free (store->directory);
  g_free (store);
}

guint
flow_store_get_n_partitions (FlowStore *store)
{
  return store->parts->len;
}

const FlowStorePartitionInfo *
flow_store_get_partition (FlowStore *store,
                          guint      index)
{
  g_return_val_if_fail (index < store->parts->len, NULL);

  return &((Partition *) g_ptr_array_index (store->parts, index))->info;
}

gint64
flow_store_count_rows (FlowStore  *store,
                       guint       index,
                       GError    **error)
{
  Partition *p = g_ptr_array_index (store->parts, index);
  g_autoptr(sqlite3_stmt) stmt = sql_prepare (p, "SELECT COUNT(*) FROM snaps", error);
  int rc;

  if (stmt == NULL)
    return -1;
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      sql_error (p, rc, "counting rows", error);
      return -1;
    }
  return sqlite3_column_int64 (stmt, 0);
}

const char *
flow_store_get_flow_id (FlowStore *store)
{
  return store->flow_id;
}

guint64
flow_store_get_resume_epoch (FlowStore *store)
{
  return store->resume_epoch;
}

guint64
flow_store_get_execution (FlowStore *store)
{
  return store->ex_num;
}

gboolean
flow_store_check_resumable (FlowStore   *store,
                            const char  *flow_id,
                            GError     **error)
{
  for (guint i = 0; i < store->parts->len; i++)
    {
      Partition *p = g_ptr_array_index (store->parts, i);

      if (p->info.flow_id != NULL && !g_str_equal (p->info.flow_id, flow_id))
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_FOREIGN_PARTITIONS,
                       "recovery partition %s belongs to dataflow '%s', not '%s'; use "
                       "another recovery directory for this dataflow",
                       p->info.path, p->info.flow_id, flow_id);
          return FALSE;
        }
    }

  /* Partitions of another directory of the same dataflow. */
  for (guint i = 0; i < store->parts->len; i++)
    {
      Partition *p = g_ptr_array_index (store->parts, i);

      if (!g_str_equal (p->info.directory_id,
                        ((Partition *) g_ptr_array_index (store->parts, 0))->info.directory_id))
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_INCONSISTENT_PARTITIONS,
                       "recovery partitions of %s come from different recovery directories: "
                       "%s and %s were not created together (partition files of two "
                       "directories were mixed)",
                       store->directory,
                       ((Partition *) g_ptr_array_index (store->parts, 0))->info.path, p->info.path);
          return FALSE;
        }
    }

  for (guint i = 0; i < store->parts->len; i++)
    {
      Partition *p = g_ptr_array_index (store->parts, i);

      if (p->info.gc_epoch > store->resume_epoch)
        {
          Partition *oldest = NULL;

          for (guint j = 0; j < store->parts->len; j++)
            {
              Partition *q = g_ptr_array_index (store->parts, j);
              if (q->info.frontier == store->resume_epoch)
                oldest = q;
            }
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_PARTITIONS_TOO_OLD,
                       "recovery partitions of %s cannot resume without losing state: "
                       "%s has committed only up to epoch %" G_GUINT64_FORMAT ", but %s "
                       "has already garbage collected the snapshots before epoch %"
                       G_GUINT64_FORMAT " (restore a newer backup of the older partition, "
                       "or use a longer backup interval)",
                       store->directory, oldest ? oldest->info.path : "a partition",
                       store->resume_epoch, p->info.path, p->info.gc_epoch);
          return FALSE;
        }
    }
  return TRUE;
}

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------ */

gboolean
flow_store_load (FlowStore         *store,
                 guint64            epoch,
                 gboolean           with_tombstones,
                 FlowStoreRowFunc   func,
                 gpointer           user_data,
                 GError           **error)
{
  for (guint i = 0; i < store->parts->len; i++)
    {
      Partition *p = g_ptr_array_index (store->parts, i);
      g_autoptr(sqlite3_stmt) stmt = NULL;
      g_autofree char *prev_step = NULL;
      g_autoptr(GString) prev_key = g_string_new (NULL);
      g_autofree char *last_type = NULL;
      gboolean have_prev = FALSE;
      int rc;

      /* A scan of the primary key backwards: the first row of each
       * (step, key) is its newest at or before @epoch. No sorting, no
       * aggregation copies. */
      stmt = sql_prepare (p,
                          "SELECT step_id, state_key, epoch, ser FROM snaps "
                          "ORDER BY step_id DESC, state_key DESC, epoch DESC",
                          error);
      if (stmt == NULL)
        return FALSE;

      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          const char *step_id = (const char *) sqlite3_column_text (stmt, 0);
          const char *key = (const char *) sqlite3_column_text (stmt, 1);
          guint64 row_epoch = sqlite3_column_int64 (stmt, 2);
          g_autoptr(GVariant) state = NULL;
          GError *local = NULL;

          if (step_id == NULL || key == NULL)
            {
              g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                           "recovery partition %s has a snapshot row without a step or key",
                           p->info.path);
              return FALSE;
            }
          /* Keys become GVariant strings, epochs are never negative. */
          if (!g_utf8_validate (step_id, -1, NULL) || !g_utf8_validate (key, -1, NULL) ||
              sqlite3_column_type (stmt, 2) != SQLITE_INTEGER || sqlite3_column_int64 (stmt, 2) < 0)
            {
              g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                           "recovery partition %s is corrupt: a snapshot row has a step or "
                           "key that is not UTF-8 text, or an epoch out of range; restore it "
                           "from a backup or start over with a new recovery directory",
                           p->info.path);
              return FALSE;
            }
          /* Rows after @epoch (filtered here, not in SQL, so that an epoch
           * that is not an integer is seen, not silently skipped). */
          if (row_epoch > epoch)
            continue;

          if (have_prev && strcmp (key, prev_key->str) == 0 && strcmp (step_id, prev_step) == 0)
            continue;  /* an older row of the same key */
          have_prev = TRUE;
          g_string_assign (prev_key, key);
          if (prev_step == NULL || strcmp (step_id, prev_step) != 0)
            {
              g_free (prev_step);
              prev_step = g_strdup (step_id);
            }

          if (sqlite3_column_type (stmt, 3) != SQLITE_NULL)
            {
              const void *data = sqlite3_column_blob (stmt, 3);
              int size = sqlite3_column_bytes (stmt, 3);

              state = flow_variant_deserialize_cached (data, size, &last_type, &local);
              if (state == NULL)
                {
                  g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                               "recovery partition %s: the state of step '%s', key '%s' "
                               "(epoch %" G_GUINT64_FORMAT ") is corrupt: %s",
                               p->info.path, step_id, key, row_epoch, local->message);
                  g_error_free (local);
                  return FALSE;
                }
            }
          else if (!with_tombstones)
            continue;

          if (!func (step_id, key, row_epoch, state, user_data, &local))
            {
              /* A state the step cannot take (of the wrong type, say) is
               * bad data in this file: say which file. */
              if (g_error_matches (local, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION) &&
                  strstr (local->message, p->info.path) == NULL)
                g_prefix_error (&local, "recovery partition %s: ", p->info.path);
              g_propagate_error (error, local);
              return FALSE;
            }
        }
      if (rc != SQLITE_DONE)
        return sql_error (p, rc, "reading snapshots", error);
    }
  return TRUE;
}

static int
compare_executions (gconstpointer a,
                    gconstpointer b)
{
  const FlowStoreExecution *ea = a, *eb = b;

  return ea->ex_num < eb->ex_num ? -1 : ea->ex_num > eb->ex_num;
}

GArray *
flow_store_list_executions (FlowStore  *store,
                            GError    **error)
{
  g_autoptr(GArray) list = g_array_new (FALSE, TRUE, sizeof (FlowStoreExecution));
  g_autoptr(GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);

  for (guint i = 0; i < store->parts->len; i++)
    {
      Partition *p = g_ptr_array_index (store->parts, i);
      g_autoptr(sqlite3_stmt) stmt = NULL;
      int rc;

      stmt = sql_prepare (p,
                          "SELECT e.ex_num, e.worker_count, e.resume_epoch, e.started_at,"
                          " (SELECT MIN(f.epoch) FROM fronts AS f WHERE f.ex_num = e.ex_num)"
                          " FROM executions AS e ORDER BY e.ex_num",
                          error);
      if (stmt == NULL)
        return NULL;
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          FlowStoreExecution ex;
          FlowStoreExecution *known;

          ex.ex_num = sqlite3_column_int64 (stmt, 0);
          ex.worker_count = sqlite3_column_int (stmt, 1);
          ex.resume_epoch = sqlite3_column_int64 (stmt, 2);
          ex.started_at = sqlite3_column_int64 (stmt, 3);
          ex.frontier = sqlite3_column_int64 (stmt, 4);

          known = g_hash_table_lookup (seen, &ex.ex_num);
          if (known == NULL)
            {
              g_array_append_val (list, ex);
              g_hash_table_insert (seen, &g_array_index (list, FlowStoreExecution, list->len - 1).ex_num,
                                   GUINT_TO_POINTER (list->len));
            }
          else
            {
              FlowStoreExecution *e = &g_array_index (list, FlowStoreExecution, GPOINTER_TO_UINT (known) - 1);
              e->frontier = MIN (e->frontier, ex.frontier);
            }
          /* The array may have moved: rebuild the index. */
          g_hash_table_remove_all (seen);
          for (guint j = 0; j < list->len; j++)
            g_hash_table_insert (seen, &g_array_index (list, FlowStoreExecution, j).ex_num,
                                 GUINT_TO_POINTER (j + 1));
        }
      if (rc != SQLITE_DONE)
        {
          sql_error (p, rc, "reading executions", error);
          return NULL;
        }
    }
  g_array_sort (list, compare_executions);
  return g_steal_pointer (&list);
}

/* ------------------------------------------------------------------------
 * Checking
 * ------------------------------------------------------------------------ */

gboolean
flow_store_has_interrupted_init (const char *directory)
{
  g_autofree char *marker = g_build_filename (directory, INIT_MARKER, NULL);

  return g_file_test (marker, G_FILE_TEST_EXISTS);
}

typedef struct
{
  GPtrArray *problems;
  guint      max;
  guint      n;
} Problems;

static void
problem_add (Problems   *pr,
             const char *format,
             ...) G_GNUC_PRINTF (2, 3);

static void
problem_add (Problems   *pr,
             const char *format,
             ...)
{
  va_list args;

  pr->n++;
  if (pr->n > pr->max)
    return;
  va_start (args, format);
  g_ptr_array_add (pr->problems, g_strdup_vprintf (format, args));
  va_end (args);
}

guint
flow_store_check_file (const char *path,
                       guint       max_problems,
                       GPtrArray  *problems)
{
  Partition p = { { (char *) path, 0, 0, 0, NULL, 0, 0, NULL }, NULL, NULL, NULL, NULL };
  Problems pr = { problems, max_problems, 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *last_type = NULL;
  int rc;

  if (!open_partition (&p, FLOW_STORE_OPEN_READ_ONLY, &error))
    {
      problem_add (&pr, "%s", error->message);
      goto out;
    }

  /* Pages, free lists, and every index against its table. */
  rc = sqlite3_prepare_v2 (p.db, "PRAGMA integrity_check(20)", -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          const char *line = (const char *) sqlite3_column_text (stmt, 0);

          if (g_strcmp0 (line, "ok") != 0)
            problem_add (&pr, "recovery partition %s is corrupt: %.200s", path,
                         line ? line : "(no detail)");
        }
    }
  if (rc != SQLITE_DONE)
    {
      sql_error (&p, rc, "checking its integrity", &error);
      problem_add (&pr, "%s", error->message);
      goto out;
    }
  g_clear_pointer (&stmt, sqlite3_finalize);

  /* What a run validates. */
  if (!read_meta (&p, &error) || !read_frontier (&p, &error))
    {
      problem_add (&pr, "%s", error->message);
      goto out;
    }
  if (p.info.gc_epoch > p.info.frontier && p.info.frontier > 0)
    problem_add (&pr, "recovery partition %s is corrupt: it garbage collected up to epoch %"
                 G_GUINT64_FORMAT ", after its newest committed epoch %" G_GUINT64_FORMAT,
                 path, p.info.gc_epoch, p.info.frontier);

  /* Every stored state, old ones too. */
  rc = sqlite3_prepare_v2 (p.db, "SELECT step_id, state_key, epoch, ser FROM snaps", -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          const char *step_id = (const char *) sqlite3_column_text (stmt, 0);
          const char *key = (const char *) sqlite3_column_text (stmt, 1);
          gint64 epoch = sqlite3_column_int64 (stmt, 2);
          g_autoptr(GVariant) state = NULL;
          g_autoptr(GError) local = NULL;

          if (step_id == NULL || key == NULL || sqlite3_column_type (stmt, 2) != SQLITE_INTEGER ||
              epoch < 0 || !g_utf8_validate (step_id, -1, NULL) || !g_utf8_validate (key, -1, NULL))
            {
              problem_add (&pr, "recovery partition %s is corrupt: a snapshot row has no "
                           "step or key, one that is not UTF-8 text, or a bad epoch", path);
              continue;
            }
          if (sqlite3_column_type (stmt, 3) == SQLITE_NULL)
            continue;
          state = flow_variant_deserialize_cached (sqlite3_column_blob (stmt, 3),
                                                   sqlite3_column_bytes (stmt, 3),
                                                   &last_type, &local);
          if (state == NULL)
            problem_add (&pr, "recovery partition %s: the state of step '%s', key '%s' "
                         "(epoch %" G_GINT64_FORMAT ") is corrupt: %s",
                         path, step_id, key, epoch, local->message);
        }
    }
  if (rc != SQLITE_DONE)
    {
      sql_error (&p, rc, "reading its snapshots", &error);
      problem_add (&pr, "%s", error->message);
    }

out:
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (p.db != NULL)
    sqlite3_close (p.db);
  g_free (p.info.flow_id);
  g_free (p.info.directory_id);
  if (pr.n > pr.max)
    g_ptr_array_add (problems, g_strdup_printf ("… and %u more problems in %s",
                                                pr.n - pr.max, path));
  return pr.n;
}

/* ------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------ */

typedef struct
{
  FlowStore *store;
  guint64    epoch;
  GError    *error;
  GSource   *source;
} Done;

static void
done_free (gpointer data)
{
  Done *done = data;

  g_clear_error (&done->error);
  g_free (done);
}

/* store->lock, annotated for ThreadSanitizer (flow-tsan-private.h): the
 * writer thread and the caller's context hand rows and completions over
 * under it. */
static inline void
store_lock (FlowStore *store)
{
  g_mutex_lock (&store->lock);
  flow_tsan_acquire (&store->lock);
}

static inline void
store_unlock (FlowStore *store)
{
  flow_tsan_release (&store->lock);
  g_mutex_unlock (&store->lock);
}

static gboolean
done_dispatch (gpointer data)
{
  Done *done = data;
  FlowStore *store;

  flow_tsan_acquire (done);
  store = done->store;
  store_lock (store);
  store->pending = g_slist_remove (store->pending, done);
  store_unlock (store);
  g_source_unref (done->source);  /* the pending list's reference */

  store->commit_func (done->epoch, done->error, store->commit_data);
  return G_SOURCE_REMOVE;
}

/* Destroys the notifications not dispatched yet, first calling the commit
 * function for each (oldest first) if @notify. */
static void
drop_notifications (FlowStore *store,
                    gboolean   notify)
{
  GSList *pending;

  store_lock (store);
  pending = g_slist_reverse (g_steal_pointer (&store->pending));
  store_unlock (store);

  for (GSList *l = pending; l != NULL; l = l->next)
    {
      Done *done = l->data;
      GSource *source = done->source;

      if (notify)
        store->commit_func (done->epoch, done->error, store->commit_data);
      g_source_destroy (source);  /* frees done */
      g_source_unref (source);
    }
  g_slist_free (pending);
}

/* Deletes, for every key written in the recorded epochs up to @horizon,
 * the rows it superseded (and its tombstone): a range of the primary key
 * per key. The caller drops the records once the transaction committed. */
static gboolean
gc_recorded (Partition *p,
             guint64    horizon,
             int       *rc)
{
  sqlite3_stmt *del = p->delete_key;
  sqlite3_stmt *batch = p->delete_keys;

  for (GList *l = p->records.head; l != NULL; l = l->next)
    {
      GcEpoch *ge = l->data;
      guint i = 0;

      if (ge->epoch > horizon)
        break;
      while (i < ge->keys->len)
        {
          GcKey *k = &g_array_index (ge->keys, GcKey, i);
          /* A tombstone at or before the horizon hides nothing any more. */
          sqlite3_int64 before = (sqlite3_int64) ge->epoch + (k->tombstone ? 1 : 0);
          guint n = 1;

          /* Keys of one step with the same bound (the rows are sorted by
           * step), GC_BATCH in one statement: a sixth less work than a
           * statement per key. */
          while (n < GC_BATCH && i + n < ge->keys->len)
            {
              GcKey *next = &g_array_index (ge->keys, GcKey, i + n);

              if (next->step_id != k->step_id || next->tombstone != k->tombstone)
                break;
              n++;
            }
          if (n == GC_BATCH)
            {
              sqlite3_bind_text (batch, 1, k->step_id, -1, SQLITE_STATIC);
              sqlite3_bind_int64 (batch, 2, before);
              for (guint j = 0; j < n; j++)
                sqlite3_bind_text (batch, 3 + j, g_array_index (ge->keys, GcKey, i + j).key, -1,
                                   SQLITE_STATIC);
              *rc = sqlite3_step (batch);
              sqlite3_reset (batch);
              if (*rc != SQLITE_DONE)
                return FALSE;
            }
          else
            for (guint j = 0; j < n; j++)
              {
                sqlite3_bind_text (del, 1, k->step_id, -1, SQLITE_STATIC);
                sqlite3_bind_text (del, 2, g_array_index (ge->keys, GcKey, i + j).key, -1,
                                   SQLITE_STATIC);
                sqlite3_bind_int64 (del, 3, before);
                *rc = sqlite3_step (del);
                sqlite3_reset (del);
                if (*rc != SQLITE_DONE)
                  return FALSE;
              }
          i += n;
        }
    }
  sqlite3_clear_bindings (del);
  sqlite3_clear_bindings (batch);
  return TRUE;
}

/* The same for the whole table, by a scan: every row older than its key's
 * newest at or before @horizon, and that one too if it is a tombstone. One
 * pass along the primary key finds the keys with something to delete
 * (most have one row), then a range delete per such key. */
static gboolean
gc_scan (Partition  *p,
         guint64     horizon,
         int        *rc)
{
  g_autoptr(sqlite3_stmt) scan = NULL;
  g_autoptr(GPtrArray) doomed = g_ptr_array_new_with_free_func (g_free);  /* step \0 key */
  g_autoptr(GArray) bounds = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree char *step = NULL;
  g_autofree char *key = NULL;
  gint64 rows = 0, deleted = 0;
  gint64 newest = -1;       /* the current key's newest epoch at or before the horizon */
  gboolean tombstone = FALSE;
  guint older = 0;          /* its rows before that one */

  *rc = sqlite3_prepare_v2 (p->db, "SELECT step_id, state_key, epoch, ser IS NULL FROM snaps",
                            -1, &scan, NULL);
  if (*rc != SQLITE_OK)
    return FALSE;
  for (;;)
    {
      const char *s = NULL, *k = NULL;
      gint64 epoch = 0;

      *rc = sqlite3_step (scan);
      if (*rc == SQLITE_ROW)
        {
          s = (const char *) sqlite3_column_text (scan, 0);
          k = (const char *) sqlite3_column_text (scan, 1);
          epoch = sqlite3_column_int64 (scan, 2);
          rows++;
        }
      else if (*rc != SQLITE_DONE)
        return FALSE;

      /* A key ends: note what it has to delete. */
      if (step != NULL && (*rc == SQLITE_DONE || g_strcmp0 (s, step) != 0 || g_strcmp0 (k, key) != 0))
        {
          if (newest >= 0 && (older > 0 || tombstone))
            {
              gint64 bound = newest + (tombstone ? 1 : 0);
              gsize step_len = strlen (step);
              char *both = g_malloc (step_len + strlen (key) + 2);

              memcpy (both, step, step_len + 1);
              strcpy (both + step_len + 1, key);
              g_ptr_array_add (doomed, both);
              g_array_append_val (bounds, bound);
              deleted += older + (tombstone ? 1 : 0);
            }
          g_clear_pointer (&step, g_free);
          g_clear_pointer (&key, g_free);
          newest = -1;
          tombstone = FALSE;
          older = 0;
        }
      if (*rc == SQLITE_DONE)
        break;
      if (s == NULL || k == NULL)
        continue;   /* not a row a run wrote; left alone */
      if (step == NULL)
        {
          step = g_strdup (s);
          key = g_strdup (k);
        }
      /* Ascending epochs within a key (the primary key's order). */
      if (epoch >= 0 && (guint64) epoch <= horizon)
        {
          if (newest >= 0)
            older++;
          newest = epoch;
          tombstone = sqlite3_column_int (scan, 3) != 0;
        }
    }
  g_clear_pointer (&scan, sqlite3_finalize);

  for (guint i = 0; i < doomed->len; i++)
    {
      const char *both = g_ptr_array_index (doomed, i);

      sqlite3_bind_text (p->delete_key, 1, both, -1, SQLITE_STATIC);
      sqlite3_bind_text (p->delete_key, 2, both + strlen (both) + 1, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (p->delete_key, 3, g_array_index (bounds, gint64, i));
      *rc = sqlite3_step (p->delete_key);
      sqlite3_reset (p->delete_key);
      if (*rc != SQLITE_DONE)
        return FALSE;
    }
  sqlite3_clear_bindings (p->delete_key);
  p->rows_at_scan = rows - deleted;
  return TRUE;
}

static gboolean
write_partition (FlowStore    *store,
                 Partition    *p,
                 guint64       epoch,
                 GPtrArray    *rows,
                 gint64        now,
                 GError      **error)
{
  sqlite3_stmt *stmt = p->insert_snap;
  gint64 horizon_time;
  guint64 horizon = 0;
  GcEpoch *record = NULL;
  gboolean gc_scanned = FALSE;
  const char *step_id = NULL, *interned = NULL;
  int rc;

  if (!sql_exec (p, "BEGIN IMMEDIATE", error))
    return FALSE;

  /* What this epoch writes is remembered for the garbage collection,
   * unless that would be too much to remember: then the records start
   * again after this epoch. */
  if (epoch > p->recorded_from && p->n_recorded + rows->len <= flow_store_gc_record_limit)
    record = gc_epoch_new (epoch, rows->len);

  for (guint i = 0; i < rows->len; i++)
    {
      FlowSnapRow *row = g_ptr_array_index (rows, i);
      g_autoptr(GBytes) bytes = NULL;

      sqlite3_bind_text (stmt, 1, row->step_id, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, row->key, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) epoch);
      if (row->state != NULL)
        {
          gsize size;
          gconstpointer data;

          bytes = flow_variant_serialize (row->state);
          data = g_bytes_get_data (bytes, &size);
          sqlite3_bind_blob64 (stmt, 4, data ? data : "", size, SQLITE_STATIC);
        }
      else
        sqlite3_bind_null (stmt, 4);

      rc = sqlite3_step (stmt);
      sqlite3_reset (stmt);
      if (rc != SQLITE_DONE)
        goto failed;

      if (record != NULL)
        {
          GcKey k;

          /* Rows come sorted by step: one lookup per step, not per row. */
          if (row->step_id != step_id)
            interned = g_intern_string (step_id = row->step_id);
          k.step_id = interned;
          k.key = g_ref_string_acquire (row->key);
          k.tombstone = row->state == NULL;
          g_array_append_val (record->keys, k);
        }
    }
  sqlite3_clear_bindings (stmt);

  sqlite3_bind_int64 (p->insert_front, 1, (sqlite3_int64) store->ex_num);
  sqlite3_bind_int64 (p->insert_front, 2, (sqlite3_int64) epoch);
  sqlite3_bind_int64 (p->insert_front, 3, now);
  rc = sqlite3_step (p->insert_front);
  sqlite3_reset (p->insert_front);
  if (rc != SQLITE_DONE)
    goto failed;

  sqlite3_bind_int64 (p->insert_epoch, 1, (sqlite3_int64) epoch);
  sqlite3_bind_int64 (p->insert_epoch, 2, now);
  rc = sqlite3_step (p->insert_epoch);
  sqlite3_reset (p->insert_epoch);
  if (rc != SQLITE_DONE)
    goto failed;

  /* Garbage collection. The horizon is the newest epoch committed at least
   * a backup interval ago, and never the epoch being committed: another
   * partition may not have it yet, and a crash now must leave an epoch
   * every partition can resume from. */
  horizon_time = now - store->backup_usec;
  {
    sqlite3_stmt *q = p->select_horizon;

    sqlite3_bind_int64 (q, 1, horizon_time);
    sqlite3_bind_int64 (q, 2, (sqlite3_int64) epoch);
    if (sqlite3_step (q) == SQLITE_ROW)
      horizon = sqlite3_column_int64 (q, 0);
    sqlite3_reset (q);
  }

  if (horizon > p->info.gc_epoch)
    {
      if (p->info.gc_epoch >= p->recorded_from)
        {
          /* Every row after the GC epoch is in the records. */
          if (!gc_recorded (p, horizon, &rc))
            goto failed;
        }
      else if (p->rows_since_scan >= p->rows_at_scan)
        {
          /* Rows of earlier executions (or too many to remember): a scan,
           * not more often than once per table's worth of rows written. */
          if (!gc_scan (p, horizon, &rc))
            goto failed;
          gc_scanned = TRUE;
        }
      else
        horizon = p->info.gc_epoch;   /* later */
    }

  if (horizon > p->info.gc_epoch)
    {
      g_autoptr(sqlite3_stmt) del_epochs = NULL;
      g_autoptr(sqlite3_stmt) set_gc = NULL;

      del_epochs = sql_prepare (p, "DELETE FROM epochs WHERE epoch < ?1", error);
      set_gc = sql_prepare (p, "UPDATE meta SET value = ?1 WHERE name = 'gc_epoch'", error);
      if (del_epochs == NULL || set_gc == NULL)
        goto rollback;
      sqlite3_bind_int64 (del_epochs, 1, (sqlite3_int64) horizon);
      sqlite3_bind_int64 (set_gc, 1, (sqlite3_int64) horizon);
      if ((rc = sqlite3_step (del_epochs)) != SQLITE_DONE || (rc = sqlite3_step (set_gc)) != SQLITE_DONE)
        goto failed;
    }

  rc = sqlite3_exec (p->db, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    goto failed;

  /* Committed: the records follow. */
  p->rows_since_scan += rows->len;
  if (gc_scanned)
    p->rows_since_scan = 0;
  if (horizon > p->info.gc_epoch)
    {
      p->info.gc_epoch = horizon;
      /* The records the collection used, or all those a scan covered. */
      while (!g_queue_is_empty (&p->records) &&
             ((GcEpoch *) g_queue_peek_head (&p->records))->epoch <= horizon)
        {
          GcEpoch *ge = g_queue_pop_head (&p->records);

          p->n_recorded -= ge->keys->len;
          gc_epoch_free (ge);
        }
    }
  if (record != NULL)
    {
      p->n_recorded += record->keys->len;
      g_queue_push_tail (&p->records, record);
    }
  else if (epoch > p->recorded_from)
    {
      /* Too many to remember: forget them all, start again after this
       * epoch, and scan until the GC epoch catches up. */
      g_queue_clear_full (&p->records, gc_epoch_free);
      p->n_recorded = 0;
      p->recorded_from = epoch;
    }
  p->info.frontier = epoch;
  return TRUE;

failed:
  sql_error (p, rc, "committing a snapshot", error);
rollback:
  sqlite3_exec (p->db, "ROLLBACK", NULL, NULL, NULL);
  g_clear_pointer (&record, gc_epoch_free);
  return FALSE;
}

/* The order of the snaps table's primary key (step_id, state_key): SQLite
 * compares TEXT with memcmp(), strcmp()'s order on UTF-8. */
static int
compare_rows (gconstpointer a,
              gconstpointer b)
{
  const FlowSnapRow *ra = *(FlowSnapRow * const *) a, *rb = *(FlowSnapRow * const *) b;
  int c = strcmp (ra->step_id, rb->step_id);

  return c != 0 ? c : strcmp (ra->key, rb->key);
}

static gpointer
writer_thread (gpointer data)
{
  FlowStore *store = data;
  guint n = store->parts->len;
  g_autofree GPtrArray **by_part = g_new0 (GPtrArray *, n);

  for (guint i = 0; i < n; i++)
    by_part[i] = g_ptr_array_new ();

  for (;;)
    {
      Job *job = g_async_queue_pop (store->jobs);
      GError *error = NULL;
      gint64 now;
      GSource *source;
      Done *done;

      flow_tsan_acquire (job);
      if (job == &stop_job)
        break;
      now = job->now;

      /* The sinks' output of the epoch is made durable before the
       * epoch is: their fdatasync()s run here, not on the main loop. */
      for (guint i = 0; job->syncs != NULL && i < job->syncs->len && error == NULL; i++)
        flow_sink_partition_sync (g_ptr_array_index (job->syncs, i), &error);
      g_clear_pointer (&job->syncs, g_ptr_array_unref);

      for (guint i = 0; i < job->rows->len; i++)
        {
          FlowSnapRow *row = &g_array_index (job->rows, FlowSnapRow, i);
          guint target = n == 1 ? 0 : flow_store_partition_for (n, row->step_id, row->key);
          g_ptr_array_add (by_part[target], row);
        }

      for (guint i = 0; i < n; i++)
        {
          /* In primary-key order, each insert lands next to the previous
           * one: the B-tree pages it walks are the ones just walked. */
          if (error == NULL && by_part[i]->len > 1)
            g_ptr_array_sort (by_part[i], compare_rows);
          if (error == NULL)
            write_partition (store, g_ptr_array_index (store->parts, i), job->epoch,
                             by_part[i], now, &error);
          g_ptr_array_set_size (by_part[i], 0);
        }

      g_array_unref (job->rows);

      done = g_new0 (Done, 1);
      done->store = store;
      done->epoch = job->epoch;
      done->error = error;
      done->source = source = g_idle_source_new ();
      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_static_name (source, "[libflow] snapshot committed");
      g_source_set_callback (source, done_dispatch, done, done_free);
      g_free (job);

      flow_tsan_release (done);
      store_lock (store);
      g_source_ref (source);  /* for the pending list, released with it */
      store->pending = g_slist_prepend (store->pending, done);
      g_source_attach (source, store->context);
      store->busy = FALSE;
      g_cond_broadcast (&store->cond);
      store_unlock (store);
      /* Not done->source: once the lock is released the main context may
       * have dispatched the source already, and freed done with it. */
      g_source_unref (source);
    }

  for (guint i = 0; i < n; i++)
    g_ptr_array_unref (by_part[i]);
  return NULL;
}

gboolean
flow_store_begin_execution (FlowStore            *store,
                            const char           *flow_id,
                            guint                 worker_count,
                            gint64                backup_interval_us,
                            gint64                now,
                            GArray               *initial_rows,
                            GMainContext         *context,
                            FlowStoreCommitFunc   func,
                            gpointer              user_data,
                            GError              **error)
{
  guint64 resume = store->resume_epoch;
  guint64 ex_num = 0;

  g_return_val_if_fail (store->thread == NULL, FALSE);

  /* The new execution number is after every one any partition knows. */
  for (guint i = 0; i < store->parts->len; i++)
    {
      Partition *p = g_ptr_array_index (store->parts, i);
      g_autoptr(sqlite3_stmt) stmt = sql_prepare (p, "SELECT MAX(ex_num) FROM executions", error);

      if (stmt == NULL)
        return FALSE;
      if (sqlite3_step (stmt) == SQLITE_ROW)
        ex_num = MAX (ex_num, (guint64) sqlite3_column_int64 (stmt, 0));
    }
  store->ex_num = ex_num + 1;

  for (guint i = 0; i < store->parts->len; i++)
    {
      Partition *p = g_ptr_array_index (store->parts, i);
      g_autofree char *sql = NULL;
      g_autoptr(sqlite3_stmt) set_flow = NULL;
      int rc;

      sqlite3_exec (p->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);

      /* Epochs after the resume epoch were not committed by every
       * partition (or come from a newer backup than the others): they are
       * discarded, so that rows written again for them are all there is. */
      sql = g_strdup_printf ("BEGIN IMMEDIATE;"
                             "DELETE FROM snaps WHERE epoch > %" G_GUINT64_FORMAT ";"
                             "DELETE FROM epochs WHERE epoch > %" G_GUINT64_FORMAT ";"
                             "UPDATE fronts SET epoch = %" G_GUINT64_FORMAT " WHERE epoch > %" G_GUINT64_FORMAT ";"
                             "INSERT INTO executions (ex_num, worker_count, resume_epoch, started_at)"
                             " VALUES (%" G_GUINT64_FORMAT ", %u, %" G_GUINT64_FORMAT ", %" G_GINT64_FORMAT ");"
                             "INSERT OR REPLACE INTO fronts (ex_num, worker_index, epoch, committed_at)"
                             " VALUES (%" G_GUINT64_FORMAT ", 0, %" G_GUINT64_FORMAT ", %" G_GINT64_FORMAT ");",
                             resume, resume, resume, resume,
                             store->ex_num, worker_count, resume, now,
                             store->ex_num, resume, now);
      if (sqlite3_exec (p->db, sql, NULL, NULL, NULL) != SQLITE_OK &&
          !sql_error (p, sqlite3_errcode (p->db), "starting the execution", error))
        {
          sqlite3_exec (p->db, "ROLLBACK", NULL, NULL, NULL);
          return FALSE;
        }

      set_flow = sql_prepare (p, "UPDATE meta SET value = ?1 WHERE name = 'flow_id'", error);
      if (set_flow == NULL)
        {
          sqlite3_exec (p->db, "ROLLBACK", NULL, NULL, NULL);
          return FALSE;
        }
      sqlite3_bind_text (set_flow, 1, flow_id, -1, SQLITE_STATIC);
      rc = sqlite3_step (set_flow);

      for (guint j = 0; rc == SQLITE_DONE && initial_rows != NULL && j < initial_rows->len; j++)
        {
          FlowSnapRow *row = &g_array_index (initial_rows, FlowSnapRow, j);
          g_autoptr(sqlite3_stmt) insert = NULL;
          g_autoptr(GBytes) bytes = NULL;
          gsize size;
          gconstpointer data;

          if (flow_store_partition_for (store->parts->len, row->step_id, row->key) != i)
            continue;
          insert = sql_prepare (p, "INSERT OR REPLACE INTO snaps (step_id, state_key, epoch, ser)"
                                   " VALUES (?1, ?2, ?3, ?4)", error);
          if (insert == NULL)
            {
              sqlite3_exec (p->db, "ROLLBACK", NULL, NULL, NULL);
              return FALSE;
            }
          bytes = flow_variant_serialize (row->state);
          data = g_bytes_get_data (bytes, &size);
          sqlite3_bind_text (insert, 1, row->step_id, -1, SQLITE_STATIC);
          sqlite3_bind_text (insert, 2, row->key, -1, SQLITE_STATIC);
          sqlite3_bind_int64 (insert, 3, (sqlite3_int64) resume);
          sqlite3_bind_blob64 (insert, 4, data ? data : "", size, SQLITE_STATIC);
          rc = sqlite3_step (insert);
        }

      if (rc != SQLITE_DONE || !sql_exec (p, "COMMIT", error))
        {
          if (rc != SQLITE_DONE)
            sql_error (p, rc, "recording the dataflow", error);
          sqlite3_exec (p->db, "ROLLBACK", NULL, NULL, NULL);
          return FALSE;
        }

      g_free (p->info.flow_id);
      p->info.flow_id = g_strdup (flow_id);
      p->info.frontier = resume;

      p->insert_snap = sql_prepare (p,
                                    "INSERT OR REPLACE INTO snaps (step_id, state_key, epoch, ser)"
                                    " VALUES (?1, ?2, ?3, ?4)",
                                    error);
      p->insert_front = sql_prepare (p,
                                     "INSERT OR REPLACE INTO fronts (ex_num, worker_index, epoch, committed_at)"
                                     " VALUES (?1, 0, ?2, ?3)",
                                     error);
      p->insert_epoch = sql_prepare (p,
                                     "INSERT OR REPLACE INTO epochs (epoch, committed_at) VALUES (?1, ?2)",
                                     error);
      p->delete_key = sql_prepare (p,
                                   "DELETE FROM snaps WHERE step_id = ?1 AND state_key = ?2"
                                   " AND epoch < ?3",
                                   error);
      {
        g_autoptr(GString) batch_sql = g_string_new ("DELETE FROM snaps WHERE step_id = ?1"
                                                     " AND epoch < ?2 AND state_key IN (?3");

        for (guint j = 1; j < GC_BATCH; j++)
          g_string_append_printf (batch_sql, ", ?%u", j + 3);
        g_string_append (batch_sql, ")");
        p->delete_keys = sql_prepare (p, batch_sql->str, error);
      }
      /* Nothing this execution writes is remembered yet: the first
       * collection scans (rows of earlier executions). */
      g_queue_clear_full (&p->records, gc_epoch_free);
      p->n_recorded = 0;
      p->recorded_from = resume;
      p->rows_since_scan = 0;
      p->rows_at_scan = 0;
      p->select_horizon = sql_prepare (p,
                                       "SELECT MAX(epoch) FROM epochs "
                                       "WHERE committed_at <= ?1 AND epoch < ?2",
                                       error);
      if (p->insert_snap == NULL || p->insert_front == NULL || p->insert_epoch == NULL ||
          p->select_horizon == NULL || p->delete_key == NULL || p->delete_keys == NULL)
        return FALSE;
    }

  g_free (store->flow_id);
  store->flow_id = g_strdup (flow_id);
  store->backup_usec = backup_interval_us;
  store->context = g_main_context_ref (context);
  store->commit_func = func;
  store->commit_data = user_data;
  store->jobs = g_async_queue_new ();
  store->thread = g_thread_new ("flow-store", writer_thread, store);
  return TRUE;
}

gint
flow_store_upgrade (FlowStore  *store,
                    GError    **error)
{
  gint n = 0;

  g_return_val_if_fail (store->lock_fd >= 0 && store->thread == NULL, -1);

  for (guint i = 0; i < store->parts->len; i++)
    {
      Partition *p = g_ptr_array_index (store->parts, i);

      if (p->info.format_version == FLOW_STORE_FORMAT_VERSION)
        continue;
      g_assert (p->info.format_version == 1);
      /* One transaction: a partition is either format 1 with its index or
       * format 2 without; a crash between partitions leaves a directory
       * of both, which runs, and the next upgrade finishes. */
      sqlite3_exec (p->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
      if (!sql_exec (p, "BEGIN IMMEDIATE;"
                        "DROP INDEX snaps_epoch;"
                        "UPDATE meta SET value = 2 WHERE name = 'format';"
                        "COMMIT", error))
        {
          sqlite3_exec (p->db, "ROLLBACK", NULL, NULL, NULL);
          return -1;
        }
      p->info.format_version = FLOW_STORE_FORMAT_VERSION;
      n++;
    }
  return n;
}

void
flow_store_commit_async (FlowStore *store,
                         guint64    epoch,
                         gint64     now,
                         GArray    *rows)
{
  flow_store_commit_async_full (store, epoch, now, rows, NULL);
}

void
flow_store_commit_async_full (FlowStore *store,
                              guint64    epoch,
                              gint64     now,
                              GArray    *rows,
                              GPtrArray *syncs)
{
  Job *job;

  g_return_if_fail (store->thread != NULL);

  store_lock (store);
  /* The caller waits for the completion of a commit before the next one
   * (it pauses its input meanwhile): nothing here ever waits. */
  g_warn_if_fail (!store->busy);
  store->busy = TRUE;
  store_unlock (store);

  job = g_new0 (Job, 1);
  job->epoch = epoch;
  job->now = now;
  job->rows = rows;
  job->syncs = syncs;
  flow_tsan_release (job);
  g_async_queue_push (store->jobs, job);
}

/* Blocks until no commit is in flight: only for flow_store_free(), which
 * callers reach once the last commit was notified. */
static void
store_wait (FlowStore *store)
{
  store_lock (store);
  while (store->busy)
    {
      flow_tsan_release (&store->lock);
      g_cond_wait (&store->cond, &store->lock);
      flow_tsan_acquire (&store->lock);
    }
  store_unlock (store);
}

gboolean
flow_store_is_busy (FlowStore *store)
{
  gboolean busy;

  store_lock (store);
  busy = store->busy;
  store_unlock (store);
  return busy;
}
