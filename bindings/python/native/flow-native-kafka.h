/* flow-native-kafka.h: Kafka messages of the flow package as GVariant tuples, in C
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <glib.h>

/* The module's conversions (full references / new references). */
typedef GVariant *(*FlowNativeToVariant) (PyObject *obj);
typedef PyObject *(*FlowNativeFromVariant) (GVariant *v);

void      flow_native_kafka_init         (FlowNativeToVariant   to_variant,
                                          FlowNativeFromVariant from_variant);

/* TRUE when @obj is a registered Kafka message class carried as a tuple:
 * *result is then a full reference, or NULL with a Python exception. */
gboolean  flow_native_kafka_to_variant   (PyObject  *obj,
                                          GVariant **result);
/* TRUE when @v is of one of the Kafka message types: *result is then a new
 * reference, or NULL with a Python exception. */
gboolean  flow_native_kafka_from_variant (GVariant  *v,
                                          PyObject **result);

/* kafka_split(stream, step_id) -> (messages, errors): a branch step on the
 * item type, without converting items to Python. */
PyObject *flow_native_kafka_split        (PyObject  *self,
                                          PyObject  *args);

/* register_kafka(KafkaSourceMessage, KafkaSinkMessage, error_from_tuple) */
PyObject *flow_native_kafka_register     (PyObject  *self,
                                          PyObject  *args);
