/* kafka-test-utils.c: a mock Kafka cluster for the tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "kafka-test-utils.h"

static void
quiet_log (const rd_kafka_t *rk,
           int               level,
           const char       *fac,
           const char       *buf)
{
}

static rd_kafka_conf_t *
conf_new (const char *brokers)
{
  rd_kafka_conf_t *conf = rd_kafka_conf_new ();
  char errstr[256];

  rd_kafka_conf_set_log_cb (conf, quiet_log);
  if (brokers != NULL)
    g_assert_cmpint (rd_kafka_conf_set (conf, "bootstrap.servers", brokers, errstr, sizeof errstr),
                     ==, RD_KAFKA_CONF_OK);
  return conf;
}

KtCluster *
kt_cluster_new (int n_brokers)
{
  KtCluster *cluster = g_new0 (KtCluster, 1);
  char errstr[256];

  cluster->rk = rd_kafka_new (RD_KAFKA_PRODUCER, conf_new (NULL), errstr, sizeof errstr);
  g_assert_nonnull (cluster->rk);
  cluster->mock = rd_kafka_mock_cluster_new (cluster->rk, n_brokers);
  g_assert_nonnull (cluster->mock);
  cluster->brokers = rd_kafka_mock_cluster_bootstraps (cluster->mock);
  return cluster;
}

void
kt_cluster_free (KtCluster *cluster)
{
  rd_kafka_mock_cluster_destroy (cluster->mock);
  rd_kafka_destroy (cluster->rk);
  g_free (cluster);
}

rd_kafka_t *
kt_client_new (KtCluster *cluster)
{
  char errstr[256];
  rd_kafka_t *rk = rd_kafka_new (RD_KAFKA_PRODUCER, conf_new (cluster->brokers), errstr, sizeof errstr);

  g_assert_nonnull (rk);
  return rk;
}

void
kt_topic_create (KtCluster  *cluster,
                 const char *topic,
                 int         n_partitions)
{
  g_assert_cmpint (rd_kafka_mock_topic_create (cluster->mock, topic, n_partitions, 1), ==, 0);
}

void
kt_produce (KtCluster  *cluster,
            const char *topic,
            int         partition,
            guint       first,
            guint       n)
{
  char errstr[256];
  rd_kafka_conf_t *conf = conf_new (cluster->brokers);
  g_autofree char *key = g_strdup_printf ("k%d", partition);
  rd_kafka_t *rk;

  if (cluster->produce_batch > 0)
    {
      g_autofree char *batch = g_strdup_printf ("%u", cluster->produce_batch);
      g_assert_cmpint (rd_kafka_conf_set (conf, "batch.num.messages", batch, errstr, sizeof errstr),
                       ==, RD_KAFKA_CONF_OK);
    }
  rk = rd_kafka_new (RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);

  g_assert_nonnull (rk);
  for (guint i = 0; i < n; i++)
    {
      char value[64];
      rd_kafka_resp_err_t err;

      g_snprintf (value, sizeof value, "%d:%u", partition, first + i);
      do
        {
          err = rd_kafka_producev (rk,
                                   RD_KAFKA_V_TOPIC (topic),
                                   RD_KAFKA_V_PARTITION (partition),
                                   RD_KAFKA_V_MSGFLAGS (RD_KAFKA_MSG_F_COPY),
                                   RD_KAFKA_V_KEY (key, strlen (key)),
                                   RD_KAFKA_V_VALUE (value, strlen (value)),
                                   RD_KAFKA_V_END);
          if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll (rk, 10);
        }
      while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
      g_assert_cmpint (err, ==, 0);
    }
  g_assert_cmpint (rd_kafka_flush (rk, 60000), ==, 0);
  rd_kafka_destroy (rk);
}

GPtrArray *
kt_read_back (KtCluster  *cluster,
              const char *topic,
              int         n_partitions)
{
  rd_kafka_conf_t *conf = conf_new (cluster->brokers);
  GPtrArray *parts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  char errstr[256];
  rd_kafka_t *rk;
  rd_kafka_queue_t *queue;
  rd_kafka_topic_t *rkt;
  int open = n_partitions;

  g_assert_cmpint (rd_kafka_conf_set (conf, "enable.partition.eof", "true", errstr, sizeof errstr),
                   ==, RD_KAFKA_CONF_OK);
  rk = rd_kafka_new (RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  g_assert_nonnull (rk);
  queue = rd_kafka_queue_new (rk);
  rkt = rd_kafka_topic_new (rk, topic, NULL);
  for (int p = 0; p < n_partitions; p++)
    {
      g_ptr_array_add (parts, g_ptr_array_new_with_free_func (g_free));
      g_assert_cmpint (rd_kafka_consume_start_queue (rkt, p, RD_KAFKA_OFFSET_BEGINNING, queue), ==, 0);
    }

  while (open > 0)
    {
      rd_kafka_message_t *msg = rd_kafka_consume_queue (queue, 1000);

      if (msg == NULL)
        continue;
      if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
        open--;
      else
        {
          g_assert_cmpint (msg->err, ==, 0);
          g_ptr_array_add (g_ptr_array_index (parts, msg->partition),
                           g_strndup (msg->payload, msg->len));
        }
      rd_kafka_message_destroy (msg);
    }

  for (int p = 0; p < n_partitions; p++)
    rd_kafka_consume_stop (rkt, p);
  rd_kafka_topic_destroy (rkt);
  rd_kafka_queue_destroy (queue);
  rd_kafka_destroy (rk);
  return parts;
}

char *
kt_item_value (GVariant *item)
{
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) bytes = NULL;
  gsize len;
  const char *data;

  g_assert_true (g_variant_is_of_type (item, G_VARIANT_TYPE (FLOW_KAFKA_MESSAGE_TYPE_STRING)));
  value = g_variant_get_child_value (item, 1);
  bytes = g_variant_get_maybe (value);
  g_assert_nonnull (bytes);
  data = g_variant_get_fixed_array (bytes, &len, 1);
  return g_strndup (data, len);
}
