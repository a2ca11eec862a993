/* bench-kafka.c: messages per second from a Kafka topic through
 * input → map → a counting sink, against a bare librdkafka consumer loop
 * reading the same topic in the same run.
 *
 *   bench-kafka [--messages N] [--partitions P] [--batch B] [--repeat R]
 *   bench-kafka --bare-only BROKERS [--messages N] [--partitions P] [--batch B]
 *
 * With --bare-only, runs the bare loop alone on the topic "bench" of the
 * given brokers (which holds N messages) and prints "bare WALL CPU" in
 * seconds: tests/bench/bench_kafka.py's baseline for the Python flow.
 *
 * The topic lives in librdkafka's mock cluster (the real protocol on
 * loopback). Both contenders read every partition from its beginning to
 * its end; the bare loop uses one queue and rd_kafka_consume_batch_queue()
 * and only touches each message's length. Best of R runs each, in wall time
 * and in CPU time of the whole process (every thread, the mock cluster's
 * included: on a loaded machine wall time is mostly waiting for a core).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <flow.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "bench-common.h"

#define TOPIC "bench"

/* The map: the message's value (what a deserializer starts from). */
static GVariant *
value_of (GVariant *item, gpointer user_data, GError **error)
{
  return g_variant_get_child_value (item, 1);
}

static void
quiet_log (const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
}

static rd_kafka_conf_t *
conf_new (const char *brokers)
{
  rd_kafka_conf_t *conf = rd_kafka_conf_new ();
  char errstr[256];

  rd_kafka_conf_set_log_cb (conf, quiet_log);
  if (brokers != NULL)
    rd_kafka_conf_set (conf, "bootstrap.servers", brokers, errstr, sizeof errstr);
  return conf;
}

static void
produce (const char *brokers, int partitions, gint64 n)
{
  char errstr[256];
  rd_kafka_conf_t *conf = conf_new (brokers);
  rd_kafka_t *rk;

  rd_kafka_conf_set (conf, "linger.ms", "50", errstr, sizeof errstr);
  rd_kafka_conf_set (conf, "batch.num.messages", "10000", errstr, sizeof errstr);
  rd_kafka_conf_set (conf, "queue.buffering.max.messages", "1000000", errstr, sizeof errstr);
  rk = rd_kafka_new (RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  g_assert (rk != NULL);
  for (gint64 i = 0; i < n; i++)
    {
      char key[16], value[32];
      rd_kafka_resp_err_t err;

      g_snprintf (key, sizeof key, "k%d", (int) (i % 100));
      g_snprintf (value, sizeof value, "%" G_GINT64_FORMAT, i);
      do
        {
          err = rd_kafka_producev (rk, RD_KAFKA_V_TOPIC (TOPIC),
                                   RD_KAFKA_V_PARTITION ((int32_t) (i % partitions)),
                                   RD_KAFKA_V_MSGFLAGS (RD_KAFKA_MSG_F_COPY),
                                   RD_KAFKA_V_KEY (key, strlen (key)),
                                   RD_KAFKA_V_VALUE (value, strlen (value)),
                                   RD_KAFKA_V_END);
          if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll (rk, 10);
        }
      while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
    }
  rd_kafka_flush (rk, -1);
  rd_kafka_destroy (rk);
}

static double
run_bare (const char *brokers, int partitions, gint64 n, guint batch, double *cpu)
{
  char errstr[256];
  rd_kafka_conf_t *conf = conf_new (brokers);
  rd_kafka_message_t **msgs = g_new (rd_kafka_message_t *, batch);
  rd_kafka_t *rk;
  rd_kafka_queue_t *queue;
  rd_kafka_topic_t *rkt;
  gint64 count = 0, start;
  guint64 bytes = 0;
  int open = partitions;

  rd_kafka_conf_set (conf, "enable.partition.eof", "true", errstr, sizeof errstr);
  start = g_get_monotonic_time ();
  *cpu = bench_cpu_seconds ();
  rk = rd_kafka_new (RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  queue = rd_kafka_queue_new (rk);
  rkt = rd_kafka_topic_new (rk, TOPIC, NULL);
  for (int p = 0; p < partitions; p++)
    rd_kafka_consume_start_queue (rkt, p, RD_KAFKA_OFFSET_BEGINNING, queue);
  while (open > 0)
    {
      ssize_t got = rd_kafka_consume_batch_queue (queue, 1000, msgs, batch);

      for (ssize_t i = 0; i < got; i++)
        {
          if (msgs[i]->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            open--;
          else if (msgs[i]->err == 0)
            {
              count++;
              bytes += msgs[i]->len;
            }
          rd_kafka_message_destroy (msgs[i]);
        }
    }
  for (int p = 0; p < partitions; p++)
    rd_kafka_consume_stop (rkt, p);
  rd_kafka_topic_destroy (rkt);
  rd_kafka_queue_destroy (queue);
  rd_kafka_destroy (rk);
  *cpu = bench_cpu_seconds () - *cpu;
  g_free (msgs);
  if (count != n)
    g_error ("the bare loop read %" G_GINT64_FORMAT " messages, not %" G_GINT64_FORMAT, count, n);
  (void) bytes;
  return bench_seconds_since (start);
}

static double
run_flow (const char *brokers, gint64 n, guint batch, double *cpu)
{
  const char *topics[] = { TOPIC, NULL };
  g_autoptr(FlowKafkaSource) source = flow_kafka_source_new (brokers, topics);
  g_autoptr(BenchCountSink) sink = bench_count_sink_new (TRUE);
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("bench");
  g_autoptr(FlowRunner) runner = NULL;
  g_autoptr(GError) error = NULL;
  FlowStream *s;
  gint64 start;

  flow_kafka_source_set_tail (source, FALSE);
  flow_kafka_source_set_batch_size (source, batch);
  if (g_getenv ("BENCH_KAFKA_DEBUG") != NULL)
    flow_kafka_source_set_config (source, "debug", g_getenv ("BENCH_KAFKA_DEBUG"));
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_map (s, "value", value_of, NULL, NULL);
  flow_stream_output (s, "count", FLOW_SINK (sink));
  runner = flow_runner_new (flow);

  start = g_get_monotonic_time ();
  *cpu = bench_cpu_seconds ();
  if (!flow_runner_run (runner, NULL, &error))
    g_error ("%s", error->message);
  *cpu = bench_cpu_seconds () - *cpu;
  if ((gint64) sink->count != n)
    g_error ("the flow read %" G_GUINT64_FORMAT " messages, not %" G_GINT64_FORMAT, sink->count, n);
  return bench_seconds_since (start);
}

int
main (int argc, char **argv)
{
  gint64 n = 1000000;
  int partitions = 4, batch = 1000, repeat = 3;
  g_autofree char *bare_only = NULL;
  GOptionEntry entries[] = {
    { "bare-only", 0, 0, G_OPTION_ARG_STRING, &bare_only, "Only the bare loop, on these brokers", "BROKERS" },
    { "messages", 0, 0, G_OPTION_ARG_INT64, &n, "Messages in the topic", "N" },
    { "partitions", 0, 0, G_OPTION_ARG_INT, &partitions, "Partitions of the topic", "P" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Messages per batch (both)", "B" },
    { "repeat", 0, 0, G_OPTION_ARG_INT, &repeat, "Runs of each, the best counts", "R" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- Kafka source benchmark");
  g_autoptr(GError) error = NULL;
  double bare = G_MAXDOUBLE, flow = G_MAXDOUBLE, bare_cpu = G_MAXDOUBLE, flow_cpu = G_MAXDOUBLE;
  rd_kafka_t *rk;
  rd_kafka_mock_cluster_t *mock;
  char errstr[256];
  const char *brokers;
  gint64 t0;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  if (bare_only != NULL)
    {
      double cpu;
      double wall = run_bare (bare_only, partitions, n, batch, &cpu);

      g_print ("bare %.6f %.6f\n", wall, cpu);
      return 0;
    }

  rk = rd_kafka_new (RD_KAFKA_PRODUCER, conf_new (NULL), errstr, sizeof errstr);
  mock = rd_kafka_mock_cluster_new (rk, 1);
  brokers = rd_kafka_mock_cluster_bootstraps (mock);
  rd_kafka_mock_topic_create (mock, TOPIC, partitions, 1);
  t0 = g_get_monotonic_time ();
  produce (brokers, partitions, n);
  g_print ("produced %" G_GINT64_FORMAT " messages to %d partitions in %.2f s\n",
           n, partitions, bench_seconds_since (t0));

  for (int r = 0; r < repeat; r++)
    {
      double b_cpu, f_cpu;
      double b = run_bare (brokers, partitions, n, batch, &b_cpu);
      double f = run_flow (brokers, n, batch, &f_cpu);

      bench_keep_best (&bare, b);
      bench_keep_best (&flow, f);
      bench_keep_best (&bare_cpu, b_cpu);
      bench_keep_best (&flow_cpu, f_cpu);
    }

  g_print ("messages: %" G_GINT64_FORMAT ", partitions: %d, batch: %d, best of %d\n",
           n, partitions, batch, repeat);
  g_print ("                               wall time (messages/s)       CPU time, all threads (messages/s)\n");
  g_print ("bare librdkafka consumer loop: %8.3f s  %12.0f        %8.3f s  %12.0f\n",
           bare, n / bare, bare_cpu, n / bare_cpu);
  g_print ("libflow input -> map -> sink:  %8.3f s  %12.0f        %8.3f s  %12.0f\n",
           flow, n / flow, flow_cpu, n / flow_cpu);
  g_print ("ratio flow / bare loop:        %8.3f (wall)  %8.3f (CPU)\n", bare / flow, bare_cpu / flow_cpu);
  g_print ("(on a loaded machine the wall-time ratio is noise: the CPU ratio counts)\n");

  rd_kafka_mock_cluster_destroy (mock);
  rd_kafka_destroy (rk);
  return 0;
}
