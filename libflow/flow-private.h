/* flow-private.h: internals shared between the files of libflow
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

/* -------------------------------------------------------------------------
 * The dataflow graph (the definition; immutable once run).
 * ------------------------------------------------------------------------- */

typedef enum
{
  FLOW_OP_INPUT,
  FLOW_OP_MAP,
  FLOW_OP_FILTER,
  FLOW_OP_FILTER_MAP,
  FLOW_OP_FLAT_MAP,
  FLOW_OP_FLATTEN,
  FLOW_OP_INSPECT,
  FLOW_OP_MERGE,
  FLOW_OP_BRANCH,
  FLOW_OP_REDISTRIBUTE,
  FLOW_OP_KEY_ON,
  FLOW_OP_KEY_RM,
  FLOW_OP_MAP_VALUE,
  FLOW_OP_FILTER_VALUE,
  FLOW_OP_FLAT_MAP_VALUE,
  FLOW_OP_STATEFUL_MAP,
  FLOW_OP_STATEFUL_FLAT_MAP,
  FLOW_OP_FOLD_FINAL,
  FLOW_OP_REDUCE_FINAL,
  FLOW_OP_COUNT_FINAL,
  FLOW_OP_MAX_FINAL,
  FLOW_OP_MIN_FINAL,
  FLOW_OP_COLLECT,
  FLOW_OP_OUTPUT,
  FLOW_N_OPS
} FlowOpKind;

typedef struct
{
  gpointer       func;
  gpointer       data;
  GDestroyNotify destroy;
} FlowClosure;

typedef struct _FlowStep FlowStep;

struct _FlowStep
{
  FlowOpKind   kind;
  guint        index;        /* position in the dataflow: a topological order */
  char        *id;           /* as given */
  char        *full_id;      /* "flow_id.step_id" */
  GPtrArray   *inputs;       /* FlowStream* (owned by the dataflow) */
  FlowStream  *outputs[2];   /* owned by the dataflow */
  guint        n_outputs;
  FlowClosure  fn[2];
  double       timeout;      /* collect */
  guint        max_size;     /* collect */
  FlowSource  *source;       /* input */
  FlowSink    *sink;         /* output */
};

const char *flow_op_kind_name        (FlowOpKind kind);
gboolean    flow_op_kind_is_stateful (FlowOpKind kind);

/* flow-dataflow.c */
FlowStep   *flow_dataflow_add_step      (FlowDataflow *self,
                                         FlowOpKind    kind,
                                         const char   *step_id,
                                         FlowStream  **inputs,
                                         guint         n_inputs,
                                         guint         n_outputs);
GPtrArray  *flow_dataflow_get_steps     (FlowDataflow *self);
void        flow_dataflow_set_error     (FlowDataflow *self,
                                         GError       *error);
gboolean    flow_dataflow_has_error     (FlowDataflow *self);
/* Writes the DOT graph into $FLOW_DEBUG_DUMP_DOT_DIR when it is set. */
void        flow_dataflow_debug_dump    (FlowDataflow *self);

/* flow-stream.c */
FlowStream *flow_stream_new             (FlowDataflow *flow,
                                         FlowStep     *step,
                                         guint         port);
FlowStep   *flow_stream_get_step        (FlowStream   *self);
guint       flow_stream_get_port        (FlowStream   *self);
void        flow_stream_orphan          (FlowStream   *self);

/* -------------------------------------------------------------------------
 * Fast paths of the built-in connectors: they move split items directly,
 * without building the GVariant arrays of the public virtual methods.
 * ------------------------------------------------------------------------- */

typedef gboolean (*FlowSourceFastFunc) (FlowSourcePartition  *self,
                                        FlowBatch            *out,
                                        gboolean             *eof,
                                        GError              **error);
typedef gboolean (*FlowSinkFastFunc)   (FlowSinkPartition    *self,
                                        const FlowBatch      *batch,
                                        GError              **error);

void               flow_source_partition_set_fast_path (FlowSourcePartition *self,
                                                        FlowSourceFastFunc   func);
FlowSourceFastFunc flow_source_partition_get_fast_path (FlowSourcePartition *self);
void               flow_sink_partition_set_fast_path   (FlowSinkPartition   *self,
                                                        FlowSinkFastFunc     func);
FlowSinkFastFunc   flow_sink_partition_get_fast_path   (FlowSinkPartition   *self);

/* flow-dir-source.c: whether @path is relative and stays inside its
 * directory (no "..", no empty component). */
gboolean           flow_dir_relative_path_ok           (const char          *path);

/* flow-binding.c: a call into a binding that the binding refused (GJS
 * during garbage collection) is made again; see the file for why. */
extern __thread gboolean flow_binding_blocked;
void     flow_binding_begin_run (void);
void     flow_binding_end_run   (void);
gboolean flow_binding_retry     (guint *tries);

/* Makes a call into user code (a statement, usually an assignment), again
 * if a binding refused it. */
#define FLOW_CALL(stmt)                                                       \
  G_STMT_START {                                                              \
    guint flow_tries_ = 0;                                                    \
    do {                                                                      \
      stmt;                                                                   \
    } while (G_UNLIKELY (flow_binding_blocked) && flow_binding_retry (&flow_tries_)); \
  } G_STMT_END

G_END_DECLS
