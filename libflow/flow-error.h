/* flow-error.h: the libflow error domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include <glib.h>

#include "flow-version-macros.h"

G_BEGIN_DECLS

/**
 * FLOW_ERROR:
 *
 * The error domain of libflow. Errors in this domain are from the
 * [error@Flow.Error] enumeration.
 */
#define FLOW_ERROR (flow_error_quark ())

/**
 * FlowError:
 * @FLOW_ERROR_FAILED: a failure that has no more specific code
 * @FLOW_ERROR_INVALID_STEP_ID: a step id is empty or contains a `.`
 * @FLOW_ERROR_DUPLICATE_STEP_ID: two steps of one dataflow have the same id
 * @FLOW_ERROR_INVALID_FLOW: an operator was given a stream of another
 *   dataflow, or a bad argument while building
 * @FLOW_ERROR_NOT_KEYED: a stateful step received an item that is not a
 *   keyed `(sv)` item
 * @FLOW_ERROR_USER_FUNCTION: a function given to an operator failed or
 *   returned something it may not return
 * @FLOW_ERROR_INVALID_ARGUMENT: an option or argument has a bad value
 * @FLOW_ERROR_ABORTED: the execution was aborted on purpose (for example by
 *   an abort marker of a [class@Flow.TestingSource]), as if it crashed
 * @FLOW_ERROR_IO: reading or writing a file of a connector failed
 * @FLOW_ERROR_NO_PARTITIONS: the recovery directory has no partitions (it
 *   must be created with `flow-recovery init` first)
 * @FLOW_ERROR_MISSING_PARTITIONS: some recovery partitions are missing
 * @FLOW_ERROR_INCONSISTENT_PARTITIONS: the recovery partitions do not
 *   belong together (another partition count or index)
 * @FLOW_ERROR_FOREIGN_PARTITIONS: the recovery partitions belong to another
 *   dataflow
 * @FLOW_ERROR_PARTITIONS_TOO_OLD: the recovery partitions cannot be resumed
 *   without losing state (they were garbage collected past the epoch the
 *   oldest partition can resume from)
 * @FLOW_ERROR_CORRUPT_PARTITION: a recovery partition is not a valid
 *   libflow partition
 * @FLOW_ERROR_UNSUPPORTED_FORMAT: a recovery partition has a format version
 *   this libflow does not know
 * @FLOW_ERROR_PARTITIONS_EXIST: the recovery directory already holds
 *   partitions
 * @FLOW_ERROR_NOT_SUPPORTED: the requested feature is not supported
 * @FLOW_ERROR_OUTPUT_CHANGED: a resumed sink found its output changed
 *   behind its back (for example a file shorter than its snapshot)
 * @FLOW_ERROR_WRONG_TYPE: an item has a type the step cannot handle (for
 *   example [method@Flow.Stream.flatten] given an item that is not an array)
 * @FLOW_ERROR_INCOMPLETE_FLOW: the dataflow cannot run yet: it has no input
 *   step or no output step
 * @FLOW_ERROR_PARTITIONS_IN_USE: another run is using the recovery
 *   directory
 * @FLOW_ERROR_INVALID_INPUT: a connector's input is not in the format it
 *   reads (for example a [class@Flow.FileSource] line that is not UTF-8
 *   text); the error names the file and the byte offset
 * @FLOW_ERROR_INPUT_CHANGED: a resumed source found its input changed in a
 *   way it cannot resume from without splitting or losing a record (for
 *   example a [class@Flow.FileSource] whose unterminated last line, already
 *   emitted, was continued); the error names the file and the byte offset
 *
 * Error codes of the %FLOW_ERROR domain. New codes are only ever appended.
 */
typedef enum {
  FLOW_ERROR_FAILED,
  FLOW_ERROR_INVALID_STEP_ID,
  FLOW_ERROR_DUPLICATE_STEP_ID,
  FLOW_ERROR_INVALID_FLOW,
  FLOW_ERROR_NOT_KEYED,
  FLOW_ERROR_USER_FUNCTION,
  FLOW_ERROR_INVALID_ARGUMENT,
  FLOW_ERROR_ABORTED,
  FLOW_ERROR_IO,
  FLOW_ERROR_NO_PARTITIONS,
  FLOW_ERROR_MISSING_PARTITIONS,
  FLOW_ERROR_INCONSISTENT_PARTITIONS,
  FLOW_ERROR_FOREIGN_PARTITIONS,
  FLOW_ERROR_PARTITIONS_TOO_OLD,
  FLOW_ERROR_CORRUPT_PARTITION,
  FLOW_ERROR_UNSUPPORTED_FORMAT,
  FLOW_ERROR_PARTITIONS_EXIST,
  FLOW_ERROR_NOT_SUPPORTED,
  FLOW_ERROR_OUTPUT_CHANGED,
  FLOW_ERROR_WRONG_TYPE,
  FLOW_ERROR_INCOMPLETE_FLOW,
  FLOW_ERROR_PARTITIONS_IN_USE,
  FLOW_ERROR_INVALID_INPUT,
  FLOW_ERROR_INPUT_CHANGED,
} FlowError;

FLOW_AVAILABLE_IN_1_0
GQuark flow_error_quark (void);

G_END_DECLS
