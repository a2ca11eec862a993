/* test-metrics.c: FlowRunner's figures (flow_runner_get_metrics()) and its
 * rate-bounded ::progress signal, on the test clock
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gstdio.h>

#include "flow-test-utils.h"

#define ADD(path, func) \
  g_test_add (path, FlowHarness, NULL, flow_harness_setup, func, flow_harness_teardown)

static GVariant *
split_words (GVariant *item, gpointer data, GError **error)
{
  g_auto(GStrv) words = g_strsplit (g_variant_get_string (item, NULL), " ", -1);
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("as"));
  for (guint i = 0; words[i] != NULL; i++)
    g_variant_builder_add (&b, "s", words[i]);
  return g_variant_builder_end (&b);
}

static guint64
lookup_t (GVariant   *metrics,
          const char *key)
{
  guint64 value = G_MAXUINT64;

  if (!g_variant_lookup (metrics, key, "t", &value))
    g_error ("metrics have no '%s' (t): %s", key, g_variant_print (metrics, TRUE));
  return value;
}

static gboolean
lookup_b (GVariant   *metrics,
          const char *key)
{
  gboolean value = FALSE;

  if (!g_variant_lookup (metrics, key, "b", &value))
    g_error ("metrics have no '%s' (b)", key);
  return value;
}

/* The count of partition @name in the a{st} @what of @metrics. */
static guint64
part_count (GVariant   *metrics,
            const char *what,
            const char *name)
{
  g_autoptr(GVariant) parts = g_variant_lookup_value (metrics, what, G_VARIANT_TYPE ("a{st}"));
  guint64 count = G_MAXUINT64;

  g_assert_nonnull (parts);
  if (!g_variant_lookup (parts, name, "t", &count))
    {
      g_autofree char *shown = g_variant_print (parts, FALSE);
      g_error ("no partition '%s' in %s: %s", name, what, shown);
    }
  return count;
}

static void
test_metrics_before_run (FlowHarness *h, gconstpointer data)
{
  FlowRunner *runner;
  g_autoptr(GVariant) metrics = NULL;

  flow_stream_output (flow_harness_input (h, "@ax [1]"), "out", FLOW_SINK (h->sink));
  runner = flow_runner_new (h->flow);
  metrics = flow_runner_get_metrics (runner);
  g_assert_true (g_variant_is_of_type (metrics, G_VARIANT_TYPE_VARDICT));
  g_assert_false (g_variant_is_floating (metrics));
  g_assert_false (lookup_b (metrics, "running"));
  g_assert_false (g_variant_lookup (metrics, "items_read", "@a{st}", NULL));
  g_assert_finalize_object (runner);
}

static void
test_metrics_counts (FlowHarness *h, gconstpointer data)
{
  /* 3 lines of 4 words in, 12 words out. */
  FlowStream *s = flow_harness_input (h, "['a b c d', 'e f g h', 'i j k l']");
  FlowRunner *runner;
  g_autoptr(GVariant) metrics = NULL;
  g_autoptr(GVariant) again = NULL;
  g_autoptr(GVariant) read = NULL;
  const char *flow_id = NULL;

  flow_stream_output (flow_stream_flat_map (s, "split", split_words, NULL, NULL),
                      "out", FLOW_SINK (h->sink));
  runner = flow_runner_new (h->flow);
  g_assert_true (flow_test_run_with (runner, NULL));
  g_assert_cmpuint (flow_testing_sink_get_n_items (h->sink), ==, 12);

  metrics = flow_runner_get_metrics (runner);
  g_assert_false (lookup_b (metrics, "running"));
  g_assert_true (g_variant_lookup (metrics, "dataflow", "&s", &flow_id));
  g_assert_cmpstr (flow_id, ==, "test");
  /* One partition in, one out, keyed by full step id and partition key. */
  read = g_variant_lookup_value (metrics, "items_read", G_VARIANT_TYPE ("a{st}"));
  g_assert_cmpuint (g_variant_n_children (read), ==, 1);
  {
    const char *name;
    guint64 count;

    g_variant_get_child (read, 0, "{&st}", &name, &count);
    g_assert_true (g_str_has_prefix (name, "test.inp/"));
    g_assert_cmpuint (count, ==, 3);
  }
  {
    g_autoptr(GVariant) written = g_variant_lookup_value (metrics, "items_written", G_VARIANT_TYPE ("a{st}"));
    const char *name;
    guint64 count;

    g_assert_cmpuint (g_variant_n_children (written), ==, 1);
    g_variant_get_child (written, 0, "{&st}", &name, &count);
    g_assert_true (g_str_has_prefix (name, "test.out/"));
    g_assert_cmpuint (count, ==, 12);
  }
  /* One epoch (closed at the end), resumed from nothing, no recovery. */
  g_assert_cmpuint (lookup_t (metrics, "epochs_closed"), ==, 1);
  g_assert_cmpuint (lookup_t (metrics, "epoch"), ==, 2);
  g_assert_cmpuint (lookup_t (metrics, "resume_epoch"), ==, 0);
  g_assert_cmpuint (lookup_t (metrics, "last_commit_epoch"), ==, 0);
  g_assert_cmpuint (lookup_t (metrics, "last_commit_rows"), ==, 0);

  /* A second run counts afresh. */
  g_assert_true (flow_test_run_with (runner, NULL));
  again = flow_runner_get_metrics (runner);
  g_assert_cmpuint (part_count (again, "items_read", "test.inp/0"), ==, 3);
  g_assert_cmpuint (lookup_t (again, "epochs_closed"), ==, 1);
  g_assert_finalize_object (runner);
}

typedef struct
{
  FlowRunner *runner;
  GPtrArray  *reports;     /* GVariant*: the ::progress metrics */
  GArray     *clock_at;    /* gint64: the test clock at each report */
  GArray     *read_at_item; /* guint64: items read, seen by the map, per item */
} ProgressData;

static void
on_progress (FlowRunner *runner,
             GVariant   *metrics,
             gpointer    user_data)
{
  ProgressData *pd = user_data;
  gint64 now = flow_clock_get_monotonic (flow_test_clock ());
  g_autoptr(GVariant) current = flow_runner_get_metrics (runner);

  g_assert_true (g_variant_is_of_type (metrics, G_VARIANT_TYPE_VARDICT));
  /* The signal passes what get_metrics() says at that moment. */
  g_assert_cmpuint (lookup_t (metrics, "epochs_closed"), ==, lookup_t (current, "epochs_closed"));
  g_ptr_array_add (pd->reports, g_variant_ref (metrics));
  g_array_append_val (pd->clock_at, now);
}

static GVariant *
record_read (GVariant *item, gpointer data, GError **error)
{
  ProgressData *pd = data;
  g_autoptr(GVariant) metrics = flow_runner_get_metrics (pd->runner);
  g_autoptr(GVariant) read = g_variant_lookup_value (metrics, "items_read", G_VARIANT_TYPE ("a{st}"));
  guint64 count;

  /* Readable from inside the run. */
  g_assert_true (lookup_b (metrics, "running"));
  g_variant_get_child (read, 0, "{&st}", NULL, &count);
  g_array_append_val (pd->read_at_item, count);
  return g_variant_ref (item);
}

static void
test_progress_rate (FlowHarness *h, gconstpointer data)
{
  /* 21 items 0.03 s apart: 0.6 s of the run's clock, 20 pauses. */
  FlowStream *s = flow_harness_input (h, "@ax [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]");
  ProgressData pd = { NULL, };
  guint n;

  for (guint i = 1; i < 21; i++)
    flow_testing_source_add_marker (h->source, i, FLOW_TESTING_MARKER_PAUSE, 0.03);
  pd.reports = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  pd.clock_at = g_array_new (FALSE, FALSE, sizeof (gint64));
  pd.read_at_item = g_array_new (FALSE, FALSE, sizeof (guint64));
  pd.runner = flow_runner_new (h->flow);
  flow_stream_output (flow_stream_map (s, "rec", record_read, &pd, NULL), "out", FLOW_SINK (h->sink));
  g_signal_connect (pd.runner, "progress", G_CALLBACK (on_progress), &pd);
  g_assert_true (flow_test_run_with (pd.runner, NULL));

  n = pd.reports->len;
  g_test_message ("%u progress reports", n);
  /* About every 0.1 s of 0.6 s while running (never more often), and the
   * last one when it ended. */
  g_assert_cmpuint (n, >=, 4);
  g_assert_cmpuint (n, <=, 8);
  for (guint i = 0; i + 1 < n; i++)
    {
      GVariant *m = g_ptr_array_index (pd.reports, i);

      g_assert_true (lookup_b (m, "running"));
      if (i > 0)
        g_assert_cmpint (g_array_index (pd.clock_at, gint64, i) - g_array_index (pd.clock_at, gint64, i - 1),
                         >=, 100000);
    }
  {
    GVariant *last = g_ptr_array_index (pd.reports, n - 1);
    g_autoptr(GVariant) read = g_variant_lookup_value (last, "items_read", G_VARIANT_TYPE ("a{st}"));
    guint64 count;

    g_assert_false (lookup_b (last, "running"));
    g_variant_get_child (read, 0, "{&st}", NULL, &count);
    g_assert_cmpuint (count, ==, 21);
  }
  /* The counts grow with the run: the map saw 1, 2, ... items read. */
  g_assert_cmpuint (pd.read_at_item->len, ==, 21);
  for (guint i = 0; i < 21; i++)
    g_assert_cmpuint (g_array_index (pd.read_at_item, guint64, i), ==, i + 1);

  g_ptr_array_unref (pd.reports);
  g_array_unref (pd.clock_at);
  g_array_unref (pd.read_at_item);
  g_assert_finalize_object (pd.runner);
}

static char *
key_all (GVariant *item, gpointer data, GError **error)
{
  return g_strdup ("ALL");
}

static GVariant *
running_sum (GVariant *state, GVariant *value, GVariant **out, gpointer data, GError **error)
{
  gint64 sum = (state != NULL ? g_variant_get_int64 (state) : 0) + g_variant_get_int64 (value);

  *out = g_variant_new_int64 (sum);
  return g_variant_new_int64 (sum);
}

static void
on_committed (FlowRunner *runner, guint64 epoch, gpointer data)
{
  *(guint64 *) data = epoch;
}

static void
remove_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_remove (path);
    }
  g_rmdir (dir);
}

static void
test_metrics_commits (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3, 4]");
  g_autofree char *dir = g_dir_make_tmp ("flow-metrics-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) metrics = NULL;
  g_autoptr(GVariant) second = NULL;
  FlowRunner *runner;
  guint64 committed = 0, first_committed;

  g_assert_nonnull (dir);
  g_assert_true (flow_recovery_init_dir (dir, 2, &error));
  g_assert_no_error (error);
  flow_testing_source_add_marker (h->source, 2, FLOW_TESTING_MARKER_PAUSE, 0.25);
  s = flow_stream_key_on (s, "key", key_all, NULL, NULL);
  s = flow_stream_stateful_map (s, "sum", NULL, NULL, NULL, running_sum, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (h->sink));

  runner = flow_runner_new (h->flow);
  flow_runner_set_recovery_directory (runner, dir);
  flow_runner_set_snapshot_interval (runner, 0.1);
  g_signal_connect (runner, "snapshot-committed", G_CALLBACK (on_committed), &committed);
  g_assert_true (flow_test_run_with (runner, &error));
  g_assert_no_error (error);

  metrics = flow_runner_get_metrics (runner);
  g_assert_true (lookup_b (metrics, "recovery"));
  g_assert_cmpuint (committed, >, 1);
  g_assert_cmpuint (lookup_t (metrics, "last_commit_epoch"), ==, committed);
  g_assert_cmpuint (lookup_t (metrics, "epochs_closed"), ==, committed);
  /* The last commit has the input partition, the sink partition and the
   * key 'ALL' of the sum at least. */
  g_assert_cmpuint (lookup_t (metrics, "last_commit_rows"), >=, 2);
  {
    guint32 in_flight = 99;
    g_assert_true (g_variant_lookup (metrics, "commits_in_flight", "u", &in_flight));
    g_assert_cmpuint (in_flight, ==, 0);
  }

  /* Run again: it resumes where the first ended, and reads nothing new. */
  first_committed = committed;
  g_assert_true (flow_test_run_with (runner, &error));
  second = flow_runner_get_metrics (runner);
  g_assert_cmpuint (lookup_t (second, "resume_epoch"), ==, first_committed);
  g_assert_cmpuint (lookup_t (second, "last_commit_epoch"), ==, committed);
  {
    g_autoptr(GVariant) read = g_variant_lookup_value (second, "items_read", G_VARIANT_TYPE ("a{st}"));
    guint64 count;

    g_variant_get_child (read, 0, "{&st}", NULL, &count);
    g_assert_cmpuint (count, ==, 0);
  }

  g_assert_finalize_object (runner);
  remove_dir (dir);
}

/* ------------------------------------------------------------------------
 * The Prometheus endpoint, with a real HTTP client
 * ------------------------------------------------------------------------ */

typedef struct
{
  guint16       port;
  const char   *path;
  GMainContext *context;    /* woken when the response is in */
  char         *response;
  GError       *error;
  gint          done;
} HttpGet;

/* A plain HTTP/1.0 GET with GSocketClient, in a thread of its own while
 * the test's thread runs the flow's main context. */
static gpointer
http_get_thread (gpointer data)
{
  HttpGet *get = data;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;
  g_autofree char *request = g_strdup_printf ("GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", get->path);
  g_autoptr(GString) response = g_string_new (NULL);

  conn = g_socket_client_connect_to_host (client, "127.0.0.1", get->port, NULL, &get->error);
  if (conn != NULL &&
      g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)),
                                 request, strlen (request), NULL, NULL, &get->error))
    {
      GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
      char buf[4096];
      gssize n;

      while ((n = g_input_stream_read (in, buf, sizeof buf, NULL, &get->error)) > 0)
        g_string_append_len (response, buf, n);
    }
  get->response = g_string_free (g_steal_pointer (&response), FALSE);
  g_atomic_int_set (&get->done, 1);
  g_main_context_wakeup (get->context);
  return NULL;
}

/* GETs @path while the run goes on on @context; returns the response. */
static char *
http_get (GMainContext *context,
          guint16       port,
          const char   *path)
{
  HttpGet get = { port, path, context, NULL, NULL, 0 };
  GThread *thread = g_thread_new ("http-get", http_get_thread, &get);

  while (!g_atomic_int_get (&get.done))
    g_main_context_iteration (context, TRUE);
  g_thread_join (thread);
  g_assert_no_error (get.error);
  return get.response;
}

static guint64
items_read (FlowRunner *runner)
{
  g_autoptr(GVariant) metrics = flow_runner_get_metrics (runner);
  g_autoptr(GVariant) read = g_variant_lookup_value (metrics, "items_read", G_VARIANT_TYPE ("a{st}"));
  guint64 count = 0;

  if (read != NULL && g_variant_n_children (read) > 0)
    g_variant_get_child (read, 0, "{&st}", NULL, &count);
  return count;
}

static void
on_port (GObject *object, GParamSpec *pspec, gpointer data)
{
  (*(guint *) data)++;
}

static void
async_done (GObject *object, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

static void
test_prometheus_endpoint (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3]");
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(FlowClock) clock = flow_clock_new_test (G_GINT64_CONSTANT (1700000000000000));
  g_autoptr(GError) error = NULL;
  g_autofree char *ok = NULL;
  g_autofree char *missing = NULL;
  g_autofree char *expected = NULL;
  GAsyncResult *result = NULL;
  FlowRunner *runner;
  guint port, notified = 0;

  /* Two items, then the input waits for 30 s of a test clock that does
   * not move until the test says: the run stays in progress. */
  flow_clock_set_auto_advance (clock, FALSE);
  flow_testing_source_add_marker (h->source, 2, FLOW_TESTING_MARKER_PAUSE, 30.0);
  flow_stream_output (s, "out", FLOW_SINK (h->sink));
  runner = flow_runner_new (h->flow);
  flow_runner_set_clock (runner, clock);
  flow_runner_set_metrics_address (runner, "127.0.0.1:0");
  g_assert_cmpstr (flow_runner_get_metrics_address (runner), ==, "127.0.0.1:0");
  g_signal_connect (runner, "notify::metrics-port", G_CALLBACK (on_port), &notified);

  g_main_context_push_thread_default (context);
  flow_runner_run_async (runner, NULL, async_done, &result);
  port = flow_runner_get_metrics_port (runner);
  g_assert_cmpuint (port, >, 0);
  g_assert_cmpuint (notified, ==, 1);
  while (items_read (runner) < 2)
    g_main_context_iteration (context, TRUE);
  g_assert_true (flow_runner_get_running (runner));

  ok = http_get (context, port, "/metrics");
  g_test_message ("%s", ok);
  g_assert_true (g_str_has_prefix (ok, "HTTP/1.1 200 OK\r\n"));
  g_assert_nonnull (strstr (ok, "\r\nContent-Type: text/plain; version=0.0.4"));
  g_assert_nonnull (strstr (ok, "# TYPE flow_items_read_total counter\n"));
  g_assert_nonnull (strstr (ok, "\nflow_running{dataflow=\"test\"} 1\n"));
  g_assert_nonnull (strstr (ok, "\nflow_epoch{dataflow=\"test\"} 1\n"));
  expected = g_strdup ("\nflow_items_read_total{dataflow=\"test\",step_id=\"test.inp\",partition=\"0\"} 2\n");
  g_assert_nonnull (strstr (ok, expected));
  g_assert_nonnull (strstr (ok, "\nflow_items_written_total{dataflow=\"test\",step_id=\"test.out\",partition=\"0\"} 2\n"));

  missing = http_get (context, port, "/other");
  g_assert_true (g_str_has_prefix (missing, "HTTP/1.1 404 Not Found\r\n"));

  /* Let the pause pass: the run ends, and the endpoint with it. */
  flow_clock_advance (clock, 30 * G_USEC_PER_SEC);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  g_assert_true (flow_runner_run_finish (runner, result, &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_cmpuint (flow_runner_get_metrics_port (runner), ==, port);
  {
    g_autoptr(GSocketClient) client = g_socket_client_new ();
    g_autoptr(GSocketConnection) conn = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);

    g_assert_null (conn);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  }

  flow_runner_set_clock (runner, NULL);
  g_assert_finalize_object (runner);
}

static void
test_prometheus_bad_address (FlowHarness *h, gconstpointer data)
{
  static const char *bad[] = { "nowhere", "127.0.0.1:70000", "example.invalid:9090", "127.0.0.1:x" };
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *busy = NULL;
  FlowRunner *runner;
  guint16 port;

  flow_stream_output (flow_harness_input (h, "@ax [1]"), "out", FLOW_SINK (h->sink));
  runner = flow_runner_new (h->flow);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      flow_runner_set_metrics_address (runner, bad[i]);
      g_assert_false (flow_test_run_with (runner, &error));
      g_assert_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT);
      flow_test_assert_error_has (error, bad[i]);
      flow_test_assert_error_has (error, "dataflow 'test': metrics address");
      g_clear_error (&error);
    }
  /* Nothing ran. */
  g_assert_cmpuint (flow_testing_sink_get_n_items (h->sink), ==, 0);

  /* A port in use. */
  port = g_socket_listener_add_any_inet_port (listener, NULL, &error);
  g_assert_no_error (error);
  busy = g_strdup_printf ("127.0.0.1:%u", port);
  flow_runner_set_metrics_address (runner, busy);
  g_assert_false (flow_test_run_with (runner, &error));
  flow_test_assert_error_has (error, "cannot listen");
  g_clear_error (&error);

  /* The option sets the property. */
  {
    g_auto(GStrv) args = g_strsplit ("prog --metrics-address 127.0.0.1:0", " ", -1);

    g_assert_true (flow_runner_parse_args (runner, &args, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (flow_runner_get_metrics_address (runner), ==, "127.0.0.1:0");
    g_assert_cmpuint (g_strv_length (args), ==, 1);
  }
  g_assert_true (flow_test_run_with (runner, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (flow_runner_get_metrics_port (runner), >, 0);
  g_assert_finalize_object (runner);
}

/* ------------------------------------------------------------------------
 * Structured logs
 * ------------------------------------------------------------------------ */

/* Prints each line of the Flow domain as "MESSAGE | FLOW_DATAFLOW | FLOW_STEP". */
static GLogWriterOutput
print_flow_fields (GLogLevelFlags   level,
                   const GLogField *fields,
                   gsize            n_fields,
                   gpointer         user_data)
{
  const char *domain = NULL, *message = NULL, *flow_id = "-", *step = "-";

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
        domain = fields[i].value;
      else if (g_str_equal (fields[i].key, "MESSAGE"))
        message = fields[i].value;
      else if (g_str_equal (fields[i].key, "FLOW_DATAFLOW"))
        flow_id = fields[i].value;
      else if (g_str_equal (fields[i].key, "FLOW_STEP"))
        step = fields[i].value;
    }
  if (g_strcmp0 (domain, "Flow") == 0 && message != NULL)
    g_print ("%s | %s | %s\n", message, flow_id, step);
  return G_LOG_WRITER_HANDLED;
}

static void
test_structured_logs (FlowHarness *h, gconstpointer data)
{
  if (g_test_subprocess ())
    {
      g_autofree char *dir = g_dir_make_tmp ("flow-logs-XXXXXX", NULL);
      FlowRunner *runner;

      g_log_set_writer_func (print_flow_fields, NULL, NULL);
      g_assert_true (flow_recovery_init_dir (dir, 1, NULL));
      flow_stream_output (flow_harness_input (h, "@ax [1, 2, 3]"), "out", FLOW_SINK (h->sink));
      flow_testing_source_add_marker (h->source, 2, FLOW_TESTING_MARKER_ABORT, 0);
      runner = flow_runner_new (h->flow);
      flow_runner_set_recovery_directory (runner, dir);
      flow_runner_set_snapshot_interval (runner, 0);
      g_assert_false (flow_test_run_with (runner, NULL));
      g_assert_finalize_object (runner);
      remove_dir (dir);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  /* One line per epoch close and commit, and one for the error, which
   * names the input step in FLOW_STEP. */
  g_test_trap_assert_stdout ("*epoch 1 closed: committing * rows | test | -\n"
                             "*epoch 1 committed: * rows in * s | test | -\n*"
                             "run of 'test' failed: input step 'test.inp': *ABORT* | test | test.inp\n*");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  ADD ("/metrics/before-run", test_metrics_before_run);
  ADD ("/metrics/counts", test_metrics_counts);
  ADD ("/metrics/progress-rate", test_progress_rate);
  ADD ("/metrics/commits", test_metrics_commits);
  ADD ("/metrics/prometheus/endpoint", test_prometheus_endpoint);
  ADD ("/metrics/prometheus/bad-address", test_prometheus_bad_address);
  ADD ("/metrics/logs", test_structured_logs);

  return g_test_run ();
}
