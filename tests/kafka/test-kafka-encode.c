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
  /* The same bytes as GLib's own serialisation (so in normal form). */
  g_assert_cmpmem (g_variant_get_data (encoded), g_variant_get_size (encoded),
                   g_variant_get_data (built), g_variant_get_size (built));
}

static void
test_encode (void)
{
  /* Sizes around the framing offset sizes: 1 byte up to 255, 2 up to
   * 65535, 4 beyond; each with a few others in the other field. */
  const gsize sizes[] = { 0, 1, 5, 220, 240, 250, 255, 256, 300, 1000 };
  const gsize others[] = { 0, 3, 250 };
  const gsize large[] = { 65500, 65530, 65536, 70000 };
  g_autofree char *big = g_malloc (70001);

  for (gsize i = 0; i < 70001; i++)
    big[i] = (char) (i * 7);
  for (guint a = 0; a < G_N_ELEMENTS (sizes); a++)
    {
      for (guint b = 0; b < G_N_ELEMENTS (others); b++)
        {
          check (big, sizes[a], big + 1, others[b], "events");
          check (big, others[b], big + 1, sizes[a], "events");
        }
      check (NULL, 0, big, sizes[a], "t");
      check (big, sizes[a], NULL, 0, "a.longer_topic-name");
    }
  for (guint a = 0; a < G_N_ELEMENTS (large); a++)
    {
      check (big, 3, big + 1, large[a], "events");
      check (big, large[a], NULL, 0, "t");
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
