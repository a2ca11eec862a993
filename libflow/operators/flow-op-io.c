/* flow-op-io.c: the operators at the edges of a dataflow
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * input passes on what its partitions read (the execution polls them);
 * output writes to its sink's partitions, routing keyed items by the hash
 * of their key.
 */

#include "config.h"

#include "flow-operator-private.h"

static gboolean
write_part (FlowNode        *node,
            FlowOutputPart  *out,
            FlowBatch       *batch,
            GError         **error)
{
  GError *local = NULL;
  gboolean ok;

  if (batch->len == 0)
    return TRUE;

  if (out->fast != NULL)
    ok = out->fast (out->part, batch, &local);
  else
    {
      g_autoptr(GPtrArray) items = g_ptr_array_new_full (batch->len, (GDestroyNotify) g_variant_unref);

      flow_batch_pack_into (batch, items);
      ok = flow_sink_partition_write_batch (out->part, items, &local);
    }

  if (!ok || local != NULL)
    {
      if (local == NULL)
        local = g_error_new (FLOW_ERROR, FLOW_ERROR_FAILED,
                             "write_batch() returned FALSE without an error");
      g_prefix_error (&local, "output step '%s' (partition '%s') failed to write: ",
                      node->step->full_id, out->key);
      g_propagate_error (error, local);
      return FALSE;
    }
  return TRUE;
}

gboolean
flow_op_output_process (FlowNode   *node,
                        FlowBatch  *batch,
                        GError    **error)
{
  /* With several workers: every partition, NULL for other workers' (the
   * exchange brought this worker only items of its own partitions). */
  GPtrArray *outputs = node->output_slots != NULL ? node->output_slots : node->outputs;

  if (outputs->len == 1)
    return write_part (node, g_ptr_array_index (outputs, 0), batch, error);

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      guint target = 0;

      if (flow_item_split (item))
        target = flow_workers_key_hash (item->key) % outputs->len;   /* docs/workers.md */
      flow_batch_push_copy (&((FlowOutputPart *) g_ptr_array_index (outputs, target))->pending, item);
    }

  for (guint i = 0; i < outputs->len; i++)
    {
      FlowOutputPart *out = g_ptr_array_index (outputs, i);
      gboolean ok;

      if (out == NULL)
        continue;
      ok = write_part (node, out, &out->pending, error);

      flow_batch_clear (&out->pending);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}
