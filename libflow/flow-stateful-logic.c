/* flow-stateful-logic.c: the general stateful operators (stateful, stateful_batch)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The classes users derive from, and the public wrappers of the two
 * operators; the operators themselves are in operators/flow-op-logic.c.
 */

#include "config.h"

#include "flow-operator-private.h"

/**
 * FlowStatefulLogic:
 *
 * The logic of one key of a [method@Flow.Stream.stateful] step: Bytewax's
 * `StatefulLogic`. The step builds one logic per key (with its
 * [callback@Flow.StatefulLogicBuilder]) and calls, for each batch that
 * reaches it:
 *
 * 1. [vfunc@Flow.StatefulLogic.on_item] for each value of each key in the
 *    batch (keys in key order, values in order). A logic that asks to be
 *    discarded is dropped at once; a later value of its key in the same
 *    batch gets a new logic.
 * 2. [vfunc@Flow.StatefulLogic.on_notify] for each key whose notification
 *    time (from [vfunc@Flow.StatefulLogic.notify_at]) has come, in order of
 *    time (then key). The step also wakes up at the earliest of these times
 *    when no item comes: a timer on the run's main loop and clock, not
 *    polling.
 * 3. At the end of the input, [vfunc@Flow.StatefulLogic.on_eof] for every
 *    key that has a logic, in key order.
 * 4. [vfunc@Flow.StatefulLogic.notify_at] for every key that was called
 *    above and kept its logic: the next notification time (one per key; a
 *    notification fires once, so a logic that wants another returns it
 *    again).
 *
 * With recovery on, [vfunc@Flow.StatefulLogic.snapshot] is called for every
 * key that was called and kept its logic, and what it returns is the
 * key's state in the epoch's snapshot; a discarded logic deletes the
 * key's state. On resume, the builder gets that state back for each key,
 * and `notify_at` is asked again: a logic that needs a notification after
 * a resume keeps its time in its snapshot.
 *
 * In Python, derive and override `do_on_item` (and the others); in GJS
 * `vfunc_on_item`; in Vala `override`. A method that emits returns an
 * array of values (or %NULL) and sets its `discard` out argument:
 *
 * ```python
 * class Counter(Flow.StatefulLogic):
 *     def __init__(self, count=0):
 *         super().__init__()
 *         self.count = count
 *
 *     def do_on_item(self, value):
 *         self.count += 1
 *         return [self.count], Flow.STATEFUL_LOGIC_RETAIN
 *
 *     def do_snapshot(self):
 *         return self.count
 * ```
 */

G_DEFINE_TYPE (FlowStatefulLogic, flow_stateful_logic, G_TYPE_OBJECT)

/* What FlowStatefulLogic and FlowStatefulBatchLogic share. Their classes
 * differ only in the type of self and in the method that gets the values
 * (on_item, on_batch): the defaults and the invokers of the other methods
 * below serve both. */

static GVariant *
set_not_implemented (gpointer     self,
                     const char  *method,
                     GError     **error)
{
  g_set_error (error, FLOW_ERROR, FLOW_ERROR_NOT_SUPPORTED,
               "%s does not implement %s()", G_OBJECT_TYPE_NAME (self), method);
  return NULL;
}

static GVariant *
logic_real_emit_nothing (gpointer   self,
                         gboolean  *discard,
                         GError   **error)
{
  *discard = FLOW_STATEFUL_LOGIC_RETAIN;
  return NULL;
}

static gboolean
logic_real_notify_at (gpointer   self,
                      gint64    *at,
                      GError   **error)
{
  return FALSE;
}

static GVariant *
logic_real_snapshot (gpointer   self,
                     GError   **error)
{
  return set_not_implemented (self, "snapshot", error);
}

/* Sets the defaults of the methods both classes have (@klass is either
 * class struct; the casts only change the type of self). */
#define LOGIC_CLASS_SET_DEFAULTS(klass)                                       \
  G_STMT_START {                                                              \
    (klass)->on_notify = (__typeof__ ((klass)->on_notify)) logic_real_emit_nothing; \
    (klass)->on_eof    = (__typeof__ ((klass)->on_eof)) logic_real_emit_nothing;    \
    (klass)->notify_at = (__typeof__ ((klass)->notify_at)) logic_real_notify_at;    \
    (klass)->snapshot  = (__typeof__ ((klass)->snapshot)) logic_real_snapshot;      \
  } G_STMT_END

/* Adapters to the invoker shape of flow-binding-private.h: (self, arg,
 * flag, error), @arg being the vfunc of the emitters without argument. */
typedef GVariant *(*EmitFunc) (gpointer self, gboolean *discard, GError **error);

static gpointer
call_emit (gpointer   self,
           gpointer   vfunc,
           gboolean  *discard,
           GError   **error)
{
  return ((EmitFunc) vfunc) (self, discard, error);
}

/* The body of the invokers of the methods that emit: @discard starts at
 * RETAIN, and @vfunc is called with @arg (on_item, on_batch) or, through
 * call_emit(), without it (on_notify, on_eof: @arg is then the vfunc). */
static GVariant *
logic_invoke_emit (gpointer               self,
                   FlowBindingLogicFunc   vfunc,
                   gpointer               arg,
                   gboolean              *discard,
                   GError               **error)
{
  *discard = FLOW_STATEFUL_LOGIC_RETAIN;
  return flow_binding_invoke_logic (vfunc, self, arg, discard, error);
}

static GVariant *
flow_stateful_logic_real_on_item (FlowStatefulLogic  *self,
                                  GVariant           *value,
                                  gboolean           *discard,
                                  GError            **error)
{
  return set_not_implemented (self, "on_item", error);
}

static void
flow_stateful_logic_class_init (FlowStatefulLogicClass *klass)
{
  klass->on_item = flow_stateful_logic_real_on_item;
  LOGIC_CLASS_SET_DEFAULTS (klass);
}

static void
flow_stateful_logic_init (FlowStatefulLogic *self)
{
}

/**
 * flow_stateful_logic_on_item: (virtual on_item)
 * @self: a logic
 * @value: the value of an item of the logic's key
 * @discard: (out): return location for the answer:
 *   %FLOW_STATEFUL_LOGIC_DISCARD to drop the logic,
 *   %FLOW_STATEFUL_LOGIC_RETAIN to keep it
 * @error: return location for a #GError
 *
 * Called with the value of each item of the logic's key, in order. Must
 * be implemented.
 *
 * Returns: (transfer full) (nullable): an array of the values to emit
 *   with the key (the elements of an `av` array are unboxed), or %NULL to
 *   emit nothing (or on error, with @error set)
 */
GVariant *
flow_stateful_logic_on_item (FlowStatefulLogic  *self,
                             GVariant           *value,
                             gboolean           *discard,
                             GError            **error)
{
  g_return_val_if_fail (FLOW_IS_STATEFUL_LOGIC (self), NULL);
  g_return_val_if_fail (value != NULL, NULL);
  g_return_val_if_fail (discard != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return logic_invoke_emit (self,
                            (FlowBindingLogicFunc) FLOW_STATEFUL_LOGIC_GET_CLASS (self)->on_item,
                            value, discard, error);
}

/**
 * flow_stateful_logic_on_notify: (virtual on_notify)
 * @self: a logic
 * @discard: (out): return location for the answer:
 *   %FLOW_STATEFUL_LOGIC_DISCARD to drop the logic,
 *   %FLOW_STATEFUL_LOGIC_RETAIN to keep it
 * @error: return location for a #GError
 *
 * Called once the time [method@Flow.StatefulLogic.notify_at] returned has
 * come (on the run's clock). The default emits nothing and keeps the
 * logic.
 *
 * Returns: (transfer full) (nullable): an array of the values to emit
 *   with the key, or %NULL to emit nothing (or on error)
 */
GVariant *
flow_stateful_logic_on_notify (FlowStatefulLogic  *self,
                               gboolean           *discard,
                               GError            **error)
{
  g_return_val_if_fail (FLOW_IS_STATEFUL_LOGIC (self), NULL);
  g_return_val_if_fail (discard != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return logic_invoke_emit (self, call_emit,
                            (gpointer) FLOW_STATEFUL_LOGIC_GET_CLASS (self)->on_notify,
                            discard, error);
}

/**
 * flow_stateful_logic_on_eof: (virtual on_eof)
 * @self: a logic
 * @discard: (out): return location for the answer:
 *   %FLOW_STATEFUL_LOGIC_DISCARD to drop the logic,
 *   %FLOW_STATEFUL_LOGIC_RETAIN to keep it
 * @error: return location for a #GError
 *
 * Called once at the end of the input of a run, after the last
 * [method@Flow.StatefulLogic.on_item]. A logic kept after it is in the
 * final snapshot, and a resumed run goes on with it. The default emits
 * nothing and keeps the logic.
 *
 * Returns: (transfer full) (nullable): an array of the values to emit
 *   with the key, or %NULL to emit nothing (or on error)
 */
GVariant *
flow_stateful_logic_on_eof (FlowStatefulLogic  *self,
                            gboolean           *discard,
                            GError            **error)
{
  g_return_val_if_fail (FLOW_IS_STATEFUL_LOGIC (self), NULL);
  g_return_val_if_fail (discard != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return logic_invoke_emit (self, call_emit,
                            (gpointer) FLOW_STATEFUL_LOGIC_GET_CLASS (self)->on_eof,
                            discard, error);
}

/**
 * flow_stateful_logic_notify_at: (virtual notify_at)
 * @self: a logic
 * @at: (out): return location for the time of the next notification: UTC
 *   microseconds since the epoch, on the run's clock (see
 *   [func@Flow.get_real_time])
 * @error: return location for a #GError
 *
 * Says when [method@Flow.StatefulLogic.on_notify] should be called next.
 * Called after the logic was built (also on resume) and after every call
 * that kept it. The default asks for no notification.
 *
 * Returns: %TRUE if @at was set; %FALSE for no notification, or on error
 *   (with @error set)
 */
gboolean
flow_stateful_logic_notify_at (FlowStatefulLogic  *self,
                               gint64             *at,
                               GError            **error)
{
  g_return_val_if_fail (FLOW_IS_STATEFUL_LOGIC (self), FALSE);
  g_return_val_if_fail (at != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return flow_binding_invoke_boolean_arg ((FlowBindingBooleanArgFunc) FLOW_STATEFUL_LOGIC_GET_CLASS (self)->notify_at,
                                          self, at, error);
}

/**
 * flow_stateful_logic_snapshot: (virtual snapshot)
 * @self: a logic
 * @error: return location for a #GError
 *
 * Returns the state to rebuild the logic from when a run resumes: it is
 * given to the [callback@Flow.StatefulLogicBuilder]. Called with recovery
 * on, after every call that kept the logic. Must be implemented.
 *
 * Returns: (transfer full): the state, or %NULL with @error set
 */
GVariant *
flow_stateful_logic_snapshot (FlowStatefulLogic  *self,
                              GError            **error)
{
  g_return_val_if_fail (FLOW_IS_STATEFUL_LOGIC (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return flow_binding_invoke_pointer ((FlowBindingPointerFunc) FLOW_STATEFUL_LOGIC_GET_CLASS (self)->snapshot,
                                      self, error);
}

/**
 * FlowStatefulBatchLogic:
 *
 * The logic of one key of a [method@Flow.Stream.stateful_batch] step:
 * Bytewax's `StatefulBatchLogic`. It is a [class@Flow.StatefulLogic] that
 * gets the values of its key a batch at a time:
 * [vfunc@Flow.StatefulBatchLogic.on_batch] is called once per key per
 * batch with all its values, as an `av` array; the rest (notifications,
 * end of input, snapshots, the order of calls) is as for a
 * [class@Flow.StatefulLogic].
 */

G_DEFINE_TYPE (FlowStatefulBatchLogic, flow_stateful_batch_logic, G_TYPE_OBJECT)

static GVariant *
flow_stateful_batch_logic_real_on_batch (FlowStatefulBatchLogic  *self,
                                         GVariant                *values,
                                         gboolean                *discard,
                                         GError                 **error)
{
  return set_not_implemented (self, "on_batch", error);
}

static void
flow_stateful_batch_logic_class_init (FlowStatefulBatchLogicClass *klass)
{
  klass->on_batch = flow_stateful_batch_logic_real_on_batch;
  LOGIC_CLASS_SET_DEFAULTS (klass);
}

static void
flow_stateful_batch_logic_init (FlowStatefulBatchLogic *self)
{
}

/**
 * flow_stateful_batch_logic_on_batch: (virtual on_batch)
 * @self: a logic
 * @values: the values of the items of the logic's key in a batch, in
 *   order, as an `av` array
 * @discard: (out): return location for the answer:
 *   %FLOW_STATEFUL_LOGIC_DISCARD to drop the logic,
 *   %FLOW_STATEFUL_LOGIC_RETAIN to keep it
 * @error: return location for a #GError
 *
 * Called with the values of the logic's key in each batch. Must be
 * implemented.
 *
 * Returns: (transfer full) (nullable): an array of the values to emit
 *   with the key (the elements of an `av` array are unboxed), or %NULL to
 *   emit nothing (or on error, with @error set)
 */
GVariant *
flow_stateful_batch_logic_on_batch (FlowStatefulBatchLogic  *self,
                                    GVariant                *values,
                                    gboolean                *discard,
                                    GError                 **error)
{
  g_return_val_if_fail (FLOW_IS_STATEFUL_BATCH_LOGIC (self), NULL);
  g_return_val_if_fail (values != NULL, NULL);
  g_return_val_if_fail (discard != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return logic_invoke_emit (self,
                            (FlowBindingLogicFunc) FLOW_STATEFUL_BATCH_LOGIC_GET_CLASS (self)->on_batch,
                            values, discard, error);
}

/**
 * flow_stateful_batch_logic_on_notify: (virtual on_notify)
 * @self: a logic
 * @discard: (out): return location for the answer:
 *   %FLOW_STATEFUL_LOGIC_DISCARD to drop the logic,
 *   %FLOW_STATEFUL_LOGIC_RETAIN to keep it
 * @error: return location for a #GError
 *
 * As [method@Flow.StatefulLogic.on_notify].
 *
 * Returns: (transfer full) (nullable): an array of the values to emit
 *   with the key, or %NULL to emit nothing (or on error)
 */
GVariant *
flow_stateful_batch_logic_on_notify (FlowStatefulBatchLogic  *self,
                                     gboolean                *discard,
                                     GError                 **error)
{
  g_return_val_if_fail (FLOW_IS_STATEFUL_BATCH_LOGIC (self), NULL);
  g_return_val_if_fail (discard != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return logic_invoke_emit (self, call_emit,
                            (gpointer) FLOW_STATEFUL_BATCH_LOGIC_GET_CLASS (self)->on_notify,
                            discard, error);
}

/**
 * flow_stateful_batch_logic_on_eof: (virtual on_eof)
 * @self: a logic
 * @discard: (out): return location for the answer:
 *   %FLOW_STATEFUL_LOGIC_DISCARD to drop the logic,
 *   %FLOW_STATEFUL_LOGIC_RETAIN to keep it
 * @error: return location for a #GError
 *
 * As [method@Flow.StatefulLogic.on_eof].
 *
 * Returns: (transfer full) (nullable): an array of the values to emit
 *   with the key, or %NULL to emit nothing (or on error)
 */
GVariant *
flow_stateful_batch_logic_on_eof (FlowStatefulBatchLogic  *self,
                                  gboolean                *discard,
                                  GError                 **error)
{
  g_return_val_if_fail (FLOW_IS_STATEFUL_BATCH_LOGIC (self), NULL);
  g_return_val_if_fail (discard != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return logic_invoke_emit (self, call_emit,
                            (gpointer) FLOW_STATEFUL_BATCH_LOGIC_GET_CLASS (self)->on_eof,
                            discard, error);
}

/**
 * flow_stateful_batch_logic_notify_at: (virtual notify_at)
 * @self: a logic
 * @at: (out): return location for the time of the next notification: UTC
 *   microseconds since the epoch, on the run's clock
 * @error: return location for a #GError
 *
 * As [method@Flow.StatefulLogic.notify_at].
 *
 * Returns: %TRUE if @at was set; %FALSE for no notification, or on error
 *   (with @error set)
 */
gboolean
flow_stateful_batch_logic_notify_at (FlowStatefulBatchLogic  *self,
                                     gint64                  *at,
                                     GError                 **error)
{
  g_return_val_if_fail (FLOW_IS_STATEFUL_BATCH_LOGIC (self), FALSE);
  g_return_val_if_fail (at != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return flow_binding_invoke_boolean_arg ((FlowBindingBooleanArgFunc) FLOW_STATEFUL_BATCH_LOGIC_GET_CLASS (self)->notify_at,
                                          self, at, error);
}

/**
 * flow_stateful_batch_logic_snapshot: (virtual snapshot)
 * @self: a logic
 * @error: return location for a #GError
 *
 * As [method@Flow.StatefulLogic.snapshot]; the state is given to the
 * [callback@Flow.StatefulBatchLogicBuilder] on resume.
 *
 * Returns: (transfer full): the state, or %NULL with @error set
 */
GVariant *
flow_stateful_batch_logic_snapshot (FlowStatefulBatchLogic  *self,
                                    GError                 **error)
{
  g_return_val_if_fail (FLOW_IS_STATEFUL_BATCH_LOGIC (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return flow_binding_invoke_pointer ((FlowBindingPointerFunc) FLOW_STATEFUL_BATCH_LOGIC_GET_CLASS (self)->snapshot,
                                      self, error);
}

/* ------------------------------------------------------------------------
 * The operators
 * ------------------------------------------------------------------------ */

#define RETURN_IF_ORPHAN(self, val)                                       \
  G_STMT_START {                                                          \
    g_return_val_if_fail (FLOW_IS_STREAM (self), val);                    \
    if G_UNLIKELY (flow_stream_get_dataflow (self) == NULL)               \
      {                                                                   \
        g_critical ("%s: the dataflow of this stream was finalized",      \
                    G_STRFUNC);                                           \
        return val;                                                       \
      }                                                                   \
  } G_STMT_END

/**
 * flow_stream_stateful:
 * @self: the upstream, a keyed stream
 * @step_id: the id of the new step
 * @builder: (scope notified) (closure user_data) (destroy destroy): builds
 *   the logic of a key
 * @user_data: data for @builder
 * @destroy: (nullable): frees @user_data
 *
 * The general stateful operator (Bytewax's `stateful`): keeps a
 * [class@Flow.StatefulLogic] per key, built by @builder, and emits, with
 * their key, the values its methods return. See [class@Flow.StatefulLogic]
 * for when each method is called, and [method@Flow.Stream.stateful_batch]
 * for a logic that gets a batch of values at a time.
 *
 * An item that is not keyed fails the run (%FLOW_ERROR_NOT_KEYED); a
 * method that fails, or returns something that is not an array, a
 * builder that fails or returns no logic, fail the run with an error
 * naming the step and the key.
 *
 * Returns: (transfer none): the keyed stream of the emitted values
 */
FlowStream *
flow_stream_stateful (FlowStream               *self,
                      const char               *step_id,
                      FlowStatefulLogicBuilder  builder,
                      gpointer                  user_data,
                      GDestroyNotify            destroy)
{
  FlowClosure closure = { builder, user_data, destroy };

  RETURN_IF_ORPHAN (self, NULL);
  g_return_val_if_fail (builder != NULL, NULL);

  return flow_stream_add_step (self, "stateful", step_id, &closure, NULL)->outputs[0];
}

/**
 * flow_stream_stateful_batch:
 * @self: the upstream, a keyed stream
 * @step_id: the id of the new step
 * @builder: (scope notified) (closure user_data) (destroy destroy): builds
 *   the logic of a key
 * @user_data: data for @builder
 * @destroy: (nullable): frees @user_data
 *
 * Like [method@Flow.Stream.stateful], with a [class@Flow.StatefulBatchLogic]
 * per key, which gets the values of its key a batch at a time (Bytewax's
 * `stateful_batch`).
 *
 * Returns: (transfer none): the keyed stream of the emitted values
 */
FlowStream *
flow_stream_stateful_batch (FlowStream                    *self,
                            const char                    *step_id,
                            FlowStatefulBatchLogicBuilder  builder,
                            gpointer                       user_data,
                            GDestroyNotify                 destroy)
{
  FlowClosure closure = { builder, user_data, destroy };

  RETURN_IF_ORPHAN (self, NULL);
  g_return_val_if_fail (builder != NULL, NULL);

  return flow_stream_add_step (self, "stateful_batch", step_id, &closure, NULL)->outputs[0];
}
