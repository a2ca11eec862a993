/* flow-stream.h: the output port of a step, and the operators on it
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

#define FLOW_TYPE_STREAM (flow_stream_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowStream, flow_stream, FLOW, STREAM, GObject)

FLOW_AVAILABLE_IN_1_0
FlowDataflow *flow_stream_get_dataflow     (FlowStream              *self);
FLOW_AVAILABLE_IN_1_0
const char   *flow_stream_get_step_id      (FlowStream              *self);

FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_map              (FlowStream              *self,
                                            const char              *step_id,
                                            FlowMapFunc              mapper,
                                            gpointer                 user_data,
                                            GDestroyNotify           destroy);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_filter           (FlowStream              *self,
                                            const char              *step_id,
                                            FlowPredicateFunc        predicate,
                                            gpointer                 user_data,
                                            GDestroyNotify           destroy);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_filter_map       (FlowStream              *self,
                                            const char              *step_id,
                                            FlowFilterMapFunc        mapper,
                                            gpointer                 user_data,
                                            GDestroyNotify           destroy);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_flat_map         (FlowStream              *self,
                                            const char              *step_id,
                                            FlowFlatMapFunc          mapper,
                                            gpointer                 user_data,
                                            GDestroyNotify           destroy);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_flat_map_batch   (FlowStream              *self,
                                            const char              *step_id,
                                            FlowFlatMapFunc          mapper,
                                            gpointer                 user_data,
                                            GDestroyNotify           destroy);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_flatten          (FlowStream              *self,
                                            const char              *step_id);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_inspect          (FlowStream              *self,
                                            const char              *step_id,
                                            FlowInspectFunc          inspector,
                                            gpointer                 user_data,
                                            GDestroyNotify           destroy);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_inspect_debug    (FlowStream              *self,
                                            const char              *step_id,
                                            FlowInspectDebugFunc     inspector,
                                            gpointer                 user_data,
                                            GDestroyNotify           destroy);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_merge            (FlowStream              *self,
                                            const char              *step_id,
                                            FlowStream             **others,
                                            guint                    n_others);
FLOW_AVAILABLE_IN_1_0
void          flow_stream_branch           (FlowStream              *self,
                                            const char              *step_id,
                                            FlowPredicateFunc        predicate,
                                            gpointer                 user_data,
                                            GDestroyNotify           destroy,
                                            FlowStream             **trues,
                                            FlowStream             **falses);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_redistribute     (FlowStream              *self,
                                            const char              *step_id);

/* Keyed streams */
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_key_on           (FlowStream              *self,
                                            const char              *step_id,
                                            FlowKeyFunc              key_func,
                                            gpointer                 user_data,
                                            GDestroyNotify           destroy);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_key_rm           (FlowStream              *self,
                                            const char              *step_id);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_map_value        (FlowStream              *self,
                                            const char              *step_id,
                                            FlowMapFunc              mapper,
                                            gpointer                 user_data,
                                            GDestroyNotify           destroy);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_filter_value     (FlowStream              *self,
                                            const char              *step_id,
                                            FlowPredicateFunc        predicate,
                                            gpointer                 user_data,
                                            GDestroyNotify           destroy);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_flat_map_value   (FlowStream              *self,
                                            const char              *step_id,
                                            FlowFlatMapFunc          mapper,
                                            gpointer                 user_data,
                                            GDestroyNotify           destroy);

/* Stateful operators */
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_stateful_map     (FlowStream              *self,
                                            const char              *step_id,
                                            FlowBuilderFunc          builder,
                                            gpointer                 builder_data,
                                            GDestroyNotify           builder_destroy,
                                            FlowStatefulMapFunc      mapper,
                                            gpointer                 mapper_data,
                                            GDestroyNotify           mapper_destroy);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_stateful_flat_map (FlowStream             *self,
                                            const char              *step_id,
                                            FlowBuilderFunc          builder,
                                            gpointer                 builder_data,
                                            GDestroyNotify           builder_destroy,
                                            FlowStatefulFlatMapFunc  mapper,
                                            gpointer                 mapper_data,
                                            GDestroyNotify           mapper_destroy);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_fold_final       (FlowStream              *self,
                                            const char              *step_id,
                                            FlowBuilderFunc          builder,
                                            gpointer                 builder_data,
                                            GDestroyNotify           builder_destroy,
                                            FlowFoldFunc             folder,
                                            gpointer                 folder_data,
                                            GDestroyNotify           folder_destroy);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_reduce_final     (FlowStream              *self,
                                            const char              *step_id,
                                            FlowFoldFunc             reducer,
                                            gpointer                 user_data,
                                            GDestroyNotify           destroy);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_count_final      (FlowStream              *self,
                                            const char              *step_id,
                                            FlowKeyFunc              key_func,
                                            gpointer                 user_data,
                                            GDestroyNotify           destroy);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_max_final        (FlowStream              *self,
                                            const char              *step_id,
                                            FlowMapFunc              by,
                                            gpointer                 user_data,
                                            GDestroyNotify           destroy);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_min_final        (FlowStream              *self,
                                            const char              *step_id,
                                            FlowMapFunc              by,
                                            gpointer                 user_data,
                                            GDestroyNotify           destroy);
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_collect          (FlowStream              *self,
                                            const char              *step_id,
                                            double                   timeout,
                                            guint                    max_size);

FLOW_AVAILABLE_IN_1_0
void          flow_stream_output           (FlowStream              *self,
                                            const char              *step_id,
                                            FlowSink                *sink);

/* filter_map_value, raises (issue 8) */
FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_filter_map_value (FlowStream              *self,
                                            const char              *step_id,
                                            FlowFilterMapFunc        mapper,
                                            gpointer                 user_data,
                                            GDestroyNotify           destroy);
FLOW_AVAILABLE_IN_1_0
void          flow_stream_raises           (FlowStream              *self,
                                            const char              *step_id);

G_END_DECLS
