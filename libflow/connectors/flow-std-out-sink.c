/* flow-std-out-sink.c: a sink that prints items to standard output
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "flow-private.h"

/**
 * FlowStdOutSink:
 *
 * A sink that prints each item on its own line of standard output, the way
 * Python's `repr()` prints the unpacked value (see [func@Flow.item_repr]):
 * `('ALL', 0)`, `'text'`, `2.5`, `[1, 2]`, `None`. The output is the same
 * from every language.
 *
 * Standard output cannot be rolled back, so this sink is at-least-once: after
 * a crash, a resumed run prints again the items of the epochs that were not
 * committed. Output is flushed at the end of every epoch, before the epoch
 * commits, so nothing of a committed epoch is ever missing.
 */

struct _FlowStdOutSink
{
  FlowSink parent_instance;
};

G_DEFINE_FINAL_TYPE (FlowStdOutSink, flow_std_out_sink, FLOW_TYPE_SINK)

#define FLOW_TYPE_STD_OUT_SINK_PARTITION (flow_std_out_sink_partition_get_type ())
G_DECLARE_FINAL_TYPE (FlowStdOutSinkPartition, flow_std_out_sink_partition, FLOW, STD_OUT_SINK_PARTITION, FlowSinkPartition)

struct _FlowStdOutSinkPartition
{
  FlowSinkPartition  parent_instance;
  GString           *buffer;
};

G_DEFINE_FINAL_TYPE (FlowStdOutSinkPartition, flow_std_out_sink_partition, FLOW_TYPE_SINK_PARTITION)

static gboolean
write_buffer (FlowStdOutSinkPartition  *self,
              GError                  **error)
{
  if (self->buffer->len > 0 &&
      fwrite (self->buffer->str, 1, self->buffer->len, stdout) != self->buffer->len)
    {
      int saved = errno;
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO,
                   "writing to standard output failed: %s", g_strerror (saved));
      g_string_truncate (self->buffer, 0);
      return FALSE;
    }
  g_string_truncate (self->buffer, 0);
  return TRUE;
}

static gboolean
flush_stdout (GError **error)
{
  if (fflush (stdout) != 0)
    {
      int saved = errno;
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO,
                   "flushing standard output failed: %s", g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

static gboolean
std_out_fast_write (FlowSinkPartition  *part,
                    const FlowBatch    *batch,
                    GError            **error)
{
  FlowStdOutSinkPartition *self = FLOW_STD_OUT_SINK_PARTITION (part);

  for (guint i = 0; i < batch->len; i++)
    {
      g_autofree char *repr = flow_item_repr_split (&batch->items[i]);
      g_string_append (self->buffer, repr);
      g_string_append_c (self->buffer, '\n');
    }
  return write_buffer (self, error);
}

static gboolean
flow_std_out_sink_partition_write_batch (FlowSinkPartition  *part,
                                         GPtrArray          *items,
                                         GError            **error)
{
  FlowStdOutSinkPartition *self = FLOW_STD_OUT_SINK_PARTITION (part);

  for (guint i = 0; i < items->len; i++)
    {
      flow_repr_append (self->buffer, g_ptr_array_index (items, i));
      g_string_append_c (self->buffer, '\n');
    }
  return write_buffer (self, error);
}

static GVariant *
flow_std_out_sink_partition_snapshot (FlowSinkPartition  *part,
                                      GError            **error)
{
  flush_stdout (error);
  return NULL;
}

static gboolean
flow_std_out_sink_partition_close (FlowSinkPartition  *part,
                                   GError            **error)
{
  return flush_stdout (error);
}

static void
flow_std_out_sink_partition_finalize (GObject *object)
{
  FlowStdOutSinkPartition *self = FLOW_STD_OUT_SINK_PARTITION (object);

  g_string_free (self->buffer, TRUE);

  G_OBJECT_CLASS (flow_std_out_sink_partition_parent_class)->finalize (object);
}

static void
flow_std_out_sink_partition_class_init (FlowStdOutSinkPartitionClass *klass)
{
  FlowSinkPartitionClass *part_class = FLOW_SINK_PARTITION_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = flow_std_out_sink_partition_finalize;
  part_class->write_batch = flow_std_out_sink_partition_write_batch;
  part_class->snapshot = flow_std_out_sink_partition_snapshot;
  part_class->close = flow_std_out_sink_partition_close;
}

static void
flow_std_out_sink_partition_init (FlowStdOutSinkPartition *self)
{
  self->buffer = g_string_new (NULL);
  flow_sink_partition_set_fast_path (FLOW_SINK_PARTITION (self), std_out_fast_write);
}

static FlowSinkPartition *
flow_std_out_sink_build_part (FlowSink    *sink,
                              const char  *step_id,
                              const char  *part_key,
                              GVariant    *resume_state,
                              GError     **error)
{
  return g_object_new (FLOW_TYPE_STD_OUT_SINK_PARTITION, NULL);
}

static void
flow_std_out_sink_class_init (FlowStdOutSinkClass *klass)
{
  FLOW_SINK_CLASS (klass)->build_part = flow_std_out_sink_build_part;
}

static void
flow_std_out_sink_init (FlowStdOutSink *self)
{
}

/**
 * flow_std_out_sink_new:
 *
 * Creates a sink printing to standard output.
 *
 * Returns: (transfer full): a new standard output sink
 */
FlowStdOutSink *
flow_std_out_sink_new (void)
{
  return g_object_new (FLOW_TYPE_STD_OUT_SINK, NULL);
}
