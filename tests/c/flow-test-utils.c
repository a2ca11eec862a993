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

/* The workers of the harness's runs (0: the runner's). */
static guint harness_workers;

/* Runs @runner and checks that it is idle afterwards. */
gboolean
flow_test_run_with (FlowRunner  *runner,
                    GError     **error)
{
  gboolean ok;

  if (harness_workers > 0)
    flow_runner_set_workers (runner, harness_workers);
  ok = flow_runner_run_with_test_clock (runner, flow_test_clock (), NULL, error);

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
  h->resets = g_ptr_array_new ();
}

void
flow_harness_reset_count (FlowHarness *h,
                          guint       *count)
{
  g_ptr_array_add (h->resets, count);
  g_ptr_array_add (h->resets, NULL);
}

void
flow_harness_reset_array (FlowHarness *h,
                          GPtrArray   *array)
{
  g_ptr_array_add (h->resets, NULL);
  g_ptr_array_add (h->resets, array);
}

char *
flow_harness_expected_stdout (const char *text)
{
  return flow_test_harness_workers () > 1 ? g_strconcat (text, text, NULL) : g_strdup (text);
}

/* Before the last run of the harness: the sinks and counts of the test
 * start again. */
static void
harness_reset (FlowHarness *h)
{
  flow_testing_sink_clear (h->sink);
  for (guint i = 0; i < h->extra->len; i++)
    if (FLOW_IS_TESTING_SINK (g_ptr_array_index (h->extra, i)))
      flow_testing_sink_clear (g_ptr_array_index (h->extra, i));
  for (guint i = 0; i + 1 < h->resets->len; i += 2)
    {
      guint *count = g_ptr_array_index (h->resets, i);
      GPtrArray *array = g_ptr_array_index (h->resets, i + 1);

      if (count != NULL)
        *count = 0;
      if (array != NULL)
        g_ptr_array_set_size (array, 0);
    }
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
  g_ptr_array_unref (h->resets);
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

/* FLOW_TEST_WORKERS=N (N > 1): every run of the harness runs with N
 * workers too, first, and must give the same output as with one worker up
 * to the order between keys: the same multiset of items, in the same order
 * for each key (the items of a keyed `(sv)` tuple share its key; the order
 * of other items is not compared). The 1-worker run is the last, so the
 * sink holds its output. */
guint
flow_test_harness_workers (void)
{
  const char *env = g_getenv ("FLOW_TEST_WORKERS");

  return env != NULL ? (guint) g_ascii_strtoull (env, NULL, 10) : 1;
}

static char *
item_key (FlowTestingSink *sink,
          guint            i)
{
  g_autoptr(GVariant) item = flow_testing_sink_get_item (sink, i);

  if (g_variant_is_of_type (item, G_VARIANT_TYPE ("(sv)")))
    {
      g_autoptr(GVariant) key = g_variant_get_child_value (item, 0);
      return g_variant_dup_string (key, NULL);
    }
  return NULL;
}

/* Per key, the reprs in order; unkeyed items under "" sorted. */
static GHashTable *
group_by_key (FlowTestingSink *sink)
{
  g_auto(GStrv) reprs = flow_test_sink_reprs (sink);
  GHashTable *groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                              (GDestroyNotify) g_ptr_array_unref);
  GPtrArray *unkeyed;

  for (guint i = 0; reprs[i] != NULL; i++)
    {
      char *key = item_key (sink, i);
      char *group = key != NULL ? g_strconcat ("k:", key, NULL) : g_strdup ("");
      GPtrArray *list = g_hash_table_lookup (groups, group);

      g_free (key);
      if (list == NULL)
        {
          list = g_ptr_array_new_with_free_func (g_free);
          g_hash_table_insert (groups, g_strdup (group), list);
        }
      g_ptr_array_add (list, g_strdup (reprs[i]));
      g_free (group);
    }
  unkeyed = g_hash_table_lookup (groups, "");
  if (unkeyed != NULL)
    g_ptr_array_sort (unkeyed, compare_strings);
  return groups;
}

static void
assert_same_per_key (GHashTable *expected,
                     GHashTable *got,
                     guint       workers)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, expected);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      GPtrArray *want = value;
      GPtrArray *have = g_hash_table_lookup (got, key);
      g_autofree char *want_s = NULL;
      g_autofree char *have_s = NULL;

      g_ptr_array_add (want, NULL);
      want_s = g_strjoinv (", ", (char **) want->pdata);
      g_ptr_array_remove_index (want, want->len - 1);
      if (have != NULL)
        {
          g_ptr_array_add (have, NULL);
          have_s = g_strjoinv (", ", (char **) have->pdata);
          g_ptr_array_remove_index (have, have->len - 1);
        }
      if (g_strcmp0 (want_s, have_s) != 0)
        g_error ("with %u workers, the items of %s%s are [%s], with 1 worker [%s]",
                 workers, *(char *) key ? "key " : "unkeyed items",
                 *(char *) key ? (char *) key + 2 : "", have_s ? have_s : "", want_s);
    }
  g_assert_cmpuint (g_hash_table_size (got), ==, g_hash_table_size (expected));
}

char *
flow_harness_run (FlowHarness *h,
                  FlowStream  *stream)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) with_workers = NULL;
  g_autoptr(GHashTable) with_one = NULL;
  guint workers = flow_test_harness_workers ();

  g_assert_nonnull (stream);
  flow_stream_output (stream, "out", FLOW_SINK (h->sink));
  if (workers > 1)
    {
      harness_workers = workers;
      flow_test_run (h->flow, &error);
      harness_workers = 0;
      g_assert_no_error (error);
      with_workers = group_by_key (h->sink);
      harness_reset (h);
    }
  harness_workers = 1;
  flow_test_run (h->flow, &error);
  harness_workers = 0;
  g_assert_no_error (error);
  if (with_workers != NULL)
    {
      with_one = group_by_key (h->sink);
      assert_same_per_key (with_one, with_workers, workers);
    }
  return flow_test_sink_repr (h->sink);
}

const GError *
flow_harness_run_error (FlowHarness *h,
                        FlowStream  *stream)
{
  guint workers = flow_test_harness_workers ();

  g_assert_nonnull (stream);
  g_clear_error (&h->error);
  flow_stream_output (stream, "out", FLOW_SINK (h->sink));
  if (workers > 1)
    {
      /* The same error (domain and code) with N workers. */
      harness_workers = workers;
      g_assert_false (flow_test_run (h->flow, &h->error));
      harness_workers = 0;
      g_assert_nonnull (h->error);
      harness_reset (h);
    }
  if (h->error != NULL)
    {
      GQuark domain = h->error->domain;
      int code = h->error->code;

      g_clear_error (&h->error);
      harness_workers = 1;
      g_assert_false (flow_test_run (h->flow, &h->error));
      harness_workers = 0;
      g_assert_nonnull (h->error);
      if (h->error != NULL)
        g_assert_error (h->error, domain, code);
    }
  else
    {
      harness_workers = 1;
      g_assert_false (flow_test_run (h->flow, &h->error));
      harness_workers = 0;
    }
  g_assert_nonnull (h->error);
  /* With non-fatal assertions the test goes on: give it an error to look
   * at, which matches nothing it expects. */
  if (h->error == NULL)
    h->error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "(the run did not fail)");
  return h->error;
}
