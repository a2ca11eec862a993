/* bench-gaps-common.h: the main-loop gaps of a run, for the benchmarks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <flow.h>

typedef struct
{
  GArray *run_gaps;    /* gint64 µs between dispatches of a 10 ms timeout */
  GArray *idle_gaps;   /* the same on an idle main loop (the baseline) */
  gint64  took;        /* µs the run took */
} BenchGaps;

/* Runs @runner with run_async() on the default main context while a 10 ms
 * timeout records the time between its dispatches, then records the same
 * timeout on the idle context for as long as the run took. */
void bench_gaps_measure (FlowRunner *runner,
                         BenchGaps  *gaps);
/* Prints p50, p99 and max of both, and the ratio of the maxima. */
void bench_gaps_report  (BenchGaps  *gaps);
void bench_gaps_clear   (BenchGaps  *gaps);
