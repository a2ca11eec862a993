/* test-stateful.c: the general stateful operators (stateful, stateful_batch)
 *
 * A C subclass of FlowStatefulLogic (and of FlowStatefulBatchLogic) that
 * counts the values of its key, logs every call, asks for notifications
 * and snapshots; flows over it check what Bytewax's stateful operators
 * promise: the order of calls, DISCARD, on_eof for every key, the
 * notifications on the run's (test) clock, in order of time, and resume.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "flow-test-utils.h"

#define ADD(path, func) \
  g_test_add (path, FlowHarness, NULL, flow_harness_setup, func, flow_harness_teardown)

/* What the logics of one step do; given to the builder. */
typedef struct
{
  gint64    discard_at;     /* on_item discards when the count reaches it (0: never) */
  GTimeSpan notify_after;   /* ask for a notification this long after the first item */
  gboolean  notify_by_value; /* ...the first value's seconds after it */
  gboolean  notify_discard; /* on_notify discards */
  gboolean  eof_discard;    /* on_eof discards */
  gboolean  wrong_shape;    /* on_item returns a string */
  gboolean  fail_item;      /* on_item fails */
  gint64    fail_on;        /* on_item fails on this value (0: never) */
  GString  *log;            /* every call, in order */
  guint     built;
  guint     resumed;
} Config;

/* ------------------------------------------------------------------------
 * TestCounter, a FlowStatefulLogic
 * ------------------------------------------------------------------------ */

#define TEST_TYPE_COUNTER (test_counter_get_type ())
G_DECLARE_FINAL_TYPE (TestCounter, test_counter, TEST, COUNTER, FlowStatefulLogic)

struct _TestCounter
{
  FlowStatefulLogic parent_instance;
  Config *config;
  char   *key;
  gint64  count;
  gint64  notify_at;   /* -1: none */
};

G_DEFINE_FINAL_TYPE (TestCounter, test_counter, FLOW_TYPE_STATEFUL_LOGIC)

/* With FLOW_TEST_WORKERS, logics of different keys run on different
 * worker threads at once. */
G_LOCK_DEFINE_STATIC (config);

static void
log_call (Config     *config,
          const char *what,
          const char *key,
          gint64      count)
{
  G_LOCK (config);
  g_string_append_printf (config->log, "%s%s(%s,%" G_GINT64_FORMAT ")",
                          config->log->len ? " " : "", what, key, count);
  G_UNLOCK (config);
}

static GVariant *
emit_one (GVariant *value)
{
  return g_variant_new_array (NULL, &value, 1);
}

static GVariant *
test_counter_on_item (FlowStatefulLogic  *logic,
                      GVariant           *value,
                      gboolean           *discard,
                      GError            **error)
{
  TestCounter *self = TEST_COUNTER (logic);

  self->count++;
  log_call (self->config, "item", self->key, self->count);
  if (self->config->fail_item ||
      (self->config->fail_on != 0 && g_variant_get_int64 (value) == self->config->fail_on))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "counter broke at %" G_GINT64_FORMAT,
                   self->count);
      return NULL;
    }
  if (self->config->wrong_shape)
    return g_variant_new_string ("not an array");
  if (self->count == 1 && self->config->notify_after > 0)
    self->notify_at = flow_get_real_time () + self->config->notify_after;
  if (self->count == 1 && self->config->notify_by_value)
    self->notify_at = flow_get_real_time () + g_variant_get_int64 (value) * G_TIME_SPAN_SECOND;
  *discard = self->count == self->config->discard_at ? FLOW_STATEFUL_LOGIC_DISCARD
                                                     : FLOW_STATEFUL_LOGIC_RETAIN;
  return emit_one (g_variant_new_int64 (self->count));
}

static GVariant *
test_counter_on_notify (FlowStatefulLogic  *logic,
                        gboolean           *discard,
                        GError            **error)
{
  TestCounter *self = TEST_COUNTER (logic);

  /* Never before the time asked for, on the run's clock. */
  g_assert_cmpint (flow_get_real_time (), >=, self->notify_at);
  log_call (self->config, "notify", self->key, self->count);
  self->notify_at = -1;
  *discard = self->config->notify_discard;
  return emit_one (g_variant_new_printf ("notified %" G_GINT64_FORMAT, self->count));
}

static GVariant *
test_counter_on_eof (FlowStatefulLogic  *logic,
                     gboolean           *discard,
                     GError            **error)
{
  TestCounter *self = TEST_COUNTER (logic);

  log_call (self->config, "eof", self->key, self->count);
  *discard = self->config->eof_discard;
  return emit_one (g_variant_new_printf ("eof %" G_GINT64_FORMAT, self->count));
}

static gboolean
test_counter_notify_at (FlowStatefulLogic  *logic,
                        gint64             *at,
                        GError            **error)
{
  TestCounter *self = TEST_COUNTER (logic);

  *at = self->notify_at;
  return self->notify_at >= 0;
}

static GVariant *
test_counter_snapshot (FlowStatefulLogic  *logic,
                       GError            **error)
{
  TestCounter *self = TEST_COUNTER (logic);

  return g_variant_new ("(xx)", self->count, self->notify_at);
}

static void
test_counter_finalize (GObject *object)
{
  TestCounter *self = TEST_COUNTER (object);

  g_free (self->key);
  G_OBJECT_CLASS (test_counter_parent_class)->finalize (object);
}

static void
test_counter_class_init (TestCounterClass *klass)
{
  FlowStatefulLogicClass *logic_class = FLOW_STATEFUL_LOGIC_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = test_counter_finalize;
  logic_class->on_item = test_counter_on_item;
  logic_class->on_notify = test_counter_on_notify;
  logic_class->on_eof = test_counter_on_eof;
  logic_class->notify_at = test_counter_notify_at;
  logic_class->snapshot = test_counter_snapshot;
}

static void
test_counter_init (TestCounter *self)
{
  self->notify_at = -1;
}

static FlowStatefulLogic *
build_counter (const char  *key,
               GVariant    *resume_state,
               gpointer     user_data,
               GError     **error)
{
  Config *config = user_data;
  TestCounter *self = g_object_new (TEST_TYPE_COUNTER, NULL);

  self->config = config;
  self->key = g_strdup (key);
  G_LOCK (config);
  config->built++;
  if (resume_state != NULL)
    {
      g_variant_get (resume_state, "(xx)", &self->count, &self->notify_at);
      config->resumed++;
    }
  G_UNLOCK (config);
  return FLOW_STATEFUL_LOGIC (self);
}

/* With @h, what the config counts starts again before the harness's last
 * (1-worker) run, as the test checks that run's. */
static void
config_init (Config      *config,
             FlowHarness *h)
{
  memset (config, 0, sizeof *config);
  config->log = g_string_new (NULL);
  if (h != NULL)
    {
      flow_harness_reset_string (h, config->log);
      flow_harness_reset_count (h, &config->built);
      flow_harness_reset_count (h, &config->resumed);
    }
}

static void
config_clear (Config *config)
{
  g_string_free (config->log, TRUE);
}

/* ------------------------------------------------------------------------
 * TestBatcher, a FlowStatefulBatchLogic: emits each batch's values
 * ------------------------------------------------------------------------ */

#define TEST_TYPE_BATCHER (test_batcher_get_type ())
G_DECLARE_FINAL_TYPE (TestBatcher, test_batcher, TEST, BATCHER, FlowStatefulBatchLogic)

struct _TestBatcher
{
  FlowStatefulBatchLogic parent_instance;
  gint64 batches;
  gboolean discard_multi;
};

G_DEFINE_FINAL_TYPE (TestBatcher, test_batcher, FLOW_TYPE_STATEFUL_BATCH_LOGIC)

static GVariant *
test_batcher_on_batch (FlowStatefulBatchLogic  *logic,
                       GVariant                *values,
                       gboolean                *discard,
                       GError                 **error)
{
  TestBatcher *self = TEST_BATCHER (logic);

  self->batches++;
  *discard = self->discard_multi && g_variant_n_children (values) >= 2;
  /* emits the batch (an av array) as one value */
  return emit_one (g_variant_new ("(x@av)", self->batches, values));
}

static GVariant *
test_batcher_on_eof (FlowStatefulBatchLogic  *logic,
                     gboolean                *discard,
                     GError                 **error)
{
  *discard = FLOW_STATEFUL_LOGIC_DISCARD;
  return NULL;
}

static GVariant *
test_batcher_snapshot (FlowStatefulBatchLogic  *logic,
                       GError                 **error)
{
  return g_variant_new_int64 (TEST_BATCHER (logic)->batches);
}

static void
test_batcher_class_init (TestBatcherClass *klass)
{
  FlowStatefulBatchLogicClass *logic_class = FLOW_STATEFUL_BATCH_LOGIC_CLASS (klass);

  logic_class->on_batch = test_batcher_on_batch;
  logic_class->on_eof = test_batcher_on_eof;
  logic_class->snapshot = test_batcher_snapshot;
}

static void
test_batcher_init (TestBatcher *self)
{
}

static FlowStatefulBatchLogic *
build_batcher (const char  *key,
               GVariant    *resume_state,
               gpointer     user_data,
               GError     **error)
{
  TestBatcher *self = g_object_new (TEST_TYPE_BATCHER, NULL);

  /* user_data: discard after a batch of two values or more */
  self->discard_multi = user_data != NULL;
  return FLOW_STATEFUL_BATCH_LOGIC (self);
}

/* ------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------ */

#define ITEMS "[('b', <int64 1>), ('a', <int64 2>), ('b', <int64 3>), ('a', <int64 4>)]"

static void
assert_output (FlowHarness *h,
               FlowStream  *stream,
               const char  *expected)
{
  g_autofree char *repr = flow_harness_run (h, stream);

  g_assert_cmpstr (repr, ==, expected);
}

static void
test_item_order (FlowHarness *h, gconstpointer data)
{
  Config config;
  FlowStream *s = flow_harness_input (h, ITEMS);

  config_init (&config, h);
  /* One batch: its keys in key order, each key's values in order; then
   * on_eof for every key, in key order. */
  flow_testing_source_set_batch_size (h->source, 10);
  s = flow_stream_stateful (s, "count", build_counter, &config, NULL);
  assert_output (h, s, "[('a', 1), ('a', 2), ('b', 1), ('b', 2), "
                       "('a', 'eof 2'), ('b', 'eof 2')]");
  g_assert_cmpstr (config.log->str, ==,
                   "item(a,1) item(a,2) item(b,1) item(b,2) eof(a,2) eof(b,2)");
  g_assert_cmpuint (config.built, ==, 2);
  config_clear (&config);
}

static void
test_item_batches_of_one (FlowHarness *h, gconstpointer data)
{
  Config config;
  FlowStream *s = flow_harness_input (h, ITEMS);

  config_init (&config, h);
  /* Batches of one item: the input's order. */
  s = flow_stream_stateful (s, "count", build_counter, &config, NULL);
  assert_output (h, s, "[('b', 1), ('a', 1), ('b', 2), ('a', 2), "
                       "('a', 'eof 2'), ('b', 'eof 2')]");
  config_clear (&config);
}

static void
test_discard (FlowHarness *h, gconstpointer data)
{
  Config config;
  FlowStream *s = flow_harness_input (h, "[('a', <int64 1>), ('a', <int64 2>), "
                                         "('a', <int64 3>), ('b', <int64 4>)]");

  config_init (&config, h);
  config.discard_at = 2;
  config.eof_discard = TRUE;
  flow_testing_source_set_batch_size (h->source, 10);
  s = flow_stream_stateful (s, "count", build_counter, &config, NULL);
  /* a's logic is discarded at 2; its third value gets a new logic, in the
   * same batch. */
  assert_output (h, s, "[('a', 1), ('a', 2), ('a', 1), ('b', 1), "
                       "('a', 'eof 1'), ('b', 'eof 1')]");
  g_assert_cmpuint (config.built, ==, 3);
  config_clear (&config);
}

static void
test_notify (FlowHarness *h, gconstpointer data)
{
  Config config;
  FlowStream *s = flow_harness_input (h, "[('a', <int64 1>), ('b', <int64 2>), ('c', <int64 3>)]");

  config_init (&config, h);
  /* a asks at +30 s, b (one item later, same time) at +30 s, c never:
   * the pause of 10 min lets both fire, a before b (same time: key order),
   * before c's item. */
  config.notify_after = 30 * G_TIME_SPAN_SECOND;
  flow_testing_source_add_marker (h->source, 2, FLOW_TESTING_MARKER_PAUSE, 600);
  s = flow_stream_stateful (s, "count", build_counter, &config, NULL);
  assert_output (h, s, "[('a', 1), ('b', 1), ('a', 'notified 1'), ('b', 'notified 1'), "
                       "('c', 1), ('a', 'eof 1'), ('b', 'eof 1'), ('c', 'eof 1')]");
  config_clear (&config);
}

/* Notifications fire in order of time, not of keys or of arrival: each
 * key asks for one its value's seconds after its first item. */
static void
test_notify_order (FlowHarness *h, gconstpointer data)
{
  Config config;
  FlowStream *s = flow_harness_input (h, "[('a', <int64 30>), ('b', <int64 10>), ('c', <int64 20>), "
                                         "('z', <int64 1>)]");

  config_init (&config, h);
  config.notify_by_value = TRUE;
  config.notify_discard = TRUE;
  /* z's notification (+1 s) is still pending at the end of input: z gets
   * on_eof only. */
  flow_testing_source_add_marker (h->source, 3, FLOW_TESTING_MARKER_PAUSE, 600);
  s = flow_stream_stateful (s, "count", build_counter, &config, NULL);
  assert_output (h, s, "[('a', 1), ('b', 1), ('c', 1), ('b', 'notified 1'), "
                       "('c', 'notified 1'), ('a', 'notified 1'), ('z', 1), "
                       "('z', 'eof 1')]");
  g_assert_cmpstr (config.log->str, ==,
                   "item(a,1) item(b,1) item(c,1) notify(b,1) notify(c,1) notify(a,1) "
                   "item(z,1) eof(z,1)");
  config_clear (&config);
}

static void
test_batch (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "[('a', <int64 1>), ('b', <int64 2>), ('a', <int64 3>), "
                                         "('a', <int64 4>)]");

  /* Batches of three: on_batch once per key per batch, with its values. */
  flow_testing_source_set_batch_size (h->source, 3);
  s = flow_stream_stateful_batch (s, "batches", build_batcher, NULL, NULL);
  assert_output (h, s, "[('a', (1, [1, 3])), ('b', (1, [2])), ('a', (2, [4]))]");
}

static void
test_batch_discard (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "[('a', <int64 1>), ('a', <int64 2>), ('b', <int64 3>), "
                                         "('a', <int64 4>), ('b', <int64 5>)]");

  /* a's logic discards after [1, 2]: [4] gets a new one (batch count 1
   * again); b's is kept ([3], then [5] as its second batch). */
  flow_testing_source_set_batch_size (h->source, 3);
  s = flow_stream_stateful_batch (s, "batches", build_batcher, GINT_TO_POINTER (1), NULL);
  assert_output (h, s, "[('a', (1, [1, 2])), ('b', (1, [3])), ('a', (1, [4])), ('b', (2, [5]))]");
}

static void
test_error_on_item (FlowHarness *h, gconstpointer data)
{
  Config config;
  FlowStream *s = flow_harness_input (h, ITEMS);
  const GError *error;

  config_init (&config, h);
  config.fail_item = TRUE;
  s = flow_stream_stateful (s, "count", build_counter, &config, NULL);
  error = flow_harness_run_error (h, s);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==,
                   "stateful step 'test.count' failed for key 'b': on_item(): counter broke at 1");
  config_clear (&config);
}

static void
test_error_wrong_shape (FlowHarness *h, gconstpointer data)
{
  Config config;
  FlowStream *s = flow_harness_input (h, ITEMS);
  const GError *error;

  config_init (&config, h);
  config.wrong_shape = TRUE;
  s = flow_stream_stateful (s, "count", build_counter, &config, NULL);
  error = flow_harness_run_error (h, s);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE);
  g_assert_cmpstr (error->message, ==,
                   "stateful step 'test.count' failed for key 'b': on_item() returned a value "
                   "of type s, not an array of values to emit");
  config_clear (&config);
}

static FlowStatefulLogic *
build_wrong_type (const char  *key,
                  GVariant    *resume_state,
                  gpointer     user_data,
                  GError     **error)
{
  /* (a C programmer's cast; a binding's builder can return anything) */
  return (FlowStatefulLogic *) flow_testing_sink_new ();
}

static FlowStatefulLogic *
build_nothing (const char  *key,
               GVariant    *resume_state,
               gpointer     user_data,
               GError     **error)
{
  return NULL;
}

static FlowStatefulLogic *
build_failing (const char  *key,
               GVariant    *resume_state,
               gpointer     user_data,
               GError     **error)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no logic for %s", key);
  return NULL;
}

static void
test_error_builder (FlowHarness *h, gconstpointer data)
{
  FlowStatefulLogicBuilder builder = (FlowStatefulLogicBuilder) data;
  FlowStream *s = flow_harness_input (h, ITEMS);
  const GError *error;

  s = flow_stream_stateful (s, "count", builder, NULL, NULL);
  error = flow_harness_run_error (h, s);
  if (builder == build_wrong_type)
    g_assert_cmpstr (error->message, ==,
                     "stateful step 'test.count' failed for key 'b': the builder returned a "
                     "FlowTestingSink, not a FlowStatefulLogic");
  else if (builder == build_nothing)
    g_assert_cmpstr (error->message, ==,
                     "stateful step 'test.count' failed for key 'b': the builder returned no logic");
  else
    {
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
      g_assert_cmpstr (error->message, ==,
                       "stateful step 'test.count' failed for key 'b': builder: no logic for b");
    }
}

static void
test_error_batch_builder (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, ITEMS);
  const GError *error;
  Config config;

  /* A FlowStatefulLogic is not a FlowStatefulBatchLogic. */
  config_init (&config, h);
  s = flow_stream_stateful_batch (s, "batches", (FlowStatefulBatchLogicBuilder) build_counter,
                                  &config, NULL);
  error = flow_harness_run_error (h, s);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE);
  flow_test_assert_error_has (error, "stateful_batch step 'test.batches' failed for key 'b': "
                                     "the builder returned a TestCounter, not a FlowStatefulBatchLogic");
  config_clear (&config);
}

static void
test_not_keyed (FlowHarness *h, gconstpointer data)
{
  Config config;
  FlowStream *s = flow_harness_input (h, "[<int64 1>]");
  const GError *error;

  config_init (&config, h);
  s = flow_stream_stateful (s, "count", build_counter, &config, NULL);
  error = flow_harness_run_error (h, s);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_NOT_KEYED);
  flow_test_assert_error_has (error, "stateful step 'test.count'");
  config_clear (&config);
}

/* Recovery: the state is the logic's snapshot; on resume the builder gets
 * it and notify_at is asked again, so a notification pending when the
 * first run ended fires in the second, for a key that gets no item. */
static gboolean
run_resume_full (const char  *dir,
                 const char  *items,
                 double       pause,
                 double       snapshot_interval,
                 Config      *config,
                 char       **repr,
                 GError     **error)
{
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("resume");
  g_autoptr(FlowTestingSource) source = flow_test_source_new_parse (items);
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowRunner) runner = NULL;
  FlowStream *s;
  gboolean ok;

  if (pause > 0)
    flow_testing_source_add_marker (source, 1, FLOW_TESTING_MARKER_PAUSE, pause);
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_stateful (s, "count", build_counter, config, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));
  runner = flow_runner_new (flow);
  flow_runner_set_recovery_directory (runner, dir);
  if (snapshot_interval >= 0)
    flow_runner_set_snapshot_interval (runner, snapshot_interval);
  ok = flow_test_run_with (runner, error);
  *repr = flow_test_sink_repr (sink);
  return ok;
}

static gboolean
run_resume (const char  *dir,
            const char  *items,
            double       pause,
            Config      *config,
            char       **repr,
            GError     **error)
{
  return run_resume_full (dir, items, pause, -1, config, repr, error);
}

/* A failure commits nothing of its epoch: with an epoch per batch, the
 * run that failed on 99 committed a's count of 2 and the input before 99;
 * the next run replays 99 from there. */
static void
test_error_not_committed (void)
{
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "stateful-failed", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *first = NULL, *second = NULL;
  const char *items = "[('a', <int64 1>), ('a', <int64 2>), ('a', <int64 99>)]";
  Config config;

  config_init (&config, NULL);
  config.fail_on = 99;
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (flow_recovery_init_dir (dir, 1, &error));
  g_assert_false (run_resume_full (dir, items, 0, 0, &config, &first, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==,
                   "stateful step 'resume.count' failed for key 'a': on_item(): counter broke at 3");
  g_clear_error (&error);

  config.fail_on = 0;
  config.resumed = 0;
  g_assert_true (run_resume_full (dir, items, 0, 0, &config, &second, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (config.resumed, ==, 1);
  g_assert_cmpstr (second, ==, "[('a', 3), ('a', 'eof 3')]");
  config_clear (&config);
}

static void
test_resume (void)
{
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "stateful-resume", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *first = NULL, *second = NULL;
  Config config;

  config_init (&config, NULL);
  config.notify_after = G_TIME_SPAN_HOUR;
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (flow_recovery_init_dir (dir, 2, &error));
  g_assert_no_error (error);

  /* First run: a and b ask for a notification in an hour; the input ends
   * first; on_eof keeps them. */
  g_assert_true (run_resume (dir, "[('a', <int64 1>), ('b', <int64 2>)]", 0, &config, &first, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (first, ==, "[('a', 1), ('b', 1), ('a', 'eof 1'), ('b', 'eof 1')]");
  g_assert_cmpuint (config.resumed, ==, 0);

  /* Second run, new input: both logics come back from their snapshots;
   * a counts on; the pause of two hours lets both notifications fire. */
  config.built = 0;
  g_assert_true (run_resume (dir, "[('a', <int64 3>), ('c', <int64 4>)]", 7200, &config, &second, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (config.resumed, ==, 2);
  g_assert_cmpuint (config.built, ==, 3);
  g_assert_cmpstr (second, ==, "[('a', 2), ('a', 'notified 2'), ('b', 'notified 1'), ('c', 1), "
                               "('a', 'eof 2'), ('b', 'eof 1'), ('c', 'eof 1')]");
  config_clear (&config);
}

/* A discarded logic's state is deleted: the resumed run builds afresh. */
static void
test_resume_discarded (void)
{
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "stateful-discarded", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *first = NULL, *second = NULL;
  Config config;

  config_init (&config, NULL);
  config.discard_at = 2;
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (flow_recovery_init_dir (dir, 1, &error));
  g_assert_true (run_resume (dir, "[('a', <int64 1>), ('a', <int64 2>), ('b', <int64 3>)]", 0,
                             &config, &first, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (first, ==, "[('a', 1), ('a', 2), ('b', 1), ('b', 'eof 1')]");

  g_assert_true (run_resume (dir, "[('a', <int64 5>), ('b', <int64 6>)]", 0,
                             &config, &second, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (config.resumed, ==, 1);   /* b only */
  /* b comes back at 1, and reaches 2: discarded again. */
  g_assert_cmpstr (second, ==, "[('a', 1), ('b', 2), ('a', 'eof 1')]");
  config_clear (&config);
}

/* ------------------------------------------------------------------------
 * filter_map_value, raises
 * ------------------------------------------------------------------------ */

static GVariant *
odd_to_nothing (GVariant  *value,
                gpointer   user_data,
                GError   **error)
{
  gint64 n = g_variant_get_int64 (value);

  return n % 2 != 0 ? NULL : g_variant_new_int64 (n + 1);
}

static void
test_filter_map_value (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "[('a', <int64 0>), ('b', <int64 1>), ('a', <int64 2>), "
                                         "('b', <int64 3>), ('a', <int64 4>)]");

  s = flow_stream_filter_map_value (s, "make_odd", odd_to_nothing, NULL, NULL);
  assert_output (h, s, "[('a', 1), ('a', 3), ('a', 5)]");
}

static void
test_raises (void)
{
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("test");
  g_autoptr(FlowTestingSource) source = flow_test_source_new_parse ("[<int64 7>, <int64 8>]");
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(GError) error = NULL;
  FlowStream *s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));

  /* raises is an effect of its own: the flow needs no output. */
  flow_stream_raises (s, "boom");
  g_assert_true (flow_dataflow_check (flow, &error));
  g_assert_no_error (error);
  g_assert_false (flow_test_run (flow, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "raises step 'test.boom' got an item: 7");
}

static gboolean
never (GVariant  *item,
       gpointer   user_data,
       GError   **error)
{
  return FALSE;
}

static void
test_raises_nothing (void)
{
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("test");
  g_autoptr(FlowTestingSource) source = flow_test_source_new_parse ("[<int64 7>]");
  g_autoptr(GError) error = NULL;
  FlowStream *s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));

  /* No item reaches it: the run succeeds. */
  s = flow_stream_filter (s, "none", never, NULL, NULL);
  flow_stream_raises (s, "boom");
  g_assert_true (flow_test_run (flow, &error));
  g_assert_no_error (error);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_set_nonfatal_assertions ();

  ADD ("/stateful/item-order", test_item_order);
  ADD ("/stateful/batches-of-one", test_item_batches_of_one);
  ADD ("/stateful/discard", test_discard);
  ADD ("/stateful/notify", test_notify);
  ADD ("/stateful/notify-order", test_notify_order);
  ADD ("/stateful/not-keyed", test_not_keyed);
  ADD ("/stateful/error/on-item", test_error_on_item);
  ADD ("/stateful/error/wrong-shape", test_error_wrong_shape);
  g_test_add ("/stateful/error/builder-wrong-type", FlowHarness, build_wrong_type,
              flow_harness_setup, test_error_builder, flow_harness_teardown);
  g_test_add ("/stateful/error/builder-no-logic", FlowHarness, build_nothing,
              flow_harness_setup, test_error_builder, flow_harness_teardown);
  g_test_add ("/stateful/error/builder-fails", FlowHarness, build_failing,
              flow_harness_setup, test_error_builder, flow_harness_teardown);
  ADD ("/stateful-batch/on-batch", test_batch);
  ADD ("/stateful-batch/discard", test_batch_discard);
  ADD ("/stateful-batch/error/builder-wrong-type", test_error_batch_builder);
  ADD ("/filter-map-value", test_filter_map_value);
  g_test_add_func ("/raises/fails", test_raises);
  g_test_add_func ("/raises/no-item", test_raises_nothing);
  g_test_add_func ("/stateful/resume", test_resume);
  g_test_add_func ("/stateful/resume-discarded", test_resume_discarded);
  g_test_add_func ("/stateful/error/nothing-committed", test_error_not_committed);

  return g_test_run ();
}
