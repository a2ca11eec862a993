/* flow-test-clock.h: a clock that tests move by hand
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

#define FLOW_TYPE_TEST_CLOCK (flow_test_clock_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowTestClock, flow_test_clock, FLOW, TEST_CLOCK, GObject)

FLOW_AVAILABLE_IN_1_0
FlowTestClock *flow_test_clock_new                (gint64          start_time);
FLOW_AVAILABLE_IN_1_0
gint64         flow_test_clock_get_time           (FlowTestClock  *self);
FLOW_AVAILABLE_IN_1_0
gint64         flow_test_clock_get_monotonic_time (FlowTestClock  *self);
FLOW_AVAILABLE_IN_1_0
void           flow_test_clock_advance            (FlowTestClock  *self,
                                                   GTimeSpan       span);

FLOW_AVAILABLE_IN_1_0
gint64         flow_get_monotonic_time            (void);
FLOW_AVAILABLE_IN_1_0
gint64         flow_get_real_time                 (void);

G_END_DECLS
