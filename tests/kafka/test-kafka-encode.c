/* test-kafka-encode.c: the Kafka source's one-buffer encoding of messages
 * is byte for byte what GVariant's own serialisation gives, at every
 * framing offset size.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "flow-kafka-private.h"

static void
check (const char *key,
       gsize       key_len,
       const char *value,
       gsize       value_len,
       const char *topic)
{
  g_autoptr(GVariant) built = g_variant_ref_sink (flow_kafka_message_build (key, key_len, value, value_len,
                                                                            topic, 7, 123456789012, -1, NULL));
  g_autoptr(GVariant) encoded = g_variant_ref_sink (flow_kafka_message_encode (key, key_len, value, value_len,
                                                                               topic, strlen (topic), 7,
                                                                               123456789012, -1));

  g_assert_cmpstr (g_variant_get_type_string (encoded), ==, FLOW_KAFKA_MESSAGE_TYPE_STRING);
  g_assert_cmpuint (g_variant_get_size (encoded), ==, g_variant_get_size (built));
  g_assert_cmpmem (g_variant_get_data (encoded), g_variant_get_size (encoded),
                   g_variant_get_data (built), g_variant_get_size (built));
  g_assert_true (g_variant_is_normal_form (encoded));
  g_assert_true (g_variant_equal (encoded, built));
}

static void
test_encode (void)
{
  /* Sizes around the framing offset sizes: 1 byte up to 255, 2 up to
   * 65535, 4 beyond. */
  const gsize sizes[] = { 0, 1, 5, 200, 220, 230, 240, 250, 255, 256, 300, 65000, 65500, 65536, 70000 };
  g_autofree char *big = g_malloc (70001);

  memset (big, 'x', 70000);
  for (gsize i = 0; i < 70000; i++)
    big[i] = (char) (i * 7);
  for (guint k = 0; k < G_N_ELEMENTS (sizes); k++)
    for (guint v = 0; v < G_N_ELEMENTS (sizes); v++)
      {
        check (big, sizes[k], big + 1, sizes[v], "events");
        check (NULL, 0, big, sizes[v], "t");
        check (big, sizes[k], NULL, 0, "a.longer_topic-name");
      }
  check (NULL, 0, NULL, 0, "t");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/kafka/encode", test_encode);
  return g_test_run ();
}
