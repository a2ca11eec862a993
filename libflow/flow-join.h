/* flow-join.h: joining keyed streams (join, join_named, join_window)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include <glib-object.h>

#include "flow-types.h"
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

FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_join          (FlowStream          *self,
                                         const char          *step_id,
                                         FlowStream         **others,
                                         guint                n_others,
                                         FlowJoinInsertMode   insert_mode,
                                         FlowJoinEmitMode     emit_mode);

#define FLOW_TYPE_TTL_CACHE (flow_ttl_cache_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowTTLCache, flow_ttl_cache, FLOW, TTL_CACHE, GObject)

/**
 * FLOW_TTL_CACHE_FOREVER:
 *
 * A time to live that never runs out (Bytewax's `timedelta.max`): any
 * negative time to live means that.
 */
#define FLOW_TTL_CACHE_FOREVER -1

FLOW_AVAILABLE_IN_1_0
FlowTTLCache *flow_ttl_cache_new        (FlowMapFunc          getter,
                                         gpointer             user_data,
                                         GDestroyNotify       destroy,
                                         GTimeSpan            ttl);
FLOW_AVAILABLE_IN_1_0
GVariant     *flow_ttl_cache_get        (FlowTTLCache        *self,
                                         GVariant            *key,
                                         GError             **error);
FLOW_AVAILABLE_IN_1_0
gboolean      flow_ttl_cache_remove     (FlowTTLCache        *self,
                                         GVariant            *key);
FLOW_AVAILABLE_IN_1_0
guint         flow_ttl_cache_get_size   (FlowTTLCache        *self);
FLOW_AVAILABLE_IN_1_0
GTimeSpan     flow_ttl_cache_get_ttl    (FlowTTLCache        *self);
FLOW_AVAILABLE_IN_1_0
void          flow_ttl_cache_set_time   (FlowTTLCache        *self,
                                         gint64               time);
FLOW_AVAILABLE_IN_1_0
void          flow_ttl_cache_unset_time (FlowTTLCache        *self);

/**
 * FlowEnrichFunc:
 * @cache: the step's cache: [method@Flow.TTLCache.get] looks a key up
 * @item: the item
 * @user_data: (closure): the data given with the function
 * @error: return location for a #GError
 *
 * The function of [method@Flow.Stream.enrich_cached]: makes the new item
 * from @item and what @cache holds.
 *
 * Returns: (transfer full): the new item (may be floating), or %NULL with
 *   @error set
 */
typedef GVariant *(*FlowEnrichFunc) (FlowTTLCache  *cache,
                                     GVariant      *item,
                                     gpointer       user_data,
                                     GError       **error);

FLOW_AVAILABLE_IN_1_0
FlowStream   *flow_stream_enrich_cached (FlowStream          *self,
                                         const char          *step_id,
                                         FlowMapFunc          getter,
                                         gpointer             getter_data,
                                         GDestroyNotify       getter_destroy,
                                         FlowEnrichFunc       mapper,
                                         gpointer             mapper_data,
                                         GDestroyNotify       mapper_destroy,
                                         GTimeSpan            ttl);

G_END_DECLS
