/* bench-files: the crash test's flow in C, FileSource → key_on →
 * stateful_map → FileSink, against a plain C loop doing the same work
 * (issue 12).
 *
 * The input is N numbered lines; line n is keyed "kNN" (n % 100), a
 * running sum is kept per key and each sum is written as a line. The plain
 * loop reads the file with getline(), keeps the sums in a GHashTable and
 * writes them with fputs(); the flow does the same through libflow's file
 * connectors and operators (GVariant items and states). Both write the
 * same bytes, which is checked.
 *
 * It prints us/item of each and the ratio loop / flow (1.0: as fast as the
 * loop), wall clock and CPU time, without recovery and with a recovery
 * directory and snapshots every 50 ms and every second (the FileSink
 * fdatasync()s its file at every snapshot; the recovery store commits
 * every epoch). Target (issue 12): the flow without recovery at least 0.5
 * of the loop.
 *
 * Two more rows say what bounds the flow: the plain loop calling the
 * flow's own functions on GVariant items and states (what the flow costs
 * apart from its machinery), and those two functions alone on items made
 * before the clock starts. The functions parse each line twice (the key,
 * then the sum) and go through GVariant accessors (type checks, a lock per
 * g_variant_get_data()) and constructors; they alone take about as long
 * as twice the plain loop.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <flow.h>
#include "bench-common.h"
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define N_KEYS 100

/* ---- the plain loop ---- */

static void
run_plain (const char *input,
           const char *output)
{
  g_autoptr(GHashTable) sums = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  FILE *in = fopen (input, "r");
  FILE *out = fopen (output, "a");
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;

  g_assert_nonnull (in);
  g_assert_nonnull (out);
  while ((len = getline (&line, &cap, in)) > 0)
    {
      char key[16], text[32];
      gint64 n, *sum;

      if (line[len - 1] == '\n')
        line[len - 1] = '\0';
      n = g_ascii_strtoll (line, NULL, 10);
      g_snprintf (key, sizeof key, "k%02d", (int) (n % N_KEYS));
      sum = g_hash_table_lookup (sums, key);
      if (sum == NULL)
        {
          sum = g_new0 (gint64, 1);
          g_hash_table_insert (sums, g_strdup (key), sum);
        }
      *sum += n;
      g_snprintf (text, sizeof text, "%" G_GINT64_FORMAT "\n", *sum);
      fputs (text, out);
    }
  free (line);
  fclose (in);
  g_assert_cmpint (fclose (out), ==, 0);
}

/* ---- the flow ---- */

/* The key made as the plain loop makes it (g_snprintf() into a buffer),
 * then copied: a FlowKeyFunc returns a string the flow owns. */
static char *
key_of (GVariant  *item,
        gpointer   user_data,
        GError   **error)
{
  gint64 n = g_ascii_strtoll (g_variant_get_string (item, NULL), NULL, 10);
  char key[16];

  g_snprintf (key, sizeof key, "k%02d", (int) (n % N_KEYS));
  return g_strdup (key);
}

static GVariant *
add (GVariant  *state,
     GVariant  *value,
     GVariant **emit,
     gpointer   user_data,
     GError   **error)
{
  gint64 sum = (state ? g_variant_get_int64 (state) : 0)
               + g_ascii_strtoll (g_variant_get_string (value, NULL), NULL, 10);
  GVariant *new_state = g_variant_ref_sink (g_variant_new_int64 (sum));

  *emit = g_variant_ref (new_state);
  return new_state;
}

/* The plain loop again, calling the flow's own functions on GVariant
 * items and states (as bench-core's loop does): what the dataflow
 * machinery costs, apart from the GVariants the functions use. */
static void
run_plain_same_functions (const char *input,
                          const char *output)
{
  g_autoptr(GHashTable) states = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                        (GDestroyNotify) g_variant_unref);
  FILE *in = fopen (input, "r");
  FILE *out = fopen (output, "a");
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;

  g_assert_nonnull (in);
  g_assert_nonnull (out);
  while ((len = getline (&line, &cap, in)) > 0)
    {
      GVariant *item, *emit = NULL, *new_state;
      char *key;
      char text[32];

      if (line[len - 1] == '\n')
        line[len - 1] = '\0';
      item = g_variant_ref_sink (g_variant_new_string (line));
      key = key_of (item, NULL, NULL);
      new_state = add (g_hash_table_lookup (states, key), item, &emit, NULL, NULL);
      g_hash_table_replace (states, key, new_state);
      g_snprintf (text, sizeof text, "%" G_GINT64_FORMAT "\n", g_variant_get_int64 (emit));
      fputs (text, out);
      g_variant_unref (emit);
      g_variant_unref (item);
    }
  free (line);
  fclose (in);
  g_assert_cmpint (fclose (out), ==, 0);
}

/* The flow's two functions alone, on string items read and made before
 * the clock starts, the states in a GHashTable, the emitted sums dropped:
 * no reading, no writing. What this costs is a floor under the flow's
 * time that no dataflow machinery can go below. */
typedef struct { double wall, cpu; } Times;


static Times
run_functions_only (const char *input)
{
  g_autoptr(GHashTable) states = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                        (GDestroyNotify) g_variant_unref);
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  FILE *in = fopen (input, "r");
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  Times t;
  double wall, cpu;

  g_assert_nonnull (in);
  while ((len = getline (&line, &cap, in)) > 0)
    {
      if (line[len - 1] == '\n')
        line[len - 1] = '\0';
      g_ptr_array_add (items, g_variant_ref_sink (g_variant_new_string (line)));
    }
  free (line);
  fclose (in);

  wall = g_get_monotonic_time () / 1e6;
  cpu = bench_cpu_seconds ();
  for (guint i = 0; i < items->len; i++)
    {
      GVariant *item = g_ptr_array_index (items, i);
      GVariant *emit = NULL;
      char *key = key_of (item, NULL, NULL);

      g_hash_table_replace (states, key, add (g_hash_table_lookup (states, key), item, &emit, NULL, NULL));
      g_variant_unref (emit);
    }
  t.wall = g_get_monotonic_time () / 1e6 - wall;
  t.cpu = bench_cpu_seconds () - cpu;
  return t;
}

static void
run_flow (const char *input,
          const char *output,
          const char *recovery_dir,
          double      interval)
{
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("bench");
  g_autoptr(FlowFileSource) source = flow_file_source_new (input);
  g_autoptr(FlowFileSink) sink = flow_file_sink_new (output);
  g_autoptr(FlowRunner) runner = NULL;
  g_autoptr(GError) error = NULL;
  FlowStream *s;

  flow_file_source_set_batch_size (source, 1000);
  flow_file_sink_set_values_only (sink, TRUE);
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_key_on (s, "key", key_of, NULL, NULL);
  s = flow_stream_stateful_map (s, "sum", NULL, NULL, NULL, add, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));

  runner = flow_runner_new (flow);
  flow_runner_set_recovery_directory (runner, recovery_dir);
  flow_runner_set_snapshot_interval (runner, interval);
  if (!flow_runner_run (runner, NULL, &error))
    g_error ("run failed: %s", error->message);
}

/* ---- timing ---- */



/* kind: 0 plain loop, 1 flow, 2 plain loop with the flow's functions,
 * 3 the flow's functions alone (no output: @expected is not checked);
 * interval < 0: no recovery */
static Times
measure (int         kind,
         const char *input,
         const char *output,
         const char *expected,
         double      interval)
{
  g_autofree char *dir = NULL;
  g_autofree char *got = NULL;
  Times t;
  double wall, cpu;

  if (kind == 3)
    return run_functions_only (input);
  g_unlink (output);
  if (interval >= 0)
    {
      g_autoptr(GError) error = NULL;

      dir = g_dir_make_tmp ("flow-bench-files-rec-XXXXXX", NULL);
      if (!flow_recovery_init_dir (dir, 1, &error))
        g_error ("%s", error->message);
    }
  wall = g_get_monotonic_time () / 1e6;
  cpu = bench_cpu_seconds ();
  if (kind == 0)
    run_plain (input, output);
  else if (kind == 2)
    run_plain_same_functions (input, output);
  else
    run_flow (input, output, dir, interval >= 0 ? interval : 10.0);
  t.wall = g_get_monotonic_time () / 1e6 - wall;
  t.cpu = bench_cpu_seconds () - cpu;
  if (dir != NULL)
    bench_remove_dir (dir);

  if (expected != NULL)
    {
      g_assert_true (g_file_get_contents (output, &got, NULL, NULL));
      if (strcmp (got, expected) != 0)
        g_error ("the flow did not write what the plain loop wrote");
    }
  return t;
}

static Times
best (int         kind,
      int         repeat,
      const char *input,
      const char *output,
      const char *expected,
      double      interval)
{
  Times b = { G_MAXDOUBLE, G_MAXDOUBLE };

  for (int r = 0; r < repeat; r++)
    {
      Times t = measure (kind, input, output, expected, interval);
      b.wall = MIN (b.wall, t.wall);
      b.cpu = MIN (b.cpu, t.cpu);
    }
  return b;
}

int
main (int    argc,
      char **argv)
{
  gint64 n = 1000 * 1000;
  int repeat = 3;
  gboolean flow_only = FALSE;
  double only_interval = -1;
  GOptionEntry entries[] = {
    { "lines", 'n', 0, G_OPTION_ARG_INT64, &n, "Lines of input (default 1,000,000)", "N" },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &repeat, "Best of N runs (default 3)", "N" },
    { "flow-only", 0, 0, G_OPTION_ARG_NONE, &flow_only, "Only run the flow (for profiling)", NULL },
    { "snapshot-interval", 's', 0, G_OPTION_ARG_DOUBLE, &only_interval,
      "With --flow-only: recovery snapshots every S seconds", "S" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- file flow vs plain C loop");
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = NULL, *input = NULL, *output = NULL, *expected = NULL;
  GString *text;
  Times plain, same, alone, flow, rec50, rec1000;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  tmp = g_dir_make_tmp ("flow-bench-files-XXXXXX", NULL);
  input = g_build_filename (tmp, "input.txt", NULL);
  output = g_build_filename (tmp, "output.txt", NULL);
  text = g_string_new (NULL);
  for (gint64 i = 0; i < n; i++)
    g_string_append_printf (text, "%" G_GINT64_FORMAT "\n", i);
  g_assert_true (g_file_set_contents (input, text->str, text->len, NULL));
  g_string_free (text, TRUE);

  if (flow_only)
    {
      Times t = best (1, repeat, input, output, NULL, only_interval);
      g_print ("flow: %.3f us/item wall, %.3f us/item CPU\n", t.wall / n * 1e6, t.cpu / n * 1e6);
    }
  else
    {
      measure (0, input, output, NULL, -1);
      g_assert_true (g_file_get_contents (output, &expected, NULL, NULL));

      plain = best (0, repeat, input, output, expected, -1);
      same = best (2, repeat, input, output, expected, -1);
      alone = best (3, repeat, input, output, NULL, -1);
      flow = best (1, repeat, input, output, expected, -1);
      rec50 = best (1, repeat, input, output, expected, 0.05);
      rec1000 = best (1, repeat, input, output, expected, 1.0);

      g_print ("# %" G_GINT64_FORMAT " lines, %d keys, batches of 1000, best of %d\n", n, N_KEYS, repeat);
      g_print ("# %-50s %21s   %21s\n", "", "wall clock", "CPU time");
      g_print ("# %-50s %10s %10s   %10s %10s\n", "", "us/item", "ratio", "us/item", "ratio");
#define ROW(label, t) \
      g_print ("%-52s %10.3f %10.3f   %10.3f %10.3f\n", label, (t).wall / n * 1e6, plain.wall / (t).wall, \
               (t).cpu / n * 1e6, plain.cpu / (t).cpu)
      ROW ("plain C loop (getline, GHashTable, fputs)", plain);
      ROW ("the loop calling the flow's GVariant functions", same);
      ROW ("the flow's functions alone (no reading, no writing)", alone);
      ROW ("flow: FileSource -> key_on -> stateful_map -> FileSink", flow);
      ROW ("flow, recovery every 50 ms", rec50);
      ROW ("flow, recovery every 1 s", rec1000);
#undef ROW
      g_print ("# flow / loop with the same GVariant functions: %.3f wall, %.3f CPU\n",
               same.wall / flow.wall, same.cpu / flow.cpu);
      g_print ("# recovery overhead (wall): %+.1f %% every 50 ms, %+.1f %% every 1 s; target: flow >= 0.5 of the loop\n",
               (rec50.wall / flow.wall - 1) * 100, (rec1000.wall / flow.wall - 1) * 100);
    }

  g_unlink (input);
  g_unlink (output);
  g_rmdir (tmp);
  return 0;
}
