/* flow-window-operators.h: the window operators and their output streams
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include <glib-object.h>

#include "flow-version-macros.h"
#include "flow-types.h"
#include "flow-windower.h"
#include "flow-window-clock.h"

G_BEGIN_DECLS

/* FlowWindowOut --------------------------------------------------------- */

#define FLOW_TYPE_WINDOW_OUT (flow_window_out_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowWindowOut, flow_window_out, FLOW, WINDOW_OUT, GObject)

FLOW_AVAILABLE_IN_1_0
FlowStream    *flow_window_out_get_down       (FlowWindowOut    *self);
FLOW_AVAILABLE_IN_1_0
FlowStream    *flow_window_out_get_late       (FlowWindowOut    *self);
FLOW_AVAILABLE_IN_1_0
FlowStream    *flow_window_out_get_meta       (FlowWindowOut    *self);

/* The window operators (methods of FlowStream) ---------------------------- */

FLOW_AVAILABLE_IN_1_0
FlowWindowOut *flow_stream_collect_window     (FlowStream       *self,
                                               const char       *step_id,
                                               FlowWindowClock  *clock,
                                               FlowWindower     *windower,
                                               gboolean          ordered);
FLOW_AVAILABLE_IN_1_0
FlowWindowOut *flow_stream_count_window       (FlowStream       *self,
                                               const char       *step_id,
                                               FlowWindowClock  *clock,
                                               FlowWindower     *windower,
                                               FlowKeyFunc       key_func,
                                               gpointer          user_data,
                                               GDestroyNotify    destroy);
FLOW_AVAILABLE_IN_1_0
FlowWindowOut *flow_stream_fold_window        (FlowStream       *self,
                                               const char       *step_id,
                                               FlowWindowClock  *clock,
                                               FlowWindower     *windower,
                                               FlowBuilderFunc   builder,
                                               gpointer          builder_data,
                                               GDestroyNotify    builder_destroy,
                                               FlowFoldFunc      folder,
                                               gpointer          folder_data,
                                               GDestroyNotify    folder_destroy,
                                               FlowFoldFunc      merger,
                                               gpointer          merger_data,
                                               GDestroyNotify    merger_destroy,
                                               gboolean          ordered);
FLOW_AVAILABLE_IN_1_0
FlowWindowOut *flow_stream_reduce_window      (FlowStream       *self,
                                               const char       *step_id,
                                               FlowWindowClock  *clock,
                                               FlowWindower     *windower,
                                               FlowFoldFunc      reducer,
                                               gpointer          user_data,
                                               GDestroyNotify    destroy,
                                               gboolean          ordered);
FLOW_AVAILABLE_IN_1_0
FlowWindowOut *flow_stream_max_window         (FlowStream       *self,
                                               const char       *step_id,
                                               FlowWindowClock  *clock,
                                               FlowWindower     *windower,
                                               FlowMapFunc       by,
                                               gpointer          user_data,
                                               GDestroyNotify    destroy);
FLOW_AVAILABLE_IN_1_0
FlowWindowOut *flow_stream_min_window         (FlowStream       *self,
                                               const char       *step_id,
                                               FlowWindowClock  *clock,
                                               FlowWindower     *windower,
                                               FlowMapFunc       by,
                                               gpointer          user_data,
                                               GDestroyNotify    destroy);

G_END_DECLS
