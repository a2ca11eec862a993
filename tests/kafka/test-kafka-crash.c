/* test-kafka-crash.c: kill a Kafka → stateful_map → sink flow with SIGKILL
 * at random moments, resume it, and compare with what an uninterrupted
 * run writes.
 *
 * The mock cluster runs in this process; kafka-crash-flow, a child process,
 * reads its topic of 4 partitions (values "P:N", keys "kP") and writes the
 * running sum of N per key. It is killed FLOW_KAFKA_CRASH_KILLS times
 * (default 5) at moments drawn from a seeded generator, then run to its
 * end.
 *
 * - To a FileSink (exactly-once): every key's lines are exactly the
 *   uninterrupted run's, in order, and there are no other lines. (The
 *   interleaving of keys differs between runs: partitions are read
 *   concurrently.)
 * - To a Kafka topic (at-least-once): every key's sums are all there, in
 *   order, each at least once; a replay only repeats an earlier stretch.
 * - To a Kafka topic through a transactional sink: every key's sums are
 *   there exactly once, in order, read back with isolation.level=
 *   read_committed (librdkafka's default).
 *
 * Environment: FLOW_KAFKA_CRASH_FLOW (the program), FLOW_KAFKA_CRASH_SEED, FLOW_KAFKA_CRASH_KILLS,
 * FLOW_KAFKA_CRASH_MESSAGES (per partition, default 5000).
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

#include "kafka-test-utils.h"

#define N_PARTITIONS 4

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

static char *
read_file (const char *path)
{
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

static gint64
file_size (const char *path)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 ? (gint64) st.st_size : 0;
}

static GPid
spawn_flow (KtCluster  *cluster,
            const char *output,
            const char *dir,
            guint       batch,
            const char *stderr_path)
{
  g_autoptr(GError) error = NULL;
  const char *program = g_getenv ("FLOW_KAFKA_CRASH_FLOW");
  g_autofree char *batch_s = g_strdup_printf ("%u", batch);
  g_auto(GStrv) envp = g_environ_setenv (g_get_environ (), "CRASH_FLOW_BATCH", batch_s, TRUE);
  const char *argv[] = { program, cluster->brokers, "crash", output, "-r", dir, "-s", "0.01", NULL };
  int err_fd = g_open (stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  GPid pid = 0;

  g_assert_nonnull (program);
  g_assert_cmpint (err_fd, >=, 0);
  g_spawn_async_with_fds (NULL, (char **) argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                          &pid, -1, -1, err_fd, &error);
  g_assert_no_error (error);
  close (err_fd);
  return pid;
}

static void
assert_exited (int         status,
               const char *stderr_path)
{
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      g_autofree char *err = read_file (stderr_path);
      g_error ("kafka-crash-flow failed (status %d): %s", status, err);
    }
}

typedef gint64 (*Measure) (gconstpointer data);

static gint64
measure_file (gconstpointer path)
{
  return file_size (path);
}

/* The messages in the output topic: the sum of its high watermarks. */
static gint64
measure_topic (gconstpointer data)
{
  rd_kafka_t *rk = (rd_kafka_t *) data;
  gint64 total = 0;

  for (int p = 0; p < N_PARTITIONS; p++)
    {
      int64_t low = 0, high = 0;

      if (rd_kafka_query_watermark_offsets (rk, "sums", p, &low, &high, 5000) == 0)
        total += high;
    }
  return total;
}

/* Kills @pid @delay_usec after the output (as @measure sees it) reached
 * @target. Returns FALSE if it ended by itself first. */
static gboolean
kill_at (GPid          pid,
         Measure       measure,
         gconstpointer watched,
         gint64        target,
         gint64        delay_usec,
         const char   *stderr_path)
{
  int status = 0;

  for (;;)
    {
      pid_t r = waitpid (pid, &status, WNOHANG);

      if (r == pid)
        {
          assert_exited (status, stderr_path);
          return FALSE;
        }
      g_assert_cmpint (r, ==, 0);
      if (measure (watched) >= target)
        break;
      g_usleep (200);
    }
  g_usleep (delay_usec);
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  while (waitpid (pid, &status, 0) < 0)
    g_assert_cmpint (errno, ==, EINTR);
  if (WIFSIGNALED (status))
    return TRUE;
  assert_exited (status, stderr_path);
  return FALSE;
}

static void
run_to_end (KtCluster  *cluster,
            const char *output,
            const char *dir,
            const char *stderr_path)
{
  GPid pid = spawn_flow (cluster, output, dir, 100, stderr_path);
  int status = 0;

  while (waitpid (pid, &status, 0) < 0)
    g_assert_cmpint (errno, ==, EINTR);
  assert_exited (status, stderr_path);
}

typedef struct
{
  KtCluster *cluster;
  rd_kafka_t *client;
  guint      messages;   /* per partition */
  guint      kills;
  GRand     *rand;
  char      *work;
  char      *dir;
} Crash;

static void
crash_setup (Crash *c)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *recovery_tool = NULL;

  c->messages = env_uint ("FLOW_KAFKA_CRASH_MESSAGES", 5000);
  c->kills = env_uint ("FLOW_KAFKA_CRASH_KILLS", 5);
  c->rand = g_rand_new_with_seed (env_uint ("FLOW_KAFKA_CRASH_SEED", 20240601));
  c->cluster = kt_cluster_new (1);
  c->client = kt_client_new (c->cluster);
  kt_topic_create (c->cluster, "crash", N_PARTITIONS);
  kt_topic_create (c->cluster, "sums", N_PARTITIONS);
  for (int p = 0; p < N_PARTITIONS; p++)
    kt_produce (c->cluster, "crash", p, 0, c->messages);

  c->work = g_dir_make_tmp ("flow-kafka-crash-XXXXXX", &error);
  g_assert_no_error (error);
  c->dir = g_build_filename (c->work, "recovery", NULL);
  g_assert_cmpint (g_mkdir (c->dir, 0755), ==, 0);
  g_assert_true (flow_recovery_init_dir (c->dir, 4, &error));
  g_assert_no_error (error);
}

static void
crash_teardown (Crash *c)
{
  g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", c->work);

  g_assert_cmpint (system (rm), ==, 0);
  g_free (c->work);
  g_free (c->dir);
  g_rand_free (c->rand);
  rd_kafka_destroy (c->client);
  kt_cluster_free (c->cluster);
}

/* The running sums of partition @p: 0, 0+1, 0+1+2, … */
static gint64
sum_at (guint i)
{
  return (gint64) i * (i + 1) / 2;
}

static void
test_crash_file_sink (void)
{
  Crash c = { 0 };
  g_autofree char *output = NULL;
  g_autofree char *err = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  guint next[N_PARTITIONS] = { 0 };
  gint64 total_bytes = 0;
  guint killed = 0;

  crash_setup (&c);
  output = g_build_filename (c.work, "out.txt", NULL);
  err = g_build_filename (c.work, "stderr.txt", NULL);
  for (int p = 0; p < N_PARTITIONS; p++)
    for (guint i = 0; i < c.messages; i++)
      {
        g_autofree char *line = g_strdup_printf ("('k%d', %" G_GINT64_FORMAT ")\n", p, sum_at (i));
        total_bytes += strlen (line);
      }

  for (guint k = 0; k < c.kills; k++)
    {
      guint batch = (guint[]) { 1, 7, 64, 1000 }[g_rand_int_range (c.rand, 0, 4)];
      GPid pid = spawn_flow (c.cluster, output, c.dir, batch, err);
      gint64 target = g_rand_int_range (c.rand, 0, (gint32) total_bytes);

      if (kill_at (pid, measure_file, output, target, g_rand_int_range (c.rand, 0, 20000), err))
        killed++;
    }
  run_to_end (c.cluster, output, c.dir, err);
  g_test_message ("%u of %u runs killed", killed, c.kills);

  /* Each key's lines in order, each once, nothing else. */
  text = read_file (output);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      int p;
      gint64 sum;
      char tail;

      g_assert_cmpint (sscanf (lines[i], "('k%d', %" G_GINT64_MODIFIER "d)%c", &p, &sum, &tail), ==, 2);
      g_assert_cmpint (p, >=, 0);
      g_assert_cmpint (p, <, N_PARTITIONS);
      g_assert_cmpuint (next[p], <, c.messages);
      if (sum != sum_at (next[p]))
        g_error ("line %u: key k%d has sum %" G_GINT64_FORMAT ", expected %" G_GINT64_FORMAT
                 " (its line %u)", i + 1, p, sum, sum_at (next[p]), next[p] + 1);
      next[p]++;
    }
  for (int p = 0; p < N_PARTITIONS; p++)
    g_assert_cmpuint (next[p], ==, c.messages);

  crash_teardown (&c);
}

static void
crash_kafka_sink (gboolean transactional)
{
  const char *output = transactional ? "kafka-txn:sums" : "kafka:sums";
  Crash c = { 0 };
  g_autofree char *err = NULL;
  g_autoptr(GPtrArray) out = NULL;
  guint killed = 0;
  guint total = 0;

  crash_setup (&c);
  err = g_build_filename (c.work, "stderr.txt", NULL);

  for (guint k = 0; k < c.kills; k++)
    {
      guint batch = (guint[]) { 1, 7, 64, 1000 }[g_rand_int_range (c.rand, 0, 4)];
      GPid pid = spawn_flow (c.cluster, output, c.dir, batch, err);

      gint64 target = measure_topic (c.client) +
                      g_rand_int_range (c.rand, 0, N_PARTITIONS * c.messages / c.kills);

      if (kill_at (pid, measure_topic, c.client, target, g_rand_int_range (c.rand, 0, 20000), err))
        killed++;
    }
  run_to_end (c.cluster, output, c.dir, err);
  g_test_message ("%u of %u runs killed", killed, c.kills);

  /* Every key's sums are all there, in order; a replay goes back to an
   * earlier sum and repeats from there. */
  out = kt_read_back (c.cluster, "sums", N_PARTITIONS);
  {
    guint next[N_PARTITIONS] = { 0 };

    for (guint o = 0; o < N_PARTITIONS; o++)
      {
        GPtrArray *values = g_ptr_array_index (out, o);

        total += values->len;
        for (guint i = 0; i < values->len; i++)
          {
            int p;
            gint64 sum;
            guint at;

            g_assert_cmpint (sscanf (g_ptr_array_index (values, i), "%d:%" G_GINT64_MODIFIER "d", &p, &sum), ==, 2);
            g_assert_cmpint (p, >=, 0);
            g_assert_cmpint (p, <, N_PARTITIONS);
            /* The index of this sum: i*(i+1)/2 = sum. */
            for (at = 0; at < c.messages && sum_at (at) < sum; at++)
              ;
            g_assert_cmpuint (at, <, c.messages);
            g_assert_cmpint (sum_at (at), ==, sum);
            if (at > next[p])
              g_error ("key k%d: sum %u is missing (the next written is sum %u)", p, next[p], at);
            if (transactional && at < next[p])
              g_error ("key k%d: sum %u is written twice (the transactional sink is exactly-once)",
                       p, at);
            if (at == next[p])
              next[p]++;
          }
      }
    for (int p = 0; p < N_PARTITIONS; p++)
      g_assert_cmpuint (next[p], ==, c.messages);
  }
  g_test_message ("%u messages for %u sums", total, N_PARTITIONS * c.messages);
  if (transactional)
    g_assert_cmpuint (total, ==, N_PARTITIONS * c.messages);

  crash_teardown (&c);
}

static void
test_crash_kafka_sink (void)
{
  crash_kafka_sink (FALSE);
}

static void
test_crash_kafka_sink_transactional (void)
{
  crash_kafka_sink (TRUE);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/kafka/crash/file-sink", test_crash_file_sink);
  g_test_add_func ("/kafka/crash/kafka-sink", test_crash_kafka_sink);
  g_test_add_func ("/kafka/crash/kafka-sink-transactional", test_crash_kafka_sink_transactional);

  return g_test_run ();
}
