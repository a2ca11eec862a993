/* test-store.c: the recovery store from the inside
 *
 * Tests that need libflow's internals (linked statically): a race made
 * deterministic through a test hook, partition file modes, and a fuzz test
 * of stored states.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "flow-store-private.h"
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

/* Items i in [0, n): key "k{i % 4}", value i + 1. */
static GVariant *
keyed_items (guint n)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sv)"));
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *key = g_strdup_printf ("k%u", i % 4);
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
  gint64 sums[4] = { 0 };

  for (guint i = 0; i < to; i++)
    {
      sums[i % 4] += i + 1;
      if (i >= from)
        rec_add (lines, "('k%u', %" G_GINT64_FORMAT ")", i % 4, sums[i % 4]);
    }
  return rec_strv (lines);
}

static GStrv
run_keyed (const char  *dir,
           guint        n,
           GError     **error)
{
  g_autoptr(FlowTestingSource) source = flow_testing_source_new (keyed_items (n));
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("store");
  FlowStream *s;

  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_stateful_map (s, "sum", zero, NULL, NULL, add, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));
  if (!rec_run (flow, dir, 0, 0, NULL, error))
    return NULL;
  return rec_sink_reprs (sink);
}

/* ------------------------------------------------------------------------
 * The directory lock is taken before anything is read
 * ------------------------------------------------------------------------ */

typedef struct
{
  char    *dir;
  guint    n;
  GStrv    output;
  GError  *error;
} OtherRun;

static OtherRun other;

static gpointer
other_run_thread (gpointer data)
{
  OtherRun *run = data;

  run->output = run_keyed (run->dir, run->n, &run->error);
  return NULL;
}

/* Another run of the same flow over the same (grown) input, started and
 * finished while this run is between reading the directory and starting
 * its execution: the window the issue forced with gdb. */
static void
run_other_while_opening (const char *directory)
{
  flow_store_test_opened_hook = NULL;  /* once */
  g_thread_join (g_thread_new ("other-run", other_run_thread, &other));
}

static void
test_lock_race (void)
{
  g_autofree char *dir = rec_init_dir (2);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) first = NULL;
  g_auto(GStrv) second = NULL;
  g_auto(GStrv) expected_first = expected_output (0, 8);
  g_auto(GStrv) expected_second = expected_output (8, 16);
  g_auto(GStrv) expected_none = expected_output (16, 16);
  g_autofree char *states = NULL;

  first = run_keyed (dir, 8, &error);
  g_assert_no_error (error);
  rec_assert_strv (first, expected_first);

  /* The input grew to 16 items. Two runs start at once. */
  other.dir = dir;
  other.n = 16;
  flow_store_test_opened_hook = run_other_while_opening;
  second = run_keyed (dir, 16, &error);
  flow_store_test_opened_hook = NULL;

  /* The run that opened the directory first holds it from then on: the
   * other is refused, and this one resumes exactly where the first left
   * off. */
  g_assert_no_error (error);
  g_assert_error (other.error, FLOW_ERROR, FLOW_ERROR_PARTITIONS_IN_USE);
  g_assert_nonnull (strstr (other.error->message, dir));
  g_assert_null (other.output);
  rec_assert_strv (second, expected_second);

  /* Its epochs are all there: a third run has nothing left to do. */
  g_clear_pointer (&second, g_strfreev);
  second = run_keyed (dir, 16, &error);
  g_assert_no_error (error);
  rec_assert_strv (second, expected_none);
  states = rec_show_states (dir);
  g_assert_nonnull (strstr (states, "    'k0': 28\n"));   /* 1 + 5 + 9 + 13 */
  g_assert_nonnull (strstr (states, "    'k3': 40\n"));   /* 4 + 8 + 12 + 16 */

  g_clear_error (&other.error);
  g_clear_pointer (&other.output, g_strfreev);
  rec_rm_rf (dir);
}

/* ------------------------------------------------------------------------
 * A killed init
 * ------------------------------------------------------------------------ */

static guint kill_step;

static void
die_at_step (guint step)
{
  if (step == kill_step)
    _exit (3);   /* as if killed: no cleanup of any kind */
}

static void
test_init_killed_child (void)
{
  const char *dir = g_getenv ("STORE_TEST_INIT_DIR");
  g_autoptr(GError) error = NULL;

  if (!g_test_subprocess ())
    {
      g_test_skip ("run by /store/init/killed");
      return;
    }
  kill_step = (guint) g_ascii_strtoull (g_getenv ("STORE_TEST_KILL_STEP"), NULL, 10);
  flow_store_test_init_hook = die_at_step;
  g_assert_true (flow_recovery_init_dir (dir, 3, &error));
  g_assert_no_error (error);
}

/* `flow-recovery init` killed at every step of its work: a run against
 * what it left refuses to run (never half-made partitions taken for good
 * ones) or runs from a complete directory, and init again always
 * succeeds and gives a directory a run resumes from. */
static void
test_init_killed (void)
{
  g_auto(GStrv) expected = expected_output (0, 8);
  gboolean completed = FALSE;

  for (guint step = 0; !completed; step++)
    {
      g_autofree char *dir = rec_tmpdir ();
      g_autofree char *step_s = g_strdup_printf ("%u", step);
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      g_autoptr(GError) error = NULL;
      g_auto(GStrv) got = NULL;
      int status;

      g_assert_cmpuint (step, <, 100);
      g_setenv ("STORE_TEST_INIT_DIR", dir, TRUE);
      g_setenv ("STORE_TEST_KILL_STEP", step_s, TRUE);
      g_test_trap_subprocess ("/store/init/killed/child", 0, G_TEST_SUBPROCESS_DEFAULT);
      completed = g_test_trap_has_passed ();
      g_test_message ("killed at step %u: %s", step, completed ? "completed" : "killed");

      /* A run either refuses with a message that says to run init, or
       * (init completed) runs. */
      got = run_keyed (dir, 8, &error);
      if (completed)
        {
          g_assert_no_error (error);
          rec_assert_strv (got, expected);
          rec_rm_rf (dir);
          break;
        }
      g_assert_nonnull (error);
      g_assert_true (error->domain == FLOW_ERROR);
      g_assert_nonnull (strstr (error->message, "flow-recovery init"));
      g_clear_error (&error);

      /* init again cleans up and succeeds; then a run works. */
      status = rec_tool (&out, &err, "init", dir, "3", NULL);
      if (status != 0)
        g_error ("init after a kill at step %u failed: %s", step, err);
      got = run_keyed (dir, 8, &error);
      g_assert_no_error (error);
      rec_assert_strv (got, expected);

      rec_rm_rf (dir);
    }
}

/* ------------------------------------------------------------------------
 * File modes
 * ------------------------------------------------------------------------ */

static guint n_checked;

/* Every file of @directory is readable and writable by its owner only. */
static void
assert_owner_only (const char *directory)
{
  g_autoptr(GDir) dir = g_dir_open (directory, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (directory, name, NULL);
      GStatBuf st;

      g_assert_cmpint (g_stat (path, &st), ==, 0);
      if ((st.st_mode & 0777) != 0600)
        g_error ("%s has mode %o, not 600", path, st.st_mode & 0777);
      n_checked++;
    }
}

static void
test_modes (void)
{
  g_autofree char *dir = rec_tmpdir ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = NULL;
  mode_t old_mask = umask (0);

  /* Even with a umask of 0: states may be pickles a run unpickles. */
  g_assert_true (flow_recovery_init_dir (dir, 3, &error));
  g_assert_no_error (error);
  umask (old_mask);
  n_checked = 0;
  assert_owner_only (dir);
  g_assert_cmpuint (n_checked, ==, 3);

  /* While a run has them open, their -wal and -shm files too. */
  n_checked = 0;
  flow_store_test_opened_hook = assert_owner_only;
  got = run_keyed (dir, 8, &error);
  flow_store_test_opened_hook = NULL;
  g_assert_no_error (error);
  g_assert_cmpuint (n_checked, >, 3);

  rec_rm_rf (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/store/lock/race", test_lock_race);
  g_test_add_func ("/store/init/killed", test_init_killed);
  g_test_add_func ("/store/init/modes", test_modes);
  g_test_add_func ("/store/init/killed/child", test_init_killed_child);

  return g_test_run ();
}
