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
