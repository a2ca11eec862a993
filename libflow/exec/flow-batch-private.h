/* flow-batch-private.h: items and batches inside the execution
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "flow.h"

G_BEGIN_DECLS

/* -------------------------------------------------------------------------
 * Items and batches.
 *
 * Inside the runner an item is a (key, value) pair: a keyed `(sv)` item is
 * kept split, so that stateful steps neither pack nor unpack tuples; an item
 * that is not (yet) split has key == NULL and value == the whole item.
 * Keys are GRefStrings, shared between items and state tables.
 * ------------------------------------------------------------------------- */

typedef struct
{
  char     *key;    /* GRefString, owned; NULL when not split */
  GVariant *value;  /* owned, never floating */
} FlowItem;

typedef struct
{
  FlowItem *items;
  guint     len;
  guint     alloc;
} FlowBatch;

void      flow_batch_init        (FlowBatch  *batch);
void      flow_batch_clear       (FlowBatch  *batch);
void      flow_batch_destroy     (FlowBatch  *batch);
void      flow_batch_reserve     (FlowBatch  *batch,
                                  guint       n);
/* Takes ownership of @key (a GRefString, may be NULL) and of a full ref of
 * @value (sinks it if floating). */
static inline void
flow_batch_push_take (FlowBatch *batch,
                      char      *key,
                      GVariant  *value)
{
  if (G_UNLIKELY (batch->len == batch->alloc))
    flow_batch_reserve (batch, batch->len + 1);
  batch->items[batch->len].key = key;
  batch->items[batch->len].value = value;
  batch->len++;
}
void      flow_batch_push_copy   (FlowBatch  *batch,
                                  const FlowItem *item);
/* Appends the elements of an array variant (children of `av` unboxed). */
void      flow_batch_push_array  (FlowBatch  *batch,
                                  const char *key,
                                  GVariant   *array);

/* Splits @item if it is an unsplit `(sv)`. Returns FALSE if it is not keyed. */
gboolean  flow_item_split        (FlowItem   *item);
/* Returns the whole item as a (packed) GVariant: a new full reference. */
GVariant *flow_item_pack         (const FlowItem *item);
/* Appends the batch's items, packed, to @out (full references). */
void      flow_batch_pack_into   (const FlowBatch *batch,
                                  GPtrArray       *out);
char     *flow_item_repr_split   (const FlowItem *item);
void      flow_repr_append       (GString    *string,
                                  GVariant   *value);

/* Boxes/unboxes the `av` convention of arrays of items. */
GVariant *flow_variant_unbox     (GVariant   *child);

/* A stable 64-bit hash (FNV-1a), the same on every platform. */
guint64   flow_hash_bytes        (guint64     seed,
                                  const void *data,
                                  gsize       len);
guint64   flow_hash_string       (guint64     seed,
                                  const char *string);
#define FLOW_HASH_SEED G_GUINT64_CONSTANT (0xcbf29ce484222325)

/* Serialisation of states and snapshots: a `v` in little-endian normal
 * form, so any language and machine can read it back. */
GBytes   *flow_variant_serialize   (GVariant   *value);
GVariant *flow_variant_deserialize (const void *data,
                                    gsize       size,
                                    GError    **error);
/* The same, remembering the last type string in *@last_type (free it). */
GVariant *flow_variant_deserialize_cached (const void *data,
                                           gsize       size,
                                           char      **last_type,
                                           GError    **error);

G_END_DECLS
