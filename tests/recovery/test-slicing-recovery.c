/* test-slicing-recovery.c: recovery when input batches are split into
 * sub-batches (time slices)
 *
 * A FileSource batch of 20 lines goes through flat_map (words) → key_on →
 * stateful_map (count) → FileSink a few lines per dispatch
 * (flow_exec_set_test_slice_items()), and every line moves the test clock
 * on by 0.3 s, so each epoch comes due in the middle of a batch. The
 * epoch must still close only once the whole batch was pushed: the
 * source's snapshot is its read position. Checked: the snapshots and the
 * output are those of an unsplit run, and a run that fails in the middle
 * of a batch resumes with its output exactly once.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gstdio.h>
#include <string.h>

#include "recovery-common.h"
#include "flow-runner-private.h"
#include "flow-exec-private.h"

#define N_LINES 60
#define BATCH 20

static FlowClock *run_clock;
static guint lines_seen;
static guint fail_at_line;   /* 0: never */

static GVariant *
split_words (GVariant  *item,
             gpointer   data,
             GError   **error)
{
  g_auto(GStrv) words = g_strsplit (g_variant_get_string (item, NULL), " ", -1);

  lines_seen++;
  flow_clock_advance (run_clock, 300 * 1000);
  if (fail_at_line > 0 && lines_seen == fail_at_line)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_FAILED, "failing at line %u", lines_seen);
      return NULL;
    }
  return g_variant_new_strv ((const char * const *) words, -1);
}

static char *
word_key (GVariant  *item,
          gpointer   data,
          GError   **error)
{
  return g_variant_dup_string (item, NULL);
}

static GVariant *
zero (gpointer   data,
      GError   **error)
{
  return g_variant_new_int64 (0);
}

static GVariant *
count (GVariant  *state,
       GVariant  *value,
       GVariant **emit,
       gpointer   data,
       GError   **error)
{
  gint64 n = g_variant_get_int64 (state) + 1;

  *emit = g_variant_new_int64 (n);
  return g_variant_new_int64 (n);
}

/* Line @i: 1 to 5 words out of 11. */
static char *
write_input (const char *tmp)
{
  g_autoptr(GString) text = g_string_new (NULL);
  char *path = g_build_filename (tmp, "input.txt", NULL);

  for (guint i = 0; i < N_LINES; i++)
    {
      for (guint j = 0; j <= i % 5; j++)
        g_string_append_printf (text, "%sw%u", j > 0 ? " " : "", (i * 7 + j * 3) % 11);
      g_string_append_c (text, '\n');
    }
  rec_write_file (path, text->str);
  return path;
}

/* The output computed here, without libflow: one line per word. */
static char *
expected_output (const char *input)
{
  g_autofree char *text = rec_read_file (input);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr(GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      g_auto(GStrv) words = g_strsplit (lines[i], " ", -1);

      for (guint j = 0; words[j] != NULL; j++)
        {
          guint n = GPOINTER_TO_UINT (g_hash_table_lookup (counts, words[j])) + 1;

          g_hash_table_replace (counts, g_strdup (words[j]), GUINT_TO_POINTER (n));
          g_string_append_printf (out, "('%s', %u)\n", words[j], n);
        }
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static FlowDataflow *
word_count_flow (const char *input,
                 const char *output)
{
  FlowDataflow *flow = flow_dataflow_new ("slicing");
  g_autoptr(FlowFileSource) source = flow_file_source_new (input);
  g_autoptr(FlowFileSink) sink = flow_file_sink_new (output);
  FlowStream *s;

  flow_file_source_set_batch_size (source, BATCH);
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_flat_map (s, "split", split_words, NULL, NULL);
  s = flow_stream_key_on (s, "key", word_key, NULL, NULL);
  s = flow_stream_stateful_map (s, "count", zero, NULL, NULL, count, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));
  return flow;
}

/* One run on a test clock of its own, @slice items per dispatch (0: by
 * time), snapshots every second of that clock, kept for an hour. */
static gboolean
run (FlowDataflow  *flow,
     const char    *dir,
     guint          slice,
     guint64       *resume_epoch,
     GError       **error)
{
  g_autoptr(FlowRunner) runner = flow_runner_new (flow);
  g_autoptr(FlowClock) clock = flow_clock_new_test (G_GINT64_CONSTANT (1700000000000000));
  gboolean ok;

  run_clock = clock;
  lines_seen = 0;
  flow_exec_set_test_slice_items (slice);
  flow_runner_set_recovery_directory (runner, dir);
  flow_runner_set_snapshot_interval (runner, 1.0);
  /* Older snapshots are kept: test_same_snapshots() compares every epoch's. */
  flow_runner_set_backup_interval (runner, 3600.0);
  ok = flow_runner_run_with_test_clock (runner, clock, NULL, error);
  flow_exec_set_test_slice_items (0);
  run_clock = NULL;
  if (resume_epoch != NULL)
    *resume_epoch = flow_runner_get_resume_epoch (runner);
  return ok;
}

/* Every snapshot row of every epoch. */
static GStrv
snapshot_rows (const char *dir)
{
  g_autofree char *path = rec_part_path (dir, 0);

  return rec_sql_rows (path, "SELECT step_id, state_key, epoch, hex(ser) FROM snaps "
                             "ORDER BY step_id, state_key, epoch");
}

/* Split or not, the same epochs with the same snapshots, and the same
 * output. */
static void
test_same_snapshots (void)
{
  g_autofree char *tmp = rec_tmpdir ();
  g_autofree char *input = write_input (tmp);
  g_autofree char *output = g_build_filename (tmp, "output.txt", NULL);
  g_autofree char *expected = expected_output (input);
  g_autoptr(FlowDataflow) flow = word_count_flow (input, output);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) whole_rows = NULL;
  g_autofree char *whole_output = NULL;
  static const guint slices[] = { 1, 3, 7 };

  {
    g_autofree char *dir = rec_init_dir (1);
    g_autofree char *part = rec_part_path (dir, 0);

    run (flow, dir, BATCH, NULL, &error);
    g_assert_no_error (error);
    whole_rows = snapshot_rows (dir);
    whole_output = rec_read_file (output);
    g_assert_cmpstr (whole_output, ==, expected);
    /* An epoch per batch and the final one: the input's snapshot in
     * each is where a batch ends. */
    g_assert_cmpuint (rec_sql_int (part, "SELECT max(epoch) FROM epochs"), ==,
                      N_LINES / BATCH + 1);
    rec_rm_rf (dir);
  }

  for (guint i = 0; i < G_N_ELEMENTS (slices); i++)
    {
      g_autofree char *dir = rec_init_dir (1);
      g_autofree char *got = NULL;
      g_auto(GStrv) rows = NULL;

      g_assert_no_errno (g_unlink (output));
      run (flow, dir, slices[i], NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (lines_seen, ==, N_LINES);
      rows = snapshot_rows (dir);
      rec_assert_strv (rows, whole_rows);
      got = rec_read_file (output);
      g_assert_cmpstr (got, ==, whole_output);
      rec_rm_rf (dir);
    }
  rec_rm_rf (tmp);
}

/* A run fails ten lines into its third batch, after two epochs closed
 * that came due in the middle of a batch; the resumed run reads from the
 * start of the third batch and the output is each word's count exactly
 * once. */
static void
test_fail_mid_batch (void)
{
  g_autofree char *tmp = rec_tmpdir ();
  g_autofree char *input = write_input (tmp);
  g_autofree char *output = g_build_filename (tmp, "output.txt", NULL);
  g_autofree char *expected = expected_output (input);
  g_autofree char *dir = rec_init_dir (1);
  g_autoptr(FlowDataflow) flow = word_count_flow (input, output);
  g_autoptr(GError) error = NULL;
  g_autofree char *got = NULL;
  guint64 resume = 0;

  fail_at_line = 2 * BATCH + 10;
  g_assert_false (run (flow, dir, 3, NULL, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "failing at line"));
  g_clear_error (&error);
  fail_at_line = 0;

  run (flow, dir, 3, &resume, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (resume, ==, 2);
  g_assert_cmpuint (lines_seen, ==, N_LINES - 2 * BATCH);
  got = rec_read_file (output);
  g_assert_cmpstr (got, ==, expected);

  rec_rm_rf (dir);
  rec_rm_rf (tmp);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/slicing/recovery/same-snapshots", test_same_snapshots);
  g_test_add_func ("/slicing/recovery/fail-mid-batch", test_fail_mid_batch);

  return g_test_run ();
}
