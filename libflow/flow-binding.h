/* flow-binding.h: what a language binding tells libflow
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include <glib.h>

#include "flow-version-macros.h"

G_BEGIN_DECLS

FLOW_AVAILABLE_IN_1_0
void      flow_binding_set_override_loaded (const char *binding);

G_END_DECLS
