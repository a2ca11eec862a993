# SPDX-License-Identifier: LGPL-2.1-or-later
"""join and enrich_cached from Python: the override (Flow.Stream.join,
Flow.Stream.enrich_cached, Flow.TTLCache) and the flow package, with
mode names, errors, and TTL expiry on a test clock (no waiting)."""

from datetime import timedelta

import gi
import pytest

gi.require_version("Flow", "1")
from gi.repository import Flow  # noqa: E402

import flow.operators as op  # noqa: E402
from flow.dataflow import Dataflow  # noqa: E402
from flow.errors import FlowRuntimeError  # noqa: E402
from flow.testing import TestingSink, TestingSource, run_main  # noqa: E402

START = 1_715_335_200 * 1_000_000   # 2024-05-10 10:00 UTC
MINUTE = 60 * 1_000_000


def gi_sides(*lists):
    flow = Flow.Dataflow.new("j")
    sides = []
    for i, items in enumerate(lists):
        src = Flow.TestingSource.new(items)
        sides.append(flow.input(f"in{i}", src))
    return flow, sides


def run_gi(flow, stream, clock=None):
    sink = Flow.TestingSink.new()
    stream.output("out", sink)
    runner = Flow.Runner.new(flow)
    if clock is not None:
        runner.set_test_clock(clock)
    runner.run()
    return sink.get_values()


def test_gi_join_names_and_enums():
    flow, (a, b, c) = gi_sides([("k", 1)], [("k", "x")], [("k", 2.5), ("j", 0.0)])
    joined = a.join("join", b, c)  # last, complete
    assert run_gi(flow, joined) == [("k", (1, "x", 2.5))]

    flow, (a, b) = gi_sides([("k", 1), ("k", 2)], [("k", 3)])
    joined = a.join("join", [b], insert_mode=Flow.JoinInsertMode.PRODUCT,
                    emit_mode="final")
    assert run_gi(flow, joined) == [("k", (1, 3)), ("k", (2, 3))]


def test_gi_join_unknown_mode():
    flow, (a, b) = gi_sides([("k", 1)], [("k", 2)])
    with pytest.raises(ValueError, match="unknown join emit mode 'eventually'.*'complete'"):
        a.join("join", b, emit_mode="eventually")


def test_gi_join_final_missing_side_is_none():
    flow, (a, b) = gi_sides([("k", 1), ("m", None)], [("z", "only right")])
    joined = a.join("join", b, emit_mode="final")
    assert run_gi(flow, joined) == [("k", (1, None)), ("m", (None, None)),
                                    ("z", (None, "only right"))]


def test_join_of_unkeyed_stream_names_step_and_item():
    flow = Dataflow("j")
    keyed = op.key_on("key", op.input("inp", flow, TestingSource([1])), lambda x: "k")
    unkeyed = op.input("raw", flow, TestingSource(["not keyed"]))
    op.output("out", op.join("join", keyed, unkeyed), TestingSink([]))
    with pytest.raises(FlowRuntimeError) as info:
        run_main(flow)
    text = str(info.value) + str(info.value.__cause__)
    assert "join step 'j.join'" in text
    assert "'not keyed'" in text


def test_join_needs_streams():
    flow = Dataflow("j")
    s = op.key_on("key", op.input("inp", flow, TestingSource([1])), lambda x: "k")
    with pytest.raises(TypeError, match="must be a `Stream`"):
        op.join("join", s, [s])


def test_gi_enrich_cached_ttl_on_test_clock():
    calls = []
    values = {"a": 1}

    def getter(key):
        calls.append(key)
        return values.get(key)

    source = Flow.TestingSource.new(["a", "a", "a", "b"])
    source.set_batch_size(1)
    source.add_marker(2, Flow.TestingMarker.PAUSE, 120.0)   # two minutes, no real time
    flow = Flow.Dataflow.new("e")
    enriched = flow.input("inp", source).enrich_cached(
        "enrich", getter, lambda cache, item: (item, cache.get(item)), timedelta(minutes=1))
    values["a"] = 1
    out = run_gi(flow, enriched, Flow.TestClock.new(START))
    assert out == [("a", 1), ("a", 1), ("a", 1), ("b", None)]
    # 'a' got at the start, again after the pause (expired), and 'b'.
    assert calls == ["a", "a", "b"]


def test_gi_enrich_cached_getter_exception_is_raised():
    class ServiceDown(Exception):
        pass

    def getter(key):
        raise ServiceDown(f"no {key}")

    flow = Flow.Dataflow.new("e")
    enriched = flow.input("inp", Flow.TestingSource.new(["a"])).enrich_cached(
        "enrich", getter, lambda cache, item: cache.get(item))
    with pytest.raises(ServiceDown, match="no a") as info:
        run_gi(flow, enriched)
    assert any("enrich_cached step 'e.enrich'" in n for n in info.value.__notes__)


def test_gi_ttl_cache():
    calls = []
    cache = Flow.TTLCache.new(lambda k: calls.append(k) or len(calls), ttl=60)
    assert cache.get_ttl() == MINUTE
    cache.set_time(START)
    assert cache.get(("any", "key")) == 1
    assert cache.get(("any", "key")) == 1
    cache.set_time(START + MINUTE + 1)
    assert cache.get(("any", "key")) == 2
    assert cache.remove(("any", "key")) is True
    assert cache.remove(("any", "key")) is False
    assert cache.get_size() == 0


def test_flow_enrich_cached_defaults_to_the_run_clock():
    # The flow package's enrich_cached reads the run's clock: under a test
    # clock a PAUSE of two minutes expires a one-minute TTL.
    calls = []

    def getter(key):
        calls.append(key)
        return key.upper()

    out = []
    flow = Dataflow("e")
    s = op.input("inp", flow, TestingSource(["a", "a", TestingSource.PAUSE(timedelta(minutes=2)),
                                             "a"], batch_size=1))
    s = op.enrich_cached("enrich", s, getter, lambda cache, x: cache.get(x),
                         ttl=timedelta(minutes=1))
    op.output("out", s, TestingSink(out))
    runner = Flow.Runner.new(flow._flow)
    runner.set_test_clock(Flow.TestClock.new(START))
    runner.run()
    assert out == ["A", "A", "A"]
    assert calls == ["a", "a"]


def test_flow_join_resumes_its_sides(tmp_path):
    # Bytewax-style: an ABORT between the left and the right value of a
    # key; the resumed run still has the left value.
    from flow.recovery import RecoveryConfig, init_db_dir

    init_db_dir(tmp_path, 1)
    config = RecoveryConfig(str(tmp_path))

    # One dataflow for both runs: its source aborts the first time only.
    out = []
    flow = Dataflow("resume")
    items = op.input("inp", flow, TestingSource([
        ("a", ("L", 1)), ("b", ("R", 7)), TestingSource.ABORT(), ("a", ("R", 10)),
        ("b", ("L", 8)),
    ]))
    sides = op.branch("side", items, lambda kv: kv[1][0] == "L")
    left = op.map_value("left", sides.trues, lambda v: v[1])
    right = op.map_value("right", sides.falses, lambda v: v[1])
    op.output("out", op.join("join", left, right, emit_mode="running"), TestingSink(out))

    run_main(flow, epoch_interval=timedelta(0), recovery_config=config)
    assert out == [("a", (1, None)), ("b", (None, 7))]
    out.clear()
    run_main(flow, epoch_interval=timedelta(0), recovery_config=config)
    # The sides came back: 10 meets 1, 8 meets 7. (At-least-once: items of
    # an epoch whose commit was in flight at the abort may be replayed,
    # with the state as of the epoch before.)
    full = [("a", (1, None)), ("b", (None, 7)), ("a", (1, 10)), ("b", (8, 7))]
    assert out[-2:] == [("a", (1, 10)), ("b", (8, 7))]
    assert out == full[len(full) - len(out):]
