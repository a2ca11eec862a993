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

G_END_DECLS
