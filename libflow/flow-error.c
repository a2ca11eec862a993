/* flow-error.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "flow-error.h"

G_DEFINE_QUARK (flow-error-quark, flow_error)
