/* flow-op-stateful.c: operators that keep a state per key
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * stateful_map, stateful_flat_map, fold_final, reduce_final, count_final,
 * max_final, min_final and collect. They are KEYED (but count_final, which
 * makes its own keys): their items come split. Their state tables, and the
 * snapshots of them, are in flow-operator-node.c.
 */

#include "config.h"

#include "flow-operator-private.h"

/* ------------------------------------------------------------------------
 * Stateful operators
 * ------------------------------------------------------------------------ */

/* Makes a returned reference full: g_variant_take_ref() is an atomic
 * operation even on a variant that is not floating (a state the function
 * returns again, or one it sank itself). */
static inline GVariant *
own_ref (GVariant *value)
{
  if (g_variant_is_floating (value))
    g_variant_take_ref (value);
  return value;
}

static gboolean
build_state (FlowNode   *node,
             FlowItem   *item,
             GVariant  **state,
             GError    **error)
{
  FlowBuilderFunc builder = node->step->builder.func;
  GError *local = NULL;

  *state = NULL;
  if (builder == NULL)
    return TRUE;

  *state = builder (node->step->builder.data, &local);
  if (*state == NULL || local != NULL)
    {
      g_clear_pointer (state, g_variant_unref);
      if (local == NULL)
        local = g_error_new (FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                             "the builder returned no initial state");
      g_prefix_error (&local, "builder: ");
      return flow_op_fail_user (node, item, item->key, error, local);
    }
  g_variant_take_ref (*state);
  return TRUE;
}

static gboolean
stateful_map (FlowNode   *node,
              FlowBatch  *batch,
              gboolean    flat,
              GError    **error)
{
  FlowStatefulMapFunc fn = node->step->func.func;
  gpointer data = node->step->func.data;
  FlowBatch *out = &node->out[0];
  gboolean owned = node->batch_owned;

  if (!flat)
    flow_batch_reserve (out, batch->len);

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      GError *local = NULL;
      GVariant *emit = NULL;
      GVariant *built = NULL;
      GVariant *new_state;
      FlowState *st;


      st = flow_state_lookup (node, item->key);
      if (st == NULL || st->state == NULL)
        {
          if (!build_state (node, item, &built, error))
            return FALSE;
        }

      new_state = fn (built ? built : (st ? st->state : NULL), item->value, &emit, data, &local);
      g_clear_pointer (&built, g_variant_unref);
      if (local != NULL)
        {
          g_clear_pointer (&new_state, g_variant_unref);
          g_clear_pointer (&emit, g_variant_unref);
          return flow_op_fail_user (node, item, item->key, error, local);
        }

      if (new_state != NULL)
        own_ref (new_state);
      if (st == NULL)
        {
          if (new_state == NULL && !node->exec->track_changes)
            goto emit;
          st = flow_state_ensure (node, item->key);
        }
      flow_state_set (node, item->key, st, new_state);

    emit:
      if (emit != NULL)
        {
          own_ref (emit);
          if (flat)
            {
              gboolean ok = flow_op_push_array (node, NULL, item->key, emit, error);
              g_variant_unref (emit);
              if (!ok)
                return FALSE;
            }
          else if (owned)
            {
              /* the key moves on with the result: the batch's owner
               * only clears it */
              flow_batch_push_take (out, item->key, emit);
              item->key = NULL;
            }
          else
            flow_batch_push_take (out, g_ref_string_acquire (item->key), emit);
        }
    }
  return flow_node_emit (node, 0, error);
}

/* fold_final, and reduce_final: a fold without a builder, whose first
 * value is the accumulator. */
gboolean
flow_op_fold_process (FlowNode   *node,
                      FlowBatch  *batch,
                      GError    **error)
{
  gboolean reduce = !node->step->op->builder;
  FlowFoldFunc fn = node->step->func.func;
  gpointer data = node->step->func.data;

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      GError *local = NULL;
      GVariant *acc = NULL;
      GVariant *result;
      FlowState *st;


      st = flow_state_lookup (node, item->key);
      if (st == NULL || st->state == NULL)
        {
          if (reduce)
            {
              st = flow_state_ensure (node, item->key);
              flow_state_set (node, item->key, st, g_variant_ref (item->value));
              continue;
            }
          if (!build_state (node, item, &acc, error))
            return FALSE;
        }
      else
        acc = g_variant_ref (st->state);

      result = fn (acc, item->value, data, &local);
      g_variant_unref (acc);
      if (result == NULL || local != NULL)
        {
          g_clear_pointer (&result, g_variant_unref);
          return flow_op_fail_user (node, item, item->key, error, local);
        }
      if (st == NULL)
        st = flow_state_ensure (node, item->key);
      flow_state_set (node, item->key, st, own_ref (result));
    }
  return TRUE;
}

gboolean
flow_op_count_process (FlowNode   *node,
               FlowBatch  *batch,
               GError    **error)
{
  FlowKeyFunc fn = node->step->func.func;
  gpointer data = node->step->func.data;

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      GError *local = NULL;
      g_autofree char *key = NULL;
      char *ref_key;
      FlowState *st;
      gint64 count = 0;
      g_autoptr(GVariant) packed = NULL;
      GVariant *value = flow_op_arg (node, item, &packed);

      key = fn (value, data, &local);
      if (key == NULL || local != NULL)
        {
          if (local == NULL)
            local = g_error_new (FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                                 "the key function returned no key");
          return flow_op_fail_user (node, item, NULL, error, local);
        }
      if (!g_utf8_validate (key, -1, NULL))
        return flow_op_fail_user (node, item, NULL, error,
                          g_error_new (FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                                       "the key function returned a key that is not UTF-8"));

      st = flow_state_lookup (node, key);
      if (st != NULL && st->state != NULL)
        count = g_variant_get_int64 (st->state);
      ref_key = g_ref_string_new (key);
      if (st == NULL)
        st = flow_state_ensure (node, ref_key);
      flow_state_set (node, ref_key, st, g_variant_ref_sink (g_variant_new_int64 (count + 1)));
      g_ref_string_release (ref_key);
    }
  return TRUE;
}

static gboolean
compare_key (FlowNode   *node,
             FlowItem   *item,
             GVariant   *value,
             GVariant  **by_value,
             GError    **error)
{
  FlowMapFunc by = node->step->func.func;
  GError *local = NULL;

  if (by == NULL)
    {
      *by_value = g_variant_ref (value);
      return TRUE;
    }
  *by_value = by (value, node->step->func.data, &local);
  if (*by_value == NULL || local != NULL)
    {
      g_clear_pointer (by_value, g_variant_unref);
      return flow_op_fail_user (node, item, item->key, error, local);
    }
  g_variant_take_ref (*by_value);
  return TRUE;
}

static gboolean
extremum (FlowNode   *node,
          FlowBatch  *batch,
          gboolean    want_max,
          GError    **error)
{

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      g_autoptr(GVariant) by_new = NULL;
      FlowState *st;
      int c;


      st = flow_state_lookup (node, item->key);
      if (st == NULL || st->state == NULL)
        {
          if (st == NULL)
            st = flow_state_ensure (node, item->key);
          flow_state_set (node, item->key, st, g_variant_ref (item->value));
          continue;
        }

      if (st->by == NULL && !compare_key (node, item, st->state, &st->by, error))
        return FALSE;
      if (!compare_key (node, item, item->value, &by_new, error))
        return FALSE;

      c = flow_item_compare (by_new, st->by);
      if (want_max ? c > 0 : c < 0)
        {
          flow_state_set (node, item->key, st, g_variant_ref (item->value));
          st->by = g_steal_pointer (&by_new);
        }
    }
  return TRUE;
}

static void
emit_collected (FlowNode  *node,
                char      *key,
                FlowState *st)
{
  GPtrArray *values = st->values;
  GVariant **boxed = g_new (GVariant *, values->len);
  GVariant *list;

  for (guint i = 0; i < values->len; i++)
    boxed[i] = g_variant_new_variant (g_ptr_array_index (values, i));
  list = g_variant_new_array (G_VARIANT_TYPE_VARIANT, boxed, values->len);
  g_free (boxed);
  flow_batch_push_take (&node->out[0], g_ref_string_acquire (key), g_variant_ref_sink (list));
  flow_state_set (node, key, st, NULL);
}

gboolean
flow_op_collect_process (FlowNode   *node,
                 FlowBatch  *batch,
                 GError    **error)
{
  FlowStep *step = node->step;
  gint64 now = flow_exec_get_real_time (node->exec);
  gboolean reschedule = FALSE;

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      FlowState *st;
      GPtrArray *values;


      st = flow_state_ensure (node, item->key);
      if (st->values == NULL)
        st->values = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
      values = st->values;
      if (values->len == 0)
        {
          st->deadline = now + (gint64) (step->timeout * G_USEC_PER_SEC);
          if (st->deadline < node->next_deadline)
            {
              node->next_deadline = st->deadline;
              reschedule = TRUE;
            }
        }
      g_ptr_array_add (values, g_variant_ref (item->value));
      flow_state_touch (node, item->key, st);

      if (step->max_size > 0 && values->len >= step->max_size)
        emit_collected (node, item->key, st);
    }

  if (reschedule)
    flow_exec_schedule_wake (node->exec, node);
  return flow_node_emit (node, 0, error);
}

gboolean
flow_op_stateful_map_process (FlowNode   *node,
                              FlowBatch  *batch,
                              GError    **error)
{
  return stateful_map (node, batch, FALSE, error);
}

gboolean
flow_op_stateful_flat_map_process (FlowNode   *node,
                                   FlowBatch  *batch,
                                   GError    **error)
{
  return stateful_map (node, batch, TRUE, error);
}

gboolean
flow_op_max_process (FlowNode   *node,
                     FlowBatch  *batch,
                     GError    **error)
{
  return extremum (node, batch, TRUE, error);
}

gboolean
flow_op_min_process (FlowNode   *node,
                     FlowBatch  *batch,
                     GError    **error)
{
  return extremum (node, batch, FALSE, error);
}

/* At the end of input the `*_final` steps emit every key's result, in key
 * order, and discard their state (stateful_map and stateful_flat_map keep
 * theirs: a resumed run continues from it). */
gboolean
flow_op_final_eof (FlowNode  *node,
                   GError   **error)
{
  g_autoptr(GPtrArray) keys = flow_state_sorted_live_keys (node);

  for (guint i = 0; i < keys->len; i++)
    {
      char *key = g_ref_string_acquire (g_ptr_array_index (keys, i));
      FlowState *st = g_hash_table_lookup (node->states, key);

      flow_batch_push_take (&node->out[0], g_ref_string_acquire (key), g_variant_ref (st->state));
      flow_state_set (node, key, st, NULL);
      g_ref_string_release (key);
    }
  return flow_node_emit (node, 0, error);
}

gboolean
flow_op_count_restore (FlowNode    *node,
                       FlowState   *st,
                       const char  *key,
                       GVariant    *state,
                       GError     **error)
{
  if (!g_variant_is_of_type (state, G_VARIANT_TYPE_INT64))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                   "%s step '%s': the stored count of key '%s' has type %s, not x",
                   node->step->op->name, node->step->full_id, key,
                   g_variant_get_type_string (state));
      return FALSE;
    }
  st->state = g_variant_ref (state);
  return TRUE;
}

/* Collect: emits the lists whose timeout passed. */
gboolean
flow_op_collect_wake (FlowNode  *node,
                      gint64     now,
                      GError   **error)
{
  g_autoptr(GPtrArray) keys = flow_state_sorted_live_keys (node);
  gint64 next = G_MAXINT64;

  for (guint i = 0; i < keys->len; i++)
    {
      char *key = g_ptr_array_index (keys, i);
      FlowState *st = g_hash_table_lookup (node->states, key);

      if (st->deadline <= now)
        emit_collected (node, key, st);
      else
        next = MIN (next, st->deadline);
    }
  node->next_deadline = next;
  return flow_node_emit (node, 0, error);
}

/* Collect: at the end of input, every pending list goes out. */
gboolean
flow_op_collect_eof (FlowNode  *node,
                     GError   **error)
{
  g_autoptr(GPtrArray) keys = flow_state_sorted_live_keys (node);

  for (guint i = 0; i < keys->len; i++)
    {
      char *key = g_ref_string_acquire (g_ptr_array_index (keys, i));
      FlowState *st = g_hash_table_lookup (node->states, key);

      emit_collected (node, key, st);
      g_ref_string_release (key);
    }
  node->next_deadline = G_MAXINT64;
  return flow_node_emit (node, 0, error);
}

/* Collect: a key's snapshot is `(xav)`, its deadline and its values. */
GVariant *
flow_op_collect_snapshot (FlowNode  *node,
                          FlowState *st)
{
  GPtrArray *values = st->values;
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("(xav)"));
  g_variant_builder_add (&builder, "x", st->deadline);
  g_variant_builder_open (&builder, G_VARIANT_TYPE ("av"));
  for (guint i = 0; i < values->len; i++)
    g_variant_builder_add (&builder, "v", g_ptr_array_index (values, i));
  g_variant_builder_close (&builder);
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

gboolean
flow_op_collect_restore (FlowNode    *node,
                         FlowState   *st,
                         const char  *key,
                         GVariant    *state,
                         GError     **error)
{
  g_autoptr(GVariant) values = NULL;
  GPtrArray *array;
  gsize n;

  if (!g_variant_is_of_type (state, G_VARIANT_TYPE ("(xav)")))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                   "%s step '%s': the stored state of key '%s' has type %s, not (xav)",
                   node->step->op->name, node->step->full_id, key,
                   g_variant_get_type_string (state));
      return FALSE;
    }
  g_variant_get (state, "(x@av)", &st->deadline, &values);
  n = g_variant_n_children (values);
  array = g_ptr_array_new_full (n, (GDestroyNotify) g_variant_unref);
  for (gsize i = 0; i < n; i++)
    g_ptr_array_add (array, flow_variant_unbox (g_variant_get_child_value (values, i)));
  g_clear_pointer (&st->values, g_ptr_array_unref);
  st->values = array;
  if (st->deadline < node->next_deadline)
    node->next_deadline = st->deadline;
  return TRUE;
}
