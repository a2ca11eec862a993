# SPDX-License-Identifier: LGPL-2.1-or-later
"""Connectors for `Kafka <https://kafka.apache.org>`_, as
:mod:`bytewax.connectors.kafka`.

They run on libflow's C connectors (``Flow.KafkaSource``,
``Flow.KafkaSink``, on librdkafka), so they need a libflow built with its
``kafka`` option; nothing else (no confluent_kafka) is needed.

- :class:`KafkaSource` reads every partition of some topics; each
  partition's offset is its snapshot, so a resumed run goes on after the
  last message of the last committed epoch. It emits
  :class:`KafkaSourceMessage` items, and :class:`KafkaError` items for
  errors of the broker when ``raise_on_errors=False``.
- :class:`KafkaSink` produces :class:`KafkaSinkMessage` items (or
  ``(key, value)`` pairs) and waits for the brokers to acknowledge every
  message of an epoch before the epoch commits: at-least-once.

:mod:`flow.connectors.kafka.operators` has Bytewax's ``input``,
``output``, ``deserialize*`` and ``serialize*`` operators;
:mod:`flow.connectors.kafka.serde` plain (bytes, str, JSON) serializers.
"""

from ..._gi import Flow, GLib
from ...inputs import Source
from ...outputs import Sink
from .message import (
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_NOT_AVAILABLE,
    KafkaError,
    KafkaErrorInfo,
    KafkaSinkMessage,
    KafkaSourceMessage,
)

__all__ = [
    "OFFSET_BEGINNING",
    "OFFSET_END",
    "OFFSET_STORED",
    "KafkaError",
    "KafkaErrorInfo",
    "KafkaSink",
    "KafkaSinkMessage",
    "KafkaSource",
    "KafkaSourceMessage",
]

# confluent_kafka's values, so that Bytewax scripts passing them work.
OFFSET_BEGINNING = -2
OFFSET_END = -1
OFFSET_STORED = -1000

if not hasattr(Flow, "KafkaSource"):
    raise ImportError("this libflow was built without its Kafka connectors "
                      "(meson option kafka; it needs librdkafka)")

_STARTING = {
    OFFSET_BEGINNING: Flow.KafkaStartingOffset.BEGINNING,
    OFFSET_END: Flow.KafkaStartingOffset.END,
    OFFSET_STORED: Flow.KafkaStartingOffset.STORED,
    "beginning": Flow.KafkaStartingOffset.BEGINNING,
    "end": Flow.KafkaStartingOffset.END,
    "stored": Flow.KafkaStartingOffset.STORED,
}


def _brokers(brokers):
    if isinstance(brokers, str):
        raise TypeError("brokers must be an iterable of 'host:port' strings, not a string")
    brokers = list(brokers)
    if not brokers or not all(isinstance(b, str) for b in brokers):
        raise TypeError(f"brokers must be a non-empty list of 'host:port' strings, not {brokers!r}")
    return ",".join(brokers)


def _config(add_config):
    if add_config is None:
        return {}
    return {str(k): str(v) for k, v in dict(add_config).items()}


def _timestamp(us):
    if us < 0:
        return (TIMESTAMP_NOT_AVAILABLE, 0)
    return (TIMESTAMP_CREATE_TIME, us // 1000)


def _to_python(item):
    """A FLOW_KAFKA_MESSAGE_TYPE_STRING or FLOW_KAFKA_ERROR_TYPE_STRING
    item as a KafkaSourceMessage or a KafkaError."""
    if len(item) == 7:
        key, value, topic, partition, offset, ts, headers = item
        return KafkaSourceMessage(key, value, topic, headers, None, offset, partition,
                                  _timestamp(ts))
    topic, partition, offset, code, reason = item
    return KafkaError(KafkaErrorInfo(code, _error_name(code), reason),
                      KafkaSourceMessage(None, None, topic, [], None, offset, partition, None))


def _error_name(code):
    # librdkafka's names for the codes that reach here most.
    names = {-191: "_PARTITION_EOF", -190: "_UNKNOWN_PARTITION", -188: "_UNKNOWN_TOPIC",
             -140: "_AUTO_OFFSET_RESET", 1: "OFFSET_OUT_OF_RANGE",
             3: "UNKNOWN_TOPIC_OR_PART", 10: "MSG_SIZE_TOO_LARGE",
             29: "TOPIC_AUTHORIZATION_FAILED"}
    return names.get(code, f"ERROR_{code}")


class _SourcePartition(Flow.SourcePartition):
    def __init__(self, inner):
        super().__init__()
        self._inner = inner

    def do_next_batch(self):
        batch = self._inner.next_batch()
        if batch is None:
            return None
        return [_to_python(item) for item in Flow.from_variant(batch)]

    def do_next_awake(self):
        return self._inner.next_awake()

    def do_snapshot(self):
        return self._inner.snapshot()

    def do_close(self):
        self._inner.close()


class _Source(Flow.Source):
    def __init__(self, inner):
        super().__init__()
        self._inner = inner

    def do_list_parts(self):
        return self._inner.list_parts()

    def do_build_part(self, step_id, part_key, resume_state):
        return _SourcePartition(self._inner.build_part(step_id, part_key, resume_state))


class KafkaSource(Source):
    """Reads every partition of ``topics`` (one source partition each,
    named ``"PARTITION-TOPIC"``).

    Args:
        brokers: ``host:port`` strings of Kafka brokers.
        topics: the topics to read.
        tail: wait for new messages at the end of a partition (``True``),
            or end there.
        starting_offset: where a partition without a snapshot starts:
            ``OFFSET_BEGINNING`` (default), ``OFFSET_END`` or
            ``OFFSET_STORED`` (the consumer group's committed offset; set
            ``group.id`` in ``add_config``).
        add_config: more librdkafka settings (its ``CONFIGURATION.md``).
        batch_size: the largest number of messages in one batch.
        raise_on_errors: an error of the broker about a partition stops the
            run (``True``) or is emitted as a :class:`KafkaError` item.
    """

    def __init__(self, brokers, topics, tail=True, starting_offset=OFFSET_BEGINNING,
                 add_config=None, batch_size=1000, raise_on_errors=True):
        if isinstance(topics, str):
            raise TypeError("topics must be an iterable of strings, not a string")
        topics = list(topics)
        if not topics or not all(isinstance(t, str) for t in topics):
            raise TypeError(f"topics must be a non-empty list of strings, not {topics!r}")
        if starting_offset not in _STARTING:
            raise ValueError(f"starting_offset must be OFFSET_BEGINNING, OFFSET_END or "
                             f"OFFSET_STORED, not {starting_offset!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, not {batch_size!r}")
        self.brokers = _brokers(brokers)
        self.topics = topics
        inner = Flow.KafkaSource.new(self.brokers, topics)
        inner.set_tail(bool(tail))
        inner.set_starting_offset(_STARTING[starting_offset])
        inner.set_batch_size(batch_size)
        inner.set_raise_on_errors(bool(raise_on_errors))
        for name, value in _config(add_config).items():
            inner.set_config(name, value)
        self._source = _Source(inner)

    def _to_flow_source(self):
        return self._source


def _bytes(x, what):
    if x is None or isinstance(x, bytes):
        return x
    if isinstance(x, str):
        return x.encode("utf-8")
    if isinstance(x, (bytearray, memoryview)):
        return bytes(x)
    raise TypeError(f"a Kafka message's {what} must be bytes, str or None (serialize it "
                    f"first), not {type(x).__qualname__}")


_SINK_TYPE = "(maymaysixxa(smay))"


def _to_variant(item):
    if isinstance(item, KafkaSourceMessage):
        item = item.to_sink()
    if isinstance(item, KafkaSinkMessage):
        partition = -1 if item.partition is None else int(item.partition)
        headers = [(str(name), _bytes(value, "header value")) for name, value in item.headers]
        return GLib.Variant(_SINK_TYPE, (_bytes(item.key, "key"), _bytes(item.value, "value"),
                                         item.topic or "", partition, 0,
                                         int(item.timestamp) * 1000, headers))
    if isinstance(item, tuple) and len(item) == 2:
        return GLib.Variant(_SINK_TYPE, (_bytes(item[0], "key"), _bytes(item[1], "value"),
                                         "", -1, 0, 0, []))
    raise TypeError(f"a Kafka sink writes KafkaSinkMessage or (key, value) items, "
                    f"not {type(item).__qualname__}")


class _SinkPartition(Flow.SinkPartition):
    def __init__(self, inner):
        super().__init__()
        self._inner = inner

    def do_write_batch(self, items):
        self._inner.write_batch([_to_variant(item) for item in items])  # plain values

    def do_snapshot(self):
        return self._inner.snapshot()

    def do_close(self):
        self._inner.close()


class _Sink(Flow.Sink):
    def __init__(self, inner):
        super().__init__()
        self._inner = inner

    def do_list_parts(self):
        return self._inner.list_parts()

    def do_build_part(self, step_id, part_key, resume_state):
        return _SinkPartition(self._inner.build_part(step_id, part_key, resume_state))


class KafkaSink(Sink):
    """Produces :class:`KafkaSinkMessage` items (or ``(key, value)``
    pairs of bytes or str) to ``topic`` (or each message's own topic).

    The key chooses the partition (librdkafka's ``partitioner``). Every
    message of an epoch is acknowledged by the brokers before the epoch
    commits; a message that cannot be delivered stops the run with its
    topic, partition and the reason. After a crash, the epochs after the
    last committed one are produced again: at-least-once.

    Args:
        brokers: ``host:port`` strings of Kafka brokers.
        topic: the topic of messages that do not name one (``None``: each
            must).
        add_config: more librdkafka settings (its ``CONFIGURATION.md``).
    """

    def __init__(self, brokers, topic, add_config=None):
        if topic is not None and not isinstance(topic, str):
            raise TypeError(f"topic must be a str or None, not {type(topic).__qualname__}")
        self.brokers = _brokers(brokers)
        self.topic = topic
        inner = Flow.KafkaSink.new(self.brokers, topic)
        for name, value in _config(add_config).items():
            inner.set_config(name, value)
        self._sink = _Sink(inner)

    def _to_flow_sink(self):
        return self._sink
