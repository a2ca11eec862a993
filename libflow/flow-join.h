/* flow-join.h: joining keyed streams (join, join_named, join_window)
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

/**
 * FlowJoinInsertMode:
 * @FLOW_JOIN_INSERT_MODE_FIRST: keep only the first value seen on each side
 * @FLOW_JOIN_INSERT_MODE_LAST: keep only the last value seen on each side
 *   (each new value replaces the previous one)
 * @FLOW_JOIN_INSERT_MODE_PRODUCT: keep every value seen on each side; the
 *   join emits the cartesian product of the sides
 *
 * What a join keeps of the values that arrive on one side for one key
 * (Bytewax's `JoinInsertMode`: `"first"`, `"last"`, `"product"`).
 */
typedef enum
{
  FLOW_JOIN_INSERT_MODE_FIRST,
  FLOW_JOIN_INSERT_MODE_LAST,
  FLOW_JOIN_INSERT_MODE_PRODUCT,
} FlowJoinInsertMode;

/**
 * FlowJoinEmitMode:
 * @FLOW_JOIN_EMIT_MODE_COMPLETE: emit as soon as every side has a value
 *   for the key, then forget the key's state
 * @FLOW_JOIN_EMIT_MODE_FINAL: emit once, at the end of input (or when the
 *   window closes), with whatever the sides hold, missing sides as
 *   nothing
 * @FLOW_JOIN_EMIT_MODE_RUNNING: emit after every value, with whatever the
 *   sides hold so far, and keep the state
 *
 * When a join emits (Bytewax's `JoinEmitMode`: `"complete"`, `"final"`,
 * `"running"`).
 */
typedef enum
{
  FLOW_JOIN_EMIT_MODE_COMPLETE,
  FLOW_JOIN_EMIT_MODE_FINAL,
  FLOW_JOIN_EMIT_MODE_RUNNING,
} FlowJoinEmitMode;

G_END_DECLS
