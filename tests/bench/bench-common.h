/* bench-common.h: what the C benchmarks share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Timing (wall and CPU seconds, best of N runs), temporary and recovery
 * directories, and a sink that only counts what it gets. Every function
 * aborts with g_error() on a failure: a benchmark has no way on.
 */

#pragma once

#include <flow.h>

G_BEGIN_DECLS

/* Seconds of monotonic time since @start, a g_get_monotonic_time(). */
double bench_seconds_since (gint64 start);

/* CPU seconds of the whole process so far: every thread (the runner's
 * workers, the store's writer, a mock broker's) in user and system mode. */
double bench_cpu_seconds   (void);

/* Best of N: sets *@best to @seconds if that is less (start *@best at
 * G_MAXDOUBLE). */
void   bench_keep_best     (double *best,
                            double  seconds);

/* A new empty directory under the temporary folder, "flow-bench-XXXXXX".
 * Free with bench_remove_dir() then g_free(). */
char  *bench_tmp_dir_new      (void);

/* The same, made a recovery directory of @partitions partitions with
 * flow_recovery_init_dir(). */
char  *bench_recovery_dir_new (guint partitions);

/* Removes @dir and what it holds (the folders in it too). */
void   bench_remove_dir       (const char *dir);

/* A sink whose partitions add up, in its count field, the items they get
 * (and, when count_bytes is set, their serialised size in bytes). For
 * one worker: the partitions add to the sink's fields without a lock. */
#define BENCH_TYPE_COUNT_SINK (bench_count_sink_get_type ())
G_DECLARE_FINAL_TYPE (BenchCountSink, bench_count_sink, BENCH, COUNT_SINK, FlowSink)

struct _BenchCountSink
{
  FlowSink  parent;
  gboolean  count_bytes;
  guint64   count;
  guint64   bytes;
};

BenchCountSink *bench_count_sink_new (gboolean count_bytes);

G_END_DECLS
