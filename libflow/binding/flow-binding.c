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
 * this is rarely needed. Outside GJS nothing of this is active.
 */

#include "config.h"

#include <dlfcn.h>
#include <string.h>

#include "flow-private.h"

__thread gboolean flow_binding_blocked;
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

gboolean
flow_binding_retry (guint *tries)
{
  gpointer context;

  flow_binding_blocked = FALSE;
  if (++*tries > MAX_RETRIES || !gjs_loaded ())
    return FALSE;

  context = gjs_get_current ();
  if (context == NULL)
    return FALSE;
  gjs_gc (context);
  return TRUE;
}
