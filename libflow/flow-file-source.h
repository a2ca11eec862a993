/* flow-file-source.h: the lines of a text file, resumable
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include "flow-source.h"

G_BEGIN_DECLS

#define FLOW_TYPE_FILE_SOURCE (flow_file_source_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowFileSource, flow_file_source, FLOW, FILE_SOURCE, FlowSource)

FLOW_AVAILABLE_IN_1_0
FlowFileSource *flow_file_source_new              (const char     *path);
FLOW_AVAILABLE_IN_1_0
const char     *flow_file_source_get_path         (FlowFileSource *self);
FLOW_AVAILABLE_IN_1_0
guint           flow_file_source_get_batch_size   (FlowFileSource *self);
FLOW_AVAILABLE_IN_1_0
void            flow_file_source_set_batch_size   (FlowFileSource *self,
                                                   guint           batch_size);
FLOW_AVAILABLE_IN_1_0
gboolean        flow_file_source_get_hold_partial (FlowFileSource *self);
FLOW_AVAILABLE_IN_1_0
void            flow_file_source_set_hold_partial (FlowFileSource *self,
                                                   gboolean        hold_partial);

G_END_DECLS
