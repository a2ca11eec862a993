/* power-cut-shim.c: an LD_PRELOAD library that records what a power cut
 * would leave of some directories.
 *
 * A power cut loses everything that was not made durable: the content a
 * file had at its last fsync()/fdatasync(), and the names a directory held
 * at its last fsync(), are all that is left. This library watches the
 * writes and syncs of a process to the files of the directories listed in
 * SOAK_SHIM_TRACK (absolute paths, separated by ':') and keeps, in the
 * directory SOAK_SHIM_JOURNAL:
 *
 *   c-HEX(PATH)  the content of PATH as of its last sync
 *   d-HEX(DIR)   the names in DIR as of its last sync, one a line
 *
 * The harness (tests/soak/soak.py) writes a baseline of both before the
 * first run, SIGKILLs the process at a random moment and then rolls every
 * tracked file back to its c- file and every tracked directory to its d-
 * listing: a simulated power cut. A file listed without a c- file was
 * never synced and comes back empty; a file not listed was created after
 * its directory's last sync and disappears.
 *
 * The journal is updated after the real sync returned, under flock() on
 * SOAK_SHIM_JOURNAL/lock; the harness takes that lock before it kills, so
 * a kill never leaves a journal file half written (a sync whose journal
 * update had not started when the power went off did not complete).
 *
 * Content is copied incrementally: the first sync of a file in a process
 * (or of a new inode under the same name) copies it whole, later ones copy
 * the ranges written with write()/pwrite()/ftruncate() since. Writes
 * through stdio or mmap are not seen (libflow and SQLite use neither for
 * these files); SOAK_SHIM_FULL=1 copies the whole file at every sync.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define _GNU_SOURCE
/* Both pwrite() and pwrite64() (and the ftruncate pair) are defined here:
 * the headers must not rename one into the other. */
#undef _FILE_OFFSET_BITS

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_TRACKED 8
#define MAX_FILES   64
#define MAX_RANGES  4096

typedef struct
{
  uint64_t start;
  uint64_t end;
} Range;

/* What this process wrote to one tracked file since its last sync. */
typedef struct
{
  char     path[PATH_MAX];
  dev_t    dev;
  ino_t    ino;
  int      synced;        /* synced once in this process, same inode */
  int      overflow;      /* too many ranges: copy it whole */
  unsigned n_ranges;
  Range    ranges[MAX_RANGES];
} File;

static ssize_t (*real_write) (int, const void *, size_t);
static ssize_t (*real_pwrite) (int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64) (int, const void *, size_t, off64_t);
static int (*real_ftruncate) (int, off_t);
static int (*real_ftruncate64) (int, off64_t);
static int (*real_fsync) (int);
static int (*real_fdatasync) (int);
static int (*real_rename) (const char *, const char *);
static int (*real_renameat) (int, const char *, int, const char *);

static int enabled;
static int full_copies;
static char journal[PATH_MAX];
static char tracked[MAX_TRACKED][PATH_MAX];
static unsigned n_tracked;
static int lock_fd = -1;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static File *files[MAX_FILES];
static unsigned n_files;

static void
die (const char *what)
{
  char msg[512];
  int len = snprintf (msg, sizeof msg, "power-cut-shim: %s: %s\n", what, strerror (errno));

  if (len > 0)
    (void) !real_write (2, msg, (size_t) len);
  abort ();
}

__attribute__((constructor))
static void
shim_init (void)
{
  const char *j = getenv ("SOAK_SHIM_JOURNAL");
  const char *t = getenv ("SOAK_SHIM_TRACK");
  char lock[PATH_MAX + 8];

  real_write = dlsym (RTLD_NEXT, "write");
  real_pwrite = dlsym (RTLD_NEXT, "pwrite");
  real_pwrite64 = dlsym (RTLD_NEXT, "pwrite64");
  real_ftruncate = dlsym (RTLD_NEXT, "ftruncate");
  real_ftruncate64 = dlsym (RTLD_NEXT, "ftruncate64");
  real_fsync = dlsym (RTLD_NEXT, "fsync");
  real_fdatasync = dlsym (RTLD_NEXT, "fdatasync");
  real_rename = dlsym (RTLD_NEXT, "rename");
  real_renameat = dlsym (RTLD_NEXT, "renameat");

  if (j == NULL || t == NULL || *j == '\0' || *t == '\0')
    return;
  snprintf (journal, sizeof journal, "%s", j);
  while (*t != '\0' && n_tracked < MAX_TRACKED)
    {
      const char *colon = strchr (t, ':');
      size_t len = colon ? (size_t) (colon - t) : strlen (t);

      if (len > 0 && len < PATH_MAX)
        {
          memcpy (tracked[n_tracked], t, len);
          tracked[n_tracked][len] = '\0';
          n_tracked++;
        }
      t += len;
      if (*t == ':')
        t++;
    }
  full_copies = getenv ("SOAK_SHIM_FULL") != NULL && strcmp (getenv ("SOAK_SHIM_FULL"), "1") == 0;
  snprintf (lock, sizeof lock, "%s/lock", journal);
  lock_fd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0)
    die ("opening the journal lock");
  enabled = 1;
}

/* The path of @fd if it is a tracked directory or a file in one. */
static int
tracked_path (int   fd,
              char *path,
              int  *is_dir)
{
  char link[64];
  ssize_t n;

  if (!enabled || fd < 0)
    return 0;
  snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
  n = readlink (link, path, PATH_MAX - 1);
  if (n <= 0)
    return 0;
  path[n] = '\0';
  for (unsigned i = 0; i < n_tracked; i++)
    {
      size_t len = strlen (tracked[i]);

      if (strcmp (path, tracked[i]) == 0)
        {
          *is_dir = 1;
          return 1;
        }
      if (strncmp (path, tracked[i], len) == 0 && path[len] == '/' &&
          strchr (path + len + 1, '/') == NULL)
        {
          *is_dir = 0;
          return 1;
        }
    }
  return 0;
}

static int
tracked_name (const char *path)
{
  char dir[PATH_MAX];
  const char *slash;

  if (!enabled || path == NULL || path[0] != '/')
    return 0;
  slash = strrchr (path, '/');
  if ((size_t) (slash - path) >= sizeof dir)
    return 0;
  memcpy (dir, path, (size_t) (slash - path));
  dir[slash - path] = '\0';
  for (unsigned i = 0; i < n_tracked; i++)
    if (strcmp (dir, tracked[i]) == 0)
      return 1;
  return 0;
}

/* Called with the mutex held. */
static File *
file_for (const char *path)
{
  for (unsigned i = 0; i < n_files; i++)
    if (strcmp (files[i]->path, path) == 0)
      return files[i];
  if (n_files == MAX_FILES)
    {
      errno = ENOSPC;
      die ("too many tracked files");
    }
  files[n_files] = calloc (1, sizeof (File));
  if (files[n_files] == NULL)
    die ("allocating");
  snprintf (files[n_files]->path, PATH_MAX, "%s", path);
  return files[n_files++];
}

/* Called with the mutex held. */
static void
add_range_locked (const char *path,
                  uint64_t    start,
                  uint64_t    end)
{
  File *f;

  if (end <= start)
    return;
  f = file_for (path);
  if (f->n_ranges > 0 && f->ranges[f->n_ranges - 1].end == start)
    f->ranges[f->n_ranges - 1].end = end;
  else if (f->n_ranges == MAX_RANGES)
    f->overflow = 1;
  else
    f->ranges[f->n_ranges++] = (Range) { start, end };
}

static void
add_range (const char *path,
           uint64_t    start,
           uint64_t    end)
{
  pthread_mutex_lock (&mutex);
  add_range_locked (path, start, end);
  pthread_mutex_unlock (&mutex);
}

static void
journal_name (char       *out,
              char        kind,
              const char *path)
{
  static const char hex[] = "0123456789abcdef";
  size_t n = (size_t) snprintf (out, PATH_MAX * 3, "%s/%c-", journal, kind);

  for (const unsigned char *p = (const unsigned char *) path; *p != '\0'; p++)
    {
      out[n++] = hex[*p >> 4];
      out[n++] = hex[*p & 15];
    }
  out[n] = '\0';
}

static void
write_all (int         fd,
           const char *buf,
           size_t      len,
           uint64_t    offset)
{
  while (len > 0)
    {
      ssize_t n = real_pwrite (fd, buf, len, (off_t) offset);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        die ("writing the journal");
      buf += n;
      len -= (size_t) n;
      offset += (uint64_t) n;
    }
}

/* Copies [start, end) of @src to @dst. */
static void
copy_range (int      src,
            int      dst,
            uint64_t start,
            uint64_t end)
{
  static char buf[1 << 16];

  while (start < end)
    {
      size_t want = end - start < sizeof buf ? (size_t) (end - start) : sizeof buf;
      ssize_t n = pread (src, buf, want, (off_t) start);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        die ("reading a synced file");
      if (n == 0)
        break;
      write_all (dst, buf, (size_t) n, start);
      start += (uint64_t) n;
    }
}

/* After a successful sync of the file @fd, @path: its content is durable.
 * Called with the mutex and the journal lock held. */
static void
record_file (int         fd,
             const char *path)
{
  char shadow[PATH_MAX * 3];
  struct stat st;
  File *f = file_for (path);
  int src, dst, whole;

  if (fstat (fd, &st) != 0)
    die ("inspecting a synced file");
  journal_name (shadow, 'c', path);
  whole = full_copies || !f->synced || f->overflow || f->dev != st.st_dev || f->ino != st.st_ino ||
          access (shadow, F_OK) != 0;

  /* The fd may be write-only. */
  src = open (path, O_RDONLY | O_CLOEXEC);
  if (src < 0)
    die ("reopening a synced file");
  dst = open (shadow, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (dst < 0)
    die ("opening the journal");
  if (whole)
    copy_range (src, dst, 0, (uint64_t) st.st_size);
  else
    for (unsigned i = 0; i < f->n_ranges; i++)
      copy_range (src, dst, f->ranges[i].start,
                  f->ranges[i].end < (uint64_t) st.st_size ? f->ranges[i].end : (uint64_t) st.st_size);
  if (real_ftruncate (dst, st.st_size) != 0)
    die ("truncating the journal");
  close (src);
  close (dst);

  f->dev = st.st_dev;
  f->ino = st.st_ino;
  f->synced = 1;
  f->overflow = 0;
  f->n_ranges = 0;
}

/* After a successful sync of the directory @path: its names are durable. */
static void
record_dir (const char *path)
{
  char listing[PATH_MAX * 3];
  char tmp[PATH_MAX * 3 + 8];
  DIR *dir = opendir (path);
  struct dirent *e;
  int fd;
  uint64_t offset = 0;

  if (dir == NULL)
    die ("listing a synced directory");
  journal_name (listing, 'd', path);
  snprintf (tmp, sizeof tmp, "%s.tmp", listing);
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    die ("opening the journal");
  while ((e = readdir (dir)) != NULL)
    {
      size_t len = strlen (e->d_name);

      if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
        continue;
      write_all (fd, e->d_name, len, offset);
      write_all (fd, "\n", 1, offset + len);
      offset += len + 1;
    }
  closedir (dir);
  close (fd);
  if (real_rename (tmp, listing) != 0)
    die ("renaming the journal");
}

static void
journal_lock (void)
{
  pthread_mutex_lock (&mutex);
  while (flock (lock_fd, LOCK_EX) != 0)
    if (errno != EINTR)
      die ("locking the journal");
}

static void
journal_unlock (void)
{
  flock (lock_fd, LOCK_UN);
  pthread_mutex_unlock (&mutex);
}

static int
after_sync (int fd,
            int result)
{
  char path[PATH_MAX];
  int is_dir = 0;
  int saved = errno;

  if (result == 0 && tracked_path (fd, path, &is_dir))
    {
      journal_lock ();
      if (is_dir)
        record_dir (path);
      else
        record_file (fd, path);
      journal_unlock ();
    }
  errno = saved;
  return result;
}

int
fsync (int fd)
{
  return after_sync (fd, real_fsync (fd));
}

int
fdatasync (int fd)
{
  return after_sync (fd, real_fdatasync (fd));
}

ssize_t
write (int         fd,
       const void *buf,
       size_t      count)
{
  char path[PATH_MAX];
  int is_dir = 0;
  off_t at = -1;
  ssize_t n;
  int saved;

  if (!tracked_path (fd, path, &is_dir) || is_dir)
    return real_write (fd, buf, count);

  /* A write to a tracked file and the recording of its range happen under
   * the mutex, as one: a sync on another thread (libflow's sinks sync on
   * the recovery writer thread while the main thread writes on) copies
   * either both or neither, never a file size that covers a range it
   * does not know was written. */
  pthread_mutex_lock (&mutex);
  if (fcntl (fd, F_GETFL) & O_APPEND)
    {
      struct stat st;
      at = fstat (fd, &st) == 0 ? st.st_size : -1;
    }
  else
    at = lseek (fd, 0, SEEK_CUR);
  n = real_write (fd, buf, count);
  saved = errno;
  if (n > 0 && at >= 0)
    add_range_locked (path, (uint64_t) at, (uint64_t) at + (uint64_t) n);
  pthread_mutex_unlock (&mutex);
  errno = saved;
  return n;
}

static ssize_t
track_pwrite (int     fd,
              ssize_t n,
              off_t   offset)
{
  char path[PATH_MAX];
  int is_dir = 0;
  int saved = errno;

  if (n > 0 && tracked_path (fd, path, &is_dir) && !is_dir)
    add_range (path, (uint64_t) offset, (uint64_t) offset + (uint64_t) n);
  errno = saved;
  return n;
}

ssize_t
pwrite (int         fd,
        const void *buf,
        size_t      count,
        off_t       offset)
{
  return track_pwrite (fd, real_pwrite (fd, buf, count, offset), offset);
}

ssize_t
pwrite64 (int         fd,
          const void *buf,
          size_t      count,
          off64_t     offset)
{
  return track_pwrite (fd, real_pwrite64 (fd, buf, count, offset), (off_t) offset);
}

static int
track_truncate (int   fd,
                int   result,
                off_t length)
{
  char path[PATH_MAX];
  int is_dir = 0;
  int saved = errno;

  /* Everything from the new end on changed (gone, or zeros if extended). */
  if (result == 0 && tracked_path (fd, path, &is_dir) && !is_dir)
    add_range (path, (uint64_t) length, UINT64_MAX / 2);
  errno = saved;
  return result;
}

int
ftruncate (int   fd,
           off_t length)
{
  return track_truncate (fd, real_ftruncate (fd, length), length);
}

int
ftruncate64 (int     fd,
             off64_t length)
{
  return track_truncate (fd, real_ftruncate64 (fd, length), (off_t) length);
}

/* A rename moves the inode, with the content synced under the old name. */
static void
after_rename (const char *from,
              const char *to)
{
  char from_abs[PATH_MAX], to_abs[PATH_MAX];
  char shadow_from[PATH_MAX * 3], shadow_to[PATH_MAX * 3];
  int src, dst;
  struct stat st;

  if (!enabled || realpath (to, to_abs) == NULL || !tracked_name (to_abs))
    return;
  if (from[0] == '/')
    snprintf (from_abs, sizeof from_abs, "%s", from);
  else
    {
      char cwd[PATH_MAX];
      if (getcwd (cwd, sizeof cwd) == NULL ||
          strlen (cwd) + 1 + strlen (from) >= sizeof from_abs)
        return;
      strcpy (from_abs, cwd);
      strcat (from_abs, "/");
      strcat (from_abs, from);
    }
  journal_lock ();
  journal_name (shadow_from, 'c', from_abs);
  journal_name (shadow_to, 'c', to_abs);
  src = open (shadow_from, O_RDONLY | O_CLOEXEC);
  if (src >= 0 && fstat (src, &st) == 0)
    {
      dst = open (shadow_to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (dst < 0)
        die ("opening the journal");
      copy_range (src, dst, 0, (uint64_t) st.st_size);
      close (dst);
    }
  if (src >= 0)
    close (src);
  /* The next sync of the new name copies it whole. */
  file_for (to_abs)->synced = 0;
  journal_unlock ();
}

int
rename (const char *from,
        const char *to)
{
  int r = real_rename (from, to);
  int saved = errno;

  if (r == 0)
    after_rename (from, to);
  errno = saved;
  return r;
}

int
renameat (int         from_dir,
          const char *from,
          int         to_dir,
          const char *to)
{
  int r = real_renameat (from_dir, from, to_dir, to);
  int saved = errno;

  if (r == 0 && from_dir == AT_FDCWD && to_dir == AT_FDCWD)
    after_rename (from, to);
  errno = saved;
  return r;
}
