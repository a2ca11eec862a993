/* flow-testing-sink.c: a sink that collects items in memory, for tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "flow-private.h"

/**
 * FlowTestingSink:
 *
 * A sink that keeps every item written to it, in order, so a test can
 * read them back with [method@Flow.TestingSink.get_items]. Items of every
 * run are kept (a resumed run appends to them) until
 * [method@Flow.TestingSink.clear]. It is stateless: output replayed after
 * a resume is kept again (at-least-once).
 */

struct _FlowTestingSink
{
  FlowSink   parent_instance;

  GPtrArray *items;  /* GVariant*, packed */
  GMutex     lock;
};

G_DEFINE_FINAL_TYPE (FlowTestingSink, flow_testing_sink, FLOW_TYPE_SINK)

#define FLOW_TYPE_TESTING_SINK_PARTITION (flow_testing_sink_partition_get_type ())
G_DECLARE_FINAL_TYPE (FlowTestingSinkPartition, flow_testing_sink_partition, FLOW, TESTING_SINK_PARTITION, FlowSinkPartition)

struct _FlowTestingSinkPartition
{
  FlowSinkPartition  parent_instance;
  FlowTestingSink   *sink;
};

G_DEFINE_FINAL_TYPE (FlowTestingSinkPartition, flow_testing_sink_partition, FLOW_TYPE_SINK_PARTITION)

static gboolean
testing_sink_fast_write (FlowSinkPartition  *part,
                         const FlowBatch    *batch,
                         GError            **error)
{
  FlowTestingSink *sink = FLOW_TESTING_SINK_PARTITION (part)->sink;

  g_mutex_lock (&sink->lock);
  flow_batch_pack_into (batch, sink->items);
  g_mutex_unlock (&sink->lock);
  return TRUE;
}

static gboolean
flow_testing_sink_partition_write_batch (FlowSinkPartition  *part,
                                         GPtrArray          *items,
                                         GError            **error)
{
  FlowTestingSink *sink = FLOW_TESTING_SINK_PARTITION (part)->sink;

  g_mutex_lock (&sink->lock);
  for (guint i = 0; i < items->len; i++)
    g_ptr_array_add (sink->items, g_variant_ref_sink (g_ptr_array_index (items, i)));
  g_mutex_unlock (&sink->lock);
  return TRUE;
}

static void
flow_testing_sink_partition_finalize (GObject *object)
{
  g_clear_object (&FLOW_TESTING_SINK_PARTITION (object)->sink);

  G_OBJECT_CLASS (flow_testing_sink_partition_parent_class)->finalize (object);
}

static void
flow_testing_sink_partition_class_init (FlowTestingSinkPartitionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = flow_testing_sink_partition_finalize;
  FLOW_SINK_PARTITION_CLASS (klass)->write_batch = flow_testing_sink_partition_write_batch;
}

static void
flow_testing_sink_partition_init (FlowTestingSinkPartition *self)
{
  flow_sink_partition_set_fast_path (FLOW_SINK_PARTITION (self), testing_sink_fast_write);
}

static FlowSinkPartition *
flow_testing_sink_build_part (FlowSink    *sink,
                              const char  *step_id,
                              const char  *part_key,
                              GVariant    *resume_state,
                              GError     **error)
{
  FlowTestingSinkPartition *part = g_object_new (FLOW_TYPE_TESTING_SINK_PARTITION, NULL);

  part->sink = g_object_ref (FLOW_TESTING_SINK (sink));
  return FLOW_SINK_PARTITION (part);
}

static void
flow_testing_sink_finalize (GObject *object)
{
  FlowTestingSink *self = FLOW_TESTING_SINK (object);

  g_clear_pointer (&self->items, g_ptr_array_unref);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (flow_testing_sink_parent_class)->finalize (object);
}

static void
flow_testing_sink_class_init (FlowTestingSinkClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = flow_testing_sink_finalize;
  FLOW_SINK_CLASS (klass)->build_part = flow_testing_sink_build_part;
}

static void
flow_testing_sink_init (FlowTestingSink *self)
{
  self->items = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_mutex_init (&self->lock);
}

/**
 * flow_testing_sink_new:
 *
 * Creates an empty testing sink.
 *
 * Returns: (transfer full): a new testing sink
 */
FlowTestingSink *
flow_testing_sink_new (void)
{
  return g_object_new (FLOW_TYPE_TESTING_SINK, NULL);
}

/**
 * flow_testing_sink_get_items:
 * @self: a testing sink
 *
 * Returns all items written so far, as an `av` array (in Python,
 * `sink.get_items().unpack()` is the list of plain values; in GJS,
 * `sink.get_items().recursiveUnpack()`).
 *
 * Returns: (transfer full): the items, in the order they were written
 */
GVariant *
flow_testing_sink_get_items (FlowTestingSink *self)
{
  GVariantBuilder builder;

  g_return_val_if_fail (FLOW_IS_TESTING_SINK (self), NULL);

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("av"));
  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->items->len; i++)
    g_variant_builder_add (&builder, "v", g_ptr_array_index (self->items, i));
  g_mutex_unlock (&self->lock);
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

/**
 * flow_testing_sink_get_n_items:
 * @self: a testing sink
 *
 * Counts the items written to the sink so far, by every run.
 *
 * Returns: the number of items written so far
 */
guint
flow_testing_sink_get_n_items (FlowTestingSink *self)
{
  guint n;

  g_return_val_if_fail (FLOW_IS_TESTING_SINK (self), 0);

  g_mutex_lock (&self->lock);
  n = self->items->len;
  g_mutex_unlock (&self->lock);
  return n;
}

/**
 * flow_testing_sink_get_item:
 * @self: a testing sink
 * @position: the index of an item, less than
 *   [method@Flow.TestingSink.get_n_items]
 *
 * Gets one of the items written to the sink so far.
 *
 * Returns: (transfer full): the item written at @position
 */
GVariant *
flow_testing_sink_get_item (FlowTestingSink *self,
                            guint            position)
{
  GVariant *item;

  g_return_val_if_fail (FLOW_IS_TESTING_SINK (self), NULL);

  g_mutex_lock (&self->lock);
  if (position >= self->items->len)
    {
      g_mutex_unlock (&self->lock);
      g_return_val_if_reached (NULL);
    }
  item = g_variant_ref (g_ptr_array_index (self->items, position));
  g_mutex_unlock (&self->lock);
  return item;
}

/**
 * flow_testing_sink_clear:
 * @self: a testing sink
 *
 * Forgets all items written so far.
 */
void
flow_testing_sink_clear (FlowTestingSink *self)
{
  g_return_if_fail (FLOW_IS_TESTING_SINK (self));

  g_mutex_lock (&self->lock);
  g_ptr_array_set_size (self->items, 0);
  g_mutex_unlock (&self->lock);
}
