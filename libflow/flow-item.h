/* flow-item.h: helpers for the GVariant items that flow through a dataflow
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
 * FLOW_ITEM_TYPE_KEYED:
 *
 * The #GVariantType of a keyed item: `(sv)`, a string key and a boxed value.
 */
#define FLOW_ITEM_TYPE_KEYED ((const GVariantType *) "(sv)")

FLOW_AVAILABLE_IN_1_0
GVariant *flow_item_new_keyed (const char *key,
                               GVariant   *value);
FLOW_AVAILABLE_IN_1_0
GVariant *flow_item_new_none  (void);
FLOW_AVAILABLE_IN_1_0
gboolean  flow_item_is_keyed  (GVariant   *item);
FLOW_AVAILABLE_IN_1_0
gboolean  flow_item_is_none   (GVariant   *item);
FLOW_AVAILABLE_IN_1_0
gboolean  flow_item_get_keyed (GVariant   *item,
                               char      **key,
                               GVariant  **value);
FLOW_AVAILABLE_IN_1_0
char     *flow_item_repr      (GVariant   *item);
FLOW_AVAILABLE_IN_1_0
int       flow_item_compare   (GVariant   *a,
                               GVariant   *b);

G_END_DECLS
