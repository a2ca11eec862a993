/* flow-dataflow.h: a named graph of steps
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include <glib-object.h>

#include "flow-types.h"

G_BEGIN_DECLS

#define FLOW_TYPE_DATAFLOW (flow_dataflow_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowDataflow, flow_dataflow, FLOW, DATAFLOW, GObject)

FLOW_AVAILABLE_IN_1_0
FlowDataflow *flow_dataflow_new        (const char    *id);
FLOW_AVAILABLE_IN_1_0
const char   *flow_dataflow_get_id     (FlowDataflow  *self);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_dataflow_input      (FlowDataflow  *self,
                                        const char    *step_id,
                                        FlowSource    *source);
FLOW_AVAILABLE_IN_1_0
gboolean      flow_dataflow_check      (FlowDataflow  *self,
                                        GError       **error);
FLOW_AVAILABLE_IN_1_0
char        **flow_dataflow_list_steps (FlowDataflow  *self);

FLOW_AVAILABLE_IN_1_0
void          flow_dataflow_begin_operator      (FlowDataflow *self,
                                                 const char   *step_id,
                                                 const char   *op_type);
FLOW_AVAILABLE_IN_1_0
void          flow_dataflow_add_operator_input  (FlowDataflow *self,
                                                 const char   *port_name,
                                                 FlowStream   *stream);
FLOW_AVAILABLE_IN_1_0
void          flow_dataflow_add_operator_output (FlowDataflow *self,
                                                 const char   *port_name,
                                                 FlowStream   *stream);
FLOW_AVAILABLE_IN_1_0
void          flow_dataflow_end_operator        (FlowDataflow *self);

FLOW_AVAILABLE_IN_1_0
GVariant     *flow_dataflow_describe   (FlowDataflow  *self);
FLOW_AVAILABLE_IN_1_0
char         *flow_dataflow_to_dot     (FlowDataflow  *self);
FLOW_AVAILABLE_IN_1_0
char         *flow_dataflow_to_mermaid (FlowDataflow  *self);

G_END_DECLS
