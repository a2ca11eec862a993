/* flow-types.h: forward declarations and the function types of operators
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(FLOW_INSIDE) && !defined(FLOW_COMPILATION)
#error "Only <flow.h> can be included directly."
#endif

#include <glib-object.h>

#include "flow-version-macros.h"

G_BEGIN_DECLS

typedef struct _FlowDataflow FlowDataflow;
typedef struct _FlowStream FlowStream;
typedef struct _FlowSource FlowSource;
typedef struct _FlowSourcePartition FlowSourcePartition;
typedef struct _FlowSink FlowSink;
typedef struct _FlowSinkPartition FlowSinkPartition;
typedef struct _FlowRunner FlowRunner;

/**
 * FlowMapFunc:
 * @item: the item (or, for the `*_value` operators, the value of a keyed item)
 * @user_data: (closure): the data given with the function
 * @error: return location for a #GError
 *
 * Maps one item to one item. Used by [method@Flow.Stream.map],
 * [method@Flow.Stream.map_value] and as the `by` function of
 * [method@Flow.Stream.max_final] and [method@Flow.Stream.min_final].
 *
 * Returns: (transfer full): the new item, or %NULL with @error set on failure
 */
typedef GVariant *(*FlowMapFunc) (GVariant  *item,
                                  gpointer   user_data,
                                  GError   **error);

/**
 * FlowFilterMapFunc:
 * @item: the item (or the value of a keyed item)
 * @user_data: (closure): the data given with the function
 * @error: return location for a #GError
 *
 * Maps one item to zero or one item. Used by [method@Flow.Stream.filter_map].
 *
 * Returns: (transfer full) (nullable): the new item, or %NULL to drop the
 *   item (set @error to fail instead)
 */
typedef GVariant *(*FlowFilterMapFunc) (GVariant  *item,
                                        gpointer   user_data,
                                        GError   **error);

/**
 * FlowPredicateFunc:
 * @item: the item (or the value of a keyed item)
 * @user_data: (closure): the data given with the function
 * @error: return location for a #GError
 *
 * Decides whether an item is kept ([method@Flow.Stream.filter],
 * [method@Flow.Stream.filter_value]) or which way it goes
 * ([method@Flow.Stream.branch]).
 *
 * Returns: %TRUE to keep the item (or send it to the `trues` stream);
 *   %FALSE, with @error set on failure
 */
typedef gboolean (*FlowPredicateFunc) (GVariant  *item,
                                       gpointer   user_data,
                                       GError   **error);

/**
 * FlowFlatMapFunc:
 * @item: the item (or the value of a keyed item)
 * @user_data: (closure): the data given with the function
 * @error: return location for a #GError
 *
 * Maps one item to any number of items. Used by
 * [method@Flow.Stream.flat_map] and [method@Flow.Stream.flat_map_value],
 * and by [method@Flow.Stream.flat_map_batch], whose @item is an `av` array
 * of the items of a batch.
 *
 * The items are returned as one array #GVariant: each of its elements is
 * one item, and elements of an `av` array are unboxed.
 *
 * Returns: (transfer full) (nullable): an array of items, or %NULL for none
 *   (set @error to fail instead)
 */
typedef GVariant *(*FlowFlatMapFunc) (GVariant  *item,
                                      gpointer   user_data,
                                      GError   **error);

/**
 * FlowKeyFunc:
 * @item: the item
 * @user_data: (closure): the data given with the function
 * @error: return location for a #GError
 *
 * Computes the key of an item. Used by [method@Flow.Stream.key_on] and
 * [method@Flow.Stream.count_final].
 *
 * Returns: (transfer full): the key, or %NULL with @error set on failure
 */
typedef char *(*FlowKeyFunc) (GVariant  *item,
                              gpointer   user_data,
                              GError   **error);

/**
 * FlowInspectFunc:
 * @step_id: the full id of the inspecting step
 * @item: the item
 * @user_data: (closure): the data given with the function
 * @error: return location for a #GError
 *
 * Looks at an item without changing it. Used by [method@Flow.Stream.inspect].
 * Set @error (throw, in a binding) to stop the run.
 */
typedef void (*FlowInspectFunc) (const char  *step_id,
                                 GVariant    *item,
                                 gpointer     user_data,
                                 GError     **error);

/**
 * FlowInspectDebugFunc:
 * @step_id: the full id of the inspecting step
 * @item: the item
 * @epoch: the epoch the item is processed in
 * @worker_index: the index of the worker processing the item (0 while a
 *   run has one worker)
 * @user_data: (closure): the data given with the function
 * @error: return location for a #GError
 *
 * Looks at an item without changing it, and at where it is in the
 * execution. Used by [method@Flow.Stream.inspect_debug]. Set @error (throw,
 * in a binding) to stop the run.
 */
typedef void (*FlowInspectDebugFunc) (const char  *step_id,
                                      GVariant    *item,
                                      guint64      epoch,
                                      guint        worker_index,
                                      gpointer     user_data,
                                      GError     **error);

/**
 * FlowBuilderFunc:
 * @user_data: (closure): the data given with the function
 * @error: return location for a #GError
 *
 * Builds the initial state or accumulator for a key seen for the first time.
 * Used by [method@Flow.Stream.stateful_map],
 * [method@Flow.Stream.stateful_flat_map] and [method@Flow.Stream.fold_final].
 *
 * Returns: (transfer full): the initial state, or %NULL with @error set on
 *   failure
 */
typedef GVariant *(*FlowBuilderFunc) (gpointer   user_data,
                                      GError   **error);

/**
 * FlowStatefulMapFunc:
 * @state: (nullable): the state of the key, %NULL if the key has none (and
 *   the operator has no builder)
 * @value: the value of the keyed item
 * @emit: (out) (transfer full) (optional) (nullable): return location for
 *   the value to emit downstream (with the same key), or %NULL to emit
 *   nothing
 * @user_data: (closure): the data given with the function
 * @error: return location for a #GError
 *
 * Updates the state of a key with a value and says what to emit. Used by
 * [method@Flow.Stream.stateful_map]. In Python the function returns the
 * tuple `(new_state, emit)`, in JavaScript the array `[newState, emit]`.
 *
 * Returns: (transfer full) (nullable): the new state, or %NULL to discard
 *   the key's state (set @error to fail instead)
 */
typedef GVariant *(*FlowStatefulMapFunc) (GVariant  *state,
                                          GVariant  *value,
                                          GVariant **emit,
                                          gpointer   user_data,
                                          GError   **error);

/**
 * FlowStatefulFlatMapFunc:
 * @state: (nullable): the state of the key, %NULL if the key has none
 * @value: the value of the keyed item
 * @emit: (out) (transfer full) (optional) (nullable): return location for
 *   an array of values to emit (as for [callback@Flow.FlatMapFunc]), or
 *   %NULL to emit nothing
 * @user_data: (closure): the data given with the function
 * @error: return location for a #GError
 *
 * Like [callback@Flow.StatefulMapFunc], but emits any number of values.
 * Used by [method@Flow.Stream.stateful_flat_map].
 *
 * Returns: (transfer full) (nullable): the new state, or %NULL to discard
 *   the key's state (set @error to fail instead)
 */
typedef GVariant *(*FlowStatefulFlatMapFunc) (GVariant  *state,
                                              GVariant  *value,
                                              GVariant **emit,
                                              gpointer   user_data,
                                              GError   **error);

/**
 * FlowFoldFunc:
 * @accumulator: the accumulator of the key
 * @value: the value of the keyed item
 * @user_data: (closure): the data given with the function
 * @error: return location for a #GError
 *
 * Folds a value into an accumulator. Used by [method@Flow.Stream.fold_final]
 * and [method@Flow.Stream.reduce_final].
 *
 * Returns: (transfer full): the new accumulator, or %NULL with @error set on
 *   failure
 */
typedef GVariant *(*FlowFoldFunc) (GVariant  *accumulator,
                                   GVariant  *value,
                                   gpointer   user_data,
                                   GError   **error);

G_END_DECLS
