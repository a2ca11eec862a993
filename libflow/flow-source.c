/* flow-source.c: partitioned input connectors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "flow-private.h"

/**
 * FlowSourcePartition:
 *
 * One partition of a [class@Flow.Source]: an independent, resumable part of
 * the input, read batch by batch.
 *
 * Subclasses implement [vfunc@Flow.SourcePartition.next_batch], and, when
 * they can resume, [vfunc@Flow.SourcePartition.snapshot]; the state it
 * returns is handed to [vfunc@Flow.Source.build_part] on the next run. In
 * Python, override `do_next_batch`; in GJS, `vfunc_next_batch`; in Vala,
 * `override`.
 *
 * A batch is an array #GVariant: each element is one item, and the
 * elements of an `av` array are unboxed, so a batch of mixed items is
 * `new GLib.Variant('av', [...])` in JavaScript. (Returning an array
 * variant rather than a #GPtrArray is what lets every binding implement
 * this method.)
 */

typedef struct
{
  FlowSourceFastFunc fast_path;
} FlowSourcePartitionPrivate;

G_DEFINE_TYPE_WITH_PRIVATE (FlowSourcePartition, flow_source_partition, G_TYPE_OBJECT)

static GVariant *
flow_source_partition_real_next_batch (FlowSourcePartition  *self,
                                       GError              **error)
{
  g_set_error (error, FLOW_ERROR, FLOW_ERROR_NOT_SUPPORTED,
               "%s does not implement next_batch()", G_OBJECT_TYPE_NAME (self));
  return NULL;
}

static gint64
flow_source_partition_real_next_awake (FlowSourcePartition *self)
{
  return 0;
}

static GVariant *
flow_source_partition_real_snapshot (FlowSourcePartition  *self,
                                     GError              **error)
{
  return NULL;
}

static gboolean
flow_source_partition_real_close (FlowSourcePartition  *self,
                                  GError              **error)
{
  return TRUE;
}

static void
flow_source_partition_class_init (FlowSourcePartitionClass *klass)
{
  klass->next_batch = flow_source_partition_real_next_batch;
  klass->next_awake = flow_source_partition_real_next_awake;
  klass->snapshot = flow_source_partition_real_snapshot;
  klass->close = flow_source_partition_real_close;
}

static void
flow_source_partition_init (FlowSourcePartition *self)
{
}

void
flow_source_partition_set_fast_path (FlowSourcePartition *self,
                                     FlowSourceFastFunc   func)
{
  FlowSourcePartitionPrivate *priv = flow_source_partition_get_instance_private (self);

  priv->fast_path = func;
}

FlowSourceFastFunc
flow_source_partition_get_fast_path (FlowSourcePartition *self)
{
  FlowSourcePartitionPrivate *priv = flow_source_partition_get_instance_private (self);

  return priv->fast_path;
}

/**
 * flow_source_partition_next_batch: (virtual next_batch)
 * @self: a source partition
 * @error: return location for a #GError
 *
 * Reads the next batch of items. An empty array means nothing is available
 * now: the runner asks again at [method@Flow.SourcePartition.next_awake]
 * (or after a short back-off, so an idle source does not spin).
 *
 * Returns: (transfer full) (nullable): an array of items, or %NULL at the
 *   end of the input of this partition (or on error, with @error set)
 */
GVariant *
flow_source_partition_next_batch (FlowSourcePartition  *self,
                                  GError              **error)
{
  g_return_val_if_fail (FLOW_IS_SOURCE_PARTITION (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return flow_binding_invoke_pointer ((FlowBindingPointerFunc) FLOW_SOURCE_PARTITION_GET_CLASS (self)->next_batch, self, error);
}

/**
 * flow_source_partition_next_awake: (virtual next_awake)
 * @self: a source partition
 *
 * Says when [method@Flow.SourcePartition.next_batch] should be called
 * next. Called after each batch.
 *
 * Returns: a time on the clock of [func@Flow.get_monotonic_time] (the
 *   run's: g_get_monotonic_time() unless the runner has a
 *   [class@Flow.TestClock]), in microseconds; 0 (the default) or any past
 *   time means as soon as possible
 */
gint64
flow_source_partition_next_awake (FlowSourcePartition *self)
{
  g_return_val_if_fail (FLOW_IS_SOURCE_PARTITION (self), 0);

  return flow_binding_invoke_int64 ((FlowBindingInt64Func) FLOW_SOURCE_PARTITION_GET_CLASS (self)->next_awake, self);
}

/**
 * flow_source_partition_snapshot: (virtual snapshot)
 * @self: a source partition
 * @error: return location for a #GError
 *
 * Returns the state from which [vfunc@Flow.Source.build_part] can resume
 * the partition just after the last item it returned. Called at the end of
 * each epoch when recovery is on. The default returns %NULL: the partition
 * restarts from its beginning.
 *
 * Returns: (transfer full) (nullable): the resume state, or %NULL for none
 *   (or on error, with @error set)
 */
GVariant *
flow_source_partition_snapshot (FlowSourcePartition  *self,
                                GError              **error)
{
  g_return_val_if_fail (FLOW_IS_SOURCE_PARTITION (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return flow_binding_invoke_pointer ((FlowBindingPointerFunc) FLOW_SOURCE_PARTITION_GET_CLASS (self)->snapshot, self, error);
}

/**
 * flow_source_partition_close: (virtual close)
 * @self: a source partition
 * @error: return location for a #GError
 *
 * Releases what the partition holds (files, connections). Called once, at
 * the end of a run, whether it succeeded or not.
 *
 * Returns: %TRUE, or %FALSE with @error set
 */
gboolean
flow_source_partition_close (FlowSourcePartition  *self,
                             GError              **error)
{
  g_return_val_if_fail (FLOW_IS_SOURCE_PARTITION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return flow_binding_invoke_boolean ((FlowBindingBooleanFunc) FLOW_SOURCE_PARTITION_GET_CLASS (self)->close, self, error);
}

/**
 * FlowSource:
 *
 * An input connector: a fixed set of named partitions, each read by a
 * [class@Flow.SourcePartition]. Like Bytewax's `FixedPartitionedSource`.
 *
 * Subclasses implement [vfunc@Flow.Source.build_part] and, for more than
 * one partition, [vfunc@Flow.Source.list_parts].
 */

G_DEFINE_TYPE (FlowSource, flow_source, G_TYPE_OBJECT)

static char **
flow_source_real_list_parts (FlowSource  *self,
                              GError     **error)
{
  char *parts[] = { (char *) "0", NULL };

  return g_strdupv (parts);
}

static FlowSourcePartition *
flow_source_real_build_part (FlowSource  *self,
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
flow_source_class_init (FlowSourceClass *klass)
{
  klass->list_parts = flow_source_real_list_parts;
  klass->build_part = flow_source_real_build_part;
}

static void
flow_source_init (FlowSource *self)
{
}

/**
 * flow_source_list_parts: (virtual list_parts)
 * @self: a source
 * @error: return location for a #GError
 *
 * Lists the keys of the partitions of the source. The keys must be the
 * same on every run: resume states are stored by them. The default is one
 * partition, `"0"`.
 *
 * Returns: (transfer full) (array zero-terminated=1): the partition keys,
 *   or %NULL with @error set
 */
char **
flow_source_list_parts (FlowSource  *self,
                        GError     **error)
{
  g_return_val_if_fail (FLOW_IS_SOURCE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return flow_binding_invoke_pointer ((FlowBindingPointerFunc) FLOW_SOURCE_GET_CLASS (self)->list_parts, self, error);
}

/**
 * flow_source_build_part: (virtual build_part)
 * @self: a source
 * @step_id: the full id of the input step
 * @part_key: the key of the partition to build
 * @resume_state: (nullable): the state the partition last snapshotted, or
 *   %NULL to start from the beginning
 * @error: return location for a #GError
 *
 * Builds (opens) a partition.
 *
 * Returns: (transfer full): the partition, or %NULL with @error set
 */
FlowSourcePartition *
flow_source_build_part (FlowSource  *self,
                        const char  *step_id,
                        const char  *part_key,
                        GVariant    *resume_state,
                        GError     **error)
{
  g_return_val_if_fail (FLOW_IS_SOURCE (self), NULL);
  g_return_val_if_fail (step_id != NULL, NULL);
  g_return_val_if_fail (part_key != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return flow_binding_invoke_build ((FlowBindingBuildFunc) FLOW_SOURCE_GET_CLASS (self)->build_part, self, step_id, part_key, resume_state, error);
}

/**
 * flow_source_is_dynamic:
 * @self: a source
 *
 * Whether @self is a dynamic source: whether its class implements
 * [vfunc@Flow.Source.build_worker_part].
 *
 * Returns: %TRUE for a dynamic source
 */
gboolean
flow_source_is_dynamic (FlowSource *self)
{
  g_return_val_if_fail (FLOW_IS_SOURCE (self), FALSE);

  return FLOW_SOURCE_GET_CLASS (self)->build_worker_part != NULL;
}

/**
 * flow_source_build_worker_part: (virtual build_worker_part)
 * @self: a dynamic source
 * @step_id: the full id of the input step
 * @worker_index: the index of the worker, 0 … @worker_count - 1
 * @worker_count: the number of workers
 * @error: return location for a #GError
 *
 * Builds the partition of worker @worker_index (of @worker_count) of a
 * dynamic source: the runner calls it once per worker, on the caller's
 * thread before the workers start, instead of
 * [vfunc@Flow.Source.list_parts] and [vfunc@Flow.Source.build_part]. Each
 * worker reads its own partition, which reads what it likes (Bytewax's
 * `DynamicSource`): a share of the input chosen by the index, or
 * everything on each worker. A dynamic source has no resume state: after
 * a resume its partitions start afresh (what a partition's
 * [vfunc@Flow.SourcePartition.snapshot] returns is not kept).
 *
 * With `--process-id I --processes P` and W workers per process, the
 * index is the worker's index among all the P × W workers (`I × W` plus
 * the index in the process) and the count is P × W.
 *
 * Returns: (transfer full): the worker's partition, or %NULL with @error
 *   set
 */
FlowSourcePartition *
flow_source_build_worker_part (FlowSource  *self,
                            const char  *step_id,
                            guint        worker_index,
                            guint        worker_count,
                            GError     **error)
{
  FlowSourceClass *klass;

  g_return_val_if_fail (FLOW_IS_SOURCE (self), NULL);
  g_return_val_if_fail (step_id != NULL, NULL);
  g_return_val_if_fail (worker_index < worker_count, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  klass = FLOW_SOURCE_GET_CLASS (self);
  if (klass->build_worker_part == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_NOT_SUPPORTED,
                   "%s is not a dynamic source: it does not implement build_worker_part()",
                   G_OBJECT_TYPE_NAME (self));
      return NULL;
    }
  return flow_binding_invoke_build_worker ((FlowBindingBuildWorkerFunc) klass->build_worker_part,
                                           self, step_id, worker_index, worker_count, error);
}
