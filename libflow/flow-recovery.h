/* flow-recovery.h: recovery partitions
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
gboolean flow_recovery_init_dir (const char  *directory,
                                 guint        n_partitions,
                                 GError     **error);

G_END_DECLS
