/* flow-file-sink.h: one line per item to a file, exactly-once on resume
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include "flow-sink.h"

G_BEGIN_DECLS

#define FLOW_TYPE_FILE_SINK (flow_file_sink_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowFileSink, flow_file_sink, FLOW, FILE_SINK, FlowSink)

FLOW_AVAILABLE_IN_1_0
FlowFileSink *flow_file_sink_new      (const char   *path);
FLOW_AVAILABLE_IN_1_0
const char   *flow_file_sink_get_path (FlowFileSink *self);

FLOW_AVAILABLE_IN_1_0
void          flow_file_sink_set_values_only (FlowFileSink *self,
                                              gboolean      values_only);
FLOW_AVAILABLE_IN_1_0
gboolean      flow_file_sink_get_values_only (FlowFileSink *self);

G_END_DECLS
