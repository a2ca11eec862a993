/* flow-exec-private.h: one execution of a dataflow
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "flow-private.h"
#include "flow-clock-private.h"

G_BEGIN_DECLS

typedef struct _FlowExec FlowExec;
typedef struct _FlowNode FlowNode;
typedef struct _FlowWorkers FlowWorkers;
typedef struct _FlowWorker FlowWorker;
typedef struct _FlowExchange FlowExchange;

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
  gpointer   window;       /* window operators: the key's windows
                            * (FlowWindowKey, flow-op-window.c) */
  guint64    dirty_epoch;  /* the epoch it was last recorded as changed in */
  /* stateful, stateful_batch (flow-op-logic.c): the key's logic, and the
   * time of its pending notification (an entry of node->schedule) */
  GObject   *logic;
  gint64     notify_at;
  gboolean   scheduled;
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
  gboolean             paused;   /* waits for an epoch close (back-pressure) */
  guint64              items_read;    /* metrics */

  /* Time slicing (input_dispatch_cb): the items of the last read batch
   * that were not pushed into the graph yet, from pending_pos on; they go
   * before anything else is read, and before an epoch closes. */
  FlowBatch            pending;
  guint                pending_pos;
  /* A source's `av` batch is kept as it came, and its items unboxed into
   * `pending` (where they are NULL until then) one sub-batch at a time:
   * the GVariants alive at once stay few (push_pending()). */
  GVariant            *pending_array;
  guint                pending_unboxed;
  gboolean             pending_eof;   /* the read that gave them hit the end */
  double               item_usec;     /* measured cost of an item (0: unknown) */
} FlowInputPart;

typedef struct
{
  char              *key;
  FlowSinkPartition *part;
  FlowSinkFastFunc   fast;
  FlowBatch          pending;
  FlowNode          *node;
  FlowSinkFastFunc   write;          /* metrics: the partition's own fast path */
  guint64            items_written;  /* metrics */
} FlowOutputPart;

struct _FlowNode
{
  FlowExec   *exec;
  FlowStep   *step;
  GArray     *edges[3];     /* FlowEdge, per output port */
  FlowBatch   out[3];

  /* key_on: the keys seen lately, shared by the items that have them */
  GHashTable *key_cache;    /* GRefString -> itself */

  /* stateful steps */
  GHashTable *states;       /* GRefString key -> FlowState* */
  GPtrArray  *dirty;        /* GRefString keys changed in the open epoch */
  GTree      *schedule;     /* stateful: (time, key) of pending notifications */
  GSource    *timer;        /* collect */
  gint64      next_deadline;

  /* operators with several inputs (join): the input port of the batch
   * being processed, set by flow_node_push() */
  guint       in_port;
  /* the batch being pushed is the pusher's to clear, nothing more: the
   * node may move keys and values out of it (leaving NULLs). Set by
   * flow_node_push_take() for the time of the push. */
  gboolean    batch_owned;
  /* what an operator keeps for one execution (enrich_cached: its cache;
   * window operators: their deadlines), made by its process function on
   * first use; freed with the node, after its states */
  gpointer       op_data;
  GDestroyNotify op_data_free;

  /* input and output steps */
  GPtrArray  *inputs;       /* FlowInputPart* */
  GPtrArray  *outputs;      /* FlowOutputPart* */
  GHashTable *resume;       /* partition key -> GVariant state */

  /* Several workers (flow-workers.c): items pushed to this node are first
   * routed to the worker that owns them (NULL: no exchange); an output
   * step's partitions by their index in the sink's list (NULL for those
   * of other workers; NULL with one worker: `outputs` is the list). */
  FlowExchange *exchange;
  GPtrArray  *output_slots;

  /* metrics, counted by the dispatcher (flow-operator-node.c) per batch */
  guint64     items_in;
  guint64     items_out;
  guint64     batches;
  gint64      time_us;      /* in process(), downstream steps excluded */
  gint64      child_us;     /* of the current push: spent downstream */
  gint64      last_us;      /* of the last push: all of it */
};

/* An execution: one run of a dataflow on one main context, self-contained
 * (flow-exec.c). It owns its nodes, input and output partitions, timers and
 * recovery store, and tells its owner (the FlowRunner, or one worker's
 * coordinator later) what happens through FlowExecCallbacks, always on its
 * context. Nothing in it waits on another thread.
 *
 * Operators read only `epoch`, `track_changes` and the clock. */
struct _FlowExec
{
  guint64       epoch;      /* the open epoch */
  gboolean      track_changes;
  FlowClock    *clock;

  guint         worker_index; /* 0 with one worker */
  guint         n_workers;    /* 1: no exchange */

  /* the rest belongs to flow-exec.c */
  guint         process_id;   /* this process's share of input partitions */
  guint         processes;    /* (issue 11; 1: all of them) */
  gatomicrefcount ref_count;
  FlowDataflow *flow;
  GMainContext *context;
  GPtrArray    *nodes;      /* FlowNode*, in step order */
  GHashTable   *by_id;      /* full step id -> FlowNode* */
  GPtrArray    *inputs;     /* FlowInputPart* of every input step */
  guint         n_live;
  GSource      *epoch_timer;
  GSource      *cancel_source;
  gulong        cancel_handler; /* on cancellable; wakes cancel_source */
  GSource      *advance_source; /* test clocks: time passes when idle */
  GCancellable *cancellable;
  gint64        epoch_usec;
  gint64        epoch_deadline;
  struct _FlowStore *store;
  GArray       *initial_rows; /* FlowSnapRow of sinks starting afresh */
  guint64       resume_epoch;
  GError       *error;

  /* The life of a run: running -> (stopping) -> completed. While a commit
   * is in flight, an epoch that is due (or the final one) waits for it,
   * and the input is paused: back-pressure through the main loop. */
  gboolean      stopping;       /* no more input is processed */
  gboolean      completed;
  gboolean      commit_in_flight;
  gboolean      epoch_due;      /* an epoch close waits for the commit */
  gboolean      final_due;      /* end of input: the final close waits */
  gboolean      waiting_final_commit;
  guint64       final_epoch;

  const struct _FlowExecCallbacks *callbacks;
  gpointer      owner;

  /* Metrics (flow_exec_dup_metrics()); the per-partition counts are in
   * FlowInputPart and FlowOutputPart. Times are the run's clock's. */
  gint64        start_time;          /* monotonic */
  gint64        last_progress;       /* monotonic; when progress was last told */
  GSource      *progress_timer;      /* a report that was held back by the rate */
  guint64       epochs_closed;
  guint64       last_commit_epoch;   /* 0: none yet */
  gint64        last_commit_usec;
  guint64       last_commit_rows;
  gint64        commit_start;        /* monotonic, of the commit in flight */
  guint64       commit_rows;         /* rows of the commit in flight */

  /* Several workers (flow-workers.c): the coordinator has `workers` (and
   * no nodes of its own), each worker's execution has `worker`. */
  FlowWorkers  *workers;
  FlowWorker   *worker;
  gboolean      coord_pause;     /* worker: input paused for a close */
  gboolean      workers_closing; /* coordinator: the workers close an epoch */
  GPtrArray    *deferred_wakes;  /* worker: FlowNode* woken while paused */
};

typedef struct _FlowExecCallbacks
{
  /* Recovery was loaded (before the partitions are built). */
  void (*resumed)      (gpointer owner, guint64 resume_epoch);
  /* @epoch closed: its output was flushed and its snapshot handed on. */
  void (*epoch_closed) (gpointer owner, guint64 epoch);
  /* The snapshot of @epoch is durable in every recovery partition. */
  void (*committed)    (gpointer owner, guint64 epoch);
  /* The run ended; @error (transfer full) is NULL on success. Called once,
   * after every partition was closed; the execution may be unreffed. */
  void (*finished)     (gpointer owner, GError *error);
  /* Some work was done and at least FLOW_EXEC_PROGRESS_USEC of the run's
   * clock passed since the last call (or the start): a bounded rate of
   * progress reports. May be NULL. */
  void (*progress)     (gpointer owner);
} FlowExecCallbacks;

#define FLOW_EXEC_PROGRESS_USEC (100 * 1000)
/* The most workers a run may have (each is a thread). */
#define FLOW_EXEC_MAX_WORKERS 1024

typedef struct
{
  const char *recovery_directory;   /* NULL: no recovery */
  double      snapshot_interval;    /* seconds */
  double      backup_interval;      /* seconds */
  guint       workers;
  FlowClock  *clock;                /* NULL: the system clock */
  guint       process_id;           /* this process reads share process_id */
  guint       processes;            /* of the input partitions (0 or 1: all) */
} FlowExecConfig;

/* flow-exec.c */
/* Tests: pushes at most @n items of a read batch per dispatch of an input
 * (0, the default: as many as fit in the time slice), so that a test can
 * split batches at fixed points without depending on speed. */
void      flow_exec_set_test_slice_items (guint n);
FlowExec *flow_exec_new            (FlowDataflow             *flow,
                                    const FlowExecConfig     *config,
                                    GMainContext             *context,
                                    const FlowExecCallbacks  *callbacks,
                                    gpointer                  owner);
FlowExec *flow_exec_ref            (FlowExec                 *exec);
void      flow_exec_unref          (FlowExec                 *exec);
/* Builds everything and starts processing on the context. On failure,
 * what was built is closed again and nothing will be called back. */
gboolean  flow_exec_start          (FlowExec                 *exec,
                                    const FlowExecConfig     *config,
                                    GCancellable             *cancellable,
                                    GError                  **error);
guint64   flow_exec_get_resume_epoch (FlowExec               *exec);
/* The run's wall-clock time (µs since the epoch) and monotonic time. */
gint64    flow_exec_get_real_time  (FlowExec                 *exec);
gint64    flow_exec_get_monotonic_time (FlowExec             *exec);
/* The run's figures as an a{sv} (see flow_runner_get_metrics()), floating. */
GVariant *flow_exec_dup_metrics    (FlowExec                 *exec);
/* The same figures in the Prometheus text exposition format. */
char     *flow_exec_dup_prometheus (FlowExec                 *exec);

/* flow-exec.c, for flow-workers.c */
FlowExec *flow_exec_new_worker     (FlowExec                 *coordinator,
                                    guint                     index,
                                    GMainContext             *context,
                                    FlowWorker               *worker);
gboolean  flow_exec_build_graph    (FlowExec                 *exec,
                                    GError                  **error);
void      flow_exec_worker_start   (FlowExec                 *exec);
gboolean  flow_exec_commit_sinks   (FlowExec                 *exec,
                                    guint64                   epoch,
                                    GError                  **error);
gboolean  flow_exec_snapshot_rows  (FlowExec                 *exec,
                                    GArray                   *rows,
                                    GPtrArray                *syncs,
                                    GError                  **error);
void      flow_exec_worker_pause   (FlowExec                 *exec,
                                    gboolean                  final);
void      flow_exec_worker_resume  (FlowExec                 *exec);
void      flow_exec_worker_finish  (FlowExec                 *exec);
gboolean  flow_exec_has_pending    (FlowExec                 *exec);
void      flow_exec_fail           (FlowExec                 *exec,
                                    const char               *step_id,
                                    GError                   *error);
/* The coordinator: the workers gathered the rows of @epoch and the sink
 * partitions to sync before its commit (both taken; NULL without
 * recovery); or they stopped. */
void      flow_exec_epoch_gathered (FlowExec                 *exec,
                                    guint64                   epoch,
                                    GArray                   *rows,
                                    GPtrArray                *syncs);
void      flow_exec_all_inputs_done (FlowExec                *exec);
void      flow_exec_batch_done     (FlowExec                 *exec);
void      flow_exec_workers_closed (FlowExec                 *exec,
                                    GError                   *error);

/* flow-workers.c */
FlowWorkers *flow_workers_new      (FlowExec                 *coordinator,
                                    guint                     n,
                                    GError                  **error);
void      flow_workers_free        (FlowWorkers              *workers);
FlowExec *flow_workers_get_exec    (FlowWorkers              *workers,
                                    guint                     index);
gboolean  flow_workers_start       (FlowWorkers              *workers,
                                    const FlowExecConfig     *config,
                                    GError                  **error);
void      flow_workers_close_epoch (FlowWorkers              *workers,
                                    guint64                   epoch,
                                    gboolean                  final);
/* Stops a close in progress; returns whether there was one. */
gboolean  flow_workers_abort_close (FlowWorkers              *workers);
void      flow_workers_finish      (FlowWorkers              *workers);
/* @epoch is durable (or, without recovery, closed): every worker commits
 * its sinks' second phase (FlowSinkPartition.commit). */
void      flow_workers_commit_sinks (FlowWorkers             *workers,
                                     guint64                  epoch);
/* The store's commit in flight landed: a close waiting for it goes on. */
void      flow_workers_commit_landed (FlowWorkers            *workers);
gboolean  flow_workers_all_idle    (FlowWorkers              *workers);
void      flow_workers_clock_advanced (FlowWorkers           *workers);
GVariant *flow_workers_dup_step_counters (FlowWorkers        *workers);
/* Metrics: every worker's input (or output) partitions with their counts
 * as of the last epoch close, in step order, then worker order. */
typedef void (*FlowWorkersPartFunc) (const char *step_id,
                                     const char *key,
                                     guint64     count,
                                     gpointer    user_data);
void      flow_workers_foreach_part (FlowWorkers            *workers,
                                     gboolean                input,
                                     FlowWorkersPartFunc     func,
                                     gpointer                user_data);
/* Worker side */
gboolean  flow_exchange_route      (FlowNode                 *node,
                                    guint                     port,
                                    FlowBatch                *batch,
                                    gboolean                  take,
                                    GError                  **error);
gboolean  flow_exchange_shared_by_key (FlowNode              *node,
                                       guint                 *n_workers,
                                       guint                 *index);
FlowNode *flow_exchange_direct_node (FlowNode                *node,
                                     guint                    dst);
void      flow_worker_flush        (FlowWorker               *worker);
gboolean  flow_worker_is_threaded  (FlowWorker               *worker);
void      flow_worker_inputs_done  (FlowWorker               *worker);
void      flow_worker_batch_done   (FlowWorker               *worker);
void      flow_worker_failed       (FlowWorker               *worker,
                                    GError                   *error);
void      flow_worker_maybe_idle   (FlowWorker               *worker);
void      flow_worker_closed       (FlowWorker               *worker,
                                    GError                   *error);
/* The stable routing hash of a key (FNV-1a 64, see docs/workers.md). */
guint64   flow_workers_key_hash    (const char               *key);
/* The worker (of @n) that owns the key's state, or partition @index. */
guint     flow_workers_owner_of_key (const char              *key,
                                     guint                    n);
guint     flow_workers_owner_of_part (guint                   index,
                                      guint                   n);

/* operators/flow-operator-node.c: the nodes dispatch to the operator table */
FlowNode *flow_node_new            (FlowExec   *exec,
                                    FlowStep   *step);
void      flow_node_free           (FlowNode   *node);
gboolean  flow_node_push           (FlowNode   *node,
                                    guint       port,
                                    FlowBatch  *batch,
                                    GError    **error);
/* The same, but the exchange may move items out of @batch (its length
 * shrinks): for a batch its caller only clears afterwards. */
gboolean  flow_node_push_take      (FlowNode   *node,
                                    guint       port,
                                    FlowBatch  *batch,
                                    GError    **error);
/* The same, without the exchange: the items are this worker's. */
gboolean  flow_node_push_here      (FlowNode   *node,
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
GVariant *flow_node_dup_counters   (FlowNode   *node);

void      flow_snap_row_clear      (FlowSnapRow *row);

/* flow-exec.c: a step asks for a wake-up at node->next_deadline (wall
 * time, µs; G_MAXINT64 for none) */
void      flow_exec_schedule_wake  (FlowExec   *exec,
                                    FlowNode   *node);

G_END_DECLS
