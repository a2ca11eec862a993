/* bench-gaps-common.c: the main-loop gaps of a run, for the benchmarks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdio.h>

#include "bench-gaps-common.h"

typedef struct
{
  GArray  *gaps;
  gint64   last;
  gboolean done;
} Ticks;

static gboolean
tick (gpointer data)
{
  Ticks *t = data;
  gint64 now = g_get_monotonic_time ();

  if (t->last != 0)
    {
      gint64 gap = now - t->last;
      g_array_append_val (t->gaps, gap);
    }
  t->last = now;
  return G_SOURCE_CONTINUE;
}

static void
done_cb (GObject *object, GAsyncResult *result, gpointer data)
{
  g_autoptr(GError) error = NULL;

  if (!flow_runner_run_finish (FLOW_RUNNER (object), result, &error))
    g_error ("run failed: %s", error->message);
  ((Ticks *) data)->done = TRUE;
}

void
bench_gaps_measure (FlowRunner *runner,
                    BenchGaps  *gaps)
{
  Ticks run = { g_array_new (FALSE, FALSE, sizeof (gint64)), 0, FALSE };
  Ticks idle = { g_array_new (FALSE, FALSE, sizeof (gint64)), 0, FALSE };
  gint64 start;
  guint id;

  id = g_timeout_add (10, tick, &run);
  start = g_get_monotonic_time ();
  flow_runner_run_async (runner, NULL, done_cb, &run);
  while (!run.done)
    g_main_context_iteration (NULL, TRUE);
  gaps->took = g_get_monotonic_time () - start;
  g_source_remove (id);

  /* The baseline: the same timeout with nothing else to do. */
  id = g_timeout_add (10, tick, &idle);
  start = g_get_monotonic_time ();
  while (g_get_monotonic_time () - start < gaps->took)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (id);

  gaps->run_gaps = run.gaps;
  gaps->idle_gaps = idle.gaps;
}

static int
cmp_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

static gint64
percentile (GArray *sorted, double p)
{
  if (sorted->len == 0)
    return 0;
  return g_array_index (sorted, gint64, (guint) (p * (sorted->len - 1) + 0.5));
}

static gint64
report_one (const char *what, GArray *gaps)
{
  gint64 max;

  g_array_sort (gaps, cmp_i64);
  max = gaps->len ? g_array_index (gaps, gint64, gaps->len - 1) : 0;
  printf ("%-28s %6u gaps   p50 %6.1f ms   p99 %6.1f ms   max %6.1f ms\n", what, gaps->len,
          percentile (gaps, 0.50) / 1e3, percentile (gaps, 0.99) / 1e3, max / 1e3);
  return max;
}

void
bench_gaps_report (BenchGaps *gaps)
{
  gint64 max_run = report_one ("during run_async", gaps->run_gaps);
  gint64 max_idle = report_one ("idle main loop (baseline)", gaps->idle_gaps);

  printf ("ratio of max gaps (run / idle): %.2f\n", (double) max_run / MAX (max_idle, 1));
}

void
bench_gaps_clear (BenchGaps *gaps)
{
  g_clear_pointer (&gaps->run_gaps, g_array_unref);
  g_clear_pointer (&gaps->idle_gaps, g_array_unref);
}
