/* test-operators.c: every operator of FlowStream, with Bytewax's semantics
 *
 * Each test builds "test": input "inp" -> the step(s) under test -> output
 * "out" into a FlowTestingSink (the FlowHarness fixture), runs it, and
 * compares the Python repr of everything the sink received.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "flow-test-utils.h"

#define ADD(path, func) \
  g_test_add (path, FlowHarness, NULL, flow_harness_setup, func, flow_harness_teardown)

static gint64
int_of (GVariant *v)
{
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_VARIANT))
    {
      g_autoptr(GVariant) inner = g_variant_get_variant (v);
      return int_of (inner);
    }
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_INT64))
    return g_variant_get_int64 (v);
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_INT32))
    return g_variant_get_int32 (v);
  g_error ("not an integer: %s", g_variant_print (v, TRUE));
}

static GVariant *
int_new (gint64 i)
{
  return g_variant_new_int64 (i);
}

static void
assert_output (FlowHarness *h,
               FlowStream  *stream,
               const char  *expected)
{
  g_autofree char *repr = flow_harness_run (h, stream);

  g_assert_cmpstr (repr, ==, expected);
}

/* ------------------------------------------------------------------------
 * Functions used by the tests
 * ------------------------------------------------------------------------ */

static GVariant *
times_two (GVariant *item, gpointer data, GError **error)
{
  return int_new (int_of (item) * 2);
}

static GVariant *
type_string (GVariant *item, gpointer data, GError **error)
{
  return g_variant_new_string (g_variant_get_type_string (item));
}

static gboolean
is_even (GVariant *item, gpointer data, GError **error)
{
  return int_of (item) % 2 == 0;
}

static GVariant *
even_times_ten (GVariant *item, gpointer data, GError **error)
{
  gint64 i = int_of (item);

  return i % 2 == 0 ? int_new (i * 10) : NULL;
}

static GVariant *
self_and_ten_times (GVariant *item, gpointer data, GError **error)
{
  gint64 pair[2] = { int_of (item), int_of (item) * 10 };

  return g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, pair, 2, sizeof (gint64));
}

static GVariant *
self_and_s_boxed (GVariant *item, gpointer data, GError **error)
{
  GVariant *children[2] = { g_variant_new_variant (item),
                            g_variant_new_variant (g_variant_new_string ("s")) };

  return g_variant_new_array (G_VARIANT_TYPE_VARIANT, children, 2);
}

/* 1 -> [1, 1]; 2 -> NULL (nothing); 3 -> [] (nothing) */
static GVariant *
some_or_none (GVariant *item, gpointer data, GError **error)
{
  gint64 i = int_of (item);
  gint64 pair[2] = { i, i };

  if (i == 2)
    return NULL;
  return g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, pair, i == 3 ? 0 : 2, sizeof (gint64));
}

static GVariant *
returns_scalar (GVariant *item, gpointer data, GError **error)
{
  return int_new (1);
}

static char *
key_of_int (GVariant *item, gpointer data, GError **error)
{
  return g_strdup_printf ("%" G_GINT64_FORMAT, int_of (item));
}

static char *
key_all (GVariant *item, gpointer data, GError **error)
{
  return g_strdup ("ALL");
}

static char *
even_or_odd (GVariant *item, gpointer data, GError **error)
{
  return g_strdup (int_of (item) % 2 == 0 ? "even" : "odd");
}

static GVariant *
plus_one (GVariant *item, gpointer data, GError **error)
{
  return int_new (int_of (item) + 1);
}

static GVariant *
zero (gpointer data, GError **error)
{
  guint *calls = data;

  if (calls != NULL)
    (*calls)++;
  return int_new (0);
}

static GVariant *
zero_uncounted (gpointer data, GError **error)
{
  return int_new (0);
}

static GVariant *
running_sum (GVariant *state, GVariant *value, GVariant **emit, gpointer data, GError **error)
{
  gint64 sum = int_of (state) + int_of (value);

  *emit = int_new (sum);
  return int_new (sum);
}

/* Without a builder: a new key has no (NULL) state. Emits (was_none, sum). */
static GVariant *
sum_from_none (GVariant *state, GVariant *value, GVariant **emit, gpointer data, GError **error)
{
  gint64 sum = (state ? int_of (state) : 0) + int_of (value);

  *emit = g_variant_new ("(bx)", state == NULL, sum);
  return int_new (sum);
}

/* Counts items; at 2 it emits 2 and discards the state (returns NULL). */
static GVariant *
count_to_two (GVariant *state, GVariant *value, GVariant **emit, gpointer data, GError **error)
{
  gint64 count = int_of (state) + 1;

  *emit = int_new (count);
  return count == 2 ? NULL : int_new (count);
}

/* Emits the sum only when it is even (NULL emit: nothing). */
static GVariant *
even_sums (GVariant *state, GVariant *value, GVariant **emit, gpointer data, GError **error)
{
  gint64 sum = int_of (state) + int_of (value);

  *emit = sum % 2 == 0 ? int_new (sum) : NULL;
  return int_new (sum);
}

/* Emits [previous sum, value] (an ax), or nothing for a value 0. */
static GVariant *
flat_previous_and_value (GVariant *state, GVariant *value, GVariant **emit, gpointer data, GError **error)
{
  gint64 pair[2] = { int_of (state), int_of (value) };

  if (int_of (value) == 0)
    *emit = NULL;
  else
    *emit = g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, pair, 2, sizeof (gint64));
  return int_new (pair[0] + pair[1]);
}

static GVariant *
sum_fold (GVariant *acc, GVariant *value, gpointer data, GError **error)
{
  guint *calls = data;

  if (calls != NULL)
    (*calls)++;
  return int_new (int_of (acc) + int_of (value));
}

static GVariant *
empty_list (gpointer data, GError **error)
{
  return g_variant_new_array (G_VARIANT_TYPE_VARIANT, NULL, 0);
}

static GVariant *
append_to_list (GVariant *acc, GVariant *value, gpointer data, GError **error)
{
  GVariantBuilder builder;
  GVariantIter iter;
  GVariant *child;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("av"));
  g_variant_iter_init (&iter, acc);
  while ((child = g_variant_iter_next_value (&iter)) != NULL)
    {
      g_variant_builder_add_value (&builder, child);
      g_variant_unref (child);
    }
  g_variant_builder_add (&builder, "v", value);
  return g_variant_builder_end (&builder);
}

static GVariant *
concat_strings (GVariant *acc, GVariant *value, gpointer data, GError **error)
{
  guint *calls = data;
  g_autofree char *s = g_strconcat (g_variant_get_string (acc, NULL),
                                    g_variant_get_string (value, NULL), NULL);

  (*calls)++;
  return g_variant_new_string (s);
}

static GVariant *
second_child (GVariant *value, gpointer data, GError **error)
{
  return g_variant_get_child_value (value, 1);
}

static void
record_inspect (const char *step_id, GVariant *item, gpointer data, GError **error)
{
  GPtrArray *seen = data;
  g_autofree char *repr = flow_item_repr (item);

  g_ptr_array_add (seen, g_strdup_printf ("%s: %s", step_id, repr));
}

/* ------------------------------------------------------------------------
 * Stateless operators
 * ------------------------------------------------------------------------ */

static void
test_map (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3]");

  s = flow_stream_map (s, "double", times_two, NULL, NULL);
  g_assert_cmpstr (flow_stream_get_step_id (s), ==, "test.double");
  assert_output (h, s, "[2, 4, 6]");
}

static void
test_map_sees_keyed_items (FlowHarness *h, gconstpointer data)
{
  /* After key_on, a map gets whole (sv) items, not the values. */
  FlowStream *s = flow_harness_input (h, "@ax [1, 2]");

  s = flow_stream_key_on (s, "key", key_of_int, NULL, NULL);
  s = flow_stream_map (s, "type", type_string, NULL, NULL);
  assert_output (h, s, "['(sv)', '(sv)']");
}

static void
test_filter (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3, 4, 5]");

  s = flow_stream_filter (s, "even", is_even, NULL, NULL);
  assert_output (h, s, "[2, 4]");
}

static void
test_filter_map (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3, 4, 5]");

  s = flow_stream_filter_map (s, "even10", even_times_ten, NULL, NULL);
  assert_output (h, s, "[20, 40]");
}

static void
test_flat_map (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1, 2]");

  s = flow_stream_flat_map (s, "fm", self_and_ten_times, NULL, NULL);
  assert_output (h, s, "[1, 10, 2, 20]");
}

static void
test_flat_map_av (FlowHarness *h, gconstpointer data)
{
  /* Elements of an av are unboxed: items of mixed types. */
  FlowStream *s = flow_harness_input (h, "@ax [1, 2]");
  g_autoptr(GVariant) first = NULL;

  s = flow_stream_flat_map (s, "fm", self_and_s_boxed, NULL, NULL);
  assert_output (h, s, "[1, 's', 2, 's']");
  first = flow_testing_sink_get_item (h->sink, 0);
  g_assert_cmpstr (g_variant_get_type_string (first), ==, "x");
}

static void
test_flat_map_none_and_empty (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3, 1]");

  s = flow_stream_flat_map (s, "fm", some_or_none, NULL, NULL);
  assert_output (h, s, "[1, 1, 1, 1]");
}

static void
test_flat_map_not_array (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [7]");
  const GError *error;

  s = flow_stream_flat_map (s, "fm", returns_scalar, NULL, NULL);
  error = flow_harness_run_error (h, s);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE);
  flow_test_assert_error_has (error, "test.fm");
  flow_test_assert_error_has (error, "7");
}

static void
test_flatten (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "[[int64 1, 2], [], [3]]");

  s = flow_stream_flatten (s, "flat");
  assert_output (h, s, "[1, 2, 3]");
}

static void
test_flatten_av (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "[[<int64 1>, <'a'>], [<@mv nothing>]]");

  s = flow_stream_flatten (s, "flat");
  assert_output (h, s, "[1, 'a', None]");
}

static void
test_flatten_not_array (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "[<[int64 1]>, <int64 5>, <[int64 2]>]");
  const GError *error;

  s = flow_stream_flatten (s, "flat");
  error = flow_harness_run_error (h, s);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE);
  flow_test_assert_error_has (error, "flatten step 'test.flat'");
  flow_test_assert_error_has (error, "on item 5");
  /* What came before the bad item went through; nothing after it. */
  {
    g_autofree char *repr = flow_test_sink_repr (h->sink);
    g_assert_cmpstr (repr, ==, "[1]");
  }
}

static void
test_inspect (FlowHarness *h, gconstpointer data)
{
  g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  FlowStream *s = flow_harness_input (h, "[<int64 1>, <'a'>, <('k', <2.5>)>]");
  g_autofree char *joined = NULL;

  s = flow_stream_inspect (s, "insp", record_inspect, seen, NULL);
  flow_harness_reset_array (h, seen);
  assert_output (h, s, "[1, 'a', ('k', 2.5)]");
  g_ptr_array_add (seen, NULL);
  joined = g_strjoinv ("|", (char **) seen->pdata);
  g_assert_cmpstr (joined, ==, "test.insp: 1|test.insp: 'a'|test.insp: ('k', 2.5)");
}

static void
test_inspect_default (FlowHarness *h, gconstpointer data)
{
  if (g_test_subprocess ())
    {
      FlowStream *s = flow_harness_input (h, "[<int64 1>, <'a'>, <('k', <2.5>)>]");

      s = flow_stream_inspect (s, "insp", NULL, NULL, NULL);
      s = flow_stream_inspect (s, "insp2", NULL, NULL, NULL);
      assert_output (h, s, "[1, 'a', ('k', 2.5)]");
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  {
    g_autofree char *expected = flow_harness_expected_stdout ("test.insp: 1\ntest.insp2: 1\n"
                                                              "test.insp: 'a'\ntest.insp2: 'a'\n"
                                                              "test.insp: ('k', 2.5)\ntest.insp2: ('k', 2.5)\n");
    g_test_trap_assert_stdout (expected);
  }
}

/* flat_map_batch: [len, sum] of each batch */
static GVariant *
batch_len_and_sum (GVariant *items, gpointer data, GError **error)
{
  gsize n = g_variant_n_children (items);
  gint64 out[2] = { (gint64) n, 0 };

  g_assert_cmpstr (g_variant_get_type_string (items), ==, "av");
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (items, i);
      out[1] += int_of (child);
    }
  return g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, out, 2, sizeof (gint64));
}

static void
test_flat_map_batch (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3, 4, 5]");

  /* The source hands out batches of 2: the mapper sees [1, 2], [3, 4], [5]. */
  flow_testing_source_set_batch_size (h->source, 2);
  s = flow_stream_flat_map_batch (s, "fmb", batch_len_and_sum, NULL, NULL);
  assert_output (h, s, "[2, 3, 2, 7, 1, 5]");
}

static GVariant *
batch_identity (GVariant *items, gpointer data, GError **error)
{
  return g_variant_ref (items);
}

static void
test_flat_map_batch_keyed (FlowHarness *h, gconstpointer data)
{
  /* Keyed items reach the mapper as (key, value) tuples, and what it
   * returns (the same items, boxed in an av) comes out unboxed. */
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3]");
  g_autoptr(GVariant) first = NULL;

  flow_testing_source_set_batch_size (h->source, 3);
  s = flow_stream_key_on (s, "key", key_of_int, NULL, NULL);
  s = flow_stream_flat_map_batch (s, "fmb", batch_identity, NULL, NULL);
  assert_output (h, s, "[('1', 1), ('2', 2), ('3', 3)]");
  first = flow_testing_sink_get_item (h->sink, 0);
  g_assert_cmpstr (g_variant_get_type_string (first), ==, "(sv)");
}

static GVariant *
batch_fails (GVariant *items, gpointer data, GError **error)
{
  g_set_error (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION, "no batches today");
  return NULL;
}

static void
test_flat_map_batch_error (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3]");
  const GError *error;

  flow_testing_source_set_batch_size (h->source, 3);
  s = flow_stream_flat_map_batch (s, "fmb", batch_fails, NULL, NULL);
  error = flow_harness_run_error (h, s);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION);
  flow_test_assert_error_has (error, "flat_map_batch step 'test.fmb' failed");
  flow_test_assert_error_has (error, "batch of 3 items");
  flow_test_assert_error_has (error, "no batches today");
}

static void
test_flat_map_batch_not_array (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [7]");
  const GError *error;

  s = flow_stream_flat_map_batch (s, "fmb", returns_scalar, NULL, NULL);
  error = flow_harness_run_error (h, s);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE);
  flow_test_assert_error_has (error, "flat_map_batch step 'test.fmb'");
  flow_test_assert_error_has (error, "expected an array of items");
}

static void
record_inspect_debug (const char *step_id, GVariant *item, guint64 epoch,
                      guint worker_index, gpointer data, GError **error)
{
  g_autofree char *repr = flow_item_repr (item);

  g_ptr_array_add (data, g_strdup_printf ("%s W%u @%" G_GUINT64_FORMAT ": %s",
                                          step_id, worker_index, epoch, repr));
}

static void
test_inspect_debug (FlowHarness *h, gconstpointer data)
{
  g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  FlowStream *s = flow_harness_input (h, "[<int64 1>, <('k', <2.5>)>]");
  g_autofree char *joined = NULL;

  /* A run without recovery starts at epoch 1; one worker: index 0. */
  s = flow_stream_inspect_debug (s, "dbg", record_inspect_debug, seen, NULL);
  flow_harness_reset_array (h, seen);
  assert_output (h, s, "[1, ('k', 2.5)]");
  g_ptr_array_add (seen, NULL);
  joined = g_strjoinv ("|", (char **) seen->pdata);
  g_assert_cmpstr (joined, ==, "test.dbg W0 @1: 1|test.dbg W0 @1: ('k', 2.5)");
}

static void
inspect_debug_fails (const char *step_id, GVariant *item, guint64 epoch,
                     guint worker_index, gpointer data, GError **error)
{
  if (int_of (item) == 2)
    g_set_error (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION, "two is too many");
}

static void
test_inspect_debug_error (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3]");
  const GError *error;

  s = flow_stream_inspect_debug (s, "dbg", inspect_debug_fails, NULL, NULL);
  error = flow_harness_run_error (h, s);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION);
  flow_test_assert_error_has (error, "inspect_debug step 'test.dbg' failed on item 2: two is too many");
}

static void
test_inspect_debug_default (FlowHarness *h, gconstpointer data)
{
  if (g_test_subprocess ())
    {
      FlowStream *s = flow_harness_input (h, "[<int64 1>, <'a'>]");

      s = flow_stream_inspect_debug (s, "dbg", NULL, NULL, NULL);
      assert_output (h, s, "[1, 'a']");
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  {
    g_autofree char *expected = flow_harness_expected_stdout ("test.dbg W0 @1: 1\ntest.dbg W0 @1: 'a'\n");
    g_test_trap_assert_stdout (expected);
  }
}

static void
test_merge_two (FlowHarness *h, gconstpointer data)
{
  FlowTestingSource *other = flow_harness_track (h, flow_test_source_new_parse ("@ax [10, 20]"));
  FlowStream *a = flow_harness_input (h, "@ax [1, 2, 3]");
  FlowStream *b = flow_dataflow_input (h->flow, "inp2", FLOW_SOURCE (other));
  FlowStream *m = flow_stream_merge (a, "merge", &b, 1);
  g_autofree char *sorted = NULL;
  g_auto(GStrv) reprs = NULL;
  GString *from_a = g_string_new (NULL);
  GString *from_b = g_string_new (NULL);

  flow_stream_output (m, "out", FLOW_SINK (h->sink));
  g_assert_true (flow_test_run (h->flow, NULL));
  sorted = flow_test_sink_repr_sorted (h->sink);
  g_assert_cmpstr (sorted, ==, "[1, 10, 2, 20, 3]");

  /* The order within each upstream is kept. */
  reprs = flow_test_sink_reprs (h->sink);
  for (guint i = 0; reprs[i] != NULL; i++)
    g_string_append (strlen (reprs[i]) == 1 ? from_a : from_b, reprs[i]);
  g_assert_cmpstr (from_a->str, ==, "123");
  g_assert_cmpstr (from_b->str, ==, "1020");
  g_string_free (from_a, TRUE);
  g_string_free (from_b, TRUE);
}

static void
test_merge_three (FlowHarness *h, gconstpointer data)
{
  FlowTestingSource *src_b = flow_harness_track (h, flow_test_source_new_parse ("@ax [10, 20]"));
  FlowTestingSource *src_c = flow_harness_track (h, flow_test_source_new_parse ("['x']"));
  FlowStream *a = flow_harness_input (h, "@ax [1]");
  FlowStream *others[2];
  g_autofree char *sorted = NULL;

  others[0] = flow_dataflow_input (h->flow, "b", FLOW_SOURCE (src_b));
  others[1] = flow_dataflow_input (h->flow, "c", FLOW_SOURCE (src_c));
  flow_stream_output (flow_stream_merge (a, "merge", others, 2), "out", FLOW_SINK (h->sink));
  g_assert_true (flow_test_run (h->flow, NULL));
  sorted = flow_test_sink_repr_sorted (h->sink);
  g_assert_cmpstr (sorted, ==, "['x', 1, 10, 20]");
}

static void
test_branch (FlowHarness *h, gconstpointer data)
{
  FlowTestingSink *odd_sink = flow_harness_track (h, flow_testing_sink_new ());
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3, 4, 5]");
  FlowStream *trues = NULL, *falses = NULL;
  g_autofree char *odd = NULL;

  flow_stream_branch (s, "split", is_even, NULL, NULL, &trues, &falses);
  g_assert_nonnull (trues);
  g_assert_nonnull (falses);
  g_assert_true (trues != falses);
  g_assert_cmpstr (flow_stream_get_step_id (trues), ==, "test.split");
  g_assert_cmpstr (flow_stream_get_step_id (falses), ==, "test.split");
  flow_stream_output (falses, "odd", FLOW_SINK (odd_sink));
  assert_output (h, trues, "[2, 4]");
  odd = flow_test_sink_repr (odd_sink);
  g_assert_cmpstr (odd, ==, "[1, 3, 5]");
}

static void
test_redistribute (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "[<int64 1>, <'b'>, <('k', <3>)>]");

  s = flow_stream_redistribute (s, "redist");
  assert_output (h, s, "[1, 'b', ('k', 3)]");
}

/* ------------------------------------------------------------------------
 * Keyed operators
 * ------------------------------------------------------------------------ */

static void
test_key_on (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1, 22]");
  g_autoptr(GVariant) item = NULL;

  s = flow_stream_key_on (s, "key", key_of_int, NULL, NULL);
  assert_output (h, s, "[('1', 1), ('22', 22)]");
  item = flow_testing_sink_get_item (h->sink, 1);
  g_assert_cmpstr (g_variant_get_type_string (item), ==, "(sv)");
}

static void
test_key_rm (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "[('a', <int64 1>), ('b', <'x'>)]");

  s = flow_stream_key_rm (s, "unkey");
  assert_output (h, s, "[1, 'x']");
}

static void
test_key_on_key_rm (FlowHarness *h, gconstpointer data)
{
  /* key_on then key_rm gives back the items. */
  FlowStream *s = flow_harness_input (h, "@ax [5, 6]");

  s = flow_stream_key_on (s, "key", key_of_int, NULL, NULL);
  s = flow_stream_key_rm (s, "unkey");
  assert_output (h, s, "[5, 6]");
}

static void
test_map_value (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "[('a', <int64 1>), ('b', <int64 2>)]");

  s = flow_stream_map_value (s, "inc", plus_one, NULL, NULL);
  assert_output (h, s, "[('a', 2), ('b', 3)]");
}

static void
test_filter_value (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "[('a', <int64 1>), ('b', <int64 2>), ('a', <int64 4>)]");

  s = flow_stream_filter_value (s, "even", is_even, NULL, NULL);
  assert_output (h, s, "[('b', 2), ('a', 4)]");
}

static void
test_flat_map_value (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "[('a', <int64 1>), ('b', <int64 2>), ('c', <int64 3>)]");

  s = flow_stream_flat_map_value (s, "fmv", some_or_none, NULL, NULL);
  assert_output (h, s, "[('a', 1), ('a', 1)]");
}

static void
test_flat_map_value_av (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "[('a', <int64 1>)]");

  s = flow_stream_flat_map_value (s, "fmv", self_and_s_boxed, NULL, NULL);
  assert_output (h, s, "[('a', 1), ('a', 's')]");
}

/* ------------------------------------------------------------------------
 * Stateful operators
 * ------------------------------------------------------------------------ */

#define AB_ITEMS "[('a', <int64 1>), ('b', <int64 10>), ('a', <int64 2>), ('b', <int64 20>), ('a', <int64 3>)]"

static void
test_stateful_map (FlowHarness *h, gconstpointer data)
{
  guint builds = 0;
  FlowStream *s = flow_harness_input (h, AB_ITEMS);

  s = flow_stream_stateful_map (s, "sum", zero, &builds, NULL, running_sum, NULL, NULL);
  flow_harness_reset_count (h, &builds);
  assert_output (h, s, "[('a', 1), ('b', 10), ('a', 3), ('b', 30), ('a', 6)]");
  g_assert_cmpuint (builds, ==, 2);
}

static void
test_stateful_map_seed (FlowHarness *h, gconstpointer data)
{
  /* The seed tutorial: key_on "ALL", running sum from 0. */
  FlowStream *s = flow_harness_input (h, "@ax [0, 1, 2]");

  s = flow_stream_key_on (s, "key_stream", key_all, NULL, NULL);
  s = flow_stream_stateful_map (s, "running_count", zero, NULL, NULL, running_sum, NULL, NULL);
  assert_output (h, s, "[('ALL', 0), ('ALL', 1), ('ALL', 3)]");
}

/* key_on and stateful_map move the items of a batch that is theirs alone
 * (the last edge's) on, rather than reference them: the steps on the
 * other edges of the same stream, before and after, still see them whole
 * (issue 12). */
static void
test_moved_items_fan_out (FlowHarness *h, gconstpointer data)
{
  FlowTestingSink *keyed_first = flow_harness_track (h, flow_testing_sink_new ());
  FlowTestingSink *raw = flow_harness_track (h, flow_testing_sink_new ());
  FlowTestingSink *keyed = flow_harness_track (h, flow_testing_sink_new ());
  FlowTestingSink *sums_first = flow_harness_track (h, flow_testing_sink_new ());
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3, 4]");
  FlowStream *k, *sums;
  g_autofree char *got_keyed_first = NULL, *got_raw = NULL, *got_keyed = NULL;
  g_autofree char *got_sums_first = NULL;

  flow_stream_output (flow_stream_key_on (s, "key_first", key_all, NULL, NULL),
                      "keyed_first", FLOW_SINK (keyed_first));
  flow_stream_output (s, "raw", FLOW_SINK (raw));
  k = flow_stream_key_on (s, "key", even_or_odd, NULL, NULL);
  flow_stream_output (k, "keyed", FLOW_SINK (keyed));
  sums = flow_stream_stateful_map (k, "sum", zero_uncounted, NULL, NULL, running_sum, NULL, NULL);
  flow_stream_output (sums, "sums_first", FLOW_SINK (sums_first));
  assert_output (h, sums, "[('odd', 1), ('even', 2), ('odd', 4), ('even', 6)]");

  got_keyed_first = flow_test_sink_repr (keyed_first);
  g_assert_cmpstr (got_keyed_first, ==, "[('ALL', 1), ('ALL', 2), ('ALL', 3), ('ALL', 4)]");
  got_raw = flow_test_sink_repr (raw);
  g_assert_cmpstr (got_raw, ==, "[1, 2, 3, 4]");
  got_keyed = flow_test_sink_repr (keyed);
  g_assert_cmpstr (got_keyed, ==, "[('odd', 1), ('even', 2), ('odd', 3), ('even', 4)]");
  got_sums_first = flow_test_sink_repr (sums_first);
  g_assert_cmpstr (got_sums_first, ==, "[('odd', 1), ('even', 2), ('odd', 4), ('even', 6)]");
}

/* The same for the stateless steps that move items on: filter, branch,
 * key_rm, and map_value (the key). */
static void
test_moved_items_stateless (FlowHarness *h, gconstpointer data)
{
  FlowTestingSink *evens = flow_harness_track (h, flow_testing_sink_new ());
  FlowTestingSink *odds = flow_harness_track (h, flow_testing_sink_new ());
  FlowTestingSink *plus = flow_harness_track (h, flow_testing_sink_new ());
  FlowTestingSink *unkeyed = flow_harness_track (h, flow_testing_sink_new ());
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3, 4]");
  FlowStream *trues = NULL, *falses = NULL;
  FlowStream *k, *f;
  g_autofree char *got_evens = NULL, *got_odds = NULL, *got_plus = NULL, *got_unkeyed = NULL;

  flow_stream_branch (s, "split", is_even, NULL, NULL, &trues, &falses);
  flow_stream_output (trues, "evens", FLOW_SINK (evens));
  flow_stream_output (falses, "odds", FLOW_SINK (odds));
  k = flow_stream_key_on (s, "key", even_or_odd, NULL, NULL);
  flow_stream_output (flow_stream_map_value (k, "add_one", plus_one, NULL, NULL), "plus", FLOW_SINK (plus));
  f = flow_stream_filter_value (k, "keep_even", is_even, NULL, NULL);
  flow_stream_output (flow_stream_key_rm (f, "rm"), "unkeyed", FLOW_SINK (unkeyed));
  assert_output (h, flow_stream_map_value (f, "double", times_two, NULL, NULL),
                 "[('even', 4), ('even', 8)]");

  got_evens = flow_test_sink_repr (evens);
  g_assert_cmpstr (got_evens, ==, "[2, 4]");
  got_odds = flow_test_sink_repr (odds);
  g_assert_cmpstr (got_odds, ==, "[1, 3]");
  got_plus = flow_test_sink_repr (plus);
  g_assert_cmpstr (got_plus, ==, "[('odd', 2), ('even', 3), ('odd', 4), ('even', 5)]");
  got_unkeyed = flow_test_sink_repr (unkeyed);
  g_assert_cmpstr (got_unkeyed, ==, "[2, 4]");
}

static void
test_stateful_map_no_builder (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, AB_ITEMS);

  s = flow_stream_stateful_map (s, "sum", NULL, NULL, NULL, sum_from_none, NULL, NULL);
  assert_output (h, s, "[('a', (True, 1)), ('b', (True, 10)), ('a', (False, 3)), "
                       "('b', (False, 30)), ('a', (False, 6))]");
}

static void
test_stateful_map_discard (FlowHarness *h, gconstpointer data)
{
  /* Returning NULL discards the key: its next item starts from the builder. */
  guint builds = 0;
  FlowStream *s = flow_harness_input (h, "[('a', <int64 0>), ('a', <int64 0>), ('b', <int64 0>), "
                                         "('a', <int64 0>), ('a', <int64 0>), ('a', <int64 0>)]");

  s = flow_stream_stateful_map (s, "count", zero, &builds, NULL, count_to_two, NULL, NULL);
  flow_harness_reset_count (h, &builds);
  assert_output (h, s, "[('a', 1), ('a', 2), ('b', 1), ('a', 1), ('a', 2), ('a', 1)]");
  g_assert_cmpuint (builds, ==, 4);
}

static void
test_stateful_map_emit_none (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "[('a', <int64 1>), ('a', <int64 1>), ('a', <int64 1>), ('a', <int64 1>)]");

  s = flow_stream_stateful_map (s, "even", zero, NULL, NULL, even_sums, NULL, NULL);
  assert_output (h, s, "[('a', 2), ('a', 4)]");
}

static void
test_stateful_flat_map (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "[('a', <int64 1>), ('b', <int64 5>), ('a', <int64 0>), ('a', <int64 2>)]");

  s = flow_stream_stateful_flat_map (s, "sfm", zero, NULL, NULL, flat_previous_and_value, NULL, NULL);
  assert_output (h, s, "[('a', 0), ('a', 1), ('b', 0), ('b', 5), ('a', 1), ('a', 2)]");
}

static void
test_fold_final (FlowHarness *h, gconstpointer data)
{
  guint calls = 0;
  FlowStream *s = flow_harness_input (h, "[('c', <int64 1>), ('a', <int64 1>), ('b', <int64 4>), ('a', <int64 2>)]");

  s = flow_stream_fold_final (s, "fold", zero, NULL, NULL, sum_fold, &calls, NULL);
  /* Emitted at the end of input, in key order. */
  flow_harness_reset_count (h, &calls);
  assert_output (h, s, "[('a', 3), ('b', 4), ('c', 1)]");
  g_assert_cmpuint (calls, ==, 4);
}

static void
test_fold_final_list (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "[('b', <'x'>), ('a', <int64 1>), ('a', <2.5>)]");

  s = flow_stream_fold_final (s, "fold", empty_list, NULL, NULL, append_to_list, NULL, NULL);
  assert_output (h, s, "[('a', [1, 2.5]), ('b', ['x'])]");
}

static void
test_fold_final_empty (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@a(sv) []");

  s = flow_stream_fold_final (s, "fold", zero, NULL, NULL, sum_fold, NULL, NULL);
  assert_output (h, s, "[]");
}

static void
test_reduce_final (FlowHarness *h, gconstpointer data)
{
  guint calls = 0;
  FlowStream *s = flow_harness_input (h, "[('k', <'x'>), ('j', <'1'>), ('k', <'y'>), ('k', <'z'>)]");

  s = flow_stream_reduce_final (s, "cat", concat_strings, &calls, NULL);
  flow_harness_reset_count (h, &calls);
  assert_output (h, s, "[('j', '1'), ('k', 'xyz')]");
  /* The first value of a key is its accumulator: no call for it. */
  g_assert_cmpuint (calls, ==, 2);
}

static void
test_count_final (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3, 4, 5]");
  g_autoptr(GVariant) first = NULL;
  g_autoptr(GVariant) count = NULL;

  s = flow_stream_count_final (s, "count", even_or_odd, NULL, NULL);
  assert_output (h, s, "[('even', 2), ('odd', 3)]");
  first = flow_testing_sink_get_item (h->sink, 0);
  g_assert_true (flow_item_get_keyed (first, NULL, &count));
  g_assert_cmpstr (g_variant_get_type_string (count), ==, "x");
}

#define MIXED_ITEMS "[('a', <int64 1>), ('b', <2.5>), ('a', <5.5>), ('b', <int64 2>), " \
                    "('a', <int64 3>), ('s', <'pear'>), ('s', <'apple'>), ('s', <'zoo'>)]"

static void
test_max_final (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, MIXED_ITEMS);

  s = flow_stream_max_final (s, "max", NULL, NULL, NULL);
  assert_output (h, s, "[('a', 5.5), ('b', 2.5), ('s', 'zoo')]");
}

static void
test_min_final (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, MIXED_ITEMS);

  s = flow_stream_min_final (s, "min", NULL, NULL, NULL);
  assert_output (h, s, "[('a', 1), ('b', 2), ('s', 'apple')]");
}

#define BY_ITEMS "[('k', <('ann', 30)>), ('k', <('bob', 25)>), ('k', <('cy', 40)>), " \
                 "('k', <('dan', 40)>), ('k', <('eve', 25)>), ('z', <('zed', 1)>)]"

static void
test_max_final_by (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, BY_ITEMS);

  /* Ties keep the first, as Python's max() does. */
  s = flow_stream_max_final (s, "max", second_child, NULL, NULL);
  assert_output (h, s, "[('k', ('cy', 40)), ('z', ('zed', 1))]");
}

static void
test_min_final_by (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, BY_ITEMS);

  s = flow_stream_min_final (s, "min", second_child, NULL, NULL);
  assert_output (h, s, "[('k', ('bob', 25)), ('z', ('zed', 1))]");
}

static void
test_collect_max_size (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "[('b', <int64 0>), ('a', <int64 1>), ('a', <int64 2>), "
                                         "('a', <int64 3>), ('c', <int64 4>)]");

  s = flow_stream_collect (s, "coll", 60.0, 2);
  /* ('a', [1, 2]) when full; the rest at the end of input, in key order. */
  assert_output (h, s, "[('a', [1, 2]), ('a', [3]), ('b', [0]), ('c', [4])]");
}

static void
test_collect_timeout (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "[('a', <int64 1>), ('b', <int64 2>), ('a', <int64 3>)]");

  /* 1 and 2 wait 0.05 s, then the source pauses 0.5 s: the timeout emits
   * them, and 3 comes in a new list at the end of input. */
  flow_testing_source_add_marker (h->source, 2, FLOW_TESTING_MARKER_PAUSE, 0.5);
  s = flow_stream_collect (s, "coll", 0.05, 10);
  assert_output (h, s, "[('a', [1]), ('b', [2]), ('a', [3])]");
}

static void
test_collect_eof (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "[('a', <int64 1>), ('a', <'two'>)]");

  s = flow_stream_collect (s, "coll", 60.0, 0);
  assert_output (h, s, "[('a', [1, 'two'])]");
}

/* ------------------------------------------------------------------------
 * Functions and their data
 * ------------------------------------------------------------------------ */

static void
count_destroy (gpointer data)
{
  (*(guint *) data)++;
}

static void
test_destroy_notify (void)
{
  guint destroyed = 0;
  FlowDataflow *flow = flow_dataflow_new ("test");
  g_autoptr(FlowTestingSource) source = flow_test_source_new_parse ("@ax [1]");
  FlowStream *s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  FlowTestingSink *sink = flow_testing_sink_new ();

  s = flow_stream_map (s, "m", times_two, &destroyed, count_destroy);
  s = flow_stream_stateful_map (flow_stream_key_on (s, "k", key_of_int, &destroyed, count_destroy),
                                "sm", zero_uncounted, &destroyed, count_destroy,
                                running_sum, &destroyed, count_destroy);
  flow_stream_output (s, "out", FLOW_SINK (sink));

  /* Functions are kept as long as the dataflow, across runs. */
  g_assert_true (flow_test_run (flow, NULL));
  g_assert_true (flow_test_run (flow, NULL));
  g_assert_cmpuint (destroyed, ==, 0);
  g_assert_cmpuint (flow_testing_sink_get_n_items (sink), ==, 2);

  g_assert_finalize_object (flow);
  g_assert_cmpuint (destroyed, ==, 4);
  g_assert_finalize_object (g_steal_pointer (&source));
  g_assert_finalize_object (sink);
}

/* ------------------------------------------------------------------------
 * Ownership of what functions return
 *
 * A function returns a full reference: a floating one (a new variant) or
 * a normal one (a variant that already exists: the item itself, a child of
 * it, the state...). libflow must take either without adding a reference
 * (g_variant_take_ref()), or the value leaks. The values returned here
 * wrap GBytes that count how many are still alive.
 * ------------------------------------------------------------------------ */

static guint tracked_alive;

static void
tracked_free (gpointer data)
{
  tracked_alive--;
  g_free (data);
}

/* A new normal (non-floating) reference to an x variant. */
static GVariant *
tracked_int (gint64 value)
{
  gint64 *copy = g_memdup2 (&value, sizeof value);
  g_autoptr(GBytes) bytes = g_bytes_new_with_free_func (copy, sizeof value, tracked_free, copy);

  tracked_alive++;
  return g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_INT64, bytes, TRUE));
}

static GVariant *
tracked_array (gint64 value)
{
  g_autoptr(GVariant) inner = tracked_int (value);
  GVariant *child = g_variant_new_variant (inner);

  /* once inner is released, the array holds the only reference to it */
  return g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_VARIANT, &child, 1));
}

static GVariant *
t_map (GVariant *item, gpointer data, GError **error)
{
  return tracked_int (int_of (item));
}

static GVariant *
t_flat_map (GVariant *item, gpointer data, GError **error)
{
  return tracked_array (int_of (item));
}

static GVariant *
t_builder (gpointer data, GError **error)
{
  return tracked_int (0);
}

static GVariant *
t_stateful (GVariant *state, GVariant *value, GVariant **emit, gpointer data, GError **error)
{
  *emit = tracked_int (int_of (value));
  return tracked_int (int_of (state) + int_of (value));
}

static GVariant *
t_stateful_flat (GVariant *state, GVariant *value, GVariant **emit, gpointer data, GError **error)
{
  *emit = tracked_array (int_of (value));
  return tracked_int (int_of (state) + int_of (value));
}

static GVariant *
t_stateful_keep (GVariant *state, GVariant *value, GVariant **emit, gpointer data, GError **error)
{
  /* returning the state it was given, as a new normal reference */
  *emit = NULL;
  return g_variant_ref (state);
}

static GVariant *
t_fold (GVariant *acc, GVariant *value, gpointer data, GError **error)
{
  return tracked_int (int_of (acc) + int_of (value));
}

static FlowStream *tr_map (FlowStream *s) { return flow_stream_map (s, "step", t_map, NULL, NULL); }
static FlowStream *tr_filter_map (FlowStream *s) { return flow_stream_filter_map (s, "step", t_map, NULL, NULL); }
static FlowStream *tr_flat_map (FlowStream *s) { return flow_stream_flat_map (s, "step", t_flat_map, NULL, NULL); }
static FlowStream *tr_map_value (FlowStream *s) { return flow_stream_map_value (s, "step", t_map, NULL, NULL); }
static FlowStream *tr_flat_map_value (FlowStream *s) { return flow_stream_flat_map_value (s, "step", t_flat_map, NULL, NULL); }
static FlowStream *tr_stateful_map (FlowStream *s) { return flow_stream_stateful_map (s, "step", t_builder, NULL, NULL, t_stateful, NULL, NULL); }
static FlowStream *tr_stateful_keep (FlowStream *s) { return flow_stream_stateful_map (s, "step", t_builder, NULL, NULL, t_stateful_keep, NULL, NULL); }
static FlowStream *tr_stateful_flat_map (FlowStream *s) { return flow_stream_stateful_flat_map (s, "step", t_builder, NULL, NULL, t_stateful_flat, NULL, NULL); }
static FlowStream *tr_fold_final (FlowStream *s) { return flow_stream_fold_final (s, "step", t_builder, NULL, NULL, t_fold, NULL, NULL); }
static FlowStream *tr_reduce_final (FlowStream *s) { return flow_stream_reduce_final (s, "step", t_fold, NULL, NULL); }
static FlowStream *tr_max_final (FlowStream *s) { return flow_stream_max_final (s, "step", t_map, NULL, NULL); }
static FlowStream *tr_min_final (FlowStream *s) { return flow_stream_min_final (s, "step", t_map, NULL, NULL); }

typedef struct
{
  const char *name;
  FlowStream *(*add) (FlowStream *s);
  gboolean    keyed;
  const char *output;
} TransferCase;

static const TransferCase transfer_cases[] = {
  { "map", tr_map, FALSE, "[1, 2, 3]" },
  { "filter-map", tr_filter_map, FALSE, "[1, 2, 3]" },
  { "flat-map", tr_flat_map, FALSE, "[1, 2, 3]" },
  { "map-value", tr_map_value, TRUE, "[('a', 1), ('b', 2), ('a', 3)]" },
  { "flat-map-value", tr_flat_map_value, TRUE, "[('a', 1), ('b', 2), ('a', 3)]" },
  { "stateful-map", tr_stateful_map, TRUE, "[('a', 1), ('b', 2), ('a', 3)]" },
  { "stateful-map-same-state", tr_stateful_keep, TRUE, "[]" },
  { "stateful-flat-map", tr_stateful_flat_map, TRUE, "[('a', 1), ('b', 2), ('a', 3)]" },
  { "fold-final", tr_fold_final, TRUE, "[('a', 4), ('b', 2)]" },
  { "reduce-final", tr_reduce_final, TRUE, "[('a', 4), ('b', 2)]" },
  { "max-final-by", tr_max_final, TRUE, "[('a', 3), ('b', 2)]" },
  { "min-final-by", tr_min_final, TRUE, "[('a', 1), ('b', 2)]" },
};

static void
test_transfer_full (gconstpointer data)
{
  const TransferCase *c = data;
  FlowDataflow *flow = flow_dataflow_new ("test");
  FlowTestingSource *source =
    flow_test_source_new_parse (c->keyed ? "[('a', <int64 1>), ('b', <int64 2>), ('a', <int64 3>)]"
                                         : "@ax [1, 2, 3]");
  FlowTestingSink *sink = flow_testing_sink_new ();
  FlowStream *s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  g_autofree char *repr = NULL;

  tracked_alive = 0;
  flow_stream_output (c->add (s), "out", FLOW_SINK (sink));
  g_assert_true (flow_test_run (flow, NULL));
  repr = flow_test_sink_repr (sink);
  g_assert_cmpstr (repr, ==, c->output);

  flow_testing_sink_clear (sink);
  g_assert_finalize_object (flow);
  g_assert_finalize_object (source);
  g_assert_finalize_object (sink);
  /* Every value the functions returned was released. */
  g_assert_cmpuint (tracked_alive, ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* A failing check marks its test failed and the other tests still run. */
  g_test_set_nonfatal_assertions ();

  ADD ("/operators/map", test_map);
  ADD ("/operators/map/keyed-items", test_map_sees_keyed_items);
  ADD ("/operators/filter", test_filter);
  ADD ("/operators/filter-map", test_filter_map);
  ADD ("/operators/flat-map", test_flat_map);
  ADD ("/operators/flat-map/av", test_flat_map_av);
  ADD ("/operators/flat-map/none-and-empty", test_flat_map_none_and_empty);
  ADD ("/operators/flat-map/not-array", test_flat_map_not_array);
  ADD ("/operators/flatten", test_flatten);
  ADD ("/operators/flatten/av", test_flatten_av);
  ADD ("/operators/flatten/not-array", test_flatten_not_array);
  ADD ("/operators/inspect", test_inspect);
  ADD ("/operators/inspect/default", test_inspect_default);
  ADD ("/operators/flat-map-batch", test_flat_map_batch);
  ADD ("/operators/flat-map-batch/keyed", test_flat_map_batch_keyed);
  ADD ("/operators/flat-map-batch/error", test_flat_map_batch_error);
  ADD ("/operators/flat-map-batch/not-array", test_flat_map_batch_not_array);
  ADD ("/operators/inspect-debug", test_inspect_debug);
  ADD ("/operators/inspect-debug/error", test_inspect_debug_error);
  ADD ("/operators/inspect-debug/default", test_inspect_debug_default);
  ADD ("/operators/merge/two", test_merge_two);
  ADD ("/operators/merge/three", test_merge_three);
  ADD ("/operators/branch", test_branch);
  ADD ("/operators/redistribute", test_redistribute);
  ADD ("/operators/key-on", test_key_on);
  ADD ("/operators/key-rm", test_key_rm);
  ADD ("/operators/key-on-key-rm", test_key_on_key_rm);
  ADD ("/operators/map-value", test_map_value);
  ADD ("/operators/filter-value", test_filter_value);
  ADD ("/operators/flat-map-value", test_flat_map_value);
  ADD ("/operators/flat-map-value/av", test_flat_map_value_av);
  ADD ("/operators/stateful-map", test_stateful_map);
  ADD ("/operators/stateful-map/seed", test_stateful_map_seed);
  ADD ("/operators/stateful-map/no-builder", test_stateful_map_no_builder);
  ADD ("/operators/stateful-map/moved-items-fan-out", test_moved_items_fan_out);
  ADD ("/operators/moved-items-stateless", test_moved_items_stateless);
  ADD ("/operators/stateful-map/discard", test_stateful_map_discard);
  ADD ("/operators/stateful-map/emit-none", test_stateful_map_emit_none);
  ADD ("/operators/stateful-flat-map", test_stateful_flat_map);
  ADD ("/operators/fold-final", test_fold_final);
  ADD ("/operators/fold-final/list", test_fold_final_list);
  ADD ("/operators/fold-final/empty", test_fold_final_empty);
  ADD ("/operators/reduce-final", test_reduce_final);
  ADD ("/operators/count-final", test_count_final);
  ADD ("/operators/max-final", test_max_final);
  ADD ("/operators/min-final", test_min_final);
  ADD ("/operators/max-final/by", test_max_final_by);
  ADD ("/operators/min-final/by", test_min_final_by);
  ADD ("/operators/collect/max-size", test_collect_max_size);
  ADD ("/operators/collect/timeout", test_collect_timeout);
  ADD ("/operators/collect/eof", test_collect_eof);
  g_test_add_func ("/operators/destroy-notify", test_destroy_notify);
  for (gsize i = 0; i < G_N_ELEMENTS (transfer_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/operators/transfer-full/%s", transfer_cases[i].name);
      g_test_add_data_func (path, &transfer_cases[i], test_transfer_full);
    }

  return g_test_run ();
}
