/* test-join-crash.c: kill a join with SIGKILL while it holds state, resume
 * it, and compare with an uninterrupted run.
 *
 * The flow (join-crash-flow) joins two files of numbers by key: the left
 * file counts up, the right file counts down, so that for most of the run
 * the join holds many keys with one side only. It runs as a child process
 * with -r DIR over 2 recovery partitions and is killed (SIGKILL) when the
 * left side has been read to given points (its lines are also written to
 * a progress file that the test watches), a few milliseconds later. After
 * each kill, `flow-recovery show` must show the join's keys with their
 * sides. The last run completes; its output file (a FileSink: exactly
 * once) must hold the same rows as an uninterrupted run's, each once.
 *
 * In "complete" mode a key is emitted when its second side arrives,
 * during the run; in "final" mode every key is emitted at the end of
 * input, so every row comes from state that went through the kills.
 *
 * The order of the rows depends on how the runner interleaves the two
 * inputs (it differs from run to run); the rows are compared sorted.
 *
 * Environment: FLOW_JOIN_CRASH_LINES (default 20000) lines per side.
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

typedef struct
{
  const char *mode;
  char       *work;
  char       *left;
  char       *right;
  guint       lines;
} JoinCrash;

static char *program;

static gint64
file_size (const char *path)
{
  struct stat st;

  if (g_stat (path, &st) != 0)
    return 0;
  return st.st_size;
}

static GPid
spawn_flow (JoinCrash  *c,
            const char *dir,
            const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = g_strdup_printf ("%s/%s.txt", c->work, name);
  g_autofree char *progress = g_strdup_printf ("%s/%s-progress.txt", c->work, name);
  g_autofree char *err_path = g_strdup_printf ("%s/%s-stderr.txt", c->work, name);
  g_auto(GStrv) envp = g_environ_setenv (g_get_environ (), "JOIN_CRASH_BATCH", "16", TRUE);
  const char *argv[] = { program, c->mode, c->left, c->right, out, progress,
                         "-r", dir, "-s", "0.01", NULL };
  int err_fd = g_open (err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  GPid pid = 0;

  g_assert_cmpint (err_fd, >=, 0);
  g_spawn_async_with_fds (NULL, (char **) argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                          &pid, -1, -1, err_fd, &error);
  g_assert_no_error (error);
  close (err_fd);
  return pid;
}

static void
assert_exit_ok (int         status,
                JoinCrash  *c,
                const char *name)
{
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      g_autofree char *err_path = g_strdup_printf ("%s/%s-stderr.txt", c->work, name);
      g_autofree char *err = rec_read_file (err_path);

      g_error ("join-crash-flow failed (status %d): %s", status, err);
    }
}

/* Runs the flow on @dir to its end. */
static void
run_to_end (JoinCrash  *c,
            const char *dir,
            const char *name)
{
  GPid pid = spawn_flow (c, dir, name);
  int status = 0;

  while (waitpid (pid, &status, 0) < 0)
    g_assert_cmpint (errno, ==, EINTR);
  assert_exit_ok (status, c, name);
}

/* Runs the flow on @dir and kills it once its progress file reached
 * @target bytes, @extra_usec later. Returns FALSE if it ended first. */
static gboolean
run_and_kill (JoinCrash  *c,
              const char *dir,
              const char *name,
              gint64      target,
              gint64      extra_usec)
{
  g_autofree char *progress = g_strdup_printf ("%s/%s-progress.txt", c->work, name);
  GPid pid = spawn_flow (c, dir, name);
  int status = 0;

  for (;;)
    {
      pid_t r = waitpid (pid, &status, WNOHANG);

      if (r == pid)
        {
          assert_exit_ok (status, c, name);
          return FALSE;
        }
      g_assert_cmpint (r, ==, 0);
      if (file_size (progress) >= target)
        break;
      g_usleep (200);
    }
  g_usleep (extra_usec);
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  while (waitpid (pid, &status, 0) < 0)
    g_assert_cmpint (errno, ==, EINTR);
  if (WIFSIGNALED (status))
    return TRUE;
  assert_exit_ok (status, c, name);
  return FALSE;
}

static int
compare_strings (const void *a,
                 const void *b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* The lines of @path, sorted. */
static GStrv
read_sorted (const char *path)
{
  g_autofree char *text = rec_read_file (path);
  GStrv lines;

  g_assert_nonnull (text);
  g_assert_true (g_str_has_suffix (text, "\n"));
  text[strlen (text) - 1] = '\0';
  lines = g_strsplit (text, "\n", -1);

  qsort (lines, g_strv_length (lines), sizeof (char *), compare_strings);
  return lines;
}

/* The join's keys in `flow-recovery show DIR`, and one of its lines. */
static guint
shown_join_keys (const char  *dir,
                 char       **example)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *at;
  guint n = 0;

  if (rec_tool (&out, &err, "show", dir, NULL) != 0)
    g_error ("flow-recovery show %s failed after a kill: %s%s", dir, out, err);
  at = strstr (out, "  joincrash.join (");
  if (at == NULL)
    return 0;
  if (sscanf (at, "  joincrash.join (%u key", &n) != 1)
    g_error ("cannot read the join's keys in:\n%s", out);
  at = strstr (at, "\n    'k");
  if (at != NULL && example != NULL)
    {
      const char *end = strchr (at + 1, '\n');

      *example = g_strndup (at + 1, end ? (gsize) (end - at - 1) : strlen (at + 1));
    }
  return n;
}

static void
test_join_crash (gconstpointer data)
{
  JoinCrash c = { .mode = data };
  const char *env_lines = g_getenv ("FLOW_JOIN_CRASH_LINES");
  g_autofree char *dir0 = rec_init_dir (2);
  g_autofree char *dir = rec_init_dir (2);
  g_autofree char *out0 = NULL;
  g_autofree char *out = NULL;
  g_auto(GStrv) rows0 = NULL;
  g_auto(GStrv) rows = NULL;
  GString *left = g_string_new (NULL);
  GString *right = g_string_new (NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (20241129);
  static const double points[] = { 0.1, 0.3, 0.5, 0.7 };
  guint kills = 0, kills_with_state = 0;
  gint64 left_size;

  c.lines = env_lines ? (guint) atoi (env_lines) : 20000;
  c.work = rec_tmpdir ();
  c.left = g_build_filename (c.work, "left.txt", NULL);
  c.right = g_build_filename (c.work, "right.txt", NULL);
  for (guint i = 0; i < c.lines; i++)
    {
      g_string_append_printf (left, "%u\n", i);
      g_string_append_printf (right, "%u\n", c.lines - 1 - i);
    }
  rec_write_file (c.left, left->str);
  rec_write_file (c.right, right->str);
  left_size = (gint64) left->len;
  g_string_free (left, TRUE);
  g_string_free (right, TRUE);

  /* The uninterrupted run: every key once, (n, 2n). */
  run_to_end (&c, dir0, "uninterrupted");
  out0 = g_strdup_printf ("%s/uninterrupted.txt", c.work);
  rows0 = read_sorted (out0);
  g_assert_cmpuint (g_strv_length (rows0), ==, c.lines);
  g_assert_cmpstr (rows0[0], ==, "('k000000', (0, 0))");
  g_assert_cmpstr (rows0[1], ==, "('k000001', (1, 2))");

  /* Killed at several points of the left side, then run to the end. */
  for (guint i = 0; i < G_N_ELEMENTS (points); i++)
    {
      gint64 target = (gint64) (points[i] * (double) left_size);
      g_autofree char *example = NULL;
      guint keys;

      if (!run_and_kill (&c, dir, "crashed", target, g_rand_int_range (rand, 0, 20000)))
        break;
      kills++;
      keys = shown_join_keys (dir, &example);
      if (keys > 0)
        {
          kills_with_state++;
          /* A key's sides, readably: 'k000123': [[123], []] */
          g_assert_nonnull (example);
          g_assert_true (strstr (example, "': [[") != NULL || strstr (example, "': [[], [") != NULL);
          g_test_message ("kill %u: the join held %u keys, e.g. %s", kills, keys, example);
        }
    }
  g_assert_cmpuint (kills, >, 0);
  g_assert_cmpuint (kills_with_state, >, 0);

  run_to_end (&c, dir, "crashed");
  out = g_strdup_printf ("%s/crashed.txt", c.work);
  rows = read_sorted (out);
  rec_assert_strv (rows, rows0);

  rec_rm_rf (c.work);
  g_free (c.work);
  g_free (c.left);
  g_free (c.right);
  rec_rm_rf (dir0);
  rec_rm_rf (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  program = g_strdup (g_getenv ("FLOW_JOIN_CRASH_FLOW"));
  if (program == NULL)
    program = g_test_build_filename (G_TEST_BUILT, "recovery", "join-crash-flow", NULL);

  g_test_add_data_func ("/join-crash/complete", "complete", test_join_crash);
  g_test_add_data_func ("/join-crash/final", "final", test_join_crash);

  {
    int ret = g_test_run ();
    g_free (program);
    return ret;
  }
}
