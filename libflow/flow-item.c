/* flow-item.c: items, batches, Python-style repr and serialisation
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include "flow-private.h"

/**
 * flow_item_new_keyed:
 * @key: the key
 * @value: the value; if floating, its floating reference is consumed
 *
 * Makes a keyed item: the `(sv)` tuple of @key and @value boxed in a
 * variant. This is what [method@Flow.Stream.key_on] emits and what stateful
 * operators route and store by.
 *
 * Returns: (transfer none): a floating reference to a new `(sv)` item
 */
GVariant *
flow_item_new_keyed (const char *key,
                     GVariant   *value)
{
  GVariant *children[2];

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (value != NULL, NULL);

  children[0] = g_variant_new_string (key);
  children[1] = g_variant_new_variant (value);
  return g_variant_new_tuple (children, 2);
}

/**
 * flow_item_new_none:
 *
 * Makes the item that stands for Python's `None`: an empty maybe of type
 * `mv`.
 *
 * Returns: (transfer none): a floating reference to a new `mv` variant
 */
GVariant *
flow_item_new_none (void)
{
  return g_variant_new_maybe (G_VARIANT_TYPE_VARIANT, NULL);
}

/**
 * flow_item_is_none:
 * @item: an item
 *
 * Tells whether @item is an empty maybe (what Python's `None` becomes).
 *
 * Returns: %TRUE if @item is an empty maybe
 */
gboolean
flow_item_is_none (GVariant *item)
{
  g_return_val_if_fail (item != NULL, FALSE);

  return g_variant_is_of_type (item, G_VARIANT_TYPE_MAYBE) &&
         g_variant_n_children (item) == 0;
}

/**
 * flow_item_is_keyed:
 * @item: an item
 *
 * Tells whether @item is a keyed item, of type `(sv)`.
 *
 * Returns: %TRUE if @item is keyed
 */
gboolean
flow_item_is_keyed (GVariant *item)
{
  g_return_val_if_fail (item != NULL, FALSE);

  return g_variant_is_of_type (item, FLOW_ITEM_TYPE_KEYED);
}

/**
 * flow_item_get_keyed:
 * @item: an item
 * @key: (out) (optional) (transfer full): return location for the key
 * @value: (out) (optional) (transfer full): return location for the value
 *
 * Splits a keyed `(sv)` item into its key and its (unboxed) value.
 *
 * Returns: %TRUE if @item is keyed; otherwise %FALSE, and @key and @value
 *   are set to %NULL
 */
gboolean
flow_item_get_keyed (GVariant  *item,
                     char     **key,
                     GVariant **value)
{
  g_return_val_if_fail (item != NULL, FALSE);

  if (!flow_item_is_keyed (item))
    {
      if (key != NULL)
        *key = NULL;
      if (value != NULL)
        *value = NULL;
      return FALSE;
    }

  if (key != NULL)
    g_variant_get_child (item, 0, "s", key);
  if (value != NULL)
    {
      g_autoptr(GVariant) boxed = g_variant_get_child_value (item, 1);
      *value = g_variant_get_variant (boxed);
    }
  return TRUE;
}

/* ------------------------------------------------------------------------
 * Batches
 * ------------------------------------------------------------------------ */

void
flow_batch_init (FlowBatch *batch)
{
  batch->items = NULL;
  batch->len = 0;
  batch->alloc = 0;
}

void
flow_batch_clear (FlowBatch *batch)
{
  for (guint i = 0; i < batch->len; i++)
    {
      /* NULL: moved out by the node it was pushed to (batch_owned) */
      if (batch->items[i].key != NULL)
        g_ref_string_release (batch->items[i].key);
      if (batch->items[i].value != NULL)
        g_variant_unref (batch->items[i].value);
    }
  batch->len = 0;
}

void
flow_batch_destroy (FlowBatch *batch)
{
  flow_batch_clear (batch);
  g_clear_pointer (&batch->items, g_free);
  batch->alloc = 0;
}

void
flow_batch_reserve (FlowBatch *batch,
                    guint      n)
{
  guint alloc;

  if (n <= batch->alloc)
    return;

  alloc = MAX (batch->alloc * 2, 64);
  while (alloc < n)
    alloc *= 2;
  batch->items = g_renew (FlowItem, batch->items, alloc);
  batch->alloc = alloc;
}

void
flow_batch_push_copy (FlowBatch      *batch,
                      const FlowItem *item)
{
  flow_batch_push_take (batch,
                        item->key ? g_ref_string_acquire (item->key) : NULL,
                        g_variant_ref (item->value));
}

GVariant *
flow_variant_unbox (GVariant *child)
{
  if (g_variant_is_of_type (child, G_VARIANT_TYPE_VARIANT))
    {
      GVariant *inner = g_variant_get_variant (child);
      g_variant_unref (child);
      return inner;
    }
  return child;
}

void
flow_batch_push_array (FlowBatch  *batch,
                       const char *key,
                       GVariant   *array)
{
  gsize n = g_variant_n_children (array);

  flow_batch_reserve (batch, batch->len + n);
  for (gsize i = 0; i < n; i++)
    {
      GVariant *child = flow_variant_unbox (g_variant_get_child_value (array, i));
      flow_batch_push_take (batch, key ? g_ref_string_acquire ((char *) key) : NULL, child);
    }
}

gboolean
flow_item_split (FlowItem *item)
{
  GVariant *key_v, *boxed;

  if (item->key != NULL)
    return TRUE;
  if (!g_variant_is_of_type (item->value, FLOW_ITEM_TYPE_KEYED))
    return FALSE;

  key_v = g_variant_get_child_value (item->value, 0);
  boxed = g_variant_get_child_value (item->value, 1);
  item->key = g_ref_string_new (g_variant_get_string (key_v, NULL));
  g_variant_unref (item->value);
  item->value = g_variant_get_variant (boxed);
  g_variant_unref (key_v);
  g_variant_unref (boxed);
  return TRUE;
}

/* The size of the framing offsets of a container of @body bytes with
 * @n_offsets offsets (as gvariant-serialiser.c chooses it). */
static gsize
offset_size_for (gsize body,
                 gsize n_offsets)
{
  if (body + n_offsets <= G_MAXUINT8)
    return 1;
  if (body + 2 * n_offsets <= G_MAXUINT16)
    return 2;
  if (body + 4 * n_offsets <= G_MAXUINT32)
    return 4;
  return 8;
}

/* Framing offsets are little-endian on every machine. */
static void
put_offset (guchar *p,
            gsize   size,
            gsize   value)
{
  for (gsize i = 0; i < size; i++)
    p[i] = (guchar) ((guint64) value >> (8 * i));
}

/* Builds the `(sv)` tuple in its serialised form, in one buffer: the key
 * and its NUL, padding to the 8-byte alignment of `v`, the value's data, a
 * NUL and the value's type string, then the tuple's one framing offset
 * (the end of the key). That is 3 allocations instead of the 7 of a
 * tree-form tuple, and it is what sinks receive for every keyed item. */
/* The size of @item's `(sv)` tuple (@item has a key). */
static gsize
tuple_size (const FlowItem *item)
{
  gsize body = ((strlen (item->key) + 1 + 7) & ~(gsize) 7) + g_variant_get_size (item->value) + 1 +
               strlen (g_variant_get_type_string (item->value));

  return body + offset_size_for (body, 1);
}

/* Writes @item's `(sv)` tuple at @t (tuple_size() bytes, zeroed). */
static void
tuple_write (const FlowItem *item,
             guchar         *t)
{
  gsize key_len = strlen (item->key) + 1;
  gsize value_start = (key_len + 7) & ~(gsize) 7;
  gsize value_size = g_variant_get_size (item->value);
  const char *type = g_variant_get_type_string (item->value);
  gsize type_len = strlen (type);
  gsize body = value_start + value_size + 1 + type_len;

  memcpy (t, item->key, key_len);
  g_variant_store (item->value, t + value_start);
  memcpy (t + value_start + value_size + 1, type, type_len);
  put_offset (t + body, offset_size_for (body, 1), key_len);
}

GVariant *
flow_item_pack (const FlowItem *item)
{
  gsize total;
  guchar *buf;

  if (item->key == NULL)
    return g_variant_ref (item->value);

  total = tuple_size (item);
  buf = g_malloc0 (total);
  tuple_write (item, buf);
  return g_variant_ref_sink (g_variant_new_from_data (FLOW_ITEM_TYPE_KEYED, buf, total, TRUE,
                                                      g_free, buf));
}

/* Appends @batch's items, packed, to @out (full references): what a sink
 * partition's write_batch() receives.
 *
 * Its keyed items are serialised as the elements of one `a(sv)` array (one
 * buffer, laid out as flow_item_pack() lays out one tuple, each element
 * 8-aligned, the array's offsets after them) and handed over as that
 * array's children. A child is a GVariant like any other; it shares the
 * batch's buffer (which stays alive while any child is kept) instead of
 * having its own bytes, so packing an item costs one allocation instead of
 * three, and no look-up of the `(sv)` type under GLib's global type-info
 * lock, which threaded workers otherwise take in turns for every item. */
void
flow_batch_pack_into (const FlowBatch *batch,
                      GPtrArray       *out)
{
  g_autoptr(GVariant) array = NULL;
  gsize body = 0, offset_size, total, pos = 0;
  guint n_keyed = 0, k = 0;
  gsize *ends;
  guchar *buf;

  for (guint i = 0; i < batch->len; i++)
    if (batch->items[i].key != NULL)
      n_keyed++;
  if (n_keyed < 2)
    {
      for (guint i = 0; i < batch->len; i++)
        g_ptr_array_add (out, flow_item_pack (&batch->items[i]));
      return;
    }

  /* The elements' ends, each element 8-aligned. */
  ends = g_new (gsize, n_keyed);
  for (guint i = 0; i < batch->len; i++)
    if (batch->items[i].key != NULL)
      {
        body = ((body + 7) & ~(gsize) 7) + tuple_size (&batch->items[i]);
        ends[k++] = body;
      }
  offset_size = offset_size_for (body, n_keyed);
  total = body + offset_size * n_keyed;

  buf = g_malloc0 (total);
  k = 0;
  for (guint i = 0; i < batch->len; i++)
    if (batch->items[i].key != NULL)
      {
        tuple_write (&batch->items[i], buf + ((pos + 7) & ~(gsize) 7));
        pos = ends[k++];
      }
  for (guint i = 0; i < n_keyed; i++)
    put_offset (buf + body + i * offset_size, offset_size, ends[i]);
  g_free (ends);

  array = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE ("a(sv)"), buf, total, TRUE,
                                                       g_free, buf));
  k = 0;
  for (guint i = 0; i < batch->len; i++)
    {
      if (batch->items[i].key == NULL)
        g_ptr_array_add (out, g_variant_ref (batch->items[i].value));
      else
        g_ptr_array_add (out, g_variant_get_child_value (array, k++));
    }
}

/* ------------------------------------------------------------------------
 * Python-style repr
 * ------------------------------------------------------------------------ */

static void
append_py_string (GString    *s,
                  const char *str,
                  gsize       len,
                  gboolean    is_bytes)
{
  const char *end = str + len;
  gboolean has_single = memchr (str, '\'', len) != NULL;
  gboolean has_double = memchr (str, '"', len) != NULL;
  char quote = (has_single && !has_double) ? '"' : '\'';

  if (is_bytes)
    g_string_append_c (s, 'b');
  g_string_append_c (s, quote);

  for (const char *p = str; p < end;)
    {
      gunichar c;
      const char *next;

      if (is_bytes)
        {
          c = (guchar) *p;
          next = p + 1;
        }
      else
        {
          c = g_utf8_get_char_validated (p, end - p);
          if (c == (gunichar) -1 || c == (gunichar) -2)
            {
              /* Not UTF-8: Python would have decoded with surrogateescape. */
              g_string_append_printf (s, "\\udc%02x", (guchar) *p);
              p++;
              continue;
            }
          next = g_utf8_next_char (p);
        }

      if (c == (gunichar) quote || c == '\\')
        {
          g_string_append_c (s, '\\');
          g_string_append_c (s, (char) c);
        }
      else if (c == '\n')
        g_string_append (s, "\\n");
      else if (c == '\r')
        g_string_append (s, "\\r");
      else if (c == '\t')
        g_string_append (s, "\\t");
      else if (c < 0x20 || c == 0x7f || (is_bytes && c >= 0x80))
        g_string_append_printf (s, "\\x%02x", c);
      else if (c < 0x80)
        g_string_append_c (s, (char) c);
      else if (!g_unichar_isprint (c) ||
               g_unichar_type (c) == G_UNICODE_SPACE_SEPARATOR ||
               g_unichar_type (c) == G_UNICODE_LINE_SEPARATOR ||
               g_unichar_type (c) == G_UNICODE_PARAGRAPH_SEPARATOR ||
               g_unichar_type (c) == G_UNICODE_PRIVATE_USE)
        {
          if (c <= 0xff)
            g_string_append_printf (s, "\\x%02x", c);
          else if (c <= 0xffff)
            g_string_append_printf (s, "\\u%04x", c);
          else
            g_string_append_printf (s, "\\U%08x", c);
        }
      else
        g_string_append_len (s, p, next - p);

      p = next;
    }

  g_string_append_c (s, quote);
}

static void
append_py_float (GString *s,
                 double   d)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE + 8];
  char fmt[16];
  char digits[32];
  int n_digits = 0;
  int exponent;
  const char *e;

  if (isnan (d))
    {
      g_string_append (s, "nan");
      return;
    }
  if (isinf (d))
    {
      g_string_append (s, d > 0 ? "inf" : "-inf");
      return;
    }
  if (d == 0.0)
    {
      g_string_append (s, signbit (d) ? "-0.0" : "0.0");
      return;
    }

  /* The shortest digit string that reads back as the same double. */
  for (int precision = 0; precision < 17; precision++)
    {
      g_snprintf (fmt, sizeof fmt, "%%.%de", precision);
      g_ascii_formatd (buf, sizeof buf, fmt, d);
      if (g_ascii_strtod (buf, NULL) == d)
        break;
    }

  /* buf is "-d.ddddde+XX" */
  e = strchr (buf, 'e');
  exponent = atoi (e + 1);
  for (const char *p = buf; p < e; p++)
    if (g_ascii_isdigit (*p))
      digits[n_digits++] = *p;
  while (n_digits > 1 && digits[n_digits - 1] == '0')
    n_digits--;
  digits[n_digits] = '\0';

  if (d < 0)
    g_string_append_c (s, '-');

  if (exponent >= -4 && exponent < 16)
    {
      if (exponent < 0)
        {
          g_string_append (s, "0.");
          for (int i = 0; i < -exponent - 1; i++)
            g_string_append_c (s, '0');
          g_string_append (s, digits);
        }
      else
        {
          for (int i = 0; i <= exponent; i++)
            g_string_append_c (s, i < n_digits ? digits[i] : '0');
          g_string_append_c (s, '.');
          if (n_digits > exponent + 1)
            g_string_append (s, digits + exponent + 1);
          else
            g_string_append_c (s, '0');
        }
    }
  else
    {
      g_string_append_c (s, digits[0]);
      if (n_digits > 1)
        {
          g_string_append_c (s, '.');
          g_string_append (s, digits + 1);
        }
      g_string_append_printf (s, "e%c%02d", exponent < 0 ? '-' : '+', ABS (exponent));
    }
}

/* The decimal digits of an integer, without printf(): sinks write a line
 * per item and integers are the commonest values (issue 12). */
static void
append_uint64 (GString *s,
               guint64  value,
               gboolean negative)
{
  char buf[24];
  char *p = buf + sizeof buf;

  do
    {
      *--p = (char) ('0' + value % 10);
      value /= 10;
    }
  while (value != 0);
  if (negative)
    *--p = '-';
  g_string_append_len (s, p, buf + sizeof buf - p);
}

static void
append_int64 (GString *s,
              gint64   value)
{
  append_uint64 (s, value < 0 ? (guint64) 0 - (guint64) value : (guint64) value, value < 0);
}

static gboolean
is_python_object (GVariant *value)
{
  const char *tag;

  if (!g_variant_is_of_type (value, G_VARIANT_TYPE ("(ssay)")))
    return FALSE;
  g_variant_get_child (value, 0, "&s", &tag);
  return g_str_equal (tag, "python:pickle");
}

void
flow_repr_append (GString  *s,
                  GVariant *value)
{
  switch (g_variant_classify (value))
    {
    case G_VARIANT_CLASS_BOOLEAN:
      g_string_append (s, g_variant_get_boolean (value) ? "True" : "False");
      break;
    case G_VARIANT_CLASS_BYTE:
      g_string_append_printf (s, "%u", g_variant_get_byte (value));
      break;
    case G_VARIANT_CLASS_INT16:
      g_string_append_printf (s, "%d", g_variant_get_int16 (value));
      break;
    case G_VARIANT_CLASS_UINT16:
      g_string_append_printf (s, "%u", g_variant_get_uint16 (value));
      break;
    case G_VARIANT_CLASS_INT32:
      append_int64 (s, g_variant_get_int32 (value));
      break;
    case G_VARIANT_CLASS_UINT32:
      g_string_append_printf (s, "%u", g_variant_get_uint32 (value));
      break;
    /* The type is known: g_variant_get_int64() would check it again. Its
     * data is NULL only in a fixed-size variant of the wrong size, 0. */
    case G_VARIANT_CLASS_INT64:
      {
        const gint64 *data = g_variant_get_data (value);
        append_int64 (s, data != NULL ? *data : 0);
      }
      break;
    case G_VARIANT_CLASS_UINT64:
      {
        const guint64 *data = g_variant_get_data (value);
        append_uint64 (s, data != NULL ? *data : 0, FALSE);
      }
      break;
    case G_VARIANT_CLASS_HANDLE:
      g_string_append_printf (s, "%d", g_variant_get_handle (value));
      break;
    case G_VARIANT_CLASS_DOUBLE:
      append_py_float (s, g_variant_get_double (value));
      break;
    case G_VARIANT_CLASS_STRING:
    case G_VARIANT_CLASS_OBJECT_PATH:
    case G_VARIANT_CLASS_SIGNATURE:
      {
        gsize len;
        const char *str = g_variant_get_string (value, &len);
        append_py_string (s, str, len, FALSE);
      }
      break;
    case G_VARIANT_CLASS_VARIANT:
      {
        g_autoptr(GVariant) inner = g_variant_get_variant (value);
        flow_repr_append (s, inner);
      }
      break;
    case G_VARIANT_CLASS_MAYBE:
      {
        g_autoptr(GVariant) inner = g_variant_get_maybe (value);
        if (inner == NULL)
          g_string_append (s, "None");
        else
          flow_repr_append (s, inner);
      }
      break;
    case G_VARIANT_CLASS_ARRAY:
      if (g_variant_is_of_type (value, G_VARIANT_TYPE_BYTESTRING))
        {
          gsize len;
          const char *data = g_variant_get_fixed_array (value, &len, 1);
          append_py_string (s, data ? data : "", len, TRUE);
        }
      else
        {
          gsize n = g_variant_n_children (value);
          const GVariantType *element = g_variant_type_element (g_variant_get_type (value));
          gboolean is_dict = g_variant_type_is_dict_entry (element);

          g_string_append_c (s, is_dict ? '{' : '[');
          for (gsize i = 0; i < n; i++)
            {
              g_autoptr(GVariant) child = g_variant_get_child_value (value, i);
              if (i > 0)
                g_string_append (s, ", ");
              if (is_dict)
                {
                  g_autoptr(GVariant) k = g_variant_get_child_value (child, 0);
                  g_autoptr(GVariant) v = g_variant_get_child_value (child, 1);
                  flow_repr_append (s, k);
                  g_string_append (s, ": ");
                  flow_repr_append (s, v);
                }
              else
                flow_repr_append (s, child);
            }
          g_string_append_c (s, is_dict ? '}' : ']');
        }
      break;
    case G_VARIANT_CLASS_TUPLE:
      if (is_python_object (value))
        {
          const char *repr;
          g_variant_get_child (value, 1, "&s", &repr);
          g_string_append (s, repr);
        }
      else
        {
          gsize n = g_variant_n_children (value);

          g_string_append_c (s, '(');
          for (gsize i = 0; i < n; i++)
            {
              g_autoptr(GVariant) child = g_variant_get_child_value (value, i);
              if (i > 0)
                g_string_append (s, ", ");
              flow_repr_append (s, child);
            }
          if (n == 1)
            g_string_append_c (s, ',');
          g_string_append_c (s, ')');
        }
      break;
    case G_VARIANT_CLASS_DICT_ENTRY:
      {
        g_autoptr(GVariant) k = g_variant_get_child_value (value, 0);
        g_autoptr(GVariant) v = g_variant_get_child_value (value, 1);
        g_string_append_c (s, '(');
        flow_repr_append (s, k);
        g_string_append (s, ", ");
        flow_repr_append (s, v);
        g_string_append_c (s, ')');
      }
      break;
    default:
      g_assert_not_reached ();
    }
}

/**
 * flow_item_repr:
 * @item: an item
 *
 * Formats @item the way Python's `repr()` formats the value PyGObject's
 * override unpacks it to: `('ALL', 0)` for a keyed item, `'text'`, `2.5`,
 * `[1, 2]`, `{'a': 1}`, `b'raw'`, `True`, `None`. This is how
 * [class@Flow.StdOutSink] prints items, in every language.
 *
 * Returns: (transfer full): the repr of @item
 */
char *
flow_item_repr (GVariant *item)
{
  GString *s;

  g_return_val_if_fail (item != NULL, NULL);

  s = g_string_new (NULL);
  flow_repr_append (s, item);
  return g_string_free (s, FALSE);
}

char *
flow_item_repr_split (const FlowItem *item)
{
  GString *s = g_string_new (NULL);

  if (item->key != NULL)
    {
      g_string_append_c (s, '(');
      append_py_string (s, item->key, strlen (item->key), FALSE);
      g_string_append (s, ", ");
      flow_repr_append (s, item->value);
      g_string_append_c (s, ')');
    }
  else
    flow_repr_append (s, item->value);
  return g_string_free (s, FALSE);
}

/* ------------------------------------------------------------------------
 * Ordering
 * ------------------------------------------------------------------------ */

enum { RANK_NONE, RANK_NUMBER, RANK_STRING, RANK_BYTES, RANK_SEQUENCE, RANK_OTHER };

static int
rank_of (GVariant *v)
{
  switch (g_variant_classify (v))
    {
    case G_VARIANT_CLASS_BOOLEAN:
    case G_VARIANT_CLASS_BYTE:
    case G_VARIANT_CLASS_INT16:
    case G_VARIANT_CLASS_UINT16:
    case G_VARIANT_CLASS_INT32:
    case G_VARIANT_CLASS_UINT32:
    case G_VARIANT_CLASS_INT64:
    case G_VARIANT_CLASS_UINT64:
    case G_VARIANT_CLASS_HANDLE:
    case G_VARIANT_CLASS_DOUBLE:
      return RANK_NUMBER;
    case G_VARIANT_CLASS_STRING:
    case G_VARIANT_CLASS_OBJECT_PATH:
    case G_VARIANT_CLASS_SIGNATURE:
      return RANK_STRING;
    case G_VARIANT_CLASS_MAYBE:
      return RANK_NONE;
    case G_VARIANT_CLASS_ARRAY:
      return g_variant_is_of_type (v, G_VARIANT_TYPE_BYTESTRING) ? RANK_BYTES : RANK_SEQUENCE;
    case G_VARIANT_CLASS_TUPLE:
    case G_VARIANT_CLASS_DICT_ENTRY:
      return RANK_SEQUENCE;
    case G_VARIANT_CLASS_VARIANT:
    default:
      return RANK_OTHER;
    }
}

static gboolean
number_is_integral (GVariant *v, gint64 *i, guint64 *u, gboolean *is_unsigned)
{
  *is_unsigned = FALSE;
  switch (g_variant_classify (v))
    {
    case G_VARIANT_CLASS_BOOLEAN: *i = g_variant_get_boolean (v); return TRUE;
    case G_VARIANT_CLASS_BYTE: *i = g_variant_get_byte (v); return TRUE;
    case G_VARIANT_CLASS_INT16: *i = g_variant_get_int16 (v); return TRUE;
    case G_VARIANT_CLASS_UINT16: *i = g_variant_get_uint16 (v); return TRUE;
    case G_VARIANT_CLASS_INT32: *i = g_variant_get_int32 (v); return TRUE;
    case G_VARIANT_CLASS_UINT32: *i = g_variant_get_uint32 (v); return TRUE;
    case G_VARIANT_CLASS_INT64: *i = g_variant_get_int64 (v); return TRUE;
    case G_VARIANT_CLASS_HANDLE: *i = g_variant_get_handle (v); return TRUE;
    case G_VARIANT_CLASS_UINT64:
      *u = g_variant_get_uint64 (v);
      *is_unsigned = TRUE;
      return TRUE;
    default:
      return FALSE;
    }
}

static double
number_as_double (GVariant *v)
{
  gint64 i;
  guint64 u;
  gboolean is_unsigned;

  if (number_is_integral (v, &i, &u, &is_unsigned))
    return is_unsigned ? (double) u : (double) i;
  return g_variant_get_double (v);
}

/**
 * flow_item_compare:
 * @a: an item
 * @b: another item
 *
 * Compares two items the way Python compares the values they unpack to:
 * numbers by value (whatever their GVariant type), strings and bytes
 * lexicographically, tuples and arrays element by element. Values that
 * Python could not compare (a string and a number, say) are ordered by kind:
 * None, numbers, strings, bytes, sequences. This is the order of
 * [method@Flow.Stream.max_final] and [method@Flow.Stream.min_final].
 *
 * Returns: a negative number, 0 or a positive number as @a is smaller than,
 *   equal to or greater than @b
 */
int
flow_item_compare (GVariant *a,
                   GVariant *b)
{
  int ra, rb;

  g_return_val_if_fail (a != NULL, 0);
  g_return_val_if_fail (b != NULL, 0);

  if (g_variant_is_of_type (a, G_VARIANT_TYPE_VARIANT))
    {
      g_autoptr(GVariant) inner = g_variant_get_variant (a);
      return flow_item_compare (inner, b);
    }
  if (g_variant_is_of_type (b, G_VARIANT_TYPE_VARIANT))
    {
      g_autoptr(GVariant) inner = g_variant_get_variant (b);
      return flow_item_compare (a, inner);
    }

  ra = rank_of (a);
  rb = rank_of (b);
  if (ra == RANK_NONE && g_variant_n_children (a) == 1)
    {
      g_autoptr(GVariant) inner = g_variant_get_child_value (a, 0);
      return flow_item_compare (inner, b);
    }
  if (rb == RANK_NONE && g_variant_n_children (b) == 1)
    {
      g_autoptr(GVariant) inner = g_variant_get_child_value (b, 0);
      return flow_item_compare (a, inner);
    }
  if (ra != rb)
    return ra < rb ? -1 : 1;

  switch (ra)
    {
    case RANK_NONE:
      return 0;
    case RANK_NUMBER:
      {
        gint64 ia = 0, ib = 0;
        guint64 ua = 0, ub = 0;
        gboolean sa, sb;

        if (number_is_integral (a, &ia, &ua, &sa) && number_is_integral (b, &ib, &ub, &sb))
          {
            if (!sa && !sb)
              return ia < ib ? -1 : ia > ib;
            if (sa && sb)
              return ua < ub ? -1 : ua > ub;
            if (sa)
              return ib < 0 ? 1 : (ua < (guint64) ib ? -1 : ua > (guint64) ib);
            return ia < 0 ? -1 : ((guint64) ia < ub ? -1 : (guint64) ia > ub);
          }
        else
          {
            double da = number_as_double (a), db = number_as_double (b);
            return da < db ? -1 : da > db;
          }
      }
    case RANK_STRING:
      return strcmp (g_variant_get_string (a, NULL), g_variant_get_string (b, NULL));
    case RANK_BYTES:
      {
        gsize la, lb;
        const guchar *da = g_variant_get_fixed_array (a, &la, 1);
        const guchar *db = g_variant_get_fixed_array (b, &lb, 1);
        int c = memcmp (da, db, MIN (la, lb));
        if (c != 0)
          return c;
        return la < lb ? -1 : la > lb;
      }
    case RANK_SEQUENCE:
      {
        gsize na = g_variant_n_children (a), nb = g_variant_n_children (b);
        for (gsize i = 0; i < MIN (na, nb); i++)
          {
            g_autoptr(GVariant) ca = g_variant_get_child_value (a, i);
            g_autoptr(GVariant) cb = g_variant_get_child_value (b, i);
            int c = flow_item_compare (ca, cb);
            if (c != 0)
              return c;
          }
        return na < nb ? -1 : na > nb;
      }
    default:
      return g_variant_compare (a, b);
    }
}

/* ------------------------------------------------------------------------
 * Hashing and serialisation
 * ------------------------------------------------------------------------ */

guint64
flow_hash_bytes (guint64     seed,
                 const void *data,
                 gsize       len)
{
  const guchar *p = data;
  guint64 h = seed;

  for (gsize i = 0; i < len; i++)
    {
      h ^= p[i];
      h *= G_GUINT64_CONSTANT (0x100000001b3);
    }
  return h;
}

guint64
flow_hash_string (guint64     seed,
                  const char *string)
{
  /* Include the terminating NUL, so that ("ab", "c") != ("a", "bc"). */
  return flow_hash_bytes (seed, string, strlen (string) + 1);
}

/* flow_variant_serialize()'s general path: any byte order, values not in
 * normal form. */
static GBytes *
flow_variant_serialize_boxed (GVariant *value)
{
  g_autoptr(GVariant) boxed = g_variant_ref_sink (g_variant_new_variant (value));
  g_autoptr(GVariant) normal = g_variant_get_normal_form (boxed);

  if (G_BYTE_ORDER == G_BIG_ENDIAN)
    {
      g_autoptr(GVariant) swapped = g_variant_byteswap (normal);
      return g_variant_get_data_as_bytes (swapped);
    }
  return g_variant_get_data_as_bytes (normal);
}

GBytes *
flow_variant_serialize (GVariant *value)
{
  /* A serialised `v` is the value's data in normal form, a NUL and the
   * value's type string (no padding, no framing offset). For a value in
   * normal form (every value built by g_variant_new_*(), a flag test for
   * those) that is written directly into one buffer: no boxing variant,
   * no second serialisation, no copy (issue 12: the recovery writer
   * serialises every changed key's state each epoch). The bytes are the
   * same as the general path's above (tests/recovery/test-store.c). */
  if (G_BYTE_ORDER == G_LITTLE_ENDIAN && g_variant_is_normal_form (value))
    {
      const char *type = g_variant_get_type_string (value);
      gsize size = g_variant_get_size (value);
      gsize type_len = strlen (type);
      guchar *data = g_malloc (size + 1 + type_len);

      g_variant_store (value, data);
      data[size] = '\0';
      memcpy (data + size + 1, type, type_len);
      return g_bytes_new_take (data, size + 1 + type_len);
    }

  return flow_variant_serialize_boxed (value);
}

/* The inverse of flow_variant_serialize(): a serialised `v` is the value's
 * data, a NUL, and the value's type string. Reading the type string from
 * the end and wrapping the data directly costs one copy and two small
 * allocations.
 *
 * The data is not trusted (it comes from a file anyone who can write the
 * recovery directory may have changed), so everything GVariant would
 * abort on, or would silently read as a default value, is rejected first:
 * a type string that is not one complete definite type (GLib asserts that
 * types of data are definite: "\0?" would abort the process), a type
 * nested deeper than GVariant allows, and data that is not in normal form
 * (wrong size for a fixed-size type, bad framing offsets, a string without
 * its NUL, a boolean that is not 0 or 1, …). */
GVariant *
flow_variant_deserialize (const void  *data,
                          gsize        size,
                          GError     **error)
{
  return flow_variant_deserialize_cached (data, size, NULL, error);
}

/* g_variant_type_string_scan() accepts indefinite types ('*', '?', 'r',
 * "a*", "m?", "(*)", "a{?*}"): a data type must have none of them. */
static gboolean
type_string_is_definite (const char *type,
                         gsize       len)
{
  for (gsize i = 0; i < len; i++)
    if (type[i] == '*' || type[i] == '?' || type[i] == 'r')
      return FALSE;
  return TRUE;
}

GVariant *
flow_variant_deserialize_cached (const void  *data,
                                 gsize        size,
                                 char       **last_type,
                                 GError     **error)
{
  const char *bytes = data;
  const char *type_string;
  const char *problem;
  gsize data_len;
  g_autoptr(GBytes) value_bytes = NULL;
  GVariant *value;

  /* Find the NUL that separates the data from the type string. */
  data_len = size;
  while (data_len > 0 && bytes[data_len - 1] != '\0')
    data_len--;
  if (data_len == 0)
    {
      problem = "it has no type string";
      goto corrupt;
    }
  type_string = bytes + data_len;
  data_len--;

  {
    const char *end;
    gsize type_len = size - (type_string - bytes);
    g_autofree char *type_copy = NULL;
    const char *type;

    /* States of one step mostly share a type: remember the last one (only
     * ever a checked one). */
    if (last_type != NULL && *last_type != NULL &&
        strncmp (*last_type, type_string, type_len) == 0 && (*last_type)[type_len] == '\0')
      type = *last_type;
    else
      {
        if (type_len == 0 || !g_variant_type_string_scan (type_string, type_string + type_len, &end) ||
            end != type_string + type_len)
          {
            problem = "its type string is not a GVariant type";
            goto corrupt;
          }
        if (!type_string_is_definite (type_string, type_len))
          {
            problem = "its type string is not a definite type";
            goto corrupt;
          }
        type_copy = g_strndup (type_string, type_len);
        if (last_type != NULL)
          {
            g_free (*last_type);
            *last_type = g_steal_pointer (&type_copy);
            type = *last_type;
          }
        else
          type = type_copy;
      }

    /* A copy with zero padding after the data: GLib 2.74's normal-form
     * check reads a byte past the end of some malformed data (found by
     * /store/fuzz/deserialize under valgrind). */
    {
      guint8 *copy = g_malloc (data_len + 8);

      memcpy (copy, bytes, data_len);
      memset (copy + data_len, 0, 8);
      value_bytes = g_bytes_new_take (copy, data_len);
    }
    value = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (type), value_bytes, FALSE));
  }

  /* Data of the wrong size for a fixed-size type would be read as zeroes,
   * other malformed data as default values: nothing to resume from. */
  if (!g_variant_is_normal_form (value))
    {
      g_variant_unref (value);
      problem = "its data is malformed for its type";
      goto corrupt;
    }

  if (G_BYTE_ORDER == G_BIG_ENDIAN)
    {
      GVariant *swapped = g_variant_byteswap (value);
      g_variant_unref (value);
      value = swapped;
    }
  return value;

corrupt:
  g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
               "a stored state of %" G_GSIZE_FORMAT " bytes is not a valid serialised GVariant: %s",
               size, problem);
  return NULL;
}
