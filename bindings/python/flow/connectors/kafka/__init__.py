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
  message of an epoch before the epoch commits: at-least-once; with a
  ``transactional_id``, one Kafka transaction per epoch, committed with
  the epoch: exactly-once for read_committed consumers.

Messages cross the steps of a flow as the C connectors' GVariant tuples
(converted in C), not pickled.

:mod:`flow.connectors.kafka.operators` has Bytewax's ``input``,
``output``, ``deserialize*`` and ``serialize*`` operators;
:mod:`flow.connectors.kafka.serde` plain (bytes, str, JSON) serializers.
"""

from ..._gi import Flow, GLib, _override
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


def _error_from_tuple(topic, partition, offset, code, reason):
    """A FLOW_KAFKA_ERROR_TYPE_STRING item's members as a KafkaError."""
    return KafkaError(KafkaErrorInfo(code, _error_name(code), reason),
                      KafkaSourceMessage(None, None, topic, [], None, offset, partition, None))


def _error_name(code):
    # librdkafka's names for the codes that reach here most.
    names = {-191: "_PARTITION_EOF", -190: "_UNKNOWN_PARTITION", -188: "_UNKNOWN_TOPIC",
             -140: "_AUTO_OFFSET_RESET", 1: "OFFSET_OUT_OF_RANGE",
             3: "UNKNOWN_TOPIC_OR_PART", 10: "MSG_SIZE_TOO_LARGE",
             29: "TOPIC_AUTHORIZATION_FAILED"}
    return names.get(code, f"ERROR_{code}")


# ---------------------------------------------------------------------------
# Messages as items
#
# KafkaSourceMessage and KafkaSinkMessage cross the steps of a flow as the
# GVariant tuples the C connectors read and write, not pickled:
#
#   KafkaSourceMessage, key and value bytes/None   (maymaysixxa(smay))
#   KafkaSourceMessage, other keys or values       (mvmvsixxa(smay))
#   KafkaSinkMessage                               (mvmvmsmimxxa(smay))
#
# (key, value, topic, partition, offset, timestamp in µs or -1, headers).
# A message these cannot carry exactly is pickled. The native fast path
# converts in C (bindings/python/native/flow-native-kafka.c); these are the
# same rules for the pure-Python path.
# ---------------------------------------------------------------------------

_SOURCE_BYTES = "(maymaysixxa(smay))"
_SOURCE_ANY = "(mvmvsixxa(smay))"
_SINK = "(mvmvmsmimxxa(smay))"
_ERROR = "(sixis)"
_INT32 = (-(1 << 31), (1 << 31) - 1)
_INT64 = (-(1 << 63), (1 << 63) - 1)


def _int_in(x, bounds):
    return type(x) is int and bounds[0] <= x <= bounds[1]


def _exact_headers(headers):
    return type(headers) is list and all(
        type(h) is tuple and len(h) == 2 and type(h[0]) is str and "\0" not in h[0]
        and (h[1] is None or type(h[1]) is bytes) for h in headers)


def _item_maybe(x):
    if x is None:
        return GLib.Variant.new_maybe(GLib.VariantType.new("v"), None)
    return GLib.Variant.new_maybe(None, GLib.Variant.new_variant(Flow.to_variant(x)))


def _source_to_variant(m):
    if (m.latency is not None or type(m.topic) is not str or "\0" in m.topic
            or not _int_in(m.partition, _INT32) or not _int_in(m.offset, _INT64)
            or not _exact_headers(m.headers)):
        return None
    ts = m.timestamp
    if type(ts) is not tuple or len(ts) != 2 or not _int_in(ts[1], (0, _INT64[1] // 1000)):
        return None
    if ts[0] == TIMESTAMP_CREATE_TIME and type(ts[0]) is int:
        us = ts[1] * 1000
    elif ts == (TIMESTAMP_NOT_AVAILABLE, 0) and type(ts[0]) is int:
        us = -1
    else:
        return None
    rest = (m.topic, m.partition, m.offset, us, m.headers)
    if (m.key is None or type(m.key) is bytes) and (m.value is None or type(m.value) is bytes):
        return GLib.Variant(_SOURCE_BYTES, (m.key, m.value) + rest)
    return _join(_item_maybe(m.key), _item_maybe(m.value), GLib.Variant("(sixxa(smay))", rest))


def _sink_to_variant(m):
    if ((m.topic is not None and (type(m.topic) is not str or "\0" in m.topic))
            or (m.partition is not None and not _int_in(m.partition, _INT32))
            or not _int_in(m.timestamp, (_INT64[0] // 1000, _INT64[1] // 1000))
            or not _exact_headers(m.headers)):
        return None
    rest = GLib.Variant("(msmimxxa(smay))",
                        (m.topic, m.partition, None, m.timestamp * 1000, m.headers))
    return _join(_item_maybe(m.key), _item_maybe(m.value), rest)


def _join(key, value, rest):
    """The tuple (key, value, *rest)."""
    return GLib.Variant.new_tuple(key, value, *[rest.get_child_value(i)
                                                for i in range(rest.n_children())])


def _members(v):
    return [v.get_child_value(i) for i in range(v.n_children())]


def _source_from_variant(v):
    key, value, topic, partition, offset, us, headers = _members(v)
    return KafkaSourceMessage(Flow.from_variant(key), Flow.from_variant(value),
                              topic.get_string(), Flow.from_variant(headers), None,
                              offset.get_int64(), partition.get_int32(),
                              _timestamp(us.get_int64()))


def _sink_from_variant(v):
    key, value, topic, partition, _offset, us, headers = _members(v)
    return KafkaSinkMessage(Flow.from_variant(key), Flow.from_variant(value),
                            Flow.from_variant(topic), Flow.from_variant(headers),
                            Flow.from_variant(partition), us.get_int64() // 1000)


def _error_from_variant(v):
    return _error_from_tuple(*v.unpack())


_override._register_item_type(KafkaSourceMessage, _source_to_variant, {
    _SOURCE_BYTES: _source_from_variant, _SOURCE_ANY: _source_from_variant,
    _ERROR: _error_from_variant})
_override._register_item_type(KafkaSinkMessage, _sink_to_variant, {_SINK: _sink_from_variant})
if hasattr(_override._native, "register_kafka"):
    _override._native.register_kafka(KafkaSourceMessage, KafkaSinkMessage, _error_from_tuple)


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
        # The C source itself: its items become KafkaSourceMessage (or
        # KafkaError) where Python code takes them.
        self._source = inner

    def _to_flow_source(self):
        return self._source

    def list_parts(self):
        """The partitions' names, ``"PARTITION-TOPIC"`` (as Bytewax's
        ``FixedPartitionedSource.list_parts``)."""
        return list(self._source.list_parts())

    def build_part(self, step_id, for_part, resume_state):
        """One partition, for unit tests (as Bytewax's): its
        ``next_batch()`` returns :class:`KafkaSourceMessage` (and
        :class:`KafkaError`) items and raises ``StopIteration`` at the end,
        ``snapshot()`` the offset of the next message to read."""
        state = None if resume_state is None else Flow.to_variant(resume_state)
        return _KafkaSourcePartition(self._source.build_part(step_id, for_part, state))


class _KafkaSourcePartition:
    def __init__(self, part):
        self._part = part

    def next_batch(self):
        batch = self._part.next_batch()
        if batch is None:
            raise StopIteration
        return Flow.from_variant(batch)

    def next_awake(self):
        return self._part.next_awake()

    def snapshot(self):
        return Flow.from_variant(self._part.snapshot())

    def close(self):
        self._part.close()


class KafkaSink(Sink):
    """Produces :class:`KafkaSinkMessage` items (or ``(key, value)``
    pairs of bytes or str) to ``topic`` (or each message's own topic).

    The key chooses the partition (librdkafka's ``partitioner``). Every
    message of an epoch is acknowledged by the brokers before the epoch
    commits; a message that cannot be delivered stops the run with its
    topic, partition and the reason. After a crash, the epochs after the
    last committed one are produced again: at-least-once.

    With a ``transactional_id`` (or ``transactional.id`` in
    ``add_config``), each epoch's messages are produced in one Kafka
    transaction once the epoch is committed: exactly-once for consumers
    reading with ``isolation.level=read_committed``, also after crashes
    (see the Kafka page of the documentation).

    Args:
        brokers: ``host:port`` strings of Kafka brokers.
        topic: the topic of messages that do not name one (``None``: each
            must).
        add_config: more librdkafka settings (its ``CONFIGURATION.md``).
        transactional_id: the producer's ``transactional.id``, the same
            across resumes and unique among running processes; ``None``
            for at-least-once output.
    """

    def __init__(self, brokers, topic, add_config=None, transactional_id=None):
        if topic is not None and not isinstance(topic, str):
            raise TypeError(f"topic must be a str or None, not {type(topic).__qualname__}")
        if transactional_id is not None and not isinstance(transactional_id, str):
            raise TypeError(f"transactional_id must be a str or None, not "
                            f"{type(transactional_id).__qualname__}")
        self.brokers = _brokers(brokers)
        self.topic = topic
        inner = Flow.KafkaSink.new(self.brokers, topic)
        # A KafkaSourceMessage goes to this sink's topic, as to_sink() has it.
        inner.set_keep_read_metadata(False)
        for name, value in _config(add_config).items():
            inner.set_config(name, value)
        if transactional_id is not None:
            inner.set_transactional_id(transactional_id)
        # The C sink itself: KafkaSinkMessage items reach it as tuples.
        self._sink = inner

    def _to_flow_sink(self):
        return self._sink
