/* test-crash.c: kill a flow with SIGKILL at random moments, resume it, and
 * compare with one uninterrupted run.
 *
 * The flow (crash-flow) reads a file of numbered lines, keys them over 100
 * keys, keeps a running sum per key and writes each sum to a FileSink (or
 * to standard output). It runs as a child process with -r DIR over 4
 * recovery partitions and is killed at moments drawn from a seeded random
 * generator: mostly when its output reached a drawn point (stratified over
 * the whole run) plus up to two epochs, sometimes a few milliseconds after
 * it started (while it opens the partitions). Each run draws a batch size
 * (1, 7, 64, 1000), a snapshot interval (-s 0.005 or 0.02) and a backup
 * interval (-b 0, 0.03 or 3600). A run that completes before all the kills
 * were made ends a round, which is checked; the next round starts afresh.
 *
 * After every run: the partitions can be read by `flow-recovery show`, the
 * committed input position and sink offset agree, and the output file is
 * the start of the expected output. At the end of a round: the file equals
 * the uninterrupted run's, line for line, and so do the final states. The
 * stdout variant checks that each run prints exactly the expected lines
 * from the committed position on, that nothing committed went unprinted
 * and that every line was printed.
 *
 * Environment (for longer runs):
 *   FLOW_CRASH_SEED        seed of the kill moments (default 20240601)
 *   FLOW_CRASH_KILLS       kills per test (default 100)
 *   FLOW_CRASH_LINES       lines of input (default 100000)
 *   FLOW_CRASH_PARTITIONS  recovery partitions (default 4)
 *   FLOW_CRASH_FLOW        the crash-flow program (default: the built one)
 *   FLOW_CRASH_WORKER_KILLS  kills of /crash/workers/file-sink (default 60)
 *
 * /crash/workers/file-sink starts each round with 2 workers and resumes
 * with 1, 2 or 3 drawn at random; the output's order between keys then
 * depends on the threads, so it is compared per key: each key's lines
 * come once each, in order (exactly-once), and all of them at the end.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <stdio.h>
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
#define CRASH_WORKERS 0x10000   /* test data: runs with several workers */

typedef struct
{
  guint64  seed;
  guint    discard;       /* every this many lines discards a key (0: never) */
  guint    window;        /* tumbling windows of this many lines (0: none) */
  guint    kills;
  guint    lines;
  guint    partitions;
  char    *program;
  char    *work;
  char    *input;
  char    *expected;      /* the output, computed here */
  gsize    expected_len;
  gsize   *line_offset;   /* byte offset of each expected line, and the end */
  gboolean workers;       /* runs with several workers: compared per key */
  GPtrArray *per_key[N_KEYS]; /* the expected lines of each key, in order */
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

static int
sort_strings (gconstpointer a,
              gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

static void
crash_init (Crash *c)
{
  GString *input = g_string_new (NULL);
  GString *expected = g_string_new (NULL);
  gint64 sums[N_KEYS] = { 0 };
  g_autoptr(GError) error = NULL;

  c->seed = env_uint ("FLOW_CRASH_SEED", 20240601);
  c->kills = env_uint ("FLOW_CRASH_KILLS", 100);
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
  for (guint k = 0; k < N_KEYS; k++)
    c->per_key[k] = g_ptr_array_new_with_free_func (g_free);
  for (guint n = 1; n <= c->lines; n++)
    g_ptr_array_add (c->per_key[n % N_KEYS],
                     g_strndup (expected->str + c->line_offset[n - 1],
                                c->line_offset[n] - c->line_offset[n - 1] - 1));
  if (c->window > 0)
    {
      /* Windowed: line n is at n s of event time; each key's lines are
       * summed per window of c->window s. The expected output is every
       * (key, (window, sum)) line, sorted (in which order windows of
       * different keys close depends on the batches). */
      guint n_windows = c->lines / c->window + 1;
      gint64 *wsums = g_new0 (gint64, (gsize) n_windows * N_KEYS);
      gboolean *seen = g_new0 (gboolean, (gsize) n_windows * N_KEYS);
      g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

      for (guint n = 1; n <= c->lines; n++)
        {
          gsize i = (gsize) (n / c->window) * N_KEYS + n % N_KEYS;
          wsums[i] += n;
          seen[i] = TRUE;
        }
      for (gsize i = 0; i < (gsize) n_windows * N_KEYS; i++)
        if (seen[i])
          g_ptr_array_add (lines, g_strdup_printf ("('k%02u', (%" G_GSIZE_FORMAT ", %" G_GINT64_FORMAT "))",
                                                   (guint) (i % N_KEYS), i / N_KEYS, wsums[i]));
      g_ptr_array_sort (lines, sort_strings);
      g_string_truncate (expected, 0);
      for (guint i = 0; i < lines->len; i++)
        g_string_append_printf (expected, "%s\n", (char *) g_ptr_array_index (lines, i));
      g_free (wsums);
      g_free (seen);
    }
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
  for (guint k = 0; k < N_KEYS; k++)
    g_clear_pointer (&c->per_key[k], g_ptr_array_unref);
}

static gint64
file_size (const char *path)
{
  struct stat st;

  if (g_stat (path, &st) != 0)
    return 0;
  return st.st_size;
}

/* How one run is started and when it is killed. */
typedef struct
{
  guint       batch;        /* the file source's batch size */
  const char *snapshot;     /* -s */
  const char *backup;       /* -b */
  gint64      target;       /* kill when the watched output has this many bytes… */
  gint64      extra_usec;   /* …and this much later; */
  gint64      early_usec;   /* or this long after the start, if not 0 */
  guint       workers;      /* -w (0: not given) */
} Plan;

/* Spawns crash-flow INPUT OUTPUT -r DIR -s S -b B with standard output to
 * @stdout_path (and standard error to @stderr_path). */
static GPid
spawn_flow (Crash      *c,
            const char *output,
            const char *dir,
            const Plan *plan,
            const char *stdout_path,
            const char *stderr_path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *batch_s = g_strdup_printf ("%u", plan->batch);
  g_autofree char *discard_s = g_strdup_printf ("%u", c->discard);
  g_auto(GStrv) envp = g_environ_setenv (g_get_environ (), "CRASH_FLOW_BATCH", batch_s, TRUE);
  g_autofree char *workers_s = g_strdup_printf ("%u", MAX (plan->workers, 1));
  const char *argv[] = { c->program, c->input, output, "-r", dir,
                         "-s", plan->snapshot, "-b", plan->backup, "-w", workers_s, NULL };
  int out_fd;
  int err_fd;
  GPid pid = 0;

  envp = g_environ_setenv (envp, "CRASH_FLOW_DISCARD", discard_s, TRUE);
  if (c->window > 0)
    {
      g_autofree char *window_s = g_strdup_printf ("%u", c->window);
      envp = g_environ_setenv (envp, "CRASH_FLOW_WINDOW", window_s, TRUE);
    }
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

/* Waits for @pid to exit, which it must do successfully; returns 0. */
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

/* Kills @pid as @plan says, watching the size of @watched. Returns TRUE
 * if it was killed, FALSE if it exited by itself (successfully) first. */
static gboolean
kill_at (GPid        pid,
         const char *watched,
         const Plan *plan,
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
      if (plan->early_usec > 0 ? g_get_monotonic_time () - start >= plan->early_usec
                               : file_size (watched) >= plan->target)
        break;
      g_usleep (100);
    }

  if (plan->early_usec == 0)
    g_usleep (plan->extra_usec);
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
static const char *snapshots[] = { "0.005", "0.02" };
/* Backup intervals: mostly none, sometimes about an epoch or two (so
 * garbage collection runs on a time horizon), sometimes longer than the
 * test. */
static const char *backups[] = { "0", "0", "0.03", "3600" };
#define DRAW(rand, array) (array[g_rand_int_range (rand, 0, G_N_ELEMENTS (array))])

/* The plan of kill @k of @n: at a point of the expected output, stratified
 * so the kills spread over the whole run, plus up to two epochs (so it
 * lands before, during or after a commit); or, one time in six, a few
 * milliseconds after the start. */
static void
draw_plan (GRand *rand,
           guint  k,
           guint  n,
           gsize  total,
           Plan  *plan)
{
  double where = (k + g_rand_double (rand)) / n;

  plan->workers = 0;
  plan->batch = DRAW (rand, batch_sizes);
  plan->snapshot = DRAW (rand, snapshots);
  plan->backup = DRAW (rand, backups);
  plan->target = (gint64) (where * total);
  plan->extra_usec = g_rand_int_range (rand, 0, (int) (2e6 * g_ascii_strtod (plan->snapshot, NULL)) + 1);
  plan->early_usec = g_rand_int_range (rand, 0, 6) == 0 ? g_rand_int_range (rand, 500, 8000) : 0;
}

static const Plan last_plan = { 64, "0.02", "0", 0, 0, 0 };

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

/* With several workers the order between keys is not defined: checks
 * that, per key, @text (maybe ending in a torn line) holds the start of
 * the key's expected lines, each once; with @whole, all of them. */
static void
assert_per_key (Crash      *c,
                const char *text,
                gboolean    whole,
                const char *what)
{
  guint pos[N_KEYS] = { 0 };
  const char *line = text;
  guint n = 0;

  /* Whole lines only: what follows the last newline is a torn line (or
   * nothing). No allocation per line: this runs after every kill. */
  for (const char *end; (end = strchr (line, '\n')) != NULL; line = end + 1, n++)
    {
      gsize len = end - line;
      const char *want;
      guint k;

      if (len < 6 || strncmp (line, "('k", 3) != 0 ||
          !g_ascii_isdigit (line[3]) || !g_ascii_isdigit (line[4]) || line[5] != '\'')
        g_error ("%s: line %u is not an output line: '%.*s'", what, n + 1, (int) len, line);
      k = (line[3] - '0') * 10 + (line[4] - '0');
      want = pos[k] < c->per_key[k]->len ? g_ptr_array_index (c->per_key[k], pos[k]) : NULL;
      if (want == NULL || strlen (want) != len || memcmp (want, line, len) != 0)
        g_error ("%s: line %u is '%.*s', but the next of key k%02u is '%s' "
                 "(its line %u; each key's lines must come once, in order)", what, n + 1,
                 (int) len, line, k, want != NULL ? want : "(none)", pos[k] + 1);
      pos[k]++;
    }
  if (whole)
    {
      g_assert_cmpstr (line, ==, "");
      for (guint k = 0; k < N_KEYS; k++)
        if (pos[k] != c->per_key[k]->len)
          g_error ("%s: key k%02u has %u lines, not %u", what, k, pos[k], c->per_key[k]->len);
    }
}

/* Checks that @path holds the start of the expected output. */
static void
assert_output_prefix (Crash      *c,
                      const char *path,
                      guint       run,
                      guint64    lines_before)
{
  g_autofree char *text = NULL;
  gsize len = 0, i = 0;

  /* A run killed early may not have created the file yet. */
  if (g_file_get_contents (path, &text, &len, NULL))
    g_assert_cmpuint (strlen (text), ==, len);
  if (c->workers)
    {
      g_autofree char *what = g_strdup_printf ("after run %u, which resumed after %"
                                               G_GUINT64_FORMAT " committed lines, the output file",
                                               run, lines_before);
      assert_per_key (c, text != NULL ? text : "", FALSE, what);
      return;
    }

  while (i < len && i < c->expected_len && text[i] == c->expected[i])
    i++;
  if (i < len)
    {
      guint line = 0;
      while (line < c->lines && c->line_offset[line + 1] <= i)
        line++;
      g_error ("after run %u, which resumed after %" G_GUINT64_FORMAT " committed lines, "
               "the output file is not the start of the expected output: it differs at "
               "line %u (byte %zu of %zu)", run, lines_before, line + 1, i, len);
    }
}

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
  g_autofree char *out = NULL;
  g_autofree char *log = NULL;
  g_autofree char *err_log = NULL;
  char *dir = NULL;
  guint kills = 0, kills_in_round = 0, runs = 0, rounds = 0, completed_early = 0, torn = 0;
  guint64 lines = 0, written = 0;
  gint64 start = g_get_monotonic_time ();

  c.discard = GPOINTER_TO_UINT (data) & 0xffff;
  c.workers = (GPOINTER_TO_UINT (data) & CRASH_WORKERS) != 0;
  crash_init (&c);
  if (c.workers)
    c.kills = env_uint ("FLOW_CRASH_WORKER_KILLS", 60);
  rand = g_rand_new_with_seed ((guint32) c.seed);
  log = g_build_filename (c.work, "stdout.txt", NULL);
  err_log = g_build_filename (c.work, "stderr.txt", NULL);

  /* One uninterrupted run. */
  ref_dir = rec_init_dir (c.partitions);
  ref_work = g_build_filename (c.work, "ref", NULL);
  g_assert_cmpint (g_mkdir (ref_work, 0755), ==, 0);
  ref_out = g_build_filename (ref_work, "out.txt", NULL);
  wait_exit (spawn_flow (&c, ref_out, ref_dir, &last_plan, log, err_log), err_log);
  ref_text = rec_read_file (ref_out);
  if (c.workers)
    assert_per_key (&c, ref_text, TRUE, "the uninterrupted run's output");
  else
    assert_same_lines ("the uninterrupted run's output", ref_text, c.expected);
  ref_states = final_states (ref_dir);
  g_test_message ("uninterrupted run: %.2f s", (g_get_monotonic_time () - start) / 1e6);

  /* Killed and resumed until it completes: a round. When a run completes
   * before all the kills were made, the round is checked and another one
   * starts from nothing; the last run of the last round is not killed. */
  out = g_build_filename (c.work, "out.txt", NULL);
  dir = rec_init_dir (c.partitions);
  for (;;)
    {
      gboolean last = kills >= c.kills;
      guint64 lines_before = lines;
      gboolean completed;
      Plan plan;
      GPid pid;

      if (last)
        plan = last_plan;
      else
        draw_plan (rand, kills_in_round, c.kills, c.expected_len, &plan);
      /* Several workers: a round starts with 2, each resume with 1, 2 or
       * 3 (the recovery partitions do not care how many wrote them). */
      if (c.workers)
        plan.workers = kills_in_round == 0 ? 2 : (guint) g_rand_int_range (rand, 1, 4);
      pid = spawn_flow (&c, out, dir, &plan, log, err_log);
      runs++;
      if (last)
        completed = wait_exit (pid, err_log) == 0;
      else
        completed = !kill_at (pid, out, &plan, err_log);
      if (!completed)
        {
          kills++;
          kills_in_round++;
        }

      /* The partitions are readable after any kill. */
      torn += committed (dir, &lines, &written);

      /* Exactly-once: whatever the runs wrote so far, committed or not, is
       * the start of the expected output (its last line maybe torn). */
      assert_output_prefix (&c, out, runs, lines_before);

      /* The committed states of the input and of the sink belong together. */
      g_assert_cmpuint (written, <=, c.expected_len);
      g_assert_cmpuint (written, ==, c.line_offset[lines]);
      g_assert_cmpint (file_size (out), >=, (gint64) written);

      if (completed)
        {
          g_autofree char *out_text = rec_read_file (out);
          g_autofree char *states = final_states (dir);

          if (c.workers)
            assert_per_key (&c, out_text, TRUE, "the output of the killed and resumed runs");
          else
            assert_same_lines ("the output of the killed and resumed runs", out_text, ref_text);
          g_assert_cmpstr (states, ==, ref_states);
          rounds++;
          rec_rm_rf (dir);
          g_free (dir);
          dir = NULL;
          if (last)
            break;
          completed_early++;
          g_assert_cmpint (g_remove (out), ==, 0);
          dir = rec_init_dir (c.partitions);
          kills_in_round = 0;
          lines = written = 0;
        }
    }

  g_test_message ("FileSink: %u kills (%u between the commits of two partitions), %u runs, "
                  "%u rounds, %.2f s", kills, torn, runs, rounds,
                  (g_get_monotonic_time () - start) / 1e6);
  g_assert_cmpuint (kills, >=, c.kills);

  rec_rm_rf (ref_dir);
  crash_clear (&c);
}

/* ------------------------------------------------------------------------
 * Standard output: at-least-once
 * ------------------------------------------------------------------------ */

/* Checks that the output of one run, which started after @from committed
 * lines, is expected lines from @from on, with at most a torn last line
 * if it was killed. Returns the number of whole lines. */
static guint
check_run (Crash      *c,
           const char *text,
           guint64     from,
           gboolean    killed,
           guint       run)
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
      g_error ("run %u (resumed after %" G_GUINT64_FORMAT " lines) printed something else "
               "than the expected lines from there on, at its byte %zu", run, from, i);
    }
  while (whole > 0 && text[whole - 1] != '\n')
    whole--;
  if (whole != len && !killed)
    g_error ("run %u ended with a torn line but was not killed", run);

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
  g_autofree char *log = NULL;
  g_autofree char *err_log = NULL;
  g_autofree guint8 *seen = NULL;
  char *dir = NULL;
  guint kills = 0, kills_in_round = 0, runs = 0, rounds = 0, torn = 0;
  guint64 duplicates = 0, from = 0, lines, written;
  gint64 start = g_get_monotonic_time ();

  c.discard = GPOINTER_TO_UINT (data);
  crash_init (&c);
  rand = g_rand_new_with_seed ((guint32) c.seed ^ 0x5eed);
  log = g_build_filename (c.work, "stdout.txt", NULL);
  err_log = g_build_filename (c.work, "stderr.txt", NULL);
  seen = g_new0 (guint8, c.lines);

  ref_dir = rec_init_dir (c.partitions);
  wait_exit (spawn_flow (&c, "-", ref_dir, &last_plan, log, err_log), err_log);
  ref_text = rec_read_file (log);
  assert_same_lines ("the uninterrupted run's standard output", ref_text, c.expected);
  ref_states = final_states (ref_dir);

  dir = rec_init_dir (c.partitions);
  for (;;)
    {
      gboolean last = kills >= c.kills;
      gboolean completed;
      g_autofree char *text = NULL;
      guint n;
      Plan plan;
      GPid pid;

      if (last)
        plan = last_plan;
      else
        {
          draw_plan (rand, kills_in_round, c.kills, c.expected_len, &plan);
          /* The watched file is this run's output, which starts at the
           * committed line. */
          plan.target = MAX (0, plan.target - (gint64) c.line_offset[from]);
        }
      pid = spawn_flow (&c, "-", dir, &plan, log, err_log);
      runs++;
      if (last)
        completed = wait_exit (pid, err_log) == 0;
      else
        completed = !kill_at (pid, log, &plan, err_log);
      if (!completed)
        {
          kills++;
          kills_in_round++;
        }

      text = rec_read_file (log);
      n = check_run (&c, text, from, !completed, runs);
      for (guint i = 0; i < n; i++)
        seen[from + i] = 1;

      torn += committed (dir, &lines, &written);
      /* No loss: every committed line was printed before the commit. */
      if (lines > from + n)
        g_error ("run %u: %" G_GUINT64_FORMAT " lines committed, but only %" G_GUINT64_FORMAT
                 " printed", runs, lines, from + n);
      g_assert_cmpuint (lines, >=, from);
      /* What the next run prints again is what this one printed after the
       * last commit: the replayed epochs. */
      duplicates += from + n - lines;
      from = lines;

      if (completed)
        {
          g_autofree char *states = final_states (dir);

          g_assert_cmpuint (lines, ==, c.lines);
          for (guint i = 0; i < c.lines; i++)
            if (!seen[i])
              g_error ("line %u of the expected output was never printed", i + 1);
          g_assert_cmpstr (states, ==, ref_states);
          rounds++;
          rec_rm_rf (dir);
          g_free (dir);
          dir = NULL;
          if (last)
            break;
          dir = rec_init_dir (c.partitions);
          memset (seen, 0, c.lines);
          kills_in_round = 0;
          from = 0;
        }
    }

  g_test_message ("stdout: %u kills (%u between the commits of two partitions), %u runs, "
                  "%u rounds, %" G_GUINT64_FORMAT " lines printed again after a kill, %.2f s",
                  kills, torn, runs, rounds, duplicates, (g_get_monotonic_time () - start) / 1e6);
  g_assert_cmpuint (kills, >=, c.kills);

  rec_rm_rf (ref_dir);
  crash_clear (&c);
}

/* ------------------------------------------------------------------------
 * Windows: each window once, with all its items
 * ------------------------------------------------------------------------ */

/* The whole lines of @text, sorted (a torn last line is left out). */
static GPtrArray *
sorted_lines (const char *text)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  const char *at = text;

  for (const char *nl; (nl = strchr (at, '\n')) != NULL; at = nl + 1)
    g_ptr_array_add (lines, g_strndup (at, nl - at));
  g_ptr_array_sort (lines, sort_strings);
  return lines;
}

/* Checks that the window results in @path so far are expected ones, each
 * at most once (exactly-once: no window emitted twice across kills). */
static void
assert_windows_so_far (Crash      *c,
                       const char *path,
                       guint       run)
{
  g_autofree char *text = NULL;
  g_autoptr(GPtrArray) got = NULL;
  g_autoptr(GHashTable) expected = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) want = sorted_lines (c->expected);

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return;
  for (guint i = 0; i < want->len; i++)
    g_hash_table_add (expected, g_ptr_array_index (want, i));
  got = sorted_lines (text);
  for (guint i = 0; i < got->len; i++)
    {
      const char *line = g_ptr_array_index (got, i);

      if (!g_hash_table_contains (expected, line))
        g_error ("after run %u, the output has '%s', which is no window's result", run, line);
      if (i > 0 && g_str_equal (line, g_ptr_array_index (got, i - 1)))
        g_error ("after run %u, the output has '%s' twice", run, line);
    }
}

static void
assert_same_windows (const char *what,
                     const char *got_text,
                     const char *expected_sorted)
{
  g_autoptr(GPtrArray) got = sorted_lines (got_text);
  GString *joined = g_string_new (NULL);
  g_autofree char *text = NULL;

  for (guint i = 0; i < got->len; i++)
    g_string_append_printf (joined, "%s\n", (char *) g_ptr_array_index (got, i));
  text = g_string_free (joined, FALSE);
  assert_same_lines (what, text, expected_sorted);
}

static void
test_crash_windows (gconstpointer data)
{
  Crash c = { 0 };
  g_autoptr(GRand) rand = NULL;
  g_autofree char *ref_dir = NULL;
  g_autofree char *ref_work = NULL;
  g_autofree char *ref_out = NULL;
  g_autofree char *ref_text = NULL;
  g_autofree char *ref_states = NULL;
  g_autofree char *out = NULL;
  g_autofree char *log = NULL;
  g_autofree char *err_log = NULL;
  char *dir = NULL;
  guint kills = 0, kills_in_round = 0, runs = 0, rounds = 0, torn = 0;
  guint64 lines = 0, written = 0;
  gint64 start = g_get_monotonic_time ();

  c.window = GPOINTER_TO_UINT (data);
  crash_init (&c);
  rand = g_rand_new_with_seed ((guint32) c.seed);
  log = g_build_filename (c.work, "stdout.txt", NULL);
  err_log = g_build_filename (c.work, "stderr.txt", NULL);

  ref_dir = rec_init_dir (c.partitions);
  ref_work = g_build_filename (c.work, "ref", NULL);
  g_assert_cmpint (g_mkdir (ref_work, 0755), ==, 0);
  ref_out = g_build_filename (ref_work, "out.txt", NULL);
  wait_exit (spawn_flow (&c, ref_out, ref_dir, &last_plan, log, err_log), err_log);
  ref_text = rec_read_file (ref_out);
  assert_same_windows ("the uninterrupted run's windows", ref_text, c.expected);
  ref_states = final_states (ref_dir);

  out = g_build_filename (c.work, "out.txt", NULL);
  dir = rec_init_dir (c.partitions);
  for (;;)
    {
      gboolean last = kills >= c.kills;
      gboolean completed;
      Plan plan;
      GPid pid;

      if (last)
        plan = last_plan;
      else
        draw_plan (rand, kills_in_round, c.kills, c.expected_len, &plan);
      pid = spawn_flow (&c, out, dir, &plan, log, err_log);
      runs++;
      if (last)
        completed = wait_exit (pid, err_log) == 0;
      else
        completed = !kill_at (pid, out, &plan, err_log);
      if (!completed)
        {
          kills++;
          kills_in_round++;
        }

      torn += committed (dir, &lines, &written);
      assert_windows_so_far (&c, out, runs);
      g_assert_cmpint (file_size (out), >=, (gint64) written);

      if (completed)
        {
          g_autofree char *out_text = rec_read_file (out);
          g_autofree char *states = final_states (dir);

          assert_same_windows ("the windows of the killed and resumed runs", out_text, c.expected);
          g_assert_cmpstr (states, ==, ref_states);
          rounds++;
          rec_rm_rf (dir);
          g_clear_pointer (&dir, g_free);
          if (last)
            break;
          g_assert_cmpint (g_remove (out), ==, 0);
          dir = rec_init_dir (c.partitions);
          kills_in_round = 0;
        }
    }

  g_test_message ("windows: %u kills (%u between the commits of two partitions), %u runs, "
                  "%u rounds, %.2f s", kills, torn, runs, rounds,
                  (g_get_monotonic_time () - start) / 1e6);
  g_assert_cmpuint (kills, >=, c.kills);

  rec_rm_rf (ref_dir);
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
  /* Killed with 2 workers, resumed with 1, 2 or 3 (docs/workers.md). */
  g_test_add_data_func ("/crash/workers/file-sink", GUINT_TO_POINTER (CRASH_WORKERS),
                        test_crash_file_sink);
  /* Sums per key in tumbling windows of 1000 lines (10 lines of each
   * key): killed while windows are open, each window comes out once,
   * with all its lines. */
  g_test_add_data_func ("/crash/windows/file-sink", GUINT_TO_POINTER (1000), test_crash_windows);

  return g_test_run ();
}
