/* flow-operator-table.c: the operators, one entry each
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * This is the one list of operators in libflow (the shape of GLib's
 * GVariantTypeInfo or SQLite's virtual-table modules): a step points to its
 * entry, and the nodes call the entry's functions. To add an operator, add
 * its entry here, its process function to the file of its family, and its
 * flow_stream_* wrapper to flow-stream.c (which adds the step by the
 * entry's name); the bindings find it in the typelib.
 */

#include "config.h"

#include <string.h>

#include "flow-operator-private.h"

#define KEYED    FLOW_OPERATOR_KEYED
#define ON_VALUE (FLOW_OPERATOR_KEYED | FLOW_OPERATOR_ON_VALUE)
#define STATEFUL FLOW_OPERATOR_STATEFUL

static const FlowOperator operators[] = {
  /* Edges of the dataflow (flow-op-io.c) */
  { .name = "input", .n_outputs = 1, .flags = FLOW_OPERATOR_INPUT,
    .process = flow_op_forward },
  { .name = "output", .n_outputs = 0, .flags = FLOW_OPERATOR_OUTPUT,
    .process = flow_op_output_process },

  /* One item (or batch) at a time (flow-op-stateless.c) */
  { .name = "map", .n_outputs = 1, .func_name = "mapper", .func_shape = FLOW_BINDING_SHAPE_ITEM_TO_VARIANT,
    .process = flow_op_map_process },
  { .name = "filter", .n_outputs = 1, .func_name = "predicate", .func_shape = FLOW_BINDING_SHAPE_ITEM_TO_BOOLEAN,
    .process = flow_op_filter_process },
  { .name = "filter_map", .n_outputs = 1, .func_name = "mapper", .func_shape = FLOW_BINDING_SHAPE_ITEM_TO_VARIANT,
    .process = flow_op_filter_map_process },
  { .name = "flat_map", .n_outputs = 1, .func_name = "mapper", .func_shape = FLOW_BINDING_SHAPE_ITEM_TO_VARIANT,
    .process = flow_op_flat_map_process },
  { .name = "flat_map_batch", .n_outputs = 1, .func_name = "mapper", .func_shape = FLOW_BINDING_SHAPE_ITEM_TO_VARIANT,
    .process = flow_op_flat_map_batch_process },
  { .name = "flatten", .n_outputs = 1,
    .process = flow_op_flatten_process },
  { .name = "inspect", .n_outputs = 1, .func_name = "inspector", .func_shape = FLOW_BINDING_SHAPE_INSPECT,
    .process = flow_op_inspect_process },
  { .name = "inspect_debug", .n_outputs = 1, .func_name = "inspector", .func_shape = FLOW_BINDING_SHAPE_INSPECT_DEBUG,
    .process = flow_op_inspect_debug_process },
  { .name = "merge", .n_outputs = 1,
    .process = flow_op_forward },
  { .name = "branch", .n_outputs = 2, .func_name = "predicate", .func_shape = FLOW_BINDING_SHAPE_ITEM_TO_BOOLEAN,
    .process = flow_op_branch_process },
  { .name = "redistribute", .n_outputs = 1,
    .process = flow_op_forward },

  /* Keys (flow-op-keyed.c), and the value twins of map, filter, flat_map */
  { .name = "key_on", .n_outputs = 1, .func_name = "key_func", .func_shape = FLOW_BINDING_SHAPE_ITEM_TO_STRING,
    .process = flow_op_key_on_process },
  { .name = "key_rm", .n_outputs = 1, .flags = KEYED,
    .process = flow_op_key_rm_process },
  { .name = "map_value", .n_outputs = 1, .flags = ON_VALUE, .func_name = "mapper", .func_shape = FLOW_BINDING_SHAPE_ITEM_TO_VARIANT,
    .process = flow_op_map_process },
  { .name = "filter_value", .n_outputs = 1, .flags = ON_VALUE, .func_name = "predicate", .func_shape = FLOW_BINDING_SHAPE_ITEM_TO_BOOLEAN,
    .process = flow_op_filter_process },
  { .name = "flat_map_value", .n_outputs = 1, .flags = ON_VALUE, .func_name = "mapper", .func_shape = FLOW_BINDING_SHAPE_ITEM_TO_VARIANT,
    .process = flow_op_flat_map_process },
  { .name = "filter_map_value", .n_outputs = 1, .flags = ON_VALUE, .func_name = "mapper", .func_shape = FLOW_BINDING_SHAPE_ITEM_TO_VARIANT,
    .process = flow_op_filter_map_process },
  /* Fails the run at its first item (flow-op-logic.c) */
  { .name = "raises", .n_outputs = 0,
    .process = flow_op_raises_process },
  /* A logic object per key (flow-op-logic.c) */
  { .name = "stateful", .n_outputs = 1, .flags = KEYED | STATEFUL,
    .func_name = "builder", .func_shape = FLOW_BINDING_SHAPE_LOGIC_BUILDER,
    .process = flow_op_stateful_process, .eof = flow_op_stateful_eof,
    .wake = flow_op_stateful_wake, .snapshot = flow_op_stateful_snapshot,
    .restore = flow_op_stateful_restore },
  { .name = "stateful_batch", .n_outputs = 1, .flags = KEYED | STATEFUL,
    .func_name = "builder", .func_shape = FLOW_BINDING_SHAPE_LOGIC_BUILDER,
    .process = flow_op_stateful_batch_process, .eof = flow_op_stateful_eof,
    .wake = flow_op_stateful_wake, .snapshot = flow_op_stateful_snapshot,
    .restore = flow_op_stateful_restore },

  /* A state per key (flow-op-stateful.c) */
  { .name = "stateful_map", .n_outputs = 1, .flags = KEYED | STATEFUL,
    .func_name = "mapper", .func_shape = FLOW_BINDING_SHAPE_STATEFUL, .builder = TRUE,
    .process = flow_op_stateful_map_process },
  { .name = "stateful_flat_map", .n_outputs = 1, .flags = KEYED | STATEFUL,
    .func_name = "mapper", .func_shape = FLOW_BINDING_SHAPE_STATEFUL, .builder = TRUE,
    .process = flow_op_stateful_flat_map_process },
  { .name = "fold_final", .n_outputs = 1, .flags = KEYED | STATEFUL,
    .func_name = "folder", .func_shape = FLOW_BINDING_SHAPE_FOLD, .builder = TRUE,
    .process = flow_op_fold_process, .eof = flow_op_final_eof },
  { .name = "reduce_final", .n_outputs = 1, .flags = KEYED | STATEFUL, .func_name = "reducer", .func_shape = FLOW_BINDING_SHAPE_FOLD,
    .process = flow_op_fold_process, .eof = flow_op_final_eof },
  { .name = "count_final", .n_outputs = 1, .flags = STATEFUL, .func_name = "key_func", .func_shape = FLOW_BINDING_SHAPE_ITEM_TO_STRING,
    .process = flow_op_count_process, .eof = flow_op_final_eof,
    .restore = flow_op_count_restore },
  { .name = "max_final", .n_outputs = 1, .flags = KEYED | STATEFUL, .func_name = "by", .func_shape = FLOW_BINDING_SHAPE_ITEM_TO_VARIANT,
    .process = flow_op_max_process, .eof = flow_op_final_eof },
  { .name = "min_final", .n_outputs = 1, .flags = KEYED | STATEFUL, .func_name = "by", .func_shape = FLOW_BINDING_SHAPE_ITEM_TO_VARIANT,
    .process = flow_op_min_process, .eof = flow_op_final_eof },
  { .name = "collect", .n_outputs = 1, .flags = KEYED | STATEFUL,
    .process = flow_op_collect_process, .eof = flow_op_collect_eof,
    .wake = flow_op_collect_wake, .snapshot = flow_op_collect_snapshot,
    .restore = flow_op_collect_restore },

  /* Windows of time, per key (flow-op-window.c); their functions are in
   * the step's FlowWindowSpec, but count_window's key function */
#define WINDOW_OP(op_name, op_flags, fname, fshape)                              \
  { .name = op_name, .n_outputs = 3, .flags = (op_flags) | STATEFUL,              \
    .func_name = fname, .func_shape = fshape,                                    \
    .process = flow_op_window_process, .eof = flow_op_window_eof,                \
    .wake = flow_op_window_wake, .snapshot = flow_op_window_snapshot,            \
    .restore = flow_op_window_restore }
  WINDOW_OP ("collect_window", KEYED, NULL, FLOW_BINDING_SHAPE_NONE),
  WINDOW_OP ("count_window", 0, "key_func", FLOW_BINDING_SHAPE_ITEM_TO_STRING),
  WINDOW_OP ("fold_window", KEYED, NULL, FLOW_BINDING_SHAPE_NONE),
  WINDOW_OP ("reduce_window", KEYED, NULL, FLOW_BINDING_SHAPE_NONE),
  WINDOW_OP ("max_window", KEYED, NULL, FLOW_BINDING_SHAPE_NONE),
  WINDOW_OP ("min_window", KEYED, NULL, FLOW_BINDING_SHAPE_NONE),
  WINDOW_OP ("window", KEYED, NULL, FLOW_BINDING_SHAPE_NONE),
  WINDOW_OP ("join_window", KEYED, NULL, FLOW_BINDING_SHAPE_NONE),
#undef WINDOW_OP
  /* Several inputs, and lookups (flow-op-join.c). A join's inputs are its
   * sides, in order; enrich_cached keeps its getter as the builder. */
  { .name = "join", .n_outputs = 1, .flags = KEYED | STATEFUL,
    .process = flow_op_join_process, .eof = flow_op_join_eof,
    .snapshot = flow_op_join_snapshot, .restore = flow_op_join_restore },
  { .name = "enrich_cached", .n_outputs = 1, .func_name = "mapper", .func_shape = FLOW_BINDING_SHAPE_ENRICH,
    .process = flow_op_enrich_cached_process },
};

/* Returns the entry named @name, or NULL. */
const FlowOperator *
flow_operator_find (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (operators); i++)
    if (strcmp (operators[i].name, name) == 0)
      return &operators[i];
  return NULL;
}

gboolean
flow_step_is_input (const FlowStep *step)
{
  return (step->op->flags & FLOW_OPERATOR_INPUT) != 0;
}

gboolean
flow_step_is_output (const FlowStep *step)
{
  return (step->op->flags & FLOW_OPERATOR_OUTPUT) != 0;
}

gboolean
flow_step_is_stateful (const FlowStep *step)
{
  return (step->op->flags & FLOW_OPERATOR_STATEFUL) != 0;
}

const char *
flow_step_get_kind_name (const FlowStep *step)
{
  return step->op->name;
}
