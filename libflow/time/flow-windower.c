/* flow-windower.c: FlowWindower, FlowWindowerState and FlowWindowMetadata
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "flow-error.h"
#include "flow-time-private.h"

/* FlowWindowMetadata ---------------------------------------------------- */

struct _FlowWindowMetadata
{
  gatomicrefcount ref_count;
  gint64          window_id;
  gint64          open_time;
  gint64          close_time;
  gsize           n_merged_ids;
  gint64          merged_ids[];
};

G_DEFINE_BOXED_TYPE (FlowWindowMetadata, flow_window_metadata,
                     flow_window_metadata_ref, flow_window_metadata_unref)

static int
compare_gint64 (gconstpointer a,
                gconstpointer b,
                gpointer      user_data)
{
  gint64 x = *(const gint64 *) a;
  gint64 y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

/**
 * flow_window_metadata_new:
 * @window_id: the id of the window
 * @open_time: when the window opened, µs since the Unix epoch (UTC)
 * @close_time: when the window closed, µs since the Unix epoch (UTC)
 * @merged_ids: (array length=n_merged_ids) (nullable): the ids of the
 *   windows merged into this one
 * @n_merged_ids: the length of @merged_ids
 *
 * Creates window metadata. The merged ids are kept sorted, without
 * duplicates.
 *
 * Returns: (transfer full): the new metadata
 */
FlowWindowMetadata *
flow_window_metadata_new (gint64        window_id,
                          gint64        open_time,
                          gint64        close_time,
                          const gint64 *merged_ids,
                          gsize         n_merged_ids)
{
  FlowWindowMetadata *self;
  gsize n = 0;

  g_return_val_if_fail (merged_ids != NULL || n_merged_ids == 0, NULL);

  self = g_malloc (sizeof (FlowWindowMetadata) + n_merged_ids * sizeof (gint64));
  g_atomic_ref_count_init (&self->ref_count);
  self->window_id = window_id;
  self->open_time = open_time;
  self->close_time = close_time;
  if (n_merged_ids > 0)
    {
      memcpy (self->merged_ids, merged_ids, n_merged_ids * sizeof (gint64));
      g_qsort_with_data (self->merged_ids, n_merged_ids, sizeof (gint64),
                         compare_gint64, NULL);
      for (gsize i = 0; i < n_merged_ids; i++)
        if (n == 0 || self->merged_ids[n - 1] != self->merged_ids[i])
          self->merged_ids[n++] = self->merged_ids[i];
    }
  self->n_merged_ids = n;
  return self;
}

/**
 * flow_window_metadata_ref:
 * @self: a window metadata
 *
 * Takes a reference.
 *
 * Returns: (transfer full): @self
 */
FlowWindowMetadata *
flow_window_metadata_ref (FlowWindowMetadata *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * flow_window_metadata_unref:
 * @self: (transfer full): a window metadata
 *
 * Drops a reference; frees the metadata when it was the last.
 */
void
flow_window_metadata_unref (FlowWindowMetadata *self)
{
  g_return_if_fail (self != NULL);

  if (g_atomic_ref_count_dec (&self->ref_count))
    g_free (self);
}

/**
 * flow_window_metadata_get_window_id:
 * @self: a window metadata
 *
 * Gets the id of the window (Bytewax gives it next to the metadata, in
 * the `meta` stream's `(window_id, metadata)`).
 *
 * Returns: the window id
 */
gint64
flow_window_metadata_get_window_id (FlowWindowMetadata *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->window_id;
}

/**
 * flow_window_metadata_get_open_time:
 * @self: a window metadata
 *
 * Gets when the window opened.
 *
 * Returns: the open time, µs since the Unix epoch (UTC)
 */
gint64
flow_window_metadata_get_open_time (FlowWindowMetadata *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->open_time;
}

/**
 * flow_window_metadata_get_close_time:
 * @self: a window metadata
 *
 * Gets when the window closed (exclusive for tumbling and sliding
 * windows, the last item's timestamp for sessions).
 *
 * Returns: the close time, µs since the Unix epoch (UTC)
 */
gint64
flow_window_metadata_get_close_time (FlowWindowMetadata *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->close_time;
}

static GDateTime *
date_time_from_usec (gint64 usec)
{
  g_autoptr(GDateTime) epoch = g_date_time_new_from_unix_utc (0);

  /* g_date_time_add() covers the years 1 to 9999, as libflow does. */
  return g_date_time_add (epoch, usec);
}

/**
 * flow_window_metadata_dup_open_date_time:
 * @self: a window metadata
 *
 * Gets when the window opened, as a UTC date and time.
 *
 * Returns: (transfer full): the open time
 */
GDateTime *
flow_window_metadata_dup_open_date_time (FlowWindowMetadata *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return date_time_from_usec (self->open_time);
}

/**
 * flow_window_metadata_dup_close_date_time:
 * @self: a window metadata
 *
 * Gets when the window closed, as a UTC date and time.
 *
 * Returns: (transfer full): the close time
 */
GDateTime *
flow_window_metadata_dup_close_date_time (FlowWindowMetadata *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return date_time_from_usec (self->close_time);
}

/**
 * flow_window_metadata_get_merged_ids:
 * @self: a window metadata
 * @n_merged_ids: (out): return location for the number of ids
 *
 * Gets the ids of the windows that were merged into this one before it
 * closed (only sessions merge), sorted.
 *
 * Returns: (array length=n_merged_ids) (transfer none): the merged ids
 */
const gint64 *
flow_window_metadata_get_merged_ids (FlowWindowMetadata *self,
                                     gsize              *n_merged_ids)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (n_merged_ids != NULL, NULL);

  *n_merged_ids = self->n_merged_ids;
  return self->merged_ids;
}

/**
 * flow_window_metadata_equal:
 * @a: a window metadata
 * @b: another window metadata
 *
 * Compares two window metadata: same window id, times and merged ids.
 *
 * Returns: whether they are equal
 */
gboolean
flow_window_metadata_equal (FlowWindowMetadata *a,
                            FlowWindowMetadata *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  return a->window_id == b->window_id &&
         a->open_time == b->open_time &&
         a->close_time == b->close_time &&
         a->n_merged_ids == b->n_merged_ids &&
         memcmp (a->merged_ids, b->merged_ids, a->n_merged_ids * sizeof (gint64)) == 0;
}

/* FlowWindower ---------------------------------------------------------- */

/**
 * FlowWindower:
 *
 * A kind of window (Bytewax's `Windower`): how items are placed in windows
 * by their timestamps, and when a watermark closes those windows.
 *
 * A windower is configuration; the windows of each key are in a
 * [struct@Flow.WindowerState] made by [method@Flow.Windower.new_state]. A
 * window operator asks that state, for each item on time, which windows
 * it goes in ([method@Flow.WindowerState.open_for]), for each late item,
 * which windows it would have been in
 * ([method@Flow.WindowerState.late_for]), and, as the watermark advances,
 * which windows closed ([method@Flow.WindowerState.close_for]).
 *
 * Timestamps are microseconds since the Unix epoch, UTC (as from
 * g_get_real_time()); durations are #GTimeSpan (microseconds).
 */
G_DEFINE_ABSTRACT_TYPE (FlowWindower, flow_windower, G_TYPE_OBJECT)

static void
flow_windower_class_init (FlowWindowerClass *klass)
{
}

static void
flow_windower_init (FlowWindower *self)
{
}

void
flow_windower_class_set_ops (FlowWindowerClass     *klass,
                             const FlowWindowerOps *ops)
{
  klass->ops = ops;
}

gboolean
flow_time_check_span (const char *what,
                      GTimeSpan   span,
                      GError    **error)
{
  if (span <= 0)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "%s must be positive, not %" G_GINT64_FORMAT " µs",
                   what, span);
      return FALSE;
    }
  if (span > FLOW_TIME_SPAN_MAX)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "%s of %" G_GINT64_FORMAT " µs is longer than the range of "
                   "representable times", what, span);
      return FALSE;
    }
  return TRUE;
}

/* FlowWindowerState ----------------------------------------------------- */

struct _FlowWindowerState
{
  gatomicrefcount        ref_count;
  FlowWindower          *windower;
  const FlowWindowerOps *ops;
  gpointer               data;
};

G_DEFINE_BOXED_TYPE (FlowWindowerState, flow_windower_state,
                     flow_windower_state_ref, flow_windower_state_unref)

static const FlowWindowerOps *
get_ops (FlowWindower *self)
{
  return FLOW_WINDOWER_GET_CLASS (self)->ops;
}

static FlowWindowerState *
state_new (FlowWindower *windower,
           gpointer      data)
{
  FlowWindowerState *self = g_new0 (FlowWindowerState, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->windower = g_object_ref (windower);
  self->ops = get_ops (windower);
  self->data = data;
  return self;
}

/**
 * flow_windower_new_state:
 * @self: a windower
 *
 * Creates the windows of a new key: none open yet.
 *
 * Returns: (transfer full): the new state
 */
FlowWindowerState *
flow_windower_new_state (FlowWindower *self)
{
  const FlowWindowerOps *ops;

  g_return_val_if_fail (FLOW_IS_WINDOWER (self), NULL);
  ops = get_ops (self);
  g_return_val_if_fail (ops != NULL, NULL);

  return state_new (self, ops->state_new (self));
}

/**
 * flow_windower_restore_state:
 * @self: a windower
 * @snapshot: a snapshot from [method@Flow.WindowerState.snapshot] of a
 *   state of a windower of the same kind and parameters
 * @error: return location for a #GError
 *
 * Restores the windows of a key from a snapshot, for a resume.
 *
 * Returns: (transfer full): the restored state, or %NULL with @error set
 *   (%FLOW_ERROR_CORRUPT_PARTITION) when @snapshot is not a state of this
 *   kind of windower
 */
FlowWindowerState *
flow_windower_restore_state (FlowWindower *self,
                             GVariant     *snapshot,
                             GError      **error)
{
  const FlowWindowerOps *ops;
  gpointer data;

  g_return_val_if_fail (FLOW_IS_WINDOWER (self), NULL);
  g_return_val_if_fail (snapshot != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  ops = get_ops (self);
  g_return_val_if_fail (ops != NULL, NULL);

  if (!g_variant_is_of_type (snapshot, G_VARIANT_TYPE (ops->snapshot_type)))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                   "the snapshot of a %s state has type %s, not %s",
                   G_OBJECT_TYPE_NAME (self),
                   g_variant_get_type_string (snapshot), ops->snapshot_type);
      return NULL;
    }
  data = ops->restore (self, snapshot, error);
  if (data == NULL)
    return NULL;
  return state_new (self, data);
}

/**
 * flow_windower_state_ref:
 * @self: a windower state
 *
 * Takes a reference.
 *
 * Returns: (transfer full): @self
 */
FlowWindowerState *
flow_windower_state_ref (FlowWindowerState *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * flow_windower_state_unref:
 * @self: (transfer full): a windower state
 *
 * Drops a reference; frees the state when it was the last.
 */
void
flow_windower_state_unref (FlowWindowerState *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  self->ops->state_free (self->data);
  g_object_unref (self->windower);
  g_free (self);
}

/**
 * flow_windower_state_get_windower:
 * @self: a windower state
 *
 * Gets the windower this state belongs to.
 *
 * Returns: (transfer none): the windower
 */
FlowWindower *
flow_windower_state_get_windower (FlowWindowerState *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->windower;
}

void
flow_windower_state_open_for_into (FlowWindowerState *self,
                                   gint64             timestamp,
                                   GArray            *ids)
{
  g_return_if_fail (timestamp >= FLOW_TIMESTAMP_MIN && timestamp <= FLOW_TIMESTAMP_MAX);

  self->ops->open_for (self->windower, self->data, timestamp, ids);
}

void
flow_windower_state_late_for_into (FlowWindowerState *self,
                                   gint64             timestamp,
                                   GArray            *ids)
{
  g_return_if_fail (timestamp >= FLOW_TIMESTAMP_MIN && timestamp <= FLOW_TIMESTAMP_MAX);

  self->ops->late_for (self->windower, self->data, timestamp, ids);
}

void
flow_windower_state_take_merged_into (FlowWindowerState *self,
                                      GArray            *pairs)
{
  self->ops->take_merged (self->windower, self->data, pairs);
}

void
flow_windower_state_close_for_into (FlowWindowerState *self,
                                    gint64             watermark,
                                    GPtrArray         *closed)
{
  /* Beyond the representable range is the same as its ends. */
  watermark = CLAMP (watermark, FLOW_TIMESTAMP_MIN, FLOW_TIMESTAMP_MAX);
  self->ops->close_for (self->windower, self->data, watermark, closed);
}

static gint64 *
steal_ids (GArray *ids,
           gsize  *n_ids)
{
  *n_ids = ids->len;
  return (gint64 *) (gpointer) g_array_free (ids, FALSE);
}

/**
 * flow_windower_state_open_for:
 * @self: a windower state
 * @timestamp: the timestamp of an item that is not late (at or after the
 *   watermark), µs since the Unix epoch (UTC), between
 *   %FLOW_TIMESTAMP_MIN and %FLOW_TIMESTAMP_MAX
 * @n_ids: (out): return location for the number of window ids
 *
 * Places an item in its windows, opening those not open yet (Bytewax's
 * `WindowerLogic.open_for`).
 *
 * For tumbling and sliding windows, the ids are the indexes of the windows
 * counted from the windower's `align_to` (window 0 opens at `align_to`,
 * window -1 one offset earlier), in increasing order. For sessions, the
 * item extends or joins a session, or opens a new one with the next
 * sequential id (0, 1, ...); extending a session can merge sessions that
 * come to overlap: see [method@Flow.WindowerState.take_merged].
 *
 * Returns: (array length=n_ids) (transfer full): the ids of the windows
 *   the item is in
 */
gint64 *
flow_windower_state_open_for (FlowWindowerState *self,
                              gint64             timestamp,
                              gsize             *n_ids)
{
  GArray *ids;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (n_ids != NULL, NULL);

  ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  flow_windower_state_open_for_into (self, timestamp, ids);
  return steal_ids (ids, n_ids);
}

/**
 * flow_windower_state_late_for:
 * @self: a windower state
 * @timestamp: the timestamp of a late item (before the watermark),
 *   between %FLOW_TIMESTAMP_MIN and %FLOW_TIMESTAMP_MAX
 * @n_ids: (out): return location for the number of window ids
 *
 * Finds which windows a late item would have been in (Bytewax's
 * `WindowerLogic.late_for`), without opening them: for tumbling and
 * sliding windows, the ids [method@Flow.WindowerState.open_for] would
 * have given; for sessions, %FLOW_LATE_SESSION_ID.
 *
 * Returns: (array length=n_ids) (transfer full): the window ids
 */
gint64 *
flow_windower_state_late_for (FlowWindowerState *self,
                              gint64             timestamp,
                              gsize             *n_ids)
{
  GArray *ids;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (n_ids != NULL, NULL);

  ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  flow_windower_state_late_for_into (self, timestamp, ids);
  return steal_ids (ids, n_ids);
}

/**
 * flow_windower_state_take_merged:
 * @self: a windower state
 *
 * Returns the merges that happened since the last call, and forgets them
 * (Bytewax's `WindowerLogic.merged`). Each merge is a pair
 * `(original_id, target_id)`: the original window was merged into the
 * target and will not close by itself; the target's metadata lists it in
 * its merged ids. Merges are given in the order they happened, so a
 * window operator that moves the contents of each original into its
 * target, in order, ends with every item in a window that is still open.
 *
 * Only session windows merge.
 *
 * Returns: (transfer full): the merges, a #GVariant of type `a(xx)`
 */
GVariant *
flow_windower_state_take_merged (FlowWindowerState *self)
{
  g_autoptr(GArray) pairs = NULL;
  GVariantBuilder builder;

  g_return_val_if_fail (self != NULL, NULL);

  pairs = g_array_new (FALSE, FALSE, sizeof (gint64));
  flow_windower_state_take_merged_into (self, pairs);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(xx)"));
  for (guint i = 0; i + 1 < pairs->len; i += 2)
    g_variant_builder_add (&builder, "(xx)",
                           g_array_index (pairs, gint64, i),
                           g_array_index (pairs, gint64, i + 1));
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

/**
 * flow_windower_state_close_for:
 * @self: a windower state
 * @watermark: the current watermark (it never goes back), µs since the
 *   Unix epoch (UTC)
 *
 * Closes the windows that @watermark closes and forgets them (Bytewax's
 * `WindowerLogic.close_for`): tumbling and sliding windows whose close
 * time is at or before @watermark, sessions whose last item is more than
 * the gap before @watermark. A watermark of %FLOW_TIMESTAMP_MAX (end of
 * input) closes every window.
 *
 * Returns: (transfer container) (element-type FlowWindowMetadata): the closed
 *   windows' final metadata, in the order they close (by close time, then
 *   id); the array frees its elements when it is freed
 */
GPtrArray *
flow_windower_state_close_for (FlowWindowerState *self,
                               gint64             watermark)
{
  GPtrArray *closed;

  g_return_val_if_fail (self != NULL, NULL);

  closed = g_ptr_array_new_with_free_func ((GDestroyNotify) flow_window_metadata_unref);
  flow_windower_state_close_for_into (self, watermark, closed);
  return closed;
}

/**
 * flow_windower_state_notify_at:
 * @self: a windower state
 * @notify_at: (out) (optional): return location for the timestamp
 *
 * Finds the earliest watermark at which a window of this key closes (the
 * watermark a window operator waits for; see
 * [method@Flow.WindowClockState.to_system_utc] for the system time that
 * is).
 *
 * Returns: %FALSE when no window is open
 */
gboolean
flow_windower_state_notify_at (FlowWindowerState *self,
                               gint64            *notify_at)
{
  gint64 at = 0;
  gboolean ret;

  g_return_val_if_fail (self != NULL, FALSE);

  ret = self->ops->notify_at (self->windower, self->data, &at);
  if (notify_at != NULL)
    *notify_at = ret ? at : 0;
  return ret;
}

/**
 * flow_windower_state_is_empty:
 * @self: a windower state
 *
 * Whether the state can be dropped (Bytewax's `WindowerLogic.is_empty`):
 * for tumbling and sliding windows, when no window is open. A session
 * state is never empty: it keeps its last id so that ids are never reused
 * for a key.
 *
 * Returns: whether nothing needs to be kept
 */
gboolean
flow_windower_state_is_empty (FlowWindowerState *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->ops->is_empty (self->windower, self->data);
}

/**
 * flow_windower_state_snapshot:
 * @self: a windower state
 *
 * Takes a snapshot of the state, for [method@Flow.Windower.restore_state].
 * Tumbling and sliding windows snapshot as `a(xxx)` (the open windows'
 * id, open and close times), sessions as `(xa(xxxax)a(xx))` (the last id,
 * the open sessions' id, open and close times and merged ids, and the
 * merges not taken yet).
 *
 * Returns: (transfer full): the snapshot
 */
GVariant *
flow_windower_state_snapshot (FlowWindowerState *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_variant_ref_sink (self->ops->snapshot (self->windower, self->data));
}

/* ------------------------------------------------------------------------
 * Compact snapshots (flow-time-private.h)
 * ------------------------------------------------------------------------ */

void
flow_time_put_variant (GByteArray *out,
                       GVariant   *value)
{
  const char *type = g_variant_get_type_string (value);
  gsize size = g_variant_get_size (value);

  g_byte_array_append (out, (const guint8 *) type, strlen (type) + 1);
  flow_time_put_varint (out, (gint64) size);
  /* (Not g_variant_store(): it needs a destination aligned for the
   * type, and the bytes here follow a varint.) */
  if (size > 0)
    g_byte_array_append (out, g_variant_get_data (value), size);
}

GVariant *
flow_time_get_variant (const guint8 **p,
                       const guint8  *end)
{
  const guint8 *nul = memchr (*p, '\0', end - *p);
  const char *type;
  gint64 size;
  GVariant *value;

  if (nul == NULL || !g_variant_type_string_is_valid ((const char *) *p))
    return NULL;
  type = (const char *) *p;
  *p = nul + 1;
  if (!flow_time_get_varint (p, end, &size) || size < 0 || size > end - *p)
    return NULL;
  /* Copied: the stored bytes need not outlive the caller's buffer, nor be
   * aligned. Untrusted data: normalised before use. */
  {
    g_autoptr(GBytes) bytes = g_bytes_new (*p, size);
    value = g_variant_new_from_bytes (G_VARIANT_TYPE (type), bytes, FALSE);
  }
  *p += size;
  {
    GVariant *normal = g_variant_get_normal_form (value);
    g_variant_unref (g_variant_ref_sink (value));
    return normal;
  }
}

void
flow_windower_state_encode (FlowWindowerState *self,
                            GByteArray        *out)
{
  if (self->ops->encode != NULL)
    self->ops->encode (self->windower, self->data, out);
  else
    {
      g_autoptr(GVariant) snap = flow_windower_state_snapshot (self);
      guint8 tag = FLOW_TIME_CODE_VARIANT;

      g_byte_array_append (out, &tag, 1);
      flow_time_put_variant (out, snap);
    }
}

GVariant *
flow_time_decode_snapshot (const guint8 **p,
                           const guint8  *end)
{
  guint8 tag;

  if (*p >= end)
    return NULL;
  tag = *(*p)++;
  switch (tag)
    {
    case FLOW_TIME_CODE_VARIANT:
      return flow_time_get_variant (p, end);

    case FLOW_TIME_CODE_SYSTEM_CLOCK:
      return g_variant_ref_sink (g_variant_new_tuple (NULL, 0));

    case FLOW_TIME_CODE_EVENT_CLOCK:
      {
        gint64 t0, base;

        if (!flow_time_get_varint (p, end, &t0) || !flow_time_get_varint (p, end, &base))
          return NULL;
        return g_variant_ref_sink (g_variant_new ("(xx)", t0, base));
      }

    case FLOW_TIME_CODE_FIXED_WINDOWER:
      {
        GVariantBuilder b;
        gint64 n;

        if (!flow_time_get_varint (p, end, &n) || n < 0 || n > end - *p)
          return NULL;
        g_variant_builder_init (&b, G_VARIANT_TYPE ("a(xxx)"));
        for (gint64 i = 0; i < n; i++)
          {
            gint64 id, open, len;

            if (!flow_time_get_varint (p, end, &id) || !flow_time_get_varint (p, end, &open) ||
                !flow_time_get_varint (p, end, &len))
              {
                g_variant_builder_clear (&b);
                return NULL;
              }
            g_variant_builder_add (&b, "(xxx)", id, open, (gint64) ((guint64) open + (guint64) len));
          }
        return g_variant_ref_sink (g_variant_builder_end (&b));
      }

    default:
      return NULL;
    }
}
