/* flow-window-clock.h: clocks of window operators (system time, event time)
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

/* FlowWindowClockState -------------------------------------------------- */

#define FLOW_TYPE_WINDOW_CLOCK_STATE (flow_window_clock_state_get_type ())

/**
 * FlowWindowClockState:
 *
 * The sense of time of one key under one [class@Flow.WindowClock]: for an
 * [class@Flow.EventClock], the watermark and when it was last pushed
 * forward. A window operator keeps one per key; it is made by
 * [method@Flow.WindowClock.new_state] or, on resume, by
 * [method@Flow.WindowClock.restore_state] from a snapshot taken with
 * [method@Flow.WindowClockState.snapshot].
 *
 * A reference-counted boxed type; not thread-safe.
 */
typedef struct _FlowWindowClockState FlowWindowClockState;

/* FlowWindowClock ------------------------------------------------------- */

#define FLOW_TYPE_WINDOW_CLOCK (flow_window_clock_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_DERIVABLE_TYPE (FlowWindowClock, flow_window_clock, FLOW, WINDOW_CLOCK, GObject)

/**
 * FlowWindowClockClass:
 * @parent_class: the parent class
 *
 * The class of window clocks (Bytewax's `Clock`). Only libflow's clocks
 * ([class@Flow.SystemClock], [class@Flow.EventClock]) implement it for now.
 */
struct _FlowWindowClockClass
{
  GObjectClass parent_class;

  /*< private >*/
  gconstpointer ops;
  gpointer      padding[11];
};

FLOW_AVAILABLE_IN_1_0
FlowWindowClockState *flow_window_clock_new_state           (FlowWindowClock      *self);
FLOW_AVAILABLE_IN_1_0
FlowWindowClockState *flow_window_clock_restore_state       (FlowWindowClock      *self,
                                                             GVariant             *snapshot,
                                                             GError              **error);

FLOW_AVAILABLE_IN_1_0
GType                 flow_window_clock_state_get_type      (void) G_GNUC_CONST;
FLOW_AVAILABLE_IN_1_0
FlowWindowClockState *flow_window_clock_state_ref           (FlowWindowClockState *self);
FLOW_AVAILABLE_IN_1_0
void                  flow_window_clock_state_unref         (FlowWindowClockState *self);
FLOW_AVAILABLE_IN_1_0
FlowWindowClock      *flow_window_clock_state_get_clock     (FlowWindowClockState *self);
FLOW_AVAILABLE_IN_1_0
void                  flow_window_clock_state_before_batch  (FlowWindowClockState *self);
FLOW_AVAILABLE_IN_1_0
gboolean              flow_window_clock_state_on_item       (FlowWindowClockState *self,
                                                             GVariant             *value,
                                                             gint64               *timestamp,
                                                             gint64               *watermark,
                                                             GError              **error);
FLOW_AVAILABLE_IN_1_0
gint64                flow_window_clock_state_on_notify     (FlowWindowClockState *self);
FLOW_AVAILABLE_IN_1_0
gint64                flow_window_clock_state_on_eof        (FlowWindowClockState *self);
FLOW_AVAILABLE_IN_1_0
gboolean              flow_window_clock_state_to_system_utc (FlowWindowClockState *self,
                                                             gint64                timestamp,
                                                             gint64               *system_time);
FLOW_AVAILABLE_IN_1_0
GVariant             *flow_window_clock_state_snapshot      (FlowWindowClockState *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FlowWindowClockState, flow_window_clock_state_unref)

/* FlowSystemClock ------------------------------------------------------- */

#define FLOW_TYPE_SYSTEM_CLOCK (flow_system_clock_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowSystemClock, flow_system_clock, FLOW, SYSTEM_CLOCK, FlowWindowClock)

FLOW_AVAILABLE_IN_1_0
FlowSystemClock *flow_system_clock_new (void);

/* FlowEventClock -------------------------------------------------------- */

/**
 * FlowTimestampFunc:
 * @value: the value of a keyed item (the `v` of its `(k, v)`)
 * @user_data: the data given with the function
 * @error: return location for a #GError
 *
 * Gets the event time of an item, for an [class@Flow.EventClock].
 *
 * Returns: the timestamp, in microseconds since the Unix epoch (UTC),
 *   between %FLOW_TIMESTAMP_MIN and %FLOW_TIMESTAMP_MAX; on failure, any
 *   value, with @error set
 */
typedef gint64 (*FlowTimestampFunc) (GVariant  *value,
                                     gpointer   user_data,
                                     GError   **error);

#define FLOW_TYPE_EVENT_CLOCK (flow_event_clock_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowEventClock, flow_event_clock, FLOW, EVENT_CLOCK, FlowWindowClock)

FLOW_AVAILABLE_IN_1_0
FlowEventClock *flow_event_clock_new                          (GTimeSpan          wait_for_system_duration,
                                                               FlowTimestampFunc  ts_getter,
                                                               gpointer           user_data,
                                                               GDestroyNotify     destroy,
                                                               GError           **error);
FLOW_AVAILABLE_IN_1_0
GTimeSpan       flow_event_clock_get_wait_for_system_duration (FlowEventClock    *self);
FLOW_AVAILABLE_IN_1_0
gint64          flow_event_clock_get_timestamp                (FlowEventClock    *self,
                                                               GVariant          *value,
                                                               GError           **error);

G_END_DECLS
