/* flow-csv-source.c: the rows of a CSV file as dictionaries, resumable
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "flow-private.h"

/**
 * FlowCSVSource:
 *
 * A source emitting the rows of a CSV file as dictionaries (`a{sv}`), as
 * Bytewax's `CSVSource` (Python's `csv.DictReader`) does: the first row is
 * the header, whose fields are the keys; each later row maps them to its
 * fields (strings, `s`). A row with fewer fields than the header maps the
 * missing keys to nothing (`mv`, Python's `None`); a row with more fails
 * the run with an error naming the file and the row; an empty line is
 * skipped. Quoted fields may hold the delimiter, doubled quotes and line
 * breaks (as `\n`).
 *
 * The dialect is set with the properties [property@Flow.CSVSource:delimiter],
 * [property@Flow.CSVSource:quote-char], [property@Flow.CSVSource:escape-char],
 * [property@Flow.CSVSource:double-quote],
 * [property@Flow.CSVSource:skip-initial-space] and
 * [property@Flow.CSVSource:strict], named after the options of Python's
 * `csv` module, with its defaults (the `excel` dialect).
 *
 * It reads the file as [class@Flow.FileSource] does (its partition is built
 * on a FileSource partition) and resumes the same way, exactly-once: at
 * the byte offset of the last committed epoch, with the header and any row
 * whose lines were only partly read kept in its snapshot; a truncated or
 * replaced file is read again from its start (header included), a grown
 * one read on. One partition, named after the file's basename.
 */

#define DEFAULT_BATCH_SIZE 1000

typedef struct
{
  char      delimiter;
  char      quote;        /* 0: none */
  char      escape;       /* 0: none */
  gboolean  double_quote;
  gboolean  skip_initial_space;
  gboolean  strict;
} CsvDialect;

struct _FlowCSVSource
{
  FlowSource  parent_instance;

  char       *path;
  guint       batch_size;
  CsvDialect  dialect;
};

enum {
  PROP_0,
  PROP_PATH,
  PROP_BATCH_SIZE,
  PROP_DELIMITER,
  PROP_QUOTE_CHAR,
  PROP_ESCAPE_CHAR,
  PROP_DOUBLE_QUOTE,
  PROP_SKIP_INITIAL_SPACE,
  PROP_STRICT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (FlowCSVSource, flow_csv_source, FLOW_TYPE_SOURCE)

#define FLOW_TYPE_CSV_SOURCE_PARTITION (flow_csv_source_partition_get_type ())
G_DECLARE_FINAL_TYPE (FlowCSVSourcePartition, flow_csv_source_partition, FLOW, CSV_SOURCE_PARTITION, FlowSourcePartition)

struct _FlowCSVSourcePartition
{
  FlowSourcePartition  parent_instance;

  char                *path;
  CsvDialect           dialect;
  guint                batch_size;
  FlowSourcePartition *inner;      /* the FileSource partition: lines */
  FlowSourceFastFunc   inner_fast;
  char               **header;     /* NULL until read */
  GString             *pending;    /* the lines of a row not complete yet */
  gboolean             has_pending;
  guint64              row;        /* rows read, header included */
  FlowBatch            lines;
};

G_DEFINE_FINAL_TYPE (FlowCSVSourcePartition, flow_csv_source_partition, FLOW_TYPE_SOURCE_PARTITION)

typedef enum
{
  PARSE_ROW,
  PARSE_INCOMPLETE,
  PARSE_ERROR,
} ParseResult;

/* Parses @text (the lines of one row, joined by '\n') into @fields. */
static ParseResult
parse_row (const CsvDialect  *d,
           const char        *text,
           GPtrArray         *fields,
           const char       **problem)
{
  enum { START, UNQUOTED, QUOTED, QUOTE_IN_QUOTED, AFTER_ESCAPE_UNQUOTED, AFTER_ESCAPE_QUOTED } state = START;
  GString *field = g_string_new (NULL);

  for (const char *p = text; ; p++)
    {
      char c = *p;

      switch (state)
        {
        case START:
          if (c == '\0')
            {
              g_ptr_array_add (fields, g_string_free (g_steal_pointer (&field), FALSE));
              return PARSE_ROW;
            }
          if (c == ' ' && d->skip_initial_space)
            continue;
          if (d->quote != 0 && c == d->quote)
            state = QUOTED;
          else if (d->escape != 0 && c == d->escape)
            state = AFTER_ESCAPE_UNQUOTED;
          else if (c == d->delimiter)
            {
              g_ptr_array_add (fields, g_string_free (field, FALSE));
              field = g_string_new (NULL);
            }
          else
            {
              g_string_append_c (field, c);
              state = UNQUOTED;
            }
          break;

        case UNQUOTED:
          if (c == '\0' || c == d->delimiter)
            {
              g_ptr_array_add (fields, g_string_free (field, FALSE));
              if (c == '\0')
                return PARSE_ROW;
              field = g_string_new (NULL);
              state = START;
            }
          else if (d->escape != 0 && c == d->escape)
            state = AFTER_ESCAPE_UNQUOTED;
          else if (d->quote != 0 && c == d->quote && d->strict)
            {
              *problem = "a quote character inside an unquoted field";
              g_string_free (field, TRUE);
              return PARSE_ERROR;
            }
          else
            g_string_append_c (field, c);
          break;

        case AFTER_ESCAPE_UNQUOTED:
        case AFTER_ESCAPE_QUOTED:
          if (c == '\0')
            {
              /* An escaped line break: the row goes on. */
              g_string_free (field, TRUE);
              return PARSE_INCOMPLETE;
            }
          g_string_append_c (field, c);
          state = state == AFTER_ESCAPE_QUOTED ? QUOTED : UNQUOTED;
          break;

        case QUOTED:
          if (c == '\0')
            {
              g_string_free (field, TRUE);
              return PARSE_INCOMPLETE;
            }
          if (d->escape != 0 && c == d->escape)
            state = AFTER_ESCAPE_QUOTED;
          else if (c == d->quote)
            state = QUOTE_IN_QUOTED;
          else
            g_string_append_c (field, c);
          break;

        case QUOTE_IN_QUOTED:
          if (c == d->quote && d->double_quote)
            {
              g_string_append_c (field, c);
              state = QUOTED;
            }
          else if (c == '\0' || c == d->delimiter)
            {
              g_ptr_array_add (fields, g_string_free (field, FALSE));
              if (c == '\0')
                return PARSE_ROW;
              field = g_string_new (NULL);
              state = START;
            }
          else if (d->strict)
            {
              *problem = "a character after the closing quote of a field";
              g_string_free (field, TRUE);
              return PARSE_ERROR;
            }
          else
            {
              g_string_append_c (field, c);
              state = UNQUOTED;
            }
          break;
        }
    }
}

/* Turns the complete row in self->pending into an item, or the header. */
static gboolean
take_row (FlowCSVSourcePartition  *self,
          FlowBatch               *out,
          GError                 **error)
{
  g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func (g_free);
  const char *problem = NULL;
  ParseResult result = parse_row (&self->dialect, self->pending->str, fields, &problem);
  GVariantBuilder dict;
  guint n_header;

  if (result == PARSE_INCOMPLETE)
    return TRUE;
  self->row++;
  self->has_pending = FALSE;
  if (result == PARSE_ERROR)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_INPUT,
                   "%s: row %" G_GUINT64_FORMAT " is not valid CSV: %s",
                   self->path, self->row, problem);
      return FALSE;
    }
  g_string_truncate (self->pending, 0);

  if (self->header == NULL)
    {
      g_ptr_array_add (fields, NULL);
      self->header = (char **) g_ptr_array_steal (fields, NULL);
      return TRUE;
    }

  n_header = g_strv_length (self->header);
  if (fields->len > n_header)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_INPUT,
                   "%s: row %" G_GUINT64_FORMAT " has %u fields, but the header has %u",
                   self->path, self->row, fields->len, n_header);
      return FALSE;
    }
  g_variant_builder_init (&dict, G_VARIANT_TYPE_VARDICT);
  for (guint i = 0; i < n_header; i++)
    {
      GVariant *value;

      if (i < fields->len)
        value = g_variant_new_string (g_ptr_array_index (fields, i));
      else
        value = g_variant_new_maybe (G_VARIANT_TYPE_VARIANT, NULL);
      g_variant_builder_add (&dict, "{sv}", self->header[i], value);
    }
  flow_batch_push_take (out, NULL, g_variant_ref_sink (g_variant_builder_end (&dict)));
  return TRUE;
}

static gboolean
csv_fast_next (FlowSourcePartition  *part,
               FlowBatch            *out,
               gboolean             *eof,
               GError              **error)
{
  FlowCSVSourcePartition *self = FLOW_CSV_SOURCE_PARTITION (part);
  gboolean ok = TRUE;

  *eof = FALSE;
  flow_batch_clear (&self->lines);
  if (self->inner_fast != NULL)
    ok = self->inner_fast (self->inner, &self->lines, eof, error);
  else
    {
      g_autoptr(GVariant) batch = flow_source_partition_next_batch (self->inner, error);

      if (batch == NULL)
        {
          if (error != NULL && *error != NULL)
            return FALSE;
          *eof = TRUE;
        }
      else
        flow_batch_push_array (&self->lines, NULL, batch);
    }
  if (!ok)
    return FALSE;

  for (guint i = 0; i < self->lines.len; i++)
    {
      const char *line = g_variant_get_string (self->lines.items[i].value, NULL);

      if (!self->has_pending && *line == '\0')
        continue;   /* an empty line is no row */
      if (self->has_pending)
        g_string_append_c (self->pending, '\n');
      g_string_append (self->pending, line);
      self->has_pending = TRUE;
      if (!take_row (self, out, error))
        return FALSE;
    }
  flow_batch_clear (&self->lines);

  if (*eof && self->has_pending)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_INPUT,
                   "%s: row %" G_GUINT64_FORMAT " is not valid CSV: the file ends inside "
                   "a quoted field", self->path, self->row + 1);
      return FALSE;
    }
  return TRUE;
}

static GVariant *
flow_csv_source_partition_next_batch (FlowSourcePartition  *part,
                                      GError              **error)
{
  FlowBatch batch;
  gboolean eof = FALSE;
  GVariantBuilder builder;

  flow_batch_init (&batch);
  if (!csv_fast_next (part, &batch, &eof, error))
    {
      flow_batch_destroy (&batch);
      return NULL;
    }
  if (eof && batch.len == 0)
    {
      flow_batch_destroy (&batch);
      return NULL;
    }
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < batch.len; i++)
    g_variant_builder_add_value (&builder, batch.items[i].value);
  flow_batch_destroy (&batch);
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

/* The snapshot: the FileSource partition's, the header, the lines of a row
 * partly read, and the number of rows read. */
static GVariant *
flow_csv_source_partition_snapshot (FlowSourcePartition  *part,
                                    GError              **error)
{
  FlowCSVSourcePartition *self = FLOW_CSV_SOURCE_PARTITION (part);
  g_autoptr(GVariant) inner = flow_source_partition_snapshot (self->inner, error);
  const char *empty[] = { NULL };

  if (inner == NULL)
    return NULL;
  return g_variant_ref_sink (g_variant_new ("(v^asmst)", inner,
                                            self->header ? (const char * const *) self->header : empty,
                                            self->has_pending ? self->pending->str : NULL,
                                            self->row));
}

static gboolean
flow_csv_source_partition_close (FlowSourcePartition  *part,
                                 GError              **error)
{
  return flow_source_partition_close (FLOW_CSV_SOURCE_PARTITION (part)->inner, error);
}

static void
flow_csv_source_partition_finalize (GObject *object)
{
  FlowCSVSourcePartition *self = FLOW_CSV_SOURCE_PARTITION (object);

  g_clear_object (&self->inner);
  g_strfreev (self->header);
  g_string_free (self->pending, TRUE);
  flow_batch_destroy (&self->lines);
  g_free (self->path);

  G_OBJECT_CLASS (flow_csv_source_partition_parent_class)->finalize (object);
}

static void
flow_csv_source_partition_class_init (FlowCSVSourcePartitionClass *klass)
{
  FlowSourcePartitionClass *part_class = FLOW_SOURCE_PARTITION_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = flow_csv_source_partition_finalize;
  part_class->next_batch = flow_csv_source_partition_next_batch;
  part_class->snapshot = flow_csv_source_partition_snapshot;
  part_class->close = flow_csv_source_partition_close;
}

static void
flow_csv_source_partition_init (FlowCSVSourcePartition *self)
{
  self->pending = g_string_new (NULL);
  flow_batch_init (&self->lines);
  flow_source_partition_set_fast_path (FLOW_SOURCE_PARTITION (self), csv_fast_next);
}

static char **
flow_csv_source_list_parts (FlowSource  *source,
                            GError     **error)
{
  char **parts = g_new0 (char *, 2);

  parts[0] = g_path_get_basename (FLOW_CSV_SOURCE (source)->path);
  return parts;
}

/* The byte offset in a FileSource partition's resume state. */
static guint64
file_state_offset (GVariant *state)
{
  guint64 offset = 0;

  if (state != NULL && g_variant_is_of_type (state, G_VARIANT_TYPE ("(tttt)")))
    g_variant_get_child (state, 0, "t", &offset);
  return offset;
}

static FlowSourcePartition *
flow_csv_source_build_part (FlowSource  *source,
                            const char  *step_id,
                            const char  *part_key,
                            GVariant    *resume_state,
                            GError     **error)
{
  FlowCSVSource *self = FLOW_CSV_SOURCE (source);
  g_autoptr(FlowFileSource) file = flow_file_source_new (self->path);
  g_autoptr(FlowCSVSourcePartition) part = NULL;
  g_autoptr(GVariant) inner_state = NULL;
  g_autofree char **header = NULL;
  const char *pending = NULL;
  guint64 row = 0;

  if (resume_state != NULL)
    {
      if (!g_variant_is_of_type (resume_state, G_VARIANT_TYPE ("(vasmst)")))
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                       "the resume state of a CSV source must be (vasmst), not %s",
                       g_variant_get_type_string (resume_state));
          return NULL;
        }
      g_variant_get (resume_state, "(v^a&sm&st)", &inner_state, &header, &pending, &row);
    }

  flow_file_source_set_batch_size (file, self->batch_size);
  part = g_object_new (FLOW_TYPE_CSV_SOURCE_PARTITION, NULL);
  part->path = g_strdup (self->path);
  part->dialect = self->dialect;
  part->batch_size = self->batch_size;
  part->inner = flow_source_build_part (FLOW_SOURCE (file), step_id, part_key, inner_state, error);
  if (part->inner == NULL)
    return NULL;
  part->inner_fast = flow_source_partition_get_fast_path (part->inner);

  if (resume_state != NULL)
    {
      g_autoptr(GVariant) now = flow_source_partition_snapshot (part->inner, error);

      if (now == NULL)
        return NULL;
      /* The FileSource partition starts over with a changed file: so do the
       * header and the row count. */
      if (file_state_offset (now) == file_state_offset (inner_state))
        {
          if (header != NULL && header[0] != NULL)
            part->header = g_strdupv (header);
          if (pending != NULL)
            {
              g_string_assign (part->pending, pending);
              part->has_pending = TRUE;
            }
          part->row = row;
        }
    }
  return FLOW_SOURCE_PARTITION (g_steal_pointer (&part));
}

static void
flow_csv_source_finalize (GObject *object)
{
  g_free (FLOW_CSV_SOURCE (object)->path);

  G_OBJECT_CLASS (flow_csv_source_parent_class)->finalize (object);
}

static char *
char_to_string (char c)
{
  return c == 0 ? g_strdup ("") : g_strndup (&c, 1);
}

/* A dialect character: one ASCII character, or none (0) when @allow_none
 * and @text is empty. */
static gboolean
string_to_char (const char *what,
                const char *text,
                gboolean    allow_none,
                char       *c)
{
  if (text == NULL || *text == '\0')
    {
      if (!allow_none)
        {
          g_critical ("FlowCSVSource:%s must be one character", what);
          return FALSE;
        }
      *c = 0;
      return TRUE;
    }
  if (text[1] != '\0' || (guchar) text[0] >= 0x80 || text[0] == '\n' || text[0] == '\r')
    {
      g_critical ("FlowCSVSource:%s must be one ASCII character other than a line end, "
                  "not '%s'", what, text);
      return FALSE;
    }
  *c = text[0];
  return TRUE;
}

static void
flow_csv_source_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  FlowCSVSource *self = FLOW_CSV_SOURCE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_BATCH_SIZE:
      g_value_set_uint (value, self->batch_size);
      break;
    case PROP_DELIMITER:
      g_value_take_string (value, char_to_string (self->dialect.delimiter));
      break;
    case PROP_QUOTE_CHAR:
      g_value_take_string (value, char_to_string (self->dialect.quote));
      break;
    case PROP_ESCAPE_CHAR:
      g_value_take_string (value, char_to_string (self->dialect.escape));
      break;
    case PROP_DOUBLE_QUOTE:
      g_value_set_boolean (value, self->dialect.double_quote);
      break;
    case PROP_SKIP_INITIAL_SPACE:
      g_value_set_boolean (value, self->dialect.skip_initial_space);
      break;
    case PROP_STRICT:
      g_value_set_boolean (value, self->dialect.strict);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_csv_source_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  FlowCSVSource *self = FLOW_CSV_SOURCE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      self->path = g_value_dup_string (value);
      break;
    case PROP_BATCH_SIZE:
      flow_csv_source_set_batch_size (self, g_value_get_uint (value));
      break;
    case PROP_DELIMITER:
      string_to_char ("delimiter", g_value_get_string (value), FALSE, &self->dialect.delimiter);
      break;
    case PROP_QUOTE_CHAR:
      string_to_char ("quote-char", g_value_get_string (value), TRUE, &self->dialect.quote);
      break;
    case PROP_ESCAPE_CHAR:
      string_to_char ("escape-char", g_value_get_string (value), TRUE, &self->dialect.escape);
      break;
    case PROP_DOUBLE_QUOTE:
      self->dialect.double_quote = g_value_get_boolean (value);
      break;
    case PROP_SKIP_INITIAL_SPACE:
      self->dialect.skip_initial_space = g_value_get_boolean (value);
      break;
    case PROP_STRICT:
      self->dialect.strict = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_csv_source_class_init (FlowCSVSourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  FlowSourceClass *source_class = FLOW_SOURCE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = flow_csv_source_finalize;
  object_class->get_property = flow_csv_source_get_property;
  object_class->set_property = flow_csv_source_set_property;
  source_class->list_parts = flow_csv_source_list_parts;
  source_class->build_part = flow_csv_source_build_part;

  /**
   * FlowCSVSource:path:
   *
   * The path of the CSV file to read.
   */
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL, flags);

  /**
   * FlowCSVSource:batch-size:
   *
   * The largest number of lines read for one batch.
   */
  properties[PROP_BATCH_SIZE] =
    g_param_spec_uint ("batch-size", NULL, NULL,
                       1, G_MAXUINT, DEFAULT_BATCH_SIZE,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowCSVSource:delimiter:
   *
   * The character between fields (Python's `delimiter`): one ASCII
   * character.
   */
  properties[PROP_DELIMITER] =
    g_param_spec_string ("delimiter", NULL, NULL, ",", flags);

  /**
   * FlowCSVSource:quote-char:
   *
   * The character that quotes fields holding special characters (Python's
   * `quotechar`); empty for no quoting (`QUOTE_NONE`).
   */
  properties[PROP_QUOTE_CHAR] =
    g_param_spec_string ("quote-char", NULL, NULL, "\"", flags);

  /**
   * FlowCSVSource:escape-char:
   *
   * The character that makes the next one literal (Python's
   * `escapechar`); empty for none.
   */
  properties[PROP_ESCAPE_CHAR] =
    g_param_spec_string ("escape-char", NULL, NULL, "", flags);

  /**
   * FlowCSVSource:double-quote:
   *
   * Whether two quote characters in a quoted field stand for one (Python's
   * `doublequote`).
   */
  properties[PROP_DOUBLE_QUOTE] =
    g_param_spec_boolean ("double-quote", NULL, NULL, TRUE, flags);

  /**
   * FlowCSVSource:skip-initial-space:
   *
   * Whether spaces right after a delimiter are ignored (Python's
   * `skipinitialspace`).
   */
  properties[PROP_SKIP_INITIAL_SPACE] =
    g_param_spec_boolean ("skip-initial-space", NULL, NULL, FALSE, flags);

  /**
   * FlowCSVSource:strict:
   *
   * Whether bad quoting fails the run (Python's `strict`) instead of being
   * read as literal characters.
   */
  properties[PROP_STRICT] =
    g_param_spec_boolean ("strict", NULL, NULL, FALSE, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
flow_csv_source_init (FlowCSVSource *self)
{
  self->batch_size = DEFAULT_BATCH_SIZE;
  self->dialect.delimiter = ',';
  self->dialect.quote = '"';
  self->dialect.double_quote = TRUE;
}

/**
 * flow_csv_source_new:
 * @path: (type filename): the CSV file to read
 *
 * Creates a source reading the rows of @path with the `excel` dialect
 * (commas, double quotes); set the dialect properties with g_object_new()
 * for another. The file is opened when a run starts; a missing file fails
 * the run then.
 *
 * Returns: (transfer full): a new CSV source
 */
FlowCSVSource *
flow_csv_source_new (const char *path)
{
  g_return_val_if_fail (path != NULL, NULL);

  return g_object_new (FLOW_TYPE_CSV_SOURCE, "path", path, NULL);
}

/**
 * flow_csv_source_get_path:
 * @self: a CSV source
 *
 * Gets the path of the file the source reads.
 *
 * Returns: (type filename): the path of the file
 */
const char *
flow_csv_source_get_path (FlowCSVSource *self)
{
  g_return_val_if_fail (FLOW_IS_CSV_SOURCE (self), NULL);

  return self->path;
}

/**
 * flow_csv_source_get_batch_size:
 * @self: a CSV source
 *
 * Gets [property@Flow.CSVSource:batch-size].
 *
 * Returns: the largest number of lines read for one batch
 */
guint
flow_csv_source_get_batch_size (FlowCSVSource *self)
{
  g_return_val_if_fail (FLOW_IS_CSV_SOURCE (self), 0);

  return self->batch_size;
}

/**
 * flow_csv_source_set_batch_size:
 * @self: a CSV source
 * @batch_size: the largest number of lines read for one batch, at least 1
 *
 * Sets [property@Flow.CSVSource:batch-size].
 */
void
flow_csv_source_set_batch_size (FlowCSVSource *self,
                                guint          batch_size)
{
  g_return_if_fail (FLOW_IS_CSV_SOURCE (self));
  g_return_if_fail (batch_size > 0);

  if (self->batch_size != batch_size)
    {
      self->batch_size = batch_size;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BATCH_SIZE]);
    }
}
