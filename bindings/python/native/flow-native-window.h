/* flow-native-window.h: the native fast path of the window operators and
 * of EventClock's timestamp getter
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <glib.h>

/* The module's conversions (full references / new references) and its
 * way of failing a callback with the raised Python exception. */
typedef GVariant *(*FlowNativeWindowToVariant)   (PyObject *obj);
typedef PyObject *(*FlowNativeWindowFromVariant) (GVariant *v);
typedef void      (*FlowNativeWindowFail)        (GError **error);

/* key_on's key callback of the module (the same rules and errors for
 * count_window's key), its data made from a Python callable, and the
 * data's destroy function. */
typedef struct
{
  char    *(*key_func) (GVariant *item, gpointer user_data, GError **error);
  gpointer (*data_new) (PyObject *fn);
  GDestroyNotify data_free;
} FlowNativeWindowKey;

/* Called once, with the GIL held, before the functions below are used. */
void flow_native_window_init (FlowNativeWindowToVariant   to_variant,
                              FlowNativeWindowFromVariant from_variant,
                              FlowNativeWindowFail        fail,
                              const FlowNativeWindowKey  *key);

/* event_clock_new(), window_count(): added to the module with
 * PyModule_AddFunctions(). */
extern PyMethodDef flow_native_window_methods[];
