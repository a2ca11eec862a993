# SPDX-License-Identifier: LGPL-2.1-or-later
"""Serializers and deserializers for Kafka keys and values.

As Bytewax's ``SchemaSerializer`` / ``SchemaDeserializer``: an object with
``ser(obj) -> bytes`` or ``de(data) -> obj``. The plain ones here convert
``bytes``, ``str`` (UTF-8) and JSON. Avro and schema registries may come
later.
"""

import abc
import json

__all__ = [
    "BytesDeserializer",
    "BytesSerializer",
    "JsonDeserializer",
    "JsonSerializer",
    "SchemaDeserializer",
    "SchemaSerializer",
    "StrDeserializer",
    "StrSerializer",
]


class SchemaSerializer(abc.ABC):
    """Turns an object into the bytes of a key or value."""

    @abc.abstractmethod
    def ser(self, obj):
        """Returns ``obj`` as ``bytes``."""


class SchemaDeserializer(abc.ABC):
    """Turns the bytes of a key or value into an object."""

    @abc.abstractmethod
    def de(self, data):
        """Returns the object ``data`` (``bytes``) holds."""


class BytesSerializer(SchemaSerializer):
    """Bytes as they are (``None`` stays ``None``)."""

    def ser(self, obj):
        if obj is None or isinstance(obj, bytes):
            return obj
        if isinstance(obj, (bytearray, memoryview)):
            return bytes(obj)
        raise TypeError(f"BytesSerializer serializes bytes, not {type(obj).__qualname__}")


class BytesDeserializer(SchemaDeserializer):
    """Bytes as they are."""

    def de(self, data):
        return data


class StrSerializer(SchemaSerializer):
    """A ``str`` as UTF-8 (``None`` stays ``None``)."""

    def ser(self, obj):
        if obj is None:
            return None
        if not isinstance(obj, str):
            raise TypeError(f"StrSerializer serializes str, not {type(obj).__qualname__}")
        return obj.encode("utf-8")


class StrDeserializer(SchemaDeserializer):
    """UTF-8 bytes as a ``str`` (``None`` stays ``None``)."""

    def de(self, data):
        return None if data is None else bytes(data).decode("utf-8")


class JsonSerializer(SchemaSerializer):
    """Any JSON-serializable object as UTF-8 JSON."""

    def ser(self, obj):
        return json.dumps(obj, separators=(",", ":")).encode("utf-8")


class JsonDeserializer(SchemaDeserializer):
    """UTF-8 JSON as the object it holds (``None`` stays ``None``)."""

    def de(self, data):
        return None if data is None else json.loads(bytes(data).decode("utf-8"))
