/* flow-clock-private.h: the one clock everything in a run reads time from
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A run never calls g_get_monotonic_time() or g_get_real_time() itself: it
 * asks its FlowClock, and it schedules its wake-ups (epoch closes, input
 * back-off and next_awake, collect deadlines) as timeout sources of that
 * clock. The system clock is GLib's. A test clock starts at a fixed time
 * and moves only when a test advances it, so a test decides what time it
 * is, whatever the speed of the machine: an epoch closes, a collect
 * deadline passes, a paused source wakes, exactly when the test says.
 *
 * Work budgeting (how long one dispatch may process input before yielding
 * to the main loop) is not time in this sense: it measures the CPU, and
 * uses the system's monotonic clock whatever the run's clock is.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _FlowClock FlowClock;

/* The system clock (never freed; ref/unref are no-ops on it). */
FlowClock *flow_clock_get_system          (void);

/* A test clock: its real time starts at @real_start (µs since the epoch),
 * its monotonic time at 1 s; both move only by flow_clock_advance(). */
FlowClock *flow_clock_new_test            (gint64      real_start);

FlowClock *flow_clock_ref                 (FlowClock  *clock);
void       flow_clock_unref               (FlowClock  *clock);
gboolean   flow_clock_is_test             (FlowClock  *clock);

/* Monotonic time (µs), comparable with the deadlines of this clock. */
gint64     flow_clock_get_monotonic       (FlowClock  *clock);
/* Wall time (µs since the Unix epoch, UTC). */
gint64     flow_clock_get_real            (FlowClock  *clock);

/* Test clocks only: moves time forward by @span (>= 0), making every
 * timeout source whose deadline passed ready on its context. */
void       flow_clock_advance             (FlowClock  *clock,
                                           GTimeSpan   span);
/* Test clocks only: advances to the earliest deadline of the clock's
 * attached timeout sources that is still in the future. Returns FALSE
 * (and does not move) when there is none. */
gboolean   flow_clock_advance_to_next     (FlowClock  *clock);

/* Test clocks only: whether a run on this clock moves it to the next
 * deadline whenever it waits for time (the default), or leaves it to the
 * test (flow_clock_advance()). */
void       flow_clock_set_auto_advance    (FlowClock  *clock,
                                           gboolean    auto_advance);
gboolean   flow_clock_get_auto_advance    (FlowClock  *clock);

/* Test clocks only: whether an attached timeout source has a deadline
 * still in the future (flow_clock_advance_to_next() would move). */
gboolean   flow_clock_has_next_deadline   (FlowClock  *clock);

/* A source that dispatches once the clock's monotonic time reaches
 * @deadline (-1: never, until set again; 0: at once). The callback is a
 * GSourceFunc; it stays attached until it returns G_SOURCE_REMOVE or is
 * destroyed, and does not fire again until its deadline is set anew. */
GSource   *flow_clock_source_new          (FlowClock  *clock,
                                           const char *name,
                                           gint64      deadline);
void       flow_clock_source_set_deadline (GSource    *source,
                                           gint64      deadline);
gint64     flow_clock_source_get_deadline (GSource    *source);

/* The clock of the run being processed on this thread (the system clock
 * outside of runs): for connectors that compute next_awake times. */
FlowClock *flow_clock_get_thread_default  (void);
void       flow_clock_push_thread_default (FlowClock  *clock);
void       flow_clock_pop_thread_default  (FlowClock  *clock);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FlowClock, flow_clock_unref)

G_END_DECLS
