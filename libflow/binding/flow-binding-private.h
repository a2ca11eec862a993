/* flow-binding-private.h: support for language bindings (see flow-binding.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "flow.h"

G_BEGIN_DECLS

/* flow-binding.c: a call into a binding that the binding refused (GJS
 * during garbage collection) is made again; see the file for why. */
extern __thread gboolean flow_binding_blocked;
void     flow_binding_begin_run (void);
void     flow_binding_end_run   (void);
gboolean flow_binding_retry     (guint *tries);

/* Makes a call into user code (a statement, usually an assignment), again
 * if a binding refused it. */
#define FLOW_CALL(stmt)                                                       \
  G_STMT_START {                                                              \
    guint flow_tries_ = 0;                                                    \
    do {                                                                      \
      stmt;                                                                   \
    } while (G_UNLIKELY (flow_binding_blocked) && flow_binding_retry (&flow_tries_)); \
  } G_STMT_END

G_END_DECLS
