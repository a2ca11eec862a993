/* kafka-test-utils.h: a mock Kafka cluster for the tests (librdkafka's,
 * speaking the real protocol on loopback), and producing and reading back
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <flow.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

G_BEGIN_DECLS

typedef struct
{
  rd_kafka_t              *rk;        /* the handle the cluster lives in */
  rd_kafka_mock_cluster_t *mock;
  const char              *brokers;   /* its bootstrap.servers */
  guint                    produce_batch;  /* messages per record batch
                                            * (0: librdkafka's default) */
} KtCluster;

KtCluster *kt_cluster_new      (int          n_brokers);
void       kt_cluster_free     (KtCluster   *cluster);
/* A producer connected to the cluster (for queries). */
rd_kafka_t *kt_client_new      (KtCluster   *cluster);
void       kt_topic_create     (KtCluster   *cluster,
                                const char  *topic,
                                int          n_partitions);

/* Produces @n messages to @partition of @topic: key "k<partition>",
 * value "<partition>:<first + i>". Waits for their delivery. */
void       kt_produce          (KtCluster   *cluster,
                                const char  *topic,
                                int          partition,
                                guint        first,
                                guint        n);

/* Reads every partition of @topic from its beginning to its end: returns
 * the values (as strings), one array per partition, in offset order. */
GPtrArray *kt_read_back        (KtCluster   *cluster,
                                const char  *topic,
                                int          n_partitions);

/* The value of a message item of FLOW_KAFKA_MESSAGE_TYPE_STRING, as a
 * string. */
char      *kt_item_value       (GVariant    *item);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KtCluster, kt_cluster_free)

G_END_DECLS
