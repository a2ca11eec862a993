/* flow-runner.c: runs a dataflow on a GMainContext
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "flow-store-private.h"

/**
 * FlowRunner:
 *
 * Runs a [class@Flow.Dataflow].
 *
 * A runner compiles the dataflow into an execution and drives it on a
 * #GMainContext: each input partition is polled by a #GSource that honours
 * [method@Flow.SourcePartition.next_awake], epochs are closed by a timer
 * source every [property@Flow.Runner:snapshot-interval] seconds, and the run
 * ends when every input partition reached its end.
 *
 * [method@Flow.Runner.run] blocks, running its own main context;
 * [method@Flow.Runner.run_async] runs in the caller's thread-default main
 * context, so an application keeps handling events while a flow runs.
 * [method@Flow.Runner.run_with_args] parses the standard command-line
 * options (`-r`, `-s`, `-b`, `-w`) first, like g_application_run().
 *
 * With a [property@Flow.Runner:recovery-directory], the state of every
 * stateful step, the position of every input partition and the state of
 * every output partition are snapshotted at the end of each epoch into the
 * recovery partitions (see [func@Flow.recovery_init_dir]); a later run of
 * the same dataflow resumes from the last epoch that was committed.
 */

struct _FlowRunner
{
  GObject       parent_instance;

  FlowDataflow *dataflow;
  char         *recovery_directory;
  double        snapshot_interval;
  double        backup_interval;
  guint         workers;
  guint64       epoch;
  guint64       resume_epoch;
  gpointer      run;   /* FlowRun*, while running */
};

enum {
  PROP_0,
  PROP_DATAFLOW,
  PROP_RECOVERY_DIRECTORY,
  PROP_SNAPSHOT_INTERVAL,
  PROP_BACKUP_INTERVAL,
  PROP_WORKERS,
  PROP_EPOCH,
  PROP_RESUME_EPOCH,
  PROP_RUNNING,
  N_PROPS
};

enum {
  SIGNAL_EPOCH_CLOSED,
  SIGNAL_SNAPSHOT_COMMITTED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (FlowRunner, flow_runner, G_TYPE_OBJECT)

#define DEFAULT_SNAPSHOT_INTERVAL 10.0
#define SLICE_USEC (10 * 1000)           /* input work per dispatch */
#define BACKOFF_MIN_USEC 1000
#define BACKOFF_MAX_USEC (64 * 1000)

/* ------------------------------------------------------------------------
 * An execution
 * ------------------------------------------------------------------------ */

typedef struct
{
  FlowExec      exec;       /* first: FlowExec* <-> FlowRun* */
  gatomicrefcount ref_count;
  FlowRunner   *runner;     /* strong while running */
  GTask        *task;
  GPtrArray    *inputs;     /* FlowInputPart* of every input step */
  guint         n_live;
  GSource      *epoch_timer;
  GSource      *cancel_source;
  gint64        epoch_usec;
  gint64        epoch_deadline;
  FlowStore    *store;
  GArray       *initial_rows; /* FlowSnapRow of sinks starting afresh */
  GError       *error;
  gboolean      stopping;   /* no more input is processed */
  gboolean      completed;
  gboolean      waiting_final_commit;
  guint64       final_epoch;
} FlowRun;

static void run_stop_sources (FlowRun *run);
static void run_complete     (FlowRun *run);

static FlowRun *
run_ref (FlowRun *run)
{
  g_atomic_ref_count_inc (&run->ref_count);
  return run;
}

static void
input_part_free (FlowInputPart *ip)
{
  if (ip->source != NULL)
    {
      g_source_destroy (ip->source);
      g_source_unref (ip->source);
    }
  g_clear_object (&ip->part);
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
run_unref (FlowRun *run)
{
  if (!g_atomic_ref_count_dec (&run->ref_count))
    return;

  run_stop_sources (run);
  g_clear_pointer (&run->store, flow_store_free);
  g_clear_pointer (&run->initial_rows, g_array_unref);
  g_clear_pointer (&run->exec.nodes, g_ptr_array_unref);
  g_clear_pointer (&run->exec.by_id, g_hash_table_unref);
  g_clear_pointer (&run->inputs, g_ptr_array_unref);
  g_clear_pointer (&run->exec.context, g_main_context_unref);
  g_clear_object (&run->exec.flow);
  g_clear_object (&run->task);
  g_clear_object (&run->runner);
  g_clear_error (&run->error);
  g_free (run);
}

static void
run_stop_sources (FlowRun *run)
{
  if (run->inputs != NULL)
    for (guint i = 0; i < run->inputs->len; i++)
      {
        FlowInputPart *ip = g_ptr_array_index (run->inputs, i);
        if (ip->source != NULL)
          {
            g_source_destroy (ip->source);
            g_clear_pointer (&ip->source, g_source_unref);
          }
      }

  if (run->epoch_timer != NULL)
    {
      g_source_destroy (run->epoch_timer);
      g_clear_pointer (&run->epoch_timer, g_source_unref);
    }
  if (run->cancel_source != NULL)
    {
      g_source_destroy (run->cancel_source);
      g_clear_pointer (&run->cancel_source, g_source_unref);
    }
  if (run->exec.nodes != NULL)
    for (guint i = 0; i < run->exec.nodes->len; i++)
      {
        FlowNode *node = g_ptr_array_index (run->exec.nodes, i);
        if (node->timer != NULL)
          {
            g_source_destroy (node->timer);
            g_clear_pointer (&node->timer, g_source_unref);
          }
      }
}

/* A source that dispatches at its ready time, with microsecond precision. */
static gboolean
ready_time_dispatch (GSource     *source,
                     GSourceFunc  callback,
                     gpointer     user_data)
{
  return callback (user_data);
}

static GSourceFuncs ready_time_funcs = {
  NULL, NULL, ready_time_dispatch, NULL, NULL, NULL,
};

static GSource *
run_add_source (FlowRun     *run,
                const char  *name,
                int          priority,
                gint64       ready_time,
                GSourceFunc  func,
                gpointer     data)
{
  GSource *source = g_source_new (&ready_time_funcs, sizeof (GSource));

  g_source_set_static_name (source, name);
  g_source_set_priority (source, priority);
  g_source_set_callback (source, func, data, NULL);
  g_source_set_ready_time (source, ready_time);
  g_source_attach (source, run->exec.context);
  return source;
}

/* The run failed: stop processing; what is committed stays committed. */
static void
run_fail (FlowRun *run,
          GError  *error)
{
  if (run->error == NULL)
    run->error = error;
  else
    g_error_free (error);

  if (run->stopping)
    return;
  run->stopping = TRUE;
  g_debug ("run of '%s' failed: %s", flow_dataflow_get_id (run->exec.flow), run->error->message);
  run_stop_sources (run);

  /* Let a commit that is already in flight land first: it is a consistent
   * epoch, and waiting for it keeps the partitions' last word clean. */
  if (run->store != NULL)
    flow_store_wait (run->store);
  run_complete (run);
}

/* ------------------------------------------------------------------------
 * Epochs
 * ------------------------------------------------------------------------ */

static void
snap_row_clear (gpointer data)
{
  flow_snap_row_clear (data);
}

static gboolean
run_close_epoch (FlowRun  *run,
                 GError  **error)
{
  FlowExec *exec = &run->exec;
  g_autoptr(GArray) rows = NULL;
  guint64 epoch = exec->epoch;

  if (run->store != NULL)
    {
      rows = g_array_new (FALSE, TRUE, sizeof (FlowSnapRow));
      g_array_set_clear_func (rows, snap_row_clear);
    }

  /* Sinks first: their snapshot flushes this epoch's output, which must be
   * out before the epoch counts as committed. */
  for (guint i = 0; i < exec->nodes->len; i++)
    {
      FlowNode *node = g_ptr_array_index (exec->nodes, i);

      if (node->outputs == NULL)
        continue;
      for (guint j = 0; j < node->outputs->len; j++)
        {
          FlowOutputPart *op = g_ptr_array_index (node->outputs, j);
          GError *local = NULL;
          GVariant *state = flow_sink_partition_snapshot (op->part, &local);

          if (local != NULL)
            {
              g_clear_pointer (&state, g_variant_unref);
              g_prefix_error (&local, "output step '%s' (partition '%s') failed to snapshot: ",
                              node->step->full_id, op->key);
              g_propagate_error (error, local);
              return FALSE;
            }
          if (state != NULL && rows != NULL)
            {
              FlowSnapRow row = { node->step->full_id, g_ref_string_new (op->key),
                                  g_variant_take_ref (state) };
              g_array_append_val (rows, row);
            }
          else if (state != NULL)
            g_variant_unref (g_variant_take_ref (state));
        }
    }

  if (rows != NULL)
    {
      for (guint i = 0; i < run->inputs->len; i++)
        {
          FlowInputPart *ip = g_ptr_array_index (run->inputs, i);
          GError *local = NULL;
          GVariant *state = flow_source_partition_snapshot (ip->part, &local);

          if (local != NULL)
            {
              g_clear_pointer (&state, g_variant_unref);
              g_prefix_error (&local, "input step '%s' (partition '%s') failed to snapshot: ",
                              ip->node->step->full_id, ip->key);
              g_propagate_error (error, local);
              return FALSE;
            }
          if (state != NULL)
            {
              FlowSnapRow row = { ip->node->step->full_id, g_ref_string_new (ip->key),
                                  g_variant_take_ref (state) };
              g_array_append_val (rows, row);
            }
        }

      for (guint i = 0; i < exec->nodes->len; i++)
        flow_node_snapshot (g_ptr_array_index (exec->nodes, i), rows);

      g_debug ("epoch %" G_GUINT64_FORMAT ": committing %u rows", epoch, rows->len);
      flow_store_commit_async (run->store, epoch, g_steal_pointer (&rows));
    }

  exec->epoch++;
  run->runner->epoch = exec->epoch;
  g_object_notify_by_pspec (G_OBJECT (run->runner), properties[PROP_EPOCH]);
  g_signal_emit (run->runner, signals[SIGNAL_EPOCH_CLOSED], 0, epoch);
  return TRUE;
}

static gboolean
epoch_timer_cb (gpointer data)
{
  FlowRun *run = data;
  GError *error = NULL;

  if (run->stopping)
    return G_SOURCE_REMOVE;

  run_ref (run);
  if (!run_close_epoch (run, &error))
    run_fail (run, error);
  else
    {
      run->epoch_deadline = g_get_monotonic_time () + run->epoch_usec;
      /* With a snapshot interval of 0 the input arms the timer after each
       * batch (see run_batch_done); a timer due at once would close empty
       * epochs forever and starve the input. */
      if (run->epoch_timer != NULL)
        g_source_set_ready_time (run->epoch_timer,
                                 run->epoch_usec > 0 ? run->epoch_deadline : -1);
    }
  run_unref (run);
  return G_SOURCE_CONTINUE;
}

/* A batch was processed: with a snapshot interval of 0 it is an epoch of
 * its own, closed before the next batch. */
static void
run_batch_done (FlowRun *run)
{
  if (run->epoch_usec == 0 && run->epoch_timer != NULL)
    g_source_set_ready_time (run->epoch_timer, 0);
}

static void
commit_cb (guint64       epoch,
           const GError *error,
           gpointer      user_data)
{
  FlowRun *run = user_data;

  if (error != NULL)
    {
      if (!run->completed)
        {
          GError *copy = g_error_copy (error);
          g_prefix_error (&copy, "committing epoch %" G_GUINT64_FORMAT " failed: ", epoch);
          run_fail (run, copy);
        }
      return;
    }

  if (run->runner != NULL)
    g_signal_emit (run->runner, signals[SIGNAL_SNAPSHOT_COMMITTED], 0, epoch);

  if (run->waiting_final_commit && epoch == run->final_epoch && !run->completed)
    {
      run->waiting_final_commit = FALSE;
      run_complete (run);
    }
}

/* ------------------------------------------------------------------------
 * End of input
 * ------------------------------------------------------------------------ */

static void
run_eof (FlowRun *run)
{
  FlowExec *exec = &run->exec;
  GError *error = NULL;

  g_debug ("run of '%s': every input reached its end", flow_dataflow_get_id (exec->flow));
  run->stopping = TRUE;
  run_stop_sources (run);

  for (guint i = 0; i < exec->nodes->len; i++)
    if (!flow_node_eof (g_ptr_array_index (exec->nodes, i), &error))
      {
        run->stopping = FALSE;
        run_fail (run, error);
        return;
      }

  run->final_epoch = exec->epoch;
  if (!run_close_epoch (run, &error))
    {
      run->stopping = FALSE;
      run_fail (run, error);
      return;
    }

  if (run->store != NULL)
    run->waiting_final_commit = TRUE;  /* commit_cb completes the run */
  else
    run_complete (run);
}

/* Closes every partition and returns the result. */
static void
run_complete (FlowRun *run)
{
  FlowExec *exec = &run->exec;
  FlowRunner *runner = run->runner;
  GTask *task;

  if (run->completed)
    return;
  run->completed = TRUE;
  run->stopping = TRUE;
  run_stop_sources (run);

  if (run->store != NULL)
    flow_store_flush_notifications (run->store);

  for (guint i = 0; run->inputs != NULL && i < run->inputs->len; i++)
    {
      FlowInputPart *ip = g_ptr_array_index (run->inputs, i);
      GError *local = NULL;

      if (!flow_source_partition_close (ip->part, &local) || local != NULL)
        {
          if (local == NULL)
            local = g_error_new (FLOW_ERROR, FLOW_ERROR_FAILED, "close() returned FALSE");
          g_prefix_error (&local, "input step '%s' (partition '%s') failed to close: ",
                          ip->node->step->full_id, ip->key);
          if (run->error == NULL)
            run->error = local;
          else
            g_error_free (local);
        }
    }

  for (guint i = 0; exec->nodes != NULL && i < exec->nodes->len; i++)
    {
      FlowNode *node = g_ptr_array_index (exec->nodes, i);

      for (guint j = 0; node->outputs != NULL && j < node->outputs->len; j++)
        {
          FlowOutputPart *op = g_ptr_array_index (node->outputs, j);
          GError *local = NULL;

          if (!flow_sink_partition_close (op->part, &local) || local != NULL)
            {
              if (local == NULL)
                local = g_error_new (FLOW_ERROR, FLOW_ERROR_FAILED, "close() returned FALSE");
              g_prefix_error (&local, "output step '%s' (partition '%s') failed to close: ",
                              node->step->full_id, op->key);
              if (run->error == NULL)
                run->error = local;
              else
                g_error_free (local);
            }
        }
    }

  task = g_steal_pointer (&run->task);
  runner->run = NULL;
  flow_binding_end_run ();
  g_object_notify_by_pspec (G_OBJECT (runner), properties[PROP_RUNNING]);

  if (run->error != NULL)
    g_task_return_error (task, g_steal_pointer (&run->error));
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);

  run_unref (run);  /* the reference the runner held */
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
      flow_batch_push_array (batch, NULL, array);
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

static gboolean
input_dispatch_cb (gpointer data)
{
  FlowInputPart *ip = data;
  FlowRun *run = (FlowRun *) ip->node->exec;
  gint64 start = g_get_monotonic_time ();
  gint64 now = start;
  FlowBatch batch;
  gboolean keep = TRUE;

  if (run->stopping)
    return G_SOURCE_REMOVE;

  run_ref (run);
  flow_batch_init (&batch);

  for (;;)
    {
      GError *error = NULL;
      gboolean eof = FALSE;
      gint64 awake;
      guint n;

      if (!read_batch (ip, &batch, &eof, &error) ||
          !flow_node_push (ip->node, 0, &batch, &error))
        {
          run_fail (run, error);
          keep = FALSE;
          break;
        }
      n = batch.len;
      flow_batch_clear (&batch);

      if (run->task != NULL &&
          g_cancellable_set_error_if_cancelled (g_task_get_cancellable (run->task), &error))
        {
          run_fail (run, error);
          keep = FALSE;
          break;
        }

      if (eof)
        {
          ip->eof = TRUE;
          g_source_destroy (ip->source);
          g_clear_pointer (&ip->source, g_source_unref);
          keep = FALSE;
          if (--run->n_live == 0)
            run_eof (run);
          break;
        }

      if (n > 0)
        run_batch_done (run);

      awake = flow_source_partition_next_awake (ip->part);
      now = g_get_monotonic_time ();
      if (awake > now)
        {
          ip->backoff = 0;
          g_source_set_ready_time (ip->source, awake);
          break;
        }
      if (n == 0)
        {
          /* Nothing now and no wake-up time: back off, so an idle source
           * does not spin. */
          ip->backoff = CLAMP (ip->backoff * 2, BACKOFF_MIN_USEC, BACKOFF_MAX_USEC);
          g_source_set_ready_time (ip->source, now + ip->backoff);
          break;
        }
      ip->backoff = 0;
      if (now >= run->epoch_deadline || now - start >= SLICE_USEC)
        {
          g_source_set_ready_time (ip->source, 0);
          break;
        }
    }

  flow_batch_destroy (&batch);
  run_unref (run);
  return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------------
 * Collect timeouts
 * ------------------------------------------------------------------------ */

static gboolean
node_timer_cb (gpointer data)
{
  FlowNode *node = data;
  FlowRun *run = (FlowRun *) node->exec;
  GError *error = NULL;

  if (run->stopping)
    return G_SOURCE_REMOVE;

  run_ref (run);
  if (!flow_node_wake (node, g_get_real_time (), &error))
    run_fail (run, error);
  else
    {
      run_batch_done (run);
      flow_exec_schedule_wake (&run->exec, node);
    }
  run_unref (run);
  return G_SOURCE_CONTINUE;
}

void
flow_exec_schedule_wake (FlowExec *exec,
                         FlowNode *node)
{
  FlowRun *run = (FlowRun *) exec;
  gint64 ready;

  if (run->stopping)
    return;

  if (node->next_deadline == G_MAXINT64)
    ready = -1;
  else
    ready = g_get_monotonic_time () + MAX (0, node->next_deadline - g_get_real_time ());

  if (node->timer == NULL)
    node->timer = run_add_source (run, "[libflow] collect timeout", G_PRIORITY_DEFAULT,
                                  ready, node_timer_cb, node);
  else
    g_source_set_ready_time (node->timer, ready);
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
  FlowRun *run = user_data;
  FlowNode *node = g_hash_table_lookup (run->exec.by_id, step_id);

  if (node == NULL)
    {
      g_debug ("recovery: ignoring state of step '%s', which this dataflow does not have",
               step_id);
      return TRUE;
    }

  switch (node->step->kind)
    {
    case FLOW_OP_INPUT:
    case FLOW_OP_OUTPUT:
      g_hash_table_replace (node->resume, g_strdup (key), g_variant_ref (state));
      return TRUE;
    default:
      if (node->states == NULL)
        {
          g_debug ("recovery: ignoring state of step '%s', which is not stateful", step_id);
          return TRUE;
        }
      return flow_node_restore (node, key, state, error);
    }
}

static gboolean
build_inputs (FlowRun   *run,
              FlowNode  *node,
              GError   **error)
{
  FlowStep *step = node->step;
  GError *list_error = NULL;
  g_auto(GStrv) keys = flow_source_list_parts (step->source, &list_error);

  if (list_error != NULL)
    {
      g_prefix_error (&list_error, "input step '%s' failed to list its partitions: ",
                      step->full_id);
      g_propagate_error (error, list_error);
      return FALSE;
    }

  node->inputs = g_ptr_array_new ();
  if (keys == NULL || keys[0] == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_FLOW,
                   "input step '%s': the source has no partitions", step->full_id);
      return FALSE;
    }

  for (guint i = 0; keys[i] != NULL; i++)
    {
      FlowInputPart *ip;
      GError *local = NULL;
      FlowSourcePartition *part;

      part = flow_source_build_part (step->source, step->full_id, keys[i],
                                     g_hash_table_lookup (node->resume, keys[i]), &local);
      if (part == NULL || local != NULL)
        {
          g_clear_object (&part);
          if (local == NULL)
            local = g_error_new (FLOW_ERROR, FLOW_ERROR_FAILED, "build_part() returned NULL");
          g_prefix_error (&local, "input step '%s' (partition '%s') failed to start: ",
                          step->full_id, keys[i]);
          g_propagate_error (error, local);
          return FALSE;
        }

      ip = g_new0 (FlowInputPart, 1);
      ip->node = node;
      ip->key = g_strdup (keys[i]);
      ip->part = part;
      ip->fast = flow_source_partition_get_fast_path (part);
      g_ptr_array_add (node->inputs, ip);
      g_ptr_array_add (run->inputs, ip);
    }
  return TRUE;
}

static gboolean
build_outputs (FlowRun   *run,
               FlowNode  *node,
               GError   **error)
{
  FlowStep *step = node->step;
  GError *list_error = NULL;
  g_auto(GStrv) keys = flow_sink_list_parts (step->sink, &list_error);

  if (list_error != NULL)
    {
      g_prefix_error (&list_error, "output step '%s' failed to list its partitions: ",
                      step->full_id);
      g_propagate_error (error, list_error);
      return FALSE;
    }

  node->outputs = g_ptr_array_new_with_free_func ((GDestroyNotify) output_part_free);
  if (keys == NULL || keys[0] == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_FLOW,
                   "output step '%s': the sink has no partitions", step->full_id);
      return FALSE;
    }

  for (guint i = 0; keys[i] != NULL; i++)
    {
      FlowOutputPart *op;
      GError *local = NULL;
      FlowSinkPartition *part;

      part = flow_sink_build_part (step->sink, step->full_id, keys[i],
                                   g_hash_table_lookup (node->resume, keys[i]), &local);
      if (part == NULL || local != NULL)
        {
          g_clear_object (&part);
          if (local == NULL)
            local = g_error_new (FLOW_ERROR, FLOW_ERROR_FAILED, "build_part() returned NULL");
          g_prefix_error (&local, "output step '%s' (partition '%s') failed to start: ",
                          step->full_id, keys[i]);
          g_propagate_error (error, local);
          return FALSE;
        }

      op = g_new0 (FlowOutputPart, 1);
      op->key = g_strdup (keys[i]);
      op->part = part;
      op->fast = flow_sink_partition_get_fast_path (part);
      flow_batch_init (&op->pending);
      g_ptr_array_add (node->outputs, op);

      /* A partition that starts without a resume state must still be
       * rolled back to where it starts if this execution crashes before
       * its first commit: its initial state is recorded as of the resume
       * epoch, when the execution begins. */
      if (run->initial_rows != NULL &&
          !g_hash_table_contains (node->resume, keys[i]))
        {
          GVariant *state = flow_sink_partition_snapshot (part, &local);

          if (local != NULL)
            {
              g_clear_pointer (&state, g_variant_unref);
              g_prefix_error (&local, "output step '%s' (partition '%s') failed to snapshot: ",
                              step->full_id, keys[i]);
              g_propagate_error (error, local);
              return FALSE;
            }
          if (state != NULL)
            {
              FlowSnapRow row = { step->full_id, g_ref_string_new (keys[i]),
                                  g_variant_take_ref (state) };
              g_array_append_val (run->initial_rows, row);
            }
        }
    }
  return TRUE;
}

static gboolean
run_start (FlowRun  *run,
           GError  **error)
{
  FlowRunner *runner = run->runner;
  FlowExec *exec = &run->exec;
  GPtrArray *steps = flow_dataflow_get_steps (exec->flow);
  const char *flow_id = flow_dataflow_get_id (exec->flow);

  if (!flow_dataflow_check (exec->flow, error))
    return FALSE;
  flow_dataflow_debug_dump (exec->flow);

  if (runner->workers != 1)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_NOT_SUPPORTED,
                   "running dataflow '%s' with %u workers: only 1 worker per process is "
                   "supported so far", flow_id, runner->workers);
      return FALSE;
    }

  /* The graph */
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

  /* Recovery: validate, then load, then start writing. */
  runner->resume_epoch = 0;
  if (runner->recovery_directory != NULL)
    {
      gint64 t0 = g_get_monotonic_time ();

      run->store = flow_store_open (runner->recovery_directory, error);
      if (run->store == NULL || !flow_store_lock (run->store, error))
        return FALSE;
      if (!flow_store_check_resumable (run->store, flow_id, error))
        return FALSE;

      runner->resume_epoch = flow_store_get_resume_epoch (run->store);
      g_debug ("recovery: opened %s in %.3f s; resuming from epoch %" G_GUINT64_FORMAT,
               runner->recovery_directory, (g_get_monotonic_time () - t0) / 1e6, runner->resume_epoch);
      t0 = g_get_monotonic_time ();
      /* Even at epoch 0 there may be rows: the initial state of sinks of an
       * execution that crashed before its first commit. */
      if (!flow_store_load (run->store, runner->resume_epoch, FALSE, restore_row_cb, run, error))
        return FALSE;
      g_debug ("recovery: loaded the snapshots in %.3f s", (g_get_monotonic_time () - t0) / 1e6);

      exec->track_changes = TRUE;
      run->initial_rows = g_array_new (FALSE, TRUE, sizeof (FlowSnapRow));
      g_array_set_clear_func (run->initial_rows, snap_row_clear);
    }
  exec->epoch = runner->resume_epoch + 1;
  runner->epoch = exec->epoch;
  g_object_notify_by_pspec (G_OBJECT (runner), properties[PROP_EPOCH]);
  g_object_notify_by_pspec (G_OBJECT (runner), properties[PROP_RESUME_EPOCH]);

  /* Partitions */
  for (guint i = 0; i < exec->nodes->len; i++)
    {
      FlowNode *node = g_ptr_array_index (exec->nodes, i);

      if (node->step->kind == FLOW_OP_INPUT && !build_inputs (run, node, error))
        return FALSE;
      if (node->step->kind == FLOW_OP_OUTPUT && !build_outputs (run, node, error))
        return FALSE;
    }

  if (run->store != NULL)
    {
      gint64 t0 = g_get_monotonic_time ();

      if (!flow_store_begin_execution (run->store, flow_id, runner->workers,
                                       (gint64) (runner->backup_interval * G_USEC_PER_SEC),
                                       run->initial_rows,
                                       exec->context, commit_cb, run, error))
        return FALSE;
      g_debug ("recovery: execution %" G_GUINT64_FORMAT " recorded in %.3f s",
               flow_store_get_execution (run->store), (g_get_monotonic_time () - t0) / 1e6);
    }

  g_debug ("run of '%s' starts at epoch %" G_GUINT64_FORMAT " (resuming from %" G_GUINT64_FORMAT ")",
           flow_id, exec->epoch, runner->resume_epoch);

  /* Sources on the main context */
  run->epoch_usec = (gint64) (runner->snapshot_interval * G_USEC_PER_SEC);
  run->epoch_deadline = g_get_monotonic_time () + run->epoch_usec;
  run->epoch_timer = run_add_source (run, "[libflow] epoch timer", G_PRIORITY_DEFAULT - 1,
                                     run->epoch_usec > 0 ? run->epoch_deadline : -1,
                                     epoch_timer_cb, run);

  run->n_live = run->inputs->len;
  for (guint i = 0; i < run->inputs->len; i++)
    {
      FlowInputPart *ip = g_ptr_array_index (run->inputs, i);
      ip->source = run_add_source (run, "[libflow] input", G_PRIORITY_DEFAULT_IDLE, 0,
                                   input_dispatch_cb, ip);
    }

  for (guint i = 0; i < exec->nodes->len; i++)
    {
      FlowNode *node = g_ptr_array_index (exec->nodes, i);
      if (node->step->kind == FLOW_OP_COLLECT && node->next_deadline != G_MAXINT64)
        flow_exec_schedule_wake (exec, node);
    }

  return TRUE;
}

static gboolean
cancelled_cb (GCancellable *cancellable,
              gpointer      data)
{
  FlowRun *run = data;
  GError *error = NULL;

  if (!run->stopping)
    {
      g_cancellable_set_error_if_cancelled (cancellable, &error);
      run_ref (run);
      run_fail (run, error);
      run_unref (run);
    }
  return G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------------
 * FlowRunner
 * ------------------------------------------------------------------------ */

static void
flow_runner_dispose (GObject *object)
{
  FlowRunner *self = FLOW_RUNNER (object);

  g_clear_object (&self->dataflow);

  G_OBJECT_CLASS (flow_runner_parent_class)->dispose (object);
}

static void
flow_runner_finalize (GObject *object)
{
  FlowRunner *self = FLOW_RUNNER (object);

  g_free (self->recovery_directory);

  G_OBJECT_CLASS (flow_runner_parent_class)->finalize (object);
}

static void
flow_runner_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  FlowRunner *self = FLOW_RUNNER (object);

  switch (prop_id)
    {
    case PROP_DATAFLOW:
      g_value_set_object (value, self->dataflow);
      break;
    case PROP_RECOVERY_DIRECTORY:
      g_value_set_string (value, self->recovery_directory);
      break;
    case PROP_SNAPSHOT_INTERVAL:
      g_value_set_double (value, self->snapshot_interval);
      break;
    case PROP_BACKUP_INTERVAL:
      g_value_set_double (value, self->backup_interval);
      break;
    case PROP_WORKERS:
      g_value_set_uint (value, self->workers);
      break;
    case PROP_EPOCH:
      g_value_set_uint64 (value, self->epoch);
      break;
    case PROP_RESUME_EPOCH:
      g_value_set_uint64 (value, self->resume_epoch);
      break;
    case PROP_RUNNING:
      g_value_set_boolean (value, self->run != NULL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_runner_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  FlowRunner *self = FLOW_RUNNER (object);

  switch (prop_id)
    {
    case PROP_DATAFLOW:
      self->dataflow = g_value_dup_object (value);
      break;
    case PROP_RECOVERY_DIRECTORY:
      flow_runner_set_recovery_directory (self, g_value_get_string (value));
      break;
    case PROP_SNAPSHOT_INTERVAL:
      flow_runner_set_snapshot_interval (self, g_value_get_double (value));
      break;
    case PROP_BACKUP_INTERVAL:
      flow_runner_set_backup_interval (self, g_value_get_double (value));
      break;
    case PROP_WORKERS:
      flow_runner_set_workers (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_runner_class_init (FlowRunnerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = flow_runner_dispose;
  object_class->finalize = flow_runner_finalize;
  object_class->get_property = flow_runner_get_property;
  object_class->set_property = flow_runner_set_property;

  /**
   * FlowRunner:dataflow:
   *
   * The dataflow to run.
   */
  properties[PROP_DATAFLOW] =
    g_param_spec_object ("dataflow", NULL, NULL,
                         FLOW_TYPE_DATAFLOW,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowRunner:recovery-directory:
   *
   * The directory of recovery partitions (made by `flow-recovery init` or
   * [func@Flow.recovery_init_dir]), or %NULL to run without recovery.
   */
  properties[PROP_RECOVERY_DIRECTORY] =
    g_param_spec_string ("recovery-directory", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowRunner:snapshot-interval:
   *
   * The length of an epoch, in seconds: every this often the runner closes
   * an epoch and, with recovery, snapshots it. 0 closes an epoch after
   * every batch of input.
   */
  properties[PROP_SNAPSHOT_INTERVAL] =
    g_param_spec_double ("snapshot-interval", NULL, NULL,
                         0.0, G_MAXDOUBLE, DEFAULT_SNAPSHOT_INTERVAL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowRunner:backup-interval:
   *
   * How long, in seconds, older snapshots are kept: snapshots are garbage
   * collected only once a newer one of the same key is older than this,
   * so recovery partitions restored from a backup up to this old can still
   * resume consistently together with newer ones.
   */
  properties[PROP_BACKUP_INTERVAL] =
    g_param_spec_double ("backup-interval", NULL, NULL,
                         0.0, G_MAXDOUBLE, 0.0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowRunner:workers:
   *
   * The number of workers. Only 1 is supported so far.
   */
  properties[PROP_WORKERS] =
    g_param_spec_uint ("workers", NULL, NULL,
                       1, G_MAXUINT, 1,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowRunner:epoch:
   *
   * The epoch that is open (being processed), or, after a run, the one
   * after the last that closed.
   */
  properties[PROP_EPOCH] =
    g_param_spec_uint64 ("epoch", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * FlowRunner:resume-epoch:
   *
   * The epoch the current (or last) run resumed from: the newest epoch the
   * previous executions committed, 0 for a fresh start.
   */
  properties[PROP_RESUME_EPOCH] =
    g_param_spec_uint64 ("resume-epoch", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * FlowRunner:running:
   *
   * Whether a run is in progress.
   */
  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * FlowRunner::epoch-closed:
   * @self: the runner
   * @epoch: the epoch that closed
   *
   * Emitted on the run's main context when an epoch closes: its output
   * was flushed and, with recovery, its snapshot was handed to the writer.
   */
  signals[SIGNAL_EPOCH_CLOSED] =
    g_signal_new ("epoch-closed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_UINT64);

  /**
   * FlowRunner::snapshot-committed:
   * @self: the runner
   * @epoch: the epoch whose snapshot is durable
   *
   * Emitted on the run's main context when the snapshot of an epoch is
   * durable in every recovery partition: a run started after this resumes
   * from @epoch or a later one.
   */
  signals[SIGNAL_SNAPSHOT_COMMITTED] =
    g_signal_new ("snapshot-committed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_UINT64);
}

static void
flow_runner_init (FlowRunner *self)
{
  self->snapshot_interval = DEFAULT_SNAPSHOT_INTERVAL;
  self->backup_interval = 0.0;
  self->workers = 1;
}

/**
 * flow_runner_new:
 * @dataflow: the dataflow to run
 *
 * Creates a runner for @dataflow.
 *
 * Returns: (transfer full): a new runner
 */
FlowRunner *
flow_runner_new (FlowDataflow *dataflow)
{
  g_return_val_if_fail (FLOW_IS_DATAFLOW (dataflow), NULL);

  return g_object_new (FLOW_TYPE_RUNNER, "dataflow", dataflow, NULL);
}

/**
 * flow_runner_get_dataflow:
 * @self: a runner
 *
 * Gets the dataflow the runner runs ([property@Flow.Runner:dataflow]).
 *
 * Returns: (transfer none): the dataflow
 */
FlowDataflow *
flow_runner_get_dataflow (FlowRunner *self)
{
  g_return_val_if_fail (FLOW_IS_RUNNER (self), NULL);

  return self->dataflow;
}

/**
 * flow_runner_get_recovery_directory:
 * @self: a runner
 *
 * Gets [property@Flow.Runner:recovery-directory].
 *
 * Returns: (nullable) (type filename): the recovery directory, or %NULL
 */
const char *
flow_runner_get_recovery_directory (FlowRunner *self)
{
  g_return_val_if_fail (FLOW_IS_RUNNER (self), NULL);

  return self->recovery_directory;
}

/**
 * flow_runner_set_recovery_directory:
 * @self: a runner
 * @directory: (nullable) (type filename): the recovery directory, or %NULL
 *   to run without recovery
 *
 * Sets [property@Flow.Runner:recovery-directory].
 */
void
flow_runner_set_recovery_directory (FlowRunner *self,
                                    const char *directory)
{
  g_return_if_fail (FLOW_IS_RUNNER (self));

  if (g_strcmp0 (self->recovery_directory, directory) != 0)
    {
      g_free (self->recovery_directory);
      self->recovery_directory = g_strdup (directory);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECOVERY_DIRECTORY]);
    }
}

/**
 * flow_runner_get_snapshot_interval:
 * @self: a runner
 *
 * Gets [property@Flow.Runner:snapshot-interval].
 *
 * Returns: the epoch length, in seconds
 */
double
flow_runner_get_snapshot_interval (FlowRunner *self)
{
  g_return_val_if_fail (FLOW_IS_RUNNER (self), 0);

  return self->snapshot_interval;
}

/**
 * flow_runner_set_snapshot_interval:
 * @self: a runner
 * @seconds: the epoch length, in seconds (may be fractional; not negative)
 *
 * Sets [property@Flow.Runner:snapshot-interval].
 */
void
flow_runner_set_snapshot_interval (FlowRunner *self,
                                   double      seconds)
{
  g_return_if_fail (FLOW_IS_RUNNER (self));
  g_return_if_fail (seconds >= 0 && isfinite (seconds));

  if (self->snapshot_interval != seconds)
    {
      self->snapshot_interval = seconds;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SNAPSHOT_INTERVAL]);
    }
}

/**
 * flow_runner_get_backup_interval:
 * @self: a runner
 *
 * Gets [property@Flow.Runner:backup-interval].
 *
 * Returns: how long older snapshots are kept, in seconds
 */
double
flow_runner_get_backup_interval (FlowRunner *self)
{
  g_return_val_if_fail (FLOW_IS_RUNNER (self), 0);

  return self->backup_interval;
}

/**
 * flow_runner_set_backup_interval:
 * @self: a runner
 * @seconds: how long older snapshots are kept, in seconds (not negative)
 *
 * Sets [property@Flow.Runner:backup-interval].
 */
void
flow_runner_set_backup_interval (FlowRunner *self,
                                 double      seconds)
{
  g_return_if_fail (FLOW_IS_RUNNER (self));
  g_return_if_fail (seconds >= 0 && isfinite (seconds));

  if (self->backup_interval != seconds)
    {
      self->backup_interval = seconds;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BACKUP_INTERVAL]);
    }
}

/**
 * flow_runner_get_workers:
 * @self: a runner
 *
 * Gets [property@Flow.Runner:workers].
 *
 * Returns: the number of workers
 */
guint
flow_runner_get_workers (FlowRunner *self)
{
  g_return_val_if_fail (FLOW_IS_RUNNER (self), 0);

  return self->workers;
}

/**
 * flow_runner_set_workers:
 * @self: a runner
 * @workers: the number of workers, at least 1
 *
 * Sets [property@Flow.Runner:workers]. A run with more than one worker
 * fails with %FLOW_ERROR_NOT_SUPPORTED for now.
 */
void
flow_runner_set_workers (FlowRunner *self,
                         guint       workers)
{
  g_return_if_fail (FLOW_IS_RUNNER (self));
  g_return_if_fail (workers >= 1);

  if (self->workers != workers)
    {
      self->workers = workers;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WORKERS]);
    }
}

/**
 * flow_runner_get_epoch:
 * @self: a runner
 *
 * Gets [property@Flow.Runner:epoch].
 *
 * Returns: the open epoch (see [property@Flow.Runner:epoch])
 */
guint64
flow_runner_get_epoch (FlowRunner *self)
{
  g_return_val_if_fail (FLOW_IS_RUNNER (self), 0);

  return self->epoch;
}

/**
 * flow_runner_get_resume_epoch:
 * @self: a runner
 *
 * Gets [property@Flow.Runner:resume-epoch].
 *
 * Returns: the epoch the run resumed from, 0 for a fresh start
 */
guint64
flow_runner_get_resume_epoch (FlowRunner *self)
{
  g_return_val_if_fail (FLOW_IS_RUNNER (self), 0);

  return self->resume_epoch;
}

/**
 * flow_runner_get_running:
 * @self: a runner
 *
 * Gets [property@Flow.Runner:running].
 *
 * Returns: whether a run is in progress
 */
gboolean
flow_runner_get_running (FlowRunner *self)
{
  g_return_val_if_fail (FLOW_IS_RUNNER (self), FALSE);

  return self->run != NULL;
}

/**
 * flow_runner_run_async:
 * @self: a runner
 * @cancellable: (nullable): a #GCancellable to stop the run
 * @callback: (scope async) (closure user_data): called when the run ends
 * @user_data: data for @callback
 *
 * Starts running the dataflow on the thread-default main context of the
 * caller, and returns at once. Items are processed, and every function of
 * the dataflow is called, on that context; @callback is called on it when
 * the run ends. Call [method@Flow.Runner.run_finish] to get the result.
 *
 * Cancelling @cancellable stops the run as soon as the batch being
 * processed is done, without snapshotting the epoch that was open: a
 * resumed run replays it.
 */
void
flow_runner_run_async (FlowRunner          *self,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  FlowRun *run;

  g_return_if_fail (FLOW_IS_RUNNER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, flow_runner_run_async);
  g_task_set_name (task, "[libflow] run");

  if (g_task_return_error_if_cancelled (task))
    return;

  if (self->run != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               "dataflow '%s' is already running on this runner",
                               flow_dataflow_get_id (self->dataflow));
      return;
    }

  run = g_new0 (FlowRun, 1);
  g_atomic_ref_count_init (&run->ref_count);
  run->runner = g_object_ref (self);
  run->task = g_object_ref (task);
  run->exec.runner = self;
  run->exec.flow = g_object_ref (self->dataflow);
  run->exec.context = g_main_context_ref_thread_default ();
  run->exec.nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) flow_node_free);
  run->exec.by_id = g_hash_table_new (g_str_hash, g_str_equal);
  run->inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) input_part_free);

  if (!run_start (run, &error))
    {
      run->stopping = TRUE;
      run->completed = TRUE;
      if (run->store != NULL)
        flow_store_wait (run->store);
      /* Partitions that were built are closed; errors closing them are
       * secondary to the one that stopped the start. */
      for (guint i = 0; i < run->inputs->len; i++)
        flow_source_partition_close (((FlowInputPart *) g_ptr_array_index (run->inputs, i))->part, NULL);
      for (guint i = 0; i < run->exec.nodes->len; i++)
        {
          FlowNode *node = g_ptr_array_index (run->exec.nodes, i);
          for (guint j = 0; node->outputs != NULL && j < node->outputs->len; j++)
            flow_sink_partition_close (((FlowOutputPart *) g_ptr_array_index (node->outputs, j))->part, NULL);
        }
      g_task_return_error (task, error);
      run_unref (run);
      return;
    }

  self->run = run;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  flow_binding_begin_run ();

  if (cancellable != NULL)
    {
      run->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_static_name (run->cancel_source, "[libflow] cancel");
      g_source_set_callback (run->cancel_source, (GSourceFunc) cancelled_cb, run, NULL);
      g_source_attach (run->cancel_source, run->exec.context);
    }

  if (run->inputs->len == 0)
    run_eof (run);
}

/**
 * flow_runner_run_finish:
 * @self: a runner
 * @result: the result given to the callback of [method@Flow.Runner.run_async]
 * @error: return location for a #GError
 *
 * Gets the result of a run.
 *
 * Returns: %TRUE if every input reached its end and everything was written
 *   (and, with recovery, committed); %FALSE with @error set otherwise
 */
gboolean
flow_runner_run_finish (FlowRunner    *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (FLOW_IS_RUNNER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == flow_runner_run_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

typedef struct
{
  GAsyncResult *result;
} SyncData;

static void
run_sync_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  SyncData *data = user_data;

  data->result = g_object_ref (result);
}

/**
 * flow_runner_run:
 * @self: a runner
 * @cancellable: (nullable): a #GCancellable to stop the run
 * @error: return location for a #GError
 *
 * Runs the dataflow until every input reached its end, on a main context
 * of its own: the calling thread blocks, and every function of the
 * dataflow is called on it.
 *
 * Returns: %TRUE on success; %FALSE with @error set otherwise. A function
 *   of the dataflow that failed gives an error naming the step (full id)
 *   and the key
 */
gboolean
flow_runner_run (FlowRunner    *self,
                 GCancellable  *cancellable,
                 GError       **error)
{
  g_autoptr(GMainContext) context = NULL;
  SyncData data = { NULL };
  gboolean ok;

  g_return_val_if_fail (FLOW_IS_RUNNER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  flow_runner_run_async (self, cancellable, run_sync_cb, &data);
  while (data.result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);

  ok = flow_runner_run_finish (self, data.result, error);
  g_object_unref (data.result);
  return ok;
}

typedef struct
{
  char     *recovery;
  double    snapshot;
  double    backup;
  int       workers;
  gboolean  has_snapshot;
  gboolean  has_backup;
  gboolean  has_workers;
} Options;

/* The values are parsed here rather than by G_OPTION_ARG_DOUBLE/INT, so
 * that every value given (-1 included) is seen and checked: no value is
 * a "not given" sentinel. */
static gboolean
option_cb (const char  *name,
           const char  *value,
           gpointer     data,
           GError     **error)
{
  Options *o = data;
  char *end = NULL;

  if (g_str_equal (name, "-w") || g_str_equal (name, "--workers"))
    {
      gint64 workers;

      if (!g_ascii_string_to_signed (value, 10, G_MININT, G_MAXINT, &workers, NULL))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "Cannot parse integer value “%s” for %s", value, name);
          return FALSE;
        }
      o->workers = workers;
      o->has_workers = TRUE;
      return TRUE;
    }

  {
    double seconds = g_ascii_strtod (value, &end);

    if (*value == '\0' || *end != '\0')
      {
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                     "Cannot parse double value “%s” for %s", value, name);
        return FALSE;
      }
    if (g_str_equal (name, "-s") || g_str_equal (name, "--snapshot-interval"))
      {
        o->snapshot = seconds;
        o->has_snapshot = TRUE;
      }
    else
      {
        o->backup = seconds;
        o->has_backup = TRUE;
      }
  }
  return TRUE;
}

static GOptionContext *
options_context (Options *o)
{
  GOptionEntry entries[] = {
    { "recovery-directory", 'r', 0, G_OPTION_ARG_FILENAME, &o->recovery,
      "Resume from and snapshot into the recovery partitions in DIR", "DIR" },
    { "snapshot-interval", 's', 0, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
      "Close an epoch (and snapshot it) every SECONDS (default 10)", "SECONDS" },
    { "backup-interval", 'b', 0, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
      "Keep older snapshots for SECONDS (default 0)", "SECONDS" },
    { "workers", 'w', 0, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
      "Number of workers (default 1)", "N" },
    G_OPTION_ENTRY_NULL
  };
  GOptionContext *context;
  GOptionGroup *group;

  memset (o, 0, sizeof *o);
  context = g_option_context_new (NULL);
  g_option_context_set_help_enabled (context, FALSE);
  group = g_option_group_new (NULL, NULL, NULL, o, NULL);
  g_option_group_add_entries (group, entries);
  g_option_context_set_main_group (context, group);
  return context;
}

static gboolean
options_apply (FlowRunner  *self,
               Options     *o,
               GError     **error)
{
  if (o->has_snapshot && !(o->snapshot >= 0 && isfinite (o->snapshot)))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "the snapshot interval must be a number of seconds >= 0, not %g", o->snapshot);
      return FALSE;
    }
  if (o->has_backup && !(o->backup >= 0 && isfinite (o->backup)))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "the backup interval must be a number of seconds >= 0, not %g", o->backup);
      return FALSE;
    }
  if (o->has_workers && o->workers < 1)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "the number of workers must be at least 1, not %d", o->workers);
      return FALSE;
    }

  if (o->recovery != NULL)
    flow_runner_set_recovery_directory (self, o->recovery);
  if (o->has_snapshot)
    flow_runner_set_snapshot_interval (self, o->snapshot);
  if (o->has_backup)
    flow_runner_set_backup_interval (self, o->backup);
  if (o->has_workers)
    flow_runner_set_workers (self, o->workers);
  return TRUE;
}

/**
 * flow_runner_parse_args:
 * @self: a runner
 * @args: (inout) (array zero-terminated=1) (transfer full): the command
 *   line, a %NULL-terminated array (including the program name); the
 *   options parsed are removed from it and freed
 * @error: return location for a #GError
 *
 * Parses the standard options into the runner's properties and removes
 * them from @args, like g_option_context_parse_strv():
 *
 * - `-r`, `--recovery-directory DIR`: [property@Flow.Runner:recovery-directory]
 * - `-s`, `--snapshot-interval SECONDS`: [property@Flow.Runner:snapshot-interval]
 * - `-b`, `--backup-interval SECONDS`: [property@Flow.Runner:backup-interval]
 * - `-w`, `--workers N`: [property@Flow.Runner:workers]
 *
 * Seconds may be fractional.
 *
 * Returns: %TRUE, or %FALSE with @error set for an unknown option or a bad
 *   value
 */
gboolean
flow_runner_parse_args (FlowRunner   *self,
                        char       ***args,
                        GError      **error)
{
  g_autoptr(GOptionContext) context = NULL;
  Options o;
  gboolean ok;

  g_return_val_if_fail (FLOW_IS_RUNNER (self), FALSE);
  g_return_val_if_fail (args != NULL && *args != NULL, FALSE);

  context = options_context (&o);
  ok = g_option_context_parse_strv (context, args, error) && options_apply (self, &o, error);
  g_free (o.recovery);
  return ok;
}

static const char *help_text =
  "Options:\n"
  "  -r, --recovery-directory DIR    Resume from and snapshot into the recovery\n"
  "                                  partitions in DIR (see flow-recovery init)\n"
  "  -s, --snapshot-interval SECONDS Close an epoch (and snapshot it) every\n"
  "                                  SECONDS; fractional; default 10\n"
  "  -b, --backup-interval SECONDS   Keep older snapshots for SECONDS; default 0\n"
  "  -w, --workers N                 Number of workers; default 1\n"
  "  -h, --help                      Show this help\n";

/**
 * flow_runner_run_with_args:
 * @self: a runner
 * @argc: the number of arguments
 * @argv: (array length=argc) (element-type filename) (nullable): the
 *   command line, including the program name
 *
 * Parses the standard options (see [method@Flow.Runner.parse_args]) and
 * runs the dataflow, like g_application_run(): `--help` prints the options;
 * an error is printed to standard error.
 *
 * ```python
 * sys.exit(Flow.Runner.new(flow).run_with_args(sys.argv))
 * ```
 *
 * Returns: the exit status: 0 on success, 1 if the run failed, 2 for bad
 *   arguments
 */
int
flow_runner_run_with_args (FlowRunner  *self,
                           int          argc,
                           char       **argv)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) args = NULL;
  const char *prog;
  int n;

  g_return_val_if_fail (FLOW_IS_RUNNER (self), 1);

  prog = (argc > 0 && argv != NULL && argv[0] != NULL) ? argv[0] : "flow";
  args = g_new0 (char *, argc + 1);
  for (int i = 0; i < argc && argv != NULL; i++)
    args[i] = g_strdup (argv[i]);
  n = argc;

  for (int i = 1; i < n; i++)
    if (g_str_equal (args[i], "-h") || g_str_equal (args[i], "--help") || g_str_equal (args[i], "-?"))
      {
        g_autofree char *base = g_path_get_basename (prog);
        g_print ("Usage:\n  %s [OPTION…]\n\nRuns the dataflow '%s'.\n\n%s",
                 base, flow_dataflow_get_id (self->dataflow), help_text);
        return 0;
      }

  {
    if (!flow_runner_parse_args (self, &args, &error))
      {
        g_printerr ("%s: %s\nTry '%s --help'.\n", prog, error->message, prog);
        return 2;
      }
    n = g_strv_length (args);
  }
  if (n > 1)
    {
      g_printerr ("%s: unexpected argument '%s'\nTry '%s --help'.\n", prog, args[1], prog);
      return 2;
    }

  if (!flow_runner_run (self, NULL, &error))
    {
      fflush (stdout);
      g_printerr ("%s: %s\n", prog, error->message);
      return 1;
    }
  return 0;
}
