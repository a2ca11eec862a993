/* flow-source.h: partitioned input connectors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include <gio/gio.h>

#include "flow-types.h"

G_BEGIN_DECLS

#define FLOW_TYPE_SOURCE_PARTITION (flow_source_partition_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_DERIVABLE_TYPE (FlowSourcePartition, flow_source_partition, FLOW, SOURCE_PARTITION, GObject)

/**
 * FlowSourcePartitionClass:
 * @parent_class: the parent class
 * @next_batch: returns the next batch of items, or %NULL at the end of input
 * @next_awake: returns when @next_batch should be called next
 * @snapshot: returns the state to resume this partition from
 * @close: releases what the partition holds; called once, at the end of a run
 *
 * The virtual methods of a [class@Flow.SourcePartition]. Only @next_batch
 * must be implemented.
 *
 * - [vfunc@Flow.SourcePartition.next_batch] (required): returns the next
 *   items as an array, an empty array if none is available now, or %NULL at
 *   the end of this partition's input (or on error)
 * - [vfunc@Flow.SourcePartition.next_awake]: returns when to read again,
 *   a time in microseconds on the g_get_monotonic_time() clock; the
 *   default, 0, means as soon as possible
 * - [vfunc@Flow.SourcePartition.snapshot]: returns the state to resume the
 *   partition from, just after the last item it returned; called at each
 *   epoch's end with recovery on. The default, %NULL, restarts from the
 *   beginning
 * - [vfunc@Flow.SourcePartition.close]: releases files, connections and
 *   the like; called once at the end of a run, whether it succeeded or not.
 *   The default does nothing
 */
struct _FlowSourcePartitionClass
{
  GObjectClass parent_class;

  GVariant *(*next_batch) (FlowSourcePartition  *self,
                           GError              **error);
  gint64    (*next_awake) (FlowSourcePartition  *self);
  GVariant *(*snapshot)   (FlowSourcePartition  *self,
                           GError              **error);
  gboolean  (*close)      (FlowSourcePartition  *self,
                           GError              **error);

  /*< private >*/
  gpointer _reserved[12];
};

FLOW_AVAILABLE_IN_1_0
GVariant *flow_source_partition_next_batch (FlowSourcePartition  *self,
                                            GError              **error);
FLOW_AVAILABLE_IN_1_0
gint64    flow_source_partition_next_awake (FlowSourcePartition  *self);
FLOW_AVAILABLE_IN_1_0
GVariant *flow_source_partition_snapshot   (FlowSourcePartition  *self,
                                            GError              **error);
FLOW_AVAILABLE_IN_1_0
gboolean  flow_source_partition_close      (FlowSourcePartition  *self,
                                            GError              **error);

#define FLOW_TYPE_SOURCE (flow_source_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_DERIVABLE_TYPE (FlowSource, flow_source, FLOW, SOURCE, GObject)

/**
 * FlowSourceClass:
 * @parent_class: the parent class
 * @list_parts: returns the keys of all partitions of the source
 * @build_part: builds the partition with a given key, resuming it from its
 *   snapshot when there is one
 * @build_worker_part: builds the partition of one worker of a dynamic source
 *   (%NULL: the source is not dynamic)
 *
 * The virtual methods of a [class@Flow.Source]. @build_part (or, for a
 * dynamic source, @build_worker_part) must be implemented; by default a source has one partition, named `"0"`.
 *
 * - [vfunc@Flow.Source.list_parts]: returns the keys of the partitions,
 *   the same on every run (resume states are stored by them); the default
 *   is `"0"` alone
 * - [vfunc@Flow.Source.build_part] (required): opens the partition with a
 *   given key for the step with a given full id, resuming it from the state
 *   its last snapshot returned, or from its beginning if that is %NULL
 * - [vfunc@Flow.Source.build_worker_part]: implemented only by a *dynamic*
 *   source (Bytewax's `DynamicSource`): the runner then calls it once per
 *   worker, with the worker's index and the number of workers, instead of
 *   listing and building keyed partitions (docs/workers.md)
 */
struct _FlowSourceClass
{
  GObjectClass parent_class;

  char                 **(*list_parts) (FlowSource  *self,
                                        GError     **error);
  FlowSourcePartition  *(*build_part) (FlowSource  *self,
                                       const char  *step_id,
                                       const char  *part_key,
                                       GVariant    *resume_state,
                                       GError     **error);

  /* issue 9: a dynamic source, one partition per worker */
  FlowSourcePartition  *(*build_worker_part) (FlowSource  *self,
                                              const char  *step_id,
                                              guint        worker_index,
                                              guint        worker_count,
                                              GError     **error);

  /*< private >*/
  gpointer _reserved[11];
};

FLOW_AVAILABLE_IN_1_0
char                **flow_source_list_parts (FlowSource  *self,
                                              GError     **error);
FLOW_AVAILABLE_IN_1_0
FlowSourcePartition  *flow_source_build_part (FlowSource  *self,
                                              const char  *step_id,
                                              const char  *part_key,
                                              GVariant    *resume_state,
                                              GError     **error);

FLOW_AVAILABLE_IN_1_0
gboolean             flow_source_is_dynamic        (FlowSource *self);
FLOW_AVAILABLE_IN_1_0
FlowSourcePartition *flow_source_build_worker_part (FlowSource *self,
                                                    const char *step_id,
                                                    guint       worker_index,
                                                    guint       worker_count,
                                                    GError    **error);

G_END_DECLS
