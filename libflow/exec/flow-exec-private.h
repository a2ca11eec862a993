/* flow-exec-private.h: one execution of a dataflow
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "flow-private.h"

G_BEGIN_DECLS

typedef struct _FlowExec FlowExec;
typedef struct _FlowNode FlowNode;

typedef struct
{
  FlowNode *node;
  guint     port;
} FlowEdge;

/* The state of one key of a stateful step. */
typedef struct
{
  GVariant  *state;        /* NULL: no state (a pending tombstone) */
  GVariant  *by;           /* max/min: what the state compares by (cache) */
  GPtrArray *values;       /* collect: the values collected so far */
  gint64     deadline;     /* collect: system time (µs) of the timeout */
  guint64    dirty_epoch;  /* the epoch it was last recorded as changed in */
} FlowState;

/* A row of a snapshot: one key of one step (or one partition of an input
 * or output step) as of the end of an epoch. */
typedef struct
{
  const char *step_id;     /* full id; owned by the dataflow */
  char       *key;         /* GRefString */
  GVariant   *state;       /* NULL: tombstone */
} FlowSnapRow;

typedef struct
{
  FlowNode            *node;
  char                *key;
  FlowSourcePartition *part;
  FlowSourceFastFunc   fast;
  GSource             *source;
  gint64               backoff;
  gboolean             eof;
} FlowInputPart;

typedef struct
{
  char              *key;
  FlowSinkPartition *part;
  FlowSinkFastFunc   fast;
  FlowBatch          pending;
} FlowOutputPart;

struct _FlowNode
{
  FlowExec   *exec;
  FlowStep   *step;
  GArray     *edges[2];     /* FlowEdge, per output port */
  FlowBatch   out[2];

  /* key_on: the keys seen lately, shared by the items that have them */
  GHashTable *key_cache;    /* GRefString -> itself */

  /* stateful steps */
  GHashTable *states;       /* GRefString key -> FlowState* */
  GPtrArray  *dirty;        /* GRefString keys changed in the open epoch */
  GSource    *timer;        /* collect */
  gint64      next_deadline;

  /* input and output steps */
  GPtrArray  *inputs;       /* FlowInputPart* */
  GPtrArray  *outputs;      /* FlowOutputPart* */
  GHashTable *resume;       /* partition key -> GVariant state */
};

struct _FlowExec
{
  FlowRunner   *runner;     /* unowned */
  FlowDataflow *flow;
  GMainContext *context;
  GPtrArray    *nodes;      /* FlowNode*, in step order */
  GHashTable   *by_id;      /* full step id -> FlowNode* */
  guint64       epoch;      /* the open epoch */
  gboolean      track_changes;
};

/* flow-operators.c */
FlowNode *flow_node_new            (FlowExec   *exec,
                                    FlowStep   *step);
void      flow_node_free           (FlowNode   *node);
gboolean  flow_node_push           (FlowNode   *node,
                                    guint       port,
                                    FlowBatch  *batch,
                                    GError    **error);
gboolean  flow_node_emit           (FlowNode   *node,
                                    guint       port,
                                    GError    **error);
gboolean  flow_node_eof            (FlowNode   *node,
                                    GError    **error);
gboolean  flow_node_wake           (FlowNode   *node,
                                    gint64      now,
                                    GError    **error);
gboolean  flow_node_restore        (FlowNode   *node,
                                    const char *key,
                                    GVariant   *state,
                                    GError    **error);
void      flow_node_snapshot       (FlowNode   *node,
                                    GArray     *rows);
GVariant *flow_node_dup_state      (FlowNode   *node,
                                    FlowState  *st);
guint     flow_node_n_keys         (FlowNode   *node);

void      flow_snap_row_clear      (FlowSnapRow *row);

/* flow-runner.c: collect steps ask for a wake-up */
void      flow_exec_schedule_wake  (FlowExec   *exec,
                                    FlowNode   *node);

G_END_DECLS
