/* flow-window-operators.c: the window operators and their output streams
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The public side of the window operators: FlowWindowOut and the
 * flow_stream_*_window() wrappers, which add a step of the window
 * operator (libflow/operators/flow-op-window.c) with its settings.
 */

#include "config.h"

#include "flow-operator-private.h"

/* FlowWindowOut --------------------------------------------------------- */

/**
 * FlowWindowOut:
 *
 * The three streams a window operator returns (Bytewax's `WindowOut`),
 * each keyed by the key of the upstream items and carrying
 * `(window_id, value)` tuples of type `(xv)`:
 *
 * - `down`: what the windows emit, the result of each window when it
 *   closes;
 * - `late`: the upstream values that came after the watermark passed
 *   their timestamp, with each window id they would have been in (for
 *   session windows, %FLOW_LATE_SESSION_ID);
 * - `meta`: the metadata of each window when it closes, as a tuple
 *   `(open_time, close_time, merged_ids)` of type `(xxax)` (see
 *   [struct@Flow.WindowMetadata]).
 *
 * Windows close when the watermark of their key passes their close time,
 * and all at the end of input, as Bytewax's do.
 */
struct _FlowWindowOut
{
  GObject     parent_instance;

  FlowStream *down;
  FlowStream *late;
  FlowStream *meta;
};

G_DEFINE_FINAL_TYPE (FlowWindowOut, flow_window_out, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_DOWN,
  PROP_LATE,
  PROP_META,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
flow_window_out_dispose (GObject *object)
{
  FlowWindowOut *self = FLOW_WINDOW_OUT (object);

  g_clear_object (&self->down);
  g_clear_object (&self->late);
  g_clear_object (&self->meta);

  G_OBJECT_CLASS (flow_window_out_parent_class)->dispose (object);
}

static void
flow_window_out_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  FlowWindowOut *self = FLOW_WINDOW_OUT (object);

  switch (prop_id)
    {
    case PROP_DOWN:
      g_value_set_object (value, self->down);
      break;
    case PROP_LATE:
      g_value_set_object (value, self->late);
      break;
    case PROP_META:
      g_value_set_object (value, self->meta);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_window_out_class_init (FlowWindowOutClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = flow_window_out_dispose;
  object_class->get_property = flow_window_out_get_property;

  /**
   * FlowWindowOut:down:
   *
   * What the windows emit: `(key, (window_id, value))`.
   */
  properties[PROP_DOWN] =
    g_param_spec_object ("down", NULL, NULL, FLOW_TYPE_STREAM,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * FlowWindowOut:late:
   *
   * The late upstream values: `(key, (window_id, value))`.
   */
  properties[PROP_LATE] =
    g_param_spec_object ("late", NULL, NULL, FLOW_TYPE_STREAM,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * FlowWindowOut:meta:
   *
   * The metadata of the closed windows:
   * `(key, (window_id, (open_time, close_time, merged_ids)))`.
   */
  properties[PROP_META] =
    g_param_spec_object ("meta", NULL, NULL, FLOW_TYPE_STREAM,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
flow_window_out_init (FlowWindowOut *self)
{
}

/**
 * flow_window_out_get_down:
 * @self: a window output
 *
 * Gets the stream of what the windows emit, `(key, (window_id, value))`.
 *
 * Returns: (transfer none) (nullable): the stream, or %NULL if the
 *   operator could not be added
 */
FlowStream *
flow_window_out_get_down (FlowWindowOut *self)
{
  g_return_val_if_fail (FLOW_IS_WINDOW_OUT (self), NULL);

  return self->down;
}

/**
 * flow_window_out_get_late:
 * @self: a window output
 *
 * Gets the stream of late upstream values, `(key, (window_id, value))`.
 *
 * Returns: (transfer none) (nullable): the stream, or %NULL if the
 *   operator could not be added
 */
FlowStream *
flow_window_out_get_late (FlowWindowOut *self)
{
  g_return_val_if_fail (FLOW_IS_WINDOW_OUT (self), NULL);

  return self->late;
}

/**
 * flow_window_out_get_meta:
 * @self: a window output
 *
 * Gets the stream of the metadata of closed windows,
 * `(key, (window_id, (open_time, close_time, merged_ids)))`.
 *
 * Returns: (transfer none) (nullable): the stream, or %NULL if the
 *   operator could not be added
 */
FlowStream *
flow_window_out_get_meta (FlowWindowOut *self)
{
  g_return_val_if_fail (FLOW_IS_WINDOW_OUT (self), NULL);

  return self->meta;
}

/* FlowWindowLogic -------------------------------------------------------- */

/**
 * FlowWindowLogic:
 *
 * The logic of one window of [method@Flow.Stream.window], Bytewax's
 * `WindowLogic`: subclass it and implement its virtual methods
 * (`do_on_value` in Python, `vfunc_on_value` in GJS, `override` in
 * Vala). The operator makes an instance per window of each key, gives it
 * the window's values, merges windows that merge, and closes it when the
 * watermark passes the window; what the methods return (arrays of values,
 * `av`) goes out on the `down` stream as `(key, (window_id, value))`.
 *
 * For recovery, [vfunc@Flow.WindowLogic.snapshot] gives the window's state
 * and [vfunc@Flow.WindowLogic.restore] sets it on a new instance.
 */

G_DEFINE_TYPE (FlowWindowLogic, flow_window_logic, G_TYPE_OBJECT)

static GVariant *
not_implemented (FlowWindowLogic  *self,
                 const char       *what,
                 GError          **error)
{
  g_set_error (error, FLOW_ERROR, FLOW_ERROR_NOT_SUPPORTED,
               "%s does not implement %s()", G_OBJECT_TYPE_NAME (self), what);
  return NULL;
}

static GVariant *
flow_window_logic_real_on_value (FlowWindowLogic  *self,
                                 GVariant         *value,
                                 GError          **error)
{
  return not_implemented (self, "on_value", error);
}

static GVariant *
flow_window_logic_real_on_merge (FlowWindowLogic  *self,
                                 FlowWindowLogic  *consumed,
                                 GError          **error)
{
  return not_implemented (self, "on_merge", error);
}

static GVariant *
flow_window_logic_real_on_close (FlowWindowLogic  *self,
                                 GError          **error)
{
  return not_implemented (self, "on_close", error);
}

static GVariant *
flow_window_logic_real_snapshot (FlowWindowLogic  *self,
                                 GError          **error)
{
  return not_implemented (self, "snapshot", error);
}

static gboolean
flow_window_logic_real_restore (FlowWindowLogic  *self,
                                GVariant         *state,
                                GError          **error)
{
  not_implemented (self, "restore", error);
  return FALSE;
}

static void
flow_window_logic_class_init (FlowWindowLogicClass *klass)
{
  klass->on_value = flow_window_logic_real_on_value;
  klass->on_merge = flow_window_logic_real_on_merge;
  klass->on_close = flow_window_logic_real_on_close;
  klass->snapshot = flow_window_logic_real_snapshot;
  klass->restore = flow_window_logic_real_restore;
}

static void
flow_window_logic_init (FlowWindowLogic *self)
{
}

/**
 * flow_window_logic_on_value: (virtual on_value)
 * @self: a window logic
 * @value: a value of the window (the `v` of a keyed item)
 * @error: return location for a #GError
 *
 * Adds a value to the window. Values come in timestamp order when the
 * operator is ordered.
 *
 * Returns: (transfer full) (nullable): the values to emit now, an array
 *   `av`, or %NULL for none (or on error)
 */
GVariant *
flow_window_logic_on_value (FlowWindowLogic  *self,
                            GVariant         *value,
                            GError          **error)
{
  g_return_val_if_fail (FLOW_IS_WINDOW_LOGIC (self), NULL);
  g_return_val_if_fail (value != NULL, NULL);

  return flow_binding_invoke_pointer_arg ((FlowBindingPointerArgFunc) FLOW_WINDOW_LOGIC_GET_CLASS (self)->on_value,
                                          self, value, error);
}

/**
 * flow_window_logic_on_merge: (virtual on_merge)
 * @self: a window logic
 * @consumed: the logic of the window merged into this one, which is
 *   dropped afterwards
 * @error: return location for a #GError
 *
 * Takes in the state of a window that merged into this one (session
 * windows that came to overlap). The default implementation fails.
 *
 * Returns: (transfer full) (nullable): the values to emit now, an array
 *   `av`, or %NULL for none (or on error)
 */
GVariant *
flow_window_logic_on_merge (FlowWindowLogic  *self,
                            FlowWindowLogic  *consumed,
                            GError          **error)
{
  g_return_val_if_fail (FLOW_IS_WINDOW_LOGIC (self), NULL);
  g_return_val_if_fail (FLOW_IS_WINDOW_LOGIC (consumed), NULL);

  return flow_binding_invoke_pointer_arg ((FlowBindingPointerArgFunc) FLOW_WINDOW_LOGIC_GET_CLASS (self)->on_merge,
                                          self, consumed, error);
}

/**
 * flow_window_logic_on_close: (virtual on_close)
 * @self: a window logic
 * @error: return location for a #GError
 *
 * The window closed; the logic is dropped afterwards.
 *
 * Returns: (transfer full) (nullable): the values to emit, an array `av`,
 *   or %NULL for none (or on error)
 */
GVariant *
flow_window_logic_on_close (FlowWindowLogic  *self,
                            GError          **error)
{
  g_return_val_if_fail (FLOW_IS_WINDOW_LOGIC (self), NULL);

  return flow_binding_invoke_pointer ((FlowBindingPointerFunc) FLOW_WINDOW_LOGIC_GET_CLASS (self)->on_close,
                                      self, error);
}

/**
 * flow_window_logic_snapshot: (virtual snapshot)
 * @self: a window logic
 * @error: return location for a #GError
 *
 * Gets the state of the window, for recovery; a resumed run gives it to
 * [method@Flow.WindowLogic.restore] of a new instance.
 *
 * Returns: (transfer full) (nullable): the state, or %NULL on error
 */
GVariant *
flow_window_logic_snapshot (FlowWindowLogic  *self,
                            GError          **error)
{
  g_return_val_if_fail (FLOW_IS_WINDOW_LOGIC (self), NULL);

  return flow_binding_invoke_pointer ((FlowBindingPointerFunc) FLOW_WINDOW_LOGIC_GET_CLASS (self)->snapshot,
                                      self, error);
}

/**
 * flow_window_logic_restore: (virtual restore)
 * @self: a new window logic
 * @state: a state from [method@Flow.WindowLogic.snapshot]
 * @error: return location for a #GError
 *
 * Sets the state of a new instance, on resume.
 *
 * Returns: %TRUE on success, %FALSE with @error set otherwise
 */
gboolean
flow_window_logic_restore (FlowWindowLogic  *self,
                           GVariant         *state,
                           GError          **error)
{
  g_return_val_if_fail (FLOW_IS_WINDOW_LOGIC (self), FALSE);
  g_return_val_if_fail (state != NULL, FALSE);

  return flow_binding_invoke_boolean_arg ((FlowBindingBooleanArgFunc) FLOW_WINDOW_LOGIC_GET_CLASS (self)->restore,
                                          self, state, error);
}

/* The operators ---------------------------------------------------------- */

static gboolean
check_stream (FlowStream *self)
{
  g_return_val_if_fail (FLOW_IS_STREAM (self), FALSE);
  if G_UNLIKELY (flow_stream_get_dataflow (self) == NULL)
    {
      g_critical ("the dataflow of this stream was finalized");
      return FALSE;
    }
  return TRUE;
}

static FlowWindowOut *
add_window_step (FlowStream          *self,
                 const char          *op_name,
                 const char          *step_id,
                 FlowWindowLogicKind  kind,
                 gboolean             ordered,
                 FlowWindowClock     *clock,
                 FlowWindower        *windower,
                 FlowClosure         *key_func,
                 FlowClosure         *builder,
                 FlowClosure         *folder,
                 FlowClosure         *merger)
{
  FlowWindowSpec *spec = g_new0 (FlowWindowSpec, 1);
  FlowWindowOut *out;
  FlowStep *step;

  spec->kind = kind;
  spec->ordered = ordered;
  spec->clock = g_object_ref (clock);
  spec->windower = g_object_ref (windower);
  if (builder != NULL)
    {
      spec->builder = *builder;
      flow_binding_guard_closure (&spec->builder, FLOW_BINDING_SHAPE_BUILDER);
    }
  if (folder != NULL)
    {
      spec->folder = *folder;
      flow_binding_guard_closure (&spec->folder,
                                  kind == FLOW_WINDOW_LOGIC_MAX || kind == FLOW_WINDOW_LOGIC_MIN
                                    ? FLOW_BINDING_SHAPE_ITEM_TO_VARIANT
                                    : FLOW_BINDING_SHAPE_FOLD);
    }
  if (merger != NULL)
    {
      spec->merger = *merger;
      flow_binding_guard_closure (&spec->merger, FLOW_BINDING_SHAPE_FOLD);
    }

  step = flow_stream_add_step (self, op_name, step_id, key_func, NULL);
  step->op_data = spec;
  step->op_data_destroy = flow_window_spec_free;

  out = g_object_new (FLOW_TYPE_WINDOW_OUT, NULL);
  out->down = g_object_ref (step->outputs[0]);
  out->late = g_object_ref (step->outputs[1]);
  out->meta = g_object_ref (step->outputs[2]);
  return out;
}

static void
drop_closure (gpointer       data,
              GDestroyNotify destroy)
{
  if (destroy != NULL && data != NULL)
    destroy (data);
}

static gboolean
check_args (FlowStream      *self,
            FlowWindowClock *clock,
            FlowWindower    *windower)
{
  if (!check_stream (self))
    return FALSE;
  g_return_val_if_fail (FLOW_IS_WINDOW_CLOCK (clock), FALSE);
  g_return_val_if_fail (FLOW_IS_WINDOWER (windower), FALSE);
  return TRUE;
}

/**
 * flow_stream_collect_window:
 * @self: the upstream, a keyed stream
 * @step_id: the id of the new step
 * @clock: the time of the items
 * @windower: the windows
 * @ordered: whether the values of a window are collected in timestamp
 *   order (Bytewax's default) rather than in arrival order
 *
 * Collects the values of each key in each window into an array
 * (Bytewax's `collect_window` into a `list`). When a window closes,
 * `(key, (window_id, [values]))` goes out on `down` (the array is an
 * `av`).
 *
 * With @ordered, values wait until the watermark reaches their timestamp
 * and go into their windows sorted by timestamp (equal timestamps in
 * arrival order).
 *
 * Returns: (transfer full) (nullable): the streams of the step, or %NULL
 *   on a programming error
 */
FlowWindowOut *
flow_stream_collect_window (FlowStream      *self,
                            const char      *step_id,
                            FlowWindowClock *clock,
                            FlowWindower    *windower,
                            gboolean         ordered)
{
  if (!check_args (self, clock, windower))
    return NULL;

  return add_window_step (self, "collect_window", step_id, FLOW_WINDOW_LOGIC_COLLECT,
                          ordered, clock, windower, NULL, NULL, NULL, NULL);
}

/**
 * flow_stream_count_window:
 * @self: the upstream (not keyed: @key_func gives the keys)
 * @step_id: the id of the new step
 * @clock: the time of the items (its timestamp getter gets whole items)
 * @windower: the windows
 * @key_func: (scope notified) (closure user_data) (destroy destroy): the
 *   key of an item, what is counted
 * @user_data: data for @key_func
 * @destroy: (nullable): frees @user_data
 *
 * Counts the items of each key in each window (Bytewax's
 * `count_window`). When a window closes, `(key, (window_id, count))`
 * goes out on `down`; late items go out whole on `late`.
 *
 * Returns: (transfer full) (nullable): the streams of the step, or %NULL
 *   on a programming error
 */
FlowWindowOut *
flow_stream_count_window (FlowStream      *self,
                          const char      *step_id,
                          FlowWindowClock *clock,
                          FlowWindower    *windower,
                          FlowKeyFunc      key_func,
                          gpointer         user_data,
                          GDestroyNotify   destroy)
{
  if (!check_args (self, clock, windower) || key_func == NULL)
    {
      g_return_val_if_fail (key_func != NULL, NULL);
      drop_closure (user_data, destroy);
      return NULL;
    }

  return add_window_step (self, "count_window", step_id, FLOW_WINDOW_LOGIC_COUNT,
                          FALSE, clock, windower,
                          &(FlowClosure) { key_func, user_data, destroy },
                          NULL, NULL, NULL);
}

/**
 * flow_stream_fold_window:
 * @self: the upstream, a keyed stream
 * @step_id: the id of the new step
 * @clock: the time of the items
 * @windower: the windows
 * @builder: (scope notified) (closure builder_data) (destroy builder_destroy):
 *   builds the empty accumulator of a new window
 * @builder_data: data for @builder
 * @builder_destroy: (nullable): frees @builder_data
 * @folder: (scope notified) (closure folder_data) (destroy folder_destroy):
 *   folds a value into a window's accumulator
 * @folder_data: data for @folder
 * @folder_destroy: (nullable): frees @folder_data
 * @merger: (scope notified) (closure merger_data) (destroy merger_destroy):
 *   combines the accumulators of two windows that merge (sessions): it
 *   gets the accumulator of the window merged into, then the other's
 * @merger_data: data for @merger
 * @merger_destroy: (nullable): frees @merger_data
 * @ordered: whether values are folded in timestamp order (Bytewax's
 *   default) rather than in arrival order
 *
 * Folds the values of each key in each window into an accumulator
 * (Bytewax's `fold_window`). When a window closes,
 * `(key, (window_id, accumulator))` goes out on `down`.
 *
 * Returns: (transfer full) (nullable): the streams of the step, or %NULL
 *   on a programming error
 */
FlowWindowOut *
flow_stream_fold_window (FlowStream      *self,
                         const char      *step_id,
                         FlowWindowClock *clock,
                         FlowWindower    *windower,
                         FlowBuilderFunc  builder,
                         gpointer         builder_data,
                         GDestroyNotify   builder_destroy,
                         FlowFoldFunc     folder,
                         gpointer         folder_data,
                         GDestroyNotify   folder_destroy,
                         FlowFoldFunc     merger,
                         gpointer         merger_data,
                         GDestroyNotify   merger_destroy,
                         gboolean         ordered)
{
  if (!check_args (self, clock, windower) || builder == NULL || folder == NULL ||
      merger == NULL)
    {
      drop_closure (builder_data, builder_destroy);
      drop_closure (folder_data, folder_destroy);
      drop_closure (merger_data, merger_destroy);
      g_return_val_if_fail (builder != NULL && folder != NULL && merger != NULL, NULL);
      return NULL;
    }

  return add_window_step (self, "fold_window", step_id, FLOW_WINDOW_LOGIC_FOLD,
                          ordered, clock, windower, NULL,
                          &(FlowClosure) { builder, builder_data, builder_destroy },
                          &(FlowClosure) { folder, folder_data, folder_destroy },
                          &(FlowClosure) { merger, merger_data, merger_destroy });
}

/**
 * flow_stream_reduce_window:
 * @self: the upstream, a keyed stream
 * @step_id: the id of the new step
 * @clock: the time of the items
 * @windower: the windows
 * @reducer: (scope notified) (closure user_data) (destroy destroy):
 *   combines the accumulator of a window (its first value, at first) and
 *   a value; also combines the accumulators of windows that merge
 * @user_data: data for @reducer
 * @destroy: (nullable): frees @user_data
 * @ordered: whether values are reduced in timestamp order rather than in
 *   arrival order
 *
 * Reduces the values of each key in each window (Bytewax's
 * `reduce_window`). When a window closes, `(key, (window_id, result))`
 * goes out on `down`.
 *
 * Returns: (transfer full) (nullable): the streams of the step, or %NULL
 *   on a programming error
 */
FlowWindowOut *
flow_stream_reduce_window (FlowStream      *self,
                           const char      *step_id,
                           FlowWindowClock *clock,
                           FlowWindower    *windower,
                           FlowFoldFunc     reducer,
                           gpointer         user_data,
                           GDestroyNotify   destroy,
                           gboolean         ordered)
{
  if (!check_args (self, clock, windower) || reducer == NULL)
    {
      drop_closure (user_data, destroy);
      g_return_val_if_fail (reducer != NULL, NULL);
      return NULL;
    }

  return add_window_step (self, "reduce_window", step_id, FLOW_WINDOW_LOGIC_REDUCE,
                          ordered, clock, windower, NULL, NULL,
                          &(FlowClosure) { reducer, user_data, destroy }, NULL);
}

static FlowWindowOut *
extremum_window (FlowStream          *self,
                 const char          *op_name,
                 FlowWindowLogicKind  kind,
                 const char          *step_id,
                 FlowWindowClock     *clock,
                 FlowWindower        *windower,
                 FlowMapFunc          by,
                 gpointer             user_data,
                 GDestroyNotify       destroy)
{
  if (!check_args (self, clock, windower))
    {
      drop_closure (user_data, destroy);
      return NULL;
    }
  /* Ordered, as Bytewax's (a reduce_window): of equal values, the
   * earliest wins. */
  return add_window_step (self, op_name, step_id, kind, TRUE, clock, windower, NULL, NULL,
                          by ? &(FlowClosure) { by, user_data, destroy } : NULL, NULL);
}

/**
 * flow_stream_max_window:
 * @self: the upstream, a keyed stream
 * @step_id: the id of the new step
 * @clock: the time of the items
 * @windower: the windows
 * @by: (scope notified) (closure user_data) (destroy destroy) (nullable):
 *   what to compare values by (%NULL: the values themselves)
 * @user_data: data for @by
 * @destroy: (nullable): frees @user_data
 *
 * Finds the greatest value of each key in each window (Bytewax's
 * `max_window`); of equal values, the earliest. When a window closes,
 * `(key, (window_id, value))` goes out on `down`.
 *
 * Returns: (transfer full) (nullable): the streams of the step, or %NULL
 *   on a programming error
 */
FlowWindowOut *
flow_stream_max_window (FlowStream      *self,
                        const char      *step_id,
                        FlowWindowClock *clock,
                        FlowWindower    *windower,
                        FlowMapFunc      by,
                        gpointer         user_data,
                        GDestroyNotify   destroy)
{
  return extremum_window (self, "max_window", FLOW_WINDOW_LOGIC_MAX, step_id, clock, windower,
                          by, user_data, destroy);
}

/**
 * flow_stream_min_window:
 * @self: the upstream, a keyed stream
 * @step_id: the id of the new step
 * @clock: the time of the items
 * @windower: the windows
 * @by: (scope notified) (closure user_data) (destroy destroy) (nullable):
 *   what to compare values by (%NULL: the values themselves)
 * @user_data: data for @by
 * @destroy: (nullable): frees @user_data
 *
 * Finds the smallest value of each key in each window (Bytewax's
 * `min_window`); of equal values, the earliest. When a window closes,
 * `(key, (window_id, value))` goes out on `down`.
 *
 * Returns: (transfer full) (nullable): the streams of the step, or %NULL
 *   on a programming error
 */
FlowWindowOut *
flow_stream_min_window (FlowStream      *self,
                        const char      *step_id,
                        FlowWindowClock *clock,
                        FlowWindower    *windower,
                        FlowMapFunc      by,
                        gpointer         user_data,
                        GDestroyNotify   destroy)
{
  return extremum_window (self, "min_window", FLOW_WINDOW_LOGIC_MIN, step_id, clock, windower,
                          by, user_data, destroy);
}

/**
 * flow_stream_window:
 * @self: the upstream, a keyed stream
 * @step_id: the id of the new step
 * @clock: the time of the items
 * @windower: the windows
 * @logic_type: a subclass of [class@Flow.WindowLogic], instantiated (with
 *   no properties) for each window
 * @ordered: whether values come to each window in timestamp order
 *   (Bytewax's default) rather than in arrival order
 *
 * The general window operator (Bytewax's `window`): each window of each
 * key has an instance of @logic_type, which gets the window's values and
 * says what to emit (see [class@Flow.WindowLogic]).
 *
 * Returns: (transfer full) (nullable): the streams of the step, or %NULL
 *   on a programming error
 */
FlowWindowOut *
flow_stream_window (FlowStream      *self,
                    const char      *step_id,
                    FlowWindowClock *clock,
                    FlowWindower    *windower,
                    GType            logic_type,
                    gboolean         ordered)
{
  FlowWindowOut *out;
  FlowStep *step;

  if (!check_args (self, clock, windower))
    return NULL;
  g_return_val_if_fail (g_type_is_a (logic_type, FLOW_TYPE_WINDOW_LOGIC), NULL);
  g_return_val_if_fail (!G_TYPE_IS_ABSTRACT (logic_type), NULL);

  out = add_window_step (self, "window", step_id, FLOW_WINDOW_LOGIC_CUSTOM, ordered, clock,
                         windower, NULL, NULL, NULL, NULL);
  step = flow_stream_get_step (out->down);
  ((FlowWindowSpec *) step->op_data)->logic_type = logic_type;
  return out;
}

/**
 * flow_stream_join_window:
 * @self: the first side, a keyed stream
 * @step_id: the id of the new step
 * @clock: the time of the items (it gets the values of every side)
 * @windower: the windows
 * @others: (array length=n_others) (nullable): the other sides, keyed
 *   streams of the same dataflow
 * @n_others: the number of other sides
 * @insert_mode: what each side keeps of its values in a window
 *
 * Joins the values of each key on several streams per window (Bytewax's
 * `join_window`). When a window closes, it emits on `down` a tuple with
 * one value per side, in the order of the sides (@self first), a side
 * with no value being `None` (`mv` nothing); with
 * %FLOW_JOIN_INSERT_MODE_PRODUCT, one tuple per combination of the values
 * of the sides.
 *
 * Returns: (transfer full) (nullable): the streams of the step, or %NULL
 *   on a programming error
 */
FlowWindowOut *
flow_stream_join_window (FlowStream          *self,
                         const char          *step_id,
                         FlowWindowClock     *clock,
                         FlowWindower        *windower,
                         FlowStream         **others,
                         guint                n_others,
                         FlowJoinInsertMode   insert_mode)
{
  g_autoptr(GPtrArray) ups = NULL;
  FlowWindowSpec *spec;
  FlowWindowOut *out;
  FlowStep *step;

  if (!check_args (self, clock, windower))
    return NULL;
  g_return_val_if_fail (others != NULL || n_others == 0, NULL);
  g_return_val_if_fail (insert_mode <= FLOW_JOIN_INSERT_MODE_PRODUCT, NULL);
  for (guint i = 0; i < n_others; i++)
    g_return_val_if_fail (FLOW_IS_STREAM (others[i]), NULL);

  ups = g_ptr_array_new ();
  g_ptr_array_add (ups, self);
  for (guint i = 0; i < n_others; i++)
    g_ptr_array_add (ups, others[i]);

  spec = g_new0 (FlowWindowSpec, 1);
  spec->kind = FLOW_WINDOW_LOGIC_JOIN;
  spec->ordered = TRUE;
  spec->clock = g_object_ref (clock);
  spec->windower = g_object_ref (windower);
  spec->n_sides = ups->len;
  spec->insert_mode = insert_mode;

  step = flow_dataflow_add_step (flow_stream_get_dataflow (self), flow_operator_find ("join_window"),
                                 step_id, (FlowStream **) ups->pdata, ups->len, 3);
  step->op_data = spec;
  step->op_data_destroy = flow_window_spec_free;

  out = g_object_new (FLOW_TYPE_WINDOW_OUT, NULL);
  out->down = g_object_ref (step->outputs[0]);
  out->late = g_object_ref (step->outputs[1]);
  out->meta = g_object_ref (step->outputs[2]);
  return out;
}
