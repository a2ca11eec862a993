/* flow-stateful-logic.h: the general stateful operators (stateful, stateful_batch)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include <glib-object.h>

#include "flow-types.h"
#include "flow-version-macros.h"

G_BEGIN_DECLS

/**
 * FLOW_STATEFUL_LOGIC_RETAIN:
 *
 * The value of the `discard` answer of a [class@Flow.StatefulLogic] or
 * [class@Flow.StatefulBatchLogic] method that keeps the logic (Bytewax's
 * `StatefulLogic.RETAIN`, which is `False`).
 */
#define FLOW_STATEFUL_LOGIC_RETAIN 0

/**
 * FLOW_STATEFUL_LOGIC_DISCARD:
 *
 * The value of the `discard` answer that drops the logic, and its
 * snapshot, once the method returned (Bytewax's `StatefulLogic.DISCARD`,
 * which is `True`).
 */
#define FLOW_STATEFUL_LOGIC_DISCARD 1

#define FLOW_TYPE_STATEFUL_LOGIC (flow_stateful_logic_get_type ())
FLOW_AVAILABLE_IN_1_0
G_DECLARE_DERIVABLE_TYPE (FlowStatefulLogic, flow_stateful_logic, FLOW, STATEFUL_LOGIC, GObject)

/**
 * FlowStatefulLogicClass:
 * @parent_class: the parent class
 * @on_item: called with each value of the logic's key
 * @on_notify: called once the time @notify_at asked for has come
 * @on_eof: called at the end of the input of a run
 * @notify_at: says when @on_notify should be called next, if ever
 * @snapshot: returns the state to rebuild the logic from on resume
 *
 * The virtual methods of a [class@Flow.StatefulLogic]. @on_item and
 * @snapshot must be implemented.
 *
 * The methods that emit (@on_item, @on_notify, @on_eof) return an array
 * of values (the elements of an `av` array are unboxed), each emitted
 * with the key, or %NULL to emit nothing; and they set `discard` to
 * %FLOW_STATEFUL_LOGIC_DISCARD to drop the logic once they returned
 * (its key is forgotten, recovery included), or leave it at
 * %FLOW_STATEFUL_LOGIC_RETAIN.
 */
struct _FlowStatefulLogicClass
{
  GObjectClass parent_class;

  GVariant *(*on_item)   (FlowStatefulLogic  *self,
                          GVariant           *value,
                          gboolean           *discard,
                          GError            **error);
  GVariant *(*on_notify) (FlowStatefulLogic  *self,
                          gboolean           *discard,
                          GError            **error);
  GVariant *(*on_eof)    (FlowStatefulLogic  *self,
                          gboolean           *discard,
                          GError            **error);
  gboolean  (*notify_at) (FlowStatefulLogic  *self,
                          gint64             *at,
                          GError            **error);
  GVariant *(*snapshot)  (FlowStatefulLogic  *self,
                          GError            **error);

  /*< private >*/
  gpointer _reserved[12];
};

FLOW_AVAILABLE_IN_1_0
GVariant *flow_stateful_logic_on_item   (FlowStatefulLogic  *self,
                                         GVariant           *value,
                                         gboolean           *discard,
                                         GError            **error);
FLOW_AVAILABLE_IN_1_0
GVariant *flow_stateful_logic_on_notify (FlowStatefulLogic  *self,
                                         gboolean           *discard,
                                         GError            **error);
FLOW_AVAILABLE_IN_1_0
GVariant *flow_stateful_logic_on_eof    (FlowStatefulLogic  *self,
                                         gboolean           *discard,
                                         GError            **error);
FLOW_AVAILABLE_IN_1_0
gboolean  flow_stateful_logic_notify_at (FlowStatefulLogic  *self,
                                         gint64             *at,
                                         GError            **error);
FLOW_AVAILABLE_IN_1_0
GVariant *flow_stateful_logic_snapshot  (FlowStatefulLogic  *self,
                                         GError            **error);

#define FLOW_TYPE_STATEFUL_BATCH_LOGIC (flow_stateful_batch_logic_get_type ())
FLOW_AVAILABLE_IN_1_0
G_DECLARE_DERIVABLE_TYPE (FlowStatefulBatchLogic, flow_stateful_batch_logic, FLOW, STATEFUL_BATCH_LOGIC, GObject)

/**
 * FlowStatefulBatchLogicClass:
 * @parent_class: the parent class
 * @on_batch: called with the values of the logic's key in a batch
 * @on_notify: called once the time @notify_at asked for has come
 * @on_eof: called at the end of the input of a run
 * @notify_at: says when @on_notify should be called next, if ever
 * @snapshot: returns the state to rebuild the logic from on resume
 *
 * The virtual methods of a [class@Flow.StatefulBatchLogic]: those of a
 * [class@Flow.StatefulLogic], with @on_batch in place of `on_item`.
 * @on_batch and @snapshot must be implemented.
 */
struct _FlowStatefulBatchLogicClass
{
  GObjectClass parent_class;

  GVariant *(*on_batch)  (FlowStatefulBatchLogic  *self,
                          GVariant                *values,
                          gboolean                *discard,
                          GError                 **error);
  GVariant *(*on_notify) (FlowStatefulBatchLogic  *self,
                          gboolean                *discard,
                          GError                 **error);
  GVariant *(*on_eof)    (FlowStatefulBatchLogic  *self,
                          gboolean                *discard,
                          GError                 **error);
  gboolean  (*notify_at) (FlowStatefulBatchLogic  *self,
                          gint64                  *at,
                          GError                 **error);
  GVariant *(*snapshot)  (FlowStatefulBatchLogic  *self,
                          GError                 **error);

  /*< private >*/
  gpointer _reserved[12];
};

FLOW_AVAILABLE_IN_1_0
GVariant *flow_stateful_batch_logic_on_batch  (FlowStatefulBatchLogic  *self,
                                               GVariant                *values,
                                               gboolean                *discard,
                                               GError                 **error);
FLOW_AVAILABLE_IN_1_0
GVariant *flow_stateful_batch_logic_on_notify (FlowStatefulBatchLogic  *self,
                                               gboolean                *discard,
                                               GError                 **error);
FLOW_AVAILABLE_IN_1_0
GVariant *flow_stateful_batch_logic_on_eof    (FlowStatefulBatchLogic  *self,
                                               gboolean                *discard,
                                               GError                 **error);
FLOW_AVAILABLE_IN_1_0
gboolean  flow_stateful_batch_logic_notify_at (FlowStatefulBatchLogic  *self,
                                               gint64                  *at,
                                               GError                 **error);
FLOW_AVAILABLE_IN_1_0
GVariant *flow_stateful_batch_logic_snapshot  (FlowStatefulBatchLogic  *self,
                                               GError                 **error);

/**
 * FlowStatefulLogicBuilder:
 * @key: the key the logic is for
 * @resume_state: (nullable): what the key's logic returned from
 *   [method@Flow.StatefulLogic.snapshot] in the run that is resumed, or
 *   %NULL for a new key
 * @user_data: (closure): the data given with the function
 * @error: return location for a #GError
 *
 * Builds the logic of a key: when the key is seen for the first time (or
 * again after its logic was discarded), and for every key that had a
 * logic when a run resumes. Used by [method@Flow.Stream.stateful].
 *
 * Returns: (transfer full): a new logic, or %NULL with @error set
 */
typedef FlowStatefulLogic *(*FlowStatefulLogicBuilder) (const char  *key,
                                                        GVariant    *resume_state,
                                                        gpointer     user_data,
                                                        GError     **error);

/**
 * FlowStatefulBatchLogicBuilder:
 * @key: the key the logic is for
 * @resume_state: (nullable): what the key's logic returned from
 *   [method@Flow.StatefulBatchLogic.snapshot] in the run that is resumed,
 *   or %NULL for a new key
 * @user_data: (closure): the data given with the function
 * @error: return location for a #GError
 *
 * Builds the logic of a key for [method@Flow.Stream.stateful_batch]; see
 * [callback@Flow.StatefulLogicBuilder].
 *
 * Returns: (transfer full): a new logic, or %NULL with @error set
 */
typedef FlowStatefulBatchLogic *(*FlowStatefulBatchLogicBuilder) (const char  *key,
                                                                  GVariant    *resume_state,
                                                                  gpointer     user_data,
                                                                  GError     **error);

FLOW_AVAILABLE_IN_1_0
FlowStream *flow_stream_stateful       (FlowStream                    *self,
                                        const char                    *step_id,
                                        FlowStatefulLogicBuilder       builder,
                                        gpointer                       user_data,
                                        GDestroyNotify                 destroy);
FLOW_AVAILABLE_IN_1_0
FlowStream *flow_stream_stateful_batch (FlowStream                    *self,
                                        const char                    *step_id,
                                        FlowStatefulBatchLogicBuilder  builder,
                                        gpointer                       user_data,
                                        GDestroyNotify                 destroy);

G_END_DECLS
