/* flow-private.h: internals shared between the files of libflow
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * An umbrella over the private headers, one per concern:
 *   exec/flow-batch-private.h             items and batches
 *   flow-graph-private.h                  steps and the dataflow graph
 *   connectors/flow-connector-private.h   fast paths of built-in connectors
 *   binding/flow-binding-private.h        language bindings' quirks
 */

#pragma once

#include "flow.h"

#include "flow-batch-private.h"
#include "flow-graph-private.h"
#include "flow-connector-private.h"
#include "flow-binding-private.h"
