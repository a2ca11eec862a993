/* flow-runner-private.h: what tests may change in a runner
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "flow-runner.h"
#include "flow-clock-private.h"

G_BEGIN_DECLS

/* Runs with @clock (a test clock) instead of the system clock. */
void     flow_runner_set_clock           (FlowRunner    *self,
                                          FlowClock     *clock);

/* Runs like flow_runner_run(), on a test clock that moves only when the
 * run waits for time: when nothing is ready on the run's context and no
 * commit is in flight, the clock advances to the next deadline. So a run
 * takes no real time waiting, and what happens at which time is the same
 * on every machine. */
gboolean flow_runner_run_with_test_clock (FlowRunner    *self,
                                          FlowClock     *clock,
                                          GCancellable  *cancellable,
                                          GError       **error);

G_END_DECLS
