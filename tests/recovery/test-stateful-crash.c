/* test-stateful-crash.c: SIGKILL a flow whose `stateful` logics hold lines
 * back until a notification, resume it, and compare with an uninterrupted
 * run.
 *
 * stateful-crash-flow (see there) keys numbered lines over 10 keys; each
 * key's logic keeps a running sum and emits its lines 20 ms after the
 * first one it held (a notification), or at the end of input. The test
 * runs it once uninterrupted, then again over fresh recovery partitions,
 * killing it (SIGKILL) when its output reached a drawn size, several times,
 * and lets the last run complete. Killed runs mostly leave logics with
 * held lines and pending notifications in the committed snapshot (checked
 * with `flow-recovery show`, which must print them). The output must hold
 * exactly the uninterrupted run's lines, each once (the file sink is
 * exactly-once), and each key's lines in input order; only the
 * interleaving of keys may differ, as notifications fire by the clock.
 *
 * Environment: FLOW_STATEFUL_CRASH_SEED, FLOW_STATEFUL_CRASH_KILLS.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "recovery-common.h"

#define N_LINES 40000

static gint64
file_size (const char *path)
{
  struct stat st;

  return g_stat (path, &st) == 0 ? (gint64) st.st_size : 0;
}

static GPid
spawn_flow (const char *program,
            const char *input,
            const char *output,
            const char *dir,
            const char *err_path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  int err_fd = g_open (err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  GPid pid = 0;

  g_ptr_array_add (argv, (gpointer) program);
  g_ptr_array_add (argv, (gpointer) input);
  g_ptr_array_add (argv, (gpointer) output);
  if (dir != NULL)
    {
      g_ptr_array_add (argv, (gpointer) "-r");
      g_ptr_array_add (argv, (gpointer) dir);
      g_ptr_array_add (argv, (gpointer) "-s");
      g_ptr_array_add (argv, (gpointer) "0.01");
      g_ptr_array_add (argv, (gpointer) "-b");
      g_ptr_array_add (argv, (gpointer) "0");
    }
  g_ptr_array_add (argv, NULL);
  g_assert_cmpint (err_fd, >=, 0);
  g_spawn_async_with_fds (NULL, (char **) argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                          &pid, -1, -1, err_fd, &error);
  g_assert_no_error (error);
  close (err_fd);
  return pid;
}

static void
check_exit (int         status,
            const char *err_path)
{
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      g_autofree char *err = rec_read_file (err_path);
      g_error ("stateful-crash-flow failed (status %d): %s", status, err);
    }
}

/* Kills @pid once @output has @target bytes (and @extra_usec later);
 * returns FALSE if it completed first. */
static gboolean
kill_at (GPid        pid,
         const char *output,
         gint64      target,
         gint64      extra_usec,
         const char *err_path)
{
  int status = 0;

  for (;;)
    {
      pid_t r = waitpid (pid, &status, WNOHANG);

      if (r == pid)
        {
          check_exit (status, err_path);
          return FALSE;
        }
      g_assert_cmpint (r, ==, 0);
      if (file_size (output) >= target)
        break;
      g_usleep (200);
    }
  g_usleep (extra_usec);
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  while (waitpid (pid, &status, 0) < 0)
    g_assert_cmpint (errno, ==, EINTR);
  if (WIFSIGNALED (status))
    return TRUE;
  check_exit (status, err_path);
  return FALSE;
}

static GStrv
read_lines (const char *path)
{
  g_autofree char *text = rec_read_file (path);
  gsize len = strlen (text);

  if (len > 0 && text[len - 1] == '\n')
    text[len - 1] = '\0';
  return g_strsplit (text, "\n", -1);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* Each key's lines, in order: "('k3', '13 13')" ... */
static GStrv
lines_of_key (char       **lines,
              const char  *key)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new ();
  g_autofree char *prefix = g_strdup_printf ("('%s', ", key);

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], prefix))
      g_ptr_array_add (out, g_strdup (lines[i]));
  g_ptr_array_add (out, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

static void
test_stateful_crash (void)
{
  const char *program = g_getenv ("FLOW_STATEFUL_CRASH_FLOW");
  const char *seed_s = g_getenv ("FLOW_STATEFUL_CRASH_SEED");
  const char *kills_s = g_getenv ("FLOW_STATEFUL_CRASH_KILLS");
  guint64 seed = seed_s ? g_ascii_strtoull (seed_s, NULL, 10) : 20261129;
  guint kills = kills_s ? (guint) g_ascii_strtoull (kills_s, NULL, 10) : 8;
  g_autofree char *work = rec_tmpdir ();
  g_autofree char *input = g_build_filename (work, "input.txt", NULL);
  g_autofree char *ref_out = g_build_filename (work, "reference.txt", NULL);
  g_autofree char *out = g_build_filename (work, "output.txt", NULL);
  g_autofree char *err_path = g_build_filename (work, "stderr.txt", NULL);
  g_autofree char *dir = rec_init_dir (2);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed);
  g_auto(GStrv) expected = NULL;
  g_auto(GStrv) got = NULL;
  guint n_killed = 0, n_pending = 0;
  gint64 ref_size;
  int status = 0;
  GPid pid;

  g_assert_nonnull (program);
  for (guint i = 0; i < N_LINES; i++)
    g_string_append_printf (text, "%u\n", i);
  rec_write_file (input, text->str);

  /* The uninterrupted run. */
  pid = spawn_flow (program, input, ref_out, NULL, err_path);
  while (waitpid (pid, &status, 0) < 0)
    g_assert_cmpint (errno, ==, EINTR);
  check_exit (status, err_path);
  expected = read_lines (ref_out);
  g_assert_cmpuint (g_strv_length (expected), ==, N_LINES);
  ref_size = file_size (ref_out);

  /* Killed runs, resumed, until one completes. */
  g_test_message ("seed %" G_GUINT64_FORMAT ", %u kills", seed, kills);
  for (guint k = 0;; k++)
    {
      gboolean killed;

      pid = spawn_flow (program, input, out, dir, err_path);
      if (k >= kills)
        {
          while (waitpid (pid, &status, 0) < 0)
            g_assert_cmpint (errno, ==, EINTR);
          check_exit (status, err_path);
          break;
        }
      killed = kill_at (pid, out,
                        (gint64) g_rand_double_range (rand, 0, (double) ref_size),
                        g_rand_int_range (rand, 0, 20000), err_path);
      if (!killed)
        break;
      n_killed++;

      /* What was committed reads back, the logics' states readably. */
      {
        g_autofree char *states = rec_show_states (dir);
        if (strstr (states, "crash.hold") != NULL)
          {
            g_assert_nonnull (strstr (states, "'k"));
            /* a logic holding lines, its notification pending */
            if (g_regex_match_simple ("crash\\.hold.*\\(-?[0-9]+, [0-9]+, \\['", states,
                                      G_REGEX_DOTALL, 0))
              n_pending++;
          }
      }
    }
  g_test_message ("%u runs killed, %u with pending notifications committed", n_killed, n_pending);
  g_assert_cmpuint (n_killed, >, 0);

  got = read_lines (out);
  /* Each line once... */
  {
    g_autoptr(GPtrArray) a = g_ptr_array_new ();
    g_autoptr(GPtrArray) b = g_ptr_array_new ();

    for (guint i = 0; expected[i] != NULL; i++)
      g_ptr_array_add (a, expected[i]);
    for (guint i = 0; got[i] != NULL; i++)
      g_ptr_array_add (b, got[i]);
    g_ptr_array_sort (a, compare_strings);
    g_ptr_array_sort (b, compare_strings);
    g_ptr_array_add (a, NULL);
    g_ptr_array_add (b, NULL);
    rec_assert_strv (b->pdata, a->pdata);
  }
  /* ...and each key's in input order. */
  for (guint k = 0; k < 10; k++)
    {
      g_autofree char *key = g_strdup_printf ("k%u", k);
      g_auto(GStrv) want = lines_of_key (expected, key);
      g_auto(GStrv) have = lines_of_key (got, key);

      rec_assert_strv (have, want);
    }
  rec_rm_rf (dir);
  rec_rm_rf (work);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/crash/stateful-notifications", test_stateful_crash);
  return g_test_run ();
}
