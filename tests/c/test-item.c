/* test-item.c: keyed items, None, Python-style repr, ordering
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <math.h>

#include "flow-test-utils.h"
#include "flow-batch-private.h"

/* Takes @value (a floating or a full reference). */
static void
assert_repr (GVariant   *value,
             const char *expected)
{
  g_autoptr(GVariant) owned = g_variant_take_ref (value);
  g_autofree char *repr = flow_item_repr (owned);

  g_assert_cmpstr (repr, ==, expected);
}

/* An `ay` of the bytes of @str, without the terminating NUL that
 * g_variant_new_bytestring() keeps. */
static GVariant *
bytes_new (const char *str)
{
  return g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, str, strlen (str), 1);
}

static void
assert_repr_text (const char *text,
                  const char *expected)
{
  g_autofree char *repr = flow_test_repr_text (text);

  g_assert_cmpstr (repr, ==, expected);
}

/* ------------------------------------------------------------------------
 * Keyed items and None
 * ------------------------------------------------------------------------ */

static void
test_keyed (void)
{
  g_autoptr(GVariant) item = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) plain = NULL;
  g_autofree char *key = NULL;
  GVariant *v;
  char *k;

  item = g_variant_ref_sink (flow_item_new_keyed ("ALL", g_variant_new_int64 (7)));
  g_assert_cmpstr (g_variant_get_type_string (item), ==, "(sv)");
  g_assert_true (g_variant_type_equal (g_variant_get_type (item), FLOW_ITEM_TYPE_KEYED));
  g_assert_true (flow_item_is_keyed (item));

  g_assert_true (flow_item_get_keyed (item, &key, &value));
  g_assert_cmpstr (key, ==, "ALL");
  g_assert_cmpstr (g_variant_get_type_string (value), ==, "x");
  g_assert_cmpint (g_variant_get_int64 (value), ==, 7);

  /* Either out argument may be omitted. */
  g_assert_true (flow_item_get_keyed (item, NULL, NULL));

  /* A value that is itself a variant is boxed once more, and unboxed once. */
  {
    g_autoptr(GVariant) boxed = g_variant_ref_sink (
      flow_item_new_keyed ("k", g_variant_new_variant (g_variant_new_string ("s"))));
    g_autoptr(GVariant) inner = NULL;

    g_assert_true (flow_item_get_keyed (boxed, NULL, &inner));
    g_assert_cmpstr (g_variant_get_type_string (inner), ==, "v");
  }

  /* Not keyed: other tuples, strings. */
  plain = flow_test_parse ("('a', 1)");
  g_assert_false (flow_item_is_keyed (plain));
  k = (char *) "sentinel";
  v = (GVariant *) plain;
  g_assert_false (flow_item_get_keyed (plain, &k, &v));
  g_assert_null (k);
  g_assert_null (v);
  {
    g_autoptr(GVariant) str = g_variant_ref_sink (g_variant_new_string ("a"));
    g_autoptr(GVariant) si = flow_test_parse ("('a', 1)");
    g_autoptr(GVariant) sv = flow_test_parse ("('a', <1>)");

    g_assert_false (flow_item_is_keyed (str));
    g_assert_false (flow_item_is_keyed (si));
    g_assert_true (flow_item_is_keyed (sv));
  }
}

static void
test_keyed_floating (void)
{
  /* The floating reference of the value is consumed. */
  GVariant *value = g_variant_new_int64 (1);
  GVariant *item;

  g_assert_true (g_variant_is_floating (value));
  item = flow_item_new_keyed ("a", value);
  g_assert_true (g_variant_is_floating (item));
  g_variant_ref_sink (item);
  g_variant_unref (item);

  /* A non-floating value is not consumed: the caller still owns it. */
  value = g_variant_ref_sink (g_variant_new_int64 (2));
  item = g_variant_ref_sink (flow_item_new_keyed ("a", value));
  g_variant_unref (item);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 2);
  g_variant_unref (value);
}

static void
test_none (void)
{
  GVariant *none = flow_item_new_none ();

  g_assert_true (g_variant_is_floating (none));
  g_variant_ref_sink (none);
  g_assert_cmpstr (g_variant_get_type_string (none), ==, "mv");
  g_assert_true (flow_item_is_none (none));
  assert_repr (g_variant_ref (none), "None");
  g_variant_unref (none);

  {
    g_autoptr(GVariant) just = flow_test_parse ("@mv just <5>");
    g_autoptr(GVariant) nothing_i = flow_test_parse ("@mi nothing");
    g_autoptr(GVariant) zero = flow_test_parse ("0");
    g_autoptr(GVariant) empty = flow_test_parse ("@av []");

    g_assert_false (flow_item_is_none (just));
    g_assert_true (flow_item_is_none (nothing_i));
    g_assert_false (flow_item_is_none (zero));
    g_assert_false (flow_item_is_none (empty));
  }
}

/* ------------------------------------------------------------------------
 * repr
 * ------------------------------------------------------------------------ */

static void
test_repr_ints (void)
{
  assert_repr (g_variant_new_int64 (0), "0");
  assert_repr (g_variant_new_int64 (-42), "-42");
  assert_repr (g_variant_new_int64 (G_MAXINT64), "9223372036854775807");
  assert_repr (g_variant_new_int64 (G_MININT64), "-9223372036854775808");
  assert_repr (g_variant_new_uint64 (G_MAXUINT64), "18446744073709551615");
  assert_repr (g_variant_new_int32 (-3), "-3");
  assert_repr (g_variant_new_int32 (G_MININT32), "-2147483648");
  assert_repr (g_variant_new_uint32 (4000000000u), "4000000000");
  assert_repr (g_variant_new_int16 (-7), "-7");
  assert_repr (g_variant_new_uint16 (65535), "65535");
  assert_repr (g_variant_new_byte (255), "255");
}

static void
test_repr_doubles (void)
{
  static const struct { double d; const char *repr; } cases[] = {
    { 2.5, "2.5" },
    { 1e16, "1e+16" },
    { 1e15, "1000000000000000.0" },
    { 0.1, "0.1" },
    { 1.0, "1.0" },
    { 0.0, "0.0" },
    { -0.0, "-0.0" },
    { -1.5, "-1.5" },
    { 1e-05, "1e-05" },
    { 0.0001, "0.0001" },
    { 1.5e-07, "1.5e-07" },
    { 1e22, "1e+22" },
    { 12345.678, "12345.678" },
    { 1.0 / 3.0, "0.3333333333333333" },
    { 123456789012345678.0, "1.2345678901234568e+17" },
    { 5e-324, "5e-324" },
    { 1.7976931348623157e308, "1.7976931348623157e+308" },
    { 100.0, "100.0" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_repr (g_variant_new_double (cases[i].d), cases[i].repr);

  assert_repr (g_variant_new_double (INFINITY), "inf");
  assert_repr (g_variant_new_double (-INFINITY), "-inf");
  assert_repr (g_variant_new_double (NAN), "nan");
}

static void
test_repr_strings (void)
{
  assert_repr (g_variant_new_string ("text"), "'text'");
  assert_repr (g_variant_new_string (""), "''");
  /* Python picks double quotes when there is a ' and no " */
  assert_repr (g_variant_new_string ("it's"), "\"it's\"");
  assert_repr (g_variant_new_string ("say \"hi\""), "'say \"hi\"'");
  assert_repr (g_variant_new_string ("a'b\"c"), "'a\\'b\"c'");
  assert_repr (g_variant_new_string ("back\\slash"), "'back\\\\slash'");
  assert_repr (g_variant_new_string ("a\nb\tc\rd"), "'a\\nb\\tc\\rd'");
  assert_repr (g_variant_new_string ("\x01\x1f\x7f"), "'\\x01\\x1f\\x7f'");
  /* Printable non-ASCII stays as it is; non-printable is escaped. */
  assert_repr (g_variant_new_string ("caf\xc3\xa9"), "'caf\xc3\xa9'");
  assert_repr (g_variant_new_string ("\xf0\x9f\x98\x80"), "'\xf0\x9f\x98\x80'");
  assert_repr (g_variant_new_string ("\xc2\xa0"), "'\\xa0'");      /* U+00A0 */
  assert_repr (g_variant_new_string ("\xc2\xad"), "'\\xad'");      /* U+00AD, Cf */
  assert_repr (g_variant_new_string ("\xe2\x80\x8b"), "'\\u200b'"); /* U+200B, Cf */
  assert_repr (g_variant_new_string ("\xcd\xb8"), "'\\u0378'");    /* unassigned */
}

/* Python treats line and paragraph separators (Zl, Zp) and private-use
 * characters (Co) as not printable: repr('\u2028') is '\\u2028'. */
static void
test_repr_strings_separators (void)
{
  assert_repr (g_variant_new_string ("\xe2\x80\xa8"), "'\\u2028'"); /* U+2028, Zl */
  assert_repr (g_variant_new_string ("\xe2\x80\xa9"), "'\\u2029'"); /* U+2029, Zp */
  assert_repr (g_variant_new_string ("\xee\x80\x80"), "'\\ue000'"); /* U+E000, Co */
}

static void
test_repr_bytes (void)
{
  assert_repr (bytes_new ("abc"), "b'abc'");
  /* g_variant_new_bytestring() keeps its NUL: it is one of the bytes */
  assert_repr (g_variant_new_bytestring ("abc"), "b'abc\\x00'");
  assert_repr (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, "", 0, 1), "b''");
  assert_repr (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, "\x00\xff\n\\", 4, 1),
               "b'\\x00\\xff\\n\\\\'");
  assert_repr (bytes_new ("it's"), "b\"it's\"");
  assert_repr (bytes_new ("caf\xc3\xa9"), "b'caf\\xc3\\xa9'");
}

static void
test_repr_none_bools (void)
{
  assert_repr (flow_item_new_none (), "None");
  assert_repr_text ("@mi nothing", "None");
  assert_repr_text ("@mi just 3", "3");
  assert_repr (g_variant_new_boolean (TRUE), "True");
  assert_repr (g_variant_new_boolean (FALSE), "False");
}

static void
test_repr_containers (void)
{
  assert_repr_text ("@ax [1, 2, 3]", "[1, 2, 3]");
  assert_repr_text ("@ax []", "[]");
  assert_repr_text ("[<1>, <'a'>, <2.5>, <@mv nothing>]", "[1, 'a', 2.5, None]");
  assert_repr_text ("[[1, 2], [3]]", "[[1, 2], [3]]");
  assert_repr_text ("{'a': <1>, 'b': <'x'>}", "{'a': 1, 'b': 'x'}");
  assert_repr_text ("@a{sx} {}", "{}");
  assert_repr_text ("{1: true}", "{1: True}");
  assert_repr_text ("(1, 'a')", "(1, 'a')");
  assert_repr_text ("(1,)", "(1,)");
  assert_repr_text ("('x',)", "('x',)");
  assert_repr_text ("()", "()");
  assert_repr_text ("((1,), [<(2, 'b')>])", "((1,), [(2, 'b')])");
  assert_repr_text ("<<42>>", "42");
}

static void
test_repr_keyed (void)
{
  assert_repr (flow_item_new_keyed ("ALL", g_variant_new_int64 (0)), "('ALL', 0)");
  assert_repr (flow_item_new_keyed ("it's", g_variant_new_string ("v")), "(\"it's\", 'v')");
  assert_repr (flow_item_new_keyed ("k", g_variant_new_parsed ("[<1>, <(2, 'x')>]")),
               "('k', [1, (2, 'x')])");
  assert_repr (flow_item_new_keyed ("k", flow_item_new_none ()), "('k', None)");
}

static void
test_repr_python_object (void)
{
  /* A pickled Python object carries its repr. */
  assert_repr (g_variant_new ("(ss@ay)", "python:pickle", "Point(x=1, y=2)",
                              bytes_new ("\x80\x04.")),
               "Point(x=1, y=2)");
  assert_repr (flow_item_new_keyed ("p", g_variant_new ("(ss@ay)", "python:pickle",
                                                        "datetime.date(2024, 1, 2)",
                                                        bytes_new (""))),
               "('p', datetime.date(2024, 1, 2))");
  /* The same type with another tag is an ordinary tuple. */
  assert_repr (g_variant_new ("(ss@ay)", "other", "x", bytes_new ("")),
               "('other', 'x', b'')");
}

/* ------------------------------------------------------------------------
 * Ordering
 * ------------------------------------------------------------------------ */

static int
compare_text (const char *a,
              const char *b)
{
  g_autoptr(GVariant) va = flow_test_parse (a);
  g_autoptr(GVariant) vb = flow_test_parse (b);
  int ab = flow_item_compare (va, vb);
  int ba = flow_item_compare (vb, va);

  /* Antisymmetric */
  g_assert_cmpint ((ab > 0) - (ab < 0), ==, -((ba > 0) - (ba < 0)));
  return (ab > 0) - (ab < 0);
}

static void
test_compare (void)
{
  /* Numbers by value, whatever their type. */
  g_assert_cmpint (compare_text ("int64 1", "int64 2"), ==, -1);
  g_assert_cmpint (compare_text ("int64 2", "int64 2"), ==, 0);
  g_assert_cmpint (compare_text ("int32 3", "int64 2"), ==, 1);
  g_assert_cmpint (compare_text ("int64 2", "2.0"), ==, 0);
  g_assert_cmpint (compare_text ("2.5", "int64 2"), ==, 1);
  g_assert_cmpint (compare_text ("-0.5", "byte 0"), ==, -1);
  g_assert_cmpint (compare_text ("uint64 18446744073709551615", "int64 -1"), ==, 1);
  g_assert_cmpint (compare_text ("uint64 5", "int64 5"), ==, 0);
  g_assert_cmpint (compare_text ("int64 9223372036854775807", "int64 -9223372036854775808"), ==, 1);
  g_assert_cmpint (compare_text ("true", "int64 1"), ==, 0);
  g_assert_cmpint (compare_text ("false", "true"), ==, -1);

  /* Strings and bytes lexicographically */
  g_assert_cmpint (compare_text ("'apple'", "'banana'"), ==, -1);
  g_assert_cmpint (compare_text ("'b'", "'abc'"), ==, 1);
  g_assert_cmpint (compare_text ("'a'", "'a'"), ==, 0);
  g_assert_cmpint (compare_text ("'ab'", "'a'"), ==, 1);
  g_assert_cmpint (compare_text ("b'ab'", "b'ab\\x00'"), ==, -1);
  g_assert_cmpint (compare_text ("b'b'", "b'abc'"), ==, 1);

  /* Sequences element by element, then by length */
  g_assert_cmpint (compare_text ("(1, 'a')", "(1, 'b')"), ==, -1);
  g_assert_cmpint (compare_text ("(2, 'a')", "(1, 'b')"), ==, 1);
  g_assert_cmpint (compare_text ("[1]", "[1, 0]"), ==, -1);
  g_assert_cmpint (compare_text ("@ax [1, 2]", "[<int64 1>, <2.0>]"), ==, 0);

  /* Boxing is transparent: a variant or a "just" compares as its value */
  g_assert_cmpint (compare_text ("<int64 5>", "int64 5"), ==, 0);
  g_assert_cmpint (compare_text ("<<int64 5>>", "int64 4"), ==, 1);
  g_assert_cmpint (compare_text ("@mx just 3", "int64 3"), ==, 0);

  /* Kinds Python cannot compare: None < numbers < strings < bytes < sequences */
  g_assert_cmpint (compare_text ("@mv nothing", "int64 -100"), ==, -1);
  g_assert_cmpint (compare_text ("@mv nothing", "@mi nothing"), ==, 0);
  g_assert_cmpint (compare_text ("int64 100", "''"), ==, -1);
  g_assert_cmpint (compare_text ("'zzz'", "b''"), ==, -1);
  g_assert_cmpint (compare_text ("b'zzz'", "@ax []"), ==, -1);
}

/* Packs @n_items items (key and value sizes from the lists, in turn;
 * every third item has no key) as a sink receives them
 * (flow_batch_pack_into(): the keyed items as children of one `a(sv)`)
 * and checks that each is the very bytes of the `(sv)` GLib makes itself,
 * in normal form; then that they outlive the batch and one another. */
static void
check_pack (guint        n_items,
            const gsize *key_sizes,
            guint        n_key_sizes,
            const gsize *value_sizes,
            guint        n_value_sizes)
{
  FlowBatch batch;
  g_autoptr(GPtrArray) packed = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_autoptr(GPtrArray) expected = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);

  flow_batch_init (&batch);
  for (guint i = 0; i < n_items; i++)
    {
      g_autofree char *key = g_strnfill (key_sizes[i % n_key_sizes], 'k');
      g_autofree char *text = g_strnfill (value_sizes[(i / n_key_sizes) % n_value_sizes], 'v');
      GVariant *value;

      switch (i % 4)
        {
        case 0: value = g_variant_new_string (text); break;
        case 1: value = g_variant_new_int64 ((gint64) i - 3); break;
        case 2: value = g_variant_new_parsed ("(%s, [1, 2], {'a': <true>})", text); break;
        default: value = g_variant_new_byte ((guchar) i); break;
        }
      value = g_variant_ref_sink (value);
      if (i % 3 == 2)
        {
          g_ptr_array_add (expected, g_variant_ref (value));
          flow_batch_push_take (&batch, NULL, value);
        }
      else
        {
          g_ptr_array_add (expected, g_variant_ref_sink (flow_item_new_keyed (key, value)));
          flow_batch_push_take (&batch, g_ref_string_new (key), value);
        }
    }

  flow_batch_pack_into (&batch, packed);
  g_assert_cmpuint (packed->len, ==, expected->len);
  for (guint i = 0; i < packed->len; i++)
    {
      GVariant *got = g_ptr_array_index (packed, i);
      g_autoptr(GVariant) want = g_variant_get_normal_form (g_ptr_array_index (expected, i));
      g_autoptr(GBytes) got_bytes = g_variant_get_data_as_bytes (got);
      g_autoptr(GBytes) want_bytes = g_variant_get_data_as_bytes (want);

      g_assert_cmpstr (g_variant_get_type_string (got), ==, g_variant_get_type_string (want));
      g_assert_true (g_variant_is_normal_form (got));
      g_assert_true (g_bytes_equal (got_bytes, want_bytes));
      g_assert_true (g_variant_equal (got, want));
    }
  flow_batch_destroy (&batch);
  g_ptr_array_remove_range (expected, 0, expected->len / 2);
  g_ptr_array_remove_range (packed, 0, packed->len / 2);
  for (guint i = 0; i < packed->len; i++)
    g_assert_true (g_variant_equal (g_ptr_array_index (packed, i), g_ptr_array_index (expected, i)));
}

static void
test_pack_batch (void)
{
  /* framing offsets of 1, 2 and 4 bytes, in the array and its tuples */
  gsize small[] = { 0, 1, 7, 8 };
  gsize medium[] = { 0, 1, 8, 250, 300 };
  gsize big[] = { 0, 1, 8, 255, 70000 };

  check_pack (2, small, G_N_ELEMENTS (small), small, G_N_ELEMENTS (small));
  check_pack (8, small, G_N_ELEMENTS (small), small, G_N_ELEMENTS (small));
  check_pack (60, medium, G_N_ELEMENTS (medium), medium, G_N_ELEMENTS (medium));
  check_pack (200, big, G_N_ELEMENTS (big), big, G_N_ELEMENTS (big));
  /* one keyed item (packed alone), one unkeyed, none */
  check_pack (1, small, 1, small, 1);
  check_pack (3, small, G_N_ELEMENTS (small), small, 1);
  check_pack (0, small, 1, small, 1);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* A failing check marks its test failed and the other tests still run. */
  g_test_set_nonfatal_assertions ();

  g_test_add_func ("/item/keyed", test_keyed);
  g_test_add_func ("/item/keyed-floating", test_keyed_floating);
  g_test_add_func ("/item/none", test_none);
  g_test_add_func ("/item/repr/ints", test_repr_ints);
  g_test_add_func ("/item/repr/doubles", test_repr_doubles);
  g_test_add_func ("/item/repr/strings", test_repr_strings);
  g_test_add_func ("/item/repr/strings-separators", test_repr_strings_separators);
  g_test_add_func ("/item/repr/bytes", test_repr_bytes);
  g_test_add_func ("/item/repr/none-bools", test_repr_none_bools);
  g_test_add_func ("/item/repr/containers", test_repr_containers);
  g_test_add_func ("/item/repr/keyed", test_repr_keyed);
  g_test_add_func ("/item/repr/python-object", test_repr_python_object);
  g_test_add_func ("/item/compare", test_compare);
  g_test_add_func ("/item/pack-batch", test_pack_batch);

  return g_test_run ();
}
