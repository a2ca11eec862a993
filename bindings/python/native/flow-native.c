/* flow-native.c: gi.overrides._flow_native, the native fast path of libflow's Python binding
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * PyGObject calls a Python function from C through a GI callback: it builds
 * and tears down argument wrappers for every call, and the override then
 * converts each GVariant to a Python value and back. That costs microseconds
 * per item. This module gives libflow plain C callbacks instead: each calls
 * the Python function directly (vectorcall) and converts GVariant ⇄ Python
 * values in C, with the same rules as the override's pure-Python
 * `Flow.to_variant()` / `Flow.from_variant()`.
 *
 * The GI override (gi/overrides/Flow.py) calls `_flow_native.<op>(stream,
 * step_id, *callables)` and gets the new Flow.Stream back. When a Python
 * function raises, its exception (with its traceback) is stashed for
 * take_pending_exception() and the step fails with a GError in the
 * FlowError domain, code FLOW_ERROR_USER_FUNCTION, message
 * "<ExcType>: <str(exc)>"; libflow prefixes it with the step id and key.
 *
 * Threads: callbacks take the GIL with PyGILState_Ensure(). Under
 * Flow.Runner.run() PyGObject has released the GIL, so each callback
 * re-acquires it; under run() of this module the GIL stays held while
 * items are processed and is released only while the main context blocks
 * in poll(), and a callback on run()'s thread does not even call
 * PyGILState_Ensure() (see flow_gil_ensure()).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pygobject.h>

#include <string.h>

#include <flow.h>
#include <girepository.h>

#include "flow-native-kafka.h"   /* flow.connectors.kafka's messages as tuples */
#include "flow-native-window.h"  /* EventClock's getter, window operators */

#define PICKLE_TAG "python:pickle"
#define PICKLE_TYPE ((const GVariantType *) "(ssay)")

/* Module globals. The module supports one interpreter (as PyGObject does);
 * every access happens with the GIL held. */
static PyObject *variant_class;      /* gi.repository.GLib.Variant */
static PyObject *error_class;        /* gi.repository.GLib.Error */
static PyObject *pickle_dumps;       /* pickle.dumps, imported on first use */
static PyObject *pickle_loads;       /* pickle.loads, imported on first use */
static PyObject *pickle_protocol;    /* pickle.HIGHEST_PROTOCOL */
static PyObject *pending_exception;  /* raised by a Python function, not taken yet */
static PyObject *exception_hook;     /* the override's: puts an exception into
                                      * the slot of the run in progress */

/* ------------------------------------------------------------------------
 * Python -> GVariant
 *
 * The rules of the override's reference `Flow.to_variant()`, exactly:
 * values are dispatched on their exact type (subclasses of the plain types,
 * such as named tuples, are pickled), a str that cannot be a GVariant
 * string (a NUL, a lone surrogate) is pickled, and so is a dict whose keys
 * are not all of one of str, int, bool, float.
 *
 * py_to_variant() and the functions it dispatches to return a full
 * (non-floating) reference, or NULL with a Python exception set: libflow
 * takes what callbacks return with g_variant_take_ref(), so the commonest
 * scalars can be shared, immutable GVariants. The leaf constructors used
 * only as children of a container (string_variant(), g_variant_new_*())
 * return floating references, which the container sinks. A new floating
 * GVariant becomes a full reference with g_variant_take_ref(), one atomic
 * operation, where g_variant_ref_sink() also takes and drops its lock.
 * ------------------------------------------------------------------------ */

static GVariant *py_to_variant (PyObject *obj);

/* Shared, immutable GVariants for the commonest scalars: an int in
 * [SMALL_INT_MIN, SMALL_INT_MAX], True, False and None cost a reference
 * instead of three allocations (GVariant, GBytes, data) and their frees.
 * Made on first use (with the GIL held) and kept for the process. */
#define SMALL_INT_MIN (-1024)
#define SMALL_INT_MAX 16383
static GVariant *small_ints[SMALL_INT_MAX - SMALL_INT_MIN + 1];
static GVariant *booleans[2];
static GVariant *none_item;

static GVariant *
int64_variant (gint64 value)
{
  GVariant **cached;

  if (value < SMALL_INT_MIN || value > SMALL_INT_MAX)
    return g_variant_take_ref (g_variant_new_int64 (value));
  cached = &small_ints[value - SMALL_INT_MIN];
  if (G_UNLIKELY (*cached == NULL))
    *cached = g_variant_take_ref (g_variant_new_int64 (value));
  return g_variant_ref (*cached);
}

static GVariant *
boolean_variant (gboolean value)
{
  GVariant **cached = &booleans[value ? 1 : 0];

  if (G_UNLIKELY (*cached == NULL))
    *cached = g_variant_take_ref (g_variant_new_boolean (value));
  return g_variant_ref (*cached);
}

/* Python's None: the `mv` nothing of flow_item_new_none() */
static GVariant *
none_variant (void)
{
  if (G_UNLIKELY (none_item == NULL))
    none_item = g_variant_ref_sink (flow_item_new_none ());
  return g_variant_ref (none_item);
}

/* A floating `v` box around @child, whose reference it takes. */
static GVariant *
box_take (GVariant *child)
{
  GVariant *box = g_variant_new_variant (child);

  g_variant_unref (child);
  return box;
}

static gboolean
ensure_pickle (void)
{
  PyObject *pickle;

  if (pickle_dumps != NULL)
    return TRUE;

  pickle = PyImport_ImportModule ("pickle");
  if (pickle == NULL)
    return FALSE;
  pickle_dumps = PyObject_GetAttrString (pickle, "dumps");
  pickle_loads = PyObject_GetAttrString (pickle, "loads");
  pickle_protocol = PyObject_GetAttrString (pickle, "HIGHEST_PROTOCOL");
  Py_DECREF (pickle);
  if (pickle_dumps == NULL || pickle_loads == NULL || pickle_protocol == NULL)
    {
      Py_CLEAR (pickle_dumps);
      Py_CLEAR (pickle_loads);
      Py_CLEAR (pickle_protocol);
      return FALSE;
    }
  return TRUE;
}

static PyObject *
type_qualname (PyObject *obj)
{
  PyObject *name = PyObject_GetAttrString ((PyObject *) Py_TYPE (obj), "__qualname__");

  if (name == NULL)
    {
      PyErr_Clear ();
      name = PyUnicode_FromString (Py_TYPE (obj)->tp_name);
    }
  return name;
}

/* A string variant from UTF-8 that Python already validated: no second
 * validation as g_variant_new_string() would do. */
static GVariant *
string_variant (const char *str,
                Py_ssize_t  len)
{
  GBytes *bytes = g_bytes_new (str, (gsize) len + 1);
  GVariant *v = g_variant_new_from_bytes (G_VARIANT_TYPE_STRING, bytes, TRUE);

  g_bytes_unref (bytes);
  return v;
}

/* The UTF-8 of a str that can be a GVariant string exactly (encodable, no
 * NUL), or NULL without an exception set. */
static const char *
str_ok (PyObject   *obj,
        Py_ssize_t *len)
{
  const char *str = PyUnicode_AsUTF8AndSize (obj, len);

  if (str == NULL)
    {
      PyErr_Clear ();
      return NULL;
    }
  if (memchr (str, '\0', (size_t) *len) != NULL)
    return NULL;
  return str;
}

/* repr(obj), made fit for a GVariant string as the override does:
 * text.encode("utf-8", "backslashreplace") with NUL shown as \x00. */
static GVariant *
repr_variant (PyObject *obj)
{
  PyObject *repr = PyObject_Repr (obj), *encoded;
  const char *str;
  Py_ssize_t len;
  GString *text;
  GVariant *result;

  if (repr == NULL)
    return NULL;
  str = str_ok (repr, &len);
  if (str != NULL)
    {
      result = string_variant (str, len);
      Py_DECREF (repr);
      return result;
    }
  encoded = PyUnicode_AsEncodedString (repr, "utf-8", "backslashreplace");
  Py_DECREF (repr);
  if (encoded == NULL)
    return NULL;
  text = g_string_sized_new ((gsize) PyBytes_GET_SIZE (encoded));
  for (Py_ssize_t i = 0; i < PyBytes_GET_SIZE (encoded); i++)
    {
      char c = PyBytes_AS_STRING (encoded)[i];
      if (c == '\0')
        g_string_append (text, "\\x00");
      else
        g_string_append_c (text, c);
    }
  Py_DECREF (encoded);
  result = string_variant (text->str, (Py_ssize_t) text->len);
  g_string_free (text, TRUE);
  return result;
}

/* Raises TypeError("cannot carry a T as a libflow item: ...") from the
 * exception pickling raised, as the override does. */
static void
raise_unpicklable (PyObject *obj)
{
  PyObject *cause, *name, *exc;

#if PY_VERSION_HEX >= 0x030C0000
  cause = PyErr_GetRaisedException ();
#else
  {
    PyObject *type, *tb;

    PyErr_Fetch (&type, &cause, &tb);
    PyErr_NormalizeException (&type, &cause, &tb);
    if (tb != NULL && cause != NULL)
      PyException_SetTraceback (cause, tb);
    Py_XDECREF (type);
    Py_XDECREF (tb);
  }
#endif
  name = type_qualname (obj);
  if (name == NULL)
    {
      Py_XDECREF (cause);
      return;
    }
  PyErr_Format (PyExc_TypeError,
                "cannot carry a %U as a libflow item: it is not one of the plain types "
                "and it cannot be pickled (%S)", name, cause);
  Py_DECREF (name);
  if (cause == NULL)
    return;

#if PY_VERSION_HEX >= 0x030C0000
  exc = PyErr_GetRaisedException ();
  PyException_SetContext (exc, Py_NewRef (cause));
  PyException_SetCause (exc, cause);
  PyErr_SetRaisedException (exc);
#else
  {
    PyObject *type, *tb;

    PyErr_Fetch (&type, &exc, &tb);
    PyErr_NormalizeException (&type, &exc, &tb);
    PyException_SetContext (exc, Py_NewRef (cause));
    PyException_SetCause (exc, cause);
    PyErr_Restore (type, exc, tb);
  }
#endif
}

/* ('python:pickle', repr(obj), pickle.dumps(obj, HIGHEST_PROTOCOL)) */
static GVariant *
pickle_to_variant (PyObject *obj)
{
  PyObject *data;
  GVariant *children[3];

  if (!ensure_pickle ())
    return NULL;

  data = PyObject_CallFunctionObjArgs (pickle_dumps, obj, pickle_protocol, NULL);
  if (data == NULL)
    {
      if (PyErr_ExceptionMatches (PyExc_Exception))
        raise_unpicklable (obj);
      return NULL;
    }
  if (!PyBytes_Check (data))
    {
      Py_DECREF (data);
      PyErr_SetString (PyExc_TypeError, "pickle.dumps() did not return bytes");
      return NULL;
    }
  children[1] = repr_variant (obj);
  if (children[1] == NULL)
    {
      Py_DECREF (data);
      return NULL;
    }
  children[0] = string_variant (PICKLE_TAG, strlen (PICKLE_TAG));
  children[2] = g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE,
                                           PyBytes_AS_STRING (data),
                                           (gsize) PyBytes_GET_SIZE (data), 1);
  Py_DECREF (data);
  return g_variant_take_ref (g_variant_new_tuple (children, 3));
}

static GVariant *
str_to_variant (PyObject *obj)
{
  Py_ssize_t len;
  const char *str = str_ok (obj, &len);

  return str != NULL ? g_variant_take_ref (string_variant (str, len)) : pickle_to_variant (obj);
}

static gboolean
int64_of (PyObject *obj,
          gint64   *value)
{
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow (obj, &overflow);

  if (overflow != 0 || (v == -1 && PyErr_Occurred ()))
    {
      PyErr_Clear ();
      return FALSE;
    }
  *value = v;
  return TRUE;
}

static GVariant *
long_to_variant (PyObject *obj)
{
  gint64 value;

  if (!int64_of (obj, &value))
    return pickle_to_variant (obj);
  return int64_variant (value);
}

static void
unref_variants (GVariant **variants,
                Py_ssize_t n)
{
  for (Py_ssize_t i = 0; i < n; i++)
    g_variant_unref (g_variant_ref_sink (variants[i]));
}

/* Converts the n objects of @items into boxed (`v`) children. */
static GVariant **
boxed_children (PyObject  **items,
                Py_ssize_t  n)
{
  GVariant **children = g_new (GVariant *, MAX (n, 1));

  for (Py_ssize_t i = 0; i < n; i++)
    {
      GVariant *child = py_to_variant (items[i]);

      if (child == NULL)
        {
          unref_variants (children, i);
          g_free (children);
          return NULL;
        }
      children[i] = box_take (child);
    }
  return children;
}

static GVariant *
tuple_to_variant (PyObject *obj)
{
  Py_ssize_t n = PyTuple_GET_SIZE (obj);
  GVariant **children;
  GVariant *result;

  if (n == 2 && PyUnicode_CheckExact (PyTuple_GET_ITEM (obj, 0)))
    {
      Py_ssize_t len;
      const char *key = str_ok (PyTuple_GET_ITEM (obj, 0), &len);

      if (key != NULL)
        {
          /* (key, value): a keyed item, `(sv)` */
          GVariant *pair[2];
          GVariant *value = py_to_variant (PyTuple_GET_ITEM (obj, 1));

          if (value == NULL)
            return NULL;
          pair[0] = string_variant (key, len);
          pair[1] = box_take (value);
          return g_variant_take_ref (g_variant_new_tuple (pair, 2));
        }
    }

  if (Py_EnterRecursiveCall (" while converting a tuple to a GVariant"))
    return NULL;
  children = boxed_children (&PyTuple_GET_ITEM (obj, 0), n);
  Py_LeaveRecursiveCall ();
  if (children == NULL)
    return NULL;
  result = g_variant_take_ref (g_variant_new_tuple (children, (gsize) n));
  g_free (children);
  return result;
}

/* issue 12: an `av` of strings (a TestingSource over lines, a batch of a
 * Python source) written straight into its serialised form, the same bytes
 * g_variant_new_array() of boxed strings gives (so the same fingerprints
 * and snapshots), without three GVariant allocations per element. Returns
 * NULL without an exception when an element is not a str that can be a
 * GVariant string: the generic path then decides (and pickles it). */
static GVariant *
str_sequence_to_av (PyObject  **items,
                    Py_ssize_t  n)
{
  gsize body = 0, total, osize, at = 0;
  guchar *buf;

  if (n == 0)
    return NULL;
  for (Py_ssize_t i = 0; i < n; i++)
    {
      Py_ssize_t len;

      if (!PyUnicode_CheckExact (items[i]) || str_ok (items[i], &len) == NULL)
        return NULL;
      /* each `v` at a multiple of 8: the string, its NUL, NUL, "s" */
      body = ((body + 7) & ~(gsize) 7) + (gsize) len + 3;
    }
  /* framing offsets: the end of each element, of the size the total needs
   * (gvs_calculate_total_size()) */
  if (body + (gsize) n <= G_MAXUINT8)
    osize = 1;
  else if (body + 2 * (gsize) n <= G_MAXUINT16)
    osize = 2;
  else if (body + 4 * (gsize) n <= G_MAXUINT32)
    osize = 4;
  else
    osize = 8;
  total = body + osize * (gsize) n;
  buf = g_malloc0 (total);
  for (Py_ssize_t i = 0; i < n; i++)
    {
      Py_ssize_t len;
      const char *str = PyUnicode_AsUTF8AndSize (items[i], &len);  /* cached by str_ok() */
      guint64 end;

      at = (at + 7) & ~(gsize) 7;
      memcpy (buf + at, str, (size_t) len);
      at += (gsize) len;
      buf[at++] = '\0';
      buf[at++] = '\0';
      buf[at++] = 's';
      end = at;
      for (gsize b = 0; b < osize; b++)
        buf[body + (gsize) i * osize + b] = (guchar) (end >> (8 * b));
    }
  return g_variant_take_ref (g_variant_new_from_data (G_VARIANT_TYPE ("av"), buf, total, TRUE,
                                                      g_free, buf));
}

/* An `av` array of the elements of a list or a tuple. */
static GVariant *
sequence_to_av (PyObject *seq)
{
  PyObject *fast;
  GVariant **children;
  GVariant *result = NULL;

  if (Py_EnterRecursiveCall (" while converting a list to a GVariant"))
    return NULL;
  /* A snapshot, so that Python code run by the conversion (pickling) cannot
   * change the list under our feet. */
  fast = PyList_Check (seq) ? PyList_GetSlice (seq, 0, PY_SSIZE_T_MAX)
                            : PySequence_Fast (seq, "expected a sequence");
  if (fast != NULL)
    {
      Py_ssize_t n = PySequence_Fast_GET_SIZE (fast);

      result = str_sequence_to_av (PySequence_Fast_ITEMS (fast), n);
      children = result != NULL ? NULL : boxed_children (PySequence_Fast_ITEMS (fast), n);
      if (children != NULL)
        {
          result = g_variant_take_ref (g_variant_new_array (G_VARIANT_TYPE_VARIANT, children, (gsize) n));
          g_free (children);
        }
      Py_DECREF (fast);
    }
  Py_LeaveRecursiveCall ();
  return result;
}

/* The key of a dict entry, of the dict's one key type. */
static GVariant *
dict_key_variant (PyObject *key)
{
  if (PyUnicode_CheckExact (key))
    {
      Py_ssize_t len;
      const char *str = str_ok (key, &len);
      return string_variant (str, len);  /* checked by the caller */
    }
  if (PyBool_Check (key))
    return g_variant_new_boolean (key == Py_True);
  if (PyFloat_CheckExact (key))
    return g_variant_new_double (PyFloat_AS_DOUBLE (key));
  {
    gint64 value = 0;
    int64_of (key, &value);  /* checked by the caller */
    return g_variant_new_int64 (value);
  }
}

/* A dict whose keys are all str, all int (in the int64 range), all bool or
 * all float: `a{sv}`, `a{xv}`, `a{bv}`, `a{dv}` (an empty dict: `a{sv}`).
 * Any other dict is pickled: GVariant dictionary keys are basic types. */
static GVariant *
dict_to_variant (PyObject *obj)
{
  PyObject *items;
  Py_ssize_t n;
  PyTypeObject *key_type = &PyUnicode_Type;
  const char *entry_type;
  GVariant **entries;
  GVariant *result = NULL;

  if (Py_EnterRecursiveCall (" while converting a dict to a GVariant"))
    return NULL;
  items = PyDict_Items (obj);  /* a snapshot, for the same reason as above */
  if (items == NULL)
    goto out;

  n = PyList_GET_SIZE (items);
  if (n > 0)
    key_type = Py_TYPE (PyTuple_GET_ITEM (PyList_GET_ITEM (items, 0), 0));
  if (key_type == &PyUnicode_Type)
    entry_type = "{sv}";
  else if (key_type == &PyLong_Type)
    entry_type = "{xv}";
  else if (key_type == &PyBool_Type)
    entry_type = "{bv}";
  else if (key_type == &PyFloat_Type)
    entry_type = "{dv}";
  else
    entry_type = NULL;

  for (Py_ssize_t i = 0; entry_type != NULL && i < n; i++)
    {
      PyObject *key = PyTuple_GET_ITEM (PyList_GET_ITEM (items, i), 0);
      Py_ssize_t len;
      gint64 value;

      if (Py_TYPE (key) != key_type ||
          (key_type == &PyUnicode_Type && str_ok (key, &len) == NULL) ||
          (key_type == &PyLong_Type && !int64_of (key, &value)))
        entry_type = NULL;
    }
  if (entry_type == NULL)
    {
      result = pickle_to_variant (obj);
      goto out;
    }

  entries = g_new (GVariant *, MAX (n, 1));
  for (Py_ssize_t i = 0; i < n; i++)
    {
      PyObject *pair = PyList_GET_ITEM (items, i);
      GVariant *value = py_to_variant (PyTuple_GET_ITEM (pair, 1));

      if (value == NULL)
        {
          unref_variants (entries, i);
          g_free (entries);
          goto out;
        }
      entries[i] = g_variant_new_dict_entry (dict_key_variant (PyTuple_GET_ITEM (pair, 0)),
                                             box_take (value));
    }
  result = g_variant_take_ref (g_variant_new_array (G_VARIANT_TYPE (entry_type), entries, (gsize) n));
  g_free (entries);

out:
  Py_XDECREF (items);
  Py_LeaveRecursiveCall ();
  return result;
}

static gboolean
is_variant_wrapper (PyObject *obj)
{
  int r;

  if (variant_class == NULL)
    return FALSE;
  if (Py_TYPE (obj) == (PyTypeObject *) variant_class)
    return TRUE;
  r = PyObject_IsInstance (obj, variant_class);
  if (r < 0)
    PyErr_Clear ();
  return r > 0;
}

/* A GLib.Variant given by Python code: itself (a reference of ours). */
static GVariant *
wrapper_to_variant (PyObject *obj)
{
  GVariant *v = pyg_pointer_get_ptr (obj);

  if (v == NULL)
    {
      PyErr_SetString (PyExc_ValueError, "this GLib.Variant holds no value");
      return NULL;
    }
  if (G_UNLIKELY (g_variant_is_floating (v)))
    g_variant_ref_sink (v);  /* the wrapper's reference was meant to be a full one */
  return g_variant_ref (v);
}

static GVariant *
py_to_variant (PyObject *obj)
{
  PyTypeObject *type = Py_TYPE (obj);

  /* The exact types, the commonest first; then GLib.Variant; else pickle. */
  if (type == &PyLong_Type)
    return long_to_variant (obj);
  if (type == &PyUnicode_Type)
    return str_to_variant (obj);
  if (type == &PyFloat_Type)
    return g_variant_take_ref (g_variant_new_double (PyFloat_AS_DOUBLE (obj)));
  if (obj == Py_None)
    return none_variant ();
  if (type == &PyTuple_Type)
    return tuple_to_variant (obj);
  if (type == &PyBool_Type)
    return boolean_variant (obj == Py_True);
  if (type == &PyList_Type)
    return sequence_to_av (obj);
  if (type == &PyDict_Type)
    return dict_to_variant (obj);
  if (type == &PyBytes_Type)
    return g_variant_take_ref (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, PyBytes_AS_STRING (obj),
                                                          (gsize) PyBytes_GET_SIZE (obj), 1));
  if (type == &PyByteArray_Type)
    return g_variant_take_ref (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE,
                                                          PyByteArray_AS_STRING (obj),
                                                          (gsize) PyByteArray_GET_SIZE (obj), 1));
  if (is_variant_wrapper (obj))
    return wrapper_to_variant (obj);
  {
    /* Kafka messages travel as tuples, not pickled (flow-native-kafka.c). */
    GVariant *kafka;
    if (flow_native_kafka_to_variant (obj, &kafka))
      return kafka;
  }
  return pickle_to_variant (obj);
}

/* The `av` array of the elements of any iterable (what flat_map returns);
 * a GLib.Variant is taken as it is. @what names the function in errors. */
static GVariant *
iterable_to_av (PyObject   *obj,
                const char *what)
{
  PyObject *iter, *item;
  GPtrArray *children;
  GVariant *result;

  if (PyList_CheckExact (obj) || PyTuple_CheckExact (obj))
    return sequence_to_av (obj);
  if (is_variant_wrapper (obj))
    return wrapper_to_variant (obj);

  iter = PyObject_GetIter (obj);
  if (iter == NULL)
    {
      if (PyErr_ExceptionMatches (PyExc_TypeError))
        {
          PyObject *name = type_qualname (obj);
          PyErr_Clear ();
          if (name != NULL)
            {
              PyErr_Format (PyExc_TypeError, "%s must return an iterable of items, not %U",
                            what, name);
              Py_DECREF (name);
            }
        }
      return NULL;
    }
  children = g_ptr_array_new ();
  while ((item = PyIter_Next (iter)) != NULL)
    {
      GVariant *child = py_to_variant (item);

      Py_DECREF (item);
      if (child == NULL)
        break;
      g_ptr_array_add (children, box_take (child));
    }
  Py_DECREF (iter);
  if (PyErr_Occurred ())
    {
      unref_variants ((GVariant **) children->pdata, children->len);
      g_ptr_array_unref (children);
      return NULL;
    }
  result = g_variant_take_ref (g_variant_new_array (G_VARIANT_TYPE_VARIANT,
                                                    (GVariant **) children->pdata,
                                                    children->len));
  g_ptr_array_unref (children);
  return result;
}


/* ------------------------------------------------------------------------
 * GVariant -> Python
 * ------------------------------------------------------------------------ */

static PyObject *variant_to_py (GVariant *v);

static PyObject *
child_to_py (GVariant *v,
             gsize     i)
{
  GVariant *child = g_variant_get_child_value (v, i);
  PyObject *result = variant_to_py (child);

  g_variant_unref (child);
  return result;
}

static gboolean
is_pickled (GVariant *v)
{
  GVariant *tag;
  gboolean result;

  if (!g_variant_is_of_type (v, PICKLE_TYPE))
    return FALSE;
  tag = g_variant_get_child_value (v, 0);
  result = strcmp (g_variant_get_string (tag, NULL), PICKLE_TAG) == 0;
  g_variant_unref (tag);
  return result;
}

static PyObject *
unpickle (GVariant *v)
{
  GVariant *data_v;
  gconstpointer data;
  gsize len;
  PyObject *bytes, *result = NULL;

  if (!ensure_pickle ())
    return NULL;
  data_v = g_variant_get_child_value (v, 2);
  data = g_variant_get_fixed_array (data_v, &len, 1);
  bytes = PyBytes_FromStringAndSize (data ? data : "", (Py_ssize_t) len);
  g_variant_unref (data_v);
  if (bytes != NULL)
    {
      result = PyObject_CallOneArg (pickle_loads, bytes);
      Py_DECREF (bytes);
    }
  return result;
}

static PyObject *
array_to_py (GVariant *v)
{
  const GVariantType *element = g_variant_type_element (g_variant_get_type (v));
  gsize n = g_variant_n_children (v);
  PyObject *result;

  if (g_variant_type_equal (element, G_VARIANT_TYPE_BYTE))
    {
      gsize len;
      const char *data = g_variant_get_fixed_array (v, &len, 1);
      return PyBytes_FromStringAndSize (data ? data : "", (Py_ssize_t) len);
    }

  if (g_variant_type_is_dict_entry (element))
    {
      result = PyDict_New ();
      for (gsize i = 0; result != NULL && i < n; i++)
        {
          GVariant *entry = g_variant_get_child_value (v, i);
          PyObject *key = child_to_py (entry, 0);
          PyObject *value = key ? child_to_py (entry, 1) : NULL;

          if (value == NULL || PyDict_SetItem (result, key, value) < 0)
            Py_CLEAR (result);
          Py_XDECREF (key);
          Py_XDECREF (value);
          g_variant_unref (entry);
        }
      return result;
    }

  result = PyList_New ((Py_ssize_t) n);
  if (result == NULL)
    return NULL;
  if (g_variant_type_equal (element, G_VARIANT_TYPE_INT64))
    {
      /* The common `ax` without a GVariant per element. */
      gsize len;
      const gint64 *ints = g_variant_get_fixed_array (v, &len, sizeof (gint64));

      for (gsize i = 0; i < len; i++)
        {
          PyObject *item = PyLong_FromLongLong (ints[i]);
          if (item == NULL)
            {
              Py_DECREF (result);
              return NULL;
            }
          PyList_SET_ITEM (result, (Py_ssize_t) i, item);
        }
      return result;
    }
  for (gsize i = 0; i < n; i++)
    {
      PyObject *item = child_to_py (v, i);
      if (item == NULL)
        {
          Py_DECREF (result);
          return NULL;
        }
      PyList_SET_ITEM (result, (Py_ssize_t) i, item);
    }
  return result;
}

/* A keyed item `(sv)`, the commonest item a Python sink gets, straight
 * from its serialised bytes when its value is a string, an integer, a
 * float or a boolean: no GVariant made per child (three otherwise, each a
 * locked, reference-counted allocation). Returns NULL without an exception
 * set when the item is anything else, for the generic path to convert.
 *
 * The layout (GVariant serialisation): the key's bytes and its NUL, then
 * the `v` at the next multiple of 8 (its value's bytes, a NUL and the
 * value's type string), then one framing offset, the end of the key, in
 * little-endian, of the size the whole item's size calls for. */
static PyObject *
keyed_to_py_fast (GVariant *v)
{
  gsize size = g_variant_get_size (v);
  gsize osize, key_end, vstart, vend, len;
  const guchar *data, *zero, *value;
  PyObject *key, *val = NULL, *result;
  guint64 offset = 0;

  osize = size > G_MAXUINT32 ? 8 : size > G_MAXUINT16 ? 4 : size > G_MAXUINT8 ? 2 : 1;
  if (size < 4 + osize)
    return NULL;
  data = g_variant_get_data (v);
  if (data == NULL)
    return NULL;
  for (gsize i = 0; i < osize; i++)
    offset |= (guint64) data[size - osize + i] << (8 * i);
  key_end = (gsize) offset;
  vstart = (key_end + 7) & ~(gsize) 7;
  vend = size - osize;
  if (key_end < 1 || vstart >= vend || data[key_end - 1] != '\0' ||
      memchr (data, '\0', key_end - 1) != NULL)
    return NULL;
  zero = memrchr (data + vstart, '\0', vend - vstart);
  if (zero == NULL || (gsize) (data + vend - zero) != 2)
    return NULL;  /* not a one-character type */
  value = data + vstart;
  len = (gsize) (zero - value);

  switch (zero[1])
    {
    case 's':
      if (len >= 1 && value[len - 1] == '\0' && memchr (value, '\0', len - 1) == NULL)
        val = PyUnicode_DecodeUTF8 ((const char *) value, (Py_ssize_t) len - 1, NULL);
      break;
    case 'x':
      if (len == 8)
        {
          gint64 x;
          memcpy (&x, value, 8);
          val = PyLong_FromLongLong (x);
        }
      break;
    case 'd':
      if (len == 8)
        {
          gdouble d;
          memcpy (&d, value, 8);
          val = PyFloat_FromDouble (d);
        }
      break;
    case 'b':
      if (len == 1 && value[0] <= 1)
        val = PyBool_FromLong (value[0]);
      break;
    default:
      break;
    }
  if (val == NULL)
    {
      PyErr_Clear ();  /* not UTF-8 after all: the generic path decides */
      return NULL;
    }
  key = PyUnicode_DecodeUTF8 ((const char *) data, (Py_ssize_t) key_end - 1, NULL);
  if (key == NULL)
    {
      PyErr_Clear ();
      Py_DECREF (val);
      return NULL;
    }
  result = PyTuple_New (2);
  if (result == NULL)
    {
      Py_DECREF (key);
      Py_DECREF (val);
      return NULL;
    }
  PyTuple_SET_ITEM (result, 0, key);
  PyTuple_SET_ITEM (result, 1, val);
  return result;
}

static PyObject *
tuple_to_py (GVariant *v)
{
  gsize n;
  PyObject *result;

  if (strcmp (g_variant_get_type_string (v), "(sv)") == 0)
    {
      result = keyed_to_py_fast (v);
      if (result != NULL || PyErr_Occurred ())
        return result;
    }
  n = g_variant_n_children (v);
  if (is_pickled (v))
    return unpickle (v);
  if (flow_native_kafka_from_variant (v, &result))   /* Kafka messages */
    return result;

  result = PyTuple_New ((Py_ssize_t) n);
  if (result == NULL)
    return NULL;
  for (gsize i = 0; i < n; i++)
    {
      PyObject *item = child_to_py (v, i);
      if (item == NULL)
        {
          Py_DECREF (result);
          return NULL;
        }
      PyTuple_SET_ITEM (result, (Py_ssize_t) i, item);
    }
  return result;
}

static PyObject *
container_to_py (GVariant *v)
{
  PyObject *result = NULL;

  if (Py_EnterRecursiveCall (" while converting a GVariant to Python"))
    return NULL;

  switch (g_variant_classify (v))
    {
    case G_VARIANT_CLASS_VARIANT:
      {
        GVariant *inner = g_variant_get_variant (v);
        result = variant_to_py (inner);
        g_variant_unref (inner);
      }
      break;
    case G_VARIANT_CLASS_MAYBE:
      if (g_variant_n_children (v) == 0)
        result = Py_NewRef (Py_None);
      else
        result = child_to_py (v, 0);
      break;
    case G_VARIANT_CLASS_ARRAY:
      result = array_to_py (v);
      break;
    case G_VARIANT_CLASS_TUPLE:
      result = tuple_to_py (v);
      break;
    case G_VARIANT_CLASS_DICT_ENTRY:
      {
        PyObject *key = child_to_py (v, 0);
        PyObject *value = key ? child_to_py (v, 1) : NULL;
        if (value != NULL)
          result = PyTuple_Pack (2, key, value);
        Py_XDECREF (key);
        Py_XDECREF (value);
      }
      break;
    default:
      PyErr_Format (PyExc_TypeError, "cannot convert a GVariant of type %s",
                    g_variant_get_type_string (v));
      break;
    }

  Py_LeaveRecursiveCall ();
  return result;
}

static PyObject *
variant_to_py (GVariant *v)
{
  switch (g_variant_classify (v))
    {
    case G_VARIANT_CLASS_INT64:
      {
        /* g_variant_get_int64() without its second type check */
        const gint64 *data = g_variant_get_data (v);
        return PyLong_FromLongLong (data != NULL ? *data : 0);
      }
    case G_VARIANT_CLASS_STRING:
    case G_VARIANT_CLASS_OBJECT_PATH:
    case G_VARIANT_CLASS_SIGNATURE:
      {
        gsize len;
        const char *str = g_variant_get_string (v, &len);
        return PyUnicode_FromStringAndSize (str, (Py_ssize_t) len);
      }
    case G_VARIANT_CLASS_DOUBLE:
      {
        const gdouble *data = g_variant_get_data (v);
        return PyFloat_FromDouble (data != NULL ? *data : 0.0);
      }
    case G_VARIANT_CLASS_BOOLEAN:
      return PyBool_FromLong (g_variant_get_boolean (v));
    case G_VARIANT_CLASS_BYTE:
      return PyLong_FromLong (g_variant_get_byte (v));
    case G_VARIANT_CLASS_INT16:
      return PyLong_FromLong (g_variant_get_int16 (v));
    case G_VARIANT_CLASS_UINT16:
      return PyLong_FromLong (g_variant_get_uint16 (v));
    case G_VARIANT_CLASS_INT32:
      return PyLong_FromLong (g_variant_get_int32 (v));
    case G_VARIANT_CLASS_UINT32:
      return PyLong_FromUnsignedLong (g_variant_get_uint32 (v));
    case G_VARIANT_CLASS_UINT64:
      return PyLong_FromUnsignedLongLong (g_variant_get_uint64 (v));
    case G_VARIANT_CLASS_HANDLE:
      return PyLong_FromLong (g_variant_get_handle (v));
    default:
      return container_to_py (v);
    }
}

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------ */

static char *
utf8_of (PyObject   *obj,
         const char *fallback)
{
  const char *str = NULL;

  if (obj != NULL && PyUnicode_Check (obj))
    str = PyUnicode_AsUTF8 (obj);
  if (str == NULL)
    {
      PyErr_Clear ();
      return g_strdup (fallback);
    }
  return g_strdup (str);
}

/* Takes the raised Python exception: stashes it (with its traceback) for
 * take_pending_exception() and sets @error to
 * FLOW_ERROR_USER_FUNCTION "<ExcType>: <str(exc)>". */
static void
fail_from_python (GError **error)
{
  PyObject *exc, *name, *text;
  char *name_utf8, *text_utf8;

#if PY_VERSION_HEX >= 0x030C0000
  exc = PyErr_GetRaisedException ();
#else
  {
    PyObject *type, *tb;

    PyErr_Fetch (&type, &exc, &tb);
    if (type != NULL)
      {
        PyErr_NormalizeException (&type, &exc, &tb);
        if (tb != NULL && exc != NULL)
          PyException_SetTraceback (exc, tb);
      }
    Py_XDECREF (type);
    Py_XDECREF (tb);
  }
#endif

  if (exc == NULL)
    {
      g_set_error_literal (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                           "SystemError: the function failed without an exception");
      return;
    }

  if (error_class != NULL && PyObject_IsInstance (exc, error_class) > 0)
    {
      /* A GLib.Error goes to libflow as it is, as through GI. */
      PyObject *domain = PyObject_GetAttrString (exc, "domain");
      PyObject *code = PyObject_GetAttrString (exc, "code");
      PyObject *message = PyObject_GetAttrString (exc, "message");
      char *domain_utf8 = utf8_of (domain, "flow-error-quark");
      char *message_utf8 = utf8_of (message, "");
      long code_value = code != NULL ? PyLong_AsLong (code) : -1;

      PyErr_Clear ();
      g_set_error_literal (error, g_quark_from_string (domain_utf8), (int) code_value, message_utf8);
      Py_XDECREF (domain);
      Py_XDECREF (code);
      Py_XDECREF (message);
      g_free (domain_utf8);
      g_free (message_utf8);
    }
  else
    {
      /* "<qualname>: <str(exc)>", or the name alone when str() is empty,
       * as the override describes an exception. */
      name = type_qualname (exc);
      name_utf8 = utf8_of (name, Py_TYPE (exc)->tp_name);
      text = PyObject_Str (exc);
      text_utf8 = utf8_of (text, "");
      if (text_utf8[0] != '\0')
        g_set_error (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION, "%s: %s", name_utf8, text_utf8);
      else
        g_set_error_literal (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION, name_utf8);
      Py_XDECREF (name);
      Py_XDECREF (text);
      g_free (name_utf8);
      g_free (text_utf8);
    }
  PyErr_Clear ();

  /* The exception goes to the slot of the run in progress (the override's
   * hook says whether there is one); otherwise it waits here for
   * take_pending_exception(). */
  if (exception_hook != NULL)
    {
      PyObject *taken = PyObject_CallOneArg (exception_hook, exc);
      int yes = taken != NULL && PyObject_IsTrue (taken) > 0;

      Py_XDECREF (taken);
      PyErr_Clear ();
      if (yes)
        {
          Py_DECREF (exc);
          return;
        }
    }
  Py_XSETREF (pending_exception, exc);
}

/* ------------------------------------------------------------------------
 * Taking the GIL in a callback
 *
 * Under run() of this module the thread that runs the flow holds the GIL
 * while items are processed, and PyGILState_Ensure() and _Release() cost
 * two thread-local look-ups per callback for nothing (about 5 % of a
 * map → key_on → stateful_map flow). run() records its thread state in a
 * thread-local variable; a callback on that thread, while that thread
 * state is the current one (the GIL is held: run()'s poll function, and
 * any call that releases the GIL, make the current one NULL), runs with
 * the GIL as it is. Any other callback (on another thread, under
 * Flow.Runner.run(), while Python code that released the GIL iterates a
 * main context) takes it with PyGILState_Ensure().
 * ------------------------------------------------------------------------ */

static __thread PyThreadState *run_thread_state;

typedef struct
{
  gboolean         held;   /* the GIL was held already: nothing to release */
  PyGILState_STATE state;
} FlowGil;

static inline PyThreadState *
current_thread_state (void)
{
#if PY_VERSION_HEX >= 0x030D0000
  return PyThreadState_GetUnchecked ();
#else
  return _PyThreadState_UncheckedGet ();
#endif
}

static inline FlowGil
flow_gil_ensure (void)
{
  FlowGil gil = { FALSE, PyGILState_UNLOCKED };
  PyThreadState *state = run_thread_state;

  if (state != NULL && state == current_thread_state ())
    gil.held = TRUE;
  else
    gil.state = PyGILState_Ensure ();
  return gil;
}

static inline void
flow_gil_release (FlowGil gil)
{
  if (!gil.held)
    PyGILState_Release (gil.state);
}

/* ------------------------------------------------------------------------
 * The callbacks handed to libflow
 * ------------------------------------------------------------------------ */

typedef struct
{
  PyObject   *fn;
  const char *step_id;   /* inspect: the step id last seen, and its str */
  PyObject   *step_str;
} Callable;

static Callable *
callable_new (PyObject *fn)
{
  Callable *c = g_new0 (Callable, 1);

  c->fn = Py_NewRef (fn);
  return c;
}

static gpointer
callable_data_new (PyObject *fn)
{
  return callable_new (fn);
}

static void
callable_free (gpointer data)
{
  Callable *c = data;

  /* After the interpreter is gone there is nothing left to release. */
  if (Py_IsInitialized ())
    {
      FlowGil gil = flow_gil_ensure ();
      Py_CLEAR (c->fn);
      Py_CLEAR (c->step_str);
      flow_gil_release (gil);
    }
  g_free (c);
}

static PyObject *
call1 (Callable *c,
       GVariant *item)
{
  PyObject *arg = variant_to_py (item);
  PyObject *ret;

  if (arg == NULL)
    return NULL;
  ret = PyObject_CallOneArg (c->fn, arg);
  Py_DECREF (arg);
  return ret;
}

static PyObject *
call2 (Callable *c,
       GVariant *a,
       GVariant *b)
{
  PyObject *args[2];
  PyObject *ret = NULL;

  args[0] = a != NULL ? variant_to_py (a) : Py_NewRef (Py_None);
  if (args[0] == NULL)
    return NULL;
  args[1] = variant_to_py (b);
  if (args[1] != NULL)
    {
      ret = PyObject_Vectorcall (c->fn, args, 2, NULL);
      Py_DECREF (args[1]);
    }
  Py_DECREF (args[0]);
  return ret;
}

/* map, map_value, and the `by` of max_final/min_final */
static GVariant *
map_cb (GVariant  *item,
        gpointer   user_data,
        GError   **error)
{
  FlowGil gil = flow_gil_ensure ();
  PyObject *ret = call1 (user_data, item);
  GVariant *result = NULL;

  if (ret != NULL)
    {
      result = py_to_variant (ret);
      Py_DECREF (ret);
    }
  if (result == NULL)
    fail_from_python (error);
  flow_gil_release (gil);
  return result;
}

/* filter_map: None drops the item */
static GVariant *
filter_map_cb (GVariant  *item,
               gpointer   user_data,
               GError   **error)
{
  FlowGil gil = flow_gil_ensure ();
  PyObject *ret = call1 (user_data, item);
  GVariant *result = NULL;

  if (ret != NULL)
    {
      if (ret != Py_None)
        result = py_to_variant (ret);
      Py_DECREF (ret);
    }
  if (result == NULL && PyErr_Occurred ())
    fail_from_python (error);
  flow_gil_release (gil);
  return result;
}

/* filter, filter_value, branch */
static gboolean
predicate_cb (GVariant  *item,
              gpointer   user_data,
              GError   **error)
{
  FlowGil gil = flow_gil_ensure ();
  PyObject *ret = call1 (user_data, item);
  int truth = -1;

  if (ret != NULL)
    {
      truth = PyObject_IsTrue (ret);
      Py_DECREF (ret);
    }
  if (truth < 0)
    fail_from_python (error);
  flow_gil_release (gil);
  return truth > 0;
}

/* flat_map, flat_map_value: any iterable */
static GVariant *
flat_map_cb (GVariant  *item,
             gpointer   user_data,
             GError   **error)
{
  FlowGil gil = flow_gil_ensure ();
  PyObject *ret = call1 (user_data, item);
  GVariant *result = NULL;

  if (ret != NULL)
    {
      result = iterable_to_av (ret, "a flat_map function");
      Py_DECREF (ret);
    }
  if (result == NULL)
    fail_from_python (error);
  flow_gil_release (gil);
  return result;
}

/* What a key function returned (a new reference, or NULL with an
 * exception set): the key, or NULL with an exception set. Steals @ret. */
static char *
key_from_result (PyObject *ret)
{
  char *key = NULL;

  if (ret != NULL)
    {
      if (PyUnicode_CheckExact (ret))
        {
          Py_ssize_t len;
          const char *str = PyUnicode_AsUTF8AndSize (ret, &len);
          if (str != NULL && memchr (str, '\0', (size_t) len) != NULL)
            PyErr_SetString (PyExc_ValueError, "a key must not contain a NUL character");
          else if (str != NULL)
            key = g_strndup (str, (gsize) len);
        }
      else
        {
          PyObject *name = type_qualname (ret);
          if (name != NULL)
            {
              PyErr_Format (PyExc_TypeError, "a key function must return a str, not %U (%R)",
                            name, ret);
              Py_DECREF (name);
            }
        }
      Py_DECREF (ret);
    }
  return key;
}

/* key_on, count_final: a str */
static char *
key_cb (GVariant  *item,
        gpointer   user_data,
        GError   **error)
{
  FlowGil gil = flow_gil_ensure ();
  char *key = key_from_result (call1 (user_data, item));

  if (key == NULL)
    fail_from_python (error);
  flow_gil_release (gil);
  return key;
}

/* inspect: fn(step_id, item) */
static void
inspect_cb (const char  *step_id,
            GVariant    *item,
            gpointer     user_data,
            GError     **error)
{
  Callable *c = user_data;
  FlowGil gil = flow_gil_ensure ();
  PyObject *args[2] = { NULL, NULL };
  PyObject *ret = NULL;

  if (c->step_str == NULL || c->step_id != step_id)
    {
      Py_CLEAR (c->step_str);
      c->step_str = PyUnicode_FromString (step_id);
      c->step_id = step_id;
    }
  if (c->step_str != NULL)
    {
      args[0] = c->step_str;
      args[1] = variant_to_py (item);
      if (args[1] != NULL)
        {
          ret = PyObject_Vectorcall (c->fn, args, 2, NULL);
          Py_DECREF (args[1]);
        }
    }
  if (ret == NULL)
    fail_from_python (error);
  Py_XDECREF (ret);
  flow_gil_release (gil);
}

/* inspect_debug: fn(step_id, item, epoch, worker_index) */
static void
inspect_debug_cb (const char  *step_id,
                  GVariant    *item,
                  guint64      epoch,
                  guint        worker_index,
                  gpointer     user_data,
                  GError     **error)
{
  Callable *c = user_data;
  FlowGil gil = flow_gil_ensure ();
  PyObject *ret = NULL;
  PyObject *value = variant_to_py (item);

  if (value != NULL)
    {
      ret = PyObject_CallFunction (c->fn, "sOKI", step_id, value,
                                   (unsigned long long) epoch, worker_index);
      Py_DECREF (value);
    }
  if (ret == NULL)
    fail_from_python (error);
  Py_XDECREF (ret);
  flow_gil_release (gil);
}

/* the builder of stateful_map, stateful_flat_map and fold_final */
static GVariant *
builder_cb (gpointer   user_data,
            GError   **error)
{
  Callable *c = user_data;
  FlowGil gil = flow_gil_ensure ();
  PyObject *ret = PyObject_CallNoArgs (c->fn);
  GVariant *result = NULL;

  if (ret != NULL)
    {
      result = py_to_variant (ret);
      Py_DECREF (ret);
    }
  if (result == NULL)
    fail_from_python (error);
  flow_gil_release (gil);
  return result;
}

/* mapper(state_or_None, value) -> (new_state_or_None, emit) */
static PyObject *object_to_py (gpointer object);

/* @value_object: a fused chain's object (flow-op-fused.c) instead of @value */
static GVariant *
stateful_common (GVariant  *state,
                 GVariant  *value,
                 gpointer   value_object,
                 GVariant **emit,
                 gpointer   user_data,
                 gboolean   flat,
                 GError   **error)
{
  FlowGil gil = flow_gil_ensure ();
  PyObject *ret;
  GVariant *new_state = NULL, *emitted = NULL;
  gboolean ok = FALSE;

  if (value_object == NULL)
    ret = call2 (user_data, state, value);
  else
    {
      PyObject *args[2] = { state != NULL ? variant_to_py (state) : Py_NewRef (Py_None), NULL };

      ret = NULL;
      if (args[0] != NULL && (args[1] = object_to_py (value_object)) != NULL)
        {
          ret = PyObject_Vectorcall (((Callable *) user_data)->fn, args, 2, NULL);
          Py_DECREF (args[1]);
        }
      Py_XDECREF (args[0]);
    }

  if (ret != NULL)
    {
      const char *what = flat ? "a stateful_flat_map mapper" : "a stateful_map mapper";
      /* `new_state, emit = ret`: any iterable of two */
      PyObject *pair = PyTuple_CheckExact (ret) ? Py_NewRef (ret) : PySequence_Tuple (ret);

      if (pair == NULL && !PyErr_ExceptionMatches (PyExc_TypeError))
        ;  /* the iteration itself failed: keep its exception */
      else if (pair == NULL || PyTuple_GET_SIZE (pair) != 2)
        {
          PyObject *name = type_qualname (ret);
          PyErr_Clear ();
          if (name != NULL)
            {
              PyErr_Format (PyExc_TypeError, "the return value of %s must be a 2-tuple (new_state, emit), not %U (%R)",
                            what, name, ret);
              Py_DECREF (name);
            }
        }
      else
        {
          PyObject *state_obj = PyTuple_GET_ITEM (pair, 0);
          PyObject *emit_obj = PyTuple_GET_ITEM (pair, 1);

          ok = TRUE;
          if (state_obj != Py_None)
            ok = (new_state = py_to_variant (state_obj)) != NULL;
          if (ok && !flat && emit_obj == state_obj && new_state != NULL)
            emitted = g_variant_ref (new_state);  /* `return s, s`: one variant */
          else if (ok)
            ok = (emitted = flat ? iterable_to_av (emit_obj, what)
                                 : py_to_variant (emit_obj)) != NULL;
        }
      Py_XDECREF (pair);
      Py_DECREF (ret);
    }

  if (!ok)
    {
      g_clear_pointer (&new_state, g_variant_unref);
      fail_from_python (error);
    }
  if (emit != NULL)
    *emit = emitted;
  else if (emitted != NULL)
    g_variant_unref (emitted);
  flow_gil_release (gil);
  return new_state;
}

static GVariant *
stateful_map_cb (GVariant  *state,
                 GVariant  *value,
                 GVariant **emit,
                 gpointer   user_data,
                 GError   **error)
{
  return stateful_common (state, value, NULL, emit, user_data, FALSE, error);
}

static GVariant *
stateful_flat_map_cb (GVariant  *state,
                      GVariant  *value,
                      GVariant **emit,
                      gpointer   user_data,
                      GError   **error)
{
  return stateful_common (state, value, NULL, emit, user_data, TRUE, error);
}

/* fold_final's folder and reduce_final's reducer: fn(acc, value) -> acc */
static GVariant *
fold_cb (GVariant  *acc,
         GVariant  *value,
         gpointer   user_data,
         GError   **error)
{
  FlowGil gil = flow_gil_ensure ();
  PyObject *ret = call2 (user_data, acc, value);
  GVariant *result = NULL;

  if (ret != NULL)
    {
      result = py_to_variant (ret);
      Py_DECREF (ret);
    }
  if (result == NULL)
    fail_from_python (error);
  flow_gil_release (gil);
  return result;
}

/* ------------------------------------------------------------------------
 * Fusion (issue 12): map, filter, filter_map and key_on steps also work on
 * Python objects (flow_binding_stream_set_object_funcs()), so that a chain
 * of them hands Python values from one function to the next and converts
 * once, at its end (libflow/operators/flow-op-fused.c).
 *
 * An object is either a PyObject whose conversion to a GVariant and back
 * gives an equal object of the same type (an int in the int64 range, a
 * float, a bool, None, a str a GVariant string can hold), or, tagged by
 * its low bit, the GVariant itself (and by the next bit, an item of the
 * chain's first step, borrowed): any other result is converted at once,
 * where the step's callback would convert it (so that a value that cannot
 * be carried fails in the step that returned it), and the next function
 * gets it back from the GVariant, as unfused.
 * ------------------------------------------------------------------------ */

static gboolean fusion_enabled = TRUE;

#define OBJECT_IS_VARIANT(o)  ((((guintptr) (o)) & 1) != 0)
#define OBJECT_IS_BORROWED(o) ((((guintptr) (o)) & 2) != 0)
#define OBJECT_VARIANT(o)     ((GVariant *) (((guintptr) (o)) & ~(guintptr) 3))

static gpointer
object_of_variant (GVariant *v)
{
  return (gpointer) (((guintptr) v) | 1);
}

static gboolean
round_trips (PyObject *obj)
{
  PyTypeObject *type = Py_TYPE (obj);
  Py_ssize_t len;
  gint64 value;

  if (type == &PyLong_Type)
    return int64_of (obj, &value);
  if (type == &PyUnicode_Type)
    return str_ok (obj, &len) != NULL;
  return type == &PyFloat_Type || type == &PyBool_Type || obj == Py_None;
}

/* The object for a function's result @ret (taken), or NULL with a Python
 * exception set. */
static gpointer
object_of_result (PyObject *ret)
{
  GVariant *v;

  if (round_trips (ret))
    return ret;
  v = py_to_variant (ret);
  Py_DECREF (ret);
  return v != NULL ? object_of_variant (g_variant_take_ref (v)) : NULL;
}

static PyObject *
object_to_py (gpointer object)
{
  if (OBJECT_IS_VARIANT (object))
    return variant_to_py (OBJECT_VARIANT (object));
  return Py_NewRef ((PyObject *) object);
}

/* The item of a chain's first step, borrowed (libflow keeps it alive
 * until the object is freed): no reference of its own. */
static gpointer
object_from_variant (GVariant *item)
{
  return (gpointer) (((guintptr) item) | 3);
}

static GVariant *
object_stateful_map (gpointer   user_data,
                     GVariant  *state,
                     gpointer   object,
                     GVariant **emit,
                     GError   **error)
{
  return stateful_common (state, NULL, object, emit, user_data, FALSE, error);
}

static GVariant *
object_to_variant (gpointer   object,
                   GError   **error)
{
  FlowGil gil;
  GVariant *v;

  if (OBJECT_IS_VARIANT (object))
    return g_variant_ref (OBJECT_VARIANT (object));
  gil = flow_gil_ensure ();
  v = py_to_variant (object);
  if (v == NULL)
    {
      if (error != NULL)
        fail_from_python (error);
      else
        PyErr_Clear ();
    }
  flow_gil_release (gil);
  return v != NULL ? g_variant_take_ref (v) : NULL;
}

static void
object_free (gpointer object)
{
  FlowGil gil;

  if (OBJECT_IS_VARIANT (object))
    {
      if (!OBJECT_IS_BORROWED (object))
        g_variant_unref (OBJECT_VARIANT (object));
      return;
    }
  gil = flow_gil_ensure ();
  Py_DECREF ((PyObject *) object);
  flow_gil_release (gil);
}

static PyObject *
object_call (Callable *c,
             gpointer  object)
{
  PyObject *arg = object_to_py (object);
  PyObject *ret;

  if (arg == NULL)
    return NULL;
  ret = PyObject_CallOneArg (c->fn, arg);
  Py_DECREF (arg);
  return ret;
}

static gboolean
object_map (gpointer   user_data,
            gpointer   object,
            gpointer  *result,
            char     **key,
            GError   **error)
{
  FlowGil gil = flow_gil_ensure ();
  PyObject *ret = object_call (user_data, object);

  *result = ret != NULL ? object_of_result (ret) : NULL;
  if (*result == NULL)
    fail_from_python (error);
  flow_gil_release (gil);
  return *result != NULL;
}

static gboolean
object_filter_map (gpointer   user_data,
                   gpointer   object,
                   gpointer  *result,
                   char     **key,
                   GError   **error)
{
  FlowGil gil = flow_gil_ensure ();
  PyObject *ret = object_call (user_data, object);
  gboolean ok = ret != NULL;

  *result = NULL;
  if (ret == Py_None)
    Py_DECREF (ret);
  else if (ret != NULL)
    ok = (*result = object_of_result (ret)) != NULL;
  if (!ok)
    fail_from_python (error);
  flow_gil_release (gil);
  return ok;
}

static gboolean
object_filter (gpointer   user_data,
               gpointer   object,
               gpointer  *result,
               char     **key,
               GError   **error)
{
  FlowGil gil = flow_gil_ensure ();
  PyObject *ret = object_call (user_data, object);
  int truth = -1;

  if (ret != NULL)
    {
      truth = PyObject_IsTrue (ret);
      Py_DECREF (ret);
    }
  *result = NULL;
  if (truth > 0)
    *result = OBJECT_IS_VARIANT (object) ? object_of_variant (g_variant_ref (OBJECT_VARIANT (object)))
                                         : Py_NewRef ((PyObject *) object);
  if (truth < 0)
    fail_from_python (error);
  flow_gil_release (gil);
  return truth >= 0;
}

/* as key_cb() */
static gboolean
object_key (gpointer   user_data,
            gpointer   object,
            gpointer  *result,
            char     **key,
            GError   **error)
{
  FlowGil gil = flow_gil_ensure ();

  *result = NULL;
  *key = key_from_result (object_call (user_data, object));
  if (*key == NULL)
    fail_from_python (error);
  flow_gil_release (gil);
  return *key != NULL;
}

#define OBJECT_FUNCS(apply, stateful) \
  { object_from_variant, object_to_variant, object_free, apply, stateful }
static const FlowBindingObjectFuncs object_funcs[] = {
  OBJECT_FUNCS (object_map, NULL),
  OBJECT_FUNCS (object_filter, NULL),
  OBJECT_FUNCS (object_filter_map, NULL),
  OBJECT_FUNCS (object_key, NULL),
  OBJECT_FUNCS (NULL, object_stateful_map),
};
static const char *const object_func_ops[] = {
  "map", "filter", "filter_map", "key_on", "stateful_map"
};

/* Lets the step making @stream run fused, if its operator is one of them
 * (and, for stateful_map, it has no builder: @callables[0]). */
static void
offer_object_funcs (const char  *op_name,
                    Callable   **callables,
                    FlowStream  *stream)
{
  if (!fusion_enabled)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (object_func_ops); i++)
    if (g_str_equal (op_name, object_func_ops[i]))
      {
        gboolean stateful = object_funcs[i].apply_stateful != NULL;

        if (stateful ? callables[0] == NULL && callables[1] != NULL : callables[0] != NULL)
          flow_binding_stream_set_object_funcs (stream, &object_funcs[i]);
      }
}

/* _flow_native.set_fusion(enabled): whether steps made from now on may run
 * fused (tests and bench_python.py compare both); returns the old value. */
static PyObject *
native_set_fusion (PyObject *self,
                   PyObject *arg)
{
  int enabled = PyObject_IsTrue (arg);
  gboolean old = fusion_enabled;

  if (enabled < 0)
    return NULL;
  fusion_enabled = enabled != 0;
  return PyBool_FromLong (old);
}


/* ------------------------------------------------------------------------
 * The operators: _flow_native.<op>(stream, step_id, *callables) -> Flow.Stream
 * ------------------------------------------------------------------------ */

static FlowStream *
get_stream (PyObject *obj)
{
  FlowStream *stream;

  if (!PyObject_TypeCheck (obj, &PyGObject_Type) ||
      !FLOW_IS_STREAM (pygobject_get (obj)))
    {
      PyErr_Format (PyExc_TypeError, "expected a Flow.Stream, not %.200s", Py_TYPE (obj)->tp_name);
      return NULL;
    }
  stream = FLOW_STREAM (pygobject_get (obj));
  if (flow_stream_get_dataflow (stream) == NULL)
    {
      PyErr_SetString (PyExc_ValueError, "the dataflow of this stream was finalized");
      return NULL;
    }
  return stream;
}

static gboolean
check_callable (PyObject   *fn,
                const char *what,
                gboolean    nullable)
{
  if ((nullable && fn == Py_None) || PyCallable_Check (fn))
    return TRUE;
  PyErr_Format (PyExc_TypeError, "%s must be callable%s, not %.200s",
                what, nullable ? " or None" : "", Py_TYPE (fn)->tp_name);
  return FALSE;
}

static PyObject *
wrap_stream (FlowStream *stream)
{
  if (stream == NULL)
    {
      PyErr_SetString (PyExc_RuntimeError, "libflow did not create the step");
      return NULL;
    }
  return pygobject_new (G_OBJECT (stream));
}

/* The operators are not listed here: at import, every method of Flow.Stream
 * in the typelib whose arguments are a step id and callbacks becomes
 * _flow_native.<name>(stream, step_id, *functions), which converts each function
 * to the C callback of its callback *type* (the one list in this file,
 * below) and calls the method through libgirepository. A new operator
 * whose callbacks are of known types needs nothing here. Calling through
 * GI costs a little when a step is added, nothing per item. */

typedef struct
{
  const char *type_name;   /* of the callback in the typelib */
  gpointer    callback;    /* the C callback calling a Python function */
} NativeCallback;

static const NativeCallback native_callbacks[] = {
  { "MapFunc", map_cb },
  { "PredicateFunc", predicate_cb },
  { "FilterMapFunc", filter_map_cb },
  { "FlatMapFunc", flat_map_cb },
  { "KeyFunc", key_cb },
  { "InspectFunc", inspect_cb },
  { "InspectDebugFunc", inspect_debug_cb },
  { "BuilderFunc", builder_cb },
  { "StatefulMapFunc", stateful_map_cb },
  { "StatefulFlatMapFunc", stateful_flat_map_cb },
  { "FoldFunc", fold_cb },
};

#define MAX_OP_ARGS 16

/* One operator: a method of Flow.Stream. */
typedef struct
{
  char           *name;
  GIFunctionInfo *info;
  guint           n_functions;
  guint           n_args;                     /* in and out, without self */
  struct {
    GIDirection   direction;
    enum { ARG_STEP_ID, ARG_FUNCTION, ARG_DATA, ARG_DESTROY, ARG_OUT_STREAM } kind;
    gpointer      callback;                   /* ARG_FUNCTION */
    gboolean      nullable;                   /* ARG_FUNCTION */
    char         *name;                       /* ARG_FUNCTION */
    int           function;                   /* ARG_FUNCTION, ARG_DATA, ARG_DESTROY:
                                               * which function (0, 1, ...) */
  } args[MAX_OP_ARGS];
} NativeOperator;

static void
native_operator_free (NativeOperator *op)
{
  for (guint i = 0; i < op->n_args; i++)
    g_free (op->args[i].name);
  g_clear_pointer (&op->info, g_base_info_unref);
  g_free (op->name);
  g_free (op);
}

static gpointer
native_callback_for (GICallbackInfo *info)
{
  const char *name = g_base_info_get_name (info);

  for (gsize i = 0; i < G_N_ELEMENTS (native_callbacks); i++)
    if (strcmp (native_callbacks[i].type_name, name) == 0)
      return native_callbacks[i].callback;
  return NULL;
}

/* Describes @info if it is an operator this module can call: returns NULL
 * for other methods, and for operators taking callbacks of a type it has
 * no C callback for (the override then uses the GI path). */
static NativeOperator *
native_operator_new (GIFunctionInfo *info)
{
  NativeOperator *op = g_new0 (NativeOperator, 1);
  guint n = g_callable_info_get_n_args (info);
  int closure_of[MAX_OP_ARGS], destroy_of[MAX_OP_ARGS];

  op->name = g_strdup (g_base_info_get_name (info));
  op->info = g_base_info_ref (info);
  if (n == 0 || n > MAX_OP_ARGS)
    goto not_an_operator;
  for (guint i = 0; i < n; i++)
    closure_of[i] = destroy_of[i] = -1;

  for (guint i = 0; i < n; i++)
    {
      GIArgInfo *arg = g_callable_info_get_arg (info, i);
      GITypeInfo *type = g_arg_info_get_type (arg);
      GIBaseInfo *iface = g_type_info_get_tag (type) == GI_TYPE_TAG_INTERFACE
                          ? g_type_info_get_interface (type) : NULL;
      GIInfoType iface_type = iface ? g_base_info_get_type (iface) : GI_INFO_TYPE_INVALID;
      gboolean ok = TRUE;

      op->args[i].direction = g_arg_info_get_direction (arg);
      op->args[i].function = -1;
      if (i == 0)
        ok = strcmp (g_base_info_get_name (arg), "step_id") == 0 &&
             g_type_info_get_tag (type) == GI_TYPE_TAG_UTF8;
      else if (op->args[i].direction == GI_DIRECTION_OUT)
        {
          op->args[i].kind = ARG_OUT_STREAM;
          ok = iface_type == GI_INFO_TYPE_OBJECT;
        }
      else if (destroy_of[i] >= 0)
        op->args[i].kind = ARG_DESTROY;
      else if (iface_type == GI_INFO_TYPE_CALLBACK)
        {
          op->args[i].kind = ARG_FUNCTION;
          op->args[i].function = op->n_functions++;
          op->args[i].callback = native_callback_for ((GICallbackInfo *) iface);
          op->args[i].nullable = g_arg_info_may_be_null (arg);
          op->args[i].name = g_strdup (g_base_info_get_name (arg));
          ok = op->args[i].callback != NULL &&
               g_arg_info_get_closure (arg) > (int) i &&
               g_arg_info_get_destroy (arg) > (int) i;
          if (ok)
            {
              closure_of[g_arg_info_get_closure (arg)] = op->args[i].function;
              destroy_of[g_arg_info_get_destroy (arg)] = op->args[i].function;
            }
        }
      else if (closure_of[i] >= 0)
        op->args[i].kind = ARG_DATA;
      else
        ok = FALSE;

      if (op->args[i].kind == ARG_DATA)
        op->args[i].function = closure_of[i];
      else if (op->args[i].kind == ARG_DESTROY)
        op->args[i].function = destroy_of[i];

      g_clear_pointer (&iface, g_base_info_unref);
      g_base_info_unref (type);
      g_base_info_unref (arg);
      op->n_args = i + 1;
      if (!ok)
        goto not_an_operator;
    }
  if (op->n_functions == 0)
    goto not_an_operator;
  return op;

not_an_operator:
  native_operator_free (op);
  return NULL;
}

static void
native_operator_capsule_free (PyObject *capsule)
{
  native_operator_free (PyCapsule_GetPointer (capsule, "gi.overrides._flow_native.operator"));
}

/* _flow_native.<name>(stream, step_id, *functions) */
static PyObject *
native_operator_call (PyObject *capsule,
                      PyObject *args)
{
  NativeOperator *op = PyCapsule_GetPointer (capsule, "gi.overrides._flow_native.operator");
  GIArgument in[MAX_OP_ARGS + 1], out[MAX_OP_ARGS], ret;
  PyObject *functions[MAX_OP_ARGS];
  Callable *callables[MAX_OP_ARGS] = { NULL, };
  GObject *out_streams[MAX_OP_ARGS] = { NULL, };
  guint n_in = 0, n_out = 0;
  FlowStream *stream;
  const char *step_id;
  g_autoptr(GError) error = NULL;
  PyObject *result;

  if (op == NULL)
    return NULL;
  if (PyTuple_GET_SIZE (args) != 2 + (Py_ssize_t) op->n_functions)
    return PyErr_Format (PyExc_TypeError, "%s() takes %u arguments (%zd given)",
                         op->name, 2 + op->n_functions, PyTuple_GET_SIZE (args));
  if ((stream = get_stream (PyTuple_GET_ITEM (args, 0))) == NULL)
    return NULL;
  if (!PyUnicode_Check (PyTuple_GET_ITEM (args, 1)))
    return PyErr_Format (PyExc_TypeError, "%s(): the step id must be a str, not %.200s",
                         op->name, Py_TYPE (PyTuple_GET_ITEM (args, 1))->tp_name);
  if ((step_id = PyUnicode_AsUTF8 (PyTuple_GET_ITEM (args, 1))) == NULL)
    return NULL;
  for (guint i = 0; i < op->n_args; i++)
    if (op->args[i].kind == ARG_FUNCTION)
      {
        PyObject *fn = PyTuple_GET_ITEM (args, 2 + op->args[i].function);

        if (!((op->args[i].nullable && fn == Py_None) || PyCallable_Check (fn)))
          return PyErr_Format (PyExc_TypeError, "%s(): the %s must be callable%s, not %.200s",
                               op->name, op->args[i].name,
                               op->args[i].nullable ? " or None" : "", Py_TYPE (fn)->tp_name);
        functions[op->args[i].function] = fn;
      }

  in[n_in++].v_pointer = stream;
  for (guint i = 0; i < op->n_args; i++)
    {
      int f = op->args[i].function;
      gboolean given = f >= 0 && functions[f] != Py_None;

      if (op->args[i].direction == GI_DIRECTION_OUT)
        {
          out[n_out].v_pointer = &out_streams[n_out];
          n_out++;
          continue;
        }
      switch (op->args[i].kind)
        {
        case ARG_STEP_ID:
          in[n_in++].v_string = (char *) step_id;
          break;
        case ARG_FUNCTION:
          if (given)
            callables[f] = callable_new (functions[f]);
          in[n_in++].v_pointer = given ? op->args[i].callback : NULL;
          break;
        case ARG_DATA:
          in[n_in++].v_pointer = callables[f];
          break;
        case ARG_DESTROY:
          in[n_in++].v_pointer = given ? callable_free : NULL;
          break;
        case ARG_OUT_STREAM:
        default:
          g_assert_not_reached ();
        }
    }

  if (!g_function_info_invoke (op->info, in, n_in, out, n_out, &ret, &error))
    {
      /* libflow took no function: release them here. */
      for (guint i = 0; i < op->n_functions; i++)
        if (callables[i] != NULL)
          callable_free (callables[i]);
      return PyErr_Format (PyExc_RuntimeError, "%s(): %s", op->name, error->message);
    }

  if (n_out == 0)
    offer_object_funcs (op->name, callables, ret.v_pointer);
  if (n_out == 0)
    return wrap_stream (ret.v_pointer);
  result = PyTuple_New (n_out);
  for (guint i = 0; result != NULL && i < n_out; i++)
    {
      PyObject *item = wrap_stream ((FlowStream *) out_streams[i]);
      if (item == NULL)
        Py_CLEAR (result);
      else
        PyTuple_SET_ITEM (result, i, item);
    }
  return result;
}

static PyMethodDef native_operator_def = {
  "operator", native_operator_call, METH_VARARGS,
  "_flow_flow_native.<name>(stream, step_id, *functions): Flow.Stream.<name> with Python\n"
  "functions, called by C callbacks; returns what the method returns."
};

/* Adds _flow_native.<name> for every operator of Flow.Stream in the typelib. */
static gboolean
add_operators (PyObject *module)
{
  g_autoptr(GError) error = NULL;
  GIRepository *repository = g_irepository_get_default ();
  GIBaseInfo *stream_info;
  gint n;

  if (g_irepository_require (repository, "Flow", "1", 0, &error) == NULL)
    {
      PyErr_Format (PyExc_ImportError, "gi.overrides._flow_native: %s", error->message);
      return FALSE;
    }
  stream_info = g_irepository_find_by_name (repository, "Flow", "Stream");
  if (stream_info == NULL)
    {
      PyErr_SetString (PyExc_ImportError, "gi.overrides._flow_native: Flow.Stream is not in the typelib");
      return FALSE;
    }
  n = g_object_info_get_n_methods ((GIObjectInfo *) stream_info);
  for (gint i = 0; i < n; i++)
    {
      GIFunctionInfo *method = g_object_info_get_method ((GIObjectInfo *) stream_info, i);
      NativeOperator *op = native_operator_new (method);
      PyObject *capsule, *function;
      int rc = 0;

      g_base_info_unref (method);
      if (op == NULL)
        continue;
      capsule = PyCapsule_New (op, "gi.overrides._flow_native.operator", native_operator_capsule_free);
      if (capsule == NULL)
        {
          native_operator_free (op);
          g_base_info_unref (stream_info);
          return FALSE;
        }
      function = PyCFunction_NewEx (&native_operator_def, capsule, NULL);
      Py_DECREF (capsule);
      if (function != NULL)
        rc = PyModule_AddObjectRef (module, op->name, function);
      Py_XDECREF (function);
      if (function == NULL || rc < 0)
        {
          g_base_info_unref (stream_info);
          return FALSE;
        }
    }
  g_base_info_unref (stream_info);
  return TRUE;
}

/* ------------------------------------------------------------------------
 * Conversions and exceptions, for the override and its tests
 * ------------------------------------------------------------------------ */

static gboolean
ensure_variant_class (void)
{
  PyObject *glib;

  if (variant_class != NULL)
    return TRUE;
  glib = PyImport_ImportModule ("gi.repository.GLib");
  if (glib == NULL)
    return FALSE;
  variant_class = PyObject_GetAttrString (glib, "Variant");
  error_class = PyObject_GetAttrString (glib, "Error");
  Py_DECREF (glib);
  if (variant_class == NULL || error_class == NULL)
    {
      Py_CLEAR (variant_class);
      Py_CLEAR (error_class);
      return FALSE;
    }
  return TRUE;
}

static PyObject *
native_to_variant (PyObject *self,
                   PyObject *obj)
{
  GValue value = G_VALUE_INIT;
  GVariant *v;
  PyObject *result;

  if (is_variant_wrapper (obj))
    return Py_NewRef (obj);  /* as the override's to_variant() does */
  v = py_to_variant (obj);
  if (v == NULL)
    return NULL;
  g_value_init (&value, G_TYPE_VARIANT);
  g_value_take_variant (&value, v);
  result = pyg_value_as_pyobject (&value, FALSE);
  g_value_unset (&value);
  return result;
}

static PyObject *
native_from_variant (PyObject *self,
                     PyObject *obj)
{
  GVariant *v;

  if (obj == Py_None)
    Py_RETURN_NONE;
  if (!is_variant_wrapper (obj))
    {
      PyErr_Format (PyExc_TypeError, "expected a GLib.Variant, not %.200s", Py_TYPE (obj)->tp_name);
      return NULL;
    }
  v = pyg_pointer_get_ptr (obj);
  if (v == NULL)
    {
      PyErr_SetString (PyExc_ValueError, "this GLib.Variant holds no value");
      return NULL;
    }
  return variant_to_py (v);
}

static PyObject *
native_take_pending_exception (PyObject *self,
                               PyObject *unused)
{
  PyObject *exc = pending_exception;

  pending_exception = NULL;
  return exc != NULL ? exc : Py_NewRef (Py_None);
}

static PyObject *
native_set_exception_hook (PyObject *self,
                           PyObject *hook)
{
  if (hook != Py_None && !PyCallable_Check (hook))
    return PyErr_Format (PyExc_TypeError, "the hook must be callable or None, not %.200s",
                         Py_TYPE (hook)->tp_name);
  Py_XSETREF (exception_hook, hook == Py_None ? NULL : Py_NewRef (hook));
  Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------
 * sink_partition(): a Flow.SinkPartition whose write_batch gets Python values
 *
 * A Python subclass of Flow.SinkPartition gets its batch through GI as a
 * list of GLib.Variant wrappers, one made per item (~0.6 µs each), and then
 * converts each. This partition converts the batch to a list of plain
 * Python values in C and calls one Python function per batch.
 * ------------------------------------------------------------------------ */

/* gi.overrides._flow_native.Batch: the items of one batch as a read-only sequence of
 * plain Python values, converted when they are read. A sink that only
 * counts (len()) converts nothing; one that reads every item pays what an
 * eager list would. It holds its own references to the items, so it stays
 * valid after write_batch() returned. */
typedef struct
{
  PyObject_HEAD
  GPtrArray *items;  /* GVariant*, a reference of our own; or NULL and: */
  /* issue 12: the runner's items, keyed ones split into key and value
   * (flow_binding_sink_partition_set_write_func()): borrowed during the
   * call, copied (owned) by batch_detach() when Python kept the batch. */
  FlowBindingItem *split;
  guint            n_split;
  gboolean         owned;
} BatchObject;

static Py_ssize_t
batch_length (PyObject *self)
{
  BatchObject *batch = (BatchObject *) self;

  return (Py_ssize_t) (batch->items != NULL ? batch->items->len : batch->n_split);
}

/* A split keyed item: the tuple (key, value) from_variant() would make of
 * the packed `(sv)`, without packing it. */
static PyObject *
split_item_to_py (const FlowBindingItem *item)
{
  PyObject *key, *value, *result;

  if (item->key == NULL)
    return variant_to_py (item->value);
  key = PyUnicode_FromString (item->key);
  if (key == NULL)
    return NULL;
  value = variant_to_py (item->value);
  if (value == NULL)
    {
      Py_DECREF (key);
      return NULL;
    }
  result = PyTuple_New (2);
  if (result == NULL)
    {
      Py_DECREF (key);
      Py_DECREF (value);
      return NULL;
    }
  PyTuple_SET_ITEM (result, 0, key);
  PyTuple_SET_ITEM (result, 1, value);
  return result;
}

static PyObject *
batch_item (PyObject   *self,
            Py_ssize_t  i)
{
  BatchObject *batch = (BatchObject *) self;

  if (i < 0 || i >= batch_length (self))
    {
      PyErr_SetString (PyExc_IndexError, "batch index out of range");
      return NULL;
    }
  if (batch->items == NULL)
    return split_item_to_py (&batch->split[i]);
  return variant_to_py (g_ptr_array_index (batch->items, i));
}

static PyObject *
batch_subscript (PyObject *self,
                 PyObject *key)
{
  Py_ssize_t len = batch_length (self);

  if (PyIndex_Check (key))
    {
      Py_ssize_t i = PyNumber_AsSsize_t (key, PyExc_IndexError);
      if (i == -1 && PyErr_Occurred ())
        return NULL;
      return batch_item (self, i < 0 ? i + len : i);
    }
  if (PySlice_Check (key))
    {
      Py_ssize_t start, stop, step, n;
      PyObject *list;

      if (PySlice_Unpack (key, &start, &stop, &step) < 0)
        return NULL;
      n = PySlice_AdjustIndices (len, &start, &stop, step);
      list = PyList_New (n);
      for (Py_ssize_t i = 0; list != NULL && i < n; i++)
        {
          PyObject *value = batch_item (self, start + i * step);
          if (value == NULL)
            Py_CLEAR (list);
          else
            PyList_SET_ITEM (list, i, value);
        }
      return list;
    }
  PyErr_Format (PyExc_TypeError, "batch indices must be integers or slices, not %.200s",
                Py_TYPE (key)->tp_name);
  return NULL;
}

static PyObject *
batch_repr (PyObject *self)
{
  PyObject *list = PySequence_List (self), *repr;

  if (list == NULL)
    return NULL;
  repr = PyUnicode_FromFormat ("Batch(%R)", list);
  Py_DECREF (list);
  return repr;
}

static void
batch_dealloc (PyObject *self)
{
  BatchObject *batch = (BatchObject *) self;

  g_clear_pointer (&batch->items, g_ptr_array_unref);
  if (batch->owned)
    {
      for (guint i = 0; i < batch->n_split; i++)
        {
          g_free ((char *) batch->split[i].key);
          g_variant_unref (batch->split[i].value);
        }
      g_free (batch->split);
    }
  Py_TYPE (self)->tp_free (self);
}

static PySequenceMethods batch_as_sequence = {
  .sq_length = batch_length,
  .sq_item = batch_item,
};

static PyMappingMethods batch_as_mapping = {
  .mp_length = batch_length,
  .mp_subscript = batch_subscript,
};

static PyTypeObject BatchType = {
  PyVarObject_HEAD_INIT (NULL, 0)
  .tp_name = "gi.overrides._flow_native.Batch",
  .tp_basicsize = sizeof (BatchObject),
  .tp_dealloc = batch_dealloc,
  .tp_repr = batch_repr,
  .tp_as_sequence = &batch_as_sequence,
  .tp_as_mapping = &batch_as_mapping,
  .tp_flags = Py_TPFLAGS_DEFAULT,
  .tp_doc = "The items of a batch given to a sink_partition()'s write_batch: a\n"
            "read-only sequence of plain Python values, converted as they are read.",
};

static PyObject *
batch_new (GPtrArray *items)
{
  BatchObject *self = PyObject_New (BatchObject, &BatchType);

  if (self == NULL)
    return NULL;
  self->items = g_ptr_array_ref (items);
  self->split = NULL;
  self->n_split = 0;
  self->owned = FALSE;
  return (PyObject *) self;
}

/* A batch over the runner's split items, borrowed: call batch_detach()
 * before the write function returns if Python kept a reference. */
static PyObject *
batch_new_split (const FlowBindingItem *items,
                 guint                  n_items)
{
  BatchObject *self = PyObject_New (BatchObject, &BatchType);

  if (self == NULL)
    return NULL;
  self->items = NULL;
  self->split = (FlowBindingItem *) items;
  self->n_split = n_items;
  self->owned = FALSE;
  return (PyObject *) self;
}

/* Gives the batch its own array of its own references when Python code
 * kept it beyond write_batch(): the caller's array is the caller's. */
static void
batch_detach (PyObject *self)
{
  BatchObject *batch = (BatchObject *) self;
  GPtrArray *copy;

  if (batch->items == NULL)
    {
      FlowBindingItem *own;

      if (batch->owned)
        return;
      own = g_new (FlowBindingItem, MAX (batch->n_split, 1));
      for (guint i = 0; i < batch->n_split; i++)
        {
          own[i].key = g_strdup (batch->split[i].key);
          own[i].value = g_variant_ref (batch->split[i].value);
        }
      batch->split = own;
      batch->owned = TRUE;
      return;
    }
  copy = g_ptr_array_new_full (batch->items->len, (GDestroyNotify) g_variant_unref);
  for (guint i = 0; i < batch->items->len; i++)
    g_ptr_array_add (copy, g_variant_ref (g_ptr_array_index (batch->items, i)));
  g_ptr_array_unref (batch->items);
  batch->items = copy;
}

typedef struct
{
  FlowSinkPartition parent_instance;
  PyObject *write_batch;  /* write_batch(list_of_values) */
  PyObject *snapshot;     /* snapshot() -> value or None; may be NULL */
  PyObject *close;        /* close(); may be NULL */
} NativeSinkPartition;

typedef struct
{
  FlowSinkPartitionClass parent_class;
} NativeSinkPartitionClass;

GType native_sink_partition_get_type (void);

G_DEFINE_TYPE (NativeSinkPartition, native_sink_partition, FLOW_TYPE_SINK_PARTITION)

static gboolean
native_sink_partition_write_batch (FlowSinkPartition  *part,
                                   GPtrArray          *items,
                                   GError            **error)
{
  NativeSinkPartition *self = (NativeSinkPartition *) part;
  FlowGil gil = flow_gil_ensure ();
  PyObject *batch = batch_new (items);
  PyObject *ret = NULL;

  if (batch != NULL)
    {
      ret = PyObject_CallOneArg (self->write_batch, batch);
      if (Py_REFCNT (batch) > 1)
        batch_detach (batch);
      Py_DECREF (batch);
    }
  if (ret == NULL)
    fail_from_python (error);
  Py_XDECREF (ret);
  flow_gil_release (gil);
  return ret != NULL;
}

/* The same, with the runner's split items (no packing): what the runner
 * calls (flow_binding_sink_partition_set_write_func()). */
static gboolean
native_sink_partition_write_split (FlowSinkPartition      *part,
                                   const FlowBindingItem  *items,
                                   guint                   n_items,
                                   GError                **error)
{
  NativeSinkPartition *self = (NativeSinkPartition *) part;
  FlowGil gil = flow_gil_ensure ();
  PyObject *batch = batch_new_split (items, n_items);
  PyObject *ret = NULL;

  if (batch != NULL)
    {
      ret = PyObject_CallOneArg (self->write_batch, batch);
      if (Py_REFCNT (batch) > 1)
        batch_detach (batch);
      Py_DECREF (batch);
    }
  if (ret == NULL)
    fail_from_python (error);
  Py_XDECREF (ret);
  flow_gil_release (gil);
  return ret != NULL;
}

static GVariant *
native_sink_partition_snapshot (FlowSinkPartition  *part,
                                GError            **error)
{
  NativeSinkPartition *self = (NativeSinkPartition *) part;
  FlowGil gil;
  PyObject *ret;
  GVariant *result = NULL;

  if (self->snapshot == NULL)
    return NULL;
  gil = flow_gil_ensure ();
  ret = PyObject_CallNoArgs (self->snapshot);
  if (ret != NULL && ret != Py_None)
    result = py_to_variant (ret);
  if (ret == NULL || (result == NULL && ret != Py_None))
    fail_from_python (error);
  Py_XDECREF (ret);
  flow_gil_release (gil);
  return result;
}

static gboolean
native_sink_partition_close (FlowSinkPartition  *part,
                             GError            **error)
{
  NativeSinkPartition *self = (NativeSinkPartition *) part;
  FlowGil gil;
  PyObject *ret;

  if (self->close == NULL)
    return TRUE;
  gil = flow_gil_ensure ();
  ret = PyObject_CallNoArgs (self->close);
  if (ret == NULL)
    fail_from_python (error);
  Py_XDECREF (ret);
  flow_gil_release (gil);
  return ret != NULL;
}

static void
native_sink_partition_finalize (GObject *object)
{
  NativeSinkPartition *self = (NativeSinkPartition *) object;

  if (Py_IsInitialized ())
    {
      FlowGil gil = flow_gil_ensure ();
      Py_CLEAR (self->write_batch);
      Py_CLEAR (self->snapshot);
      Py_CLEAR (self->close);
      flow_gil_release (gil);
    }
  G_OBJECT_CLASS (native_sink_partition_parent_class)->finalize (object);
}

static void
native_sink_partition_class_init (NativeSinkPartitionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  FlowSinkPartitionClass *part_class = FLOW_SINK_PARTITION_CLASS (klass);

  object_class->finalize = native_sink_partition_finalize;
  part_class->write_batch = native_sink_partition_write_batch;
  part_class->snapshot = native_sink_partition_snapshot;
  part_class->close = native_sink_partition_close;
}

static void
native_sink_partition_init (NativeSinkPartition *self)
{
  flow_binding_sink_partition_set_write_func (FLOW_SINK_PARTITION (self),
                                              native_sink_partition_write_split);
}

static PyObject *
native_sink_partition (PyObject *self,
                       PyObject *args,
                       PyObject *kwargs)
{
  static const char *keywords[] = { "write_batch", "snapshot", "close", NULL };
  PyObject *write_batch, *snapshot = Py_None, *close = Py_None, *result;
  NativeSinkPartition *part;

  if (!PyArg_ParseTupleAndKeywords (args, kwargs, "O|OO:sink_partition", (char **) keywords,
                                    &write_batch, &snapshot, &close))
    return NULL;
  if (!check_callable (write_batch, "write_batch", FALSE) ||
      !check_callable (snapshot, "snapshot", TRUE) ||
      !check_callable (close, "close", TRUE))
    return NULL;

  part = g_object_new (native_sink_partition_get_type (), NULL);
  part->write_batch = Py_NewRef (write_batch);
  part->snapshot = snapshot != Py_None ? Py_NewRef (snapshot) : NULL;
  part->close = close != Py_None ? Py_NewRef (close) : NULL;
  result = pygobject_new (G_OBJECT (part));
  g_object_unref (part);
  return result;
}

/* ------------------------------------------------------------------------
 * install_plain_write_batch(): plain values for a Python Flow.SinkPartition
 * subclass's do_write_batch
 *
 * PyGObject calls a Python do_write_batch through GI with a list of
 * GLib.Variant wrappers (~0.6 µs an item before the method even converts
 * them). For a subclass in plain-value mode (the default, see the override's
 * SinkPartition), the override does not let PyGObject hook do_write_batch up:
 * it keeps the method as `_flow_write_batch` and has this module put
 * plain_write_batch() in the class's write_batch slot, which calls it once
 * per batch with a Batch of plain values (converted in C as they are read).
 * ------------------------------------------------------------------------ */

static PyObject *flow_write_batch_name;  /* "_flow_write_batch" */

/* Calls the Python partition's `_flow_write_batch` with @batch (stolen;
 * NULL: making it failed, with an exception set). As through GI: None is
 * success, anything else its truth value. The GIL is held. */
static gboolean
call_write_batch (FlowSinkPartition  *part,
                  PyObject           *batch,
                  GError            **error)
{
  PyObject *self = pygobject_new (G_OBJECT (part));
  PyObject *ret = NULL;
  gboolean ok = FALSE;

  if (self != NULL && batch != NULL)
    ret = PyObject_CallMethodOneArg (self, flow_write_batch_name, batch);
  if (batch != NULL)
    {
      if (Py_REFCNT (batch) > 1)
        batch_detach (batch);
      Py_DECREF (batch);
    }
  if (ret != NULL)
    {
      ok = ret == Py_None || PyObject_IsTrue (ret) > 0;
      if (!ok && !PyErr_Occurred ())
        g_set_error (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                     "%s.do_write_batch() returned a false value without raising an exception",
                     Py_TYPE (self)->tp_name);
    }
  if (PyErr_Occurred ())
    {
      ok = FALSE;
      fail_from_python (error);
    }
  Py_XDECREF (ret);
  Py_XDECREF (self);
  return ok;
}

static gboolean
plain_write_batch (FlowSinkPartition  *part,
                   GPtrArray          *items,
                   GError            **error)
{
  FlowGil gil = flow_gil_ensure ();
  gboolean ok = call_write_batch (part, batch_new (items), error);

  flow_gil_release (gil);
  return ok;
}

/* What the runner calls for such a partition: the same, with its split
 * items (no packing). */
static gboolean
plain_write_split (FlowSinkPartition      *part,
                   const FlowBindingItem  *items,
                   guint                   n_items,
                   GError                **error)
{
  FlowGil gil = flow_gil_ensure ();
  gboolean ok = call_write_batch (part, batch_new_split (items, n_items), error);

  flow_gil_release (gil);
  return ok;
}

static PyObject *
native_adopt_plain_sink_partition (PyObject *self,
                                   PyObject *arg)
{
  GObject *obj;

  if (!pygobject_check (arg, &PyGObject_Type) ||
      !FLOW_IS_SINK_PARTITION (obj = pygobject_get (arg)))
    {
      PyErr_SetString (PyExc_TypeError, "expected a Flow.SinkPartition");
      return NULL;
    }
  if (flow_write_batch_name == NULL &&
      (flow_write_batch_name = PyUnicode_InternFromString ("_flow_write_batch")) == NULL)
    return NULL;
  flow_binding_sink_partition_set_write_func (FLOW_SINK_PARTITION (obj), plain_write_split);
  Py_RETURN_NONE;
}

static PyObject *
native_install_plain_write_batch (PyObject *self,
                                  PyObject *arg)
{
  GType gtype = pyg_type_from_object (arg);
  FlowSinkPartitionClass *klass;

  if (gtype == 0)
    return NULL;
  if (!g_type_is_a (gtype, FLOW_TYPE_SINK_PARTITION) || G_TYPE_IS_ABSTRACT (gtype))
    {
      PyErr_Format (PyExc_TypeError, "%s is not a concrete Flow.SinkPartition type",
                    g_type_name (gtype));
      return NULL;
    }
  if (flow_write_batch_name == NULL &&
      (flow_write_batch_name = PyUnicode_InternFromString ("_flow_write_batch")) == NULL)
    return NULL;
  /* A Python class lives as long as the process: keep its class. */
  klass = g_type_class_ref (gtype);
  klass->write_batch = plain_write_batch;
  Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------
 * run(): a blocking run that keeps the GIL while items are processed
 * ------------------------------------------------------------------------ */

/* Releases the GIL while the main context blocks (an input waiting for its
 * next_awake, a commit in flight), so other Python threads run meanwhile. */
static gint
gil_releasing_poll (GPollFD *fds,
                    guint    n_fds,
                    gint     timeout)
{
  PyThreadState *state;
  gint result;

  if (timeout == 0 || !PyGILState_Check ())
    return g_poll (fds, n_fds, timeout);

  state = PyEval_SaveThread ();
  result = g_poll (fds, n_fds, timeout);
  PyEval_RestoreThread (state);
  return result;
}

static void
run_done_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static void
forward_cancel_cb (GCancellable *cancellable,
                   gpointer      user_data)
{
  g_cancellable_cancel (user_data);
}

static PyObject *
native_run (PyObject *self,
            PyObject *args,
            PyObject *kwargs)
{
  static const char *keywords[] = { "runner", "cancellable", NULL };
  PyObject *runner_obj, *cancellable_obj = Py_None;
  FlowRunner *runner;
  GCancellable *user_cancellable = NULL, *cancellable;
  GMainContext *context;
  GAsyncResult *result = NULL;
  GError *error = NULL;
  gulong handler = 0;
  PyObject *interrupted = NULL;
  PyThreadState *outer_thread_state;
  gboolean ok;

  if (!PyArg_ParseTupleAndKeywords (args, kwargs, "O|O:run", (char **) keywords,
                                    &runner_obj, &cancellable_obj))
    return NULL;
  if (!PyObject_TypeCheck (runner_obj, &PyGObject_Type) ||
      !FLOW_IS_RUNNER (pygobject_get (runner_obj)))
    {
      PyErr_Format (PyExc_TypeError, "expected a Flow.Runner, not %.200s",
                    Py_TYPE (runner_obj)->tp_name);
      return NULL;
    }
  if (cancellable_obj != Py_None)
    {
      if (!PyObject_TypeCheck (cancellable_obj, &PyGObject_Type) ||
          !G_IS_CANCELLABLE (pygobject_get (cancellable_obj)))
        {
          PyErr_Format (PyExc_TypeError, "expected a Gio.Cancellable or None, not %.200s",
                        Py_TYPE (cancellable_obj)->tp_name);
          return NULL;
        }
      user_cancellable = G_CANCELLABLE (pygobject_get (cancellable_obj));
    }
  runner = g_object_ref (FLOW_RUNNER (pygobject_get (runner_obj)));

  /* Our own cancellable, so that Ctrl-C can stop the run without
   * cancelling the caller's. */
  cancellable = g_cancellable_new ();
  if (user_cancellable != NULL)
    handler = g_cancellable_connect (user_cancellable, G_CALLBACK (forward_cancel_cb),
                                     g_object_ref (cancellable), g_object_unref);

  context = g_main_context_new ();
  g_main_context_set_poll_func (context, gil_releasing_poll);
  g_main_context_push_thread_default (context);
  outer_thread_state = run_thread_state;  /* a run() inside a callback */
  run_thread_state = PyThreadState_Get ();
  flow_runner_run_async (runner, cancellable, run_done_cb, &result);
  while (result == NULL)
    {
      g_main_context_iteration (context, TRUE);
      if (interrupted == NULL && PyErr_CheckSignals () < 0)
        {
#if PY_VERSION_HEX >= 0x030C0000
          interrupted = PyErr_GetRaisedException ();
#else
          PyObject *type, *tb;
          PyErr_Fetch (&type, &interrupted, &tb);
          PyErr_NormalizeException (&type, &interrupted, &tb);
          if (tb != NULL && interrupted != NULL)
            PyException_SetTraceback (interrupted, tb);
          Py_XDECREF (type);
          Py_XDECREF (tb);
#endif
          g_cancellable_cancel (cancellable);
        }
    }
  run_thread_state = outer_thread_state;
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);

  ok = flow_runner_run_finish (runner, result, &error);
  g_object_unref (result);
  if (handler != 0)
    g_cancellable_disconnect (user_cancellable, handler);
  g_object_unref (cancellable);
  g_object_unref (runner);

  if (interrupted != NULL)
    {
      /* A signal handler raised (KeyboardInterrupt): that, not the
       * cancellation it caused, is what the caller wants to see. */
      g_clear_error (&error);
#if PY_VERSION_HEX >= 0x030C0000
      PyErr_SetRaisedException (interrupted);
#else
      PyErr_SetObject ((PyObject *) Py_TYPE (interrupted), interrupted);
      Py_DECREF (interrupted);
#endif
      return NULL;
    }
  if (!ok)
    {
      pyg_error_check (&error);  /* raises GLib.Error, as Flow.Runner.run() would */
      return NULL;
    }
  Py_RETURN_TRUE;
}

/* ------------------------------------------------------------------------
 * The module
 * ------------------------------------------------------------------------ */

#define OP_DOC(sig, text) sig "\n--\n\n" text

static PyMethodDef native_methods[] = {
  { "to_variant", native_to_variant, METH_O,
    OP_DOC ("to_variant(obj)", "Converts a Python value to a GLib.Variant, as Flow.to_variant does.") },
  { "from_variant", native_from_variant, METH_O,
    OP_DOC ("from_variant(variant)", "Converts a GLib.Variant to a Python value, as Flow.from_variant does.") },
  { "set_exception_hook", native_set_exception_hook, METH_O,
    OP_DOC ("set_exception_hook(hook)",
            "hook(exception) -> bool is offered every exception a Python function\n"
            "raises in a run; when it returns True it took the exception, which is not\n"
            "kept for take_pending_exception(). None removes the hook.") },
  { "set_fusion", native_set_fusion, METH_O,
    "set_fusion(enabled): whether map/filter/filter_map/key_on steps made from now on may run\n"
    "fused with their neighbours; returns the previous setting" },
  { "take_pending_exception", native_take_pending_exception, METH_NOARGS,
    OP_DOC ("take_pending_exception()",
            "Returns and forgets the exception a Python function raised during a run (or None).") },
  { "sink_partition", (PyCFunction) (void (*) (void)) native_sink_partition, METH_VARARGS | METH_KEYWORDS,
    OP_DOC ("sink_partition(write_batch, snapshot=None, close=None)",
            "Makes a Flow.SinkPartition (for a Flow.Sink's do_build_part to return) that\n"
            "calls write_batch(items) once per batch, items being a Batch: a read-only\n"
            "sequence of plain Python values, converted in C as from_variant does when\n"
            "they are read (len() converts nothing); snapshot() -> value or None, and\n"
            "close(). An exception fails the output step, as in the operators.") },
  { "install_plain_write_batch", native_install_plain_write_batch, METH_O,
    OP_DOC ("install_plain_write_batch(gtype)",
            "Makes the write_batch of the Flow.SinkPartition subclass `gtype` call the\n"
            "Python method _flow_write_batch(items) once per batch, items being a Batch\n"
            "of plain Python values (as sink_partition() gives them).") },
  { "adopt_plain_sink_partition", native_adopt_plain_sink_partition, METH_O,
    OP_DOC ("adopt_plain_sink_partition(part)",
            "Makes the runner give the batches of `part` (of a class made with\n"
            "install_plain_write_batch()) to its _flow_write_batch(items) with the\n"
            "runner's own items, keyed ones split, converted when read.") },
  { "run", (PyCFunction) (void (*) (void)) native_run, METH_VARARGS | METH_KEYWORDS,
    OP_DOC ("run(runner, cancellable=None)",
            "Runs like Flow.Runner.run(), but keeps the GIL while items are processed\n"
            "(it is released while the runner waits), which makes every Python callback\n"
            "cheaper. Returns True or raises GLib.Error; a signal handler's exception\n"
            "(KeyboardInterrupt) stops the run and is raised.") },
  { "register_kafka", flow_native_kafka_register, METH_VARARGS,
    OP_DOC ("register_kafka(source_message_class, sink_message_class, error_from_tuple)",
            "Carries flow.connectors.kafka's messages as the GVariant tuples of the C\n"
            "connectors instead of pickled (see flow-native-kafka.c).") },
  { "kafka_split", flow_native_kafka_split, METH_VARARGS,
    OP_DOC ("kafka_split(stream, step_id)",
            "A branch step sending a Kafka source's messages to the first stream\n"
            "returned and its error items to the second, on their type, in C.") },
  { NULL, NULL, 0, NULL }
};

static int
native_clear (PyObject *module)
{
  Py_CLEAR (pending_exception);
  Py_CLEAR (exception_hook);
  return 0;
}

static struct PyModuleDef native_module = {
  PyModuleDef_HEAD_INIT,
  .m_name = "gi.overrides._flow_native",
  .m_doc = "The native fast path of libflow's Python binding: C callbacks that call\n"
           "Python functions directly and convert GVariant <-> Python values in C.\n"
           "Used by gi.overrides.Flow unless FLOW_PYTHON_NATIVE=0.",
  .m_size = -1,
  .m_methods = native_methods,
  .m_clear = native_clear,
};

PyMODINIT_FUNC PyInit__flow_native (void);

PyMODINIT_FUNC
PyInit__flow_native (void)
{
  PyObject *module, *gobject;

  gobject = pygobject_init (3, 0, 0);
  if (gobject == NULL)
    return NULL;
  Py_DECREF (gobject);
  if (!ensure_variant_class ())
    return NULL;

  if (PyType_Ready (&BatchType) < 0)
    return NULL;
  flow_native_kafka_init (py_to_variant, variant_to_py);
  {
    static const FlowNativeWindowKey window_key = { key_cb, callable_data_new, callable_free };
    flow_native_window_init (py_to_variant, variant_to_py, fail_from_python, &window_key);
  }
  module = PyModule_Create (&native_module);
  if (module == NULL)
    return NULL;
  if (PyModule_AddObjectRef (module, "Batch", (PyObject *) &BatchType) < 0)
    {
      Py_DECREF (module);
      return NULL;
    }
  if (PyModule_AddIntConstant (module, "ABI_VERSION", 1) < 0 ||
      PyModule_AddFunctions (module, flow_native_window_methods) < 0 ||
      !add_operators (module))
    {
      Py_DECREF (module);
      return NULL;
    }
  return module;
}
