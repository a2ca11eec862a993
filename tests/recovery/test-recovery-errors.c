/* test-recovery-errors.c: bad recovery directories, and `flow-recovery`
 *
 * Every error is a FlowError whose message names the directory or the
 * partition file, the tool exits non-zero with it, and nothing on disk
 * changes (names, sizes, mtimes and contents of every file compared
 * before and after).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <glib/gstdio.h>
#include <sys/wait.h>

#include "recovery-common.h"

/* ------------------------------------------------------------------------
 * A small keyed flow: (key, int) items, a running sum per key
 * ------------------------------------------------------------------------ */

static GVariant *
zero (gpointer   user_data,
      GError   **error)
{
  return g_variant_new_int64 (0);
}

static GVariant *
add (GVariant  *sum,
     GVariant  *value,
     GVariant **emit,
     gpointer   user_data,
     GError   **error)
{
  gint64 updated = g_variant_get_int64 (sum) + g_variant_get_int64 (value);

  *emit = g_variant_new_int64 (updated);
  return g_variant_new_int64 (updated);
}

/* Items i in [0, n): key "k{i % 8}", value i + 1. */
static GVariant *
keyed_items (guint n)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sv)"));
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *key = g_strdup_printf ("k%u", i % 8);
      g_variant_builder_add (&builder, "(sv)", key, g_variant_new_int64 (i + 1));
    }
  return g_variant_builder_end (&builder);
}

/* What the flow emits for items [from, to): ('k', running sum). */
static GStrv
expected_output (guint from,
                 guint to)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  gint64 sums[8] = { 0 };

  for (guint i = 0; i < to; i++)
    {
      sums[i % 8] += i + 1;
      if (i >= from)
        rec_add (lines, "('k%u', %" G_GINT64_FORMAT ")", i % 8, sums[i % 8]);
    }
  return rec_strv (lines);
}

/* Runs the flow @flow_id over the first @n items; returns what it
 * emitted, or NULL with @error set. */
static GStrv
run_keyed (const char  *flow_id,
           const char  *dir,
           guint        n,
           double       backup,
           GError     **error)
{
  g_autoptr(FlowTestingSource) source = flow_testing_source_new (keyed_items (n));
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = flow_dataflow_new (flow_id);
  FlowStream *s;

  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_stateful_map (s, "sum", zero, NULL, NULL, add, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));
  if (!rec_run (flow, dir, 0, backup, NULL, error))
    return NULL;
  return rec_sink_reprs (sink);
}

static void
run_keyed_ok (const char *flow_id,
              const char *dir,
              guint       n,
              double      backup)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = run_keyed (flow_id, dir, n, backup, &error);

  g_assert_no_error (error);
}

/* Runs the keyed flow and `flow-recovery show` against @dir: the run must
 * fail with @code and a message containing every string of @names, and
 * so must show (unless the problem is only with @flow_id); and @dir must
 * be left as it was. */
static void
assert_fails_untouched_full (const char *dir,
                             const char *flow_id,
                             FlowError   code,
                             const char *names[],
                             gboolean    show_fails)
{
  g_autofree char *before = rec_dir_state (dir);
  g_autofree char *after_run = NULL;
  g_autofree char *after_show = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = run_keyed (flow_id, dir, 4, 0, &error);
  int status;

  g_assert_null (got);
  g_assert_error (error, FLOW_ERROR, (int) code);
  for (guint i = 0; names[i] != NULL; i++)
    if (strstr (error->message, names[i]) == NULL)
      g_error ("the error '%s' does not name %s", error->message, names[i]);
  after_run = rec_dir_state (dir);
  g_assert_cmpstr (after_run, ==, before);

  status = rec_tool (&out, &err, "show", dir, NULL);
  if (show_fails)
    {
      g_assert_cmpint (status, !=, 0);
      for (guint i = 0; names[i] != NULL; i++)
        if (strstr (err, names[i]) == NULL && strstr (out, names[i]) == NULL)
          g_error ("flow-recovery show does not name %s:\n%s%s", names[i], out, err);
    }
  else
    g_assert_cmpint (status, ==, 0);
  after_show = rec_dir_state (dir);
  g_assert_cmpstr (after_show, ==, before);
}

static void
assert_fails_untouched (const char *dir,
                        const char *flow_id,
                        FlowError   code,
                        const char *names[])
{
  assert_fails_untouched_full (dir, flow_id, code, names, TRUE);
}

/* ------------------------------------------------------------------------
 * flow-recovery init
 * ------------------------------------------------------------------------ */

static void
test_init_missing_dir (void)
{
  g_autofree char *parent = rec_tmpdir ();
  g_autofree char *dir = g_build_filename (parent, "missing", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = NULL;
  int status;

  status = rec_tool (&out, &err, "init", dir, "2", NULL);
  g_assert_cmpint (status, !=, 0);
  g_assert_nonnull (strstr (err, dir));
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));

  g_assert_false (flow_recovery_init_dir (dir, 2, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, dir));
  g_clear_error (&error);
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));

  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  status = rec_tool (&out, &err, "show", dir, NULL);
  g_assert_cmpint (status, !=, 0);
  g_assert_nonnull (strstr (err, dir));
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));

  /* Running against it does not create it either. */
  got = run_keyed ("errors", dir, 4, 0, &error);
  g_assert_null (got);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_NO_PARTITIONS);
  g_assert_nonnull (strstr (error->message, dir));
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));

  rec_rm_rf (parent);
}

static void
test_init_bad_count (void)
{
  static const char *bad[] = { "0", "-1", "abc", "", "1.5", "3x", " 2", "99999999999999999999" };
  g_autofree char *dir = rec_tmpdir ();
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      g_autofree char *state = NULL;
      g_autofree char *quoted = g_strdup_printf ("'%s'", bad[i]);
      int status = rec_tool (&out, &err, "init", dir, bad[i], NULL);

      if (status == 0 || strstr (err, quoted) == NULL)
        g_error ("flow-recovery init DIR %s: exit status %d, stderr '%s'", quoted, status, err);
      state = rec_dir_state (dir);
      g_assert_cmpstr (state, ==, "");
    }

  g_assert_false (flow_recovery_init_dir (dir, 0, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT);
  {
    g_autofree char *state = rec_dir_state (dir);
    g_assert_cmpstr (state, ==, "");
  }

  rec_rm_rf (dir);
}

static void
test_init_existing (void)
{
  g_autofree char *dir = rec_init_dir (2);
  g_autofree char *before = NULL;
  g_autoptr(GError) error = NULL;

  run_keyed_ok ("errors", dir, 8, 0);
  before = rec_dir_state (dir);

  for (guint n = 1; n <= 3; n++)
    {
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      g_autofree char *count = g_strdup_printf ("%u", n);
      g_autofree char *after = NULL;
      int status = rec_tool (&out, &err, "init", dir, count, NULL);

      g_assert_cmpint (status, !=, 0);
      g_assert_nonnull (strstr (err, dir));
      after = rec_dir_state (dir);
      g_assert_cmpstr (after, ==, before);
    }

  g_assert_false (flow_recovery_init_dir (dir, 3, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_PARTITIONS_EXIST);
  g_assert_nonnull (strstr (error->message, dir));
  {
    g_autofree char *after = rec_dir_state (dir);
    g_assert_cmpstr (after, ==, before);
  }

  rec_rm_rf (dir);
}

/* A directory with only a stray partition (another count's last one) is
 * not empty either. */
static void
test_init_stray_partition (void)
{
  g_autofree char *other = rec_init_dir (6);
  g_autofree char *dir = rec_tmpdir ();
  g_autofree char *from = rec_part_path (other, 5);
  g_autofree char *to = rec_part_path (dir, 5);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  rec_copy_file (from, to);
  before = rec_dir_state (dir);
  g_assert_cmpint (rec_tool (&out, &err, "init", dir, "2", NULL), !=, 0);
  after = rec_dir_state (dir);
  g_assert_cmpstr (after, ==, before);

  rec_rm_rf (dir);
  rec_rm_rf (other);
}

/* ------------------------------------------------------------------------
 * Running against a bad directory
 * ------------------------------------------------------------------------ */

static void
test_no_partitions (void)
{
  g_autofree char *dir = rec_tmpdir ();
  const char *names[] = { dir, NULL };

  assert_fails_untouched (dir, "errors", FLOW_ERROR_NO_PARTITIONS, names);
  rec_rm_rf (dir);
}

static void
test_missing_partition (void)
{
  g_autofree char *dir = rec_init_dir (3);
  g_autofree char *part1 = rec_part_path (dir, 1);
  const char *names[] = { dir, "part-1.sqlite3", NULL };

  run_keyed_ok ("errors", dir, 8, 0);
  g_assert_cmpint (g_remove (part1), ==, 0);
  assert_fails_untouched (dir, "errors", FLOW_ERROR_MISSING_PARTITIONS, names);

  rec_rm_rf (dir);
}

static void
test_missing_last_partition (void)
{
  g_autofree char *dir = rec_init_dir (3);
  g_autofree char *part2 = rec_part_path (dir, 2);
  const char *names[] = { dir, "part-2.sqlite3", NULL };

  g_assert_cmpint (g_remove (part2), ==, 0);
  assert_fails_untouched (dir, "errors", FLOW_ERROR_MISSING_PARTITIONS, names);

  rec_rm_rf (dir);
}

static void
test_inconsistent_count (void)
{
  g_autofree char *dir = rec_init_dir (2);
  g_autofree char *other = rec_init_dir (3);
  g_autofree char *from = rec_part_path (other, 1);
  g_autofree char *to = rec_part_path (dir, 1);
  const char *names[] = { "part-1.sqlite3", NULL };

  run_keyed_ok ("errors", dir, 8, 0);
  rec_copy_file (from, to);
  assert_fails_untouched (dir, "errors", FLOW_ERROR_INCONSISTENT_PARTITIONS, names);

  rec_rm_rf (dir);
  rec_rm_rf (other);
}

/* A third partition of a 3-partition directory next to two of a
 * 2-partition directory. */
static void
test_inconsistent_extra (void)
{
  g_autofree char *dir = rec_init_dir (2);
  g_autofree char *other = rec_init_dir (3);
  g_autofree char *from = rec_part_path (other, 2);
  g_autofree char *to = rec_part_path (dir, 2);
  const char *names[] = { "part-2.sqlite3", NULL };

  rec_copy_file (from, to);
  assert_fails_untouched (dir, "errors", FLOW_ERROR_INCONSISTENT_PARTITIONS, names);

  rec_rm_rf (dir);
  rec_rm_rf (other);
}

/* part-0 copied over part-1: a partition under another index's name. */
static void
test_inconsistent_index (void)
{
  g_autofree char *dir = rec_init_dir (2);
  g_autofree char *part0 = rec_part_path (dir, 0);
  g_autofree char *part1 = rec_part_path (dir, 1);
  const char *names[] = { "part-1.sqlite3", NULL };

  run_keyed_ok ("errors", dir, 8, 0);
  rec_copy_file (part0, part1);
  assert_fails_untouched (dir, "errors", FLOW_ERROR_INCONSISTENT_PARTITIONS, names);

  rec_rm_rf (dir);
}

static void
test_foreign_flow (void)
{
  g_autofree char *dir = rec_init_dir (2);
  const char *names[] = { dir, "one", "two", NULL };

  run_keyed_ok ("one", dir, 8, 0);
  /* show knows no other flow: only the run fails. */
  assert_fails_untouched_full (dir, "two", FLOW_ERROR_FOREIGN_PARTITIONS, names, FALSE);

  rec_rm_rf (dir);
}

/* A partition of another directory of the same dataflow, with the same
 * count, among this directory's: they were not made together, and their
 * epochs have nothing to do with each other. */
static void
test_mixed_directories (void)
{
  g_autofree char *dir = rec_init_dir (2);
  g_autofree char *other = rec_init_dir (2);
  g_autofree char *from = rec_part_path (other, 1);
  g_autofree char *to = rec_part_path (dir, 1);
  g_autofree char *first = rec_part_path (dir, 0);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = NULL;

  run_keyed_ok ("one", dir, 8, 0);
  run_keyed_ok ("one", other, 8, 0);
  rec_copy_file (from, to);
  before = rec_dir_state (dir);

  got = run_keyed ("one", dir, 8, 0, &error);
  g_assert_null (got);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INCONSISTENT_PARTITIONS);
  g_assert_nonnull (strstr (error->message, first));
  g_assert_nonnull (strstr (error->message, to));
  g_assert_nonnull (strstr (error->message, "not created together"));
  after = rec_dir_state (dir);
  g_assert_cmpstr (after, ==, before);

  rec_rm_rf (dir);
  rec_rm_rf (other);
}

/* Two runs on one directory at once: the second is refused, and the
 * first goes on and commits as if alone. */
typedef struct
{
  GMainLoop *loop;
  GError    *error;
  gboolean   done;
} AsyncResult;

static void
run_done (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  AsyncResult *r = user_data;

  flow_runner_run_finish (FLOW_RUNNER (object), result, &r->error);
  r->done = TRUE;
  g_main_loop_quit (r->loop);
}

static FlowDataflow *
paused_flow (FlowTestingSink **sink)
{
  static const gint64 values[] = { 1, 2, 3, 4 };
  FlowDataflow *flow = flow_dataflow_new ("busy");
  g_autoptr(FlowTestingSource) source =
    flow_testing_source_new (g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, values, 4, sizeof (gint64)));

  /* Long enough for the second run to start while the first holds the
   * directory. */
  flow_testing_source_add_marker (source, 2, FLOW_TESTING_MARKER_PAUSE, 0.5);
  *sink = flow_testing_sink_new ();
  flow_stream_output (flow_dataflow_input (flow, "inp", FLOW_SOURCE (source)), "out",
                      FLOW_SINK (*sink));
  return flow;
}

static void
test_in_use (void)
{
  g_autofree char *dir = rec_init_dir (2);
  g_autoptr(FlowTestingSink) sink1 = NULL, sink2 = NULL;
  g_autoptr(FlowDataflow) flow1 = paused_flow (&sink1);
  g_autoptr(FlowDataflow) flow2 = paused_flow (&sink2);
  g_autoptr(FlowRunner) runner1 = flow_runner_new (flow1);
  g_autoptr(FlowRunner) runner2 = flow_runner_new (flow2);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  AsyncResult r1 = { loop, NULL, FALSE }, r2 = { loop, NULL, FALSE };

  flow_runner_set_recovery_directory (runner1, dir);
  flow_runner_set_recovery_directory (runner2, dir);
  flow_runner_run_async (runner1, NULL, run_done, &r1);
  flow_runner_run_async (runner2, NULL, run_done, &r2);
  while (!r1.done || !r2.done)
    g_main_loop_run (loop);

  g_assert_no_error (r1.error);
  g_assert_cmpuint (flow_testing_sink_get_n_items (sink1), ==, 4);
  g_assert_error (r2.error, FLOW_ERROR, FLOW_ERROR_PARTITIONS_IN_USE);
  g_assert_nonnull (strstr (r2.error->message, dir));
  g_assert_cmpuint (flow_testing_sink_get_n_items (sink2), ==, 0);
  g_clear_error (&r2.error);

  /* Once the first run is over the directory is free again, and holds
   * what the first run committed: nothing is left to read. */
  g_assert_true (rec_run (flow2, dir, 0, 0, NULL, &r2.error));
  g_assert_no_error (r2.error);
  g_assert_cmpuint (flow_testing_sink_get_n_items (sink2), ==, 0);

  rec_rm_rf (dir);
}

/* One partition of another flow's directory among this flow's. */
static void
test_foreign_partition (void)
{
  g_autofree char *dir = rec_init_dir (2);
  g_autofree char *other = rec_init_dir (2);
  g_autofree char *from = rec_part_path (other, 1);
  g_autofree char *to = rec_part_path (dir, 1);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = NULL;

  run_keyed_ok ("one", dir, 8, 0);
  run_keyed_ok ("two", other, 8, 0);
  rec_copy_file (from, to);
  before = rec_dir_state (dir);

  got = run_keyed ("one", dir, 8, 0, &error);
  g_assert_null (got);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_FOREIGN_PARTITIONS);
  g_assert_nonnull (strstr (error->message, to));
  g_assert_nonnull (strstr (error->message, "'two'"));
  after = rec_dir_state (dir);
  g_assert_cmpstr (after, ==, before);

  rec_rm_rf (dir);
  rec_rm_rf (other);
}

static void
test_unsupported_format (void)
{
  g_autofree char *dir = rec_init_dir (2);
  g_autofree char *part0 = rec_part_path (dir, 0);
  const char *names[] = { part0, "99", NULL };

  run_keyed_ok ("errors", dir, 8, 0);
  rec_sql_exec (part0, "UPDATE meta SET value = 99 WHERE name = 'format'");
  assert_fails_untouched (dir, "errors", FLOW_ERROR_UNSUPPORTED_FORMAT, names);

  rec_rm_rf (dir);
}

static void
test_corrupt_garbage (void)
{
  g_autofree char *dir = rec_init_dir (2);
  g_autofree char *part1 = rec_part_path (dir, 1);
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240229);
  g_autofree guint8 *garbage = g_malloc (8192);
  g_autoptr(GError) error = NULL;
  const char *names[] = { part1, NULL };

  run_keyed_ok ("errors", dir, 8, 0);
  for (guint i = 0; i < 8192; i++)
    garbage[i] = g_rand_int_range (rand, 0, 256);
  g_file_set_contents (part1, (const char *) garbage, 8192, &error);
  g_assert_no_error (error);

  assert_fails_untouched (dir, "errors", FLOW_ERROR_CORRUPT_PARTITION, names);
  rec_rm_rf (dir);
}

/* The first half of a partition file, as a torn copy would leave it. */
static void
test_corrupt_truncated (void)
{
  g_autofree char *dir = rec_init_dir (1);
  g_autofree char *part0 = rec_part_path (dir, 0);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  gsize len;
  const char *names[] = { part0, NULL };

  run_keyed_ok ("errors", dir, 64, 3600);
  g_file_get_contents (part0, &contents, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (len, >, 4096);
  g_file_set_contents (part0, contents, len / 2, &error);
  g_assert_no_error (error);

  assert_fails_untouched (dir, "errors", FLOW_ERROR_CORRUPT_PARTITION, names);
  rec_rm_rf (dir);
}

/* A SQLite database that is not a libflow partition. */
static void
test_corrupt_not_libflow (void)
{
  g_autofree char *dir = rec_init_dir (2);
  g_autofree char *part0 = rec_part_path (dir, 0);
  const char *names[] = { part0, NULL };

  g_assert_cmpint (g_remove (part0), ==, 0);
  rec_write_file (part0, "");
  rec_sql_exec (part0, "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('hello');");
  assert_fails_untouched (dir, "errors", FLOW_ERROR_CORRUPT_PARTITION, names);

  rec_rm_rf (dir);
}

/* A snapshot whose bytes are not a serialised state: the error names the
 * file, the step and the key. */
static void
test_corrupt_state (void)
{
  g_autofree char *dir = rec_init_dir (1);
  g_autofree char *part0 = rec_part_path (dir, 0);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = NULL;

  run_keyed_ok ("errors", dir, 8, 0);
  rec_sql_exec (part0, "UPDATE snaps SET ser = x'00ff00ff' WHERE step_id = 'errors.sum' AND state_key = 'k3'");
  before = rec_dir_state (dir);

  got = run_keyed ("errors", dir, 8, 0, &error);
  g_assert_null (got);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION);
  g_assert_nonnull (strstr (error->message, part0));
  g_assert_nonnull (strstr (error->message, "errors.sum"));
  g_assert_nonnull (strstr (error->message, "k3"));
  after = rec_dir_state (dir);
  g_assert_cmpstr (after, ==, before);

  rec_rm_rf (dir);
}

/* Stored states that GVariant cannot take as they are: type strings that
 * are not definite types (GLib aborts on those), data of the wrong size
 * for its type, data not in normal form, no type at all. Each is a
 * CORRUPT_PARTITION naming the file, the step and the key, from a run and
 * from `flow-recovery show`, and changes nothing. */
static void
test_corrupt_type (void)
{
  static const struct { const char *hex; const char *what; } bad[] = {
    { "003f", "\\0?" },
    { "002a", "\\0*" },
    { "0072", "\\0r" },
    { "00612a", "\\0a*" },
    { "006d3f", "\\0m?" },
    { "00282a29", "\\0(*)" },
    { "0061377b3f2a7d", "\\0a{?*}" },
    { "00287629", "\\0(v) (no data)" },
    { "01020300", "no type" },
    { "0102030078", "3 bytes of an int64" },
    { "010203040506070809000078", "9 bytes of an int64" },
    { "0200", "a boolean of 2" },
    { "61626300", "a string without its NUL" },
    { "6162630073", "a string without its NUL" },
    { "00", "nothing" },
    { "78", "no NUL" },
    { NULL, "a type nested 200 deep" },
  };
  g_autofree char *dir = rec_init_dir (1);
  g_autofree char *part0 = rec_part_path (dir, 0);
  const char *names[] = { part0, "errors.sum", "k3", NULL };

  run_keyed_ok ("errors", dir, 8, 0);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *deep = g_strnfill (400, '6');
      g_autofree char *sql = NULL;

      if (bad[i].hex == NULL)
        for (guint j = 1; j < 400; j += 2)
          deep[j] = '1';   /* "00" "61"*199 "78": \0aaa…ax */
      sql = g_strdup_printf ("UPDATE snaps SET ser = x'%s%s%s' "
                             "WHERE step_id = 'errors.sum' AND state_key = 'k3'",
                             bad[i].hex ? bad[i].hex : "00",
                             bad[i].hex ? "" : deep + 2,
                             bad[i].hex ? "" : "78");

      g_test_message ("stored state: %s", bad[i].what);
      rec_sql_exec (part0, sql);
      assert_fails_untouched (dir, "errors", FLOW_ERROR_CORRUPT_PARTITION, names);
    }

  rec_rm_rf (dir);
}

/* A state of the wrong type for its step (a string where a count_final
 * keeps an int64) is a CORRUPT_PARTITION naming the file, step and key. */
static char *
first_child (GVariant  *item,
             gpointer   user_data,
             GError   **error)
{
  g_autoptr(GVariant) key = g_variant_get_child_value (item, 0);

  return g_variant_dup_string (key, NULL);
}

static GStrv
run_counting (const char  *dir,
              gboolean     abort,
              GError     **error)
{
  g_autoptr(FlowTestingSource) source = flow_testing_source_new (keyed_items (8));
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("errors");
  FlowStream *s;

  if (abort)
    flow_testing_source_add_marker (source, 6, FLOW_TESTING_MARKER_ABORT, 0);
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_count_final (s, "count", first_child, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));
  if (!rec_run (flow, dir, 0, 0, NULL, error))
    return NULL;
  return rec_sink_reprs (sink);
}

static void
test_corrupt_state_type (void)
{
  g_autofree char *dir = rec_init_dir (1);
  g_autofree char *part0 = rec_part_path (dir, 0);
  const char *names[] = { part0, "errors.count", "k1", NULL };
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = NULL;

  got = run_counting (dir, TRUE, &error);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_ABORTED);
  g_clear_error (&error);
  g_assert_cmpint (rec_sql_int (part0, "SELECT COUNT(*) FROM snaps WHERE step_id = 'errors.count'"
                                       " AND state_key = 'k1'"), >, 0);
  rec_sql_exec (part0, "UPDATE snaps SET ser = x'6869000073' WHERE step_id = 'errors.count'"
                       " AND state_key = 'k1'");

  got = run_counting (dir, FALSE, &error);
  g_assert_null (got);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION);
  for (guint i = 0; names[i] != NULL; i++)
    if (strstr (error->message, names[i]) == NULL)
      g_error ("the error '%s' does not name %s", error->message, names[i]);

  rec_rm_rf (dir);
}

/* An init marker next to partitions a run used (put there by hand, or
 * left by something else): init removes nothing and says why. */
static void
test_init_interrupted_used (void)
{
  g_autofree char *dir = rec_init_dir (2);
  g_autofree char *part0 = rec_part_path (dir, 0);
  g_autofree char *marker = g_build_filename (dir, ".flow-init", NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_auto(GStrv) id = NULL;

  run_keyed_ok ("errors", dir, 8, 0);
  id = rec_sql_rows (part0, "SELECT value FROM meta WHERE name = 'directory_id'");
  rec_write_file (marker, id[0]);
  before = rec_dir_state (dir);

  g_assert_cmpint (rec_tool (&out, &err, "init", dir, "2", NULL), !=, 0);
  g_assert_nonnull (strstr (err, "refusing to remove anything"));
  g_assert_nonnull (strstr (err, "part-"));
  after = rec_dir_state (dir);
  g_assert_cmpstr (after, ==, before);

  rec_rm_rf (dir);
}

/* Messages stay short: a partition count of 60000 in a directory of one
 * names a few missing files and counts the rest; out-of-range numbers in
 * the metadata are corrupt partitions (-1 once built a 7.7 GB message). */
static void
assert_short (const char *message)
{
  if (strlen (message) > 400)
    g_error ("a message of %zu bytes: %.400s…", strlen (message), message);
  g_assert_null (strstr (message, "SELECT"));
  g_assert_null (strstr (message, "INSERT"));
  g_assert_null (strstr (message, "DELETE"));
  g_assert_null (strstr (message, "UPDATE"));
}

static void
assert_run_fails_short (const char *dir,
                        FlowError   code,
                        const char *names[])
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = run_keyed ("errors", dir, 4, 0, &error);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_assert_null (got);
  g_assert_error (error, FLOW_ERROR, (int) code);
  assert_short (error->message);
  for (guint i = 0; names[i] != NULL; i++)
    if (strstr (error->message, names[i]) == NULL)
      g_error ("the error '%s' does not name %s", error->message, names[i]);
  g_assert_cmpint (rec_tool (&out, &err, "show", dir, NULL), !=, 0);
  assert_short (err);
}

static void
test_many_missing (void)
{
  g_autofree char *dir = rec_init_dir (1);
  g_autofree char *part0 = rec_part_path (dir, 0);
  const char *names[] = { dir, "60000", "part-1.sqlite3", "part-3.sqlite3", "59996 more", NULL };

  rec_sql_exec (part0, "UPDATE meta SET value = 60000 WHERE name = 'partition_count'");
  assert_fails_untouched (dir, "errors", FLOW_ERROR_MISSING_PARTITIONS, names);
  assert_run_fails_short (dir, FLOW_ERROR_MISSING_PARTITIONS, names);

  rec_rm_rf (dir);
}

static void
test_meta_out_of_range (void)
{
  static const char *bad[] = {
    "UPDATE meta SET value = -1 WHERE name = 'partition_count'",
    "UPDATE meta SET value = 4294967297 WHERE name = 'partition_count'",
    "UPDATE meta SET value = 'two' WHERE name = 'partition_count'",
    "UPDATE meta SET value = -1 WHERE name = 'partition_index'",
    "UPDATE meta SET value = 1.5 WHERE name = 'partition_index'",
    "UPDATE meta SET value = -5 WHERE name = 'gc_epoch'",
    "UPDATE meta SET value = x'00' WHERE name = 'directory_id'",
    "UPDATE fronts SET epoch = -3",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *dir = rec_init_dir (1);
      g_autofree char *part0 = rec_part_path (dir, 0);
      const char *names[] = { part0, NULL };

      run_keyed_ok ("errors", dir, 4, 0);
      g_test_message ("%s", bad[i]);
      rec_sql_exec (part0, bad[i]);
      assert_fails_untouched (dir, "errors", FLOW_ERROR_CORRUPT_PARTITION, names);
      assert_run_fails_short (dir, FLOW_ERROR_CORRUPT_PARTITION, names);
      rec_rm_rf (dir);
    }
}

/* A partition without one of its tables or its index is corrupt, and the
 * message says which, without SQL. */
static void
test_missing_table (void)
{
  static const struct { const char *sql; const char *name; } bad[] = {
    { "DROP TABLE epochs", "epochs" },
    { "DROP TABLE fronts", "fronts" },
    { "DROP TABLE executions", "executions" },
    /* format 1 had an index too (format 2 dropped it) */
    { "DROP INDEX IF EXISTS snaps_epoch; UPDATE meta SET value = 1 WHERE name = 'format'", "snaps_epoch" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *dir = rec_init_dir (1);
      g_autofree char *part0 = rec_part_path (dir, 0);
      const char *names[] = { part0, bad[i].name, NULL };

      run_keyed_ok ("errors", dir, 4, 0);
      g_test_message ("%s", bad[i].sql);
      rec_sql_exec (part0, bad[i].sql);
      assert_fails_untouched (dir, "errors", FLOW_ERROR_CORRUPT_PARTITION, names);
      assert_run_fails_short (dir, FLOW_ERROR_CORRUPT_PARTITION, names);
      rec_rm_rf (dir);
    }
}

/* Snapshot rows whose key or step is not UTF-8 text, or whose epoch is
 * negative: corrupt, naming the file. */
static void
test_corrupt_row (void)
{
  static const char *bad[] = {
    "UPDATE snaps SET state_key = CAST(x'6bff' AS TEXT) WHERE state_key = 'k3'",
    "UPDATE snaps SET step_id = CAST(x'c0' AS TEXT) WHERE state_key = 'k3'",
    "UPDATE snaps SET epoch = -2 WHERE state_key = 'k3'",
    "UPDATE snaps SET epoch = 'one' WHERE state_key = 'k3'",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *dir = rec_init_dir (1);
      g_autofree char *part0 = rec_part_path (dir, 0);
      const char *names[] = { part0, NULL };

      run_keyed_ok ("errors", dir, 8, 0);
      g_test_message ("%s", bad[i]);
      rec_sql_exec (part0, bad[i]);
      assert_fails_untouched (dir, "errors", FLOW_ERROR_CORRUPT_PARTITION, names);
      rec_rm_rf (dir);
    }
}

/* A flow program (run_with_args) against a bad directory exits non-zero
 * with the message, and changes nothing; the crash test's flow is one. */
static void
test_flow_program (void)
{
  g_autofree char *program = g_test_build_filename (G_TEST_BUILT, "recovery", "crash-flow", NULL);
  g_autofree char *dir = rec_init_dir (3);
  g_autofree char *work = rec_tmpdir ();
  g_autofree char *input = g_build_filename (work, "input.txt", NULL);
  g_autofree char *output = g_build_filename (work, "output.txt", NULL);
  g_autofree char *part2 = rec_part_path (dir, 2);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { program, input, output, "-r", dir, "-s", "0", NULL };
  int status = 0;

  rec_write_file (input, "1\n2\n3\n");
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (g_remove (part2), ==, 0);
  before = rec_dir_state (dir);
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1);
  g_assert_nonnull (strstr (err, "part-2.sqlite3"));
  after = rec_dir_state (dir);
  g_assert_cmpstr (after, ==, before);

  rec_rm_rf (dir);
  rec_rm_rf (work);
}

/* ------------------------------------------------------------------------
 * Older copies of a partition
 * ------------------------------------------------------------------------ */

/* Runs 16 items in two runs, saving a copy of part-0 after the first;
 * then puts the copy back. Returns the output of the second run. */
static GStrv
restore_older_copy (const char *dir,
                    double      backup,
                    char      **states_after_second)
{
  g_autofree char *part0 = rec_part_path (dir, 0);
  g_autofree char *copy = g_strconcat (part0, ".backup", NULL);
  g_autofree char *wal = g_strconcat (part0, "-wal", NULL);
  g_autoptr(GError) error = NULL;
  GStrv second;

  run_keyed_ok ("errors", dir, 8, backup);
  g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
  rec_copy_file (part0, copy);

  second = run_keyed ("errors", dir, 16, backup, &error);
  g_assert_no_error (error);
  *states_after_second = rec_show_states (dir);

  rec_copy_file (copy, part0);
  g_assert_cmpint (g_remove (copy), ==, 0);
  return second;
}

static void
test_too_old (void)
{
  g_autofree char *dir = rec_init_dir (2);
  g_autofree char *part0 = rec_part_path (dir, 0);
  g_autofree char *part1 = rec_part_path (dir, 1);
  g_autofree char *states = NULL;
  g_auto(GStrv) second = restore_older_copy (dir, 0, &states);
  const char *names[] = { part0, part1, NULL };

  /* part-1 has garbage collected the snapshots part-0 would resume from. */
  assert_fails_untouched (dir, "errors", FLOW_ERROR_PARTITIONS_TOO_OLD, names);
  rec_rm_rf (dir);
}

static void
test_older_copy_within_backup (void)
{
  g_autofree char *dir = rec_init_dir (2);
  g_autofree char *states = NULL;
  g_autofree char *states_again = NULL;
  g_auto(GStrv) second = restore_older_copy (dir, 3600, &states);
  g_auto(GStrv) expected = expected_output (8, 16);
  g_auto(GStrv) again = NULL;
  g_autoptr(GError) error = NULL;

  rec_assert_strv (second, expected);

  /* Both partitions resume from the epoch part-0 was copied at: the last
   * eight items are processed again, on the state they had then. */
  again = run_keyed ("errors", dir, 16, 3600, &error);
  g_assert_no_error (error);
  rec_assert_strv (again, expected);
  states_again = rec_show_states (dir);
  g_assert_cmpstr (states_again, ==, states);

  rec_rm_rf (dir);
}

/* ------------------------------------------------------------------------
 * flow-recovery show
 * ------------------------------------------------------------------------ */

static GVariant *
fixed_state (GVariant  *state,
             GVariant  *value,
             GVariant **emit,
             gpointer   user_data,
             GError   **error)
{
  return g_variant_new_parsed ("(\"it's\", 2.5, true, [int64 1, 2], {'a': @mx nothing}, (int64 7,))");
}

static void
test_show (void)
{
  g_autofree char *dir = rec_init_dir (2);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *line = NULL;
  g_autoptr(GError) error = NULL;
  guint64 resume1 = 0, resume2 = 0;
  gint64 frontier = G_MAXINT64;
  GVariantBuilder builder;

  for (guint run = 0; run < 2; run++)
    {
      g_autoptr(FlowTestingSource) source = NULL;
      g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
      g_autoptr(FlowDataflow) flow = flow_dataflow_new ("shown");
      FlowStream *inp, *s;

      g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sv)"));
      g_variant_builder_add (&builder, "(sv)", "o'k", g_variant_new_int64 (1));
      g_variant_builder_add (&builder, "(sv)", "n", g_variant_new_int64 (4));
      g_variant_builder_add (&builder, "(sv)", "n", g_variant_new_int64 (5));
      if (run == 1)
        g_variant_builder_add (&builder, "(sv)", "n", g_variant_new_int64 (6));
      source = flow_testing_source_new (g_variant_builder_end (&builder));
      inp = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
      s = flow_stream_stateful_map (inp, "sum", zero, NULL, NULL, add, NULL, NULL);
      flow_stream_output (s, "out", FLOW_SINK (sink));
      s = flow_stream_stateful_map (inp, "repr", NULL, NULL, NULL, fixed_state, NULL, NULL);
      flow_stream_output (s, "out2", FLOW_SINK (sink));

      rec_run (flow, dir, 0, 0, run == 0 ? &resume1 : &resume2, &error);
      g_assert_no_error (error);
    }
  g_assert_cmpuint (resume1, ==, 0);
  g_assert_cmpuint (resume2, >, 0);

  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *part = rec_part_path (dir, i);
      frontier = MIN (frontier, rec_sql_int (part, "SELECT MAX(epoch) FROM fronts"));
    }

  g_assert_cmpint (rec_tool (&out, &err, "show", dir, NULL), ==, 0);
  g_test_message ("%s", out);

  g_assert_nonnull (strstr (out, "Dataflow: shown\n"));
  g_assert_nonnull (strstr (out, "Partitions: 2\n"));
  g_assert_nonnull (strstr (out, "  part-0.sqlite3: partition 0 of 2, format 2, "));
  g_assert_nonnull (strstr (out, "  part-1.sqlite3: partition 1 of 2, format 2, "));
  g_assert_nonnull (strstr (out, "Executions: 2\n"));
  g_assert_nonnull (strstr (out, "1 worker, resumed from epoch 0,"));
  line = g_strdup_printf ("1 worker, resumed from epoch %" G_GUINT64_FORMAT ",", resume2);
  g_assert_nonnull (strstr (out, line));
  g_clear_pointer (&line, g_free);
  line = g_strdup_printf ("The next run resumes from epoch %" G_GINT64_FORMAT, frontier);
  g_assert_nonnull (strstr (out, line));

  {
    g_autofree char *states = rec_show_states (dir);
    g_autofree char *repr = NULL;
    g_autofree char *sum = NULL;

    sum = g_strdup_printf ("  shown.sum (2 keys)\n"
                           "    'n': %d\n"
                           "    \"o'k\": %d\n", 4 + 5 + 6, 1);
    g_assert_nonnull (strstr (states, sum));
    repr = g_strdup ("  shown.repr (2 keys)\n"
                     "    'n': (\"it's\", 2.5, True, [1, 2], {'a': None}, (7,))\n"
                     "    \"o'k\": (\"it's\", 2.5, True, [1, 2], {'a': None}, (7,))\n");
    g_assert_nonnull (strstr (states, repr));
  }

  rec_rm_rf (dir);
}

static void
test_show_fresh (void)
{
  g_autofree char *dir = rec_init_dir (3);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *before = rec_dir_state (dir);
  g_autofree char *after = NULL;

  g_assert_cmpint (rec_tool (&out, &err, "show", dir, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Partitions: 3\n"));
  g_assert_nonnull (strstr (out, "Executions: 0\n"));
  g_assert_nonnull (strstr (out, "starts from the beginning"));
  after = rec_dir_state (dir);
  g_assert_cmpstr (after, ==, before);

  rec_rm_rf (dir);
}

/* ------------------------------------------------------------------------
 * flow-recovery --help, check
 * ------------------------------------------------------------------------ */

static void
test_tool_help (void)
{
  static const char *commands[] = { "init", "show", "check" };

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      g_autofree char *usage = g_strdup_printf ("flow-recovery %s", commands[i]);

      g_assert_cmpint (rec_tool (&out, &err, commands[i], "--help", NULL), ==, 0);
      g_assert_nonnull (strstr (out, "Usage"));
      g_assert_nonnull (strstr (out, usage));
      g_assert_cmpstr (err, ==, "");
      g_assert_false (g_file_test ("--help", G_FILE_TEST_EXISTS));
    }
}

/* Runs `flow-recovery check DIR`: its exit status, and its output (both
 * streams) in @report. */
static int
check_dir (const char  *dir,
           char       **report)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = rec_tool (&out, &err, "check", dir, NULL);

  *report = g_strconcat (out, err, NULL);
  g_test_message ("flow-recovery check %s: %d\n%s", dir, status, *report);
  return status;
}

static void
assert_check_fails (const char *dir,
                    const char *names[])
{
  g_autofree char *report = NULL;
  g_autofree char *before = rec_dir_state (dir);
  g_autofree char *after = NULL;

  g_assert_cmpint (check_dir (dir, &report), !=, 0);
  for (guint i = 0; names[i] != NULL; i++)
    if (strstr (report, names[i]) == NULL)
      g_error ("flow-recovery check does not name %s:\n%s", names[i], report);
  g_assert_null (strstr (report, "SELECT"));
  after = rec_dir_state (dir);
  g_assert_cmpstr (after, ==, before);
}

static void
test_check (void)
{
  g_autofree char *dir = rec_init_dir (2);
  g_autofree char *part0 = rec_part_path (dir, 0);
  g_autofree char *part1 = rec_part_path (dir, 1);
  g_autofree char *copy = g_strconcat (part1, ".backup", NULL);
  g_autofree char *report = NULL;
  g_autofree char *marker = g_build_filename (dir, ".flow-init", NULL);

  /* Fine when new, and after runs. */
  g_assert_cmpint (check_dir (dir, &report), ==, 0);
  g_clear_pointer (&report, g_free);
  run_keyed_ok ("errors", dir, 16, 0);
  g_assert_cmpint (check_dir (dir, &report), ==, 0);
  g_assert_nonnull (strstr (report, "part-0.sqlite3"));
  g_assert_nonnull (strstr (report, "part-1.sqlite3"));

  /* A state that would abort GLib. */
  {
    g_auto(GStrv) keys = rec_sql_rows (part0, "SELECT state_key FROM snaps"
                                              " WHERE step_id = 'errors.sum' LIMIT 1");
    g_autofree char *sql = NULL;
    const char *names[] = { part0, "errors.sum", NULL, NULL };

    g_assert_nonnull (keys[0]);
    names[2] = keys[0];
    sql = g_strdup_printf ("UPDATE snaps SET ser = x'003f' WHERE step_id = 'errors.sum'"
                           " AND state_key = '%s'", keys[0]);
    rec_copy_file (part0, copy);
    rec_sql_exec (part0, sql);
    assert_check_fails (dir, names);
    rec_copy_file (copy, part0);
  }

  /* A corrupt index: its entries no longer match its table. */
  {
    const char *names[] = { part0, "snaps_epoch", NULL };
    /* (a format-1 partition: format 2 has no index) */
    rec_sql_exec (part0, "CREATE INDEX snaps_epoch ON snaps (epoch);"
                         "UPDATE meta SET value = 1 WHERE name = 'format';");
    rec_sql_exec (part0, "PRAGMA writable_schema = ON;"
                         "UPDATE sqlite_schema SET sql = 'CREATE INDEX snaps_epoch ON snaps (state_key)'"
                         " WHERE name = 'snaps_epoch';");
    assert_check_fails (dir, names);
    rec_copy_file (copy, part0);
  }

  /* Garbage. */
  {
    const char *names[] = { part1, NULL };
    rec_copy_file (part1, copy);
    rec_write_file (part1, "this is not a database, but it is long enough to look at........"
                           "................................................................");
    assert_check_fails (dir, names);
    rec_copy_file (copy, part1);
  }

  /* Missing. */
  {
    const char *names[] = { "part-1.sqlite3", "missing", NULL };
    g_assert_cmpint (g_remove (part1), ==, 0);
    assert_check_fails (dir, names);
    rec_copy_file (copy, part1);
  }

  /* An interrupted init. */
  {
    const char *names[] = { "flow-recovery init", NULL };
    rec_write_file (marker, "x");
    assert_check_fails (dir, names);
    g_assert_cmpint (g_remove (marker), ==, 0);
  }

  g_clear_pointer (&report, g_free);
  g_assert_cmpint (g_remove (copy), ==, 0);
  g_assert_cmpint (check_dir (dir, &report), ==, 0);
  rec_rm_rf (dir);
}

/* On a read-only mount (made in a private mount namespace, where the
 * system allows one), show and check work, and a run says that it cannot
 * write, not that reading metadata failed. */
static void
test_read_only (void)
{
  g_autofree char *unshare = g_find_program_in_path ("unshare");
  g_autofree char *program = g_test_build_filename (G_TEST_BUILT, "recovery", "crash-flow", NULL);
  g_autofree char *dir = rec_init_dir (2);
  g_autofree char *work = rec_tmpdir ();
  g_autofree char *input = g_build_filename (work, "input.txt", NULL);
  g_autofree char *output = g_build_filename (work, "output.txt", NULL);
  g_autofree char *script = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GError) error = NULL;
  const char *probe[] = { "unshare", "-m", "true", NULL };
  int status = 0;

  if (unshare == NULL ||
      !g_spawn_sync (NULL, (char **) probe, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                     G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, NULL) ||
      !g_spawn_check_wait_status (status, NULL))
    {
      g_test_skip ("no private mount namespace here (unshare -m)");
      rec_rm_rf (dir);
      rec_rm_rf (work);
      return;
    }

  rec_write_file (input, "1\n2\n3\n");
  {
    const char *argv[] = { program, input, output, "-r", dir, "-s", "0", NULL };
    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status, &error);
    g_assert_no_error (error);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
  }
  before = rec_dir_state (dir);

  script = g_strdup_printf ("mount --bind '%s' '%s' && mount -o remount,bind,ro '%s' || exit 99\n"
                            "touch '%s/probe' 2>/dev/null && exit 98\n"
                            "'%s' show '%s' >/dev/null; echo show=$?\n"
                            "'%s' check '%s'; echo check=$?\n"
                            "'%s' '%s' '%s' -r '%s' -s 0; echo run=$?\n",
                            dir, dir, dir, dir,
                            g_getenv ("FLOW_RECOVERY_TOOL"), dir,
                            g_getenv ("FLOW_RECOVERY_TOOL"), dir,
                            program, input, output, dir);
  {
    const char *argv[] = { "unshare", "-m", "sh", "-c", script, NULL };
    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, &error);
    g_assert_no_error (error);
  }
  g_test_message ("%s%s", out, err);
  if (WIFEXITED (status) && (WEXITSTATUS (status) == 99 || WEXITSTATUS (status) == 98))
    {
      g_test_skip ("cannot make a read-only mount here");
      rec_rm_rf (dir);
      rec_rm_rf (work);
      return;
    }
  g_assert_nonnull (strstr (out, "show=0\n"));
  g_assert_nonnull (strstr (out, "check=0\n"));
  g_assert_nonnull (strstr (out, "run=1\n"));
  g_assert_nonnull (strstr (err, "cannot be written"));
  g_assert_null (strstr (err, "metadata"));
  after = rec_dir_state (dir);
  g_assert_cmpstr (after, ==, before);

  rec_rm_rf (dir);
  rec_rm_rf (work);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/errors/init/missing-dir", test_init_missing_dir);
  g_test_add_func ("/errors/init/bad-count", test_init_bad_count);
  g_test_add_func ("/errors/init/existing-partitions", test_init_existing);
  g_test_add_func ("/errors/init/stray-partition", test_init_stray_partition);
  g_test_add_func ("/errors/run/no-partitions", test_no_partitions);
  g_test_add_func ("/errors/run/missing-partition", test_missing_partition);
  g_test_add_func ("/errors/run/missing-last-partition", test_missing_last_partition);
  g_test_add_func ("/errors/run/inconsistent-count", test_inconsistent_count);
  g_test_add_func ("/errors/run/inconsistent-extra", test_inconsistent_extra);
  g_test_add_func ("/errors/run/inconsistent-index", test_inconsistent_index);
  g_test_add_func ("/errors/run/foreign-flow", test_foreign_flow);
  g_test_add_func ("/errors/run/in-use", test_in_use);
  g_test_add_func ("/errors/run/mixed-directories", test_mixed_directories);
  g_test_add_func ("/errors/run/foreign-partition", test_foreign_partition);
  g_test_add_func ("/errors/run/unsupported-format", test_unsupported_format);
  g_test_add_func ("/errors/run/corrupt-garbage", test_corrupt_garbage);
  g_test_add_func ("/errors/run/corrupt-truncated", test_corrupt_truncated);
  g_test_add_func ("/errors/run/corrupt-not-libflow", test_corrupt_not_libflow);
  g_test_add_func ("/errors/run/corrupt-state", test_corrupt_state);
  g_test_add_func ("/errors/run/corrupt-type", test_corrupt_type);
  g_test_add_func ("/errors/run/corrupt-state-type", test_corrupt_state_type);
  g_test_add_func ("/errors/run/corrupt-row", test_corrupt_row);
  g_test_add_func ("/errors/init/interrupted-used", test_init_interrupted_used);
  g_test_add_func ("/errors/run/many-missing", test_many_missing);
  g_test_add_func ("/errors/run/meta-out-of-range", test_meta_out_of_range);
  g_test_add_func ("/errors/run/missing-table", test_missing_table);
  g_test_add_func ("/errors/run/flow-program", test_flow_program);
  g_test_add_func ("/errors/run/too-old", test_too_old);
  g_test_add_func ("/errors/run/older-copy-within-backup", test_older_copy_within_backup);
  g_test_add_func ("/errors/show", test_show);
  g_test_add_func ("/errors/show/fresh", test_show_fresh);
  g_test_add_func ("/errors/tool/help", test_tool_help);
  g_test_add_func ("/errors/tool/check", test_check);
  g_test_add_func ("/errors/tool/read-only", test_read_only);

  return g_test_run ();
}
