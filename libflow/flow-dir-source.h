/* flow-dir-source.h: the lines of the files of a directory, one partition
 * per file, resumable
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include "flow-source.h"

G_BEGIN_DECLS

#define FLOW_TYPE_DIR_SOURCE (flow_dir_source_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowDirSource, flow_dir_source, FLOW, DIR_SOURCE, FlowSource)

FLOW_AVAILABLE_IN_1_0
FlowDirSource *flow_dir_source_new            (const char    *dir,
                                               const char    *glob);
FLOW_AVAILABLE_IN_1_0
const char    *flow_dir_source_get_dir        (FlowDirSource *self);
FLOW_AVAILABLE_IN_1_0
const char    *flow_dir_source_get_glob       (FlowDirSource *self);
FLOW_AVAILABLE_IN_1_0
guint          flow_dir_source_get_batch_size (FlowDirSource *self);
FLOW_AVAILABLE_IN_1_0
void           flow_dir_source_set_batch_size (FlowDirSource *self,
                                               guint          batch_size);

G_END_DECLS
