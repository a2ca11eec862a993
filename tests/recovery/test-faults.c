/* test-faults.c: fault injection across whole runs, the way SQLite tests
 * itself
 *
 * A SQLite VFS shim, registered as the default VFS of this process, fails
 * the Nth write (disk full), sync (I/O error) or lock (locked) of the
 * recovery partitions; wrappers of write() and fdatasync() fail the Nth
 * write (disk full) or sync (I/O error) of the FileSink's output file.
 * For every N until a run no longer reaches the Nth operation, a run of a
 * small file flow (FileSource → key_on → stateful_map → FileSink, an
 * epoch per batch of 3 lines) must end in success or in a FlowError that
 * says what failed and where — never hang, never abort — and a rerun with
 * the fault gone must leave exactly the output of an uninterrupted run.
 *
 * The default suite sweeps every FLOW_FAULT_STRIDEth N (by default about
 * 15 runs of each kind, from a seeded offset; 3 under valgrind); `scripts/fault-sweep.sh`
 * sweeps every N, persistent and one-shot faults, over more lines.
 *
 * Environment: FLOW_FAULT_STRIDE (1: every N), FLOW_FAULT_LINES (input
 * lines, default 24), FLOW_FAULT_ONESHOT (1: only the Nth operation fails,
 * not every one after it), FLOW_FAULT_SEED.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "flow-store-private.h"
#include "recovery-common.h"

#ifdef HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

/* ------------------------------------------------------------------------
 * Faults
 * ------------------------------------------------------------------------ */

typedef enum
{
  FAULT_DB_WRITE,
  FAULT_DB_SYNC,
  FAULT_DB_LOCK,
  FAULT_SINK_WRITE,
  FAULT_SINK_SYNC,
  N_FAULTS
} FaultKind;

static const char * const fault_names[] = {
  "partition write (disk full)",
  "partition sync (I/O error)",
  "partition lock (locked)",
  "sink write (disk full)",
  "sink sync (I/O error)",
};

static struct
{
  gint       armed;
  FaultKind  kind;
  gint       fail_at;
  gboolean   oneshot;
  gint       count[N_FAULTS];
  gint       hits;
  char      *sink_path;
} fault;

/* Whether this operation of @kind fails. */
static gboolean
fault_hit (FaultKind kind)
{
  int n;

  if (!g_atomic_int_get (&fault.armed))
    return FALSE;
  n = g_atomic_int_add (&fault.count[kind], 1) + 1;
  if (kind != fault.kind)
    return FALSE;
  if (fault.oneshot ? n == fault.fail_at : n >= fault.fail_at)
    {
      g_atomic_int_inc (&fault.hits);
      return TRUE;
    }
  return FALSE;
}

/* ------------------------------------------------------------------------
 * The SQLite VFS shim
 * ------------------------------------------------------------------------ */

typedef struct
{
  const sqlite3_io_methods *methods;
  sqlite3_file             *real;
} ShimFile;

static sqlite3_vfs *real_vfs;
static sqlite3_io_methods shim_methods;

#define REAL(f) (((ShimFile *) (f))->real)

static int
shim_close (sqlite3_file *f)
{
  return REAL (f)->pMethods->xClose (REAL (f));
}

static int
shim_read (sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
  return REAL (f)->pMethods->xRead (REAL (f), buf, amt, off);
}

static int
shim_write (sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
  if (fault_hit (FAULT_DB_WRITE))
    return SQLITE_FULL;
  return REAL (f)->pMethods->xWrite (REAL (f), buf, amt, off);
}

static int
shim_truncate (sqlite3_file *f, sqlite3_int64 size)
{
  return REAL (f)->pMethods->xTruncate (REAL (f), size);
}

static int
shim_sync (sqlite3_file *f, int flags)
{
  if (fault_hit (FAULT_DB_SYNC))
    return SQLITE_IOERR_FSYNC;
  return REAL (f)->pMethods->xSync (REAL (f), flags);
}

static int
shim_file_size (sqlite3_file *f, sqlite3_int64 *size)
{
  return REAL (f)->pMethods->xFileSize (REAL (f), size);
}

static int
shim_lock (sqlite3_file *f, int level)
{
  if (fault_hit (FAULT_DB_LOCK))
    return SQLITE_BUSY;
  return REAL (f)->pMethods->xLock (REAL (f), level);
}

static int
shim_unlock (sqlite3_file *f, int level)
{
  return REAL (f)->pMethods->xUnlock (REAL (f), level);
}

static int
shim_check_reserved_lock (sqlite3_file *f, int *out)
{
  return REAL (f)->pMethods->xCheckReservedLock (REAL (f), out);
}

static int
shim_file_control (sqlite3_file *f, int op, void *arg)
{
  return REAL (f)->pMethods->xFileControl (REAL (f), op, arg);
}

static int
shim_sector_size (sqlite3_file *f)
{
  return REAL (f)->pMethods->xSectorSize (REAL (f));
}

static int
shim_device_characteristics (sqlite3_file *f)
{
  return REAL (f)->pMethods->xDeviceCharacteristics (REAL (f));
}

static int
shim_shm_map (sqlite3_file *f, int page, int size, int extend, void volatile **out)
{
  return REAL (f)->pMethods->xShmMap (REAL (f), page, size, extend, out);
}

static int
shim_shm_lock (sqlite3_file *f, int offset, int n, int flags)
{
  /* Only exclusive locks: a failing shared lock on the WAL index makes
   * SQLite retry it (in walTryBeginRead) without a busy handler. */
  if ((flags & SQLITE_SHM_LOCK) && (flags & SQLITE_SHM_EXCLUSIVE) && fault_hit (FAULT_DB_LOCK))
    return SQLITE_BUSY;
  return REAL (f)->pMethods->xShmLock (REAL (f), offset, n, flags);
}

static void
shim_shm_barrier (sqlite3_file *f)
{
  REAL (f)->pMethods->xShmBarrier (REAL (f));
}

static int
shim_shm_unmap (sqlite3_file *f, int delete_flag)
{
  return REAL (f)->pMethods->xShmUnmap (REAL (f), delete_flag);
}

static int
shim_fetch (sqlite3_file *f, sqlite3_int64 off, int amt, void **out)
{
  return REAL (f)->pMethods->xFetch (REAL (f), off, amt, out);
}

static int
shim_unfetch (sqlite3_file *f, sqlite3_int64 off, void *p)
{
  return REAL (f)->pMethods->xUnfetch (REAL (f), off, p);
}

static int
shim_open (sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
  ShimFile *shim = (ShimFile *) f;
  int rc;

  shim->real = (sqlite3_file *) (shim + 1);
  rc = real_vfs->xOpen (real_vfs, name, shim->real, flags, out_flags);
  shim->methods = shim->real->pMethods != NULL ? &shim_methods : NULL;
  return rc;
}

static int
shim_delete (sqlite3_vfs *vfs, const char *name, int sync_dir)
{
  return real_vfs->xDelete (real_vfs, name, sync_dir);
}

static int
shim_access (sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
  return real_vfs->xAccess (real_vfs, name, flags, out);
}

static int
shim_full_pathname (sqlite3_vfs *vfs, const char *name, int n, char *out)
{
  return real_vfs->xFullPathname (real_vfs, name, n, out);
}

static void *
shim_dl_open (sqlite3_vfs *vfs, const char *name)
{
  return real_vfs->xDlOpen (real_vfs, name);
}

static void
shim_dl_error (sqlite3_vfs *vfs, int n, char *out)
{
  real_vfs->xDlError (real_vfs, n, out);
}

static void (*shim_dl_sym (sqlite3_vfs *vfs, void *handle, const char *symbol)) (void)
{
  return real_vfs->xDlSym (real_vfs, handle, symbol);
}

static void
shim_dl_close (sqlite3_vfs *vfs, void *handle)
{
  real_vfs->xDlClose (real_vfs, handle);
}

static int
shim_randomness (sqlite3_vfs *vfs, int n, char *out)
{
  return real_vfs->xRandomness (real_vfs, n, out);
}

static int
shim_sleep (sqlite3_vfs *vfs, int usec)
{
  /* SQLite's retries of a failing WAL lock wait between tries: not for
   * an injected fault, which does not go away by waiting. */
  if (g_atomic_int_get (&fault.armed))
    return usec;
  return real_vfs->xSleep (real_vfs, usec);
}

static int
shim_current_time (sqlite3_vfs *vfs, double *out)
{
  return real_vfs->xCurrentTime (real_vfs, out);
}

static int
shim_get_last_error (sqlite3_vfs *vfs, int n, char *out)
{
  return real_vfs->xGetLastError (real_vfs, n, out);
}

static int
shim_current_time_int64 (sqlite3_vfs *vfs, sqlite3_int64 *out)
{
  return real_vfs->xCurrentTimeInt64 (real_vfs, out);
}

static sqlite3_vfs shim_vfs;

static void
shim_register (void)
{
  real_vfs = sqlite3_vfs_find (NULL);
  g_assert_nonnull (real_vfs);
  g_assert_cmpint (real_vfs->iVersion, >=, 2);

  shim_methods = (sqlite3_io_methods) {
    3, shim_close, shim_read, shim_write, shim_truncate, shim_sync, shim_file_size,
    shim_lock, shim_unlock, shim_check_reserved_lock, shim_file_control, shim_sector_size,
    shim_device_characteristics, shim_shm_map, shim_shm_lock, shim_shm_barrier,
    shim_shm_unmap, shim_fetch, shim_unfetch,
  };
  shim_vfs = (sqlite3_vfs) {
    2, (int) sizeof (ShimFile) + real_vfs->szOsFile, real_vfs->mxPathname, NULL,
    "flow-fault-shim", NULL,
    shim_open, shim_delete, shim_access, shim_full_pathname, shim_dl_open, shim_dl_error,
    shim_dl_sym, shim_dl_close, shim_randomness, shim_sleep, shim_current_time,
    shim_get_last_error, shim_current_time_int64,
  };
  g_assert_cmpint (sqlite3_vfs_register (&shim_vfs, 1), ==, SQLITE_OK);
}

/* ------------------------------------------------------------------------
 * The sink's system calls: this program's write() and fdatasync() are
 * the ones libflow (linked into it) calls
 * ------------------------------------------------------------------------ */

static gboolean
is_sink_fd (int fd)
{
  struct stat a, b;

  return fault.sink_path != NULL && fstat (fd, &a) == 0 && S_ISREG (a.st_mode) &&
         stat (fault.sink_path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

ssize_t
write (int         fd,
       const void *buf,
       size_t      n)
{
  if (g_atomic_int_get (&fault.armed) && is_sink_fd (fd) && fault_hit (FAULT_SINK_WRITE))
    {
      errno = ENOSPC;
      return -1;
    }
  return syscall (SYS_write, fd, buf, n);
}

int
fdatasync (int fd)
{
  if (g_atomic_int_get (&fault.armed) && is_sink_fd (fd) && fault_hit (FAULT_SINK_SYNC))
    {
      errno = EIO;
      return -1;
    }
  return syscall (SYS_fdatasync, fd);
}

/* ------------------------------------------------------------------------
 * A watchdog: a hang is reported as one, with the fault that caused it
 * ------------------------------------------------------------------------ */

static GMutex watch_lock;
static GCond watch_cond;
static gboolean watch_done;
static char *watch_what;

static gpointer
watchdog_thread (gpointer data)
{
  gint64 end = g_get_monotonic_time () + 120 * G_TIME_SPAN_SECOND;

  g_mutex_lock (&watch_lock);
  while (!watch_done)
    if (!g_cond_wait_until (&watch_cond, &watch_lock, end))
      {
        g_printerr ("HANG: %s did not end in 120 s\n", watch_what);
        g_error ("hang at %s", watch_what);
      }
  g_mutex_unlock (&watch_lock);
  return NULL;
}

/* ------------------------------------------------------------------------
 * The flow
 * ------------------------------------------------------------------------ */

static char *
key_of (GVariant  *item,
        gpointer   user_data,
        GError   **error)
{
  guint64 n = g_ascii_strtoull (g_variant_get_string (item, NULL), NULL, 10);

  return g_strdup_printf ("k%u", (guint) (n % 5));
}

static GVariant *
zero (gpointer   user_data,
      GError   **error)
{
  return g_variant_new_int64 (0);
}

static GVariant *
add (GVariant  *sum,
     GVariant  *line,
     GVariant **emit,
     gpointer   user_data,
     GError   **error)
{
  gint64 updated = g_variant_get_int64 (sum) +
                   (gint64) g_ascii_strtoull (g_variant_get_string (line, NULL), NULL, 10);

  *emit = g_variant_new_int64 (updated);
  return g_variant_new_int64 (updated);
}

static gboolean
run_flow (const char  *input,
          const char  *output,
          const char  *dir,
          const char  *what,
          GError     **error)
{
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("faults");
  g_autoptr(FlowFileSource) source = flow_file_source_new (input);
  g_autoptr(FlowFileSink) sink = flow_file_sink_new (output);
  g_autoptr(FlowRunner) runner = NULL;
  GThread *watchdog;
  FlowStream *s;
  gboolean ok;

  flow_file_source_set_batch_size (source, 3);
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_key_on (s, "key", key_of, NULL, NULL);
  s = flow_stream_stateful_map (s, "sum", zero, NULL, NULL, add, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));

  runner = flow_runner_new (flow);
  if (dir != NULL)
    flow_runner_set_recovery_directory (runner, dir);
  flow_runner_set_snapshot_interval (runner, 0);
  flow_runner_set_backup_interval (runner, 0);

  watch_done = FALSE;
  watch_what = g_strdup (what);
  watchdog = g_thread_new ("watchdog", watchdog_thread, NULL);
  ok = flow_runner_run (runner, NULL, error);
  g_mutex_lock (&watch_lock);
  watch_done = TRUE;
  g_cond_signal (&watch_cond);
  g_mutex_unlock (&watch_lock);
  g_thread_join (watchdog);
  g_clear_pointer (&watch_what, g_free);
  return ok;
}

static guint
env_uint (const char *name,
          guint       fallback)
{
  const char *value = g_getenv (name);

  return value != NULL && *value != '\0' ? (guint) g_ascii_strtoull (value, NULL, 10) : fallback;
}

/* Words an error about a fault of @kind says. */
static gboolean
names_the_fault (const GError *error,
                 FaultKind     kind)
{
  switch (kind)
    {
    case FAULT_DB_WRITE:
    case FAULT_SINK_WRITE:
      return strstr (error->message, "disk is full") != NULL ||
             strstr (error->message, "No space left on device") != NULL;
    case FAULT_DB_SYNC:
    case FAULT_SINK_SYNC:
      return strstr (error->message, "I/O error") != NULL ||
             strstr (error->message, "Input/output error") != NULL;
    case FAULT_DB_LOCK:
      return strstr (error->message, "locked") != NULL;
    default:
      return FALSE;
    }
}

static void
sweep (FaultKind kind)
{
  g_autofree char *work = rec_tmpdir ();
  g_autofree char *input = g_build_filename (work, "input.txt", NULL);
  g_autofree char *output = g_build_filename (work, "output.txt", NULL);
  g_autofree char *reference = NULL;
  g_autoptr(GString) lines = g_string_new (NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (env_uint ("FLOW_FAULT_SEED", 1));
  /* The fast sweep: about 15 runs of each kind. */
  static const guint default_stride[] = { 13, 3, 7, 1, 1 };
  guint stride = MAX (env_uint ("FLOW_FAULT_STRIDE",
                                default_stride[kind] * (RUNNING_ON_VALGRIND ? 5 : 1)), 1);
  guint n_lines = env_uint ("FLOW_FAULT_LINES", 24);
  guint n_failed = 0, n_succeeded = 0;
  gboolean reached = TRUE;

  flow_store_busy_timeout_ms = 0;
  fault.oneshot = env_uint ("FLOW_FAULT_ONESHOT", 0) != 0;

  for (guint i = 1; i <= n_lines; i++)
    g_string_append_printf (lines, "%u\n", i * 7 % 100);
  rec_write_file (input, lines->str);

  /* The uninterrupted run's output. */
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = rec_init_dir (2);

    g_assert_true (run_flow (input, output, dir, "the reference run", &error));
    g_assert_no_error (error);
    reference = rec_read_file (output);
    g_assert_cmpuint (strlen (reference), >, 0);
    g_remove (output);
    rec_rm_rf (dir);
  }

  for (guint n = 1 + (stride > 1 ? g_rand_int_range (rand, 0, stride) : 0); reached; n += stride)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *dir = rec_init_dir (2);
      g_autofree char *what = g_strdup_printf ("a run with a fault at %s #%u", fault_names[kind], n);
      g_autofree char *got = NULL;
      gboolean ok;

      g_test_message ("%s", what);
      g_free (fault.sink_path);
      fault.sink_path = g_strdup (output);
      memset (fault.count, 0, sizeof fault.count);
      fault.kind = kind;
      fault.fail_at = (gint) n;
      fault.hits = 0;
      g_atomic_int_set (&fault.armed, TRUE);
      ok = run_flow (input, output, dir, what, &error);
      g_atomic_int_set (&fault.armed, FALSE);
      reached = fault.hits > 0;

      if (!ok)
        {
          /* A clean error: libflow's domain, saying what failed, and
           * where (the partition or the output file). */
          g_assert_nonnull (error);
          g_test_message ("  -> %s", error->message);
          if (error->domain != FLOW_ERROR)
            g_error ("%s: an error of domain %s: %s", what, g_quark_to_string (error->domain),
                     error->message);
          if (!reached)
            g_error ("%s: failed without a fault: %s", what, error->message);
          if (!names_the_fault (error, kind))
            g_error ("%s: the error does not say what failed: %s", what, error->message);
          if (strstr (error->message, kind < FAULT_SINK_WRITE ? "part-" : "output.txt") == NULL)
            g_error ("%s: the error does not say where: %s", what, error->message);
          n_failed++;
        }
      else
        n_succeeded++;
      g_clear_error (&error);

      /* The fault gone, a rerun finishes the work: exactly the output of
       * the uninterrupted run. */
      g_clear_pointer (&what, g_free);
      what = g_strdup_printf ("the rerun after a fault at %s #%u", fault_names[kind], n);
      if (!run_flow (input, output, dir, what, &error))
        g_error ("%s failed: %s", what, error->message);
      got = rec_read_file (output);
      if (!g_str_equal (got, reference))
        g_error ("%s: the output differs from an uninterrupted run's:\n%s\n--- expected:\n%s",
                 what, got, reference);

      g_remove (output);
      rec_rm_rf (dir);
    }

  g_test_message ("%s: %u runs failed cleanly, %u succeeded (the fault was %s)",
                  fault_names[kind], n_failed, n_succeeded, "past their last operation or harmless");
  /* The sweep reached the fault: it is not a sweep of nothing. */
  g_assert_cmpuint (n_failed, >, 0);

  g_clear_pointer (&fault.sink_path, g_free);
  rec_rm_rf (work);
}

static void
test_sweep (gconstpointer data)
{
  sweep ((FaultKind) GPOINTER_TO_INT (data));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  shim_register ();

  g_test_add_data_func ("/faults/partition/write", GINT_TO_POINTER (FAULT_DB_WRITE), test_sweep);
  g_test_add_data_func ("/faults/partition/sync", GINT_TO_POINTER (FAULT_DB_SYNC), test_sweep);
  g_test_add_data_func ("/faults/partition/lock", GINT_TO_POINTER (FAULT_DB_LOCK), test_sweep);
  g_test_add_data_func ("/faults/sink/write", GINT_TO_POINTER (FAULT_SINK_WRITE), test_sweep);
  g_test_add_data_func ("/faults/sink/sync", GINT_TO_POINTER (FAULT_SINK_SYNC), test_sweep);

  return g_test_run ();
}
