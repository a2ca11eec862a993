/* flow-metrics-server.c: the run's figures over HTTP, in the Prometheus
 * text format, with GIO's GSocketService
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A minimal HTTP/1.x server for one resource, as Bytewax's metrics
 * endpoint: `GET /metrics` answers 200 with the text exposition format
 * (version 0.0.4) and closes the connection; any other path is a 404,
 * any other method a 405. Requests are read and answered with GIO's
 * asynchronous calls on the thread-default context of the caller of
 * flow_metrics_server_new() (the run's), so a client that is slow to
 * send or to read never blocks it.
 */

#include "config.h"

#include <string.h>

#include "flow-error.h"
#include "flow-metrics-server-private.h"

#define MAX_REQUEST 8192

struct _FlowMetricsServer
{
  GSocketService      *service;
  GCancellable        *cancellable;   /* of every connection being served */
  FlowMetricsTextFunc  func;
  gpointer             user_data;
  guint16              port;
};

typedef struct
{
  FlowMetricsServer *server;   /* not to be used once cancellable is cancelled */
  GSocketConnection *connection;
  GCancellable      *cancellable;
  char               buffer[MAX_REQUEST + 1];
  gsize              len;
  char              *response;
} Request;

static void
request_free (Request *req)
{
  g_io_stream_close (G_IO_STREAM (req->connection), NULL, NULL);
  g_object_unref (req->connection);
  g_object_unref (req->cancellable);
  g_free (req->response);
  g_free (req);
}

static void
written_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  Request *req = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_debug ("metrics endpoint: writing the response failed: %s", error->message);
  request_free (req);
}

static void
respond (Request    *req,
         const char *status,
         const char *body)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (req->connection));

  req->response = g_strdup_printf ("HTTP/1.1 %s\r\n"
                                   "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                                   "Content-Length: %zu\r\n"
                                   "Connection: close\r\n"
                                   "\r\n%s",
                                   status, strlen (body), body);
  g_output_stream_write_all_async (out, req->response, strlen (req->response),
                                   G_PRIORITY_DEFAULT, req->cancellable, written_cb, req);
}

static void
handle_request (Request *req)
{
  g_auto(GStrv) words = NULL;
  char *eol = strstr (req->buffer, "\r\n");

  if (eol == NULL)
    eol = strchr (req->buffer, '\n');
  if (eol != NULL)
    *eol = '\0';
  words = g_strsplit (req->buffer, " ", 3);

  if (g_strv_length (words) < 2)
    respond (req, "400 Bad Request", "bad request\n");
  else if (!g_str_equal (words[0], "GET") && !g_str_equal (words[0], "HEAD"))
    respond (req, "405 Method Not Allowed", "only GET /metrics is served\n");
  else if (!g_str_equal (words[1], "/metrics") && !g_str_has_prefix (words[1], "/metrics?"))
    respond (req, "404 Not Found", "not found: the metrics are at /metrics\n");
  else
    {
      g_autofree char *body = req->server->func (req->server->user_data);

      respond (req, "200 OK", body);
    }
}

static void
read_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Request *req = user_data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, &error);

  if (n <= 0 || g_cancellable_is_cancelled (req->cancellable))
    {
      if (n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("metrics endpoint: reading a request failed: %s", error->message);
      request_free (req);
      return;
    }

  req->len += n;
  req->buffer[req->len] = '\0';
  if (strstr (req->buffer, "\r\n\r\n") != NULL || strstr (req->buffer, "\n\n") != NULL)
    handle_request (req);
  else if (req->len >= MAX_REQUEST)
    respond (req, "431 Request Header Fields Too Large", "request too large\n");
  else
    g_input_stream_read_async (G_INPUT_STREAM (object), req->buffer + req->len,
                               MAX_REQUEST - req->len, G_PRIORITY_DEFAULT,
                               req->cancellable, read_cb, req);
}

static gboolean
incoming_cb (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           user_data)
{
  FlowMetricsServer *server = user_data;
  Request *req = g_new0 (Request, 1);

  req->server = server;
  req->connection = g_object_ref (connection);
  req->cancellable = g_object_ref (server->cancellable);
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                             req->buffer, MAX_REQUEST, G_PRIORITY_DEFAULT,
                             req->cancellable, read_cb, req);
  return TRUE;
}

/* HOST:PORT into an address to listen on, without name resolution (which
 * could block): HOST is an IP address, "localhost", or empty (any). */
static GSocketAddress *
parse_address (const char  *address,
               GError     **error)
{
  g_autofree char *host = NULL;
  g_autoptr(GInetAddress) inet = NULL;
  const char *colon = strrchr (address, ':');
  guint64 port;

  if (colon == NULL ||
      !g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &port, NULL))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "metrics address '%s': expected HOST:PORT, with PORT a number "
                   "from 0 to 65535 (0: any free port)", address);
      return NULL;
    }

  host = g_strndup (address, colon - address);
  if (host[0] == '[' && g_str_has_suffix (host, "]"))
    {
      char *inner = g_strndup (host + 1, strlen (host) - 2);
      g_free (host);
      host = inner;
    }

  if (host[0] == '\0' || g_str_equal (host, "*"))
    inet = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  else if (g_ascii_strcasecmp (host, "localhost") == 0)
    inet = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  else
    inet = g_inet_address_new_from_string (host);

  if (inet == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "metrics address '%s': the host '%s' must be an IP address "
                   "(such as 127.0.0.1 or ::1), localhost, or empty for every interface",
                   address, host);
      return NULL;
    }
  return g_inet_socket_address_new (inet, port);
}

FlowMetricsServer *
flow_metrics_server_new (const char           *address,
                         FlowMetricsTextFunc   func,
                         gpointer              user_data,
                         GError              **error)
{
  g_autoptr(GSocketAddress) addr = NULL;
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) local = NULL;
  FlowMetricsServer *server;

  addr = parse_address (address, error);
  if (addr == NULL)
    return NULL;

  server = g_new0 (FlowMetricsServer, 1);
  server->func = func;
  server->user_data = user_data;
  server->cancellable = g_cancellable_new ();
  /* Accepting starts here, on the thread-default context. */
  server->service = g_socket_service_new ();
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (server->service), addr,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                      NULL, &effective, &local))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "metrics address '%s': cannot listen: %s", address, local->message);
      flow_metrics_server_free (server);
      return NULL;
    }
  server->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect (server->service, "incoming", G_CALLBACK (incoming_cb), server);
  g_debug ("serving metrics at http://%s/metrics (port %u)", address, server->port);
  return server;
}

guint16
flow_metrics_server_get_port (FlowMetricsServer *self)
{
  return self->port;
}

void
flow_metrics_server_free (FlowMetricsServer *self)
{
  if (self == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->service, self);
  g_socket_service_stop (self->service);
  g_socket_listener_close (G_SOCKET_LISTENER (self->service));
  g_clear_object (&self->service);
  /* Requests being served end with G_IO_ERROR_CANCELLED (read_cb and
   * written_cb free them) and never look at the server again. */
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_free (self);
}
