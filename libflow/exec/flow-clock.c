/* flow-clock.c: the system clock and the test clock
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "flow-clock-private.h"
#include "flow-tsan-private.h"

struct _FlowClock
{
  gatomicrefcount  ref_count;
  gboolean         is_test;

  /* test clocks */
  GMutex           lock;
  gint64           monotonic;
  gint64           real_offset;   /* real = monotonic + real_offset */
  GList           *sources;       /* ClockSource*, unowned */
  gboolean         manual;        /* no auto-advance */
};

typedef struct
{
  GSource    base;
  FlowClock *clock;               /* owned */
  gint64     deadline;
  GList     *link;                /* in clock->sources (test clocks) */
} ClockSource;

/* The lock of a test clock, which every worker of a run uses, is
 * annotated for ThreadSanitizer (flow-tsan-private.h). */
static inline void
clock_lock (FlowClock *clock)
{
  g_mutex_lock (&clock->lock);
  flow_tsan_acquire (&clock->lock);
}

static inline void
clock_unlock (FlowClock *clock)
{
  flow_tsan_release (&clock->lock);
  g_mutex_unlock (&clock->lock);
}

static FlowClock system_clock = { 1, FALSE, { 0 }, 0, 0, NULL, TRUE };

FlowClock *
flow_clock_get_system (void)
{
  return &system_clock;
}

FlowClock *
flow_clock_new_test (gint64 real_start)
{
  FlowClock *clock = g_new0 (FlowClock, 1);

  g_atomic_ref_count_init (&clock->ref_count);
  clock->is_test = TRUE;
  g_mutex_init (&clock->lock);
  clock->monotonic = G_USEC_PER_SEC;
  clock->real_offset = real_start - clock->monotonic;
  return clock;
}

FlowClock *
flow_clock_ref (FlowClock *clock)
{
  if (clock->is_test)
    g_atomic_ref_count_inc (&clock->ref_count);
  return clock;
}

void
flow_clock_unref (FlowClock *clock)
{
  if (!clock->is_test || !g_atomic_ref_count_dec (&clock->ref_count))
    return;
  g_warn_if_fail (clock->sources == NULL);
  g_mutex_clear (&clock->lock);
  g_free (clock);
}

gboolean
flow_clock_is_test (FlowClock *clock)
{
  return clock->is_test;
}

gint64
flow_clock_get_monotonic (FlowClock *clock)
{
  gint64 now;

  if (!clock->is_test)
    return g_get_monotonic_time ();
  clock_lock (clock);
  now = clock->monotonic;
  clock_unlock (clock);
  return now;
}

gint64
flow_clock_get_real (FlowClock *clock)
{
  gint64 now;

  if (!clock->is_test)
    return g_get_real_time ();
  clock_lock (clock);
  now = clock->monotonic + clock->real_offset;
  clock_unlock (clock);
  return now;
}

/* Called with the clock's lock held. */
static void
wake_due_sources (FlowClock *clock)
{
  for (GList *l = clock->sources; l != NULL; l = l->next)
    {
      ClockSource *cs = l->data;

      if (cs->deadline >= 0 && cs->deadline <= clock->monotonic)
        g_source_set_ready_time ((GSource *) cs, 0);
    }
}

void
flow_clock_advance (FlowClock *clock,
                    GTimeSpan  span)
{
  g_return_if_fail (clock->is_test);
  g_return_if_fail (span >= 0);

  clock_lock (clock);
  clock->monotonic += span;
  wake_due_sources (clock);
  clock_unlock (clock);
}

void
flow_clock_set_auto_advance (FlowClock *clock,
                             gboolean   auto_advance)
{
  g_return_if_fail (clock->is_test);
  clock->manual = !auto_advance;
}

gboolean
flow_clock_get_auto_advance (FlowClock *clock)
{
  return clock->is_test && !clock->manual;
}

/* Called with the clock's lock held. */
static gint64
next_deadline (FlowClock *clock)
{
  gint64 next = G_MAXINT64;

  for (GList *l = clock->sources; l != NULL; l = l->next)
    {
      ClockSource *cs = l->data;

      if (cs->deadline > clock->monotonic && cs->deadline < next &&
          !g_source_is_destroyed ((GSource *) cs))
        next = cs->deadline;
    }
  return next;
}

gboolean
flow_clock_has_next_deadline (FlowClock *clock)
{
  gint64 next;

  g_return_val_if_fail (clock->is_test, FALSE);

  clock_lock (clock);
  next = next_deadline (clock);
  clock_unlock (clock);
  return next != G_MAXINT64;
}

gboolean
flow_clock_advance_to_next (FlowClock *clock)
{
  gint64 next = G_MAXINT64;

  g_return_val_if_fail (clock->is_test, FALSE);

  clock_lock (clock);
  next = next_deadline (clock);
  if (next != G_MAXINT64)
    {
      clock->monotonic = next;
      wake_due_sources (clock);
    }
  clock_unlock (clock);
  return next != G_MAXINT64;
}

static gboolean
clock_source_dispatch (GSource     *source,
                       GSourceFunc  callback,
                       gpointer     user_data)
{
  /* One shot: the callback sets the next deadline if it wants one. */
  flow_clock_source_set_deadline (source, -1);
  return callback (user_data);
}

static void
clock_source_finalize (GSource *source)
{
  ClockSource *cs = (ClockSource *) source;
  FlowClock *clock = cs->clock;

  if (clock->is_test)
    {
      clock_lock (clock);
      clock->sources = g_list_delete_link (clock->sources, cs->link);
      clock_unlock (clock);
    }
  flow_clock_unref (clock);
}

static GSourceFuncs clock_source_funcs = {
  NULL, NULL, clock_source_dispatch, clock_source_finalize, NULL, NULL,
};

GSource *
flow_clock_source_new (FlowClock  *clock,
                       const char *name,
                       gint64      deadline)
{
  GSource *source = g_source_new (&clock_source_funcs, sizeof (ClockSource));
  ClockSource *cs = (ClockSource *) source;

  g_source_set_static_name (source, name);
  cs->clock = flow_clock_ref (clock);
  cs->deadline = -1;
  g_source_set_ready_time (source, -1);
  if (clock->is_test)
    {
      clock_lock (clock);
      clock->sources = g_list_prepend (clock->sources, cs);
      cs->link = clock->sources;
      clock_unlock (clock);
    }
  flow_clock_source_set_deadline (source, deadline);
  return source;
}

void
flow_clock_source_set_deadline (GSource *source,
                                gint64   deadline)
{
  ClockSource *cs = (ClockSource *) source;
  FlowClock *clock = cs->clock;

  if (!clock->is_test)
    {
      cs->deadline = deadline;
      g_source_set_ready_time (source, deadline);
      return;
    }

  clock_lock (clock);
  cs->deadline = deadline;
  g_source_set_ready_time (source, deadline >= 0 && deadline <= clock->monotonic ? 0 : -1);
  clock_unlock (clock);
}

gint64
flow_clock_source_get_deadline (GSource *source)
{
  return ((ClockSource *) source)->deadline;
}

/* A stack of clocks; empty again when every run on the thread ended. */
static GPrivate thread_default = G_PRIVATE_INIT (NULL);

FlowClock *
flow_clock_get_thread_default (void)
{
  GSList *stack = g_private_get (&thread_default);

  return stack != NULL ? stack->data : &system_clock;
}

void
flow_clock_push_thread_default (FlowClock *clock)
{
  GSList *stack = g_private_get (&thread_default);

  g_private_set (&thread_default, g_slist_prepend (stack, clock));
}

void
flow_clock_pop_thread_default (FlowClock *clock)
{
  GSList *stack = g_private_get (&thread_default);

  g_return_if_fail (stack != NULL && stack->data == clock);
  g_private_set (&thread_default, g_slist_delete_link (stack, stack));
}
