/* flow-operator-node.c: a step in an execution, dispatching to its operator
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A node is one step of a dataflow in one execution. It does nothing by
 * itself: every call goes to the step's entry of the operator table
 * (flow-operator-table.c). What all operators share lives here: splitting
 * keyed items (the one place FLOW_ERROR_NOT_KEYED is raised), errors of
 * user functions, emitting downstream, and the per-key state tables of the
 * stateful operators with their snapshots.
 */

#include "config.h"

#include <string.h>

#include "flow-operator-private.h"


char *
flow_op_short_repr (const FlowItem *item)
{
  char *repr = flow_item_repr_split (item);

  if (strlen (repr) > FLOW_REPR_MAX)
    {
      char *cut = g_utf8_find_prev_char (repr, repr + FLOW_REPR_MAX - 3);
      if (cut != NULL)
        strcpy (cut, "...");
    }
  return repr;
}

/* Turns the failure of a user function into the error of the run: the
 * step's kind and full id, the key when there is one, and the item. */
gboolean
flow_op_fail_user (FlowNode        *node,
                   const FlowItem  *item,
                   const char      *key,
                   GError         **error,
                   GError          *cause)
{
  FlowStep *step = node->step;
  g_autofree char *repr = item ? flow_op_short_repr (item) : NULL;
  g_autofree char *where = NULL;

  if (key != NULL)
    where = g_strdup_printf (" for key '%s'", key);
  else if (repr != NULL)
    where = g_strdup_printf (" on item %s", repr);
  else
    where = g_strdup ("");

  if (cause == NULL)
    cause = g_error_new (FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                         "the function returned no value");
  g_prefix_error (&cause, "%s step '%s' failed%s: ",
                  step->op->name, step->full_id, where);
  g_propagate_error (error, cause);
  return FALSE;
}

static gboolean
fail_not_keyed (FlowNode        *node,
                const FlowItem  *item,
                GError         **error)
{
  g_autofree char *repr = flow_op_short_repr (item);

  g_set_error (error, FLOW_ERROR, FLOW_ERROR_NOT_KEYED,
               "%s step '%s' needs keyed items: (key, value) tuples of type (sv) "
               "(use key_on first), but got %s of type %s",
               node->step->op->name, node->step->full_id,
               repr, g_variant_get_type_string (item->value));
  return FALSE;
}

/* Appends the elements of @array (what a flat_map function returned for
 * @item, or for the value of the item keyed @key) to the node's output. */
gboolean
flow_op_push_array (FlowNode        *node,
                    const FlowItem  *item,
                    const char      *key,
                    GVariant        *array,
                    GError         **error)
{
  if (!g_variant_is_of_type (array, G_VARIANT_TYPE_ARRAY))
    {
      g_autofree char *repr = item ? flow_op_short_repr (item) : NULL;
      g_autofree char *where = key ? g_strdup_printf (" for key '%s'", key)
                                   : repr ? g_strdup_printf (" on item %s", repr)
                                          : g_strdup ("");

      g_set_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
                   "%s step '%s' failed%s: expected an array of items, got a %s",
                   node->step->op->name, node->step->full_id,
                   where, g_variant_get_type_string (array));
      return FALSE;
    }
  flow_batch_push_array (&node->out[0], key, array);
  return TRUE;
}

/* ------------------------------------------------------------------------
 * Nodes
 * ------------------------------------------------------------------------ */

static void
flow_state_free (gpointer data)
{
  FlowState *st = data;

  g_clear_object (&st->logic);
  g_clear_pointer (&st->state, g_variant_unref);
  g_clear_pointer (&st->by, g_variant_unref);
  g_clear_pointer (&st->values, g_ptr_array_unref);
  g_clear_pointer (&st->window, flow_op_window_key_free);
  g_free (st);
}

FlowNode *
flow_node_new (FlowExec *exec,
               FlowStep *step)
{
  FlowNode *node = g_new0 (FlowNode, 1);

  node->exec = exec;
  node->step = step;
  for (guint i = 0; i < G_N_ELEMENTS (node->edges); i++)
    {
      node->edges[i] = g_array_new (FALSE, FALSE, sizeof (FlowEdge));
      flow_batch_init (&node->out[i]);
    }

  if (step->op->flags & FLOW_OPERATOR_STATEFUL)
    {
      node->states = g_hash_table_new_full (g_str_hash, g_str_equal,
                                            (GDestroyNotify) g_ref_string_release,
                                            flow_state_free);
      node->dirty = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ref_string_release);
      node->next_deadline = G_MAXINT64;
    }

  /* Operators that make keys share one GRefString per key. */
  if (step->op->process == flow_op_key_on_process)
    node->key_cache = g_hash_table_new_full (g_str_hash, g_str_equal,
                                             (GDestroyNotify) g_ref_string_release, NULL);

  node->resume = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) g_variant_unref);
  return node;
}

void
flow_node_free (FlowNode *node)
{
  for (guint i = 0; i < G_N_ELEMENTS (node->edges); i++)
    {
      g_array_unref (node->edges[i]);
      flow_batch_destroy (&node->out[i]);
    }
  if (node->timer != NULL)
    {
      g_source_destroy (node->timer);
      g_source_unref (node->timer);
    }
  g_clear_pointer (&node->schedule, g_tree_unref);
  g_clear_pointer (&node->key_cache, g_hash_table_unref);
  g_clear_pointer (&node->states, g_hash_table_unref);
  if (node->op_data_free != NULL)
    g_clear_pointer (&node->op_data, node->op_data_free);
  g_clear_pointer (&node->dirty, g_ptr_array_unref);
  g_clear_pointer (&node->inputs, g_ptr_array_unref);
  g_clear_pointer (&node->outputs, g_ptr_array_unref);
  g_clear_pointer (&node->output_slots, g_ptr_array_unref);
  g_clear_pointer (&node->resume, g_hash_table_unref);
  g_free (node);
}

gboolean
flow_node_emit (FlowNode  *node,
                guint      port,
                GError   **error)
{
  FlowBatch *out = &node->out[port];
  GArray *edges = node->edges[port];
  guint len = out->len;
  gboolean ok = TRUE;

  if (len == 0)
    return TRUE;

  for (guint i = 0; ok && i < edges->len; i++)
    {
      FlowEdge *edge = &g_array_index (edges, FlowEdge, i);
      /* The last (usually only) edge may take the items: the batch is
       * only cleared after it. */
      if (i + 1 == edges->len)
        ok = flow_node_push_take (edge->node, edge->port, out, error);
      else
        ok = flow_node_push (edge->node, edge->port, out, error);
      node->child_us += edge->node->last_us;
    }
  node->items_out += len;
  flow_batch_clear (out);
  return ok;
}

/* Passes @batch on unchanged (input, merge, redistribute, inspect). */
gboolean
flow_op_forward (FlowNode   *node,
                 FlowBatch  *batch,
                 GError    **error)
{
  GArray *edges = node->edges[0];

  for (guint i = 0; i < edges->len; i++)
    {
      FlowEdge *edge = &g_array_index (edges, FlowEdge, i);
      /* The last edge may take items this node may take; not through an
       * exchange, which would shorten a batch that is only a view. */
      gboolean take = i + 1 == edges->len && node->batch_owned && edge->node->exchange == NULL;
      gboolean ok = take ? flow_node_push_take (edge->node, edge->port, batch, error)
                         : flow_node_push (edge->node, edge->port, batch, error);

      node->child_us += edge->node->last_us;
      if (!ok)
        return FALSE;
    }
  node->items_out += batch->len;
  return TRUE;
}

/* The dispatcher: keyed operators get split items, or the run fails here
 * naming the step and the first item that is not keyed.
 *
 * It also counts the step's metrics, per batch: the items in, the batches,
 * and the time in the step's own processing. The time of the steps
 * downstream (pushed to from flow_node_emit() or flow_op_forward() while
 * this one processes) is subtracted: each push leaves its whole duration
 * in `last_us`, which the emitting node adds to its `child_us`. A dataflow
 * is acyclic, so a node is never pushed to while it processes. Items out
 * are counted where they leave (flow_node_emit(), flow_op_forward()). */
gboolean
flow_node_push (FlowNode   *node,
                guint       port,
                FlowBatch  *batch,
                GError    **error)
{
  /* Several workers: the items go to the worker that owns them first. */
  node->batch_owned = FALSE;
  if (G_UNLIKELY (node->exchange != NULL) && batch->len > 0)
    return flow_exchange_route (node, port, batch, FALSE, error);
  return flow_node_push_here (node, port, batch, error);
}

gboolean
flow_node_push_take (FlowNode   *node,
                     guint       port,
                     FlowBatch  *batch,
                     GError    **error)
{
  gboolean ok;

  /* The node may move the items out (as the exchange does with @take):
   * no reference taken and dropped per item (issue 12). */
  node->batch_owned = TRUE;
  if (G_UNLIKELY (node->exchange != NULL) && batch->len > 0)
    ok = flow_exchange_route (node, port, batch, TRUE, error);
  else
    ok = flow_node_push_here (node, port, batch, error);
  node->batch_owned = FALSE;
  return ok;
}

gboolean
flow_node_push_here (FlowNode   *node,
                     guint       port,
                     FlowBatch  *batch,
                     GError    **error)
{
  const FlowOperator *op = node->step->op;
  gint64 start, spent;
  gboolean ok;

  node->last_us = 0;
  if (batch->len == 0)
    return TRUE;

  start = g_get_monotonic_time ();
  node->items_in += batch->len;
  node->batches++;
  node->child_us = 0;

  if (op->flags & FLOW_OPERATOR_KEYED)
    for (guint i = 0; i < batch->len; i++)
      if (!flow_item_split (&batch->items[i]))
        return fail_not_keyed (node, &batch->items[i], error);

  node->in_port = port;
  /* a binding's steps may run fused (flow-op-fused.c) */
  if (G_UNLIKELY (node->step->obj_funcs != NULL))
    ok = flow_op_fused_process (node, batch, error);
  else
    ok = op->process (node, batch, error);

  spent = g_get_monotonic_time () - start;
  node->last_us = spent;
  node->time_us += MAX (spent - node->child_us, 0);
  return ok;
}

/* The node's counters (`a{st}`, floating), as in flow_runner_get_metrics(). */
GVariant *
flow_node_dup_counters (FlowNode *node)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{st}"));
  g_variant_builder_add (&builder, "{st}", "items_in", node->items_in);
  g_variant_builder_add (&builder, "{st}", "items_out", node->items_out);
  g_variant_builder_add (&builder, "{st}", "batches", node->batches);
  g_variant_builder_add (&builder, "{st}", "time_us", (guint64) node->time_us);
  /* The size of the table, not flow_node_n_keys(), which walks it: a
   * progress report must not cost in proportion to the state. With change
   * tracking, keys discarded in the open epoch count until its snapshot. */
  if (node->step->op->flags & FLOW_OPERATOR_STATEFUL)
    g_variant_builder_add (&builder, "{st}", "keys",
                           (guint64) (node->states ? g_hash_table_size (node->states) : 0));
  return g_variant_builder_end (&builder);
}

gboolean
flow_node_wake (FlowNode  *node,
                gint64     now,
                GError   **error)
{
  if (node->step->op->wake == NULL)
    return TRUE;
  return node->step->op->wake (node, now, error);
}

gboolean
flow_node_eof (FlowNode  *node,
               GError   **error)
{
  if (node->step->op->eof == NULL)
    return TRUE;
  return node->step->op->eof (node, error);
}

/* ------------------------------------------------------------------------
 * State tables
 * ------------------------------------------------------------------------ */

FlowState *
flow_state_lookup (FlowNode   *node,
                   const char *key)
{
  return g_hash_table_lookup (node->states, key);
}

FlowState *
flow_state_ensure (FlowNode *node,
                   char     *key)
{
  FlowState *st = g_hash_table_lookup (node->states, key);

  if (st == NULL)
    {
      st = g_new0 (FlowState, 1);
      g_hash_table_insert (node->states, g_ref_string_acquire (key), st);
    }
  return st;
}

/* Records that the state of @key changed in the open epoch. */
void
flow_state_touch (FlowNode  *node,
                  char      *key,
                  FlowState *st)
{
  FlowExec *exec = node->exec;

  if (exec->track_changes && st->dirty_epoch != exec->epoch)
    {
      st->dirty_epoch = exec->epoch;
      g_ptr_array_add (node->dirty, g_ref_string_acquire (key));
    }
}

/* A key is live while it has a state (or, for collect, values; for
 * stateful, a logic). */
gboolean
flow_state_is_live (FlowState *st)
{
  return st->state != NULL || (st->values != NULL && st->values->len > 0) ||
         st->logic != NULL || st->window != NULL;
}

void
flow_state_clear (FlowState *st)
{
  g_clear_object (&st->logic);
  st->scheduled = FALSE;
  g_clear_pointer (&st->state, g_variant_unref);
  g_clear_pointer (&st->by, g_variant_unref);
  if (st->values != NULL)
    g_ptr_array_set_size (st->values, 0);
  st->deadline = 0;
  g_clear_pointer (&st->window, flow_op_window_key_free);
}

/* Sets the state of @key; NULL discards it. Without change tracking a
 * discarded key is forgotten at once; with it, it stays as a pending
 * tombstone until the epoch's snapshot. */
void
flow_state_set (FlowNode  *node,
                char      *key,
                FlowState *st,
                GVariant  *state)
{
  if (state == NULL)
    flow_state_clear (st);
  else
    {
      if (st->state != NULL)
        g_variant_unref (st->state);
      st->state = state;
      g_clear_pointer (&st->by, g_variant_unref);
    }

  flow_state_touch (node, key, st);
  if (state == NULL && !node->exec->track_changes)
    g_hash_table_remove (node->states, key);
}

static int
compare_keys (gconstpointer a,
              gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* The live keys of @node, in key order (borrowed GRefStrings). */
GPtrArray *
flow_state_sorted_live_keys (FlowNode *node)
{
  GPtrArray *keys = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, node->states);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (flow_state_is_live (value))
      g_ptr_array_add (keys, key);
  g_ptr_array_sort (keys, compare_keys);
  return keys;
}

GVariant *
flow_node_dup_state (FlowNode  *node,
                     FlowState *st)
{
  if (!flow_state_is_live (st))
    return NULL;
  if (node->step->op->snapshot != NULL)
    return node->step->op->snapshot (node, st);
  return g_variant_ref (st->state);
}

guint
flow_node_n_keys (FlowNode *node)
{
  GHashTableIter iter;
  gpointer value;
  guint n = 0;

  if (node->states == NULL)
    return 0;
  g_hash_table_iter_init (&iter, node->states);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    n += flow_state_is_live (value);
  return n;
}

gboolean
flow_node_restore (FlowNode    *node,
                   const char  *key,
                   GVariant    *state,
                   GError     **error)
{
  char *ref_key;
  FlowState *st;

  if (node->states == NULL)
    return TRUE;

  ref_key = g_ref_string_new (key);
  st = flow_state_ensure (node, ref_key);
  g_ref_string_release (ref_key);
  flow_state_clear (st);

  if (node->step->op->restore != NULL)
    return node->step->op->restore (node, st, key, state, error);

  st->state = g_variant_ref (state);
  return TRUE;
}

void
flow_snap_row_clear (FlowSnapRow *row)
{
  g_clear_pointer (&row->key, g_ref_string_release);
  g_clear_pointer (&row->state, g_variant_unref);
}

/* Appends a row for every key changed in the open epoch (a tombstone for a
 * discarded key), and forgets discarded keys. */
void
flow_node_snapshot (FlowNode *node,
                    GArray   *rows)
{
  if (node->dirty == NULL)
    return;

  for (guint i = 0; i < node->dirty->len; i++)
    {
      char *key = g_ptr_array_index (node->dirty, i);
      FlowState *st = g_hash_table_lookup (node->states, key);
      FlowSnapRow row = { node->step->full_id, g_ref_string_acquire (key), NULL };

      if (st != NULL)
        {
          row.state = flow_node_dup_state (node, st);
          if (row.state == NULL)
            g_hash_table_remove (node->states, key);
        }
      g_array_append_val (rows, row);
    }
  g_ptr_array_set_size (node->dirty, 0);
}
