/* flow-dir-sink.c: one file per partition in a directory, key-routed,
 * exactly-once on resume
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "flow-private.h"

/**
 * FlowDirSink:
 *
 * A sink writing to a set of files in a directory, as Bytewax's `DirSink`:
 * one partition per file (`part_0`, `part_1`, … or the names given), a
 * keyed item going to the file its key hashes to (libflow's stable key
 * hash, the same in every language and run), other items to the first
 * file. Each line is the item's *value*: a string as it is, anything else
 * as its repr; an item that is not keyed is written whole.
 *
 * Each file is written as [class@Flow.FileSink] writes its file (its
 * partitions are FileSink partitions): exactly-once across a resume, the
 * file truncated back to the offset of the epoch the run resumes from, a
 * file shortened or deleted behind its back an error
 * (%FLOW_ERROR_OUTPUT_CHANGED). A run that does not resume appends.
 * The directory must exist.
 */

struct _FlowDirSink
{
  FlowSink   parent_instance;

  char      *dir;
  char     **file_names;
};

enum {
  PROP_0,
  PROP_DIR,
  PROP_FILE_NAMES,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (FlowDirSink, flow_dir_sink, FLOW_TYPE_SINK)

/* A partition writing values: wraps the FileSink partition of its file,
 * dropping the key of keyed items. */
#define FLOW_TYPE_DIR_SINK_PARTITION (flow_dir_sink_partition_get_type ())
G_DECLARE_FINAL_TYPE (FlowDirSinkPartition, flow_dir_sink_partition, FLOW, DIR_SINK_PARTITION, FlowSinkPartition)

struct _FlowDirSinkPartition
{
  FlowSinkPartition  parent_instance;

  FlowSinkPartition *inner;
  FlowSinkFastFunc   inner_fast;
  FlowBatch          values;
};

G_DEFINE_FINAL_TYPE (FlowDirSinkPartition, flow_dir_sink_partition, FLOW_TYPE_SINK_PARTITION)

static gboolean
dir_sink_fast_write (FlowSinkPartition  *part,
                     const FlowBatch    *batch,
                     GError            **error)
{
  FlowDirSinkPartition *self = FLOW_DIR_SINK_PARTITION (part);
  gboolean ok;

  /* The values alone (the key of a split keyed item is separate). */
  flow_batch_reserve (&self->values, batch->len);
  for (guint i = 0; i < batch->len; i++)
    {
      FlowItem item = batch->items[i];

      if (item.key == NULL && g_variant_is_of_type (item.value, G_VARIANT_TYPE ("(sv)")))
        {
          g_autoptr(GVariant) boxed = g_variant_get_child_value (item.value, 1);
          flow_batch_push_take (&self->values, NULL, g_variant_get_variant (boxed));
        }
      else
        flow_batch_push_take (&self->values, NULL, g_variant_ref (item.value));
    }

  if (self->inner_fast != NULL)
    ok = self->inner_fast (self->inner, &self->values, error);
  else
    {
      g_autoptr(GPtrArray) items = g_ptr_array_new ();

      for (guint i = 0; i < self->values.len; i++)
        g_ptr_array_add (items, self->values.items[i].value);
      ok = flow_sink_partition_write_batch (self->inner, items, error);
    }
  flow_batch_clear (&self->values);
  return ok;
}

static gboolean
flow_dir_sink_partition_write_batch (FlowSinkPartition  *part,
                                     GPtrArray          *items,
                                     GError            **error)
{
  FlowBatch batch;
  gboolean ok;

  flow_batch_init (&batch);
  for (guint i = 0; i < items->len; i++)
    flow_batch_push_take (&batch, NULL, g_variant_ref_sink (g_ptr_array_index (items, i)));
  ok = dir_sink_fast_write (part, &batch, error);
  flow_batch_destroy (&batch);
  return ok;
}

static GVariant *
flow_dir_sink_partition_snapshot (FlowSinkPartition  *part,
                                  GError            **error)
{
  return flow_sink_partition_snapshot (FLOW_DIR_SINK_PARTITION (part)->inner, error);
}

static gboolean
flow_dir_sink_partition_close (FlowSinkPartition  *part,
                               GError            **error)
{
  return flow_sink_partition_close (FLOW_DIR_SINK_PARTITION (part)->inner, error);
}

/* The FileSink partition's fdatasync(), on the recovery writer thread. */
static gboolean
flow_dir_sink_partition_sync (FlowSinkPartition  *part,
                              GError            **error)
{
  return flow_sink_partition_sync (FLOW_DIR_SINK_PARTITION (part)->inner, error);
}

static void
flow_dir_sink_partition_finalize (GObject *object)
{
  FlowDirSinkPartition *self = FLOW_DIR_SINK_PARTITION (object);

  g_clear_object (&self->inner);
  flow_batch_destroy (&self->values);

  G_OBJECT_CLASS (flow_dir_sink_partition_parent_class)->finalize (object);
}

static void
flow_dir_sink_partition_class_init (FlowDirSinkPartitionClass *klass)
{
  FlowSinkPartitionClass *part_class = FLOW_SINK_PARTITION_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = flow_dir_sink_partition_finalize;
  part_class->write_batch = flow_dir_sink_partition_write_batch;
  part_class->snapshot = flow_dir_sink_partition_snapshot;
  part_class->close = flow_dir_sink_partition_close;
  part_class->sync = flow_dir_sink_partition_sync;
}

static void
flow_dir_sink_partition_init (FlowDirSinkPartition *self)
{
  flow_batch_init (&self->values);
  flow_sink_partition_set_fast_path (FLOW_SINK_PARTITION (self), dir_sink_fast_write);
}

static char **
flow_dir_sink_list_parts (FlowSink  *sink,
                          GError   **error)
{
  FlowDirSink *self = FLOW_DIR_SINK (sink);

  if (!g_file_test (self->dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO,
                   "DirSink: %s is not a directory", self->dir);
      return NULL;
    }
  return g_strdupv (self->file_names);
}

static FlowSinkPartition *
flow_dir_sink_build_part (FlowSink    *sink,
                          const char  *step_id,
                          const char  *part_key,
                          GVariant    *resume_state,
                          GError     **error)
{
  FlowDirSink *self = FLOW_DIR_SINK (sink);
  g_autofree char *path = NULL;
  g_autoptr(FlowFileSink) file = NULL;
  g_autoptr(FlowDirSinkPartition) part = NULL;
  FlowSinkPartition *inner;

  if (part_key == NULL || !g_strv_contains ((const char * const *) self->file_names, part_key))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "DirSink %s: '%s' is not one of its files",
                   self->dir, part_key ? part_key : "(null)");
      return NULL;
    }
  path = g_build_filename (self->dir, part_key, NULL);
  file = flow_file_sink_new (path);
  inner = flow_sink_build_part (FLOW_SINK (file), step_id, part_key, resume_state, error);
  if (inner == NULL)
    return NULL;

  part = g_object_new (FLOW_TYPE_DIR_SINK_PARTITION, NULL);
  part->inner = inner;
  part->inner_fast = flow_sink_partition_get_fast_path (inner);
  return FLOW_SINK_PARTITION (g_steal_pointer (&part));
}

static void
flow_dir_sink_finalize (GObject *object)
{
  FlowDirSink *self = FLOW_DIR_SINK (object);

  g_free (self->dir);
  g_strfreev (self->file_names);

  G_OBJECT_CLASS (flow_dir_sink_parent_class)->finalize (object);
}

static void
flow_dir_sink_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  FlowDirSink *self = FLOW_DIR_SINK (object);

  switch (prop_id)
    {
    case PROP_DIR:
      g_value_set_string (value, self->dir);
      break;
    case PROP_FILE_NAMES:
      g_value_set_boxed (value, self->file_names);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_dir_sink_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  FlowDirSink *self = FLOW_DIR_SINK (object);

  switch (prop_id)
    {
    case PROP_DIR:
      self->dir = g_value_dup_string (value);
      break;
    case PROP_FILE_NAMES:
      g_strfreev (self->file_names);
      self->file_names = g_value_dup_boxed (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_dir_sink_class_init (FlowDirSinkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  FlowSinkClass *sink_class = FLOW_SINK_CLASS (klass);

  object_class->finalize = flow_dir_sink_finalize;
  object_class->get_property = flow_dir_sink_get_property;
  object_class->set_property = flow_dir_sink_set_property;
  sink_class->list_parts = flow_dir_sink_list_parts;
  sink_class->build_part = flow_dir_sink_build_part;

  /**
   * FlowDirSink:dir:
   *
   * The directory the files are written in.
   */
  properties[PROP_DIR] =
    g_param_spec_string ("dir", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowDirSink:file-names:
   *
   * The names of the files, in the directory: one partition each.
   */
  properties[PROP_FILE_NAMES] =
    g_param_spec_boxed ("file-names", NULL, NULL,
                        G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
flow_dir_sink_init (FlowDirSink *self)
{
}

/**
 * flow_dir_sink_new:
 * @dir: (type filename): the directory to write in
 * @file_count: the number of files, at least 1
 *
 * Creates a sink writing to @file_count files of @dir named `part_0`,
 * `part_1`, …, as Bytewax's `DirSink` names them by default.
 *
 * Returns: (transfer full): a new directory sink
 */
FlowDirSink *
flow_dir_sink_new (const char *dir,
                   guint       file_count)
{
  g_autoptr(GStrvBuilder) builder = NULL;
  g_auto(GStrv) names = NULL;

  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (file_count > 0, NULL);

  builder = g_strv_builder_new ();
  for (guint i = 0; i < file_count; i++)
    {
      g_autofree char *name = g_strdup_printf ("part_%u", i);
      g_strv_builder_add (builder, name);
    }
  names = g_strv_builder_end (builder);
  return flow_dir_sink_new_with_names (dir, (const char * const *) names);
}

/**
 * flow_dir_sink_new_with_names:
 * @dir: (type filename): the directory to write in
 * @file_names: (array zero-terminated=1): the names of the files, relative
 *   to the directory: at least one, distinct, without `..`
 *
 * Creates a sink writing to the files @file_names of @dir, one partition
 * each.
 *
 * Returns: (transfer full) (nullable): a new directory sink, or %NULL (with
 *   a critical warning) if @file_names is empty or a name is not a path
 *   inside @dir
 */
FlowDirSink *
flow_dir_sink_new_with_names (const char         *dir,
                              const char * const *file_names)
{
  g_autoptr(GHashTable) seen = NULL;

  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (file_names != NULL && file_names[0] != NULL, NULL);

  seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; file_names[i] != NULL; i++)
    {
      g_return_val_if_fail (flow_dir_relative_path_ok (file_names[i]), NULL);
      g_return_val_if_fail (g_hash_table_add (seen, (gpointer) file_names[i]), NULL);
    }
  return g_object_new (FLOW_TYPE_DIR_SINK, "dir", dir, "file-names", file_names, NULL);
}

/**
 * flow_dir_sink_get_dir:
 * @self: a directory sink
 *
 * Gets the directory the sink writes in.
 *
 * Returns: (type filename): the directory
 */
const char *
flow_dir_sink_get_dir (FlowDirSink *self)
{
  g_return_val_if_fail (FLOW_IS_DIR_SINK (self), NULL);

  return self->dir;
}

/**
 * flow_dir_sink_get_file_names:
 * @self: a directory sink
 *
 * Gets the names of the files the sink writes, one partition each.
 *
 * Returns: (transfer none) (array zero-terminated=1): the file names
 */
const char * const *
flow_dir_sink_get_file_names (FlowDirSink *self)
{
  g_return_val_if_fail (FLOW_IS_DIR_SINK (self), NULL);

  return (const char * const *) self->file_names;
}
