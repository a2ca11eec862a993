/* flow-stream.c: the output port of a step, and the operators on it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "flow-operator-private.h"

/**
 * FlowStream:
 *
 * The output of a step: a stream of items (#GVariant values). Operators are
 * methods on the stream they consume, and return the stream they produce:
 *
 * ```python
 * stream = flow.input("inp", Flow.TestingSource.new(items))
 * stream = stream.map("double", lambda x: x * 2)
 * stream.output("out", Flow.StdOutSink.new())
 * ```
 *
 * A *keyed* item is a `(sv)` tuple of a string key and a boxed value
 * (see [func@Flow.item_new_keyed]); [method@Flow.Stream.key_on] makes them.
 * The `*_value` operators and all stateful operators work on keyed
 * streams, and a stateful step that receives an item that is not keyed
 * fails the run with %FLOW_ERROR_NOT_KEYED.
 *
 * Streams are owned by their [class@Flow.Dataflow]. Every function given
 * to an operator is kept until the dataflow is finalized and is called on
 * the thread that runs the dataflow.
 */

struct _FlowStream
{
  GObject       parent_instance;

  FlowDataflow *flow;  /* unowned: the dataflow owns its streams */
  FlowStep     *step;
  guint         port;
};

enum {
  PROP_0,
  PROP_DATAFLOW,
  PROP_STEP_ID,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (FlowStream, flow_stream, G_TYPE_OBJECT)

static void
flow_stream_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  FlowStream *self = FLOW_STREAM (object);

  switch (prop_id)
    {
    case PROP_DATAFLOW:
      g_value_set_object (value, self->flow);
      break;
    case PROP_STEP_ID:
      g_value_set_string (value, flow_stream_get_step_id (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_stream_class_init (FlowStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = flow_stream_get_property;

  /**
   * FlowStream:dataflow:
   *
   * The dataflow the stream belongs to, or %NULL once that dataflow was
   * finalized.
   */
  properties[PROP_DATAFLOW] =
    g_param_spec_object ("dataflow", NULL, NULL,
                         FLOW_TYPE_DATAFLOW,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * FlowStream:step-id:
   *
   * The full id (`dataflow_id.step_id`) of the step that produces the
   * stream.
   */
  properties[PROP_STEP_ID] =
    g_param_spec_string ("step-id", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
flow_stream_init (FlowStream *self)
{
}

FlowStream *
flow_stream_new (FlowDataflow *flow,
                 FlowStep     *step,
                 guint         port)
{
  FlowStream *self = g_object_new (FLOW_TYPE_STREAM, NULL);

  self->flow = flow;
  self->step = step;
  self->port = port;
  return self;
}

void
flow_stream_orphan (FlowStream *self)
{
  self->flow = NULL;
  self->step = NULL;
}

FlowStep *
flow_stream_get_step (FlowStream *self)
{
  return self->step;
}

guint
flow_stream_get_port (FlowStream *self)
{
  return self->port;
}

/**
 * flow_stream_get_dataflow:
 * @self: a stream
 *
 * Gets the dataflow the stream belongs to.
 *
 * Returns: (transfer none) (nullable): the dataflow of the stream, or %NULL
 *   if it was finalized
 */
FlowDataflow *
flow_stream_get_dataflow (FlowStream *self)
{
  g_return_val_if_fail (FLOW_IS_STREAM (self), NULL);

  return self->flow;
}

/**
 * flow_stream_get_step_id:
 * @self: a stream
 *
 * Gets the full id (`dataflow_id.step_id`) of the step whose output the
 * stream is.
 *
 * Returns: (nullable): the full id of the step that produces the stream, or
 *   %NULL if its dataflow was finalized
 */
const char *
flow_stream_get_step_id (FlowStream *self)
{
  g_return_val_if_fail (FLOW_IS_STREAM (self), NULL);

  return self->step ? self->step->full_id : NULL;
}

#define RETURN_VOID_IF_ORPHAN(self)                                       \
  G_STMT_START {                                                          \
    g_return_if_fail (FLOW_IS_STREAM (self));                             \
    if G_UNLIKELY (self->flow == NULL)                                    \
      {                                                                   \
        g_critical ("%s: the dataflow of this stream was finalized",      \
                    G_STRFUNC);                                           \
        return;                                                           \
      }                                                                   \
  } G_STMT_END

#define RETURN_IF_ORPHAN(self, val)                                       \
  G_STMT_START {                                                          \
    g_return_val_if_fail (FLOW_IS_STREAM (self), val);                    \
    if G_UNLIKELY (self->flow == NULL)                                    \
      {                                                                   \
        g_critical ("%s: the dataflow of this stream was finalized",      \
                    G_STRFUNC);                                           \
        return val;                                                       \
      }                                                                   \
  } G_STMT_END

/* Adds a step of the operator @op_name: see flow-graph-private.h. */
FlowStep *
flow_stream_add_step (FlowStream  *self,
                      const char  *op_name,
                      const char  *step_id,
                      FlowClosure *func,
                      FlowClosure *builder)
{
  const FlowOperator *op = flow_operator_find (op_name);
  FlowStep *step;

  g_return_val_if_fail (op != NULL, NULL);

  step = flow_dataflow_add_step (self->flow, op, step_id, &self, 1, op->n_outputs);
  if (func != NULL)
    {
      step->func = *func;
      flow_binding_guard_closure (&step->func, op->func_shape);
    }
  if (builder != NULL)
    {
      step->builder = *builder;
      flow_binding_guard_closure (&step->builder, FLOW_BINDING_SHAPE_BUILDER);
    }
  return step;
}

static FlowStream *
add_unary_fn (FlowStream     *self,
              const char     *op_name,
              const char     *step_id,
              gpointer        func,
              gpointer        user_data,
              GDestroyNotify  destroy)
{
  FlowClosure closure = { func, user_data, destroy };

  return flow_stream_add_step (self, op_name, step_id, &closure, NULL)->outputs[0];
}

static FlowStream *
add_stateful (FlowStream     *self,
              const char     *op_name,
              const char     *step_id,
              gpointer        builder,
              gpointer        builder_data,
              GDestroyNotify  builder_destroy,
              gpointer        func,
              gpointer        func_data,
              GDestroyNotify  func_destroy)
{
  FlowClosure f = { func, func_data, func_destroy };
  FlowClosure b = { builder, builder_data, builder_destroy };

  return flow_stream_add_step (self, op_name, step_id, &f, &b)->outputs[0];
}

/**
 * flow_stream_map:
 * @self: the upstream
 * @step_id: the id of the new step
 * @mapper: (scope notified) (closure user_data) (destroy destroy): the
 *   function applied to each item
 * @user_data: data for @mapper
 * @destroy: (nullable): frees @user_data
 *
 * Transforms each item into one new item.
 *
 * Returns: (transfer none): the stream of transformed items
 */
FlowStream *
flow_stream_map (FlowStream     *self,
                 const char     *step_id,
                 FlowMapFunc     mapper,
                 gpointer        user_data,
                 GDestroyNotify  destroy)
{
  RETURN_IF_ORPHAN (self, NULL);
  g_return_val_if_fail (mapper != NULL, NULL);

  return add_unary_fn (self, "map", step_id, mapper, user_data, destroy);
}

/**
 * flow_stream_filter:
 * @self: the upstream
 * @step_id: the id of the new step
 * @predicate: (scope notified) (closure user_data) (destroy destroy): keeps
 *   an item when it returns %TRUE
 * @user_data: data for @predicate
 * @destroy: (nullable): frees @user_data
 *
 * Keeps only the items for which @predicate returns %TRUE.
 *
 * Returns: (transfer none): the stream of kept items
 */
FlowStream *
flow_stream_filter (FlowStream        *self,
                    const char        *step_id,
                    FlowPredicateFunc  predicate,
                    gpointer           user_data,
                    GDestroyNotify     destroy)
{
  RETURN_IF_ORPHAN (self, NULL);
  g_return_val_if_fail (predicate != NULL, NULL);

  return add_unary_fn (self, "filter", step_id, predicate, user_data, destroy);
}

/**
 * flow_stream_filter_map:
 * @self: the upstream
 * @step_id: the id of the new step
 * @mapper: (scope notified) (closure user_data) (destroy destroy): returns
 *   the new item, or %NULL to drop it
 * @user_data: data for @mapper
 * @destroy: (nullable): frees @user_data
 *
 * Transforms each item into zero or one new item.
 *
 * Returns: (transfer none): the stream of transformed items
 */
FlowStream *
flow_stream_filter_map (FlowStream        *self,
                        const char        *step_id,
                        FlowFilterMapFunc  mapper,
                        gpointer           user_data,
                        GDestroyNotify     destroy)
{
  RETURN_IF_ORPHAN (self, NULL);
  g_return_val_if_fail (mapper != NULL, NULL);

  return add_unary_fn (self, "filter_map", step_id, mapper, user_data, destroy);
}

/**
 * flow_stream_flat_map:
 * @self: the upstream
 * @step_id: the id of the new step
 * @mapper: (scope notified) (closure user_data) (destroy destroy): returns
 *   an array of new items
 * @user_data: data for @mapper
 * @destroy: (nullable): frees @user_data
 *
 * Transforms each item into any number of new items: the elements of the
 * array @mapper returns (the elements of an `av` array are unboxed).
 *
 * Returns: (transfer none): the stream of new items
 */
FlowStream *
flow_stream_flat_map (FlowStream      *self,
                      const char      *step_id,
                      FlowFlatMapFunc  mapper,
                      gpointer         user_data,
                      GDestroyNotify   destroy)
{
  RETURN_IF_ORPHAN (self, NULL);
  g_return_val_if_fail (mapper != NULL, NULL);

  return add_unary_fn (self, "flat_map", step_id, mapper, user_data, destroy);
}

/**
 * flow_stream_flat_map_batch:
 * @self: the upstream
 * @step_id: the id of the new step
 * @mapper: (scope notified) (closure user_data) (destroy destroy): gets the
 *   items of a batch as one `av` array and returns an array of new items
 * @user_data: data for @mapper
 * @destroy: (nullable): frees @user_data
 *
 * Transforms the items a batch at a time: @mapper is called once per
 * batch that reaches the step, with all its items (keyed items as `(sv)`
 * tuples), and emits the elements of the array it returns (the elements of
 * an `av` array are unboxed). This is Bytewax's `flat_map_batch`: a
 * function that is cheaper per batch than per item (a vectorised
 * computation, one request for many items) pays its cost once per batch.
 * How items are grouped into batches depends on the sources and on the
 * steps before; every item is in exactly one batch.
 *
 * Returns: (transfer none): the stream of new items
 */
FlowStream *
flow_stream_flat_map_batch (FlowStream      *self,
                            const char      *step_id,
                            FlowFlatMapFunc  mapper,
                            gpointer         user_data,
                            GDestroyNotify   destroy)
{
  RETURN_IF_ORPHAN (self, NULL);
  g_return_val_if_fail (mapper != NULL, NULL);

  return add_unary_fn (self, "flat_map_batch", step_id, mapper, user_data, destroy);
}

/**
 * flow_stream_flatten:
 * @self: the upstream, a stream of arrays
 * @step_id: the id of the new step
 *
 * Emits the elements of each array item (the elements of an `av` array are
 * unboxed). An item that is not an array fails the run.
 *
 * Returns: (transfer none): the stream of elements
 */
FlowStream *
flow_stream_flatten (FlowStream *self,
                     const char *step_id)
{
  RETURN_IF_ORPHAN (self, NULL);

  return flow_stream_add_step (self, "flatten", step_id, NULL, NULL)->outputs[0];
}

static void
default_inspector (const char  *step_id,
                   GVariant    *item,
                   gpointer     user_data,
                   GError     **error)
{
  g_autofree char *repr = flow_item_repr (item);

  g_print ("%s: %s\n", step_id, repr);
}

/**
 * flow_stream_inspect:
 * @self: the upstream
 * @step_id: the id of the new step
 * @inspector: (nullable) (scope notified) (closure user_data) (destroy destroy):
 *   called with each item; %NULL prints `step_id: repr` lines to
 *   standard output
 * @user_data: data for @inspector
 * @destroy: (nullable): frees @user_data
 *
 * Looks at each item and passes it on unchanged.
 *
 * Returns: (transfer none): the same items
 */
FlowStream *
flow_stream_inspect (FlowStream      *self,
                     const char      *step_id,
                     FlowInspectFunc  inspector,
                     gpointer         user_data,
                     GDestroyNotify   destroy)
{
  RETURN_IF_ORPHAN (self, NULL);

  if (inspector == NULL)
    inspector = default_inspector;
  return add_unary_fn (self, "inspect", step_id, inspector, user_data, destroy);
}

static void
default_debug_inspector (const char  *step_id,
                         GVariant    *item,
                         guint64      epoch,
                         guint        worker_index,
                         gpointer     user_data,
                         GError     **error)
{
  g_autofree char *repr = flow_item_repr (item);

  g_print ("%s W%u @%" G_GUINT64_FORMAT ": %s\n", step_id, worker_index, epoch, repr);
}

/**
 * flow_stream_inspect_debug:
 * @self: the upstream
 * @step_id: the id of the new step
 * @inspector: (nullable) (scope notified) (closure user_data) (destroy destroy):
 *   called with each item, the epoch it is processed in and the index of
 *   the worker processing it; %NULL prints `step_id W0 @epoch: repr` lines
 *   to standard output
 * @user_data: data for @inspector
 * @destroy: (nullable): frees @user_data
 *
 * Looks at each item, and at where it is in the execution, and passes it
 * on unchanged: Bytewax's `inspect_debug`. Epochs are those of the run
 * (see [property@Flow.Runner:snapshot-interval]); the worker index is 0
 * while a run has one worker.
 *
 * Returns: (transfer none): the same items
 */
FlowStream *
flow_stream_inspect_debug (FlowStream           *self,
                           const char           *step_id,
                           FlowInspectDebugFunc  inspector,
                           gpointer              user_data,
                           GDestroyNotify        destroy)
{
  RETURN_IF_ORPHAN (self, NULL);

  if (inspector == NULL)
    inspector = default_debug_inspector;
  return add_unary_fn (self, "inspect_debug", step_id, inspector, user_data, destroy);
}

/**
 * flow_stream_merge:
 * @self: the first upstream
 * @step_id: the id of the new step
 * @others: (array length=n_others): the other upstreams
 * @n_others: the number of @others
 *
 * Combines several streams of one dataflow into one.
 *
 * Returns: (transfer none): the stream of all items of all upstreams
 */
FlowStream *
flow_stream_merge (FlowStream  *self,
                   const char  *step_id,
                   FlowStream **others,
                   guint        n_others)
{
  g_autoptr(GPtrArray) ups = NULL;

  RETURN_IF_ORPHAN (self, NULL);
  g_return_val_if_fail (n_others == 0 || others != NULL, NULL);

  ups = g_ptr_array_new ();
  g_ptr_array_add (ups, self);
  for (guint i = 0; i < n_others; i++)
    {
      g_return_val_if_fail (FLOW_IS_STREAM (others[i]), NULL);
      g_ptr_array_add (ups, others[i]);
    }

  return flow_dataflow_add_step (self->flow, flow_operator_find ("merge"), step_id,
                                 (FlowStream **) ups->pdata, ups->len, 1)->outputs[0];
}

/**
 * flow_stream_branch:
 * @self: the upstream
 * @step_id: the id of the new step
 * @predicate: (scope notified) (closure user_data) (destroy destroy): sends
 *   an item to @trues when it returns %TRUE, to @falses otherwise
 * @user_data: data for @predicate
 * @destroy: (nullable): frees @user_data
 * @trues: (out) (transfer none) (optional): return location for the stream
 *   of items for which @predicate returned %TRUE
 * @falses: (out) (transfer none) (optional): return location for the stream
 *   of the other items
 *
 * Splits a stream in two.
 */
void
flow_stream_branch (FlowStream         *self,
                    const char         *step_id,
                    FlowPredicateFunc   predicate,
                    gpointer            user_data,
                    GDestroyNotify      destroy,
                    FlowStream        **trues,
                    FlowStream        **falses)
{
  FlowStep *step;

  if (trues != NULL)
    *trues = NULL;
  if (falses != NULL)
    *falses = NULL;
  RETURN_VOID_IF_ORPHAN (self);
  g_return_if_fail (predicate != NULL);

  step = flow_stream_add_step (self, "branch", step_id,
                               &(FlowClosure) { predicate, user_data, destroy }, NULL);
  if (trues != NULL)
    *trues = step->outputs[0];
  if (falses != NULL)
    *falses = step->outputs[1];
}

/**
 * flow_stream_redistribute:
 * @self: the upstream
 * @step_id: the id of the new step
 *
 * Spreads items evenly over the workers. With one worker, it passes items
 * on unchanged.
 *
 * Returns: (transfer none): the same items
 */
FlowStream *
flow_stream_redistribute (FlowStream *self,
                          const char *step_id)
{
  RETURN_IF_ORPHAN (self, NULL);

  return flow_stream_add_step (self, "redistribute", step_id, NULL, NULL)->outputs[0];
}

/**
 * flow_stream_key_on:
 * @self: the upstream
 * @step_id: the id of the new step
 * @key_func: (scope notified) (closure user_data) (destroy destroy): returns
 *   the key of an item
 * @user_data: data for @key_func
 * @destroy: (nullable): frees @user_data
 *
 * Makes each item a keyed item `(key, item)`, for the stateful operators.
 *
 * Returns: (transfer none): the keyed stream
 */
FlowStream *
flow_stream_key_on (FlowStream     *self,
                    const char     *step_id,
                    FlowKeyFunc     key_func,
                    gpointer        user_data,
                    GDestroyNotify  destroy)
{
  RETURN_IF_ORPHAN (self, NULL);
  g_return_val_if_fail (key_func != NULL, NULL);

  return add_unary_fn (self, "key_on", step_id, key_func, user_data, destroy);
}

/**
 * flow_stream_key_rm:
 * @self: the upstream, a keyed stream
 * @step_id: the id of the new step
 *
 * Drops the key of each keyed item, emitting its value.
 *
 * Returns: (transfer none): the stream of values
 */
FlowStream *
flow_stream_key_rm (FlowStream *self,
                    const char *step_id)
{
  RETURN_IF_ORPHAN (self, NULL);

  return flow_stream_add_step (self, "key_rm", step_id, NULL, NULL)->outputs[0];
}

/**
 * flow_stream_map_value:
 * @self: the upstream, a keyed stream
 * @step_id: the id of the new step
 * @mapper: (scope notified) (closure user_data) (destroy destroy): the
 *   function applied to each value
 * @user_data: data for @mapper
 * @destroy: (nullable): frees @user_data
 *
 * Transforms the value of each keyed item, keeping its key.
 *
 * Returns: (transfer none): the keyed stream of transformed values
 */
FlowStream *
flow_stream_map_value (FlowStream     *self,
                       const char     *step_id,
                       FlowMapFunc     mapper,
                       gpointer        user_data,
                       GDestroyNotify  destroy)
{
  RETURN_IF_ORPHAN (self, NULL);
  g_return_val_if_fail (mapper != NULL, NULL);

  return add_unary_fn (self, "map_value", step_id, mapper, user_data, destroy);
}

/**
 * flow_stream_filter_value:
 * @self: the upstream, a keyed stream
 * @step_id: the id of the new step
 * @predicate: (scope notified) (closure user_data) (destroy destroy): keeps
 *   an item when it returns %TRUE for its value
 * @user_data: data for @predicate
 * @destroy: (nullable): frees @user_data
 *
 * Keeps only the keyed items whose value passes @predicate.
 *
 * Returns: (transfer none): the keyed stream of kept items
 */
FlowStream *
flow_stream_filter_value (FlowStream        *self,
                          const char        *step_id,
                          FlowPredicateFunc  predicate,
                          gpointer           user_data,
                          GDestroyNotify     destroy)
{
  RETURN_IF_ORPHAN (self, NULL);
  g_return_val_if_fail (predicate != NULL, NULL);

  return add_unary_fn (self, "filter_value", step_id, predicate, user_data, destroy);
}

/**
 * flow_stream_flat_map_value:
 * @self: the upstream, a keyed stream
 * @step_id: the id of the new step
 * @mapper: (scope notified) (closure user_data) (destroy destroy): returns
 *   an array of new values
 * @user_data: data for @mapper
 * @destroy: (nullable): frees @user_data
 *
 * Transforms the value of each keyed item into any number of values, each
 * emitted with the key of the item.
 *
 * Returns: (transfer none): the keyed stream of new values
 */
FlowStream *
flow_stream_flat_map_value (FlowStream      *self,
                            const char      *step_id,
                            FlowFlatMapFunc  mapper,
                            gpointer         user_data,
                            GDestroyNotify   destroy)
{
  RETURN_IF_ORPHAN (self, NULL);
  g_return_val_if_fail (mapper != NULL, NULL);

  return add_unary_fn (self, "flat_map_value", step_id, mapper, user_data, destroy);
}

/**
 * flow_stream_stateful_map:
 * @self: the upstream, a keyed stream
 * @step_id: the id of the new step
 * @builder: (nullable) (scope notified) (closure builder_data) (destroy builder_destroy):
 *   builds the state of a new key; with %NULL, @mapper gets a %NULL state
 *   for a new key
 * @builder_data: data for @builder
 * @builder_destroy: (nullable): frees @builder_data
 * @mapper: (scope notified) (closure mapper_data) (destroy mapper_destroy):
 *   updates the state of a key and says what to emit
 * @mapper_data: data for @mapper
 * @mapper_destroy: (nullable): frees @mapper_data
 *
 * Keeps a state per key. For each keyed item, @mapper gets the state of its
 * key and its value, and returns the new state (%NULL discards it) and the
 * value to emit with the key. States are snapshotted and restored by
 * recovery, and kept at the end of input.
 *
 * Returns: (transfer none): the keyed stream of emitted values
 */
FlowStream *
flow_stream_stateful_map (FlowStream          *self,
                          const char          *step_id,
                          FlowBuilderFunc      builder,
                          gpointer             builder_data,
                          GDestroyNotify       builder_destroy,
                          FlowStatefulMapFunc  mapper,
                          gpointer             mapper_data,
                          GDestroyNotify       mapper_destroy)
{
  RETURN_IF_ORPHAN (self, NULL);
  g_return_val_if_fail (mapper != NULL, NULL);

  return add_stateful (self, "stateful_map", step_id,
                       builder, builder_data, builder_destroy,
                       mapper, mapper_data, mapper_destroy);
}

/**
 * flow_stream_stateful_flat_map:
 * @self: the upstream, a keyed stream
 * @step_id: the id of the new step
 * @builder: (nullable) (scope notified) (closure builder_data) (destroy builder_destroy):
 *   builds the state of a new key
 * @builder_data: data for @builder
 * @builder_destroy: (nullable): frees @builder_data
 * @mapper: (scope notified) (closure mapper_data) (destroy mapper_destroy):
 *   updates the state of a key and says what to emit
 * @mapper_data: data for @mapper
 * @mapper_destroy: (nullable): frees @mapper_data
 *
 * Like [method@Flow.Stream.stateful_map], but emits any number of values
 * per item.
 *
 * Returns: (transfer none): the keyed stream of emitted values
 */
FlowStream *
flow_stream_stateful_flat_map (FlowStream              *self,
                               const char              *step_id,
                               FlowBuilderFunc          builder,
                               gpointer                 builder_data,
                               GDestroyNotify           builder_destroy,
                               FlowStatefulFlatMapFunc  mapper,
                               gpointer                 mapper_data,
                               GDestroyNotify           mapper_destroy)
{
  RETURN_IF_ORPHAN (self, NULL);
  g_return_val_if_fail (mapper != NULL, NULL);

  return add_stateful (self, "stateful_flat_map", step_id,
                       builder, builder_data, builder_destroy,
                       mapper, mapper_data, mapper_destroy);
}

/**
 * flow_stream_fold_final:
 * @self: the upstream, a keyed stream
 * @step_id: the id of the new step
 * @builder: (scope notified) (closure builder_data) (destroy builder_destroy):
 *   builds the accumulator of a new key
 * @builder_data: data for @builder
 * @builder_destroy: (nullable): frees @builder_data
 * @folder: (scope notified) (closure folder_data) (destroy folder_destroy):
 *   folds a value into the accumulator
 * @folder_data: data for @folder
 * @folder_destroy: (nullable): frees @folder_data
 *
 * Folds the values of each key into an accumulator and, at the end of
 * input, emits `(key, accumulator)` for every key (in key order).
 *
 * Returns: (transfer none): the keyed stream of final accumulators
 */
FlowStream *
flow_stream_fold_final (FlowStream      *self,
                        const char      *step_id,
                        FlowBuilderFunc  builder,
                        gpointer         builder_data,
                        GDestroyNotify   builder_destroy,
                        FlowFoldFunc     folder,
                        gpointer         folder_data,
                        GDestroyNotify   folder_destroy)
{
  RETURN_IF_ORPHAN (self, NULL);
  g_return_val_if_fail (builder != NULL, NULL);
  g_return_val_if_fail (folder != NULL, NULL);

  return add_stateful (self, "fold_final", step_id,
                       builder, builder_data, builder_destroy,
                       folder, folder_data, folder_destroy);
}

/**
 * flow_stream_reduce_final:
 * @self: the upstream, a keyed stream
 * @step_id: the id of the new step
 * @reducer: (scope notified) (closure user_data) (destroy destroy): combines
 *   the accumulator with a value; the first value of a key is its initial
 *   accumulator
 * @user_data: data for @reducer
 * @destroy: (nullable): frees @user_data
 *
 * Reduces the values of each key and, at the end of input, emits
 * `(key, accumulator)` for every key (in key order).
 *
 * Returns: (transfer none): the keyed stream of final accumulators
 */
FlowStream *
flow_stream_reduce_final (FlowStream     *self,
                          const char     *step_id,
                          FlowFoldFunc    reducer,
                          gpointer        user_data,
                          GDestroyNotify  destroy)
{
  RETURN_IF_ORPHAN (self, NULL);
  g_return_val_if_fail (reducer != NULL, NULL);

  return add_stateful (self, "reduce_final", step_id,
                       NULL, NULL, NULL, reducer, user_data, destroy);
}

/**
 * flow_stream_count_final:
 * @self: the upstream (not keyed)
 * @step_id: the id of the new step
 * @key_func: (scope notified) (closure user_data) (destroy destroy): returns
 *   the key to count an item under
 * @user_data: data for @key_func
 * @destroy: (nullable): frees @user_data
 *
 * Counts the items per key and, at the end of input, emits `(key, count)`
 * (an `x` count) for every key (in key order).
 *
 * Returns: (transfer none): the keyed stream of counts
 */
FlowStream *
flow_stream_count_final (FlowStream     *self,
                         const char     *step_id,
                         FlowKeyFunc     key_func,
                         gpointer        user_data,
                         GDestroyNotify  destroy)
{
  RETURN_IF_ORPHAN (self, NULL);
  g_return_val_if_fail (key_func != NULL, NULL);

  return add_stateful (self, "count_final", step_id,
                       NULL, NULL, NULL, key_func, user_data, destroy);
}

/**
 * flow_stream_max_final:
 * @self: the upstream, a keyed stream
 * @step_id: the id of the new step
 * @by: (nullable) (scope notified) (closure user_data) (destroy destroy):
 *   returns what to compare a value by; %NULL compares values themselves
 * @user_data: data for @by
 * @destroy: (nullable): frees @user_data
 *
 * Finds the greatest value of each key (in the order of
 * [func@Flow.item_compare]) and, at the end of input, emits `(key, max)`
 * for every key (in key order).
 *
 * Returns: (transfer none): the keyed stream of maxima
 */
FlowStream *
flow_stream_max_final (FlowStream     *self,
                       const char     *step_id,
                       FlowMapFunc     by,
                       gpointer        user_data,
                       GDestroyNotify  destroy)
{
  RETURN_IF_ORPHAN (self, NULL);

  return add_stateful (self, "max_final", step_id,
                       NULL, NULL, NULL, by, user_data, destroy);
}

/**
 * flow_stream_min_final:
 * @self: the upstream, a keyed stream
 * @step_id: the id of the new step
 * @by: (nullable) (scope notified) (closure user_data) (destroy destroy):
 *   returns what to compare a value by; %NULL compares values themselves
 * @user_data: data for @by
 * @destroy: (nullable): frees @user_data
 *
 * Finds the smallest value of each key and, at the end of input, emits
 * `(key, min)` for every key (in key order).
 *
 * Returns: (transfer none): the keyed stream of minima
 */
FlowStream *
flow_stream_min_final (FlowStream     *self,
                       const char     *step_id,
                       FlowMapFunc     by,
                       gpointer        user_data,
                       GDestroyNotify  destroy)
{
  RETURN_IF_ORPHAN (self, NULL);

  return add_stateful (self, "min_final", step_id,
                       NULL, NULL, NULL, by, user_data, destroy);
}

/**
 * flow_stream_collect:
 * @self: the upstream, a keyed stream
 * @step_id: the id of the new step
 * @timeout: seconds after the first value of a batch at which the batch is
 *   emitted even if it is not full (system time, so it survives a resume)
 * @max_size: the number of values at which a batch is emitted; 0 for no
 *   limit
 *
 * Collects the values of each key into lists, emitting `(key, [values])`
 * when a list reaches @max_size, when @timeout has passed since its first
 * value, or at the end of input.
 *
 * Returns: (transfer none): the keyed stream of `av` lists
 */
FlowStream *
flow_stream_collect (FlowStream *self,
                     const char *step_id,
                     double      timeout,
                     guint       max_size)
{
  FlowStep *step;

  RETURN_IF_ORPHAN (self, NULL);

  step = flow_stream_add_step (self, "collect", step_id, NULL, NULL);
  step->timeout = timeout;
  step->max_size = max_size;
  if (!(timeout > 0))
    flow_dataflow_set_error (self->flow,
                             g_error_new (FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                                          "collect '%s': the timeout must be a positive "
                                          "number of seconds, not %g",
                                          step->full_id, timeout));
  return step->outputs[0];
}

/**
 * flow_stream_output:
 * @self: the upstream
 * @step_id: the id of the new step
 * @sink: the sink to write to
 *
 * Writes the items of @self to @sink. Keyed items are routed to the
 * partition of the sink their key hashes to.
 */
void
flow_stream_output (FlowStream *self,
                    const char *step_id,
                    FlowSink   *sink)
{
  FlowStep *step;

  RETURN_VOID_IF_ORPHAN (self);
  g_return_if_fail (FLOW_IS_SINK (sink));

  step = flow_stream_add_step (self, "output", step_id, NULL, NULL);
  step->sink = g_object_ref (sink);
}

/* ------------------------------------------------------------------------
 * filter_map_value, raises (issue 8)
 * ------------------------------------------------------------------------ */

/**
 * flow_stream_filter_map_value:
 * @self: the upstream, a keyed stream
 * @step_id: the id of the new step
 * @mapper: (scope notified) (closure user_data) (destroy destroy): gets
 *   the value of each item and returns its new value, or %NULL to drop
 *   the item
 * @user_data: data for @mapper
 * @destroy: (nullable): frees @user_data
 *
 * Transforms the value of each keyed item into zero or one new value,
 * keeping the key (Bytewax's `filter_map_value`: [method@Flow.Stream.map_value]
 * and a filter of the values that are %NULL).
 *
 * Returns: (transfer none): the keyed stream of transformed items
 */
FlowStream *
flow_stream_filter_map_value (FlowStream        *self,
                              const char        *step_id,
                              FlowFilterMapFunc  mapper,
                              gpointer           user_data,
                              GDestroyNotify     destroy)
{
  RETURN_IF_ORPHAN (self, NULL);
  g_return_val_if_fail (mapper != NULL, NULL);

  return add_unary_fn (self, "filter_map_value", step_id, mapper, user_data, destroy);
}

/**
 * flow_stream_raises:
 * @self: the upstream
 * @step_id: the id of the new step
 *
 * Stops the run with an error at the first item that reaches the step
 * (Bytewax's `raises`): a stream that should stay empty, made sure of. The
 * error (%FLOW_ERROR_FAILED) names the step and the item. Like an output,
 * the step ends its stream.
 */
void
flow_stream_raises (FlowStream *self,
                    const char *step_id)
{
  RETURN_VOID_IF_ORPHAN (self);

  flow_stream_add_step (self, "raises", step_id, NULL, NULL);
}
