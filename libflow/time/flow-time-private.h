/* flow-time-private.h: what window operators use of windowers and clocks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The public API (flow-windower.h, flow-window-clock.h) allocates an array
 * per call, which suits bindings. A window operator calls the windower
 * and the clock of each key once per item, so it uses these instead: they
 * append to arrays the caller owns and reuses.
 *
 * Each windower class gives its operations as a FlowWindowerOps table
 * (stored in FlowWindowerClass.ops), each clock class as a
 * FlowWindowClockOps table: the per-key state is the `data` of a
 * FlowWindowerState / FlowWindowClockState.
 */

#pragma once

#include "flow-windower.h"
#include "flow-window-clock.h"

G_BEGIN_DECLS

/* The longest span a windower accepts: the whole representable range. */
#define FLOW_TIME_SPAN_MAX (FLOW_TIMESTAMP_MAX - FLOW_TIMESTAMP_MIN)

typedef struct
{
  const char *snapshot_type;                    /* GVariant type string */
  gpointer  (*state_new)   (FlowWindower *windower);
  void      (*state_free)  (gpointer      data);
  /* Appends gint64 window ids to @ids. */
  void      (*open_for)    (FlowWindower *windower,
                            gpointer      data,
                            gint64        timestamp,
                            GArray       *ids);
  void      (*late_for)    (FlowWindower *windower,
                            gpointer      data,
                            gint64        timestamp,
                            GArray       *ids);
  /* Appends (original, target) gint64 pairs to @pairs and forgets them. */
  void      (*take_merged) (FlowWindower *windower,
                            gpointer      data,
                            GArray       *pairs);
  /* Appends FlowWindowMetadata* (transfer full) in closing order. */
  void      (*close_for)   (FlowWindower *windower,
                            gpointer      data,
                            gint64        watermark,
                            GPtrArray    *closed);
  gboolean  (*notify_at)   (FlowWindower *windower,
                            gpointer      data,
                            gint64       *notify_at);
  gboolean  (*is_empty)    (FlowWindower *windower,
                            gpointer      data);
  GVariant *(*snapshot)    (FlowWindower *windower,
                            gpointer      data);
  /* @snapshot has type snapshot_type; NULL and @error on bad contents. */
  gpointer  (*restore)     (FlowWindower *windower,
                            GVariant     *snapshot,
                            GError      **error);
  /* Optional: appends the compact form of the state (a FLOW_TIME_CODE_*
   * tag, then its fields) to @out; without it, the snapshot is stored as
   * a serialised GVariant. */
  void      (*encode)      (FlowWindower *windower,
                            gpointer      data,
                            GByteArray   *out);
  /* Optional: the compact form of the state in a version 2 window row,
   * its times against @anchor (a time of the row); without it, encode's
   * form. Read back by flow_time_decode_snapshot_anchored(). */
  void      (*encode_anchored) (FlowWindower *windower,
                                gpointer      data,
                                gint64        anchor,
                                GByteArray   *out);
  /* Optional: see flow_windower_state_peek_fixed(). */
  gboolean  (*peek_fixed)  (FlowWindower *windower,
                            gpointer      data,
                            const gint64 **windows,
                            guint        *n,
                            guint32      *fingerprint);
} FlowWindowerOps;

void      flow_windower_class_set_ops           (FlowWindowerClass *klass,
                                                 const FlowWindowerOps *ops);

void      flow_windower_state_open_for_into     (FlowWindowerState *self,
                                                 gint64             timestamp,
                                                 GArray            *ids);
void      flow_windower_state_late_for_into     (FlowWindowerState *self,
                                                 gint64             timestamp,
                                                 GArray            *ids);
void      flow_windower_state_take_merged_into  (FlowWindowerState *self,
                                                 GArray            *pairs);
void      flow_windower_state_close_for_into    (FlowWindowerState *self,
                                                 gint64             watermark,
                                                 GPtrArray         *closed);

/* Floor division and remainder for b > 0 (Python's // and %). */
static inline gint64
flow_time_floor_div (gint64 a,
                     gint64 b)
{
  gint64 q = a / b;

  if ((a % b) != 0 && a < 0)
    q--;
  return q;
}

gboolean  flow_time_check_span                  (const char        *what,
                                                 GTimeSpan          span,
                                                 GError           **error);

typedef struct
{
  const char *snapshot_type;                    /* NULL: any type */
  gpointer  (*state_new)     (FlowWindowClock *clock);
  void      (*state_free)    (gpointer         data);
  void      (*before_batch)  (FlowWindowClock *clock,
                              gpointer         data);
  gboolean  (*on_item)       (FlowWindowClock *clock,
                              gpointer         data,
                              GVariant        *value,
                              gint64          *timestamp,
                              gint64          *watermark,
                              GError         **error);
  gint64    (*on_notify)     (FlowWindowClock *clock,
                              gpointer         data);
  /* Optional: NULL gives FLOW_TIMESTAMP_MAX. */
  gint64    (*on_eof)        (FlowWindowClock *clock,
                              gpointer         data);
  gboolean  (*to_system_utc) (FlowWindowClock *clock,
                              gpointer         data,
                              gint64           timestamp,
                              gint64          *system_time);
  GVariant *(*snapshot)      (FlowWindowClock *clock,
                              gpointer         data);
  gpointer  (*restore)       (FlowWindowClock *clock,
                              GVariant        *snapshot,
                              GError         **error);
  /* Optional, as FlowWindowerOps.encode. */
  void      (*encode)        (FlowWindowClock *clock,
                              gpointer         data,
                              GByteArray      *out);
} FlowWindowClockOps;

void      flow_window_clock_class_set_ops       (FlowWindowClockClass *klass,
                                                 const FlowWindowClockOps *ops);

/* Clocks and windowers written outside libflow (the vfuncs of
 * FlowWindowClockClass and FlowWindowerClass) go through a generic ops
 * table whose calls cannot fail: a failure is kept in the state and
 * given by the next call that can fail (on_item) or by settle(), which
 * the window operator calls at the end of each activation of a key. For
 * these, settle() also asks notify_at and is_empty (kept until the next
 * change) and, when @snapshot, takes the snapshot that the compact
 * encoding then stores. For libflow's own, settle() does nothing. */
gboolean  flow_window_clock_state_is_custom     (FlowWindowClockState *self);
gboolean  flow_window_clock_state_settle        (FlowWindowClockState *self,
                                                 gboolean           snapshot,
                                                 GError           **error);
gboolean  flow_windower_state_is_custom         (FlowWindowerState *self);
gboolean  flow_windower_state_settle            (FlowWindowerState *self,
                                                 gboolean           snapshot,
                                                 GError           **error);

/* The system time a clock reads now: the real time of the thread's
 * default FlowClock (the run's clock during a run). */
gint64    flow_window_clock_system_now          (void);
/* Makes flow_window_clock_system_now() return @now (the system time of the
 * batch a window operator processes) until called again with 0. */
void      flow_window_clock_set_batch_time      (gint64             now);

/* Compact snapshots (the window operators' flat `ay` key states, see
 * docs/recovery-format.md): each clock or windower state is a tag and its
 * fields; integers are zigzag LEB128 varints. Decoding gives back the
 * GVariant snapshot of the state's ops (what restore() takes), so that
 * `flow-recovery show` can print it without the clock or windower. */
typedef enum
{
  FLOW_TIME_CODE_VARIANT = 0,         /* type string, NUL, varint size, data */
  FLOW_TIME_CODE_SYSTEM_CLOCK = 1,    /* nothing: `()` */
  FLOW_TIME_CODE_EVENT_CLOCK = 2,     /* system_time_of_max_event, watermark_base: `(xx)` */
  FLOW_TIME_CODE_FIXED_WINDOWER = 3,  /* n, then id, open, close - open: `a(xxx)` */
  /* Version 2 window rows only (anchored): the last id; n, then for each
   * session its id - the previous one's, open - anchor, close - open, the
   * number of merged ids and each - the previous one; the number of
   * queued merges, then each pair: `(xa(xxxax)a(xx))`. */
  FLOW_TIME_CODE_SESSION_WINDOWER = 4,
} FlowTimeCode;

static inline void
flow_time_put_varint (GByteArray *out,
                      gint64      value)
{
  guint64 z = ((guint64) value << 1) ^ (guint64) (value >> 63);
  guint8 buf[10];
  guint n = 0;

  while (z >= 0x80)
    {
      buf[n++] = (guint8) (z | 0x80);
      z >>= 7;
    }
  buf[n++] = (guint8) z;
  g_byte_array_append (out, buf, n);
}

/* Writes @value as flow_time_put_varint() does, at @p, which has room
 * for FLOW_TIME_VARINT_MAX bytes; returns the end. */
#define FLOW_TIME_VARINT_MAX 10

static inline guint8 *
flow_time_write_varint (guint8 *p,
                        gint64  value)
{
  guint64 z = ((guint64) value << 1) ^ (guint64) (value >> 63);

  while (z >= 0x80)
    {
      *p++ = (guint8) (z | 0x80);
      z >>= 7;
    }
  *p++ = (guint8) z;
  return p;
}

static inline gboolean
flow_time_get_varint (const guint8 **p,
                      const guint8  *end,
                      gint64        *value)
{
  guint64 z = 0;

  for (guint shift = 0; shift < 70 && *p < end; shift += 7)
    {
      guint8 b = *(*p)++;

      z |= (guint64) (b & 0x7f) << shift;
      if ((b & 0x80) == 0)
        {
          *value = (gint64) ((z >> 1) ^ (~(z & 1) + 1));
          return TRUE;
        }
    }
  return FALSE;
}

void      flow_time_put_variant                 (GByteArray        *out,
                                                 GVariant          *value);
/* A new floating-free reference, or NULL when malformed. */
GVariant *flow_time_get_variant                 (const guint8     **p,
                                                 const guint8      *end);
void      flow_window_clock_state_encode        (FlowWindowClockState *self,
                                                 GByteArray        *out);
void      flow_windower_state_encode            (FlowWindowerState *self,
                                                 GByteArray        *out);
/* Reads one encoded clock or windower state: its GVariant snapshot (a
 * full reference), or NULL when malformed. */
GVariant *flow_time_decode_snapshot             (const guint8     **p,
                                                 const guint8      *end);
/* The windower's state in a version 2 window row: encode_anchored's form
 * when the windower has one, else flow_windower_state_encode()'s. */
void      flow_windower_state_encode_anchored   (FlowWindowerState *self,
                                                 gint64             anchor,
                                                 GByteArray        *out);
/* Reads what flow_windower_state_encode_anchored() or
 * flow_window_clock_state_encode() wrote. */
GVariant *flow_time_decode_snapshot_anchored    (const guint8     **p,
                                                 const guint8      *end,
                                                 gint64             anchor);
/* FLOW_TIME_CODE_SESSION_WINDOWER's fields (after the tag). */
GVariant *flow_session_windower_decode          (const guint8     **p,
                                                 const guint8      *end,
                                                 gint64             anchor);

/* The fields of a libflow clock's state, for the compact window rows:
 * FLOW_TIME_CODE_SYSTEM_CLOCK (no fields), FLOW_TIME_CODE_EVENT_CLOCK
 * (@t0: the system time of the greatest event, @base: the watermark
 * base), or FLOW_TIME_CODE_VARIANT for any other clock (then see
 * flow_window_clock_state_encode()). */
FlowTimeCode flow_window_clock_state_peek       (FlowWindowClockState *self,
                                                 gint64            *t0,
                                                 gint64            *base);
/* A tumbling or sliding windower's state: its open windows, @n
 * (id, open time, close time) triples in increasing id order, and the
 * fingerprint of the windower's parameters (length, offset, align_to);
 * FALSE for any other windower. */
gboolean  flow_windower_state_peek_fixed        (FlowWindowerState *self,
                                                 const gint64     **windows,
                                                 guint             *n,
                                                 guint32           *fingerprint);
/* The snapshot (`a(xxx)`) of a state of @windower whose open windows are
 * @ids (increasing), stored by a windower whose parameters had
 * @fingerprint: the open and close times follow from the parameters. NULL
 * and FLOW_ERROR_INVALID_ARGUMENT when @windower is not a tumbling or
 * sliding windower, or its parameters changed. */
GVariant *flow_windower_fixed_snapshot          (FlowWindower      *windower,
                                                 guint32            fingerprint,
                                                 const gint64      *ids,
                                                 gsize              n,
                                                 GError           **error);

/* A window operator's key state (flow-op-window.c) is a flat `ay`.
 * Version 1 starts with these bytes, then a version byte; version 2 with
 * one header byte, FLOW_WINDOW_ROW_V2 and flags (docs/recovery-format.md,
 * "Window states"). */
#define FLOW_WINDOW_STATE_MAGIC "FW"
#define FLOW_WINDOW_STATE_VERSION 1

#define FLOW_WINDOW_ROW_V2            0x80
#define FLOW_WINDOW_ROW_CLOCK_SHIFT   5      /* 2 bits: 0 tagged, 1 system, 2 event */
#define FLOW_WINDOW_ROW_FIXED         0x10   /* the windower is tumbling or sliding */
#define FLOW_WINDOW_ROW_WATERMARK     0x08   /* the last watermark is written */
#define FLOW_WINDOW_ROW_IDS           0x04   /* the windows' ids are written */
#define FLOW_WINDOW_ROW_QUEUE         0x02   /* queued values are written */
#define FLOW_WINDOW_ROW_COUNTS        0x01   /* the windows hold counts */

/* One open window of a key, for flow_window_state_encode(). */
typedef struct
{
  gint64    id;
  gint64    count;      /* when the windows hold counts */
  GVariant *contents;   /* otherwise: the window's snapshot */
} FlowWindowRowSlot;

/* A value waiting for the watermark, for flow_window_state_encode(). */
typedef struct
{
  GVariant *value;
  gint64    ts;
  guint     side;
} FlowWindowRowQueued;

/* The stored row of a window operator's key (the current version), built
 * in @scratch (reused between calls): a trusted `ay`, a new reference.
 * @counts: the windows hold counts (count_window), else their contents. */
GVariant *flow_window_state_encode              (GByteArray        *scratch,
                                                 FlowWindowClockState *clock,
                                                 FlowWindowerState *windower,
                                                 gint64             last_watermark,
                                                 const FlowWindowRowSlot *slots,
                                                 guint              n_slots,
                                                 gboolean           counts,
                                                 const FlowWindowRowQueued *queued,
                                                 guint              n_queued);
/* Whether @state is an encoded window key state (of either version). */
gboolean  flow_window_state_is_encoded          (GVariant          *state);
/* Decodes an encoded window key state (either version) into its readable
 * form `(vvxa{xv}a(vxu))`: the clock's and windower's snapshots, the last
 * watermark, each open window's contents by id, the queued values with
 * their timestamps and inputs. A version 2 row of a tumbling or sliding
 * windower stores the windows' ids only: with @windower, the step's, the
 * windower's snapshot is the `a(xxx)` its restore takes (or
 * FLOW_ERROR_INVALID_ARGUMENT when the windower is of another kind or
 * other parameters); without (`flow-recovery show`), it is the `ax` of
 * the ids. Malformed bytes: FLOW_ERROR_CORRUPT_PARTITION. */
GVariant *flow_window_state_decode              (GVariant          *state,
                                                 FlowWindower      *windower,
                                                 GError           **error);

G_END_DECLS
