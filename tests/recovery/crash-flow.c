/* crash-flow.c: the dataflow the crash test kills and resumes.
 *
 *   crash-flow INPUT OUTPUT [RUNNER OPTIONS]   lines of INPUT (numbers) keyed
 *                                             on n % 100, a running sum per
 *                                             key, to the file OUTPUT
 *   crash-flow INPUT - [RUNNER OPTIONS]       the same to standard output
 *
 * Environment: CRASH_FLOW_BATCH sets the file source's batch size;
 * CRASH_FLOW_DISCARD=N makes every line n with n % N == 0 discard the
 * state of its key (a tombstone) and emit -1; CRASH_FLOW_WINDOW=W sums the
 * lines of each key in tumbling windows of W seconds of event time
 * instead (line n at n seconds after the Unix epoch), emitting
 * (key, (window_id, sum)) as each window closes (a fold_window).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>
#include <string.h>

#include <flow.h>

#define N_KEYS 100

static char *
key_of (GVariant  *item,
        gpointer   user_data,
        GError   **error)
{
  const char *line = g_variant_get_string (item, NULL);
  guint64 n;

  if (!g_ascii_string_to_unsigned (line, 10, 0, G_MAXUINT64, &n, error))
    return NULL;
  return g_strdup_printf ("k%02u", (guint) (n % N_KEYS));
}

static GVariant *
zero (gpointer   user_data,
      GError   **error)
{
  return g_variant_new_int64 (0);
}

static guint64 discard_every;

static GVariant *
add (GVariant  *sum,
     GVariant  *line,
     GVariant **emit,
     gpointer   user_data,
     GError   **error)
{
  guint64 n;
  gint64 updated;

  if (!g_ascii_string_to_unsigned (g_variant_get_string (line, NULL), 10, 0, G_MAXINT32, &n, error))
    return NULL;
  if (discard_every > 0 && n % discard_every == 0)
    {
      *emit = g_variant_new_int64 (-1);
      return NULL;
    }
  updated = g_variant_get_int64 (sum) + (gint64) n;
  *emit = g_variant_new_int64 (updated);
  return g_variant_new_int64 (updated);
}

static gint64
line_ts (GVariant  *line,
         gpointer   user_data,
         GError   **error)
{
  guint64 n;

  if (!g_ascii_string_to_unsigned (g_variant_get_string (line, NULL), 10, 0, G_MAXINT32, &n, error))
    return 0;
  return (gint64) n * G_USEC_PER_SEC;
}

static GVariant *
add_line (GVariant  *sum,
          GVariant  *line,
          gpointer   user_data,
          GError   **error)
{
  guint64 n;

  if (!g_ascii_string_to_unsigned (g_variant_get_string (line, NULL), 10, 0, G_MAXINT32, &n, error))
    return NULL;
  return g_variant_new_int64 (g_variant_get_int64 (sum) + (gint64) n);
}

static GVariant *
add_sums (GVariant  *a,
          GVariant  *b,
          gpointer   user_data,
          GError   **error)
{
  return g_variant_new_int64 (g_variant_get_int64 (a) + g_variant_get_int64 (b));
}

static FlowStream *
window_sums (FlowStream *keyed,
             guint64     seconds)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FlowEventClock) clock = flow_event_clock_new (0, line_ts, NULL, NULL, &error);
  g_autoptr(FlowTumblingWindower) windower = NULL;
  g_autoptr(FlowWindowOut) out = NULL;

  g_assert_no_error (error);
  windower = flow_tumbling_windower_new ((GTimeSpan) seconds * G_USEC_PER_SEC, 0, &error);
  g_assert_no_error (error);
  out = flow_stream_fold_window (keyed, "sum", FLOW_WINDOW_CLOCK (clock), FLOW_WINDOWER (windower),
                                 zero, NULL, NULL, add_line, NULL, NULL, add_sums, NULL, NULL,
                                 FALSE);
  return flow_window_out_get_down (out);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("crash");
  g_autoptr(FlowFileSource) source = NULL;
  g_autoptr(FlowSink) sink = NULL;
  g_autoptr(FlowRunner) runner = NULL;
  const char *batch = g_getenv ("CRASH_FLOW_BATCH");
  const char *discard = g_getenv ("CRASH_FLOW_DISCARD");
  const char *window = g_getenv ("CRASH_FLOW_WINDOW");
  FlowStream *lines, *keyed, *sums;

  if (argc < 3)
    {
      g_printerr ("usage: %s INPUT OUTPUT|- [RUNNER OPTIONS]\n", argv[0]);
      return 2;
    }

  if (discard != NULL)
    discard_every = g_ascii_strtoull (discard, NULL, 10);
  source = flow_file_source_new (argv[1]);
  if (batch != NULL)
    flow_file_source_set_batch_size (source, (guint) atoi (batch));
  if (g_str_equal (argv[2], "-"))
    sink = FLOW_SINK (flow_std_out_sink_new ());
  else
    sink = FLOW_SINK (flow_file_sink_new (argv[2]));

  lines = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  keyed = flow_stream_key_on (lines, "key", key_of, NULL, NULL);
  if (window != NULL && g_ascii_strtoull (window, NULL, 10) > 0)
    sums = window_sums (keyed, g_ascii_strtoull (window, NULL, 10));
  else
    sums = flow_stream_stateful_map (keyed, "sum", zero, NULL, NULL, add, NULL, NULL);
  flow_stream_output (sums, "out", sink);

  runner = flow_runner_new (flow);
  /* argv[1] and argv[2] are ours: the runner sees the program name and
   * the options after them. */
  argv[2] = argv[0];
  return flow_runner_run_with_args (runner, argc - 2, argv + 2);
}
