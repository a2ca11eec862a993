/* flow-kafka-private.h: what the Kafka source and sink share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <librdkafka/rdkafka.h>

#include "flow-private.h"

G_BEGIN_DECLS

typedef struct _FlowKafkaClient FlowKafkaClient;

/* A librdkafka configuration with bootstrap.servers = @brokers, the
 * name → value settings of @config, and libflow's log and error callbacks
 * (librdkafka's messages go to g_debug). */
rd_kafka_conf_t *flow_kafka_conf_new   (const char      *brokers,
                                        GHashTable      *config,
                                        GError         **error);
gboolean         flow_kafka_conf_set   (rd_kafka_conf_t *conf,
                                        const char      *name,
                                        const char      *value,
                                        GError         **error);

/* A message as a floating FLOW_KAFKA_MESSAGE_TYPE_STRING tuple. */
GVariant        *flow_kafka_message_to_variant (const rd_kafka_message_t *msg,
                                                const char               *topic,
                                                gsize                     topic_len);
/* The same from its parts: built from GVariants (any message), or encoded
 * at once (one without headers; what the source uses). A NULL key or
 * value is absent. */
GVariant        *flow_kafka_message_build      (const void          *key,
                                                gsize                key_len,
                                                const void          *value,
                                                gsize                value_len,
                                                const char          *topic,
                                                gint32               partition,
                                                gint64               offset,
                                                gint64               timestamp,
                                                rd_kafka_headers_t  *headers);
GVariant        *flow_kafka_message_encode     (const void          *key,
                                                gsize                key_len,
                                                const void          *value,
                                                gsize                value_len,
                                                const char          *topic,
                                                gsize                topic_len,
                                                gint32               partition,
                                                gint64               offset,
                                                gint64               timestamp);

G_END_DECLS
