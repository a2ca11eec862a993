/* flow-std-out-sink.h: a sink that prints items to standard output
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include "flow-sink.h"

G_BEGIN_DECLS

#define FLOW_TYPE_STD_OUT_SINK (flow_std_out_sink_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowStdOutSink, flow_std_out_sink, FLOW, STD_OUT_SINK, FlowSink)

FLOW_AVAILABLE_IN_1_0
FlowStdOutSink *flow_std_out_sink_new (void);

G_END_DECLS
