/* test-dynamic.c: dynamic (per-worker) sources and sinks
 * (flow_source_build_worker_part(), flow_sink_build_worker_part(); issue 9)
 *
 * A dynamic source is built once per worker with the worker's index and
 * the worker count; a dynamic sink too, and each worker's partition gets
 * the items that worker holds, without an exchange. Run with 1, 2 and 3
 * workers; and the Prometheus endpoint of a run with 2 workers, read over
 * HTTP.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gstdio.h>

#include "flow-test-utils.h"

#define N_ITEMS 300
#define N_KEYS 7

/* ---- a dynamic source: worker i of n reads i, i + n, i + 2n… < N_ITEMS ---- */

#define DYN_TYPE_SOURCE (dyn_source_get_type ())
G_DECLARE_FINAL_TYPE (DynSource, dyn_source, DYN, SOURCE, FlowSource)
struct _DynSource
{
  FlowSource parent;
  GPtrArray *built;    /* DynSourcePart*, in build order */
  guint      fail_on;  /* G_MAXUINT: none */
  /* With hold set, a partition that read its items returns empty batches
   * (it counts itself in drained, and wakes up wake) until release is
   * set, then ends. */
  gboolean      hold;
  gint          drained;
  gint          release;
  GMainContext *wake;
};
G_DEFINE_FINAL_TYPE (DynSource, dyn_source, FLOW_TYPE_SOURCE)

#define DYN_TYPE_SOURCE_PART (dyn_source_part_get_type ())
G_DECLARE_FINAL_TYPE (DynSourcePart, dyn_source_part, DYN, SOURCE_PART, FlowSourcePartition)
struct _DynSourcePart
{
  FlowSourcePartition parent;
  DynSource *source;
  gboolean   drained;
  char  *step_id;
  guint  index, count;
  gint64 next;
  guint  snapshots;
};
G_DEFINE_FINAL_TYPE (DynSourcePart, dyn_source_part, FLOW_TYPE_SOURCE_PARTITION)

static GVariant *
dyn_source_part_next_batch (FlowSourcePartition *part, GError **error)
{
  DynSourcePart *self = DYN_SOURCE_PART (part);
  DynSource *source = self->source;
  GVariantBuilder b;

  if (self->next >= N_ITEMS && source->hold && !g_atomic_int_get (&source->release))
    {
      if (!self->drained)
        {
          self->drained = TRUE;
          g_atomic_int_inc (&source->drained);
          g_main_context_wakeup (source->wake);
        }
      return g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_INT64, NULL, 0));
    }
  if (self->next >= N_ITEMS)
    return NULL;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("ax"));
  for (guint k = 0; k < 16 && self->next < N_ITEMS; k++, self->next += self->count)
    g_variant_builder_add (&b, "x", self->next);
  return g_variant_ref_sink (g_variant_builder_end (&b));
}

static GVariant *
dyn_source_part_snapshot (FlowSourcePartition *part, GError **error)
{
  DYN_SOURCE_PART (part)->snapshots++;
  return g_variant_new_int64 (DYN_SOURCE_PART (part)->next);
}

static void
dyn_source_part_finalize (GObject *object)
{
  g_free (DYN_SOURCE_PART (object)->step_id);
  G_OBJECT_CLASS (dyn_source_part_parent_class)->finalize (object);
}

static void dyn_source_part_class_init (DynSourcePartClass *k)
{
  G_OBJECT_CLASS (k)->finalize = dyn_source_part_finalize;
  FLOW_SOURCE_PARTITION_CLASS (k)->next_batch = dyn_source_part_next_batch;
  FLOW_SOURCE_PARTITION_CLASS (k)->snapshot = dyn_source_part_snapshot;
}
static void dyn_source_part_init (DynSourcePart *self) {}

static FlowSourcePartition *
dyn_source_build_worker_part (FlowSource  *source,
                              const char  *step_id,
                              guint        worker_index,
                              guint        worker_count,
                              GError     **error)
{
  DynSource *self = DYN_SOURCE (source);
  DynSourcePart *part;

  if (worker_index == self->fail_on)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no such shard %u", worker_index);
      return NULL;
    }
  part = g_object_new (DYN_TYPE_SOURCE_PART, NULL);
  part->source = self;
  part->step_id = g_strdup (step_id);
  part->index = worker_index;
  part->count = worker_count;
  part->next = worker_index;
  g_ptr_array_add (self->built, g_object_ref (part));
  return FLOW_SOURCE_PARTITION (part);
}

static void
dyn_source_finalize (GObject *object)
{
  g_ptr_array_unref (DYN_SOURCE (object)->built);
  G_OBJECT_CLASS (dyn_source_parent_class)->finalize (object);
}

static void dyn_source_class_init (DynSourceClass *k)
{
  G_OBJECT_CLASS (k)->finalize = dyn_source_finalize;
  FLOW_SOURCE_CLASS (k)->build_worker_part = dyn_source_build_worker_part;
}
static void dyn_source_init (DynSource *self)
{
  self->built = g_ptr_array_new_with_free_func (g_object_unref);
  self->fail_on = G_MAXUINT;
}

/* ---- a dynamic sink: each worker's partition keeps what it got ---- */

#define DYN_TYPE_SINK (dyn_sink_get_type ())
G_DECLARE_FINAL_TYPE (DynSink, dyn_sink, DYN, SINK, FlowSink)
struct _DynSink { FlowSink parent; GPtrArray *built; };
G_DEFINE_FINAL_TYPE (DynSink, dyn_sink, FLOW_TYPE_SINK)

#define DYN_TYPE_SINK_PART (dyn_sink_part_get_type ())
G_DECLARE_FINAL_TYPE (DynSinkPart, dyn_sink_part, DYN, SINK_PART, FlowSinkPartition)
struct _DynSinkPart
{
  FlowSinkPartition parent;
  guint      index, count;
  GPtrArray *items;      /* GVariant*, written on the worker's thread */
  GThread   *thread;     /* the thread that wrote (one per partition) */
  gboolean   other_thread;
  guint      snapshots;
};
G_DEFINE_FINAL_TYPE (DynSinkPart, dyn_sink_part, FLOW_TYPE_SINK_PARTITION)

static gboolean
dyn_sink_part_write_batch (FlowSinkPartition *part, GPtrArray *items, GError **error)
{
  DynSinkPart *self = DYN_SINK_PART (part);

  if (self->thread == NULL)
    self->thread = g_thread_self ();
  else if (self->thread != g_thread_self ())
    self->other_thread = TRUE;
  for (guint i = 0; i < items->len; i++)
    g_ptr_array_add (self->items, g_variant_ref (g_ptr_array_index (items, i)));
  return TRUE;
}

static GVariant *
dyn_sink_part_snapshot (FlowSinkPartition *part, GError **error)
{
  DYN_SINK_PART (part)->snapshots++;
  return g_variant_new_uint32 (DYN_SINK_PART (part)->items->len);
}

static void
dyn_sink_part_finalize (GObject *object)
{
  g_ptr_array_unref (DYN_SINK_PART (object)->items);
  G_OBJECT_CLASS (dyn_sink_part_parent_class)->finalize (object);
}

static void dyn_sink_part_class_init (DynSinkPartClass *k)
{
  G_OBJECT_CLASS (k)->finalize = dyn_sink_part_finalize;
  FLOW_SINK_PARTITION_CLASS (k)->write_batch = dyn_sink_part_write_batch;
  FLOW_SINK_PARTITION_CLASS (k)->snapshot = dyn_sink_part_snapshot;
}
static void dyn_sink_part_init (DynSinkPart *self)
{
  self->items = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
}

static FlowSinkPartition *
dyn_sink_build_worker_part (FlowSink    *sink,
                            const char  *step_id,
                            guint        worker_index,
                            guint        worker_count,
                            GError     **error)
{
  DynSinkPart *part = g_object_new (DYN_TYPE_SINK_PART, NULL);

  part->index = worker_index;
  part->count = worker_count;
  g_ptr_array_add (DYN_SINK (sink)->built, g_object_ref (part));
  return FLOW_SINK_PARTITION (part);
}

static void
dyn_sink_finalize (GObject *object)
{
  g_ptr_array_unref (DYN_SINK (object)->built);
  G_OBJECT_CLASS (dyn_sink_parent_class)->finalize (object);
}

static void dyn_sink_class_init (DynSinkClass *k)
{
  G_OBJECT_CLASS (k)->finalize = dyn_sink_finalize;
  FLOW_SINK_CLASS (k)->build_worker_part = dyn_sink_build_worker_part;
}
static void dyn_sink_init (DynSink *self)
{
  self->built = g_ptr_array_new_with_free_func (g_object_unref);
}

/* ---- the flows ---- */

static GVariant *
tag (GVariant *item, gpointer data, GError **error)
{
  return g_variant_new_int64 (g_variant_get_int64 (item));
}

static char *
key_of (GVariant *item, gpointer data, GError **error)
{
  return g_strdup_printf ("k%" G_GINT64_FORMAT, g_variant_get_int64 (item) % N_KEYS);
}

/* The state is (count, sum); emits (count, item). */
static GVariant *
running (GVariant *state, GVariant *value, GVariant **emit, gpointer data, GError **error)
{
  gint64 count = state != NULL ? g_variant_get_int64 (state) : 0;

  count++;
  *emit = g_variant_ref_sink (g_variant_new ("(xx)", count, g_variant_get_int64 (value)));
  return g_variant_ref_sink (g_variant_new_int64 (count));
}

/* A flow "dyn" reading a DynSource at step "inp"; the tests add the
 * rest, ending at the DynSink, and run it with fixture_run(). The test data
 * is the number of workers. */
typedef struct
{
  FlowDataflow *flow;
  DynSource    *source;
  DynSink      *sink;
  FlowStream   *input;
  FlowRunner   *runner;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->flow = flow_dataflow_new ("dyn");
  f->source = g_object_new (DYN_TYPE_SOURCE, NULL);
  f->sink = g_object_new (DYN_TYPE_SINK, NULL);
  f->input = flow_dataflow_input (f->flow, "inp", FLOW_SOURCE (f->source));
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_assert_finalize_object (f->runner);
  g_assert_finalize_object (f->flow);
  g_assert_finalize_object (f->source);
  g_assert_finalize_object (f->sink);
}

/* Runs the flow with @workers workers (and recovery in @recovery_dir if
 * not %NULL); returns what flow_runner_run() did, with @error set. */
static gboolean
fixture_run (Fixture     *f,
             guint        workers,
             const char  *recovery_dir,
             GError     **error)
{
  g_assert_null (f->runner);
  f->runner = flow_runner_new (f->flow);
  flow_runner_set_workers (f->runner, workers);
  if (recovery_dir != NULL)
    flow_runner_set_recovery_directory (f->runner, recovery_dir);
  return flow_runner_run (f->runner, NULL, error);
}

static void
fixture_run_ok (Fixture    *f,
                guint       workers,
                const char *recovery_dir)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (fixture_run (f, workers, recovery_dir, &error));
  g_assert_no_error (error);
}

/* Every worker got one source partition and one sink partition, with its
 * index and the worker count. */
static void
check_parts (DynSource *source, DynSink *sink, guint workers)
{
  g_assert_cmpuint (source->built->len, ==, workers);
  g_assert_cmpuint (sink->built->len, ==, workers);
  for (guint i = 0; i < workers; i++)
    {
      gboolean seen_source = FALSE, seen_sink = FALSE;

      for (guint j = 0; j < workers; j++)
        {
          DynSourcePart *sp = g_ptr_array_index (source->built, j);
          DynSinkPart *kp = g_ptr_array_index (sink->built, j);

          g_assert_cmpuint (sp->count, ==, workers);
          g_assert_cmpuint (kp->count, ==, workers);
          g_assert_cmpstr (sp->step_id, ==, "dyn.inp");
          seen_source |= sp->index == i;
          seen_sink |= kp->index == i;
        }
      g_assert_true (seen_source);
      g_assert_true (seen_sink);
    }
  for (guint j = 0; j < workers; j++)
    g_assert_false (DYN_SINK_PART (g_ptr_array_index (sink->built, j))->other_thread);
}

/* Stateless: what worker i reads reaches worker i's sink partition. */
static void
test_dynamic_stateless (Fixture       *f,
                        gconstpointer  data)
{
  guint workers = GPOINTER_TO_UINT (data);
  guint total = 0;

  flow_stream_output (flow_stream_map (f->input, "tag", tag, NULL, NULL),
                      "out", FLOW_SINK (f->sink));
  fixture_run_ok (f, workers, NULL);

  check_parts (f->source, f->sink, workers);
  for (guint j = 0; j < workers; j++)
    {
      DynSinkPart *part = g_ptr_array_index (f->sink->built, j);
      g_autofree gboolean *seen = g_new0 (gboolean, N_ITEMS);

      /* Worker i's source reads i, i + n, …: all of them, once, here. */
      for (guint k = 0; k < part->items->len; k++)
        {
          gint64 v = g_variant_get_int64 (g_ptr_array_index (part->items, k));

          g_assert_cmpint (v % workers, ==, part->index);
          g_assert_false (seen[v]);
          seen[v] = TRUE;
        }
      g_assert_cmpuint (part->items->len, ==, (N_ITEMS - part->index + workers - 1) / workers);
      total += part->items->len;
    }
  g_assert_cmpuint (total, ==, N_ITEMS);
}

/* After a keyed stateful step: each key's items are in one worker's sink
 * partition (the worker that owns the key), counted 1, 2, 3… in order. */
static void
test_dynamic_stateful (Fixture       *f,
                       gconstpointer  data)
{
  guint workers = GPOINTER_TO_UINT (data);
  g_autoptr(GHashTable) owner = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) last = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint total = 0;
  FlowStream *s;

  s = flow_stream_key_on (f->input, "key", key_of, NULL, NULL);
  s = flow_stream_stateful_map (s, "count", NULL, NULL, NULL, running, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (f->sink));
  fixture_run_ok (f, workers, NULL);

  check_parts (f->source, f->sink, workers);
  for (guint j = 0; j < workers; j++)
    {
      DynSinkPart *part = g_ptr_array_index (f->sink->built, j);

      for (guint k = 0; k < part->items->len; k++)
        {
          g_autoptr(GVariant) inner = NULL;
          const char *key;
          gint64 count, value;
          gpointer where;

          /* A keyed item reaches a sink as (key, value) */
          g_variant_get (g_ptr_array_index (part->items, k), "(&sv)", &key, &inner);
          g_variant_get (inner, "(xx)", &count, &value);
          g_assert_cmpint (value % N_KEYS, ==, g_ascii_strtoll (key + 1, NULL, 10));
          if (g_hash_table_lookup_extended (owner, key, NULL, &where))
            g_assert_cmpuint (GPOINTER_TO_UINT (where), ==, part->index);
          else
            g_hash_table_insert (owner, g_strdup (key), GUINT_TO_POINTER (part->index));
          g_assert_cmpint (count, ==, GPOINTER_TO_INT (g_hash_table_lookup (last, key)) + 1);
          g_hash_table_insert (last, g_strdup (key), GINT_TO_POINTER ((gint) count));
        }
      total += part->items->len;
    }
  g_assert_cmpuint (total, ==, N_ITEMS);
  g_assert_cmpuint (g_hash_table_size (owner), ==, N_KEYS);
}

static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* With recovery: a dynamic source's and sink's partitions have no resume
 * state; a resumed run builds them afresh (the source reads from its
 * start again), and the snapshots still flush the sink every epoch. */
static void
test_dynamic_recovery (void)
{
  g_autofree char *dir = g_dir_make_tmp ("flow-dyn-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (flow_recovery_init_dir (dir, 2, &error));
  g_assert_no_error (error);
  for (guint run = 0; run < 2; run++)
    {
      Fixture f = { NULL, };
      guint total = 0;

      fixture_set_up (&f, NULL);
      flow_stream_output (flow_stream_map (f.input, "tag", tag, NULL, NULL),
                          "out", FLOW_SINK (f.sink));
      fixture_run_ok (&f, 2, dir);
      for (guint j = 0; j < 2; j++)
        {
          DynSinkPart *part = g_ptr_array_index (f.sink->built, j);

          total += part->items->len;
          g_assert_cmpuint (part->snapshots, >=, 1);
        }
      /* Every run reads everything: nothing resumed. */
      g_assert_cmpuint (total, ==, N_ITEMS);
      fixture_tear_down (&f, NULL);
    }
  remove_tree (dir);
}

static guint64
part_count (GVariant *metrics, const char *what, const char *name)
{
  g_autoptr(GVariant) parts = g_variant_lookup_value (metrics, what, G_VARIANT_TYPE ("a{st}"));
  guint64 count = G_MAXUINT64;

  g_assert_nonnull (parts);
  if (!g_variant_lookup (parts, name, "t", &count))
    {
      g_autofree char *shown = g_variant_print (parts, FALSE);
      g_error ("no %s in %s: %s", name, what, shown);
    }
  return count;
}

/* The metrics of a run with several workers have every worker's
 * partitions (items_read, items_written), named as with one worker. */
static void
test_dynamic_metrics (Fixture       *f,
                      gconstpointer  data)
{
  guint workers = GPOINTER_TO_UINT (data);
  g_autoptr(FlowTestingSource) letters =
    flow_testing_source_new (g_variant_new_parsed ("['a', 'b', 'c', 'd', 'e']"));
  g_autoptr(FlowTestingSink) collected = flow_testing_sink_new ();
  g_autoptr(GVariant) metrics = NULL;
  g_autoptr(GVariant) read = NULL;
  g_autoptr(GVariant) written = NULL;
  guint64 total = 0;

  flow_stream_output (flow_stream_map (f->input, "tag", tag, NULL, NULL),
                      "out", FLOW_SINK (f->sink));
  flow_stream_output (flow_dataflow_input (f->flow, "letters", FLOW_SOURCE (letters)),
                      "collect", FLOW_SINK (collected));
  fixture_run_ok (f, workers, NULL);

  metrics = flow_runner_get_metrics (f->runner);
  read = g_variant_lookup_value (metrics, "items_read", G_VARIANT_TYPE ("a{st}"));
  written = g_variant_lookup_value (metrics, "items_written", G_VARIANT_TYPE ("a{st}"));
  /* One per worker of the dynamic ones, one of each testing one. */
  g_assert_cmpuint (g_variant_n_children (read), ==, workers + 1);
  g_assert_cmpuint (g_variant_n_children (written), ==, workers + 1);
  for (guint i = 0; i < workers; i++)
    {
      g_autofree char *in = g_strdup_printf ("dyn.inp/worker-%u", i);
      g_autofree char *out = g_strdup_printf ("dyn.out/worker-%u", i);
      guint64 expected = (N_ITEMS - i + workers - 1) / workers;

      g_assert_cmpuint (part_count (metrics, "items_read", in), ==, expected);
      g_assert_cmpuint (part_count (metrics, "items_written", out), ==, expected);
      total += part_count (metrics, "items_written", out);
    }
  g_assert_cmpuint (total, ==, N_ITEMS);
  g_assert_cmpuint (part_count (metrics, "items_read", "dyn.letters/0"), ==, 5);
  g_assert_cmpuint (part_count (metrics, "items_written", "dyn.collect/0"), ==, 5);
}

/* ---- the Prometheus endpoint with several workers, over HTTP ---- */

typedef struct
{
  GOutputStream *body;
  GError        *error;
  gboolean       done;
} HttpGet;

static void
http_spliced (GObject *stream, GAsyncResult *result, gpointer data)
{
  HttpGet *get = data;

  g_output_stream_splice_finish (G_OUTPUT_STREAM (stream), result, &get->error);
  get->done = TRUE;
}

static void
http_connected (GObject *client, GAsyncResult *result, gpointer data)
{
  HttpGet *get = data;
  g_autoptr(GSocketConnection) conn = NULL;
  const char *request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";

  conn = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (client), result, &get->error);
  if (conn == NULL ||
      !g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)),
                                  request, strlen (request), NULL, NULL, &get->error))
    {
      get->done = TRUE;
      return;
    }
  g_output_stream_splice_async (get->body, g_io_stream_get_input_stream (G_IO_STREAM (conn)),
                                G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                G_PRIORITY_DEFAULT, NULL, http_spliced, get);
}

/* GETs /metrics on @port with GIO's async client, on the thread-default
 * @context, which also runs the runner's endpoint; returns the response. */
static char *
http_get_metrics (GMainContext *context,
                  guint         port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  HttpGet get = { g_memory_output_stream_new_resizable (), NULL, FALSE };
  char *response;

  g_socket_client_connect_to_host_async (client, "127.0.0.1", port, NULL, http_connected, &get);
  while (!get.done)
    g_main_context_iteration (context, TRUE);
  g_assert_no_error (get.error);
  response = g_strndup (g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (get.body)),
                        g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (get.body)));
  g_object_unref (get.body);
  return response;
}

/* Asserts that @text has the series line "\nSERIES VALUE\n". */
static void
assert_series (const char *text,
               const char *series,
               guint64     value)
{
  g_autofree char *line = g_strdup_printf ("\n%s %" G_GUINT64_FORMAT "\n", series, value);

  if (strstr (text, line) == NULL)
    g_error ("no line '%s %" G_GUINT64_FORMAT "' in:\n%s", series, value, text);
}

static void
on_epoch_closed (FlowRunner *runner, guint64 epoch, gpointer data)
{
  *(guint64 *) data = epoch;
}

static void
run_done (GObject *object, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

/* What a user of Prometheus reads of a run with several workers, at
 * http://HOST:PORT/metrics while it runs: every worker's input and output
 * partitions, and each step's counters summed over the workers. The run
 * is held on a test clock that moves only when the test says: every
 * worker reads all its items and waits; the test moves the clock to the
 * end of the epoch, and reads the endpoint once the epoch closed (the
 * figures of several workers are those of the last epoch close). */
static void
test_dynamic_prometheus (Fixture       *f,
                         gconstpointer  data)
{
  guint workers = GPOINTER_TO_UINT (data);
  g_autoptr(GMainContext) context = g_main_context_new ();
  FlowClock *clock = flow_clock_new_test (G_GINT64_CONSTANT (1700000000000000));
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  GAsyncResult *result = NULL;
  guint64 closed = 0, written = 0;
  FlowStream *s;
  guint port;

  flow_clock_set_auto_advance (clock, FALSE);
  f->source->hold = TRUE;
  f->source->wake = context;
  s = flow_stream_key_on (f->input, "key", key_of, NULL, NULL);
  s = flow_stream_stateful_map (s, "count", NULL, NULL, NULL, running, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (f->sink));
  f->runner = flow_runner_new (f->flow);
  flow_runner_set_workers (f->runner, workers);
  flow_runner_set_clock (f->runner, clock);
  flow_runner_set_snapshot_interval (f->runner, 1.0);
  flow_runner_set_metrics_address (f->runner, "127.0.0.1:0");
  g_signal_connect (f->runner, "epoch-closed", G_CALLBACK (on_epoch_closed), &closed);

  g_main_context_push_thread_default (context);
  flow_runner_run_async (f->runner, NULL, run_done, &result);
  port = flow_runner_get_metrics_port (f->runner);
  g_assert_cmpuint (port, >, 0);
  /* Every worker read its items (and waits on the clock for more)... */
  while (g_atomic_int_get (&f->source->drained) < (gint) workers)
    g_main_context_iteration (context, TRUE);
  /* ...then the first epoch closes, with the workers' figures. */
  g_assert_cmpuint (closed, ==, 0);
  flow_clock_advance (clock, G_USEC_PER_SEC);
  while (closed == 0)
    g_main_context_iteration (context, TRUE);
  g_assert_cmpuint (closed, ==, 1);
  g_assert_null (result);

  text = http_get_metrics (context, port);
  g_test_message ("%s", text);
  g_assert_true (g_str_has_prefix (text, "HTTP/1.1 200 OK\r\n"));
  assert_series (text, "flow_running{dataflow=\"dyn\"}", 1);
  assert_series (text, "flow_epochs_closed_total{dataflow=\"dyn\"}", 1);
  /* Each worker's partition of the input, named as in get_metrics(). */
  for (guint i = 0; i < workers; i++)
    {
      g_autofree char *series =
        g_strdup_printf ("flow_items_read_total{dataflow=\"dyn\",step_id=\"dyn.inp\",partition=\"worker-%u\"}", i);

      assert_series (text, series, (N_ITEMS - i + workers - 1) / workers);
    }
  /* Let the inputs end: the run finishes. */
  g_atomic_int_set (&f->source->release, 1);
  flow_clock_advance (clock, 10 * G_USEC_PER_SEC);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);
  g_assert_true (flow_runner_run_finish (f->runner, result, &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  flow_runner_set_clock (f->runner, NULL);
  flow_clock_unref (clock);

  /* Each worker's sink partition: what it was given by the epoch close
   * (nothing came after), under its own name. */
  check_parts (f->source, f->sink, workers);
  for (guint j = 0; j < workers; j++)
    {
      DynSinkPart *part = g_ptr_array_index (f->sink->built, j);
      g_autofree char *series =
        g_strdup_printf ("flow_items_written_total{dataflow=\"dyn\",step_id=\"dyn.out\",partition=\"worker-%u\"}",
                         part->index);

      assert_series (text, series, part->items->len);
      written += part->items->len;
    }
  g_assert_cmpuint (written, ==, N_ITEMS);

  /* The steps' counters: of every worker, summed (each key's items went
   * through the one worker that owns the key), as get_metrics() has them
   * in "steps". */
  assert_series (text, "flow_step_items_out_total{dataflow=\"dyn\",step_id=\"dyn.inp\"}", N_ITEMS);
  assert_series (text, "flow_step_items_in_total{dataflow=\"dyn\",step_id=\"dyn.key\"}", N_ITEMS);
  assert_series (text, "flow_step_items_in_total{dataflow=\"dyn\",step_id=\"dyn.count\"}", N_ITEMS);
  assert_series (text, "flow_step_items_out_total{dataflow=\"dyn\",step_id=\"dyn.count\"}", N_ITEMS);
  assert_series (text, "flow_step_keys{dataflow=\"dyn\",step_id=\"dyn.count\"}", N_KEYS);
  assert_series (text, "flow_step_items_in_total{dataflow=\"dyn\",step_id=\"dyn.out\"}", N_ITEMS);
}

/* A worker's partition that cannot be built: the run does not start, and
 * the error names the step and the worker's partition. */
static void
test_dynamic_build_error (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->source->fail_on = 1;
  flow_stream_output (f->input, "out", FLOW_SINK (f->sink));
  g_assert_false (fixture_run (f, 2, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "'dyn.inp'"));
  g_assert_nonnull (strstr (error->message, "'worker-1'"));
  g_assert_nonnull (strstr (error->message, "no such shard 1"));
}

/* A plain source is not dynamic; calling build_worker_part on it is an
 * error, not a crash. */
static void
test_dynamic_not_dynamic (void)
{
  g_autoptr(FlowSource) plain = FLOW_SOURCE (flow_testing_source_new (g_variant_new_array (G_VARIANT_TYPE_INT64, NULL, 0)));
  g_autoptr(DynSource) dyn = g_object_new (DYN_TYPE_SOURCE, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(FlowSourcePartition) part = NULL;

  g_assert_false (flow_source_is_dynamic (plain));
  g_assert_true (flow_source_is_dynamic (FLOW_SOURCE (dyn)));
  part = flow_source_build_worker_part (plain, "f.inp", 0, 1, &error);
  g_assert_null (part);
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_NOT_SUPPORTED);
}

/* Adds @func as PATH/1, PATH/2 and PATH/3, run with that many workers. */
static void
add_per_workers (const char *path,
                 void (*func) (Fixture *, gconstpointer))
{
  for (guint workers = 1; workers <= 3; workers++)
    {
      g_autofree char *name = g_strdup_printf ("%s/%u", path, workers);

      g_test_add (name, Fixture, GUINT_TO_POINTER (workers),
                  fixture_set_up, func, fixture_tear_down);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  add_per_workers ("/dynamic/stateless", test_dynamic_stateless);
  add_per_workers ("/dynamic/stateful", test_dynamic_stateful);
  g_test_add_func ("/dynamic/recovery", test_dynamic_recovery);
  add_per_workers ("/dynamic/metrics", test_dynamic_metrics);
  g_test_add ("/dynamic/prometheus/2", Fixture, GUINT_TO_POINTER (2),
              fixture_set_up, test_dynamic_prometheus, fixture_tear_down);
  g_test_add ("/dynamic/build-error", Fixture, NULL,
              fixture_set_up, test_dynamic_build_error, fixture_tear_down);
  g_test_add_func ("/dynamic/not-dynamic", test_dynamic_not_dynamic);
  return g_test_run ();
}
