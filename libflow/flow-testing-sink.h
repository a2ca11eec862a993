/* flow-testing-sink.h: a sink that collects items in memory, for tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include "flow-sink.h"

G_BEGIN_DECLS

#define FLOW_TYPE_TESTING_SINK (flow_testing_sink_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowTestingSink, flow_testing_sink, FLOW, TESTING_SINK, FlowSink)

FLOW_AVAILABLE_IN_1_0
FlowTestingSink *flow_testing_sink_new         (void);
FLOW_AVAILABLE_IN_1_0
GVariant        *flow_testing_sink_get_items   (FlowTestingSink *self);
FLOW_AVAILABLE_IN_1_0
guint            flow_testing_sink_get_n_items (FlowTestingSink *self);
FLOW_AVAILABLE_IN_1_0
GVariant        *flow_testing_sink_get_item    (FlowTestingSink *self,
                                                guint            position);
FLOW_AVAILABLE_IN_1_0
void             flow_testing_sink_clear       (FlowTestingSink *self);

G_END_DECLS
