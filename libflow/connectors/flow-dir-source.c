/* flow-dir-source.c: the lines of the files of a directory, one partition
 * per file, resumable
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <string.h>

#include <glib/gstdio.h>

#include "flow-private.h"

/**
 * FlowDirSource:
 *
 * A source reading the lines of the files of a directory, as Bytewax's
 * `DirSource`: one partition per regular file whose path relative to the
 * directory matches [property@Flow.DirSource:glob], named by that relative
 * path. Each partition reads its file exactly as [class@Flow.FileSource]
 * does (its partitions are FileSource partitions): lines without their
 * line ends, [property@Flow.DirSource:batch-size] at a time, resumed at the
 * byte offset of the last committed epoch, a truncated or replaced file read
 * again from its start, a grown one read on.
 *
 * The glob is matched against the relative path as Python's
 * `pathlib.Path.glob` does: `*`, `?` and `[…]` within one path component,
 * `**` for any number of directories (`**` followed by `/` matches zero or
 * more of them). Files are listed when a run starts, sorted by path; a file
 * that appears in a later run is a new partition read from its start.
 */

#define DEFAULT_BATCH_SIZE 1000

struct _FlowDirSource
{
  FlowSource  parent_instance;

  char       *dir;
  char       *glob;
  guint       batch_size;
};

enum {
  PROP_0,
  PROP_DIR,
  PROP_GLOB,
  PROP_BATCH_SIZE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (FlowDirSource, flow_dir_source, FLOW_TYPE_SOURCE)

/* Whether the path components @path match the glob components @pattern. */
static gboolean
glob_match (char **pattern,
            char **path)
{
  if (*pattern == NULL)
    return *path == NULL;
  if (g_str_equal (*pattern, "**"))
    {
      /* Zero or more directories; a trailing ** matches files too. */
      for (char **p = path; ; p++)
        {
          if (glob_match (pattern + 1, p))
            return TRUE;
          if (*p == NULL)
            return FALSE;
        }
    }
  if (*path == NULL)
    return FALSE;
  if (fnmatch (*pattern, *path, 0) != 0)
    return FALSE;
  return glob_match (pattern + 1, path + 1);
}

static gboolean
list_files (const char  *root,
            const char  *relative,     /* NULL for the root itself */
            char       **pattern,
            GPtrArray   *found,
            GError     **error)
{
  g_autofree char *path = relative ? g_build_filename (root, relative, NULL) : g_strdup (root);
  g_autoptr(GError) local = NULL;
  g_autoptr(GDir) dir = g_dir_open (path, 0, &local);
  const char *name;

  if (dir == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO,
                   "listing the files of %s: %s", path, local->message);
      return FALSE;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *rel = relative ? g_build_filename (relative, name, NULL) : g_strdup (name);
      g_autofree char *full = g_build_filename (root, rel, NULL);
      GStatBuf st;

      if (g_stat (full, &st) != 0)
        continue;       /* a dangling link, or a file deleted meanwhile */
      if (S_ISDIR (st.st_mode))
        {
          if (!list_files (root, rel, pattern, found, error))
            return FALSE;
        }
      else if (S_ISREG (st.st_mode))
        {
          g_auto(GStrv) components = g_strsplit (rel, G_DIR_SEPARATOR_S, -1);

          if (glob_match (pattern, components))
            g_ptr_array_add (found, g_steal_pointer (&rel));
        }
    }
  return TRUE;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static char **
flow_dir_source_list_parts (FlowSource  *source,
                            GError     **error)
{
  FlowDirSource *self = FLOW_DIR_SOURCE (source);
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) pattern = g_strsplit (self->glob, "/", -1);

  if (!g_file_test (self->dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO,
                   "DirSource: %s is not a directory", self->dir);
      return NULL;
    }
  if (!list_files (self->dir, NULL, pattern, found, error))
    return NULL;
  g_ptr_array_sort (found, compare_strings);
  g_ptr_array_add (found, NULL);
  g_debug ("DirSource %s (%s): %u files", self->dir, self->glob, found->len - 1);
  return (char **) g_ptr_array_free (g_steal_pointer (&found), FALSE);
}

/* Whether @path is relative and stays inside its directory. Shared with
 * FlowDirSink (flow-private.h). */
gboolean
flow_dir_relative_path_ok (const char *path)
{
  g_auto(GStrv) components = NULL;

  if (*path == '\0' || g_path_is_absolute (path))
    return FALSE;
  components = g_strsplit (path, G_DIR_SEPARATOR_S, -1);
  for (guint i = 0; components[i] != NULL; i++)
    if (g_str_equal (components[i], "..") || components[i][0] == '\0')
      return FALSE;
  return TRUE;
}

static FlowSourcePartition *
flow_dir_source_build_part (FlowSource  *source,
                            const char  *step_id,
                            const char  *part_key,
                            GVariant    *resume_state,
                            GError     **error)
{
  FlowDirSource *self = FLOW_DIR_SOURCE (source);
  g_autofree char *path = NULL;
  g_autoptr(FlowFileSource) file = NULL;

  if (part_key == NULL || !flow_dir_relative_path_ok (part_key))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "DirSource %s: '%s' is not a file of the directory",
                   self->dir, part_key ? part_key : "(null)");
      return NULL;
    }
  /* The partition of a FileSource of that file: the same reading, the same
   * resume state, the same handling of a changed file. */
  path = g_build_filename (self->dir, part_key, NULL);
  file = flow_file_source_new (path);
  flow_file_source_set_batch_size (file, self->batch_size);
  return flow_source_build_part (FLOW_SOURCE (file), step_id, part_key, resume_state, error);
}

static void
flow_dir_source_finalize (GObject *object)
{
  FlowDirSource *self = FLOW_DIR_SOURCE (object);

  g_free (self->dir);
  g_free (self->glob);

  G_OBJECT_CLASS (flow_dir_source_parent_class)->finalize (object);
}

static void
flow_dir_source_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  FlowDirSource *self = FLOW_DIR_SOURCE (object);

  switch (prop_id)
    {
    case PROP_DIR:
      g_value_set_string (value, self->dir);
      break;
    case PROP_GLOB:
      g_value_set_string (value, self->glob);
      break;
    case PROP_BATCH_SIZE:
      g_value_set_uint (value, self->batch_size);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_dir_source_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  FlowDirSource *self = FLOW_DIR_SOURCE (object);

  switch (prop_id)
    {
    case PROP_DIR:
      self->dir = g_value_dup_string (value);
      break;
    case PROP_GLOB:
      g_free (self->glob);
      self->glob = g_value_get_string (value) ? g_value_dup_string (value) : g_strdup ("*");
      break;
    case PROP_BATCH_SIZE:
      flow_dir_source_set_batch_size (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_dir_source_class_init (FlowDirSourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  FlowSourceClass *source_class = FLOW_SOURCE_CLASS (klass);

  object_class->finalize = flow_dir_source_finalize;
  object_class->get_property = flow_dir_source_get_property;
  object_class->set_property = flow_dir_source_set_property;
  source_class->list_parts = flow_dir_source_list_parts;
  source_class->build_part = flow_dir_source_build_part;

  /**
   * FlowDirSource:dir:
   *
   * The directory whose files are read.
   */
  properties[PROP_DIR] =
    g_param_spec_string ("dir", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowDirSource:glob:
   *
   * The pattern the files' paths relative to the directory must match
   * (`*` by default: the files directly in the directory).
   */
  properties[PROP_GLOB] =
    g_param_spec_string ("glob", NULL, NULL,
                         "*",
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowDirSource:batch-size:
   *
   * The largest number of lines in one batch of a partition.
   */
  properties[PROP_BATCH_SIZE] =
    g_param_spec_uint ("batch-size", NULL, NULL,
                       1, G_MAXUINT, DEFAULT_BATCH_SIZE,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
flow_dir_source_init (FlowDirSource *self)
{
  self->glob = g_strdup ("*");
  self->batch_size = DEFAULT_BATCH_SIZE;
}

/**
 * flow_dir_source_new:
 * @dir: (type filename): the directory to read
 * @glob: (nullable): the pattern of the files to read, relative to @dir;
 *   %NULL for `*`
 *
 * Creates a source reading the lines of the files of @dir that match @glob,
 * one partition per file. The directory is listed when a run starts; a
 * missing directory fails the run then.
 *
 * Returns: (transfer full): a new directory source
 */
FlowDirSource *
flow_dir_source_new (const char *dir,
                     const char *glob)
{
  g_return_val_if_fail (dir != NULL, NULL);

  return g_object_new (FLOW_TYPE_DIR_SOURCE, "dir", dir, "glob", glob ? glob : "*", NULL);
}

/**
 * flow_dir_source_get_dir:
 * @self: a directory source
 *
 * Gets the directory the source reads ([property@Flow.DirSource:dir]).
 *
 * Returns: (type filename): the directory
 */
const char *
flow_dir_source_get_dir (FlowDirSource *self)
{
  g_return_val_if_fail (FLOW_IS_DIR_SOURCE (self), NULL);

  return self->dir;
}

/**
 * flow_dir_source_get_glob:
 * @self: a directory source
 *
 * Gets [property@Flow.DirSource:glob].
 *
 * Returns: the pattern of the files read
 */
const char *
flow_dir_source_get_glob (FlowDirSource *self)
{
  g_return_val_if_fail (FLOW_IS_DIR_SOURCE (self), NULL);

  return self->glob;
}

/**
 * flow_dir_source_get_batch_size:
 * @self: a directory source
 *
 * Gets [property@Flow.DirSource:batch-size].
 *
 * Returns: the largest number of lines in one batch
 */
guint
flow_dir_source_get_batch_size (FlowDirSource *self)
{
  g_return_val_if_fail (FLOW_IS_DIR_SOURCE (self), 0);

  return self->batch_size;
}

/**
 * flow_dir_source_set_batch_size:
 * @self: a directory source
 * @batch_size: the largest number of lines in one batch, at least 1
 *
 * Sets [property@Flow.DirSource:batch-size].
 */
void
flow_dir_source_set_batch_size (FlowDirSource *self,
                                guint          batch_size)
{
  g_return_if_fail (FLOW_IS_DIR_SOURCE (self));
  g_return_if_fail (batch_size > 0);

  if (self->batch_size != batch_size)
    {
      self->batch_size = batch_size;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BATCH_SIZE]);
    }
}
