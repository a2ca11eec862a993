/* flow-windower.h: windowers (tumbling, sliding, session) and window metadata
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include <glib-object.h>

#include "flow-version-macros.h"

G_BEGIN_DECLS

/**
 * FLOW_TIMESTAMP_MIN:
 *
 * The earliest timestamp libflow represents: 0001-01-01T00:00:00Z in
 * microseconds since the Unix epoch (Bytewax's `UTC_MIN`,
 * `datetime.min` in UTC).
 */
#define FLOW_TIMESTAMP_MIN (G_GINT64_CONSTANT (-62135596800000000))

/**
 * FLOW_TIMESTAMP_MAX:
 *
 * The latest timestamp libflow represents: 9999-12-31T23:59:59.999999Z in
 * microseconds since the Unix epoch (Bytewax's `UTC_MAX`,
 * `datetime.max` in UTC). A watermark of %FLOW_TIMESTAMP_MAX closes every
 * window.
 */
#define FLOW_TIMESTAMP_MAX (G_GINT64_CONSTANT (253402300799999999))

/**
 * FLOW_LATE_SESSION_ID:
 *
 * The window id a [class@Flow.SessionWindower] gives items that are late
 * (Bytewax's `LATE_SESSION_ID`): a late item cannot be placed in a
 * particular session.
 */
#define FLOW_LATE_SESSION_ID (G_GINT64_CONSTANT (-1))

/* FlowWindowMetadata --------------------------------------------------- */

#define FLOW_TYPE_WINDOW_METADATA (flow_window_metadata_get_type ())

/**
 * FlowWindowMetadata:
 *
 * What a window was: its id, when it opened and closed, and the ids of the
 * windows merged into it (Bytewax's `WindowMetadata`).
 *
 * Times are microseconds since the Unix epoch, UTC. For tumbling and
 * sliding windows the open time is inclusive and the close time exclusive;
 * for session windows both are the timestamps of the first and the last
 * item of the session (both inclusive).
 *
 * An immutable, reference-counted boxed type.
 */
typedef struct _FlowWindowMetadata FlowWindowMetadata;

FLOW_AVAILABLE_IN_1_0
GType               flow_window_metadata_get_type           (void) G_GNUC_CONST;
FLOW_AVAILABLE_IN_1_0
FlowWindowMetadata *flow_window_metadata_new                (gint64              window_id,
                                                             gint64              open_time,
                                                             gint64              close_time,
                                                             const gint64       *merged_ids,
                                                             gsize               n_merged_ids);
FLOW_AVAILABLE_IN_1_0
FlowWindowMetadata *flow_window_metadata_ref                (FlowWindowMetadata *self);
FLOW_AVAILABLE_IN_1_0
void                flow_window_metadata_unref              (FlowWindowMetadata *self);
FLOW_AVAILABLE_IN_1_0
gint64              flow_window_metadata_get_window_id      (FlowWindowMetadata *self);
FLOW_AVAILABLE_IN_1_0
gint64              flow_window_metadata_get_open_time      (FlowWindowMetadata *self);
FLOW_AVAILABLE_IN_1_0
gint64              flow_window_metadata_get_close_time     (FlowWindowMetadata *self);
FLOW_AVAILABLE_IN_1_0
GDateTime          *flow_window_metadata_dup_open_date_time (FlowWindowMetadata *self);
FLOW_AVAILABLE_IN_1_0
GDateTime          *flow_window_metadata_dup_close_date_time (FlowWindowMetadata *self);
FLOW_AVAILABLE_IN_1_0
const gint64       *flow_window_metadata_get_merged_ids     (FlowWindowMetadata *self,
                                                             gsize              *n_merged_ids);
FLOW_AVAILABLE_IN_1_0
gboolean            flow_window_metadata_equal              (FlowWindowMetadata *a,
                                                             FlowWindowMetadata *b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FlowWindowMetadata, flow_window_metadata_unref)

/* FlowWindowerState ----------------------------------------------------- */

#define FLOW_TYPE_WINDOWER_STATE (flow_windower_state_get_type ())

/**
 * FlowWindowerState:
 *
 * The windows of one key under one [class@Flow.Windower]: which are open,
 * which sessions merged. A window operator keeps one per key; it is made by
 * [method@Flow.Windower.new_state] or, on resume, by
 * [method@Flow.Windower.restore_state] from a snapshot taken with
 * [method@Flow.WindowerState.snapshot].
 *
 * A reference-counted boxed type; not thread-safe (one key is processed
 * by one worker).
 */
typedef struct _FlowWindowerState FlowWindowerState;

/* FlowWindower ---------------------------------------------------------- */

#define FLOW_TYPE_WINDOWER (flow_windower_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_DERIVABLE_TYPE (FlowWindower, flow_windower, FLOW, WINDOWER, GObject)

/**
 * FlowWindowerClass:
 * @parent_class: the parent class
 * @build: makes the windows of a new key (@resume_state %NULL) or of a
 *   resumed one (@resume_state what @snapshot returned): any #GObject
 *   that holds them, given back to the other methods as `logic`
 * @open_for: places an item that is not late in its windows, opening
 *   them; returns their ids, an `ax`
 * @late_for: returns the ids (an `ax`) of the windows a late item would
 *   have been in, without opening them
 * @merged: returns the merges since the last call, an `a(xx)` of
 *   `(original_id, target_id)`, and forgets them
 * @close_for: closes the windows the watermark closes and returns their
 *   final metadata, an `a(xxxax)` of (id, open time, close time, merged
 *   ids), in closing order
 * @notify_at: gives the earliest watermark at which a window closes, or
 *   returns %FALSE when none is open
 * @is_empty: whether `logic` can be dropped (no window open, nothing to
 *   remember)
 * @snapshot: returns the state of `logic`, for @build on resume
 *
 * The class of windowers (Bytewax's `Windower` and `WindowerLogic`).
 *
 * A windower written outside libflow (in C, or from Python, GJS or Vala
 * through GObject-Introspection) derives from [class@Flow.Windower] and
 * implements all of these virtual methods. The windower itself is
 * configuration; the windows of each key are in the object @build
 * returns. Times are microseconds since the Unix epoch (UTC), window ids
 * any #gint64. A window operator calls @open_for or @late_for for each
 * item, then, once per batch or wake-up, @merged and @close_for with the
 * watermark, then @notify_at and @is_empty, and, with recovery,
 * @snapshot. Returning a #GVariant of another type, or setting the
 * error, stops the run with an error naming the step and the key (called
 * through the [struct@Flow.WindowerState] methods, which cannot fail, a
 * failed call gives no window and the failure is kept for the operator).
 *
 * libflow's windowers ([class@Flow.TumblingWindower],
 * [class@Flow.SlidingWindower], [class@Flow.SessionWindower]) do not go
 * through these methods (they are %NULL in their classes).
 */
struct _FlowWindowerClass
{
  GObjectClass parent_class;

  /*< private >*/
  gconstpointer ops;

  /*< public >*/
  GObject  *(*build)     (FlowWindower  *self,
                          GVariant      *resume_state,
                          GError       **error);
  GVariant *(*open_for)  (FlowWindower  *self,
                          GObject       *logic,
                          gint64         timestamp,
                          GError       **error);
  GVariant *(*late_for)  (FlowWindower  *self,
                          GObject       *logic,
                          gint64         timestamp,
                          GError       **error);
  GVariant *(*merged)    (FlowWindower  *self,
                          GObject       *logic,
                          GError       **error);
  GVariant *(*close_for) (FlowWindower  *self,
                          GObject       *logic,
                          gint64         watermark,
                          GError       **error);
  gboolean  (*notify_at) (FlowWindower  *self,
                          GObject       *logic,
                          gint64        *notify_at,
                          GError       **error);
  gboolean  (*is_empty)  (FlowWindower  *self,
                          GObject       *logic,
                          GError       **error);
  GVariant *(*snapshot)  (FlowWindower  *self,
                          GObject       *logic,
                          GError       **error);

  /*< private >*/
  gpointer      padding[3];
};

FLOW_AVAILABLE_IN_1_0
FlowWindowerState  *flow_windower_new_state          (FlowWindower       *self);
FLOW_AVAILABLE_IN_1_0
FlowWindowerState  *flow_windower_restore_state      (FlowWindower       *self,
                                                      GVariant           *snapshot,
                                                      GError            **error);

FLOW_AVAILABLE_IN_1_0
GType               flow_windower_state_get_type     (void) G_GNUC_CONST;
FLOW_AVAILABLE_IN_1_0
FlowWindowerState  *flow_windower_state_ref          (FlowWindowerState  *self);
FLOW_AVAILABLE_IN_1_0
void                flow_windower_state_unref        (FlowWindowerState  *self);
FLOW_AVAILABLE_IN_1_0
FlowWindower       *flow_windower_state_get_windower (FlowWindowerState  *self);
FLOW_AVAILABLE_IN_1_0
gint64             *flow_windower_state_open_for     (FlowWindowerState  *self,
                                                      gint64              timestamp,
                                                      gsize              *n_ids);
FLOW_AVAILABLE_IN_1_0
gint64             *flow_windower_state_late_for     (FlowWindowerState  *self,
                                                      gint64              timestamp,
                                                      gsize              *n_ids);
FLOW_AVAILABLE_IN_1_0
GVariant           *flow_windower_state_take_merged  (FlowWindowerState  *self);
FLOW_AVAILABLE_IN_1_0
GPtrArray          *flow_windower_state_close_for    (FlowWindowerState  *self,
                                                      gint64              watermark);
FLOW_AVAILABLE_IN_1_0
gboolean            flow_windower_state_notify_at    (FlowWindowerState  *self,
                                                      gint64             *notify_at);
FLOW_AVAILABLE_IN_1_0
gboolean            flow_windower_state_is_empty     (FlowWindowerState  *self);
FLOW_AVAILABLE_IN_1_0
GVariant           *flow_windower_state_snapshot     (FlowWindowerState  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FlowWindowerState, flow_windower_state_unref)

/* FlowSlidingWindower --------------------------------------------------- */

#define FLOW_TYPE_SLIDING_WINDOWER (flow_sliding_windower_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowSlidingWindower, flow_sliding_windower, FLOW, SLIDING_WINDOWER, FlowWindower)

FLOW_AVAILABLE_IN_1_0
FlowSlidingWindower *flow_sliding_windower_new                (GTimeSpan            length,
                                                               GTimeSpan            offset,
                                                               gint64               align_to,
                                                               GError             **error);
FLOW_AVAILABLE_IN_1_0
FlowSlidingWindower *flow_sliding_windower_new_for_date_time  (GTimeSpan            length,
                                                               GTimeSpan            offset,
                                                               GDateTime           *align_to,
                                                               GError             **error);
FLOW_AVAILABLE_IN_1_0
GTimeSpan            flow_sliding_windower_get_length         (FlowSlidingWindower *self);
FLOW_AVAILABLE_IN_1_0
GTimeSpan            flow_sliding_windower_get_offset         (FlowSlidingWindower *self);
FLOW_AVAILABLE_IN_1_0
gint64               flow_sliding_windower_get_align_to       (FlowSlidingWindower *self);
FLOW_AVAILABLE_IN_1_0
gint64              *flow_sliding_windower_get_window_ids     (FlowSlidingWindower *self,
                                                               gint64               timestamp,
                                                               gsize               *n_ids);
FLOW_AVAILABLE_IN_1_0
gint64               flow_sliding_windower_get_open_time      (FlowSlidingWindower *self,
                                                               gint64               window_id);
FLOW_AVAILABLE_IN_1_0
gint64               flow_sliding_windower_get_close_time     (FlowSlidingWindower *self,
                                                               gint64               window_id);

/* FlowTumblingWindower -------------------------------------------------- */

#define FLOW_TYPE_TUMBLING_WINDOWER (flow_tumbling_windower_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowTumblingWindower, flow_tumbling_windower, FLOW, TUMBLING_WINDOWER, FlowWindower)

FLOW_AVAILABLE_IN_1_0
FlowTumblingWindower *flow_tumbling_windower_new               (GTimeSpan             length,
                                                                gint64                align_to,
                                                                GError              **error);
FLOW_AVAILABLE_IN_1_0
FlowTumblingWindower *flow_tumbling_windower_new_for_date_time (GTimeSpan             length,
                                                                GDateTime            *align_to,
                                                                GError              **error);
FLOW_AVAILABLE_IN_1_0
GTimeSpan             flow_tumbling_windower_get_length        (FlowTumblingWindower *self);
FLOW_AVAILABLE_IN_1_0
gint64                flow_tumbling_windower_get_align_to      (FlowTumblingWindower *self);
FLOW_AVAILABLE_IN_1_0
gint64                flow_tumbling_windower_get_window_id     (FlowTumblingWindower *self,
                                                                gint64                timestamp);

/* FlowSessionWindower --------------------------------------------------- */

#define FLOW_TYPE_SESSION_WINDOWER (flow_session_windower_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowSessionWindower, flow_session_windower, FLOW, SESSION_WINDOWER, FlowWindower)

FLOW_AVAILABLE_IN_1_0
FlowSessionWindower *flow_session_windower_new     (GTimeSpan            gap,
                                                    GError             **error);
FLOW_AVAILABLE_IN_1_0
GTimeSpan            flow_session_windower_get_gap (FlowSessionWindower *self);

G_END_DECLS
