/* flow-file-source.c: the lines of a text file, resumable
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "flow-private.h"

/**
 * FlowFileSource:
 *
 * A source emitting the lines of a UTF-8 text file as strings (without
 * their line ending), [property@Flow.FileSource:batch-size] lines at a
 * time, in one partition named after the file's basename.
 *
 * It resumes at the byte offset after the last line it emitted in a
 * committed epoch. Its snapshot also keeps fingerprints of the file's first
 * bytes and of the bytes just before that offset: if on resume the file is
 * shorter than the offset (truncated) or those bytes differ (replaced by
 * another file), the file is new data and is read from its start. A file
 * that only grew is read on from where the last run stopped.
 *
 * A line that is not valid UTF-8 text (or holds a NUL byte) fails the run
 * with %FLOW_ERROR_INVALID_INPUT naming the file, the line number and the
 * byte offset of the line.
 *
 * ## A last line without a line end
 *
 * A record is never split. What happens to a last line that has no line
 * end (`\n` or `\r\n`) depends on
 * [property@Flow.FileSource:hold-partial]:
 *
 * - By default the file is complete when the source reaches its end, and
 *   the unterminated last line is emitted like any other. Its snapshot's
 *   offset then ends inside that line (after its last byte). If a later
 *   run finds the file grown after that offset, the new bytes must start
 *   with the line end that was missing (`\n` or `\r\n`), which is
 *   skipped, and the source reads on from the next line. If they start
 *   with anything else, the emitted line was continued: reading on would
 *   emit its rest as a record of its own, so the run fails with
 *   %FLOW_ERROR_INPUT_CHANGED naming the file and the byte offset.
 *
 * - With [property@Flow.FileSource:hold-partial] set, the file may still
 *   be growing: an unterminated last line is held back (not emitted, not
 *   counted in the snapshot's offset), and a later run emits it whole once
 *   the writer has ended it.
 *
 * The snapshot is the same `(tttt)` in both modes (byte offset, lines
 * read, fingerprints), so either mode resumes from the snapshots of the
 * other and of earlier versions.
 */

#define FINGERPRINT_BYTES 4096
#define DEFAULT_BATCH_SIZE 1000

struct _FlowFileSource
{
  FlowSource  parent_instance;

  char       *path;
  guint       batch_size;
  gboolean    hold_partial;
};

enum {
  PROP_0,
  PROP_PATH,
  PROP_BATCH_SIZE,
  PROP_HOLD_PARTIAL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (FlowFileSource, flow_file_source, FLOW_TYPE_SOURCE)

#define FLOW_TYPE_FILE_SOURCE_PARTITION (flow_file_source_partition_get_type ())
G_DECLARE_FINAL_TYPE (FlowFileSourcePartition, flow_file_source_partition, FLOW, FILE_SOURCE_PARTITION, FlowSourcePartition)

struct _FlowFileSourcePartition
{
  FlowSourcePartition  parent_instance;

  char                *step_id;
  char                *path;
  FILE                *file;
  guint                batch_size;
  gboolean             hold_partial;
  guint64              offset;
  guint64              line_number;
  char                *line;
  size_t               line_alloc;
  gboolean             eof;
};

G_DEFINE_FINAL_TYPE (FlowFileSourcePartition, flow_file_source_partition, FLOW_TYPE_SOURCE_PARTITION)

/* Hashes up to @len bytes of @file at @offset. */
static gboolean
hash_range (FILE     *file,
            guint64   offset,
            gsize     len,
            guint64  *hash)
{
  char buf[FINGERPRINT_BYTES];

  g_assert (len <= sizeof buf);
  if (fseeko (file, (off_t) offset, SEEK_SET) != 0)
    return FALSE;
  if (len > 0 && fread (buf, 1, len, file) != len)
    return FALSE;
  *hash = flow_hash_bytes (FLOW_HASH_SEED, buf, len);
  return TRUE;
}

static gboolean
fingerprints (FILE    *file,
              guint64  offset,
              guint64 *head,
              guint64 *tail)
{
  gsize head_len = MIN (offset, FINGERPRINT_BYTES);
  gsize tail_len = MIN (offset, FINGERPRINT_BYTES);

  return hash_range (file, 0, head_len, head) &&
         hash_range (file, offset - tail_len, tail_len, tail);
}

static gboolean
io_error (FlowFileSourcePartition  *self,
          const char               *what,
          int                       saved_errno,
          GError                  **error)
{
  g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO,
               "%s %s: %s", what, self->path, g_strerror (saved_errno));
  return FALSE;
}

/* Where a resumed partition reads on from @offset, which the fingerprints
 * showed is the file read before, now @size bytes long. If the last line
 * read had no line end (it was emitted as the file's last line) and the
 * file has grown since, the new bytes must start with that line end, which
 * is skipped; anything else continues a line already emitted, which is an
 * error rather than a split record. */
static gboolean
skip_missing_line_end (FlowFileSourcePartition  *self,
                       guint64                   offset,
                       guint64                   size,
                       guint64                  *resume_at,
                       GError                  **error)
{
  char before, after[2] = { 0, 0 };
  gsize n;

  *resume_at = offset;
  if (offset == 0 || size == offset)
    return TRUE;
  if (fseeko (self->file, (off_t) offset - 1, SEEK_SET) != 0)
    return io_error (self, "seeking in", errno, error);
  if (fread (&before, 1, 1, self->file) != 1)
    return io_error (self, "reading", errno ? errno : EIO, error);
  if (before == '\n')
    return TRUE;

  n = fread (after, 1, 2, self->file);
  if (n >= 1 && after[0] == '\n')
    {
      *resume_at = offset + 1;
      return TRUE;
    }
  if (n == 2 && after[0] == '\r' && after[1] == '\n')
    {
      *resume_at = offset + 2;
      return TRUE;
    }
  if (n == 1 && after[0] == '\r')
    {
      /* Only the start of a "\r\n" so far: nothing to read until the
       * writer ends it (reading on would emit an empty line). */
      self->eof = TRUE;
      return TRUE;
    }

  g_set_error (error, FLOW_ERROR, FLOW_ERROR_INPUT_CHANGED,
               "%s: the last line read before had no line end and was emitted whole, but "
               "the file has since been continued at byte %" G_GUINT64_FORMAT " (with something "
               "else than a line end): reading on would split that line into two records. "
               "Truncate the file back to %" G_GUINT64_FORMAT " bytes, or start again with a new "
               "recovery directory; a file that is still being written needs the source's "
               "hold-partial property",
               self->path, offset, offset);
  return FALSE;
}

/* A line (checked: UTF-8 without NUL) as a full reference to a string
 * variant. The same as g_variant_new_take_string() without checking the
 * text a second time, and with g_variant_take_ref(): the variant is new,
 * so it is floating (a ref_sink() takes and drops the variant's lock). */
static inline GVariant *
line_variant (const char *line,
              gsize       len)
{
  char *text = g_malloc (len + 1);
  g_autoptr(GBytes) bytes = NULL;

  memcpy (text, line, len);
  text[len] = '\0';
  bytes = g_bytes_new_take (text, len + 1);
  return g_variant_take_ref (g_variant_new_from_bytes (G_VARIANT_TYPE_STRING, bytes, TRUE));
}

static gboolean
file_fast_next (FlowSourcePartition  *part,
                FlowBatch            *out,
                gboolean             *eof,
                GError              **error)
{
  FlowFileSourcePartition *self = FLOW_FILE_SOURCE_PARTITION (part);

  *eof = FALSE;
  if (self->eof)
    {
      *eof = TRUE;
      return TRUE;
    }

  flow_batch_reserve (out, out->len + self->batch_size);
  for (guint i = 0; i < self->batch_size; i++)
    {
      ssize_t n;
      gsize len;

      errno = 0;
      n = getline (&self->line, &self->line_alloc, self->file);
      if (n < 0)
        {
          if (ferror (self->file))
            return io_error (self, "reading", errno, error);
          self->eof = TRUE;
          *eof = TRUE;
          return TRUE;
        }

      len = n;
      if (len > 0 && self->line[len - 1] == '\n')
        len--;
      else if (self->hold_partial)
        {
          /* An unterminated last line, which the writer may still be
           * writing: held back, for a later run to read whole. */
          g_debug ("%s: holding back the unterminated last line of %s (%zu bytes at byte "
                   "%" G_GUINT64_FORMAT ")", self->step_id, self->path, len, self->offset);
          self->eof = TRUE;
          *eof = TRUE;
          return TRUE;
        }
      self->line_number++;
      if (len > 0 && self->line[len - 1] == '\r')
        len--;

      /* g_utf8_validate_len() also refuses a NUL byte among the len. */
      if (!g_utf8_validate_len (self->line, len, NULL))
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_INPUT,
                       "%s: line %" G_GUINT64_FORMAT " (at byte %" G_GUINT64_FORMAT ") is not valid "
                       "UTF-8 text",
                       self->path, self->line_number, self->offset);
          return FALSE;
        }

      flow_batch_push_take (out, NULL, line_variant (self->line, len));
      self->offset += n;
    }
  return TRUE;
}

static GVariant *
flow_file_source_partition_next_batch (FlowSourcePartition  *part,
                                       GError              **error)
{
  FlowBatch batch;
  gboolean eof;
  GVariantBuilder builder;

  flow_batch_init (&batch);
  if (!file_fast_next (part, &batch, &eof, error))
    {
      flow_batch_destroy (&batch);
      return NULL;
    }
  if (eof && batch.len == 0)
    {
      flow_batch_destroy (&batch);
      return NULL;
    }

  g_variant_builder_init (&builder, G_VARIANT_TYPE_STRING_ARRAY);
  for (guint i = 0; i < batch.len; i++)
    g_variant_builder_add_value (&builder, batch.items[i].value);
  flow_batch_destroy (&batch);
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

static GVariant *
flow_file_source_partition_snapshot (FlowSourcePartition  *part,
                                     GError              **error)
{
  FlowFileSourcePartition *self = FLOW_FILE_SOURCE_PARTITION (part);
  guint64 head = 0, tail = 0;
  FILE *check;
  gboolean ok;

  /* Fingerprints are read through another handle, so the reading position
   * of the partition is not disturbed. */
  errno = 0;
  check = fopen (self->path, "rb");
  ok = check != NULL && fingerprints (check, self->offset, &head, &tail);
  if (!ok)
    io_error (self, "fingerprinting", errno ? errno : EIO, error);
  if (check != NULL)
    fclose (check);
  if (!ok)
    return NULL;
  return g_variant_ref_sink (g_variant_new ("(tttt)", self->offset, self->line_number, head, tail));
}

static gboolean
flow_file_source_partition_close (FlowSourcePartition  *part,
                                  GError              **error)
{
  FlowFileSourcePartition *self = FLOW_FILE_SOURCE_PARTITION (part);

  if (self->file != NULL && fclose (self->file) != 0)
    {
      self->file = NULL;
      return io_error (self, "closing", errno, error);
    }
  self->file = NULL;
  return TRUE;
}

static void
flow_file_source_partition_finalize (GObject *object)
{
  FlowFileSourcePartition *self = FLOW_FILE_SOURCE_PARTITION (object);

  if (self->file != NULL)
    fclose (self->file);
  free (self->line);
  g_free (self->path);
  g_free (self->step_id);

  G_OBJECT_CLASS (flow_file_source_partition_parent_class)->finalize (object);
}

static void
flow_file_source_partition_class_init (FlowFileSourcePartitionClass *klass)
{
  FlowSourcePartitionClass *part_class = FLOW_SOURCE_PARTITION_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = flow_file_source_partition_finalize;
  part_class->next_batch = flow_file_source_partition_next_batch;
  part_class->snapshot = flow_file_source_partition_snapshot;
  part_class->close = flow_file_source_partition_close;
}

static void
flow_file_source_partition_init (FlowFileSourcePartition *self)
{
  flow_source_partition_set_fast_path (FLOW_SOURCE_PARTITION (self), file_fast_next);
}

static char **
flow_file_source_list_parts (FlowSource *source,
                              GError **error)
{
  FlowFileSource *self = FLOW_FILE_SOURCE (source);
  char **parts = g_new0 (char *, 2);

  parts[0] = g_path_get_basename (self->path);
  return parts;
}

static FlowSourcePartition *
flow_file_source_build_part (FlowSource  *source,
                             const char  *step_id,
                             const char  *part_key,
                             GVariant    *resume_state,
                             GError     **error)
{
  FlowFileSource *self = FLOW_FILE_SOURCE (source);
  g_autoptr(FlowFileSourcePartition) part = NULL;

  part = g_object_new (FLOW_TYPE_FILE_SOURCE_PARTITION, NULL);
  part->step_id = g_strdup (step_id);
  part->path = g_strdup (self->path);
  part->batch_size = self->batch_size;
  part->hold_partial = self->hold_partial;
  part->file = fopen (self->path, "rb");
  if (part->file == NULL)
    {
      io_error (part, "opening", errno, error);
      return NULL;
    }

  if (resume_state != NULL)
    {
      guint64 offset, line_number, head, tail, now_head, now_tail;
      struct stat st;

      if (!g_variant_is_of_type (resume_state, G_VARIANT_TYPE ("(tttt)")))
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                       "the resume state of a file source must be (tttt), not %s",
                       g_variant_get_type_string (resume_state));
          return NULL;
        }
      g_variant_get (resume_state, "(tttt)", &offset, &line_number, &head, &tail);

      if (fstat (fileno (part->file), &st) != 0)
        {
          io_error (part, "inspecting", errno, error);
          return NULL;
        }

      if ((guint64) st.st_size < offset)
        g_debug ("%s: %s is shorter than the %" G_GUINT64_FORMAT " bytes read before: "
                 "it was truncated or replaced, reading it from its start",
                 step_id, self->path, offset);
      else if (!fingerprints (part->file, offset, &now_head, &now_tail))
        {
          io_error (part, "reading", errno ? errno : EIO, error);
          return NULL;
        }
      else if (now_head != head || now_tail != tail)
        g_debug ("%s: %s is not the file read before (its content differs): reading it "
                 "from its start", step_id, self->path);
      else if (!skip_missing_line_end (part, offset, (guint64) st.st_size, &offset, error))
        return NULL;
      else
        {
          part->offset = offset;
          part->line_number = line_number;
          g_debug ("%s: resuming %s at byte %" G_GUINT64_FORMAT ", line %" G_GUINT64_FORMAT,
                   step_id, self->path, offset, line_number + 1);
        }

      if (fseeko (part->file, (off_t) part->offset, SEEK_SET) != 0)
        {
          io_error (part, "seeking in", errno, error);
          return NULL;
        }
    }

  return FLOW_SOURCE_PARTITION (g_steal_pointer (&part));
}

static void
flow_file_source_finalize (GObject *object)
{
  g_free (FLOW_FILE_SOURCE (object)->path);

  G_OBJECT_CLASS (flow_file_source_parent_class)->finalize (object);
}

static void
flow_file_source_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  FlowFileSource *self = FLOW_FILE_SOURCE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_BATCH_SIZE:
      g_value_set_uint (value, self->batch_size);
      break;
    case PROP_HOLD_PARTIAL:
      g_value_set_boolean (value, self->hold_partial);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_file_source_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  FlowFileSource *self = FLOW_FILE_SOURCE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      self->path = g_value_dup_string (value);
      break;
    case PROP_BATCH_SIZE:
      flow_file_source_set_batch_size (self, g_value_get_uint (value));
      break;
    case PROP_HOLD_PARTIAL:
      flow_file_source_set_hold_partial (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_file_source_class_init (FlowFileSourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  FlowSourceClass *source_class = FLOW_SOURCE_CLASS (klass);

  object_class->finalize = flow_file_source_finalize;
  object_class->get_property = flow_file_source_get_property;
  object_class->set_property = flow_file_source_set_property;
  source_class->list_parts = flow_file_source_list_parts;
  source_class->build_part = flow_file_source_build_part;

  /**
   * FlowFileSource:path:
   *
   * The path of the file to read.
   */
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowFileSource:batch-size:
   *
   * The largest number of lines in one batch.
   */
  properties[PROP_BATCH_SIZE] =
    g_param_spec_uint ("batch-size", NULL, NULL,
                       1, G_MAXUINT, DEFAULT_BATCH_SIZE,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowFileSource:hold-partial:
   *
   * Whether the file may still be growing. If set, an unterminated last
   * line is held back (neither emitted nor snapshotted) and a later run
   * emits it whole once it has its line end. If not set (the default), the
   * file is complete at its end and its unterminated last line is emitted;
   * a later run that finds that line continued fails with
   * %FLOW_ERROR_INPUT_CHANGED rather than split it.
   */
  properties[PROP_HOLD_PARTIAL] =
    g_param_spec_boolean ("hold-partial", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
flow_file_source_init (FlowFileSource *self)
{
  self->batch_size = DEFAULT_BATCH_SIZE;
}

/**
 * flow_file_source_new:
 * @path: (type filename): the file to read
 *
 * Creates a source reading the lines of @path. The file is opened when a
 * run starts; a missing file fails the run then.
 *
 * Returns: (transfer full): a new file source
 */
FlowFileSource *
flow_file_source_new (const char *path)
{
  g_return_val_if_fail (path != NULL, NULL);

  return g_object_new (FLOW_TYPE_FILE_SOURCE, "path", path, NULL);
}

/**
 * flow_file_source_get_path:
 * @self: a file source
 *
 * Gets the path of the file the source reads.
 *
 * Returns: (type filename): the path of the file
 */
const char *
flow_file_source_get_path (FlowFileSource *self)
{
  g_return_val_if_fail (FLOW_IS_FILE_SOURCE (self), NULL);

  return self->path;
}

/**
 * flow_file_source_get_batch_size:
 * @self: a file source
 *
 * Gets [property@Flow.FileSource:batch-size].
 *
 * Returns: the largest number of lines in one batch
 */
guint
flow_file_source_get_batch_size (FlowFileSource *self)
{
  g_return_val_if_fail (FLOW_IS_FILE_SOURCE (self), 0);

  return self->batch_size;
}

/**
 * flow_file_source_set_batch_size:
 * @self: a file source
 * @batch_size: the largest number of lines in one batch, at least 1
 *
 * Sets [property@Flow.FileSource:batch-size].
 */
void
flow_file_source_set_batch_size (FlowFileSource *self,
                                 guint           batch_size)
{
  g_return_if_fail (FLOW_IS_FILE_SOURCE (self));
  g_return_if_fail (batch_size > 0);

  if (self->batch_size != batch_size)
    {
      self->batch_size = batch_size;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BATCH_SIZE]);
    }
}

/**
 * flow_file_source_get_hold_partial:
 * @self: a file source
 *
 * Gets [property@Flow.FileSource:hold-partial].
 *
 * Returns: whether an unterminated last line is held back
 */
gboolean
flow_file_source_get_hold_partial (FlowFileSource *self)
{
  g_return_val_if_fail (FLOW_IS_FILE_SOURCE (self), FALSE);

  return self->hold_partial;
}

/**
 * flow_file_source_set_hold_partial:
 * @self: a file source
 * @hold_partial: whether the file may still be growing
 *
 * Sets [property@Flow.FileSource:hold-partial]: whether an unterminated
 * last line is held back until a later run finds it ended.
 */
void
flow_file_source_set_hold_partial (FlowFileSource *self,
                                   gboolean        hold_partial)
{
  g_return_if_fail (FLOW_IS_FILE_SOURCE (self));

  hold_partial = !!hold_partial;
  if (self->hold_partial != hold_partial)
    {
      self->hold_partial = hold_partial;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HOLD_PARTIAL]);
    }
}
