/* flow-op-logic.c: the general stateful operators, stateful and stateful_batch
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each key of the step has a logic (a FlowStatefulLogic or a
 * FlowStatefulBatchLogic, in FlowState.logic) built by the step's builder.
 * What is called when follows Bytewax 0.21's stateful_batch (see the
 * documentation of FlowStatefulLogic): per activation (a batch, a
 * wake-up, the end of input) the logics of the batch's keys, in key order;
 * then the due notifications, in order of time; then, at the end of input,
 * every logic; then `notify_at` (and, with recovery on, `snapshot`) of
 * every logic that was called and kept, in key order.
 *
 * Pending notifications are a sorted set of (time, key) in node->schedule;
 * the node's one wake-up timer (flow_exec_schedule_wake()) is set to its
 * first entry. An entry whose key has no logic any more, or another time,
 * is stale and skipped when met. A key's state, for recovery, is what its
 * logic's snapshot returned, taken when the key was last called; on
 * resume the builder gets it back and notify_at is asked again.
 */

#include "config.h"

#include <string.h>

#include "flow-operator-private.h"

typedef struct
{
  gint64  at;
  char   *key;   /* GRefString */
} Sched;

static int
sched_compare (gconstpointer a,
               gconstpointer b,
               gpointer      user_data)
{
  const Sched *x = a, *y = b;

  if (x->at != y->at)
    return x->at < y->at ? -1 : 1;
  return strcmp (x->key, y->key);
}

static void
sched_free (gpointer data)
{
  Sched *s = data;

  g_ref_string_release (s->key);
  g_free (s);
}

static gboolean
is_batch (FlowNode *node)
{
  return node->step->op->process == flow_op_stateful_batch_process;
}

static void
unschedule (FlowNode  *node,
            char      *key,
            FlowState *st)
{
  if (st->scheduled && node->schedule != NULL)
    {
      Sched probe = { st->notify_at, key };
      g_tree_remove (node->schedule, &probe);
    }
  st->scheduled = FALSE;
}

static void
schedule (FlowNode  *node,
          char      *key,
          FlowState *st,
          gint64     at)
{
  Sched *s;

  if (st->scheduled && st->notify_at == at)
    return;
  unschedule (node, key, st);
  if (node->schedule == NULL)
    node->schedule = g_tree_new_full (sched_compare, NULL, sched_free, NULL);
  s = g_new (Sched, 1);
  s->at = at;
  s->key = g_ref_string_acquire (key);
  g_tree_insert (node->schedule, s, s);
  st->scheduled = TRUE;
  st->notify_at = at;
}

static gboolean
sched_is_stale (FlowNode    *node,
                const Sched *s)
{
  FlowState *st = flow_state_lookup (node, s->key);

  return st == NULL || st->logic == NULL || !st->scheduled || st->notify_at != s->at;
}

/* The first live entry of the schedule (stale ones are dropped), or NULL. */
static Sched *
schedule_first (FlowNode *node)
{
  GTreeNode *first;

  if (node->schedule == NULL)
    return NULL;
  while ((first = g_tree_node_first (node->schedule)) != NULL)
    {
      Sched *s = g_tree_node_key (first);
      if (!sched_is_stale (node, s))
        return s;
      g_tree_remove (node->schedule, s);
    }
  return NULL;
}

/* Sets the node's wake-up to its first pending notification. */
static void
update_wake (FlowNode *node)
{
  Sched *first = schedule_first (node);
  gint64 next = first != NULL ? first->at : G_MAXINT64;

  if (next != node->next_deadline)
    {
      node->next_deadline = next;
      flow_exec_schedule_wake (node->exec, node);
    }
}

/* ------------------------------------------------------------------------
 * Calls to the logics
 * ------------------------------------------------------------------------ */

static gboolean
fail_key (FlowNode    *node,
          const char  *key,
          GError     **error,
          GError      *cause)
{
  return flow_op_fail_user (node, NULL, key, error, cause);
}

static gboolean
build_logic (FlowNode    *node,
             const char  *key,
             GVariant    *resume_state,
             GObject    **logic,
             GError     **error)
{
  FlowStatefulLogicBuilder builder = node->step->func.func;
  GType want = is_batch (node) ? FLOW_TYPE_STATEFUL_BATCH_LOGIC : FLOW_TYPE_STATEFUL_LOGIC;
  GError *local = NULL;
  gpointer built;

  *logic = NULL;
  built = builder (key, resume_state, node->step->func.data, &local);
  if (local != NULL)
    {
      g_clear_object (&built);
      g_prefix_error (&local, "builder: ");
      return fail_key (node, key, error, local);
    }
  if (built == NULL)
    return fail_key (node, key, error,
                     g_error_new (FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
                                  "the builder returned no logic"));
  if (!G_TYPE_CHECK_INSTANCE_TYPE (built, want))
    {
      GError *e = g_error_new (FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
                               "the builder returned a %s, not a %s",
                               G_IS_OBJECT (built) ? G_OBJECT_TYPE_NAME (built) : "value that is no GObject",
                               g_type_name (want));
      if (G_IS_OBJECT (built))
        g_object_unref (built);
      return fail_key (node, key, error, e);
    }
  *logic = built;
  return TRUE;
}

/* Emits the values @result (transfer full, nullable) that @method of the
 * logic of @key returned. */
static gboolean
emit_result (FlowNode    *node,
             char        *key,
             GVariant    *result,
             const char  *method,
             GError     **error)
{
  if (result == NULL)
    return TRUE;
  g_variant_take_ref (result);
  if (!g_variant_is_of_type (result, G_VARIANT_TYPE_ARRAY))
    {
      GError *e = g_error_new (FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
                               "%s() returned a value of type %s, not an array of values to emit",
                               method, g_variant_get_type_string (result));
      g_variant_unref (result);
      return fail_key (node, key, error, e);
    }
  flow_batch_push_array (&node->out[0], key, result);
  g_variant_unref (result);
  return TRUE;
}

typedef GVariant *(*EmitVfunc) (gpointer self, gboolean *discard, GError **error);

/* Calls on_notify or on_eof of the logic of @key and emits what it
 * returns; *@discard tells whether to drop the logic. */
static gboolean
call_emitter (FlowNode    *node,
              char        *key,
              GObject     *logic,
              gboolean     eof,
              gboolean    *discard,
              GError     **error)
{
  GError *local = NULL;
  GVariant *result;
  EmitVfunc fn;

  if (is_batch (node))
    fn = eof ? (EmitVfunc) flow_stateful_batch_logic_on_eof : (EmitVfunc) flow_stateful_batch_logic_on_notify;
  else
    fn = eof ? (EmitVfunc) flow_stateful_logic_on_eof : (EmitVfunc) flow_stateful_logic_on_notify;

  *discard = FALSE;
  result = fn (logic, discard, &local);
  if (local != NULL)
    {
      g_clear_pointer (&result, g_variant_unref);
      g_prefix_error (&local, "%s(): ", eof ? "on_eof" : "on_notify");
      return fail_key (node, key, error, local);
    }
  return emit_result (node, key, result, eof ? "on_eof" : "on_notify", error);
}

/* ------------------------------------------------------------------------
 * Activations
 * ------------------------------------------------------------------------ */

/* The keys whose logics were called in one activation (with repeats);
 * finish() goes through them in key order, once each, as Bytewax's
 * BTreeSet of awoken keys. */
typedef struct
{
  GPtrArray *keys;   /* GRefString, owned */
} Awoken;

static void
awoken_init (Awoken *aw)
{
  aw->keys = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ref_string_release);
}

static void
awoken_clear (Awoken *aw)
{
  g_ptr_array_unref (aw->keys);
}

static void
awaken (Awoken *aw,
        char   *key)
{
  g_ptr_array_add (aw->keys, g_ref_string_acquire (key));
}

static int
compare_key_refs (gconstpointer a,
                  gconstpointer b)
{
  const char *x = *(char * const *) a, *y = *(char * const *) b;

  return x == y ? 0 : strcmp (x, y);
}

/* Drops the logic of @key (and, with recovery, its state: a tombstone).
 * @st is freed when recovery is off. */
static void
discard_key (FlowNode  *node,
             char      *key,
             FlowState *st)
{
  unschedule (node, key, st);
  flow_state_set (node, key, st, NULL);
}

/* The end of an activation: notify_at, and with recovery snapshot, for
 * every logic that was called and kept. */
static gboolean
finish (FlowNode  *node,
        Awoken    *aw,
        GError   **error)
{
  gboolean batch = is_batch (node);

  g_ptr_array_sort (aw->keys, compare_key_refs);
  for (guint i = 0; i < aw->keys->len; i++)
    {
      char *key = g_ptr_array_index (aw->keys, i);
      FlowState *st;
      GError *local = NULL;
      gint64 at = 0;
      gboolean has;

      if (i > 0 && compare_key_refs (&aw->keys->pdata[i - 1], &aw->keys->pdata[i]) == 0)
        continue;
      st = flow_state_lookup (node, key);
      if (st == NULL || st->logic == NULL)
        continue;

      has = batch ? flow_stateful_batch_logic_notify_at (FLOW_STATEFUL_BATCH_LOGIC (st->logic), &at, &local)
                  : flow_stateful_logic_notify_at (FLOW_STATEFUL_LOGIC (st->logic), &at, &local);
      if (local != NULL)
        {
          g_prefix_error (&local, "notify_at(): ");
          return fail_key (node, key, error, local);
        }
      if (has)
        schedule (node, key, st, at);
      else
        unschedule (node, key, st);

      if (node->exec->track_changes)
        {
          GVariant *snap = batch ? flow_stateful_batch_logic_snapshot (FLOW_STATEFUL_BATCH_LOGIC (st->logic), &local)
                                 : flow_stateful_logic_snapshot (FLOW_STATEFUL_LOGIC (st->logic), &local);
          if (snap == NULL || local != NULL)
            {
              g_clear_pointer (&snap, g_variant_unref);
              if (local == NULL)
                local = g_error_new (FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
                                     "the logic returned no state to snapshot");
              g_prefix_error (&local, "snapshot(): ");
              return fail_key (node, key, error, local);
            }
          flow_state_set (node, key, st, g_variant_take_ref (snap));
        }
    }
  update_wake (node);
  return TRUE;
}

/* Calls on_notify for every key whose notification time is at or before
 * @now, in order of time. */
static gboolean
fire_due (FlowNode  *node,
          gint64     now,
          Awoken    *aw,
          GError   **error)
{
  Sched *s;

  while ((s = schedule_first (node)) != NULL && s->at <= now)
    {
      char *key = g_ref_string_acquire (s->key);
      FlowState *st = flow_state_lookup (node, key);
      gboolean discard;
      gboolean ok;

      /* A notification fires once; notify_at may ask for another. */
      unschedule (node, key, st);
      ok = call_emitter (node, key, st->logic, FALSE, &discard, error);
      if (ok)
        {
          if (discard)
            discard_key (node, key, st);
          else
            awaken (aw, key);
        }
      g_ref_string_release (key);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

/* Orders items by key; equal keys (often the same GRefString) keep
 * their order: g_ptr_array_sort() is a stable merge sort. */
static int
compare_item_keys (gconstpointer a,
                   gconstpointer b)
{
  const FlowItem *x = *(FlowItem * const *) a, *y = *(FlowItem * const *) b;

  return x->key == y->key ? 0 : strcmp (x->key, y->key);
}

/* The values of @items[from, to) as an `av` array (a new reference). */
static GVariant *
box_values (GPtrArray *items,
            guint      from,
            guint      to)
{
  g_autofree GVariant **boxed = g_new (GVariant *, to - from);

  for (guint i = from; i < to; i++)
    boxed[i - from] = g_variant_new_variant (((FlowItem *) g_ptr_array_index (items, i))->value);
  return g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_VARIANT, boxed, to - from));
}

/* Calls the logics of the keys of @batch, in key order. */
static gboolean
process_items (FlowNode   *node,
               FlowBatch  *batch,
               Awoken     *aw,
               GError    **error)
{
  g_autoptr(GPtrArray) items = g_ptr_array_sized_new (batch->len);
  gboolean batch_logic = is_batch (node);
  guint from, to;

  for (guint i = 0; i < batch->len; i++)
    g_ptr_array_add (items, &batch->items[i]);
  g_ptr_array_sort (items, compare_item_keys);

  for (from = 0; from < items->len; from = to)
    {
      char *key = ((FlowItem *) g_ptr_array_index (items, from))->key;
      gboolean alive = FALSE;

      for (to = from + 1; to < items->len; to++)
        {
          const char *next = ((FlowItem *) g_ptr_array_index (items, to))->key;
          if (next != key && strcmp (next, key) != 0)
            break;
        }

      for (guint i = from; i < to; i++)
        {
          FlowState *st = flow_state_lookup (node, key);
          GError *local = NULL;
          gboolean discard = FALSE;
          GVariant *result;

          if (st == NULL || st->logic == NULL)
            {
              GObject *logic;

              if (!build_logic (node, key, NULL, &logic, error))
                return FALSE;
              if (st == NULL)
                st = flow_state_ensure (node, key);
              st->logic = logic;
            }

          if (batch_logic)
            {
              GVariant *av = box_values (items, from, to);

              result = flow_stateful_batch_logic_on_batch (FLOW_STATEFUL_BATCH_LOGIC (st->logic),
                                                           av, &discard, &local);
              g_variant_unref (av);
              i = to;  /* one call for all */
            }
          else
            result = flow_stateful_logic_on_item (FLOW_STATEFUL_LOGIC (st->logic),
                                                  ((FlowItem *) g_ptr_array_index (items, i))->value,
                                                  &discard, &local);
          if (local != NULL)
            {
              g_clear_pointer (&result, g_variant_unref);
              g_prefix_error (&local, "%s(): ", batch_logic ? "on_batch" : "on_item");
              return fail_key (node, key, error, local);
            }
          if (!emit_result (node, key, result, batch_logic ? "on_batch" : "on_item", error))
            return FALSE;

          if (discard)
            {
              discard_key (node, key, st);
              alive = FALSE;
            }
          else
            alive = TRUE;
        }
      if (alive)
        awaken (aw, key);
    }
  return TRUE;
}

gboolean
flow_op_stateful_process (FlowNode   *node,
                          FlowBatch  *batch,
                          GError    **error)
{
  Awoken aw;
  gboolean ok;

  awoken_init (&aw);
  ok = process_items (node, batch, &aw, error) &&
       fire_due (node, flow_exec_get_real_time (node->exec), &aw, error) &&
       finish (node, &aw, error);
  awoken_clear (&aw);
  return ok && flow_node_emit (node, 0, error);
}

gboolean
flow_op_stateful_batch_process (FlowNode   *node,
                                FlowBatch  *batch,
                                GError    **error)
{
  return flow_op_stateful_process (node, batch, error);
}

gboolean
flow_op_stateful_wake (FlowNode  *node,
                       gint64     now,
                       GError   **error)
{
  Awoken aw;
  gboolean ok;

  awoken_init (&aw);
  ok = fire_due (node, now, &aw, error) && finish (node, &aw, error);
  awoken_clear (&aw);
  return ok && flow_node_emit (node, 0, error);
}

gboolean
flow_op_stateful_eof (FlowNode  *node,
                      GError   **error)
{
  g_autoptr(GPtrArray) keys = NULL;
  Awoken aw;
  gboolean ok;

  awoken_init (&aw);
  ok = fire_due (node, flow_exec_get_real_time (node->exec), &aw, error);

  keys = flow_state_sorted_live_keys (node);
  for (guint i = 0; ok && i < keys->len; i++)
    {
      char *key = g_ref_string_acquire (g_ptr_array_index (keys, i));
      FlowState *st = flow_state_lookup (node, key);
      gboolean discard;

      if (st->logic != NULL)
        {
          ok = call_emitter (node, key, st->logic, TRUE, &discard, error);
          if (ok && discard)
            discard_key (node, key, st);
          else if (ok)
            awaken (&aw, key);
        }
      g_ref_string_release (key);
    }

  ok = ok && finish (node, &aw, error);
  awoken_clear (&aw);
  return ok && flow_node_emit (node, 0, error);
}

/* The key's state is its logic's last snapshot (see finish()). */
GVariant *
flow_op_stateful_snapshot (FlowNode  *node,
                           FlowState *st)
{
  return st->state != NULL ? g_variant_ref (st->state) : NULL;
}

gboolean
flow_op_stateful_restore (FlowNode    *node,
                          FlowState   *st,
                          const char  *key,
                          GVariant    *state,
                          GError     **error)
{
  gpointer ref_key = NULL;
  GObject *logic;
  GError *local = NULL;
  gint64 at = 0;
  gboolean has;

  if (!build_logic (node, key, state, &logic, error))
    return FALSE;
  g_hash_table_lookup_extended (node->states, key, &ref_key, NULL);
  st->logic = logic;
  st->state = g_variant_ref (state);

  /* As Bytewax, a resumed logic is asked for its notification time. */
  has = is_batch (node) ? flow_stateful_batch_logic_notify_at (FLOW_STATEFUL_BATCH_LOGIC (logic), &at, &local)
                        : flow_stateful_logic_notify_at (FLOW_STATEFUL_LOGIC (logic), &at, &local);
  if (local != NULL)
    {
      g_prefix_error (&local, "notify_at(): ");
      return fail_key (node, key, error, local);
    }
  if (has)
    {
      schedule (node, ref_key, st, at);
      node->next_deadline = MIN (node->next_deadline, at);
    }
  return TRUE;
}

/* raises: the first item fails the run. */
gboolean
flow_op_raises_process (FlowNode   *node,
                        FlowBatch  *batch,
                        GError    **error)
{
  g_autofree char *repr = flow_op_short_repr (&batch->items[0]);

  g_set_error (error, FLOW_ERROR, FLOW_ERROR_FAILED,
               "raises step '%s' got an item: %s", node->step->full_id, repr);
  return FALSE;
}
