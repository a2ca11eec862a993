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
  const char *snapshot_type;                    /* NULL: no state */
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
  gboolean  (*to_system_utc) (FlowWindowClock *clock,
                              gpointer         data,
                              gint64           timestamp,
                              gint64          *system_time);
  GVariant *(*snapshot)      (FlowWindowClock *clock,
                              gpointer         data);
  gpointer  (*restore)       (FlowWindowClock *clock,
                              GVariant        *snapshot,
                              GError         **error);
} FlowWindowClockOps;

void      flow_window_clock_class_set_ops       (FlowWindowClockClass *klass,
                                                 const FlowWindowClockOps *ops);

/* The system time a clock reads now: the real time of the thread's
 * default FlowClock (the run's clock during a run). */
gint64    flow_window_clock_system_now          (void);
/* Makes flow_window_clock_system_now() return @now (the system time of the
 * batch a window operator processes) until called again with 0. */
void      flow_window_clock_set_batch_time      (gint64             now);

G_END_DECLS
