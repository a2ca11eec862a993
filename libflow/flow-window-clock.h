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
 * @build: makes the time of a new key (@resume_state %NULL) or of a
 *   resumed one (@resume_state what @snapshot returned): any #GObject
 *   that holds it, given back to the other methods as `logic`
 * @before_batch: prepares for the items of a batch of one key (reads the
 *   system time)
 * @on_item: gives an item its timestamp and the watermark after it
 * @on_notify: gives the watermark when there is no item (a wake-up)
 * @on_eof: gives the watermark at the end of input (usually
 *   %FLOW_TIMESTAMP_MAX, which closes every window)
 * @to_system_utc: converts a time on the clock to the system time at
 *   which the watermark reaches it, or returns %FALSE when it never will
 * @snapshot: returns the state of `logic`, for @build on resume
 *
 * The class of window clocks (Bytewax's `Clock` and `ClockLogic`).
 *
 * A clock written outside libflow (in C, or from Python, GJS or Vala
 * through GObject-Introspection) derives from [class@Flow.WindowClock]
 * and implements all of these virtual methods. The clock itself is
 * configuration; what changes per key is in the object @build returns.
 * All times are microseconds since the Unix epoch (UTC), between
 * %FLOW_TIMESTAMP_MIN and %FLOW_TIMESTAMP_MAX. A window operator calls
 * @before_batch, then @on_item for each item of the key in the batch;
 * @on_notify when it is woken; @on_eof at the end of input;
 * @to_system_utc to know when to wake; and, with recovery, @snapshot at
 * the end of each activation of the key. A watermark that goes back is
 * taken as standing still. When a method fails (sets its error), the
 * run stops with an error naming the step and the key.
 *
 * [class@Flow.SystemClock] and [class@Flow.EventClock] do not go through
 * these methods (they are %NULL in their classes).
 */
struct _FlowWindowClockClass
{
  GObjectClass parent_class;

  /*< private >*/
  gconstpointer ops;

  /*< public >*/
  GObject  *(*build)         (FlowWindowClock  *self,
                              GVariant         *resume_state,
                              GError          **error);
  void      (*before_batch)  (FlowWindowClock  *self,
                              GObject          *logic,
                              GError          **error);
  gboolean  (*on_item)       (FlowWindowClock  *self,
                              GObject          *logic,
                              GVariant         *value,
                              gint64           *timestamp,
                              gint64           *watermark,
                              GError          **error);
  gint64    (*on_notify)     (FlowWindowClock  *self,
                              GObject          *logic,
                              GError          **error);
  gint64    (*on_eof)        (FlowWindowClock  *self,
                              GObject          *logic,
                              GError          **error);
  gboolean  (*to_system_utc) (FlowWindowClock  *self,
                              GObject          *logic,
                              gint64            timestamp,
                              gint64           *system_time,
                              GError          **error);
  GVariant *(*snapshot)      (FlowWindowClock  *self,
                              GObject          *logic,
                              GError          **error);

  /*< private >*/
  gpointer      padding[4];
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

/**
 * FlowNowFunc:
 * @user_data: the data given with the function
 *
 * Gives the system time, for an [class@Flow.EventClock] (Bytewax's
 * `now_getter`). It cannot fail.
 *
 * Returns: the time, in microseconds since the Unix epoch (UTC)
 */
typedef gint64 (*FlowNowFunc) (gpointer user_data);

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
void            flow_event_clock_set_now_func                 (FlowEventClock    *self,
                                                               FlowNowFunc        now_func,
                                                               gpointer           user_data,
                                                               GDestroyNotify     destroy);
FLOW_AVAILABLE_IN_1_0
gint64          flow_event_clock_get_timestamp                (FlowEventClock    *self,
                                                               GVariant          *value,
                                                               GError           **error);

G_END_DECLS
