/* flow-dir-sink.h: one file per partition in a directory, key-routed,
 * exactly-once on resume
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include "flow-sink.h"

G_BEGIN_DECLS

#define FLOW_TYPE_DIR_SINK (flow_dir_sink_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowDirSink, flow_dir_sink, FLOW, DIR_SINK, FlowSink)

FLOW_AVAILABLE_IN_1_0
FlowDirSink        *flow_dir_sink_new            (const char         *dir,
                                                  guint               file_count);
FLOW_AVAILABLE_IN_1_0
FlowDirSink        *flow_dir_sink_new_with_names (const char         *dir,
                                                  const char * const *file_names);
FLOW_AVAILABLE_IN_1_0
const char         *flow_dir_sink_get_dir        (FlowDirSink        *self);
FLOW_AVAILABLE_IN_1_0
const char * const *flow_dir_sink_get_file_names (FlowDirSink        *self);

G_END_DECLS
