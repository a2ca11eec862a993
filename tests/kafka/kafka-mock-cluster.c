/* kafka-mock-cluster.c: a librdkafka mock cluster for Python and GJS tests
 *
 *   kafka-mock-cluster [--brokers N] [--unknown TOPIC ...] [TOPIC:PARTITIONS ...]
 *
 * Starts a mock cluster of N brokers (default 1) speaking the real Kafka
 * protocol on loopback, creates the topics given, prints its bootstrap
 * servers ("127.0.0.1:PORT,...") on a line of standard output, and runs
 * until its standard input is closed (so it ends with the test that
 * started it, whatever happens to that test).
 *
 * A test only, not installed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static void
quiet_log (const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
}

int
main (int argc, char **argv)
{
  int n_brokers = 1;
  g_auto(GStrv) unknown = NULL;
  GOptionEntry entries[] = {
    { "brokers", 0, 0, G_OPTION_ARG_INT, &n_brokers, "Brokers of the cluster", "N" },
    /* The mock would create any topic asked for: these it says it does not know. */
    { "unknown", 0, 0, G_OPTION_ARG_STRING_ARRAY, &unknown, "A topic the cluster does not know", "TOPIC" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("[TOPIC:PARTITIONS...] - a mock Kafka cluster");
  g_autoptr(GError) error = NULL;
  rd_kafka_conf_t *conf = rd_kafka_conf_new ();
  rd_kafka_mock_cluster_t *mock;
  char errstr[256];
  rd_kafka_t *rk;
  char buf[256];

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || n_brokers < 1)
    {
      g_printerr ("%s\n", error != NULL ? error->message : "--brokers must be at least 1");
      return 2;
    }

  rd_kafka_conf_set_log_cb (conf, quiet_log);
  rk = rd_kafka_new (RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == NULL)
    {
      g_printerr ("%s\n", errstr);
      return 1;
    }
  mock = rd_kafka_mock_cluster_new (rk, n_brokers);
  for (guint i = 0; mock != NULL && unknown != NULL && unknown[i] != NULL; i++)
    rd_kafka_mock_topic_set_error (mock, unknown[i], RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);

  for (int i = 1; i < argc; i++)
    {
      char *colon = strrchr (argv[i], ':');
      guint64 partitions = 0;

      if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 1, 10000, &partitions, NULL))
        {
          g_printerr ("'%s' is not TOPIC:PARTITIONS\n", argv[i]);
          return 2;
        }
      *colon = '\0';
      if (rd_kafka_mock_topic_create (mock, argv[i], (int) partitions, 1) != 0)
        {
          g_printerr ("cannot create topic '%s'\n", argv[i]);
          return 1;
        }
    }

  printf ("%s\n", rd_kafka_mock_cluster_bootstraps (mock));
  fflush (stdout);

  while (fgets (buf, sizeof buf, stdin) != NULL)
    ;

  rd_kafka_mock_cluster_destroy (mock);
  rd_kafka_destroy (rk);
  return 0;
}
