/* stateful-crash-flow.c: the dataflow test-stateful-crash kills and resumes.
 *
 *   stateful-crash-flow INPUT OUTPUT [RUNNER OPTIONS]
 *
 * Lines of INPUT (numbers n) keyed on n % 10, through a `stateful` step
 * whose logic (a FlowStatefulLogic) keeps a running sum per key and holds
 * the lines "n sum" back until a notification 20 ms (run clock) after the
 * first one held: on_notify (or on_eof) emits them. So a kill mostly finds
 * logics with held lines and pending notifications; their snapshot is
 * (sum, notification time, held lines), and a resumed run asks notify_at
 * again. The output, a FileSink, is exactly-once; each key's lines come in
 * input order whatever the timing, only the interleaving of keys varies.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>

#include <flow.h>

#define N_KEYS 10
#define HOLD_USEC (20 * G_TIME_SPAN_MILLISECOND)

#define CRASH_TYPE_FLUSHER (crash_flusher_get_type ())
G_DECLARE_FINAL_TYPE (CrashFlusher, crash_flusher, CRASH, FLUSHER, FlowStatefulLogic)

struct _CrashFlusher
{
  FlowStatefulLogic parent_instance;
  gint64     sum;
  gint64     notify_at;   /* -1: none */
  GPtrArray *held;        /* GVariant strings "n sum" */
};

G_DEFINE_FINAL_TYPE (CrashFlusher, crash_flusher, FLOW_TYPE_STATEFUL_LOGIC)

static GVariant *
flush (CrashFlusher *self)
{
  GVariant *out = g_variant_new_array (G_VARIANT_TYPE_STRING,
                                       (GVariant **) self->held->pdata, self->held->len);

  g_ptr_array_set_size (self->held, 0);
  self->notify_at = -1;
  return out;
}

static GVariant *
crash_flusher_on_item (FlowStatefulLogic  *logic,
                       GVariant           *value,
                       gboolean           *discard,
                       GError            **error)
{
  CrashFlusher *self = CRASH_FLUSHER (logic);
  guint64 n;

  if (!g_ascii_string_to_unsigned (g_variant_get_string (value, NULL), 10, 0, G_MAXINT32, &n, error))
    return NULL;
  self->sum += (gint64) n;
  g_ptr_array_add (self->held, g_variant_ref_sink (
    g_variant_new_take_string (g_strdup_printf ("%" G_GUINT64_FORMAT " %" G_GINT64_FORMAT, n, self->sum))));
  if (self->notify_at < 0)
    self->notify_at = flow_get_real_time () + HOLD_USEC;
  return NULL;
}

static GVariant *
crash_flusher_on_notify (FlowStatefulLogic  *logic,
                         gboolean           *discard,
                         GError            **error)
{
  return flush (CRASH_FLUSHER (logic));
}

static GVariant *
crash_flusher_on_eof (FlowStatefulLogic  *logic,
                      gboolean           *discard,
                      GError            **error)
{
  return flush (CRASH_FLUSHER (logic));
}

static gboolean
crash_flusher_notify_at (FlowStatefulLogic  *logic,
                         gint64             *at,
                         GError            **error)
{
  CrashFlusher *self = CRASH_FLUSHER (logic);

  *at = self->notify_at;
  return self->notify_at >= 0;
}

static GVariant *
crash_flusher_snapshot (FlowStatefulLogic  *logic,
                        GError            **error)
{
  CrashFlusher *self = CRASH_FLUSHER (logic);

  return g_variant_new ("(xx@as)", self->sum, self->notify_at,
                        g_variant_new_array (G_VARIANT_TYPE_STRING,
                                             (GVariant **) self->held->pdata, self->held->len));
}

static void
crash_flusher_finalize (GObject *object)
{
  g_ptr_array_unref (CRASH_FLUSHER (object)->held);
  G_OBJECT_CLASS (crash_flusher_parent_class)->finalize (object);
}

static void
crash_flusher_class_init (CrashFlusherClass *klass)
{
  FlowStatefulLogicClass *logic_class = FLOW_STATEFUL_LOGIC_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = crash_flusher_finalize;
  logic_class->on_item = crash_flusher_on_item;
  logic_class->on_notify = crash_flusher_on_notify;
  logic_class->on_eof = crash_flusher_on_eof;
  logic_class->notify_at = crash_flusher_notify_at;
  logic_class->snapshot = crash_flusher_snapshot;
}

static void
crash_flusher_init (CrashFlusher *self)
{
  self->notify_at = -1;
  self->held = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
}

static FlowStatefulLogic *
build (const char  *key,
       GVariant    *resume_state,
       gpointer     user_data,
       GError     **error)
{
  CrashFlusher *self = g_object_new (CRASH_TYPE_FLUSHER, NULL);

  if (resume_state != NULL)
    {
      g_autoptr(GVariant) held = NULL;
      gsize n;

      if (!g_variant_is_of_type (resume_state, G_VARIANT_TYPE ("(xxas)")))
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                       "resume state of type %s", g_variant_get_type_string (resume_state));
          g_object_unref (self);
          return NULL;
        }
      g_variant_get (resume_state, "(xx@as)", &self->sum, &self->notify_at, &held);
      n = g_variant_n_children (held);
      for (gsize i = 0; i < n; i++)
        g_ptr_array_add (self->held, g_variant_get_child_value (held, i));
    }
  return FLOW_STATEFUL_LOGIC (self);
}

static char *
key_of (GVariant  *item,
        gpointer   user_data,
        GError   **error)
{
  guint64 n;

  if (!g_ascii_string_to_unsigned (g_variant_get_string (item, NULL), 10, 0, G_MAXUINT64, &n, error))
    return NULL;
  return g_strdup_printf ("k%u", (guint) (n % N_KEYS));
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("crash");
  g_autoptr(FlowFileSource) source = NULL;
  g_autoptr(FlowFileSink) sink = NULL;
  g_autoptr(FlowRunner) runner = NULL;
  FlowStream *s;

  if (argc < 3)
    {
      g_printerr ("usage: %s INPUT OUTPUT [RUNNER OPTIONS]\n", argv[0]);
      return 2;
    }
  source = flow_file_source_new (argv[1]);
  flow_file_source_set_batch_size (source, 16);
  sink = flow_file_sink_new (argv[2]);

  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_key_on (s, "key", key_of, NULL, NULL);
  s = flow_stream_stateful (s, "hold", build, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));

  runner = flow_runner_new (flow);
  argv[2] = argv[0];
  return flow_runner_run_with_args (runner, argc - 2, argv + 2);
}
