/* test-kafka.c: FlowKafkaSource and FlowKafkaSink against librdkafka's
 * mock cluster (the real protocol, on loopback)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <glib/gstdio.h>

#include "flow-test-utils.h"
#include "kafka-test-utils.h"

#define RD_KAFKAP_PRODUCE 0
#define RD_KAFKAP_FETCH 1

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

typedef struct
{
  KtCluster    *cluster;
  FlowRunner   *runner;
  GMainLoop    *loop;
  GCancellable *cancellable;
  guint         n_seen;
  guint         action_at;      /* do the action at this many items */
  void        (*action) (gpointer data);
  gpointer      action_data;
  guint         cancel_at;      /* cancel at this many items (0: never) */
  gboolean      done;
  GError       *error;
  /* Broker down: back up after this many epochs closed. */
  guint         down_epochs;
  gboolean      down;
  guint         seen_at_up;     /* items seen when the broker came back */
} Run;

static void
count_cb (const char  *step_id,
          GVariant    *item,
          gpointer     user_data,
          GError     **error)
{
  Run *run = user_data;

  run->n_seen++;
  if (run->action != NULL && run->n_seen == run->action_at)
    run->action (run->action_data);
  if (run->cancel_at > 0 && run->n_seen == run->cancel_at)
    g_cancellable_cancel (run->cancellable);
}

static void
epoch_closed_cb (FlowRunner *runner,
                 guint64     epoch,
                 Run        *run)
{
  if (run->down && --run->down_epochs == 0)
    {
      g_assert_cmpint (rd_kafka_mock_broker_set_up (run->cluster->mock, -1), ==, 0);
      run->down = FALSE;
      run->seen_at_up = run->n_seen;
    }
}

static void
run_done_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      data)
{
  Run *run = data;

  flow_runner_run_finish (FLOW_RUNNER (object), result, &run->error);
  run->done = TRUE;
}

/* Runs @flow (whose "count" inspect step calls count_cb) to its end. */
static gboolean
run_flow (Run          *run,
          FlowDataflow *flow,
          const char   *recovery,
          double        snapshot_interval,
          GError      **error)
{
  g_autoptr(FlowRunner) runner = flow_runner_new (flow);

  run->cancellable = g_cancellable_new ();
  run->done = FALSE;
  if (recovery != NULL)
    flow_runner_set_recovery_directory (runner, recovery);
  flow_runner_set_snapshot_interval (runner, snapshot_interval);
  g_signal_connect (runner, "epoch-closed", G_CALLBACK (epoch_closed_cb), run);
  flow_runner_run_async (runner, run->cancellable, run_done_cb, run);
  while (!run->done)
    g_main_context_iteration (NULL, TRUE);
  g_clear_object (&run->cancellable);
  if (run->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&run->error));
      return FALSE;
    }
  return TRUE;
}

static FlowKafkaSource *
source_new (KtCluster  *cluster,
            const char *topic)
{
  const char *topics[] = { topic, NULL };

  return flow_kafka_source_new (cluster->brokers, topics);
}

/* A flow: Kafka topic → inspect (counting) → testing sink. */
static FlowDataflow *
reading_flow (FlowKafkaSource *source,
              FlowTestingSink *sink,
              Run             *run)
{
  FlowDataflow *flow = flow_dataflow_new ("kafka");
  FlowStream *s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));

  s = flow_stream_inspect (s, "count", count_cb, run, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));
  return flow;
}

/* Splits the items of @sink by partition, checking each message's fields:
 * returns one array of values per partition, in the order they came. */
static GPtrArray *
by_partition (FlowTestingSink *sink,
              const char      *topic,
              int              n_partitions)
{
  GPtrArray *parts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  g_autofree gint64 *next_offset = g_new0 (gint64, n_partitions);

  for (int p = 0; p < n_partitions; p++)
    g_ptr_array_add (parts, g_ptr_array_new_with_free_func (g_free));

  for (guint i = 0; i < flow_testing_sink_get_n_items (sink); i++)
    {
      g_autoptr(GVariant) item = flow_testing_sink_get_item (sink, i);
      g_autoptr(GVariant) key = NULL;
      g_autoptr(GVariant) value = NULL;
      g_autoptr(GVariant) headers = NULL;
      const char *item_topic;
      gint32 partition;
      gint64 offset, timestamp;
      g_autofree char *expected_key = NULL;
      g_autoptr(GVariant) key_bytes = NULL;

      g_assert_true (g_variant_is_of_type (item, G_VARIANT_TYPE (FLOW_KAFKA_MESSAGE_TYPE_STRING)));
      g_variant_get (item, "(@may@may&sixx@a(smay))", &key, &value, &item_topic, &partition,
                     &offset, &timestamp, &headers);
      g_assert_cmpstr (item_topic, ==, topic);
      g_assert_cmpint (partition, >=, 0);
      g_assert_cmpint (partition, <, n_partitions);
      /* Offsets of a partition come in order, none skipped. */
      g_assert_cmpint (offset, ==, next_offset[partition]);
      next_offset[partition] = offset + 1;
      g_assert_cmpint (timestamp, >, 0);
      g_assert_cmpuint (g_variant_n_children (headers), ==, 0);
      key_bytes = g_variant_get_maybe (key);
      g_assert_nonnull (key_bytes);
      expected_key = g_strdup_printf ("k%d", partition);
      g_assert_cmpmem (g_variant_get_data (key_bytes), g_variant_get_size (key_bytes),
                       expected_key, strlen (expected_key));
      g_ptr_array_add (g_ptr_array_index (parts, partition), kt_item_value (item));
    }
  return parts;
}

/* Asserts that @values are "P:first" … "P:first+n-1". */
static void
assert_values (GPtrArray *values,
               int        partition,
               guint      first,
               guint      n)
{
  g_assert_cmpuint (values->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *expected = g_strdup_printf ("%d:%u", partition, first + i);
      g_assert_cmpstr (g_ptr_array_index (values, i), ==, expected);
    }
}

static char *
recovery_dir_new (guint n)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("flow-kafka-XXXXXX", &error);

  g_assert_no_error (error);
  g_assert_true (flow_recovery_init_dir (dir, n, &error));
  g_assert_no_error (error);
  return dir;
}

/* ------------------------------------------------------------------------
 * Source
 * ------------------------------------------------------------------------ */

static void
test_source_to_end (void)
{
  g_autoptr(KtCluster) cluster = kt_cluster_new (3);
  g_autoptr(FlowKafkaSource) source = NULL;
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = NULL;
  g_autoptr(GPtrArray) parts = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) keys = NULL;
  Run run = { cluster };
  const guint counts[] = { 50, 0, 1203 };

  kt_topic_create (cluster, "events", 3);
  for (int p = 0; p < 3; p++)
    kt_produce (cluster, "events", p, 0, counts[p]);

  source = source_new (cluster, "events");
  flow_kafka_source_set_tail (source, FALSE);
  flow_kafka_source_set_batch_size (source, 7);

  /* One partition per topic partition, named as Bytewax names them. */
  keys = flow_source_list_parts (FLOW_SOURCE (source), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (keys), ==, 3);
  g_assert_true (g_strv_contains ((const char * const *) keys, "0-events"));
  g_assert_true (g_strv_contains ((const char * const *) keys, "2-events"));

  flow = reading_flow (source, sink, &run);
  run_flow (&run, flow, NULL, 0.05, &error);
  g_assert_no_error (error);

  parts = by_partition (sink, "events", 3);
  for (int p = 0; p < 3; p++)
    assert_values (g_ptr_array_index (parts, p), p, 0, counts[p]);

  /* The same source runs again, from the beginning. */
  g_assert_true (run_flow (&run, flow, NULL, 0.05, &error));
  g_assert_cmpuint (flow_testing_sink_get_n_items (sink), ==, 2 * (50 + 1203));
}

typedef struct
{
  KtCluster *cluster;
  guint      round;
} MoreData;

static void
produce_more (gpointer data)
{
  MoreData *more = data;

  /* While the run tails the partitions: new messages must come in. */
  kt_produce (more->cluster, "events", 0, 30, 20);
  kt_produce (more->cluster, "events", 1, 30, 5);
}

static void
test_source_tail (void)
{
  g_autoptr(KtCluster) cluster = kt_cluster_new (1);
  g_autoptr(FlowKafkaSource) source = NULL;
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = NULL;
  g_autoptr(GPtrArray) parts = NULL;
  g_autoptr(GError) error = NULL;
  Run run = { cluster };
  MoreData more = { cluster };

  kt_topic_create (cluster, "events", 2);
  kt_produce (cluster, "events", 0, 0, 30);
  kt_produce (cluster, "events", 1, 0, 30);

  source = source_new (cluster, "events");
  g_assert_true (flow_kafka_source_get_tail (source));
  run.action_at = 60;
  run.action = produce_more;
  run.action_data = &more;
  run.cancel_at = 85;

  flow = reading_flow (source, sink, &run);
  /* Tailing never ends by itself: the test cancels it once every message
   * came in. */
  g_assert_false (run_flow (&run, flow, NULL, 0.05, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  parts = by_partition (sink, "events", 2);
  assert_values (g_ptr_array_index (parts, 0), 0, 0, 50);
  assert_values (g_ptr_array_index (parts, 1), 1, 0, 35);
}

static void
test_source_resume (void)
{
  g_autoptr(KtCluster) cluster = kt_cluster_new (1);
  g_autoptr(FlowKafkaSource) source = NULL;
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = recovery_dir_new (2);
  Run run = { cluster };

  kt_topic_create (cluster, "events", 2);
  kt_produce (cluster, "events", 0, 0, 40);
  kt_produce (cluster, "events", 1, 0, 3);

  source = source_new (cluster, "events");
  flow_kafka_source_set_tail (source, FALSE);
  flow = reading_flow (source, sink, &run);
  run_flow (&run, flow, dir, 0.01, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (flow_testing_sink_get_n_items (sink), ==, 43);

  /* More input: the resumed run reads only the new messages. */
  kt_produce (cluster, "events", 0, 40, 25);
  {
    g_autoptr(FlowTestingSink) sink2 = flow_testing_sink_new ();
    g_autoptr(FlowDataflow) flow2 = reading_flow (source, sink2, &run);
    g_autoptr(GPtrArray) parts = NULL;

    run_flow (&run, flow2, dir, 0.01, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (flow_testing_sink_get_n_items (sink2), ==, 25);
    for (guint i = 0; i < 25; i++)
      {
        g_autoptr(GVariant) item = flow_testing_sink_get_item (sink2, i);
        g_autofree char *value = kt_item_value (item);
        g_autofree char *expected = g_strdup_printf ("0:%u", 40 + i);
        g_assert_cmpstr (value, ==, expected);
      }

    /* Nothing new: nothing read. */
    g_assert_true (run_flow (&run, flow2, dir, 0.01, &error));
    g_assert_cmpuint (flow_testing_sink_get_n_items (sink2), ==, 25);
  }
}

static void
test_source_starting_offset_end (void)
{
  g_autoptr(KtCluster) cluster = kt_cluster_new (1);
  g_autoptr(FlowKafkaSource) source = NULL;
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = NULL;
  g_autoptr(GError) error = NULL;
  Run run = { cluster };

  kt_topic_create (cluster, "events", 2);
  kt_produce (cluster, "events", 0, 0, 10);

  source = source_new (cluster, "events");
  flow_kafka_source_set_tail (source, FALSE);
  flow_kafka_source_set_starting_offset (source, FLOW_KAFKA_STARTING_OFFSET_END);
  flow = reading_flow (source, sink, &run);
  run_flow (&run, flow, NULL, 0.05, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (flow_testing_sink_get_n_items (sink), ==, 0);
}

static void
test_source_unknown_topic (void)
{
  g_autoptr(KtCluster) cluster = kt_cluster_new (1);
  g_autoptr(FlowKafkaSource) source = source_new (cluster, "nowhere");
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = NULL;
  g_autoptr(GError) error = NULL;
  Run run = { cluster };

  /* (The mock cluster would create any topic asked for.) */
  rd_kafka_mock_topic_set_error (cluster->mock, "nowhere", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  flow = reading_flow (source, sink, &run);
  g_assert_false (run_flow (&run, flow, NULL, 0.05, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_IO);
  flow_test_assert_error_has (error, "'kafka.inp'");
  flow_test_assert_error_has (error, "'nowhere'");
}

/* Three processes' shares of 2 topics of 3 and 2 partitions: each
 * partition in exactly one share. */
static void
test_source_share (void)
{
  g_autoptr(KtCluster) cluster = kt_cluster_new (1);
  const char *topics[] = { "a", "b", NULL };
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GError) error = NULL;

  kt_topic_create (cluster, "a", 3);
  kt_topic_create (cluster, "b", 2);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(FlowKafkaSource) source = flow_kafka_source_new (cluster->brokers, topics);
      g_auto(GStrv) keys = NULL;

      flow_kafka_source_set_share (source, i, 3);
      keys = flow_source_list_parts (FLOW_SOURCE (source), &error);
      g_assert_no_error (error);
      g_assert_cmpuint (g_strv_length (keys), ==, i < 2 ? 2 : 1);
      for (guint k = 0; keys[k] != NULL; k++)
        g_assert_true (g_hash_table_add (seen, g_strdup (keys[k])));
    }
  g_assert_cmpuint (g_hash_table_size (seen), ==, 5);

  /* More processes than partitions: a share without any is an error. */
  {
    g_autoptr(FlowKafkaSource) source = flow_kafka_source_new (cluster->brokers, topics);
    g_auto(GStrv) keys = NULL;

    flow_kafka_source_set_share (source, 5, 6);
    keys = flow_source_list_parts (FLOW_SOURCE (source), &error);
    g_assert_null (keys);
    g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT);
    flow_test_assert_error_has (error, "share 5 of 6");
  }
}

static void
test_source_bad_config (void)
{
  g_autoptr(KtCluster) cluster = kt_cluster_new (1);
  g_autoptr(FlowKafkaSource) source = source_new (cluster, "events");
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = NULL;
  g_autoptr(GError) error = NULL;
  Run run = { cluster };

  flow_kafka_source_set_config (source, "fetch.wait.max.ms", "soon");
  g_assert_cmpstr (flow_kafka_source_get_config (source, "fetch.wait.max.ms"), ==, "soon");
  flow = reading_flow (source, sink, &run);
  g_assert_false (run_flow (&run, flow, NULL, 0.05, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT);
  flow_test_assert_error_has (error, "fetch.wait.max.ms=soon");
}

/* Reads a partition built by hand until it returns items or fails. */
static GVariant *
next_nonempty (FlowSourcePartition  *part,
               GError              **error)
{
  for (;;)
    {
      GVariant *batch = flow_source_partition_next_batch (part, error);

      if (batch == NULL || g_variant_n_children (batch) > 0)
        return batch;
      g_variant_unref (batch);
      /* Woken up by the partition's file descriptor when something
       * arrives. */
      g_main_context_iteration (NULL, TRUE);
    }
}

/* A resume offset past the end, with auto.offset.reset=error: the broker
 * says the offset is out of range. */
static FlowSourcePartition *
out_of_range_part (KtCluster       *cluster,
                   FlowKafkaSource *source)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) resume = g_variant_ref_sink (g_variant_new_int64 (1000));
  FlowSourcePartition *part;

  kt_topic_create (cluster, "events", 1);
  kt_produce (cluster, "events", 0, 0, 5);
  flow_kafka_source_set_config (source, "auto.offset.reset", "error");
  part = flow_source_build_part (FLOW_SOURCE (source), "kafka.inp", "0-events", resume, &error);
  g_assert_no_error (error);
  return part;
}

static void
test_source_error_raised (void)
{
  g_autoptr(KtCluster) cluster = kt_cluster_new (1);
  g_autoptr(FlowKafkaSource) source = source_new (cluster, "events");
  g_autoptr(FlowSourcePartition) part = out_of_range_part (cluster, source);
  g_autoptr(GVariant) batch = NULL;
  g_autoptr(GError) error = NULL;

  batch = next_nonempty (part, &error);
  g_assert_null (batch);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_IO);
  flow_test_assert_error_has (error, "topic 'events' partition 0");
  g_assert_true (flow_source_partition_close (part, NULL));
}

static void
test_source_error_items (void)
{
  g_autoptr(KtCluster) cluster = kt_cluster_new (1);
  g_autoptr(FlowKafkaSource) source = source_new (cluster, "events");
  g_autoptr(FlowSourcePartition) part = NULL;
  g_autoptr(GVariant) batch = NULL;
  g_autoptr(GVariant) item = NULL;
  g_autoptr(GVariant) resume = NULL;
  g_autoptr(GError) error = NULL;
  const char *topic, *reason;
  gint32 partition, code;
  gint64 offset;

  flow_kafka_source_set_raise_on_errors (source, FALSE);
  part = out_of_range_part (cluster, source);
  batch = next_nonempty (part, &error);
  g_assert_no_error (error);
  item = g_variant_get_child_value (batch, 0);
  {
    g_autoptr(GVariant) boxed = g_steal_pointer (&item);   /* av: unbox */
    item = g_variant_get_variant (boxed);
  }
  g_assert_cmpstr (g_variant_get_type_string (item), ==, FLOW_KAFKA_ERROR_TYPE_STRING);
  g_variant_get (item, "(&sixi&s)", &topic, &partition, &offset, &code, &reason);
  g_assert_cmpstr (topic, ==, "events");
  g_assert_cmpint (partition, ==, 0);
  g_assert_cmpint (code, !=, 0);
  g_assert_cmpstr (reason, !=, "");

  /* The error does not move the partition: it resumes where it was. */
  resume = flow_source_partition_snapshot (part, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (resume), ==, 1000);
  g_assert_true (flow_source_partition_close (part, NULL));
}

static void
broker_down (gpointer data)
{
  Run *run = data;

  g_assert_cmpint (rd_kafka_mock_broker_set_down (run->cluster->mock, -1), ==, 0);
  run->down = TRUE;
  run->down_epochs = 5;
}

/* The brokers go down in the middle of the input and come back: every
 * message is read once, in order. */
static void
test_source_broker_down (void)
{
  g_autoptr(KtCluster) cluster = kt_cluster_new (2);
  g_autoptr(FlowKafkaSource) source = NULL;
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = NULL;
  g_autoptr(GPtrArray) parts = NULL;
  g_autoptr(GError) error = NULL;
  Run run = { cluster };

  kt_topic_create (cluster, "events", 2);
  /* Small record batches: a fetch returns at least a whole one. */
  cluster->produce_batch = 5;
  kt_produce (cluster, "events", 0, 0, 400);
  kt_produce (cluster, "events", 1, 0, 300);

  source = source_new (cluster, "events");
  flow_kafka_source_set_tail (source, FALSE);
  flow_kafka_source_set_batch_size (source, 10);
  /* Small fetches from slow brokers, so that messages are still on the
   * brokers when they go down; quick reconnects. */
  flow_kafka_source_set_config (source, "max.partition.fetch.bytes", "500");
  g_assert_cmpint (rd_kafka_mock_broker_set_rtt (cluster->mock, -1, 30), ==, 0);
  flow_kafka_source_set_config (source, "reconnect.backoff.max.ms", "100");
  run.action_at = 30;
  run.action = broker_down;
  run.action_data = &run;

  flow = reading_flow (source, sink, &run);
  run_flow (&run, flow, NULL, 0.01, &error);
  g_assert_no_error (error);
  g_assert_false (run.down);
  /* The run had to wait for the brokers: messages came after. */
  g_test_message ("%u messages read before the brokers came back", run.seen_at_up);
  g_assert_cmpuint (run.seen_at_up, <, 700);

  parts = by_partition (sink, "events", 2);
  assert_values (g_ptr_array_index (parts, 0), 0, 0, 400);
  assert_values (g_ptr_array_index (parts, 1), 1, 0, 300);
}

/* Fetch requests fail with retriable errors: librdkafka retries, no
 * message is skipped. */
static void
test_source_fetch_errors (void)
{
  g_autoptr(KtCluster) cluster = kt_cluster_new (1);
  g_autoptr(FlowKafkaSource) source = NULL;
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = NULL;
  g_autoptr(GPtrArray) parts = NULL;
  g_autoptr(GError) error = NULL;
  Run run = { cluster };

  kt_topic_create (cluster, "events", 2);
  kt_produce (cluster, "events", 0, 0, 200);
  kt_produce (cluster, "events", 1, 0, 200);
  rd_kafka_mock_push_request_errors (cluster->mock, RD_KAFKAP_FETCH, 6,
                                     RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                     RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                     RD_KAFKA_RESP_ERR__TRANSPORT,
                                     RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
                                     RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                     RD_KAFKA_RESP_ERR__TRANSPORT);

  source = source_new (cluster, "events");
  flow_kafka_source_set_tail (source, FALSE);
  flow_kafka_source_set_config (source, "max.partition.fetch.bytes", "800");
  flow_kafka_source_set_config (source, "fetch.error.backoff.ms", "10");
  flow_kafka_source_set_config (source, "reconnect.backoff.max.ms", "100");
  flow = reading_flow (source, sink, &run);
  run_flow (&run, flow, NULL, 0.05, &error);
  g_assert_no_error (error);

  parts = by_partition (sink, "events", 2);
  assert_values (g_ptr_array_index (parts, 0), 0, 0, 200);
  assert_values (g_ptr_array_index (parts, 1), 1, 0, 200);
}

/* ------------------------------------------------------------------------
 * Sink
 * ------------------------------------------------------------------------ */

static GVariant *
upper_value (GVariant  *item,
             gpointer   user_data,
             GError   **error)
{
  g_autofree char *value = kt_item_value (item);
  g_autoptr(GVariant) key = g_variant_get_child_value (item, 0);
  g_autofree char *upper = g_ascii_strup (value, -1);

  /* (key, value): the same key, so the same partition of the output. */
  return g_variant_new ("(@may@ay)", key,
                        g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, upper, strlen (upper), 1));
}

static FlowDataflow *
copying_flow (FlowKafkaSource *source,
              FlowKafkaSink   *sink,
              Run             *run,
              gboolean         map)
{
  FlowDataflow *flow = flow_dataflow_new ("copy");
  FlowStream *s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));

  s = flow_stream_inspect (s, "count", count_cb, run, NULL);
  if (map)
    s = flow_stream_map (s, "upper", upper_value, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));
  return flow;
}

/* Each input partition's messages are all in one output partition, in
 * their order. */
static void
assert_copied (GPtrArray  *out,
               guint       n_out,
               const guint *counts,
               guint       n_in,
               gboolean    upper)
{
  for (guint p = 0; p < n_in; p++)
    {
      g_autofree char *first = g_strdup_printf ("%u:0", p);
      GPtrArray *found = NULL;

      for (guint o = 0; o < n_out; o++)
        {
          GPtrArray *values = g_ptr_array_index (out, o);
          for (guint i = 0; i < values->len; i++)
            if (g_str_equal (g_ptr_array_index (values, i), first))
              found = values;
        }
      if (counts[p] == 0)
        continue;
      g_assert_nonnull (found);
      {
        g_autoptr(GPtrArray) mine = g_ptr_array_new ();
        g_autofree char *prefix = g_strdup_printf ("%u:", p);

        for (guint i = 0; i < found->len; i++)
          if (g_str_has_prefix (g_ptr_array_index (found, i), prefix))
            g_ptr_array_add (mine, g_ptr_array_index (found, i));
        g_assert_cmpuint (mine->len, ==, counts[p]);
        for (guint i = 0; i < counts[p]; i++)
          {
            g_autofree char *expected = g_strdup_printf ("%u:%u", p, i);
            g_assert_cmpstr (g_ptr_array_index (mine, i), ==, expected);
          }
      }
    }
  (void) upper;
}

static void
test_sink_copy (void)
{
  g_autoptr(KtCluster) cluster = kt_cluster_new (3);
  g_autoptr(FlowKafkaSource) source = NULL;
  g_autoptr(FlowKafkaSink) sink = NULL;
  g_autoptr(FlowDataflow) flow = NULL;
  g_autoptr(GPtrArray) out = NULL;
  g_autoptr(GError) error = NULL;
  Run run = { cluster };
  const guint counts[] = { 300, 7, 0, 1000 };

  kt_topic_create (cluster, "in", 4);
  kt_topic_create (cluster, "out", 3);
  for (int p = 0; p < 4; p++)
    kt_produce (cluster, "in", p, 0, counts[p]);

  source = source_new (cluster, "in");
  flow_kafka_source_set_tail (source, FALSE);
  sink = flow_kafka_sink_new (cluster->brokers, "out");
  g_assert_cmpstr (flow_kafka_sink_get_topic (sink), ==, "out");
  /* The messages read name their own topic ("in"): the map makes them
   * (key, value) pairs, which go to the sink's topic. */
  flow = copying_flow (source, sink, &run, TRUE);
  run_flow (&run, flow, NULL, 0.02, &error);
  g_assert_no_error (error);

  /* The map kept the key: each input partition went to one output
   * partition. */
  out = kt_read_back (cluster, "out", 3);
  assert_copied (out, 3, counts, 4, TRUE);
}

static void
test_sink_produce_errors_retried (void)
{
  g_autoptr(KtCluster) cluster = kt_cluster_new (1);
  g_autoptr(FlowKafkaSource) source = NULL;
  g_autoptr(FlowKafkaSink) sink = NULL;
  g_autoptr(FlowDataflow) flow = NULL;
  g_autoptr(GPtrArray) out = NULL;
  g_autoptr(GError) error = NULL;
  Run run = { cluster };
  const guint counts[] = { 500, 500 };

  kt_topic_create (cluster, "in", 2);
  kt_topic_create (cluster, "out", 2);
  for (int p = 0; p < 2; p++)
    kt_produce (cluster, "in", p, 0, counts[p]);
  rd_kafka_mock_push_request_errors (cluster->mock, RD_KAFKAP_PRODUCE, 5,
                                     RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                     RD_KAFKA_RESP_ERR__TRANSPORT,
                                     RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                     RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                     RD_KAFKA_RESP_ERR__TRANSPORT);

  source = source_new (cluster, "in");
  flow_kafka_source_set_tail (source, FALSE);
  sink = flow_kafka_sink_new (cluster->brokers, "out");
  flow_kafka_sink_set_config (sink, "retry.backoff.ms", "10");
  flow_kafka_sink_set_config (sink, "reconnect.backoff.max.ms", "100");
  flow = copying_flow (source, sink, &run, TRUE);
  run_flow (&run, flow, NULL, 0.02, &error);
  g_assert_no_error (error);

  /* The idempotent producer neither lost nor duplicated a message. */
  out = kt_read_back (cluster, "out", 2);
  assert_copied (out, 2, counts, 2, TRUE);
  g_assert_cmpuint (((GPtrArray *) g_ptr_array_index (out, 0))->len +
                    ((GPtrArray *) g_ptr_array_index (out, 1))->len, ==, 1000);
}

static void
sink_delivery_failure (gboolean transactional)
{
  g_autoptr(KtCluster) cluster = kt_cluster_new (1);
  g_autoptr(FlowKafkaSource) source = NULL;
  g_autoptr(FlowKafkaSink) sink = NULL;
  g_autoptr(FlowDataflow) flow = NULL;
  g_autoptr(GError) error = NULL;
  Run run = { cluster };

  kt_topic_create (cluster, "in", 1);
  kt_topic_create (cluster, "out", 1);
  kt_produce (cluster, "in", 0, 0, 20);
  /* Not retriable: the message is refused. */
  rd_kafka_mock_push_request_errors (cluster->mock, RD_KAFKAP_PRODUCE, 1,
                                     RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);

  source = source_new (cluster, "in");
  flow_kafka_source_set_tail (source, FALSE);
  sink = flow_kafka_sink_new (cluster->brokers, "out");
  if (transactional)
    flow_kafka_sink_set_config (sink, "transactional.id", "failing");
  flow = copying_flow (source, sink, &run, TRUE);
  g_assert_false (run_flow (&run, flow, NULL, 0.02, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_IO);
  flow_test_assert_error_has (error, "'copy.out'");
  flow_test_assert_error_has (error, "topic 'out' partition 0");
  flow_test_assert_error_has (error, "MSG_SIZE_TOO_LARGE");
  if (transactional)
    {
      /* It failed when its epoch was to commit (the transaction was
       * aborted; the mock cluster cannot show that an aborted
       * transaction's messages are hidden). */
      g_assert_cmpstr (flow_kafka_sink_get_transactional_id (sink), ==, "failing");
      flow_test_assert_error_has (error, "failed to commit");
    }
}

static void
test_sink_delivery_failure (void)
{
  sink_delivery_failure (FALSE);
}

static void
test_sink_transactional_delivery_failure (void)
{
  sink_delivery_failure (TRUE);
}

static void
test_sink_no_topic (void)
{
  g_autoptr(KtCluster) cluster = kt_cluster_new (1);
  g_autoptr(FlowTestingSource) source = NULL;
  g_autoptr(FlowKafkaSink) sink = flow_kafka_sink_new (cluster->brokers, NULL);
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("nt");
  g_autoptr(GError) error = NULL;

  source = flow_test_source_new_parse ("[<b'x'>]");
  flow_stream_output (flow_dataflow_input (flow, "inp", FLOW_SOURCE (source)), "out", FLOW_SINK (sink));
  g_assert_false (flow_test_run (flow, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT);
  flow_test_assert_error_has (error, "'nt.out'");
  flow_test_assert_error_has (error, "no topic");
}

static void
test_sink_wrong_type (void)
{
  g_autoptr(KtCluster) cluster = kt_cluster_new (1);
  g_autoptr(FlowTestingSource) source = NULL;
  g_autoptr(FlowKafkaSink) sink = flow_kafka_sink_new (cluster->brokers, "out");
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("wt");
  g_autoptr(GError) error = NULL;

  kt_topic_create (cluster, "out", 1);
  source = flow_test_source_new_parse ("[<3.5>]");
  flow_stream_output (flow_dataflow_input (flow, "inp", FLOW_SOURCE (source)), "out", FLOW_SINK (sink));
  g_assert_false (flow_test_run (flow, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE);
  flow_test_assert_error_has (error, "'wt.out'");
  flow_test_assert_error_has (error, "not d");
}

/* Values, keyed items and full messages (with headers and a partition),
 * from a testing source. */
static void
test_sink_item_shapes (void)
{
  g_autoptr(KtCluster) cluster = kt_cluster_new (1);
  g_autoptr(FlowTestingSource) source = NULL;
  g_autoptr(FlowKafkaSink) sink = flow_kafka_sink_new (cluster->brokers, "out");
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("shapes");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) out = NULL;
  GPtrArray *p1;

  kt_topic_create (cluster, "out", 2);
  kt_topic_create (cluster, "other", 1);
  source = flow_test_source_new_parse (
    "[<'plain'>, <('key', 'keyed')>, <(b'k', b'bytes')>,"
    " <(just b'k', just b'full', '', 1, int64 0, int64 1700000000000000, [('h', just b'v')])>,"
    " <(@may nothing, just b'elsewhere', 'other', -1, int64 0, int64 0, @a(smay) [])>]");
  flow_stream_output (flow_dataflow_input (flow, "inp", FLOW_SOURCE (source)), "out", FLOW_SINK (sink));
  flow_test_run (flow, &error);
  g_assert_no_error (error);

  out = kt_read_back (cluster, "out", 2);
  p1 = g_ptr_array_index (out, 1);
  g_assert_cmpuint (((GPtrArray *) g_ptr_array_index (out, 0))->len + p1->len, ==, 4);
  g_assert_true (g_ptr_array_find_with_equal_func (p1, "full", g_str_equal, NULL));
  g_clear_pointer (&out, g_ptr_array_unref);
  out = kt_read_back (cluster, "other", 1);
  g_assert_cmpuint (((GPtrArray *) g_ptr_array_index (out, 0))->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index ((GPtrArray *) g_ptr_array_index (out, 0), 0), ==, "elsewhere");
}

static guint
count_values (GPtrArray  *parts,
              const char *value)
{
  guint n = 0;

  for (guint p = 0; p < parts->len; p++)
    {
      GPtrArray *values = g_ptr_array_index (parts, p);

      for (guint i = 0; i < values->len; i++)
        if (value == NULL || g_str_equal (g_ptr_array_index (values, i), value))
          n++;
    }
  return n;
}

static void
assert_each_once (KtCluster *cluster,
                  guint      n)
{
  g_autoptr(GPtrArray) out = kt_read_back (cluster, "out", 2);

  g_assert_cmpuint (count_values (out, NULL), ==, n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *value = g_strdup_printf ("v%u", i);
      g_assert_cmpuint (count_values (out, value), ==, 1);
    }
}

static GPtrArray *
values_from (guint first,
             guint n)
{
  GPtrArray *items = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);

  for (guint i = first; i < first + n; i++)
    g_ptr_array_add (items, g_variant_ref_sink (g_variant_new_take_string (g_strdup_printf ("v%u", i))));
  return items;
}

/* The two phases of a transactional sink, called as the runner does, with
 * a crash between the recovery commit and the Kafka commit. */
static void
test_sink_transactional_resume (void)
{
  g_autoptr(KtCluster) cluster = kt_cluster_new (1);
  g_autoptr(FlowKafkaSink) sink = flow_kafka_sink_new (cluster->brokers, "out");
  g_autoptr(FlowSinkPartition) part = NULL;
  g_autoptr(GPtrArray) first = values_from (0, 5);
  g_autoptr(GPtrArray) second = values_from (5, 7);
  g_autoptr(GVariant) state1 = NULL;
  g_autoptr(GVariant) state2 = NULL;
  g_autoptr(GVariant) bad = g_variant_ref_sink (g_variant_new_int64 (3));
  g_autoptr(GError) error = NULL;

  kt_topic_create (cluster, "out", 2);
  flow_kafka_sink_set_transactional_id (sink, "resume-test");
  g_assert_cmpstr (flow_kafka_sink_get_transactional_id (sink), ==, "resume-test");

  part = flow_sink_build_part (FLOW_SINK (sink), "f.out", "0", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (flow_sink_partition_write_batch (part, first, &error));
  g_assert_no_error (error);
  state1 = flow_sink_partition_snapshot (part, &error);
  g_assert_no_error (error);
  g_assert_nonnull (state1);
  /* Nothing is out before the epoch commits... */
  assert_each_once (cluster, 0);
  g_assert_true (flow_sink_partition_commit (part, 1, &error));
  g_assert_no_error (error);
  /* ...and all of it after. */
  assert_each_once (cluster, 5);

  /* Epoch 2 is snapshotted (the store commits it), then the process dies
   * before the Kafka commit. */
  g_assert_true (flow_sink_partition_write_batch (part, second, &error));
  state2 = flow_sink_partition_snapshot (part, &error);
  g_assert_no_error (error);
  g_clear_object (&part);
  assert_each_once (cluster, 5);

  /* The resumed run finishes epoch 2 from its state. */
  part = flow_sink_build_part (FLOW_SINK (sink), "f.out", "0", state2, &error);
  g_assert_no_error (error);
  assert_each_once (cluster, 12);
  g_assert_true (flow_sink_partition_close (part, &error));
  g_assert_no_error (error);
  g_clear_object (&part);

  /* Resuming again from the same (committed) epoch produces nothing. */
  part = flow_sink_build_part (FLOW_SINK (sink), "f.out", "0", state2, &error);
  g_assert_no_error (error);
  g_assert_true (flow_sink_partition_close (part, &error));
  g_clear_object (&part);
  assert_each_once (cluster, 12);

  /* A state the sink did not write is refused. */
  part = flow_sink_build_part (FLOW_SINK (sink), "f.out", "0", bad, &error);
  g_assert_null (part);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE);
  flow_test_assert_error_has (error, "transactional");
}

/* A whole run through a transactional sink, without recovery: every
 * epoch commits when it closes. */
static void
test_sink_transactional_run (void)
{
  g_autoptr(KtCluster) cluster = kt_cluster_new (1);
  g_autoptr(FlowTestingSource) source = NULL;
  g_autoptr(FlowKafkaSink) sink = flow_kafka_sink_new (cluster->brokers, "out");
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("txn");
  g_autoptr(GError) error = NULL;

  kt_topic_create (cluster, "out", 2);
  flow_kafka_sink_set_transactional_id (sink, "run-test");
  source = flow_test_source_new_parse ("['v0', 'v1', 'v2', 'v3']");
  flow_stream_output (flow_dataflow_input (flow, "inp", FLOW_SOURCE (source)), "out", FLOW_SINK (sink));
  g_assert_true (flow_test_run (flow, &error));
  g_assert_no_error (error);
  assert_each_once (cluster, 4);
}

/* Runs @flow as process @id of @n (given as command-line options, as a
 * deployment would), resuming from @dir. */
static void
run_as_process (Run          *run,
                FlowDataflow *flow,
                guint         id,
                guint         n,
                const char   *dir)
{
  g_autoptr(FlowRunner) runner = flow_runner_new (flow);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) args = g_new0 (char *, 8);

  args[0] = g_strdup ("prog");
  args[1] = g_strdup ("--process-id");
  args[2] = g_strdup_printf ("%u", id);
  args[3] = g_strdup ("--processes");
  args[4] = g_strdup_printf ("%u", n);
  args[5] = g_strdup ("-r");
  args[6] = g_strdup (dir);
  g_assert_true (flow_runner_parse_args (runner, &args, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (flow_runner_get_process_id (runner), ==, id);
  g_assert_cmpuint (flow_runner_get_processes (runner), ==, n);
  g_assert_cmpuint (g_strv_length (args), ==, 1);

  run->cancellable = g_cancellable_new ();
  run->done = FALSE;
  flow_runner_set_snapshot_interval (runner, 0.02);
  flow_runner_run_async (runner, run->cancellable, run_done_cb, run);
  while (!run->done)
    g_main_context_iteration (NULL, TRUE);
  g_clear_object (&run->cancellable);
  g_assert_no_error (run->error);
}

/* --process-id I --processes N: three processes, each with its own
 * recovery directory, share five partitions; each reads its own once,
 * and resumes after them. */
static void
test_runner_processes (void)
{
  g_autoptr(KtCluster) cluster = kt_cluster_new (1);
  const guint counts[] = { 30, 0, 7, 12, 5 };
  g_autofree guint *reader = g_new0 (guint, 5);
  g_autoptr(GError) error = NULL;
  char *dirs[3];

  kt_topic_create (cluster, "events", 5);
  for (int p = 0; p < 5; p++)
    kt_produce (cluster, "events", p, 0, counts[p]);

  for (guint round = 0; round < 2; round++)
    {
      if (round == 1)
        for (int p = 0; p < 5; p++)
          kt_produce (cluster, "events", p, counts[p], 3);
      for (int p = 0; p < 5; p++)
        reader[p] = G_MAXUINT;
      for (guint id = 0; id < 3; id++)
        {
          g_autoptr(FlowKafkaSource) source = source_new (cluster, "events");
          g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
          g_autoptr(FlowDataflow) flow = NULL;
          g_autoptr(GPtrArray) parts = NULL;
          Run run = { cluster };

          if (round == 0)
            dirs[id] = recovery_dir_new (1);
          flow_kafka_source_set_tail (source, FALSE);
          flow = reading_flow (source, sink, &run);
          run_as_process (&run, flow, id, 3, dirs[id]);
          parts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
          for (int p = 0; p < 5; p++)
            g_ptr_array_add (parts, g_ptr_array_new_with_free_func (g_free));
          for (guint i = 0; i < flow_testing_sink_get_n_items (sink); i++)
            {
              g_autoptr(GVariant) item = flow_testing_sink_get_item (sink, i);
              gint32 partition;

              g_variant_get_child (item, 3, "i", &partition);
              g_ptr_array_add (g_ptr_array_index (parts, partition), kt_item_value (item));
            }
          for (int p = 0; p < 5; p++)
            {
              GPtrArray *values = g_ptr_array_index (parts, p);

              if (values->len == 0)
                continue;
              /* One reader per partition, the same in both rounds: the
               * first run reads all of it, the resumed one the new
               * messages only. */
              g_assert_cmpuint (reader[p], ==, G_MAXUINT);
              reader[p] = id;
              g_assert_cmpuint (p % 3, ==, id);
              assert_values (values, p, round == 0 ? 0 : counts[p], round == 0 ? counts[p] : 3);
            }
        }
      for (int p = 0; p < 5; p++)
        if (round == 1 || counts[p] > 0)
          g_assert_cmpuint (reader[p], ==, (guint) p % 3);
    }
  for (guint id = 0; id < 3; id++)
    {
      g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", dirs[id]);

      g_assert_cmpint (system (rm), ==, 0);
      g_free (dirs[id]);
    }

  /* A process id out of range is refused when the options are parsed; a
   * process whose share is empty fails the run, naming the step. */
  {
    g_autoptr(FlowKafkaSource) source = source_new (cluster, "events");
    g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
    g_autoptr(FlowDataflow) flow = NULL;
    g_autoptr(FlowRunner) runner = NULL;
    const char *bad[] = { "prog", "--process-id", "3", "--processes", "3", NULL };
    g_auto(GStrv) args = g_strdupv ((char **) bad);
    Run run = { cluster };

    flow = reading_flow (source, sink, &run);
    runner = flow_runner_new (flow);
    g_assert_false (flow_runner_parse_args (runner, &args, &error));
    g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT);
    flow_test_assert_error_has (error, "not 3");
    g_clear_error (&error);

    flow_runner_set_processes (runner, 6);
    flow_runner_set_process_id (runner, 5);
    g_assert_false (flow_runner_run (runner, NULL, &error));
    g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT);
    flow_test_assert_error_has (error, "'kafka.inp'");
    flow_test_assert_error_has (error, "process 5 of 6 has no partition");
  }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/kafka/source/to-end", test_source_to_end);
  g_test_add_func ("/kafka/source/tail", test_source_tail);
  g_test_add_func ("/kafka/source/resume", test_source_resume);
  g_test_add_func ("/kafka/source/starting-offset-end", test_source_starting_offset_end);
  g_test_add_func ("/kafka/source/unknown-topic", test_source_unknown_topic);
  g_test_add_func ("/kafka/source/bad-config", test_source_bad_config);
  g_test_add_func ("/kafka/source/share", test_source_share);
  g_test_add_func ("/kafka/source/error-raised", test_source_error_raised);
  g_test_add_func ("/kafka/source/error-items", test_source_error_items);
  g_test_add_func ("/kafka/source/broker-down", test_source_broker_down);
  g_test_add_func ("/kafka/source/fetch-errors", test_source_fetch_errors);
  g_test_add_func ("/kafka/sink/copy", test_sink_copy);
  g_test_add_func ("/kafka/sink/produce-errors-retried", test_sink_produce_errors_retried);
  g_test_add_func ("/kafka/sink/delivery-failure", test_sink_delivery_failure);
  g_test_add_func ("/kafka/sink/no-topic", test_sink_no_topic);
  g_test_add_func ("/kafka/sink/wrong-type", test_sink_wrong_type);
  g_test_add_func ("/kafka/sink/item-shapes", test_sink_item_shapes);
  g_test_add_func ("/kafka/sink/transactional-resume", test_sink_transactional_resume);
  g_test_add_func ("/kafka/sink/transactional-run", test_sink_transactional_run);
  g_test_add_func ("/kafka/sink/transactional-delivery-failure", test_sink_transactional_delivery_failure);
  g_test_add_func ("/kafka/runner/processes", test_runner_processes);

  return g_test_run ();
}
