# SPDX-License-Identifier: LGPL-2.1-or-later
"""Operators for the Kafka source and sink, as
:mod:`bytewax.connectors.kafka.operators`.

:func:`input` reads topics into a stream of :class:`KafkaSourceMessage`
and a stream of :class:`KafkaError` (``.oks`` and ``.errs``);
:func:`output` produces messages. ``deserialize*`` turn the bytes of keys
and values into objects (a failure goes to ``.errs``), ``serialize*`` the
other way round (a failure stops the run), with the serializers of
:mod:`flow.connectors.kafka.serde`.
"""

from dataclasses import dataclass

from ... import operators as op
from ..._gi import _override
from ...dataflow import Stream, _check_scopes, _check_step_id, _gi_stream, _wrap
from . import OFFSET_BEGINNING, KafkaSink, KafkaSource
from .message import (
    _KEY_DESERIALIZATION,
    _VALUE_DESERIALIZATION,
    KafkaError,
    KafkaErrorInfo,
    KafkaSinkMessage,
    KafkaSourceMessage,
)

__all__ = [
    "KafkaSourceOut",
    "deserialize",
    "deserialize_key",
    "deserialize_value",
    "input",
    "output",
    "serialize",
    "serialize_key",
    "serialize_value",
]


@dataclass(frozen=True)
class KafkaSourceOut:
    """Two streams: ``oks`` of :class:`KafkaSourceMessage` and ``errs`` of
    :class:`KafkaError`."""

    oks: Stream
    errs: Stream


def _split(step_id, up):
    branch = op.branch(step_id, up, lambda msg: isinstance(msg, KafkaSourceMessage))
    return KafkaSourceOut(branch.trues, branch.falses)


def _split_input(step_id, up):
    """_split of what a KafkaSource emits: on the native path, a branch on
    the items' GVariant type, which converts no item to Python."""
    native = getattr(_override._native, "kafka_split", None)
    if native is None:
        return _split(step_id, up)
    _check_step_id(step_id)
    _check_scopes(up)
    trues, falses = native(_gi_stream(up), step_id)
    return KafkaSourceOut(_wrap(trues, up, "trues"), _wrap(falses, up, "falses"))


def _to_sink(msg):
    if isinstance(msg, KafkaSourceMessage):
        return msg.to_sink()
    return msg


def input(step_id, flow, *, brokers, topics, tail=True,  # noqa: A001
          starting_offset=OFFSET_BEGINNING, add_config=None, batch_size=1000):
    """Reads ``topics``: returns a :class:`KafkaSourceOut` whose ``oks``
    are the messages and ``errs`` the errors of the broker (the run goes
    on). Arguments as :class:`flow.connectors.kafka.KafkaSource`.

    Its steps are ``step_id`` (the input) and ``step_id + "_split"``.
    """
    source = KafkaSource(brokers, topics, tail, starting_offset, add_config, batch_size,
                         raise_on_errors=False)
    return _split_input(step_id + "_split", op.input(step_id, flow, source))


def output(step_id, up, *, brokers, topic, add_config=None, transactional_id=None):
    """Produces the :class:`KafkaSinkMessage` (or
    :class:`KafkaSourceMessage`) items of ``up`` to ``topic``. Arguments as
    :class:`flow.connectors.kafka.KafkaSink`."""
    msgs = op.map(step_id + "_to_sink", up, _to_sink)
    op.output(step_id, msgs, KafkaSink(brokers, topic, add_config, transactional_id))


def _deserialize(step_id, up, key_de, value_de):
    def shim(msg):
        key, value = msg.key, msg.value
        if key_de is not None:
            try:
                key = key_de.de(msg.key)
            except Exception as e:  # noqa: BLE001 (the error is the item)
                return KafkaError(KafkaErrorInfo(_KEY_DESERIALIZATION, "_KEY_DESERIALIZATION",
                                                 f"{e}"), msg)
        if value_de is not None:
            try:
                value = value_de.de(msg.value)
            except Exception as e:  # noqa: BLE001
                return KafkaError(KafkaErrorInfo(_VALUE_DESERIALIZATION,
                                                 "_VALUE_DESERIALIZATION", f"{e}"), msg)
        return msg._with_key_and_value(key, value)

    return _split(step_id + "_split", op.map(step_id, up, shim))


def deserialize_key(step_id, up, deserializer):
    """Deserializes the key of each message: a :class:`KafkaSourceOut`, a
    message whose key fails to deserialize going to ``errs``."""
    return _deserialize(step_id, up, deserializer, None)


def deserialize_value(step_id, up, deserializer):
    """Deserializes the value of each message, as :func:`deserialize_key`."""
    return _deserialize(step_id, up, None, deserializer)


def deserialize(step_id, up, *, key_deserializer, val_deserializer):
    """Deserializes keys and values: a message goes to ``errs`` if either
    fails (unchanged)."""
    return _deserialize(step_id, up, key_deserializer, val_deserializer)


def _serialize(step_id, up, key_ser, value_ser):
    def shim(msg):
        msg = _to_sink(msg)
        key = msg.key if key_ser is None else key_ser.ser(msg.key)
        value = msg.value if value_ser is None else value_ser.ser(msg.value)
        return msg._with_key_and_value(key, value)

    return op.map(step_id, up, shim)


def serialize_key(step_id, up, serializer):
    """Serializes the key of each message (a :class:`KafkaSourceMessage`
    becomes a :class:`KafkaSinkMessage`); a failure stops the run."""
    return _serialize(step_id, up, serializer, None)


def serialize_value(step_id, up, serializer):
    """Serializes the value of each message, as :func:`serialize_key`."""
    return _serialize(step_id, up, None, serializer)


def serialize(step_id, up, *, key_serializer, val_serializer):
    """Serializes keys and values, as :func:`serialize_key`."""
    return _serialize(step_id, up, key_serializer, val_serializer)


