/* flow-version-macros.h: symbol visibility and availability macros
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include <glib.h>

#include "flow-version.h"

#ifndef _FLOW_EXTERN
# define _FLOW_EXTERN __attribute__((visibility("default"))) extern
#endif

#define FLOW_VERSION_1_0 (FLOW_ENCODE_VERSION (1, 0, 0))

#ifdef FLOW_DISABLE_DEPRECATION_WARNINGS
# define FLOW_DEPRECATED _FLOW_EXTERN
# define FLOW_DEPRECATED_FOR(f) _FLOW_EXTERN
# define FLOW_UNAVAILABLE(maj,min) _FLOW_EXTERN
#else
# define FLOW_DEPRECATED G_DEPRECATED _FLOW_EXTERN
# define FLOW_DEPRECATED_FOR(f) G_DEPRECATED_FOR (f) _FLOW_EXTERN
# define FLOW_UNAVAILABLE(maj,min) G_UNAVAILABLE (maj, min) _FLOW_EXTERN
#endif

#define FLOW_AVAILABLE_IN_ALL _FLOW_EXTERN
#define FLOW_AVAILABLE_IN_1_0 _FLOW_EXTERN
