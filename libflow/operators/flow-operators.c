/* flow-operators.c: what each kind of step does with a batch of items
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "flow-exec-private.h"

#define REPR_MAX 120
#define KEY_CACHE_SIZE 65536

static char *
short_repr (const FlowItem *item)
{
  char *repr = flow_item_repr_split (item);

  if (strlen (repr) > REPR_MAX)
    {
      char *cut = g_utf8_find_prev_char (repr, repr + REPR_MAX - 3);
      if (cut != NULL)
        strcpy (cut, "...");
    }
  return repr;
}

/* Turns the failure of a user function into the error of the run: the
 * step's kind and full id, the key when there is one, and the item. */
static gboolean
fail_user (FlowNode        *node,
           const FlowItem  *item,
           const char      *key,
           GError         **error,
           GError          *cause)
{
  FlowStep *step = node->step;
  g_autofree char *repr = item ? short_repr (item) : NULL;
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
                  flow_op_kind_name (step->kind), step->full_id, where);
  g_propagate_error (error, cause);
  return FALSE;
}

static gboolean
fail_not_keyed (FlowNode        *node,
                const FlowItem  *item,
                GError         **error)
{
  g_autofree char *repr = short_repr (item);

  g_set_error (error, FLOW_ERROR, FLOW_ERROR_NOT_KEYED,
               "%s step '%s' needs keyed items: (key, value) tuples of type (sv) "
               "(use key_on first), but got %s of type %s",
               flow_op_kind_name (node->step->kind), node->step->full_id,
               repr, g_variant_get_type_string (item->value));
  return FALSE;
}

/* ------------------------------------------------------------------------
 * Nodes
 * ------------------------------------------------------------------------ */

static void
flow_state_free (gpointer data)
{
  FlowState *st = data;

  g_clear_pointer (&st->state, g_variant_unref);
  g_clear_pointer (&st->by, g_variant_unref);
  g_clear_pointer (&st->values, g_ptr_array_unref);
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

  if (flow_op_kind_is_stateful (step->kind))
    {
      node->states = g_hash_table_new_full (g_str_hash, g_str_equal,
                                            (GDestroyNotify) g_ref_string_release,
                                            flow_state_free);
      node->dirty = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ref_string_release);
      node->next_deadline = G_MAXINT64;
    }

  if (step->kind == FLOW_OP_KEY_ON)
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
  g_clear_pointer (&node->key_cache, g_hash_table_unref);
  g_clear_pointer (&node->states, g_hash_table_unref);
  g_clear_pointer (&node->dirty, g_ptr_array_unref);
  g_clear_pointer (&node->inputs, g_ptr_array_unref);
  g_clear_pointer (&node->outputs, g_ptr_array_unref);
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
  gboolean ok = TRUE;

  if (out->len == 0)
    return TRUE;

  for (guint i = 0; ok && i < edges->len; i++)
    {
      FlowEdge *edge = &g_array_index (edges, FlowEdge, i);
      ok = flow_node_push (edge->node, edge->port, out, error);
    }
  flow_batch_clear (out);
  return ok;
}

static gboolean
forward (FlowNode   *node,
         FlowBatch  *batch,
         GError    **error)
{
  GArray *edges = node->edges[0];

  for (guint i = 0; i < edges->len; i++)
    {
      FlowEdge *edge = &g_array_index (edges, FlowEdge, i);
      if (!flow_node_push (edge->node, edge->port, batch, error))
        return FALSE;
    }
  return TRUE;
}

/* The item as user functions see it: packed if it is split. */
#define WITH_PACKED(item, var)                                                \
  g_autoptr(GVariant) var##_packed = (item)->key ? flow_item_pack (item) : NULL; \
  GVariant *var = (item)->key ? var##_packed : (item)->value

/* ------------------------------------------------------------------------
 * Stateless operators
 * ------------------------------------------------------------------------ */

static gboolean
process_map (FlowNode   *node,
             FlowBatch  *batch,
             GError    **error)
{
  FlowMapFunc fn = node->step->fn[0].func;
  gpointer data = node->step->fn[0].data;
  FlowBatch *out = &node->out[0];

  flow_batch_reserve (out, batch->len);
  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      GError *local = NULL;
      GVariant *result;
      WITH_PACKED (item, value);

      FLOW_CALL (result = fn (value, data, &local));
      if (result == NULL || local != NULL)
        {
          g_clear_pointer (&result, g_variant_unref);
          return fail_user (node, item, NULL, error, local);
        }
      flow_batch_push_take (out, NULL, g_variant_take_ref (result));
    }
  return flow_node_emit (node, 0, error);
}

static gboolean
process_filter (FlowNode   *node,
                FlowBatch  *batch,
                GError    **error)
{
  FlowPredicateFunc fn = node->step->fn[0].func;
  gpointer data = node->step->fn[0].data;

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      GError *local = NULL;
      gboolean keep;
      WITH_PACKED (item, value);

      FLOW_CALL (keep = fn (value, data, &local));
      if (local != NULL)
        return fail_user (node, item, NULL, error, local);
      if (keep)
        flow_batch_push_copy (&node->out[0], item);
    }
  return flow_node_emit (node, 0, error);
}

static gboolean
process_filter_map (FlowNode   *node,
                    FlowBatch  *batch,
                    GError    **error)
{
  FlowFilterMapFunc fn = node->step->fn[0].func;
  gpointer data = node->step->fn[0].data;

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      GError *local = NULL;
      GVariant *result;
      WITH_PACKED (item, value);

      FLOW_CALL (result = fn (value, data, &local));
      if (local != NULL)
        {
          g_clear_pointer (&result, g_variant_unref);
          return fail_user (node, item, NULL, error, local);
        }
      if (result != NULL)
        flow_batch_push_take (&node->out[0], NULL, g_variant_take_ref (result));
    }
  return flow_node_emit (node, 0, error);
}

static gboolean
push_array (FlowNode        *node,
            const FlowItem  *item,
            const char      *key,
            GVariant        *array,
            GError         **error)
{
  if (!g_variant_is_of_type (array, G_VARIANT_TYPE_ARRAY))
    {
      g_autofree char *repr = item ? short_repr (item) : NULL;
      g_autofree char *where = key ? g_strdup_printf (" for key '%s'", key)
                                   : repr ? g_strdup_printf (" on item %s", repr)
                                          : g_strdup ("");

      g_set_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
                   "%s step '%s' failed%s: expected an array of items, got a %s",
                   flow_op_kind_name (node->step->kind), node->step->full_id,
                   where, g_variant_get_type_string (array));
      return FALSE;
    }
  flow_batch_push_array (&node->out[0], key, array);
  return TRUE;
}

static gboolean
process_flat_map (FlowNode   *node,
                  FlowBatch  *batch,
                  GError    **error)
{
  FlowFlatMapFunc fn = node->step->fn[0].func;
  gpointer data = node->step->fn[0].data;

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      GError *local = NULL;
      g_autoptr(GVariant) result = NULL;
      WITH_PACKED (item, value);

      FLOW_CALL (result = fn (value, data, &local));
      if (local != NULL)
        return fail_user (node, item, NULL, error, local);
      if (result != NULL)
        {
          g_variant_take_ref (result);
          if (!push_array (node, item, NULL, result, error))
            return FALSE;
        }
    }
  return flow_node_emit (node, 0, error);
}

static gboolean
process_flatten (FlowNode   *node,
                 FlowBatch  *batch,
                 GError    **error)
{
  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      WITH_PACKED (item, value);

      if (!push_array (node, item, NULL, value, error))
        return FALSE;
    }
  return flow_node_emit (node, 0, error);
}

static gboolean
process_inspect (FlowNode   *node,
                 FlowBatch  *batch,
                 GError    **error)
{
  FlowInspectFunc fn = node->step->fn[0].func;
  gpointer data = node->step->fn[0].data;

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      GError *local = NULL;
      WITH_PACKED (item, value);

      FLOW_CALL (fn (node->step->full_id, value, data, &local));
      if (local != NULL)
        return fail_user (node, item, NULL, error, local);
    }
  return forward (node, batch, error);
}

static gboolean
process_branch (FlowNode   *node,
                FlowBatch  *batch,
                GError    **error)
{
  FlowPredicateFunc fn = node->step->fn[0].func;
  gpointer data = node->step->fn[0].data;

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      GError *local = NULL;
      gboolean which;
      WITH_PACKED (item, value);

      FLOW_CALL (which = fn (value, data, &local));
      if (local != NULL)
        return fail_user (node, item, NULL, error, local);
      flow_batch_push_copy (&node->out[which ? 0 : 1], item);
    }
  return flow_node_emit (node, 0, error) && flow_node_emit (node, 1, error);
}

static gboolean
process_key_on (FlowNode   *node,
                FlowBatch  *batch,
                GError    **error)
{
  FlowKeyFunc fn = node->step->fn[0].func;
  gpointer data = node->step->fn[0].data;
  FlowBatch *out = &node->out[0];

  flow_batch_reserve (out, batch->len);
  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      GError *local = NULL;
      char *key;
      char *ref_key;
      WITH_PACKED (item, value);

      FLOW_CALL (key = fn (value, data, &local));
      if (key == NULL || local != NULL)
        {
          g_free (key);
          if (local == NULL)
            local = g_error_new (FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                                 "the key function returned no key");
          return fail_user (node, item, NULL, error, local);
        }
      /* Keys repeat: items share one GRefString per key (and a key already
       * seen was already checked). The cache is bounded; when full it
       * starts over. */
      ref_key = g_hash_table_lookup (node->key_cache, key);
      if (ref_key != NULL)
        ref_key = g_ref_string_acquire (ref_key);
      else
        {
          if (!g_utf8_validate (key, -1, NULL))
            {
              g_free (key);
              return fail_user (node, item, NULL, error,
                                g_error_new (FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                                             "the key function returned a key that is not UTF-8"));
            }
          ref_key = g_ref_string_new (key);
          if (g_hash_table_size (node->key_cache) >= KEY_CACHE_SIZE)
            g_hash_table_remove_all (node->key_cache);
          g_hash_table_add (node->key_cache, g_ref_string_acquire (ref_key));
        }
      flow_batch_push_take (out, ref_key, g_variant_ref (value));
      g_free (key);
    }
  return flow_node_emit (node, 0, error);
}

static gboolean
process_key_rm (FlowNode   *node,
                FlowBatch  *batch,
                GError    **error)
{
  FlowBatch *out = &node->out[0];

  flow_batch_reserve (out, batch->len);
  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];

      if (!flow_item_split (item))
        return fail_not_keyed (node, item, error);
      flow_batch_push_take (out, NULL, g_variant_ref (item->value));
    }
  return flow_node_emit (node, 0, error);
}

static gboolean
process_map_value (FlowNode   *node,
                   FlowBatch  *batch,
                   GError    **error)
{
  FlowMapFunc fn = node->step->fn[0].func;
  gpointer data = node->step->fn[0].data;
  FlowBatch *out = &node->out[0];

  flow_batch_reserve (out, batch->len);
  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      GError *local = NULL;
      GVariant *result;

      if (!flow_item_split (item))
        return fail_not_keyed (node, item, error);
      FLOW_CALL (result = fn (item->value, data, &local));
      if (result == NULL || local != NULL)
        {
          g_clear_pointer (&result, g_variant_unref);
          return fail_user (node, item, item->key, error, local);
        }
      flow_batch_push_take (out, g_ref_string_acquire (item->key), g_variant_take_ref (result));
    }
  return flow_node_emit (node, 0, error);
}

static gboolean
process_filter_value (FlowNode   *node,
                      FlowBatch  *batch,
                      GError    **error)
{
  FlowPredicateFunc fn = node->step->fn[0].func;
  gpointer data = node->step->fn[0].data;

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      GError *local = NULL;
      gboolean keep;

      if (!flow_item_split (item))
        return fail_not_keyed (node, item, error);
      FLOW_CALL (keep = fn (item->value, data, &local));
      if (local != NULL)
        return fail_user (node, item, item->key, error, local);
      if (keep)
        flow_batch_push_copy (&node->out[0], item);
    }
  return flow_node_emit (node, 0, error);
}

static gboolean
process_flat_map_value (FlowNode   *node,
                        FlowBatch  *batch,
                        GError    **error)
{
  FlowFlatMapFunc fn = node->step->fn[0].func;
  gpointer data = node->step->fn[0].data;

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      GError *local = NULL;
      g_autoptr(GVariant) result = NULL;

      if (!flow_item_split (item))
        return fail_not_keyed (node, item, error);
      FLOW_CALL (result = fn (item->value, data, &local));
      if (local != NULL)
        return fail_user (node, item, item->key, error, local);
      if (result != NULL)
        {
          g_variant_take_ref (result);
          if (!push_array (node, NULL, item->key, result, error))
            return FALSE;
        }
    }
  return flow_node_emit (node, 0, error);
}

/* ------------------------------------------------------------------------
 * State tables
 * ------------------------------------------------------------------------ */

static inline FlowState *
state_lookup (FlowNode   *node,
              const char *key)
{
  return g_hash_table_lookup (node->states, key);
}

static inline FlowState *
state_ensure (FlowNode *node,
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
static inline void
state_touch (FlowNode  *node,
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

static gboolean
state_is_live (FlowNode  *node,
               FlowState *st)
{
  if (node->step->kind == FLOW_OP_COLLECT)
    return st->values != NULL && st->values->len > 0;
  return st->state != NULL;
}

static void
state_clear (FlowNode  *node,
             FlowState *st)
{
  g_clear_pointer (&st->state, g_variant_unref);
  g_clear_pointer (&st->by, g_variant_unref);
  if (st->values != NULL)
    g_ptr_array_set_size (st->values, 0);
  st->deadline = 0;
}

/* Sets the state of @key; NULL discards it. Without change tracking a
 * discarded key is forgotten at once; with it, it stays as a pending
 * tombstone until the epoch's snapshot. */
static void
state_set (FlowNode  *node,
           char      *key,
           FlowState *st,
           GVariant  *state)
{
  if (state == NULL)
    state_clear (node, st);
  else
    {
      if (st->state != NULL)
        g_variant_unref (st->state);
      st->state = state;
      g_clear_pointer (&st->by, g_variant_unref);
    }

  state_touch (node, key, st);
  if (state == NULL && !node->exec->track_changes)
    g_hash_table_remove (node->states, key);
}

GVariant *
flow_node_dup_state (FlowNode  *node,
                     FlowState *st)
{
  if (!state_is_live (node, st))
    return NULL;

  if (node->step->kind == FLOW_OP_COLLECT)
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
    n += state_is_live (node, value);
  return n;
}

gboolean
flow_node_restore (FlowNode    *node,
                   const char  *key,
                   GVariant    *state,
                   GError     **error)
{
  g_autofree char *ref_key_owner = NULL;
  char *ref_key;
  FlowState *st;

  if (node->states == NULL)
    return TRUE;

  ref_key = g_ref_string_new (key);
  st = state_ensure (node, ref_key);
  g_ref_string_release (ref_key);
  state_clear (node, st);

  if (node->step->kind == FLOW_OP_COLLECT)
    {
      g_autoptr(GVariant) values = NULL;
      GPtrArray *array;
      gsize n;

      if (!g_variant_is_of_type (state, G_VARIANT_TYPE ("(xav)")))
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                       "collect step '%s': the stored state of key '%s' has type %s, not (xav)",
                       node->step->full_id, key, g_variant_get_type_string (state));
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

  if (node->step->kind == FLOW_OP_COUNT_FINAL &&
      !g_variant_is_of_type (state, G_VARIANT_TYPE_INT64))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                   "count_final step '%s': the stored count of key '%s' has type %s, not x",
                   node->step->full_id, key, g_variant_get_type_string (state));
      return FALSE;
    }

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

/* ------------------------------------------------------------------------
 * Stateful operators
 * ------------------------------------------------------------------------ */

static gboolean
build_state (FlowNode   *node,
             FlowItem   *item,
             GVariant  **state,
             GError    **error)
{
  FlowBuilderFunc builder = node->step->fn[1].func;
  GError *local = NULL;

  *state = NULL;
  if (builder == NULL)
    return TRUE;

  FLOW_CALL (*state = builder (node->step->fn[1].data, &local));
  if (*state == NULL || local != NULL)
    {
      g_clear_pointer (state, g_variant_unref);
      if (local == NULL)
        local = g_error_new (FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                             "the builder returned no initial state");
      g_prefix_error (&local, "builder: ");
      return fail_user (node, item, item->key, error, local);
    }
  g_variant_take_ref (*state);
  return TRUE;
}

static gboolean
process_stateful_map (FlowNode   *node,
                      FlowBatch  *batch,
                      GError    **error)
{
  gboolean flat = node->step->kind == FLOW_OP_STATEFUL_FLAT_MAP;
  FlowStatefulMapFunc fn = node->step->fn[0].func;
  gpointer data = node->step->fn[0].data;
  FlowBatch *out = &node->out[0];

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

      if (!flow_item_split (item))
        return fail_not_keyed (node, item, error);

      st = state_lookup (node, item->key);
      if (st == NULL || st->state == NULL)
        {
          if (!build_state (node, item, &built, error))
            return FALSE;
        }

      FLOW_CALL (new_state = fn (built ? built : (st ? st->state : NULL), item->value, &emit, data, &local));
      g_clear_pointer (&built, g_variant_unref);
      if (local != NULL)
        {
          g_clear_pointer (&new_state, g_variant_unref);
          g_clear_pointer (&emit, g_variant_unref);
          return fail_user (node, item, item->key, error, local);
        }

      if (new_state != NULL)
        g_variant_take_ref (new_state);
      if (st == NULL)
        {
          if (new_state == NULL && !node->exec->track_changes)
            goto emit;
          st = state_ensure (node, item->key);
        }
      state_set (node, item->key, st, new_state);

    emit:
      if (emit != NULL)
        {
          g_variant_take_ref (emit);
          if (flat)
            {
              gboolean ok = push_array (node, NULL, item->key, emit, error);
              g_variant_unref (emit);
              if (!ok)
                return FALSE;
            }
          else
            flow_batch_push_take (out, g_ref_string_acquire (item->key), emit);
        }
    }
  return flow_node_emit (node, 0, error);
}

static gboolean
process_fold (FlowNode   *node,
              FlowBatch  *batch,
              GError    **error)
{
  gboolean reduce = node->step->kind == FLOW_OP_REDUCE_FINAL;
  FlowFoldFunc fn = node->step->fn[0].func;
  gpointer data = node->step->fn[0].data;

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      GError *local = NULL;
      GVariant *acc = NULL;
      GVariant *result;
      FlowState *st;

      if (!flow_item_split (item))
        return fail_not_keyed (node, item, error);

      st = state_lookup (node, item->key);
      if (st == NULL || st->state == NULL)
        {
          if (reduce)
            {
              st = state_ensure (node, item->key);
              state_set (node, item->key, st, g_variant_ref (item->value));
              continue;
            }
          if (!build_state (node, item, &acc, error))
            return FALSE;
        }
      else
        acc = g_variant_ref (st->state);

      FLOW_CALL (result = fn (acc, item->value, data, &local));
      g_variant_unref (acc);
      if (result == NULL || local != NULL)
        {
          g_clear_pointer (&result, g_variant_unref);
          return fail_user (node, item, item->key, error, local);
        }
      if (st == NULL)
        st = state_ensure (node, item->key);
      state_set (node, item->key, st, g_variant_take_ref (result));
    }
  return TRUE;
}

static gboolean
process_count (FlowNode   *node,
               FlowBatch  *batch,
               GError    **error)
{
  FlowKeyFunc fn = node->step->fn[0].func;
  gpointer data = node->step->fn[0].data;

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      GError *local = NULL;
      g_autofree char *key = NULL;
      char *ref_key;
      FlowState *st;
      gint64 count = 0;
      WITH_PACKED (item, value);

      FLOW_CALL (key = fn (value, data, &local));
      if (key == NULL || local != NULL)
        {
          if (local == NULL)
            local = g_error_new (FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                                 "the key function returned no key");
          return fail_user (node, item, NULL, error, local);
        }
      if (!g_utf8_validate (key, -1, NULL))
        return fail_user (node, item, NULL, error,
                          g_error_new (FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                                       "the key function returned a key that is not UTF-8"));

      st = state_lookup (node, key);
      if (st != NULL && st->state != NULL)
        count = g_variant_get_int64 (st->state);
      ref_key = g_ref_string_new (key);
      if (st == NULL)
        st = state_ensure (node, ref_key);
      state_set (node, ref_key, st, g_variant_ref_sink (g_variant_new_int64 (count + 1)));
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
  FlowMapFunc by = node->step->fn[0].func;
  GError *local = NULL;

  if (by == NULL)
    {
      *by_value = g_variant_ref (value);
      return TRUE;
    }
  FLOW_CALL (*by_value = by (value, node->step->fn[0].data, &local));
  if (*by_value == NULL || local != NULL)
    {
      g_clear_pointer (by_value, g_variant_unref);
      return fail_user (node, item, item->key, error, local);
    }
  g_variant_take_ref (*by_value);
  return TRUE;
}

static gboolean
process_extremum (FlowNode   *node,
                  FlowBatch  *batch,
                  GError    **error)
{
  gboolean want_max = node->step->kind == FLOW_OP_MAX_FINAL;

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      g_autoptr(GVariant) by_new = NULL;
      FlowState *st;
      int c;

      if (!flow_item_split (item))
        return fail_not_keyed (node, item, error);

      st = state_lookup (node, item->key);
      if (st == NULL || st->state == NULL)
        {
          if (st == NULL)
            st = state_ensure (node, item->key);
          state_set (node, item->key, st, g_variant_ref (item->value));
          continue;
        }

      if (st->by == NULL && !compare_key (node, item, st->state, &st->by, error))
        return FALSE;
      if (!compare_key (node, item, item->value, &by_new, error))
        return FALSE;

      c = flow_item_compare (by_new, st->by);
      if (want_max ? c > 0 : c < 0)
        {
          state_set (node, item->key, st, g_variant_ref (item->value));
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
  state_set (node, key, st, NULL);
}

static gboolean
process_collect (FlowNode   *node,
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

      if (!flow_item_split (item))
        return fail_not_keyed (node, item, error);

      st = state_ensure (node, item->key);
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
      state_touch (node, item->key, st);

      if (step->max_size > 0 && values->len >= step->max_size)
        emit_collected (node, item->key, st);
    }

  if (reschedule)
    flow_exec_schedule_wake (node->exec, node);
  return flow_node_emit (node, 0, error);
}

static int
compare_keys (gconstpointer a,
              gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

static GPtrArray *
sorted_live_keys (FlowNode *node)
{
  GPtrArray *keys = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, node->states);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (state_is_live (node, value))
      g_ptr_array_add (keys, key);
  g_ptr_array_sort (keys, compare_keys);
  return keys;
}

/* Collect: emits the lists whose timeout passed. */
gboolean
flow_node_wake (FlowNode  *node,
                gint64     now,
                GError   **error)
{
  g_autoptr(GPtrArray) keys = NULL;
  gint64 next = G_MAXINT64;

  if (node->step->kind != FLOW_OP_COLLECT)
    return TRUE;

  keys = sorted_live_keys (node);
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

/* At the end of input the `*_final` steps emit every key's result, in key
 * order, and discard their state; stateful_map and stateful_flat_map keep
 * theirs (a resumed run continues from it). */
gboolean
flow_node_eof (FlowNode  *node,
               GError   **error)
{
  g_autoptr(GPtrArray) keys = NULL;

  switch (node->step->kind)
    {
    case FLOW_OP_FOLD_FINAL:
    case FLOW_OP_REDUCE_FINAL:
    case FLOW_OP_COUNT_FINAL:
    case FLOW_OP_MAX_FINAL:
    case FLOW_OP_MIN_FINAL:
    case FLOW_OP_COLLECT:
      break;
    default:
      return TRUE;
    }

  keys = sorted_live_keys (node);
  for (guint i = 0; i < keys->len; i++)
    {
      char *key = g_ref_string_acquire (g_ptr_array_index (keys, i));
      FlowState *st = g_hash_table_lookup (node->states, key);

      if (node->step->kind == FLOW_OP_COLLECT)
        emit_collected (node, key, st);
      else
        {
          flow_batch_push_take (&node->out[0], g_ref_string_acquire (key), g_variant_ref (st->state));
          state_set (node, key, st, NULL);
        }
      g_ref_string_release (key);
    }
  node->next_deadline = G_MAXINT64;
  return flow_node_emit (node, 0, error);
}

/* ------------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------------ */

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

      for (guint i = 0; i < batch->len; i++)
        g_ptr_array_add (items, flow_item_pack (&batch->items[i]));
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

static gboolean
process_output (FlowNode   *node,
                FlowBatch  *batch,
                GError    **error)
{
  GPtrArray *outputs = node->outputs;

  if (outputs->len == 1)
    return write_part (node, g_ptr_array_index (outputs, 0), batch, error);

  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      guint target = 0;

      if (flow_item_split (item))
        target = flow_hash_string (FLOW_HASH_SEED, item->key) % outputs->len;
      flow_batch_push_copy (&((FlowOutputPart *) g_ptr_array_index (outputs, target))->pending, item);
    }

  for (guint i = 0; i < outputs->len; i++)
    {
      FlowOutputPart *out = g_ptr_array_index (outputs, i);
      gboolean ok = write_part (node, out, &out->pending, error);

      flow_batch_clear (&out->pending);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------ */

gboolean
flow_node_push (FlowNode   *node,
                guint       port,
                FlowBatch  *batch,
                GError    **error)
{
  if (batch->len == 0)
    return TRUE;

  switch (node->step->kind)
    {
    case FLOW_OP_INPUT:
    case FLOW_OP_MERGE:
    case FLOW_OP_REDISTRIBUTE:
      return forward (node, batch, error);
    case FLOW_OP_MAP:
      return process_map (node, batch, error);
    case FLOW_OP_FILTER:
      return process_filter (node, batch, error);
    case FLOW_OP_FILTER_MAP:
      return process_filter_map (node, batch, error);
    case FLOW_OP_FLAT_MAP:
      return process_flat_map (node, batch, error);
    case FLOW_OP_FLATTEN:
      return process_flatten (node, batch, error);
    case FLOW_OP_INSPECT:
      return process_inspect (node, batch, error);
    case FLOW_OP_BRANCH:
      return process_branch (node, batch, error);
    case FLOW_OP_KEY_ON:
      return process_key_on (node, batch, error);
    case FLOW_OP_KEY_RM:
      return process_key_rm (node, batch, error);
    case FLOW_OP_MAP_VALUE:
      return process_map_value (node, batch, error);
    case FLOW_OP_FILTER_VALUE:
      return process_filter_value (node, batch, error);
    case FLOW_OP_FLAT_MAP_VALUE:
      return process_flat_map_value (node, batch, error);
    case FLOW_OP_STATEFUL_MAP:
    case FLOW_OP_STATEFUL_FLAT_MAP:
      return process_stateful_map (node, batch, error);
    case FLOW_OP_FOLD_FINAL:
    case FLOW_OP_REDUCE_FINAL:
      return process_fold (node, batch, error);
    case FLOW_OP_COUNT_FINAL:
      return process_count (node, batch, error);
    case FLOW_OP_MAX_FINAL:
    case FLOW_OP_MIN_FINAL:
      return process_extremum (node, batch, error);
    case FLOW_OP_COLLECT:
      return process_collect (node, batch, error);
    case FLOW_OP_OUTPUT:
      return process_output (node, batch, error);
    case FLOW_N_OPS:
    default:
      g_assert_not_reached ();
    }
}
