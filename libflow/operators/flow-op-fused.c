/* flow-op-fused.c: consecutive stateless steps of a binding, run fused
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A binding (the Python one) may give a map, filter, filter_map or key_on
 * step functions that work on its own objects
 * (flow_binding_stream_set_object_funcs()). When such a step is followed
 * by a linear chain of steps like it (each the only consumer of the one
 * before, that step its only input, no exchange between workers in front
 * of it but that of a stateful_map when the workers share one thread, a
 * key_on ending the chain unless a stateful_map without a builder follows
 * it), the first node of the chain runs them
 * all: each step's function is applied to the whole batch in turn, as the
 * nodes would do one after the other, but the binding's objects go from
 * one function to the next, and only the chain's results are converted to
 * GVariants. It is an execution detail: the dataflow and its steps are
 * unchanged, every function is called on the same items in the same order,
 * a failure names the step (and item) it names unfused, and each node
 * counts its items and batches. The time of the whole chain is counted in
 * its first node's `time_us`.
 */

#include "config.h"

#include "flow-operator-private.h"

/**
 * flow_binding_stream_set_object_funcs: (skip)
 * @stream: the stream of a map, filter, filter_map, key_on or stateful_map
 *   step
 * @funcs: (transfer none): the binding's functions for the step, static
 *
 * Tells libflow that the function of the step making @stream (as given to
 * its operator) also works on the binding's objects through @funcs, so
 * that the step may run fused with the steps next to it. Language bindings
 * call it; applications never need to.
 */
void
flow_binding_stream_set_object_funcs (FlowStream                   *stream,
                                      const FlowBindingObjectFuncs *funcs)
{
  FlowStep *step;
  gboolean (*process) (FlowNode *, FlowBatch *, GError **);

  g_return_if_fail (FLOW_IS_STREAM (stream));
  g_return_if_fail (funcs != NULL);

  step = flow_stream_get_step (stream);
  process = step->op->process;
  g_return_if_fail (!(step->op->flags & FLOW_OPERATOR_ON_VALUE));
  g_return_if_fail (process == flow_op_map_process ||
                    process == flow_op_filter_process ||
                    process == flow_op_filter_map_process ||
                    process == flow_op_key_on_process ||
                    process == flow_op_stateful_map_process);
  step->obj_funcs = funcs;
}

static gboolean
is_key_on (FlowNode *node)
{
  return node->step->op->process == flow_op_key_on_process;
}

static gboolean
is_stateful_map (FlowNode *node)
{
  return node->step->op->process == flow_op_stateful_map_process;
}

/* @node and the nodes it runs fused with, in order. */
static GPtrArray *
find_chain (FlowNode *node)
{
  GPtrArray *chain = g_ptr_array_new ();
  FlowNode *cur = node;

  g_ptr_array_add (chain, node);
  /* A stateful_map (its items keyed by the key_on before it) ends a
   * chain; so does a key_on that no such stateful_map follows. */
  if (is_stateful_map (node))
    return chain;
  while (!is_stateful_map (cur) && cur->step->n_outputs == 1 && cur->edges[0]->len == 1)
    {
      FlowEdge *edge = &g_array_index (cur->edges[0], FlowEdge, 0);
      FlowNode *next = edge->node;

      guint n_workers, index;

      if (next->step->obj_funcs == NULL ||
          next->step->obj_funcs->from_variant != node->step->obj_funcs->from_variant ||
          next->step->inputs->len != 1 || edge->port != 0 ||
          (next->exchange != NULL &&
           !(is_stateful_map (next) && flow_exchange_shared_by_key (next, &n_workers, &index))) ||
          is_key_on (cur) != is_stateful_map (next) ||
          (is_stateful_map (next) && next->step->builder.func != NULL))
        break;
      g_ptr_array_add (chain, next);
      cur = next;
    }
  return chain;
}

/* The objects (and keys) a stage hands to the next one. */
typedef struct
{
  const FlowBindingObjectFuncs *funcs;
  guint      n;
  gpointer  *objects;   /* owned; NULL: dropped */
  char     **keys;      /* GRefStrings after a key_on, or NULL */
  GPtrArray *packed;    /* the first stage's packed items (kept alive
                         * while the objects made from them are) */
} Stage;

static void
stage_clear_item (Stage *st,
                  guint  i)
{
  if (st->objects[i] != NULL)
    st->funcs->free (st->objects[i]);
  st->objects[i] = NULL;
  if (st->keys != NULL)
    g_clear_pointer (&st->keys[i], g_ref_string_release);
}

static void
stage_clear (Stage *st,
             guint  from)
{
  for (guint i = from; i < st->n; i++)
    stage_clear_item (st, i);
}

/* The failure of @node's function on @object (keyed @key): named as the
 * node names it unfused, with the item @object stands for. */
static gboolean
fail_on_object (FlowNode                     *node,
                const FlowBindingObjectFuncs *funcs,
                gpointer                      object,
                char                         *key,
                GError                      **error,
                GError                       *cause)
{
  FlowItem item = { key, funcs->to_variant (object, NULL) };
  gboolean ok = flow_op_fail_user (node, item.value ? &item : NULL, key, error, cause);

  g_clear_pointer (&item.value, g_variant_unref);
  return ok;
}

/* A key_on's key for @object, or NULL with @error set. */
static char *
stage_key (FlowNode  *node,
           gpointer   object,
           char      *key,
           GError   **error)
{
  char *ref_key = key != NULL ? g_hash_table_lookup (node->key_cache, key) : NULL;

  if (ref_key != NULL)
    {
      g_free (key);
      return g_ref_string_acquire (ref_key);
    }
  if (key == NULL || !g_utf8_validate (key, -1, NULL))
    {
      GError *local = g_error_new (FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                                   key == NULL ? "the key function returned no key"
                                               : "the key function returned a key that is not UTF-8");
      g_free (key);
      fail_on_object (node, node->step->obj_funcs, object, NULL, error, local);
      return NULL;
    }
  return flow_op_key_intern (node, NULL, key, NULL);
}

/* stateful_map on the stage's keyed objects, as flow-op-stateful.c's
 * stateful_map() does (without a builder); with @targets, only on those
 * of worker @worker. */
static gboolean
apply_stateful (FlowNode     *node,
                Stage        *st,
                const guint  *targets,
                guint         worker,
                GError      **error)
{
  gpointer data = node->step->func.data;
  FlowBatch *out = &node->out[0];

  flow_batch_reserve (out, st->n);
  for (guint i = 0; i < st->n; i++)
    {
      gpointer object = st->objects[i];
      char *key = st->keys[i];
      FlowState *state;
      GVariant *new_state, *emit = NULL;
      GError *local = NULL;

      if (object == NULL || (targets != NULL && targets[i] != worker))
        continue;
      state = flow_state_lookup (node, key);
      new_state = node->step->obj_funcs->apply_stateful (data, state ? state->state : NULL, object, &emit, &local);
      if (local != NULL)
        {
          g_clear_pointer (&new_state, g_variant_unref);
          g_clear_pointer (&emit, g_variant_unref);
          fail_on_object (node, st->funcs, object, key, error, local);
          return FALSE;
        }
      if (new_state != NULL)
        g_variant_take_ref (new_state);
      if (state == NULL && (new_state != NULL || node->exec->track_changes))
        state = flow_state_ensure (node, key);
      if (state != NULL)
        flow_state_set (node, key, state, new_state);
      if (emit != NULL)
        flow_batch_push_take (out, g_steal_pointer (&st->keys[i]), g_variant_take_ref (emit));
      stage_clear_item (st, i);
    }
  return TRUE;
}

/* Applies @node's function to the stage's objects, in place. The first
 * stage (@batch given) makes its objects from the batch's items. */
static gboolean
apply_stage (FlowNode   *node,
             FlowBatch  *batch,
             Stage      *st,
             gboolean    last,
             GError    **error)
{
  gpointer data = node->step->func.data;
  gboolean key_on = is_key_on (node);
  FlowBatch *out = &node->out[0];
  guint64 in = 0;

  if (batch == NULL)
    for (guint i = 0; i < st->n; i++)
      in += st->objects[i] != NULL;
  if (batch == NULL && in > 0)
    {
      /* what flow_node_push_here() counts of the first step */
      node->items_in += in;
      node->batches++;
    }
  if (is_stateful_map (node))
    return apply_stateful (node, st, NULL, 0, error);

  if (key_on && last)
    flow_batch_reserve (out, st->n);
  if (key_on && !last)
    st->keys = g_new0 (char *, st->n);
  for (guint i = 0; i < st->n; i++)
    {
      gpointer object = st->objects[i], result = NULL;
      char *key = NULL;
      GError *local = NULL;

      if (batch != NULL)
        {
          GVariant *packed = NULL;
          GVariant *arg = flow_op_arg (node, &batch->items[i], &packed);

          if (packed != NULL)
            {
              if (st->packed == NULL)
                st->packed = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
              g_ptr_array_add (st->packed, packed);
            }
          object = st->objects[i] = st->funcs->from_variant (arg);
        }
      else if (object == NULL)
        continue;

      if (!node->step->obj_funcs->apply (data, object, &result, &key, &local))
        {
          gboolean ok;

          if (batch != NULL)
            ok = flow_op_fail_user (node, &batch->items[i],
                                    flow_op_error_key (node, &batch->items[i]), error, local);
          else
            ok = fail_on_object (node, st->funcs, object, NULL, error, local);
          return ok;
        }

      if (key_on)
        {
          char *ref_key;
          GVariant *value = NULL;

          g_clear_pointer (&result, st->funcs->free);
          if ((ref_key = stage_key (node, object, key, error)) != NULL && last)
            {
              if ((value = st->funcs->to_variant (object, error)) != NULL)
                flow_batch_push_take (out, ref_key, value);
              else
                g_ref_string_release (ref_key);
            }
          if (ref_key == NULL || (last && value == NULL))
            return FALSE;
          if (last)
            stage_clear_item (st, i);
          else
            st->keys[i] = ref_key;   /* the object goes on, keyed */
          continue;
        }

      g_free (key);
      st->funcs->free (object);
      st->objects[i] = result;
    }
  return TRUE;
}

/* The last stage, a stateful_map behind an exchange, when the workers
 * share one thread (Python, GJS): each keyed object goes to the
 * stateful_map of the worker that owns its key, as the exchange would
 * send it. This worker's are done first, by the caller's emit; another
 * worker's go straight into its node while it may take them now
 * (flow_exchange_direct_node()), else as items through the exchange.
 * A failure in another worker's step fails that worker, as a batch
 * pushed to it does. */
static gboolean
apply_stateful_routed (FlowNode  *tail,
                       Stage     *st,
                       guint      n_workers,
                       guint      self,
                       GError   **error)
{
  g_autofree guint *targets = g_new (guint, st->n);
  g_autofree guint *counts = g_new0 (guint, n_workers);
  gboolean ok;

  for (guint i = 0; i < st->n; i++)
    if (st->objects[i] != NULL)
      counts[targets[i] = flow_workers_owner_of_key (st->keys[i], n_workers)]++;

  if (counts[self] > 0)
    {
      tail->items_in += counts[self];
      tail->batches++;
    }
  if (!apply_stateful (tail, st, targets, self, error))
    return FALSE;

  ok = TRUE;
  for (guint dst = 0; ok && dst < n_workers; dst++)
    {
      FlowNode *to;
      GError *local = NULL;

      if (dst == self || counts[dst] == 0)
        continue;
      if ((to = flow_exchange_direct_node (tail, dst)) != NULL)
        {
          to->items_in += counts[dst];
          to->batches++;
          if (!apply_stateful (to, st, targets, dst, &local) || !flow_node_emit (to, 0, &local))
            flow_exec_fail (to->exec, to->step->full_id, local);
        }
      else
        {
          FlowBatch away;

          flow_batch_init (&away);
          flow_batch_reserve (&away, counts[dst]);
          for (guint i = 0; ok && i < st->n; i++)
            {
              GVariant *value;

              if (st->objects[i] == NULL || targets[i] != dst)
                continue;
              if ((value = st->funcs->to_variant (st->objects[i], error)) == NULL)
                ok = FALSE;
              else
                flow_batch_push_take (&away, g_steal_pointer (&st->keys[i]), value);
              stage_clear_item (st, i);
            }
          /* all of them another worker's: nothing comes back here */
          ok = ok && flow_exchange_route (tail, 0, &away, TRUE, error);
          flow_batch_destroy (&away);
        }
    }
  return ok;
}

/* flow_node_push_here()'s process for a step with object functions. */
gboolean
flow_op_fused_process (FlowNode   *node,
                       FlowBatch  *batch,
                       GError    **error)
{
  GPtrArray *chain = node->op_data;
  FlowNode *tail;
  Stage st = { node->step->obj_funcs, batch->len, NULL, NULL, NULL };
  gboolean ok = TRUE;

  if (chain == NULL)
    {
      /* The graph of an execution does not change once it runs. */
      node->op_data = chain = find_chain (node);
      node->op_data_free = (GDestroyNotify) g_ptr_array_unref;
    }
  if (chain->len < 2)
    return node->step->op->process (node, batch, error);

  tail = g_ptr_array_index (chain, chain->len - 1);
  st.objects = g_new0 (gpointer, batch->len);
  for (guint s = 0; ok && s < chain->len; s++)
    {
      FlowNode *stage = g_ptr_array_index (chain, s);
      guint n_workers, self;

      if (s > 0 && stage->exchange != NULL && flow_exchange_shared_by_key (stage, &n_workers, &self))
        ok = apply_stateful_routed (stage, &st, n_workers, self, error);
      else
        ok = apply_stage (stage, s == 0 ? batch : NULL, &st, stage == tail, error);
      if (ok && stage != tail)
        for (guint i = 0; i < batch->len; i++)
          stage->items_out += st.objects[i] != NULL;
    }

  if (ok && !is_key_on (tail) && !is_stateful_map (tail))
    {
      FlowBatch *out = &tail->out[0];

      flow_batch_reserve (out, batch->len);
      for (guint i = 0; ok && i < batch->len; i++)
        {
          GVariant *value;

          if (st.objects[i] == NULL)
            continue;
          value = st.funcs->to_variant (st.objects[i], error);
          if (value != NULL)
            flow_batch_push_take (out, NULL, value);
          else
            ok = FALSE;
        }
    }
  stage_clear (&st, 0);
  g_free (st.objects);
  g_free (st.keys);
  g_clear_pointer (&st.packed, g_ptr_array_unref);

  if (ok)
    {
      tail->child_us = 0;
      ok = flow_node_emit (tail, 0, error);
      node->child_us += tail->child_us;
    }
  return ok;
}
