/* flow-binding.h: what a language binding tells libflow
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include <glib.h>

#include "flow-version-macros.h"
#include "flow-sink.h"
#include "flow-stream.h"

G_BEGIN_DECLS

FLOW_AVAILABLE_IN_1_0
void      flow_binding_set_override_loaded (const char *binding);

/* issue 12: a binding's sink partitions get the items of a batch as they
 * are inside the runner (a keyed item split into key and value), so that
 * it converts them to its own values once, without packing them first. */

/**
 * FlowBindingItem: (skip)
 * @key: (nullable): the key of a keyed item, or %NULL for an item that is
 *   not keyed (or not split)
 * @value: the value of a keyed item, or the whole item
 *
 * An item of a batch as a binding's write function gets it (see
 * flow_binding_sink_partition_set_write_func()). Both are owned by the
 * runner and valid during the call only.
 */
typedef struct
{
  const char *key;
  GVariant   *value;
} FlowBindingItem;

/**
 * FlowBindingWriteFunc: (skip)
 * @self: the sink partition
 * @items: (array length=n_items): the items, in order
 * @n_items: the number of items
 * @error: return location for a #GError
 *
 * Writes a batch of items, as [vfunc@Flow.SinkPartition.write_batch] does.
 *
 * Returns: %TRUE, or %FALSE with @error set
 */
typedef gboolean (*FlowBindingWriteFunc) (FlowSinkPartition      *self,
                                          const FlowBindingItem  *items,
                                          guint                   n_items,
                                          GError                **error);

FLOW_AVAILABLE_IN_1_0
void      flow_binding_sink_partition_set_write_func (FlowSinkPartition    *self,
                                                      FlowBindingWriteFunc  func);

/* issue 12: consecutive stateless steps of one binding run fused: the
 * runner hands the binding's own objects from one step's function to the
 * next and converts to a GVariant once, at the end of the chain. */

/**
 * FlowBindingObjectFuncs: (skip)
 * @from_variant: makes the binding's object for an item (it never fails:
 *   the binding may convert lazily, in @apply); the item stays alive until
 *   the object is freed, so the object may borrow it
 * @to_variant: the item an object stands for (a full reference), or %NULL
 *   with @error set; the object stays the caller's
 * @free: frees an object
 * @apply: runs the step's function (its `user_data` as given to the
 *   operator) on @object, which stays the caller's: sets *@result to a new
 *   object, or to %NULL when the step drops the item (filter, filter_map);
 *   a key_on step sets *@key (a new string) and leaves *@result %NULL.
 *   Returns %FALSE with @error set when the function failed.
 * @apply_stateful: for a stateful_map step (without a builder), instead of
 *   the function above: runs the mapper on the key's @state (%NULL: none) and @object
 *   (the caller's), as #FlowStatefulMapFunc does with a value; returns the
 *   new state (%NULL: discard it) and sets *@emit (%NULL: nothing), or
 *   sets @error
 *
 * What a binding gives for a step whose function works on its objects (see
 * flow_binding_stream_set_object_funcs()). Objects go from one step's
 * @apply to the next one's only when both steps have the same @from_variant.
 */
typedef struct
{
  gpointer  (*from_variant) (GVariant  *item);
  GVariant *(*to_variant)   (gpointer   object,
                             GError   **error);
  void      (*free)         (gpointer   object);
  gboolean  (*apply)        (gpointer   user_data,
                             gpointer   object,
                             gpointer  *result,
                             char     **key,
                             GError   **error);
  GVariant *(*apply_stateful) (gpointer   user_data,
                               GVariant  *state,
                               gpointer   object,
                               GVariant **emit,
                               GError   **error);
} FlowBindingObjectFuncs;

FLOW_AVAILABLE_IN_1_0
void      flow_binding_stream_set_object_funcs (FlowStream                   *stream,
                                                const FlowBindingObjectFuncs *funcs);

G_END_DECLS
