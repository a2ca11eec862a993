/* flow-graph-private.h: steps and the dataflow graph
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "flow.h"

G_BEGIN_DECLS

/* -------------------------------------------------------------------------
 * The dataflow graph (the definition; immutable once run).
 *
 * A step is an instance of an operator (an entry of the operator table,
 * libflow/operators/flow-operator-table.c) with its closures and settings.
 * ------------------------------------------------------------------------- */

typedef struct _FlowOperator FlowOperator;

typedef struct
{
  gpointer       func;
  gpointer       data;
  GDestroyNotify destroy;
} FlowClosure;

typedef struct _FlowStep FlowStep;

struct _FlowStep
{
  const FlowOperator *op;
  guint        index;        /* position in the dataflow: a topological order */
  char        *id;           /* as given */
  char        *full_id;      /* "flow_id.step_id" */
  GPtrArray   *inputs;       /* FlowStream* (owned by the dataflow) */
  FlowStream  *outputs[3];   /* owned by the dataflow */
  guint        n_outputs;
  FlowClosure  func;         /* the operator's function (its table entry
                              * names it: mapper, predicate, key_func, ...) */
  FlowClosure  builder;      /* stateful operators: the state of a new key */
  double       timeout;      /* collect */
  guint        max_size;     /* collect */
  /* join (flow-join.c) */
  FlowJoinInsertMode join_insert;
  FlowJoinEmitMode   join_emit;
  /* enrich_cached (flow-join.c): the cache's time to live */
  GTimeSpan    ttl;
  FlowSource  *source;       /* input */
  FlowSink    *sink;         /* output */
  /* window operators: their settings (flow-op-window.c) */
  gpointer       op_data;
  GDestroyNotify op_data_destroy;
  /* a binding's functions on its objects: the step may run fused with
   * its neighbours (flow-op-fused.c) */
  const FlowBindingObjectFuncs *obj_funcs;
};

/* flow-operator-table.c: the entry of the operator named @name, or NULL;
 * and what the execution asks of a step. */
const FlowOperator *flow_operator_find (const char *name);

gboolean    flow_step_is_input         (const FlowStep *step);
gboolean    flow_step_is_output        (const FlowStep *step);
gboolean    flow_step_is_stateful      (const FlowStep *step);
const char *flow_step_get_kind_name    (const FlowStep *step);

/* flow-dataflow.c */
FlowStep   *flow_dataflow_add_step      (FlowDataflow       *self,
                                         const FlowOperator *op,
                                         const char         *step_id,
                                         FlowStream        **inputs,
                                         guint               n_inputs,
                                         guint               n_outputs);
GPtrArray  *flow_dataflow_get_steps     (FlowDataflow *self);
void        flow_dataflow_set_error     (FlowDataflow *self,
                                         GError       *error);
gboolean    flow_dataflow_has_error     (FlowDataflow *self);
/* Writes the DOT graph into $FLOW_DEBUG_DUMP_DOT_DIR when it is set (as
 * GStreamer's GST_DEBUG_DUMP_DOT_DIR); called when a run starts. */
void        flow_dataflow_debug_dump    (FlowDataflow *self);

/* flow-stream.c */
FlowStream *flow_stream_new             (FlowDataflow *flow,
                                         FlowStep     *step,
                                         guint         port);
FlowStep   *flow_stream_get_step        (FlowStream   *self);
guint       flow_stream_get_port        (FlowStream   *self);
void        flow_stream_orphan          (FlowStream   *self);

/* Adds a step of the operator named @op_name (an entry of the operator
 * table) below @self, with the operator's function and, for the stateful
 * ones, its builder. The public flow_stream_* wrappers call it; language
 * bindings may too (flow_stream_add_op() in flow-binding-private.h). */
FlowStep   *flow_stream_add_step        (FlowStream   *self,
                                         const char   *op_name,
                                         const char   *step_id,
                                         FlowClosure  *func,
                                         FlowClosure  *builder);

G_END_DECLS
