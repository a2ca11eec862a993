/* flow-operator-private.h: the operator table and what its entries share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every kind of step is one FlowOperator, an entry of the table in
 * flow-operator-table.c: its name, its flags and its functions. The nodes
 * (flow-operator-node.c) dispatch through the entry; nothing else in libflow
 * knows which operators exist. An operator is its entry, its process
 * function (in the file of its family: flow-op-stateless.c, flow-op-keyed.c,
 * flow-op-stateful.c, flow-op-io.c), its public flow_stream_* wrapper, and
 * its tests. The bindings find the operators in the typelib.
 */

#pragma once

#include "flow-exec-private.h"

G_BEGIN_DECLS

typedef enum
{
  /* Items must be keyed `(sv)`: the dispatcher splits every item of a
   * batch before `process` sees it, or fails with FLOW_ERROR_NOT_KEYED
   * naming the step and the item. */
  FLOW_OPERATOR_KEYED    = 1 << 0,
  /* The function applies to the value of a keyed item (KEYED too), and
   * what it returns keeps the item's key: map_value and its kind. */
  FLOW_OPERATOR_ON_VALUE = 1 << 1,
  /* Keeps a state per key, snapshotted and restored. */
  FLOW_OPERATOR_STATEFUL = 1 << 2,
  /* Reads from a source / writes to a sink (the execution builds their
   * partitions). */
  FLOW_OPERATOR_INPUT    = 1 << 3,
  FLOW_OPERATOR_OUTPUT   = 1 << 4,
} FlowOperatorFlags;

struct _FlowOperator
{
  const char        *name;       /* as in errors and Bytewax: "map_value" */
  FlowOperatorFlags  flags;
  guint              n_outputs;  /* its streams: 1, 2 (branch), 0 (output) */
  const char        *func_name;  /* what its function is called (docs,
                                  * errors), or NULL if it has none */
  FlowBindingShape   func_shape; /* its C signature (flow-binding-private.h) */
  gboolean           builder;    /* it takes a builder of new keys' state */

  /* Processes a batch (not empty; split if KEYED); emits on the node. */
  gboolean  (*process)   (FlowNode   *node,
                          FlowBatch  *batch,
                          GError    **error);
  /* At the end of input (NULL: nothing to do). */
  gboolean  (*eof)       (FlowNode   *node,
                          GError    **error);
  /* At a wake-up the node asked for (flow_exec_schedule_wake()). */
  gboolean  (*wake)      (FlowNode   *node,
                          gint64      now,
                          GError    **error);
  /* The snapshot of one key's state (NULL: the state itself). */
  GVariant *(*snapshot)  (FlowNode   *node,
                          FlowState  *st);
  /* Sets one key's state from a snapshot (NULL: takes it as it is). */
  gboolean  (*restore)   (FlowNode   *node,
                          FlowState  *st,
                          const char *key,
                          GVariant   *state,
                          GError    **error);
};

/* flow-operator-node.c: what the families share */
#define FLOW_REPR_MAX 120

char     *flow_op_short_repr  (const FlowItem *item);
gboolean  flow_op_fail_user   (FlowNode        *node,
                               const FlowItem  *item,
                               const char      *key,
                               GError         **error,
                               GError          *cause);
gboolean  flow_op_push_array  (FlowNode        *node,
                               const FlowItem  *item,
                               const char      *key,
                               GVariant        *array,
                               GError         **error);
gboolean  flow_op_forward     (FlowNode        *node,
                               FlowBatch       *batch,
                               GError         **error);

/* The argument a function gets for @item: its value if the operator is
 * ON_VALUE (the item is split then); otherwise the whole item, packed into
 * *@packed (a new reference the caller drops) if it is split. */
static inline GVariant *
flow_op_arg (FlowNode  *node,
             FlowItem  *item,
             GVariant **packed)
{
  *packed = NULL;
  if (node->step->op->flags & FLOW_OPERATOR_ON_VALUE)
    return item->value;
  if (item->key == NULL)
    return item->value;
  return *packed = flow_item_pack (item);
}

/* The key a result of @item's function keeps: the item's (a new
 * reference) if the operator is ON_VALUE, NULL otherwise. */
static inline char *
flow_op_result_key (FlowNode *node,
                    FlowItem *item)
{
  if (node->step->op->flags & FLOW_OPERATOR_ON_VALUE)
    return g_ref_string_acquire (item->key);
  return NULL;
}

/* The key to name in an error about @item. */
static inline const char *
flow_op_error_key (FlowNode *node,
                   FlowItem *item)
{
  return (node->step->op->flags & FLOW_OPERATOR_ON_VALUE) ? item->key : NULL;
}

/* State tables of stateful operators */
FlowState *flow_state_lookup  (FlowNode   *node,
                               const char *key);
FlowState *flow_state_ensure  (FlowNode   *node,
                               char       *key);
void       flow_state_touch   (FlowNode   *node,
                               char       *key,
                               FlowState  *st);
void       flow_state_clear   (FlowState  *st);
void       flow_state_set     (FlowNode   *node,
                               char       *key,
                               FlowState  *st,
                               GVariant   *state);
gboolean   flow_state_is_live (FlowState  *st);
GPtrArray *flow_state_sorted_live_keys (FlowNode *node);

/* The process functions of the operators, by family. */

/* flow-op-stateless.c */
gboolean flow_op_map_process            (FlowNode *node, FlowBatch *batch, GError **error);
gboolean flow_op_filter_process         (FlowNode *node, FlowBatch *batch, GError **error);
gboolean flow_op_filter_map_process     (FlowNode *node, FlowBatch *batch, GError **error);
gboolean flow_op_flat_map_process       (FlowNode *node, FlowBatch *batch, GError **error);
gboolean flow_op_flat_map_batch_process (FlowNode *node, FlowBatch *batch, GError **error);
gboolean flow_op_flatten_process        (FlowNode *node, FlowBatch *batch, GError **error);
gboolean flow_op_inspect_process        (FlowNode *node, FlowBatch *batch, GError **error);
gboolean flow_op_inspect_debug_process  (FlowNode *node, FlowBatch *batch, GError **error);
gboolean flow_op_branch_process         (FlowNode *node, FlowBatch *batch, GError **error);

/* flow-op-keyed.c */
gboolean flow_op_key_on_process         (FlowNode *node, FlowBatch *batch, GError **error);
gboolean flow_op_key_rm_process         (FlowNode *node, FlowBatch *batch, GError **error);
char    *flow_op_key_intern             (FlowNode *node, const FlowItem *item, char *key,
                                         GError **error);

/* flow-op-fused.c: a step with a binding's object functions (and the
 * steps after it it runs fused with) */
gboolean flow_op_fused_process          (FlowNode *node, FlowBatch *batch, GError **error);

/* flow-op-logic.c: stateful, stateful_batch */
gboolean  flow_op_stateful_process       (FlowNode *node, FlowBatch *batch, GError **error);
gboolean  flow_op_stateful_batch_process (FlowNode *node, FlowBatch *batch, GError **error);
gboolean  flow_op_stateful_eof           (FlowNode *node, GError **error);
gboolean  flow_op_stateful_wake          (FlowNode *node, gint64 now, GError **error);
GVariant *flow_op_stateful_snapshot      (FlowNode *node, FlowState *st);
gboolean  flow_op_raises_process         (FlowNode *node, FlowBatch *batch, GError **error);
gboolean  flow_op_stateful_restore       (FlowNode *node, FlowState *st, const char *key,
                                          GVariant *state, GError **error);

/* flow-op-stateful.c */
gboolean  flow_op_stateful_map_process  (FlowNode *node, FlowBatch *batch, GError **error);
gboolean  flow_op_stateful_flat_map_process (FlowNode *node, FlowBatch *batch, GError **error);
gboolean  flow_op_fold_process          (FlowNode *node, FlowBatch *batch, GError **error);
gboolean  flow_op_count_process         (FlowNode *node, FlowBatch *batch, GError **error);
gboolean  flow_op_max_process           (FlowNode *node, FlowBatch *batch, GError **error);
gboolean  flow_op_min_process           (FlowNode *node, FlowBatch *batch, GError **error);
gboolean  flow_op_final_eof             (FlowNode *node, GError **error);
gboolean  flow_op_count_restore         (FlowNode *node, FlowState *st, const char *key,
                                         GVariant *state, GError **error);
gboolean  flow_op_collect_process       (FlowNode *node, FlowBatch *batch, GError **error);
gboolean  flow_op_collect_eof           (FlowNode *node, GError **error);
gboolean  flow_op_collect_wake          (FlowNode *node, gint64 now, GError **error);
GVariant *flow_op_collect_snapshot      (FlowNode *node, FlowState *st);
gboolean  flow_op_collect_restore       (FlowNode *node, FlowState *st, const char *key,
                                         GVariant *state, GError **error);

/* flow-op-window.c: the window operators. Their settings are the step's
 * op_data, a FlowWindowSpec (made by flow-window-operators.c); a key's
 * windows are its FlowState's `window`. */
typedef enum
{
  FLOW_WINDOW_LOGIC_COLLECT,
  FLOW_WINDOW_LOGIC_COUNT,
  FLOW_WINDOW_LOGIC_FOLD,
  FLOW_WINDOW_LOGIC_REDUCE,
  FLOW_WINDOW_LOGIC_MAX,
  FLOW_WINDOW_LOGIC_MIN,
  FLOW_WINDOW_LOGIC_CUSTOM,   /* window: a FlowWindowLogic subclass */
  FLOW_WINDOW_LOGIC_JOIN,     /* join_window */
} FlowWindowLogicKind;

typedef struct
{
  FlowWindowLogicKind  kind;
  gboolean             ordered;   /* apply values in timestamp order */
  FlowWindowClock     *clock;
  FlowWindower        *windower;
  FlowClosure          builder;   /* fold: FlowBuilderFunc */
  FlowClosure          folder;    /* fold, reduce: FlowFoldFunc; max, min: by (FlowMapFunc) */
  FlowClosure          merger;    /* fold: FlowFoldFunc */
  GType                logic_type;   /* window */
  guint                n_sides;      /* join_window: its inputs */
  FlowJoinInsertMode   insert_mode;  /* join_window */
} FlowWindowSpec;

void      flow_window_spec_free         (gpointer data);
void      flow_op_window_key_free       (gpointer data);
gboolean  flow_op_window_process        (FlowNode *node, FlowBatch *batch, GError **error);
gboolean  flow_op_window_eof            (FlowNode *node, GError **error);
gboolean  flow_op_window_wake           (FlowNode *node, gint64 now, GError **error);
GVariant *flow_op_window_snapshot       (FlowNode *node, FlowState *st);
gboolean  flow_op_window_restore        (FlowNode *node, FlowState *st, const char *key,
                                         GVariant *state, GError **error);

/* flow-op-join.c */
gboolean  flow_op_join_process          (FlowNode *node, FlowBatch *batch, GError **error);
gboolean  flow_op_join_eof              (FlowNode *node, GError **error);
GVariant *flow_op_join_snapshot         (FlowNode *node, FlowState *st);
gboolean  flow_op_join_restore          (FlowNode *node, FlowState *st, const char *key,
                                         GVariant *state, GError **error);
gboolean  flow_op_enrich_cached_process (FlowNode *node, FlowBatch *batch, GError **error);
/* What join_window may share: the rows of a key's sides, and inserting a
 * value into a side. */
GPtrArray *flow_op_join_rows            (GPtrArray *sides);
void       flow_op_join_insert          (GPtrArray *side, GVariant *value,
                                         FlowJoinInsertMode mode);

/* flow-op-io.c */
gboolean flow_op_output_process         (FlowNode *node, FlowBatch *batch, GError **error);

G_END_DECLS
