/* flow-error.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "flow-error.h"

/**
 * flow_error_quark:
 *
 * Gets the error domain of libflow, %FLOW_ERROR, whose codes are the
 * [error@Flow.Error] enumeration.
 *
 * Returns: the quark of the libflow error domain
 */
G_DEFINE_QUARK (flow-error-quark, flow_error)
