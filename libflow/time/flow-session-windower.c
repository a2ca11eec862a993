/* flow-session-windower.c: FlowSessionWindower
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Bytewax's _SessionWindowerLogic: the per-key state is the open sessions
 * in the order they were created, the last id given, and the merges not
 * yet taken by the operator.
 */

#include "config.h"

#include <gio/gio.h>

#include "flow-error.h"
#include "flow-time-private.h"

typedef struct
{
  gint64  id;
  gint64  open_time;
  gint64  close_time;     /* inclusive: the last item's timestamp */
  GArray *merged_ids;     /* gint64, NULL when none */
} Session;

typedef struct
{
  gint64  max_key;
  GArray *sessions;       /* Session, in creation order */
  GArray *merge_queue;    /* gint64 pairs (original, target) */
} SessionState;

struct _FlowSessionWindower
{
  FlowWindower parent_instance;

  GTimeSpan    gap;
};

static void
session_clear (gpointer data)
{
  Session *s = data;

  g_clear_pointer (&s->merged_ids, g_array_unref);
}

static SessionState *
session_state_new_empty (void)
{
  SessionState *st = g_new0 (SessionState, 1);

  st->max_key = FLOW_LATE_SESSION_ID;
  st->sessions = g_array_new (FALSE, FALSE, sizeof (Session));
  g_array_set_clear_func (st->sessions, session_clear);
  st->merge_queue = g_array_new (FALSE, FALSE, sizeof (gint64));
  return st;
}

static gpointer
session_state_new (FlowWindower *windower)
{
  return session_state_new_empty ();
}

static void
session_state_free (gpointer data)
{
  SessionState *st = data;

  g_array_unref (st->sessions);
  g_array_unref (st->merge_queue);
  g_free (st);
}

static void
add_merged_id (Session *target,
               gint64   id)
{
  if (target->merged_ids == NULL)
    target->merged_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_array_append_val (target->merged_ids, id);
}

typedef struct
{
  guint  index;
  gint64 open_time;
} SortEntry;

static int
compare_open (gconstpointer a,
              gconstpointer b,
              gpointer      user_data)
{
  const SortEntry *x = a, *y = b;

  if (x->open_time != y->open_time)
    return x->open_time < y->open_time ? -1 : 1;
  return (x->index > y->index) - (x->index < y->index);
}

/* Bytewax's _session_find_merges: sessions sorted by open time, each
 * within the gap of the last kept one merges into it. */
static void
find_merges (SessionState *st,
             gint64        gap)
{
  guint n = st->sessions->len;
  g_autofree SortEntry *sorted = NULL;
  g_autofree gboolean *dead = NULL;
  guint last;
  guint kept = 0;

  if (n < 2)
    return;

  sorted = g_new (SortEntry, n);
  dead = g_new0 (gboolean, n);
  for (guint i = 0; i < n; i++)
    {
      sorted[i].index = i;
      sorted[i].open_time = g_array_index (st->sessions, Session, i).open_time;
    }
  g_qsort_with_data (sorted, n, sizeof (SortEntry), compare_open, NULL);

  last = sorted[0].index;
  for (guint k = 1; k < n; k++)
    {
      Session *last_s = &g_array_index (st->sessions, Session, last);
      Session *this_s = &g_array_index (st->sessions, Session, sorted[k].index);

      if (this_s->open_time - last_s->close_time <= gap)
        {
          last_s->close_time = MAX (last_s->close_time, this_s->close_time);
          g_array_append_val (st->merge_queue, this_s->id);
          g_array_append_val (st->merge_queue, last_s->id);
          add_merged_id (last_s, this_s->id);
          /* Not in Bytewax (which keeps only this_s->id): the sessions
           * merged into this_s earlier were merged into last_s too. */
          if (this_s->merged_ids != NULL)
            for (guint j = 0; j < this_s->merged_ids->len; j++)
              add_merged_id (last_s, g_array_index (this_s->merged_ids, gint64, j));
          dead[sorted[k].index] = TRUE;
        }
      else
        last = sorted[k].index;
    }

  /* Drop the merged sessions, keeping the others in creation order. */
  for (guint i = 0; i < n; i++)
    {
      Session *s = &g_array_index (st->sessions, Session, i);

      if (dead[i])
        session_clear (s);
      else
        {
          if (kept != i)
            g_array_index (st->sessions, Session, kept) = *s;
          kept++;
        }
    }
  /* The moved-out slots were copied, not cleared: shrink without the
   * clear function. */
  g_array_set_clear_func (st->sessions, NULL);
  g_array_set_size (st->sessions, kept);
  g_array_set_clear_func (st->sessions, session_clear);
}

static void
session_open_for (FlowWindower *windower,
                  gpointer      data,
                  gint64        timestamp,
                  GArray       *ids)
{
  SessionState *st = data;
  gint64 gap = flow_session_windower_get_gap (FLOW_SESSION_WINDOWER (windower));
  Session fresh = { 0, };

  for (guint i = 0; i < st->sessions->len; i++)
    {
      Session *s = &g_array_index (st->sessions, Session, i);
      gint64 id = s->id;
      gint64 until_open = s->open_time - timestamp;
      gint64 since_close = timestamp - s->close_time;

      if (until_open <= 0 && since_close <= 0)
        {
          /* Within a session: no boundary moves, no merge. */
          g_array_append_val (ids, id);
          return;
        }
      else if (until_open > 0 && until_open <= gap)
        {
          s->open_time = timestamp;
          find_merges (st, gap);
          g_array_append_val (ids, id);
          return;
        }
      else if (since_close > 0 && since_close <= gap)
        {
          s->close_time = timestamp;
          find_merges (st, gap);
          g_array_append_val (ids, id);
          return;
        }
    }

  /* Outside every session (and beyond the gap of each): a new one. */
  st->max_key++;
  fresh.id = st->max_key;
  fresh.open_time = fresh.close_time = timestamp;
  g_array_append_val (st->sessions, fresh);
  g_array_append_val (ids, fresh.id);
}

static void
session_late_for (FlowWindower *windower,
                  gpointer      data,
                  gint64        timestamp,
                  GArray       *ids)
{
  gint64 id = FLOW_LATE_SESSION_ID;

  g_array_append_val (ids, id);
}

static void
session_take_merged (FlowWindower *windower,
                     gpointer      data,
                     GArray       *pairs)
{
  SessionState *st = data;

  g_array_append_vals (pairs, st->merge_queue->data, st->merge_queue->len);
  g_array_set_size (st->merge_queue, 0);
}

static int
compare_closed (gconstpointer a,
                gconstpointer b)
{
  FlowWindowMetadata *x = *(FlowWindowMetadata * const *) a;
  FlowWindowMetadata *y = *(FlowWindowMetadata * const *) b;
  gint64 cx = flow_window_metadata_get_close_time (x);
  gint64 cy = flow_window_metadata_get_close_time (y);
  gint64 ix = flow_window_metadata_get_window_id (x);
  gint64 iy = flow_window_metadata_get_window_id (y);

  if (cx != cy)
    return cx < cy ? -1 : 1;
  return (ix > iy) - (ix < iy);
}

static void
session_close_for (FlowWindower *windower,
                   gpointer      data,
                   gint64        watermark,
                   GPtrArray    *closed)
{
  SessionState *st = data;
  gint64 gap = flow_session_windower_get_gap (FLOW_SESSION_WINDOWER (windower));
  gint64 close_after;
  guint first = closed->len;
  guint kept = 0;

  /* Bytewax: watermark - gap, or UTC_MIN when that is not representable. */
  close_after = watermark - gap;
  if (close_after < FLOW_TIMESTAMP_MIN)
    close_after = FLOW_TIMESTAMP_MIN;

  for (guint i = 0; i < st->sessions->len; i++)
    {
      Session *s = &g_array_index (st->sessions, Session, i);

      if (s->close_time < close_after)
        {
          g_ptr_array_add (closed,
                           flow_window_metadata_new (s->id, s->open_time, s->close_time,
                                                     s->merged_ids ? (gint64 *) (gpointer) s->merged_ids->data : NULL,
                                                     s->merged_ids ? s->merged_ids->len : 0));
          session_clear (s);
        }
      else
        {
          if (kept != i)
            g_array_index (st->sessions, Session, kept) = *s;
          kept++;
        }
    }
  g_array_set_clear_func (st->sessions, NULL);
  g_array_set_size (st->sessions, kept);
  g_array_set_clear_func (st->sessions, session_clear);

  if (closed->len - first > 1)
    qsort (closed->pdata + first, closed->len - first, sizeof (gpointer), compare_closed);
}

static gboolean
session_notify_at (FlowWindower *windower,
                   gpointer      data,
                   gint64       *notify_at)
{
  SessionState *st = data;
  gint64 gap = flow_session_windower_get_gap (FLOW_SESSION_WINDOWER (windower));
  gint64 min_close = G_MAXINT64;

  if (st->sessions->len == 0)
    return FALSE;
  for (guint i = 0; i < st->sessions->len; i++)
    min_close = MIN (min_close, g_array_index (st->sessions, Session, i).close_time);
  /* Bytewax says min_close + gap, but a session closes only once the
   * watermark is strictly past that: the first watermark that closes it
   * is one microsecond later. */
  *notify_at = min_close + gap + 1;
  return TRUE;
}

static gboolean
session_is_empty (FlowWindower *windower,
                  gpointer      data)
{
  /* Never: the last id must be kept so that ids are not reused. */
  return FALSE;
}

static GVariant *
session_snapshot (FlowWindower *windower,
                  gpointer      data)
{
  SessionState *st = data;
  GVariantBuilder sessions, queue;

  g_variant_builder_init (&sessions, G_VARIANT_TYPE ("a(xxxax)"));
  for (guint i = 0; i < st->sessions->len; i++)
    {
      Session *s = &g_array_index (st->sessions, Session, i);
      GVariantBuilder merged;

      g_variant_builder_init (&merged, G_VARIANT_TYPE ("ax"));
      if (s->merged_ids != NULL)
        for (guint j = 0; j < s->merged_ids->len; j++)
          g_variant_builder_add (&merged, "x", g_array_index (s->merged_ids, gint64, j));
      g_variant_builder_add (&sessions, "(xxxax)", s->id, s->open_time, s->close_time,
                             &merged);
    }
  g_variant_builder_init (&queue, G_VARIANT_TYPE ("a(xx)"));
  for (guint i = 0; i + 1 < st->merge_queue->len; i += 2)
    g_variant_builder_add (&queue, "(xx)",
                           g_array_index (st->merge_queue, gint64, i),
                           g_array_index (st->merge_queue, gint64, i + 1));
  return g_variant_new ("(xa(xxxax)a(xx))", st->max_key, &sessions, &queue);
}

static gpointer
session_restore (FlowWindower *windower,
                 GVariant     *snapshot,
                 GError      **error)
{
  SessionState *st = session_state_new_empty ();
  g_autoptr(GVariantIter) sessions = NULL;
  g_autoptr(GVariantIter) queue = NULL;
  g_autoptr(GVariantIter) merged = NULL;
  Session s = { 0, };
  gint64 a, b;

  g_variant_get (snapshot, "(xa(xxxax)a(xx))", &st->max_key, &sessions, &queue);
  while (g_variant_iter_next (sessions, "(xxxax)", &s.id, &s.open_time, &s.close_time, &merged))
    {
      gint64 m;

      s.merged_ids = NULL;
      while (g_variant_iter_next (merged, "x", &m))
        add_merged_id (&s, m);
      g_clear_pointer (&merged, g_variant_iter_free);
      g_array_append_val (st->sessions, s);
      if (s.id < 0 || s.id > st->max_key || s.open_time > s.close_time)
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                       "the snapshot's session %" G_GINT64_FORMAT " is not a valid "
                       "session (last id %" G_GINT64_FORMAT ", open %" G_GINT64_FORMAT
                       ", close %" G_GINT64_FORMAT ")",
                       s.id, st->max_key, s.open_time, s.close_time);
          session_state_free (st);
          return NULL;
        }
    }
  while (g_variant_iter_next (queue, "(xx)", &a, &b))
    {
      g_array_append_val (st->merge_queue, a);
      g_array_append_val (st->merge_queue, b);
    }
  return st;
}

static void
session_encode_anchored (FlowWindower *windower,
                         gpointer      data,
                         gint64        anchor,
                         GByteArray   *out)
{
  SessionState *st = data;
  guint8 tag = FLOW_TIME_CODE_SESSION_WINDOWER;
  gint64 prev = 0;

  g_byte_array_append (out, &tag, 1);
  flow_time_put_varint (out, st->max_key);
  flow_time_put_varint (out, st->sessions->len);
  for (guint i = 0; i < st->sessions->len; i++)
    {
      Session *s = &g_array_index (st->sessions, Session, i);
      guint n_merged = s->merged_ids != NULL ? s->merged_ids->len : 0;
      gint64 prev_merged = s->id;

      flow_time_put_varint (out, (gint64) ((guint64) s->id - (guint64) prev));
      prev = s->id;
      flow_time_put_varint (out, (gint64) ((guint64) s->open_time - (guint64) anchor));
      flow_time_put_varint (out, (gint64) ((guint64) s->close_time - (guint64) s->open_time));
      flow_time_put_varint (out, n_merged);
      for (guint j = 0; j < n_merged; j++)
        {
          gint64 m = g_array_index (s->merged_ids, gint64, j);

          flow_time_put_varint (out, (gint64) ((guint64) m - (guint64) prev_merged));
          prev_merged = m;
        }
    }
  flow_time_put_varint (out, st->merge_queue->len / 2);
  for (guint i = 0; i + 1 < st->merge_queue->len; i += 2)
    {
      flow_time_put_varint (out, g_array_index (st->merge_queue, gint64, i));
      flow_time_put_varint (out, g_array_index (st->merge_queue, gint64, i + 1));
    }
}

GVariant *
flow_session_windower_decode (const guint8 **p,
                              const guint8  *end,
                              gint64         anchor)
{
  GVariantBuilder sessions, queue;
  gint64 max_key, n, prev = 0;

  if (!flow_time_get_varint (p, end, &max_key) ||
      !flow_time_get_varint (p, end, &n) || n < 0 || n > end - *p)
    return NULL;
  g_variant_builder_init (&sessions, G_VARIANT_TYPE ("a(xxxax)"));
  for (gint64 i = 0; i < n; i++)
    {
      gint64 id, open, len, n_merged, prev_merged;
      GVariantBuilder merged;

      if (!flow_time_get_varint (p, end, &id) || !flow_time_get_varint (p, end, &open) ||
          !flow_time_get_varint (p, end, &len) || !flow_time_get_varint (p, end, &n_merged) ||
          n_merged < 0 || n_merged > end - *p)
        goto bad;
      id = prev = (gint64) ((guint64) prev + (guint64) id);
      open = (gint64) ((guint64) open + (guint64) anchor);
      g_variant_builder_init (&merged, G_VARIANT_TYPE ("ax"));
      prev_merged = id;
      for (gint64 j = 0; j < n_merged; j++)
        {
          gint64 m;

          if (!flow_time_get_varint (p, end, &m))
            {
              g_variant_builder_clear (&merged);
              goto bad;
            }
          prev_merged = (gint64) ((guint64) prev_merged + (guint64) m);
          g_variant_builder_add (&merged, "x", prev_merged);
        }
      g_variant_builder_add (&sessions, "(xxxax)", id, open,
                             (gint64) ((guint64) open + (guint64) len), &merged);
    }
  if (!flow_time_get_varint (p, end, &n) || n < 0 || n > end - *p)
    goto bad;
  g_variant_builder_init (&queue, G_VARIANT_TYPE ("a(xx)"));
  for (gint64 i = 0; i < n; i++)
    {
      gint64 a, b;

      if (!flow_time_get_varint (p, end, &a) || !flow_time_get_varint (p, end, &b))
        {
          g_variant_builder_clear (&queue);
          goto bad;
        }
      g_variant_builder_add (&queue, "(xx)", a, b);
    }
  return g_variant_ref_sink (g_variant_new ("(xa(xxxax)a(xx))", max_key, &sessions, &queue));

bad:
  g_variant_builder_clear (&sessions);
  return NULL;
}

static const FlowWindowerOps session_ops = {
  .snapshot_type = "(xa(xxxax)a(xx))",
  .state_new = session_state_new,
  .state_free = session_state_free,
  .open_for = session_open_for,
  .late_for = session_late_for,
  .take_merged = session_take_merged,
  .close_for = session_close_for,
  .notify_at = session_notify_at,
  .is_empty = session_is_empty,
  .snapshot = session_snapshot,
  .restore = session_restore,
  .encode_anchored = session_encode_anchored,
};

/**
 * FlowSessionWindower:
 *
 * Session windows (Bytewax's `SessionWindower`): a session lasts as long
 * as its items come less than `gap` apart. An item within the gap before
 * or after a session joins it; an item farther from every session opens a
 * new one, with the next id of the key (0, 1, 2, ...). When a session grows
 * to within the gap of another, the two merge into the one that opened
 * first: the window operator learns it from
 * [method@Flow.WindowerState.take_merged], and the target's metadata lists
 * the merged ids.
 *
 * A session closes once the watermark is more than `gap` past its last
 * item. Items that are late get the id %FLOW_LATE_SESSION_ID.
 *
 * Bytewax allows a gap of zero; libflow refuses it (a zero gap makes a
 * session per distinct timestamp, which is never what is meant).
 */

static void session_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FlowSessionWindower, flow_session_windower, FLOW_TYPE_WINDOWER,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, session_initable_iface_init))

enum {
  PROP_0,
  PROP_GAP,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean
session_initable_init (GInitable     *initable,
                       GCancellable  *cancellable,
                       GError       **error)
{
  FlowSessionWindower *self = FLOW_SESSION_WINDOWER (initable);

  return flow_time_check_span ("the session window gap", self->gap, error);
}

static void
session_initable_iface_init (GInitableIface *iface)
{
  iface->init = session_initable_init;
}

static void
flow_session_windower_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  FlowSessionWindower *self = FLOW_SESSION_WINDOWER (object);

  switch (prop_id)
    {
    case PROP_GAP:
      g_value_set_int64 (value, self->gap);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_session_windower_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  FlowSessionWindower *self = FLOW_SESSION_WINDOWER (object);

  switch (prop_id)
    {
    case PROP_GAP:
      self->gap = g_value_get_int64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_session_windower_class_init (FlowSessionWindowerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = flow_session_windower_get_property;
  object_class->set_property = flow_session_windower_set_property;

  /**
   * FlowSessionWindower:gap:
   *
   * The inactivity, in microseconds, after which a session closes.
   */
  properties[PROP_GAP] =
    g_param_spec_int64 ("gap", NULL, NULL, 1, FLOW_TIME_SPAN_MAX, G_USEC_PER_SEC,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  flow_windower_class_set_ops (FLOW_WINDOWER_CLASS (klass), &session_ops);
}

static void
flow_session_windower_init (FlowSessionWindower *self)
{
}

/**
 * flow_session_windower_new:
 * @gap: the inactivity after which a session closes, in microseconds
 *   (positive)
 * @error: return location for a #GError
 *
 * Creates a session windower.
 *
 * Returns: (transfer full): the new windower, or %NULL with @error set
 *   (%FLOW_ERROR_INVALID_ARGUMENT) when @gap is not positive
 */
FlowSessionWindower *
flow_session_windower_new (GTimeSpan   gap,
                           GError    **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!flow_time_check_span ("the session window gap", gap, error))
    return NULL;
  return g_initable_new (FLOW_TYPE_SESSION_WINDOWER, NULL, error, "gap", gap, NULL);
}

/**
 * flow_session_windower_get_gap:
 * @self: a session windower
 *
 * Gets the inactivity after which a session closes.
 *
 * Returns: the gap, in microseconds
 */
GTimeSpan
flow_session_windower_get_gap (FlowSessionWindower *self)
{
  g_return_val_if_fail (FLOW_IS_SESSION_WINDOWER (self), 0);

  return self->gap;
}
