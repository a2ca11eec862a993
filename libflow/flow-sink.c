/* flow-sink.c: partitioned output connectors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "flow-private.h"

/**
 * FlowSinkPartition:
 *
 * One partition of a [class@Flow.Sink]: it writes the items routed to it.
 *
 * Subclasses implement [vfunc@Flow.SinkPartition.write_batch] and, to be
 * resumable, [vfunc@Flow.SinkPartition.snapshot]. A snapshot is taken at
 * the end of each epoch; the epoch is committed only after it returned, so
 * a sink that makes its output durable there and can roll back to the
 * snapshot on resume (as [class@Flow.FileSink] does) is exactly-once.
 *
 * Making output durable (fdatasync()) can take long on a slow disk. A
 * partition that implements [vfunc@Flow.SinkPartition.sync] does that
 * there instead of in its snapshot: with recovery on, libflow calls it
 * from the recovery writer thread after the snapshot and before the epoch
 * is committed, so the main loop does not wait for the disk.
 */

typedef struct
{
  FlowSinkFastFunc fast_path;
  FlowBindingWriteFunc binding_write;  /* issue 12: see below */
} FlowSinkPartitionPrivate;

G_DEFINE_TYPE_WITH_PRIVATE (FlowSinkPartition, flow_sink_partition, G_TYPE_OBJECT)

static gboolean
flow_sink_partition_real_write_batch (FlowSinkPartition  *self,
                                      GPtrArray          *items,
                                      GError            **error)
{
  g_set_error (error, FLOW_ERROR, FLOW_ERROR_NOT_SUPPORTED,
               "%s does not implement write_batch()", G_OBJECT_TYPE_NAME (self));
  return FALSE;
}

static GVariant *
flow_sink_partition_real_snapshot (FlowSinkPartition  *self,
                                   GError            **error)
{
  return NULL;
}

static gboolean
flow_sink_partition_real_close (FlowSinkPartition  *self,
                                GError            **error)
{
  return TRUE;
}

static gboolean
flow_sink_partition_real_commit (FlowSinkPartition  *self,
                                 guint64             epoch,
                                 GError            **error)
{
  return TRUE;
}

static gboolean
flow_sink_partition_real_sync (FlowSinkPartition  *self,
                               GError            **error)
{
  return TRUE;
}

static void
flow_sink_partition_class_init (FlowSinkPartitionClass *klass)
{
  klass->write_batch = flow_sink_partition_real_write_batch;
  klass->snapshot = flow_sink_partition_real_snapshot;
  klass->close = flow_sink_partition_real_close;
  klass->commit = flow_sink_partition_real_commit;
  klass->sync = flow_sink_partition_real_sync;
}

static void
flow_sink_partition_init (FlowSinkPartition *self)
{
}

void
flow_sink_partition_set_fast_path (FlowSinkPartition *self,
                                   FlowSinkFastFunc   func)
{
  FlowSinkPartitionPrivate *priv = flow_sink_partition_get_instance_private (self);

  priv->fast_path = func;
}

FlowSinkFastFunc
flow_sink_partition_get_fast_path (FlowSinkPartition *self)
{
  FlowSinkPartitionPrivate *priv = flow_sink_partition_get_instance_private (self);

  return priv->fast_path;
}

/**
 * flow_sink_partition_write_batch: (virtual write_batch)
 * @self: a sink partition
 * @items: (element-type GVariant): the items to write, in order
 * @error: return location for a #GError
 *
 * Writes a batch of items.
 *
 * Returns: %TRUE, or %FALSE with @error set
 */
gboolean
flow_sink_partition_write_batch (FlowSinkPartition  *self,
                                 GPtrArray          *items,
                                 GError            **error)
{
  g_return_val_if_fail (FLOW_IS_SINK_PARTITION (self), FALSE);
  g_return_val_if_fail (items != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return flow_binding_invoke_boolean_arg ((FlowBindingBooleanArgFunc) FLOW_SINK_PARTITION_GET_CLASS (self)->write_batch, self, items, error);
}

/**
 * flow_sink_partition_snapshot: (virtual snapshot)
 * @self: a sink partition
 * @error: return location for a #GError
 *
 * Flushes what was written so far and returns the state to resume the
 * partition from. The default returns %NULL (a stateless sink).
 *
 * Returns: (transfer full) (nullable): the resume state, or %NULL (or on
 *   error, with @error set)
 */
GVariant *
flow_sink_partition_snapshot (FlowSinkPartition  *self,
                              GError            **error)
{
  g_return_val_if_fail (FLOW_IS_SINK_PARTITION (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return flow_binding_invoke_pointer ((FlowBindingPointerFunc) FLOW_SINK_PARTITION_GET_CLASS (self)->snapshot, self, error);
}

/**
 * flow_sink_partition_close: (virtual close)
 * @self: a sink partition
 * @error: return location for a #GError
 *
 * Flushes and releases what the partition holds. Called once, at the end
 * of a run.
 *
 * Returns: %TRUE, or %FALSE with @error set
 */
gboolean
flow_sink_partition_close (FlowSinkPartition  *self,
                           GError            **error)
{
  g_return_val_if_fail (FLOW_IS_SINK_PARTITION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return flow_binding_invoke_boolean ((FlowBindingBooleanFunc) FLOW_SINK_PARTITION_GET_CLASS (self)->close, self, error);
}

/**
 * flow_sink_partition_commit: (virtual commit)
 * @self: a sink partition
 * @epoch: the epoch whose snapshots are now durable
 * @error: return location for a #GError
 *
 * Tells the partition that the recovery store committed @epoch: the
 * snapshot it returned for that epoch will be what a resumed run starts
 * from. A sink that prepares an epoch's output in its snapshot (a
 * transaction) makes it visible here; an error stops the run, and the
 * resumed run gets that snapshot to finish the work from. Called once per
 * epoch, in order, after [method@Flow.SinkPartition.snapshot] and before
 * the next epoch's snapshot; without recovery, right after the snapshot.
 * The default does nothing.
 *
 * Returns: %TRUE, or %FALSE with @error set
 */
gboolean
flow_sink_partition_commit (FlowSinkPartition  *self,
                            guint64             epoch,
                            GError            **error)
{
  g_return_val_if_fail (FLOW_IS_SINK_PARTITION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return flow_binding_invoke_boolean_uint64 ((FlowBindingBooleanUint64Func) FLOW_SINK_PARTITION_GET_CLASS (self)->commit,
                                             self, epoch, error);
}

/**
 * FlowSink:
 *
 * An output connector: a fixed set of named partitions, each written by a
 * [class@Flow.SinkPartition]. Like Bytewax's `FixedPartitionedSink`; a
 * keyed item goes to the partition its key hashes to, other items to the
 * first partition.
 */

G_DEFINE_TYPE (FlowSink, flow_sink, G_TYPE_OBJECT)

static char **
flow_sink_real_list_parts (FlowSink  *self,
                              GError     **error)
{
  char *parts[] = { (char *) "0", NULL };

  return g_strdupv (parts);
}

static FlowSinkPartition *
flow_sink_real_build_part (FlowSink    *self,
                           const char  *step_id,
                           const char  *part_key,
                           GVariant    *resume_state,
                           GError     **error)
{
  g_set_error (error, FLOW_ERROR, FLOW_ERROR_NOT_SUPPORTED,
               "%s does not implement build_part()", G_OBJECT_TYPE_NAME (self));
  return NULL;
}

static void
flow_sink_class_init (FlowSinkClass *klass)
{
  klass->list_parts = flow_sink_real_list_parts;
  klass->build_part = flow_sink_real_build_part;
}

static void
flow_sink_init (FlowSink *self)
{
}

/**
 * flow_sink_list_parts: (virtual list_parts)
 * @self: a sink
 * @error: return location for a #GError
 *
 * Lists the keys of the partitions of the sink. The default is one
 * partition, `"0"`.
 *
 * Returns: (transfer full) (array zero-terminated=1): the partition keys,
 *   or %NULL with @error set
 */
char **
flow_sink_list_parts (FlowSink  *self,
                        GError     **error)
{
  g_return_val_if_fail (FLOW_IS_SINK (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return flow_binding_invoke_pointer ((FlowBindingPointerFunc) FLOW_SINK_GET_CLASS (self)->list_parts, self, error);
}

/**
 * flow_sink_build_part: (virtual build_part)
 * @self: a sink
 * @step_id: the full id of the output step
 * @part_key: the key of the partition to build
 * @resume_state: (nullable): the state the partition last snapshotted, or
 *   %NULL for a fresh start
 * @error: return location for a #GError
 *
 * Builds (opens) a partition.
 *
 * Returns: (transfer full): the partition, or %NULL with @error set
 */
FlowSinkPartition *
flow_sink_build_part (FlowSink    *self,
                      const char  *step_id,
                      const char  *part_key,
                      GVariant    *resume_state,
                      GError     **error)
{
  g_return_val_if_fail (FLOW_IS_SINK (self), NULL);
  g_return_val_if_fail (step_id != NULL, NULL);
  g_return_val_if_fail (part_key != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return flow_binding_invoke_build ((FlowBindingBuildFunc) FLOW_SINK_GET_CLASS (self)->build_part, self, step_id, part_key, resume_state, error);
}

/**
 * flow_sink_partition_sync: (virtual sync)
 * @self: a sink partition
 * @error: return location for a #GError
 *
 * Makes durable everything the last [method@Flow.SinkPartition.snapshot]
 * covers (for a file, fdatasync()). The default does nothing: a partition
 * that does not implement it makes its output durable in its snapshot.
 *
 * With recovery on, libflow calls it after the snapshot of each epoch and
 * before committing the epoch, **from the recovery writer thread**, while
 * the main thread may go on calling [method@Flow.SinkPartition.write_batch]
 * and, at the end of the run, [method@Flow.SinkPartition.close]: an
 * implementation must be safe against both (a partition written in a
 * language whose runtime is single-threaded, such as GJS, must not
 * implement it). A failure fails the commit, and so the run. Code that
 * drives a partition by hand calls it after each snapshot it keeps.
 *
 * Returns: %TRUE, or %FALSE with @error set
 */
gboolean
flow_sink_partition_sync (FlowSinkPartition  *self,
                          GError            **error)
{
  GError *local = NULL;

  g_return_val_if_fail (FLOW_IS_SINK_PARTITION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (FLOW_SINK_PARTITION_GET_CLASS (self)->sync (self, &local))
    {
      g_clear_error (&local);
      return TRUE;
    }
  /* A failure must never pass for a success: the epoch would be committed
   * with output that is not durable. */
  if (local == NULL)
    local = g_error_new (FLOW_ERROR, FLOW_ERROR_FAILED,
                         "%s: sync() failed without saying why", G_OBJECT_TYPE_NAME (self));
  g_propagate_error (error, local);
  return FALSE;
}

/* Whether @self's class has a sync() of its own (libflow hands those to
 * the recovery writer thread). */
gboolean
flow_sink_partition_has_sync (FlowSinkPartition *self)
{
  return FLOW_SINK_PARTITION_GET_CLASS (self)->sync != flow_sink_partition_real_sync;
}

/* issue 12: a binding's write function takes the runner's own items:
 * FlowBindingItem is FlowItem seen from outside. */
G_STATIC_ASSERT (sizeof (FlowBindingItem) == sizeof (FlowItem));
G_STATIC_ASSERT (G_STRUCT_OFFSET (FlowBindingItem, key) == G_STRUCT_OFFSET (FlowItem, key));
G_STATIC_ASSERT (G_STRUCT_OFFSET (FlowBindingItem, value) == G_STRUCT_OFFSET (FlowItem, value));

static gboolean
binding_write_fast (FlowSinkPartition  *self,
                    const FlowBatch    *batch,
                    GError            **error)
{
  FlowSinkPartitionPrivate *priv = flow_sink_partition_get_instance_private (self);

  return priv->binding_write (self, (const FlowBindingItem *) batch->items, batch->len, error);
}

/**
 * flow_binding_sink_partition_set_write_func: (skip)
 * @self: a sink partition
 * @func: (nullable): the function writing its batches, or %NULL to go back
 *   to [vfunc@Flow.SinkPartition.write_batch]
 *
 * For language bindings: makes the runner hand the batches of @self to
 * @func, with keyed items split into key and value, instead of packing
 * every item into a #GVariant for [vfunc@Flow.SinkPartition.write_batch].
 * A binding converts them to its own values once (Python's
 * `do_write_batch` gets a sequence of plain values). Set it before the run
 * starts; write_batch() stays what a direct call runs.
 */
void
flow_binding_sink_partition_set_write_func (FlowSinkPartition    *self,
                                            FlowBindingWriteFunc  func)
{
  FlowSinkPartitionPrivate *priv;

  g_return_if_fail (FLOW_IS_SINK_PARTITION (self));

  priv = flow_sink_partition_get_instance_private (self);
  priv->binding_write = func;
  priv->fast_path = func != NULL ? binding_write_fast : NULL;
}

/**
 * flow_sink_is_dynamic:
 * @self: a sink
 *
 * Whether @self is a dynamic sink: whether its class implements
 * [vfunc@Flow.Sink.build_worker_part].
 *
 * Returns: %TRUE for a dynamic sink
 */
gboolean
flow_sink_is_dynamic (FlowSink *self)
{
  g_return_val_if_fail (FLOW_IS_SINK (self), FALSE);

  return FLOW_SINK_GET_CLASS (self)->build_worker_part != NULL;
}

/**
 * flow_sink_build_worker_part: (virtual build_worker_part)
 * @self: a dynamic sink
 * @step_id: the full id of the output step
 * @worker_index: the index of the worker, 0 … @worker_count - 1
 * @worker_count: the number of workers
 * @error: return location for a #GError
 *
 * Builds the partition of worker @worker_index (of @worker_count) of a
 * dynamic sink: the runner calls it once per worker, on the caller's
 * thread before the workers start, instead of [vfunc@Flow.Sink.list_parts]
 * and [vfunc@Flow.Sink.build_part]. Each worker writes the items it
 * holds to its own partition, without moving them to another worker
 * first (Bytewax's `DynamicSink`); which items a worker holds depends on
 * the steps before (after a stateful step, those of the keys it owns). A
 * dynamic sink has no resume state: its partitions start afresh after a
 * resume, and output may repeat (at-least-once); what a partition's
 * [vfunc@Flow.SinkPartition.snapshot] returns is not kept, but it is
 * still called at the end of every epoch, to flush.
 *
 * With `--process-id I --processes P` and W workers per process, the
 * index is the worker's index among all the P × W workers (`I × W` plus
 * the index in the process) and the count is P × W.
 *
 * Returns: (transfer full): the worker's partition, or %NULL with @error
 *   set
 */
FlowSinkPartition *
flow_sink_build_worker_part (FlowSink  *self,
                            const char  *step_id,
                            guint        worker_index,
                            guint        worker_count,
                            GError     **error)
{
  FlowSinkClass *klass;

  g_return_val_if_fail (FLOW_IS_SINK (self), NULL);
  g_return_val_if_fail (step_id != NULL, NULL);
  g_return_val_if_fail (worker_index < worker_count, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  klass = FLOW_SINK_GET_CLASS (self);
  if (klass->build_worker_part == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_NOT_SUPPORTED,
                   "%s is not a dynamic sink: it does not implement build_worker_part()",
                   G_OBJECT_TYPE_NAME (self));
      return NULL;
    }
  return flow_binding_invoke_build_worker ((FlowBindingBuildWorkerFunc) klass->build_worker_part,
                                           self, step_id, worker_index, worker_count, error);
}
