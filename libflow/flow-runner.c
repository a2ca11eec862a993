/* flow-runner.c: runs a dataflow on a GMainContext
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "flow-exec-private.h"
#include "flow-metrics-server-private.h"
#include "flow-runner-private.h"
#include "flow-test-clock-private.h"

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
  guint         process_id;   /* this process's share of the input ... */
  guint         processes;    /* ... of this many */
  guint64       epoch;
  guint64       resume_epoch;
  FlowClock    *clock;  /* NULL: the system clock; tests set a test clock */
  FlowTestClock *test_clock;
  FlowExec     *exec;   /* while running */
  GTask        *task;   /* while running */
  GVariant     *metrics;  /* of the last run, once it ended */
  char         *metrics_address;
  guint         metrics_port;
  FlowMetricsServer *metrics_server;  /* while running, with a metrics address */
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
  PROP_METRICS_ADDRESS,
  PROP_METRICS_PORT,
  PROP_TEST_CLOCK,
  PROP_PROCESS_ID,   /* issue 11: processes sharing the input */
  PROP_PROCESSES,
  N_PROPS
};

enum {
  SIGNAL_EPOCH_CLOSED,
  SIGNAL_SNAPSHOT_COMMITTED,
  SIGNAL_PROGRESS,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (FlowRunner, flow_runner, G_TYPE_OBJECT)

#define DEFAULT_SNAPSHOT_INTERVAL 10.0

/* ------------------------------------------------------------------------
 * What the execution tells the runner, on the run's context
 * ------------------------------------------------------------------------ */

static void
exec_resumed (gpointer owner,
              guint64  resume_epoch)
{
  FlowRunner *self = owner;

  self->resume_epoch = resume_epoch;
  self->epoch = resume_epoch + 1;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EPOCH]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESUME_EPOCH]);
}

static void
exec_epoch_closed (gpointer owner,
                   guint64  epoch)
{
  FlowRunner *self = owner;

  self->epoch = epoch + 1;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EPOCH]);
  g_signal_emit (self, signals[SIGNAL_EPOCH_CLOSED], 0, epoch);
}

static void
exec_committed (gpointer owner,
                guint64  epoch)
{
  FlowRunner *self = owner;

  g_signal_emit (self, signals[SIGNAL_SNAPSHOT_COMMITTED], 0, epoch);
}

static void
exec_progress (gpointer owner)
{
  FlowRunner *self = owner;
  g_autoptr(GVariant) metrics = NULL;

  /* Nobody listens: no figures to gather. */
  if (!g_signal_has_handler_pending (self, signals[SIGNAL_PROGRESS], 0, TRUE))
    return;
  metrics = g_variant_ref_sink (flow_exec_dup_metrics (self->exec));
  g_signal_emit (self, signals[SIGNAL_PROGRESS], 0, metrics);
}

static void
exec_finished (gpointer  owner,
               GError   *error)
{
  FlowRunner *self = owner;
  g_autoptr(GTask) task = g_steal_pointer (&self->task);
  FlowExec *exec = g_steal_pointer (&self->exec);

  flow_binding_end_run ();
  g_clear_pointer (&self->metrics_server, flow_metrics_server_free);
  g_clear_pointer (&self->metrics, g_variant_unref);
  self->metrics = g_variant_ref_sink (flow_exec_dup_metrics (exec));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  /* The last word on progress, before the result. */
  g_signal_emit (self, signals[SIGNAL_PROGRESS], 0, self->metrics);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);

  flow_exec_unref (exec);
  g_object_unref (self);  /* the reference the run held */
}

static const FlowExecCallbacks exec_callbacks = {
  exec_resumed,
  exec_epoch_closed,
  exec_committed,
  exec_finished,
  exec_progress,
};

/* ------------------------------------------------------------------------
 * FlowRunner
 * ------------------------------------------------------------------------ */

static void
flow_runner_dispose (GObject *object)
{
  FlowRunner *self = FLOW_RUNNER (object);

  g_clear_object (&self->dataflow);
  g_clear_object (&self->test_clock);

  G_OBJECT_CLASS (flow_runner_parent_class)->dispose (object);
}

static void
flow_runner_finalize (GObject *object)
{
  FlowRunner *self = FLOW_RUNNER (object);

  g_free (self->recovery_directory);
  g_clear_pointer (&self->clock, flow_clock_unref);
  g_clear_pointer (&self->metrics, g_variant_unref);
  g_free (self->metrics_address);

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
    case PROP_PROCESS_ID:
      g_value_set_uint (value, self->process_id);
      break;
    case PROP_PROCESSES:
      g_value_set_uint (value, self->processes);
      break;
    case PROP_EPOCH:
      g_value_set_uint64 (value, self->epoch);
      break;
    case PROP_RESUME_EPOCH:
      g_value_set_uint64 (value, self->resume_epoch);
      break;
    case PROP_RUNNING:
      g_value_set_boolean (value, self->exec != NULL);
      break;
    case PROP_METRICS_ADDRESS:
      g_value_set_string (value, self->metrics_address);
      break;
    case PROP_METRICS_PORT:
      g_value_set_uint (value, self->metrics_port);
      break;
    case PROP_TEST_CLOCK:
      g_value_set_object (value, self->test_clock);
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
    case PROP_PROCESS_ID:
      flow_runner_set_process_id (self, g_value_get_uint (value));
      break;
    case PROP_PROCESSES:
      flow_runner_set_processes (self, g_value_get_uint (value));
      break;
    case PROP_METRICS_ADDRESS:
      flow_runner_set_metrics_address (self, g_value_get_string (value));
      break;
    case PROP_TEST_CLOCK:
      flow_runner_set_test_clock (self, g_value_get_object (value));
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
   * The number of workers: each runs its own instance of every step on
   * its own thread and main context, and items are exchanged between them
   * by key before every stateful step (see `docs/workers.md`). Signals,
   * the callback of [method@Flow.Runner.run_async], cancellation and
   * errors still arrive on the caller's context. In a process with GJS or
   * a Python interpreter, the workers share the caller's thread. The
   * recovery partitions do not depend on it: a run may resume with another
   * number of workers.
   */
  properties[PROP_WORKERS] =
    g_param_spec_uint ("workers", NULL, NULL,
                       1, G_MAXUINT, 1,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowRunner:process-id:
   *
   * Which share of the input this process reads, below
   * [property@Flow.Runner:processes]: of the partitions every source
   * lists, in its order, the process-id-th, the (process-id +
   * processes)-th, and so on. N processes of one flow, with ids 0 to N-1
   * and each its own recovery directory, read every partition once between
   * them (see the "Kafka" page, "Beyond one machine").
   */
  properties[PROP_PROCESS_ID] =
    g_param_spec_uint ("process-id", NULL, NULL,
                       0, G_MAXUINT - 1, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowRunner:processes:
   *
   * How many processes share the input partitions (see
   * [property@Flow.Runner:process-id]); 1, the default, reads them all.
   * A run whose process id is not below it, or whose share of a source
   * has no partition, fails with %FLOW_ERROR_INVALID_ARGUMENT.
   */
  properties[PROP_PROCESSES] =
    g_param_spec_uint ("processes", NULL, NULL,
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
  /**
   * FlowRunner:test-clock:
   *
   * The [class@Flow.TestClock] runs use instead of the system's clock, or
   * %NULL. See [method@Flow.Runner.set_test_clock].
   */
  properties[PROP_TEST_CLOCK] =
    g_param_spec_object ("test-clock", NULL, NULL,
                         FLOW_TYPE_TEST_CLOCK,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * FlowRunner:metrics-address:
   *
   * Where to serve the run's figures over HTTP while it runs, in the
   * Prometheus text format, at `http://HOST:PORT/metrics`: `HOST:PORT`,
   * `[IPV6]:PORT` or `:PORT` (every interface), HOST an IP address or
   * `localhost`; PORT 0 lets the system choose a free port (see
   * [property@Flow.Runner:metrics-port]). %NULL (the default) serves
   * nothing. The endpoint is served on the run's main context, from the
   * start of a run to its end; an address that cannot be listened on
   * fails the run before it starts. The `--metrics-address` option sets it.
   */
  properties[PROP_METRICS_ADDRESS] =
    g_param_spec_string ("metrics-address", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowRunner:metrics-port:
   *
   * The port the metrics endpoint of the current (or last) run listened
   * on ([property@Flow.Runner:metrics-address]), the one the system chose
   * for port 0 included; 0 if no run served metrics yet.
   */
  properties[PROP_METRICS_PORT] =
    g_param_spec_uint ("metrics-port", NULL, NULL,
                       0, G_MAXUINT16, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

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

  /**
   * FlowRunner::progress:
   * @self: the runner
   * @metrics: the run's figures, as [method@Flow.Runner.get_metrics]
   *   returns them
   *
   * Emitted on the run's main context while a run makes progress, at most
   * every 100 ms of the run's time (so at most ten times a second,
   * whatever the rate of items), and once more when the run ends (with
   * `running` false in @metrics), before the result is returned. A
   * progress bar or a status line connects to this signal and needs no
   * code in the dataflow.
   */
  signals[SIGNAL_PROGRESS] =
    g_signal_new ("progress",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_VARIANT);
}

static void
flow_runner_init (FlowRunner *self)
{
  self->snapshot_interval = DEFAULT_SNAPSHOT_INTERVAL;
  self->backup_interval = 0.0;
  self->workers = 1;
  self->processes = 1;
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
 * Sets [property@Flow.Runner:workers]. It is used by the next run.
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
 * flow_runner_get_process_id:
 * @self: a runner
 *
 * Gets [property@Flow.Runner:process-id].
 *
 * Returns: which share of the input this process reads
 */
guint
flow_runner_get_process_id (FlowRunner *self)
{
  g_return_val_if_fail (FLOW_IS_RUNNER (self), 0);

  return self->process_id;
}

/**
 * flow_runner_set_process_id:
 * @self: a runner
 * @process_id: which share of the input this process reads
 *
 * Sets [property@Flow.Runner:process-id].
 */
void
flow_runner_set_process_id (FlowRunner *self,
                            guint       process_id)
{
  g_return_if_fail (FLOW_IS_RUNNER (self));

  if (self->process_id != process_id)
    {
      self->process_id = process_id;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROCESS_ID]);
    }
}

/**
 * flow_runner_get_processes:
 * @self: a runner
 *
 * Gets [property@Flow.Runner:processes].
 *
 * Returns: how many processes share the input
 */
guint
flow_runner_get_processes (FlowRunner *self)
{
  g_return_val_if_fail (FLOW_IS_RUNNER (self), 1);

  return self->processes;
}

/**
 * flow_runner_set_processes:
 * @self: a runner
 * @processes: how many processes share the input, at least 1
 *
 * Sets [property@Flow.Runner:processes].
 */
void
flow_runner_set_processes (FlowRunner *self,
                           guint       processes)
{
  g_return_if_fail (FLOW_IS_RUNNER (self));
  g_return_if_fail (processes >= 1);

  if (self->processes != processes)
    {
      self->processes = processes;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROCESSES]);
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

  return self->exec != NULL;
}

/**
 * flow_runner_get_metrics:
 * @self: a runner
 *
 * Gets the figures of the current run, or of the last run once it ended,
 * at any moment (also from a handler of [signal@Flow.Runner::progress],
 * which passes the same figures). The result is a dictionary (`a{sv}`):
 *
 * - `dataflow` (`s`): the dataflow's id
 * - `running` (`b`): whether the run is in progress
 * - `epoch` (`t`): the open epoch (after a run: the one after the last
 *   that closed)
 * - `resume_epoch` (`t`): the epoch the run resumed from (0: a fresh start)
 * - `epochs_closed` (`t`): the epochs closed in this run
 * - `run_time_us` (`x`): how long the run has been going, in microseconds
 * - `items_read` (`a{st}`): the items read from each input partition,
 *   keyed `"step_id/partition"` (the step's full id, a `/`, the
 *   partition's key)
 * - `items_written` (`a{st}`): the items written to each output
 *   partition, keyed the same way
 * - `recovery` (`b`): whether the run snapshots into a recovery directory
 * - `commits_in_flight` (`u`): snapshot commits being written (0 or 1)
 * - `last_commit_epoch` (`t`): the epoch of the last commit of this run
 *   that completed (0: none yet)
 * - `last_commit_duration_us` (`x`): how long it took, from the epoch's
 *   close until it was durable, in microseconds
 * - `last_commit_rows` (`t`): how many rows (keys, partitions) it wrote
 * - `steps` (`a{sa{st}}`): the counters of each step, keyed by its full
 *   id: `items_in`, `items_out` (0 for an output step), `batches`,
 *   `time_us` (the time spent processing its batches, on the system's
 *   monotonic clock, excluding the steps downstream) and, for stateful
 *   steps only, `keys` (the keys it holds a state for; with recovery, keys
 *   discarded in the open epoch count until its snapshot)
 *
 * Before the first run the dictionary is empty but for `running` (false).
 * Keys may be added in later versions; none is removed.
 *
 * Returns: (transfer full): the figures, an `a{sv}`
 */
GVariant *
flow_runner_get_metrics (FlowRunner *self)
{
  g_return_val_if_fail (FLOW_IS_RUNNER (self), NULL);

  if (self->exec != NULL)
    return g_variant_ref_sink (flow_exec_dup_metrics (self->exec));
  if (self->metrics != NULL)
    return g_variant_ref (self->metrics);
  return g_variant_ref_sink (g_variant_new_parsed ("@a{sv} {'running': <false>}"));
}

/**
 * flow_runner_get_metrics_address:
 * @self: a runner
 *
 * Gets [property@Flow.Runner:metrics-address].
 *
 * Returns: (nullable): the address the metrics are served at, or %NULL
 */
const char *
flow_runner_get_metrics_address (FlowRunner *self)
{
  g_return_val_if_fail (FLOW_IS_RUNNER (self), NULL);

  return self->metrics_address;
}

/**
 * flow_runner_set_metrics_address:
 * @self: a runner
 * @address: (nullable): `HOST:PORT` to serve the metrics at, or %NULL for
 *   none
 *
 * Sets [property@Flow.Runner:metrics-address]. It is used by the next run.
 */
void
flow_runner_set_metrics_address (FlowRunner *self,
                                 const char *address)
{
  g_return_if_fail (FLOW_IS_RUNNER (self));

  if (g_strcmp0 (self->metrics_address, address) != 0)
    {
      g_free (self->metrics_address);
      self->metrics_address = g_strdup (address);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_METRICS_ADDRESS]);
    }
}

/**
 * flow_runner_get_metrics_port:
 * @self: a runner
 *
 * Gets [property@Flow.Runner:metrics-port].
 *
 * Returns: the port the metrics are (or were last) served on, 0 for none
 */
guint
flow_runner_get_metrics_port (FlowRunner *self)
{
  g_return_val_if_fail (FLOW_IS_RUNNER (self), 0);

  return self->metrics_port;
}

static char *
metrics_text_cb (gpointer user_data)
{
  return flow_exec_dup_prometheus (user_data);
}

static void
runner_config (FlowRunner     *self,
               FlowExecConfig *config)
{
  config->recovery_directory = self->recovery_directory;
  config->snapshot_interval = self->snapshot_interval;
  config->backup_interval = self->backup_interval;
  config->workers = self->workers;
  config->process_id = self->process_id;
  config->processes = self->processes;
  config->clock = self->clock;
}

/**
 * flow_runner_set_test_clock:
 * @self: a runner
 * @clock: (nullable): a test clock, or %NULL for the system's clock
 *
 * Makes the runs of @self use @clock: every time a run reads (epoch
 * closes, input back-off and [method@Flow.SourcePartition.next_awake],
 * collect deadlines, the time recorded with a commit) comes from it, and
 * whenever the run has nothing to do but wait, the clock jumps to the next
 * time something is due. See [class@Flow.TestClock]. Not while running.
 */
void
flow_runner_set_test_clock (FlowRunner    *self,
                            FlowTestClock *clock)
{
  g_return_if_fail (FLOW_IS_RUNNER (self));
  g_return_if_fail (clock == NULL || FLOW_IS_TEST_CLOCK (clock));
  g_return_if_fail (self->exec == NULL);

  if (!g_set_object (&self->test_clock, clock))
    return;
  flow_runner_set_clock (self, clock != NULL ? flow_test_clock_get_clock (clock) : NULL);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TEST_CLOCK]);
}

/**
 * flow_runner_get_test_clock:
 * @self: a runner
 *
 * Gets [property@Flow.Runner:test-clock].
 *
 * Returns: (transfer none) (nullable): the test clock, or %NULL
 */
FlowTestClock *
flow_runner_get_test_clock (FlowRunner *self)
{
  g_return_val_if_fail (FLOW_IS_RUNNER (self), NULL);

  return self->test_clock;
}

/* flow-runner-private.h: tests run with a test clock. */
void
flow_runner_set_clock (FlowRunner *self,
                       FlowClock  *clock)
{
  g_return_if_fail (FLOW_IS_RUNNER (self));
  g_return_if_fail (self->exec == NULL);

  if (clock != NULL)
    flow_clock_ref (clock);
  g_clear_pointer (&self->clock, flow_clock_unref);
  self->clock = clock;
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
 * resumed run replays it. A commit already in flight completes first, so
 * the recovery partitions keep a consistent last epoch. @callback is then
 * called as for any other end, and [method@Flow.Runner.run_finish] fails
 * with %G_IO_ERROR_CANCELLED (check it with g_error_matches(), or
 * `e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)` in Python),
 * which an application shows as "cancelled" rather than as a failure. A
 * @cancellable that is already cancelled fails the same way, before
 * anything runs.
 *
 * While the run goes on, [signal@Flow.Runner::progress],
 * [signal@Flow.Runner::epoch-closed] and
 * [signal@Flow.Runner::snapshot-committed] are emitted on that context,
 * and [method@Flow.Runner.get_metrics] may be called at any moment.
 */
void
flow_runner_run_async (FlowRunner          *self,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GMainContext) context = NULL;
  GError *error = NULL;
  FlowExecConfig config;
  FlowExec *exec;

  g_return_if_fail (FLOW_IS_RUNNER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, flow_runner_run_async);
  g_task_set_name (task, "[libflow] run");

  if (g_task_return_error_if_cancelled (task))
    return;

  if (self->exec != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               "dataflow '%s' is already running on this runner",
                               flow_dataflow_get_id (self->dataflow));
      return;
    }

  runner_config (self, &config);
  context = g_main_context_ref_thread_default ();
  exec = flow_exec_new (self->dataflow, &config, context, &exec_callbacks, self);
  /* The endpoint lives as long as the run (freed in exec_finished()). */
  if (self->metrics_address != NULL)
    {
      self->metrics_server = flow_metrics_server_new (self->metrics_address, metrics_text_cb,
                                                      exec, &error);
      if (self->metrics_server == NULL)
        {
          g_prefix_error (&error, "dataflow '%s': ", flow_dataflow_get_id (self->dataflow));
          flow_exec_unref (exec);
          g_task_return_error (task, error);
          return;
        }
      self->metrics_port = flow_metrics_server_get_port (self->metrics_server);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_METRICS_PORT]);
    }
  if (!flow_exec_start (exec, &config, cancellable, &error))
    {
      g_clear_pointer (&self->metrics_server, flow_metrics_server_free);
      flow_exec_unref (exec);
      g_task_return_error (task, error);
      return;
    }

  /* Until exec_finished(). */
  self->exec = exec;
  self->task = g_steal_pointer (&task);
  g_object_ref (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  flow_binding_begin_run ();
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
 *   (and, with recovery, committed); %FALSE with @error set otherwise:
 *   %G_IO_ERROR_CANCELLED if the cancellable given to
 *   [method@Flow.Runner.run_async] was cancelled, %G_IO_ERROR_PENDING if the
 *   runner was already running, or the error that stopped the run (a
 *   #FlowError naming the step, and the key where there is one)
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
  /* What the metrics endpoint left pending ends (cancelled) on it. */
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);

  ok = flow_runner_run_finish (self, data.result, error);
  g_object_unref (data.result);
  return ok;
}

gboolean
flow_runner_run_with_test_clock (FlowRunner    *self,
                                 FlowClock     *clock,
                                 GCancellable  *cancellable,
                                 GError       **error)
{
  gboolean ok;

  g_return_val_if_fail (FLOW_IS_RUNNER (self), FALSE);
  g_return_val_if_fail (flow_clock_is_test (clock), FALSE);

  /* The execution moves a test clock when the run waits for time. */
  flow_runner_set_clock (self, clock);
  ok = flow_runner_run (self, cancellable, error);
  flow_runner_set_clock (self, NULL);
  return ok;
}

typedef struct
{
  char     *recovery;
  char     *metrics_address;
  double    snapshot;
  double    backup;
  int       workers;
  gint64    process_id;
  gint64    processes;
  gboolean  has_process_id;
  gboolean  has_processes;
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

  if (g_str_equal (name, "--process-id") || g_str_equal (name, "--processes"))
    {
      gint64 n;

      if (!g_ascii_string_to_signed (value, 10, G_MININT, G_MAXINT, &n, NULL))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "Cannot parse integer value “%s” for %s", value, name);
          return FALSE;
        }
      if (g_str_equal (name, "--process-id"))
        o->process_id = n, o->has_process_id = TRUE;
      else
        o->processes = n, o->has_processes = TRUE;
      return TRUE;
    }
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

/* The standard options: what GOptionContext parses and what --help
 * prints both come from these entries. */
static const GOptionEntry option_entries[] = {
  { "recovery-directory", 'r', 0, G_OPTION_ARG_FILENAME, NULL,
    "Resume from and snapshot into the recovery partitions in DIR "
    "(see flow-recovery init)", "DIR" },
  { "snapshot-interval", 's', 0, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
    "Close an epoch (and snapshot it) every SECONDS; fractional; default 10", "SECONDS" },
  { "backup-interval", 'b', 0, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
    "Keep older snapshots for SECONDS; default 0", "SECONDS" },
  { "workers", 'w', 0, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
    "Number of workers; default 1", "N" },
  { "metrics-address", 0, 0, G_OPTION_ARG_STRING, NULL,
    "Serve the run's metrics (Prometheus text format) at http://HOST:PORT/metrics; "
    "PORT 0 picks a free port", "HOST:PORT" },
  { "process-id", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
    "Read share I of the input partitions (0 to N-1); default 0", "I" },
  { "processes", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
    "Share the input partitions among N processes; default 1", "N" },
  G_OPTION_ENTRY_NULL
};

static GOptionContext *
options_context (Options *o)
{
  GOptionEntry entries[G_N_ELEMENTS (option_entries)];
  GOptionContext *context;
  GOptionGroup *group;

  memset (o, 0, sizeof *o);
  memcpy (entries, option_entries, sizeof entries);
  entries[0].arg_data = &o->recovery;
  entries[4].arg_data = &o->metrics_address;
  context = g_option_context_new (NULL);
  g_option_context_set_help_enabled (context, FALSE);
  group = g_option_group_new (NULL, NULL, NULL, o, NULL);
  g_option_group_add_entries (group, entries);
  g_option_context_set_main_group (context, group);
  return context;
}

/* "Options:" and one line (or more, wrapped) per entry, and --help. */
static char *
options_help (void)
{
  GString *help = g_string_new ("Options:\n");
  const guint width = 34, line = 80;

  for (guint i = 0; i <= G_N_ELEMENTS (option_entries) - 1; i++)
    {
      const GOptionEntry *e = &option_entries[i];
      g_autofree char *left = NULL;
      g_auto(GStrv) words = NULL;
      guint col;

      if (e->long_name == NULL)
        left = g_strdup ("  -h, --help");
      else if (e->short_name == 0)
        left = g_strdup_printf ("      --%s %s", e->long_name, e->arg_description);
      else
        left = g_strdup_printf ("  -%c, --%s %s", e->short_name, e->long_name, e->arg_description);
      g_string_append (help, left);
      col = strlen (left);
      if (col + 1 > width)
        {
          g_string_append_c (help, '\n');
          col = 0;
        }
      words = g_strsplit (e->long_name == NULL ? "Show this help" : e->description, " ", -1);
      for (guint w = 0; words[w] != NULL; w++)
        {
          if (col > width && col + 1 + strlen (words[w]) > line)
            {
              g_string_append_c (help, '\n');
              col = 0;
            }
          if (col < width)
            {
              g_string_append_printf (help, "%*s", (int) (width - col), "");
              col = width;
            }
          else
            {
              g_string_append_c (help, ' ');
              col++;
            }
          g_string_append (help, words[w]);
          col += strlen (words[w]);
        }
      g_string_append_c (help, '\n');
    }
  return g_string_free (help, FALSE);
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

  if (o->has_processes && o->processes < 1)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "the number of processes must be at least 1, not %" G_GINT64_FORMAT, o->processes);
      return FALSE;
    }
  if (o->has_process_id &&
      (o->process_id < 0 || o->process_id >= (o->has_processes ? o->processes : 1)))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "the process id must be from 0 to the number of processes - 1 (%" G_GINT64_FORMAT
                   "), not %" G_GINT64_FORMAT, (o->has_processes ? o->processes : 1) - 1, o->process_id);
      return FALSE;
    }

  if (o->recovery != NULL)
    flow_runner_set_recovery_directory (self, o->recovery);
  if (o->has_processes)
    flow_runner_set_processes (self, (guint) o->processes);
  if (o->has_process_id)
    flow_runner_set_process_id (self, (guint) o->process_id);
  if (o->metrics_address != NULL)
    flow_runner_set_metrics_address (self, o->metrics_address);
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
 * - `--metrics-address HOST:PORT`: [property@Flow.Runner:metrics-address]
 * - `--process-id I`, `--processes N`: [property@Flow.Runner:process-id]
 *   and [property@Flow.Runner:processes]
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
  g_free (o.metrics_address);
  return ok;
}

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
        g_autofree char *help = options_help ();

        g_print ("Usage:\n  %s [OPTION…]\n\nRuns the dataflow '%s'.\n\n%s",
                 base, flow_dataflow_get_id (self->dataflow), help);
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
