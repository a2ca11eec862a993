/* flow.h: libflow, stream processing with recovery for GLib
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#define FLOW_INSIDE

#include "flow-version.h"
#include "flow-features.h"
#include "flow-version-macros.h"
#include "flow-enums.h"
#include "flow-error.h"
#include "flow-types.h"
#include "flow-item.h"
#include "flow-dataflow.h"
#include "flow-stream.h"
#include "flow-source.h"
#include "flow-sink.h"
#include "flow-testing-source.h"
#include "flow-testing-sink.h"
#include "flow-std-out-sink.h"
#include "flow-file-source.h"
#include "flow-file-sink.h"
#include "flow-dir-source.h"
#include "flow-dir-sink.h"
#include "flow-csv-source.h"
#include "flow-runner.h"
#include "flow-test-clock.h"
#include "flow-recovery.h"
#include "flow-windower.h"
#include "flow-window-clock.h"
#include "flow-join.h"
#include "flow-window-operators.h"
#include "flow-binding.h"
#include "flow-stateful-logic.h"
#if FLOW_HAS_KAFKA
#include "flow-kafka-source.h"
#include "flow-kafka-sink.h"
#endif

#undef FLOW_INSIDE
