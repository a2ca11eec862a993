/* test-join.c: join (every insert and emit mode, any number of sides),
 * enrich_cached and FlowTTLCache
 *
 * The sides of a join come from one input, in order: each item of the
 * input is `(key, (side, value))`, and side i is the items tagged i
 * (filter_value, then map_value to the value). With a batch size of one,
 * the join sees the values in the order of the input, so the outputs of
 * the running and product modes are exact. Runs use the test clock.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gstdio.h>

#include "flow-test-utils.h"

#define ADD(path, func) \
  g_test_add (path, FlowHarness, NULL, flow_harness_setup, func, flow_harness_teardown)

static gboolean
is_side (GVariant  *value,
         gpointer   data,
         GError   **error)
{
  gint32 side;

  g_variant_get_child (value, 0, "i", &side);
  return side == GPOINTER_TO_INT (data);
}

static GVariant *
side_value (GVariant  *value,
            gpointer   data,
            GError   **error)
{
  GVariant *boxed = g_variant_get_child_value (value, 1);
  GVariant *inner = g_variant_get_variant (boxed);

  g_variant_unref (boxed);
  return inner;
}

/* Joins the @n_sides sides tagged in @text. */
static FlowStream *
join_tagged (FlowHarness        *h,
             const char         *text,
             guint               n_sides,
             FlowJoinInsertMode  insert_mode,
             FlowJoinEmitMode    emit_mode)
{
  FlowStream *input = flow_harness_input (h, text);
  FlowStream *sides[8];

  g_assert_cmpuint (n_sides, <=, G_N_ELEMENTS (sides));
  flow_testing_source_set_batch_size (h->source, 1);
  for (guint i = 0; i < n_sides; i++)
    {
      g_autofree char *filter_id = g_strdup_printf ("side%u", i);
      g_autofree char *map_id = g_strdup_printf ("value%u", i);
      FlowStream *s;

      s = flow_stream_filter_value (input, filter_id, is_side, GINT_TO_POINTER (i), NULL);
      sides[i] = flow_stream_map_value (s, map_id, side_value, NULL, NULL);
    }
  return flow_stream_join (sides[0], "join", sides + 1, n_sides - 1, insert_mode, emit_mode);
}

static void
assert_join (FlowHarness        *h,
             const char         *text,
             guint               n_sides,
             FlowJoinInsertMode  insert_mode,
             FlowJoinEmitMode    emit_mode,
             const char         *expected)
{
  FlowStream *joined = join_tagged (h, text, n_sides, insert_mode, emit_mode);
  g_autofree char *repr = flow_harness_run (h, joined);

  g_assert_cmpstr (repr, ==, expected);
}

/* The input of most tests: key 'a' gets 1, 2 on side 0 and 10, 20 on side
 * 1, interleaved; key 'b' only 5 on side 0. */
#define TWO_SIDES \
  "[('a', <(0, <1>)>), ('b', <(0, <5>)>), ('a', <(0, <2>)>), " \
  " ('a', <(1, <10>)>), ('a', <(1, <20>)>)]"

/* Bytewax's test_join_*: left [1], right [2, 3]; key 'ALL'. */
#define BYTEWAX_LR \
  "[('ALL', <(0, <1>)>), ('ALL', <(1, <2>)>), ('ALL', <(1, <3>)>)]"

/* ------------------------------------------------------------------------
 * Emit modes, with Bytewax's own cases
 * ------------------------------------------------------------------------ */

static void
test_join_complete_bytewax (FlowHarness *h, gconstpointer data)
{
  /* Complete emits once both sides are set, then forgets: the 3 arrives
   * on a fresh state that never completes. */
  assert_join (h, BYTEWAX_LR, 2, FLOW_JOIN_INSERT_MODE_LAST, FLOW_JOIN_EMIT_MODE_COMPLETE,
               "[('ALL', (1, 2))]");
}

static void
test_join_final_bytewax (FlowHarness *h, gconstpointer data)
{
  assert_join (h, BYTEWAX_LR, 2, FLOW_JOIN_INSERT_MODE_LAST, FLOW_JOIN_EMIT_MODE_FINAL,
               "[('ALL', (1, 3))]");
}

static void
test_join_running_bytewax (FlowHarness *h, gconstpointer data)
{
  assert_join (h, BYTEWAX_LR, 2, FLOW_JOIN_INSERT_MODE_LAST, FLOW_JOIN_EMIT_MODE_RUNNING,
               "[('ALL', (1, None)), ('ALL', (1, 2)), ('ALL', (1, 3))]");
}

static void
test_join_product_final_bytewax (FlowHarness *h, gconstpointer data)
{
  /* left [1, 2], right [3, 4] */
  assert_join (h,
               "[('ALL', <(0, <1>)>), ('ALL', <(0, <2>)>), ('ALL', <(1, <3>)>), ('ALL', <(1, <4>)>)]",
               2, FLOW_JOIN_INSERT_MODE_PRODUCT, FLOW_JOIN_EMIT_MODE_FINAL,
               "[('ALL', (1, 3)), ('ALL', (1, 4)), ('ALL', (2, 3)), ('ALL', (2, 4))]");
}

/* ------------------------------------------------------------------------
 * Every insert mode with every emit mode, on TWO_SIDES
 * ------------------------------------------------------------------------ */

static void
test_join_first_complete (FlowHarness *h, gconstpointer data)
{
  /* 'a' completes at 10 with the first left value; 20 starts anew and
   * never completes; 'b' never does. */
  assert_join (h, TWO_SIDES, 2, FLOW_JOIN_INSERT_MODE_FIRST, FLOW_JOIN_EMIT_MODE_COMPLETE,
               "[('a', (1, 10))]");
}

static void
test_join_last_complete (FlowHarness *h, gconstpointer data)
{
  assert_join (h, TWO_SIDES, 2, FLOW_JOIN_INSERT_MODE_LAST, FLOW_JOIN_EMIT_MODE_COMPLETE,
               "[('a', (2, 10))]");
}

static void
test_join_product_complete (FlowHarness *h, gconstpointer data)
{
  assert_join (h, TWO_SIDES, 2, FLOW_JOIN_INSERT_MODE_PRODUCT, FLOW_JOIN_EMIT_MODE_COMPLETE,
               "[('a', (1, 10)), ('a', (2, 10))]");
}

static void
test_join_first_final (FlowHarness *h, gconstpointer data)
{
  /* Keys in order at the end of input; 'b' has no right value. */
  assert_join (h, TWO_SIDES, 2, FLOW_JOIN_INSERT_MODE_FIRST, FLOW_JOIN_EMIT_MODE_FINAL,
               "[('a', (1, 10)), ('b', (5, None))]");
}

static void
test_join_last_final (FlowHarness *h, gconstpointer data)
{
  assert_join (h, TWO_SIDES, 2, FLOW_JOIN_INSERT_MODE_LAST, FLOW_JOIN_EMIT_MODE_FINAL,
               "[('a', (2, 20)), ('b', (5, None))]");
}

static void
test_join_product_final (FlowHarness *h, gconstpointer data)
{
  assert_join (h, TWO_SIDES, 2, FLOW_JOIN_INSERT_MODE_PRODUCT, FLOW_JOIN_EMIT_MODE_FINAL,
               "[('a', (1, 10)), ('a', (1, 20)), ('a', (2, 10)), ('a', (2, 20)), "
               "('b', (5, None))]");
}

static void
test_join_first_running (FlowHarness *h, gconstpointer data)
{
  assert_join (h, TWO_SIDES, 2, FLOW_JOIN_INSERT_MODE_FIRST, FLOW_JOIN_EMIT_MODE_RUNNING,
               "[('a', (1, None)), ('b', (5, None)), ('a', (1, None)), "
               "('a', (1, 10)), ('a', (1, 10))]");
}

static void
test_join_last_running (FlowHarness *h, gconstpointer data)
{
  assert_join (h, TWO_SIDES, 2, FLOW_JOIN_INSERT_MODE_LAST, FLOW_JOIN_EMIT_MODE_RUNNING,
               "[('a', (1, None)), ('b', (5, None)), ('a', (2, None)), "
               "('a', (2, 10)), ('a', (2, 20))]");
}

static void
test_join_product_running (FlowHarness *h, gconstpointer data)
{
  assert_join (h, TWO_SIDES, 2, FLOW_JOIN_INSERT_MODE_PRODUCT, FLOW_JOIN_EMIT_MODE_RUNNING,
               "[('a', (1, None)), ('b', (5, None)), "
               "('a', (1, None)), ('a', (2, None)), "
               "('a', (1, 10)), ('a', (2, 10)), "
               "('a', (1, 10)), ('a', (1, 20)), ('a', (2, 10)), ('a', (2, 20))]");
}

/* ------------------------------------------------------------------------
 * Number of sides
 * ------------------------------------------------------------------------ */

static void
test_join_three_sides (FlowHarness *h, gconstpointer data)
{
  /* Bytewax's examples/join.py: three streams, one key. */
  assert_join (h, "[('KEY', <(0, <'a'>)>), ('KEY', <(2, <'c'>)>), ('KEY', <(1, <'b'>)>)]",
               3, FLOW_JOIN_INSERT_MODE_LAST, FLOW_JOIN_EMIT_MODE_COMPLETE,
               "[('KEY', ('a', 'b', 'c'))]");
}

static void
test_join_three_sides_missing_middle (FlowHarness *h, gconstpointer data)
{
  assert_join (h, "[('k', <(0, <1>)>), ('k', <(2, <3>)>), ('k', <(2, <4>)>)]",
               3, FLOW_JOIN_INSERT_MODE_PRODUCT, FLOW_JOIN_EMIT_MODE_FINAL,
               "[('k', (1, None, 3)), ('k', (1, None, 4))]");
}

static void
test_join_one_side (FlowHarness *h, gconstpointer data)
{
  assert_join (h, "[('k', <(0, <1>)>), ('k', <(0, <2>)>)]",
               1, FLOW_JOIN_INSERT_MODE_LAST, FLOW_JOIN_EMIT_MODE_COMPLETE,
               "[('k', (1,)), ('k', (2,))]");
}

static void
test_join_same_stream_twice (FlowHarness *h, gconstpointer data)
{
  FlowStream *input = flow_harness_input (h, "[('k', <1>), ('j', <2>)]");
  FlowStream *others[] = { input };
  FlowStream *joined = flow_stream_join (input, "join", others, 1,
                                         FLOW_JOIN_INSERT_MODE_LAST,
                                         FLOW_JOIN_EMIT_MODE_COMPLETE);
  g_autofree char *repr = flow_harness_run (h, joined);

  g_assert_cmpstr (repr, ==, "[('k', (1, 1)), ('j', (2, 2))]");
}

/* Two real inputs: whatever order the runner reads them in, a complete
 * join pairs the values of each key. */
static void
test_join_two_inputs (FlowHarness *h, gconstpointer data)
{
  FlowStream *left = flow_harness_input (h, "[('a', <1>), ('b', <2>), ('c', <3>)]");
  g_autoptr(FlowTestingSource) right_source =
    flow_test_source_new_parse ("[('c', <'z'>), ('a', <'x'>), ('d', <'w'>)]");
  FlowStream *right = flow_dataflow_input (h->flow, "right", FLOW_SOURCE (right_source));
  FlowStream *joined = flow_stream_join (left, "join", &right, 1,
                                         FLOW_JOIN_INSERT_MODE_LAST,
                                         FLOW_JOIN_EMIT_MODE_COMPLETE);
  g_autofree char *repr = NULL;

  flow_stream_output (joined, "out", FLOW_SINK (h->sink));
  flow_test_run (h->flow, &h->error);
  g_assert_no_error (h->error);
  repr = flow_test_sink_repr_sorted (h->sink);
  g_assert_cmpstr (repr, ==, "[('a', (1, 'x')), ('c', (3, 'z'))]");
}

/* ------------------------------------------------------------------------
 * Bad input
 * ------------------------------------------------------------------------ */

static void
test_join_not_keyed (FlowHarness *h, gconstpointer data)
{
  FlowStream *left = flow_harness_input (h, "[('a', <1>)]");
  g_autoptr(FlowTestingSource) right_source = flow_test_source_new_parse ("[42]");
  FlowStream *right = flow_dataflow_input (h->flow, "right", FLOW_SOURCE (right_source));
  FlowStream *joined = flow_stream_join (left, "join", &right, 1,
                                         FLOW_JOIN_INSERT_MODE_LAST,
                                         FLOW_JOIN_EMIT_MODE_COMPLETE);
  const GError *error = flow_harness_run_error (h, joined);

  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_NOT_KEYED);
  flow_test_assert_error_has (error, "join step 'test.join'");
  flow_test_assert_error_has (error, "42");
}

/* ------------------------------------------------------------------------
 * Recovery (in process; tests/recovery/test-join-crash.c kills a process)
 * ------------------------------------------------------------------------ */

/* A new recovery directory of @n partitions, and its removal. */
static char *
new_recovery_dir (guint n)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("test-join-XXXXXX", &error);

  g_assert_no_error (error);
  g_assert_true (flow_recovery_init_dir (dir, n, &error));
  g_assert_no_error (error);
  return dir;
}

static void
remove_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_assert_cmpint (g_remove (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static gboolean
run_recovering (FlowDataflow  *flow,
                const char    *dir,
                GError       **error)
{
  g_autoptr(FlowRunner) runner = flow_runner_new (flow);

  flow_runner_set_recovery_directory (runner, dir);
  flow_runner_set_snapshot_interval (runner, 0);   /* every batch */
  /* The system clock, as tests/recovery's cases do: an epoch closes after
   * every batch, and the next batch waits for its commit. */
  return flow_runner_run (runner, NULL, error);
}

/* A running join aborted between two values of a key goes on from its
 * sides after the resume: the last left value is still there. */
static void
test_join_resume (FlowHarness *h, gconstpointer data)
{
  static const char *full[] = {
    "('a', (1, None))", "('b', (None, 7))", "('a', (1, 10))", "('a', (2, 10))", "('b', (8, 7))",
  };
  g_autofree char *dir = new_recovery_dir (2);
  g_autoptr(FlowRunner) runner = NULL;
  g_auto(GStrv) second = NULL;
  FlowStream *joined;
  g_autofree char *first = NULL;
  guint n;

  joined = join_tagged (h, "[('a', <(0, <1>)>), ('b', <(1, <7>)>), ('a', <(1, <10>)>), "
                           " ('a', <(0, <2>)>), ('b', <(0, <8>)>)]",
                        2, FLOW_JOIN_INSERT_MODE_LAST, FLOW_JOIN_EMIT_MODE_RUNNING);
  flow_testing_source_add_marker (h->source, 3, FLOW_TESTING_MARKER_ABORT, 0);
  flow_stream_output (joined, "out", FLOW_SINK (h->sink));

  g_assert_false (run_recovering (h->flow, dir, &h->error));
  g_assert_error (h->error, FLOW_ERROR, FLOW_ERROR_ABORTED);
  g_clear_error (&h->error);
  first = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (first, ==, "[('a', (1, None)), ('b', (None, 7)), ('a', (1, 10))]");

  /* The resumed run goes on from the committed sides: 2 meets 10 and 8
   * meets 7. At least once: the items of epochs whose commit was still in
   * flight at the abort are replayed (from the state before them), so
   * what it emits is the end of the uninterrupted run's rows. */
  flow_testing_sink_clear (h->sink);
  g_assert_true (run_recovering (h->flow, dir, &h->error));
  g_assert_no_error (h->error);
  second = flow_test_sink_reprs (h->sink);
  n = g_strv_length (second);
  g_assert_cmpuint (n, >=, 2);
  g_assert_cmpuint (n, <=, G_N_ELEMENTS (full));
  for (guint i = 0; i < n; i++)
    g_assert_cmpstr (second[i], ==, full[G_N_ELEMENTS (full) - n + i]);
  g_test_message ("%u rows replayed", n - 2);
  remove_dir (dir);
}

/* A join given another number of sides than the one whose state is
 * stored: the run fails, naming the step, the key and the counts. */
static void
test_join_resume_other_sides (FlowHarness *h, gconstpointer data)
{
  g_autofree char *dir = new_recovery_dir (1);
  g_autoptr(FlowDataflow) flow3 = flow_dataflow_new ("test");
  g_autoptr(FlowTestingSource) source3 = flow_test_source_new_parse ("[('a', <1>)]");
  g_autoptr(FlowTestingSink) sink3 = flow_testing_sink_new ();
  FlowStream *joined, *in3, *others[2];

  /* A running join keeps its state at the end of input. */
  joined = join_tagged (h, "[('a', <(0, <1>)>)]", 2,
                        FLOW_JOIN_INSERT_MODE_LAST, FLOW_JOIN_EMIT_MODE_RUNNING);
  flow_stream_output (joined, "out", FLOW_SINK (h->sink));
  g_assert_true (run_recovering (h->flow, dir, &h->error));
  g_assert_no_error (h->error);

  in3 = flow_dataflow_input (flow3, "inp", FLOW_SOURCE (source3));
  others[0] = others[1] = in3;
  joined = flow_stream_join (in3, "join", others, 2,
                             FLOW_JOIN_INSERT_MODE_LAST, FLOW_JOIN_EMIT_MODE_FINAL);
  flow_stream_output (joined, "out", FLOW_SINK (sink3));
  g_assert_false (run_recovering (flow3, dir, &h->error));
  g_assert_error (h->error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION);
  flow_test_assert_error_has (h->error, "join step 'test.join'");
  flow_test_assert_error_has (h->error, "key 'a' has 2 sides");
  flow_test_assert_error_has (h->error, "joins 3 streams");
  g_assert_cmpuint (flow_testing_sink_get_n_items (sink3), ==, 0);
  remove_dir (dir);
}

/* An unkeyed item stops the run in the epoch of a completed join: nothing
 * of that epoch is committed, so the next run (with the bad input fixed)
 * starts from the beginning and emits the row again. */
static void
test_join_failed_epoch_not_committed (FlowHarness *h, gconstpointer data)
{
  g_autofree char *dir = new_recovery_dir (1);
  FlowStream *left = flow_harness_input (h, "[('a', <1>)]");
  g_autoptr(FlowTestingSource) bad = flow_test_source_new_parse ("[<('a', <10>)>, <int64 42>]");
  g_autoptr(FlowTestingSource) good = flow_test_source_new_parse ("[('a', <10>)]");
  g_autoptr(FlowDataflow) fixed = flow_dataflow_new ("test");
  g_autoptr(FlowTestingSink) fixed_sink = flow_testing_sink_new ();
  g_autoptr(FlowRunner) runner = NULL;
  g_autofree char *repr = NULL;
  FlowStream *right, *joined;

  /* The right side waits a second (of the test clock): the left value is
   * there first. One epoch of an hour: everything is in epoch 1. */
  flow_testing_source_add_marker (bad, 0, FLOW_TESTING_MARKER_PAUSE, 1.0);
  flow_testing_source_set_batch_size (bad, 1);
  right = flow_dataflow_input (h->flow, "right", FLOW_SOURCE (bad));
  joined = flow_stream_join (left, "join", &right, 1,
                             FLOW_JOIN_INSERT_MODE_LAST, FLOW_JOIN_EMIT_MODE_COMPLETE);
  flow_stream_output (joined, "out", FLOW_SINK (h->sink));
  runner = flow_runner_new (h->flow);
  flow_runner_set_recovery_directory (runner, dir);
  flow_runner_set_snapshot_interval (runner, 3600);
  g_assert_false (flow_test_run_with (runner, &h->error));
  g_assert_error (h->error, FLOW_ERROR, FLOW_ERROR_NOT_KEYED);
  flow_test_assert_error_has (h->error, "join step 'test.join'");
  g_clear_error (&h->error);
  g_clear_object (&runner);
  repr = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (repr, ==, "[('a', (1, 10))]");

  left = flow_dataflow_input (fixed, "inp", FLOW_SOURCE (h->source));
  right = flow_dataflow_input (fixed, "right", FLOW_SOURCE (good));
  joined = flow_stream_join (left, "join", &right, 1,
                             FLOW_JOIN_INSERT_MODE_LAST, FLOW_JOIN_EMIT_MODE_COMPLETE);
  flow_stream_output (joined, "out", FLOW_SINK (fixed_sink));
  runner = flow_runner_new (fixed);
  flow_runner_set_recovery_directory (runner, dir);
  g_assert_true (flow_test_run_with (runner, &h->error));
  g_assert_no_error (h->error);
  g_assert_cmpuint (flow_runner_get_resume_epoch (runner), ==, 0);
  g_clear_pointer (&repr, g_free);
  repr = flow_test_sink_repr (fixed_sink);
  g_assert_cmpstr (repr, ==, "[('a', (1, 10))]");
  g_clear_object (&runner);
  remove_dir (dir);
}

/* ------------------------------------------------------------------------
 * enrich_cached and FlowTTLCache
 * ------------------------------------------------------------------------ */

typedef struct
{
  GHashTable *lookup;   /* char* -> gint64 */
  guint       calls;
  gboolean    fail;
} Lookup;

static GVariant *
lookup_get (GVariant  *key,
            gpointer   data,
            GError   **error)
{
  Lookup *l = data;
  const char *name = g_variant_get_string (key, NULL);
  gpointer value;

  l->calls++;
  if (l->fail)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the service is down");
      return NULL;
    }
  if (!g_hash_table_lookup_extended (l->lookup, name, NULL, &value))
    return NULL;
  return g_variant_new_int64 (GPOINTER_TO_INT (value));
}

static Lookup *
lookup_new (void)
{
  Lookup *l = g_new0 (Lookup, 1);

  l->lookup = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (l->lookup, (char *) "a", GINT_TO_POINTER (1));
  g_hash_table_insert (l->lookup, (char *) "b", GINT_TO_POINTER (2));
  return l;
}

static void
lookup_free (gpointer data)
{
  Lookup *l = data;

  g_hash_table_unref (l->lookup);
  g_free (l);
}

static gint64
cache_get_int (FlowTTLCache *cache,
               const char   *key)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = flow_ttl_cache_get (cache, g_variant_new_string (key), &error);

  g_assert_no_error (error);
  g_assert_true (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64));
  return g_variant_get_int64 (value);
}

#define MINUTE (60 * G_USEC_PER_SEC)
#define T0 G_GINT64_CONSTANT (1715335200000000) /* 2024-05-10 10:00 UTC */

static void
test_ttl_cache_get (void)
{
  Lookup *l = lookup_new ();
  FlowTTLCache *cache = flow_ttl_cache_new (lookup_get, l, lookup_free, MINUTE);

  flow_ttl_cache_set_time (cache, T0);
  g_assert_cmpint (cache_get_int (cache, "a"), ==, 1);
  /* Cached: the getter is not called again, even if the source changed. */
  g_hash_table_insert (l->lookup, (char *) "a", GINT_TO_POINTER (3));
  g_assert_cmpint (cache_get_int (cache, "a"), ==, 1);
  g_assert_cmpuint (l->calls, ==, 1);
  g_assert_cmpuint (flow_ttl_cache_get_size (cache), ==, 1);
  g_assert_cmpint (flow_ttl_cache_get_ttl (cache), ==, MINUTE);

  /* Exactly the TTL old: still valid (expired when strictly older). */
  flow_ttl_cache_set_time (cache, T0 + MINUTE);
  g_assert_cmpint (cache_get_int (cache, "a"), ==, 1);
  /* Older: got again. */
  flow_ttl_cache_set_time (cache, T0 + 2 * MINUTE);
  g_assert_cmpint (cache_get_int (cache, "a"), ==, 3);
  g_assert_cmpuint (l->calls, ==, 2);

  /* remove() forgets. */
  g_hash_table_insert (l->lookup, (char *) "a", GINT_TO_POINTER (4));
  g_assert_true (flow_ttl_cache_remove (cache, g_variant_new_string ("a")));
  g_assert_false (flow_ttl_cache_remove (cache, g_variant_new_string ("a")));
  g_assert_cmpint (cache_get_int (cache, "a"), ==, 4);

  g_assert_finalize_object (cache);
}

static void
test_ttl_cache_none_and_errors (void)
{
  Lookup *l = lookup_new ();
  FlowTTLCache *cache = flow_ttl_cache_new (lookup_get, l, lookup_free, FLOW_TTL_CACHE_FOREVER);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) missing = NULL;
  GVariant *failed;

  flow_ttl_cache_set_time (cache, T0);
  missing = flow_ttl_cache_get (cache, g_variant_new_string ("zzz"), &error);
  g_assert_no_error (error);
  g_assert_true (flow_item_is_none (missing));

  /* A failing getter: the error, and nothing cached. */
  l->fail = TRUE;
  failed = flow_ttl_cache_get (cache, g_variant_new_string ("b"), &error);
  g_assert_null (failed);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_cmpuint (flow_ttl_cache_get_size (cache), ==, 1);

  /* For ever: years later, still cached. */
  l->fail = FALSE;
  flow_ttl_cache_set_time (cache, T0 + G_GINT64_CONSTANT (100) * 365 * 24 * 60 * MINUTE);
  g_clear_pointer (&missing, g_variant_unref);
  missing = flow_ttl_cache_get (cache, g_variant_new_string ("zzz"), NULL);
  g_assert_true (flow_item_is_none (missing));
  g_assert_cmpuint (l->calls, ==, 2);

  g_assert_finalize_object (cache);
}

static GVariant *
enrich (FlowTTLCache  *cache,
        GVariant      *item,
        gpointer       data,
        GError       **error)
{
  g_autoptr(GVariant) value = flow_ttl_cache_get (cache, item, error);

  if (value == NULL)
    return NULL;
  return g_variant_new ("(@sv)", item, value);
}

static void
test_enrich_cached (FlowHarness *h, gconstpointer data)
{
  Lookup *l = lookup_new ();
  FlowStream *input = flow_harness_input (h, "['a', 'b', 'a', 'c']");
  FlowStream *s = flow_stream_enrich_cached (input, "enrich", lookup_get, l, lookup_free,
                                             enrich, NULL, NULL, FLOW_TTL_CACHE_FOREVER);

  /* Bytewax's test_enrich_cached, and a miss of the getter. */
  g_autofree char *repr = flow_harness_run (h, s);
  g_assert_cmpstr (repr, ==, "[('a', 1), ('b', 2), ('a', 1), ('c', None)]");
}

/* The TTL runs on the run's clock: a PAUSE of 2 minutes in the input (no
 * real time under the test clock) makes 'a' expire. */
static void
test_enrich_cached_ttl_on_run_clock (FlowHarness *h, gconstpointer data)
{
  Lookup *l = lookup_new ();
  FlowStream *input = flow_harness_input (h, "['a', 'a', 'a']");
  FlowStream *s;
  g_autofree char *repr = NULL;

  flow_testing_source_set_batch_size (h->source, 1);
  /* 'a' is read, then cached; 2 minutes later it is got anew. */
  flow_testing_source_add_marker (h->source, 2, FLOW_TESTING_MARKER_PAUSE, 120.0);
  g_hash_table_insert (l->lookup, (char *) "a", GINT_TO_POINTER (7));
  s = flow_stream_enrich_cached (input, "enrich", lookup_get, l, NULL,
                                 enrich, NULL, NULL, MINUTE);
  flow_harness_reset_count (h, &l->calls);
  repr = flow_harness_run (h, s);
  g_assert_cmpstr (repr, ==, "[('a', 7), ('a', 7), ('a', 7)]");
  g_assert_cmpuint (l->calls, ==, 2);
  lookup_free (l);
}

static void
test_enrich_cached_getter_fails (FlowHarness *h, gconstpointer data)
{
  Lookup *l = lookup_new ();
  FlowStream *input = flow_harness_input (h, "['a']");
  FlowStream *s;
  const GError *error;

  l->fail = TRUE;
  s = flow_stream_enrich_cached (input, "enrich", lookup_get, l, lookup_free,
                                 enrich, NULL, NULL, MINUTE);
  error = flow_harness_run_error (h, s);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  flow_test_assert_error_has (error, "enrich_cached step 'test.enrich'");
  flow_test_assert_error_has (error, "'a'");
  flow_test_assert_error_has (error, "the service is down");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  ADD ("/join/complete/bytewax", test_join_complete_bytewax);
  ADD ("/join/final/bytewax", test_join_final_bytewax);
  ADD ("/join/running/bytewax", test_join_running_bytewax);
  ADD ("/join/product/bytewax", test_join_product_final_bytewax);
  ADD ("/join/first/complete", test_join_first_complete);
  ADD ("/join/last/complete", test_join_last_complete);
  ADD ("/join/product/complete", test_join_product_complete);
  ADD ("/join/first/final", test_join_first_final);
  ADD ("/join/last/final", test_join_last_final);
  ADD ("/join/product/final", test_join_product_final);
  ADD ("/join/first/running", test_join_first_running);
  ADD ("/join/last/running", test_join_last_running);
  ADD ("/join/product/running", test_join_product_running);
  ADD ("/join/sides/three", test_join_three_sides);
  ADD ("/join/sides/three-missing-middle", test_join_three_sides_missing_middle);
  ADD ("/join/sides/one", test_join_one_side);
  ADD ("/join/sides/same-stream-twice", test_join_same_stream_twice);
  ADD ("/join/two-inputs", test_join_two_inputs);
  ADD ("/join/not-keyed", test_join_not_keyed);
  ADD ("/join/recovery/resume", test_join_resume);
  ADD ("/join/recovery/other-number-of-sides", test_join_resume_other_sides);
  ADD ("/join/recovery/failed-epoch-not-committed", test_join_failed_epoch_not_committed);
  g_test_add_func ("/ttl-cache/get", test_ttl_cache_get);
  g_test_add_func ("/ttl-cache/none-and-errors", test_ttl_cache_none_and_errors);
  ADD ("/enrich-cached/basic", test_enrich_cached);
  ADD ("/enrich-cached/ttl-on-run-clock", test_enrich_cached_ttl_on_run_clock);
  ADD ("/enrich-cached/getter-fails", test_enrich_cached_getter_fails);

  return g_test_run ();
}
