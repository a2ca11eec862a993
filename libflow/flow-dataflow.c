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
  GHashTable *ids;      /* step id -> FlowStep* */
  GError     *error;    /* first building mistake */
};

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
  step->full_id = g_strdup_printf ("%s.%s", self->id, step->id);
  step->inputs = g_ptr_array_new ();
  step->n_outputs = n_outputs;

  if (!check_id ("step", step_id, &error))
    {
      g_autofree char *shown = g_utf8_make_valid (step->full_id, -1);

      g_prefix_error (&error, "%s '%s': ", flow_step_get_kind_name (step), shown);
      flow_dataflow_set_error (self, g_steal_pointer (&error));
    }
  else if (g_hash_table_contains (self->ids, step->id))
    flow_dataflow_set_error (self, g_error_new (FLOW_ERROR, FLOW_ERROR_DUPLICATE_STEP_ID,
                                                "step id '%s' is used twice in dataflow '%s' (by a %s and a %s step)",
                                                step->full_id, self->id,
                                                flow_step_get_kind_name (g_hash_table_lookup (self->ids, step->id)),
                                                flow_step_get_kind_name (step)));
  else
    g_hash_table_insert (self->ids, step->id, step);

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
 * least one input and at least one output (%FLOW_ERROR_INCOMPLETE_FLOW
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

  for (guint i = 0; i < self->steps->len; i++)
    {
      FlowStep *step = g_ptr_array_index (self->steps, i);
      has_input |= flow_step_is_input (step);
      has_output |= flow_step_is_output (step);
    }

  if (!has_input)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INCOMPLETE_FLOW,
                   "dataflow '%s' has no input step: it would read nothing",
                   self->id);
      return FALSE;
    }
  if (!has_output)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INCOMPLETE_FLOW,
                   "dataflow '%s' has no output step: its results would go nowhere",
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
