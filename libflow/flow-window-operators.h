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
#include "flow-join.h"

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

/* FlowWindowLogic -------------------------------------------------------- */

#define FLOW_TYPE_WINDOW_LOGIC (flow_window_logic_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_DERIVABLE_TYPE (FlowWindowLogic, flow_window_logic, FLOW, WINDOW_LOGIC, GObject)

/**
 * FlowWindowLogicClass:
 * @parent_class: the parent class
 * @on_value: a value came into the window; returns the values to emit
 *   now (an `av`), or %NULL for none
 * @on_merge: the window @consumed merged into this one (sessions);
 *   returns the values to emit now, or %NULL
 * @on_close: the window closed; returns the values to emit (an `av`), or
 *   %NULL for none
 * @snapshot: the state of the window, for @restore on resume
 * @restore: sets the state of a new window from a snapshot
 *
 * The logic of one window of [method@Flow.Stream.window] (Bytewax's
 * `WindowLogic`): the operator makes one instance of the class per
 * window, with g_object_new(), and calls these methods. Implement
 * @on_value, @on_close, @snapshot and @restore; @on_merge is needed with
 * session windows (the default refuses to merge).
 */
struct _FlowWindowLogicClass
{
  GObjectClass parent_class;

  GVariant *(*on_value) (FlowWindowLogic  *self,
                         GVariant         *value,
                         GError          **error);
  GVariant *(*on_merge) (FlowWindowLogic  *self,
                         FlowWindowLogic  *consumed,
                         GError          **error);
  GVariant *(*on_close) (FlowWindowLogic  *self,
                         GError          **error);
  GVariant *(*snapshot) (FlowWindowLogic  *self,
                         GError          **error);
  gboolean  (*restore)  (FlowWindowLogic  *self,
                         GVariant         *state,
                         GError          **error);

  /*< private >*/
  gpointer padding[8];
};

FLOW_AVAILABLE_IN_1_0
GVariant      *flow_window_logic_on_value     (FlowWindowLogic  *self,
                                               GVariant         *value,
                                               GError          **error);
FLOW_AVAILABLE_IN_1_0
GVariant      *flow_window_logic_on_merge     (FlowWindowLogic  *self,
                                               FlowWindowLogic  *consumed,
                                               GError          **error);
FLOW_AVAILABLE_IN_1_0
GVariant      *flow_window_logic_on_close     (FlowWindowLogic  *self,
                                               GError          **error);
FLOW_AVAILABLE_IN_1_0
GVariant      *flow_window_logic_snapshot     (FlowWindowLogic  *self,
                                               GError          **error);
FLOW_AVAILABLE_IN_1_0
gboolean       flow_window_logic_restore      (FlowWindowLogic  *self,
                                               GVariant         *state,
                                               GError          **error);

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

FLOW_AVAILABLE_IN_1_0
FlowWindowOut *flow_stream_window             (FlowStream       *self,
                                               const char       *step_id,
                                               FlowWindowClock  *clock,
                                               FlowWindower     *windower,
                                               GType             logic_type,
                                               gboolean          ordered);
FLOW_AVAILABLE_IN_1_0
FlowWindowOut *flow_stream_join_window        (FlowStream       *self,
                                               const char       *step_id,
                                               FlowWindowClock  *clock,
                                               FlowWindower     *windower,
                                               FlowStream      **others,
                                               guint             n_others,
                                               FlowJoinInsertMode insert_mode);

G_END_DECLS
