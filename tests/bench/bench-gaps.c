/* bench-gaps: how long the caller's main context is kept from other work
 * while a flow runs with run_async() and snapshots every 50 ms.
 *
 * A 10 ms timeout on the same context records the time between its
 * dispatches. The flow is FileSource → key_on → stateful_map → FileSink
 * over --lines lines (1000 keys), with recovery and -s 0.05: an epoch close
 * and a commit (with its fsyncs) every 50 ms. The baseline is the same
 * timeout on an idle context for as long as the run took. Printed: p50,
 * p99 and max of the gaps for both, and the ratio of the maxima.
 *
 * --slow-sync MS makes every fsync()/fdatasync() of a recovery partition
 * file (*.sqlite3, *-wal) take MS more milliseconds, as on a slow disk:
 * the writer thread's commit then takes longer than an epoch, and a main
 * loop that waited for it would show gaps of that length.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <dlfcn.h>
#include <unistd.h>

#include <flow.h>

#include "bench-common.h"
#include "bench-gaps-common.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int slow_sync_ms;

/* fsync()/fdatasync() of this program, found before libc's by the
 * libraries it loads (SQLite's included). */
static gboolean
is_partition_fd (int fd)
{
  g_autofree char *link = g_strdup_printf ("/proc/self/fd/%d", fd);
  g_autofree char *target = g_file_read_link (link, NULL);

  return target != NULL && (g_str_has_suffix (target, ".sqlite3") ||
                            g_str_has_suffix (target, ".sqlite3-wal"));
}

static void
maybe_slow (int fd)
{
  if (slow_sync_ms > 0 && is_partition_fd (fd))
    g_usleep (slow_sync_ms * 1000);
}


int
fsync (int fd)
{
  static int (*real) (int);

  if (real == NULL)
    real = (int (*) (int)) dlsym (RTLD_NEXT, "fsync");
  maybe_slow (fd);
  return real (fd);
}

int
fdatasync (int fd)
{
  static int (*real) (int);

  if (real == NULL)
    real = (int (*) (int)) dlsym (RTLD_NEXT, "fdatasync");
  maybe_slow (fd);
  return real (fd);
}


static char *
key_of (GVariant *item, gpointer user_data, GError **error)
{
  const char *line = g_variant_get_string (item, NULL);
  const char *space = strchr (line, ' ');

  return g_strndup (line, space ? (gsize) (space - line) : strlen (line));
}

static GVariant *
zero (gpointer user_data, GError **error)
{
  return g_variant_new_int64 (0);
}

static GVariant *
add (GVariant *sum, GVariant *value, GVariant **emit, gpointer user_data, GError **error)
{
  const char *line = g_variant_get_string (value, NULL);
  const char *space = strchr (line, ' ');
  gint64 total = g_variant_get_int64 (sum) + (space ? g_ascii_strtoll (space + 1, NULL, 10) : 0);
  g_autofree char *out = g_strdup_printf ("%" G_GINT64_FORMAT, total);

  *emit = g_variant_new_string (out);
  return g_variant_new_int64 (total);
}


int
main (int argc, char **argv)
{
  gint64 lines = 1000000;
  double interval = 0.05;
  GOptionEntry entries[] = {
    { "lines", 'n', 0, G_OPTION_ARG_INT64, &lines, "Lines of input (default 1000000)", "N" },
    { "snapshot-interval", 's', 0, G_OPTION_ARG_DOUBLE, &interval, "Epoch length (default 0.05)", "S" },
    { "slow-sync", 0, 0, G_OPTION_ARG_INT, &slow_sync_ms, "Make partition syncs MS slower", "MS" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- main-loop gaps during a run");
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = bench_tmp_dir_new ();
  g_autofree char *rec = bench_recovery_dir_new (1);
  g_autofree char *input = NULL, *output = NULL;
  g_autoptr(FlowDataflow) flow = NULL;
  g_autoptr(FlowRunner) runner = NULL;
  g_autoptr(FlowFileSink) sink = NULL;
  g_autoptr(FlowFileSource) source = NULL;
  BenchGaps gaps = { NULL, NULL, 0 };
  gint64 took;
  GString *text;
  FlowStream *s;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    g_error ("%s", error->message);

  input = g_build_filename (dir, "in.txt", NULL);
  output = g_build_filename (dir, "out.txt", NULL);
  text = g_string_new (NULL);
  for (gint64 i = 0; i < lines; i++)
    g_string_append_printf (text, "k%" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n", i % 1000, i % 7);
  if (!g_file_set_contents (input, text->str, text->len, &error))
    g_error ("setting up: %s", error->message);
  g_string_free (text, TRUE);

  flow = flow_dataflow_new ("gaps");
  source = flow_file_source_new (input);
  sink = flow_file_sink_new (output);
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_key_on (s, "key", key_of, NULL, NULL);
  s = flow_stream_stateful_map (s, "sum", zero, NULL, NULL, add, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));
  runner = flow_runner_new (flow);
  flow_runner_set_recovery_directory (runner, rec);
  flow_runner_set_snapshot_interval (runner, interval);

  bench_gaps_measure (runner, &gaps);
  took = gaps.took;

  printf ("bench-gaps: %" G_GINT64_FORMAT " lines, -s %.3f, partition syncs +%d ms, "
          "run took %.2f s (%.2f M lines/s)\n",
          lines, interval, slow_sync_ms, took / 1e6, lines / (took / 1e6) / 1e6);
  bench_gaps_report (&gaps);

  bench_gaps_clear (&gaps);
  bench_remove_dir (rec);
  bench_remove_dir (dir);
  return 0;
}
