/* flow-kafka-sink.h: messages to Kafka topics, flushed at every epoch
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include "flow-sink.h"

G_BEGIN_DECLS

#define FLOW_TYPE_KAFKA_SINK (flow_kafka_sink_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowKafkaSink, flow_kafka_sink, FLOW, KAFKA_SINK, FlowSink)

FLOW_AVAILABLE_IN_1_0
FlowKafkaSink *flow_kafka_sink_new         (const char    *brokers,
                                            const char    *topic);
FLOW_AVAILABLE_IN_1_0
const char    *flow_kafka_sink_get_brokers (FlowKafkaSink *self);
FLOW_AVAILABLE_IN_1_0
const char    *flow_kafka_sink_get_topic   (FlowKafkaSink *self);
FLOW_AVAILABLE_IN_1_0
void           flow_kafka_sink_set_config  (FlowKafkaSink *self,
                                            const char    *name,
                                            const char    *value);
FLOW_AVAILABLE_IN_1_0
const char    *flow_kafka_sink_get_config  (FlowKafkaSink *self,
                                            const char    *name);
FLOW_AVAILABLE_IN_1_0
void           flow_kafka_sink_set_keep_read_metadata (FlowKafkaSink *self,
                                                       gboolean       keep);
FLOW_AVAILABLE_IN_1_0
gboolean       flow_kafka_sink_get_keep_read_metadata (FlowKafkaSink *self);
FLOW_AVAILABLE_IN_1_0
void           flow_kafka_sink_set_transactional_id   (FlowKafkaSink *self,
                                                       const char    *transactional_id);
FLOW_AVAILABLE_IN_1_0
const char    *flow_kafka_sink_get_transactional_id   (FlowKafkaSink *self);

G_END_DECLS
