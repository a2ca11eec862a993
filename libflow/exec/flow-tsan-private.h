/* flow-tsan-private.h: ThreadSanitizer annotations
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * GLib is not built with ThreadSanitizer, so the synchronisation inside
 * it (GMutex, GAsyncQueue, a GSource attached from another thread) is
 * invisible to it. Where libflow hands data from one thread to another
 * through GLib, the sender marks the object released and the receiver
 * acquired, which is what GLib's lock does. Without -Db_sanitize=thread
 * these are nothing. See tests/tsan.supp.
 */

#pragma once

#if defined(__has_feature)
# if __has_feature(thread_sanitizer)
#  define FLOW_TSAN 1
# endif
#endif
#if defined(__SANITIZE_THREAD__) && !defined(FLOW_TSAN)
# define FLOW_TSAN 1
#endif

#ifdef FLOW_TSAN
# include <sanitizer/tsan_interface.h>
# define flow_tsan_release(p) __tsan_release ((void *) (p))
# define flow_tsan_acquire(p) __tsan_acquire ((void *) (p))
#else
# define flow_tsan_release(p) ((void) (p))
# define flow_tsan_acquire(p) ((void) (p))
#endif
