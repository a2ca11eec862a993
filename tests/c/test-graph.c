/* test-graph.c: the shape of a dataflow: what makes it complete, nested
 * operators, and its description (flow_dataflow_describe(), DOT, Mermaid)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "flow-test-utils.h"

static void
collect_inspected (const char  *step_id,
                   GVariant    *item,
                   gpointer     user_data,
                   GError     **error)
{
  GPtrArray *seen = user_data;

  g_ptr_array_add (seen, g_strdup_printf ("%s: %" G_GINT64_FORMAT, step_id,
                                          g_variant_get_int64 (item)));
}

/* A dataflow whose only effect is an inspect step runs (as in Bytewax). */
static void
test_inspect_only_runs (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  const gint64 values[] = { 1, 2, 3 };
  FlowDataflow *flow = flow_dataflow_new ("df");
  FlowTestingSource *source = flow_test_source_new_int64 (values, G_N_ELEMENTS (values));

  flow_stream_inspect (flow_dataflow_input (flow, "inp", FLOW_SOURCE (source)),
                       "look", collect_inspected, seen, NULL);
  g_assert_true (flow_dataflow_check (flow, &error));
  g_assert_no_error (error);
  g_assert_true (flow_test_run (flow, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (seen->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (seen, 0), ==, "df.look: 1");
  g_assert_cmpstr (g_ptr_array_index (seen, 2), ==, "df.look: 3");

  g_assert_finalize_object (flow);
  g_assert_finalize_object (source);
}

/* A dataflow without any effect is still refused, with a clear message. */
static void
test_no_effect_is_refused (void)
{
  g_autoptr(GError) error = NULL;
  const gint64 values[] = { 1 };
  FlowDataflow *flow = flow_dataflow_new ("df");
  FlowTestingSource *source = flow_test_source_new_int64 (values, G_N_ELEMENTS (values));

  flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  g_assert_false (flow_dataflow_check (flow, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INCOMPLETE_FLOW);
  g_assert_cmpstr (error->message, ==,
                   "dataflow 'df' needs at least one output or inspect step: it has none, so its results would go nowhere");
  g_clear_error (&error);
  g_assert_false (flow_test_run (flow, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INCOMPLETE_FLOW);

  g_assert_finalize_object (flow);
  g_assert_finalize_object (source);
}

static GVariant *
add_one (GVariant  *item,
         gpointer   user_data,
         GError   **error)
{
  return g_variant_new_int64 (g_variant_get_int64 (item) + 1);
}

/* inp -> op(m -> inner(m)) -> out: a nested operator within a nested
 * operator, with the same substep id at two levels. */
static FlowDataflow *
build_nested (FlowTestingSource **source,
              FlowTestingSink   **sink)
{
  const gint64 values[] = { 1, 2 };
  FlowDataflow *flow = flow_dataflow_new ("df");
  FlowStream *s;

  *source = flow_test_source_new_int64 (values, G_N_ELEMENTS (values));
  *sink = flow_testing_sink_new ();
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (*source));
  flow_dataflow_begin_operator (flow, "op", "add_two");
  flow_dataflow_add_operator_input (flow, "up", s);
  s = flow_stream_map (s, "m", add_one, NULL, NULL);
  flow_dataflow_begin_operator (flow, "inner", "add_one");
  flow_dataflow_add_operator_input (flow, "up", s);
  s = flow_stream_map (s, "m", add_one, NULL, NULL);
  flow_dataflow_add_operator_output (flow, "down", s);
  flow_dataflow_end_operator (flow);
  flow_dataflow_add_operator_output (flow, "down", s);
  flow_dataflow_end_operator (flow);
  flow_stream_output (s, "out", FLOW_SINK (*sink));
  return flow;
}

static void
test_nested_ids_and_run (void)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) ids = NULL;
  g_autofree char *out = NULL;
  FlowTestingSource *source;
  FlowTestingSink *sink;
  FlowDataflow *flow = build_nested (&source, &sink);
  const char *expected[] = { "df.inp", "df.op.m", "df.op.inner.m", "df.out", NULL };

  ids = flow_dataflow_list_steps (flow);
  g_assert_cmpstrv (ids, expected);
  g_assert_true (flow_dataflow_check (flow, &error));
  g_assert_no_error (error);
  g_assert_true (flow_test_run (flow, &error));
  g_assert_no_error (error);
  out = flow_test_sink_repr (sink);
  g_assert_cmpstr (out, ==, "[3, 4]");

  g_assert_finalize_object (flow);
  g_assert_finalize_object (source);
  g_assert_finalize_object (sink);
}

static void
assert_build_error (FlowDataflow *flow,
                    gint          code,
                    const char   *message)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (flow_dataflow_check (flow, &error));
  g_assert_error (error, FLOW_ERROR, code);
  g_assert_cmpstr (error->message, ==, message);
}

static void
test_nested_mistakes (void)
{
  const gint64 values[] = { 1 };
  FlowTestingSource *source = flow_test_source_new_int64 (values, 1);
  FlowTestingSink *sink = flow_testing_sink_new ();
  FlowDataflow *flow;
  FlowStream *s;

  /* The same id twice at one level: a step and a nested operator. */
  flow = flow_dataflow_new ("df");
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  flow_dataflow_begin_operator (flow, "inp", "my_op");
  flow_dataflow_end_operator (flow);
  assert_build_error (flow, FLOW_ERROR_DUPLICATE_STEP_ID,
                      "step id 'df.inp' is used twice in dataflow 'df' (by a input and a my_op step)");
  g_assert_finalize_object (flow);

  /* A nested operator's id with a dot. */
  flow = flow_dataflow_new ("df");
  flow_dataflow_begin_operator (flow, "a.b", "my_op");
  flow_dataflow_end_operator (flow);
  assert_build_error (flow, FLOW_ERROR_INVALID_STEP_ID,
                      "my_op 'df.a.b': step id 'a.b' must not contain '.'");
  g_assert_finalize_object (flow);

  /* Begun, never ended: the flow is incomplete. */
  flow = flow_dataflow_new ("df");
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  flow_dataflow_begin_operator (flow, "op", "my_op");
  flow_stream_output (s, "out", FLOW_SINK (sink));
  assert_build_error (flow, FLOW_ERROR_INCOMPLETE_FLOW,
                      "nested operator 'df.op' was begun and not ended "
                      "(flow_dataflow_end_operator() is missing)");
  g_assert_finalize_object (flow);

  /* Ended, never begun; a port outside any operator. */
  flow = flow_dataflow_new ("df");
  flow_dataflow_end_operator (flow);
  assert_build_error (flow, FLOW_ERROR_INVALID_FLOW,
                      "dataflow 'df': an operator was ended that was not begun");
  g_assert_finalize_object (flow);

  flow = flow_dataflow_new ("df");
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  flow_dataflow_add_operator_input (flow, "up", s);
  assert_build_error (flow, FLOW_ERROR_INVALID_FLOW,
                      "dataflow 'df': an operator input port 'up' was declared outside "
                      "any nested operator");
  g_assert_finalize_object (flow);

  g_assert_finalize_object (source);
  g_assert_finalize_object (sink);
}

static void
test_describe (void)
{
  g_autoptr(GVariant) desc = NULL;
  g_autoptr(GVariant) steps = NULL;
  g_autoptr(GVariant) step = NULL;
  g_autoptr(GVariant) ports = NULL;
  const char *s;
  gboolean core;
  FlowTestingSource *source;
  FlowTestingSink *sink;
  FlowDataflow *flow = build_nested (&source, &sink);

  desc = flow_dataflow_describe (flow);
  g_assert_false (g_variant_is_floating (desc));
  g_assert_true (g_variant_is_of_type (desc, G_VARIANT_TYPE_VARDICT));
  g_assert_true (g_variant_lookup (desc, "id", "&s", &s));
  g_assert_cmpstr (s, ==, "df");
  steps = g_variant_lookup_value (desc, "steps", G_VARIANT_TYPE ("aa{sv}"));
  g_assert_nonnull (steps);
  /* inp, op, op.m, op.inner, op.inner.m, out */
  g_assert_cmpuint (g_variant_n_children (steps), ==, 6);

  /* The nested operator "op", before its substeps. */
  step = g_variant_get_child_value (steps, 1);
  g_assert_true (g_variant_lookup (step, "id", "&s", &s));
  g_assert_cmpstr (s, ==, "df.op");
  g_assert_true (g_variant_lookup (step, "name", "&s", &s));
  g_assert_cmpstr (s, ==, "op");
  g_assert_true (g_variant_lookup (step, "type", "&s", &s));
  g_assert_cmpstr (s, ==, "add_two");
  g_assert_true (g_variant_lookup (step, "parent", "&s", &s));
  g_assert_cmpstr (s, ==, "");
  g_assert_true (g_variant_lookup (step, "core", "b", &core));
  g_assert_false (core);
  ports = g_variant_lookup_value (step, "inputs", G_VARIANT_TYPE ("a(ssas)"));
  g_assert_nonnull (ports);
  {
    g_autofree char *text = g_variant_print (ports, FALSE);
    g_assert_cmpstr (text, ==, "[('up', 'df.op.up', ['df.inp.down'])]");
  }
  g_clear_pointer (&ports, g_variant_unref);
  ports = g_variant_lookup_value (step, "outputs", G_VARIANT_TYPE ("a(ssas)"));
  {
    g_autofree char *text = g_variant_print (ports, FALSE);
    g_assert_cmpstr (text, ==, "[('down', 'df.op.down', ['df.op.inner.m.down'])]");
  }
  g_clear_pointer (&ports, g_variant_unref);
  g_clear_pointer (&step, g_variant_unref);

  /* The core step "m" of "inner". */
  step = g_variant_get_child_value (steps, 4);
  g_assert_true (g_variant_lookup (step, "id", "&s", &s));
  g_assert_cmpstr (s, ==, "df.op.inner.m");
  g_assert_true (g_variant_lookup (step, "type", "&s", &s));
  g_assert_cmpstr (s, ==, "map");
  g_assert_true (g_variant_lookup (step, "parent", "&s", &s));
  g_assert_cmpstr (s, ==, "df.op.inner");
  g_assert_true (g_variant_lookup (step, "core", "b", &core));
  g_assert_true (core);
  ports = g_variant_lookup_value (step, "inputs", G_VARIANT_TYPE ("a(ssas)"));
  {
    g_autofree char *text = g_variant_print (ports, FALSE);
    g_assert_cmpstr (text, ==, "[('up', 'df.op.inner.m.up', ['df.op.m.down'])]");
  }

  g_assert_finalize_object (flow);
  g_assert_finalize_object (source);
  g_assert_finalize_object (sink);
}

static gboolean
is_odd (GVariant  *item,
        gpointer   user_data,
        GError   **error)
{
  return g_variant_get_int64 (item) % 2 != 0;
}

/* Bytewax's test_visualize.py::test_to_mermaid_multistream_inp, plus a
 * branch and a nested operator. */
static void
test_mermaid (void)
{
  g_autofree char *text = NULL;
  const gint64 values[] = { 1 };
  FlowTestingSource *ones = flow_test_source_new_int64 (values, 1);
  FlowTestingSource *twos = flow_test_source_new_int64 (values, 1);
  FlowTestingSink *sink = flow_testing_sink_new ();
  FlowDataflow *flow = flow_dataflow_new ("test_df");
  FlowStream *a = flow_dataflow_input (flow, "ones", FLOW_SOURCE (ones));
  FlowStream *b = flow_dataflow_input (flow, "twos", FLOW_SOURCE (twos));
  FlowStream *s, *odd, *even;

  s = flow_stream_merge (a, "merge", &b, 1);
  flow_dataflow_begin_operator (flow, "split", "split_odd");
  flow_dataflow_add_operator_input (flow, "up", s);
  flow_stream_branch (s, "branch", is_odd, NULL, NULL, &odd, &even);
  flow_dataflow_add_operator_output (flow, "odds", odd);
  flow_dataflow_add_operator_output (flow, "evens", even);
  flow_dataflow_end_operator (flow);
  flow_stream_output (odd, "out", FLOW_SINK (sink));

  text = flow_dataflow_to_mermaid (flow);
  g_assert_cmpstr (text, ==,
                   "flowchart TD\n"
                   "subgraph \"test_df (Dataflow)\"\n"
                   "test_df.ones[\"ones (input)\"]\n"
                   "test_df.twos[\"twos (input)\"]\n"
                   "test_df.merge[\"merge (merge)\"]\n"
                   "test_df.ones -- \"down → ups\" --> test_df.merge\n"
                   "test_df.twos -- \"down → ups\" --> test_df.merge\n"
                   "test_df.split[\"split (split_odd)\"]\n"
                   "test_df.merge -- \"down → up\" --> test_df.split\n"
                   "test_df.out[\"out (output)\"]\n"
                   "test_df.split -- \"odds → up\" --> test_df.out\n"
                   "end");

  g_assert_finalize_object (flow);
  g_assert_finalize_object (ones);
  g_assert_finalize_object (twos);
  g_assert_finalize_object (sink);
}

static const char nested_dot[] =
  "digraph \"df\" {\n"
  "  label=\"df (Dataflow)\";\n"
  "  node [shape=box];\n"
  "  \"df.inp\" [label=\"inp (input)\"];\n"
  "  subgraph \"cluster_df.op\" {\n"
  "    label=\"op (add_two)\";\n"
  "    \"df.op.m\" [label=\"m (map)\"];\n"
  "    subgraph \"cluster_df.op.inner\" {\n"
  "      label=\"inner (add_one)\";\n"
  "      \"df.op.inner.m\" [label=\"m (map)\"];\n"
  "    }\n"
  "  }\n"
  "  \"df.out\" [label=\"out (output)\"];\n"
  "  \"df.inp\" -> \"df.op.m\" [label=\"down → up\"];\n"
  "  \"df.op.m\" -> \"df.op.inner.m\" [label=\"down → up\"];\n"
  "  \"df.op.inner.m\" -> \"df.out\" [label=\"down → up\"];\n"
  "}\n";

static void
test_dot (void)
{
  g_autofree char *text = NULL;
  FlowTestingSource *source;
  FlowTestingSink *sink;
  FlowDataflow *flow = build_nested (&source, &sink);

  text = flow_dataflow_to_dot (flow);
  g_assert_cmpstr (text, ==, nested_dot);

  g_assert_finalize_object (flow);
  g_assert_finalize_object (source);
  g_assert_finalize_object (sink);
}

/* FLOW_DEBUG_DUMP_DOT_DIR: every run writes its graph there. */
static void
test_debug_dump (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_build_filename (g_get_user_cache_dir (), "dots", NULL);
  g_autoptr(GDir) listing = NULL;
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  const char *name;
  FlowTestingSource *source;
  FlowTestingSink *sink;
  FlowDataflow *flow = build_nested (&source, &sink);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_setenv ("FLOW_DEBUG_DUMP_DOT_DIR", dir, TRUE);
  g_assert_true (flow_test_run (flow, &error));
  g_assert_no_error (error);
  g_unsetenv ("FLOW_DEBUG_DUMP_DOT_DIR");

  listing = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);
  name = g_dir_read_name (listing);
  g_assert_nonnull (name);
  g_assert_true (g_str_has_suffix (name, "-df.dot"));
  path = g_build_filename (dir, name, NULL);
  g_assert_null (g_dir_read_name (listing));   /* one run, one file */
  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_cmpstr (contents, ==, nested_dot);

  g_assert_finalize_object (flow);
  g_assert_finalize_object (source);
  g_assert_finalize_object (sink);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/graph/complete/inspect-only-runs", test_inspect_only_runs);
  g_test_add_func ("/graph/complete/no-effect-is-refused", test_no_effect_is_refused);
  g_test_add_func ("/graph/nested/ids-and-run", test_nested_ids_and_run);
  g_test_add_func ("/graph/nested/mistakes", test_nested_mistakes);
  g_test_add_func ("/graph/describe", test_describe);
  g_test_add_func ("/graph/mermaid", test_mermaid);
  g_test_add_func ("/graph/dot", test_dot);
  g_test_add_func ("/graph/debug-dump", test_debug_dump);

  return g_test_run ();
}
