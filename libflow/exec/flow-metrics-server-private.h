/* flow-metrics-server-private.h: the run's figures over HTTP
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _FlowMetricsServer FlowMetricsServer;

/* Returns the body to serve (the Prometheus text format), newly allocated. */
typedef char *(*FlowMetricsTextFunc) (gpointer user_data);

/* Listens on @address ("HOST:PORT", "[IPV6]:PORT" or ":PORT"; HOST an IP
 * address or "localhost"; PORT 0 for any free port) and serves what @func
 * returns at GET /metrics, on the thread-default main context: every
 * callback, and @func, run there. Nothing blocks that context: a slow
 * client only keeps its own connection open. */
FlowMetricsServer *flow_metrics_server_new      (const char           *address,
                                                 FlowMetricsTextFunc   func,
                                                 gpointer              user_data,
                                                 GError              **error);
/* The port bound (the one chosen by the system for port 0). */
guint16            flow_metrics_server_get_port (FlowMetricsServer    *self);
/* Stops listening, cancels the connections being served, and frees. What
 * was pending completes (cancelled) on the context's next iterations. */
void               flow_metrics_server_free     (FlowMetricsServer    *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FlowMetricsServer, flow_metrics_server_free)

G_END_DECLS
