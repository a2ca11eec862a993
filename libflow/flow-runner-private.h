/* flow-runner-private.h: what tests may change in a runner
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "flow-runner.h"
#include "flow-clock-private.h"

G_BEGIN_DECLS

/* Runs with @clock (a test clock) instead of the system clock. */
void flow_runner_set_clock (FlowRunner *self,
                            FlowClock  *clock);

G_END_DECLS
