/* test-dir-connectors.c: DirSource, DirSink and CSVSource across resumes
 *
 * DirSource reads one partition per file and resumes each at its own byte
 * offset; DirSink writes one file per partition, key-routed, truncating
 * each to its snapshotted offset on resume (exactly-once); CSVSource keeps
 * its header and a row read only in part in its snapshot, so a resume in
 * the middle of a multi-line row emits that row once.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <glib/gstdio.h>

#include "recovery-common.h"

typedef struct
{
  char *dir;       /* recovery directory */
  char *in;        /* input directory */
  char *out;       /* output directory */
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->dir = rec_init_dir (2);
  f->in = rec_tmpdir ();
  f->out = rec_tmpdir ();
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  rec_rm_rf (f->dir);
  rec_rm_rf (f->in);
  rec_rm_rf (f->out);
  g_free (f->dir);
  g_free (f->in);
  g_free (f->out);
}

static void
write_in (Fixture    *f,
          const char *name,
          const char *text)
{
  g_autofree char *path = g_build_filename (f->in, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
  rec_write_file (path, text);
}

static void
append_in (Fixture    *f,
           const char *name,
           const char *text)
{
  g_autofree char *path = g_build_filename (f->in, name, NULL);
  g_autofree char *old = rec_read_file (path);
  g_autofree char *all = g_strconcat (old, text, NULL);

  rec_write_file (path, all);
}

static char *
read_out (Fixture    *f,
          const char *name)
{
  g_autofree char *path = g_build_filename (f->out, name, NULL);

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return g_strdup ("");
  return rec_read_file (path);
}

static int
compare_strings (const void *a,
                 const void *b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* The lines of @strv sorted, joined with '\n' (partitions interleave). */
static char *
sorted_joined (GStrv strv)
{
  g_auto(GStrv) copy = g_strdupv (strv);

  qsort (copy, g_strv_length (copy), sizeof (char *), compare_strings);
  return g_strjoinv ("\n", copy);
}

/* Fails once, on the item @fail_on (a string). */
static char *fail_on;

static void
fail_once (const char  *step_id,
           GVariant    *item,
           gpointer     user_data,
           GError     **error)
{
  g_autofree char *repr = flow_item_repr (item);

  if (fail_on != NULL && g_str_equal (repr, fail_on))
    {
      g_clear_pointer (&fail_on, g_free);
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_FAILED, "failing once on %s", repr);
    }
}

static GVariant *
key_by_first_char (GVariant  *item,
                   gpointer   user_data,
                   GError   **error)
{
  const char *line = g_variant_get_string (item, NULL);
  g_autofree char *key = g_strndup (line, 1);

  return g_variant_new ("(sv)", key, g_variant_new_string (line));
}

/* DirSource(in, glob) → key on the first char → DirSink(out, 2), and a
 * testing sink; fails once on @fail (NULL: never). */
static gboolean
run_dirs (Fixture      *f,
          const char   *glob,
          guint         batch_size,
          const char   *fail,
          GStrv        *got,
          GError      **error)
{
  g_autoptr(FlowDirSource) source = flow_dir_source_new (f->in, glob);
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDirSink) dir_sink = flow_dir_sink_new (f->out, 2);
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("dirs");
  FlowStream *s;
  gboolean ok;

  flow_dir_source_set_batch_size (source, batch_size);
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  flow_stream_output (s, "seen", FLOW_SINK (sink));
  s = flow_stream_map (s, "key", key_by_first_char, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (dir_sink));
  flow_stream_inspect (s, "check", fail_once, NULL, NULL);
  g_free (fail_on);
  fail_on = g_strdup (fail);

  ok = rec_run (flow, f->dir, 0, 0, NULL, error);
  *got = rec_sink_reprs (sink);
  return ok;
}

/* ------------------------------------------------------------------------
 * DirSource
 * ------------------------------------------------------------------------ */

static void
test_dir_source_resumes_each_file (Fixture       *f,
                                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got1 = NULL;
  g_auto(GStrv) got2 = NULL;
  g_auto(GStrv) got3 = NULL;
  g_autofree char *lines1 = NULL;
  g_autofree char *lines2 = NULL;
  g_autofree char *states = NULL;

  write_in (f, "a.txt", "a1\na2\na3\n");
  write_in (f, "b.txt", "b1\n");
  write_in (f, "skip.log", "not matched\n");
  write_in (f, "sub/c.txt", "not matched either: * stays in one directory\n");
  g_assert_true (run_dirs (f, "*.txt", 2, NULL, &got1, &error));
  g_assert_no_error (error);
  lines1 = sorted_joined (got1);
  g_assert_cmpstr (lines1, ==, "'a1'\n'a2'\n'a3'\n'b1'");

  /* One partition per file, under its relative path. */
  states = rec_show_states (f->dir);
  g_assert_nonnull (strstr (states, "'a.txt': (9, 3, "));
  g_assert_nonnull (strstr (states, "'b.txt': (3, 1, "));

  /* a.txt grew, b.txt did not, d.txt is new: only the new lines. */
  append_in (f, "a.txt", "a4\n");
  write_in (f, "d.txt", "d1\nd2\n");
  g_assert_true (run_dirs (f, "*.txt", 2, NULL, &got2, &error));
  g_assert_no_error (error);
  lines2 = sorted_joined (got2);
  g_assert_cmpstr (lines2, ==, "'a4'\n'd1'\n'd2'");

  /* Nothing new: nothing. */
  g_assert_true (run_dirs (f, "*.txt", 2, NULL, &got3, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (got3), ==, 0);
}

static void
test_dir_source_recursive_glob (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = NULL;
  g_autofree char *lines = NULL;

  write_in (f, "top.txt", "t\n");
  write_in (f, "x/one.txt", "o\n");
  write_in (f, "x/y/two.txt", "w\n");
  write_in (f, "x/y/two.csv", "no\n");
  g_assert_true (run_dirs (f, "**/*.txt", 10, NULL, &got, &error));
  g_assert_no_error (error);
  lines = sorted_joined (got);
  g_assert_cmpstr (lines, ==, "'o'\n't'\n'w'");
}

static void
test_dir_source_missing_dir (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = NULL;
  g_autofree char *missing = g_build_filename (f->in, "nope", NULL);

  rec_rm_rf (f->in);
  g_assert_false (run_dirs (f, "*", 10, NULL, &got, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_IO);
  g_assert_nonnull (strstr (error->message, f->in));
  g_assert_nonnull (strstr (error->message, "is not a directory"));
  g_assert_cmpint (g_mkdir (f->in, 0700), ==, 0);
}

/* ------------------------------------------------------------------------
 * DirSink, with DirSource: a failure in the middle, then the resume
 * ------------------------------------------------------------------------ */

static void
test_dir_sink_exactly_once (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got1 = NULL;
  g_auto(GStrv) got2 = NULL;
  g_autofree char *part0 = NULL;
  g_autofree char *part1 = NULL;
  g_autofree char *all = NULL;
  GString *expected = g_string_new (NULL);
  g_autofree char *expected_sorted = NULL;
  g_auto(GStrv) written = NULL;
  g_autofree char *seen = NULL;

  /* 20 lines over keys a..e */
  for (guint i = 0; i < 20; i++)
    g_string_append_printf (expected, "%c%u\n", 'a' + i % 5, i);
  write_in (f, "in.txt", expected->str);

  /* The failing step comes after the sink, on the keyed item: batches of
   * 3 lines, an epoch each, so d13's batch was written, not committed. */
  g_assert_false (run_dirs (f, "*", 3, "('d', 'd13')", &got1, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_true (run_dirs (f, "*", 3, NULL, &got2, &error));
  g_assert_no_error (error);
  /* The resumed run read on from the last committed epoch: the batch of
   * lines 12-14 again. */
  seen = g_strjoinv (" ", got2);
  g_assert_cmpstr (seen, ==, "'c12' 'd13' 'e14' 'a15' 'b16' 'c17' 'd18' 'e19'");

  /* Each key always goes to the same file; every line is written once. */
  part0 = read_out (f, "part_0");
  part1 = read_out (f, "part_1");
  g_assert_cmpuint (strlen (part0), >, 0);
  g_assert_cmpuint (strlen (part1), >, 0);
  for (char c = 'a'; c <= 'e'; c++)
    {
      char needle[3] = { '\n', c, '\0' };
      g_autofree char *p0 = g_strconcat ("\n", part0, NULL);
      g_autofree char *p1 = g_strconcat ("\n", part1, NULL);
      g_assert_true ((strstr (p0, needle) != NULL) != (strstr (p1, needle) != NULL));
    }
  all = g_strconcat (part0, part1, NULL);
  written = g_strsplit (all, "\n", -1);
  {
    g_autofree char *got_sorted = NULL;
    g_auto(GStrv) want = g_strsplit (expected->str, "\n", -1);
    qsort (want, g_strv_length (want), sizeof (char *), compare_strings);
    qsort (written, g_strv_length (written), sizeof (char *), compare_strings);
    got_sorted = g_strjoinv ("\n", written);
    expected_sorted = g_strjoinv ("\n", want);
    g_assert_cmpstr (got_sorted, ==, expected_sorted);
  }
  g_string_free (expected, TRUE);
}

/* Bytes after the snapshotted offset of a file (an epoch that was not
 * committed) are dropped by the resumed run, file by file. */
static void
test_dir_sink_truncates_uncommitted (Fixture       *f,
                                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got1 = NULL;
  g_auto(GStrv) got2 = NULL;
  g_autofree char *before0 = NULL;
  g_autofree char *before1 = NULL;
  g_autofree char *after0 = NULL;
  g_autofree char *after1 = NULL;
  g_autofree char *path0 = g_build_filename (f->out, "part_0", NULL);
  g_autofree char *junk = NULL;

  write_in (f, "in.txt", "a1\nb2\nc3\n");
  g_assert_true (run_dirs (f, "*", 2, NULL, &got1, &error));
  g_assert_no_error (error);
  before0 = read_out (f, "part_0");
  before1 = read_out (f, "part_1");

  junk = g_strconcat (before0, "written by an epoch that was not committed\n", NULL);
  rec_write_file (path0, junk);
  append_in (f, "in.txt", "a4\n");
  g_assert_true (run_dirs (f, "*", 2, NULL, &got2, &error));
  g_assert_no_error (error);
  after0 = read_out (f, "part_0");
  after1 = read_out (f, "part_1");
  g_assert_null (strstr (after0, "not committed"));
  g_assert_cmpuint (strlen (after0) + strlen (after1), ==,
                    strlen (before0) + strlen (before1) + strlen ("a4\n"));
}

static void
test_dir_sink_missing_dir (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = NULL;

  write_in (f, "in.txt", "a\n");
  rec_rm_rf (f->out);
  g_assert_false (run_dirs (f, "*", 2, NULL, &got, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "DirSink"));
  g_assert_nonnull (strstr (error->message, f->out));
  g_assert_cmpint (g_mkdir (f->out, 0700), ==, 0);
}

/* ------------------------------------------------------------------------
 * CSVSource
 * ------------------------------------------------------------------------ */

static gboolean
run_csv (Fixture      *f,
         const char   *fail,
         GStrv        *got,
         GError      **error)
{
  g_autofree char *path = g_build_filename (f->in, "people.csv", NULL);
  g_autoptr(FlowCSVSource) source = flow_csv_source_new (path);
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("csv");
  FlowStream *s;
  gboolean ok;

  /* One line per batch, an epoch per batch: snapshots in the middle of a
   * row of several lines. */
  flow_csv_source_set_batch_size (source, 1);
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  flow_stream_output (s, "out", FLOW_SINK (sink));
  flow_stream_inspect (s, "check", fail_once, NULL, NULL);
  g_free (fail_on);
  fail_on = g_strdup (fail);
  ok = rec_run (flow, f->dir, 0, 0, NULL, error);
  *got = rec_sink_reprs (sink);
  return ok;
}

static const char people[] =
  "name,note\n"
  "\"Smith, J\",one\n"
  "\"multi\n"
  "line\n"
  "name\",\"say \"\"hi\"\"\"\n"
  "\n"
  "Doe\n"
  "Roe,last\n";

static void
test_csv_rows (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = NULL;
  const char *expected[] = {
    "{'name': 'Smith, J', 'note': 'one'}",
    "{'name': 'multi\\nline\\nname', 'note': 'say \"hi\"'}",
    "{'name': 'Doe', 'note': None}",
    "{'name': 'Roe', 'note': 'last'}",
    NULL,
  };

  write_in (f, "people.csv", people);
  g_assert_true (run_csv (f, NULL, &got, &error));
  g_assert_no_error (error);
  rec_assert_strv (got, expected);
}

/* A failure after the first line of the multi-line row was committed: the
 * resumed run emits that row once, whole, with the header of its snapshot. */
static void
test_csv_resume_inside_a_row (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got1 = NULL;
  g_auto(GStrv) got2 = NULL;
  const char *expected1[] = {
    "{'name': 'Smith, J', 'note': 'one'}",
    "{'name': 'multi\\nline\\nname', 'note': 'say \"hi\"'}",
    NULL,
  };
  const char *expected2[] = {
    "{'name': 'multi\\nline\\nname', 'note': 'say \"hi\"'}",
    "{'name': 'Doe', 'note': None}",
    "{'name': 'Roe', 'note': 'last'}",
    NULL,
  };

  write_in (f, "people.csv", people);
  g_assert_false (run_csv (f, "{'name': 'multi\\nline\\nname', 'note': 'say \"hi\"'}",
                           &got1, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_FAILED);
  g_clear_error (&error);
  rec_assert_strv (got1, expected1);

  g_assert_true (run_csv (f, NULL, &got2, &error));
  g_assert_no_error (error);
  rec_assert_strv (got2, expected2);
}

static void
test_csv_replaced_file_rereads_header (Fixture       *f,
                                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got1 = NULL;
  g_auto(GStrv) got2 = NULL;
  const char *expected[] = { "{'x': '1', 'y': '2'}", NULL };

  write_in (f, "people.csv", people);
  g_assert_true (run_csv (f, NULL, &got1, &error));
  g_assert_no_error (error);
  write_in (f, "people.csv", "x,y\n1,2\n");
  g_assert_true (run_csv (f, NULL, &got2, &error));
  g_assert_no_error (error);
  rec_assert_strv (got2, expected);
}

static void
test_csv_errors (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = NULL;

  write_in (f, "people.csv", "a,b\n1,2\n1,2,3\n");
  g_assert_false (run_csv (f, NULL, &got, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_INPUT);
  g_assert_nonnull (strstr (error->message, "people.csv: row 3 has 3 fields, but the header has 2"));
  g_clear_error (&error);
  g_clear_pointer (&got, g_strfreev);

  rec_rm_rf (f->dir);
  g_free (f->dir);
  f->dir = rec_init_dir (1);
  write_in (f, "people.csv", "a,b\n\"open,2\n");
  g_assert_false (run_csv (f, NULL, &got, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_INPUT);
  g_assert_nonnull (strstr (error->message, "people.csv: row 2 is not valid CSV: the file ends "
                                            "inside a quoted field"));
}

static void
test_csv_dialect (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (f->in, "t.tsv", NULL);
  g_autoptr(FlowCSVSource) source = NULL;
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("tsv");
  g_auto(GStrv) got = NULL;
  const char *expected[] = { "{'a': 'x, y', 'b': 'p|q'}", NULL };

  rec_write_file (path, "a;b\n  x, y; 'p\\|q'\n");
  source = g_object_new (FLOW_TYPE_CSV_SOURCE, "path", path, "delimiter", ";",
                         "quote-char", "'", "escape-char", "\\", "skip-initial-space", TRUE,
                         NULL);
  flow_stream_output (flow_dataflow_input (flow, "inp", FLOW_SOURCE (source)), "out",
                      FLOW_SINK (sink));
  g_assert_true (rec_run (flow, NULL, 0, 0, NULL, &error));
  g_assert_no_error (error);
  got = rec_sink_reprs (sink);
  rec_assert_strv (got, expected);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/dirs/source/resumes-each-file", test_dir_source_resumes_each_file);
  ADD ("/dirs/source/recursive-glob", test_dir_source_recursive_glob);
  ADD ("/dirs/source/missing-dir", test_dir_source_missing_dir);
  ADD ("/dirs/sink/exactly-once", test_dir_sink_exactly_once);
  ADD ("/dirs/sink/truncates-uncommitted", test_dir_sink_truncates_uncommitted);
  ADD ("/dirs/sink/missing-dir", test_dir_sink_missing_dir);
  ADD ("/dirs/csv/rows", test_csv_rows);
  ADD ("/dirs/csv/resume-inside-a-row", test_csv_resume_inside_a_row);
  ADD ("/dirs/csv/replaced-file", test_csv_replaced_file_rereads_header);
  ADD ("/dirs/csv/errors", test_csv_errors);
  ADD ("/dirs/csv/dialect", test_csv_dialect);

  return g_test_run ();
}
