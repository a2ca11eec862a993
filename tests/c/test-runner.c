/* test-runner.c: FlowRunner: run, run_async in a main loop, cancellation,
 * re-runs, signals and properties, polling without busy-looping, and the
 * command line
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>

#include "flow-test-utils.h"

#define ADD(path, func) \
  g_test_add (path, FlowHarness, NULL, flow_harness_setup, func, flow_harness_teardown)

static GVariant *
identity (GVariant *item, gpointer data, GError **error)
{
  return g_variant_ref (item);
}

/* ------------------------------------------------------------------------
 * Synchronous runs
 * ------------------------------------------------------------------------ */

static void
test_run_sync (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3]");
  FlowRunner *runner;
  g_autoptr(GError) error = NULL;
  g_autofree char *repr = NULL;
  FlowDataflow *flow_prop = NULL;
  gboolean running = TRUE;

  flow_stream_output (flow_stream_map (s, "m", identity, NULL, NULL), "out", FLOW_SINK (h->sink));
  runner = flow_runner_new (h->flow);
  g_assert_true (flow_runner_get_dataflow (runner) == h->flow);
  g_object_get (runner, "dataflow", &flow_prop, "running", &running, NULL);
  g_assert_true (flow_prop == h->flow);
  g_assert_false (running);
  g_object_unref (flow_prop);

  g_assert_true (flow_runner_run (runner, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (flow_runner_get_running (runner));
  g_assert_cmpuint (flow_runner_get_resume_epoch (runner), ==, 0);
  /* One epoch (the run is shorter than the 10 s default), closed at EOF. */
  g_assert_cmpuint (flow_runner_get_epoch (runner), ==, 2);
  repr = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (repr, ==, "[1, 2, 3]");
  g_assert_finalize_object (runner);
}

static void
test_run_twice (FlowHarness *h, gconstpointer data)
{
  /* A dataflow is built once and run many times, on one runner or on
   * several. Without recovery, every run starts from the beginning. */
  FlowStream *s = flow_harness_input (h, "@ax [1, 2]");
  FlowRunner *runner;
  g_autofree char *repr = NULL;

  flow_stream_output (s, "out", FLOW_SINK (h->sink));
  runner = flow_runner_new (h->flow);
  g_assert_true (flow_test_run_with (runner, NULL));
  g_assert_true (flow_test_run_with (runner, NULL));
  g_assert_true (flow_test_run (h->flow, NULL));
  repr = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (repr, ==, "[1, 2, 1, 2, 1, 2]");
  g_assert_finalize_object (runner);
}

static void
test_run_after_error (FlowHarness *h, gconstpointer data)
{
  /* A failed run leaves the runner usable. */
  FlowStream *s = flow_harness_input (h, "@ax [1, 2]");
  FlowRunner *runner;
  g_autoptr(GError) error = NULL;
  g_autofree char *repr = NULL;

  flow_testing_source_add_marker (h->source, 1, FLOW_TESTING_MARKER_ABORT, 0);
  flow_stream_output (s, "out", FLOW_SINK (h->sink));
  runner = flow_runner_new (h->flow);
  g_assert_false (flow_test_run_with (runner, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_ABORTED);
  g_assert_true (flow_test_run_with (runner, NULL));
  repr = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (repr, ==, "[1, 1, 2]");
  g_assert_finalize_object (runner);
}

/* ------------------------------------------------------------------------
 * Asynchronous runs in the caller's main loop
 * ------------------------------------------------------------------------ */

typedef struct
{
  GMainLoop    *loop;
  GAsyncResult *result;
  guint         ticks;
  GArray       *ticks_at_item;
  GSource      *tick_source;
} AsyncData;

static void
async_done (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  AsyncData *ad = user_data;

  g_assert_null (ad->result);
  ad->result = g_object_ref (result);
  if (ad->loop != NULL)
    g_main_loop_quit (ad->loop);
}

static GVariant *
record_ticks (GVariant *item, gpointer data, GError **error)
{
  AsyncData *ad = data;

  g_array_append_val (ad->ticks_at_item, ad->ticks);
  return g_variant_ref (item);
}

/* Iterates the default context until @ad has a result; when nothing is
 * ready, the test clock moves to its next deadline. */
static void
drive_until_done (AsyncData *ad)
{
  while (ad->result == NULL)
    if (!g_main_context_iteration (NULL, FALSE) &&
        !flow_clock_advance_to_next (flow_test_clock ()))
      g_main_context_iteration (NULL, TRUE);
}

static gboolean
tick_on_clock (gpointer user_data)
{
  AsyncData *ad = user_data;

  ad->ticks++;
  flow_clock_source_set_deadline (ad->tick_source,
                                  flow_clock_get_monotonic (flow_test_clock ()) + 10000);
  return G_SOURCE_CONTINUE;
}

static void
test_run_async (FlowHarness *h, gconstpointer data)
{
  AsyncData ad = { NULL, };
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3, 4, 5]");
  FlowClock *clock = flow_test_clock ();
  FlowRunner *runner;
  g_autoptr(GError) error = NULL;
  g_autofree char *repr = NULL;
  gint64 start;

  /* Five items 0.06 s apart: the run takes 0.24 s of the test clock. */
  for (guint i = 1; i < 5; i++)
    flow_testing_source_add_marker (h->source, i, FLOW_TESTING_MARKER_PAUSE, 0.06);
  ad.ticks_at_item = g_array_new (FALSE, FALSE, sizeof (guint));
  flow_stream_output (flow_stream_map (s, "ticks", record_ticks, &ad, NULL), "out", FLOW_SINK (h->sink));

  /* Another source of the caller's main context, every 10 ms. */
  ad.tick_source = flow_clock_source_new (clock, "tick", flow_clock_get_monotonic (clock) + 10000);
  g_source_set_callback (ad.tick_source, tick_on_clock, &ad, NULL);
  g_source_attach (ad.tick_source, NULL);

  runner = flow_runner_new (h->flow);
  flow_runner_set_clock (runner, clock);
  start = flow_clock_get_monotonic (clock);
  flow_runner_run_async (runner, NULL, async_done, &ad);
  /* It returns at once, running. */
  g_assert_true (flow_runner_get_running (runner));
  g_assert_null (ad.result);
  g_assert_cmpuint (flow_testing_sink_get_n_items (h->sink), ==, 0);

  drive_until_done (&ad);
  g_assert_cmpint (flow_clock_get_monotonic (clock) - start, >=, 240000);
  g_assert_false (flow_runner_get_running (runner));
  g_assert_true (flow_runner_run_finish (runner, ad.result, &error));
  g_assert_no_error (error);
  repr = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (repr, ==, "[1, 2, 3, 4, 5]");

  /* The timeout kept firing during the run, and between items. */
  g_assert_cmpuint (ad.ticks, >=, 24);
  g_assert_cmpuint (ad.ticks_at_item->len, ==, 5);
  for (guint i = 1; i < 5; i++)
    g_assert_cmpuint (g_array_index (ad.ticks_at_item, guint, i), >, g_array_index (ad.ticks_at_item, guint, i - 1));

  g_source_destroy (ad.tick_source);
  g_source_unref (ad.tick_source);
  g_clear_object (&ad.result);
  g_array_unref (ad.ticks_at_item);
  flow_runner_set_clock (runner, NULL);
  g_assert_finalize_object (runner);
}

static void
test_run_async_thread_default (FlowHarness *h, gconstpointer data)
{
  /* run_async runs on the thread-default context of the caller. */
  AsyncData ad = { NULL, };
  GMainContext *context = g_main_context_new ();
  FlowRunner *runner;
  g_autofree char *repr = NULL;

  flow_stream_output (flow_harness_input (h, "@ax [1, 2]"), "out", FLOW_SINK (h->sink));
  runner = flow_runner_new (h->flow);
  g_main_context_push_thread_default (context);
  flow_runner_run_async (runner, NULL, async_done, &ad);
  g_main_context_pop_thread_default (context);

  /* Nothing happens on the global default context */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (flow_testing_sink_get_n_items (h->sink), ==, 0);
  g_assert_null (ad.result);

  while (ad.result == NULL)
    g_main_context_iteration (context, TRUE);
  g_assert_true (flow_runner_run_finish (runner, ad.result, NULL));
  repr = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (repr, ==, "[1, 2]");

  g_clear_object (&ad.result);
  g_assert_finalize_object (runner);
  g_main_context_unref (context);
}

static void
test_already_running (FlowHarness *h, gconstpointer data)
{
  AsyncData first = { NULL, }, second = { NULL, };
  FlowRunner *runner;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) sync_error = NULL;
  g_autofree char *repr = NULL;

  flow_stream_output (flow_harness_input (h, "@ax [1, 2]"), "out", FLOW_SINK (h->sink));
  runner = flow_runner_new (h->flow);
  flow_runner_run_async (runner, NULL, async_done, &first);
  flow_runner_run_async (runner, NULL, async_done, &second);

  /* run() on the same runner fails at once too */
  g_assert_false (flow_runner_run (runner, NULL, &sync_error));
  g_assert_error (sync_error, G_IO_ERROR, G_IO_ERROR_PENDING);
  g_assert_cmpstr (sync_error->message, ==, "dataflow 'test' is already running on this runner");

  while (first.result == NULL || second.result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (flow_runner_run_finish (runner, second.result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PENDING);
  g_assert_true (flow_runner_run_finish (runner, first.result, NULL));
  repr = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (repr, ==, "[1, 2]");

  g_clear_object (&first.result);
  g_clear_object (&second.result);
  g_assert_finalize_object (runner);
}

/* ------------------------------------------------------------------------
 * Cancellation
 * ------------------------------------------------------------------------ */

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_cancel_async (FlowHarness *h, gconstpointer data)
{
  AsyncData ad = { NULL, };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  FlowStream *s = flow_harness_input (h, "@ax [1, 2]");
  FlowClock *clock = flow_test_clock ();
  FlowRunner *runner;
  g_autoptr(GError) error = NULL;
  g_autofree char *repr = NULL;
  GSource *cancel;
  gint64 start;

  flow_testing_source_add_marker (h->source, 1, FLOW_TESTING_MARKER_PAUSE, 30.0);
  flow_stream_output (s, "out", FLOW_SINK (h->sink));
  runner = flow_runner_new (h->flow);
  flow_runner_set_clock (runner, clock);
  start = flow_clock_get_monotonic (clock);
  /* Cancelled 50 ms into the 30 s pause. */
  cancel = flow_clock_source_new (clock, "cancel", start + 50000);
  g_source_set_callback (cancel, cancel_cb, cancellable, NULL);
  g_source_attach (cancel, NULL);
  flow_runner_run_async (runner, cancellable, async_done, &ad);
  drive_until_done (&ad);

  g_assert_false (flow_runner_run_finish (runner, ad.result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* Stopped at the cancellation, without waiting out the pause. */
  g_assert_cmpint (flow_clock_get_monotonic (clock) - start, ==, 50000);
  g_assert_false (flow_runner_get_running (runner));
  repr = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (repr, ==, "[1]");

  g_source_destroy (cancel);
  g_source_unref (cancel);
  g_clear_object (&ad.result);
  flow_runner_set_clock (runner, NULL);
  g_assert_finalize_object (runner);
}

typedef struct
{
  GMutex        lock;
  GCond         cond;
  gboolean      seen;
  GCancellable *cancellable;
} CancelLater;

static void
first_item_seen (const char *step_id, GVariant *item, gpointer data, GError **error)
{
  CancelLater *cl = data;

  g_mutex_lock (&cl->lock);
  cl->seen = TRUE;
  g_cond_signal (&cl->cond);
  g_mutex_unlock (&cl->lock);
}

/* Cancels once the run processed its first item (and is in its pause). */
static gpointer
cancel_later (gpointer data)
{
  CancelLater *cl = data;

  g_mutex_lock (&cl->lock);
  while (!cl->seen)
    g_cond_wait (&cl->cond, &cl->lock);
  g_mutex_unlock (&cl->lock);
  g_cancellable_cancel (cl->cancellable);
  return NULL;
}

static void
test_cancel_sync (FlowHarness *h, gconstpointer data)
{
  /* run() blocks; another thread cancels it during a 30 s pause (a run
   * that ignored the cancellation would end normally after it). */
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  FlowStream *s = flow_harness_input (h, "@ax [1, 2]");
  CancelLater cl = { .seen = FALSE, .cancellable = cancellable };
  FlowRunner *runner;
  g_autoptr(GError) error = NULL;
  g_autofree char *repr = NULL;
  GThread *thread;

  g_mutex_init (&cl.lock);
  g_cond_init (&cl.cond);
  flow_testing_source_add_marker (h->source, 1, FLOW_TESTING_MARKER_PAUSE, 30.0);
  s = flow_stream_inspect (s, "seen", first_item_seen, &cl, NULL);
  flow_stream_output (s, "out", FLOW_SINK (h->sink));
  runner = flow_runner_new (h->flow);
  thread = g_thread_new ("cancel", cancel_later, &cl);
  g_assert_false (flow_runner_run (runner, cancellable, &error));
  g_thread_join (thread);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  repr = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (repr, ==, "[1]");
  g_assert_finalize_object (runner);
  g_mutex_clear (&cl.lock);
  g_cond_clear (&cl.cond);
}

static void
test_cancel_before (FlowHarness *h, gconstpointer data)
{
  /* Like any GIO operation, a run given a cancelled cancellable fails
   * with G_IO_ERROR_CANCELLED (and processes nothing). */
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  FlowRunner *runner;
  g_autoptr(GError) error = NULL;

  flow_stream_output (flow_harness_input (h, "@ax [1, 2, 3]"), "out", FLOW_SINK (h->sink));
  runner = flow_runner_new (h->flow);
  g_cancellable_cancel (cancellable);
  g_assert_false (flow_runner_run (runner, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (flow_testing_sink_get_n_items (h->sink), ==, 0);
  g_assert_finalize_object (runner);
}

static GVariant *
cancel_at_two (GVariant *item, gpointer data, GError **error)
{
  if (g_variant_get_int64 (item) == 2)
    g_cancellable_cancel (data);
  return g_variant_ref (item);
}

static void
test_cancel_stops_after_batch (FlowHarness *h, gconstpointer data)
{
  /* "Cancelling stops the run as soon as the batch being processed is
   * done": with batches of one item, nothing after the item that
   * cancelled reaches the sink. */
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  FlowTestingSource *source;
  FlowRunner *runner;
  g_autoptr(GError) error = NULL;
  g_autofree char *repr = NULL;
  gint64 values[1000];

  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    values[i] = i + 1;
  source = h->source = flow_test_source_new_int64 (values, G_N_ELEMENTS (values));
  h->input = flow_dataflow_input (h->flow, "inp", FLOW_SOURCE (source));
  flow_stream_output (flow_stream_map (h->input, "cancel", cancel_at_two, cancellable, NULL),
                      "out", FLOW_SINK (h->sink));
  runner = flow_runner_new (h->flow);
  g_assert_false (flow_runner_run (runner, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  repr = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (repr, ==, "[1, 2]");
  g_assert_finalize_object (runner);
}

/* ------------------------------------------------------------------------
 * Signals and properties
 * ------------------------------------------------------------------------ */

static void
on_epoch_closed (FlowRunner *runner,
                 guint64     epoch,
                 gpointer    data)
{
  GArray *epochs = data;

  /* The open epoch is already the next one. */
  g_assert_cmpuint (flow_runner_get_epoch (runner), ==, epoch + 1);
  g_array_append_val (epochs, epoch);
}

static void
assert_consecutive_epochs (GArray *epochs)
{
  for (guint i = 0; i < epochs->len; i++)
    g_assert_cmpuint (g_array_index (epochs, guint64, i), ==, i + 1);
}

static void
test_epoch_closed_default (FlowHarness *h, gconstpointer data)
{
  g_autoptr(GArray) epochs = g_array_new (FALSE, FALSE, sizeof (guint64));
  FlowRunner *runner;

  flow_stream_output (flow_harness_input (h, "@ax [1, 2, 3]"), "out", FLOW_SINK (h->sink));
  runner = flow_runner_new (h->flow);
  g_assert_cmpfloat (flow_runner_get_snapshot_interval (runner), ==, 10.0);
  g_signal_connect (runner, "epoch-closed", G_CALLBACK (on_epoch_closed), epochs);
  g_assert_true (flow_test_run_with (runner, NULL));
  /* Shorter than an epoch: only the final epoch closes, at EOF. */
  g_assert_cmpuint (epochs->len, ==, 1);
  assert_consecutive_epochs (epochs);

  /* A second run (without recovery) starts again at epoch 1. */
  g_array_set_size (epochs, 0);
  g_assert_true (flow_test_run_with (runner, NULL));
  g_assert_cmpuint (epochs->len, ==, 1);
  g_assert_cmpuint (g_array_index (epochs, guint64, 0), ==, 1);
  g_assert_finalize_object (runner);
}

static void
test_epoch_closed_zero_interval (FlowHarness *h, gconstpointer data)
{
  /* "0 closes an epoch after every batch of input": three batches of one
   * item close epochs 1 to 3, and the end of input closes epoch 4. */
  g_autoptr(GArray) epochs = g_array_new (FALSE, FALSE, sizeof (guint64));
  FlowRunner *runner;
  g_autofree char *repr = NULL;

  flow_stream_output (flow_harness_input (h, "@ax [1, 2, 3]"), "out", FLOW_SINK (h->sink));
  runner = flow_runner_new (h->flow);
  flow_runner_set_snapshot_interval (runner, 0);
  g_signal_connect (runner, "epoch-closed", G_CALLBACK (on_epoch_closed), epochs);
  g_assert_true (flow_test_run_with (runner, NULL));
  repr = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (repr, ==, "[1, 2, 3]");
  assert_consecutive_epochs (epochs);
  g_assert_cmpuint (epochs->len, ==, 4);
  g_assert_finalize_object (runner);
}

static void
test_epoch_closed_interval (FlowHarness *h, gconstpointer data)
{
  /* 0.05 s epochs over a run of 0.3 s: about 6 of them. */
  g_autoptr(GArray) epochs = g_array_new (FALSE, FALSE, sizeof (guint64));
  FlowRunner *runner;

  flow_stream_output (flow_harness_input (h, "@ax [1, 2]"), "out", FLOW_SINK (h->sink));
  flow_testing_source_add_marker (h->source, 1, FLOW_TESTING_MARKER_PAUSE, 0.3);
  runner = flow_runner_new (h->flow);
  flow_runner_set_snapshot_interval (runner, 0.05);
  g_signal_connect (runner, "epoch-closed", G_CALLBACK (on_epoch_closed), epochs);
  g_assert_true (flow_test_run_with (runner, NULL));
  assert_consecutive_epochs (epochs);
  g_test_message ("%u epochs closed", epochs->len);
  g_assert_cmpuint (epochs->len, >=, 5);
  g_assert_cmpuint (epochs->len, <=, 8);
  g_assert_finalize_object (runner);
}

static void
on_notify_running (GObject    *object,
                   GParamSpec *pspec,
                   gpointer    data)
{
  GString *log = data;

  g_string_append (log, flow_runner_get_running (FLOW_RUNNER (object)) ? "T" : "F");
}

static GVariant *
check_running (GVariant *item, gpointer data, GError **error)
{
  g_assert_true (flow_runner_get_running (data));
  return g_variant_ref (item);
}

static void
test_running_notify (FlowHarness *h, gconstpointer data)
{
  GString *log = g_string_new (NULL);
  FlowRunner *runner = flow_runner_new (h->flow);
  FlowStream *s = flow_harness_input (h, "@ax [1]");

  flow_stream_output (flow_stream_map (s, "check", check_running, runner, NULL),
                      "out", FLOW_SINK (h->sink));
  g_signal_connect (runner, "notify::running", G_CALLBACK (on_notify_running), log);
  g_assert_true (flow_test_run_with (runner, NULL));
  g_assert_cmpstr (log->str, ==, "TF");

  /* A run that fails to start does not notify. */
  flow_runner_set_recovery_directory (runner, "/nonexistent/flow-recovery");
  g_assert_false (flow_test_run_with (runner, NULL));
  g_assert_cmpstr (log->str, ==, "TF");

  g_string_free (log, TRUE);
  g_assert_finalize_object (runner);
}

static void
count_notify (GObject *object, GParamSpec *pspec, gpointer data)
{
  (*(guint *) data)++;
}

static void
test_properties (FlowHarness *h, gconstpointer data)
{
  FlowRunner *runner = flow_runner_new (h->flow);
  guint notified = 0;
  double snapshot = 0, backup = 0;
  guint workers = 0;
  char *dir = NULL;

  g_signal_connect (runner, "notify::snapshot-interval", G_CALLBACK (count_notify), &notified);
  flow_runner_set_snapshot_interval (runner, 2.5);
  flow_runner_set_snapshot_interval (runner, 2.5);
  g_assert_cmpuint (notified, ==, 1);
  flow_runner_set_backup_interval (runner, 30);
  flow_runner_set_workers (runner, 3);
  flow_runner_set_recovery_directory (runner, "/some/dir");
  g_object_get (runner, "snapshot-interval", &snapshot, "backup-interval", &backup,
                "workers", &workers, "recovery-directory", &dir, NULL);
  g_assert_cmpfloat (snapshot, ==, 2.5);
  g_assert_cmpfloat (backup, ==, 30);
  g_assert_cmpuint (workers, ==, 3);
  g_assert_cmpstr (dir, ==, "/some/dir");
  g_free (dir);
  flow_runner_set_recovery_directory (runner, NULL);
  g_assert_null (flow_runner_get_recovery_directory (runner));

  g_test_expect_message ("Flow", G_LOG_LEVEL_CRITICAL, "*seconds >= 0*");
  flow_runner_set_snapshot_interval (runner, -1);
  g_test_assert_expected_messages ();
  g_test_expect_message ("Flow", G_LOG_LEVEL_CRITICAL, "*workers >= 1*");
  flow_runner_set_workers (runner, 0);
  g_test_assert_expected_messages ();
  g_assert_cmpfloat (flow_runner_get_snapshot_interval (runner), ==, 2.5);
  g_assert_cmpuint (flow_runner_get_workers (runner), ==, 3);

  g_assert_finalize_object (runner);
}

/* ------------------------------------------------------------------------
 * Polling: no busy loop
 * ------------------------------------------------------------------------ */

/* A partition that has nothing to give for 0.4 s: it returns empty
 * batches, asking to be woken up @interval later (or not saying when,
 * with an interval of 0), then ends. */

#define TEST_TYPE_IDLE_PART (test_idle_part_get_type ())
G_DECLARE_FINAL_TYPE (TestIdlePart, test_idle_part, TEST, IDLE_PART, FlowSourcePartition)
struct _TestIdlePart
{
  FlowSourcePartition parent_instance;
  gint64  interval;
  gint64  start;
  gint64  awake;
  guint  *calls;
};
G_DEFINE_FINAL_TYPE (TestIdlePart, test_idle_part, FLOW_TYPE_SOURCE_PARTITION)

#define IDLE_USEC 400000

static GVariant *
test_idle_part_next_batch (FlowSourcePartition *part, GError **error)
{
  TestIdlePart *self = TEST_IDLE_PART (part);
  gint64 now = flow_clock_get_monotonic (flow_clock_get_thread_default ());

  (*self->calls)++;
  if (self->start == 0)
    self->start = now;
  if (now - self->start >= IDLE_USEC)
    return NULL;
  self->awake = self->interval > 0 ? now + self->interval : 0;
  return g_variant_new_array (G_VARIANT_TYPE_VARIANT, NULL, 0);
}

static gint64
test_idle_part_next_awake (FlowSourcePartition *part)
{
  return TEST_IDLE_PART (part)->awake;
}

static void
test_idle_part_class_init (TestIdlePartClass *klass)
{
  FLOW_SOURCE_PARTITION_CLASS (klass)->next_batch = test_idle_part_next_batch;
  FLOW_SOURCE_PARTITION_CLASS (klass)->next_awake = test_idle_part_next_awake;
}

static void
test_idle_part_init (TestIdlePart *self)
{
}

#define TEST_TYPE_IDLE_SOURCE (test_idle_source_get_type ())
G_DECLARE_FINAL_TYPE (TestIdleSource, test_idle_source, TEST, IDLE_SOURCE, FlowSource)
struct _TestIdleSource
{
  FlowSource parent_instance;
  gint64     interval;
  guint      calls;
};
G_DEFINE_FINAL_TYPE (TestIdleSource, test_idle_source, FLOW_TYPE_SOURCE)

static FlowSourcePartition *
test_idle_source_build_part (FlowSource *source, const char *step_id, const char *key,
                             GVariant *resume_state, GError **error)
{
  TestIdlePart *part = g_object_new (TEST_TYPE_IDLE_PART, NULL);

  part->interval = TEST_IDLE_SOURCE (source)->interval;
  part->calls = &TEST_IDLE_SOURCE (source)->calls;
  return FLOW_SOURCE_PARTITION (part);
}

static void
test_idle_source_class_init (TestIdleSourceClass *klass)
{
  FLOW_SOURCE_CLASS (klass)->build_part = test_idle_source_build_part;
}

static void
test_idle_source_init (TestIdleSource *self)
{
}

static guint
run_idle_source (FlowHarness *h,
                 gint64       interval)
{
  TestIdleSource *source = flow_harness_track (h, g_object_new (TEST_TYPE_IDLE_SOURCE, NULL));
  gint64 start;

  source->interval = interval;
  flow_stream_output (flow_dataflow_input (h->flow, "inp", FLOW_SOURCE (source)), "out",
                      FLOW_SINK (h->sink));
  start = flow_clock_get_monotonic (flow_test_clock ());
  g_assert_true (flow_test_run (h->flow, NULL));
  g_assert_cmpint (flow_clock_get_monotonic (flow_test_clock ()) - start, >=, IDLE_USEC);
  g_test_message ("next_batch was called %u times in %.3f s of the test clock", source->calls,
                  (flow_clock_get_monotonic (flow_test_clock ()) - start) / 1e6);
  return source->calls;
}

static void
test_next_awake_no_busy_loop (FlowHarness *h, gconstpointer data)
{
  /* Woken every 0.1 s for 0.4 s: at 0, 0.1, 0.2, 0.3 and 0.4 s (the end),
   * not thousands of times. */
  guint calls = run_idle_source (h, 100000);

  g_assert_cmpuint (calls, ==, 5);
}

static void
test_empty_batches_back_off (FlowHarness *h, gconstpointer data)
{
  /* Without a wake-up time, empty batches make the runner back off
   * (1 ms doubling to 64 ms): called at 0, 1, 3, 7, 15, 31, 63, 127, 191,
   * 255, 319, 383 and 447 ms (the end). */
  guint calls = run_idle_source (h, 0);

  g_assert_cmpuint (calls, ==, 13);
}

/* ------------------------------------------------------------------------
 * Command line
 * ------------------------------------------------------------------------ */

static void
test_parse_args (FlowHarness *h, gconstpointer data)
{
  FlowRunner *runner = flow_runner_new (h->flow);
  char *args[] = { (char *) "prog", (char *) "-r", (char *) "rec", (char *) "--snapshot-interval=0.25",
                   (char *) "extra", (char *) "-b", (char *) "180", (char *) "-w", (char *) "1", NULL };
  /* parse_args() works like g_option_context_parse_strv(): it removes the
   * options from the strv and frees them. */
  g_auto(GStrv) argv = g_strdupv (args);
  g_autoptr(GError) error = NULL;

  g_assert_true (flow_runner_parse_args (runner, &argv, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (flow_runner_get_recovery_directory (runner), ==, "rec");
  g_assert_cmpfloat (flow_runner_get_snapshot_interval (runner), ==, 0.25);
  g_assert_cmpfloat (flow_runner_get_backup_interval (runner), ==, 180);
  g_assert_cmpuint (flow_runner_get_workers (runner), ==, 1);
  /* What is not an option stays. */
  g_assert_cmpint (g_strv_length (argv), ==, 2);
  g_assert_cmpstr (argv[0], ==, "prog");
  g_assert_cmpstr (argv[1], ==, "extra");
  g_assert_finalize_object (runner);
}

typedef struct
{
  const char *arg;
  GQuark      domain;
  int         code;
} BadArg;

static void
test_parse_args_bad (FlowHarness *h, gconstpointer data)
{
  const BadArg cases[] = {
    { "--snapshot-interval=abc", G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE },
    { "--snapshot-interval=-1", FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT },
    { "--snapshot-interval=inf", FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT },
    { "--snapshot-interval=nan", FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT },
    { "--backup-interval=-5", FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT },
    { "--backup-interval=x", G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE },
    { "--workers=0", FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT },
    { "--workers=-3", FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT },
    { "--workers=two", G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE },
    { "--bogus", G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION },
    { "-r", G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE },
    /* -1 is no different from other negative numbers */
    { "--backup-interval=-1", FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT },
    { "--workers=-1", FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT },
  };
  FlowRunner *runner = flow_runner_new (h->flow);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      char *args[] = { (char *) "prog", (char *) "-s", (char *) "3", (char *) cases[i].arg, NULL };
      g_auto(GStrv) argv = g_strdupv (args);
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", cases[i].arg);
      g_assert_false (flow_runner_parse_args (runner, &argv, &error));
      g_assert_error (error, cases[i].domain, cases[i].code);
      /* A bad command line changes nothing. */
      g_assert_cmpfloat (flow_runner_get_snapshot_interval (runner), ==, 10.0);
      g_assert_cmpuint (flow_runner_get_workers (runner), ==, 1);
    }
  g_assert_finalize_object (runner);
}

/* Runs the flow "seed" with run_with_args(@args) in this (sub)process and
 * exits with its status, printed as "exit=N" last on standard output. */
static void
run_with_args_and_exit (const char * const *args,
                        gboolean            abort_marker)
{
  static const gint64 inp[] = { 0, 1, 2 };
  FlowDataflow *flow = flow_dataflow_new ("seed");
  FlowTestingSource *source = flow_test_source_new_int64 (inp, G_N_ELEMENTS (inp));
  FlowStdOutSink *sink = flow_std_out_sink_new ();
  FlowRunner *runner;
  int status;

  if (abort_marker)
    flow_testing_source_add_marker (source, 2, FLOW_TESTING_MARKER_ABORT, 0);
  flow_stream_output (flow_dataflow_input (flow, "inp", FLOW_SOURCE (source)), "out", FLOW_SINK (sink));
  runner = flow_runner_new (flow);
  status = flow_runner_run_with_args (runner, g_strv_length ((char **) args), (char **) args);
  g_assert_finalize_object (runner);
  g_assert_finalize_object (flow);
  g_assert_finalize_object (source);
  g_assert_finalize_object (sink);
  g_print ("exit=%d\n", status);
  exit (status);
}

typedef struct
{
  const char *name;
  const char *args[5];
  gboolean    abort_marker;
  int         status;
  const char *stdout_pattern;
  const char *stderr_pattern;
} ArgsCase;

static const ArgsCase args_cases[] = {
  { "ok", { "prog", "-s", "0.5", NULL }, FALSE, 0, "0\n1\n2\nexit=0\n", "" },
  { "help", { "prog", "--help", NULL }, FALSE, 0,
    "Usage:\n  prog [OPTION*]\n\nRuns the dataflow 'seed'.\n\n*"
    "--recovery-directory DIR*--snapshot-interval SECONDS*--backup-interval SECONDS*"
    "--workers N*--help*\nexit=0\n", "" },
  { "help-short", { "prog", "-s", "1", "-h" }, FALSE, 0, "Usage:*exit=0\n", "" },
  { "bad-value", { "prog", "--snapshot-interval=abc", NULL }, FALSE, 2,
    "exit=2\n", "prog: *abc*\nTry 'prog --help'.\n" },
  { "negative", { "prog", "-b", "-1", NULL }, FALSE, 2,
    "exit=2\n", "prog: the backup interval must be a number of seconds >= 0, not -1\nTry 'prog --help'.\n" },
  { "unknown-option", { "prog", "--bogus", NULL }, FALSE, 2,
    "exit=2\n", "prog: *--bogus*\nTry 'prog --help'.\n" },
  { "extra-argument", { "prog", "extra", NULL }, FALSE, 2,
    "exit=2\n", "prog: unexpected argument 'extra'\nTry 'prog --help'.\n" },
  { "workers", { "prog", "-w", "2", NULL }, FALSE, 0, "*exit=0\n", "" },
  { "run-fails", { "prog", NULL }, TRUE, 1,
    "0\n1\nexit=1\n", "prog: input step 'seed.inp': the execution was aborted by an ABORT marker*\n" },
};

static void
test_run_with_args (gconstpointer data)
{
  const ArgsCase *c = data;

  if (g_test_subprocess ())
    run_with_args_and_exit (c->args, c->abort_marker);

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  if (c->status == 0)
    g_test_trap_assert_passed ();
  else
    g_test_trap_assert_failed ();
  g_test_trap_assert_stdout (c->stdout_pattern);
  g_test_trap_assert_stderr (c->stderr_pattern);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* A failing check marks its test failed and the other tests still run. */
  g_test_set_nonfatal_assertions ();

  ADD ("/runner/run/sync", test_run_sync);
  ADD ("/runner/run/twice", test_run_twice);
  ADD ("/runner/run/after-error", test_run_after_error);
  ADD ("/runner/run/async", test_run_async);
  ADD ("/runner/run/async-thread-default", test_run_async_thread_default);
  ADD ("/runner/run/already-running", test_already_running);
  ADD ("/runner/cancel/async", test_cancel_async);
  ADD ("/runner/cancel/sync", test_cancel_sync);
  ADD ("/runner/cancel/before", test_cancel_before);
  ADD ("/runner/cancel/stops-after-batch", test_cancel_stops_after_batch);
  ADD ("/runner/epoch-closed/default", test_epoch_closed_default);
  ADD ("/runner/epoch-closed/zero-interval", test_epoch_closed_zero_interval);
  ADD ("/runner/epoch-closed/interval", test_epoch_closed_interval);
  ADD ("/runner/running-notify", test_running_notify);
  ADD ("/runner/properties", test_properties);
  ADD ("/runner/poll/next-awake", test_next_awake_no_busy_loop);
  ADD ("/runner/poll/back-off", test_empty_batches_back_off);
  ADD ("/runner/args/parse", test_parse_args);
  ADD ("/runner/args/bad", test_parse_args_bad);
  for (gsize i = 0; i < G_N_ELEMENTS (args_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/runner/args/run-with-args/%s", args_cases[i].name);
      g_test_add_data_func (path, &args_cases[i], test_run_with_args);
    }

  return g_test_run ();
}
