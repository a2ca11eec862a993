/* flow-sliding-windower.c: FlowSlidingWindower and FlowTumblingWindower
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Window i opens at align_to + i * offset and closes (exclusive) length
 * later; a tumbling windower is a sliding one whose offset is its length.
 * The per-key state is the open windows, sorted by id (so by close time).
 */

#include "config.h"

#include <gio/gio.h>

#include "flow-error.h"
#include "flow-time-private.h"

typedef struct
{
  gint64 id;
  gint64 open_time;
  gint64 close_time;
} Window;

struct _FlowSlidingWindower
{
  FlowWindower parent_instance;

  GTimeSpan    length;
  GTimeSpan    offset;
  gint64       align_to;
};

struct _FlowTumblingWindower
{
  FlowWindower parent_instance;

  GTimeSpan    length;
  gint64       align_to;
};

/* Called for each item: the fields, not the checked getters (both types
 * are final, so the type is compared rather than checked). */
static inline void
fixed_params (FlowWindower *windower,
              gint64       *length,
              gint64       *offset,
              gint64       *align_to)
{
  if (G_TYPE_FROM_INSTANCE (windower) == FLOW_TYPE_TUMBLING_WINDOWER)
    {
      FlowTumblingWindower *t = (FlowTumblingWindower *) windower;

      *length = *offset = t->length;
      *align_to = t->align_to;
    }
  else
    {
      FlowSlidingWindower *s = (FlowSlidingWindower *) windower;

      *length = s->length;
      *offset = s->offset;
      *align_to = s->align_to;
    }
}

/* The ids of the windows that hold @timestamp: [*first, *last]. Bytewax:
 * range((since - length) // offset + 1, since // offset + 1). */
static void
intersects (gint64  length,
            gint64  offset,
            gint64  align_to,
            gint64  timestamp,
            gint64 *first,
            gint64 *last)
{
  gint64 since = timestamp - align_to;

  *first = flow_time_floor_div (since - length, offset) + 1;
  *last = flow_time_floor_div (since, offset);
}

static gpointer
fixed_state_new (FlowWindower *windower)
{
  return g_array_new (FALSE, FALSE, sizeof (Window));
}

static void
fixed_state_free (gpointer data)
{
  g_array_unref (data);
}

static void
fixed_open_for (FlowWindower *windower,
                gpointer      data,
                gint64        timestamp,
                GArray       *ids)
{
  GArray *opened = data;
  gint64 length, offset, align_to, first, last;
  guint pos;

  fixed_params (windower, &length, &offset, &align_to);
  intersects (length, offset, align_to, timestamp, &first, &last);

  /* Where window `first` is or goes: usually at the end. */
  pos = opened->len;
  while (pos > 0 && g_array_index (opened, Window, pos - 1).id >= first)
    pos--;

  for (gint64 id = first; id <= last; id++)
    {
      if (pos >= opened->len || g_array_index (opened, Window, pos).id != id)
        {
          Window w;

          w.id = id;
          w.open_time = align_to + offset * id;
          w.close_time = w.open_time + length;
          g_array_insert_val (opened, pos, w);
        }
      pos++;
      g_array_append_val (ids, id);
    }
}

static void
fixed_late_for (FlowWindower *windower,
                gpointer      data,
                gint64        timestamp,
                GArray       *ids)
{
  gint64 length, offset, align_to, first, last;

  fixed_params (windower, &length, &offset, &align_to);
  intersects (length, offset, align_to, timestamp, &first, &last);
  for (gint64 id = first; id <= last; id++)
    g_array_append_val (ids, id);
}

static void
fixed_take_merged (FlowWindower *windower,
                   gpointer      data,
                   GArray       *pairs)
{
  /* Sliding windows never merge. */
}

static void
fixed_close_for (FlowWindower *windower,
                 gpointer      data,
                 gint64        watermark,
                 GPtrArray    *closed)
{
  GArray *opened = data;
  guint n = 0;

  /* Sorted by id, so by close time: the closed ones are a prefix. */
  while (n < opened->len && g_array_index (opened, Window, n).close_time <= watermark)
    {
      Window *w = &g_array_index (opened, Window, n);

      g_ptr_array_add (closed, flow_window_metadata_new (w->id, w->open_time,
                                                         w->close_time, NULL, 0));
      n++;
    }
  if (n > 0)
    g_array_remove_range (opened, 0, n);
}

static gboolean
fixed_notify_at (FlowWindower *windower,
                 gpointer      data,
                 gint64       *notify_at)
{
  GArray *opened = data;

  if (opened->len == 0)
    return FALSE;
  *notify_at = g_array_index (opened, Window, 0).close_time;
  return TRUE;
}

static gboolean
fixed_is_empty (FlowWindower *windower,
                gpointer      data)
{
  GArray *opened = data;

  return opened->len == 0;
}

static GVariant *
fixed_snapshot (FlowWindower *windower,
                gpointer      data)
{
  GArray *opened = data;
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(xxx)"));
  for (guint i = 0; i < opened->len; i++)
    {
      Window *w = &g_array_index (opened, Window, i);

      g_variant_builder_add (&builder, "(xxx)", w->id, w->open_time, w->close_time);
    }
  return g_variant_builder_end (&builder);
}

static gpointer
fixed_restore (FlowWindower *windower,
               GVariant     *snapshot,
               GError      **error)
{
  g_autoptr(GArray) opened = g_array_new (FALSE, FALSE, sizeof (Window));
  gint64 length, offset, align_to;
  GVariantIter iter;
  Window w;

  fixed_params (windower, &length, &offset, &align_to);
  g_variant_iter_init (&iter, snapshot);
  while (g_variant_iter_next (&iter, "(xxx)", &w.id, &w.open_time, &w.close_time))
    {
      /* Windows are fixed by the parameters: a snapshot of other
       * parameters would give wrong output (Bytewax warns about it;
       * libflow refuses it). */
      if (w.open_time != align_to + offset * w.id ||
          w.close_time != w.open_time + length)
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                       "the snapshot's window %" G_GINT64_FORMAT " does not "
                       "match the %s's length, offset or align_to: the "
                       "windowing parameters changed since the snapshot",
                       w.id, G_OBJECT_TYPE_NAME (windower));
          return NULL;
        }
      if (opened->len > 0 && g_array_index (opened, Window, opened->len - 1).id >= w.id)
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                       "the snapshot's windows are not in increasing order");
          return NULL;
        }
      g_array_append_val (opened, w);
    }
  return g_steal_pointer (&opened);
}

static void
fixed_encode (FlowWindower *windower,
              gpointer      data,
              GByteArray   *out)
{
  GArray *opened = data;
  guint8 tag = FLOW_TIME_CODE_FIXED_WINDOWER;

  g_byte_array_append (out, &tag, 1);
  flow_time_put_varint (out, opened->len);
  for (guint i = 0; i < opened->len; i++)
    {
      Window *w = &g_array_index (opened, Window, i);

      flow_time_put_varint (out, w->id);
      flow_time_put_varint (out, w->open_time);
      flow_time_put_varint (out, (gint64) ((guint64) w->close_time - (guint64) w->open_time));
    }
}

/* 32 bits that change with any of the parameters (a stored row keeps the
 * windows' ids only: this tells a resume with other parameters, which
 * would give other windows, from a good one). */
static guint32
fixed_fingerprint (FlowWindower *windower)
{
  gint64 length, offset, align_to;
  guint64 h;

  fixed_params (windower, &length, &offset, &align_to);
  h = (guint64) length * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  h = (h ^ (guint64) offset) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  h = (h ^ (guint64) align_to) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  h ^= h >> 31;
  return (guint32) (h ^ (h >> 32));
}

G_STATIC_ASSERT (sizeof (Window) == 3 * sizeof (gint64));

static gboolean
fixed_peek_fixed (FlowWindower  *windower,
                  gpointer       data,
                  const gint64 **windows,
                  guint         *n,
                  guint32       *fingerprint)
{
  GArray *opened = data;

  *windows = (const gint64 *) opened->data;
  *n = opened->len;
  *fingerprint = fixed_fingerprint (windower);
  return TRUE;
}

GVariant *
flow_windower_fixed_snapshot (FlowWindower  *windower,
                              guint32        fingerprint,
                              const gint64  *ids,
                              gsize          n,
                              GError       **error)
{
  GVariantBuilder builder;
  gint64 length, offset, align_to;

  if (!FLOW_IS_TUMBLING_WINDOWER (windower) && !FLOW_IS_SLIDING_WINDOWER (windower))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "the windows were stored by a tumbling or sliding windower, "
                   "the step's is a %s", G_OBJECT_TYPE_NAME (windower));
      return NULL;
    }
  if (n > 0 && fingerprint != fixed_fingerprint (windower))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "the stored windows do not match the %s's length, offset "
                   "or align_to: the windowing parameters changed since the snapshot",
                   G_OBJECT_TYPE_NAME (windower));
      return NULL;
    }
  fixed_params (windower, &length, &offset, &align_to);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(xxx)"));
  for (gsize i = 0; i < n; i++)
    {
      gint64 open_time;

      /* Bad bytes could give any id: keep the times representable. */
      if (ids[i] < (FLOW_TIMESTAMP_MIN - align_to) / offset - 1 ||
          ids[i] > (FLOW_TIMESTAMP_MAX - align_to) / offset + 1)
        {
          g_variant_builder_clear (&builder);
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                       "the stored window %" G_GINT64_FORMAT " is out of the range of times",
                       ids[i]);
          return NULL;
        }
      open_time = align_to + offset * ids[i];
      g_variant_builder_add (&builder, "(xxx)", ids[i], open_time, open_time + length);
    }
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

static const FlowWindowerOps fixed_ops = {
  .snapshot_type = "a(xxx)",
  .state_new = fixed_state_new,
  .state_free = fixed_state_free,
  .open_for = fixed_open_for,
  .late_for = fixed_late_for,
  .take_merged = fixed_take_merged,
  .close_for = fixed_close_for,
  .notify_at = fixed_notify_at,
  .is_empty = fixed_is_empty,
  .snapshot = fixed_snapshot,
  .restore = fixed_restore,
  .encode = fixed_encode,
  .peek_fixed = fixed_peek_fixed,
};

static gboolean
check_align_to (gint64   align_to,
                GError **error)
{
  gint64 now = flow_window_clock_system_now ();

  if (align_to < FLOW_TIMESTAMP_MIN || align_to > FLOW_TIMESTAMP_MAX)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "align_to (%" G_GINT64_FORMAT " µs) is outside the range "
                   "of representable times", align_to);
      return FALSE;
    }
  if (align_to > now)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "align_to (%" G_GINT64_FORMAT " µs since the epoch) is in the "
                   "future (now is %" G_GINT64_FORMAT "): align windows to a "
                   "past instant, such as the start of an hour or a day",
                   align_to, now);
      return FALSE;
    }
  return TRUE;
}

static GDateTime *
utc_of (GDateTime *date_time)
{
  return g_date_time_to_utc (date_time);
}

static gboolean
usec_of_date_time (GDateTime *date_time,
                   gint64    *usec,
                   GError   **error)
{
  g_autoptr(GDateTime) utc = NULL;

  if (date_time == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "align_to must be a date and time, not NULL");
      return FALSE;
    }
  utc = utc_of (date_time);
  *usec = g_date_time_to_unix (utc) * G_USEC_PER_SEC + g_date_time_get_microsecond (utc);
  return TRUE;
}

/* FlowSlidingWindower --------------------------------------------------- */

/**
 * FlowSlidingWindower:
 *
 * Sliding windows of a fixed length (Bytewax's `SlidingWindower`): a
 * window opens every `offset`, aligned so that one opens at `align_to`,
 * and lasts `length`. When `offset` is shorter than `length` the windows
 * overlap and an item is in several; when it equals `length` this is a
 * [class@Flow.TumblingWindower]. An `offset` longer than `length` is
 * refused: there would be gaps between windows where items are lost.
 *
 * Window `i` opens at `align_to + i * offset` (inclusive) and closes at
 * that plus `length` (exclusive); ids before `align_to` are negative.
 *
 * Create it with [ctor@Flow.SlidingWindower.new], which checks the
 * parameters.
 */
static void sliding_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FlowSlidingWindower, flow_sliding_windower, FLOW_TYPE_WINDOWER,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, sliding_initable_iface_init))

enum {
  SLIDING_PROP_0,
  SLIDING_PROP_LENGTH,
  SLIDING_PROP_OFFSET,
  SLIDING_PROP_ALIGN_TO,
  SLIDING_N_PROPS
};

static GParamSpec *sliding_properties[SLIDING_N_PROPS];

static gboolean
sliding_initable_init (GInitable     *initable,
                       GCancellable  *cancellable,
                       GError       **error)
{
  FlowSlidingWindower *self = FLOW_SLIDING_WINDOWER (initable);

  if (!flow_time_check_span ("the sliding window length", self->length, error) ||
      !flow_time_check_span ("the sliding window offset", self->offset, error))
    return FALSE;
  if (self->offset > self->length)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "the sliding window offset (%" G_GINT64_FORMAT " µs) can't be "
                   "longer than its length (%" G_GINT64_FORMAT " µs): there would "
                   "be gaps between windows", self->offset, self->length);
      return FALSE;
    }
  return check_align_to (self->align_to, error);
}

static void
sliding_initable_iface_init (GInitableIface *iface)
{
  iface->init = sliding_initable_init;
}

static void
flow_sliding_windower_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  FlowSlidingWindower *self = FLOW_SLIDING_WINDOWER (object);

  switch (prop_id)
    {
    case SLIDING_PROP_LENGTH:
      g_value_set_int64 (value, self->length);
      break;
    case SLIDING_PROP_OFFSET:
      g_value_set_int64 (value, self->offset);
      break;
    case SLIDING_PROP_ALIGN_TO:
      g_value_set_int64 (value, self->align_to);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_sliding_windower_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  FlowSlidingWindower *self = FLOW_SLIDING_WINDOWER (object);

  switch (prop_id)
    {
    case SLIDING_PROP_LENGTH:
      self->length = g_value_get_int64 (value);
      break;
    case SLIDING_PROP_OFFSET:
      self->offset = g_value_get_int64 (value);
      break;
    case SLIDING_PROP_ALIGN_TO:
      self->align_to = g_value_get_int64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_sliding_windower_class_init (FlowSlidingWindowerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = flow_sliding_windower_get_property;
  object_class->set_property = flow_sliding_windower_set_property;

  /**
   * FlowSlidingWindower:length:
   *
   * The length of each window, in microseconds.
   */
  sliding_properties[SLIDING_PROP_LENGTH] =
    g_param_spec_int64 ("length", NULL, NULL, 1, FLOW_TIME_SPAN_MAX, G_USEC_PER_SEC,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowSlidingWindower:offset:
   *
   * The time between the openings of two consecutive windows, in
   * microseconds; not longer than [property@Flow.SlidingWindower:length].
   */
  sliding_properties[SLIDING_PROP_OFFSET] =
    g_param_spec_int64 ("offset", NULL, NULL, 1, FLOW_TIME_SPAN_MAX, G_USEC_PER_SEC,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowSlidingWindower:align-to:
   *
   * The instant window 0 opens at, µs since the Unix epoch (UTC).
   */
  sliding_properties[SLIDING_PROP_ALIGN_TO] =
    g_param_spec_int64 ("align-to", NULL, NULL, FLOW_TIMESTAMP_MIN, FLOW_TIMESTAMP_MAX, 0,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, SLIDING_N_PROPS, sliding_properties);

  flow_windower_class_set_ops (FLOW_WINDOWER_CLASS (klass), &fixed_ops);
}

static void
flow_sliding_windower_init (FlowSlidingWindower *self)
{
}

/**
 * flow_sliding_windower_new:
 * @length: the length of each window, in microseconds (positive)
 * @offset: the time between the openings of two consecutive windows, in
 *   microseconds (positive, not longer than @length)
 * @align_to: an instant a window opens at, µs since the Unix epoch (UTC);
 *   not in the future
 * @error: return location for a #GError
 *
 * Creates a sliding windower.
 *
 * Returns: (transfer full): the new windower, or %NULL with @error set
 *   (%FLOW_ERROR_INVALID_ARGUMENT, naming the bad parameter)
 */
FlowSlidingWindower *
flow_sliding_windower_new (GTimeSpan   length,
                           GTimeSpan   offset,
                           gint64      align_to,
                           GError    **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!flow_time_check_span ("the sliding window length", length, error) ||
      !flow_time_check_span ("the sliding window offset", offset, error) ||
      !check_align_to (align_to, error))
    return NULL;
  return g_initable_new (FLOW_TYPE_SLIDING_WINDOWER, NULL, error,
                         "length", length,
                         "offset", offset,
                         "align-to", align_to,
                         NULL);
}

/**
 * flow_sliding_windower_new_for_date_time:
 * @length: the length of each window, in microseconds (positive)
 * @offset: the time between the openings of two consecutive windows
 * @align_to: an instant a window opens at, in any time zone
 * @error: return location for a #GError
 *
 * Creates a sliding windower aligned to a #GDateTime.
 *
 * Returns: (transfer full): the new windower, or %NULL with @error set
 */
FlowSlidingWindower *
flow_sliding_windower_new_for_date_time (GTimeSpan   length,
                                         GTimeSpan   offset,
                                         GDateTime  *align_to,
                                         GError    **error)
{
  gint64 usec;

  if (!usec_of_date_time (align_to, &usec, error))
    return NULL;
  return flow_sliding_windower_new (length, offset, usec, error);
}

/**
 * flow_sliding_windower_get_length:
 * @self: a sliding windower
 *
 * Gets the length of the windows.
 *
 * Returns: the length, in microseconds
 */
GTimeSpan
flow_sliding_windower_get_length (FlowSlidingWindower *self)
{
  g_return_val_if_fail (FLOW_IS_SLIDING_WINDOWER (self), 0);

  return self->length;
}

/**
 * flow_sliding_windower_get_offset:
 * @self: a sliding windower
 *
 * Gets the time between the openings of two consecutive windows.
 *
 * Returns: the offset, in microseconds
 */
GTimeSpan
flow_sliding_windower_get_offset (FlowSlidingWindower *self)
{
  g_return_val_if_fail (FLOW_IS_SLIDING_WINDOWER (self), 0);

  return self->offset;
}

/**
 * flow_sliding_windower_get_align_to:
 * @self: a sliding windower
 *
 * Gets the instant window 0 opens at.
 *
 * Returns: µs since the Unix epoch (UTC)
 */
gint64
flow_sliding_windower_get_align_to (FlowSlidingWindower *self)
{
  g_return_val_if_fail (FLOW_IS_SLIDING_WINDOWER (self), 0);

  return self->align_to;
}

/**
 * flow_sliding_windower_get_window_ids:
 * @self: a sliding windower
 * @timestamp: a timestamp, µs since the Unix epoch (UTC), between
 *   %FLOW_TIMESTAMP_MIN and %FLOW_TIMESTAMP_MAX
 * @n_ids: (out): return location for the number of ids
 *
 * Computes the ids of the windows that hold @timestamp, in increasing
 * order (what [method@Flow.WindowerState.open_for] gives, without a
 * state).
 *
 * Returns: (array length=n_ids) (transfer full): the window ids
 */
gint64 *
flow_sliding_windower_get_window_ids (FlowSlidingWindower *self,
                                      gint64               timestamp,
                                      gsize               *n_ids)
{
  GArray *ids;

  g_return_val_if_fail (FLOW_IS_SLIDING_WINDOWER (self), NULL);
  g_return_val_if_fail (n_ids != NULL, NULL);
  g_return_val_if_fail (timestamp >= FLOW_TIMESTAMP_MIN && timestamp <= FLOW_TIMESTAMP_MAX, NULL);

  ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  fixed_late_for (FLOW_WINDOWER (self), NULL, timestamp, ids);
  *n_ids = ids->len;
  return (gint64 *) (gpointer) g_array_free (ids, FALSE);
}

/**
 * flow_sliding_windower_get_open_time:
 * @self: a sliding windower
 * @window_id: a window id
 *
 * Computes when a window opens (inclusive).
 *
 * Returns: µs since the Unix epoch (UTC)
 */
gint64
flow_sliding_windower_get_open_time (FlowSlidingWindower *self,
                                     gint64               window_id)
{
  g_return_val_if_fail (FLOW_IS_SLIDING_WINDOWER (self), 0);

  return self->align_to + self->offset * window_id;
}

/**
 * flow_sliding_windower_get_close_time:
 * @self: a sliding windower
 * @window_id: a window id
 *
 * Computes when a window closes (exclusive).
 *
 * Returns: µs since the Unix epoch (UTC)
 */
gint64
flow_sliding_windower_get_close_time (FlowSlidingWindower *self,
                                      gint64               window_id)
{
  g_return_val_if_fail (FLOW_IS_SLIDING_WINDOWER (self), 0);

  return self->align_to + self->offset * window_id + self->length;
}

/* FlowTumblingWindower -------------------------------------------------- */

/**
 * FlowTumblingWindower:
 *
 * Tumbling windows of a fixed length (Bytewax's `TumblingWindower`):
 * consecutive windows that do not overlap, aligned so that one opens at
 * `align_to`. Each item is in exactly one window: window `i` covers
 * `[align_to + i * length, align_to + (i + 1) * length)`.
 *
 * Create it with [ctor@Flow.TumblingWindower.new], which checks the
 * parameters.
 */
static void tumbling_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FlowTumblingWindower, flow_tumbling_windower, FLOW_TYPE_WINDOWER,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, tumbling_initable_iface_init))

enum {
  TUMBLING_PROP_0,
  TUMBLING_PROP_LENGTH,
  TUMBLING_PROP_ALIGN_TO,
  TUMBLING_N_PROPS
};

static GParamSpec *tumbling_properties[TUMBLING_N_PROPS];

static gboolean
tumbling_initable_init (GInitable     *initable,
                        GCancellable  *cancellable,
                        GError       **error)
{
  FlowTumblingWindower *self = FLOW_TUMBLING_WINDOWER (initable);

  return flow_time_check_span ("the tumbling window length", self->length, error) &&
         check_align_to (self->align_to, error);
}

static void
tumbling_initable_iface_init (GInitableIface *iface)
{
  iface->init = tumbling_initable_init;
}

static void
flow_tumbling_windower_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  FlowTumblingWindower *self = FLOW_TUMBLING_WINDOWER (object);

  switch (prop_id)
    {
    case TUMBLING_PROP_LENGTH:
      g_value_set_int64 (value, self->length);
      break;
    case TUMBLING_PROP_ALIGN_TO:
      g_value_set_int64 (value, self->align_to);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_tumbling_windower_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  FlowTumblingWindower *self = FLOW_TUMBLING_WINDOWER (object);

  switch (prop_id)
    {
    case TUMBLING_PROP_LENGTH:
      self->length = g_value_get_int64 (value);
      break;
    case TUMBLING_PROP_ALIGN_TO:
      self->align_to = g_value_get_int64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_tumbling_windower_class_init (FlowTumblingWindowerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = flow_tumbling_windower_get_property;
  object_class->set_property = flow_tumbling_windower_set_property;

  /**
   * FlowTumblingWindower:length:
   *
   * The length of each window, in microseconds.
   */
  tumbling_properties[TUMBLING_PROP_LENGTH] =
    g_param_spec_int64 ("length", NULL, NULL, 1, FLOW_TIME_SPAN_MAX, G_USEC_PER_SEC,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowTumblingWindower:align-to:
   *
   * The instant window 0 opens at, µs since the Unix epoch (UTC).
   */
  tumbling_properties[TUMBLING_PROP_ALIGN_TO] =
    g_param_spec_int64 ("align-to", NULL, NULL, FLOW_TIMESTAMP_MIN, FLOW_TIMESTAMP_MAX, 0,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, TUMBLING_N_PROPS, tumbling_properties);

  flow_windower_class_set_ops (FLOW_WINDOWER_CLASS (klass), &fixed_ops);
}

static void
flow_tumbling_windower_init (FlowTumblingWindower *self)
{
}

/**
 * flow_tumbling_windower_new:
 * @length: the length of each window, in microseconds (positive)
 * @align_to: an instant a window opens at, µs since the Unix epoch (UTC);
 *   not in the future
 * @error: return location for a #GError
 *
 * Creates a tumbling windower.
 *
 * Returns: (transfer full): the new windower, or %NULL with @error set
 *   (%FLOW_ERROR_INVALID_ARGUMENT, naming the bad parameter)
 */
FlowTumblingWindower *
flow_tumbling_windower_new (GTimeSpan   length,
                            gint64      align_to,
                            GError    **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!flow_time_check_span ("the tumbling window length", length, error) ||
      !check_align_to (align_to, error))
    return NULL;
  return g_initable_new (FLOW_TYPE_TUMBLING_WINDOWER, NULL, error,
                         "length", length,
                         "align-to", align_to,
                         NULL);
}

/**
 * flow_tumbling_windower_new_for_date_time:
 * @length: the length of each window, in microseconds (positive)
 * @align_to: an instant a window opens at, in any time zone
 * @error: return location for a #GError
 *
 * Creates a tumbling windower aligned to a #GDateTime.
 *
 * Returns: (transfer full): the new windower, or %NULL with @error set
 */
FlowTumblingWindower *
flow_tumbling_windower_new_for_date_time (GTimeSpan   length,
                                          GDateTime  *align_to,
                                          GError    **error)
{
  gint64 usec;

  if (!usec_of_date_time (align_to, &usec, error))
    return NULL;
  return flow_tumbling_windower_new (length, usec, error);
}

/**
 * flow_tumbling_windower_get_length:
 * @self: a tumbling windower
 *
 * Gets the length of the windows.
 *
 * Returns: the length, in microseconds
 */
GTimeSpan
flow_tumbling_windower_get_length (FlowTumblingWindower *self)
{
  g_return_val_if_fail (FLOW_IS_TUMBLING_WINDOWER (self), 0);

  return self->length;
}

/**
 * flow_tumbling_windower_get_align_to:
 * @self: a tumbling windower
 *
 * Gets the instant window 0 opens at.
 *
 * Returns: µs since the Unix epoch (UTC)
 */
gint64
flow_tumbling_windower_get_align_to (FlowTumblingWindower *self)
{
  g_return_val_if_fail (FLOW_IS_TUMBLING_WINDOWER (self), 0);

  return self->align_to;
}

/**
 * flow_tumbling_windower_get_window_id:
 * @self: a tumbling windower
 * @timestamp: a timestamp, µs since the Unix epoch (UTC), between
 *   %FLOW_TIMESTAMP_MIN and %FLOW_TIMESTAMP_MAX
 *
 * Computes the id of the window that holds @timestamp: the number of
 * whole lengths from `align_to` to it, rounded down (negative before
 * `align_to`).
 *
 * Returns: the window id
 */
gint64
flow_tumbling_windower_get_window_id (FlowTumblingWindower *self,
                                      gint64                timestamp)
{
  g_return_val_if_fail (FLOW_IS_TUMBLING_WINDOWER (self), 0);
  g_return_val_if_fail (timestamp >= FLOW_TIMESTAMP_MIN && timestamp <= FLOW_TIMESTAMP_MAX, 0);

  return flow_time_floor_div (timestamp - self->align_to, self->length);
}
