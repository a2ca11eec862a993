/* flow-store-private.h: the SQLite recovery partitions of a directory
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "flow-exec-private.h"

G_BEGIN_DECLS

/* The format new partitions are made in (docs/recovery-format.md). Format 1
 * (the same tables plus an index snaps_epoch, which format 2 dropped) is
 * still read and written, in its own format: nothing converts it. */
#define FLOW_STORE_FORMAT_VERSION 2
#define FLOW_STORE_FORMAT_VERSION_OLDEST 1
/* The most partitions a directory may have (flow-recovery init's limit). */
#define FLOW_STORE_MAX_PARTITIONS 65535

typedef struct _FlowStore FlowStore;

typedef struct
{
  guint64 ex_num;
  guint   worker_count;
  guint64 resume_epoch;
  gint64  started_at;        /* unix time, µs */
  guint64 frontier;          /* the newest epoch it committed (min over partitions) */
} FlowStoreExecution;

typedef struct
{
  char    *path;
  guint    index;
  guint    count;
  guint    format_version;
  char    *flow_id;          /* NULL before the first run */
  guint64  frontier;         /* newest committed epoch in this partition */
  guint64  gc_epoch;         /* snapshots before it were garbage collected */
  char    *directory_id;     /* random, the same in every partition made together */
} FlowStorePartitionInfo;

typedef gboolean (*FlowStoreRowFunc) (const char  *step_id,
                                      const char  *key,
                                      guint64      epoch,
                                      GVariant    *state,   /* NULL: tombstone */
                                      gpointer     user_data,
                                      GError     **error);

typedef void (*FlowStoreCommitFunc) (guint64       epoch,
                                     const GError *error,
                                     gpointer      user_data);

typedef enum
{
  /* For tools: opens every partition read-only (also on a read-only
   * file system), takes no lock and never writes. */
  FLOW_STORE_OPEN_READ_ONLY = 0,
  /* For a run: takes the directory lock before reading anything (so that
   * nothing read can be changed by another run) and keeps it until the
   * store is freed; fails if any partition cannot be written. */
  FLOW_STORE_OPEN_RUN       = 1 << 0,
} FlowStoreOpenFlags;

/* Opens and validates every partition of @directory without changing
 * anything on disk. */
FlowStore  *flow_store_open              (const char           *directory,
                                          FlowStoreOpenFlags    flags,
                                          GError              **error);
void        flow_store_free              (FlowStore            *store);

guint       flow_store_get_n_partitions  (FlowStore            *store);
const FlowStorePartitionInfo *
            flow_store_get_partition     (FlowStore            *store,
                                          guint                 index);
/* The flow id recorded in the partitions, or NULL if none ran yet. */
/* The number of snapshot rows in a partition (a full scan: for tools). */
gint64      flow_store_count_rows        (FlowStore            *store,
                                          guint                 index,
                                          GError              **error);
const char *flow_store_get_flow_id       (FlowStore            *store);
/* The epoch a new execution resumes from: the newest epoch that every
 * partition committed (0: nothing committed). */
guint64     flow_store_get_resume_epoch  (FlowStore            *store);
GArray     *flow_store_list_executions   (FlowStore            *store,
                                          GError              **error);

/* Checks that @flow_id may resume from these partitions. */
gboolean    flow_store_check_resumable   (FlowStore            *store,
                                          const char           *flow_id,
                                          GError              **error);

/* Calls @func for the newest row of every (step, key) at or before
 * @epoch. With @with_tombstones, also for keys whose newest row is a
 * tombstone (state NULL). */
gboolean    flow_store_load              (FlowStore            *store,
                                          guint64               epoch,
                                          gboolean              with_tombstones,
                                          FlowStoreRowFunc      func,
                                          gpointer              user_data,
                                          GError              **error);

/* Starts a new execution resuming from the resume epoch: discards what
 * uncommitted epochs left behind, records the execution and
 * @initial_rows (FlowSnapRow, may be NULL) as of the resume epoch, and
 * starts the writer thread. Commit callbacks are invoked on @context. */
gboolean    flow_store_begin_execution   (FlowStore            *store,
                                          const char           *flow_id,
                                          guint                 worker_count,
                                          gint64                backup_interval_us,
                                          gint64                now,
                                          GArray               *initial_rows,
                                          GMainContext         *context,
                                          FlowStoreCommitFunc   func,
                                          gpointer              user_data,
                                          GError              **error);
guint64     flow_store_get_execution     (FlowStore            *store);

/* Hands the rows of epoch @epoch (FlowSnapRow, taken), closed at wall
 * time @now (µs), to the writer thread. At most one commit may be in
 * flight: call it again only after the commit function was called for the
 * previous one. Never blocks. */
void        flow_store_commit_async      (FlowStore            *store,
                                          guint64               epoch,
                                          gint64                now,
                                          GArray               *rows);
/* issue 12: flow_store_commit_async() that first calls
 * flow_sink_partition_sync() on each of @syncs (FlowSinkPartition, refs
 * taken; may be NULL), on the writer thread: a failure fails the commit
 * before anything of the epoch is written. */
void        flow_store_commit_async_full (FlowStore            *store,
                                          guint64               epoch,
                                          gint64                now,
                                          GArray               *rows,
                                          GPtrArray            *syncs);
gboolean    flow_store_is_busy           (FlowStore            *store);

char       *flow_store_partition_path    (const char           *directory,
                                          guint                 index);

/* Checks one partition file on its own, read-only: SQLite's integrity
 * check (pages, and every index against its table), the metadata and
 * tables a run validates, and that every stored state (not only the ones
 * a run would read) decodes as a definite GVariant type. Appends a
 * message (no SQL) per problem to @problems, at most @max_problems, then
 * one counting the rest. Returns the number of problems found. */
guint       flow_store_check_file        (const char           *path,
                                          guint                 max_problems,
                                          GPtrArray            *problems);

/* Converts every format-1 partition of @store (opened with
 * FLOW_STORE_OPEN_RUN, no execution begun) to format 2: drops its
 * snaps_epoch index and sets its format, in one transaction per
 * partition. Returns the number of partitions converted, -1 on error. */
gint        flow_store_upgrade           (FlowStore            *store,
                                          GError              **error);

/* Whether an interrupted `flow-recovery init` left its files in
 * @directory (the next init cleans them up). */
gboolean    flow_store_has_interrupted_init (const char        *directory);

/* Partition of a (step, key), by a stable hash. */
guint       flow_store_partition_for     (guint                 n_partitions,
                                          const char           *step_id,
                                          const char           *key);

/* Tests only: called by flow_store_open() once it has read and validated
 * every partition (with FLOW_STORE_OPEN_RUN, after it took the lock),
 * before it returns. A test makes a race deterministic by running another
 * execution from here. */
extern void (*flow_store_test_opened_hook) (const char *directory);
/* Tests only: called by flow_recovery_init_dir() at every step of its
 * work (0, 1, 2, …), so that a test can kill it at each. */
extern void (*flow_store_test_init_hook) (guint step);
/* How long SQLite waits for a lock another process holds before the
 * operation fails as locked (10 s; tests that inject lock faults set 0). */
extern int flow_store_busy_timeout_ms;
/* The most (step, key, epoch) of written rows the writer thread remembers
 * per partition for its garbage collection (1 << 20); past it, it falls
 * back to scanning the table (tests set it low to take that path). */
extern gsize flow_store_gc_record_limit;

G_END_DECLS
