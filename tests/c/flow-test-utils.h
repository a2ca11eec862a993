/* flow-test-utils.h: helpers shared by the C tests of libflow
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <string.h>

#include <flow.h>
#include "flow-runner-private.h"

G_BEGIN_DECLS

/* Items */
GVariant          *flow_test_parse             (const char         *text);
char              *flow_test_repr_text         (const char         *text);

/* Sources and sinks */
FlowTestingSource *flow_test_source_new_int64  (const gint64       *values,
                                                gsize               n_values);
FlowTestingSource *flow_test_source_new_parse  (const char         *text);
char              *flow_test_sink_repr         (FlowTestingSink    *sink);
char             **flow_test_sink_reprs        (FlowTestingSink    *sink);
char              *flow_test_sink_repr_sorted  (FlowTestingSink    *sink);

/* Running */
/* The test clock every flow_test_run() runs on: it moves only when the run
 * waits for time (see flow_runner_run_with_test_clock()), so PAUSE markers,
 * next_awake and deadlines take no real time and behave the same on a
 * busy machine. */
FlowClock         *flow_test_clock             (void);
gboolean           flow_test_run               (FlowDataflow       *flow,
                                                GError            **error);
gboolean           flow_test_run_with          (FlowRunner         *runner,
                                                GError            **error);

#define flow_test_assert_error_has(err, part)                              \
  G_STMT_START {                                                           \
    g_assert_nonnull (err);                                                \
    if (strstr ((err)->message, (part)) == NULL)                           \
      g_error ("error message '%s' does not contain '%s'",                 \
               (err)->message, (part));                                    \
  } G_STMT_END

/* A harness for one operator, in the idea of GstHarness: a dataflow "test"
 * with an input step "inp" reading a FlowTestingSource, the step under
 * test added by the test on `h->input`, and an output step "out" into a
 * FlowTestingSink. Usable as a g_test_add() fixture. */
typedef struct
{
  FlowDataflow      *flow;
  FlowTestingSource *source;
  FlowTestingSink   *sink;
  FlowStream        *input;
  GError            *error;
  GPtrArray         *extra;   /* more objects that must be finalized */
  GPtrArray         *resets;  /* guint* and GPtrArray* cleared before the last run */
} FlowHarness;

void      flow_harness_setup     (FlowHarness   *h,
                                  gconstpointer  data);
void      flow_harness_teardown  (FlowHarness   *h,
                                  gconstpointer  data);
/* Takes @object (a source, sink...) and asserts in teardown that it is
 * finalized once the dataflow is. Returns @object. */
gpointer  flow_harness_track     (FlowHarness   *h,
                                  gpointer       object);
/* With FLOW_TEST_WORKERS, a run of the harness is two runs: what a test
 * counts in its functions is reset before the last (1-worker) run, so
 * the test checks that run's. */
void      flow_harness_reset_count (FlowHarness *h,
                                    guint       *count);
void      flow_harness_reset_array (FlowHarness *h,
                                    GPtrArray   *array);
/* The expected stdout of a harness run printing @text: twice with
 * FLOW_TEST_WORKERS (items of one input partition, read by worker 0). */
char     *flow_harness_expected_stdout (const char *text);
/* Adds the input step over the GVariant @text (an array). */
FlowStream *flow_harness_input   (FlowHarness   *h,
                                  const char    *text);
/* Adds the output step on @stream, runs, asserts success, and returns the
 * repr of every item the sink got, as one Python-style list. */
char     *flow_harness_run       (FlowHarness   *h,
                                  FlowStream    *stream);
/* FLOW_TEST_WORKERS, or 1: the harness also runs with that many workers
 * and compares (see flow-test-utils.c). */
guint     flow_test_harness_workers (void);
/* Same, but the run must fail; returns the error (also kept in h->error). */
const GError *flow_harness_run_error (FlowHarness *h,
                                      FlowStream  *stream);

G_END_DECLS
