/* flow-dataflow.c: a named graph of steps
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "flow-private.h"

/**
 * FlowDataflow:
 *
 * A named graph of steps. A dataflow is built once, with
 * [method@Flow.Dataflow.input] and the operators of [class@Flow.Stream], and
 * can then be run any number of times by a [class@Flow.Runner].
 *
 * Step ids are unique within a dataflow and contain no `.`; the full id of a
 * step is `dataflow_id.step_id`, which is also what recovery stores state
 * under. Mistakes made while building (a bad or duplicate step id, a stream
 * of another dataflow) do not stop the building: the first one is kept and
 * returned by [method@Flow.Dataflow.check] and when a run starts.
 *
 * ```c
 * g_autoptr(FlowDataflow) flow = flow_dataflow_new ("recovery");
 * FlowStream *s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
 * s = flow_stream_key_on (s, "key_stream", key_all, NULL, NULL);
 * s = flow_stream_stateful_map (s, "running_count", zero, NULL, NULL,
 *                               update_sum, NULL, NULL);
 * flow_stream_output (s, "out", FLOW_SINK (flow_std_out_sink_new ()));
 * ```
 */

struct _FlowDataflow
{
  GObject     parent_instance;

  char       *id;
  GPtrArray  *steps;    /* FlowStep* */
  GPtrArray  *streams;  /* FlowStream*, owned */
  GHashTable *ids;      /* full id -> kind name (const char *) of its step
                         * or nested operator */
  GError     *error;    /* first building mistake */

  /* Nested operators (the graph description, at the end of this file) */
  GPtrArray  *nested;       /* FlowNested*, owned, in the order begun */
  GPtrArray  *open_nested;  /* FlowNested*, the ones begun and not ended */
  GPtrArray  *step_parent;  /* FlowNested* (NULL at top level) per step */
};

typedef struct _FlowNested FlowNested;
static void        flow_nested_free       (FlowNested   *nested);
static const char *flow_dataflow_scope_id (FlowDataflow *self);
static void        flow_dataflow_add_to_scope (FlowDataflow *self,
                                               FlowStep     *step);
static gboolean    flow_dataflow_check_nested (FlowDataflow  *self,
                                               GError       **error);

enum {
  PROP_0,
  PROP_ID,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (FlowDataflow, flow_dataflow, G_TYPE_OBJECT)

static void
flow_step_free (FlowStep *step)
{
  if (step->func.destroy != NULL && step->func.data != NULL)
    step->func.destroy (step->func.data);
  if (step->builder.destroy != NULL && step->builder.data != NULL)
    step->builder.destroy (step->builder.data);
  if (step->op_data_destroy != NULL && step->op_data != NULL)
    step->op_data_destroy (step->op_data);
  g_clear_pointer (&step->inputs, g_ptr_array_unref);
  g_clear_object (&step->source);
  g_clear_object (&step->sink);
  g_free (step->id);
  g_free (step->full_id);
  g_free (step);
}

static void
flow_dataflow_dispose (GObject *object)
{
  FlowDataflow *self = FLOW_DATAFLOW (object);

  /* Streams the application still holds outlive the dataflow: they are
   * orphaned, like GStreamer pads of a disposed element. */
  if (self->streams != NULL)
    for (guint i = 0; i < self->streams->len; i++)
      flow_stream_orphan (g_ptr_array_index (self->streams, i));

  G_OBJECT_CLASS (flow_dataflow_parent_class)->dispose (object);
}

static void
flow_dataflow_finalize (GObject *object)
{
  FlowDataflow *self = FLOW_DATAFLOW (object);

  g_clear_pointer (&self->ids, g_hash_table_unref);
  g_clear_pointer (&self->steps, g_ptr_array_unref);
  g_clear_pointer (&self->streams, g_ptr_array_unref);
  g_clear_pointer (&self->step_parent, g_ptr_array_unref);
  g_clear_pointer (&self->open_nested, g_ptr_array_unref);
  g_clear_pointer (&self->nested, g_ptr_array_unref);
  g_clear_error (&self->error);
  g_free (self->id);

  G_OBJECT_CLASS (flow_dataflow_parent_class)->finalize (object);
}

static void
flow_dataflow_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  FlowDataflow *self = FLOW_DATAFLOW (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static gboolean
check_id (const char  *kind,
          const char  *id,
          GError     **error)
{
  if (id == NULL || *id == '\0')
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_STEP_ID,
                   "%s id must not be empty", kind);
      return FALSE;
    }
  if (strchr (id, '.') != NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_STEP_ID,
                   "%s id '%s' must not contain '.'", kind, id);
      return FALSE;
    }
  if (!g_utf8_validate (id, -1, NULL))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_STEP_ID,
                   "%s id is not valid UTF-8", kind);
      return FALSE;
    }
  return TRUE;
}

static void
flow_dataflow_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  FlowDataflow *self = FLOW_DATAFLOW (object);

  switch (prop_id)
    {
    case PROP_ID:
      {
        g_autoptr(GError) error = NULL;

        self->id = g_value_dup_string (value);
        if (!check_id ("dataflow", self->id, &error))
          flow_dataflow_set_error (self, g_steal_pointer (&error));
        if (self->id == NULL)
          self->id = g_strdup ("");
      }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_dataflow_class_init (FlowDataflowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = flow_dataflow_dispose;
  object_class->finalize = flow_dataflow_finalize;
  object_class->get_property = flow_dataflow_get_property;
  object_class->set_property = flow_dataflow_set_property;

  /**
   * FlowDataflow:id:
   *
   * The id of the dataflow: the first part of the full id of every step,
   * and what recovery partitions are tied to.
   */
  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
flow_dataflow_init (FlowDataflow *self)
{
  self->steps = g_ptr_array_new_with_free_func ((GDestroyNotify) flow_step_free);
  self->streams = g_ptr_array_new_with_free_func (g_object_unref);
  self->ids = g_hash_table_new (g_str_hash, g_str_equal);
  self->nested = g_ptr_array_new_with_free_func ((GDestroyNotify) flow_nested_free);
  self->open_nested = g_ptr_array_new ();
  self->step_parent = g_ptr_array_new ();
}

/**
 * flow_dataflow_new:
 * @id: the id of the dataflow; not empty, without `.`
 *
 * Creates an empty dataflow.
 *
 * Returns: (transfer full): a new dataflow
 */
FlowDataflow *
flow_dataflow_new (const char *id)
{
  return g_object_new (FLOW_TYPE_DATAFLOW, "id", id, NULL);
}

/**
 * flow_dataflow_get_id:
 * @self: a dataflow
 *
 * Gets the id of the dataflow ([property@Flow.Dataflow:id]): the first
 * part of the full id of each of its steps.
 *
 * Returns: the id of the dataflow
 */
const char *
flow_dataflow_get_id (FlowDataflow *self)
{
  g_return_val_if_fail (FLOW_IS_DATAFLOW (self), NULL);

  return self->id;
}

void
flow_dataflow_set_error (FlowDataflow *self,
                         GError       *error)
{
  g_debug ("dataflow '%s': %s", self->id ? self->id : "", error->message);
  if (self->error == NULL)
    self->error = error;
  else
    g_error_free (error);
}

gboolean
flow_dataflow_has_error (FlowDataflow *self)
{
  return self->error != NULL;
}

GPtrArray *
flow_dataflow_get_steps (FlowDataflow *self)
{
  return self->steps;
}

FlowStep *
flow_dataflow_add_step (FlowDataflow       *self,
                        const FlowOperator *op,
                        const char         *step_id,
                        FlowStream        **inputs,
                        guint               n_inputs,
                        guint               n_outputs)
{
  g_autoptr(GError) error = NULL;
  FlowStep *step;

  step = g_new0 (FlowStep, 1);
  step->op = op;
  step->index = self->steps->len;
  step->id = g_strdup (step_id ? step_id : "");
  step->full_id = g_strdup_printf ("%s.%s", flow_dataflow_scope_id (self), step->id);
  step->inputs = g_ptr_array_new ();
  step->n_outputs = n_outputs;

  if (!check_id ("step", step_id, &error))
    {
      g_autofree char *shown = g_utf8_make_valid (step->full_id, -1);

      g_prefix_error (&error, "%s '%s': ", flow_step_get_kind_name (step), shown);
      flow_dataflow_set_error (self, g_steal_pointer (&error));
    }
  else if (g_hash_table_contains (self->ids, step->full_id))
    flow_dataflow_set_error (self, g_error_new (FLOW_ERROR, FLOW_ERROR_DUPLICATE_STEP_ID,
                                                "step id '%s' is used twice in dataflow '%s' (by a %s and a %s step)",
                                                step->full_id, self->id,
                                                (const char *) g_hash_table_lookup (self->ids, step->full_id),
                                                flow_step_get_kind_name (step)));
  else
    g_hash_table_insert (self->ids, step->full_id, (gpointer) flow_step_get_kind_name (step));

  for (guint i = 0; i < n_inputs; i++)
    {
      FlowStream *up = inputs[i];

      if (flow_stream_get_dataflow (up) != self)
        {
          FlowStep *up_step = flow_stream_get_step (up);
          flow_dataflow_set_error (self, g_error_new (FLOW_ERROR, FLOW_ERROR_INVALID_FLOW,
                                                      "step '%s' was given the stream of step '%s', "
                                                      "which belongs to another dataflow",
                                                      step->full_id,
                                                      up_step ? up_step->full_id : "(disposed)"));
          continue;
        }
      g_ptr_array_add (step->inputs, up);
    }

  for (guint i = 0; i < n_outputs; i++)
    {
      step->outputs[i] = flow_stream_new (self, step, i);
      g_ptr_array_add (self->streams, step->outputs[i]);
    }

  g_ptr_array_add (self->steps, step);
  flow_dataflow_add_to_scope (self, step);
  return step;
}

/**
 * flow_dataflow_input:
 * @self: a dataflow
 * @step_id: the id of the input step
 * @source: the source to read from
 *
 * Adds an input step reading from @source.
 *
 * Returns: (transfer none): the stream of the items read, owned by @self
 */
FlowStream *
flow_dataflow_input (FlowDataflow *self,
                     const char   *step_id,
                     FlowSource   *source)
{
  FlowStep *step;

  g_return_val_if_fail (FLOW_IS_DATAFLOW (self), NULL);
  g_return_val_if_fail (FLOW_IS_SOURCE (source), NULL);

  step = flow_dataflow_add_step (self, flow_operator_find ("input"), step_id, NULL, 0, 1);
  step->source = g_object_ref (source);
  return step->outputs[0];
}

/**
 * flow_dataflow_check:
 * @self: a dataflow
 * @error: return location for a #GError
 *
 * Checks that the dataflow can run: no mistake was made while building it
 * (a bad or duplicate step id, a stream of another dataflow), and it has at
 * least one input and at least one effect, an output or an inspect step
 * (%FLOW_ERROR_INCOMPLETE_FLOW
 * otherwise; building mistakes are reported first, so a binding can check
 * after every step it adds and ignore only that code). A
 * [class@Flow.Runner] makes the same check when a run starts.
 *
 * Returns: %TRUE if the dataflow can run
 */
gboolean
flow_dataflow_check (FlowDataflow  *self,
                     GError       **error)
{
  gboolean has_input = FALSE, has_output = FALSE;

  g_return_val_if_fail (FLOW_IS_DATAFLOW (self), FALSE);

  if (self->error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->error));
      return FALSE;
    }
  if (!flow_dataflow_check_nested (self, error))
    return FALSE;

  for (guint i = 0; i < self->steps->len; i++)
    {
      FlowStep *step = g_ptr_array_index (self->steps, i);
      has_input |= flow_step_is_input (step);
      /* An inspect step is an effect of its own, as in Bytewax: a flow
       * that only prints what it computes is complete (inspect and
       * inspect_debug). */
      has_output |= flow_step_is_output (step) ||
                    g_str_has_prefix (flow_step_get_kind_name (step), "inspect") ||
                    g_str_equal (flow_step_get_kind_name (step), "raises");
    }

  if (!has_input)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INCOMPLETE_FLOW,
                   "dataflow '%s' needs at least one input step: it has none, so it would read nothing",
                   self->id);
      return FALSE;
    }
  if (!has_output)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INCOMPLETE_FLOW,
                   "dataflow '%s' needs at least one output or inspect step: it has none, so its results would go nowhere",
                   self->id);
      return FALSE;
    }
  return TRUE;
}

/**
 * flow_dataflow_list_steps:
 * @self: a dataflow
 *
 * Lists the full ids of the steps of @self, in the order they were added
 * (which is a topological order).
 *
 * Returns: (transfer full) (array zero-terminated=1): the full step ids
 */
char **
flow_dataflow_list_steps (FlowDataflow *self)
{
  GStrvBuilder *builder;
  char **ids;

  g_return_val_if_fail (FLOW_IS_DATAFLOW (self), NULL);

  builder = g_strv_builder_new ();
  for (guint i = 0; i < self->steps->len; i++)
    g_strv_builder_add (builder, ((FlowStep *) g_ptr_array_index (self->steps, i))->full_id);
  ids = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return ids;
}

/* -------------------------------------------------------------------------
 * Nested operators, and the description of the graph (describe, DOT,
 * Mermaid, FLOW_DEBUG_DUMP_DOT_DIR)
 * ------------------------------------------------------------------------- */

typedef struct
{
  char       *name;     /* port name */
  FlowStream *stream;   /* owned by the dataflow */
} FlowNestedPort;

struct _FlowNested
{
  char       *name;       /* as given */
  char       *full_id;
  char       *op_type;
  FlowNested *parent;     /* NULL at top level */
  guint       first_step; /* number of steps when it was begun */
  GArray     *inputs;     /* FlowNestedPort */
  GArray     *outputs;    /* FlowNestedPort */
};

static void
flow_nested_port_clear (gpointer data)
{
  FlowNestedPort *port = data;

  g_free (port->name);
}

static void
flow_nested_free (FlowNested *nested)
{
  g_clear_pointer (&nested->inputs, g_array_unref);
  g_clear_pointer (&nested->outputs, g_array_unref);
  g_free (nested->name);
  g_free (nested->full_id);
  g_free (nested->op_type);
  g_free (nested);
}

static FlowNested *
flow_dataflow_current_nested (FlowDataflow *self)
{
  if (self->open_nested->len == 0)
    return NULL;
  return g_ptr_array_index (self->open_nested, self->open_nested->len - 1);
}

/* The full id new steps are put under: the dataflow's, or the innermost
 * nested operator's. */
static const char *
flow_dataflow_scope_id (FlowDataflow *self)
{
  FlowNested *current = flow_dataflow_current_nested (self);

  return current != NULL ? current->full_id : self->id;
}

static void
flow_dataflow_add_to_scope (FlowDataflow *self,
                            FlowStep     *step)
{
  g_assert (step->index == self->step_parent->len);
  g_ptr_array_add (self->step_parent, flow_dataflow_current_nested (self));
}

static gboolean
flow_dataflow_check_nested (FlowDataflow  *self,
                            GError       **error)
{
  FlowNested *open = flow_dataflow_current_nested (self);

  if (open != NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INCOMPLETE_FLOW,
                   "nested operator '%s' was begun and not ended "
                   "(flow_dataflow_end_operator() is missing)", open->full_id);
      return FALSE;
    }
  return TRUE;
}

/**
 * flow_dataflow_begin_operator:
 * @self: a dataflow
 * @step_id: the id of the nested operator: not empty, without `.`, unique
 *   among the steps next to it
 * @op_type: the kind of the operator, shown in descriptions and diagrams
 *   (for instance the name of the function that builds it)
 *
 * Begins a nested operator: a step made of other steps, as the operators
 * Bytewax's `@operator` decorator defines. The steps added until the
 * matching [method@Flow.Dataflow.end_operator] are its substeps: their full
 * ids are under its own (`flow_id.step_id.substep_id`, which is also what
 * recovery stores their state under), so two nested operators can use the
 * same substep ids. Nested operators nest.
 *
 * A nested operator only groups steps; it does nothing by itself. Declare
 * the streams it consumes and produces with
 * [method@Flow.Dataflow.add_operator_input] and
 * [method@Flow.Dataflow.add_operator_output] so that
 * [method@Flow.Dataflow.describe] and the diagrams show its ports.
 *
 * A bad or duplicate @step_id is a building mistake, returned by
 * [method@Flow.Dataflow.check] like those of other steps; a dataflow with an
 * operator begun and not ended cannot run (%FLOW_ERROR_INCOMPLETE_FLOW).
 */
void
flow_dataflow_begin_operator (FlowDataflow *self,
                              const char   *step_id,
                              const char   *op_type)
{
  g_autoptr(GError) error = NULL;
  FlowNested *nested;

  g_return_if_fail (FLOW_IS_DATAFLOW (self));
  g_return_if_fail (op_type != NULL);

  nested = g_new0 (FlowNested, 1);
  nested->name = g_strdup (step_id ? step_id : "");
  nested->full_id = g_strdup_printf ("%s.%s", flow_dataflow_scope_id (self), nested->name);
  nested->op_type = g_utf8_make_valid (op_type, -1);
  nested->parent = flow_dataflow_current_nested (self);
  nested->first_step = self->steps->len;
  nested->inputs = g_array_new (FALSE, TRUE, sizeof (FlowNestedPort));
  g_array_set_clear_func (nested->inputs, flow_nested_port_clear);
  nested->outputs = g_array_new (FALSE, TRUE, sizeof (FlowNestedPort));
  g_array_set_clear_func (nested->outputs, flow_nested_port_clear);

  if (!check_id ("step", step_id, &error))
    {
      g_autofree char *shown = g_utf8_make_valid (nested->full_id, -1);

      g_prefix_error (&error, "%s '%s': ", nested->op_type, shown);
      flow_dataflow_set_error (self, g_steal_pointer (&error));
    }
  else if (g_hash_table_contains (self->ids, nested->full_id))
    flow_dataflow_set_error (self, g_error_new (FLOW_ERROR, FLOW_ERROR_DUPLICATE_STEP_ID,
                                                "step id '%s' is used twice in dataflow '%s' (by a %s and a %s step)",
                                                nested->full_id, self->id,
                                                (const char *) g_hash_table_lookup (self->ids, nested->full_id),
                                                nested->op_type));
  else
    g_hash_table_insert (self->ids, nested->full_id, nested->op_type);

  g_ptr_array_add (self->nested, nested);
  g_ptr_array_add (self->open_nested, nested);
}

/**
 * flow_dataflow_end_operator:
 * @self: a dataflow
 *
 * Ends the nested operator begun last by
 * [method@Flow.Dataflow.begin_operator]: the steps added after this are
 * next to it again. Ending when no operator is begun is a building mistake
 * (%FLOW_ERROR_INVALID_FLOW).
 */
void
flow_dataflow_end_operator (FlowDataflow *self)
{
  g_return_if_fail (FLOW_IS_DATAFLOW (self));

  if (self->open_nested->len == 0)
    {
      flow_dataflow_set_error (self, g_error_new (FLOW_ERROR, FLOW_ERROR_INVALID_FLOW,
                                                  "dataflow '%s': an operator was ended that "
                                                  "was not begun", self->id));
      return;
    }
  g_ptr_array_remove_index (self->open_nested, self->open_nested->len - 1);
}

static void
flow_dataflow_add_nested_port (FlowDataflow *self,
                               const char   *what,
                               const char   *port_name,
                               FlowStream   *stream,
                               gboolean      output)
{
  FlowNested *current = flow_dataflow_current_nested (self);
  FlowNestedPort port;

  if (current == NULL)
    {
      flow_dataflow_set_error (self, g_error_new (FLOW_ERROR, FLOW_ERROR_INVALID_FLOW,
                                                  "dataflow '%s': an operator %s port '%s' was "
                                                  "declared outside any nested operator",
                                                  self->id, what, port_name ? port_name : ""));
      return;
    }
  if (port_name == NULL || *port_name == '\0' || strchr (port_name, '.') != NULL ||
      !g_utf8_validate (port_name, -1, NULL))
    {
      flow_dataflow_set_error (self, g_error_new (FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                                                  "operator '%s': an %s port name must be "
                                                  "non-empty UTF-8 without '.'",
                                                  current->full_id, what));
      return;
    }
  if (flow_stream_get_dataflow (stream) != self)
    {
      flow_dataflow_set_error (self, g_error_new (FLOW_ERROR, FLOW_ERROR_INVALID_FLOW,
                                                  "operator '%s': %s port '%s' was given a "
                                                  "stream of another dataflow",
                                                  current->full_id, what, port_name));
      return;
    }
  port.name = g_strdup (port_name);
  port.stream = stream;
  g_array_append_val (output ? current->outputs : current->inputs, port);
}

/**
 * flow_dataflow_add_operator_input:
 * @self: a dataflow
 * @port_name: the name of the input port (such as `up`), without `.`
 * @stream: a stream the nested operator consumes
 *
 * Declares that the nested operator being built (see
 * [method@Flow.Dataflow.begin_operator]) consumes @stream through its input
 * port @port_name. Declaring several streams under one port name makes a
 * port of several streams (as `*ups` in Bytewax).
 */
void
flow_dataflow_add_operator_input (FlowDataflow *self,
                                  const char   *port_name,
                                  FlowStream   *stream)
{
  g_return_if_fail (FLOW_IS_DATAFLOW (self));
  g_return_if_fail (FLOW_IS_STREAM (stream));

  flow_dataflow_add_nested_port (self, "input", port_name, stream, FALSE);
}

/**
 * flow_dataflow_add_operator_output:
 * @self: a dataflow
 * @port_name: the name of the output port (such as `down`), without `.`
 * @stream: a stream the nested operator produces
 *
 * Declares that the nested operator being built (see
 * [method@Flow.Dataflow.begin_operator]) produces @stream (the output of one
 * of its substeps, or one of its inputs passed through) on its output port
 * @port_name.
 */
void
flow_dataflow_add_operator_output (FlowDataflow *self,
                                   const char   *port_name,
                                   FlowStream   *stream)
{
  g_return_if_fail (FLOW_IS_DATAFLOW (self));
  g_return_if_fail (FLOW_IS_STREAM (stream));

  flow_dataflow_add_nested_port (self, "output", port_name, stream, TRUE);
}

static const char *
core_out_port_name (FlowStep *step,
                    guint     port)
{
  if (g_str_equal (flow_step_get_kind_name (step), "branch"))
    return port == 0 ? "trues" : "falses";
  if (step->n_outputs == 3)  /* window operators: Bytewax's WindowOut */
    return port == 0 ? "down" : port == 1 ? "late" : "meta";
  return "down";
}

static const char *
core_in_port_name (FlowStep *step)
{
  return g_str_equal (flow_step_get_kind_name (step), "merge") ? "ups" : "up";
}

/* The id of a stream: the full id of the step that produces it and the name
 * of its port (`flow.step.down`), as Bytewax's stream ids. */
static char *
stream_id (FlowStream *stream)
{
  FlowStep *step = flow_stream_get_step (stream);

  return g_strdup_printf ("%s.%s", step->full_id,
                          core_out_port_name (step, flow_stream_get_port (stream)));
}

/* Adds (name, port id, [stream ids]) to an a(ssas) builder. */
static void
add_port (GVariantBuilder  *ports,
          const char       *owner_id,
          const char       *name,
          FlowStream      **streams,
          guint             n_streams)
{
  g_autofree char *port_id = g_strdup_printf ("%s.%s", owner_id, name);
  GVariantBuilder ids;

  g_variant_builder_init (&ids, G_VARIANT_TYPE_STRING_ARRAY);
  for (guint i = 0; i < n_streams; i++)
    {
      g_autofree char *id = stream_id (streams[i]);
      g_variant_builder_add (&ids, "s", id);
    }
  g_variant_builder_add (ports, "(ssas)", name, port_id, &ids);
}

static void
add_nested_ports (GVariantBuilder *ports,
                  FlowNested      *nested,
                  GArray          *list)
{
  g_autoptr(GPtrArray) streams = g_ptr_array_new ();
  g_autoptr(GHashTable) done = g_hash_table_new (g_str_hash, g_str_equal);

  /* One port per name, in the order the names first appear. */
  for (guint i = 0; i < list->len; i++)
    {
      FlowNestedPort *port = &g_array_index (list, FlowNestedPort, i);

      if (!g_hash_table_add (done, port->name))
        continue;
      g_ptr_array_set_size (streams, 0);
      for (guint j = i; j < list->len; j++)
        {
          FlowNestedPort *other = &g_array_index (list, FlowNestedPort, j);
          if (g_str_equal (other->name, port->name))
            g_ptr_array_add (streams, other->stream);
        }
      add_port (ports, nested->full_id, port->name,
                (FlowStream **) streams->pdata, streams->len);
    }
}

static void
describe_step (GVariantBuilder *steps,
               FlowStep        *step,
               FlowNested      *parent)
{
  GVariantBuilder dict, inputs, outputs;

  g_variant_builder_init (&inputs, G_VARIANT_TYPE ("a(ssas)"));
  if (step->inputs->len > 0)
    add_port (&inputs, step->full_id, core_in_port_name (step),
              (FlowStream **) step->inputs->pdata, step->inputs->len);
  g_variant_builder_init (&outputs, G_VARIANT_TYPE ("a(ssas)"));
  for (guint i = 0; i < step->n_outputs; i++)
    add_port (&outputs, step->full_id, core_out_port_name (step, i), &step->outputs[i], 1);

  g_variant_builder_init (&dict, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&dict, "{sv}", "id", g_variant_new_string (step->full_id));
  g_variant_builder_add (&dict, "{sv}", "name", g_variant_new_string (step->id));
  g_variant_builder_add (&dict, "{sv}", "type", g_variant_new_string (flow_step_get_kind_name (step)));
  g_variant_builder_add (&dict, "{sv}", "parent",
                         g_variant_new_string (parent != NULL ? parent->full_id : ""));
  g_variant_builder_add (&dict, "{sv}", "core", g_variant_new_boolean (TRUE));
  g_variant_builder_add (&dict, "{sv}", "inputs", g_variant_builder_end (&inputs));
  g_variant_builder_add (&dict, "{sv}", "outputs", g_variant_builder_end (&outputs));
  g_variant_builder_add (steps, "@a{sv}", g_variant_builder_end (&dict));
}

static void
describe_nested (GVariantBuilder *steps,
                 FlowNested      *nested)
{
  GVariantBuilder dict, inputs, outputs;

  g_variant_builder_init (&inputs, G_VARIANT_TYPE ("a(ssas)"));
  add_nested_ports (&inputs, nested, nested->inputs);
  g_variant_builder_init (&outputs, G_VARIANT_TYPE ("a(ssas)"));
  add_nested_ports (&outputs, nested, nested->outputs);

  g_variant_builder_init (&dict, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&dict, "{sv}", "id", g_variant_new_string (nested->full_id));
  g_variant_builder_add (&dict, "{sv}", "name", g_variant_new_string (nested->name));
  g_variant_builder_add (&dict, "{sv}", "type", g_variant_new_string (nested->op_type));
  g_variant_builder_add (&dict, "{sv}", "parent",
                         g_variant_new_string (nested->parent != NULL ? nested->parent->full_id : ""));
  g_variant_builder_add (&dict, "{sv}", "core", g_variant_new_boolean (FALSE));
  g_variant_builder_add (&dict, "{sv}", "inputs", g_variant_builder_end (&inputs));
  g_variant_builder_add (&dict, "{sv}", "outputs", g_variant_builder_end (&outputs));
  g_variant_builder_add (steps, "@a{sv}", g_variant_builder_end (&dict));
}

/* Calls @func on every step and nested operator in the order they were
 * added (a nested operator before its substeps). */
typedef void (*FlowGraphVisit) (FlowDataflow *self,
                                FlowStep     *step,      /* or NULL */
                                FlowNested   *nested,    /* or NULL */
                                FlowNested   *parent,
                                gpointer      data);

static void
flow_dataflow_visit (FlowDataflow   *self,
                     FlowGraphVisit  func,
                     gpointer        data)
{
  guint next = 0;

  for (guint i = 0; i <= self->steps->len; i++)
    {
      while (next < self->nested->len &&
             ((FlowNested *) g_ptr_array_index (self->nested, next))->first_step <= i)
        {
          FlowNested *nested = g_ptr_array_index (self->nested, next++);
          func (self, NULL, nested, nested->parent, data);
        }
      if (i < self->steps->len)
        func (self, g_ptr_array_index (self->steps, i), NULL,
              g_ptr_array_index (self->step_parent, i), data);
    }
}

static void
describe_visit (FlowDataflow *self,
                FlowStep     *step,
                FlowNested   *nested,
                FlowNested   *parent,
                gpointer      data)
{
  if (step != NULL)
    describe_step (data, step, parent);
  else
    describe_nested (data, nested);
}

/**
 * flow_dataflow_describe:
 * @self: a dataflow
 *
 * Describes the graph of @self: its steps with their kinds, ports and the
 * streams that connect them, nested operators (see
 * [method@Flow.Dataflow.begin_operator]) included. This is what
 * [method@Flow.Dataflow.to_dot], [method@Flow.Dataflow.to_mermaid] and
 * Python's `flow.visualize` draw.
 *
 * The description is a vardict (`a{sv}`) with `id` (`s`, the dataflow id)
 * and `steps` (`aa{sv}`): every step and nested operator in the order they
 * were added, a nested operator before its substeps, each a vardict with
 *
 * - `id` (`s`): the full id (`flow_id.step_id`, or
 *   `flow_id.operator_id.step_id` in a nested operator);
 * - `name` (`s`): the step id as given;
 * - `type` (`s`): the operator kind (`input`, `map`, … `output`), or the
 *   type given to a nested operator;
 * - `parent` (`s`): the full id of the nested operator it is in, or `""`;
 * - `core` (`b`): %TRUE for a step that runs, %FALSE for a nested operator;
 * - `inputs` and `outputs` (`a(ssas)`): its ports, each a port name (`up`,
 *   `ups` for merge, `down`, `trues` and `falses` for branch, or the names
 *   declared for a nested operator), the port id (`step_id.port_name`) and
 *   the ids of the streams through it.
 *
 * A stream's id is the full id of the step that produces it and the name of
 * that step's output port (`flow_id.inp.down`). An input port lists the
 * streams it consumes; a step's output port lists its own stream; a nested
 * operator's output port lists the streams it passes out.
 *
 * Returns: (transfer full): the description, a vardict
 */
GVariant *
flow_dataflow_describe (FlowDataflow *self)
{
  GVariantBuilder steps, dict;

  g_return_val_if_fail (FLOW_IS_DATAFLOW (self), NULL);

  g_variant_builder_init (&steps, G_VARIANT_TYPE ("aa{sv}"));
  flow_dataflow_visit (self, describe_visit, &steps);

  g_variant_builder_init (&dict, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&dict, "{sv}", "id", g_variant_new_string (self->id));
  g_variant_builder_add (&dict, "{sv}", "steps", g_variant_builder_end (&steps));
  return g_variant_ref_sink (g_variant_builder_end (&dict));
}

/* ---- diagrams ---------------------------------------------------------- */

static void
append_dot_string (GString    *out,
                   const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (out, '\\');
      if (*p == '\n')
        g_string_append (out, "\\n");
      else
        g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

typedef struct
{
  GString   *out;
  GPtrArray *open;         /* FlowNested*: the clusters open in out */
} DotWriter;

static void
dot_indent (DotWriter *w)
{
  g_string_append_len (w->out, "                                ",
                       MIN (2 * (w->open->len + 1), 32));
}

static void
dot_close_until (DotWriter  *w,
                 FlowNested *parent)
{
  while (w->open->len > 0 &&
         g_ptr_array_index (w->open, w->open->len - 1) != parent)
    {
      g_ptr_array_remove_index (w->open, w->open->len - 1);
      dot_indent (w);
      g_string_append (w->out, "}\n");
    }
}

static void
dot_visit (FlowDataflow *self,
           FlowStep     *step,
           FlowNested   *nested,
           FlowNested   *parent,
           gpointer      data)
{
  DotWriter *w = data;
  g_autofree char *label = NULL;

  dot_close_until (w, parent);
  dot_indent (w);
  if (step != NULL)
    {
      label = g_strdup_printf ("%s (%s)", step->id, flow_step_get_kind_name (step));
      append_dot_string (w->out, step->full_id);
      g_string_append (w->out, " [label=");
      append_dot_string (w->out, label);
      g_string_append (w->out, "];\n");
    }
  else
    {
      g_autofree char *cluster = g_strconcat ("cluster_", nested->full_id, NULL);

      label = g_strdup_printf ("%s (%s)", nested->name, nested->op_type);
      g_string_append (w->out, "subgraph ");
      append_dot_string (w->out, cluster);
      g_string_append (w->out, " {\n");
      g_ptr_array_add (w->open, nested);
      dot_indent (w);
      g_string_append (w->out, "label=");
      append_dot_string (w->out, label);
      g_string_append (w->out, ";\n");
    }
}

/**
 * flow_dataflow_to_dot:
 * @self: a dataflow
 *
 * Draws the graph of @self in Graphviz's DOT language: a node per step
 * (labelled `step_id (kind)`), a cluster per nested operator holding its
 * substeps, and an edge per stream from the step that produces it to each
 * step that consumes it, labelled `output port → input port`. Render it
 * with `dot -Tsvg`. Setting `FLOW_DEBUG_DUMP_DOT_DIR` makes every run
 * write this into that directory, as GStreamer's `GST_DEBUG_DUMP_DOT_DIR`.
 *
 * Returns: (transfer full): the DOT text
 */
char *
flow_dataflow_to_dot (FlowDataflow *self)
{
  g_autoptr(GPtrArray) open = g_ptr_array_new ();
  g_autofree char *title = NULL;
  DotWriter w = { NULL, open };

  g_return_val_if_fail (FLOW_IS_DATAFLOW (self), NULL);

  w.out = g_string_new ("digraph ");
  append_dot_string (w.out, self->id);
  g_string_append (w.out, " {\n  label=");
  title = g_strdup_printf ("%s (Dataflow)", self->id);
  append_dot_string (w.out, title);
  g_string_append (w.out, ";\n  node [shape=box];\n");

  flow_dataflow_visit (self, dot_visit, &w);
  dot_close_until (&w, NULL);

  for (guint i = 0; i < self->steps->len; i++)
    {
      FlowStep *step = g_ptr_array_index (self->steps, i);

      for (guint j = 0; j < step->inputs->len; j++)
        {
          FlowStream *stream = g_ptr_array_index (step->inputs, j);
          FlowStep *from = flow_stream_get_step (stream);
          g_autofree char *label = g_strdup_printf ("%s → %s",
                                                    core_out_port_name (from, flow_stream_get_port (stream)),
                                                    core_in_port_name (step));

          g_string_append (w.out, "  ");
          append_dot_string (w.out, from->full_id);
          g_string_append (w.out, " -> ");
          append_dot_string (w.out, step->full_id);
          g_string_append (w.out, " [label=");
          append_dot_string (w.out, label);
          g_string_append (w.out, "];\n");
        }
    }
  g_string_append (w.out, "}\n");
  return g_string_free (w.out, FALSE);
}

static void
append_mermaid_label (GString    *out,
                      const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append (out, "#quot;");
      else
        g_string_append_c (out, *p);
    }
}

/* The top-level nested operator that holds @step, or NULL when @step is at
 * top level. */
static FlowNested *
top_level_nested (FlowDataflow *self,
                  FlowStep     *step)
{
  FlowNested *n = g_ptr_array_index (self->step_parent, step->index);

  while (n != NULL && n->parent != NULL)
    n = n->parent;
  return n;
}

static void
mermaid_edges (FlowDataflow *self,
               GString      *out,
               const char   *to_id,
               const char   *in_port,
               FlowStream   *stream)
{
  FlowStep *from = flow_stream_get_step (stream);
  FlowNested *top = top_level_nested (self, from);
  const char *port = core_out_port_name (from, flow_stream_get_port (stream));
  const char *from_id;

  from_id = from->full_id;
  if (top != NULL)
    {
      from_id = top->full_id;
      for (guint i = 0; i < top->outputs->len; i++)
        {
          FlowNestedPort *p = &g_array_index (top->outputs, FlowNestedPort, i);
          if (p->stream == stream)
            {
              port = p->name;
              break;
            }
        }
    }
  if (g_str_equal (from_id, to_id))
    return;
  g_string_append_printf (out, "%s -- \"", from_id);
  append_mermaid_label (out, port);
  g_string_append (out, " → ");
  append_mermaid_label (out, in_port);
  g_string_append_printf (out, "\" --> %s\n", to_id);
}

static void
mermaid_visit (FlowDataflow *self,
               FlowStep     *step,
               FlowNested   *nested,
               FlowNested   *parent,
               gpointer      data)
{
  GString *out = data;
  const char *id, *name, *type;

  if (parent != NULL)
    return;   /* only the top level, as Bytewax's */

  id = step != NULL ? step->full_id : nested->full_id;
  name = step != NULL ? step->id : nested->name;
  type = step != NULL ? flow_step_get_kind_name (step) : nested->op_type;
  g_string_append_printf (out, "%s[\"", id);
  append_mermaid_label (out, name);
  g_string_append (out, " (");
  append_mermaid_label (out, type);
  g_string_append (out, ")\"]\n");

  if (step != NULL)
    {
      for (guint i = 0; i < step->inputs->len; i++)
        mermaid_edges (self, out, id, core_in_port_name (step),
                       g_ptr_array_index (step->inputs, i));
    }
  else
    {
      for (guint i = 0; i < nested->inputs->len; i++)
        {
          FlowNestedPort *p = &g_array_index (nested->inputs, FlowNestedPort, i);
          mermaid_edges (self, out, id, p->name, p->stream);
        }
    }
}

/**
 * flow_dataflow_to_mermaid:
 * @self: a dataflow
 *
 * Draws the top level of the graph of @self as a Mermaid flowchart, the
 * same text as Bytewax's `bytewax.visualize.to_mermaid`: a node per
 * top-level step or nested operator (labelled `step_id (kind)`) and an edge
 * per stream between them, labelled `output port → input port`. Nested
 * operators are drawn as one node; [method@Flow.Dataflow.to_dot] shows
 * their substeps.
 *
 * Returns: (transfer full): the Mermaid text, without a final newline
 */
char *
flow_dataflow_to_mermaid (FlowDataflow *self)
{
  GString *out;

  g_return_val_if_fail (FLOW_IS_DATAFLOW (self), NULL);

  out = g_string_new ("flowchart TD\nsubgraph \"");
  append_mermaid_label (out, self->id);
  g_string_append (out, " (Dataflow)\"\n");
  flow_dataflow_visit (self, mermaid_visit, out);
  g_string_append (out, "end");
  return g_string_free (out, FALSE);
}

/* Writes the DOT graph of @self into $FLOW_DEBUG_DUMP_DOT_DIR, when set,
 * as `<real time in µs>-<n>-<dataflow id>.dot`. Called when a run starts. */
void
flow_dataflow_debug_dump (FlowDataflow *self)
{
  static gint counter;
  const char *dir = g_getenv ("FLOW_DEBUG_DUMP_DOT_DIR");
  g_autoptr(GError) error = NULL;
  g_autofree char *dot = NULL;
  g_autofree char *safe_id = NULL;
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;

  g_return_if_fail (FLOW_IS_DATAFLOW (self));

  if (dir == NULL || *dir == '\0')
    return;

  dot = flow_dataflow_to_dot (self);
  safe_id = g_strdelimit (g_strdup (self->id), "/\\", '_');
  name = g_strdup_printf ("%" G_GINT64_FORMAT "-%d-%s.dot", g_get_real_time (),
                          g_atomic_int_add (&counter, 1), safe_id);
  path = g_build_filename (dir, name, NULL);
  if (!g_file_set_contents (path, dot, -1, &error))
    g_warning ("FLOW_DEBUG_DUMP_DOT_DIR: cannot write the graph of dataflow '%s': %s",
               self->id, error->message);
  else
    g_debug ("dataflow '%s': graph written to %s", self->id, path);
}
