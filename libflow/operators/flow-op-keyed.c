/* flow-op-keyed.c: operators that make or drop keys
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "flow-operator-private.h"

#define KEY_CACHE_SIZE 65536

/* The GRefString of @key (taken) that a key_on node's items share, or
 * NULL with @error naming the step and @item if it is not UTF-8. Keys
 * repeat: items share one GRefString per key (and a key already seen was
 * already checked). The cache is bounded; when full it starts over. */
char *
flow_op_key_intern (FlowNode        *node,
                    const FlowItem  *item,
                    char            *key,
                    GError         **error)
{
  char *ref_key = g_hash_table_lookup (node->key_cache, key);

  if (ref_key != NULL)
    ref_key = g_ref_string_acquire (ref_key);
  else
    {
      if (!g_utf8_validate (key, -1, NULL))
        {
          g_free (key);
          flow_op_fail_user (node, item, NULL, error,
                             g_error_new (FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                                          "the key function returned a key that is not UTF-8"));
          return NULL;
        }
      ref_key = g_ref_string_new (key);
      if (g_hash_table_size (node->key_cache) >= KEY_CACHE_SIZE)
        g_hash_table_remove_all (node->key_cache);
      g_hash_table_add (node->key_cache, g_ref_string_acquire (ref_key));
    }
  g_free (key);
  return ref_key;
}

gboolean
flow_op_key_on_process (FlowNode   *node,
                        FlowBatch  *batch,
                        GError    **error)
{
  FlowKeyFunc fn = node->step->func.func;
  gpointer data = node->step->func.data;
  FlowBatch *out = &node->out[0];
  gboolean owned = node->batch_owned;

  flow_batch_reserve (out, batch->len);
  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      g_autoptr(GVariant) packed = NULL;
      GVariant *value = flow_op_arg (node, item, &packed);
      GError *local = NULL;
      char *key;
      char *ref_key;

      key = fn (value, data, &local);
      if (key == NULL || local != NULL)
        {
          g_free (key);
          if (local == NULL)
            local = g_error_new (FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                                 "the key function returned no key");
          return flow_op_fail_user (node, item, NULL, error, local);
        }
      ref_key = flow_op_key_intern (node, item, key, error);
      if (ref_key == NULL)
        return FALSE;
      if (owned && value == item->value)
        {
          /* moved: the batch's owner only clears it */
          flow_batch_push_take (out, ref_key, value);
          item->value = NULL;
        }
      else
        flow_batch_push_take (out, ref_key, g_variant_ref (value));
    }
  return flow_node_emit (node, 0, error);
}

/* key_rm is KEYED: its items come split. */
gboolean
flow_op_key_rm_process (FlowNode   *node,
                        FlowBatch  *batch,
                        GError    **error)
{
  FlowBatch *out = &node->out[0];
  gboolean owned = node->batch_owned;

  flow_batch_reserve (out, batch->len);
  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];

      if (owned)
        {
          flow_batch_push_take (out, NULL, item->value);
          item->value = NULL;
        }
      else
        flow_batch_push_take (out, NULL, g_variant_ref (item->value));
    }
  return flow_node_emit (node, 0, error);
}
