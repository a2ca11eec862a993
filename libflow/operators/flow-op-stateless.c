/* flow-op-stateless.c: operators that look at one item (or batch) at a time
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * map, filter, filter_map, flat_map, flat_map_batch, flatten, inspect,
 * inspect_debug and branch; map_value, filter_value and flat_map_value
 * are map, filter and flat_map with the FLOW_OPERATOR_ON_VALUE flag (see
 * flow_op_arg() and its kin).
 */

#include "config.h"

#include "flow-operator-private.h"

/* Passes @item on to @out: moved if the batch is the node's to empty
 * (FlowNode.batch_owned), otherwise with new references. */
static inline void
pass_item (FlowBatch *out,
           FlowItem  *item,
           gboolean   owned)
{
  if (owned)
    {
      flow_batch_push_take (out, item->key, item->value);
      item->key = NULL;
      item->value = NULL;
    }
  else
    flow_batch_push_copy (out, item);
}

/* The key a result of @item keeps (see flow_op_result_key()), moved out
 * of @item if the batch is the node's to empty. */
static inline char *
take_result_key (FlowNode *node,
                 FlowItem *item,
                 gboolean  owned)
{
  char *key;

  if (!owned || !(node->step->op->flags & FLOW_OPERATOR_ON_VALUE))
    return flow_op_result_key (node, item);
  key = item->key;
  item->key = NULL;
  return key;
}

gboolean
flow_op_map_process (FlowNode   *node,
                     FlowBatch  *batch,
                     GError    **error)
{
  FlowMapFunc fn = node->step->func.func;
  gpointer data = node->step->func.data;
  FlowBatch *out = &node->out[0];
  gboolean owned = node->batch_owned;

  flow_batch_reserve (out, batch->len);
  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      g_autoptr(GVariant) packed = NULL;
      GVariant *arg = flow_op_arg (node, item, &packed);
      GError *local = NULL;
      GVariant *result;

      result = fn (arg, data, &local);
      if (result == NULL || local != NULL)
        {
          g_clear_pointer (&result, g_variant_unref);
          return flow_op_fail_user (node, item, flow_op_error_key (node, item), error, local);
        }
      flow_batch_push_take (out, take_result_key (node, item, owned), g_variant_take_ref (result));
    }
  return flow_node_emit (node, 0, error);
}

gboolean
flow_op_filter_process (FlowNode   *node,
                        FlowBatch  *batch,
                        GError    **error)
{
  FlowPredicateFunc fn = node->step->func.func;
  gpointer data = node->step->func.data;
  gboolean owned = node->batch_owned;

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      g_autoptr(GVariant) packed = NULL;
      GVariant *arg = flow_op_arg (node, item, &packed);
      GError *local = NULL;
      gboolean keep;

      keep = fn (arg, data, &local);
      if (local != NULL)
        return flow_op_fail_user (node, item, flow_op_error_key (node, item), error, local);
      if (keep)
        pass_item (&node->out[0], item, owned);
    }
  return flow_node_emit (node, 0, error);
}

gboolean
flow_op_filter_map_process (FlowNode   *node,
                            FlowBatch  *batch,
                            GError    **error)
{
  FlowFilterMapFunc fn = node->step->func.func;
  gpointer data = node->step->func.data;
  gboolean owned = node->batch_owned;

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      g_autoptr(GVariant) packed = NULL;
      GVariant *arg = flow_op_arg (node, item, &packed);
      GError *local = NULL;
      GVariant *result;

      result = fn (arg, data, &local);
      if (local != NULL)
        {
          g_clear_pointer (&result, g_variant_unref);
          return flow_op_fail_user (node, item, flow_op_error_key (node, item), error, local);
        }
      if (result != NULL)
        flow_batch_push_take (&node->out[0], take_result_key (node, item, owned),
                              g_variant_take_ref (result));
    }
  return flow_node_emit (node, 0, error);
}

gboolean
flow_op_flat_map_process (FlowNode   *node,
                          FlowBatch  *batch,
                          GError    **error)
{
  FlowFlatMapFunc fn = node->step->func.func;
  gpointer data = node->step->func.data;
  gboolean on_value = (node->step->op->flags & FLOW_OPERATOR_ON_VALUE) != 0;

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      g_autoptr(GVariant) packed = NULL;
      GVariant *arg = flow_op_arg (node, item, &packed);
      GError *local = NULL;
      g_autoptr(GVariant) result = NULL;

      result = fn (arg, data, &local);
      if (local != NULL)
        return flow_op_fail_user (node, item, flow_op_error_key (node, item), error, local);
      if (result != NULL)
        {
          g_variant_take_ref (result);
          if (!flow_op_push_array (node, on_value ? NULL : item,
                                   on_value ? item->key : NULL, result, error))
            return FALSE;
        }
    }
  return flow_node_emit (node, 0, error);
}

/* flat_map_batch: the function gets the whole batch as one `av` array and
 * returns an array of items. */
gboolean
flow_op_flat_map_batch_process (FlowNode   *node,
                                FlowBatch  *batch,
                                GError    **error)
{
  FlowFlatMapFunc fn = node->step->func.func;
  gpointer data = node->step->func.data;
  GVariant **boxed = g_new (GVariant *, batch->len);
  g_autoptr(GVariant) items = NULL;
  g_autoptr(GVariant) result = NULL;
  GError *local = NULL;

  for (guint i = 0; i < batch->len; i++)
    {
      g_autoptr(GVariant) packed = flow_item_pack (&batch->items[i]);
      boxed[i] = g_variant_new_variant (packed);
    }
  items = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_VARIANT, boxed, batch->len));
  g_free (boxed);

  result = fn (items, data, &local);
  if (local != NULL)
    {
      g_prefix_error (&local, "on a batch of %u items: ", batch->len);
      return flow_op_fail_user (node, NULL, NULL, error, local);
    }
  if (result != NULL)
    {
      g_variant_take_ref (result);
      if (!flow_op_push_array (node, NULL, NULL, result, error))
        return FALSE;
    }
  return flow_node_emit (node, 0, error);
}

gboolean
flow_op_flatten_process (FlowNode   *node,
                         FlowBatch  *batch,
                         GError    **error)
{
  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      g_autoptr(GVariant) packed = NULL;
      GVariant *value = flow_op_arg (node, item, &packed);

      if (!flow_op_push_array (node, item, NULL, value, error))
        return FALSE;
    }
  return flow_node_emit (node, 0, error);
}

gboolean
flow_op_inspect_process (FlowNode   *node,
                         FlowBatch  *batch,
                         GError    **error)
{
  FlowInspectFunc fn = node->step->func.func;
  gpointer data = node->step->func.data;

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      g_autoptr(GVariant) packed = NULL;
      GVariant *value = flow_op_arg (node, item, &packed);
      GError *local = NULL;

      fn (node->step->full_id, value, data, &local);
      if (local != NULL)
        return flow_op_fail_user (node, item, NULL, error, local);
    }
  return flow_op_forward (node, batch, error);
}

/* inspect_debug: the inspector also gets the epoch and the worker's index
 * (0: one worker; see docs/workers.md). */
gboolean
flow_op_inspect_debug_process (FlowNode   *node,
                               FlowBatch  *batch,
                               GError    **error)
{
  FlowInspectDebugFunc fn = node->step->func.func;
  gpointer data = node->step->func.data;
  guint64 epoch = node->exec->epoch;

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      g_autoptr(GVariant) packed = NULL;
      GVariant *value = flow_op_arg (node, item, &packed);
      GError *local = NULL;

      fn (node->step->full_id, value, epoch, node->exec->worker_index, data, &local);
      if (local != NULL)
        return flow_op_fail_user (node, item, NULL, error, local);
    }
  return flow_op_forward (node, batch, error);
}

gboolean
flow_op_branch_process (FlowNode   *node,
                        FlowBatch  *batch,
                        GError    **error)
{
  FlowPredicateFunc fn = node->step->func.func;
  gpointer data = node->step->func.data;
  gboolean owned = node->batch_owned;

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      g_autoptr(GVariant) packed = NULL;
      GVariant *value = flow_op_arg (node, item, &packed);
      GError *local = NULL;
      gboolean which;

      which = fn (value, data, &local);
      if (local != NULL)
        return flow_op_fail_user (node, item, NULL, error, local);
      pass_item (&node->out[which ? 0 : 1], item, owned);
    }
  return flow_node_emit (node, 0, error) && flow_node_emit (node, 1, error);
}
