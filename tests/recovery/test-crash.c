/* test-crash.c: kill a flow with SIGKILL at random moments, resume it, and
 * compare with one uninterrupted run.
 *
 * The flow (crash-flow) reads a file of numbered lines, keys them over 100
 * keys, keeps a running sum per key and writes each sum to a FileSink (or
 * to standard output). It runs as a child process with -r DIR -s 0.02 and
 * is killed at moments drawn from a seeded random generator: mostly when
 * its output reached a drawn point (spread over the whole run, plus up to
 * 25 ms), sometimes a few milliseconds after it started (while it opens
 * the partitions). Each attempt uses a batch size drawn from 1, 7, 64, 1000.
 *
 * Environment (for longer runs):
 *   FLOW_CRASH_SEED        seed of the kill moments (default 20240601)
 *   FLOW_CRASH_KILLS       kills per test (default 40)
 *   FLOW_CRASH_LINES       lines of input (default 100000)
 *   FLOW_CRASH_PARTITIONS  recovery partitions (default 4)
 *   FLOW_CRASH_FLOW        the crash-flow program (default: the built one)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <glib/gstdio.h>

#include "recovery-common.h"

#define N_KEYS 100

typedef struct
{
  guint64  seed;
  guint    discard;       /* every this many lines discards a key (0: never) */
  guint    kills;
  guint    lines;
  guint    partitions;
  char    *program;
  char    *work;
  char    *input;
  char    *expected;      /* the output, computed here */
  gsize    expected_len;
  gsize   *line_offset;   /* byte offset of each expected line, and the end */
} Crash;

static guint
env_uint (const char *name,
          guint       fallback)
{
  const char *value = g_getenv (name);
  guint64 n;

  if (value == NULL || !g_ascii_string_to_unsigned (value, 10, 1, G_MAXUINT, &n, NULL))
    return fallback;
  return (guint) n;
}

static void
crash_init (Crash *c)
{
  GString *input = g_string_new (NULL);
  GString *expected = g_string_new (NULL);
  gint64 sums[N_KEYS] = { 0 };
  g_autoptr(GError) error = NULL;

  c->seed = env_uint ("FLOW_CRASH_SEED", 20240601);
  c->kills = env_uint ("FLOW_CRASH_KILLS", 40);
  c->lines = env_uint ("FLOW_CRASH_LINES", 100000);
  c->partitions = env_uint ("FLOW_CRASH_PARTITIONS", 4);
  if (g_getenv ("FLOW_CRASH_FLOW") != NULL)
    c->program = g_strdup (g_getenv ("FLOW_CRASH_FLOW"));
  else
    c->program = g_test_build_filename (G_TEST_BUILT, "recovery", "crash-flow", NULL);
  g_assert_true (g_file_test (c->program, G_FILE_TEST_IS_EXECUTABLE));
  g_test_message ("seed %" G_GUINT64_FORMAT ", %u kills, %u lines, %u partitions, "
                  "discarding a key every %u lines", c->seed, c->kills, c->lines, c->partitions,
                  c->discard);

  c->work = rec_tmpdir ();
  c->input = g_build_filename (c->work, "input.txt", NULL);

  /* The expected output, independently of libflow: line n (1-based) goes
   * to key n % 100, whose running sum is printed. */
  c->line_offset = g_new (gsize, c->lines + 1);
  for (guint n = 1; n <= c->lines; n++)
    {
      guint k = n % N_KEYS;

      g_string_append_printf (input, "%u\n", n);
      c->line_offset[n - 1] = expected->len;
      if (c->discard > 0 && n % c->discard == 0)
        {
          sums[k] = 0;
          g_string_append_printf (expected, "('k%02u', -1)\n", k);
          continue;
        }
      sums[k] += n;
      g_string_append_printf (expected, "('k%02u', %" G_GINT64_FORMAT ")\n", k, sums[k]);
    }
  c->line_offset[c->lines] = expected->len;
  g_file_set_contents (c->input, input->str, input->len, &error);
  g_assert_no_error (error);
  g_string_free (input, TRUE);
  c->expected_len = expected->len;
  c->expected = g_string_free (expected, FALSE);
}

static void
crash_clear (Crash *c)
{
  rec_rm_rf (c->work);
  g_free (c->work);
  g_free (c->input);
  g_free (c->program);
  g_free (c->expected);
  g_free (c->line_offset);
}

static gint64
file_size (const char *path)
{
  struct stat st;

  if (g_stat (path, &st) != 0)
    return 0;
  return st.st_size;
}

/* Spawns crash-flow INPUT OUTPUT -r DIR -s 0.02 -b BACKUP with standard output to
 * @stdout_path (and standard error to @stderr_path). */
static GPid
spawn_flow (Crash      *c,
            const char *output,
            const char *dir,
            guint       batch,
            const char *backup,
            const char *stdout_path,
            const char *stderr_path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *batch_s = g_strdup_printf ("%u", batch);
  g_autofree char *discard_s = g_strdup_printf ("%u", c->discard);
  g_auto(GStrv) envp = g_environ_setenv (g_get_environ (), "CRASH_FLOW_BATCH", batch_s, TRUE);
  const char *argv[] = { c->program, c->input, output, "-r", dir, "-s", "0.02", "-b", backup, NULL };
  int out_fd;
  int err_fd;
  GPid pid = 0;

  envp = g_environ_setenv (envp, "CRASH_FLOW_DISCARD", discard_s, TRUE);
  out_fd = g_open (stdout_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  err_fd = g_open (stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  g_assert_cmpint (out_fd, >=, 0);
  g_assert_cmpint (err_fd, >=, 0);
  g_spawn_async_with_fds (NULL, (char **) argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                          &pid, -1, out_fd, err_fd, &error);
  g_assert_no_error (error);
  close (out_fd);
  close (err_fd);
  return pid;
}

/* Waits for @pid to exit; returns its exit status. */
static int
wait_exit (GPid        pid,
           const char *stderr_path)
{
  int status = 0;

  while (waitpid (pid, &status, 0) < 0)
    g_assert_cmpint (errno, ==, EINTR);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      g_autofree char *err = rec_read_file (stderr_path);
      g_error ("crash-flow failed (status %d): %s", status, err);
    }
  return 0;
}

/* Kills @pid when @watched has grown to @target bytes (plus 0-25 ms), or
 * @early_usec after now if that is not 0. Returns TRUE if it was killed,
 * FALSE if it exited by itself (successfully) first. */
static gboolean
kill_at (GPid        pid,
         const char *watched,
         gint64      target,
         gint64      early_usec,
         GRand      *rand,
         const char *stderr_path)
{
  gint64 start = g_get_monotonic_time ();
  int status = 0;

  for (;;)
    {
      pid_t r = waitpid (pid, &status, WNOHANG);

      if (r == pid)
        {
          if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
            {
              g_autofree char *err = rec_read_file (stderr_path);
              g_error ("crash-flow failed before it was killed (status %d): %s", status, err);
            }
          return FALSE;
        }
      g_assert_cmpint (r, ==, 0);
      if (early_usec > 0 ? g_get_monotonic_time () - start >= early_usec
                         : file_size (watched) >= target)
        break;
      g_usleep (100);
    }

  /* A little later: up to about an epoch (-s 0.02), so the kill lands
   * before, during or after a commit. */
  if (early_usec == 0)
    g_usleep (g_rand_int_range (rand, 0, 25001));
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  while (waitpid (pid, &status, 0) < 0)
    g_assert_cmpint (errno, ==, EINTR);
  if (WIFSIGNALED (status))
    return TRUE;
  /* It exited between the last look and the kill. */
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  return FALSE;
}

/* The committed state of the input and of the file sink, from
 * `flow-recovery show`: lines read, and bytes written (0 when none).
 * Returns TRUE if the partitions have not all committed the same epoch
 * (the kill came between the commits of two partitions). */
static gboolean
committed (const char *dir,
           guint64    *lines,
           guint64    *written)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *at;
  guint64 offset, first = G_MAXUINT64;
  gboolean torn = FALSE;

  if (rec_tool (&out, &err, "show", dir, NULL) != 0)
    g_error ("flow-recovery show %s failed after a kill: %s%s", dir, out, err);

  for (at = strstr (out, ", committed up to epoch "); at != NULL && at < strstr (out, "\nExecutions:");
       at = strstr (at + 1, ", committed up to epoch "))
    {
      guint64 epoch = g_ascii_strtoull (at + strlen (", committed up to epoch "), NULL, 10);

      if (first == G_MAXUINT64)
        first = epoch;
      else if (epoch != first)
        torn = TRUE;
    }

  *lines = 0;
  at = strstr (out, "    'input.txt': (");
  if (at != NULL && sscanf (at, "    'input.txt': (%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ",",
                            &offset, lines) != 2)
    g_error ("cannot read the input's state in:\n%s", out);

  *written = 0;
  at = strstr (out, "    'out.txt': ");
  if (at != NULL && sscanf (at, "    'out.txt': %" G_GUINT64_FORMAT, written) != 1)
    g_error ("cannot read the sink's state in:\n%s", out);
  return torn;
}

static const guint batch_sizes[] = { 1, 7, 64, 1000 };
/* Backup intervals: mostly none, sometimes about an epoch or two (so
 * garbage collection runs on a time horizon), sometimes longer than the
 * test. */
static const char *backups[] = { "0", "0", "0.03", "3600" };
#define DRAW(rand, array) (array[g_rand_int_range (rand, 0, G_N_ELEMENTS (array))])

/* Where attempt @k of @n is killed: a point of the expected output,
 * stratified so the kills spread over the whole run, or (one time in
 * six) a few milliseconds after the start. */
static void
draw_kill (GRand  *rand,
           guint   k,
           guint   n,
           gsize   total,
           gint64 *target,
           gint64 *early_usec)
{
  double where = (k + g_rand_double (rand)) / n;

  *early_usec = g_rand_int_range (rand, 0, 6) == 0 ? g_rand_int_range (rand, 500, 8000) : 0;
  *target = (gint64) (where * total);
}

/* The states `flow-recovery show` prints, without the count of discarded
 * keys it does not show: how many tombstones are still there depends on
 * when garbage collection ran, not on the state. */
static char *
final_states (const char *dir)
{
  g_autofree char *states = rec_show_states (dir);
  g_autoptr(GRegex) discarded = g_regex_new ("^  \\([0-9]+ discarded keys? not shown\\)\n",
                                             G_REGEX_MULTILINE, 0, NULL);

  return g_regex_replace_literal (discarded, states, -1, 0, "", 0, NULL);
}

/* Compares two texts line by line, reporting the first difference. */
static void
assert_same_lines (const char *what,
                   const char *got,
                   const char *expected)
{
  g_auto(GStrv) a = NULL;
  g_auto(GStrv) b = NULL;

  if (g_str_equal (got, expected))
    return;
  a = g_strsplit (got, "\n", -1);
  b = g_strsplit (expected, "\n", -1);
  for (guint i = 0;; i++)
    if (a[i] == NULL || b[i] == NULL || !g_str_equal (a[i], b[i]))
      g_error ("%s differs from an uninterrupted run at line %u: '%s' instead of '%s' "
               "(%u and %u lines)", what, i + 1, a[i] ? a[i] : "(end)", b[i] ? b[i] : "(end)",
               g_strv_length (a), g_strv_length (b));
}

/* ------------------------------------------------------------------------
 * FileSink: exactly-once
 * ------------------------------------------------------------------------ */

static void
test_crash_file_sink (gconstpointer data)
{
  Crash c = { 0 };
  g_autoptr(GRand) rand = NULL;
  g_autofree char *ref_dir = NULL;
  g_autofree char *ref_work = NULL;
  g_autofree char *ref_out = NULL;
  g_autofree char *ref_text = NULL;
  g_autofree char *ref_states = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *out = NULL;
  g_autofree char *out_text = NULL;
  g_autofree char *states = NULL;
  g_autofree char *log = NULL;
  g_autofree char *err_log = NULL;
  guint kills = 0, attempts = 0, completed_early = 0, torn = 0;
  guint64 lines = 0, prev_lines = 0, written = 0;
  gint64 start = g_get_monotonic_time ();

  c.discard = GPOINTER_TO_UINT (data);
  crash_init (&c);
  rand = g_rand_new_with_seed ((guint32) c.seed);
  log = g_build_filename (c.work, "stdout.txt", NULL);
  err_log = g_build_filename (c.work, "stderr.txt", NULL);

  /* One uninterrupted run. */
  ref_dir = rec_init_dir (c.partitions);
  ref_work = g_build_filename (c.work, "ref", NULL);
  g_assert_cmpint (g_mkdir (ref_work, 0755), ==, 0);
  ref_out = g_build_filename (ref_work, "out.txt", NULL);
  wait_exit (spawn_flow (&c, ref_out, ref_dir, 1000, "0", log, err_log), err_log);
  ref_text = rec_read_file (ref_out);
  assert_same_lines ("the uninterrupted run's output", ref_text, c.expected);
  ref_states = final_states (ref_dir);
  g_test_message ("uninterrupted run: %.2f s", (g_get_monotonic_time () - start) / 1e6);

  /* Killed and resumed. */
  dir = rec_init_dir (c.partitions);
  out = g_build_filename (c.work, "out.txt", NULL);
  while (kills < c.kills && attempts < 3 * c.kills)
    {
      guint batch = DRAW (rand, batch_sizes);
      const char *backup = DRAW (rand, backups);
      gint64 target, early;
      GPid pid;

      draw_kill (rand, kills, c.kills, c.expected_len, &target, &early);
      pid = spawn_flow (&c, out, dir, batch, backup, log, err_log);
      attempts++;
      if (kill_at (pid, out, target, early, rand, err_log))
        kills++;
      else
        completed_early++;

      /* The partitions are readable after any kill. */
      prev_lines = lines;
      torn += committed (dir, &lines, &written);

      /* Exactly-once: whatever the runs wrote so far, committed or not, is
       * the start of the expected output (its last line maybe torn). */
      {
        g_autofree char *text = NULL;
        gsize len = 0, i = 0;

        /* A run killed early may not have created the file yet. */
        if (g_file_get_contents (out, &text, &len, NULL))
          g_assert_cmpuint (strlen (text), ==, len);

        while (i < len && i < c.expected_len && text[i] == c.expected[i])
          i++;
        if (i < len)
          {
            guint line = 0;
            while (line < c.lines && c.line_offset[line + 1] <= i)
              line++;
            g_error ("after run %u, which resumed after %" G_GUINT64_FORMAT " committed lines, "
                     "the output file is not the start of the expected output: it differs at "
                     "line %u (byte %zu of %zu)", attempts, prev_lines, line + 1, i, len);
          }
      }

      /* The committed states of the input and of the sink belong together. */
      g_assert_cmpuint (written, <=, c.expected_len);
      g_assert_cmpuint (written, ==, c.line_offset[lines]);
      g_assert_cmpint (file_size (out), >=, (gint64) written);
    }

  /* The last run completes. */
  wait_exit (spawn_flow (&c, out, dir, 64, "0", log, err_log), err_log);
  attempts++;

  out_text = rec_read_file (out);
  assert_same_lines ("the output of the killed and resumed runs", out_text, ref_text);
  states = final_states (dir);
  g_assert_cmpstr (states, ==, ref_states);

  g_test_message ("FileSink: %u kills (%u between the commits of two partitions), %u runs, "
                  "%u completed before their kill, %.2f s",
                  kills, torn, attempts, completed_early, (g_get_monotonic_time () - start) / 1e6);
  g_assert_cmpuint (kills, >=, MIN (c.kills, 20));

  rec_rm_rf (ref_dir);
  rec_rm_rf (dir);
  crash_clear (&c);
}

/* ------------------------------------------------------------------------
 * Standard output: at-least-once
 * ------------------------------------------------------------------------ */

/* Checks that the output of one attempt, which started after @from
 * committed lines, is expected lines from @from on, with at most a torn
 * last line if it was killed. Returns the number of whole lines. */
static guint
check_attempt (Crash      *c,
               const char *text,
               guint64     from,
               gboolean    killed,
               guint       attempt)
{
  gsize len = strlen (text);
  gsize begin = c->line_offset[from];
  gsize whole = len;
  guint n;

  if (len > c->expected_len - begin || memcmp (text, c->expected + begin, len) != 0)
    {
      gsize i = 0;
      while (i < len && begin + i < c->expected_len && text[i] == c->expected[begin + i])
        i++;
      g_error ("attempt %u (resumed after %" G_GUINT64_FORMAT " lines) printed something else "
               "than the expected lines from there on, at its byte %zu", attempt, from, i);
    }
  while (whole > 0 && text[whole - 1] != '\n')
    whole--;
  if (whole != len && !killed)
    g_error ("attempt %u ended with a torn line but was not killed", attempt);

  for (n = 0; c->line_offset[from + n] < begin + whole; n++)
    ;
  g_assert_cmpuint (c->line_offset[from + n], ==, begin + whole);
  return n;
}

static void
test_crash_stdout (gconstpointer data)
{
  Crash c = { 0 };
  g_autoptr(GRand) rand = NULL;
  g_autofree char *ref_dir = NULL;
  g_autofree char *ref_text = NULL;
  g_autofree char *ref_states = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *states = NULL;
  g_autofree char *log = NULL;
  g_autofree char *err_log = NULL;
  g_autofree guint8 *seen = NULL;
  guint kills = 0, attempts = 0, completed_early = 0, torn = 0;
  guint64 duplicates = 0, from = 0, lines, written;
  gboolean done = FALSE;
  gint64 start = g_get_monotonic_time ();

  c.discard = GPOINTER_TO_UINT (data);
  crash_init (&c);
  rand = g_rand_new_with_seed ((guint32) c.seed ^ 0x5eed);
  log = g_build_filename (c.work, "stdout.txt", NULL);
  err_log = g_build_filename (c.work, "stderr.txt", NULL);
  seen = g_new0 (guint8, c.lines);

  ref_dir = rec_init_dir (c.partitions);
  wait_exit (spawn_flow (&c, "-", ref_dir, 1000, "0", log, err_log), err_log);
  ref_text = rec_read_file (log);
  assert_same_lines ("the uninterrupted run's standard output", ref_text, c.expected);
  ref_states = final_states (ref_dir);

  dir = rec_init_dir (c.partitions);
  while (!done)
    {
      guint batch = DRAW (rand, batch_sizes);
      const char *backup = DRAW (rand, backups);
      gboolean last = kills >= c.kills || attempts >= 3 * c.kills;
      gboolean killed = FALSE;
      g_autofree char *text = NULL;
      gint64 target, early;
      guint n;
      GPid pid;

      draw_kill (rand, kills, c.kills, c.expected_len, &target, &early);
      /* The watched file is this attempt's output, which starts at the
       * committed line. */
      target = MAX (0, target - (gint64) c.line_offset[from]);
      pid = spawn_flow (&c, "-", dir, batch, backup, log, err_log);
      attempts++;
      if (last)
        wait_exit (pid, err_log);
      else
        killed = kill_at (pid, log, target, early, rand, err_log);
      if (killed)
        kills++;
      else if (!last)
        completed_early++;

      text = rec_read_file (log);
      n = check_attempt (&c, text, from, killed, attempts);
      for (guint i = 0; i < n; i++)
        seen[from + i]++;

      torn += committed (dir, &lines, &written);
      /* No loss: every committed line was printed before the commit. */
      if (lines > from + n)
        g_error ("attempt %u: %" G_GUINT64_FORMAT " lines committed, but only %" G_GUINT64_FORMAT
                 " printed", attempts, lines, from + n);
      g_assert_cmpuint (lines, >=, from);
      /* What the next attempt prints again is what this one printed after
       * the last commit: the replayed epochs. */
      duplicates += from + n - lines;
      if (last)
        {
          g_assert_cmpuint (from + n, ==, c.lines);
          done = TRUE;
        }
      from = lines;
    }

  for (guint i = 0; i < c.lines; i++)
    if (seen[i] == 0)
      g_error ("line %u of the expected output was never printed", i + 1);

  states = final_states (dir);
  g_assert_cmpstr (states, ==, ref_states);

  g_test_message ("stdout: %u kills (%u between the commits of two partitions), %u runs, "
                  "%u completed before their kill, %" G_GUINT64_FORMAT " lines printed again "
                  "after a kill, %.2f s",
                  kills, torn, attempts, completed_early, duplicates,
                  (g_get_monotonic_time () - start) / 1e6);
  g_assert_cmpuint (kills, >=, MIN (c.kills, 20));

  rec_rm_rf (ref_dir);
  rec_rm_rf (dir);
  crash_clear (&c);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func ("/crash/file-sink", GUINT_TO_POINTER (0), test_crash_file_sink);
  g_test_add_data_func ("/crash/stdout", GUINT_TO_POINTER (0), test_crash_stdout);
  /* Every 7th line discards its key's state: tombstones, and garbage
   * collection of them, under the kills. */
  g_test_add_data_func ("/crash/discarding/file-sink", GUINT_TO_POINTER (7), test_crash_file_sink);

  return g_test_run ();
}
