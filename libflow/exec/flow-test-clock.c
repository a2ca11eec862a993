/* flow-test-clock.c: a clock that tests move by hand
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "flow-private.h"
#include "flow-clock-private.h"
#include "flow-test-clock-private.h"

/**
 * FlowTestClock:
 *
 * A clock for tests: time stands still until the test advances it.
 *
 * Give it to a runner with [method@Flow.Runner.set_test_clock] and
 * everything the run does at a time happens on this clock: epochs close,
 * paused [class@Flow.TestingSource]s wake, collect deadlines pass, and
 * [method@Flow.SourcePartition.next_awake] times come due. Whenever the
 * run has nothing to do but wait for time (no input ready, no commit in
 * flight), the clock jumps to the next time something is due, so a run
 * takes no real time waiting, and what happens at which time is the same
 * on every machine, however busy.
 *
 * A source or a function of the dataflow reads the time of the run with
 * [func@Flow.get_monotonic_time] and [func@Flow.get_real_time].
 *
 * ```python
 * clock = Flow.TestClock.new(1_700_000_000 * 1_000_000)
 * runner = Flow.Runner.new(flow)
 * runner.set_test_clock(clock)
 * runner.run()   # a 30 s PAUSE marker takes no real time
 * ```
 */

struct _FlowTestClock
{
  GObject    parent_instance;
  FlowClock *clock;
};

G_DEFINE_FINAL_TYPE (FlowTestClock, flow_test_clock, G_TYPE_OBJECT)

static void
flow_test_clock_finalize (GObject *object)
{
  FlowTestClock *self = FLOW_TEST_CLOCK (object);

  flow_clock_unref (self->clock);
  G_OBJECT_CLASS (flow_test_clock_parent_class)->finalize (object);
}

static void
flow_test_clock_class_init (FlowTestClockClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = flow_test_clock_finalize;
}

static void
flow_test_clock_init (FlowTestClock *self)
{
}

/**
 * flow_test_clock_new:
 * @start_time: the wall-clock time it starts at, in microseconds since
 *   the Unix epoch (UTC), as g_get_real_time() gives
 *
 * Creates a test clock. Its monotonic time starts at one second.
 *
 * Returns: (transfer full): a new test clock
 */
FlowTestClock *
flow_test_clock_new (gint64 start_time)
{
  FlowTestClock *self = g_object_new (FLOW_TYPE_TEST_CLOCK, NULL);

  self->clock = flow_clock_new_test (start_time);
  return self;
}

/**
 * flow_test_clock_get_time:
 * @self: a test clock
 *
 * Gets the clock's wall-clock time.
 *
 * Returns: microseconds since the Unix epoch (UTC)
 */
gint64
flow_test_clock_get_time (FlowTestClock *self)
{
  g_return_val_if_fail (FLOW_IS_TEST_CLOCK (self), 0);

  return flow_clock_get_real (self->clock);
}

/**
 * flow_test_clock_get_monotonic_time:
 * @self: a test clock
 *
 * Gets the clock's monotonic time, the time base of
 * [method@Flow.SourcePartition.next_awake] during a run on this clock.
 *
 * Returns: microseconds
 */
gint64
flow_test_clock_get_monotonic_time (FlowTestClock *self)
{
  g_return_val_if_fail (FLOW_IS_TEST_CLOCK (self), 0);

  return flow_clock_get_monotonic (self->clock);
}

/**
 * flow_test_clock_advance:
 * @self: a test clock
 * @span: how far, in microseconds (not negative)
 *
 * Moves the clock forward by @span. What is due by then becomes ready
 * on the main context of the run that waits for it, from any thread.
 */
void
flow_test_clock_advance (FlowTestClock *self,
                         GTimeSpan      span)
{
  g_return_if_fail (FLOW_IS_TEST_CLOCK (self));
  g_return_if_fail (span >= 0);

  flow_clock_advance (self->clock, span);
}

FlowClock *
flow_test_clock_get_clock (FlowTestClock *self)
{
  return self->clock;
}

/**
 * flow_get_monotonic_time:
 *
 * Gets the monotonic time of the run being processed on this thread: of
 * its [class@Flow.TestClock] if it has one, else g_get_monotonic_time().
 * A source partition computes its [method@Flow.SourcePartition.next_awake]
 * times from it, so that they mean the same under a test clock.
 *
 * Returns: microseconds
 */
gint64
flow_get_monotonic_time (void)
{
  return flow_clock_get_monotonic (flow_clock_get_thread_default ());
}

/**
 * flow_get_real_time:
 *
 * Gets the wall-clock time of the run being processed on this thread: of
 * its [class@Flow.TestClock] if it has one, else g_get_real_time().
 *
 * Returns: microseconds since the Unix epoch (UTC)
 */
gint64
flow_get_real_time (void)
{
  return flow_clock_get_real (flow_clock_get_thread_default ());
}
