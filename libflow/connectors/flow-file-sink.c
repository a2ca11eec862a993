/* flow-file-sink.c: one line per item to a file, exactly-once on resume
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "flow-private.h"

/**
 * FlowFileSink:
 *
 * A sink writing one line per item to a file: a string item is written as
 * it is, any other item as its repr (see [func@Flow.item_repr]), so a keyed
 * item is written `('key', 12)`; with [property@Flow.FileSink:values-only]
 * a keyed item is written as its value alone, as Bytewax's `FileSink` does.
 *
 * It is exactly-once across a resume. At the end of every epoch it
 * snapshots its byte offset, and what it wrote is made durable
 * (fdatasync(), in [vfunc@Flow.SinkPartition.sync], on the recovery writer
 * thread) before the epoch is committed; a
 * resumed run truncates the file back to the offset of the epoch it resumes
 * from, so the lines of an epoch that was replayed are written once. If the
 * file became shorter than that offset, the output was changed by someone
 * else and the run fails with %FLOW_ERROR_OUTPUT_CHANGED rather than
 * guessing.
 *
 * A run that does not resume appends to the file, so nothing existing is
 * ever overwritten.
 */

struct _FlowFileSink
{
  FlowSink  parent_instance;

  char     *path;
  gboolean  values_only;
};

enum {
  PROP_0,
  PROP_PATH,
  PROP_VALUES_ONLY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (FlowFileSink, flow_file_sink, FLOW_TYPE_SINK)

#define FLOW_TYPE_FILE_SINK_PARTITION (flow_file_sink_partition_get_type ())
G_DECLARE_FINAL_TYPE (FlowFileSinkPartition, flow_file_sink_partition, FLOW, FILE_SINK_PARTITION, FlowSinkPartition)

struct _FlowFileSinkPartition
{
  FlowSinkPartition  parent_instance;

  char              *path;
  int                fd;
  guint64            offset;   /* bytes written (file size) */
  GString           *buffer;
  gboolean           dir_synced; /* its directory entry is durable */
  gboolean           values_only; /* write the value of keyed items */
  GMutex             fd_lock;  /* fd against sync() on the writer thread */
};

G_DEFINE_FINAL_TYPE (FlowFileSinkPartition, flow_file_sink_partition, FLOW_TYPE_SINK_PARTITION)

static gboolean
io_error (FlowFileSinkPartition  *self,
          const char             *what,
          int                     saved_errno,
          GError                **error)
{
  g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO,
               "%s %s: %s", what, self->path, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
flush_buffer (FlowFileSinkPartition  *self,
              GError                **error)
{
  const char *p = self->buffer->str;
  gsize left = self->buffer->len;

  while (left > 0)
    {
      ssize_t n = write (self->fd, p, left);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return io_error (self, "writing to", errno, error);
        }
      p += n;
      left -= n;
      self->offset += n;
    }
  g_string_truncate (self->buffer, 0);
  return TRUE;
}

static void
append_line (GString    *buffer,
             GVariant   *value,
             const char *key,
             gboolean    values_only)
{
  /* FlowFileSink:values-only: the value of a keyed item alone, whether it
   * comes split (@key set, @value its value) or as a `(sv)` variant. */
  if (values_only && key == NULL && g_variant_is_of_type (value, G_VARIANT_TYPE ("(sv)")))
    {
      g_autoptr(GVariant) boxed = g_variant_get_child_value (value, 1);
      g_autoptr(GVariant) inner = g_variant_get_variant (boxed);

      append_line (buffer, inner, NULL, FALSE);
      return;
    }
  if (values_only)
    key = NULL;

  if (key == NULL && strcmp (g_variant_get_type_string (value), "s") == 0)
    g_string_append (buffer, g_variant_get_string (value, NULL));
  else if (key == NULL)
    flow_repr_append (buffer, value);
  else
    {
      FlowItem item = { (char *) key, value };
      g_autofree char *repr = flow_item_repr_split (&item);
      g_string_append (buffer, repr);
    }
  g_string_append_c (buffer, '\n');
}

static gboolean
file_sink_fast_write (FlowSinkPartition  *part,
                      const FlowBatch    *batch,
                      GError            **error)
{
  FlowFileSinkPartition *self = FLOW_FILE_SINK_PARTITION (part);

  for (guint i = 0; i < batch->len; i++)
    append_line (self->buffer, batch->items[i].value, batch->items[i].key, self->values_only);
  return flush_buffer (self, error);
}

static gboolean
flow_file_sink_partition_write_batch (FlowSinkPartition  *part,
                                      GPtrArray          *items,
                                      GError            **error)
{
  FlowFileSinkPartition *self = FLOW_FILE_SINK_PARTITION (part);

  for (guint i = 0; i < items->len; i++)
    append_line (self->buffer, g_ptr_array_index (items, i), NULL, self->values_only);
  return flush_buffer (self, error);
}

static GVariant *
flow_file_sink_partition_snapshot (FlowSinkPartition  *part,
                                   GError            **error)
{
  FlowFileSinkPartition *self = FLOW_FILE_SINK_PARTITION (part);

  /* The lines are handed to the kernel here; making them durable is
   * sync()'s work, on the recovery writer thread (issue 12). */
  if (!flush_buffer (self, error))
    return NULL;
  return g_variant_ref_sink (g_variant_new_uint64 (self->offset));
}

/* Runs on the recovery writer thread while the main thread may write to
 * the file or close it: the lock keeps the descriptor open (and not yet
 * reused) for the time of the fdatasync(). Everything written before the
 * last snapshot was write()n, so it is covered. */
static gboolean
flow_file_sink_partition_sync (FlowSinkPartition  *part,
                               GError            **error)
{
  FlowFileSinkPartition *self = FLOW_FILE_SINK_PARTITION (part);
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->fd_lock);

  if (self->fd < 0)
    return TRUE;  /* closed: close() flushed it, and the run is over */
  if (fdatasync (self->fd) != 0)
    return io_error (self, "syncing", errno, error);
  /* The file may have just been created: until its directory is synced
   * too, a power cut can lose the whole file while a committed epoch
   * points into it. Once per run is enough. */
  if (!self->dir_synced)
    {
      g_autofree char *dir = g_path_get_dirname (self->path);
      int dir_fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

      if (dir_fd < 0 || fsync (dir_fd) != 0)
        {
          int saved = errno;

          if (dir_fd >= 0)
            close (dir_fd);
          return io_error (self, "syncing the directory of", saved, error);
        }
      close (dir_fd);
      self->dir_synced = TRUE;
    }
  return TRUE;
}

static gboolean
flow_file_sink_partition_close (FlowSinkPartition  *part,
                                GError            **error)
{
  FlowFileSinkPartition *self = FLOW_FILE_SINK_PARTITION (part);
  gboolean ok = TRUE;

  if (self->fd < 0)
    return TRUE;
  ok = flush_buffer (self, error);
  g_mutex_lock (&self->fd_lock);  /* not during a sync() */
  if (close (self->fd) != 0 && ok)
    ok = io_error (self, "closing", errno, error);
  self->fd = -1;
  g_mutex_unlock (&self->fd_lock);
  return ok;
}

static void
flow_file_sink_partition_finalize (GObject *object)
{
  FlowFileSinkPartition *self = FLOW_FILE_SINK_PARTITION (object);

  if (self->fd >= 0)
    close (self->fd);
  g_string_free (self->buffer, TRUE);
  g_free (self->path);
  g_mutex_clear (&self->fd_lock);

  G_OBJECT_CLASS (flow_file_sink_partition_parent_class)->finalize (object);
}

static void
flow_file_sink_partition_class_init (FlowFileSinkPartitionClass *klass)
{
  FlowSinkPartitionClass *part_class = FLOW_SINK_PARTITION_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = flow_file_sink_partition_finalize;
  part_class->write_batch = flow_file_sink_partition_write_batch;
  part_class->snapshot = flow_file_sink_partition_snapshot;
  part_class->close = flow_file_sink_partition_close;
  part_class->sync = flow_file_sink_partition_sync;
}

static void
flow_file_sink_partition_init (FlowFileSinkPartition *self)
{
  self->fd = -1;
  g_mutex_init (&self->fd_lock);
  self->buffer = g_string_sized_new (64 * 1024);
  flow_sink_partition_set_fast_path (FLOW_SINK_PARTITION (self), file_sink_fast_write);
}

static char **
flow_file_sink_list_parts (FlowSink *sink,
                              GError **error)
{
  char **parts = g_new0 (char *, 2);

  parts[0] = g_path_get_basename (FLOW_FILE_SINK (sink)->path);
  return parts;
}

static FlowSinkPartition *
flow_file_sink_build_part (FlowSink    *sink,
                           const char  *step_id,
                           const char  *part_key,
                           GVariant    *resume_state,
                           GError     **error)
{
  FlowFileSink *self = FLOW_FILE_SINK (sink);
  g_autoptr(FlowFileSinkPartition) part = NULL;
  guint64 resume_offset = 0;
  struct stat st;

  part = g_object_new (FLOW_TYPE_FILE_SINK_PARTITION, NULL);
  part->path = g_strdup (self->path);
  part->values_only = self->values_only;
  /* Resuming from a non-empty snapshot, the file must be there: it holds
   * the output of the epochs resumed from. */
  if (resume_state != NULL && g_variant_is_of_type (resume_state, G_VARIANT_TYPE_UINT64))
    resume_offset = g_variant_get_uint64 (resume_state);
  part->fd = g_open (self->path, O_WRONLY | O_CLOEXEC | (resume_offset > 0 ? 0 : O_CREAT), 0666);
  if (part->fd < 0 && errno == ENOENT && resume_offset > 0)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_OUTPUT_CHANGED,
                   "%s was deleted, but it holds the output of the epochs this run resumes "
                   "from; restore it, or start over with a new recovery directory",
                   self->path);
      return NULL;
    }
  if (part->fd < 0)
    {
      io_error (part, "opening", errno, error);
      return NULL;
    }
  if (fstat (part->fd, &st) != 0)
    {
      io_error (part, "inspecting", errno, error);
      return NULL;
    }
  part->offset = st.st_size;

  if (resume_state != NULL)
    {
      guint64 offset;

      if (!g_variant_is_of_type (resume_state, G_VARIANT_TYPE_UINT64))
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                       "the resume state of a file sink must be t, not %s",
                       g_variant_get_type_string (resume_state));
          return NULL;
        }
      offset = g_variant_get_uint64 (resume_state);
      if ((guint64) st.st_size < offset)
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_OUTPUT_CHANGED,
                       "%s is %" G_GUINT64_FORMAT " bytes long, but %" G_GUINT64_FORMAT
                       " bytes were written to it by the epochs this run resumes from: it was "
                       "truncated or replaced, so resuming would lose output; restore it, or "
                       "start over with a new recovery directory",
                       self->path, (guint64) st.st_size, offset);
          return NULL;
        }
      if ((guint64) st.st_size > offset)
        {
          g_debug ("%s: dropping %" G_GUINT64_FORMAT " bytes written after the resumed epoch",
                   self->path, (guint64) st.st_size - offset);
          if (ftruncate (part->fd, (off_t) offset) != 0)
            {
              io_error (part, "truncating", errno, error);
              return NULL;
            }
        }
      part->offset = offset;
    }

  if (lseek (part->fd, (off_t) part->offset, SEEK_SET) < 0)
    {
      io_error (part, "seeking in", errno, error);
      return NULL;
    }
  return FLOW_SINK_PARTITION (g_steal_pointer (&part));
}

static void
flow_file_sink_finalize (GObject *object)
{
  g_free (FLOW_FILE_SINK (object)->path);

  G_OBJECT_CLASS (flow_file_sink_parent_class)->finalize (object);
}

static void
flow_file_sink_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, FLOW_FILE_SINK (object)->path);
      break;
    case PROP_VALUES_ONLY:
      g_value_set_boolean (value, FLOW_FILE_SINK (object)->values_only);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_file_sink_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  switch (prop_id)
    {
    case PROP_PATH:
      FLOW_FILE_SINK (object)->path = g_value_dup_string (value);
      break;
    case PROP_VALUES_ONLY:
      flow_file_sink_set_values_only (FLOW_FILE_SINK (object), g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_file_sink_class_init (FlowFileSinkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  FlowSinkClass *sink_class = FLOW_SINK_CLASS (klass);

  object_class->finalize = flow_file_sink_finalize;
  object_class->get_property = flow_file_sink_get_property;
  object_class->set_property = flow_file_sink_set_property;
  sink_class->list_parts = flow_file_sink_list_parts;
  sink_class->build_part = flow_file_sink_build_part;

  /**
   * FlowFileSink:path:
   *
   * The path of the file to write.
   */
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowFileSink:values-only:
   *
   * Whether a keyed item is written as its value alone (a string as it
   * is, anything else as its repr), as Bytewax's `FileSink` and
   * [class@Flow.DirSink] write it, rather than as `('key', value)`.
   * Items that are not keyed are written whole either way. It applies to
   * the partitions built after it is set.
   */
  properties[PROP_VALUES_ONLY] =
    g_param_spec_boolean ("values-only", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
flow_file_sink_init (FlowFileSink *self)
{
}

/**
 * flow_file_sink_new:
 * @path: (type filename): the file to write
 *
 * Creates a sink writing to @path. The file is created (or opened for
 * appending) when a run starts.
 *
 * Returns: (transfer full): a new file sink
 */
FlowFileSink *
flow_file_sink_new (const char *path)
{
  g_return_val_if_fail (path != NULL, NULL);

  return g_object_new (FLOW_TYPE_FILE_SINK, "path", path, NULL);
}

/**
 * flow_file_sink_get_path:
 * @self: a file sink
 *
 * Gets the path of the file the sink writes.
 *
 * Returns: (type filename): the path of the file
 */
const char *
flow_file_sink_get_path (FlowFileSink *self)
{
  g_return_val_if_fail (FLOW_IS_FILE_SINK (self), NULL);

  return self->path;
}

/**
 * flow_file_sink_set_values_only:
 * @self: a file sink
 * @values_only: whether to write the value of keyed items alone
 *
 * Sets [property@Flow.FileSink:values-only]: with %TRUE a keyed item is
 * written as its value alone, as Bytewax's `FileSink` does, instead of
 * `('key', value)`. Set it before the run starts.
 */
void
flow_file_sink_set_values_only (FlowFileSink *self,
                                gboolean      values_only)
{
  g_return_if_fail (FLOW_IS_FILE_SINK (self));

  values_only = !!values_only;
  if (self->values_only == values_only)
    return;
  self->values_only = values_only;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VALUES_ONLY]);
}

/**
 * flow_file_sink_get_values_only:
 * @self: a file sink
 *
 * Gets [property@Flow.FileSink:values-only].
 *
 * Returns: whether keyed items are written as their value alone
 */
gboolean
flow_file_sink_get_values_only (FlowFileSink *self)
{
  g_return_val_if_fail (FLOW_IS_FILE_SINK (self), FALSE);

  return self->values_only;
}
