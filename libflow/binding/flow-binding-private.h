/* flow-binding-private.h: support for language bindings (see flow-binding.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every call from libflow into code a binding may have written goes
 * through here: the functions given to operators (guarded once, when the
 * step is added) and the virtual methods of sources and sinks (through one
 * invoker per shape). What is done about a binding's quirks (today: GJS
 * 1.74 refusing calls during garbage collection) is flow-binding.c's
 * business alone.
 */

#pragma once

#include "flow.h"
#include "flow-graph-private.h"

G_BEGIN_DECLS

/* Brackets a run: the binding's watch is on in between. */
void     flow_binding_begin_run (void);
void     flow_binding_end_run   (void);

/* Whether every call into the binding must be made on the caller's thread
 * (GJS: one JS context): several workers then share that thread. */
gboolean flow_binding_needs_caller_thread (void);

/* The shapes of the functions given to operators. */
typedef enum
{
  FLOW_BINDING_SHAPE_NONE,
  FLOW_BINDING_SHAPE_ITEM_TO_VARIANT,  /* MapFunc, FilterMapFunc, FlatMapFunc */
  FLOW_BINDING_SHAPE_ITEM_TO_BOOLEAN,  /* PredicateFunc */
  FLOW_BINDING_SHAPE_ITEM_TO_STRING,   /* KeyFunc */
  FLOW_BINDING_SHAPE_INSPECT,          /* InspectFunc */
  FLOW_BINDING_SHAPE_INSPECT_DEBUG,    /* InspectDebugFunc */
  FLOW_BINDING_SHAPE_BUILDER,          /* BuilderFunc */
  FLOW_BINDING_SHAPE_STATEFUL,         /* StatefulMapFunc, StatefulFlatMapFunc */
  FLOW_BINDING_SHAPE_LOGIC_BUILDER,    /* StatefulLogicBuilder, StatefulBatchLogicBuilder */
  FLOW_BINDING_SHAPE_FOLD,             /* FoldFunc */
  FLOW_BINDING_SHAPE_ENRICH,           /* EnrichFunc (flow-join.h) */
} FlowBindingShape;

/* Makes @closure (a function of @shape given to an operator) safe to call
 * from the operators as it is. Does nothing outside a binding that needs
 * it, or to a NULL function. */
void     flow_binding_guard_closure (FlowClosure      *closure,
                                     FlowBindingShape  shape);

/* The invokers of virtual methods, one per shape. */
typedef gpointer (*FlowBindingPointerFunc)    (gpointer     self,
                                               GError     **error);
typedef gboolean (*FlowBindingBooleanFunc)    (gpointer     self,
                                               GError     **error);
typedef gint64   (*FlowBindingInt64Func)      (gpointer     self);
typedef gboolean (*FlowBindingBooleanArgFunc) (gpointer     self,
                                               gpointer     arg,
                                               GError     **error);
typedef gpointer (*FlowBindingBuildFunc)      (gpointer     self,
                                               const char  *step_id,
                                               const char  *part_key,
                                               GVariant    *resume_state,
                                               GError     **error);

/* issue 9: dynamic sources and sinks, one partition per worker */
typedef gpointer (*FlowBindingBuildWorkerFunc) (gpointer     self,
                                                const char  *step_id,
                                                guint        worker_index,
                                                guint        worker_count,
                                                GError     **error);

/* stateful logics: on_item (self, value, &discard, error) and the like */
typedef gpointer (*FlowBindingLogicFunc)      (gpointer     self,
                                               gpointer     arg,
                                               gboolean    *flag,
                                               GError     **error);

gpointer flow_binding_invoke_logic       (FlowBindingLogicFunc       vfunc,
                                          gpointer                   self,
                                          gpointer                   arg,
                                          gboolean                  *flag,
                                          GError                   **error);
gpointer flow_binding_invoke_pointer     (FlowBindingPointerFunc     vfunc,
                                          gpointer                   self,
                                          GError                   **error);
gboolean flow_binding_invoke_boolean     (FlowBindingBooleanFunc     vfunc,
                                          gpointer                   self,
                                          GError                   **error);
gint64   flow_binding_invoke_int64       (FlowBindingInt64Func       vfunc,
                                          gpointer                   self);
gboolean flow_binding_invoke_boolean_arg (FlowBindingBooleanArgFunc  vfunc,
                                          gpointer                   self,
                                          gpointer                   arg,
                                          GError                   **error);
/* (window operators: FlowWindowLogic's on_value, on_merge) */
typedef gpointer (*FlowBindingPointerArgFunc) (gpointer     self,
                                               gpointer     arg,
                                               GError     **error);
gpointer flow_binding_invoke_pointer_arg (FlowBindingPointerArgFunc  vfunc,
                                          gpointer                   self,
                                          gpointer                   arg,
                                          GError                   **error);
typedef gboolean (*FlowBindingBooleanUint64Func) (gpointer     self,
                                                  guint64      arg,
                                                  GError     **error);
gboolean flow_binding_invoke_boolean_uint64 (FlowBindingBooleanUint64Func vfunc,
                                             gpointer                     self,
                                             guint64                      arg,
                                             GError                     **error);

gpointer flow_binding_invoke_build       (FlowBindingBuildFunc       vfunc,
                                          gpointer                   self,
                                          const char                *step_id,
                                          const char                *part_key,
                                          GVariant                  *resume_state,
                                          GError                   **error);
gpointer flow_binding_invoke_build_worker (FlowBindingBuildWorkerFunc vfunc,
                                           gpointer                   self,
                                           const char                *step_id,
                                           guint                      worker_index,
                                           guint                      worker_count,
                                           GError                   **error);

G_END_DECLS
