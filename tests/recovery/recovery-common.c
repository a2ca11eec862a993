/* recovery-common.c: helpers shared by the recovery tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "recovery-common.h"

char *
rec_tmpdir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("flow-recovery-test-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

char *
rec_init_dir (guint n_partitions)
{
  g_autoptr(GError) error = NULL;
  char *dir = rec_tmpdir ();

  flow_recovery_init_dir (dir, n_partitions, &error);
  g_assert_no_error (error);
  return dir;
}

void
rec_rm_rf (const char *path)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFileEnumerator) children = NULL;

  if (path == NULL)
    return;
  file = g_file_new_for_path (path);
  children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  if (children != NULL)
    {
      GFileInfo *info;

      while ((info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, g_file_info_get_name (info), NULL);
          rec_rm_rf (child);
          g_object_unref (info);
        }
    }
  g_remove (path);
}

char *
rec_part_path (const char *dir,
               guint       index)
{
  g_autofree char *name = g_strdup_printf ("part-%u.sqlite3", index);

  return g_build_filename (dir, name, NULL);
}

void
rec_copy_file (const char *from,
               const char *to)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len;

  g_file_get_contents (from, &contents, &len, &error);
  g_assert_no_error (error);
  g_file_set_contents (to, contents, len, &error);
  g_assert_no_error (error);
}

gboolean
rec_run (FlowDataflow  *flow,
         const char    *dir,
         double         snapshot_interval,
         double         backup_interval,
         guint64       *resume_epoch,
         GError       **error)
{
  g_autoptr(FlowRunner) runner = flow_runner_new (flow);
  gboolean ok;

  if (dir != NULL)
    flow_runner_set_recovery_directory (runner, dir);
  flow_runner_set_snapshot_interval (runner, snapshot_interval);
  flow_runner_set_backup_interval (runner, backup_interval);
  ok = flow_runner_run (runner, NULL, error);
  if (resume_epoch != NULL)
    *resume_epoch = flow_runner_get_resume_epoch (runner);
  return ok;
}

GStrv
rec_sink_reprs (FlowTestingSink *sink)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  guint n = flow_testing_sink_get_n_items (sink);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GVariant) item = flow_testing_sink_get_item (sink, i);
      g_ptr_array_add (lines, flow_item_repr (item));
    }
  return rec_strv (lines);
}

void
rec_add (GPtrArray  *lines,
         const char *format,
         ...)
{
  va_list args;

  va_start (args, format);
  g_ptr_array_add (lines, g_strdup_vprintf (format, args));
  va_end (args);
}

GStrv
rec_strv (GPtrArray *lines)
{
  GStrv strv = g_new0 (char *, lines->len + 1);

  for (guint i = 0; i < lines->len; i++)
    strv[i] = g_strdup (g_ptr_array_index (lines, i));
  return strv;
}

void
rec_assert_strv_impl (const char         *file,
                      int                 line,
                      const char         *what,
                      const char * const *got,
                      const char * const *expected)
{
  g_autofree char *got_s = NULL;
  g_autofree char *expected_s = NULL;
  g_autofree char *message = NULL;

  if (g_strv_equal (got, expected))
    return;
  got_s = g_strjoinv (", ", (GStrv) got);
  expected_s = g_strjoinv (", ", (GStrv) expected);
  message = g_strdup_printf ("%s is [%s] (%u items), expected [%s] (%u items)", what,
                             got_s, g_strv_length ((GStrv) got),
                             expected_s, g_strv_length ((GStrv) expected));
  g_assertion_message (G_LOG_DOMAIN, file, line, G_STRFUNC, message);
}

GStrv
rec_strv_slice (const char * const *strv,
                guint               from,
                guint               to)
{
  guint n = g_strv_length ((GStrv) strv);
  GStrv slice;

  to = MIN (to, n);
  from = MIN (from, to);
  slice = g_new0 (char *, to - from + 1);
  for (guint i = from; i < to; i++)
    slice[i - from] = g_strdup (strv[i]);
  return slice;
}

GStrv
rec_strv_concat (const char * const *a,
                 const char * const *b)
{
  guint na = g_strv_length ((GStrv) a), nb = g_strv_length ((GStrv) b);
  GStrv strv = g_new0 (char *, na + nb + 1);

  for (guint i = 0; i < na; i++)
    strv[i] = g_strdup (a[i]);
  for (guint i = 0; i < nb; i++)
    strv[na + i] = g_strdup (b[i]);
  return strv;
}

int
rec_tool (char **out,
          char **err,
          ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  const char *tool = g_getenv ("FLOW_RECOVERY_TOOL");
  const char *arg;
  int status = 0;
  va_list args;

  g_assert_nonnull (tool);
  g_ptr_array_add (argv, (gpointer) tool);
  va_start (args, err);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                out, err, &status, &error);
  g_assert_no_error (error);
  if (!WIFEXITED (status))
    return -1;
  return WEXITSTATUS (status);
}

char *
rec_show_states (const char *dir)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GRegex) epoch = NULL;
  const char *section;
  int status;

  status = rec_tool (&out, &err, "show", dir, NULL);
  g_assert_cmpint (status, ==, 0);
  section = strstr (out, "\nState as of epoch");
  g_assert_nonnull (section);
  section = strchr (section + 1, '\n');
  g_assert_nonnull (section);
  epoch = g_regex_new ("  \\(epoch [0-9]+, [^\n]*\\)$", G_REGEX_MULTILINE, 0, NULL);
  return g_regex_replace_literal (epoch, section + 1, -1, 0, "", 0, NULL);
}

char *
rec_file_state (const char *path)
{
  g_autofree char *contents = NULL;
  g_autofree char *sum = NULL;
  gsize len = 0;
  struct stat st;

  if (g_stat (path, &st) != 0)
    return g_strdup_printf ("%s: (missing)", path);
  if (!g_file_get_contents (path, &contents, &len, NULL))
    return g_strdup_printf ("%s: (unreadable)", path);
  sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, len);
  return g_strdup_printf ("%s: %" G_GINT64_FORMAT " bytes, mtime %" G_GINT64_FORMAT ".%09ld, sha256 %s",
                          path, (gint64) st.st_size, (gint64) st.st_mtim.tv_sec,
                          st.st_mtim.tv_nsec, sum);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

char *
rec_dir_state (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GString *state = g_string_new (NULL);
  const char *name;

  if (d == NULL)
    return g_string_free (state, FALSE);
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
      g_autofree char *line = rec_file_state (path);
      g_string_append_printf (state, "%s\n", line);
    }
  return g_string_free (state, FALSE);
}

static sqlite3 *
sql_open (const char *path)
{
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL);

  if (rc != SQLITE_OK)
    g_error ("opening %s: %s", path, sqlite3_errstr (rc));
  sqlite3_busy_timeout (db, 10000);
  return db;
}

void
rec_sql_exec (const char *path,
              const char *sql)
{
  sqlite3 *db = sql_open (path);
  char *message = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s: %s", path, sql, message);
  sqlite3_close (db);
}

GStrv
rec_sql_rows (const char *path,
              const char *sql)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func (g_free);
  sqlite3 *db = sql_open (path);
  sqlite3_stmt *stmt = NULL;
  int rc;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    g_error ("%s: %s: %s", path, sql, sqlite3_errmsg (db));
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      GString *row = g_string_new (NULL);

      for (int i = 0; i < sqlite3_column_count (stmt); i++)
        {
          if (i > 0)
            g_string_append_c (row, '|');
          if (sqlite3_column_type (stmt, i) == SQLITE_NULL)
            g_string_append (row, "NULL");
          else
            g_string_append (row, (const char *) sqlite3_column_text (stmt, i));
        }
      g_ptr_array_add (rows, g_string_free (row, FALSE));
    }
  if (rc != SQLITE_DONE)
    g_error ("%s: %s: %s", path, sql, sqlite3_errmsg (db));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return rec_strv (rows);
}

gint64
rec_sql_int (const char *path,
             const char *sql)
{
  g_auto(GStrv) rows = rec_sql_rows (path, sql);

  g_assert_cmpuint (g_strv_length (rows), ==, 1);
  return g_ascii_strtoll (rows[0], NULL, 10);
}

void
rec_write_file (const char *path,
                const char *contents)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

char *
rec_read_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}
