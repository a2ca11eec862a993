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
 */

typedef struct
{
  FlowSinkFastFunc fast_path;
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

static void
flow_sink_partition_class_init (FlowSinkPartitionClass *klass)
{
  klass->write_batch = flow_sink_partition_real_write_batch;
  klass->snapshot = flow_sink_partition_real_snapshot;
  klass->close = flow_sink_partition_real_close;
  klass->commit = flow_sink_partition_real_commit;
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
