/* fuzz-deserialize.c: a libFuzzer target for stored states
 *
 * Built only where the compiler has -fsanitize=fuzzer (clang). With
 * libflow instrumented too, so that libFuzzer sees its coverage:
 *
 *   CC=clang meson setup build-fuzz -Dc_args=-fsanitize=fuzzer-no-link,address \
 *       -Dc_link_args=-fsanitize=address -Dpython_bindings=disabled \
 *       -Dpython_native=disabled -Dvapi=disabled -Dgjs_tests=disabled -Dexamples=false
 *   ninja -C build-fuzz tests/recovery/fuzz-deserialize
 *   build-fuzz/tests/recovery/fuzz-deserialize -max_total_time=600 CORPUS_DIR
 *
 * Every input is a stored `ser` blob: it must decode to a value in
 * normal form that survives a round trip, or fail with
 * FLOW_ERROR_CORRUPT_PARTITION; never abort, never read out of bounds.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "flow-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static char *last_type = NULL;
  GError *error = NULL;
  GVariant *value;

  /* Alternately with the type cache a run's restore uses. */
  value = flow_variant_deserialize_cached (data, size, (size & 1) ? &last_type : NULL, &error);
  if (value == NULL)
    {
      if (!g_error_matches (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION))
        abort ();
      g_error_free (error);
      return 0;
    }
  {
    GBytes *again = flow_variant_serialize (value);
    GVariant *back = flow_variant_deserialize (g_bytes_get_data (again, NULL),
                                               g_bytes_get_size (again), NULL);
    char *repr = flow_item_repr (value);

    if (back == NULL || !g_variant_equal (value, back) || !g_variant_is_normal_form (value))
      abort ();
    g_free (repr);
    g_variant_unref (back);
    g_bytes_unref (again);
  }
  g_variant_unref (value);
  return 0;
}
