/* flow-native-window.c: the native fast path of the window operators and
 * of EventClock's timestamp getter (part of gi.overrides._flow_native)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Through GI, a keyed count over windows calls two Python functions per
 * item (the key function and the EventClock's timestamp getter), each
 * through PyGObject's generic callback trampoline and the override's
 * pure-Python wrapper, which converts the item and the returned datetime
 * in Python. Here both are plain C callbacks, as flow-native.c's: they
 * call the Python function directly and convert in C.
 *
 *   event_clock_new(wait_usec, ts_getter, to_usec, on_failure)
 *     -> Flow.EventClock whose timestamp getter calls ts_getter(item);
 *     an aware datetime in timezone.utc is converted to µs here, anything
 *     else by to_usec(value, "the timestamp from ts_getter") (the flow
 *     package's converter, which gives the errors for naive datetimes and
 *     non-times). When ts_getter or the conversion raises, on_failure(exc)
 *     is called (unless None), then the callback fails as flow-native.c's
 *     do (the exception goes to the run in progress).
 *
 *   window_count(stream, step_id, clock, windower, key)
 *     -> Flow.WindowOut of Flow.Stream.count_window() with a C key
 *     function calling key(item) (same rules and errors as key_on's).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#define NO_IMPORT_PYGOBJECT   /* flow-native.c's _PyGObject_API, set up there */
#include <pygobject.h>

#include <string.h>

#include <flow.h>

#include "flow-native-window.h"

static FlowNativeWindowToVariant to_variant;
static FlowNativeWindowFromVariant from_variant;
static FlowNativeWindowFail fail;
static FlowNativeWindowKey key_ops;
static PyObject *ts_what;   /* "the timestamp from ts_getter" */

void
flow_native_window_init (FlowNativeWindowToVariant   to_variant_func,
                         FlowNativeWindowFromVariant from_variant_func,
                         FlowNativeWindowFail        fail_func,
                         const FlowNativeWindowKey  *key)
{
  to_variant = to_variant_func;
  from_variant = from_variant_func;
  fail = fail_func;
  key_ops = *key;
}

/* What this file needs of Python besides PyGObject's C API (which
 * flow-native.c sets up): the datetime C API (per translation unit);
 * FALSE with an exception set when unavailable. */
static gboolean
ensure_apis (void)
{
  if (ts_what != NULL)
    return TRUE;
  PyDateTime_IMPORT;
  if (PyDateTimeAPI == NULL)
    return FALSE;
  ts_what = PyUnicode_InternFromString ("the timestamp from ts_getter");
  return ts_what != NULL;
}

/* ------------------------------------------------------------------------
 * Python functions held by libflow
 * ------------------------------------------------------------------------ */

typedef struct
{
  PyObject *fn;
  PyObject *to_usec;      /* timestamp getters */
  PyObject *on_failure;   /* timestamp getters: None or a callable */
} Function;

static Function *
function_new (PyObject *fn,
              PyObject *to_usec,
              PyObject *on_failure)
{
  Function *f = g_new0 (Function, 1);

  f->fn = Py_NewRef (fn);
  f->to_usec = Py_XNewRef (to_usec);
  f->on_failure = Py_XNewRef (on_failure);
  return f;
}

static void
function_free (gpointer data)
{
  Function *f = data;

  /* After the interpreter is gone there is nothing left to release. */
  if (Py_IsInitialized ())
    {
      PyGILState_STATE gil = PyGILState_Ensure ();
      Py_CLEAR (f->fn);
      Py_CLEAR (f->to_usec);
      Py_CLEAR (f->on_failure);
      PyGILState_Release (gil);
    }
  g_free (f);
}

static PyObject *
call_on_item (Function *f,
              GVariant *item)
{
  PyObject *arg = from_variant (item);
  PyObject *ret;

  if (arg == NULL)
    return NULL;
  ret = PyObject_CallOneArg (f->fn, arg);
  Py_DECREF (arg);
  return ret;
}

/* ------------------------------------------------------------------------
 * EventClock's timestamp getter
 * ------------------------------------------------------------------------ */

/* Days from 1970-01-01 to the proleptic Gregorian y-m-d (H. Hinnant's
 * days_from_civil). */
static gint64
days_from_civil (gint64 y,
                 unsigned m,
                 unsigned d)
{
  gint64 era;
  unsigned yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned) (y - era * 400);
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (gint64) doe - 719468;
}

/* µs since the epoch of @obj when it is exactly a datetime in
 * timezone.utc (what the flow package's _to_usec() gives for it);
 * FALSE for anything else, left to _to_usec(). */
static gboolean
utc_datetime_usec (PyObject *obj,
                   gint64   *usec)
{
  gint64 days;

  if (!PyDateTime_CheckExact (obj) || PyDateTime_DATE_GET_TZINFO (obj) != PyDateTime_TimeZone_UTC)
    return FALSE;
  days = days_from_civil (PyDateTime_GET_YEAR (obj), PyDateTime_GET_MONTH (obj),
                          PyDateTime_GET_DAY (obj));
  *usec = (((days * 24 + PyDateTime_DATE_GET_HOUR (obj)) * 60 +
            PyDateTime_DATE_GET_MINUTE (obj)) * 60 +
           PyDateTime_DATE_GET_SECOND (obj)) * G_USEC_PER_SEC +
          PyDateTime_DATE_GET_MICROSECOND (obj);
  return TRUE;
}

/* Hands the raised exception to @on_failure, and raises it again. */
static void
report_failure (PyObject *on_failure)
{
  PyObject *ret;
#if PY_VERSION_HEX >= 0x030C0000
  PyObject *exc = PyErr_GetRaisedException ();

  ret = PyObject_CallOneArg (on_failure, exc);
  Py_XDECREF (ret);
  PyErr_Clear ();
  PyErr_SetRaisedException (exc);
#else
  PyObject *type, *value, *tb;

  PyErr_Fetch (&type, &value, &tb);
  PyErr_NormalizeException (&type, &value, &tb);
  if (tb != NULL && value != NULL)
    PyException_SetTraceback (value, tb);
  ret = PyObject_CallOneArg (on_failure, value != NULL ? value : Py_None);
  Py_XDECREF (ret);
  PyErr_Clear ();
  PyErr_Restore (type, value, tb);
#endif
}

static gint64
timestamp_cb (GVariant  *value,
              gpointer   user_data,
              GError   **error)
{
  Function *f = user_data;
  PyGILState_STATE gil = PyGILState_Ensure ();
  PyObject *ret = call_on_item (f, value);
  gint64 usec = 0;

  if (ret != NULL && !utc_datetime_usec (ret, &usec))
    {
      PyObject *converted = PyObject_CallFunctionObjArgs (f->to_usec, ret, ts_what, NULL);

      if (converted != NULL)
        {
          usec = PyLong_AsLongLong (converted);
          Py_DECREF (converted);
        }
    }
  Py_XDECREF (ret);
  if (PyErr_Occurred ())
    {
      if (f->on_failure != Py_None)
        report_failure (f->on_failure);
      fail (error);
      usec = 0;
    }
  PyGILState_Release (gil);
  return usec;
}

/* event_clock_new(wait_usec, ts_getter, to_usec, on_failure) */
static PyObject *
native_event_clock_new (PyObject *self,
                        PyObject *args)
{
  long long wait;
  PyObject *getter, *to_usec, *on_failure, *result;
  g_autoptr(GError) error = NULL;
  FlowEventClock *clock;

  if (!PyArg_ParseTuple (args, "LOOO:event_clock_new", &wait, &getter, &to_usec, &on_failure))
    return NULL;
  if (!ensure_apis ())
    return NULL;
  if (!PyCallable_Check (getter) || !PyCallable_Check (to_usec) ||
      (on_failure != Py_None && !PyCallable_Check (on_failure)))
    return PyErr_Format (PyExc_TypeError, "event_clock_new(): ts_getter and to_usec must be "
                         "callable and on_failure callable or None");
  clock = flow_event_clock_new (wait, timestamp_cb, function_new (getter, to_usec, on_failure),
                                function_free, &error);
  if (clock == NULL)
    {
      /* As the flow package gives the constructors' bad-argument errors. */
      if (g_error_matches (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT))
        return PyErr_Format (PyExc_ValueError, "%s", error->message);
      return PyErr_Format (PyExc_RuntimeError, "%s", error->message);
    }
  result = pygobject_new (G_OBJECT (clock));
  g_object_unref (clock);
  return result;
}

/* ------------------------------------------------------------------------
 * The window operators
 * ------------------------------------------------------------------------ */

/* The GObject of @obj if it is a PyGObject of @type; NULL with TypeError
 * otherwise. */
static gpointer
object_of (PyObject   *obj,
           GType       type,
           const char *what)
{
  if (!PyObject_TypeCheck (obj, &PyGObject_Type) ||
      !G_TYPE_CHECK_INSTANCE_TYPE (pygobject_get (obj), type))
    {
      PyErr_Format (PyExc_TypeError, "%s must be a %s, not %.200s", what, g_type_name (type),
                    Py_TYPE (obj)->tp_name);
      return NULL;
    }
  return pygobject_get (obj);
}

static PyObject *
wrap_window_out (FlowWindowOut *out)
{
  PyObject *result;

  if (out == NULL)
    Py_RETURN_NONE;   /* as through GI (the error is the dataflow's) */
  result = pygobject_new (G_OBJECT (out));
  g_object_unref (out);
  return result;
}

/* window_count(stream, step_id, clock, windower, key) */
static PyObject *
native_window_count (PyObject *self,
                     PyObject *args)
{
  PyObject *stream_obj, *clock_obj, *windower_obj, *key;
  const char *step_id;
  FlowStream *stream;
  FlowWindowClock *clock;
  FlowWindower *windower;

  if (!PyArg_ParseTuple (args, "OsOOO:window_count", &stream_obj, &step_id, &clock_obj,
                         &windower_obj, &key))
    return NULL;
  if (!ensure_apis ())
    return NULL;
  if ((stream = object_of (stream_obj, FLOW_TYPE_STREAM, "the stream")) == NULL ||
      (clock = object_of (clock_obj, FLOW_TYPE_WINDOW_CLOCK, "the clock")) == NULL ||
      (windower = object_of (windower_obj, FLOW_TYPE_WINDOWER, "the windower")) == NULL)
    return NULL;
  if (!PyCallable_Check (key))
    return PyErr_Format (PyExc_TypeError, "key must be callable, not %.200s", Py_TYPE (key)->tp_name);
  if (flow_stream_get_dataflow (stream) == NULL)
    {
      PyErr_SetString (PyExc_ValueError, "the dataflow of this stream was finalized");
      return NULL;
    }
  return wrap_window_out (flow_stream_count_window (stream, step_id, clock, windower,
                                                    key_ops.key_func, key_ops.data_new (key),
                                                    key_ops.data_free));
}

/* ------------------------------------------------------------------------
 * The meta stream: Python's WindowMetadata only for a reader
 * ------------------------------------------------------------------------ */

/* The flow package turns each closed window's `(id, (open, close,
 * merged))` into `(id, WindowMetadata)` (to_meta), and carrying a
 * WindowMetadata costs a pickle and a repr. When no step reads the meta
 * stream (what most flows do: they read `down`), those values go nowhere,
 * so the map passes them on unconverted instead: nothing can see the
 * difference. Whether a step reads it is looked up in the dataflow's
 * graph (flow_dataflow_describe()), again whenever the number of steps
 * changed (steps are never removed). */
typedef struct
{
  PyObject *to_meta;
  GWeakRef  flow;        /* FlowDataflow */
  char     *stream_id;   /* of the map's output: "<step full id>.down" */
  GMutex    lock;        /* workers call the map from their threads */
  guint     n_steps;     /* when `read` was found (0: not yet) */
  gboolean  read;
} MetaMap;

static void
meta_map_free (gpointer data)
{
  MetaMap *m = data;

  if (Py_IsInitialized ())
    {
      PyGILState_STATE gil = PyGILState_Ensure ();
      Py_CLEAR (m->to_meta);
      PyGILState_Release (gil);
    }
  g_weak_ref_clear (&m->flow);
  g_mutex_clear (&m->lock);
  g_free (m->stream_id);
  g_free (m);
}

/* Whether a step of @flow (that runs) takes @stream_id as an input. */
static gboolean
stream_is_read (FlowDataflow *flow,
                const char   *stream_id)
{
  g_autoptr(GVariant) description = flow_dataflow_describe (flow);
  g_autoptr(GVariant) steps = g_variant_lookup_value (description, "steps", G_VARIANT_TYPE ("aa{sv}"));
  GVariantIter iter;
  GVariant *step;

  if (steps == NULL)
    return TRUE;   /* cannot tell: convert */
  g_variant_iter_init (&iter, steps);
  while ((step = g_variant_iter_next_value (&iter)))
    {
      g_autoptr(GVariant) owned = step;
      g_autoptr(GVariant) inputs = g_variant_lookup_value (step, "inputs", G_VARIANT_TYPE ("a(ssas)"));
      gboolean core = TRUE;
      GVariantIter ports;
      g_autofree const char **streams = NULL;

      g_variant_lookup (step, "core", "b", &core);
      if (!core || inputs == NULL)
        continue;
      g_variant_iter_init (&ports, inputs);
      while (g_variant_iter_next (&ports, "(&s&s^a&s)", NULL, NULL, &streams))
        {
          gboolean found = g_strv_contains (streams, stream_id);

          g_clear_pointer (&streams, g_free);
          if (found)
            return TRUE;
        }
    }
  return FALSE;
}

static gboolean
meta_is_read (MetaMap *m)
{
  g_autoptr(FlowDataflow) flow = g_weak_ref_get (&m->flow);
  g_auto(GStrv) steps = NULL;
  guint n;
  gboolean read;

  if (flow == NULL)
    return TRUE;
  steps = flow_dataflow_list_steps (flow);
  n = g_strv_length (steps);
  g_mutex_lock (&m->lock);
  if (m->n_steps != n)
    {
      m->read = stream_is_read (flow, m->stream_id);
      m->n_steps = n;
    }
  read = m->read;
  g_mutex_unlock (&m->lock);
  return read;
}

static GVariant *
meta_cb (GVariant  *value,
         gpointer   user_data,
         GError   **error)
{
  MetaMap *m = user_data;
  PyGILState_STATE gil;
  PyObject *arg, *ret = NULL;
  GVariant *result = NULL;

  if (!meta_is_read (m))
    return g_variant_ref (value);

  gil = PyGILState_Ensure ();
  arg = from_variant (value);
  if (arg != NULL)
    {
      ret = PyObject_CallOneArg (m->to_meta, arg);
      Py_DECREF (arg);
    }
  if (ret != NULL)
    {
      result = to_variant (ret);
      Py_DECREF (ret);
    }
  if (result == NULL)
    fail (error);
  PyGILState_Release (gil);
  return result;
}

/* window_meta(meta_stream, step_id, to_meta) */
static PyObject *
native_window_meta (PyObject *self,
                    PyObject *args)
{
  PyObject *stream_obj, *to_meta;
  const char *step_id;
  FlowStream *stream, *mapped;
  FlowDataflow *flow;
  MetaMap *m;

  if (!PyArg_ParseTuple (args, "OsO:window_meta", &stream_obj, &step_id, &to_meta))
    return NULL;
  if (!ensure_apis ())
    return NULL;
  if ((stream = object_of (stream_obj, FLOW_TYPE_STREAM, "the stream")) == NULL)
    return NULL;
  if (!PyCallable_Check (to_meta))
    return PyErr_Format (PyExc_TypeError, "to_meta must be callable, not %.200s",
                         Py_TYPE (to_meta)->tp_name);
  if ((flow = flow_stream_get_dataflow (stream)) == NULL)
    {
      PyErr_SetString (PyExc_ValueError, "the dataflow of this stream was finalized");
      return NULL;
    }
  m = g_new0 (MetaMap, 1);
  m->to_meta = Py_NewRef (to_meta);
  g_weak_ref_init (&m->flow, flow);
  g_mutex_init (&m->lock);
  mapped = flow_stream_map_value (stream, step_id, meta_cb, m, meta_map_free);
  if (mapped == NULL)
    Py_RETURN_NONE;   /* as through GI (the error is the dataflow's) */
  m->stream_id = g_strconcat (flow_stream_get_step_id (mapped), ".down", NULL);
  return pygobject_new (G_OBJECT (mapped));   /* (transfer none) */
}

PyMethodDef flow_native_window_methods[] = {
  { "event_clock_new", native_event_clock_new, METH_VARARGS,
    "event_clock_new(wait_usec, ts_getter, to_usec, on_failure) -> Flow.EventClock\n\n"
    "An EventClock whose timestamp getter calls ts_getter(item) from C: an aware\n"
    "datetime in timezone.utc is converted in C, anything else by\n"
    "to_usec(value, what); on_failure(exc) (or None) sees each exception raised." },
  { "window_count", native_window_count, METH_VARARGS,
    "window_count(stream, step_id, clock, windower, key) -> Flow.WindowOut\n\n"
    "Flow.Stream.count_window() with a C key function calling key(item)." },
  { "window_meta", native_window_meta, METH_VARARGS,
    "window_meta(meta_stream, step_id, to_meta) -> Flow.Stream\n\n"
    "map_value(to_meta) over a window operator's meta stream, run only when a\n"
    "step reads its output (otherwise the values pass on unconverted)." },
  { NULL, NULL, 0, NULL }
};
