/* flow-kafka-source.h: the partitions of Kafka topics, resumable
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include "flow-source.h"

G_BEGIN_DECLS

/**
 * FLOW_KAFKA_MESSAGE_TYPE_STRING:
 *
 * The #GVariant type string of a message read by a [class@Flow.KafkaSource]:
 * `(maymaysixxa(smay))`, that is (key, value, topic, partition, offset,
 * timestamp, headers). The key and the value are byte strings, absent
 * (`nothing`) when the message has none; the timestamp is in microseconds
 * since the Unix epoch (UTC), -1 when the message has none; headers are
 * (name, value) pairs in their order, a value absent when it is null.
 *
 * A [class@Flow.KafkaSink] accepts items of this type too.
 */
#define FLOW_KAFKA_MESSAGE_TYPE_STRING "(maymaysixxa(smay))"

/**
 * FLOW_KAFKA_ERROR_TYPE_STRING:
 *
 * The #GVariant type string of the error items a [class@Flow.KafkaSource]
 * emits when [property@Flow.KafkaSource:raise-on-errors] is %FALSE:
 * `(sixis)`, that is (topic, partition, offset, librdkafka error code,
 * reason).
 */
#define FLOW_KAFKA_ERROR_TYPE_STRING "(sixis)"

/**
 * FlowKafkaStartingOffset:
 * @FLOW_KAFKA_STARTING_OFFSET_BEGINNING: the oldest message still in the
 *   partition
 * @FLOW_KAFKA_STARTING_OFFSET_END: the first message produced after the run
 *   started
 * @FLOW_KAFKA_STARTING_OFFSET_STORED: the offset the consumer group (the
 *   `group.id` setting) last committed; where it has none, the
 *   `auto.offset.reset` setting decides
 *
 * Where a [class@Flow.KafkaSource] starts to read a partition it has no
 * resume state for.
 */
typedef enum
{
  FLOW_KAFKA_STARTING_OFFSET_BEGINNING,
  FLOW_KAFKA_STARTING_OFFSET_END,
  FLOW_KAFKA_STARTING_OFFSET_STORED,
} FlowKafkaStartingOffset;

#define FLOW_TYPE_KAFKA_STARTING_OFFSET (flow_kafka_starting_offset_get_type ())

FLOW_AVAILABLE_IN_1_0
GType flow_kafka_starting_offset_get_type (void) G_GNUC_CONST;

#define FLOW_TYPE_KAFKA_SOURCE (flow_kafka_source_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowKafkaSource, flow_kafka_source, FLOW, KAFKA_SOURCE, FlowSource)

FLOW_AVAILABLE_IN_1_0
FlowKafkaSource         *flow_kafka_source_new                 (const char         *brokers,
                                                                const char * const *topics);
FLOW_AVAILABLE_IN_1_0
const char              *flow_kafka_source_get_brokers         (FlowKafkaSource    *self);
FLOW_AVAILABLE_IN_1_0
const char * const      *flow_kafka_source_get_topics          (FlowKafkaSource    *self);
FLOW_AVAILABLE_IN_1_0
void                     flow_kafka_source_set_config          (FlowKafkaSource    *self,
                                                                const char         *name,
                                                                const char         *value);
FLOW_AVAILABLE_IN_1_0
const char              *flow_kafka_source_get_config          (FlowKafkaSource    *self,
                                                                const char         *name);
FLOW_AVAILABLE_IN_1_0
FlowKafkaStartingOffset  flow_kafka_source_get_starting_offset (FlowKafkaSource    *self);
FLOW_AVAILABLE_IN_1_0
void                     flow_kafka_source_set_starting_offset (FlowKafkaSource    *self,
                                                                FlowKafkaStartingOffset offset);
FLOW_AVAILABLE_IN_1_0
gboolean                 flow_kafka_source_get_tail            (FlowKafkaSource    *self);
FLOW_AVAILABLE_IN_1_0
void                     flow_kafka_source_set_tail            (FlowKafkaSource    *self,
                                                                gboolean            tail);
FLOW_AVAILABLE_IN_1_0
guint                    flow_kafka_source_get_batch_size      (FlowKafkaSource    *self);
FLOW_AVAILABLE_IN_1_0
void                     flow_kafka_source_set_batch_size      (FlowKafkaSource    *self,
                                                                guint               batch_size);
FLOW_AVAILABLE_IN_1_0
gboolean                 flow_kafka_source_get_raise_on_errors (FlowKafkaSource    *self);
FLOW_AVAILABLE_IN_1_0
void                     flow_kafka_source_set_raise_on_errors (FlowKafkaSource    *self,
                                                                gboolean            raise_on_errors);
FLOW_AVAILABLE_IN_1_0
void                     flow_kafka_source_set_share           (FlowKafkaSource    *self,
                                                                guint               index,
                                                                guint               count);

G_END_DECLS
