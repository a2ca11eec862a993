# SPDX-License-Identifier: LGPL-2.1-or-later
"""flow.connectors.kafka against librdkafka's mock cluster (the real Kafka
protocol on loopback), started by tests/kafka/kafka-mock-cluster. Input is
produced, and output read back, with confluent_kafka.

Ported from Bytewax's Kafka tests and docs examples: reading topics to
their end, resuming, the operators (input, output, deserialize*,
serialize*) with plain serializers, errors in a stream of their own.
"""

import datetime
import os
import subprocess
from pathlib import Path

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")

import flow.operators as op  # noqa: E402
from flow.dataflow import Dataflow  # noqa: E402
from flow.recovery import RecoveryConfig, init_db_dir  # noqa: E402
from flow._gi import GLib  # noqa: E402
from flow.testing import TestingSink, run_main  # noqa: E402

kafka = pytest.importorskip("flow.connectors.kafka")
kop = pytest.importorskip("flow.connectors.kafka.operators")
serde = pytest.importorskip("flow.connectors.kafka.serde")

from flow.connectors.kafka import (  # noqa: E402
    OFFSET_END,
    KafkaError,
    KafkaSink,
    KafkaSinkMessage,
    KafkaSource,
    KafkaSourceMessage,
)

ZERO_TD = datetime.timedelta(seconds=0)
MOCK = os.environ.get("FLOW_KAFKA_MOCK_CLUSTER",
                      str(Path(os.environ.get("FLOW_BUILD_ROOT", "build")) / "tests" / "kafka"
                          / "kafka-mock-cluster"))


@pytest.fixture
def cluster():
    """Starts a mock cluster with topics "in" (3 partitions), "out" (2) and
    "json" (1), which says it does not know "missing-topic"; yields its
    brokers (a list of host:port)."""
    proc = subprocess.Popen([MOCK, "--unknown", "missing-topic", "in:3", "out:2", "json:1"],
                            stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        brokers = proc.stdout.readline().strip()
        assert brokers, "kafka-mock-cluster printed no bootstrap servers"
        yield brokers.split(",")
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def produce(brokers, topic, messages):
    """Produces (partition, key, value) messages and waits for them."""
    producer = confluent_kafka.Producer({"bootstrap.servers": ",".join(brokers)})
    for partition, key, value in messages:
        producer.produce(topic, value=value, key=key, partition=partition)
    assert producer.flush(30) == 0


def read_back(brokers, topic, n_partitions):
    """Every message of ``topic``: {partition: [(key, value, headers)]}."""
    consumer = confluent_kafka.Consumer({"bootstrap.servers": ",".join(brokers),
                                         "group.id": "read-back",
                                         "enable.partition.eof": True})
    consumer.assign([confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                     for p in range(n_partitions)])
    out = {p: [] for p in range(n_partitions)}
    open_parts = n_partitions
    while open_parts > 0:
        msg = consumer.poll(10)
        assert msg is not None, "reading back timed out"
        if msg.error() is not None:
            assert msg.error().code() == confluent_kafka.KafkaError._PARTITION_EOF, msg.error()
            open_parts -= 1
            continue
        out[msg.partition()].append((msg.key(), msg.value(), msg.headers()))
    consumer.close()
    return out


def input_messages(brokers):
    msgs = [(p, f"k{p}".encode(), f"{p}:{i}".encode()) for p in range(3) for i in range(20 + p)]
    produce(brokers, "in", msgs)
    return msgs


def test_source_reads_to_the_end(cluster):
    input_messages(cluster)
    out = []
    flow = Dataflow("kafka")
    s = op.input("inp", flow, KafkaSource(cluster, ["in"], tail=False, batch_size=7))
    op.output("out", s, TestingSink(out))
    run_main(flow)

    assert all(isinstance(m, KafkaSourceMessage) for m in out)
    for p in range(3):
        mine = [m for m in out if m.partition == p]
        assert [m.value for m in mine] == [f"{p}:{i}".encode() for i in range(20 + p)]
        assert [m.offset for m in mine] == list(range(20 + p))
        assert {m.key for m in mine} == {f"k{p}".encode()}
        assert {m.topic for m in mine} == {"in"}
        assert all(m.timestamp[0] == 1 and m.timestamp[1] > 0 for m in mine)


def test_source_resumes_after_the_last_committed_message(cluster, tmp_path):
    input_messages(cluster)
    init_db_dir(tmp_path, 1)
    rc = RecoveryConfig(str(tmp_path))

    def build(out):
        flow = Dataflow("resume")
        s = op.input("inp", flow, KafkaSource(cluster, ["in"], tail=False))
        op.output("out", op.map("value", s, lambda m: m.value), TestingSink(out))
        return flow

    first = []
    run_main(build(first), epoch_interval=ZERO_TD, recovery_config=rc)
    assert len(first) == 63

    produce(cluster, "in", [(1, b"k1", b"1:new")])
    second = []
    run_main(build(second), epoch_interval=ZERO_TD, recovery_config=rc)
    assert second == [b"1:new"]


def test_starting_offset_end_reads_nothing_old(cluster):
    input_messages(cluster)
    out = []
    flow = Dataflow("end")
    s = op.input("inp", flow, KafkaSource(cluster, ["in"], tail=False,
                                          starting_offset=OFFSET_END))
    op.output("out", s, TestingSink(out))
    run_main(flow)
    assert out == []


def test_bad_arguments(cluster):
    with pytest.raises(TypeError, match="not a string"):
        KafkaSource(cluster[0], ["in"])
    with pytest.raises(TypeError, match="not a string"):
        KafkaSource(cluster, "in")
    with pytest.raises(ValueError, match="starting_offset"):
        KafkaSource(cluster, ["in"], starting_offset=12)
    with pytest.raises(ValueError, match="batch_size"):
        KafkaSource(cluster, ["in"], batch_size=0)


def test_bad_setting_stops_the_run(cluster):
    flow = Dataflow("bad")
    s = op.input("inp", flow, KafkaSource(cluster, ["in"], add_config={"fetch.wait.max.ms": "x"}))
    op.output("out", s, TestingSink([]))
    with pytest.raises(Exception, match="fetch.wait.max.ms=x"):
        run_main(flow)


def test_operators_roundtrip(cluster):
    """Bytewax's docs example: input, deserialize, map, serialize, output."""
    input_messages(cluster)
    flow = Dataflow("roundtrip")
    kinp = kop.input("inp", flow, brokers=cluster, topics=["in"], tail=False)
    errs = []
    op.output("errs", kinp.errs, TestingSink(errs))
    des = kop.deserialize("de", kinp.oks, key_deserializer=serde.StrDeserializer(),
                          val_deserializer=serde.StrDeserializer())
    op.output("de_errs", des.errs, TestingSink(errs))

    def shout(msg):
        return KafkaSinkMessage(msg.key, msg.value.upper() + "!", headers=[("from", b"flow")])

    upper = op.map("shout", des.oks, shout)
    ser = kop.serialize("ser", upper, key_serializer=serde.StrSerializer(),
                        val_serializer=serde.StrSerializer())
    kop.output("out", ser, brokers=cluster, topic="out")
    run_main(flow)
    assert errs == []

    back = read_back(cluster, "out", 2)
    got = sorted(v for part in back.values() for _, v, _ in part)
    assert got == sorted(f"{p}:{i}!".encode() for p in range(3) for i in range(20 + p))
    # The key chose the partition: each input partition went to one output
    # partition, in order.
    for p in range(3):
        where = [o for o, part in back.items() if any(k == f"k{p}".encode() for k, _, _ in part)]
        assert len(where) == 1
        values = [v for k, v, _ in back[where[0]] if k == f"k{p}".encode()]
        assert values == [f"{p}:{i}!".encode() for i in range(20 + p)]
    assert all(h == [("from", b"flow")] for part in back.values() for _, _, h in part)


def test_deserialize_errors_go_to_errs(cluster):
    produce(cluster, "json", [(0, None, b'{"a": 1}'), (0, None, b"not json"), (0, None, b"[2]")])
    flow = Dataflow("json")
    kinp = kop.input("inp", flow, brokers=cluster, topics=["json"], tail=False)
    des = kop.deserialize_value("de", kinp.oks, serde.JsonDeserializer())
    oks, errs = [], []
    op.output("oks", op.map("v", des.oks, lambda m: m.value), TestingSink(oks))
    op.output("errs", des.errs, TestingSink(errs))
    run_main(flow)

    assert oks == [{"a": 1}, [2]]
    assert len(errs) == 1
    assert isinstance(errs[0], KafkaError)
    assert errs[0].err.name() == "_VALUE_DESERIALIZATION"
    assert errs[0].msg.value == b"not json"
    assert errs[0].msg.offset == 1


def test_source_messages_copied_to_a_sink(cluster):
    """KafkaSourceMessage items go to a sink as they are (to_sink())."""
    input_messages(cluster)
    flow = Dataflow("copy")
    s = op.input("inp", flow, KafkaSource(cluster, ["in"], tail=False))
    op.output("out", s, KafkaSink(cluster, "out"))
    run_main(flow)
    back = read_back(cluster, "out", 2)
    assert sum(len(part) for part in back.values()) == 63


def test_sink_message_topic_and_partition(cluster):
    flow = Dataflow("sinkmsg")
    from flow.testing import TestingSource
    items = [KafkaSinkMessage(b"a", b"to-json", topic="json"),
             KafkaSinkMessage(None, "to-out-1", partition=1),
             (b"k", b"pair")]
    op.output("out", op.input("inp", flow, TestingSource(items)), KafkaSink(cluster, "out"))
    run_main(flow)
    assert [v for _, v, _ in read_back(cluster, "json", 1)[0]] == [b"to-json"]
    out = read_back(cluster, "out", 2)
    assert b"to-out-1" in [v for _, v, _ in out[1]]
    assert sorted(v for part in out.values() for _, v, _ in part) == [b"pair", b"to-out-1"]


def test_sink_refuses_unserialized_values(cluster):
    from flow.testing import TestingSource
    flow = Dataflow("unser")
    op.output("out", op.input("inp", flow, TestingSource([KafkaSinkMessage(b"k", 3.5)])),
              KafkaSink(cluster, "out"))
    with pytest.raises(Exception, match="value must be bytes, str or None"):
        run_main(flow)


def test_serializers():
    assert serde.JsonSerializer().ser({"a": [1, 2]}) == b'{"a":[1,2]}'
    assert serde.JsonDeserializer().de(b'{"a":[1,2]}') == {"a": [1, 2]}
    assert serde.StrSerializer().ser("é") == "é".encode()
    assert serde.StrDeserializer().de("é".encode()) == "é"
    assert serde.BytesSerializer().ser(b"x") == b"x"
    assert serde.BytesDeserializer().de(b"x") == b"x"
    with pytest.raises(TypeError):
        serde.StrSerializer().ser(b"x")
    with pytest.raises(TypeError):
        serde.BytesSerializer().ser("x")


def test_messages_cross_steps_as_tuples():
    """KafkaSourceMessage and KafkaSinkMessage travel as the C connectors'
    GVariant tuples (not pickled), natively and in pure Python alike, and
    come back equal; a message a tuple cannot carry exactly is pickled."""
    from flow._gi import Flow, _override

    exact = [
        (KafkaSourceMessage(b"k", b"v", "t", [("h", b"x"), ("n", None)], None, 5, 2, (1, 1234)),
         "(maymaysixxa(smay))"),
        (KafkaSourceMessage(None, None, "t", [], None, 0, 0, (0, 0)), "(maymaysixxa(smay))"),
        # Empty key and topic; messages whose framing offsets take 2 and 4
        # bytes (the native path reads the serialised form directly).
        (KafkaSourceMessage(b"", None, "", [], None, -1, 0, (0, 0)), "(maymaysixxa(smay))"),
        (KafkaSourceMessage(b"k" * 300, b"v", "t\u00e9", [], None, 1, 3, (1, 9)),
         "(maymaysixxa(smay))"),
        (KafkaSourceMessage(None, b"v" * 70000, "t", [("h", b"x" * 10)], None, 1 << 40, 1, (1, 9)),
         "(maymaysixxa(smay))"),
        (KafkaSourceMessage("k", {"a": [1, 2.5]}, "t", [], None, 1, 0, (1, 5)),
         "(mvmvsixxa(smay))"),
        (KafkaSinkMessage(b"k", b"v"), "(mvmvmsmimxxa(smay))"),
        (KafkaSinkMessage("k", None, "t", [("h", b"")], 3, 77), "(mvmvmsmimxxa(smay))"),
        (KafkaSinkMessage(None, [1, "x"], timestamp=-5), "(mvmvmsmimxxa(smay))"),
    ]
    pickled = [
        KafkaSourceMessage(b"k", b"v", "t", [], 0.5, 1, 0, (1, 5)),           # a latency
        KafkaSourceMessage(b"k", b"v", None, [], None, None, None, None),     # no metadata
        KafkaSourceMessage(b"k", b"v", "t", [], None, 1, 0, (0, 7)),          # odd timestamp
        KafkaSinkMessage(b"k", b"v", headers=[("h", "a str")]),
        KafkaSinkMessage(b"k", b"v", partition=1 << 40),
    ]
    paths = [(Flow.to_variant, Flow.from_variant),
             (_override._py_to_variant, _override._py_from_variant)]
    for to_v, from_v in paths:
        for msg, type_string in exact:
            v = to_v(msg)
            assert v.get_type_string() == type_string, msg
            assert from_v(v) == msg
            assert type(from_v(v)) is type(msg)
        for msg in pickled:
            v = to_v(msg)
            assert v.get_type_string() == "(ssay)", msg
            assert from_v(v) == msg
    # Both paths make the same tuples.
    for msg, _ in exact:
        assert paths[0][0](msg).equal(paths[1][0](msg))
    # The source's error items become KafkaError.
    err = GLib.Variant("(sixis)", ("in", 2, 7, 3, "gone"))
    for _, from_v in paths:
        e = from_v(err)
        assert isinstance(e, KafkaError)
        assert (e.err.code(), e.err.name(), e.err.str()) == (3, "UNKNOWN_TOPIC_OR_PART", "gone")
        assert (e.msg.topic, e.msg.partition, e.msg.offset) == ("in", 2, 7)


def test_deserialized_messages_through_steps(cluster):
    """Deserialized messages (dict values) cross several Python steps and
    are serialized again to a sink."""
    produce(cluster, "json", [(0, b"a", b'{"n": 1}'), (0, b"b", b'{"n": 2}')])
    flow = Dataflow("json2")
    kinp = kop.input("inp", flow, brokers=cluster, topics=["json"], tail=False)
    des = kop.deserialize("de", kinp.oks, key_deserializer=serde.StrDeserializer(),
                          val_deserializer=serde.JsonDeserializer())
    seen = []
    op.inspect("look", des.oks, lambda _s, m: seen.append(m))
    doubled = op.map("double", des.oks,
                     lambda m: KafkaSinkMessage(m.key, {"n": m.value["n"] * 2}, headers=m.headers))
    ser = kop.serialize("ser", doubled, key_serializer=serde.StrSerializer(),
                        val_serializer=serde.JsonSerializer())
    kop.output("out", ser, brokers=cluster, topic="out")
    run_main(flow)
    assert [(m.key, m.value, m.offset) for m in seen] == [("a", {"n": 1}, 0), ("b", {"n": 2}, 1)]
    back = read_back(cluster, "out", 2)
    assert sorted((k, v) for part in back.values() for k, v, _ in part) == [
        (b"a", b'{"n":2}'), (b"b", b'{"n":4}')]


def test_transactional_output_resumes_exactly_once(cluster, tmp_path):
    """A transactional KafkaSink (transactional.id given in add_config, as
    a Bytewax script would): each epoch's messages are committed with the
    epoch, and a resumed run adds only the new input's."""
    input_messages(cluster)
    init_db_dir(tmp_path, 1)
    rc = RecoveryConfig(str(tmp_path))

    def build():
        flow = Dataflow("txn")
        kinp = kop.input("inp", flow, brokers=cluster, topics=["in"], tail=False)
        msgs = op.map("up", kinp.oks, lambda m: KafkaSinkMessage(m.key, m.value.upper()))
        kop.output("out", msgs, brokers=cluster, topic="out",
                   add_config={"transactional.id": "py-txn"})
        return flow

    run_main(build(), epoch_interval=ZERO_TD, recovery_config=rc)
    produce(cluster, "in", [(1, b"k1", b"1:new")])
    run_main(build(), epoch_interval=ZERO_TD, recovery_config=rc)

    back = read_back(cluster, "out", 2)
    values = sorted(v for part in back.values() for _, v, _ in part)
    assert values == sorted([f"{p}:{i}".upper().encode() for p in range(3) for i in range(20 + p)]
                            + [b"1:NEW"])
    # Each message carries the header that identifies its epoch's batch.
    assert all(any(name == "flow-txn" for name, _ in (h or [])) for part in back.values()
               for _, _, h in part)


# Ported from Bytewax's pytests/connectors/test_kafka.py (which needs a real
# broker; these run on the mock cluster).

def test_bytewax_input_two_topics(cluster):
    produce(cluster, "json", [(0, f"key-0-{j}".encode(), f"value-0-{j}".encode())
                              for j in range(3)])
    produce(cluster, "in", [(j % 3, f"key-1-{j}".encode(), f"value-1-{j}".encode())
                            for j in range(3)])
    out = []
    flow = Dataflow("test_df")
    s = op.input("inp", flow, KafkaSource(cluster, ["json", "in"], tail=False))
    op.output("out", op.map("kv", s, lambda m: (m.key, m.value)), TestingSink(out))
    run_main(flow)
    assert sorted(out) == sorted((f"key-{i}-{j}".encode(), f"value-{i}-{j}".encode())
                                 for i in range(2) for j in range(3))


def test_bytewax_input_resume_state(cluster):
    from flow.testing import poll_next_batch

    produce(cluster, "in", [(0, f"key-0-{j}".encode(), f"value-0-{j}".encode())
                            for j in range(3)])

    def kv(batch):
        return [(m.key, m.value) for m in batch]

    inp = KafkaSource(cluster, ["in"], tail=False, batch_size=1)
    assert inp.list_parts() == ["0-in", "1-in", "2-in"]
    part = inp.build_part("test", "0-in", None)
    assert kv(poll_next_batch(part)) == [(b"key-0-0", b"value-0-0")]
    assert kv(poll_next_batch(part)) == [(b"key-0-1", b"value-0-1")]
    resume_state = part.snapshot()
    assert kv(poll_next_batch(part)) == [(b"key-0-2", b"value-0-2")]
    part.close()

    inp = KafkaSource(cluster, ["in"], tail=False, batch_size=1)
    part = inp.build_part("test", "0-in", resume_state)
    assert part.snapshot() == resume_state
    assert kv(poll_next_batch(part)) == [(b"key-0-2", b"value-0-2")]
    with pytest.raises(StopIteration):
        poll_next_batch(part)
    part.close()


def test_bytewax_input_raises_on_topic_not_exist(cluster):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, KafkaSource(cluster, ["missing-topic"], tail=False))
    op.output("out", s, TestingSink([]))
    with pytest.raises(Exception, match="'missing-topic'.*Unknown topic or partition"):
        run_main(flow)


def test_bytewax_output_pairs(cluster):
    inp = [(b"key-0-0", b"value-0-0"), (b"key-0-1", b"value-0-1"), (b"key-0-2", b"value-0-2")]
    from flow.testing import TestingSource
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp))
    op.output("out", s, KafkaSink(cluster, "out"))
    run_main(flow)
    back = read_back(cluster, "out", 2)
    assert sorted((k, v) for part in back.values() for k, v, _ in part) == sorted(inp)
