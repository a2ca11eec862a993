/* flow-op-join.c: operators over several inputs, and lookups
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * join: KEYED | STATEFUL over any number of inputs (its step's inputs, in
 * order, are the sides). A key's state is one list of values per side,
 * kept in the FlowState's `values` (a GPtrArray of per-side GPtrArrays of
 * GVariants); it is live while it has its sides. Its snapshot is `aav`,
 * the values of each side, which `flow-recovery show` prints as
 * `[[1], [], ['a', 'b']]`.
 *
 * What it emits are Bytewax's rows: for each key, the cartesian product of
 * the sides, a side without values standing as None, each row a tuple
 * `(v…)` of one value per side in the order of the inputs.
 *
 * enrich_cached: stateless; its node keeps a FlowTTLCache (flow-join.c)
 * for the run, whose time is the run's clock as of the batch.
 */

#include "config.h"

#include "flow-operator-private.h"

/* ------------------------------------------------------------------------
 * join
 * ------------------------------------------------------------------------ */

static GPtrArray *
join_new_side (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
}

/* The sides of @st, made empty if the key has none yet. */
static GPtrArray *
join_sides (FlowNode  *node,
            FlowState *st)
{
  guint n = node->step->inputs->len;

  if (st->values == NULL)
    st->values = g_ptr_array_new_full (n, (GDestroyNotify) g_ptr_array_unref);
  if (st->values->len == 0)
    for (guint i = 0; i < n; i++)
      g_ptr_array_add (st->values, join_new_side ());
  return st->values;
}

static gboolean
join_all_set (GPtrArray *sides)
{
  for (guint i = 0; i < sides->len; i++)
    if (((GPtrArray *) g_ptr_array_index (sides, i))->len == 0)
      return FALSE;
  return TRUE;
}

/* The rows of @sides (a GPtrArray per side of GVariant values): every
 * combination of one value per side, the last side varying fastest (as
 * itertools.product), a side without values standing as None; each row a
 * `(v…)` tuple. Returns a GPtrArray of full references. join_window can
 * use it too. */
GPtrArray *
flow_op_join_rows (GPtrArray *sides)
{
  guint n = sides->len;
  g_autofree guint *index = g_new0 (guint, n);
  g_autofree GVariant **row = g_new (GVariant *, n);
  g_autoptr(GVariant) none = NULL;
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);

  for (guint i = 0; i < n && none == NULL; i++)
    if (((GPtrArray *) g_ptr_array_index (sides, i))->len == 0)
      none = g_variant_ref_sink (flow_item_new_none ());

  for (;;)
    {
      guint i;

      for (i = 0; i < n; i++)
        {
          GPtrArray *side = g_ptr_array_index (sides, i);
          GVariant *value = side->len > 0 ? g_ptr_array_index (side, index[i]) : none;

          row[i] = g_variant_new_variant (value);
        }
      g_ptr_array_add (rows, g_variant_ref_sink (g_variant_new_tuple (row, n)));

      /* The next combination, or the end. */
      for (i = n; i > 0; i--)
        {
          GPtrArray *side = g_ptr_array_index (sides, i - 1);

          if (++index[i - 1] < MAX (side->len, 1))
            break;
          index[i - 1] = 0;
        }
      if (i == 0)
        return rows;
    }
}

/* Adds @value to @side as @mode says. */
void
flow_op_join_insert (GPtrArray          *side,
                     GVariant           *value,
                     FlowJoinInsertMode  mode)
{
  switch (mode)
    {
    case FLOW_JOIN_INSERT_MODE_FIRST:
      if (side->len == 0)
        g_ptr_array_add (side, g_variant_ref (value));
      break;
    case FLOW_JOIN_INSERT_MODE_LAST:
      g_ptr_array_set_size (side, 0);
      g_ptr_array_add (side, g_variant_ref (value));
      break;
    case FLOW_JOIN_INSERT_MODE_PRODUCT:
    default:
      g_ptr_array_add (side, g_variant_ref (value));
      break;
    }
}

/* Emits the rows of @key. */
static void
join_emit_rows (FlowNode  *node,
                char      *key,
                GPtrArray *sides)
{
  g_autoptr(GPtrArray) rows = flow_op_join_rows (sides);

  for (guint i = 0; i < rows->len; i++)
    flow_batch_push_take (&node->out[0], g_ref_string_acquire (key),
                          g_variant_ref (g_ptr_array_index (rows, i)));
}

/* Forgets the state of @key (a tombstone in the next snapshot). */
static void
join_discard (FlowNode  *node,
              char      *key,
              FlowState *st)
{
  char *ref_key = g_ref_string_acquire (key);

  flow_state_set (node, ref_key, st, NULL);
  g_ref_string_release (ref_key);
}

gboolean
flow_op_join_process (FlowNode   *node,
                      FlowBatch  *batch,
                      GError    **error)
{
  FlowStep *step = node->step;
  guint side_index = node->in_port;

  g_return_val_if_fail (side_index < step->inputs->len, FALSE);

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      FlowState *st = flow_state_ensure (node, item->key);
      GPtrArray *sides = join_sides (node, st);
      GPtrArray *side = g_ptr_array_index (sides, side_index);

      flow_op_join_insert (side, item->value, step->join_insert);
      flow_state_touch (node, item->key, st);

      switch (step->join_emit)
        {
        case FLOW_JOIN_EMIT_MODE_COMPLETE:
          if (join_all_set (sides))
            {
              join_emit_rows (node, item->key, sides);
              join_discard (node, item->key, st);
            }
          break;
        case FLOW_JOIN_EMIT_MODE_RUNNING:
          join_emit_rows (node, item->key, sides);
          break;
        case FLOW_JOIN_EMIT_MODE_FINAL:
        default:
          break;
        }
    }
  return flow_node_emit (node, 0, error);
}

/* At the end of input a final join emits every key's rows, in key order,
 * and forgets them; the other modes keep their state (Bytewax retains it:
 * a resumed run goes on from it). */
gboolean
flow_op_join_eof (FlowNode  *node,
                  GError   **error)
{
  g_autoptr(GPtrArray) keys = NULL;

  if (node->step->join_emit != FLOW_JOIN_EMIT_MODE_FINAL)
    return TRUE;

  keys = flow_state_sorted_live_keys (node);
  for (guint i = 0; i < keys->len; i++)
    {
      char *key = g_ref_string_acquire (g_ptr_array_index (keys, i));
      FlowState *st = g_hash_table_lookup (node->states, key);

      join_emit_rows (node, key, st->values);
      flow_state_set (node, key, st, NULL);
      g_ref_string_release (key);
    }
  return flow_node_emit (node, 0, error);
}

/* A key's snapshot: `aav`, the values of each side. */
GVariant *
flow_op_join_snapshot (FlowNode  *node,
                       FlowState *st)
{
  GPtrArray *sides = st->values;
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aav"));
  for (guint i = 0; i < sides->len; i++)
    {
      GPtrArray *side = g_ptr_array_index (sides, i);

      g_variant_builder_open (&builder, G_VARIANT_TYPE ("av"));
      for (guint j = 0; j < side->len; j++)
        g_variant_builder_add (&builder, "v", g_ptr_array_index (side, j));
      g_variant_builder_close (&builder);
    }
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

gboolean
flow_op_join_restore (FlowNode    *node,
                      FlowState   *st,
                      const char  *key,
                      GVariant    *state,
                      GError     **error)
{
  guint n = node->step->inputs->len;
  GPtrArray *sides;

  if (!g_variant_is_of_type (state, G_VARIANT_TYPE ("aav")))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                   "%s step '%s': the stored sides of key '%s' have type %s, not aav",
                   node->step->op->name, node->step->full_id, key,
                   g_variant_get_type_string (state));
      return FALSE;
    }
  if (g_variant_n_children (state) != n)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                   "%s step '%s': the stored state of key '%s' has %" G_GSIZE_FORMAT
                   " sides, but the step joins %u streams (was the dataflow changed?)",
                   node->step->op->name, node->step->full_id, key,
                   g_variant_n_children (state), n);
      return FALSE;
    }

  g_clear_pointer (&st->values, g_ptr_array_unref);
  sides = join_sides (node, st);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GVariant) values = g_variant_get_child_value (state, i);
      GPtrArray *side = g_ptr_array_index (sides, i);
      gsize m = g_variant_n_children (values);

      for (gsize j = 0; j < m; j++)
        g_ptr_array_add (side, flow_variant_unbox (g_variant_get_child_value (values, j)));
    }
  return TRUE;
}

/* ------------------------------------------------------------------------
 * enrich_cached
 * ------------------------------------------------------------------------ */

/* The step's `builder` closure is the getter; the node's cache lives as
 * long as the execution (Bytewax's cache is per worker, never
 * snapshotted). Every batch is looked up at one time: the run's clock as
 * the batch arrives, as Bytewax's batch_now_getter. */
gboolean
flow_op_enrich_cached_process (FlowNode   *node,
                               FlowBatch  *batch,
                               GError    **error)
{
  FlowStep *step = node->step;
  FlowEnrichFunc fn = step->func.func;
  gpointer data = step->func.data;
  FlowBatch *out = &node->out[0];
  FlowTTLCache *cache = node->op_data;

  if (cache == NULL)
    {
      cache = flow_ttl_cache_new (step->builder.func, step->builder.data, NULL, step->ttl);
      node->op_data = cache;
      node->op_data_free = g_object_unref;
    }
  flow_ttl_cache_set_time (cache, flow_exec_get_real_time (node->exec));

  flow_batch_reserve (out, batch->len);
  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      g_autoptr(GVariant) packed = NULL;
      GVariant *arg = flow_op_arg (node, item, &packed);
      GError *local = NULL;
      GVariant *result;

      result = fn (cache, arg, data, &local);
      if (result == NULL || local != NULL)
        {
          g_clear_pointer (&result, g_variant_unref);
          return flow_op_fail_user (node, item, NULL, error, local);
        }
      flow_batch_push_take (out, NULL, g_variant_take_ref (result));
    }
  return flow_node_emit (node, 0, error);
}
