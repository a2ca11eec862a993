/* flow-test-clock-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "flow-test-clock.h"
#include "flow-clock-private.h"

G_BEGIN_DECLS

FlowClock *flow_test_clock_get_clock (FlowTestClock *self);

G_END_DECLS
