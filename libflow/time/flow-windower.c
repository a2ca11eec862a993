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

static const FlowWindowerOps custom_ops;

/* The vfuncs took padding: the class keeps its size (ABI). */
G_STATIC_ASSERT (sizeof (FlowWindowerClass) == sizeof (GObjectClass) + 12 * sizeof (gpointer));

static void
flow_windower_class_init (FlowWindowerClass *klass)
{
  /* Subclasses written outside libflow use the vfuncs; libflow's own set
   * their table in their class_init. */
  klass->ops = &custom_ops;
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
 * Restores the windows of a key from a snapshot, for a resume. A
 * windower written outside libflow gets @snapshot in its
 * [vfunc@Flow.Windower.build].
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

  if (ops->snapshot_type != NULL &&
      !g_variant_is_of_type (snapshot, G_VARIANT_TYPE (ops->snapshot_type)))
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
 * merges not taken yet). A windower written outside libflow gives what
 * its [vfunc@Flow.Windower.snapshot] returns (on failure, `()`, the
 * failure being kept for the window operator).
 *
 * Returns: (transfer full): the snapshot
 */
GVariant *
flow_windower_state_snapshot (FlowWindowerState *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_variant_take_ref (self->ops->snapshot (self->windower, self->data));
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

void
flow_windower_state_encode_anchored (FlowWindowerState *self,
                                     gint64             anchor,
                                     GByteArray        *out)
{
  if (self->ops->encode_anchored != NULL)
    self->ops->encode_anchored (self->windower, self->data, anchor, out);
  else
    flow_windower_state_encode (self, out);
}

GVariant *
flow_time_decode_snapshot_anchored (const guint8 **p,
                                    const guint8  *end,
                                    gint64         anchor)
{
  if (*p < end && **p == FLOW_TIME_CODE_SESSION_WINDOWER)
    {
      (*p)++;
      return flow_session_windower_decode (p, end, anchor);
    }
  return flow_time_decode_snapshot (p, end);
}

gboolean
flow_windower_state_peek_fixed (FlowWindowerState *self,
                                const gint64     **windows,
                                guint             *n,
                                guint32           *fingerprint)
{
  return self->ops->peek_fixed != NULL &&
         self->ops->peek_fixed (self->windower, self->data, windows, n, fingerprint);
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

/* ------------------------------------------------------------------------
 * Windowers written outside libflow
 * ------------------------------------------------------------------------ */

/**
 * FlowWindowerClass::build:
 * @self: the windower
 * @resume_state: (nullable): %NULL for a new key, or what
 *   [vfunc@Flow.Windower.snapshot] returned, on resume
 * @error: return location for a #GError
 *
 * Makes the windows of one key (Bytewax's `Windower.build`).
 *
 * Returns: (transfer full): an object holding the key's windows, given
 *   back to the other virtual methods, or %NULL with @error set
 */

/**
 * FlowWindowerClass::open_for:
 * @self: the windower
 * @logic: what [vfunc@Flow.Windower.build] returned for the key
 * @timestamp: the timestamp of an item that is not late
 * @error: return location for a #GError
 *
 * Places the item in its windows, opening those not open yet (Bytewax's
 * `WindowerLogic.open_for`).
 *
 * Returns: (transfer full): the ids of the item's windows, an `ax`; or
 *   %NULL with @error set
 */

/**
 * FlowWindowerClass::late_for:
 * @self: the windower
 * @logic: what [vfunc@Flow.Windower.build] returned for the key
 * @timestamp: the timestamp of a late item
 * @error: return location for a #GError
 *
 * Finds the windows a late item would have been in (Bytewax's
 * `WindowerLogic.late_for`), without opening them.
 *
 * Returns: (transfer full): their ids, an `ax`; or %NULL with @error set
 */

/**
 * FlowWindowerClass::merged:
 * @self: the windower
 * @logic: what [vfunc@Flow.Windower.build] returned for the key
 * @error: return location for a #GError
 *
 * Returns the merges since the last call and forgets them (Bytewax's
 * `WindowerLogic.merged`): the operator moves the contents of each
 * original window into its target, in order.
 *
 * Returns: (transfer full): an `a(xx)` of `(original_id, target_id)`
 *   pairs; or %NULL with @error set
 */

/**
 * FlowWindowerClass::close_for:
 * @self: the windower
 * @logic: what [vfunc@Flow.Windower.build] returned for the key
 * @watermark: the watermark (it never goes back; %FLOW_TIMESTAMP_MAX at
 *   the end of input)
 * @error: return location for a #GError
 *
 * Closes the windows @watermark closes and forgets them (Bytewax's
 * `WindowerLogic.close_for`).
 *
 * Returns: (transfer full): an `a(xxxax)` of the closed windows' id,
 *   open time, close time and merged ids, in closing order; or %NULL
 *   with @error set
 */

/**
 * FlowWindowerClass::notify_at:
 * @self: the windower
 * @logic: what [vfunc@Flow.Windower.build] returned for the key
 * @notify_at: (out): return location for the earliest watermark at which
 *   a window closes
 * @error: return location for a #GError
 *
 * Says when the operator should next try to close windows (Bytewax's
 * `WindowerLogic.notify_at`).
 *
 * Returns: %FALSE when no window is open (or with @error set)
 */

/**
 * FlowWindowerClass::is_empty:
 * @self: the windower
 * @logic: what [vfunc@Flow.Windower.build] returned for the key
 * @error: return location for a #GError
 *
 * Whether the key's windows can be forgotten (Bytewax's
 * `WindowerLogic.is_empty`): a later item of the key gets a new
 * [vfunc@Flow.Windower.build].
 *
 * Returns: whether nothing needs to be kept (%FALSE with @error set)
 */

/**
 * FlowWindowerClass::snapshot:
 * @self: the windower
 * @logic: what [vfunc@Flow.Windower.build] returned for the key
 * @error: return location for a #GError
 *
 * Returns the state of the key's windows, given to
 * [vfunc@Flow.Windower.build] on resume (Bytewax's
 * `WindowerLogic.snapshot`): any #GVariant.
 *
 * Returns: (transfer full): the snapshot, or %NULL with @error set
 */

typedef struct
{
  GObject  *logic;      /* NULL when build failed */
  GError   *error;      /* the first failure, not given yet */
  GVariant *snap;       /* the last snapshot taken (or resumed from) */
  gboolean  settled;    /* notify_at and empty are current */
  gboolean  has_notify;
  gint64    notify_at;
  gboolean  empty;
} CustomWindower;

#define CUSTOM_CLASS(w) FLOW_WINDOWER_GET_CLASS (w)

static void
custom_keep (CustomWindower *cw,
             GError         *local)
{
  if (cw->error == NULL)
    cw->error = local;
  else
    g_error_free (local);
}

static void
custom_fail (CustomWindower *cw,
             GError         *local,
             const char     *method)
{
  if (local == NULL)
    return;
  g_prefix_error (&local, "%s(): ", method);
  custom_keep (cw, local);
}

static gboolean
custom_ok (CustomWindower *cw)
{
  return cw->logic != NULL && cw->error == NULL;
}

static gboolean
custom_missing (FlowWindower   *windower,
                CustomWindower *cw,
                gconstpointer   vfunc,
                const char     *method)
{
  if (vfunc != NULL)
    return FALSE;
  custom_keep (cw, g_error_new (FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                                "the windower %s does not implement %s()",
                                G_OBJECT_TYPE_NAME (windower), method));
  return TRUE;
}

/* Takes @result (a full or floating reference) when it has @type; else
 * keeps an error and returns NULL. */
static GVariant *
custom_result (FlowWindower   *windower,
               CustomWindower *cw,
               GVariant       *result,
               GError         *local,
               const char     *type,
               const char     *what,
               const char     *method)
{
  if (result != NULL)
    result = g_variant_take_ref (result);
  if (local != NULL)
    {
      g_clear_pointer (&result, g_variant_unref);
      custom_fail (cw, local, method);
      return NULL;
    }
  if (result == NULL || !g_variant_is_of_type (result, G_VARIANT_TYPE (type)))
    {
      custom_keep (cw, g_error_new (FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
                                    "%s(): the windower %s returned %s%s, not %s (%s)",
                                    method, G_OBJECT_TYPE_NAME (windower),
                                    result ? "a value of type " : "nothing",
                                    result ? g_variant_get_type_string (result) : "",
                                    type, what));
      g_clear_pointer (&result, g_variant_unref);
      return NULL;
    }
  return result;
}

static GObject *
custom_build (FlowWindower  *windower,
              GVariant      *resume_state,
              GError       **error)
{
  FlowWindowerClass *klass = CUSTOM_CLASS (windower);
  g_autoptr(GError) local = NULL;
  GObject *logic;

  if (klass->build == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "the windower %s does not implement build()", G_OBJECT_TYPE_NAME (windower));
      return NULL;
    }
  logic = klass->build (windower, resume_state, &local);
  if (local != NULL || logic == NULL)
    {
      g_clear_object (&logic);
      if (local == NULL)
        local = g_error_new (FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
                             "%s returned no logic", G_OBJECT_TYPE_NAME (windower));
      g_prefix_error (&local, "build(): ");
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  return logic;
}

static gpointer
custom_state_new (FlowWindower *windower)
{
  CustomWindower *cw = g_new0 (CustomWindower, 1);

  /* (A failure is given by flow_windower_state_settle().) */
  cw->logic = custom_build (windower, NULL, &cw->error);
  return cw;
}

static void
custom_state_free (gpointer data)
{
  CustomWindower *cw = data;

  g_clear_object (&cw->logic);
  g_clear_error (&cw->error);
  g_clear_pointer (&cw->snap, g_variant_unref);
  g_free (cw);
}

static void
custom_ids (FlowWindower *windower,
            gpointer      data,
            gint64        timestamp,
            GArray       *ids,
            gboolean      late)
{
  CustomWindower *cw = data;
  FlowWindowerClass *klass = CUSTOM_CLASS (windower);
  const char *method = late ? "late_for" : "open_for";
  GVariant *(*fn) (FlowWindower *, GObject *, gint64, GError **) =
    late ? klass->late_for : klass->open_for;
  g_autoptr(GVariant) result = NULL;
  GError *local = NULL;
  gsize n;
  const gint64 *v;

  if (!custom_ok (cw) || custom_missing (windower, cw, fn, method))
    return;
  cw->settled = FALSE;
  result = fn (windower, cw->logic, timestamp, &local);
  result = custom_result (windower, cw, g_steal_pointer (&result), local,
                          "ax", "window ids", method);
  if (result == NULL)
    return;
  v = g_variant_get_fixed_array (result, &n, sizeof (gint64));
  g_array_append_vals (ids, v, n);
}

static void
custom_open_for (FlowWindower *windower,
                 gpointer      data,
                 gint64        timestamp,
                 GArray       *ids)
{
  custom_ids (windower, data, timestamp, ids, FALSE);
}

static void
custom_late_for (FlowWindower *windower,
                 gpointer      data,
                 gint64        timestamp,
                 GArray       *ids)
{
  custom_ids (windower, data, timestamp, ids, TRUE);
}

static void
custom_take_merged (FlowWindower *windower,
                    gpointer      data,
                    GArray       *pairs)
{
  CustomWindower *cw = data;
  FlowWindowerClass *klass = CUSTOM_CLASS (windower);
  g_autoptr(GVariant) result = NULL;
  GError *local = NULL;
  GVariantIter iter;
  gint64 pair[2];

  if (!custom_ok (cw) || custom_missing (windower, cw, klass->merged, "merged"))
    return;
  cw->settled = FALSE;
  result = klass->merged (windower, cw->logic, &local);
  result = custom_result (windower, cw, g_steal_pointer (&result), local,
                          "a(xx)", "(original_id, target_id) pairs", "merged");
  if (result == NULL)
    return;
  g_variant_iter_init (&iter, result);
  while (g_variant_iter_next (&iter, "(xx)", &pair[0], &pair[1]))
    g_array_append_vals (pairs, pair, 2);
}

static void
custom_close_for (FlowWindower *windower,
                  gpointer      data,
                  gint64        watermark,
                  GPtrArray    *closed)
{
  CustomWindower *cw = data;
  FlowWindowerClass *klass = CUSTOM_CLASS (windower);
  g_autoptr(GVariant) result = NULL;
  GError *local = NULL;
  gsize n;

  if (!custom_ok (cw) || custom_missing (windower, cw, klass->close_for, "close_for"))
    return;
  cw->settled = FALSE;
  result = klass->close_for (windower, cw->logic, watermark, &local);
  result = custom_result (windower, cw, g_steal_pointer (&result), local, "a(xxxax)",
                          "(id, open time, close time, merged ids) of each closed window",
                          "close_for");
  if (result == NULL)
    return;
  n = g_variant_n_children (result);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) merged = NULL;
      const gint64 *ids;
      gsize n_ids;
      gint64 id, open, close;

      g_variant_get_child (result, i, "(xxx@ax)", &id, &open, &close, &merged);
      ids = g_variant_get_fixed_array (merged, &n_ids, sizeof (gint64));
      g_ptr_array_add (closed, flow_window_metadata_new (id, open, close, ids, n_ids));
    }
}

/* Asks notify_at and is_empty once per change. */
static void
custom_settle (FlowWindower   *windower,
               CustomWindower *cw)
{
  FlowWindowerClass *klass = CUSTOM_CLASS (windower);
  GError *local = NULL;

  if (cw->settled || !custom_ok (cw))
    return;
  if (custom_missing (windower, cw, klass->notify_at, "notify_at") ||
      custom_missing (windower, cw, klass->is_empty, "is_empty"))
    return;
  cw->notify_at = 0;
  cw->has_notify = klass->notify_at (windower, cw->logic, &cw->notify_at, &local);
  if (local != NULL)
    {
      custom_fail (cw, local, "notify_at");
      return;
    }
  cw->empty = klass->is_empty (windower, cw->logic, &local);
  if (local != NULL)
    {
      custom_fail (cw, local, "is_empty");
      return;
    }
  cw->settled = TRUE;
}

static gboolean
custom_notify_at (FlowWindower *windower,
                  gpointer      data,
                  gint64       *notify_at)
{
  CustomWindower *cw = data;

  custom_settle (windower, cw);
  if (!cw->settled || !cw->has_notify)
    return FALSE;
  *notify_at = CLAMP (cw->notify_at, FLOW_TIMESTAMP_MIN, FLOW_TIMESTAMP_MAX);
  return TRUE;
}

static gboolean
custom_is_empty (FlowWindower *windower,
                 gpointer      data)
{
  CustomWindower *cw = data;

  custom_settle (windower, cw);
  /* (A failed state is kept until the operator gives its error.) */
  return cw->settled && cw->empty;
}

static GVariant *
custom_take_snapshot (FlowWindower    *windower,
                      CustomWindower  *cw,
                      GError         **error)
{
  FlowWindowerClass *klass = CUSTOM_CLASS (windower);
  g_autoptr(GError) local = NULL;
  GVariant *snap;

  if (cw->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&cw->error));
      return NULL;
    }
  if (klass->snapshot == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "snapshot(): the windower %s does not implement it",
                   G_OBJECT_TYPE_NAME (windower));
      return NULL;
    }
  snap = klass->snapshot (windower, cw->logic, &local);
  if (snap == NULL || local != NULL)
    {
      g_clear_pointer (&snap, g_variant_unref);
      if (local == NULL)
        local = g_error_new (FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
                             "%s returned no state to snapshot", G_OBJECT_TYPE_NAME (windower));
      g_prefix_error (&local, "snapshot(): ");
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  return g_variant_take_ref (snap);
}

static GVariant *
custom_snapshot (FlowWindower *windower,
                 gpointer      data)
{
  CustomWindower *cw = data;
  GError *local = NULL;
  GVariant *snap = custom_take_snapshot (windower, cw, &local);

  if (snap == NULL)
    {
      /* Kept for the operator (flow_windower_state_settle()). */
      custom_keep (cw, local);
      return g_variant_new_tuple (NULL, 0);
    }
  return snap;
}

static gpointer
custom_restore (FlowWindower *windower,
                GVariant     *snapshot,
                GError      **error)
{
  GObject *logic = custom_build (windower, snapshot, error);
  CustomWindower *cw;

  if (logic == NULL)
    return NULL;
  cw = g_new0 (CustomWindower, 1);
  cw->logic = logic;
  cw->snap = g_variant_ref (snapshot);
  return cw;
}

static void
custom_encode (FlowWindower *windower,
               gpointer      data,
               GByteArray   *out)
{
  CustomWindower *cw = data;
  g_autoptr(GVariant) snap = cw->snap ? g_variant_ref (cw->snap) : custom_snapshot (windower, cw);
  guint8 tag = FLOW_TIME_CODE_VARIANT;

  g_variant_take_ref (snap);
  g_byte_array_append (out, &tag, 1);
  flow_time_put_variant (out, snap);
}

static const FlowWindowerOps custom_ops = {
  .snapshot_type = NULL,
  .state_new = custom_state_new,
  .state_free = custom_state_free,
  .open_for = custom_open_for,
  .late_for = custom_late_for,
  .take_merged = custom_take_merged,
  .close_for = custom_close_for,
  .notify_at = custom_notify_at,
  .is_empty = custom_is_empty,
  .snapshot = custom_snapshot,
  .restore = custom_restore,
  .encode = custom_encode,
};

gboolean
flow_windower_state_is_custom (FlowWindowerState *self)
{
  return self->ops == &custom_ops;
}

gboolean
flow_windower_state_settle (FlowWindowerState *self,
                            gboolean           snapshot,
                            GError           **error)
{
  CustomWindower *cw;

  if (self->ops != &custom_ops)
    return TRUE;
  cw = self->data;
  custom_settle (self->windower, cw);
  if (cw->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&cw->error));
      return FALSE;
    }
  if (snapshot)
    {
      GVariant *snap = custom_take_snapshot (self->windower, cw, error);

      if (snap == NULL)
        return FALSE;
      g_clear_pointer (&cw->snap, g_variant_unref);
      cw->snap = snap;
    }
  return TRUE;
}
