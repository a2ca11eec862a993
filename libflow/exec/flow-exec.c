/* flow-exec.c: one execution of a dataflow on one main context
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * An execution builds the nodes of a dataflow's steps, its input and output
 * partitions and (with recovery) its store, then drives them with sources
 * on its GMainContext:
 *
 * - one source per input partition, polled at G_PRIORITY_DEFAULT_IDLE,
 *   processing input for at most about SLICE_USEC of CPU time per
 *   dispatch: a batch read from the partition is pushed into the graph in
 *   sub-batches sized by the measured cost of an item, and what is left
 *   of it when the slice is over stays pending for the next dispatch (an
 *   epoch close waits for it: the partition's snapshot covers it);
 * - an epoch timer: at each epoch close, sinks flush, every input
 *   partition, stateful step and sink partition is snapshotted, and the
 *   rows are handed to the store's writer thread;
 * - one wake-up source per step that asked for one (collect deadlines).
 *
 * At most one commit is in flight. An epoch that is due while one is (or
 * the final epoch, at the end of input) waits for its completion, which
 * arrives as a callback on the context; meanwhile the input is paused.
 * No function here waits on another thread.
 *
 * Every time comes from the execution's FlowClock (flow-clock-private.h),
 * so tests drive epochs, deadlines and back-off with a test clock.
 */

#include "config.h"

#include <string.h>

#include "flow-store-private.h"

#define SLICE_USEC (10 * 1000)            /* input work per dispatch (CPU) */
#define SLICE_BATCHES 256                 /* ... and at most this many batches */
#define SLICE_TARGET_USEC (SLICE_USEC / 4) /* the work of one sub-batch */
#define SLICE_MIN_ITEMS 16                /* the smallest sub-batch (see slice_items) */
/* Threaded workers: the largest sub-batch. GLib 2.74's slice allocator
 * (which every GVariant comes from) keeps a few dozen free blocks of a size
 * per thread; a thread that makes many more before it frees them goes to
 * the allocator's shared depot, under a lock, and two workers doing so
 * slow each other down several times over (docs/workers.md). Sub-batches
 * of this many items keep what each step makes within those blocks. */
#define SLICE_THREADED_ITEMS 64
#define BACKOFF_MIN_USEC 1000
#define BACKOFF_MAX_USEC (64 * 1000)

/* flow_exec_set_test_slice_items(); 0: by time */
static guint test_slice_items;

static void exec_complete      (FlowExec *exec);
static void exec_stop_sources  (FlowExec *exec);
static void exec_resume_inputs (FlowExec *exec);
static gboolean input_dispatch_cb (gpointer data);
static void close_due_epoch    (FlowExec *exec);

/* ------------------------------------------------------------------------
 * Life cycle
 * ------------------------------------------------------------------------ */

static void
input_part_free (FlowInputPart *ip)
{
  if (ip->source != NULL)
    {
      g_source_destroy (ip->source);
      g_source_unref (ip->source);
    }
  g_clear_object (&ip->part);
  flow_batch_destroy (&ip->pending);
  g_clear_pointer (&ip->pending_array, g_variant_unref);
  g_free (ip->key);
  g_free (ip);
}

static void
output_part_free (FlowOutputPart *op)
{
  g_clear_object (&op->part);
  flow_batch_destroy (&op->pending);
  g_free (op->key);
  g_free (op);
}

static void
snap_row_clear (gpointer data)
{
  flow_snap_row_clear (data);
}

FlowExec *
flow_exec_new (FlowDataflow            *flow,
               const FlowExecConfig    *config,
               GMainContext            *context,
               const FlowExecCallbacks *callbacks,
               gpointer                 owner)
{
  FlowExec *exec = g_new0 (FlowExec, 1);

  g_atomic_ref_count_init (&exec->ref_count);
  exec->flow = g_object_ref (flow);
  exec->context = g_main_context_ref (context);
  exec->clock = flow_clock_ref (config->clock != NULL ? config->clock : flow_clock_get_system ());
  exec->nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) flow_node_free);
  exec->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  exec->inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) input_part_free);
  exec->callbacks = callbacks;
  exec->owner = owner;
  exec->n_workers = 1;
  return exec;
}

FlowExec *
flow_exec_ref (FlowExec *exec)
{
  g_atomic_ref_count_inc (&exec->ref_count);
  return exec;
}

void
flow_exec_unref (FlowExec *exec)
{
  if (!g_atomic_ref_count_dec (&exec->ref_count))
    return;

  exec_stop_sources (exec);
  g_clear_pointer (&exec->workers, flow_workers_free);
  g_clear_pointer (&exec->deferred_wakes, g_ptr_array_unref);
  g_clear_pointer (&exec->store, flow_store_free);
  g_clear_pointer (&exec->initial_rows, g_array_unref);
  g_clear_pointer (&exec->nodes, g_ptr_array_unref);
  g_clear_pointer (&exec->by_id, g_hash_table_unref);
  g_clear_pointer (&exec->inputs, g_ptr_array_unref);
  g_clear_pointer (&exec->context, g_main_context_unref);
  g_clear_pointer (&exec->clock, flow_clock_unref);
  g_clear_object (&exec->flow);
  g_clear_object (&exec->cancellable);
  g_clear_error (&exec->error);
  g_free (exec);
}

guint64
flow_exec_get_resume_epoch (FlowExec *exec)
{
  return exec->resume_epoch;
}

gint64
flow_exec_get_real_time (FlowExec *exec)
{
  return flow_clock_get_real (exec->clock);
}

gint64
flow_exec_get_monotonic_time (FlowExec *exec)
{
  return flow_clock_get_monotonic (exec->clock);
}

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static void
exec_stop_sources (FlowExec *exec)
{
  if (exec->inputs != NULL)
    for (guint i = 0; i < exec->inputs->len; i++)
      clear_source (&((FlowInputPart *) g_ptr_array_index (exec->inputs, i))->source);
  clear_source (&exec->epoch_timer);
  /* Disconnecting waits for a handler running in a cancelling thread, so
   * the source outlives every call that wakes it. */
  if (exec->cancel_handler != 0)
    g_cancellable_disconnect (exec->cancellable, exec->cancel_handler);
  exec->cancel_handler = 0;
  clear_source (&exec->cancel_source);
  clear_source (&exec->advance_source);
  clear_source (&exec->progress_timer);
  if (exec->nodes != NULL)
    for (guint i = 0; i < exec->nodes->len; i++)
      clear_source (&((FlowNode *) g_ptr_array_index (exec->nodes, i))->timer);
}

static GSource *
exec_add_source (FlowExec    *exec,
                 const char  *name,
                 int          priority,
                 gint64       deadline,
                 GSourceFunc  func,
                 gpointer     data)
{
  GSource *source = flow_clock_source_new (exec->clock, name, deadline);

  g_source_set_priority (source, priority);
  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, exec->context);
  return source;
}

/* One structured log line (G_MESSAGES_DEBUG=Flow shows it) with the
 * dataflow's id as FLOW_DATAFLOW and, where there is one, the step's full
 * id as FLOW_STEP, so journald and desktop log viewers can filter by step. */
static void G_GNUC_PRINTF (4, 5)
exec_log (FlowExec       *exec,
          GLogLevelFlags  level,
          const char     *step_id,
          const char     *format,
          ...)
{
  g_autofree char *message = NULL;
  GLogField fields[4] = {
    { "GLIB_DOMAIN", G_LOG_DOMAIN, -1 },
    { "MESSAGE", NULL, -1 },
    { "FLOW_DATAFLOW", flow_dataflow_get_id (exec->flow), -1 },
    { "FLOW_STEP", step_id, -1 },
  };
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  fields[1].value = message;
  g_log_structured_array (level, fields, step_id != NULL ? 4 : 3);
}

static gboolean
progress_timer_cb (gpointer data)
{
  FlowExec *exec = data;

  flow_clock_source_set_deadline (exec->progress_timer, -1);
  if (!exec->stopping)
    {
      flow_exec_ref (exec);
      exec->last_progress = flow_clock_get_monotonic (exec->clock);
      exec->callbacks->progress (exec->owner);
      flow_exec_unref (exec);
    }
  return G_SOURCE_CONTINUE;
}

/* Some work was done: tells the owner, at most every
 * FLOW_EXEC_PROGRESS_USEC of the run's clock. A report held back by that
 * rate is made when the time comes (so the last work before a quiet
 * spell is reported too). */
static void
exec_maybe_progress (FlowExec *exec)
{
  gint64 now;

  if (exec->callbacks->progress == NULL || exec->stopping)
    return;
  now = flow_clock_get_monotonic (exec->clock);
  if (now - exec->last_progress < FLOW_EXEC_PROGRESS_USEC)
    {
      if (exec->progress_timer == NULL)
        exec->progress_timer = exec_add_source (exec, "[libflow] progress", G_PRIORITY_DEFAULT, -1,
                                                progress_timer_cb, exec);
      if (flow_clock_source_get_deadline (exec->progress_timer) < 0)
        flow_clock_source_set_deadline (exec->progress_timer,
                                        exec->last_progress + FLOW_EXEC_PROGRESS_USEC);
      return;
    }
  if (exec->progress_timer != NULL)
    flow_clock_source_set_deadline (exec->progress_timer, -1);
  exec->last_progress = now;
  exec->callbacks->progress (exec->owner);
}

/* Keeps the first error of the run. */
static void
exec_set_error (FlowExec *exec,
                GError   *error)
{
  if (exec->error == NULL)
    exec->error = error;
  else
    g_error_free (error);
}

/* The run failed: stop processing. What is committed stays committed; a
 * commit already in flight lands first (it is a consistent epoch, and
 * letting it finish keeps the partitions' last word clean): the run
 * completes from its callback. */
static void
exec_fail_step (FlowExec   *exec,
                const char *step_id,
                GError     *error)
{
  /* A worker that failed already told the coordinator: what it does
   * until the run stops (batches in flight) is not told again. */
  gboolean told = exec->worker != NULL && exec->error != NULL;

  exec_set_error (exec, error);
  if (exec->completed || told)
    return;

  exec_log (exec, G_LOG_LEVEL_INFO, step_id, "run of '%s' failed: %s",
            flow_dataflow_get_id (exec->flow), exec->error->message);
  exec->stopping = TRUE;
  exec->epoch_due = FALSE;
  exec->final_due = FALSE;
  exec->waiting_final_commit = FALSE;
  exec_stop_sources (exec);
  if (exec->worker != NULL)
    {
      /* The coordinator stops every worker, then this one closes. */
      flow_worker_failed (exec->worker, g_error_copy (exec->error));
      return;
    }
  /* A close the workers had not finished is dropped (not committed). */
  if (exec->workers != NULL)
    flow_workers_abort_close (exec->workers);
  if (!exec->commit_in_flight)
    exec_complete (exec);
}

void
flow_exec_fail (FlowExec   *exec,
                const char *step_id,
                GError     *error)
{
  flow_exec_ref (exec);
  exec_fail_step (exec, step_id, error);
  flow_exec_unref (exec);
}

static void
exec_fail (FlowExec *exec,
           GError   *error)
{
  exec_fail_step (exec, NULL, error);
}

/* One helper for every partition that fails to start, snapshot or close:
 * the step, the partition and what failed, before the partition's own
 * message. A partition that returned failure without an error gets one. */
static GError *
partition_error (FlowNode   *node,
                 const char *key,
                 const char *what,
                 GError     *local)
{
  gboolean input = flow_step_is_input (node->step);

  if (local == NULL)
    local = g_error_new (FLOW_ERROR, FLOW_ERROR_FAILED, "%s", what);
  g_prefix_error (&local, "%s step '%s' (partition '%s') failed to %s: ",
                  input ? "input" : "output", node->step->full_id, key,
                  what);
  return local;
}

/* ------------------------------------------------------------------------
 * Epochs
 * ------------------------------------------------------------------------ */

static gboolean
snapshot_into (GArray     *rows,
               FlowNode   *node,
               const char *key,
               GVariant   *state,
               GError     *local,
               GError    **error)
{
  if (local != NULL)
    {
      g_clear_pointer (&state, g_variant_unref);
      g_propagate_error (error, partition_error (node, key, "snapshot", local));
      return FALSE;
    }
  if (state == NULL)
    return TRUE;
  state = g_variant_take_ref (state);
  if (rows != NULL)
    {
      FlowSnapRow row = { node->step->full_id, g_ref_string_new (key), state };
      g_array_append_val (rows, row);
    }
  else
    g_variant_unref (state);
  return TRUE;
}

static void
commit_cb (guint64       epoch,
           const GError *error,
           gpointer      user_data);

/* The second phase of @epoch for every sink partition, once its snapshots
 * are durable (FlowSinkPartition.commit; issue 11's transactional Kafka
 * sink). Stops at the first error. */
gboolean
flow_exec_commit_sinks (FlowExec  *exec,
                        guint64    epoch,
                        GError   **error)
{
  for (guint i = 0; i < exec->nodes->len; i++)
    {
      FlowNode *node = g_ptr_array_index (exec->nodes, i);

      for (guint j = 0; node->outputs != NULL && j < node->outputs->len; j++)
        {
          FlowOutputPart *op = g_ptr_array_index (node->outputs, j);
          GError *local = NULL;

          if (!flow_sink_partition_commit (op->part, epoch, &local) || local != NULL)
            {
              g_propagate_error (error, partition_error (node, op->key, "commit", local));
              return FALSE;
            }
        }
    }
  return TRUE;
}

/* Flushes every sink partition and, if @rows is not NULL, appends the
 * snapshot of the epoch: sink partitions, input partitions, then the keys
 * of stateful steps changed in it. Sink partitions that make their output
 * durable with a sync() are added to @syncs (if not NULL): the store's
 * writer thread syncs them before it commits the epoch (issue 12). */
gboolean
flow_exec_snapshot_rows (FlowExec   *exec,
                         GArray     *rows,
                         GPtrArray  *syncs,
                         GError    **error)
{
  /* Sinks first: their snapshot flushes this epoch's output, which must be
   * out before the epoch counts as committed. */
  for (guint i = 0; i < exec->nodes->len; i++)
    {
      FlowNode *node = g_ptr_array_index (exec->nodes, i);

      for (guint j = 0; node->outputs != NULL && j < node->outputs->len; j++)
        {
          FlowOutputPart *op = g_ptr_array_index (node->outputs, j);
          GError *local = NULL;
          GVariant *state = flow_sink_partition_snapshot (op->part, &local);

          /* A dynamic sink's snapshot only flushes: nothing to resume. */
          if (state != NULL && flow_sink_is_dynamic (node->step->sink))
            g_variant_unref (g_variant_take_ref (g_steal_pointer (&state)));
          if (!snapshot_into (rows, node, op->key, state, local, error))
            return FALSE;
          /* issue 12: a partition with a sync() (FileSink's fdatasync())
           * is made durable by the store's writer thread, before it
           * commits the epoch, rather than here on the main loop. */
          if (syncs != NULL && flow_sink_partition_has_sync (op->part))
            g_ptr_array_add (syncs, g_object_ref (op->part));
        }
    }

  if (rows != NULL)
    {
      for (guint i = 0; i < exec->inputs->len; i++)
        {
          FlowInputPart *ip = g_ptr_array_index (exec->inputs, i);
          GError *local = NULL;
          GVariant *state = NULL;

          /* A dynamic source's partitions are not resumed (issue 9). */
          if (!flow_source_is_dynamic (ip->node->step->source))
            state = flow_source_partition_snapshot (ip->part, &local);
          if (!snapshot_into (rows, ip->node, ip->key, state, local, error))
            return FALSE;
        }

      for (guint i = 0; i < exec->nodes->len; i++)
        flow_node_snapshot (g_ptr_array_index (exec->nodes, i), rows);
    }
  return TRUE;
}

static gboolean
exec_close_epoch (FlowExec  *exec,
                  GError   **error)
{
  g_autoptr(GArray) rows = NULL;
  g_autoptr(GPtrArray) syncs = NULL;  /* issue 12: sink partitions to sync() */
  guint64 epoch = exec->epoch;

  if (exec->workers != NULL)
    {
      /* The workers close it (flow-workers.c), then
       * flow_exec_epoch_gathered() commits it. They pause at once, even
       * while the previous commit is in flight; only their snapshot waits
       * for it. */
      g_assert (!exec->workers_closing);
      exec->workers_closing = TRUE;
      flow_workers_close_epoch (exec->workers, epoch, exec->final_due || exec->stopping);
      return TRUE;
    }

  g_assert (!exec->commit_in_flight);
  if (exec->store != NULL)
    {
      rows = g_array_new (FALSE, TRUE, sizeof (FlowSnapRow));
      g_array_set_clear_func (rows, snap_row_clear);
      syncs = g_ptr_array_new_with_free_func (g_object_unref);
    }

  if (!flow_exec_snapshot_rows (exec, rows, syncs, error))
    return FALSE;

  if (rows != NULL)
    {
      exec_log (exec, G_LOG_LEVEL_INFO, NULL, "epoch %" G_GUINT64_FORMAT " closed: committing %u rows",
                epoch, rows->len);
      exec->commit_in_flight = TRUE;
      exec->commit_start = flow_clock_get_monotonic (exec->clock);
      exec->commit_rows = rows->len;
      flow_store_commit_async_full (exec->store, epoch, flow_clock_get_real (exec->clock),
                                    g_steal_pointer (&rows), g_steal_pointer (&syncs));
    }

  else
    {
      exec_log (exec, G_LOG_LEVEL_INFO, NULL, "epoch %" G_GUINT64_FORMAT " closed", epoch);
      /* No store: the epoch is final once closed (sinks' second phase). */
      if (!flow_exec_commit_sinks (exec, epoch, error))
        return FALSE;
    }

  exec->epoch++;
  exec->epochs_closed++;
  exec->callbacks->epoch_closed (exec->owner, epoch);
  return TRUE;
}

/* Some input partition has read items it did not push into the graph. */
static gboolean
exec_has_pending (FlowExec *exec)
{
  for (guint i = 0; i < exec->inputs->len; i++)
    if (((FlowInputPart *) g_ptr_array_index (exec->inputs, i))->pending.len > 0)
      return TRUE;
  return FALSE;
}

/* Input waits while an epoch close waits for the commit in flight (or for
 * the pending items of other partitions). */
static gboolean
exec_input_paused (FlowExec *exec)
{
  return exec->epoch_due || exec->final_due || exec->coord_pause;
}

gboolean
flow_exec_has_pending (FlowExec *exec)
{
  return exec_has_pending (exec);
}

static void
exec_resume_inputs (FlowExec *exec)
{
  for (guint i = 0; i < exec->inputs->len; i++)
    {
      FlowInputPart *ip = g_ptr_array_index (exec->inputs, i);

      if (ip->source != NULL && ip->paused)
        {
          ip->paused = FALSE;
          flow_clock_source_set_deadline (ip->source, 0);
        }
    }
}

static void
exec_arm_epoch_timer (FlowExec *exec)
{
  exec->epoch_deadline = flow_clock_get_monotonic (exec->clock) + exec->epoch_usec;
  /* With a snapshot interval of 0 the input arms the timer after each
   * batch (see batch_done); a timer due at once would close empty epochs
   * forever and starve the input. */
  if (exec->epoch_timer != NULL)
    flow_clock_source_set_deadline (exec->epoch_timer,
                                    exec->epoch_usec > 0 ? exec->epoch_deadline : -1);
}

/* Whether a due epoch may start closing: with one worker, once no commit
 * is in flight; with several, once the workers finished the last close
 * (they pause at once, which is the back-pressure; their snapshot waits
 * for the commit in flight, flow_workers_commit_landed()). */
static gboolean
exec_can_close (FlowExec *exec)
{
  if (exec->workers != NULL)
    return !exec->workers_closing;
  return !exec->commit_in_flight;
}

static gboolean
epoch_timer_cb (gpointer data)
{
  FlowExec *exec = data;

  if (exec->stopping)
    return G_SOURCE_REMOVE;

  /* With a commit in flight, the close waits for it (commit_cb), and
   * the input with it: back-pressure. */
  exec->epoch_due = TRUE;
  if (exec_can_close (exec))
    close_due_epoch (exec);
  return G_SOURCE_CONTINUE;
}

static void exec_finish_input (FlowExec *exec);

/* Closes the epoch that is due (exec->epoch_due or exec->final_due); no
 * commit is in flight. */
static void
close_due_epoch (FlowExec *exec)
{
  GError *error = NULL;

  /* An input partition's snapshot is its read position: items it read
   * but did not push yet would be lost by a resume from this epoch. The
   * close waits for them (input_drained() fires the epoch timer again);
   * at the end of input nothing is pending. */
  if (!exec->final_due && exec_has_pending (exec))
    return;

  flow_exec_ref (exec);
  if (exec->final_due)
    {
      exec->final_due = FALSE;
      exec->epoch_due = FALSE;
      exec_finish_input (exec);
    }
  else if (exec->epoch_due)
    {
      exec->epoch_due = FALSE;
      if (!exec_close_epoch (exec, &error))
        exec_fail (exec, error);
      else if (!exec->stopping)
        {
          exec_arm_epoch_timer (exec);
          exec_resume_inputs (exec);
        }
    }
  flow_exec_unref (exec);
}

/* A batch was processed: with a snapshot interval of 0 it is an epoch of
 * its own, closed before the next batch. */
static void
batch_done (FlowExec *exec)
{
  if (exec->worker != NULL)
    {
      /* The coordinator closes the epoch (once per epoch is enough). */
      if (exec->epoch_usec == 0)
        flow_worker_batch_done (exec->worker);
      return;
    }
  if (exec->epoch_usec == 0 && exec->epoch_timer != NULL)
    flow_clock_source_set_deadline (exec->epoch_timer, 0);
}

/* What comes after the commit of @epoch (or, with workers and no
 * recovery, after its close). */
static void
exec_after_commit (FlowExec *exec,
                   guint64   epoch)
{
  if (exec->completed)
    ;
  else if (exec->error != NULL)
    exec_complete (exec);  /* a failure that waited for this commit */
  else if (exec->waiting_final_commit && epoch == exec->final_epoch)
    {
      exec->waiting_final_commit = FALSE;
      exec_complete (exec);
    }
  else if ((exec->epoch_due || exec->final_due) && exec_can_close (exec))
    close_due_epoch (exec);
}

static void
commit_cb (guint64       epoch,
           const GError *error,
           gpointer      user_data)
{
  FlowExec *exec = user_data;

  exec->commit_in_flight = FALSE;
  flow_exec_ref (exec);

  if (error != NULL)
    {
      GError *copy = g_error_copy (error);

      g_prefix_error (&copy, "committing epoch %" G_GUINT64_FORMAT " failed: ", epoch);
      exec_fail (exec, copy);  /* nothing in flight: completes the run */
    }
  else
    {
      exec->last_commit_epoch = epoch;
      exec->last_commit_usec = flow_clock_get_monotonic (exec->clock) - exec->commit_start;
      exec->last_commit_rows = exec->commit_rows;
      exec_log (exec, G_LOG_LEVEL_INFO, NULL, "epoch %" G_GUINT64_FORMAT " committed: %"
                G_GUINT64_FORMAT " rows in %.3f s", epoch, exec->last_commit_rows,
                exec->last_commit_usec / 1e6);

      /* The epoch is durable: sinks' second phase (issue 11). */
      {
        GError *sink_error = NULL;

        if (!flow_exec_commit_sinks (exec, epoch, &sink_error))
          {
            exec_fail (exec, sink_error);  /* nothing in flight: completes the run */
            flow_exec_unref (exec);
            return;
          }
      }
      /* With workers, their sinks' second phase, on their threads. */
      if (exec->workers != NULL)
        flow_workers_commit_sinks (exec->workers, epoch);
      exec->callbacks->committed (exec->owner, epoch);
      if (exec->workers != NULL)
        flow_workers_commit_landed (exec->workers);
      exec_after_commit (exec, epoch);
    }

  flow_exec_unref (exec);
}

/* With several workers: every worker closed @epoch and handed its rows
 * (@rows, taken: all of them, NULL without recovery). One commit for the
 * epoch, as with one worker. */
void
flow_exec_epoch_gathered (FlowExec  *exec,
                          guint64    epoch,
                          GArray    *rows,
                          GPtrArray *syncs)
{
  g_assert (exec->workers_closing);
  exec->workers_closing = FALSE;
  flow_exec_ref (exec);

  exec->epoch++;
  exec->epochs_closed++;
  if (exec->store != NULL)
    {
      exec_log (exec, G_LOG_LEVEL_INFO, NULL, "epoch %" G_GUINT64_FORMAT " closed by %u workers: "
                "committing %u rows", epoch, exec->n_workers, rows->len);
      g_assert (!exec->commit_in_flight);
      exec->commit_in_flight = TRUE;
      exec->commit_start = flow_clock_get_monotonic (exec->clock);
      exec->commit_rows = rows->len;
      flow_store_commit_async_full (exec->store, epoch, flow_clock_get_real (exec->clock),
                                    rows, syncs);
      exec->callbacks->epoch_closed (exec->owner, epoch);
      /* An epoch that came due meanwhile starts closing at once. */
      if (!exec->completed && exec->error == NULL && (exec->epoch_due || exec->final_due))
        close_due_epoch (exec);
    }
  else
    {
      g_clear_pointer (&rows, g_array_unref);
      g_clear_pointer (&syncs, g_ptr_array_unref);
      exec_log (exec, G_LOG_LEVEL_INFO, NULL, "epoch %" G_GUINT64_FORMAT " closed by %u workers",
                epoch, exec->n_workers);
      /* No store: the epoch is final once closed (sinks' second phase). */
      flow_workers_commit_sinks (exec->workers, epoch);
      exec->callbacks->epoch_closed (exec->owner, epoch);
      exec_after_commit (exec, epoch);
    }
  exec_maybe_progress (exec);
  flow_exec_unref (exec);
}

/* ------------------------------------------------------------------------
 * End of input
 * ------------------------------------------------------------------------ */

/* Every input reached its end. */
static void
exec_eof (FlowExec *exec)
{
  GError *error = NULL;

  if (exec->worker != NULL)
    {
      /* The end of input is the coordinator's: it waits for every worker. */
      flow_worker_inputs_done (exec->worker);
      return;
    }

  g_debug ("run of '%s': every input reached its end", flow_dataflow_get_id (exec->flow));
  exec->stopping = TRUE;
  exec_stop_sources (exec);

  for (guint i = 0; i < exec->nodes->len; i++)
    if (!flow_node_eof (g_ptr_array_index (exec->nodes, i), &error))
      {
        exec_fail (exec, error);
        return;
      }

  exec->final_due = TRUE;
  if (exec_can_close (exec))
    close_due_epoch (exec);
}

/* The final epoch close, once no commit is in flight. */
static void
exec_finish_input (FlowExec *exec)
{
  GError *error = NULL;

  exec->final_epoch = exec->epoch;
  if (!exec_close_epoch (exec, &error))
    {
      exec_fail (exec, error);
      return;
    }

  if (exec->store != NULL || exec->workers != NULL)
    exec->waiting_final_commit = TRUE;  /* commit_cb completes the run */
  else
    exec_complete (exec);
}

/* With several workers and a snapshot interval of 0: a worker processed
 * a batch of the open epoch, which closes as soon as it can. */
void
flow_exec_batch_done (FlowExec *exec)
{
  if (!exec->stopping && exec->epoch_usec == 0 && exec->epoch_timer != NULL)
    flow_clock_source_set_deadline (exec->epoch_timer, 0);
}

/* With several workers: every worker's inputs reached their end. */
void
flow_exec_all_inputs_done (FlowExec *exec)
{
  flow_exec_ref (exec);
  if (!exec->stopping)
    exec_eof (exec);
  flow_exec_unref (exec);
}

/* Closes every partition that was built, keeping the first error. */
static void
exec_close_partitions (FlowExec *exec,
                       gboolean  report)
{
  for (guint i = 0; exec->inputs != NULL && i < exec->inputs->len; i++)
    {
      FlowInputPart *ip = g_ptr_array_index (exec->inputs, i);
      GError *local = NULL;

      if ((!flow_source_partition_close (ip->part, &local) || local != NULL) && report)
        exec_set_error (exec, partition_error (ip->node, ip->key, "close", local));
      else
        g_clear_error (&local);
    }

  for (guint i = 0; exec->nodes != NULL && i < exec->nodes->len; i++)
    {
      FlowNode *node = g_ptr_array_index (exec->nodes, i);

      for (guint j = 0; node->outputs != NULL && j < node->outputs->len; j++)
        {
          FlowOutputPart *op = g_ptr_array_index (node->outputs, j);
          GError *local = NULL;

          if ((!flow_sink_partition_close (op->part, &local) || local != NULL) && report)
            exec_set_error (exec, partition_error (node, op->key, "close", local));
          else
            g_clear_error (&local);
        }
    }
}

/* With several workers: every worker closed its partitions (@error: the
 * first error in doing so, taken). */
void
flow_exec_workers_closed (FlowExec *exec,
                          GError   *error)
{
  if (error != NULL)
    exec_set_error (exec, error);
  /* The writer thread is idle: this only joins it. */
  g_clear_pointer (&exec->store, flow_store_free);
  flow_exec_ref (exec);
  exec->callbacks->finished (exec->owner, g_steal_pointer (&exec->error));
  flow_exec_unref (exec);
}

/* Closes every partition and reports the result; no commit is in flight. */
static void
exec_complete (FlowExec *exec)
{
  if (exec->completed)
    return;
  g_assert (!exec->commit_in_flight);
  exec->stopping = TRUE;
  exec_stop_sources (exec);
  if (exec->workers != NULL && !exec->completed)
    {
      /* Every worker closes its partitions on its thread first
       * (flow_exec_workers_closed() completes the run). */
      exec->completed = TRUE;
      flow_workers_finish (exec->workers);
      return;
    }
  exec->completed = TRUE;

  exec_close_partitions (exec, TRUE);
  /* The writer thread is idle: this only joins it. */
  g_clear_pointer (&exec->store, flow_store_free);

  flow_exec_ref (exec);
  exec->callbacks->finished (exec->owner, g_steal_pointer (&exec->error));
  flow_exec_unref (exec);
}

/* ------------------------------------------------------------------------
 * Input
 * ------------------------------------------------------------------------ */

static gboolean
read_batch (FlowInputPart  *ip,
            FlowBatch      *batch,
            gboolean       *eof,
            GError        **error)
{
  GError *local = NULL;

  *eof = FALSE;
  if (ip->fast != NULL)
    {
      if (!ip->fast (ip->part, batch, eof, &local))
        goto failed;
      return TRUE;
    }
  else
    {
      g_autoptr(GVariant) array = flow_source_partition_next_batch (ip->part, &local);

      if (local != NULL)
        goto failed;
      if (array == NULL)
        {
          *eof = TRUE;
          return TRUE;
        }
      g_variant_take_ref (array);
      if (!g_variant_is_of_type (array, G_VARIANT_TYPE_ARRAY))
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
                       "input step '%s' (partition '%s'): next_batch() must return an array "
                       "of items (such as av), not a %s",
                       ip->node->step->full_id, ip->key, g_variant_get_type_string (array));
          return FALSE;
        }
      /* Unboxed by push_pending(), a sub-batch at a time. */
      g_assert (batch == &ip->pending && batch->len == 0 && ip->pending_array == NULL);
      flow_batch_reserve (batch, g_variant_n_children (array));
      batch->len = g_variant_n_children (array);
      memset (batch->items, 0, batch->len * sizeof (FlowItem));
      ip->pending_array = g_steal_pointer (&array);
      ip->pending_unboxed = 0;
      return TRUE;
    }

failed:
  if (!g_error_matches (local, FLOW_ERROR, FLOW_ERROR_ABORTED))
    g_prefix_error (&local, "input step '%s' (partition '%s') failed: ",
                    ip->node->step->full_id, ip->key);
  else
    g_prefix_error (&local, "input step '%s': ", ip->node->step->full_id);
  g_propagate_error (error, local);
  return FALSE;
}

void
flow_exec_set_test_slice_items (guint n)
{
  test_slice_items = n;
}

/* Drops what is left of @ip's pending items. */
static void
pending_clear (FlowInputPart *ip)
{
  flow_batch_clear (&ip->pending);
  g_clear_pointer (&ip->pending_array, g_variant_unref);
  ip->pending_pos = 0;
  ip->pending_unboxed = 0;
}

/* The size of the next sub-batch of @ip's pending items (@left of them):
 * what fits in SLICE_TARGET_USEC at the measured cost of an item, but not
 * less than SLICE_MIN_ITEMS, so that a small batch is never split (what a
 * flat_map_batch step sees, or where a failure stops the output, stays
 * the source's batch even on a slow or busy machine) and the per-batch
 * work of the steps stays amortised. */
static guint
slice_items (FlowInputPart *ip,
             guint          left)
{
  double n;

  if (test_slice_items > 0)
    return MIN (test_slice_items, left);
  if (ip->node->exec->worker != NULL && flow_worker_is_threaded (ip->node->exec->worker))
    return MIN (SLICE_THREADED_ITEMS, left);
  if (ip->item_usec <= 0)
    return MIN (SLICE_MIN_ITEMS, left);
  n = SLICE_TARGET_USEC / ip->item_usec;
  return n >= left ? left : MIN (MAX ((guint) n, SLICE_MIN_ITEMS), left);
}

/* Pushes the pending items of @ip into the graph, a sub-batch at a time:
 * as many items as its measured cost per item fits in SLICE_TARGET_USEC.
 * Before each sub-batch but the first of a dispatch, stops if it would
 * end the dispatch's slice (or, with a test slice size, after one).
 * Sets *drained when nothing is left pending. */
static gboolean
push_pending (FlowInputPart  *ip,
              gint64          start,
              gboolean       *first,
              gboolean       *drained,
              GError        **error)
{
  *drained = FALSE;
  while (ip->pending_pos < ip->pending.len)
    {
      guint left = ip->pending.len - ip->pending_pos;
      guint k = slice_items (ip, left);
      FlowBatch sub;
      gint64 t0 = g_get_monotonic_time ();
      double sample;

      if (!*first &&
          (test_slice_items > 0 || (t0 - start) + k * ip->item_usec > SLICE_USEC))
        return TRUE;
      *first = FALSE;

      /* A view of the pending items: the operators neither keep nor
       * reallocate the batch they are given. They may move items out of
       * it (the pending batch is only cleared after), but not through an
       * exchange, which would shorten the view. */
      if (ip->pending_array != NULL)
        for (; ip->pending_unboxed < ip->pending_pos + k; ip->pending_unboxed++)
          ip->pending.items[ip->pending_unboxed].value =
            flow_variant_unbox (g_variant_get_child_value (ip->pending_array, ip->pending_unboxed));
      sub.items = ip->pending.items + ip->pending_pos;
      sub.len = sub.alloc = k;
      if (!(ip->node->exchange == NULL ? flow_node_push_take (ip->node, 0, &sub, error)
                                       : flow_node_push (ip->node, 0, &sub, error)))
        return FALSE;
      /* What the graph did not take is released now, not with the batch:
       * fewer items alive at once. */
      for (guint i = ip->pending_pos; i < ip->pending_pos + k; i++)
        {
          g_clear_pointer (&ip->pending.items[i].key, g_ref_string_release);
          g_clear_pointer (&ip->pending.items[i].value, g_variant_unref);
        }
      ip->pending_pos += k;

      /* The cost of an item: a rise is taken at once, a fall smoothly. */
      sample = (double) MAX (g_get_monotonic_time () - t0, 1) / k;
      ip->item_usec = sample > ip->item_usec ? sample : (3 * ip->item_usec + sample) / 4;
    }
  pending_clear (ip);
  *drained = TRUE;
  return TRUE;
}

/* An input partition whose pending items are drained lets an epoch close
 * that waited for them (see close_due_epoch) happen. */
static void
input_drained (FlowExec *exec)
{
  if (exec->worker != NULL)
    {
      if (exec->coord_pause)
        flow_worker_maybe_idle (exec->worker);
      return;
    }
  if (exec->epoch_due && !exec->commit_in_flight && !exec_has_pending (exec))
    flow_clock_source_set_deadline (exec->epoch_timer, 0);
}

static gboolean
input_dispatch_cb (gpointer data)
{
  FlowInputPart *ip = data;
  FlowExec *exec = ip->node->exec;
  gint64 start = g_get_monotonic_time ();  /* CPU budget, not run time */
  gboolean keep = TRUE;
  gboolean first = TRUE;
  guint n_batches = 0;

  if (exec->stopping)
    return G_SOURCE_REMOVE;
  /* Items already read go into the graph even when an epoch close waits:
   * the close waits for them (the source's snapshot covers them). */
  if (exec_input_paused (exec) && ip->pending.len == 0)
    {
      ip->paused = TRUE;  /* exec_resume_inputs() sets a deadline again */
      if (exec->worker != NULL)
        input_drained (exec);
      return G_SOURCE_CONTINUE;
    }

  flow_exec_ref (exec);
  flow_clock_push_thread_default (exec->clock);

  for (;;)
    {
      GError *error = NULL;
      gboolean drained = FALSE;
      gint64 awake, now;
      guint n;

      if (ip->pending.len == 0)
        {
          gboolean eof = FALSE;

          if (!read_batch (ip, &ip->pending, &eof, &error))
            {
              pending_clear (ip);
              exec_fail_step (exec, ip->node->step->full_id, error);
              keep = FALSE;
              break;
            }
          ip->items_read += ip->pending.len;
          ip->pending_pos = 0;
          ip->pending_eof = eof;
        }
      n = ip->pending.len;

      if (!push_pending (ip, start, &first, &drained, &error))
        {
          exec_fail (exec, error);
          keep = FALSE;
          break;
        }

      if (exec->cancellable != NULL &&
          g_cancellable_set_error_if_cancelled (exec->cancellable, &error))
        {
          exec_fail (exec, error);
          keep = FALSE;
          break;
        }

      if (!drained)
        {
          /* The slice is over: the rest of the batch goes on at the next
           * dispatch, after the rest of the main loop had its turn. */
          flow_clock_source_set_deadline (ip->source, 0);
          break;
        }

      if (ip->pending_eof)
        {
          ip->eof = TRUE;
          clear_source (&ip->source);
          keep = FALSE;
          if (--exec->n_live == 0)
            exec_eof (exec);
          else
            input_drained (exec);
          break;
        }

      if (n > 0)
        batch_done (exec);

      if (exec_input_paused (exec))
        {
          /* An epoch close came due while this batch was pending. */
          ip->paused = TRUE;
          input_drained (exec);
          break;
        }

      now = flow_clock_get_monotonic (exec->clock);
      awake = flow_source_partition_next_awake (ip->part);
      if (awake > now)
        {
          ip->backoff = 0;
          flow_clock_source_set_deadline (ip->source, awake);
          break;
        }
      if (n == 0)
        {
          /* Nothing now and no wake-up time: back off, so an idle source
           * does not spin. */
          ip->backoff = CLAMP (ip->backoff * 2, BACKOFF_MIN_USEC, BACKOFF_MAX_USEC);
          flow_clock_source_set_deadline (ip->source, now + ip->backoff);
          break;
        }
      ip->backoff = 0;
      /* With several live inputs, one batch per dispatch: the main loop
       * dispatches every ready input in turn, so their items interleave as
       * they arrive (as Bytewax polls each input once per activation)
       * rather than one input after another. */
      if (exec->epoch_usec == 0 || now >= exec->epoch_deadline || exec->n_live > 1 ||
          ++n_batches >= SLICE_BATCHES || g_get_monotonic_time () - start >= SLICE_USEC)
        {
          /* Yield: to the epoch timer, and to the rest of the main loop. */
          flow_clock_source_set_deadline (ip->source, 0);
          break;
        }
    }

  flow_clock_pop_thread_default (exec->clock);
  if (exec->worker != NULL)
    flow_worker_flush (exec->worker);
  else if (!exec->stopping)
    exec_maybe_progress (exec);
  flow_exec_unref (exec);
  return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------------
 * Wake-ups of steps (collect deadlines)
 * ------------------------------------------------------------------------ */

static gboolean
node_timer_cb (gpointer data)
{
  FlowNode *node = data;
  FlowExec *exec = node->exec;
  GError *error = NULL;
  gboolean ok;

  if (exec->stopping)
    return G_SOURCE_REMOVE;
  if (exec->coord_pause)
    {
      /* Nothing may change a worker's state while its epoch closes: the
       * wake-up waits for the next epoch (flow_exec_worker_resume()). */
      if (exec->deferred_wakes == NULL)
        exec->deferred_wakes = g_ptr_array_new ();
      if (!g_ptr_array_find (exec->deferred_wakes, node, NULL))
        g_ptr_array_add (exec->deferred_wakes, node);
      return G_SOURCE_CONTINUE;
    }

  flow_exec_ref (exec);
  /* The step's code (a stateful logic's on_notify) reads the run's clock. */
  flow_clock_push_thread_default (exec->clock);
  ok = flow_node_wake (node, flow_clock_get_real (exec->clock), &error);
  flow_clock_pop_thread_default (exec->clock);
  if (!ok)
    exec_fail_step (exec, node->step->full_id, error);
  else
    {
      batch_done (exec);
      flow_exec_schedule_wake (exec, node);
      if (exec->worker != NULL)
        flow_worker_flush (exec->worker);
      else
        exec_maybe_progress (exec);
    }
  flow_exec_unref (exec);
  return G_SOURCE_CONTINUE;
}

void
flow_exec_schedule_wake (FlowExec *exec,
                         FlowNode *node)
{
  gint64 deadline;

  if (exec->stopping)
    return;

  if (node->next_deadline == G_MAXINT64)
    deadline = -1;
  else
    deadline = flow_clock_get_monotonic (exec->clock) +
               MAX (0, node->next_deadline - flow_clock_get_real (exec->clock));

  if (node->timer == NULL)
    node->timer = exec_add_source (exec, "[libflow] step wake-up", G_PRIORITY_DEFAULT,
                                   deadline, node_timer_cb, node);
  else
    flow_clock_source_set_deadline (node->timer, deadline);
}

/* ------------------------------------------------------------------------
 * Starting
 * ------------------------------------------------------------------------ */

static gboolean
restore_row_cb (const char  *step_id,
                const char  *key,
                guint64      epoch,
                GVariant    *state,
                gpointer     user_data,
                GError     **error)
{
  FlowExec *exec = user_data;
  FlowNode *node = g_hash_table_lookup (exec->by_id, step_id);

  if (node == NULL)
    {
      g_debug ("recovery: ignoring state of step '%s', which this dataflow does not have",
               step_id);
      return TRUE;
    }

  if (flow_step_is_input (node->step) || flow_step_is_output (node->step))
    {
      g_hash_table_replace (node->resume, g_strdup (key), g_variant_ref (state));
      return TRUE;
    }
  if (node->states == NULL)
    {
      g_debug ("recovery: ignoring state of step '%s', which is not stateful", step_id);
      return TRUE;
    }
  return flow_node_restore (node, key, state, error);
}

/* The partition keys of an input or output step. */
static GStrv
list_parts (FlowNode  *node,
            GError   **error)
{
  FlowStep *step = node->step;
  gboolean input = flow_step_is_input (step);
  const char *what = input ? "input" : "output";
  GError *local = NULL;
  GStrv keys = input ? flow_source_list_parts (step->source, &local)
                     : flow_sink_list_parts (step->sink, &local);

  if (local != NULL)
    {
      g_strfreev (keys);
      g_prefix_error (&local, "%s step '%s' failed to list its partitions: ", what, step->full_id);
      g_propagate_error (error, local);
      return NULL;
    }
  if (keys == NULL || keys[0] == NULL)
    {
      g_strfreev (keys);
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_FLOW,
                   "%s step '%s': the %s has no partitions", what, step->full_id,
                   input ? "source" : "sink");
      return NULL;
    }
  return keys;
}

/* This process's share of an input's partitions (issue 11: --process-id I
 * --processes N): the I-th, (I+N)-th, ... of the keys as listed. Takes
 * @keys. */
static GStrv
share_parts (FlowExec  *exec,
             FlowNode  *node,
             GStrv      keys,
             GError   **error)
{
  GStrvBuilder *mine = g_strv_builder_new ();
  GStrv shared;
  guint n = g_strv_length (keys);

  for (guint i = exec->process_id; i < n; i += exec->processes)
    g_strv_builder_add (mine, keys[i]);
  g_strfreev (keys);
  shared = g_strv_builder_end (mine);
  g_strv_builder_unref (mine);
  if (shared[0] == NULL)
    {
      g_strfreev (shared);
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "input step '%s': process %u of %u has no partition to read (the source "
                   "has %u): use at most %u processes", node->step->full_id,
                   exec->process_id, exec->processes, n, n);
      return NULL;
    }
  return shared;
}

/* issue 9: a dynamic source or sink has one partition per worker, built
 * with the worker's index and count (among every process's workers), and
 * named after the worker (metrics, errors); it has no resume state. */
static char *
build_worker_part (FlowExec   *exec,
                   FlowNode   *node,
                   gpointer   *part,
                   GError    **error)
{
  FlowStep *step = node->step;
  gboolean input = flow_step_is_input (step);
  guint index = exec->process_id * exec->n_workers + exec->worker_index;
  guint count = exec->processes * exec->n_workers;
  char *key = g_strdup_printf ("worker-%u", index);
  GError *local = NULL;

  *part = input ? (gpointer) flow_source_build_worker_part (step->source, step->full_id,
                                                            index, count, &local)
                : (gpointer) flow_sink_build_worker_part (step->sink, step->full_id,
                                                          index, count, &local);
  if (*part == NULL || local != NULL)
    {
      g_clear_object (part);
      if (local == NULL)
        local = g_error_new (FLOW_ERROR, FLOW_ERROR_FAILED,
                             "build_worker_part() returned NULL without an error");
      g_propagate_error (error, partition_error (node, key, "start", local));
      g_free (key);
      return NULL;
    }
  return key;
}

static gboolean
build_inputs (FlowExec  *exec,
              FlowNode  *node,
              GError   **error)
{
  FlowStep *step = node->step;
  g_auto(GStrv) keys = NULL;

  node->inputs = g_ptr_array_new ();
  if (flow_source_is_dynamic (step->source))
    {
      FlowInputPart *ip = g_new0 (FlowInputPart, 1);
      gpointer part = NULL;

      ip->key = build_worker_part (exec, node, &part, error);
      if (ip->key == NULL)
        {
          g_free (ip);
          return FALSE;
        }
      flow_batch_init (&ip->pending);
      ip->node = node;
      ip->part = part;
      ip->fast = flow_source_partition_get_fast_path (part);
      g_ptr_array_add (node->inputs, ip);
      g_ptr_array_add (exec->inputs, ip);
      return TRUE;
    }
  keys = list_parts (node, error);
  if (keys != NULL && exec->processes > 1)
    keys = share_parts (exec, node, g_steal_pointer (&keys), error);
  if (keys == NULL)
    return FALSE;

  for (guint i = 0; keys[i] != NULL; i++)
    {
      FlowInputPart *ip;
      GError *local = NULL;
      FlowSourcePartition *part;

      /* Several workers: partition i of the list is worker i % n's. */
      if (flow_workers_owner_of_part (i, exec->n_workers) != exec->worker_index)
        continue;
      part = flow_source_build_part (step->source, step->full_id, keys[i],
                                     g_hash_table_lookup (node->resume, keys[i]), &local);
      if (part == NULL || local != NULL)
        {
          g_clear_object (&part);
          g_propagate_error (error, partition_error (node, keys[i], "start", local));
          return FALSE;
        }

      ip = g_new0 (FlowInputPart, 1);
      flow_batch_init (&ip->pending);
      ip->node = node;
      ip->key = g_strdup (keys[i]);
      ip->part = part;
      ip->fast = flow_source_partition_get_fast_path (part);
      g_ptr_array_add (node->inputs, ip);
      g_ptr_array_add (exec->inputs, ip);
    }
  return TRUE;
}

/* The metrics count the items written to each output partition here,
 * in front of the partition's own fast path (or write_batch()), so that
 * the operators need not know about metrics. */
static GQuark
output_part_quark (void)
{
  static GQuark quark;

  if (G_UNLIKELY (quark == 0))
    quark = g_quark_from_static_string ("flow-output-part");
  return quark;
}

static gboolean
counted_write (FlowSinkPartition  *part,
               const FlowBatch    *batch,
               GError            **error)
{
  FlowOutputPart *op = g_object_get_qdata (G_OBJECT (part), output_part_quark ());
  gboolean ok;

  if (op->write != NULL)
    ok = op->write (part, batch, error);
  else
    {
      g_autoptr(GPtrArray) items = g_ptr_array_new_full (batch->len, (GDestroyNotify) g_variant_unref);

      flow_batch_pack_into (batch, items);
      ok = flow_sink_partition_write_batch (part, items, error);
    }
  if (ok)
    op->items_written += batch->len;
  return ok;
}

static gboolean
build_outputs (FlowExec  *exec,
               FlowNode  *node,
               GError   **error)
{
  FlowStep *step = node->step;
  g_auto(GStrv) keys = NULL;

  node->outputs = g_ptr_array_new_with_free_func ((GDestroyNotify) output_part_free);
  if (flow_sink_is_dynamic (step->sink))
    {
      /* Each worker writes what it holds to its own partition: no
       * exchange in front (flow-workers.c), no output_slots. */
      FlowOutputPart *op;
      gpointer part = NULL;
      char *key = build_worker_part (exec, node, &part, error);

      if (key == NULL)
        return FALSE;
      op = g_new0 (FlowOutputPart, 1);
      op->key = key;
      op->part = part;
      op->node = node;
      op->write = flow_sink_partition_get_fast_path (part);
      op->fast = counted_write;
      g_object_set_qdata (G_OBJECT (part), output_part_quark (), op);
      flow_batch_init (&op->pending);
      g_ptr_array_add (node->outputs, op);
      return TRUE;
    }
  keys = list_parts (node, error);
  if (keys == NULL)
    return FALSE;
  if (exec->n_workers > 1)
    {
      node->output_slots = g_ptr_array_new ();
      g_ptr_array_set_size (node->output_slots, g_strv_length (keys));
    }

  for (guint i = 0; keys[i] != NULL; i++)
    {
      FlowOutputPart *op;
      GError *local = NULL;
      FlowSinkPartition *part;

      /* Several workers: as input partitions (the exchange in front of
       * the step brings each item to the worker of its partition). */
      if (flow_workers_owner_of_part (i, exec->n_workers) != exec->worker_index)
        continue;

      part = flow_sink_build_part (step->sink, step->full_id, keys[i],
                                   g_hash_table_lookup (node->resume, keys[i]), &local);
      if (part == NULL || local != NULL)
        {
          g_clear_object (&part);
          g_propagate_error (error, partition_error (node, keys[i], "start", local));
          return FALSE;
        }

      op = g_new0 (FlowOutputPart, 1);
      op->key = g_strdup (keys[i]);
      op->part = part;
      op->node = node;
      /* Every write goes through counted_write(), which counts it. */
      op->write = flow_sink_partition_get_fast_path (part);
      op->fast = counted_write;
      g_object_set_qdata (G_OBJECT (part), output_part_quark (), op);
      flow_batch_init (&op->pending);
      g_ptr_array_add (node->outputs, op);
      if (node->output_slots != NULL)
        g_ptr_array_index (node->output_slots, i) = op;

      /* A partition that starts without a resume state must still be
       * rolled back to where it starts if this execution crashes before
       * its first commit: its initial state is recorded as of the resume
       * epoch, when the execution begins. */
      if (exec->initial_rows != NULL &&
          !g_hash_table_contains (node->resume, keys[i]))
        {
          GVariant *state = flow_sink_partition_snapshot (part, &local);

          if (!snapshot_into (exec->initial_rows, node, keys[i], state, local, error))
            return FALSE;
          /* The initial rows are written at the start, synchronously. */
          if (!flow_sink_partition_sync (part, &local))
            {
              g_propagate_error (error, partition_error (node, keys[i], "sync", local));
              return FALSE;
            }
        }
    }
  return TRUE;
}

/* The nodes of every step, and their edges. */
gboolean
flow_exec_build_graph (FlowExec  *exec,
                       GError   **error)
{
  GPtrArray *steps = flow_dataflow_get_steps (exec->flow);

  for (guint i = 0; i < steps->len; i++)
    {
      FlowStep *step = g_ptr_array_index (steps, i);
      FlowNode *node = flow_node_new (exec, step);

      g_ptr_array_add (exec->nodes, node);
      g_hash_table_insert (exec->by_id, step->full_id, node);
      for (guint j = 0; j < step->inputs->len; j++)
        {
          FlowStream *up = g_ptr_array_index (step->inputs, j);
          FlowStep *up_step = flow_stream_get_step (up);
          FlowNode *up_node = g_ptr_array_index (exec->nodes, up_step->index);
          FlowEdge edge = { node, j };

          g_array_append_val (up_node->edges[flow_stream_get_port (up)], edge);
        }
    }
  return TRUE;
}

/* With several workers, the coordinator loads the snapshots once: the
 * resume states of input and output partitions go to every worker (each
 * builds the partitions it owns, found by their key), and the state of a
 * key of a stateful step to the worker that owns the key. */
static gboolean
coord_restore_row_cb (const char  *step_id,
                      const char  *key,
                      guint64      epoch,
                      GVariant    *state,
                      gpointer     user_data,
                      GError     **error)
{
  FlowExec *exec = user_data;
  FlowExec *w0 = flow_workers_get_exec (exec->workers, 0);
  FlowNode *node = g_hash_table_lookup (w0->by_id, step_id);

  if (node == NULL)
    {
      g_debug ("recovery: ignoring state of step '%s', which this dataflow does not have",
               step_id);
      return TRUE;
    }
  if (flow_step_is_input (node->step) || flow_step_is_output (node->step))
    {
      for (guint i = 0; i < exec->n_workers; i++)
        {
          FlowExec *w = flow_workers_get_exec (exec->workers, i);
          FlowNode *wnode = g_hash_table_lookup (w->by_id, step_id);

          g_hash_table_replace (wnode->resume, g_strdup (key), g_variant_ref (state));
        }
      return TRUE;
    }
  if (node->states == NULL)
    {
      g_debug ("recovery: ignoring state of step '%s', which is not stateful", step_id);
      return TRUE;
    }
  return restore_row_cb (step_id, key, epoch, state,
                         flow_workers_get_exec (exec->workers,
                                                flow_workers_owner_of_key (key, exec->n_workers)),
                         error);
}

/* The partitions of a worker (or of the only one). */
static gboolean
exec_build_parts (FlowExec  *exec,
                  GError   **error)
{
  for (guint i = 0; i < exec->nodes->len; i++)
    {
      FlowNode *node = g_ptr_array_index (exec->nodes, i);

      if (flow_step_is_input (node->step) && !build_inputs (exec, node, error))
        return FALSE;
      if (flow_step_is_output (node->step) && !build_outputs (exec, node, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
exec_build (FlowExec              *exec,
            const FlowExecConfig  *config,
            GError               **error)
{
  const char *flow_id = flow_dataflow_get_id (exec->flow);
  gboolean coordinator = config->workers > 1;

  if (!flow_dataflow_check (exec->flow, error))
    return FALSE;
  flow_dataflow_debug_dump (exec->flow);

  /* This process's share of the input (issue 11). */
  exec->process_id = config->process_id;
  exec->processes = MAX (config->processes, 1);
  if (exec->process_id >= exec->processes)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "running dataflow '%s' as process %u of %u: the process id must be "
                   "below the number of processes", flow_id, exec->process_id, exec->processes);
      return FALSE;
    }

  if (config->workers == 0 || config->workers > FLOW_EXEC_MAX_WORKERS)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "running dataflow '%s' with %u workers: the number of workers must be "
                   "between 1 and %u", flow_id, config->workers, FLOW_EXEC_MAX_WORKERS);
      return FALSE;
    }

  /* The graph: with several workers, one per worker (flow-workers.c),
   * none in the coordinator. */
  if (coordinator)
    {
      exec->n_workers = config->workers;
      exec->workers = flow_workers_new (exec, config->workers, error);
      if (exec->workers == NULL)
        return FALSE;
    }
  else if (!flow_exec_build_graph (exec, error))
    return FALSE;

  /* Recovery: lock and validate, then load, then start writing. */
  exec->resume_epoch = 0;
  if (config->recovery_directory != NULL)
    {
      gint64 t0 = g_get_monotonic_time ();

      exec->store = flow_store_open (config->recovery_directory, FLOW_STORE_OPEN_RUN, error);
      if (exec->store == NULL)
        return FALSE;
      if (!flow_store_check_resumable (exec->store, flow_id, error))
        return FALSE;

      exec->resume_epoch = flow_store_get_resume_epoch (exec->store);
      g_debug ("recovery: opened %s in %.3f s; resuming from epoch %" G_GUINT64_FORMAT,
               config->recovery_directory, (g_get_monotonic_time () - t0) / 1e6,
               exec->resume_epoch);
      t0 = g_get_monotonic_time ();
      /* Even at epoch 0 there may be rows: the initial state of sinks of an
       * execution that crashed before its first commit. */
      if (!flow_store_load (exec->store, exec->resume_epoch, FALSE,
                            coordinator ? coord_restore_row_cb : restore_row_cb, exec, error))
        return FALSE;
      g_debug ("recovery: loaded the snapshots in %.3f s", (g_get_monotonic_time () - t0) / 1e6);

      exec->track_changes = TRUE;
      exec->initial_rows = g_array_new (FALSE, TRUE, sizeof (FlowSnapRow));
      g_array_set_clear_func (exec->initial_rows, snap_row_clear);
    }
  exec->epoch = exec->resume_epoch + 1;
  if (exec->callbacks->resumed != NULL)
    exec->callbacks->resumed (exec->owner, exec->resume_epoch);

  /* Partitions */
  if (coordinator)
    {
      for (guint i = 0; i < exec->n_workers; i++)
        {
          FlowExec *w = flow_workers_get_exec (exec->workers, i);

          w->track_changes = exec->track_changes;
          w->resume_epoch = exec->resume_epoch;
          w->epoch = exec->epoch;
          w->initial_rows = exec->initial_rows != NULL ? g_array_ref (exec->initial_rows) : NULL;
          if (!exec_build_parts (w, error))
            return FALSE;
          g_clear_pointer (&w->initial_rows, g_array_unref);
        }
    }
  else if (!exec_build_parts (exec, error))
    return FALSE;

  if (exec->store != NULL)
    {
      gint64 t0 = g_get_monotonic_time ();

      if (!flow_store_begin_execution (exec->store, flow_id, config->workers,
                                       (gint64) (config->backup_interval * G_USEC_PER_SEC),
                                       flow_clock_get_real (exec->clock),
                                       exec->initial_rows,
                                       exec->context, commit_cb, exec, error))
        return FALSE;
      g_debug ("recovery: execution %" G_GUINT64_FORMAT " recorded in %.3f s",
               flow_store_get_execution (exec->store), (g_get_monotonic_time () - t0) / 1e6);
    }
  return TRUE;
}

/* ::cancelled, on whichever thread cancels (or at once, if the run was
 * given a cancelled cancellable): wake the run's context. */
static void
cancellable_cancelled_cb (GCancellable *cancellable,
                          gpointer      data)
{
  g_source_set_ready_time (data, 0);
}

static gboolean
cancel_source_dispatch (GSource     *source,
                        GSourceFunc  callback,
                        gpointer     data)
{
  g_source_set_ready_time (source, -1);
  return callback (data);
}

static gboolean
cancelled_cb (gpointer data)
{
  FlowExec *exec = data;
  GError *error = NULL;

  if (!exec->stopping)
    {
      g_cancellable_set_error_if_cancelled (exec->cancellable, &error);
      flow_exec_ref (exec);
      exec_fail (exec, error);
      flow_exec_unref (exec);
    }
  return G_SOURCE_REMOVE;
}

/* With a test clock, time passes only when the run waits for it: this
 * source, below every other priority of the run, is ready when nothing
 * else is, no commit is in flight (its completion wakes the context), and
 * the clock has a deadline ahead; it moves the clock to that deadline. */
typedef struct
{
  GSource   base;
  FlowExec *exec;   /* unowned: the execution destroys the source */
} AdvanceSource;

static gboolean
advance_prepare (GSource *source,
                 gint    *timeout)
{
  FlowExec *exec = ((AdvanceSource *) source)->exec;

  *timeout = -1;
  return !exec->commit_in_flight && !exec->workers_closing &&
         flow_clock_has_next_deadline (exec->clock) &&
         (exec->workers == NULL || flow_workers_all_idle (exec->workers));
}

static gboolean
advance_dispatch (GSource     *source,
                  GSourceFunc  callback,
                  gpointer     user_data)
{
  FlowExec *exec = ((AdvanceSource *) source)->exec;

  if (!exec->commit_in_flight && !exec->workers_closing &&
      (exec->workers == NULL || flow_workers_all_idle (exec->workers)) &&
      flow_clock_advance_to_next (exec->clock) && exec->workers != NULL)
    flow_workers_clock_advanced (exec->workers);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs advance_funcs = {
  advance_prepare, NULL, advance_dispatch, NULL, NULL, NULL,
};

static void
exec_attach_advance_source (FlowExec *exec)
{
  GSource *source = g_source_new (&advance_funcs, sizeof (AdvanceSource));

  ((AdvanceSource *) source)->exec = exec;
  g_source_set_static_name (source, "[libflow] test clock");
  g_source_set_priority (source, G_PRIORITY_LOW + 100);
  g_source_attach (source, exec->context);
  exec->advance_source = source;
}

gboolean
flow_exec_start (FlowExec              *exec,
                 const FlowExecConfig  *config,
                 GCancellable          *cancellable,
                 GError               **error)
{
  gboolean built;

  /* Sources and sinks build their partitions on the run's clock (a
   * partition reading the time then sees the test clock's). */
  flow_clock_push_thread_default (exec->clock);
  built = exec_build (exec, config, error);
  flow_clock_pop_thread_default (exec->clock);
  if (!built)
    {
      exec->stopping = TRUE;
      exec->completed = TRUE;
      /* Partitions that were built are closed; errors closing them are
       * secondary to the one that stopped the start. */
      exec_close_partitions (exec, FALSE);
      for (guint i = 0; exec->workers != NULL && i < exec->n_workers; i++)
        exec_close_partitions (flow_workers_get_exec (exec->workers, i), FALSE);
      g_clear_pointer (&exec->workers, flow_workers_free);
      g_clear_pointer (&exec->store, flow_store_free);
      return FALSE;
    }

  g_debug ("run of '%s' starts at epoch %" G_GUINT64_FORMAT " (resuming from %" G_GUINT64_FORMAT ")",
           flow_dataflow_get_id (exec->flow), exec->epoch, exec->resume_epoch);

  exec->start_time = flow_clock_get_monotonic (exec->clock);
  exec->last_progress = exec->start_time;
  exec->epoch_usec = (gint64) (config->snapshot_interval * G_USEC_PER_SEC);
  exec->epoch_timer = exec_add_source (exec, "[libflow] epoch timer", G_PRIORITY_DEFAULT - 1,
                                       -1, epoch_timer_cb, exec);
  exec_arm_epoch_timer (exec);

  exec->n_live = exec->inputs->len;
  for (guint i = 0; i < exec->inputs->len; i++)
    {
      FlowInputPart *ip = g_ptr_array_index (exec->inputs, i);
      ip->source = exec_add_source (exec, "[libflow] input", G_PRIORITY_DEFAULT_IDLE, 0,
                                    input_dispatch_cb, ip);
    }

  for (guint i = 0; i < exec->nodes->len; i++)
    {
      FlowNode *node = g_ptr_array_index (exec->nodes, i);
      if (node->states != NULL && node->next_deadline != G_MAXINT64)
        flow_exec_schedule_wake (exec, node);
    }

  if (flow_clock_get_auto_advance (exec->clock))
    exec_attach_advance_source (exec);

  if (cancellable != NULL)
    {
      /* Not a g_cancellable_source_new(): GLib 2.74 leaks one (a
       * reference it takes when the source is disposed while another
       * thread is still emitting ::cancelled is never dropped), and a run
       * destroys its cancel source from that very dispatch. */
      static GSourceFuncs cancel_funcs = { NULL, NULL, cancel_source_dispatch, NULL, NULL, NULL };

      exec->cancellable = g_object_ref (cancellable);
      exec->cancel_source = g_source_new (&cancel_funcs, sizeof (GSource));
      g_source_set_static_name (exec->cancel_source, "[libflow] cancel");
      g_source_set_callback (exec->cancel_source, cancelled_cb, exec, NULL);
      g_source_attach (exec->cancel_source, exec->context);
      exec->cancel_handler = g_cancellable_connect (cancellable, G_CALLBACK (cancellable_cancelled_cb),
                                                    exec->cancel_source, NULL);
    }

  if (exec->workers != NULL)
    {
      if (!flow_workers_start (exec->workers, config, error))
        {
          /* Nothing ran: the workers' partitions are closed as at a
           * failed start. */
          exec->stopping = TRUE;
          exec->completed = TRUE;
          exec_stop_sources (exec);
          g_clear_pointer (&exec->workers, flow_workers_free);
          g_clear_pointer (&exec->store, flow_store_free);
          return FALSE;
        }
    }
  else if (exec->inputs->len == 0)
    exec_eof (exec);
  return TRUE;
}

/* ------------------------------------------------------------------------
 * A worker's execution (several workers; flow-workers.c drives it)
 * ------------------------------------------------------------------------ */

static void
worker_finished_cb (gpointer  owner,
                    GError   *error)
{
  flow_worker_closed (owner, error);
}

static void
worker_noop_cb (gpointer owner,
                guint64  epoch)
{
}

static const FlowExecCallbacks worker_callbacks = {
  NULL, worker_noop_cb, worker_noop_cb, worker_finished_cb, NULL,
};

FlowExec *
flow_exec_new_worker (FlowExec     *coordinator,
                      guint         index,
                      GMainContext *context,
                      FlowWorker   *worker)
{
  FlowExecConfig config = { .clock = coordinator->clock };
  FlowExec *exec = flow_exec_new (coordinator->flow, &config, context, &worker_callbacks, worker);

  exec->worker = worker;
  exec->worker_index = index;
  exec->n_workers = coordinator->n_workers;
  /* The process's share of the partitions, then this worker's of it. */
  exec->process_id = coordinator->process_id;
  exec->processes = coordinator->processes;
  exec->epoch_usec = -1;   /* the coordinator closes epochs */
  exec->epoch_deadline = G_MAXINT64;
  return exec;
}

/* Called on the worker's context once its thread runs. */
void
flow_exec_worker_start (FlowExec *exec)
{
  exec->start_time = flow_clock_get_monotonic (exec->clock);
  exec->n_live = exec->inputs->len;
  for (guint i = 0; i < exec->inputs->len; i++)
    {
      FlowInputPart *ip = g_ptr_array_index (exec->inputs, i);
      ip->source = exec_add_source (exec, "[libflow] input", G_PRIORITY_DEFAULT_IDLE, 0,
                                    input_dispatch_cb, ip);
    }
  for (guint i = 0; i < exec->nodes->len; i++)
    {
      FlowNode *node = g_ptr_array_index (exec->nodes, i);
      if (node->states != NULL && node->next_deadline != G_MAXINT64)
        flow_exec_schedule_wake (exec, node);
    }
  if (exec->inputs->len == 0)
    exec_eof (exec);
}

/* An epoch closes: no more input is read (what was read goes in), and no
 * wake-up fires, until flow_exec_worker_resume(). With @final, the end of
 * input: nothing will be read again. */
void
flow_exec_worker_pause (FlowExec *exec,
                        gboolean  final)
{
  exec->coord_pause = TRUE;
  if (final)
    {
      exec->stopping = TRUE;
      exec_stop_sources (exec);
      /* After a failure: what was read and not pushed is not (a resume
       * reads it again). */
      for (guint i = 0; i < exec->inputs->len; i++)
        {
          FlowInputPart *ip = g_ptr_array_index (exec->inputs, i);

          pending_clear (ip);
        }
    }
}

void
flow_exec_worker_resume (FlowExec *exec)
{
  exec->coord_pause = FALSE;
  exec->epoch++;
  exec->epochs_closed++;
  if (exec->stopping)
    return;
  exec_resume_inputs (exec);
  if (exec->deferred_wakes != NULL)
    {
      for (guint i = 0; i < exec->deferred_wakes->len; i++)
        flow_exec_schedule_wake (exec, g_ptr_array_index (exec->deferred_wakes, i));
      g_ptr_array_set_size (exec->deferred_wakes, 0);
    }
}

/* The run ends (or stops): closes the worker's partitions on its thread;
 * its `finished` callback tells flow-workers.c. */
void
flow_exec_worker_finish (FlowExec *exec)
{
  exec->commit_in_flight = FALSE;
  exec->completed = FALSE;
  g_clear_error (&exec->error);  /* already told (flow_worker_failed()) */
  exec_complete (exec);
}

/* ------------------------------------------------------------------------
 * Metrics
 * ------------------------------------------------------------------------ */

static void
add_part_count (const char *step_id,
                const char *key,
                guint64     count,
                gpointer    builder)
{
  g_autofree char *name = g_strconcat (step_id, "/", key, NULL);

  g_variant_builder_add (builder, "{st}", name, count);
}

/* Every input partition, then every output partition, in step order. */
static void
exec_add_part_counts (FlowExec        *exec,
                      gboolean         input,
                      GVariantBuilder *builder)
{
  /* Several workers: each one's as of the last epoch close. */
  if (exec->workers != NULL)
    {
      flow_workers_foreach_part (exec->workers, input, add_part_count, builder);
      return;
    }
  for (guint i = 0; i < exec->nodes->len; i++)
    {
      FlowNode *node = g_ptr_array_index (exec->nodes, i);
      GPtrArray *parts = input ? node->inputs : node->outputs;

      for (guint j = 0; parts != NULL && j < parts->len; j++)
        {
          g_autofree char *name = NULL;
          guint64 count;
          const char *key;

          if (input)
            {
              FlowInputPart *ip = g_ptr_array_index (parts, j);
              key = ip->key;
              count = ip->items_read;
            }
          else
            {
              FlowOutputPart *op = g_ptr_array_index (parts, j);
              key = op->key;
              count = op->items_written;
            }
          name = g_strconcat (node->step->full_id, "/", key, NULL);
          g_variant_builder_add (builder, "{st}", name, count);
        }
    }
}

/* The counters of every step, a{sa{st}} keyed by the step's full id: its
 * nodes' own, or with several workers their sums over the workers as of
 * the last epoch close (the coordinator runs no step). */
static GVariant *
exec_dup_step_counters (FlowExec *exec)
{
  GVariantBuilder steps;

  if (exec->workers != NULL)
    return flow_workers_dup_step_counters (exec->workers);
  g_variant_builder_init (&steps, G_VARIANT_TYPE ("a{sa{st}}"));
  for (guint i = 0; i < exec->nodes->len; i++)
    {
      FlowNode *node = g_ptr_array_index (exec->nodes, i);
      g_variant_builder_add (&steps, "{s@a{st}}", node->step->full_id,
                             flow_node_dup_counters (node));
    }
  return g_variant_builder_end (&steps);
}

GVariant *
flow_exec_dup_metrics (FlowExec *exec)
{
  GVariantBuilder builder, parts;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "dataflow",
                         g_variant_new_string (flow_dataflow_get_id (exec->flow)));
  g_variant_builder_add (&builder, "{sv}", "running", g_variant_new_boolean (!exec->completed));
  g_variant_builder_add (&builder, "{sv}", "epoch", g_variant_new_uint64 (exec->epoch));
  g_variant_builder_add (&builder, "{sv}", "resume_epoch", g_variant_new_uint64 (exec->resume_epoch));
  g_variant_builder_add (&builder, "{sv}", "epochs_closed", g_variant_new_uint64 (exec->epochs_closed));
  g_variant_builder_add (&builder, "{sv}", "run_time_us",
                         g_variant_new_int64 (flow_clock_get_monotonic (exec->clock) - exec->start_time));

  g_variant_builder_init (&parts, G_VARIANT_TYPE ("a{st}"));
  exec_add_part_counts (exec, TRUE, &parts);
  g_variant_builder_add (&builder, "{sv}", "items_read", g_variant_builder_end (&parts));
  g_variant_builder_init (&parts, G_VARIANT_TYPE ("a{st}"));
  exec_add_part_counts (exec, FALSE, &parts);
  g_variant_builder_add (&builder, "{sv}", "items_written", g_variant_builder_end (&parts));
  g_variant_builder_add (&builder, "{sv}", "steps", exec_dup_step_counters (exec));
  g_variant_builder_add (&builder, "{sv}", "workers", g_variant_new_uint32 (exec->n_workers));

  g_variant_builder_add (&builder, "{sv}", "recovery", g_variant_new_boolean (exec->track_changes));
  g_variant_builder_add (&builder, "{sv}", "commits_in_flight",
                         g_variant_new_uint32 (exec->commit_in_flight ? 1 : 0));
  g_variant_builder_add (&builder, "{sv}", "last_commit_epoch",
                         g_variant_new_uint64 (exec->last_commit_epoch));
  g_variant_builder_add (&builder, "{sv}", "last_commit_duration_us",
                         g_variant_new_int64 (exec->last_commit_usec));
  g_variant_builder_add (&builder, "{sv}", "last_commit_rows",
                         g_variant_new_uint64 (exec->last_commit_rows));
  return g_variant_builder_end (&builder);
}

/* A label value: backslash, double quote and newline escaped. */
static void
append_label (GString    *out,
              const char *name,
              const char *value)
{
  g_string_append_printf (out, "%s=\"", name);
  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == '\\' || *p == '"')
        g_string_append_c (out, '\\');
      if (*p == '\n')
        g_string_append (out, "\\n");
      else
        g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static void
append_metric (GString    *out,
               const char *name,
               const char *type,
               const char *help,
               const char *flow_id,
               double      value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n%s{", name, help, name, type, name);
  append_label (out, "dataflow", flow_id);
  g_string_append_printf (out, "} %s\n", g_ascii_dtostr (buf, sizeof buf, value));
}

/* The per-step counters of exec_dup_step_counters(), one series each,
 * labelled with the dataflow and the step's full id. */
static void
exec_append_step_series (FlowExec *exec,
                         GString  *out)
{
  static const struct { const char *counter, *name, *type, *help; } series[] = {
    { "items_in", "flow_step_items_in_total", "counter", "Items a step received." },
    { "items_out", "flow_step_items_out_total", "counter", "Items a step emitted." },
    { "batches", "flow_step_batches_total", "counter", "Batches a step processed." },
    { "time_us", "flow_step_time_seconds_total", "counter",
      "Time a step spent processing its batches, downstream steps excluded." },
    { "keys", "flow_step_keys", "gauge", "Keys a stateful step holds a state for." },
  };
  const char *flow_id = flow_dataflow_get_id (exec->flow);
  g_autoptr(GVariant) steps = g_variant_ref_sink (exec_dup_step_counters (exec));

  for (guint k = 0; k < G_N_ELEMENTS (series); k++)
    {
      GVariantIter iter;
      const char *step_id;
      GVariant *counters;

      g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n", series[k].name,
                              series[k].help, series[k].name, series[k].type);
      g_variant_iter_init (&iter, steps);
      while (g_variant_iter_loop (&iter, "{&s@a{st}}", &step_id, &counters))
        {
          guint64 value;
          char buf[G_ASCII_DTOSTR_BUF_SIZE];

          if (!g_variant_lookup (counters, series[k].counter, "t", &value))
            continue;
          g_string_append_printf (out, "%s{", series[k].name);
          append_label (out, "dataflow", flow_id);
          g_string_append_c (out, ',');
          append_label (out, "step_id", step_id);
          if (g_str_equal (series[k].counter, "time_us"))
            g_string_append_printf (out, "} %s\n",
                                    g_ascii_dtostr (buf, sizeof buf, value / 1e6));
          else
            g_string_append_printf (out, "} %" G_GUINT64_FORMAT "\n", value);
        }
    }
}

typedef struct
{
  GString    *out;
  const char *name;
  const char *flow_id;
} PartSeries;

static void
append_part_series (const char *step_id,
                    const char *key,
                    guint64     count,
                    gpointer    data)
{
  PartSeries *ps = data;

  g_string_append_printf (ps->out, "%s{", ps->name);
  append_label (ps->out, "dataflow", ps->flow_id);
  g_string_append_c (ps->out, ',');
  append_label (ps->out, "step_id", step_id);
  g_string_append_c (ps->out, ',');
  append_label (ps->out, "partition", key);
  g_string_append_printf (ps->out, "} %" G_GUINT64_FORMAT "\n", count);
}

char *
flow_exec_dup_prometheus (FlowExec *exec)
{
  GString *out = g_string_new (NULL);
  const char *flow_id = flow_dataflow_get_id (exec->flow);

  append_metric (out, "flow_running", "gauge", "Whether the run is in progress.",
                 flow_id, !exec->completed);
  append_metric (out, "flow_epoch", "gauge", "The open epoch.", flow_id, exec->epoch);
  append_metric (out, "flow_resume_epoch", "gauge", "The epoch the run resumed from.",
                 flow_id, exec->resume_epoch);
  append_metric (out, "flow_epochs_closed_total", "counter", "Epochs closed in this run.",
                 flow_id, exec->epochs_closed);
  append_metric (out, "flow_commits_in_flight", "gauge", "Snapshot commits being written.",
                 flow_id, exec->commit_in_flight ? 1 : 0);
  append_metric (out, "flow_last_commit_epoch", "gauge", "The epoch of the last commit (0: none).",
                 flow_id, exec->last_commit_epoch);
  append_metric (out, "flow_last_commit_duration_seconds", "gauge",
                 "How long the last commit took.", flow_id, exec->last_commit_usec / 1e6);
  append_metric (out, "flow_last_commit_rows", "gauge", "Rows the last commit wrote.",
                 flow_id, exec->last_commit_rows);

  for (guint k = 0; k < 2; k++)
    {
      gboolean input = k == 0;
      const char *name = input ? "flow_items_read_total" : "flow_items_written_total";

      PartSeries ps = { out, name, flow_id };

      g_string_append_printf (out, "# HELP %s %s\n# TYPE %s counter\n", name,
                              input ? "Items read from an input partition."
                                    : "Items written to an output partition.", name);
      /* Several workers: each one's as of the last epoch close. */
      if (exec->workers != NULL)
        flow_workers_foreach_part (exec->workers, input, append_part_series, &ps);
      for (guint i = 0; i < exec->nodes->len; i++)
        {
          FlowNode *node = g_ptr_array_index (exec->nodes, i);
          GPtrArray *parts = input ? node->inputs : node->outputs;

          for (guint j = 0; parts != NULL && j < parts->len; j++)
            {
              const char *key = input ? ((FlowInputPart *) g_ptr_array_index (parts, j))->key
                                      : ((FlowOutputPart *) g_ptr_array_index (parts, j))->key;
              guint64 count = input ? ((FlowInputPart *) g_ptr_array_index (parts, j))->items_read
                                    : ((FlowOutputPart *) g_ptr_array_index (parts, j))->items_written;

              append_part_series (node->step->full_id, key, count, &ps);
            }
        }
    }
  exec_append_step_series (exec, out);
  return g_string_free (out, FALSE);
}
