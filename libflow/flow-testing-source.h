/* flow-testing-source.h: a source over an array of items, for tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include "flow-source.h"

G_BEGIN_DECLS

/**
 * FlowTestingMarker:
 * @FLOW_TESTING_MARKER_EOF: the partition ends here; a resumed run
 *   continues after the marker
 * @FLOW_TESTING_MARKER_ABORT: the execution aborts here, as if the process
 *   crashed, the first time the marker is reached (by this source object)
 * @FLOW_TESTING_MARKER_PAUSE: the partition waits before going on
 *
 * Markers that can be placed between the items of a
 * [class@Flow.TestingSource], as Bytewax's `TestingSource.EOF()`,
 * `TestingSource.ABORT()` and `TestingSource.PAUSE()`.
 */
typedef enum {
  FLOW_TESTING_MARKER_EOF,
  FLOW_TESTING_MARKER_ABORT,
  FLOW_TESTING_MARKER_PAUSE,
} FlowTestingMarker;

#define FLOW_TYPE_TESTING_SOURCE (flow_testing_source_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowTestingSource, flow_testing_source, FLOW, TESTING_SOURCE, FlowSource)

FLOW_AVAILABLE_IN_1_0
FlowTestingSource *flow_testing_source_new            (GVariant          *items);
FLOW_AVAILABLE_IN_1_0
GVariant          *flow_testing_source_get_items      (FlowTestingSource *self);
FLOW_AVAILABLE_IN_1_0
guint              flow_testing_source_get_batch_size (FlowTestingSource *self);
FLOW_AVAILABLE_IN_1_0
void               flow_testing_source_set_batch_size (FlowTestingSource *self,
                                                       guint              batch_size);
FLOW_AVAILABLE_IN_1_0
void               flow_testing_source_add_marker     (FlowTestingSource *self,
                                                       guint              position,
                                                       FlowTestingMarker  marker,
                                                       double             pause_seconds);

G_END_DECLS
