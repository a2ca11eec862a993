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
                   "dataflow 'df' has no output or inspect step: its results would go nowhere");
  g_clear_error (&error);
  g_assert_false (flow_test_run (flow, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INCOMPLETE_FLOW);

  g_assert_finalize_object (flow);
  g_assert_finalize_object (source);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/graph/complete/inspect-only-runs", test_inspect_only_runs);
  g_test_add_func ("/graph/complete/no-effect-is-refused", test_no_effect_is_refused);

  return g_test_run ();
}
