/* flow-csv-source.h: the rows of a CSV file as dictionaries, resumable
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include "flow-source.h"

G_BEGIN_DECLS

#define FLOW_TYPE_CSV_SOURCE (flow_csv_source_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowCSVSource, flow_csv_source, FLOW, CSV_SOURCE, FlowSource)

FLOW_AVAILABLE_IN_1_0
FlowCSVSource *flow_csv_source_new            (const char    *path);
FLOW_AVAILABLE_IN_1_0
const char    *flow_csv_source_get_path       (FlowCSVSource *self);
FLOW_AVAILABLE_IN_1_0
guint          flow_csv_source_get_batch_size (FlowCSVSource *self);
FLOW_AVAILABLE_IN_1_0
void           flow_csv_source_set_batch_size (FlowCSVSource *self,
                                               guint          batch_size);

G_END_DECLS
