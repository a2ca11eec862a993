/* flow-binding.c: calls into language bindings that can be refused
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * GJS 1.74 refuses to run a JS callback while a garbage collection is
 * sweeping: the call returns at once, with a "neutral" result (NULL, 0,
 * FALSE) and no error, and logs "Attempting to run a JS callback during
 * garbage collection". With SpiderMonkey's incremental GC a collection
 * started by allocations in one callback can still be sweeping when the
 * callback returns to C, and since no JS runs while libflow calls back again,
 * it never finishes: every later callback is refused. A filter would keep
 * nothing, a next_batch vfunc would read as the end of input.
 *
 * A refused call ran no JS at all, so calling it again is safe. While a run
 * is in progress in a process that has libgjs loaded, libflow watches the
 * "Gjs" log domain for that message; when a call was refused, it finishes
 * the collection with libgjs's public gjs_context_gc() (looked up with
 * dlsym(), libflow does not link GJS) and makes the call again. The GJS
 * override (bindings/gjs/overrides/Flow.js) also collects often enough that
 * this is rarely needed; it says it is loaded with
 * flow_binding_set_override_loaded(). When a call was refused and the
 * override is not loaded, libflow warns once per process that it should be
 * on GJS's search path. Outside GJS nothing of this is active.
 */

#include "config.h"

#include <dlfcn.h>
#include <string.h>

#include "flow-private.h"

static __thread gboolean flow_binding_blocked;
static __thread gboolean swallow_detail;

typedef gpointer (*GjsGetCurrentFunc) (void);
typedef void     (*GjsGcFunc)         (gpointer context);

static GjsGetCurrentFunc gjs_get_current;
static GjsGcFunc gjs_gc;

G_LOCK_DEFINE_STATIC (handler);
static guint handler_users;
static guint handler_id;

#define GJS_REFUSED "Attempting to run a JS callback during garbage collection"
#define GJS_DETAIL  "The offending callback was "
#define MAX_RETRIES 16

static void
gjs_log_handler (const char     *domain,
                 GLogLevelFlags  level,
                 const char     *message,
                 gpointer        user_data)
{
  if (message != NULL && g_str_has_prefix (message, GJS_REFUSED))
    {
      /* (No logging here: a log call inside a log handler is fatal.) */
      flow_binding_blocked = TRUE;
      swallow_detail = TRUE;
      return;
    }
  if (swallow_detail && message != NULL && g_str_has_prefix (message, GJS_DETAIL))
    {
      swallow_detail = FALSE;
      return;
    }
  swallow_detail = FALSE;
  g_log_default_handler (domain, level, message, user_data);
}

static gboolean
gjs_loaded (void)
{
  static gsize checked = 0;

  if (g_once_init_enter (&checked))
    {
      gjs_get_current = (GjsGetCurrentFunc) dlsym (RTLD_DEFAULT, "gjs_context_get_current");
      gjs_gc = (GjsGcFunc) dlsym (RTLD_DEFAULT, "gjs_context_gc");
      g_once_init_leave (&checked, 1);
    }
  return gjs_get_current != NULL && gjs_gc != NULL;
}

/* Python: the GIL serialises the functions of a flow whatever the number
 * of threads, and a Python exception is kept per thread until run()
 * raises it. Workers on threads would only add GIL hand-overs (several
 * times slower) and lose the exception's thread: with an interpreter in
 * the process, the workers share the caller's thread (docs/workers.md). */
static gboolean
python_loaded (void)
{
  int (*is_initialized) (void) = (int (*) (void)) dlsym (RTLD_DEFAULT, "Py_IsInitialized");

  return is_initialized != NULL && is_initialized ();
}

gboolean
flow_binding_needs_caller_thread (void)
{
  return gjs_loaded () || python_loaded ();
}

void
flow_binding_begin_run (void)
{
  if (!gjs_loaded ())
    return;

  G_LOCK (handler);
  if (handler_users++ == 0)
    handler_id = g_log_set_handler ("Gjs", G_LOG_LEVEL_CRITICAL | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION,
                                    gjs_log_handler, NULL);
  G_UNLOCK (handler);
}

void
flow_binding_end_run (void)
{
  if (!gjs_loaded ())
    return;

  G_LOCK (handler);
  if (handler_users > 0 && --handler_users == 0)
    {
      g_log_remove_handler ("Gjs", handler_id);
      handler_id = 0;
    }
  G_UNLOCK (handler);
}

static gint gjs_override_loaded;

/**
 * flow_binding_set_override_loaded:
 * @binding: the binding's name: `"gjs"`
 *
 * Tells libflow that the override of a language binding for the Flow
 * namespace is loaded. The GJS override (`Flow.js`, installed to
 * `$datadir/gjs-1.0/overrides`) calls it when GJS loads it: without that
 * override, GJS 1.74 refuses some callbacks during garbage collection,
 * which libflow makes again, and it then warns once per process that the
 * override is missing. Applications never need to call it. Names of other
 * bindings are accepted and ignored.
 */
void
flow_binding_set_override_loaded (const char *binding)
{
  g_return_if_fail (binding != NULL);

  if (g_str_equal (binding, "gjs"))
    g_atomic_int_set (&gjs_override_loaded, TRUE);
}

/* Once per process, when GJS refused a call and the override that makes
 * that rare is not loaded. */
static void
warn_no_override (void)
{
  static gint warned;

  if (g_atomic_int_get (&gjs_override_loaded) ||
      !g_atomic_int_compare_and_exchange (&warned, FALSE, TRUE))
    return;
  g_warning ("GJS refused to run a JS callback during garbage collection; "
             "libflow finished the collection and ran it again. The Flow "
             "GJS override makes this rare but is not loaded: it is "
             "installed to " FLOW_GJS_OVERRIDES_DIR ", which must be on "
             "GJS's search path (a $datadir/gjs-1.0/overrides of "
             "XDG_DATA_DIRS, or GJS_PATH set to the directory above it)");
}

static gboolean
flow_binding_retry (guint *tries)
{
  gpointer context;

  flow_binding_blocked = FALSE;
  warn_no_override ();
  if (++*tries > MAX_RETRIES || !gjs_loaded ())
    return FALSE;

  context = gjs_get_current ();
  if (context == NULL)
    return FALSE;
  gjs_gc (context);
  return TRUE;
}

/* Makes a call into user code (a statement, usually an assignment), again
 * if the binding refused it. */
#define FLOW_CALL(stmt)                                                       \
  G_STMT_START {                                                              \
    guint flow_tries_ = 0;                                                    \
    do {                                                                      \
      stmt;                                                                   \
    } while (G_UNLIKELY (flow_binding_blocked) && flow_binding_retry (&flow_tries_)); \
  } G_STMT_END

/* ------------------------------------------------------------------------
 * Functions given to operators
 * ------------------------------------------------------------------------ */

typedef struct
{
  FlowClosure inner;
} Guard;

static void
guard_free (gpointer data)
{
  Guard *guard = data;

  if (guard->inner.destroy != NULL && guard->inner.data != NULL)
    guard->inner.destroy (guard->inner.data);
  g_free (guard);
}

static GVariant *
guard_item_to_variant (GVariant  *item,
                       gpointer   data,
                       GError   **error)
{
  Guard *g = data;
  GVariant *result;

  FLOW_CALL (result = ((FlowMapFunc) g->inner.func) (item, g->inner.data, error));
  return result;
}

static gboolean
guard_item_to_boolean (GVariant  *item,
                       gpointer   data,
                       GError   **error)
{
  Guard *g = data;
  gboolean result;

  FLOW_CALL (result = ((FlowPredicateFunc) g->inner.func) (item, g->inner.data, error));
  return result;
}

static char *
guard_item_to_string (GVariant  *item,
                      gpointer   data,
                      GError   **error)
{
  Guard *g = data;
  char *result;

  FLOW_CALL (result = ((FlowKeyFunc) g->inner.func) (item, g->inner.data, error));
  return result;
}

static void
guard_inspect (const char  *step_id,
               GVariant    *item,
               gpointer     data,
               GError     **error)
{
  Guard *g = data;

  FLOW_CALL (((FlowInspectFunc) g->inner.func) (step_id, item, g->inner.data, error));
}

static void
guard_inspect_debug (const char  *step_id,
                     GVariant    *item,
                     guint64      epoch,
                     guint        worker_index,
                     gpointer     data,
                     GError     **error)
{
  Guard *g = data;

  FLOW_CALL (((FlowInspectDebugFunc) g->inner.func) (step_id, item, epoch, worker_index,
                                                     g->inner.data, error));
}

static GVariant *
guard_builder (gpointer   data,
               GError   **error)
{
  Guard *g = data;
  GVariant *result;

  FLOW_CALL (result = ((FlowBuilderFunc) g->inner.func) (g->inner.data, error));
  return result;
}

static GVariant *
guard_stateful (GVariant  *state,
                GVariant  *value,
                GVariant **emit,
                gpointer   data,
                GError   **error)
{
  Guard *g = data;
  GVariant *result;

  FLOW_CALL (result = ((FlowStatefulMapFunc) g->inner.func) (state, value, emit, g->inner.data, error));
  return result;
}

static gpointer
guard_logic_builder (const char  *key,
                     GVariant    *resume_state,
                     gpointer     data,
                     GError     **error)
{
  Guard *g = data;
  gpointer result;

  FLOW_CALL (result = ((FlowStatefulLogicBuilder) g->inner.func) (key, resume_state, g->inner.data, error));
  return result;
}

static GVariant *
guard_fold (GVariant  *acc,
            GVariant  *value,
            gpointer   data,
            GError   **error)
{
  Guard *g = data;
  GVariant *result;

  FLOW_CALL (result = ((FlowFoldFunc) g->inner.func) (acc, value, g->inner.data, error));
  return result;
}

static GVariant *
guard_enrich (FlowTTLCache  *cache,
              GVariant      *item,
              gpointer       data,
              GError       **error)
{
  Guard *g = data;
  GVariant *result;

  FLOW_CALL (result = ((FlowEnrichFunc) g->inner.func) (cache, item, g->inner.data, error));
  return result;
}

void
flow_binding_guard_closure (FlowClosure      *closure,
                            FlowBindingShape  shape)
{
  static const gpointer trampolines[] = {
    [FLOW_BINDING_SHAPE_NONE] = NULL,
    [FLOW_BINDING_SHAPE_ITEM_TO_VARIANT] = guard_item_to_variant,
    [FLOW_BINDING_SHAPE_ITEM_TO_BOOLEAN] = guard_item_to_boolean,
    [FLOW_BINDING_SHAPE_ITEM_TO_STRING] = guard_item_to_string,
    [FLOW_BINDING_SHAPE_INSPECT] = guard_inspect,
    [FLOW_BINDING_SHAPE_INSPECT_DEBUG] = guard_inspect_debug,
    [FLOW_BINDING_SHAPE_BUILDER] = guard_builder,
    [FLOW_BINDING_SHAPE_STATEFUL] = guard_stateful,
    [FLOW_BINDING_SHAPE_LOGIC_BUILDER] = guard_logic_builder,
    [FLOW_BINDING_SHAPE_FOLD] = guard_fold,
    [FLOW_BINDING_SHAPE_ENRICH] = guard_enrich,
  };
  Guard *guard;

  g_return_if_fail (shape < G_N_ELEMENTS (trampolines));

  if (closure->func == NULL || trampolines[shape] == NULL || !gjs_loaded ())
    return;

  guard = g_new (Guard, 1);
  guard->inner = *closure;
  closure->func = trampolines[shape];
  closure->data = guard;
  closure->destroy = guard_free;
}

/* ------------------------------------------------------------------------
 * Virtual methods of sources and sinks
 * ------------------------------------------------------------------------ */

gpointer
flow_binding_invoke_pointer (FlowBindingPointerFunc   vfunc,
                             gpointer                 self,
                             GError                 **error)
{
  gpointer result;

  FLOW_CALL (result = vfunc (self, error));
  return result;
}

gboolean
flow_binding_invoke_boolean (FlowBindingBooleanFunc   vfunc,
                             gpointer                 self,
                             GError                 **error)
{
  gboolean result;

  FLOW_CALL (result = vfunc (self, error));
  return result;
}

gint64
flow_binding_invoke_int64 (FlowBindingInt64Func vfunc,
                           gpointer             self)
{
  gint64 result;

  FLOW_CALL (result = vfunc (self));
  return result;
}

gboolean
flow_binding_invoke_boolean_arg (FlowBindingBooleanArgFunc   vfunc,
                                 gpointer                    self,
                                 gpointer                    arg,
                                 GError                    **error)
{
  gboolean result;

  FLOW_CALL (result = vfunc (self, arg, error));
  return result;
}

gboolean
flow_binding_invoke_boolean_uint64 (FlowBindingBooleanUint64Func   vfunc,
                                    gpointer                       self,
                                    guint64                        arg,
                                    GError                       **error)
{
  gboolean result;

  FLOW_CALL (result = vfunc (self, arg, error));
  return result;
}

gpointer
flow_binding_invoke_pointer_arg (FlowBindingPointerArgFunc   vfunc,
                                 gpointer                    self,
                                 gpointer                    arg,
                                 GError                    **error)
{
  gpointer result;

  FLOW_CALL (result = vfunc (self, arg, error));
  return result;
}

gpointer
flow_binding_invoke_build (FlowBindingBuildFunc   vfunc,
                           gpointer               self,
                           const char            *step_id,
                           const char            *part_key,
                           GVariant              *resume_state,
                           GError               **error)
{
  gpointer result;

  FLOW_CALL (result = vfunc (self, step_id, part_key, resume_state, error));
  return result;
}

gpointer
flow_binding_invoke_build_worker (FlowBindingBuildWorkerFunc   vfunc,
                                  gpointer                     self,
                                  const char                  *step_id,
                                  guint                        worker_index,
                                  guint                        worker_count,
                                  GError                     **error)
{
  gpointer result;

  FLOW_CALL (result = vfunc (self, step_id, worker_index, worker_count, error));
  return result;
}

gpointer
flow_binding_invoke_logic (FlowBindingLogicFunc   vfunc,
                           gpointer               self,
                           gpointer               arg,
                           gboolean              *flag,
                           GError               **error)
{
  gpointer result;

  FLOW_CALL (result = vfunc (self, arg, flag, error));
  return result;
}
