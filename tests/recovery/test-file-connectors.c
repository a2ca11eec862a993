/* test-file-connectors.c: FileSource and FileSink across resumes
 *
 * The source resumes at its byte offset, restarts a truncated or replaced
 * file from its start and continues a grown one; the sink truncates to its
 * snapshotted offset on resume (exactly-once) and refuses a file that was
 * shortened behind its back.
 *
 * An unterminated last line is never split: by default it is emitted and a
 * later run refuses a file where it was continued (but reads on where it
 * was ended); with hold-partial it is held back until it is ended. A line
 * that is not UTF-8 fails the run naming the file, line and offset.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <glib/gstdio.h>

#include "recovery-common.h"

typedef struct
{
  char *dir;       /* recovery directory */
  char *work;      /* input and output files */
  char *input;
  char *output;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->dir = rec_init_dir (2);
  f->work = rec_tmpdir ();
  f->input = g_build_filename (f->work, "input.txt", NULL);
  f->output = g_build_filename (f->work, "output.txt", NULL);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  rec_rm_rf (f->dir);
  rec_rm_rf (f->work);
  g_free (f->dir);
  g_free (f->work);
  g_free (f->input);
  g_free (f->output);
}

/* "prefix{from}\n" … "prefix{to - 1}\n" */
static char *
numbered_lines (const char *prefix,
                guint       from,
                guint       to)
{
  GString *s = g_string_new (NULL);

  for (guint i = from; i < to; i++)
    g_string_append_printf (s, "%s%u\n", prefix, i);
  return g_string_free (s, FALSE);
}

/* The lines of @text as Python reprs of strings, as a testing sink shows
 * the items of a file source. */
static GStrv
line_reprs (const char *text)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) split = g_strsplit (text, "\n", -1);

  for (guint i = 0; split[i] != NULL; i++)
    if (split[i + 1] != NULL || split[i][0] != '\0')
      rec_add (lines, "'%s'", split[i]);
  return rec_strv (lines);
}

static void
append_file (const char *path,
             const char *text)
{
  g_autofree char *old = rec_read_file (path);
  g_autofree char *all = g_strconcat (old, text, NULL);

  rec_write_file (path, all);
}

/* Runs FileSource(input) → [FileSink(output)] and a testing sink; returns
 * what the testing sink got. */
static GStrv
run_copy (Fixture   *f,
          gboolean   to_file,
          guint      batch_size,
          GError   **error)
{
  g_autoptr(FlowFileSource) source = flow_file_source_new (f->input);
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowFileSink) file_sink = flow_file_sink_new (f->output);
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("files");
  FlowStream *s;

  flow_file_source_set_batch_size (source, batch_size);
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  flow_stream_output (s, "out", FLOW_SINK (sink));
  if (to_file)
    flow_stream_output (s, "file", FLOW_SINK (file_sink));
  if (!rec_run (flow, f->dir, 0, 0, NULL, error))
    return NULL;
  return rec_sink_reprs (sink);
}

static GStrv
run_copy_ok (Fixture  *f,
             gboolean  to_file,
             guint     batch_size)
{
  g_autoptr(GError) error = NULL;
  GStrv got = run_copy (f, to_file, batch_size, &error);

  g_assert_no_error (error);
  return got;
}

/* ------------------------------------------------------------------------
 * FileSource
 * ------------------------------------------------------------------------ */

/* "word n" → ("word", "word n") */
static char *
first_word (GVariant  *item,
            gpointer   user_data,
            GError   **error)
{
  const char *line = g_variant_get_string (item, NULL);
  const char *space = strchr (line, ' ');

  return g_strndup (line, space != NULL ? (gsize) (space - line) : strlen (line));
}

static GVariant *
zero (gpointer   user_data,
      GError   **error)
{
  return g_variant_new_int64 (0);
}

/* A running sum of the numbers after the word; emits "WORD sum". */
static GVariant *
add_number (GVariant  *sum,
            GVariant  *item,
            GVariant **emit,
            gpointer   user_data,
            GError   **error)
{
  const char *line = g_variant_get_string (item, NULL);
  const char *space = strchr (line, ' ');
  g_autofree char *word = NULL;
  gint64 n, updated;

  if (space == NULL || !g_ascii_string_to_signed (space + 1, 10, 0, G_MAXINT32, &n, error))
    return NULL;
  word = g_ascii_strup (line, space - line);
  updated = g_variant_get_int64 (sum) + n;
  *emit = g_variant_new_take_string (g_strdup_printf ("%s %" G_GINT64_FORMAT, word, updated));
  return g_variant_new_int64 (updated);
}

/* FileSource(input) → key on the first word → running sum per word →
 * FileSink(output) and a testing sink; returns what the testing sink got,
 * as plain strings. */
static GStrv
run_sums (Fixture   *f,
          gboolean   hold_partial,
          GError   **error)
{
  g_autoptr(FlowFileSource) source = flow_file_source_new (f->input);
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowFileSink) file_sink = flow_file_sink_new (f->output);
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("sums");
  g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func (g_free);
  FlowStream *s;

  flow_file_source_set_hold_partial (source, hold_partial);
  g_assert_true (flow_file_source_get_hold_partial (source) == hold_partial);
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_key_on (s, "key", first_word, NULL, NULL);
  s = flow_stream_stateful_map (s, "sum", zero, NULL, NULL, add_number, NULL, NULL);
  s = flow_stream_key_rm (s, "unkey");
  flow_stream_output (s, "out", FLOW_SINK (sink));
  flow_stream_output (s, "file", FLOW_SINK (file_sink));
  if (!rec_run (flow, f->dir, 0, 0, NULL, error))
    return NULL;
  for (guint i = 0; i < flow_testing_sink_get_n_items (sink); i++)
    {
      g_autoptr(GVariant) item = flow_testing_sink_get_item (sink, i);
      g_ptr_array_add (got, g_variant_dup_string (item, NULL));
    }
  return rec_strv (got);
}

static GStrv
run_sums_ok (Fixture  *f,
             gboolean  hold_partial)
{
  g_autoptr(GError) error = NULL;
  GStrv got = run_sums (f, hold_partial, &error);

  g_assert_no_error (error);
  return got;
}

/* The case: "alpha 1\nbeta 2" (no final line end) is read, then
 * the writer appends "5\ngamma 3\n". By default the first run emits
 * "beta 2" (the file was complete) and the second refuses to split the
 * line, naming the file and offset, and changes nothing; ended with a line
 * end instead, the file is read on. */
static void
test_source_unterminated_continued (Fixture       *f,
                                    gconstpointer  data)
{
  const char *first_run[] = { "ALPHA 1", "BETA 2", NULL };
  const char *after_end[] = { "GAMMA 3", "BETA 9", NULL };
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got1 = NULL;
  g_auto(GStrv) got2 = NULL;
  g_auto(GStrv) got3 = NULL;
  g_autofree char *states1 = NULL;
  g_autofree char *states2 = NULL;
  g_autofree char *states3 = NULL;
  g_autofree char *out1 = NULL;
  g_autofree char *out2 = NULL;
  g_autofree char *out3 = NULL;

  rec_write_file (f->input, "alpha 1\nbeta 2");
  got1 = run_sums_ok (f, FALSE);
  rec_assert_strv (got1, first_run);
  states1 = rec_show_states (f->dir);
  g_assert_nonnull (strstr (states1, "    'input.txt': (14, 2, "));
  out1 = rec_read_file (f->output);
  g_assert_cmpstr (out1, ==, "ALPHA 1\nBETA 2\n");

  /* Continued: refused, nothing written, no state changed. */
  append_file (f->input, "5\ngamma 3\n");
  got2 = run_sums (f, FALSE, &error);
  g_assert_null (got2);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INPUT_CHANGED);
  g_assert_nonnull (strstr (error->message, f->input));
  g_assert_nonnull (strstr (error->message, "at byte 14"));
  g_assert_nonnull (strstr (error->message, "hold-partial"));
  g_clear_error (&error);
  states2 = rec_show_states (f->dir);
  g_assert_cmpstr (states2, ==, states1);
  out2 = rec_read_file (f->output);
  g_assert_cmpstr (out2, ==, out1);

  /* As the message says: truncated back, then ended with a line end. */
  rec_write_file (f->input, "alpha 1\nbeta 2");
  append_file (f->input, "\ngamma 3\nbeta 7\n");
  got3 = run_sums_ok (f, FALSE);
  rec_assert_strv (got3, after_end);
  out3 = rec_read_file (f->output);
  g_assert_cmpstr (out3, ==, "ALPHA 1\nBETA 2\nGAMMA 3\nBETA 9\n");
  states3 = rec_show_states (f->dir);
  g_assert_nonnull (strstr (states3, "    'input.txt': (30, 4, "));
  g_assert_nonnull (strstr (states3, "    'beta': 9\n"));
  g_assert_nonnull (strstr (states3, "    'gamma': 3\n"));
}

/* An unterminated line ended with "\r\n", or so far with only its '\r'. */
static void
test_source_unterminated_crlf (Fixture       *f,
                               gconstpointer  data)
{
  const char *first_run[] = { "A 1", "B 2", NULL };
  const char *last_run[] = { "C 3", NULL };
  g_auto(GStrv) got1 = NULL;
  g_auto(GStrv) got2 = NULL;
  g_auto(GStrv) got3 = NULL;

  rec_write_file (f->input, "a 1\r\nb 2");
  got1 = run_sums_ok (f, FALSE);
  rec_assert_strv (got1, first_run);

  /* Only the '\r' so far: nothing to read yet (no empty line). */
  append_file (f->input, "\r");
  got2 = run_sums_ok (f, FALSE);
  g_assert_cmpuint (g_strv_length (got2), ==, 0);

  append_file (f->input, "\nc 3\r\n");
  got3 = run_sums_ok (f, FALSE);
  rec_assert_strv (got3, last_run);
}

/* With hold-partial, the same case: the unterminated line is held back and
 * emitted whole, and the key's state is right. */
static void
test_source_unterminated_held (Fixture       *f,
                               gconstpointer  data)
{
  const char *first_run[] = { "ALPHA 1", NULL };
  const char *second_run[] = { "BETA 25", "GAMMA 3", NULL };
  const char *third_run[] = { "BETA 26", NULL };
  g_auto(GStrv) got1 = NULL;
  g_auto(GStrv) got2 = NULL;
  g_auto(GStrv) got3 = NULL;
  g_auto(GStrv) got4 = NULL;
  g_autofree char *states1 = NULL;
  g_autofree char *states4 = NULL;
  g_autofree char *out = NULL;

  rec_write_file (f->input, "alpha 1\nbeta 2");
  got1 = run_sums_ok (f, TRUE);
  rec_assert_strv (got1, first_run);
  /* The snapshot's offset is before the held line. */
  states1 = rec_show_states (f->dir);
  g_assert_nonnull (strstr (states1, "    'input.txt': (8, 1, "));
  g_assert_null (strstr (states1, "'beta'"));

  append_file (f->input, "5\ngamma 3\nbeta 1");
  got2 = run_sums_ok (f, TRUE);
  rec_assert_strv (got2, second_run);

  append_file (f->input, "\n");
  got3 = run_sums_ok (f, TRUE);
  rec_assert_strv (got3, third_run);

  /* Nothing left. */
  got4 = run_sums_ok (f, TRUE);
  g_assert_cmpuint (g_strv_length (got4), ==, 0);

  out = rec_read_file (f->output);
  g_assert_cmpstr (out, ==, "ALPHA 1\nBETA 25\nGAMMA 3\nBETA 26\n");
  states4 = rec_show_states (f->dir);
  g_assert_nonnull (strstr (states4, "    'beta': 26\n"));
  g_assert_nonnull (strstr (states4, "    'alpha': 1\n"));
  g_assert_nonnull (strstr (states4, "    'gamma': 3\n"));
}

/* A line that is not UTF-8: the error names the file, line and offset,
 * and nothing of the run is committed past the line before it. */
static void
test_source_not_utf8 (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = NULL;

  rec_write_file (f->input, "a 1\nb \xff\xfe\nc 3\n");
  got = run_sums (f, FALSE, &error);
  g_assert_null (got);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_INPUT);
  g_assert_nonnull (strstr (error->message, f->input));
  g_assert_nonnull (strstr (error->message, "line 2 (at byte 4)"));
  g_assert_nonnull (strstr (error->message, "UTF-8"));
}

/* A NUL byte inside a line: the same error (the source checks a line's
 * length, not only up to its first NUL). */
static void
test_source_nul (Fixture       *f,
                 gconstpointer  data)
{
  static const char text[] = "a 1\nb 2\nc \0 3\nd 4\n";
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = NULL;

  g_assert_true (g_file_set_contents (f->input, text, sizeof text - 1, NULL));
  got = run_sums (f, FALSE, &error);
  g_assert_null (got);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_INPUT);
  g_assert_nonnull (strstr (error->message, f->input));
  g_assert_nonnull (strstr (error->message, "line 3 (at byte 8)"));
}

static void
test_source_grown (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *first = numbered_lines ("", 1, 11);
  g_autofree char *more = numbered_lines ("", 11, 14);
  g_auto(GStrv) expected1 = line_reprs (first);
  g_auto(GStrv) expected2 = line_reprs (more);
  g_auto(GStrv) got1 = NULL;
  g_auto(GStrv) got2 = NULL;
  g_auto(GStrv) got3 = NULL;
  g_autofree char *states = NULL;
  g_autofree char *offset = NULL;

  rec_write_file (f->input, first);
  got1 = run_copy_ok (f, FALSE, 4);
  rec_assert_strv (got1, expected1);

  /* The source remembers the byte offset it reached: the file's size. */
  states = rec_show_states (f->dir);
  offset = g_strdup_printf ("    'input.txt': (%zu, 10, ", strlen (first));
  g_assert_nonnull (strstr (states, offset));

  /* Grown: only the new lines. */
  append_file (f->input, more);
  got2 = run_copy_ok (f, FALSE, 4);
  rec_assert_strv (got2, expected2);

  /* Unchanged: nothing. */
  got3 = run_copy_ok (f, FALSE, 4);
  g_assert_cmpuint (g_strv_length (got3), ==, 0);
}

static void
test_source_truncated (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *first = numbered_lines ("", 1, 11);
  g_auto(GStrv) got = NULL;
  g_auto(GStrv) expected = line_reprs ("a\nb\n");

  rec_write_file (f->input, first);
  g_strfreev (run_copy_ok (f, FALSE, 1000));

  /* Shorter than what was read: it starts over. */
  rec_write_file (f->input, "a\nb\n");
  got = run_copy_ok (f, FALSE, 1000);
  rec_assert_strv (got, expected);
}

static void
test_source_replaced (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *first = numbered_lines ("", 10, 30);
  /* Longer than the fingerprinted head (4 KiB) of a file. */
  g_autofree char *longer = numbered_lines ("x", 0, 3000);
  g_autofree char *same_size = numbered_lines ("y", 0, 3000);

  rec_write_file (f->input, first);
  g_strfreev (run_copy_ok (f, FALSE, 7));

  /* Another, longer file: read from its start. */
  rec_write_file (f->input, longer);
  {
    g_auto(GStrv) got = run_copy_ok (f, FALSE, 7);
    g_auto(GStrv) expected = line_reprs (longer);
    rec_assert_strv (got, expected);
  }

  /* Another file of the same size: read from its start. */
  rec_write_file (f->input, same_size);
  {
    g_auto(GStrv) got = run_copy_ok (f, FALSE, 7);
    g_auto(GStrv) expected = line_reprs (same_size);
    rec_assert_strv (got, expected);
  }

  /* Its last line changed in place, same size, same first 4 KiB: read
   * from its start. */
  g_assert_true (g_str_has_suffix (same_size, "y2999\n"));
  same_size[strlen (same_size) - 2] = '7';
  rec_write_file (f->input, same_size);
  {
    g_auto(GStrv) got = run_copy_ok (f, FALSE, 7);
    g_auto(GStrv) expected = line_reprs (same_size);
    rec_assert_strv (got, expected);
  }
}

/* A failure in the middle of the file: the resumed run starts at the byte
 * offset of the last committed epoch, in the middle of the file. The step
 * that fails comes after the outputs, so the failing batch was written to
 * the output file before the failure: the resumed run truncates it away
 * and writes it again, once. */
static gboolean fail_once_armed;

static void
fail_once_on_8 (const char  *step_id,
                GVariant    *item,
                gpointer     user_data,
                GError     **error)
{
  if (fail_once_armed && g_str_equal (g_variant_get_string (item, NULL), "8"))
    {
      fail_once_armed = FALSE;
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_FAILED, "failing once on 8");
    }
}

static void
test_source_sink_mid_file (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *all = numbered_lines ("", 1, 21);
  g_autoptr(GError) error = NULL;
  GStrv got[2] = { NULL, NULL };
  g_auto(GStrv) expected1 = NULL;
  g_auto(GStrv) expected2 = NULL;
  g_autofree char *after_failure = NULL;
  g_autofree char *output = NULL;

  rec_write_file (f->input, all);
  fail_once_armed = TRUE;

  for (guint run = 0; run < 2; run++)
    {
      g_autoptr(FlowFileSource) source = flow_file_source_new (f->input);
      g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
      g_autoptr(FlowFileSink) file_sink = flow_file_sink_new (f->output);
      g_autoptr(FlowDataflow) flow = flow_dataflow_new ("files");
      FlowStream *s;
      gboolean ok;

      flow_file_source_set_batch_size (source, 3);
      s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
      flow_stream_output (s, "out", FLOW_SINK (sink));
      flow_stream_output (s, "file", FLOW_SINK (file_sink));
      flow_stream_inspect (s, "check", fail_once_on_8, NULL, NULL);

      ok = rec_run (flow, f->dir, 0, 0, NULL, &error);
      if (run == 0)
        {
          g_assert_false (ok);
          g_assert_error (error, FLOW_ERROR, FLOW_ERROR_FAILED);
          g_assert_nonnull (strstr (error->message, "files.check"));
          g_clear_error (&error);
          after_failure = rec_read_file (f->output);
        }
      else
        g_assert_no_error (error);
      got[run] = rec_sink_reprs (sink);
    }

  /* Batches of 3, an epoch each: 1-3, 4-6 committed; 7-9 written, then 8
   * failed. */
  {
    g_autofree char *seen = numbered_lines ("", 1, 10);
    g_autofree char *rest = numbered_lines ("", 7, 21);
    expected1 = line_reprs (seen);
    expected2 = line_reprs (rest);
    g_assert_cmpstr (after_failure, ==, seen);
  }
  rec_assert_strv (got[0], expected1);
  rec_assert_strv (got[1], expected2);

  /* Exactly once in the file. */
  output = rec_read_file (f->output);
  g_assert_cmpstr (output, ==, all);

  g_strfreev (got[0]);
  g_strfreev (got[1]);
}

/* ------------------------------------------------------------------------
 * FileSink
 * ------------------------------------------------------------------------ */

/* Bytes after the snapshotted offset (as an uncommitted epoch leaves them)
 * are dropped by the resumed run. */
static void
test_sink_truncates_uncommitted (Fixture       *f,
                                 gconstpointer  data)
{
  g_autofree char *first = numbered_lines ("", 1, 6);
  g_autofree char *more = numbered_lines ("", 6, 9);
  g_autofree char *all = numbered_lines ("", 1, 9);
  g_autofree char *output = NULL;

  rec_write_file (f->input, first);
  g_strfreev (run_copy_ok (f, TRUE, 2));
  output = rec_read_file (f->output);
  g_assert_cmpstr (output, ==, first);
  g_clear_pointer (&output, g_free);

  append_file (f->output, "written by an epoch that was not committed\n");
  append_file (f->input, more);
  g_strfreev (run_copy_ok (f, TRUE, 2));
  output = rec_read_file (f->output);
  g_assert_cmpstr (output, ==, all);
}

static GVariant *
to_text (GVariant  *item,
         gpointer   user_data,
         GError   **error)
{
  return g_variant_new_take_string (g_strdup_printf ("%" G_GINT64_FORMAT, g_variant_get_int64 (item)));
}

/* An abort before the first snapshot: the resumed run replays all of the
 * input, and the file holds its output once (with what the file held
 * before the first run kept in front of it). */
static void
test_sink_abort_before_first_snapshot (Fixture       *f,
                                       gconstpointer  data)
{
  static const gint64 values[] = { 0, 1, 2, 3, 4 };
  g_autoptr(FlowTestingSource) source = NULL;
  g_autoptr(FlowFileSink) sink = flow_file_sink_new (f->output);
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("files");
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;
  FlowStream *s;

  rec_write_file (f->output, "before\n");
  source = flow_testing_source_new (g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, values, 5,
                                                               sizeof (gint64)));
  flow_testing_source_add_marker (source, 3, FLOW_TESTING_MARKER_ABORT, 0);
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_map (s, "text", to_text, NULL, NULL);
  flow_stream_output (s, "file", FLOW_SINK (sink));

  /* Epochs of an hour: nothing is committed before the abort. */
  g_assert_false (rec_run (flow, f->dir, 3600, 0, NULL, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_ABORTED);
  g_clear_error (&error);
  output = rec_read_file (f->output);
  g_assert_cmpstr (output, ==, "before\n0\n1\n2\n");
  g_clear_pointer (&output, g_free);

  rec_run (flow, f->dir, 3600, 0, NULL, &error);
  g_assert_no_error (error);
  output = rec_read_file (f->output);
  g_assert_cmpstr (output, ==, "before\n0\n1\n2\n3\n4\n");
}

/* The output file is shorter than what the committed epochs wrote to it:
 * resuming would lose output, so the run fails and changes nothing. */
static void
test_sink_shortened (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *first = numbered_lines ("", 1, 30);
  g_autofree char *output = NULL;
  g_autofree char *before_dir = NULL;
  g_autofree char *before_out = NULL;
  g_autofree char *after_dir = NULL;
  g_autofree char *after_out = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = NULL;

  rec_write_file (f->input, first);
  g_strfreev (run_copy_ok (f, TRUE, 5));
  output = rec_read_file (f->output);
  output[strlen (output) / 2] = '\0';
  rec_write_file (f->output, output);
  append_file (f->input, "30\n");

  before_dir = rec_dir_state (f->dir);
  before_out = rec_file_state (f->output);
  got = run_copy (f, TRUE, 5, &error);
  g_assert_null (got);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_OUTPUT_CHANGED);
  g_assert_nonnull (strstr (error->message, f->output));
  after_dir = rec_dir_state (f->dir);
  after_out = rec_file_state (f->output);
  g_assert_cmpstr (after_dir, ==, before_dir);
  g_assert_cmpstr (after_out, ==, before_out);
}

/* The output file was deleted: the same error, and no new empty file. */
static void
test_sink_deleted (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *first = numbered_lines ("", 1, 30);
  g_autofree char *before_dir = NULL;
  g_autofree char *after_dir = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = NULL;

  rec_write_file (f->input, first);
  g_strfreev (run_copy_ok (f, TRUE, 5));
  g_assert_cmpint (g_remove (f->output), ==, 0);

  before_dir = rec_dir_state (f->dir);
  got = run_copy (f, TRUE, 5, &error);
  g_assert_null (got);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_OUTPUT_CHANGED);
  g_assert_nonnull (strstr (error->message, f->output));
  after_dir = rec_dir_state (f->dir);
  g_assert_cmpstr (after_dir, ==, before_dir);
  g_assert_false (g_file_test (f->output, G_FILE_TEST_EXISTS));
}

static char *
key_parity (GVariant  *item,
            gpointer   user_data,
            GError   **error)
{
  return g_strdup (g_variant_get_int64 (item) % 2 ? "odd" : "even");
}

static GVariant *
running_sum (GVariant  *state,
             GVariant  *value,
             GVariant **emit,
             gpointer   user_data,
             GError   **error)
{
  gint64 sum = (state ? g_variant_get_int64 (state) : 0) + g_variant_get_int64 (value);

  *emit = g_variant_ref_sink (g_variant_new_int64 (sum));
  return g_variant_ref (*emit);
}

/* values-only: keyed items are written as their value, whether they reach
 * the sink split (after a stateful step) or as `(sv)` variants, across an
 * abort and a resume (exactly-once); the default writes them whole. */
static void
test_sink_values_only (Fixture       *f,
                       gconstpointer  data)
{
  static const gint64 values[] = { 1, 2, 3, 4, 5, 6 };
  g_autoptr(FlowTestingSource) source = NULL;
  g_autoptr(FlowTestingSource) keyed = NULL;
  g_autoptr(FlowFileSink) sink = flow_file_sink_new (f->output);
  g_autofree char *boxed_path = g_build_filename (f->work, "boxed.txt", NULL);
  g_autofree char *whole_path = g_build_filename (f->work, "whole.txt", NULL);
  g_autoptr(FlowFileSink) boxed = flow_file_sink_new (boxed_path);
  g_autoptr(FlowFileSink) whole = flow_file_sink_new (whole_path);
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("files");
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;
  GVariantBuilder builder;
  gboolean values_only = FALSE;
  FlowStream *s;

  g_assert_false (flow_file_sink_get_values_only (sink));
  flow_file_sink_set_values_only (sink, TRUE);
  g_object_set (boxed, "values-only", TRUE, NULL);
  g_object_get (boxed, "values-only", &values_only, NULL);
  g_assert_true (values_only);

  source = flow_testing_source_new (g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, values, 6,
                                                               sizeof (gint64)));
  flow_testing_source_set_batch_size (source, 2);
  flow_testing_source_add_marker (source, 4, FLOW_TESTING_MARKER_ABORT, 0);
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_key_on (s, "key", key_parity, NULL, NULL);
  s = flow_stream_stateful_map (s, "sum", NULL, NULL, NULL, running_sum, NULL, NULL);
  flow_stream_output (s, "file", FLOW_SINK (sink));
  flow_stream_output (s, "whole", FLOW_SINK (whole));

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("av"));
  g_variant_builder_add (&builder, "v", g_variant_new ("(sv)", "k", g_variant_new_string ("text")));
  g_variant_builder_add (&builder, "v", g_variant_new ("(sv)", "k", g_variant_new_int64 (7)));
  g_variant_builder_add (&builder, "v", g_variant_new_string ("not keyed"));
  keyed = flow_testing_source_new (g_variant_builder_end (&builder));
  flow_stream_output (flow_dataflow_input (flow, "keyed", FLOW_SOURCE (keyed)), "boxed",
                      FLOW_SINK (boxed));

  /* Epochs of one batch: the abort replays the uncommitted one. */
  g_assert_false (rec_run (flow, f->dir, 0, 0, NULL, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_ABORTED);
  g_clear_error (&error);
  rec_run (flow, f->dir, 0, 0, NULL, &error);
  g_assert_no_error (error);

  output = rec_read_file (f->output);
  g_assert_cmpstr (output, ==, "1\n2\n4\n6\n9\n12\n");
  g_clear_pointer (&output, g_free);
  output = rec_read_file (whole_path);
  g_assert_cmpstr (output, ==, "('odd', 1)\n('even', 2)\n('odd', 4)\n('even', 6)\n('odd', 9)\n('even', 12)\n");
  g_clear_pointer (&output, g_free);
  output = rec_read_file (boxed_path);
  g_assert_cmpstr (output, ==, "text\n7\nnot keyed\n");
}

/* ------------------------------------------------------------------------
 * FlowSinkPartition.sync(): off the main thread, before the commit
 * ------------------------------------------------------------------------ */

/* A sink whose partition counts what it got, snapshots the count and
 * records the thread of each sync(); sync() number fail_at fails. */
#define SYNC_TYPE_SINK (sync_sink_get_type ())
G_DECLARE_FINAL_TYPE (SyncSink, sync_sink, SYNC, SINK, FlowSink)
struct _SyncSink
{
  FlowSink  parent;
  GThread  *main_thread;
  gint      syncs;           /* atomic */
  gint      syncs_on_main;   /* atomic */
  gint      fail_at;         /* 0: never */
  guint64   written;
};
G_DEFINE_FINAL_TYPE (SyncSink, sync_sink, FLOW_TYPE_SINK)

#define SYNC_TYPE_PART (sync_part_get_type ())
G_DECLARE_FINAL_TYPE (SyncPart, sync_part, SYNC, PART, FlowSinkPartition)
struct _SyncPart { FlowSinkPartition parent; SyncSink *sink; };
G_DEFINE_FINAL_TYPE (SyncPart, sync_part, FLOW_TYPE_SINK_PARTITION)

static gboolean
sync_part_write_batch (FlowSinkPartition  *part,
                       GPtrArray          *items,
                       GError            **error)
{
  SYNC_PART (part)->sink->written += items->len;
  return TRUE;
}

static GVariant *
sync_part_snapshot (FlowSinkPartition  *part,
                    GError            **error)
{
  return g_variant_ref_sink (g_variant_new_uint64 (SYNC_PART (part)->sink->written));
}

static gboolean
sync_part_sync (FlowSinkPartition  *part,
                GError            **error)
{
  SyncSink *sink = SYNC_PART (part)->sink;
  gint n = g_atomic_int_add (&sink->syncs, 1) + 1;

  if (g_thread_self () == sink->main_thread)
    g_atomic_int_inc (&sink->syncs_on_main);
  if (n == sink->fail_at)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO, "sync %d of the test sink failed", n);
      return FALSE;
    }
  return TRUE;
}

static void
sync_part_class_init (SyncPartClass *klass)
{
  FLOW_SINK_PARTITION_CLASS (klass)->write_batch = sync_part_write_batch;
  FLOW_SINK_PARTITION_CLASS (klass)->snapshot = sync_part_snapshot;
  FLOW_SINK_PARTITION_CLASS (klass)->sync = sync_part_sync;
}

static void sync_part_init (SyncPart *self) {}

static FlowSinkPartition *
sync_sink_build_part (FlowSink    *sink,
                      const char  *step_id,
                      const char  *part_key,
                      GVariant    *resume_state,
                      GError     **error)
{
  SyncPart *part = g_object_new (SYNC_TYPE_PART, NULL);

  part->sink = SYNC_SINK (sink);
  return FLOW_SINK_PARTITION (part);
}

static void
sync_sink_class_init (SyncSinkClass *klass)
{
  FLOW_SINK_CLASS (klass)->build_part = sync_sink_build_part;
}

static void sync_sink_init (SyncSink *self) {}

static FlowDataflow *
sync_flow (SyncSink *sink)
{
  static const gint64 values[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  FlowDataflow *flow = flow_dataflow_new ("sync");
  g_autoptr(FlowTestingSource) source =
    flow_testing_source_new (g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, values, 8, sizeof (gint64)));

  flow_testing_source_set_batch_size (source, 2);
  flow_stream_output (flow_dataflow_input (flow, "inp", FLOW_SOURCE (source)), "out", FLOW_SINK (sink));
  return flow;
}

/* With recovery, sync() runs once per committed epoch (and once at the
 * start, for the initial rows), never on the main thread but at the start;
 * without recovery it is not called. */
static void
test_sink_sync_off_main_thread (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(SyncSink) sink = g_object_new (SYNC_TYPE_SINK, NULL);
  g_autoptr(FlowDataflow) flow = sync_flow (sink);
  g_autoptr(FlowRunner) runner = flow_runner_new (flow);
  g_autoptr(GError) error = NULL;
  guint64 epochs;

  sink->main_thread = g_thread_self ();
  g_assert_true (rec_run (flow, NULL, 0, 0, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sink->syncs, ==, 0);

  flow_runner_set_recovery_directory (runner, f->dir);
  flow_runner_set_snapshot_interval (runner, 0);
  g_assert_true (flow_runner_run (runner, NULL, &error));
  g_assert_no_error (error);
  epochs = flow_runner_get_epoch (runner) - flow_runner_get_resume_epoch (runner);
  g_assert_cmpuint (sink->written, ==, 16);
  /* one per epoch closed (each committed), one for the initial rows */
  g_assert_cmpint (sink->syncs, ==, (gint) epochs);
  g_assert_cmpint (sink->syncs, >=, 3);
  g_assert_cmpint (sink->syncs_on_main, ==, 1);
}

/* A failing sync() fails the run with its error, before the epoch is
 * committed: the next run resumes from the epoch before. */
static void
test_sink_sync_failure (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(SyncSink) sink = g_object_new (SYNC_TYPE_SINK, NULL);
  g_autoptr(FlowDataflow) flow = sync_flow (sink);
  g_autoptr(GError) error = NULL;
  guint64 resume = 0;

  sink->main_thread = g_thread_self ();
  sink->fail_at = 3;  /* the initial rows' and epoch 1's pass */
  g_assert_false (rec_run (flow, f->dir, 0, 0, NULL, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "sync 3 of the test sink failed"));
  g_clear_error (&error);

  sink->fail_at = 0;
  sink->written = 0;
  g_assert_true (rec_run (flow, f->dir, 0, 0, &resume, &error));
  g_assert_no_error (error);
  /* The first epoch (the first batch of two) was committed, the second
   * (whose sync failed) was not: the items from the third on come again. */
  g_test_message ("resumed from epoch %" G_GUINT64_FORMAT, resume);
  g_assert_cmpuint (sink->written, ==, 6);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/files/source/grown", test_source_grown);
  ADD ("/files/source/truncated", test_source_truncated);
  ADD ("/files/source/replaced", test_source_replaced);
  ADD ("/files/source/unterminated/continued", test_source_unterminated_continued);
  ADD ("/files/source/unterminated/crlf", test_source_unterminated_crlf);
  ADD ("/files/source/unterminated/held", test_source_unterminated_held);
  ADD ("/files/source/not-utf8", test_source_not_utf8);
  ADD ("/files/source/nul", test_source_nul);
  ADD ("/files/source-and-sink/mid-file-failure", test_source_sink_mid_file);
  ADD ("/files/sink/truncates-uncommitted", test_sink_truncates_uncommitted);
  ADD ("/files/sink/abort-before-first-snapshot", test_sink_abort_before_first_snapshot);
  ADD ("/files/sink/shortened", test_sink_shortened);
  ADD ("/files/sink/deleted", test_sink_deleted);
  ADD ("/files/sink/values-only", test_sink_values_only);
  ADD ("/files/sink/sync-off-main-thread", test_sink_sync_off_main_thread);
  ADD ("/files/sink/sync-failure", test_sink_sync_failure);

#undef ADD

  return g_test_run ();
}
