/* window-count.c: events per user and minute, in event time.
 *
 *   window-count [FILE]
 *
 * FILE (default examples/data/events.txt) has one event per line,
 * "TIMESTAMP USER" with an ISO 8601 UTC timestamp. The events of each
 * user are counted in tumbling one-minute windows of event time; an event
 * may come up to 10 seconds after later ones of its user (the event
 * clock's wait), later than that it is late. Prints, as each window
 * closes, "USER HH:MM:SS COUNT" (the window's start), and for each late
 * event "late USER HH:MM:SS" (its time). The same as window_count.py.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <flow.h>

#define SEC G_USEC_PER_SEC

static gint64
to_usec (GDateTime *dt)
{
  return g_date_time_to_unix (dt) * SEC + g_date_time_get_microsecond (dt);
}

static gint64 align_to;   /* 2024-01-01T00:00:00Z */

/* The timestamp of an event line: its first word. */
static gint64
event_time (GVariant  *line,
            gpointer   user_data,
            GError   **error)
{
  const char *text = g_variant_get_string (line, NULL);
  g_autofree char *stamp = g_strndup (text, strcspn (text, " "));
  g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601 (stamp, NULL);

  if (dt == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_INPUT,
                   "'%s' does not start with an ISO 8601 time", text);
      return 0;
    }
  return to_usec (dt);
}

/* The user of an event line: its second word. */
static char *
event_user (GVariant  *line,
            gpointer   user_data,
            GError   **error)
{
  const char *text = g_variant_get_string (line, NULL);
  const char *space = strchr (text, ' ');

  if (space == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_INPUT, "no user in '%s'", text);
      return NULL;
    }
  return g_strdup (space + 1);
}

static char *
hms (gint64 usec)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (usec / SEC);

  return g_date_time_format (dt, "%H:%M:%S");
}

/* (user, (window_id, count)) -> "USER HH:MM:SS COUNT" */
static GVariant *
format_count (GVariant  *item,
              gpointer   user_data,
              GError   **error)
{
  const char *user;
  g_autoptr(GVariant) pair = NULL;
  g_autoptr(GVariant) count = NULL;
  g_autofree char *start = NULL;
  gint64 id;

  g_variant_get (item, "(&sv)", &user, &pair);
  g_variant_get (pair, "(xv)", &id, &count);
  start = hms (align_to + id * 60 * SEC);
  return g_variant_new_take_string (g_strdup_printf ("%s %s %" G_GINT64_FORMAT, user, start,
                                                     g_variant_get_int64 (count)));
}

/* (user, (window_id, line)) -> "late USER HH:MM:SS" */
static GVariant *
format_late (GVariant  *item,
             gpointer   user_data,
             GError   **error)
{
  const char *user;
  g_autoptr(GVariant) pair = NULL;
  g_autoptr(GVariant) line = NULL;
  g_autofree char *at = NULL;
  gint64 id;

  g_variant_get (item, "(&sv)", &user, &pair);
  g_variant_get (pair, "(xv)", &id, &line);
  at = hms (event_time (line, NULL, NULL));
  return g_variant_new_take_string (g_strdup_printf ("late %s %s", user, at));
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("window_count");
  g_autoptr(FlowFileSource) source = NULL;
  g_autoptr(FlowStdOutSink) out = flow_std_out_sink_new ();
  g_autoptr(FlowEventClock) clock = NULL;
  g_autoptr(FlowTumblingWindower) windower = NULL;
  g_autoptr(FlowWindowOut) counts = NULL;
  g_autoptr(FlowRunner) runner = NULL;
  g_autoptr(GDateTime) midnight = g_date_time_new_utc (2024, 1, 1, 0, 0, 0);
  g_autoptr(GError) error = NULL;
  FlowStream *lines;

  align_to = to_usec (midnight);
  source = flow_file_source_new (argc > 1 ? argv[1] : "examples/data/events.txt");
  clock = flow_event_clock_new (10 * SEC, event_time, NULL, NULL, &error);
  if (clock != NULL)
    windower = flow_tumbling_windower_new (60 * SEC, align_to, &error);
  if (windower == NULL)
    {
      g_printerr ("window-count: %s\n", error->message);
      return 1;
    }

  lines = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  counts = flow_stream_count_window (lines, "count", FLOW_WINDOW_CLOCK (clock),
                                     FLOW_WINDOWER (windower), event_user, NULL, NULL);
  flow_stream_output (flow_stream_map (flow_window_out_get_down (counts), "format",
                                       format_count, NULL, NULL),
                      "out", FLOW_SINK (out));
  flow_stream_output (flow_stream_map (flow_window_out_get_late (counts), "format_late",
                                       format_late, NULL, NULL),
                      "out_late", FLOW_SINK (out));

  runner = flow_runner_new (flow);
  if (!flow_runner_run (runner, NULL, &error))
    {
      g_printerr ("window-count: %s\n", error->message);
      return 1;
    }
  return 0;
}
