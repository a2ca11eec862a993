/* flow-runner.h: runs a dataflow on a GMainContext
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include <gio/gio.h>

#include "flow-types.h"
#include "flow-test-clock.h"

G_BEGIN_DECLS

#define FLOW_TYPE_RUNNER (flow_runner_get_type ())

FLOW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (FlowRunner, flow_runner, FLOW, RUNNER, GObject)

FLOW_AVAILABLE_IN_1_0
FlowRunner   *flow_runner_new                    (FlowDataflow         *dataflow);
FLOW_AVAILABLE_IN_1_0
void          flow_runner_set_test_clock         (FlowRunner           *self,
                                                  FlowTestClock        *clock);
FLOW_AVAILABLE_IN_1_0
FlowTestClock *flow_runner_get_test_clock        (FlowRunner           *self);
FLOW_AVAILABLE_IN_1_0
FlowDataflow *flow_runner_get_dataflow           (FlowRunner           *self);
FLOW_AVAILABLE_IN_1_0
const char   *flow_runner_get_recovery_directory (FlowRunner           *self);
FLOW_AVAILABLE_IN_1_0
void          flow_runner_set_recovery_directory (FlowRunner           *self,
                                                  const char           *directory);
FLOW_AVAILABLE_IN_1_0
double        flow_runner_get_snapshot_interval  (FlowRunner           *self);
FLOW_AVAILABLE_IN_1_0
void          flow_runner_set_snapshot_interval  (FlowRunner           *self,
                                                  double                seconds);
FLOW_AVAILABLE_IN_1_0
double        flow_runner_get_backup_interval    (FlowRunner           *self);
FLOW_AVAILABLE_IN_1_0
void          flow_runner_set_backup_interval    (FlowRunner           *self,
                                                  double                seconds);
FLOW_AVAILABLE_IN_1_0
guint         flow_runner_get_workers            (FlowRunner           *self);
FLOW_AVAILABLE_IN_1_0
void          flow_runner_set_workers            (FlowRunner           *self,
                                                  guint                 workers);
FLOW_AVAILABLE_IN_1_0
guint         flow_runner_get_process_id         (FlowRunner           *self);
FLOW_AVAILABLE_IN_1_0
void          flow_runner_set_process_id         (FlowRunner           *self,
                                                  guint                 process_id);
FLOW_AVAILABLE_IN_1_0
guint         flow_runner_get_processes          (FlowRunner           *self);
FLOW_AVAILABLE_IN_1_0
void          flow_runner_set_processes          (FlowRunner           *self,
                                                  guint                 processes);
FLOW_AVAILABLE_IN_1_0
guint64       flow_runner_get_epoch              (FlowRunner           *self);
FLOW_AVAILABLE_IN_1_0
guint64       flow_runner_get_resume_epoch       (FlowRunner           *self);
FLOW_AVAILABLE_IN_1_0
gboolean      flow_runner_get_running            (FlowRunner           *self);
FLOW_AVAILABLE_IN_1_0
GVariant     *flow_runner_get_metrics            (FlowRunner           *self);
FLOW_AVAILABLE_IN_1_0
const char   *flow_runner_get_metrics_address    (FlowRunner           *self);
FLOW_AVAILABLE_IN_1_0
void          flow_runner_set_metrics_address    (FlowRunner           *self,
                                                  const char           *address);
FLOW_AVAILABLE_IN_1_0
guint         flow_runner_get_metrics_port       (FlowRunner           *self);

FLOW_AVAILABLE_IN_1_0
gboolean      flow_runner_run                    (FlowRunner           *self,
                                                  GCancellable         *cancellable,
                                                  GError              **error);
FLOW_AVAILABLE_IN_1_0
void          flow_runner_run_async              (FlowRunner           *self,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
FLOW_AVAILABLE_IN_1_0
gboolean      flow_runner_run_finish             (FlowRunner           *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);
FLOW_AVAILABLE_IN_1_0
gboolean      flow_runner_parse_args             (FlowRunner           *self,
                                                  char               ***args,
                                                  GError              **error);
FLOW_AVAILABLE_IN_1_0
int           flow_runner_run_with_args          (FlowRunner           *self,
                                                  int                   argc,
                                                  char                **argv);

G_END_DECLS
