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

/* Called once, with the GIL held, before the functions below are used. */
void flow_native_window_init (FlowNativeWindowToVariant   to_variant,
                              FlowNativeWindowFromVariant from_variant,
                              FlowNativeWindowFail        fail);

/* event_clock_new(), window_count(): added to the module with
 * PyModule_AddFunctions(). */
extern PyMethodDef flow_native_window_methods[];
