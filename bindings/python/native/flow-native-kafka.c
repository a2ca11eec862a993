/* flow-native-kafka.c: Kafka messages of the flow package as GVariant tuples, in C
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * flow.connectors.kafka's KafkaSourceMessage and KafkaSinkMessage would
 * cross every step pickled (with their repr), since they are not plain
 * values. Once the package registered its classes (register_kafka()),
 * the native conversions carry them as fixed GVariant tuples instead, the
 * form the C connectors read and write, so a message costs one cheap
 * conversion each way, bytes as bytes:
 *
 *   KafkaSourceMessage, key and value bytes or None
 *       (maymaysixxa(smay))   FLOW_KAFKA_MESSAGE_TYPE_STRING, what
 *                             Flow.KafkaSource emits
 *   KafkaSourceMessage, other keys or values (deserialized)
 *       (mvmvsixxa(smay))     key and value as items (None: nothing)
 *   KafkaSinkMessage
 *       (mvmvmsmimxxa(smay))  key, value, topic, partition, offset
 *                             (nothing), timestamp (µs), headers: a
 *                             message Flow.KafkaSink accepts
 *
 * (key, value, topic, partition, offset, timestamp in microseconds since
 * the epoch or -1, headers). A message these forms cannot carry exactly
 * (a latency, a timestamp other than (1, ms) or (0, 0), headers that are
 * not (str, bytes or None) pairs, a partition or offset that is not an
 * int) is pickled as before. Error items of the source, `(sixis)`, become
 * whatever the registered Python function makes of their tuple.
 *
 * The override's pure-Python conversions do the same through the
 * converters flow.connectors.kafka registers with it.
 */

#include "flow-native-kafka.h"

#define NO_IMPORT_PYGOBJECT   /* flow-native.c imports it */
#include <pygobject.h>

#include <string.h>

#include <flow.h>

#define SOURCE_BYTES_TYPE "(maymaysixxa(smay))"
#define SOURCE_ANY_TYPE   "(mvmvsixxa(smay))"
#define SINK_TYPE         "(mvmvmsmimxxa(smay))"
#define ERROR_TYPE        "(sixis)"

static FlowNativeToVariant to_variant_fn;
static FlowNativeFromVariant from_variant_fn;

/* Set by register_kafka(); all NULL until then. */
static PyObject *source_class;   /* KafkaSourceMessage */
static PyObject *sink_class;     /* KafkaSinkMessage */
static PyObject *error_fn;       /* (topic, partition, offset, code, reason) -> KafkaError */

/* Attribute names, interned. */
enum {
  A_KEY, A_VALUE, A_TOPIC, A_HEADERS, A_LATENCY, A_OFFSET, A_PARTITION, A_TIMESTAMP,
  N_ATTRS
};
static const char *const attr_names[N_ATTRS] = {
  "key", "value", "topic", "headers", "latency", "offset", "partition", "timestamp",
};
static PyObject *attrs[N_ATTRS];
static PyObject *empty_tuple;
static PyObject *no_timestamp;   /* (0, 0) */

/* The last topic converted, so that a batch of one topic shares its str. */
static char *last_topic;
static PyObject *last_topic_py;

void
flow_native_kafka_init (FlowNativeToVariant   to_variant,
                        FlowNativeFromVariant from_variant)
{
  to_variant_fn = to_variant;
  from_variant_fn = from_variant;
}

/* ------------------------------------------------------------------------
 * GVariant -> Python
 * ------------------------------------------------------------------------ */

static PyObject *
topic_to_py (GVariant *v)
{
  gsize len;
  const char *topic = g_variant_get_string (v, &len);

  if (last_topic_py == NULL || strcmp (last_topic, topic) != 0)
    {
      PyObject *str = PyUnicode_FromStringAndSize (topic, (Py_ssize_t) len);

      if (str == NULL)
        return NULL;
      Py_XSETREF (last_topic_py, str);
      g_free (last_topic);
      last_topic = g_strdup (topic);
    }
  return Py_NewRef (last_topic_py);
}

/* A `may` or `mv` member: None, bytes, or (mv) the item it holds. */
static PyObject *
maybe_to_py (GVariant *v)
{
  GVariant *inner;
  PyObject *result;

  if (g_variant_n_children (v) == 0)
    return Py_NewRef (Py_None);
  inner = g_variant_get_child_value (v, 0);
  if (g_variant_is_of_type (inner, G_VARIANT_TYPE_BYTESTRING))
    {
      gsize len;
      const void *data = g_variant_get_fixed_array (inner, &len, 1);

      result = PyBytes_FromStringAndSize (data != NULL ? data : "", (Py_ssize_t) len);
    }
  else
    {
      GVariant *item = g_variant_get_variant (inner);

      result = from_variant_fn (item);
      g_variant_unref (item);
    }
  g_variant_unref (inner);
  return result;
}

static PyObject *
timestamp_to_py (gint64 us)
{
  if (us < 0)
    return Py_NewRef (no_timestamp);
  return Py_BuildValue ("(iL)", 1, (long long) (us / 1000));
}

/* An instance of @cls (a frozen dataclass) with @values (stolen) set as
 * @names without calling its __init__ or its __setattr__. */
static PyObject *
new_instance (PyObject  *cls,
              PyObject **values,
              const int *names,
              int        n)
{
  PyObject *obj = NULL;
  int i;

  for (i = 0; i < n; i++)
    if (values[i] == NULL)
      goto out;
  obj = ((PyTypeObject *) cls)->tp_new ((PyTypeObject *) cls, empty_tuple, NULL);
  if (obj == NULL)
    goto out;
  for (i = 0; i < n; i++)
    if (PyObject_GenericSetAttr (obj, attrs[names[i]], values[i]) < 0)
      {
        Py_CLEAR (obj);
        break;
      }
out:
  for (i = 0; i < n; i++)
    Py_XDECREF (values[i]);
  return obj;
}

static PyObject *
message_to_py (GVariant *v,
               gboolean  sink)
{
  GVariant *c[7];
  PyObject *values[8];
  PyObject *result;
  gint64 ts;

  for (int i = 0; i < 7; i++)
    c[i] = g_variant_get_child_value (v, (gsize) i);
  values[0] = maybe_to_py (c[0]);
  values[1] = values[0] != NULL ? maybe_to_py (c[1]) : NULL;
  values[3] = from_variant_fn (c[6]);   /* a list of (name, value) tuples */
  ts = g_variant_get_int64 (c[5]);
  if (!sink)
    {
      static const int names[8] = {
        A_KEY, A_VALUE, A_TOPIC, A_HEADERS, A_LATENCY, A_OFFSET, A_PARTITION, A_TIMESTAMP,
      };

      values[2] = topic_to_py (c[2]);
      values[4] = Py_NewRef (Py_None);
      values[5] = PyLong_FromLongLong (g_variant_get_int64 (c[4]));
      values[6] = PyLong_FromLong (g_variant_get_int32 (c[3]));
      values[7] = timestamp_to_py (ts);
      result = new_instance (source_class, values, names, 8);
    }
  else
    {
      static const int names[6] = {
        A_KEY, A_VALUE, A_TOPIC, A_HEADERS, A_PARTITION, A_TIMESTAMP,
      };

      values[2] = from_variant_fn (c[2]);
      values[4] = from_variant_fn (c[3]);
      values[5] = PyLong_FromLongLong (ts / 1000);
      result = new_instance (sink_class, values, names, 6);
    }
  for (int i = 0; i < 7; i++)
    g_variant_unref (c[i]);
  return result;
}

/* A message of SOURCE_BYTES_TYPE read from its serialised form at once,
 * without a GVariant per member (GLib's child values cost references and
 * locks): NULL without an exception when the data is not in the normal
 * form this expects (the caller then takes the general way). Headers are
 * converted the general way when there are some. */
static gsize
read_offset (const guchar *p,
             gsize         size)
{
  gsize value = 0;

  for (gsize i = 0; i < size; i++)
    value |= (gsize) p[i] << (8 * i);
  return value;
}

static PyObject *
bytes_member (const guchar *data,
              gsize         start,
              gsize         end,
              gboolean     *bad)
{
  /* `may` of `ay`: empty for nothing, else the bytes and a zero byte */
  if (start == end)
    return Py_NewRef (Py_None);
  if (data[end - 1] != 0)
    {
      *bad = TRUE;
      return NULL;
    }
  return PyBytes_FromStringAndSize ((const char *) data + start, (Py_ssize_t) (end - start - 1));
}

static PyObject *
source_message_fast (GVariant *v)
{
  const guchar *data = g_variant_get_data (v);
  gsize size = g_variant_get_size (v);
  gsize osz = size > G_MAXUINT32 ? 8 : size > G_MAXUINT16 ? 4 : size > G_MAXUINT8 ? 2 : 1;
  gsize end0, end1, end2, at, headers_end;
  gint32 partition;
  gint64 offset, ts;
  gboolean bad = FALSE;
  PyObject *values[8];
  static const int names[8] = {
    A_KEY, A_VALUE, A_TOPIC, A_HEADERS, A_LATENCY, A_OFFSET, A_PARTITION, A_TIMESTAMP,
  };

  if (data == NULL || size < 3 * osz + 24)
    return NULL;
  end0 = read_offset (data + size - osz, osz);
  end1 = read_offset (data + size - 2 * osz, osz);
  end2 = read_offset (data + size - 3 * osz, osz);
  headers_end = size - 3 * osz;
  at = (end2 + 3) & ~(gsize) 3;
  if (!(end0 <= end1 && end1 < end2 && at + 4 <= headers_end))
    return NULL;
  memcpy (&partition, data + at, 4);
  at = (at + 4 + 7) & ~(gsize) 7;
  if (at + 16 > headers_end || data[end2 - 1] != 0 ||
      memchr (data + end1, 0, end2 - end1 - 1) != NULL)
    return NULL;
  memcpy (&offset, data + at, 8);
  memcpy (&ts, data + at + 8, 8);
  at += 16;

  values[0] = bytes_member (data, 0, end0, &bad);
  values[1] = values[0] != NULL ? bytes_member (data, end0, end1, &bad) : NULL;
  if (values[1] == NULL)
    {
      /* not in normal form (bad: the general way), or an exception */
      Py_XDECREF (values[0]);
      return NULL;
    }
  /* the topic */
  if (last_topic_py != NULL && strlen (last_topic) == end2 - end1 - 1 &&
      memcmp (last_topic, data + end1, end2 - end1 - 1) == 0)
    values[2] = Py_NewRef (last_topic_py);
  else
    {
      values[2] = PyUnicode_DecodeUTF8 ((const char *) data + end1, (Py_ssize_t) (end2 - end1 - 1), NULL);
      if (values[2] == NULL)
        {
          /* not in normal form: the general way */
          PyErr_Clear ();
          Py_DECREF (values[0]);
          Py_DECREF (values[1]);
          return NULL;
        }
      else
        {
          Py_XSETREF (last_topic_py, Py_NewRef (values[2]));
          g_free (last_topic);
          last_topic = g_strndup ((const char *) data + end1, end2 - end1 - 1);
        }
    }
  if (at == headers_end)
    values[3] = PyList_New (0);
  else
    {
      GVariant *headers = g_variant_get_child_value (v, 6);

      values[3] = from_variant_fn (headers);
      g_variant_unref (headers);
    }
  values[4] = Py_NewRef (Py_None);
  values[5] = PyLong_FromLongLong (offset);
  values[6] = PyLong_FromLong (partition);
  values[7] = timestamp_to_py (ts);
  return new_instance (source_class, values, names, 8);
}

gboolean
flow_native_kafka_from_variant (GVariant  *v,
                                PyObject **result)
{
  const char *type;

  if (source_class == NULL)
    return FALSE;
  type = g_variant_get_type_string (v);
  if (strcmp (type, SOURCE_BYTES_TYPE) == 0)
    {
      *result = source_message_fast (v);
      if (*result == NULL && !PyErr_Occurred ())
        *result = message_to_py (v, FALSE);
    }
  else if (strcmp (type, SOURCE_ANY_TYPE) == 0)
    *result = message_to_py (v, FALSE);
  else if (strcmp (type, SINK_TYPE) == 0)
    *result = message_to_py (v, TRUE);
  else if (strcmp (type, ERROR_TYPE) == 0)
    {
      const char *topic, *reason;
      gint32 partition, code;
      gint64 offset;

      g_variant_get (v, "(&sixi&s)", &topic, &partition, &offset, &code, &reason);
      *result = PyObject_CallFunction (error_fn, "(siLis)", topic, (int) partition,
                                       (long long) offset, (int) code, reason);
    }
  else
    return FALSE;
  return TRUE;
}

/* ------------------------------------------------------------------------
 * Python -> GVariant
 * ------------------------------------------------------------------------ */

/* Results of the member conversions: a floating or full reference, or
 * NOT_EXACT when the member cannot be carried exactly (the message is then
 * pickled), or NULL with a Python exception. */
#define NOT_EXACT ((GVariant *) &not_exact)
static int not_exact;

static GVariant *
bytes_maybe (PyObject *obj)
{
  if (obj == Py_None)
    return g_variant_new_maybe (G_VARIANT_TYPE_BYTESTRING, NULL);
  if (PyBytes_CheckExact (obj))
    return g_variant_new_maybe (NULL,
                                g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, PyBytes_AS_STRING (obj),
                                                           (gsize) PyBytes_GET_SIZE (obj), 1));
  return NOT_EXACT;
}

static GVariant *
item_maybe (PyObject *obj)
{
  GVariant *item, *boxed;

  if (obj == Py_None)
    return g_variant_new_maybe (G_VARIANT_TYPE_VARIANT, NULL);
  item = to_variant_fn (obj);   /* a full reference */
  if (item == NULL)
    return NULL;
  boxed = g_variant_new_variant (item);
  g_variant_unref (item);
  return g_variant_new_maybe (NULL, boxed);
}

/* A list of (str, bytes or None) tuples as `a(smay)`. */
static GVariant *
headers_variant (PyObject *obj)
{
  GVariantBuilder builder;
  Py_ssize_t n;

  if (!PyList_CheckExact (obj))
    return NOT_EXACT;
  n = PyList_GET_SIZE (obj);
  if (n == 0)
    return g_variant_new_array (G_VARIANT_TYPE ("(smay)"), NULL, 0);
  for (Py_ssize_t i = 0; i < n; i++)
    {
      PyObject *pair = PyList_GET_ITEM (obj, i);
      PyObject *value;

      if (!PyTuple_CheckExact (pair) || PyTuple_GET_SIZE (pair) != 2 ||
          !PyUnicode_CheckExact (PyTuple_GET_ITEM (pair, 0)))
        return NOT_EXACT;
      value = PyTuple_GET_ITEM (pair, 1);
      if (value != Py_None && !PyBytes_CheckExact (value))
        return NOT_EXACT;
    }
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(smay)"));
  for (Py_ssize_t i = 0; i < n; i++)
    {
      PyObject *pair = PyList_GET_ITEM (obj, i);
      Py_ssize_t len;
      const char *name = PyUnicode_AsUTF8AndSize (PyTuple_GET_ITEM (pair, 0), &len);

      if (name == NULL || strlen (name) != (size_t) len)
        {
          PyErr_Clear ();
          g_variant_builder_clear (&builder);
          return NOT_EXACT;
        }
      g_variant_builder_add_value (&builder,
                                   g_variant_new ("(s@may)", name,
                                                  bytes_maybe (PyTuple_GET_ITEM (pair, 1))));
    }
  return g_variant_builder_end (&builder);
}

/* An int within [min, max], or NOT_EXACT */
static gboolean
int_in (PyObject *obj,
        gint64    min,
        gint64    max,
        gint64   *result)
{
  int overflow;
  long long value;

  if (!PyLong_CheckExact (obj))
    return FALSE;
  value = PyLong_AsLongLongAndOverflow (obj, &overflow);
  if (overflow != 0 || (value == -1 && PyErr_Occurred ()))
    {
      PyErr_Clear ();
      return FALSE;
    }
  if (value < min || value > max)
    return FALSE;
  *result = value;
  return TRUE;
}

/* The source message's timestamp in µs (-1: none), or FALSE */
static gboolean
timestamp_us (PyObject *obj,
              gint64   *us)
{
  gint64 type, ms;

  if (!PyTuple_CheckExact (obj) || PyTuple_GET_SIZE (obj) != 2 ||
      !int_in (PyTuple_GET_ITEM (obj, 0), 0, 1, &type) ||
      !int_in (PyTuple_GET_ITEM (obj, 1), 0, G_MAXINT64 / 1000, &ms))
    return FALSE;
  if (type == 0)
    {
      *us = -1;
      return ms == 0;
    }
  *us = ms * 1000;
  return TRUE;
}

static void
clear_members (GVariant **m,
               int        n)
{
  for (int i = 0; i < n; i++)
    if (m[i] != NULL && m[i] != NOT_EXACT)
      g_variant_unref (g_variant_ref_sink (m[i]));
}

/* The message as a tuple, a full reference; NOT_EXACT; or NULL with an
 * exception. */
static GVariant *
message_to_variant (PyObject *obj,
                    gboolean  sink)
{
  PyObject *a[N_ATTRS] = { NULL, };
  GVariant *m[7] = { NULL, };
  GVariant *result = NOT_EXACT;
  gint64 partition = -1, offset = 0, ts = 0;
  int i;

  for (i = 0; i < N_ATTRS; i++)
    {
      if (sink && (i == A_LATENCY || i == A_OFFSET))
        continue;
      a[i] = PyObject_GetAttr (obj, attrs[i]);
      if (a[i] == NULL)
        {
          result = NULL;
          goto out;
        }
    }

  if (!sink)
    {
      if (a[A_LATENCY] != Py_None || !PyUnicode_CheckExact (a[A_TOPIC]) ||
          !int_in (a[A_PARTITION], G_MININT32, G_MAXINT32, &partition) ||
          !int_in (a[A_OFFSET], G_MININT64, G_MAXINT64, &offset) ||
          !timestamp_us (a[A_TIMESTAMP], &ts))
        goto out;
      m[2] = NULL;
      {
        Py_ssize_t len;
        const char *topic = PyUnicode_AsUTF8AndSize (a[A_TOPIC], &len);

        if (topic == NULL || strlen (topic) != (size_t) len)
          {
            PyErr_Clear ();
            goto out;
          }
        m[2] = g_variant_new_string (topic);
      }
      m[3] = g_variant_new_int32 ((gint32) partition);
      m[4] = g_variant_new_int64 (offset);
      m[5] = g_variant_new_int64 (ts);
      m[0] = bytes_maybe (a[A_KEY]);
      m[1] = bytes_maybe (a[A_VALUE]);
      if (m[0] == NOT_EXACT || m[1] == NOT_EXACT)
        {
          /* Deserialized: (mvmvsixxa(smay)) */
          clear_members (m, 2);
          m[0] = item_maybe (a[A_KEY]);
          m[1] = m[0] != NULL ? item_maybe (a[A_VALUE]) : NULL;
          if (m[0] == NULL || m[1] == NULL)
            {
              result = NULL;
              goto out;
            }
        }
    }
  else
    {
      if (a[A_TOPIC] != Py_None && !PyUnicode_CheckExact (a[A_TOPIC]))
        goto out;
      if (a[A_PARTITION] != Py_None &&
          !int_in (a[A_PARTITION], G_MININT32, G_MAXINT32, &partition))
        goto out;
      if (!int_in (a[A_TIMESTAMP], G_MININT64 / 1000, G_MAXINT64 / 1000, &ts))
        goto out;
      if (a[A_TOPIC] == Py_None)
        m[2] = g_variant_new_maybe (G_VARIANT_TYPE_STRING, NULL);
      else
        {
          Py_ssize_t len;
          const char *topic = PyUnicode_AsUTF8AndSize (a[A_TOPIC], &len);

          if (topic == NULL || strlen (topic) != (size_t) len)
            {
              PyErr_Clear ();
              goto out;
            }
          m[2] = g_variant_new_maybe (NULL, g_variant_new_string (topic));
        }
      m[3] = g_variant_new_maybe (G_VARIANT_TYPE_INT32,
                                  a[A_PARTITION] == Py_None ? NULL
                                  : g_variant_new_int32 ((gint32) partition));
      m[4] = g_variant_new_maybe (G_VARIANT_TYPE_INT64, NULL);
      m[5] = g_variant_new_int64 (ts * 1000);
      m[0] = item_maybe (a[A_KEY]);
      m[1] = m[0] != NULL ? item_maybe (a[A_VALUE]) : NULL;
      if (m[0] == NULL || m[1] == NULL)
        {
          result = NULL;
          goto out;
        }
    }

  m[6] = headers_variant (a[A_HEADERS]);
  if (m[6] == NOT_EXACT)
    goto out;
  result = g_variant_ref_sink (g_variant_new_tuple (m, 7));
  memset (m, 0, sizeof m);

out:
  clear_members (m, 7);
  for (i = 0; i < N_ATTRS; i++)
    Py_XDECREF (a[i]);
  return result;
}

gboolean
flow_native_kafka_to_variant (PyObject  *obj,
                              GVariant **result)
{
  PyObject *type = (PyObject *) Py_TYPE (obj);
  GVariant *v;

  if (source_class == NULL || (type != source_class && type != sink_class))
    return FALSE;
  v = message_to_variant (obj, type == sink_class);
  if (v == NOT_EXACT)
    return FALSE;   /* pickled */
  *result = v;
  return TRUE;
}

/* ------------------------------------------------------------------------
 * register_kafka()
 * ------------------------------------------------------------------------ */

PyObject *
flow_native_kafka_register (PyObject *self,
                            PyObject *args)
{
  PyObject *source, *sink, *error;

  if (!PyArg_ParseTuple (args, "O!O!O:register_kafka", &PyType_Type, &source,
                         &PyType_Type, &sink, &error))
    return NULL;
  if (!PyCallable_Check (error))
    {
      PyErr_SetString (PyExc_TypeError, "register_kafka: the error converter must be callable");
      return NULL;
    }
  if (attrs[0] == NULL)
    {
      for (int i = 0; i < N_ATTRS; i++)
        {
          attrs[i] = PyUnicode_InternFromString (attr_names[i]);
          if (attrs[i] == NULL)
            return NULL;
        }
      empty_tuple = PyTuple_New (0);
      no_timestamp = Py_BuildValue ("(ii)", 0, 0);
      if (empty_tuple == NULL || no_timestamp == NULL)
        return NULL;
    }
  Py_XSETREF (source_class, Py_NewRef (source));
  Py_XSETREF (sink_class, Py_NewRef (sink));
  Py_XSETREF (error_fn, Py_NewRef (error));
  Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------
 * kafka_split(): the `input` operator's split of messages from errors
 * ------------------------------------------------------------------------ */

static gboolean
is_message (GVariant  *item,
            gpointer   user_data,
            GError   **error)
{
  return strcmp (g_variant_get_type_string (item), ERROR_TYPE) != 0;
}

PyObject *
flow_native_kafka_split (PyObject *self,
                         PyObject *args)
{
  PyObject *stream_obj, *result;
  const char *step_id;
  FlowStream *stream, *trues = NULL, *falses = NULL;
  GObject *obj;

  if (!PyArg_ParseTuple (args, "Os:kafka_split", &stream_obj, &step_id))
    return NULL;
  obj = PyObject_TypeCheck (stream_obj, &PyGObject_Type) ? pygobject_get (stream_obj) : NULL;
  if (obj == NULL || !FLOW_IS_STREAM (obj))
    {
      PyErr_Format (PyExc_TypeError, "expected a Flow.Stream, not %.200s",
                    Py_TYPE (stream_obj)->tp_name);
      return NULL;
    }
  stream = FLOW_STREAM (obj);
  flow_stream_branch (stream, step_id, is_message, NULL, NULL, &trues, &falses);
  if (trues == NULL || falses == NULL)
    {
      PyErr_Format (PyExc_RuntimeError, "libflow did not create the step '%s'", step_id);
      return NULL;
    }
  /* (transfer none): the dataflow owns them */
  result = Py_BuildValue ("(NN)", pygobject_new (G_OBJECT (trues)), pygobject_new (G_OBJECT (falses)));
  return result;
}
