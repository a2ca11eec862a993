# SPDX-License-Identifier: LGPL-2.1-or-later
"""The messages of :mod:`flow.connectors.kafka`, as Bytewax's."""

from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple

__all__ = ["KafkaError", "KafkaErrorInfo", "KafkaSinkMessage", "KafkaSourceMessage"]

# confluent_kafka's timestamp types (KafkaSourceMessage.timestamp[0]).
TIMESTAMP_NOT_AVAILABLE = 0
TIMESTAMP_CREATE_TIME = 1


@dataclass(frozen=True, repr=False)
class KafkaSourceMessage:
    """A message read from Kafka, with its metadata.

    ``key`` and ``value`` are ``bytes`` (or ``None``) as read, or what a
    deserializer made of them; ``headers`` is a list of ``(name, value)``
    pairs; ``timestamp`` is ``(type, milliseconds since the epoch)`` as in
    confluent_kafka (type 0 when the message has none, 1 otherwise);
    ``latency`` is always ``None`` (librdkafka does not report it here).
    """

    key: Any
    value: Any

    topic: Optional[str] = field(default=None)
    headers: List[Tuple[str, bytes]] = field(default_factory=list)
    latency: Optional[float] = field(default=None)
    offset: Optional[int] = field(default=None)
    partition: Optional[int] = field(default=None)
    timestamp: Optional[Tuple[int, int]] = field(default=None)

    def __repr__(self):
        # As the dataclass's, without its guard against recursion (messages
        # are reprs'd each time they cross a step; this is twice as fast).
        return (f"KafkaSourceMessage(key={self.key!r}, value={self.value!r}, "
                f"topic={self.topic!r}, headers={self.headers!r}, latency={self.latency!r}, "
                f"offset={self.offset!r}, partition={self.partition!r}, "
                f"timestamp={self.timestamp!r})")

    def to_sink(self):
        """This message as a :class:`KafkaSinkMessage`: its key, value and
        headers (not its topic, partition or timestamp)."""
        return KafkaSinkMessage(key=self.key, value=self.value, headers=self.headers)

    def _with_key(self, key):
        return KafkaSourceMessage(key, self.value, self.topic, self.headers, self.latency,
                                  self.offset, self.partition, self.timestamp)

    def _with_value(self, value):
        return KafkaSourceMessage(self.key, value, self.topic, self.headers, self.latency,
                                  self.offset, self.partition, self.timestamp)

    def _with_key_and_value(self, key, value):
        return KafkaSourceMessage(key, value, self.topic, self.headers, self.latency,
                                  self.offset, self.partition, self.timestamp)


@dataclass(frozen=True)
class KafkaSinkMessage:
    """A message to produce to Kafka.

    ``key`` and ``value`` must be ``bytes``, ``str`` (written as UTF-8) or
    ``None`` when they reach the sink (serialize them first). ``topic``
    overrides the sink's topic; ``partition`` (``None``: chosen from the
    key) the partition; ``timestamp`` is in milliseconds since the epoch (0:
    the time of producing).
    """

    key: Any
    value: Any

    topic: Optional[str] = None
    headers: List[Tuple[str, bytes]] = field(default_factory=list)
    partition: Optional[int] = None
    timestamp: int = 0

    def _with_key(self, key):
        return KafkaSinkMessage(key, self.value, self.topic, self.headers, self.partition,
                                self.timestamp)

    def _with_value(self, value):
        return KafkaSinkMessage(self.key, value, self.topic, self.headers, self.partition,
                                self.timestamp)

    def _with_key_and_value(self, key, value):
        return KafkaSinkMessage(key, value, self.topic, self.headers, self.partition,
                                self.timestamp)


@dataclass(frozen=True)
class KafkaErrorInfo:
    """What went wrong, with the methods of ``confluent_kafka.KafkaError``
    that matter: :meth:`code`, :meth:`name` and :meth:`str`."""

    _code: int
    _name: str
    _reason: str

    def code(self):
        """The librdkafka error code (``rd_kafka_resp_err_t``)."""
        return self._code

    def name(self):
        """The name of the code, such as ``"_AUTO_OFFSET_RESET"``."""
        return self._name

    def str(self):  # noqa: A003
        """A human-readable description."""
        return self._reason

    def __str__(self):
        return f"{self._reason} ({self._name})"


# Codes of errors raised by the flow package itself (confluent_kafka's).
_KEY_DESERIALIZATION = -160
_VALUE_DESERIALIZATION = -159


@dataclass(frozen=True)
class KafkaError:
    """An error in a stream of Kafka messages: ``err`` (a
    :class:`KafkaErrorInfo`) and ``msg``, the :class:`KafkaSourceMessage`
    concerned (for an error of the broker, one with only its topic,
    partition and offset)."""

    err: KafkaErrorInfo
    msg: KafkaSourceMessage
