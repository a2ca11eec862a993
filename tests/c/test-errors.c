/* test-errors.c: every error a user can cause, with its domain, code and a
 * message naming the full step id (and the key or the item)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <gio/gio.h>

#include "flow-test-utils.h"

#define ADD(path, func) \
  g_test_add (path, FlowHarness, NULL, flow_harness_setup, func, flow_harness_teardown)

static gint64
int_of (GVariant *v)
{
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_INT64))
    return g_variant_get_int64 (v);
  return -1;
}

static GVariant *
identity (GVariant *item, gpointer data, GError **error)
{
  return g_variant_ref (item);
}

static GVariant *
zero (gpointer data, GError **error)
{
  return g_variant_new_int64 (0);
}

static GVariant *
keep_state (GVariant *state, GVariant *value, GVariant **emit, gpointer data, GError **error)
{
  *emit = g_variant_ref (value);
  return state ? g_variant_ref (state) : g_variant_new_int64 (0);
}

static GVariant *
in_array (GVariant *item, gpointer data, GError **error)
{
  GVariant *boxed = g_variant_new_variant (item);

  return g_variant_new_array (G_VARIANT_TYPE_VARIANT, &boxed, 1);
}

static GVariant *
keep_state_flat (GVariant *state, GVariant *value, GVariant **emit, gpointer data, GError **error)
{
  *emit = in_array (value, NULL, NULL);
  return state ? g_variant_ref (state) : g_variant_new_int64 (0);
}

static GVariant *
sum_fold (GVariant *acc, GVariant *value, gpointer data, GError **error)
{
  return g_variant_new_int64 (int_of (acc) + int_of (value));
}

static FlowDataflow *
complete_flow (const char         *id,
               FlowTestingSource **source,
               FlowTestingSink   **sink)
{
  FlowDataflow *flow = flow_dataflow_new (id);

  *source = flow_test_source_new_parse ("@ax [1]");
  *sink = flow_testing_sink_new ();
  flow_stream_output (flow_dataflow_input (flow, "inp", FLOW_SOURCE (*source)), "out",
                      FLOW_SINK (*sink));
  return flow;
}

/* Both the check and a run give @error. */
static void
assert_flow_error (FlowDataflow *flow,
                   GQuark        domain,
                   int           code,
                   const char   *message)
{
  g_autoptr(GError) check_error = NULL;
  g_autoptr(GError) run_error = NULL;

  g_assert_false (flow_dataflow_check (flow, &check_error));
  g_assert_error (check_error, domain, code);
  g_assert_cmpstr (check_error->message, ==, message);

  g_assert_false (flow_test_run (flow, &run_error));
  g_assert_error (run_error, domain, code);
  g_assert_cmpstr (run_error->message, ==, message);
}

/* ------------------------------------------------------------------------
 * Building
 * ------------------------------------------------------------------------ */

static void
test_valid_flow (FlowHarness *h, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) steps = NULL;
  FlowStream *s = flow_harness_input (h, "@ax [1]");

  flow_stream_output (flow_stream_map (s, "m", identity, NULL, NULL), "out", FLOW_SINK (h->sink));
  g_assert_true (flow_dataflow_check (h->flow, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (flow_dataflow_get_id (h->flow), ==, "test");
  steps = flow_dataflow_list_steps (h->flow);
  g_assert_cmpstrv (steps, ((const char *[]) { "test.inp", "test.m", "test.out", NULL }));
}

static void
test_duplicate_step_id (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1]");

  s = flow_stream_map (s, "m", identity, NULL, NULL);
  s = flow_stream_map (s, "m", identity, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (h->sink));
  assert_flow_error (h->flow, FLOW_ERROR, FLOW_ERROR_DUPLICATE_STEP_ID,
                     "step id 'test.m' is used twice in dataflow 'test' (by a map and a map step)");
}

static void
test_duplicate_input_id (FlowHarness *h, gconstpointer data)
{
  FlowTestingSource *other = flow_harness_track (h, flow_test_source_new_parse ("@ax [2]"));
  FlowStream *s = flow_harness_input (h, "@ax [1]");

  flow_dataflow_input (h->flow, "inp", FLOW_SOURCE (other));
  flow_stream_output (s, "out", FLOW_SINK (h->sink));
  assert_flow_error (h->flow, FLOW_ERROR, FLOW_ERROR_DUPLICATE_STEP_ID,
                     "step id 'test.inp' is used twice in dataflow 'test' (by a input and a input step)");
}

static void
test_step_id_with_dot (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1]");

  flow_stream_output (flow_stream_map (s, "a.b", identity, NULL, NULL), "out", FLOW_SINK (h->sink));
  assert_flow_error (h->flow, FLOW_ERROR, FLOW_ERROR_INVALID_STEP_ID,
                     "map 'test.a.b': step id 'a.b' must not contain '.'");
}

static void
test_step_id_empty (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1]");

  flow_stream_output (flow_stream_map (s, "", identity, NULL, NULL), "out", FLOW_SINK (h->sink));
  assert_flow_error (h->flow, FLOW_ERROR, FLOW_ERROR_INVALID_STEP_ID,
                     "map 'test.': step id must not be empty");
}

static void
test_step_id_null (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1]");

  flow_stream_output (s, NULL, FLOW_SINK (h->sink));
  assert_flow_error (h->flow, FLOW_ERROR, FLOW_ERROR_INVALID_STEP_ID,
                     "output 'test.': step id must not be empty");
}

static void
test_step_id_not_utf8 (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1]");
  g_autoptr(GError) error = NULL;

  flow_stream_output (s, "out\xff", FLOW_SINK (h->sink));
  g_assert_false (flow_dataflow_check (h->flow, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_STEP_ID);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
}

static void
test_dataflow_id (void)
{
  static const struct { const char *id; const char *message; } cases[] = {
    { "bad.id", "dataflow id 'bad.id' must not contain '.'" },
    { "", "dataflow id must not be empty" },
    { NULL, "dataflow id must not be empty" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      FlowTestingSource *source;
      FlowTestingSink *sink;
      FlowDataflow *flow = complete_flow (cases[i].id, &source, &sink);

      g_assert_nonnull (flow_dataflow_get_id (flow));
      assert_flow_error (flow, FLOW_ERROR, FLOW_ERROR_INVALID_STEP_ID, cases[i].message);
      g_assert_finalize_object (flow);
      g_assert_finalize_object (source);
      g_assert_finalize_object (sink);
    }
}

static void
test_no_input (void)
{
  FlowDataflow *flow = flow_dataflow_new ("empty");

  assert_flow_error (flow, FLOW_ERROR, FLOW_ERROR_INCOMPLETE_FLOW,
                     "dataflow 'empty' needs at least one input step: it has none, so it would read nothing");
  g_assert_finalize_object (flow);
}

static void
test_no_output (FlowHarness *h, gconstpointer data)
{
  flow_stream_map (flow_harness_input (h, "@ax [1]"), "m", identity, NULL, NULL);
  assert_flow_error (h->flow, FLOW_ERROR, FLOW_ERROR_INCOMPLETE_FLOW,
                     "dataflow 'test' needs at least one output or inspect step: it has none, so its results would go nowhere");
  g_assert_cmpuint (flow_testing_sink_get_n_items (h->sink), ==, 0);
}

static void
test_other_dataflow (FlowHarness *h, gconstpointer data)
{
  FlowDataflow *other = flow_dataflow_new ("other");
  FlowTestingSource *other_source = flow_harness_track (h, flow_test_source_new_parse ("@ax [2]"));
  FlowStream *mine = flow_harness_input (h, "@ax [1]");
  FlowStream *theirs = flow_dataflow_input (other, "inp", FLOW_SOURCE (other_source));

  flow_stream_output (flow_stream_merge (mine, "merge", &theirs, 1), "out", FLOW_SINK (h->sink));
  assert_flow_error (h->flow, FLOW_ERROR, FLOW_ERROR_INVALID_FLOW,
                     "step 'test.merge' was given the stream of step 'other.inp', "
                     "which belongs to another dataflow");
  g_assert_finalize_object (other);
}

static void
test_other_dataflow_unary (FlowHarness *h, gconstpointer data)
{
  /* Operating on the stream of "other" adds the step to "other", so the
   * mistake shows when "other" is checked. */
  FlowDataflow *other = flow_dataflow_new ("other");
  FlowTestingSource *other_source = flow_harness_track (h, flow_test_source_new_parse ("@ax [2]"));
  FlowStream *theirs = flow_dataflow_input (other, "inp", FLOW_SOURCE (other_source));
  FlowStream *mine = flow_harness_input (h, "@ax [1]");

  flow_stream_output (flow_stream_merge (theirs, "merge", &mine, 1), "out", FLOW_SINK (h->sink));
  assert_flow_error (other, FLOW_ERROR, FLOW_ERROR_INVALID_FLOW,
                     "step 'other.merge' was given the stream of step 'test.inp', "
                     "which belongs to another dataflow");
  g_assert_finalize_object (other);
}

static void
test_first_mistake_wins (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1]");

  s = flow_stream_map (s, "x.y", identity, NULL, NULL);
  s = flow_stream_map (s, "inp", identity, NULL, NULL);
  /* and no output: building mistakes come before incompleteness */
  assert_flow_error (h->flow, FLOW_ERROR, FLOW_ERROR_INVALID_STEP_ID,
                     "map 'test.x.y': step id 'x.y' must not contain '.'");
}

static void
test_collect_bad_timeout (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "[('a', <1>)]");

  flow_stream_output (flow_stream_collect (s, "coll", 0, 2), "out", FLOW_SINK (h->sink));
  assert_flow_error (h->flow, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                     "collect 'test.coll': the timeout must be a positive number of seconds, not 0");
}

static void
test_orphan_stream (void)
{
  FlowDataflow *flow = flow_dataflow_new ("test");
  FlowTestingSource *source = flow_test_source_new_parse ("@ax [1]");
  FlowStream *s = g_object_ref (flow_dataflow_input (flow, "inp", FLOW_SOURCE (source)));

  g_assert_true (flow_stream_get_dataflow (s) == flow);
  g_assert_finalize_object (flow);
  g_assert_finalize_object (source);

  /* The stream outlives its dataflow, orphaned. */
  g_assert_null (flow_stream_get_dataflow (s));
  g_assert_null (flow_stream_get_step_id (s));
  g_test_expect_message ("Flow", G_LOG_LEVEL_CRITICAL, "*dataflow of this stream was finalized*");
  g_assert_null (flow_stream_map (s, "m", identity, NULL, NULL));
  g_test_assert_expected_messages ();
  g_assert_finalize_object (s);
}

static void
test_null_function (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1]");

  g_test_expect_message ("Flow", G_LOG_LEVEL_CRITICAL, "*mapper != NULL*");
  g_assert_null (flow_stream_map (s, "m", NULL, NULL, NULL));
  g_test_assert_expected_messages ();
}

/* ------------------------------------------------------------------------
 * Items that are not keyed
 * ------------------------------------------------------------------------ */

typedef FlowStream *(*AddStep) (FlowStream *up);

static gboolean
always_true (GVariant *item, gpointer data, GError **error)
{
  return TRUE;
}

static FlowStream *add_key_rm (FlowStream *s) { return flow_stream_key_rm (s, "step"); }
static FlowStream *add_map_value (FlowStream *s) { return flow_stream_map_value (s, "step", identity, NULL, NULL); }
static FlowStream *add_filter_value (FlowStream *s) { return flow_stream_filter_value (s, "step", always_true, NULL, NULL); }
static FlowStream *add_flat_map_value (FlowStream *s) { return flow_stream_flat_map_value (s, "step", in_array, NULL, NULL); }
static FlowStream *add_stateful_map (FlowStream *s) { return flow_stream_stateful_map (s, "step", zero, NULL, NULL, keep_state, NULL, NULL); }
static FlowStream *add_stateful_flat_map (FlowStream *s) { return flow_stream_stateful_flat_map (s, "step", NULL, NULL, NULL, keep_state_flat, NULL, NULL); }
static FlowStream *add_fold_final (FlowStream *s) { return flow_stream_fold_final (s, "step", zero, NULL, NULL, sum_fold, NULL, NULL); }
static FlowStream *add_reduce_final (FlowStream *s) { return flow_stream_reduce_final (s, "step", sum_fold, NULL, NULL); }
static FlowStream *add_max_final (FlowStream *s) { return flow_stream_max_final (s, "step", NULL, NULL, NULL); }
static FlowStream *add_min_final (FlowStream *s) { return flow_stream_min_final (s, "step", identity, NULL, NULL); }
static FlowStream *add_collect (FlowStream *s) { return flow_stream_collect (s, "step", 10, 3); }

typedef struct
{
  const char *path;
  const char *kind;
  AddStep     add;
} NotKeyedCase;

static const NotKeyedCase not_keyed_cases[] = {
  { "/errors/not-keyed/key-rm", "key_rm", add_key_rm },
  { "/errors/not-keyed/map-value", "map_value", add_map_value },
  { "/errors/not-keyed/filter-value", "filter_value", add_filter_value },
  { "/errors/not-keyed/flat-map-value", "flat_map_value", add_flat_map_value },
  { "/errors/not-keyed/stateful-map", "stateful_map", add_stateful_map },
  { "/errors/not-keyed/stateful-flat-map", "stateful_flat_map", add_stateful_flat_map },
  { "/errors/not-keyed/fold-final", "fold_final", add_fold_final },
  { "/errors/not-keyed/reduce-final", "reduce_final", add_reduce_final },
  { "/errors/not-keyed/max-final", "max_final", add_max_final },
  { "/errors/not-keyed/min-final", "min_final", add_min_final },
  { "/errors/not-keyed/collect", "collect", add_collect },
};

static void
test_not_keyed (FlowHarness *h, gconstpointer data)
{
  const NotKeyedCase *c = data;
  FlowStream *s = flow_harness_input (h, "[<('a', <int64 1>)>, <('k', 'v')>]");
  const GError *error;
  g_autofree char *expected = NULL;

  error = flow_harness_run_error (h, c->add (s));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_NOT_KEYED);
  expected = g_strdup_printf ("%s step 'test.step' needs keyed items: (key, value) tuples of "
                              "type (sv) (use key_on first), but got ('k', 'v') of type (ss)",
                              c->kind);
  g_assert_cmpstr (error->message, ==, expected);
}

static void
test_not_keyed_long_item (FlowHarness *h, gconstpointer data)
{
  /* A long item is shortened in the message. */
  g_autofree char *text = g_strdup_printf ("['%0500d']", 7);
  FlowStream *s = flow_harness_input (h, text);
  const GError *error = flow_harness_run_error (h, add_stateful_map (s));

  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_NOT_KEYED);
  g_assert_cmpuint (strlen (error->message), <, 300);
  flow_test_assert_error_has (error, "'test.step'");
  flow_test_assert_error_has (error, "'0000");
  flow_test_assert_error_has (error, "...");
}

/* ------------------------------------------------------------------------
 * Functions that fail
 * ------------------------------------------------------------------------ */

/* Every failing function fails (with G_IO_ERROR_PERMISSION_DENIED "boom")
 * on the value 2, and also on everything when its data is "always"; with
 * data "null", it returns NULL (or FALSE) without an error instead. */
typedef enum { FAIL_ON_TWO, FAIL_ALWAYS, NULL_ON_TWO } FailMode;

static gboolean
should_fail (GVariant *value,
             gpointer  data,
             GError  **error)
{
  FailMode mode = GPOINTER_TO_INT (data);

  if (mode == FAIL_ALWAYS || int_of (value) == 2)
    {
      if (mode != NULL_ON_TWO)
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "boom");
      return TRUE;
    }
  return FALSE;
}

static GVariant *
fail_map (GVariant *item, gpointer data, GError **error)
{
  return should_fail (item, data, error) ? NULL : g_variant_ref (item);
}

static gboolean
fail_predicate (GVariant *item, gpointer data, GError **error)
{
  return should_fail (item, data, error) ? FALSE : TRUE;
}

static GVariant *
fail_flat_map (GVariant *item, gpointer data, GError **error)
{
  if (should_fail (item, data, error))
    return NULL;
  return g_variant_new_array (G_VARIANT_TYPE_VARIANT, (GVariant *[]) { g_variant_new_variant (item) }, 1);
}

static char *
fail_key (GVariant *item, gpointer data, GError **error)
{
  return should_fail (item, data, error) ? NULL : g_strdup ("k");
}

static void
fail_inspect (const char *step_id, GVariant *item, gpointer data, GError **error)
{
  should_fail (item, data, error);
}

static GVariant *
fail_builder (gpointer data, GError **error)
{
  if (GPOINTER_TO_INT (data) != NULL_ON_TWO)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "boom");
  return NULL;
}

static GVariant *
fail_stateful (GVariant *state, GVariant *value, GVariant **emit, gpointer data, GError **error)
{
  if (should_fail (value, data, error))
    return NULL;
  *emit = NULL;
  return g_variant_new_int64 (0);
}

static GVariant *
fail_fold (GVariant *acc, GVariant *value, gpointer data, GError **error)
{
  if (should_fail (value, data, error))
    return NULL;
  return g_variant_ref (value);
}

#define FAIL_DATA(mode) GINT_TO_POINTER (mode)

static FlowStream *f_map (FlowStream *s, FailMode m) { return flow_stream_map (s, "step", fail_map, FAIL_DATA (m), NULL); }
static FlowStream *f_filter (FlowStream *s, FailMode m) { return flow_stream_filter (s, "step", fail_predicate, FAIL_DATA (m), NULL); }
static FlowStream *f_filter_map (FlowStream *s, FailMode m) { return flow_stream_filter_map (s, "step", fail_map, FAIL_DATA (m), NULL); }
static FlowStream *f_flat_map (FlowStream *s, FailMode m) { return flow_stream_flat_map (s, "step", fail_flat_map, FAIL_DATA (m), NULL); }
static FlowStream *f_inspect (FlowStream *s, FailMode m) { return flow_stream_inspect (s, "step", fail_inspect, FAIL_DATA (m), NULL); }
static FlowStream *f_key_on (FlowStream *s, FailMode m) { return flow_stream_key_on (s, "step", fail_key, FAIL_DATA (m), NULL); }
static FlowStream *f_count_final (FlowStream *s, FailMode m) { return flow_stream_count_final (s, "step", fail_key, FAIL_DATA (m), NULL); }
static FlowStream *
f_branch (FlowStream *s, FailMode m)
{
  FlowStream *trues = NULL;

  flow_stream_branch (s, "step", fail_predicate, FAIL_DATA (m), NULL, &trues, NULL);
  return trues;
}
static FlowStream *f_map_value (FlowStream *s, FailMode m) { return flow_stream_map_value (s, "step", fail_map, FAIL_DATA (m), NULL); }
static FlowStream *f_filter_value (FlowStream *s, FailMode m) { return flow_stream_filter_value (s, "step", fail_predicate, FAIL_DATA (m), NULL); }
static FlowStream *f_flat_map_value (FlowStream *s, FailMode m) { return flow_stream_flat_map_value (s, "step", fail_flat_map, FAIL_DATA (m), NULL); }
static FlowStream *f_stateful_map (FlowStream *s, FailMode m) { return flow_stream_stateful_map (s, "step", zero, NULL, NULL, fail_stateful, FAIL_DATA (m), NULL); }
static FlowStream *f_stateful_map_builder (FlowStream *s, FailMode m) { return flow_stream_stateful_map (s, "step", fail_builder, FAIL_DATA (m), NULL, keep_state, NULL, NULL); }
static FlowStream *f_stateful_flat_map (FlowStream *s, FailMode m) { return flow_stream_stateful_flat_map (s, "step", NULL, NULL, NULL, fail_stateful, FAIL_DATA (m), NULL); }
static FlowStream *f_stateful_flat_map_builder (FlowStream *s, FailMode m) { return flow_stream_stateful_flat_map (s, "step", fail_builder, FAIL_DATA (m), NULL, keep_state, NULL, NULL); }
static FlowStream *f_fold_final (FlowStream *s, FailMode m) { return flow_stream_fold_final (s, "step", zero, NULL, NULL, fail_fold, FAIL_DATA (m), NULL); }
static FlowStream *f_fold_final_builder (FlowStream *s, FailMode m) { return flow_stream_fold_final (s, "step", fail_builder, FAIL_DATA (m), NULL, sum_fold, NULL, NULL); }
static FlowStream *f_reduce_final (FlowStream *s, FailMode m) { return flow_stream_reduce_final (s, "step", fail_fold, FAIL_DATA (m), NULL); }
static FlowStream *f_max_final (FlowStream *s, FailMode m) { return flow_stream_max_final (s, "step", fail_map, FAIL_DATA (m), NULL); }
static FlowStream *f_min_final (FlowStream *s, FailMode m) { return flow_stream_min_final (s, "step", fail_map, FAIL_DATA (m), NULL); }

typedef struct
{
  const char *name;
  FlowStream *(*add) (FlowStream *s, FailMode mode);
  gboolean    keyed;
  const char *message;        /* the whole message of the "boom" error */
  const char *null_message;   /* the message when it returns NULL without error,
                               * or NULL if that is allowed */
} FailCase;

#define UNKEYED_ITEMS "@ax [1, 2, 3]"
/* 'b' gets two values, so that reduce, max and min call their function
 * with the 2 (the first value of a key is taken as it is). */
#define KEYED_ITEMS "[('a', <int64 1>), ('b', <int64 1>), ('b', <int64 2>), ('c', <int64 3>)]"

static const FailCase fail_cases[] = {
  { "map", f_map, FALSE,
    "map step 'test.step' failed on item 2: boom",
    "map step 'test.step' failed on item 2: the function returned no value" },
  { "filter", f_filter, FALSE,
    "filter step 'test.step' failed on item 2: boom", NULL },
  { "filter-map", f_filter_map, FALSE,
    "filter_map step 'test.step' failed on item 2: boom", NULL },
  { "flat-map", f_flat_map, FALSE,
    "flat_map step 'test.step' failed on item 2: boom", NULL },
  { "inspect", f_inspect, FALSE,
    "inspect step 'test.step' failed on item 2: boom", NULL },
  { "branch", f_branch, FALSE,
    "branch step 'test.step' failed on item 2: boom", NULL },
  { "key-on", f_key_on, FALSE,
    "key_on step 'test.step' failed on item 2: boom",
    "key_on step 'test.step' failed on item 2: the key function returned no key" },
  { "count-final", f_count_final, FALSE,
    "count_final step 'test.step' failed on item 2: boom",
    "count_final step 'test.step' failed on item 2: the key function returned no key" },
  { "map-value", f_map_value, TRUE,
    "map_value step 'test.step' failed for key 'b': boom",
    "map_value step 'test.step' failed for key 'b': the function returned no value" },
  { "filter-value", f_filter_value, TRUE,
    "filter_value step 'test.step' failed for key 'b': boom", NULL },
  { "flat-map-value", f_flat_map_value, TRUE,
    "flat_map_value step 'test.step' failed for key 'b': boom", NULL },
  { "stateful-map", f_stateful_map, TRUE,
    "stateful_map step 'test.step' failed for key 'b': boom", NULL },
  { "stateful-map-builder", f_stateful_map_builder, TRUE,
    "stateful_map step 'test.step' failed for key 'a': builder: boom",
    "stateful_map step 'test.step' failed for key 'a': builder: the builder returned no initial state" },
  { "stateful-flat-map", f_stateful_flat_map, TRUE,
    "stateful_flat_map step 'test.step' failed for key 'b': boom", NULL },
  { "stateful-flat-map-builder", f_stateful_flat_map_builder, TRUE,
    "stateful_flat_map step 'test.step' failed for key 'a': builder: boom",
    "stateful_flat_map step 'test.step' failed for key 'a': builder: the builder returned no initial state" },
  { "fold-final", f_fold_final, TRUE,
    "fold_final step 'test.step' failed for key 'b': boom",
    "fold_final step 'test.step' failed for key 'b': the function returned no value" },
  { "fold-final-builder", f_fold_final_builder, TRUE,
    "fold_final step 'test.step' failed for key 'a': builder: boom",
    "fold_final step 'test.step' failed for key 'a': builder: the builder returned no initial state" },
  { "reduce-final", f_reduce_final, TRUE,
    "reduce_final step 'test.step' failed for key 'b': boom",
    "reduce_final step 'test.step' failed for key 'b': the function returned no value" },
  { "max-final-by", f_max_final, TRUE,
    "max_final step 'test.step' failed for key 'b': boom",
    "max_final step 'test.step' failed for key 'b': the function returned no value" },
  { "min-final-by", f_min_final, TRUE,
    "min_final step 'test.step' failed for key 'b': boom",
    "min_final step 'test.step' failed for key 'b': the function returned no value" },
};

static void
test_function_error (FlowHarness *h, gconstpointer data)
{
  const FailCase *c = data;
  FlowStream *s = flow_harness_input (h, c->keyed ? KEYED_ITEMS : UNKEYED_ITEMS);
  const GError *error = flow_harness_run_error (h, c->add (s, FAIL_ON_TWO));

  /* The function's own domain and code, its message prefixed. */
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  g_assert_cmpstr (error->message, ==, c->message);
}

static void
test_function_null (FlowHarness *h, gconstpointer data)
{
  const FailCase *c = data;
  FlowStream *s = flow_harness_input (h, c->keyed ? KEYED_ITEMS : UNKEYED_ITEMS);
  const GError *error = flow_harness_run_error (h, c->add (s, NULL_ON_TWO));

  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION);
  g_assert_cmpstr (error->message, ==, c->null_message);
}

static void
test_function_error_stops_run (FlowHarness *h, gconstpointer data)
{
  /* Nothing after the failing item is processed. */
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3, 4]");
  g_autofree char *repr = NULL;

  flow_harness_run_error (h, f_map (s, FAIL_ON_TWO));
  repr = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (repr, ==, "[1]");
}

static char *
non_utf8_key (GVariant *item, gpointer data, GError **error)
{
  return g_strdup ("bad\xff");
}

static void
test_key_not_utf8 (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1]");
  const GError *error;

  error = flow_harness_run_error (h, flow_stream_key_on (s, "step", non_utf8_key, NULL, NULL));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION);
  g_assert_cmpstr (error->message, ==,
                   "key_on step 'test.step' failed on item 1: "
                   "the key function returned a key that is not UTF-8");
}

/* count_final's key function, like key_on's, must not let a non-UTF-8 key
 * through (it would become the string of a (sv) item). Runs in a
 * subprocess, since libflow may crash on it. */
static void
test_count_key_not_utf8 (FlowHarness *h, gconstpointer data)
{
  if (g_test_subprocess ())
    {
      FlowStream *s = flow_harness_input (h, "@ax [1]");
      const GError *error;

      error = flow_harness_run_error (h, flow_stream_count_final (s, "step", non_utf8_key, NULL, NULL));
      {
        g_autofree char *repr = flow_test_sink_repr (h->sink);
        g_test_message ("the sink got %s", repr);
      }
      g_assert_error (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION);
      g_assert_cmpstr (error->message, ==,
                       "count_final step 'test.step' failed on item 1: "
                       "the key function returned a key that is not UTF-8");
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* ------------------------------------------------------------------------
 * Connectors that fail
 * ------------------------------------------------------------------------ */

/* A source of one partition that emits [1] then fails, or returns a
 * non-array; and a sink that fails to write. */

typedef enum { BAD_FAIL, BAD_NOT_ARRAY, BAD_NO_PARTS, BAD_LIST, BAD_BUILD } BadMode;

#define TEST_TYPE_BAD_PART (test_bad_part_get_type ())
G_DECLARE_FINAL_TYPE (TestBadPart, test_bad_part, TEST, BAD_PART, FlowSourcePartition)
struct _TestBadPart
{
  FlowSourcePartition parent_instance;
  BadMode mode;
  guint   calls;
};
G_DEFINE_FINAL_TYPE (TestBadPart, test_bad_part, FLOW_TYPE_SOURCE_PARTITION)

static GVariant *
test_bad_part_next_batch (FlowSourcePartition *part, GError **error)
{
  TestBadPart *self = TEST_BAD_PART (part);

  if (self->calls++ == 0)
    return g_variant_new_parsed ("[<int64 1>]");
  if (self->mode == BAD_NOT_ARRAY)
    return g_variant_new_int32 (5);
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "the data is gone");
  return NULL;
}

static void
test_bad_part_class_init (TestBadPartClass *klass)
{
  FLOW_SOURCE_PARTITION_CLASS (klass)->next_batch = test_bad_part_next_batch;
}

static void
test_bad_part_init (TestBadPart *self)
{
}

#define TEST_TYPE_BAD_SOURCE (test_bad_source_get_type ())
G_DECLARE_FINAL_TYPE (TestBadSource, test_bad_source, TEST, BAD_SOURCE, FlowSource)
struct _TestBadSource
{
  FlowSource parent_instance;
  BadMode    mode;
};
G_DEFINE_FINAL_TYPE (TestBadSource, test_bad_source, FLOW_TYPE_SOURCE)

static char **
test_bad_source_list_parts (FlowSource *source, GError **error)
{
  if (TEST_BAD_SOURCE (source)->mode == BAD_NO_PARTS)
    return g_new0 (char *, 1);
  if (TEST_BAD_SOURCE (source)->mode == BAD_LIST)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE, "no route to the broker");
      return NULL;
    }
  return FLOW_SOURCE_CLASS (test_bad_source_parent_class)->list_parts (source, error);
}

static FlowSourcePartition *
test_bad_source_build_part (FlowSource *source, const char *step_id, const char *key,
                            GVariant *resume_state, GError **error)
{
  TestBadPart *part;

  if (TEST_BAD_SOURCE (source)->mode == BAD_BUILD)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "cannot connect");
      return NULL;
    }
  part = g_object_new (TEST_TYPE_BAD_PART, NULL);
  part->mode = TEST_BAD_SOURCE (source)->mode;
  return FLOW_SOURCE_PARTITION (part);
}

static void
test_bad_source_class_init (TestBadSourceClass *klass)
{
  FLOW_SOURCE_CLASS (klass)->list_parts = test_bad_source_list_parts;
  FLOW_SOURCE_CLASS (klass)->build_part = test_bad_source_build_part;
}

static void
test_bad_source_init (TestBadSource *self)
{
}

static FlowSource *
bad_source_new (BadMode mode)
{
  TestBadSource *source = g_object_new (TEST_TYPE_BAD_SOURCE, NULL);

  source->mode = mode;
  return FLOW_SOURCE (source);
}

#define TEST_TYPE_BAD_SINK_PART (test_bad_sink_part_get_type ())
G_DECLARE_FINAL_TYPE (TestBadSinkPart, test_bad_sink_part, TEST, BAD_SINK_PART, FlowSinkPartition)
struct _TestBadSinkPart
{
  FlowSinkPartition parent_instance;
  gboolean          with_error;
};
G_DEFINE_FINAL_TYPE (TestBadSinkPart, test_bad_sink_part, FLOW_TYPE_SINK_PARTITION)

static gboolean
test_bad_sink_part_write_batch (FlowSinkPartition *part, GPtrArray *items, GError **error)
{
  if (TEST_BAD_SINK_PART (part)->with_error)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "disk full");
  return FALSE;
}

static void
test_bad_sink_part_class_init (TestBadSinkPartClass *klass)
{
  FLOW_SINK_PARTITION_CLASS (klass)->write_batch = test_bad_sink_part_write_batch;
}

static void
test_bad_sink_part_init (TestBadSinkPart *self)
{
}

#define TEST_TYPE_BAD_SINK (test_bad_sink_get_type ())
G_DECLARE_FINAL_TYPE (TestBadSink, test_bad_sink, TEST, BAD_SINK, FlowSink)
struct _TestBadSink
{
  FlowSink parent_instance;
  gboolean with_error;
};
G_DEFINE_FINAL_TYPE (TestBadSink, test_bad_sink, FLOW_TYPE_SINK)

static FlowSinkPartition *
test_bad_sink_build_part (FlowSink *sink, const char *step_id, const char *key,
                          GVariant *resume_state, GError **error)
{
  TestBadSinkPart *part = g_object_new (TEST_TYPE_BAD_SINK_PART, NULL);

  part->with_error = TEST_BAD_SINK (sink)->with_error;
  return FLOW_SINK_PARTITION (part);
}

static void
test_bad_sink_class_init (TestBadSinkClass *klass)
{
  FLOW_SINK_CLASS (klass)->build_part = test_bad_sink_build_part;
}

static void
test_bad_sink_init (TestBadSink *self)
{
}

static void
run_bad_source (FlowHarness *h,
                BadMode      mode,
                GQuark       domain,
                int          code,
                const char  *message,
                const char  *output)
{
  FlowSource *source = flow_harness_track (h, bad_source_new (mode));
  FlowStream *s = flow_dataflow_input (h->flow, "inp", source);
  const GError *error = flow_harness_run_error (h, s);
  g_autofree char *repr = NULL;

  g_assert_error (error, domain, code);
  g_assert_cmpstr (error->message, ==, message);
  repr = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (repr, ==, output);
}

static void
test_source_next_batch_fails (FlowHarness *h, gconstpointer data)
{
  run_bad_source (h, BAD_FAIL, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                  "input step 'test.inp' (partition '0') failed: the data is gone", "[1]");
}

static void
test_source_next_batch_not_array (FlowHarness *h, gconstpointer data)
{
  run_bad_source (h, BAD_NOT_ARRAY, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
                  "input step 'test.inp' (partition '0'): next_batch() must return an array "
                  "of items (such as av), not a i", "[1]");
}

static void
test_source_no_partitions (FlowHarness *h, gconstpointer data)
{
  run_bad_source (h, BAD_NO_PARTS, FLOW_ERROR, FLOW_ERROR_INVALID_FLOW,
                  "input step 'test.inp': the source has no partitions", "[]");
}

static void
test_source_list_parts_fails (FlowHarness *h, gconstpointer data)
{
  run_bad_source (h, BAD_LIST, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE,
                  "input step 'test.inp' failed to list its partitions: no route to the broker", "[]");
}

static void
test_source_build_fails (FlowHarness *h, gconstpointer data)
{
  run_bad_source (h, BAD_BUILD, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                  "input step 'test.inp' (partition '0') failed to start: cannot connect", "[]");
}

static void
test_sink_write_fails (gconstpointer data)
{
  gboolean with_error = GPOINTER_TO_INT (data);
  FlowDataflow *flow = flow_dataflow_new ("test");
  FlowTestingSource *source = flow_test_source_new_parse ("@ax [1, 2]");
  TestBadSink *sink = g_object_new (TEST_TYPE_BAD_SINK, NULL);
  g_autoptr(GError) error = NULL;

  sink->with_error = with_error;
  flow_stream_output (flow_dataflow_input (flow, "inp", FLOW_SOURCE (source)), "out", FLOW_SINK (sink));
  g_assert_false (flow_test_run (flow, &error));
  if (with_error)
    {
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
      g_assert_cmpstr (error->message, ==,
                       "output step 'test.out' (partition '0') failed to write: disk full");
    }
  else
    {
      g_assert_error (error, FLOW_ERROR, FLOW_ERROR_FAILED);
      g_assert_cmpstr (error->message, ==,
                       "output step 'test.out' (partition '0') failed to write: "
                       "write_batch() returned FALSE without an error");
    }

  g_assert_finalize_object (flow);
  g_assert_finalize_object (source);
  g_assert_finalize_object (sink);
}

/* ------------------------------------------------------------------------
 * Workers
 * ------------------------------------------------------------------------ */

static void
test_two_workers (FlowHarness *h, gconstpointer data)
{
  FlowRunner *runner;
  g_autoptr(GError) error = NULL;
  char *args[] = { (char *) "prog", (char *) "--workers", (char *) "2", NULL };
  g_auto(GStrv) argv = g_strdupv (args);
  g_autofree char *repr = NULL;

  flow_stream_output (flow_harness_input (h, "@ax [1, 2, 3]"), "out", FLOW_SINK (h->sink));
  runner = flow_runner_new (h->flow);
  g_assert_true (flow_runner_parse_args (runner, &argv, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (flow_runner_get_workers (runner), ==, 2);

  g_assert_true (flow_test_run_with (runner, &error));
  g_assert_no_error (error);
  repr = flow_test_sink_repr_sorted (h->sink);
  g_assert_cmpstr (repr, ==, "[1, 2, 3]");
  g_assert_finalize_object (runner);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* A failing check marks its test failed and the other tests still run. */
  g_test_set_nonfatal_assertions ();

  ADD ("/errors/build/valid", test_valid_flow);
  ADD ("/errors/build/duplicate-step-id", test_duplicate_step_id);
  ADD ("/errors/build/duplicate-input-id", test_duplicate_input_id);
  ADD ("/errors/build/step-id-with-dot", test_step_id_with_dot);
  ADD ("/errors/build/step-id-empty", test_step_id_empty);
  ADD ("/errors/build/step-id-null", test_step_id_null);
  ADD ("/errors/build/step-id-not-utf8", test_step_id_not_utf8);
  g_test_add_func ("/errors/build/dataflow-id", test_dataflow_id);
  g_test_add_func ("/errors/build/no-input", test_no_input);
  ADD ("/errors/build/no-output", test_no_output);
  ADD ("/errors/build/other-dataflow", test_other_dataflow);
  ADD ("/errors/build/other-dataflow-unary", test_other_dataflow_unary);
  ADD ("/errors/build/first-mistake-wins", test_first_mistake_wins);
  ADD ("/errors/build/collect-timeout", test_collect_bad_timeout);
  g_test_add_func ("/errors/build/orphan-stream", test_orphan_stream);
  ADD ("/errors/build/null-function", test_null_function);

  for (gsize i = 0; i < G_N_ELEMENTS (not_keyed_cases); i++)
    g_test_add (not_keyed_cases[i].path, FlowHarness, &not_keyed_cases[i],
                flow_harness_setup, test_not_keyed, flow_harness_teardown);
  ADD ("/errors/not-keyed/long-item", test_not_keyed_long_item);

  for (gsize i = 0; i < G_N_ELEMENTS (fail_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/errors/function/%s", fail_cases[i].name);
      g_test_add (path, FlowHarness, &fail_cases[i],
                  flow_harness_setup, test_function_error, flow_harness_teardown);
      if (fail_cases[i].null_message != NULL)
        {
          g_autofree char *null_path = g_strdup_printf ("/errors/function-null/%s", fail_cases[i].name);
          g_test_add (null_path, FlowHarness, &fail_cases[i],
                      flow_harness_setup, test_function_null, flow_harness_teardown);
        }
    }
  ADD ("/errors/function/stops-run", test_function_error_stops_run);
  ADD ("/errors/function/key-not-utf8", test_key_not_utf8);
  ADD ("/errors/function/count-key-not-utf8", test_count_key_not_utf8);

  ADD ("/errors/source/next-batch-fails", test_source_next_batch_fails);
  ADD ("/errors/source/next-batch-not-array", test_source_next_batch_not_array);
  ADD ("/errors/source/no-partitions", test_source_no_partitions);
  ADD ("/errors/source/list-parts-fails", test_source_list_parts_fails);
  ADD ("/errors/source/build-fails", test_source_build_fails);
  g_test_add_data_func ("/errors/sink/write-fails", GINT_TO_POINTER (TRUE), test_sink_write_fails);
  g_test_add_data_func ("/errors/sink/write-false", GINT_TO_POINTER (FALSE), test_sink_write_fails);

  ADD ("/errors/runner/two-workers", test_two_workers);

  return g_test_run ();
}
