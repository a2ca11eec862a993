/* kafka-crash-flow.c: the dataflow test-kafka-crash kills and resumes.
 *
 *   kafka-crash-flow BROKERS TOPIC OUTPUT [RUNNER OPTIONS]
 *
 * Reads TOPIC to its end (values "P:N", keys "kP"), keeps a running sum of
 * N per key and writes each sum: to the file OUTPUT (a FileSink: lines
 * "('kP', SUM)"), or, when OUTPUT is "kafka:T", to the Kafka topic T (key
 * "kP", value "P:SUM"); "kafka-txn:T" does the same with a transactional
 * sink (transactional.id "kcrash-T").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>
#include <string.h>

#include <flow.h>

static char *
key_of (GVariant  *item,
        gpointer   user_data,
        GError   **error)
{
  g_autoptr(GVariant) key = g_variant_get_child_value (item, 0);
  g_autoptr(GVariant) bytes = g_variant_get_maybe (key);
  gsize len;
  const char *data = bytes != NULL ? g_variant_get_fixed_array (bytes, &len, 1) : NULL;

  if (data == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE, "a message without a key");
      return NULL;
    }
  return g_strndup (data, len);
}

static GVariant *
zero (gpointer   user_data,
      GError   **error)
{
  return g_variant_new_int64 (0);
}

static gboolean to_kafka;

static GVariant *
add (GVariant  *sum,
     GVariant  *item,
     GVariant **emit,
     gpointer   user_data,
     GError   **error)
{
  g_autoptr(GVariant) value = g_variant_get_child_value (item, 1);
  g_autoptr(GVariant) bytes = g_variant_get_maybe (value);
  g_autofree char *text = NULL;
  const char *colon;
  gsize len;
  guint64 n;
  gint64 updated;

  const char *data = g_variant_get_fixed_array (bytes, &len, 1);

  text = g_strndup (data, len);
  colon = strchr (text, ':');
  if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 0, G_MAXINT32, &n, error))
    return NULL;
  updated = g_variant_get_int64 (sum) + (gint64) n;
  if (to_kafka)
    *emit = g_variant_new_take_string (g_strdup_printf ("%.*s:%" G_GINT64_FORMAT,
                                                        (int) (colon - text), text, updated));
  else
    *emit = g_variant_new_int64 (updated);
  return g_variant_new_int64 (updated);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("kcrash");
  g_autoptr(FlowKafkaSource) source = NULL;
  g_autoptr(FlowSink) sink = NULL;
  g_autoptr(FlowRunner) runner = NULL;
  const char *batch = g_getenv ("CRASH_FLOW_BATCH");
  FlowStream *s;

  if (argc < 4)
    {
      g_printerr ("usage: %s BROKERS TOPIC OUTPUT|kafka:TOPIC [RUNNER OPTIONS]\n", argv[0]);
      return 2;
    }

  {
    const char *topics[] = { argv[2], NULL };
    source = flow_kafka_source_new (argv[1], topics);
  }
  flow_kafka_source_set_tail (source, FALSE);
  if (batch != NULL)
    flow_kafka_source_set_batch_size (source, (guint) atoi (batch));
  to_kafka = g_str_has_prefix (argv[3], "kafka:") || g_str_has_prefix (argv[3], "kafka-txn:");
  if (g_str_has_prefix (argv[3], "kafka:"))
    sink = FLOW_SINK (flow_kafka_sink_new (argv[1], argv[3] + strlen ("kafka:")));
  else if (g_str_has_prefix (argv[3], "kafka-txn:"))
    {
      const char *topic = argv[3] + strlen ("kafka-txn:");
      g_autofree char *id = g_strconcat ("kcrash-", topic, NULL);

      sink = FLOW_SINK (flow_kafka_sink_new (argv[1], topic));
      flow_kafka_sink_set_transactional_id (FLOW_KAFKA_SINK (sink), id);
    }
  else
    sink = FLOW_SINK (flow_file_sink_new (argv[3]));

  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_key_on (s, "key", key_of, NULL, NULL);
  s = flow_stream_stateful_map (s, "sum", zero, NULL, NULL, add, NULL, NULL);
  flow_stream_output (s, "out", sink);

  runner = flow_runner_new (flow);
  argv[3] = argv[0];
  return flow_runner_run_with_args (runner, argc - 3, argv + 3);
}
