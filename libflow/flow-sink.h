/* flow-sink.h: partitioned output connectors
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

#define FLOW_TYPE_SINK_PARTITION (flow_sink_partition_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_DERIVABLE_TYPE (FlowSinkPartition, flow_sink_partition, FLOW, SINK_PARTITION, GObject)

/**
 * FlowSinkPartitionClass:
 * @parent_class: the parent class
 * @write_batch: writes a batch of items
 * @snapshot: makes what was written so far durable and returns the state to
 *   resume this partition from (%NULL for a stateless sink)
 * @close: flushes and releases what the partition holds; called once, at
 *   the end of a run
 * @commit: called once the snapshot of an epoch is durable (the second
 *   phase of a two-phase commit)
 * @sync: makes durable, from another thread, what the last snapshot
 *   covers (see [vfunc@Flow.SinkPartition.sync])
 *
 * The virtual methods of a [class@Flow.SinkPartition]. Only @write_batch
 * must be implemented.
 *
 * - [vfunc@Flow.SinkPartition.write_batch] (required): writes an array of
 *   items, in order, or fails with an error that stops the run
 * - [vfunc@Flow.SinkPartition.snapshot]: makes what was written so far
 *   durable and returns the state to resume the partition from; called at
 *   each epoch's end with recovery on. The default, %NULL, is a stateless
 *   sink
 * - [vfunc@Flow.SinkPartition.close]: flushes and releases what the
 *   partition holds; called once at the end of a run. The default does
 *   nothing
 * - [vfunc@Flow.SinkPartition.commit]: called with an epoch once the
 *   recovery store committed the snapshots of that epoch (right after the
 *   snapshot when the run has no recovery): what the snapshot prepared can
 *   be made visible. The default does nothing
 * - [vfunc@Flow.SinkPartition.sync]: makes what the last snapshot covers
 *   durable, called from the recovery writer thread before the epoch is
 *   committed, so that a snapshot need not wait for the disk on the main
 *   loop. The default does nothing
 */
struct _FlowSinkPartitionClass
{
  GObjectClass parent_class;

  gboolean  (*write_batch) (FlowSinkPartition  *self,
                            GPtrArray          *items,
                            GError            **error);
  GVariant *(*snapshot)    (FlowSinkPartition  *self,
                            GError            **error);
  gboolean  (*close)       (FlowSinkPartition  *self,
                            GError            **error);

  /* The second phase of an epoch (issue 11: transactional Kafka sink). */
  gboolean  (*commit)      (FlowSinkPartition  *self,
                            guint64             epoch,
                            GError            **error);

  /* issue 12: durability off the main loop */
  gboolean  (*sync)        (FlowSinkPartition  *self,
                            GError            **error);

  /*< private >*/
  gpointer _reserved[10];
};

FLOW_AVAILABLE_IN_1_0
gboolean  flow_sink_partition_write_batch (FlowSinkPartition  *self,
                                           GPtrArray          *items,
                                           GError            **error);
FLOW_AVAILABLE_IN_1_0
GVariant *flow_sink_partition_snapshot    (FlowSinkPartition  *self,
                                           GError            **error);
FLOW_AVAILABLE_IN_1_0
gboolean  flow_sink_partition_close       (FlowSinkPartition  *self,
                                           GError            **error);
FLOW_AVAILABLE_IN_1_0
gboolean  flow_sink_partition_commit      (FlowSinkPartition  *self,
                                           guint64             epoch,
                                           GError            **error);

/* issue 12: durability off the main loop */
FLOW_AVAILABLE_IN_1_0
gboolean  flow_sink_partition_sync        (FlowSinkPartition  *self,
                                           GError            **error);

#define FLOW_TYPE_SINK (flow_sink_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_DERIVABLE_TYPE (FlowSink, flow_sink, FLOW, SINK, GObject)

/**
 * FlowSinkClass:
 * @parent_class: the parent class
 * @list_parts: returns the keys of all partitions of the sink
 * @build_part: builds the partition with a given key, resuming it from its
 *   snapshot when there is one
 * @build_worker_part: builds the partition of one worker of a dynamic sink
 *   (%NULL: the sink is not dynamic)
 *
 * The virtual methods of a [class@Flow.Sink]. @build_part (or, for a
 * dynamic sink, @build_worker_part) must be implemented; by default a sink has one partition, named `"0"`.
 *
 * - [vfunc@Flow.Sink.list_parts]: returns the keys of the partitions; the
 *   default is `"0"` alone
 * - [vfunc@Flow.Sink.build_part] (required): opens the partition with a
 *   given key for the step with a given full id, resuming it from the state
 *   its last snapshot returned, or afresh if that is %NULL
 * - [vfunc@Flow.Sink.build_worker_part]: implemented only by a *dynamic*
 *   sink (Bytewax's `DynamicSink`): the runner then calls it once per
 *   worker, with the worker's index and the number of workers, instead of
 *   listing and building keyed partitions (docs/workers.md)
 */
struct _FlowSinkClass
{
  GObjectClass parent_class;

  char               **(*list_parts) (FlowSink    *self,
                                      GError     **error);
  FlowSinkPartition  *(*build_part) (FlowSink    *self,
                                     const char  *step_id,
                                     const char  *part_key,
                                     GVariant    *resume_state,
                                     GError     **error);

  /* issue 9: a dynamic sink, one partition per worker */
  FlowSinkPartition  *(*build_worker_part) (FlowSink    *self,
                                            const char  *step_id,
                                            guint        worker_index,
                                            guint        worker_count,
                                            GError     **error);

  /*< private >*/
  gpointer _reserved[11];
};

FLOW_AVAILABLE_IN_1_0
char              **flow_sink_list_parts (FlowSink    *self,
                                              GError     **error);
FLOW_AVAILABLE_IN_1_0
FlowSinkPartition  *flow_sink_build_part (FlowSink    *self,
                                          const char  *step_id,
                                          const char  *part_key,
                                          GVariant    *resume_state,
                                          GError     **error);

FLOW_AVAILABLE_IN_1_0
gboolean           flow_sink_is_dynamic        (FlowSink *self);
FLOW_AVAILABLE_IN_1_0
FlowSinkPartition *flow_sink_build_worker_part (FlowSink *self,
                                                const char *step_id,
                                                guint       worker_index,
                                                guint       worker_count,
                                                GError    **error);

G_END_DECLS
