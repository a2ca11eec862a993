/* flow-test-utils.c: helpers shared by the C tests of libflow
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <gio/gio.h>

#include "flow-test-utils.h"

/* Parses GVariant text; the test fails on a syntax error. Returns a full,
 * non-floating reference (as g_variant_parse() does). */
GVariant *
flow_test_parse (const char *text)
{
  g_autoptr(GError) error = NULL;
  GVariant *value = g_variant_parse (NULL, text, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (value);
  g_assert_false (g_variant_is_floating (value));
  return value;
}

char *
flow_test_repr_text (const char *text)
{
  g_autoptr(GVariant) value = flow_test_parse (text);

  return flow_item_repr (value);
}

FlowTestingSource *
flow_test_source_new_int64 (const gint64 *values,
                            gsize         n_values)
{
  return flow_testing_source_new (g_variant_new_fixed_array (G_VARIANT_TYPE_INT64,
                                                             values, n_values,
                                                             sizeof (gint64)));
}

FlowTestingSource *
flow_test_source_new_parse (const char *text)
{
  g_autoptr(GVariant) items = flow_test_parse (text);

  g_assert_true (g_variant_is_of_type (items, G_VARIANT_TYPE_ARRAY));
  return flow_testing_source_new (items);
}

/* The items of @sink as one list, the way Python prints a list of them. */
char *
flow_test_sink_repr (FlowTestingSink *sink)
{
  g_autoptr(GVariant) items = flow_testing_sink_get_items (sink);

  return flow_item_repr (items);
}

char **
flow_test_sink_reprs (FlowTestingSink *sink)
{
  guint n = flow_testing_sink_get_n_items (sink);
  char **reprs = g_new0 (char *, n + 1);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GVariant) item = flow_testing_sink_get_item (sink, i);
      reprs[i] = flow_item_repr (item);
    }
  return reprs;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

/* For outputs whose order between inputs is not defined (merge, several
 * partitions): the reprs sorted as strings, joined like a list. */
char *
flow_test_sink_repr_sorted (FlowTestingSink *sink)
{
  g_auto(GStrv) reprs = flow_test_sink_reprs (sink);
  g_autofree char *joined = NULL;

  qsort (reprs, g_strv_length (reprs), sizeof (char *), compare_strings);
  joined = g_strjoinv (", ", reprs);
  return g_strdup_printf ("[%s]", joined);
}

/* Runs @runner and checks that it is idle afterwards. */
gboolean
flow_test_run_with (FlowRunner  *runner,
                    GError     **error)
{
  gboolean ok = flow_runner_run_with_test_clock (runner, flow_test_clock (), NULL, error);

  g_assert_false (flow_runner_get_running (runner));
  if (ok)
    g_assert_true (error == NULL || *error == NULL);
  else
    g_assert_true (error == NULL || *error != NULL);
  return ok;
}

FlowClock *
flow_test_clock (void)
{
  static FlowClock *clock;

  if (clock == NULL)
    clock = flow_clock_new_test (G_GINT64_CONSTANT (1700000000000000));
  return clock;
}

/* Runs @flow once with a new runner, which must not outlive the run. */
gboolean
flow_test_run (FlowDataflow  *flow,
               GError       **error)
{
  FlowRunner *runner = flow_runner_new (flow);
  gboolean ok = flow_test_run_with (runner, error);

  g_assert_finalize_object (runner);
  return ok;
}

/* ------------------------------------------------------------------------
 * The one-operator harness
 * ------------------------------------------------------------------------ */

void
flow_harness_setup (FlowHarness   *h,
                    gconstpointer  data)
{
  h->flow = flow_dataflow_new ("test");
  h->sink = flow_testing_sink_new ();
  h->source = NULL;
  h->input = NULL;
  h->error = NULL;
  h->extra = g_ptr_array_new ();
}

void
flow_harness_teardown (FlowHarness   *h,
                       gconstpointer  data)
{
  g_clear_error (&h->error);
  /* The dataflow holds the source and the sink; nothing else may. */
  g_assert_finalize_object (h->flow);
  if (h->source != NULL)
    g_assert_finalize_object (h->source);
  g_assert_finalize_object (h->sink);
  for (guint i = 0; i < h->extra->len; i++)
    g_assert_finalize_object (g_ptr_array_index (h->extra, i));
  g_ptr_array_unref (h->extra);
}

gpointer
flow_harness_track (FlowHarness *h,
                    gpointer     object)
{
  g_assert_true (G_IS_OBJECT (object));
  g_ptr_array_add (h->extra, object);
  return object;
}

FlowStream *
flow_harness_input (FlowHarness *h,
                    const char  *text)
{
  g_assert_null (h->source);
  h->source = flow_test_source_new_parse (text);
  h->input = flow_dataflow_input (h->flow, "inp", FLOW_SOURCE (h->source));
  g_assert_nonnull (h->input);
  return h->input;
}

char *
flow_harness_run (FlowHarness *h,
                  FlowStream  *stream)
{
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (stream);
  flow_stream_output (stream, "out", FLOW_SINK (h->sink));
  flow_test_run (h->flow, &error);
  g_assert_no_error (error);
  return flow_test_sink_repr (h->sink);
}

const GError *
flow_harness_run_error (FlowHarness *h,
                        FlowStream  *stream)
{
  g_assert_nonnull (stream);
  g_clear_error (&h->error);
  flow_stream_output (stream, "out", FLOW_SINK (h->sink));
  g_assert_false (flow_test_run (h->flow, &h->error));
  g_assert_nonnull (h->error);
  /* With non-fatal assertions the test goes on: give it an error to look
   * at, which matches nothing it expects. */
  if (h->error == NULL)
    h->error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "(the run did not fail)");
  return h->error;
}
