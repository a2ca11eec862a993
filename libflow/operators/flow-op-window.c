/* flow-op-window.c: the window operators (collect_window, count_window,
 * fold_window, reduce_window, max_window, min_window)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One keyed stateful operator, Bytewax's `_WindowLogic`: each key has a
 * clock state (its sense of time), a windower state (which windows are
 * open) and the contents of each open window. Items that are late go out
 * on port 1 (`late`), results of closed windows on port 0 (`down`), and
 * the metadata of each closed window on port 2 (`meta`), all as
 * `(key, (window_id, value))`.
 *
 * A key's next deadline (when the watermark reaches the close of one of its
 * windows, in system time) is kept in a tree of the node sorted by
 * (deadline, key): the node's wake-up is the earliest of them, and a wake
 * visits the due keys only. At the end of input every window closes.
 *
 * The snapshot of a key is one flat bytestring (`ay`, a versioned layout,
 * see flow_op_window_snapshot()): the clock's and the windower's states,
 * the last watermark, each open window's contents by id, and the values
 * queued (ordered operators) with their timestamps and inputs
 * (join_window's sides). flow_window_state_decode() turns it into the
 * readable `(vvxa{xv}a(vxu))` that restore reads and `flow-recovery show`
 * prints.
 */

#include "config.h"

#include <string.h>

#include "flow-operator-private.h"
#include "flow-time-private.h"

#define SNAPSHOT_TYPE "(vvxa{xv}a(vxu))"

/* One open window of a key. */
typedef struct
{
  gint64     id;
  gint64     count;   /* count */
  GVariant  *acc;     /* fold, reduce, max, min (owned) */
  GVariant  *by;      /* max, min: what acc compares by (cache) */
  GPtrArray *values;  /* collect: GVariant*; join: a GPtrArray of GVariant* per side */
  FlowWindowLogic *logic;  /* window */
} Slot;

/* A value waiting for the watermark (ordered operators). */
typedef struct
{
  GVariant *value;
  gint64    ts;
  guint64   seq;      /* arrival order: the sort is stable */
  guint     side;     /* join: the input it came on */
} Queued;

typedef struct _WindowNode WindowNode;

typedef struct
{
  char                 *key;       /* GRefString */
  WindowNode           *wn;
  FlowState            *st;        /* the node's state of the key, which owns this */
  FlowWindowClockState *clock;
  FlowWindowerState    *windower;
  GArray               *slots;     /* Slot */
  GArray               *queue;     /* Queued */
  gint64                last_watermark;
  gint64                deadline;  /* in wn->deadlines when != G_MAXINT64 */
  gint64                next_close; /* the windower's notify_at (G_MAXINT64: none) */
  gboolean              opened;    /* a window opened since the last settle_key() */
  guint64               serial;    /* of the last batch that touched it */
} WindowKey;

struct _WindowNode
{
  GTree     *deadlines;   /* WindowKey* by (deadline, key) -> NULL */
  GPtrArray *touched;     /* WindowKey* of the batch in progress */
  guint64    serial;
  guint64    seq;
  GArray    *ids;         /* scratch: gint64 window ids */
  GArray    *pairs;       /* scratch: merged (original, target) */
  GPtrArray *closed;      /* scratch: FlowWindowMetadata* */
  GByteArray *scratch;    /* scratch: a key's snapshot */
  GArray    *row_slots;   /* scratch: FlowWindowRowSlot of a key's snapshot */
  GArray    *row_queued;  /* scratch: FlowWindowRowQueued of a key's snapshot */
};

/* ------------------------------------------------------------------------
 * Settings, node and key data
 * ------------------------------------------------------------------------ */

static void
closure_clear (FlowClosure *c)
{
  if (c->destroy != NULL && c->data != NULL)
    c->destroy (c->data);
  c->func = c->data = NULL;
  c->destroy = NULL;
}

void
flow_window_spec_free (gpointer data)
{
  FlowWindowSpec *spec = data;

  g_clear_object (&spec->clock);
  g_clear_object (&spec->windower);
  closure_clear (&spec->builder);
  closure_clear (&spec->folder);
  closure_clear (&spec->merger);
  g_free (spec);
}

static int
compare_deadlines (gconstpointer a,
                   gconstpointer b,
                   gpointer      user_data)
{
  const WindowKey *ka = a, *kb = b;

  if (ka->deadline != kb->deadline)
    return ka->deadline < kb->deadline ? -1 : 1;
  return strcmp (ka->key, kb->key);
}

static void
window_node_free (gpointer data)
{
  WindowNode *wn = data;

  g_tree_unref (wn->deadlines);
  g_ptr_array_unref (wn->touched);
  g_array_unref (wn->ids);
  g_array_unref (wn->pairs);
  g_ptr_array_unref (wn->closed);
  g_byte_array_unref (wn->scratch);
  g_array_unref (wn->row_slots);
  g_array_unref (wn->row_queued);
  g_free (wn);
}

static WindowNode *
window_node (FlowNode *node)
{
  WindowNode *wn = node->op_data;

  if (wn == NULL)
    {
      wn = g_new0 (WindowNode, 1);
      wn->deadlines = g_tree_new_full (compare_deadlines, NULL, NULL, NULL);
      wn->touched = g_ptr_array_new ();
      wn->ids = g_array_new (FALSE, FALSE, sizeof (gint64));
      wn->pairs = g_array_new (FALSE, FALSE, sizeof (gint64));
      wn->closed = g_ptr_array_new_with_free_func ((GDestroyNotify) flow_window_metadata_unref);
      wn->scratch = g_byte_array_sized_new (64);
      wn->row_slots = g_array_new (FALSE, FALSE, sizeof (FlowWindowRowSlot));
      wn->row_queued = g_array_new (FALSE, FALSE, sizeof (FlowWindowRowQueued));
      node->op_data = wn;
      node->op_data_free = window_node_free;
    }
  return wn;
}

static inline FlowWindowSpec *
node_spec (FlowNode *node)
{
  return node->step->op_data;
}

static void
slot_clear (gpointer data)
{
  Slot *slot = data;

  g_clear_pointer (&slot->acc, g_variant_unref);
  g_clear_pointer (&slot->by, g_variant_unref);
  g_clear_pointer (&slot->values, g_ptr_array_unref);
  g_clear_object (&slot->logic);
}

static void
queued_clear (gpointer data)
{
  Queued *q = data;

  g_clear_pointer (&q->value, g_variant_unref);
}

static void
set_deadline (WindowKey *wk,
              gint64     deadline)
{
  if (wk->deadline == deadline)
    return;
  /* (Moving a deadline later is left to the wake-up, which finds the key
   * due early, closes nothing and sets its real deadline: the tree is
   * touched once per key and window rather than once per item.) */
  if (wk->deadline != G_MAXINT64)
    g_tree_remove (wk->wn->deadlines, wk);
  wk->deadline = deadline;
  if (deadline != G_MAXINT64)
    g_tree_insert (wk->wn->deadlines, wk, NULL);
}

void
flow_op_window_key_free (gpointer data)
{
  WindowKey *wk = data;

  set_deadline (wk, G_MAXINT64);
  g_clear_pointer (&wk->clock, flow_window_clock_state_unref);
  g_clear_pointer (&wk->windower, flow_windower_state_unref);
  g_array_unref (wk->slots);
  g_array_unref (wk->queue);
  g_ref_string_release (wk->key);
  g_free (wk);
}

static WindowKey *
window_key_new (WindowNode *wn,
                const char *key)
{
  WindowKey *wk = g_new0 (WindowKey, 1);

  wk->key = g_ref_string_acquire ((char *) key);
  wk->wn = wn;
  wk->slots = g_array_new (FALSE, FALSE, sizeof (Slot));
  g_array_set_clear_func (wk->slots, slot_clear);
  wk->queue = g_array_new (FALSE, FALSE, sizeof (Queued));
  g_array_set_clear_func (wk->queue, queued_clear);
  wk->last_watermark = FLOW_TIMESTAMP_MIN;
  wk->deadline = G_MAXINT64;
  wk->next_close = G_MAXINT64;
  return wk;
}

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------ */

static gboolean
fail_key (FlowNode    *node,
          const char  *key,
          GError     **error,
          GError      *cause)
{
  if (cause == NULL)
    cause = g_error_new (FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                         "the function returned no value");
  g_prefix_error (&cause, "%s step '%s' failed for key '%s': ",
                  node->step->op->name, node->step->full_id, key);
  g_propagate_error (error, cause);
  return FALSE;
}

/* Calls a user function that returns a new value (or NULL and an error);
 * returns a full reference. */
static GVariant *
take_result (GVariant  *result,
             GError    *local,
             const char *what,
             GError   **cause)
{
  if (result == NULL || local != NULL)
    {
      g_clear_pointer (&result, g_variant_unref);
      if (local == NULL)
        local = g_error_new (FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                             "the %s returned no value", what);
      else
        g_prefix_error (&local, "%s: ", what);
      *cause = local;
      return NULL;
    }
  return g_variant_take_ref (result);
}

/* ------------------------------------------------------------------------
 * Emitting
 * ------------------------------------------------------------------------ */

enum { PORT_DOWN, PORT_LATE, PORT_META };

/* The `(xv)` of (@id, a value of @type_string whose serialised form is
 * @size bytes that @store writes), built in its serialised form in one
 * buffer: the id (8 bytes), then the variant (the value's bytes, a nul,
 * its type string). The variant is the last member of the tuple, so there
 * is no framing offset; it starts at 8, aligned for any value. One
 * allocation of data and one of the GVariant, where g_variant_new("(xv)")
 * makes three values and serialises them again. */
static GVariant *
pair_new (gint64      id,
          const char *type_string,
          gsize       size,
          void      (*store) (gconstpointer src, gpointer dest),
          gconstpointer src,
          gboolean    trusted)
{
  gsize type_len = strlen (type_string);
  gsize total = 8 + size + 1 + type_len;
  guchar *buf = g_malloc (total);
  GBytes *bytes;
  GVariant *pair;

  memcpy (buf, &id, 8);
  store (src, buf + 8);
  buf[8 + size] = '\0';
  memcpy (buf + 8 + size + 1, type_string, type_len);
  bytes = g_bytes_new_take (buf, total);
  pair = g_variant_new_from_bytes (G_VARIANT_TYPE ("(xv)"), bytes, trusted);
  g_bytes_unref (bytes);
  return g_variant_ref_sink (pair);
}

static void
store_value (gconstpointer src,
             gpointer      dest)
{
  g_variant_store ((GVariant *) src, dest);
}

static void
store_int64 (gconstpointer src,
             gpointer      dest)
{
  memcpy (dest, src, 8);
}

static inline void
emit_pair (FlowNode  *node,
           guint      port,
           WindowKey *wk,
           GVariant  *pair)
{
  flow_batch_push_take (&node->out[port], g_ref_string_acquire (wk->key), pair);
}

static inline void
emit (FlowNode  *node,
      guint      port,
      WindowKey *wk,
      gint64     id,
      GVariant  *value)
{
  GVariant *pair;

  g_variant_ref_sink (value);   /* a floating value is consumed, as by g_variant_new() */
  /* (A value not in normal form, from an untrusted source, stays
   * untrusted: g_variant_is_normal_form() is immediate for the others.) */
  pair = pair_new (id, g_variant_get_type_string (value), g_variant_get_size (value),
                   store_value, value, g_variant_is_normal_form (value));
  g_variant_unref (value);
  emit_pair (node, port, wk, pair);
}

/* emit() of a count (count_window's result), without making the int64. */
static inline void
emit_count (FlowNode  *node,
            WindowKey *wk,
            gint64     id,
            gint64     count)
{
  emit_pair (node, PORT_DOWN, wk, pair_new (id, "x", 8, store_int64, &count, TRUE));
}

static void
emit_meta (FlowNode           *node,
           WindowKey          *wk,
           FlowWindowMetadata *meta)
{
  gsize n_merged;
  const gint64 *merged;
  GVariant *ids;

  if (node->edges[PORT_META]->len == 0)
    return;  /* nobody reads it */
  merged = flow_window_metadata_get_merged_ids (meta, &n_merged);
  ids = g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, merged, n_merged, sizeof (gint64));

  emit (node, PORT_META, wk, flow_window_metadata_get_window_id (meta),
        g_variant_new ("(xx@ax)", flow_window_metadata_get_open_time (meta),
                       flow_window_metadata_get_close_time (meta), ids));
}

static gboolean
emit_all (FlowNode  *node,
          GError   **error)
{
  for (guint port = 0; port < 3; port++)
    if (!flow_node_emit (node, port, error))
      return FALSE;
  return TRUE;
}

/* ------------------------------------------------------------------------
 * The logics of windows
 * ------------------------------------------------------------------------ */

static Slot *
find_slot (WindowKey *wk,
           gint64     id,
           guint     *index)
{
  /* A key has few open windows; the newest is the likeliest. */
  for (guint i = wk->slots->len; i-- > 0;)
    {
      Slot *slot = &g_array_index (wk->slots, Slot, i);
      if (slot->id == id)
        {
          if (index != NULL)
            *index = i;
          return slot;
        }
    }
  return NULL;
}

static gboolean
compare_by (FlowWindowSpec  *spec,
            GVariant        *value,
            GVariant       **by,
            GError         **cause)
{
  FlowMapFunc fn = spec->folder.func;
  GError *local = NULL;

  if (fn == NULL)
    {
      *by = g_variant_ref (value);
      return TRUE;
    }
  *by = take_result (fn (value, spec->folder.data, &local), local, "by", cause);
  return *by != NULL;
}

/* Emits each value of @values (what a window logic returned: NULL or an
 * `av`) on `down`; refuses anything else, naming the method. */
static gboolean
emit_values (FlowNode    *node,
             WindowKey   *wk,
             gint64       id,
             GVariant    *values,
             GError      *local,
             const char  *what,
             GError     **cause)
{
  GVariantIter iter;
  GVariant *child;

  if (local != NULL)
    {
      g_clear_pointer (&values, g_variant_unref);
      g_prefix_error (&local, "%s: ", what);
      *cause = local;
      return FALSE;
    }
  if (values == NULL)
    return TRUE;
  g_variant_take_ref (values);
  if (!g_variant_is_of_type (values, G_VARIANT_TYPE ("av")))
    {
      *cause = g_error_new (FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
                            "%s must return an array of values (av) or nothing, not a %s",
                            what, g_variant_get_type_string (values));
      g_variant_unref (values);
      return FALSE;
    }
  g_variant_iter_init (&iter, values);
  while ((child = g_variant_iter_next_value (&iter)))
    {
      g_autoptr(GVariant) inner = flow_variant_unbox (child);
      emit (node, PORT_DOWN, wk, id, inner);
    }
  g_variant_unref (values);
  return TRUE;
}

static GPtrArray *
join_sides_new (guint n_sides)
{
  GPtrArray *sides = g_ptr_array_new_full (n_sides, (GDestroyNotify) g_ptr_array_unref);

  for (guint i = 0; i < n_sides; i++)
    g_ptr_array_add (sides, g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref));
  return sides;
}

/* join_window: the sides and rows of a window are join's
 * (flow-op-join.c). */
static void
join_insert (FlowWindowSpec *spec,
             GPtrArray      *sides,
             guint           side,
             GVariant       *value)
{
  flow_op_join_insert (g_ptr_array_index (sides, side), value, spec->insert_mode);
}

/* Emits the rows of a join: a tuple of one value per side, for every
 * combination (a side without values is None). */
static void
join_emit (FlowNode   *node,
           WindowKey  *wk,
           gint64      id,
           GPtrArray  *sides)
{
  g_autoptr(GPtrArray) rows = flow_op_join_rows (sides);

  for (guint i = 0; i < rows->len; i++)
    emit (node, PORT_DOWN, wk, id, g_ptr_array_index (rows, i));
}

static GVariant *
join_snapshot (GPtrArray *sides)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("aav"));
  for (guint i = 0; i < sides->len; i++)
    {
      GPtrArray *values = g_ptr_array_index (sides, i);

      g_variant_builder_open (&b, G_VARIANT_TYPE ("av"));
      for (guint j = 0; j < values->len; j++)
        g_variant_builder_add (&b, "v", g_ptr_array_index (values, j));
      g_variant_builder_close (&b);
    }
  return g_variant_ref_sink (g_variant_builder_end (&b));
}

/* Folds @value into the window @id (opening its logic if needed). */
static gboolean
slot_apply (FlowNode        *node,
            FlowWindowSpec  *spec,
            WindowKey       *wk,
            gint64           id,
            GVariant        *value,
            guint            side,
            GError         **cause)
{
  Slot *slot = find_slot (wk, id, NULL);
  GError *local = NULL;

  if (slot == NULL)
    {
      Slot fresh = { .id = id };

      if (spec->kind == FLOW_WINDOW_LOGIC_CUSTOM)
        fresh.logic = g_object_new (spec->logic_type, NULL);
      else if (spec->kind == FLOW_WINDOW_LOGIC_JOIN)
        fresh.values = join_sides_new (spec->n_sides);
      else if (spec->kind == FLOW_WINDOW_LOGIC_FOLD)
        {
          FlowBuilderFunc builder = spec->builder.func;

          fresh.acc = take_result (builder (spec->builder.data, &local), local,
                                   "builder", cause);
          if (fresh.acc == NULL)
            return FALSE;
        }
      else if (spec->kind == FLOW_WINDOW_LOGIC_COLLECT)
        fresh.values = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
      g_array_append_val (wk->slots, fresh);
      slot = &g_array_index (wk->slots, Slot, wk->slots->len - 1);
      wk->opened = TRUE;

      if (spec->kind == FLOW_WINDOW_LOGIC_REDUCE || spec->kind == FLOW_WINDOW_LOGIC_MAX ||
          spec->kind == FLOW_WINDOW_LOGIC_MIN)
        {
          slot->acc = g_variant_ref (value);
          return TRUE;
        }
    }

  switch (spec->kind)
    {
    case FLOW_WINDOW_LOGIC_COUNT:
      slot->count++;
      return TRUE;

    case FLOW_WINDOW_LOGIC_CUSTOM:
      {
        GVariant *out = flow_window_logic_on_value (slot->logic, value, &local);
        return emit_values (node, wk, id, out, local, "on_value", cause);
      }

    case FLOW_WINDOW_LOGIC_JOIN:
      join_insert (spec, slot->values, side, value);
      return TRUE;

    case FLOW_WINDOW_LOGIC_COLLECT:
      g_ptr_array_add (slot->values, g_variant_ref (value));
      return TRUE;

    case FLOW_WINDOW_LOGIC_FOLD:
    case FLOW_WINDOW_LOGIC_REDUCE:
      {
        FlowFoldFunc fn = spec->folder.func;
        GVariant *acc = take_result (fn (slot->acc, value, spec->folder.data, &local), local,
                                     spec->kind == FLOW_WINDOW_LOGIC_FOLD ? "folder" : "reducer",
                                     cause);
        if (acc == NULL)
          return FALSE;
        g_variant_unref (slot->acc);
        slot->acc = acc;
        return TRUE;
      }

    case FLOW_WINDOW_LOGIC_MAX:
    case FLOW_WINDOW_LOGIC_MIN:
      {
        g_autoptr(GVariant) by_new = NULL;
        int c;

        if (slot->by == NULL && !compare_by (spec, slot->acc, &slot->by, cause))
          return FALSE;
        if (!compare_by (spec, value, &by_new, cause))
          return FALSE;
        c = flow_item_compare (by_new, slot->by);
        if (spec->kind == FLOW_WINDOW_LOGIC_MAX ? c > 0 : c < 0)
          {
            g_variant_unref (slot->acc);
            slot->acc = g_variant_ref (value);
            g_variant_unref (slot->by);
            slot->by = g_steal_pointer (&by_new);
          }
        return TRUE;
      }

    default:
      g_assert_not_reached ();
    }
}

/* Merges the window @orig into @into (Bytewax's on_merge). */
static gboolean
slot_merge (FlowNode        *node,
            FlowWindowSpec  *spec,
            WindowKey       *wk,
            Slot            *into,
            Slot            *orig,
            GError         **cause)
{
  GError *local = NULL;

  switch (spec->kind)
    {
    case FLOW_WINDOW_LOGIC_CUSTOM:
      {
        GVariant *out = flow_window_logic_on_merge (into->logic, orig->logic, &local);
        return emit_values (node, wk, into->id, out, local, "on_merge", cause);
      }

    case FLOW_WINDOW_LOGIC_JOIN:
      for (guint side = 0; side < orig->values->len; side++)
        {
          GPtrArray *values = g_ptr_array_index (orig->values, side);
          for (guint j = 0; j < values->len; j++)
            join_insert (spec, into->values, side, g_ptr_array_index (values, j));
        }
      return TRUE;

    case FLOW_WINDOW_LOGIC_COUNT:
      into->count += orig->count;
      return TRUE;

    case FLOW_WINDOW_LOGIC_COLLECT:
      for (guint i = 0; i < orig->values->len; i++)
        g_ptr_array_add (into->values, g_variant_ref (g_ptr_array_index (orig->values, i)));
      return TRUE;

    case FLOW_WINDOW_LOGIC_FOLD:
    case FLOW_WINDOW_LOGIC_REDUCE:
      {
        gboolean fold = spec->kind == FLOW_WINDOW_LOGIC_FOLD;
        FlowClosure *c = fold ? &spec->merger : &spec->folder;
        FlowFoldFunc fn = c->func;
        GVariant *acc = take_result (fn (into->acc, orig->acc, c->data, &local), local,
                                     fold ? "merger" : "reducer", cause);
        if (acc == NULL)
          return FALSE;
        g_variant_unref (into->acc);
        into->acc = acc;
        return TRUE;
      }

    case FLOW_WINDOW_LOGIC_MAX:
    case FLOW_WINDOW_LOGIC_MIN:
      {
        int c;

        if (into->by == NULL && !compare_by (spec, into->acc, &into->by, cause))
          return FALSE;
        if (orig->by == NULL && !compare_by (spec, orig->acc, &orig->by, cause))
          return FALSE;
        c = flow_item_compare (orig->by, into->by);
        if (spec->kind == FLOW_WINDOW_LOGIC_MAX ? c > 0 : c < 0)
          {
            g_variant_unref (into->acc);
            into->acc = g_variant_ref (orig->acc);
            g_variant_unref (into->by);
            into->by = g_variant_ref (orig->by);
          }
        return TRUE;
      }

    default:
      g_assert_not_reached ();
    }
}

/* What a closing window emits (Bytewax's on_close): a new reference. */
static GVariant *
slot_result (FlowWindowSpec *spec,
             Slot           *slot)
{
  switch (spec->kind)
    {
    case FLOW_WINDOW_LOGIC_COUNT:
      return g_variant_ref_sink (g_variant_new_int64 (slot->count));

    case FLOW_WINDOW_LOGIC_COLLECT:
      {
        GVariantBuilder b;

        g_variant_builder_init (&b, G_VARIANT_TYPE ("av"));
        for (guint i = 0; i < slot->values->len; i++)
          g_variant_builder_add (&b, "v", g_ptr_array_index (slot->values, i));
        return g_variant_ref_sink (g_variant_builder_end (&b));
      }

    default:
      return g_variant_ref (slot->acc);
    }
}

/* The snapshot of a window's contents. */
static GVariant *
slot_snapshot (FlowNode       *node,
               FlowWindowSpec *spec,
               WindowKey      *wk,
               Slot           *slot)
{
  switch (spec->kind)
    {
    case FLOW_WINDOW_LOGIC_CUSTOM:
      {
        g_autoptr(GError) local = NULL;
        GVariant *state = flow_window_logic_snapshot (slot->logic, &local);

        if (state != NULL && local == NULL)
          return g_variant_take_ref (state);
        g_clear_pointer (&state, g_variant_unref);
        /* A snapshot cannot fail here: the window is stored without state
         * (restored with restore(None)), and the failure logged. */
        g_critical ("%s step '%s': the snapshot of window %" G_GINT64_FORMAT " of key '%s' failed: %s",
                    node->step->op->name, node->step->full_id, slot->id, wk->key,
                    local ? local->message : "snapshot() returned nothing");
        return g_variant_ref_sink (g_variant_new_maybe (G_VARIANT_TYPE_VARIANT, NULL));
      }
    case FLOW_WINDOW_LOGIC_JOIN:
      return join_snapshot (slot->values);
    case FLOW_WINDOW_LOGIC_COUNT:
    case FLOW_WINDOW_LOGIC_COLLECT:
      return slot_result (spec, slot);
    default:
      return g_variant_ref (slot->acc);
    }
}

static gboolean
slot_restore (FlowWindowSpec  *spec,
              Slot            *slot,
              GVariant        *state,
              GError         **cause)
{
  switch (spec->kind)
    {
    case FLOW_WINDOW_LOGIC_CUSTOM:
      slot->logic = g_object_new (spec->logic_type, NULL);
      if (!flow_window_logic_restore (slot->logic, state, cause))
        {
          if (*cause == NULL)
            *cause = g_error_new (FLOW_ERROR, FLOW_ERROR_USER_FUNCTION, "restore() failed");
          return FALSE;
        }
      return TRUE;

    case FLOW_WINDOW_LOGIC_JOIN:
      {
        gsize n;

        if (!g_variant_is_of_type (state, G_VARIANT_TYPE ("aav")) ||
            g_variant_n_children (state) != spec->n_sides)
          return FALSE;
        n = g_variant_n_children (state);
        slot->values = join_sides_new (n);
        for (gsize i = 0; i < n; i++)
          {
            g_autoptr(GVariant) side = g_variant_get_child_value (state, i);
            for (gsize j = 0; j < g_variant_n_children (side); j++)
              g_ptr_array_add (g_ptr_array_index (slot->values, i),
                               flow_variant_unbox (g_variant_get_child_value (side, j)));
          }
        return TRUE;
      }

    case FLOW_WINDOW_LOGIC_COUNT:
      if (!g_variant_is_of_type (state, G_VARIANT_TYPE_INT64))
        return FALSE;
      slot->count = g_variant_get_int64 (state);
      return TRUE;

    case FLOW_WINDOW_LOGIC_COLLECT:
      {
        gsize n;

        if (!g_variant_is_of_type (state, G_VARIANT_TYPE ("av")))
          return FALSE;
        n = g_variant_n_children (state);
        slot->values = g_ptr_array_new_full (n, (GDestroyNotify) g_variant_unref);
        for (gsize i = 0; i < n; i++)
          g_ptr_array_add (slot->values, flow_variant_unbox (g_variant_get_child_value (state, i)));
        return TRUE;
      }

    default:
      slot->acc = g_variant_ref (state);
      return TRUE;
    }
}

/* ------------------------------------------------------------------------
 * A key's windows
 * ------------------------------------------------------------------------ */

/* Puts a value on time into its windows. */
static gboolean
insert (FlowNode   *node,
        WindowKey  *wk,
        GVariant   *value,
        gint64      ts,
        guint       side,
        GError    **error)
{
  FlowWindowSpec *spec = node_spec (node);
  WindowNode *wn = wk->wn;
  GError *cause = NULL;

  g_array_set_size (wn->ids, 0);
  flow_windower_state_open_for_into (wk->windower, ts, wn->ids);
  for (guint i = 0; i < wn->ids->len; i++)
    if (!slot_apply (node, spec, wk, g_array_index (wn->ids, gint64, i), value, side, &cause))
      return fail_key (node, wk->key, error, cause);
  return TRUE;
}

static int
compare_queued (gconstpointer a,
                gconstpointer b)
{
  const Queued *qa = a, *qb = b;

  if (qa->ts != qb->ts)
    return qa->ts < qb->ts ? -1 : 1;
  return qa->seq < qb->seq ? -1 : qa->seq > qb->seq;
}

/* Applies the queued values the watermark reached, in timestamp order. */
static gboolean
flush_queue (FlowNode   *node,
             WindowKey  *wk,
             gint64      watermark,
             GError    **error)
{
  guint n = 0;
  gboolean ok = TRUE;

  if (wk->queue->len == 0)
    return TRUE;
  g_array_sort (wk->queue, compare_queued);
  while (n < wk->queue->len && g_array_index (wk->queue, Queued, n).ts <= watermark)
    n++;
  for (guint i = 0; ok && i < n; i++)
    {
      Queued *q = &g_array_index (wk->queue, Queued, i);
      ok = insert (node, wk, q->value, q->ts, q->side, error);
    }
  if (n > 0)
    g_array_remove_range (wk->queue, 0, n);
  return ok;
}

/* Merges, then closes what @watermark closes (Bytewax's _handle_merged
 * and _handle_closed). */
static gboolean
merge_and_close (FlowNode   *node,
                 WindowKey  *wk,
                 gint64      watermark,
                 GError    **error)
{
  FlowWindowSpec *spec = node_spec (node);
  WindowNode *wn = wk->wn;
  GError *cause = NULL;

  if (spec->ordered && !flush_queue (node, wk, watermark, error))
    return FALSE;

  g_array_set_size (wn->pairs, 0);
  flow_windower_state_take_merged_into (wk->windower, wn->pairs);
  for (guint i = 0; i + 1 < wn->pairs->len; i += 2)
    {
      gint64 orig_id = g_array_index (wn->pairs, gint64, i);
      gint64 into_id = g_array_index (wn->pairs, gint64, i + 1);
      guint orig_index;
      Slot *orig, *into;
      Slot taken;
      gboolean ok;

      if (orig_id == into_id)
        continue;
      orig = find_slot (wk, orig_id, &orig_index);
      if (orig == NULL)
        continue;
      taken = *orig;
      memset (orig, 0, sizeof *orig);   /* taken owns its contents now */
      g_array_remove_index (wk->slots, orig_index);
      into = find_slot (wk, into_id, NULL);
      if (into == NULL)
        {
          taken.id = into_id;
          g_array_append_val (wk->slots, taken);
          continue;
        }
      ok = slot_merge (node, spec, wk, into, &taken, &cause);
      slot_clear (&taken);
      if (!ok)
        return fail_key (node, wk->key, error, cause);
    }

  g_ptr_array_set_size (wn->closed, 0);
  flow_windower_state_close_for_into (wk->windower, watermark, wn->closed);
  for (guint i = 0; i < wn->closed->len; i++)
    {
      FlowWindowMetadata *meta = g_ptr_array_index (wn->closed, i);
      gint64 id = flow_window_metadata_get_window_id (meta);
      guint index;
      Slot *slot = find_slot (wk, id, &index);

      if (slot != NULL)
        {
          gboolean ok = TRUE;

          if (spec->kind == FLOW_WINDOW_LOGIC_CUSTOM)
            {
              GError *local = NULL;
              GVariant *out = flow_window_logic_on_close (slot->logic, &local);
              ok = emit_values (node, wk, id, out, local, "on_close", &cause);
            }
          else if (spec->kind == FLOW_WINDOW_LOGIC_JOIN)
            join_emit (node, wk, id, slot->values);
          else if (spec->kind == FLOW_WINDOW_LOGIC_COUNT)
            emit_count (node, wk, id, slot->count);
          else
            {
              g_autoptr(GVariant) result = slot_result (spec, slot);
              emit (node, PORT_DOWN, wk, id, result);
            }
          g_array_remove_index (wk->slots, index);
          if (!ok)
            return fail_key (node, wk->key, error, cause);
        }
      emit_meta (node, wk, meta);
    }
  g_ptr_array_set_size (wn->closed, 0);
  /* Clocks and windowers written outside libflow: their failures since
   * the last call, and their snapshots (flow-time-private.h). */
  if (!flow_window_clock_state_settle (wk->clock, node->exec->track_changes, &cause) ||
      !flow_windower_state_settle (wk->windower, node->exec->track_changes, &cause))
    return fail_key (node, wk->key, error, cause);
  return TRUE;
}

/* The system time at which @wk must be woken (G_MAXINT64: never). */
static gint64
key_deadline (WindowKey *wk)
{
  gint64 at = G_MAXINT64, wake;
  gboolean found;

  found = flow_windower_state_notify_at (wk->windower, &at);
  wk->next_close = found ? at : G_MAXINT64;
  for (guint i = 0; i < wk->queue->len; i++)
    {
      gint64 ts = g_array_index (wk->queue, Queued, i).ts;
      if (!found || ts < at)
        at = ts;
      found = TRUE;
    }
  if (!found || !flow_window_clock_state_to_system_utc (wk->clock, at, &wake))
    return G_MAXINT64;
  return wake;
}

/* After a batch, a wake-up or the end of input: discards an empty key,
 * or schedules its next deadline. */
static void
settle_key (FlowNode  *node,
            FlowState *st,
            WindowKey *wk)
{
  char *key = wk->key;
  gint64 deadline;

  if (wk->slots->len == 0 && wk->queue->len == 0 &&
      flow_windower_state_is_empty (wk->windower))
    {
      /* flow_state_set() frees wk (and its key) and may drop st. */
      g_autoptr(GRefString) ref = g_ref_string_acquire (key);
      flow_state_set (node, ref, st, NULL);
      return;
    }
  deadline = key_deadline (wk);
  if (deadline < wk->deadline)
    set_deadline (wk, deadline);
  wk->opened = FALSE;
  flow_state_touch (node, key, st);
}

/* Whether a batch left @wk with nothing to merge, flush or close: no
 * window opened, none can merge, nothing queued, and the watermark is
 * before the earliest close. Its deadline may still have come earlier
 * (an event clock's watermark moving faster than system time). */
static gboolean
quiet_key (FlowNode       *node,
           FlowWindowSpec *spec,
           WindowKey      *wk)
{
  gint64 wake;

  if (wk->opened || spec->ordered || wk->slots->len == 0 ||
      wk->last_watermark >= wk->next_close || FLOW_IS_SESSION_WINDOWER (spec->windower) ||
      flow_windower_state_is_custom (wk->windower) || flow_window_clock_state_is_custom (wk->clock))
    return FALSE;
  if (flow_window_clock_state_to_system_utc (wk->clock, wk->next_close, &wake) &&
      wake < wk->deadline)
    set_deadline (wk, wake);
  flow_state_touch (node, wk->key, wk->st);
  return TRUE;
}

/* Sets the node's wake-up at the earliest deadline of its keys. */
static void
reschedule (FlowNode *node)
{
  WindowNode *wn = node->op_data;
  GTreeNode *first = wn ? g_tree_node_first (wn->deadlines) : NULL;
  gint64 next = first ? ((WindowKey *) g_tree_node_key (first))->deadline : G_MAXINT64;

  if (next != node->next_deadline)
    {
      node->next_deadline = next;
      flow_exec_schedule_wake (node->exec, node);
    }
}

static WindowKey *
ensure_key (FlowNode    *node,
            WindowNode  *wn,
            char        *key,
            FlowState   *st)
{
  FlowWindowSpec *spec = node_spec (node);
  WindowKey *wk;

  if (st == NULL)
    st = flow_state_ensure (node, key);
  wk = st->window;

  if (wk == NULL)
    {
      wk = window_key_new (wn, key);
      wk->clock = flow_window_clock_new_state (spec->clock);
      wk->windower = flow_windower_new_state (spec->windower);
      wk->st = st;
      st->window = wk;
    }
  return wk;
}

/* ------------------------------------------------------------------------
 * The operator
 * ------------------------------------------------------------------------ */

static gboolean
process_value (FlowNode   *node,
               WindowNode *wn,
               WindowKey  *wk,
               FlowItem   *item,
               GVariant   *value,
               GError    **error)
{
  FlowWindowSpec *spec = node_spec (node);
  GError *local = NULL;
  gint64 ts, wm;

  if (wk->serial != wn->serial)
    {
      wk->serial = wn->serial;
      flow_window_clock_state_before_batch (wk->clock);
      g_ptr_array_add (wn->touched, wk);
    }

  if (!flow_window_clock_state_on_item (wk->clock, value, &ts, &wm, &local))
    return fail_key (node, wk->key, error, local);
  /* The clocks never go back; should one, time stands still. */
  wm = MAX (wm, wk->last_watermark);
  wk->last_watermark = wm;

  if (ts < wm)
    {
      g_array_set_size (wn->ids, 0);
      flow_windower_state_late_for_into (wk->windower, ts, wn->ids);
      if (node->edges[PORT_LATE]->len > 0)
        for (guint i = 0; i < wn->ids->len; i++)
          emit (node, PORT_LATE, wk, g_array_index (wn->ids, gint64, i), value);
      return TRUE;
    }

  if (spec->ordered)
    {
      Queued q = { g_variant_ref (value), ts, wn->seq++, node->in_port };
      g_array_append_val (wk->queue, q);
      return TRUE;
    }
  return insert (node, wk, value, ts, node->in_port, error);
}

/* count_window: the key of an item is its key function's (a GRefString
 * of the state table or of @keys). */
static char *
count_key (FlowNode    *node,
           FlowItem    *item,
           GHashTable  *keys,
           FlowState  **st,
           GError     **error)
{
  FlowKeyFunc fn = node->step->func.func;
  GError *local = NULL;
  g_autofree char *key = fn (item->value, node->step->func.data, &local);
  char *ref;

  if (key == NULL || local != NULL)
    {
      if (local == NULL)
        local = g_error_new (FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                             "the key function returned no key");
      flow_op_fail_user (node, item, NULL, error, local);
      return NULL;
    }
  if (!g_utf8_validate (key, -1, NULL))
    {
      flow_op_fail_user (node, item, NULL, error,
                         g_error_new (FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                                      "the key function returned a key that is not UTF-8"));
      return NULL;
    }
  {
    gpointer table_key, value;

    if (g_hash_table_lookup_extended (node->states, key, &table_key, &value))
      {
        *st = value;
        return table_key;
      }
  }
  ref = g_hash_table_lookup (keys, key);
  if (ref == NULL)
    {
      ref = g_ref_string_new (key);
      g_hash_table_add (keys, ref);
    }
  return ref;
}

gboolean
flow_op_window_process (FlowNode   *node,
                        FlowBatch  *batch,
                        GError    **error)
{
  gboolean keyed = (node->step->op->flags & FLOW_OPERATOR_KEYED) != 0;
  FlowWindowSpec *spec = node_spec (node);
  WindowNode *wn = window_node (node);
  g_autoptr(GHashTable) keys = NULL;
  char *last_key = NULL;
  WindowKey *wk = NULL;
  gboolean ok = TRUE;

  wn->serial++;
  g_ptr_array_set_size (wn->touched, 0);
  flow_window_clock_set_batch_time (flow_exec_get_real_time (node->exec));
  if (!keyed)
    keys = g_hash_table_new_full (g_str_hash, g_str_equal,
                                  (GDestroyNotify) g_ref_string_release, NULL);

  for (guint i = 0; ok && i < batch->len; i++)
    {
      FlowItem *item = &batch->items[i];
      GVariant *packed = NULL;
      GVariant *value;
      FlowState *st = NULL;
      char *key;

      if (keyed)
        {
          key = item->key;
          value = item->value;
          st = NULL;
        }
      else
        {
          key = count_key (node, item, keys, &st, error);
          if (key == NULL)
            {
              ok = FALSE;
              break;
            }
          value = item->key ? (packed = flow_item_pack (item)) : item->value;
        }

      /* Items of one key often come together. */
      if (key != last_key && (last_key == NULL || strcmp (key, last_key) != 0))
        {
          if (st == NULL)
            st = g_hash_table_lookup (node->states, key);
          wk = ensure_key (node, wn, key, st);
          last_key = key;
        }
      ok = process_value (node, wn, wk, item, value, error);
      g_clear_pointer (&packed, g_variant_unref);
    }

  /* Bytewax's: merges and closes once per batch, with the last watermark. */
  for (guint i = 0; ok && i < wn->touched->len; i++)
    {
      wk = g_ptr_array_index (wn->touched, i);
      if (quiet_key (node, spec, wk))
        g_ptr_array_index (wn->touched, i) = NULL;
      else
        ok = merge_and_close (node, wk, wk->last_watermark, error);
    }
  for (guint i = 0; ok && i < wn->touched->len; i++)
    {
      wk = g_ptr_array_index (wn->touched, i);
      if (wk != NULL)
        settle_key (node, wk->st, wk);
    }
  g_ptr_array_set_size (wn->touched, 0);
  flow_window_clock_set_batch_time (0);
  if (!ok)
    return FALSE;
  reschedule (node);
  return emit_all (node, error);
}

static int
compare_keys (gconstpointer a,
              gconstpointer b)
{
  const WindowKey *ka = *(WindowKey * const *) a, *kb = *(WindowKey * const *) b;

  return strcmp (ka->key, kb->key);
}

/* Notifies the keys in @due: their watermark now (or at the end of input),
 * the windows it closes. */
static gboolean
notify_keys (FlowNode   *node,
             GPtrArray  *due,
             gboolean    eof,
             GError    **error)
{
  FlowClock *clock = node->exec->clock;
  gboolean ok = TRUE;

  /* The clocks read the system time of the run's clock. */
  flow_clock_push_thread_default (clock);
  for (guint i = 0; ok && i < due->len; i++)
    {
      WindowKey *wk = g_ptr_array_index (due, i);
      gint64 wm = eof ? flow_window_clock_state_on_eof (wk->clock)
                      : flow_window_clock_state_on_notify (wk->clock);

      wm = MAX (wm, wk->last_watermark);
      wk->last_watermark = wm;
      ok = merge_and_close (node, wk, wm, error);
    }
  for (guint i = 0; ok && i < due->len; i++)
    {
      WindowKey *wk = g_ptr_array_index (due, i);
      settle_key (node, wk->st, wk);
    }
  flow_clock_pop_thread_default (clock);
  if (!ok)
    return FALSE;
  return emit_all (node, error);
}

gboolean
flow_op_window_wake (FlowNode  *node,
                     gint64     now,
                     GError   **error)
{
  WindowNode *wn = window_node (node);
  g_autoptr(GPtrArray) due = g_ptr_array_new ();
  GTreeNode *tn;
  gboolean ok;

  for (tn = g_tree_node_first (wn->deadlines); tn != NULL; tn = g_tree_node_next (tn))
    {
      WindowKey *wk = g_tree_node_key (tn);
      if (wk->deadline > now)
        break;
      g_ptr_array_add (due, wk);
    }
  /* Due keys that wake and find nothing to close leave the tree until
   * something changes; settle_key() sets their next deadline. */
  for (guint i = 0; i < due->len; i++)
    set_deadline (g_ptr_array_index (due, i), G_MAXINT64);
  ok = notify_keys (node, due, FALSE, error);
  node->next_deadline = G_MAXINT64;
  {
    GTreeNode *first = g_tree_node_first (wn->deadlines);
    if (first != NULL)
      node->next_deadline = ((WindowKey *) g_tree_node_key (first))->deadline;
  }
  return ok;
}

gboolean
flow_op_window_eof (FlowNode  *node,
                    GError   **error)
{
  g_autoptr(GPtrArray) all = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;
  gboolean ok;

  g_hash_table_iter_init (&iter, node->states);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      FlowState *st = value;
      if (st->window != NULL)
        g_ptr_array_add (all, st->window);
    }
  g_ptr_array_sort (all, compare_keys);
  ok = notify_keys (node, all, TRUE, error);
  node->next_deadline = G_MAXINT64;
  return ok;
}

/* ------------------------------------------------------------------------
 * Snapshots
 * ------------------------------------------------------------------------ */

/* The layout of a key's state, version 2 (docs/recovery-format.md), the
 * one written. Integers are zigzag LEB128 varints; every time is written
 * against one already in the row where it can be, and fields equal to
 * their defaults are not written:
 *
 * - a header byte: FLOW_WINDOW_ROW_V2 | clock kind << 5 | flags
 *   (flow-time-private.h);
 * - the clock: an event clock (kind 2): its watermark base, then the
 *   system time of its greatest event minus that base; a system clock
 *   (kind 1): nothing; any other clock (kind 0): its version 1 encoding
 *   (a FlowTimeCode tag and its fields);
 * - FLOW_WINDOW_ROW_WATERMARK: the last watermark, minus the watermark base
 *   for an event clock (not written: the base), else as it is (not
 *   written: FLOW_TIMESTAMP_MIN);
 * - the windower: FLOW_WINDOW_ROW_FIXED (tumbling, sliding): the number n
 *   of open windows, then if n > 0 the fingerprint of its
 *   parameters (4 bytes, little-endian), the first id and each next id minus the previous one
 *   minus 1 (open and close times follow from the ids); otherwise a
 *   FlowTimeCode tag and its fields: a session windower's compact form
 *   (FLOW_TIME_CODE_SESSION_WINDOWER, its times against the row's anchor:
 *   the watermark base of an event clock, else the last watermark), or
 *   the version 1 encoding of any other;
 * - the open windows: FLOW_WINDOW_ROW_IDS: their number, then for each its
 *   id minus the previous one (the first: minus 0) and its contents;
 *   otherwise they are the windower's open windows, in order, and each
 *   gives its contents only. Contents: FLOW_WINDOW_ROW_COUNTS: a count;
 *   otherwise a serialised GVariant (type string, NUL, varint size, data);
 * - FLOW_WINDOW_ROW_QUEUE: the number of queued values, then for each its
 *   timestamp minus the last watermark, its input and the value as a
 *   serialised GVariant.
 *
 * Version 1 (still read): "FW", the version byte 1, then the last
 * watermark; the clock's state and the windower's state (each a
 * FlowTimeCode tag and its fields, flow-time-private.h); the number of
 * open windows, then for each its id, a tag byte ('c' and a varint count,
 * or 'v' and a serialised GVariant); the number of queued values, then for
 * each its timestamp, its input and the value as a serialised GVariant. */
#define SLOT_TAG_COUNT 'c'
#define SLOT_TAG_VARIANT 'v'

#define ROW_CLOCK_TAGGED 0
#define ROW_CLOCK_SYSTEM 1
#define ROW_CLOCK_EVENT 2

/* The row being written: @p in out->data, with room up to @end. */
typedef struct
{
  GByteArray *out;
  guint8     *p;
  guint8     *end;
} RowWriter;

static void
row_grow (RowWriter *w,
          gsize      more)
{
  gsize used = w->p - w->out->data;

  g_byte_array_set_size (w->out, MAX (used + more, (gsize) w->out->len * 2));
  w->p = w->out->data + used;
  w->end = w->out->data + w->out->len;
}

static inline void
row_need (RowWriter *w,
          gsize      more)
{
  if (G_UNLIKELY ((gsize) (w->end - w->p) < more))
    row_grow (w, more);
}

static inline void
row_varint (RowWriter *w,
            gint64     value)
{
  row_need (w, FLOW_TIME_VARINT_MAX);
  w->p = flow_time_write_varint (w->p, value);
}

static void
row_variant (RowWriter *w,
             GVariant  *value)
{
  const char *type = g_variant_get_type_string (value);
  gsize type_len = strlen (type) + 1;
  gsize size = g_variant_get_size (value);

  row_need (w, type_len + FLOW_TIME_VARINT_MAX + size);
  memcpy (w->p, type, type_len);
  w->p = flow_time_write_varint (w->p + type_len, (gint64) size);
  /* (Not g_variant_store(): it needs a destination aligned for the type.) */
  if (size > 0)
    memcpy (w->p, g_variant_get_data (value), size);
  w->p += size;
}

/* Appends what a version 1 encoder appends to the byte array. */
static void
row_tagged (RowWriter            *w,
            FlowWindowClockState *clock,
            FlowWindowerState    *windower,
            gint64                anchor)
{
  gsize used = w->p - w->out->data;

  g_byte_array_set_size (w->out, used);
  if (clock != NULL)
    flow_window_clock_state_encode (clock, w->out);
  else
    flow_windower_state_encode_anchored (windower, anchor, w->out);
  used = w->out->len;
  w->p = w->out->data + used;
  w->end = w->p;
}

/* The `ay` of @data, trusted: any `ay` is in normal form, so the store's
 * serialisation takes it as it is instead of checking it
 * (g_variant_new_fixed_array() makes an untrusted value). One copy. */
static GVariant *
bytestring_new (const guint8 *data,
                gsize         n)
{
  GBytes *bytes = g_bytes_new (data, n);
  GVariant *v = g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, bytes, TRUE);

  g_bytes_unref (bytes);
  return g_variant_ref_sink (v);
}

GVariant *
flow_window_state_encode (GByteArray                *scratch,
                          FlowWindowClockState      *clock,
                          FlowWindowerState         *windower,
                          gint64                     last_watermark,
                          const FlowWindowRowSlot   *slots,
                          guint                      n_slots,
                          gboolean                   counts,
                          const FlowWindowRowQueued *queued,
                          guint                      n_queued)
{
  RowWriter w = { scratch, NULL, NULL };
  const gint64 *windows = NULL;
  guint n_windows = 0;
  guint32 fingerprint = 0;
  gboolean fixed = flow_windower_state_peek_fixed (windower, &windows, &n_windows, &fingerprint);
  gint64 t0 = 0, base = 0, anchor = FLOW_TIMESTAMP_MIN, time_anchor, prev;
  guint8 flags = FLOW_WINDOW_ROW_V2;
  FlowTimeCode code = flow_window_clock_state_peek (clock, &t0, &base);

  /* Room for the usual row at once: header, clock, watermark, windower
   * and contents of counts. */
  g_byte_array_set_size (scratch, 4 * FLOW_TIME_VARINT_MAX + 2 +
                                  (n_windows + n_slots) * 2 * FLOW_TIME_VARINT_MAX);
  w.p = scratch->data;
  w.end = scratch->data + scratch->len;
  w.p++;  /* the header, written last */

  switch (code)
    {
    case FLOW_TIME_CODE_EVENT_CLOCK:
      flags |= ROW_CLOCK_EVENT << FLOW_WINDOW_ROW_CLOCK_SHIFT;
      w.p = flow_time_write_varint (w.p, base);
      w.p = flow_time_write_varint (w.p, (gint64) ((guint64) t0 - (guint64) base));
      anchor = base;
      break;
    case FLOW_TIME_CODE_SYSTEM_CLOCK:
      flags |= ROW_CLOCK_SYSTEM << FLOW_WINDOW_ROW_CLOCK_SHIFT;
      break;
    default:
      row_tagged (&w, clock, NULL, 0);
      break;
    }

  /* The default watermark: the base of an event clock, otherwise a key's
   * first (written as it is). */
  /* The time other times of the row are written against: the watermark
   * base of an event clock, else the last watermark. */
  time_anchor = code == FLOW_TIME_CODE_EVENT_CLOCK ? base : last_watermark;
  if (last_watermark != anchor)
    {
      flags |= FLOW_WINDOW_ROW_WATERMARK;
      row_varint (&w, code == FLOW_TIME_CODE_EVENT_CLOCK ?
                        (gint64) ((guint64) last_watermark - (guint64) anchor) : last_watermark);
    }

  if (fixed)
    {
      flags |= FLOW_WINDOW_ROW_FIXED;
      row_need (&w, 4 + (n_windows + 1) * FLOW_TIME_VARINT_MAX);
      w.p = flow_time_write_varint (w.p, n_windows);
      if (n_windows > 0)
        {
          for (guint i = 0; i < 4; i++)   /* little-endian */
            *w.p++ = (guint8) (fingerprint >> (8 * i));
          w.p = flow_time_write_varint (w.p, windows[0]);
          for (guint i = 1; i < n_windows; i++)
            w.p = flow_time_write_varint (w.p, (gint64) ((guint64) windows[3 * i] -
                                                        (guint64) windows[3 * (i - 1)] - 1));
        }
    }
  else
    row_tagged (&w, NULL, windower, time_anchor);

  /* The windows' ids are the windower's unless said otherwise. */
  if (!fixed || n_slots != n_windows)
    flags |= FLOW_WINDOW_ROW_IDS;
  else
    for (guint i = 0; i < n_slots; i++)
      if (slots[i].id != windows[3 * i])
        {
          flags |= FLOW_WINDOW_ROW_IDS;
          break;
        }
  if (flags & FLOW_WINDOW_ROW_IDS)
    row_varint (&w, n_slots);
  if (counts)
    flags |= FLOW_WINDOW_ROW_COUNTS;
  prev = 0;
  for (guint i = 0; i < n_slots; i++)
    {
      if (flags & FLOW_WINDOW_ROW_IDS)
        {
          row_varint (&w, (gint64) ((guint64) slots[i].id - (guint64) prev));
          prev = slots[i].id;
        }
      if (counts)
        row_varint (&w, slots[i].count);
      else
        row_variant (&w, slots[i].contents);
    }

  if (n_queued > 0)
    {
      flags |= FLOW_WINDOW_ROW_QUEUE;
      row_varint (&w, n_queued);
      for (guint i = 0; i < n_queued; i++)
        {
          row_varint (&w, (gint64) ((guint64) queued[i].ts - (guint64) last_watermark));
          row_varint (&w, queued[i].side);
          row_variant (&w, queued[i].value);
        }
    }

  w.out->data[0] = flags;
  return bytestring_new (w.out->data, w.p - w.out->data);
}

GVariant *
flow_op_window_snapshot (FlowNode  *node,
                         FlowState *st)
{
  FlowWindowSpec *spec = node_spec (node);
  WindowKey *wk = st->window;
  WindowNode *wn = window_node (node);
  gboolean counts = spec->kind == FLOW_WINDOW_LOGIC_COUNT;
  FlowWindowRowSlot *slots;
  FlowWindowRowQueued *queued;
  GVariant *row;

  g_array_set_size (wn->row_slots, wk->slots->len);
  slots = (FlowWindowRowSlot *) (gpointer) wn->row_slots->data;
  for (guint i = 0; i < wk->slots->len; i++)
    {
      Slot *slot = &g_array_index (wk->slots, Slot, i);

      slots[i].id = slot->id;
      slots[i].count = slot->count;
      slots[i].contents = counts ? NULL : slot_snapshot (node, spec, wk, slot);
    }
  g_array_set_size (wn->row_queued, wk->queue->len);
  queued = (FlowWindowRowQueued *) (gpointer) wn->row_queued->data;
  for (guint i = 0; i < wk->queue->len; i++)
    {
      Queued *q = &g_array_index (wk->queue, Queued, i);

      queued[i].value = q->value;
      queued[i].ts = q->ts;
      queued[i].side = q->side;
    }

  row = flow_window_state_encode (wn->scratch, wk->clock, wk->windower, wk->last_watermark,
                                  slots, wk->slots->len, counts, queued, wk->queue->len);

  if (!counts)
    for (guint i = 0; i < wk->slots->len; i++)
      g_variant_unref (slots[i].contents);
  return row;
}

/* The header byte of a version 2 row, or -1. */
static int
row_v2_header (const guint8 *data,
               gsize         n)
{
  guint8 h;

  if (n < 1 || (data[0] & FLOW_WINDOW_ROW_V2) == 0)
    return -1;
  h = data[0];
  if ((h >> FLOW_WINDOW_ROW_CLOCK_SHIFT & 3) > ROW_CLOCK_EVENT)
    return -1;
  /* The ids are implied only by a tumbling or sliding windower. */
  if ((h & (FLOW_WINDOW_ROW_FIXED | FLOW_WINDOW_ROW_IDS)) == 0)
    return -1;
  return h;
}

gboolean
flow_window_state_is_encoded (GVariant *state)
{
  const guint8 *data;
  gsize n;

  if (!g_variant_is_of_type (state, G_VARIANT_TYPE_BYTESTRING))
    return FALSE;
  data = g_variant_get_fixed_array (state, &n, 1);
  if (n >= 3 && data[0] == FLOW_WINDOW_STATE_MAGIC[0] && data[1] == FLOW_WINDOW_STATE_MAGIC[1])
    return TRUE;
  return row_v2_header (data, n) >= 0;
}

/* Reads a window's contents (@counts: a count; else a serialised
 * GVariant): a new reference, or NULL. */
static GVariant *
read_contents (const guint8 **p,
               const guint8  *end,
               gboolean       counts)
{
  gint64 c;

  if (!counts)
    return flow_time_get_variant (p, end);
  if (!flow_time_get_varint (p, end, &c))
    return NULL;
  return g_variant_ref_sink (g_variant_new_int64 (c));
}

/* Reads @count queued values (each: timestamp (+ @ts_base), input, value)
 * into the open `a(vxu)` of @b. */
static gboolean
read_queue (const guint8   **p,
            const guint8    *end,
            gint64           count,
            gint64           ts_base,
            GVariantBuilder *b)
{
  for (gint64 i = 0; i < count; i++)
    {
      g_autoptr(GVariant) value = NULL;
      gint64 ts, side;

      if (!flow_time_get_varint (p, end, &ts) || !flow_time_get_varint (p, end, &side) ||
          side < 0 || side > G_MAXUINT32 || (value = flow_time_get_variant (p, end)) == NULL)
        return FALSE;
      g_variant_builder_add (b, "(vxu)", value, (gint64) ((guint64) ts + (guint64) ts_base),
                             (guint32) side);
    }
  return TRUE;
}

static gboolean
decode_v1 (const guint8    *p,
           const guint8    *end,
           GVariantBuilder *b,
           const char     **what,
           const guint8   **at)
{
  g_autoptr(GVariant) clock = NULL;
  g_autoptr(GVariant) windower = NULL;
  gint64 watermark, count;

#define FAIL(w) G_STMT_START { *what = (w); *at = p; return FALSE; } G_STMT_END
  if (!flow_time_get_varint (&p, end, &watermark))
    FAIL ("watermark");
  if ((clock = flow_time_decode_snapshot (&p, end)) == NULL)
    FAIL ("clock");
  if ((windower = flow_time_decode_snapshot (&p, end)) == NULL)
    FAIL ("windower");
  g_variant_builder_add (b, "v", clock);
  g_variant_builder_add (b, "v", windower);
  g_variant_builder_add (b, "x", watermark);

  if (!flow_time_get_varint (&p, end, &count) || count < 0 || count > end - p)
    FAIL ("windows");
  g_variant_builder_open (b, G_VARIANT_TYPE ("a{xv}"));
  for (gint64 i = 0; i < count; i++)
    {
      g_autoptr(GVariant) contents = NULL;
      gint64 id;
      guint8 tag;

      if (!flow_time_get_varint (&p, end, &id) || p >= end)
        FAIL ("windows");
      tag = *p++;
      if (tag == SLOT_TAG_COUNT || tag == SLOT_TAG_VARIANT)
        contents = read_contents (&p, end, tag == SLOT_TAG_COUNT);
      if (contents == NULL)
        FAIL ("windows");
      g_variant_builder_add (b, "{xv}", id, contents);
    }
  g_variant_builder_close (b);

  g_variant_builder_open (b, G_VARIANT_TYPE ("a(vxu)"));
  if (!flow_time_get_varint (&p, end, &count) || count < 0 || count > end - p ||
      !read_queue (&p, end, count, 0, b))
    FAIL ("queue");
  g_variant_builder_close (b);
  if (p != end)
    FAIL ("end");
  return TRUE;
#undef FAIL
}

static gboolean
decode_v2 (const guint8    *p,
           const guint8    *end,
           FlowWindower    *step_windower,
           GVariantBuilder *b,
           const char     **what,
           const guint8   **at,
           GError         **error)
{
  g_autoptr(GVariant) clock = NULL;
  g_autoptr(GVariant) windower = NULL;
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint8 h = *p++;
  gint64 anchor = FLOW_TIMESTAMP_MIN, time_anchor, watermark, count, prev;
  gboolean explicit_ids = (h & FLOW_WINDOW_ROW_IDS) != 0;

#define FAIL(w) G_STMT_START { *what = (w); *at = p; return FALSE; } G_STMT_END
  switch (h >> FLOW_WINDOW_ROW_CLOCK_SHIFT & 3)
    {
    case ROW_CLOCK_EVENT:
      {
        gint64 base, delta;

        if (!flow_time_get_varint (&p, end, &base) || !flow_time_get_varint (&p, end, &delta))
          FAIL ("clock");
        clock = g_variant_ref_sink (g_variant_new ("(xx)", (gint64) ((guint64) base + (guint64) delta),
                                                   base));
        anchor = base;
        break;
      }
    case ROW_CLOCK_SYSTEM:
      clock = g_variant_ref_sink (g_variant_new_tuple (NULL, 0));
      break;
    default:
      if ((clock = flow_time_decode_snapshot (&p, end)) == NULL)
        FAIL ("clock");
      break;
    }

  watermark = anchor;
  if (h & FLOW_WINDOW_ROW_WATERMARK)
    {
      gint64 delta;

      if (!flow_time_get_varint (&p, end, &delta))
        FAIL ("watermark");
      watermark = (h >> FLOW_WINDOW_ROW_CLOCK_SHIFT & 3) == ROW_CLOCK_EVENT ?
                    (gint64) ((guint64) anchor + (guint64) delta) : delta;
    }
  time_anchor = (h >> FLOW_WINDOW_ROW_CLOCK_SHIFT & 3) == ROW_CLOCK_EVENT ? anchor : watermark;

  if (h & FLOW_WINDOW_ROW_FIXED)
    {
      guint32 fingerprint = 0;

      if (!flow_time_get_varint (&p, end, &count) || count < 0 || count > end - p)
        FAIL ("windower");
      if (count > 0)
        {
          gint64 id, step;

          if (end - p < 4)
            FAIL ("windower");
          fingerprint = (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 |
                        (guint32) p[3] << 24;
          p += 4;
          if (!flow_time_get_varint (&p, end, &id))
            FAIL ("windower");
          g_array_append_val (ids, id);
          for (gint64 i = 1; i < count; i++)
            {
              if (!flow_time_get_varint (&p, end, &step) || step < 0 ||
                  (guint64) step >= G_MAXINT64 - (guint64) id)
                FAIL ("windower");
              id += step + 1;
              g_array_append_val (ids, id);
            }
        }
      if (step_windower == NULL)
        windower = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, ids->data,
                                                                  ids->len, sizeof (gint64)));
      else
        {
          windower = flow_windower_fixed_snapshot (step_windower, fingerprint,
                                                   (const gint64 *) (gpointer) ids->data,
                                                   ids->len, error);
          if (windower == NULL)
            return FALSE;
        }
    }
  else if ((windower = flow_time_decode_snapshot_anchored (&p, end, time_anchor)) == NULL)
    FAIL ("windower");
  g_variant_builder_add (b, "v", clock);
  g_variant_builder_add (b, "v", windower);
  g_variant_builder_add (b, "x", watermark);

  count = ids->len;
  if (explicit_ids && (!flow_time_get_varint (&p, end, &count) || count < 0 || count > end - p))
    FAIL ("windows");
  g_variant_builder_open (b, G_VARIANT_TYPE ("a{xv}"));
  prev = 0;
  for (gint64 i = 0; i < count; i++)
    {
      g_autoptr(GVariant) contents = NULL;
      gint64 id;

      if (explicit_ids)
        {
          if (!flow_time_get_varint (&p, end, &id))
            FAIL ("windows");
          id = prev = (gint64) ((guint64) prev + (guint64) id);
        }
      else
        id = g_array_index (ids, gint64, i);
      if ((contents = read_contents (&p, end, (h & FLOW_WINDOW_ROW_COUNTS) != 0)) == NULL)
        FAIL ("windows");
      g_variant_builder_add (b, "{xv}", id, contents);
    }
  g_variant_builder_close (b);

  g_variant_builder_open (b, G_VARIANT_TYPE ("a(vxu)"));
  if (h & FLOW_WINDOW_ROW_QUEUE)
    {
      if (!flow_time_get_varint (&p, end, &count) || count < 1 || count > end - p ||
          !read_queue (&p, end, count, watermark, b))
        FAIL ("queue");
    }
  g_variant_builder_close (b);
  if (p != end)
    FAIL ("end");
  return TRUE;
#undef FAIL
}

GVariant *
flow_window_state_decode (GVariant      *state,
                          FlowWindower  *windower,
                          GError       **error)
{
  GVariantBuilder b;
  const guint8 *start, *end, *at = NULL;
  gsize n;
  const char *what = "header";
  GError *local = NULL;
  gboolean ok;

  if (!flow_window_state_is_encoded (state))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                   "not a window state (type %s, or no window state header)",
                   g_variant_get_type_string (state));
      return NULL;
    }
  start = g_variant_get_fixed_array (state, &n, 1);
  end = start + n;
  g_variant_builder_init (&b, G_VARIANT_TYPE (SNAPSHOT_TYPE));
  if (start[0] == FLOW_WINDOW_STATE_MAGIC[0] && start[1] == FLOW_WINDOW_STATE_MAGIC[1])
    {
      if (start[2] != FLOW_WINDOW_STATE_VERSION)
        {
          g_variant_builder_clear (&b);
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                       "window state version %u, this libflow reads versions 1 and 2",
                       start[2]);
          return NULL;
        }
      ok = decode_v1 (start + 3, end, &b, &what, &at);
    }
  else
    ok = decode_v2 (start, end, windower, &b, &what, &at, &local);
  if (ok)
    return g_variant_ref_sink (g_variant_builder_end (&b));

  g_variant_builder_clear (&b);
  if (local != NULL)
    g_propagate_error (error, local);
  else
    g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                 "the window state is malformed (at its %s, byte %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT ")",
                 what, (gsize) (MIN (at, end) - start), n);
  return NULL;
}

gboolean
flow_op_window_restore (FlowNode    *node,
                        FlowState   *st,
                        const char  *key,
                        GVariant    *state,
                        GError     **error)
{
  FlowWindowSpec *spec = node_spec (node);
  WindowNode *wn = window_node (node);
  g_autoptr(GVariant) clock_snap = NULL;
  g_autoptr(GVariant) windower_snap = NULL;
  g_autoptr(GVariant) slots = NULL;
  g_autoptr(GVariant) queue = NULL;
  g_autoptr(GError) local = NULL;
  WindowKey *wk;
  gpointer table_key;
  gint64 last_watermark;
  gsize n;

  g_autoptr(GVariant) decoded = flow_window_state_decode (state, spec->windower, &local);

  if (decoded == NULL && g_error_matches (local, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "%s step '%s': cannot resume the windows of key '%s' "
                   "(was the step's clock or windower changed?): %s",
                   node->step->op->name, node->step->full_id, key, local->message);
      return FALSE;
    }
  if (decoded == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                   "%s step '%s': the stored windows of key '%s' cannot be read "
                   "(a recovery directory of an older libflow?): %s",
                   node->step->op->name, node->step->full_id, key, local->message);
      return FALSE;
    }
  state = decoded;
  g_variant_get (state, "(vvx@a{xv}@a(vxu))", &clock_snap, &windower_snap,
                 &last_watermark, &slots, &queue);

  /* The table's GRefString of the key (flow_node_restore() made it). */
  if (!g_hash_table_lookup_extended (node->states, key, &table_key, NULL))
    g_return_val_if_reached (FALSE);
  wk = window_key_new (wn, table_key);
  wk->st = st;
  st->window = wk;
  wk->last_watermark = last_watermark;
  wk->clock = flow_window_clock_restore_state (spec->clock, clock_snap, &local);
  if (wk->clock != NULL)
    wk->windower = flow_windower_restore_state (spec->windower, windower_snap, &local);
  if (wk->clock == NULL || wk->windower == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "%s step '%s': cannot resume the windows of key '%s' "
                   "(was the step's clock or windower changed?): %s",
                   node->step->op->name, node->step->full_id, key, local->message);
      g_clear_pointer (&st->window, flow_op_window_key_free);
      return FALSE;
    }

  n = g_variant_n_children (slots);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) s = NULL;
      Slot slot = { 0 };
      GError *cause = NULL;

      g_variant_get_child (slots, i, "{xv}", &slot.id, &s);
      if (!slot_restore (spec, &slot, s, &cause))
        {
          if (cause != NULL)
            {
              g_prefix_error (&cause, "%s step '%s': cannot restore window %" G_GINT64_FORMAT
                              " of key '%s': ", node->step->op->name, node->step->full_id,
                              slot.id, key);
              g_propagate_error (error, cause);
            }
          else
            g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                         "%s step '%s': the stored window %" G_GINT64_FORMAT
                         " of key '%s' has type %s, which this operator does not keep",
                         node->step->op->name, node->step->full_id, slot.id, key,
                         g_variant_get_type_string (s));
          slot_clear (&slot);
          g_clear_pointer (&st->window, flow_op_window_key_free);
          return FALSE;
        }
      g_array_append_val (wk->slots, slot);
    }

  n = g_variant_n_children (queue);
  for (gsize i = 0; i < n; i++)
    {
      Queued q = { NULL, 0, wn->seq++, 0 };

      g_variant_get_child (queue, i, "(vxu)", &q.value, &q.ts, &q.side);
      if (q.side >= MAX (spec->n_sides, 1))
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                       "%s step '%s': a stored value of key '%s' came on input %u, "
                       "which the step does not have",
                       node->step->op->name, node->step->full_id, key, q.side);
          g_variant_unref (q.value);
          g_clear_pointer (&st->window, flow_op_window_key_free);
          return FALSE;
        }
      g_array_append_val (wk->queue, q);
    }

  /* The deadline is not stored: it follows from the windows and the
   * clock. The run's clock is not the thread's yet: compute it with the
   * execution's. */
  flow_clock_push_thread_default (node->exec->clock);
  set_deadline (wk, key_deadline (wk));
  flow_clock_pop_thread_default (node->exec->clock);
  if (wk->deadline < node->next_deadline)
    node->next_deadline = wk->deadline;
  return TRUE;
}
