# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every operator of the GI API (from gi.repository import Flow) with plain
Python values in and out of the callbacks."""

import datetime

import gi
import pytest

gi.require_version("Flow", "1")
from gi.repository import Flow, GLib  # noqa: E402


def run(items, build, batch_size=1):
    """Runs items -> build(stream) -> TestingSink; returns the values."""
    flow = Flow.Dataflow("t")
    stream = flow.input("inp", Flow.TestingSource(items, batch_size=batch_size))
    out = build(stream)
    sink = Flow.TestingSink()
    out.output("out", sink)
    Flow.Runner.new(flow).run()
    return sink.get_values()


def test_map():
    assert run([1, 2, 3], lambda s: s.map("m", lambda x: x * 10)) == [10, 20, 30]


def test_map_changes_types():
    assert run([1, 2], lambda s: s.map("m", lambda x: {"n": x, "s": str(x)})) == [
        {"n": 1, "s": "1"}, {"n": 2, "s": "2"}]


def test_filter():
    assert run(list(range(6)), lambda s: s.filter("f", lambda x: x % 2 == 0)) == [0, 2, 4]


def test_filter_map_drops_none():
    assert run([1, 2, 3, 4], lambda s: s.filter_map(
        "fm", lambda x: None if x % 2 else x * 2)) == [4, 8]


def test_flat_map_takes_any_iterable():
    assert run([1, 2, 3], lambda s: s.flat_map("fm", lambda x: range(x))) == [0, 0, 1, 0, 1, 2]
    assert run(["ab", "c"], lambda s: s.flat_map("fm", lambda x: (c for c in x))) == ["a", "b", "c"]
    assert run(["ab"], lambda s: s.flat_map("fm", lambda x: [])) == []


def test_flatten():
    assert run([[1, 2], [], [3]], lambda s: s.flatten("fl")) == [1, 2, 3]


def test_inspect_sees_full_step_id_and_passes_items_on():
    seen = []
    out = run([1, 2], lambda s: s.inspect("look", lambda step_id, x: seen.append((step_id, x))))
    assert out == [1, 2]
    assert seen == [("t.look", 1), ("t.look", 2)]


def test_flat_map_batch():
    batches = []

    def mapper(items):
        batches.append(items)
        return (x * 10 for x in items)

    assert run([1, 2, 3], lambda s: s.flat_map_batch("fmb", mapper), batch_size=2) == [10, 20, 30]
    assert batches == [[1, 2], [3]]


def test_flat_map_batch_sees_keyed_items_as_tuples():
    out = run([1, 2], lambda s: s.key_on("k", str).flat_map_batch(
        "fmb", lambda items: [repr(items)]), batch_size=2)
    assert out == ["[('1', 1), ('2', 2)]"]


def test_inspect_debug():
    seen = []
    out = run([1, 2], lambda s: s.inspect_debug(
        "dbg", lambda step_id, x, epoch, worker: seen.append((step_id, x, epoch, worker))))
    assert out == [1, 2]
    assert seen == [("t.dbg", 1, 1, 0), ("t.dbg", 2, 1, 0)]


def test_operators_come_from_the_typelib():
    # Every method of Flow.Stream that takes functions has a Pythonic
    # wrapper in the override, made from the typelib.
    override = __import__("gi.overrides.Flow", fromlist=["_PYTHON_OPS"])
    for name in ("map", "flat_map_batch", "inspect_debug", "stateful_map", "fold_final"):
        assert name in override._PYTHON_OPS
    with pytest.raises(TypeError, match="flat_map_batch: mapper must be callable"):
        Flow.Dataflow("t").input("i", Flow.TestingSource([1])).flat_map_batch("x", 3)
    with pytest.raises(TypeError, match="missing required argument.*folder"):
        Flow.Dataflow("t").input("i", Flow.TestingSource([1])).fold_final("x", lambda: 0)


def test_merge():
    flow = Flow.Dataflow("t")
    a = flow.input("a", Flow.TestingSource([1, 2]))
    b = flow.input("b", Flow.TestingSource(["x"]))
    c = flow.input("c", Flow.TestingSource([None]))
    sink = Flow.TestingSink()
    a.merge("m", b, c).output("out", sink)
    Flow.Runner.new(flow).run()
    assert sorted(sink.get_values(), key=repr) == sorted([1, 2, "x", None], key=repr)


def test_branch():
    flow = Flow.Dataflow("t")
    s = flow.input("inp", Flow.TestingSource([1, 2, 3, 4, 5]))
    trues, falses = s.branch("b", lambda x: x % 2 == 0)
    t_sink, f_sink = Flow.TestingSink(), Flow.TestingSink()
    trues.output("t", t_sink)
    falses.output("f", f_sink)
    Flow.Runner.new(flow).run()
    assert t_sink.get_values() == [2, 4]
    assert f_sink.get_values() == [1, 3, 5]


def test_redistribute():
    assert run([1, 2, 3], lambda s: s.redistribute("r")) == [1, 2, 3]


def test_key_on_and_key_rm():
    assert run([1, 2], lambda s: s.key_on("k", lambda x: f"k{x}")) == [("k1", 1), ("k2", 2)]
    assert run([1, 2], lambda s: s.key_on("k", str).key_rm("rm")) == [1, 2]


def test_map_value_filter_value_flat_map_value():
    keyed = lambda s: s.key_on("k", lambda x: "even" if x % 2 == 0 else "odd")  # noqa: E731
    assert run([1, 2], lambda s: keyed(s).map_value("mv", lambda v: v * 100)) == [
        ("odd", 100), ("even", 200)]
    assert run([1, 2, 3], lambda s: keyed(s).filter_value("fv", lambda v: v > 1)) == [
        ("even", 2), ("odd", 3)]
    assert run([2], lambda s: keyed(s).flat_map_value("fmv", lambda v: [v, -v])) == [
        ("even", 2), ("even", -2)]


def test_stateful_map_with_builder():
    def running_sum(state, value):
        state += value
        return state, state
    out = run([0, 1, 2, 3], lambda s: s.key_on("k", lambda _: "ALL").stateful_map(
        "sm", lambda: 0, running_sum))
    assert out == [("ALL", 0), ("ALL", 1), ("ALL", 3), ("ALL", 6)]


def test_stateful_map_without_builder_gets_none_for_a_new_key():
    def first_seen(state, value):
        return (state or value), (state, value)
    out = run([1, 2, 3], lambda s: s.key_on("k", lambda x: "a" if x < 3 else "b").stateful_map(
        "sm", None, first_seen))
    assert out == [("a", (None, 1)), ("a", (1, 2)), ("b", (None, 3))]
    # The two-argument form is the same.
    out = run([1, 2], lambda s: s.key_on("k", lambda x: "a").stateful_map("sm", first_seen))
    assert out == [("a", (None, 1)), ("a", (1, 2))]


def test_stateful_map_none_state_discards_the_key():
    def count_to_two(state, value):
        n = (state or 0) + 1
        return (None if n == 2 else n), n
    out = run([1, 1, 1], lambda s: s.key_on("k", lambda _: "a").stateful_map("sm", count_to_two))
    assert out == [("a", 1), ("a", 2), ("a", 1)]


def test_stateful_map_state_of_any_type():
    def remember(state, value):
        state = (state or ()) + (value,)
        return state, list(state)
    out = run(["x", "y"], lambda s: s.key_on("k", lambda _: "a").stateful_map("sm", remember))
    assert out == [("a", ["x"]), ("a", ["x", "y"])]


def test_stateful_flat_map():
    def emit_n(state, value):
        n = (state or 0) + 1
        return n, [value] * n
    out = run(["a", "b"], lambda s: s.key_on("k", lambda _: "K").stateful_flat_map("sfm", emit_n))
    assert out == [("K", "a"), ("K", "b"), ("K", "b")]
    out = run(["a"], lambda s: s.key_on("k", lambda _: "K").stateful_flat_map(
        "sfm", lambda: 10, lambda st, v: (st, (st + i for i in range(2)))))
    assert out == [("K", 10), ("K", 11)]


def test_fold_final():
    out = run([1, 2, 3, 4], lambda s: s.key_on("k", lambda x: "even" if x % 2 == 0 else "odd")
              .fold_final("ff", list, lambda acc, v: acc + [v]))
    assert out == [("even", [2, 4]), ("odd", [1, 3])]


def test_reduce_final():
    out = run([1, 2, 3, 4], lambda s: s.key_on("k", lambda x: "even" if x % 2 == 0 else "odd")
              .reduce_final("rf", lambda acc, v: acc + v))
    assert out == [("even", 6), ("odd", 4)]


def test_count_final():
    out = run(["a", "b", "a", "c", "a"], lambda s: s.count_final("cf", lambda w: w))
    assert out == [("a", 3), ("b", 1), ("c", 1)]


def test_max_and_min_final():
    keyed = lambda s: s.key_on("k", lambda x: "K")  # noqa: E731
    assert run([3, 9, 1], lambda s: keyed(s).max_final("mx")) == [("K", 9)]
    assert run([3, 9, 1], lambda s: keyed(s).min_final("mn")) == [("K", 1)]
    words = ["ccc", "a", "bb"]
    assert run(words, lambda s: keyed(s).max_final("mx", len)) == [("K", "ccc")]
    assert run(words, lambda s: keyed(s).min_final("mn", lambda w: len(w))) == [("K", "a")]


def test_collect_by_size():
    out = run([1, 2, 3, 4, 5], lambda s: s.key_on("k", lambda _: "K").collect("c", 60, 2))
    assert out == [("K", [1, 2]), ("K", [3, 4]), ("K", [5])]


def test_collect_accepts_a_timedelta():
    out = run([1, 2, 3], lambda s: s.key_on("k", lambda _: "K").collect(
        "c", datetime.timedelta(minutes=1), 10))
    assert out == [("K", [1, 2, 3])]


def test_pickled_values_flow_through():
    when = datetime.date(2024, 1, 2)
    out = run([when], lambda s: s.map("m", lambda d: d + datetime.timedelta(days=1)))
    assert out == [datetime.date(2024, 1, 3)]


def test_batches_keep_order():
    items = list(range(100))
    assert run(items, lambda s: s.map("m", lambda x: x + 1), batch_size=7) == [x + 1 for x in items]


# --- building mistakes raise at once, not when the run starts -------------

def test_duplicate_step_id_raises_at_build_time():
    flow = Flow.Dataflow("t")
    s = flow.input("inp", Flow.TestingSource([1]))
    s.map("m", lambda x: x)
    with pytest.raises(GLib.Error) as info:
        s.map("m", lambda x: x)
    assert info.value.matches(Flow.error_quark(), Flow.Error.DUPLICATE_STEP_ID)
    assert "t.m" in info.value.message


def test_step_id_with_a_dot_raises_at_build_time():
    flow = Flow.Dataflow("t")
    with pytest.raises(GLib.Error) as info:
        flow.input("in.p", Flow.TestingSource([1]))
    assert info.value.matches(Flow.error_quark(), Flow.Error.INVALID_STEP_ID)


def test_bad_dataflow_id_raises_at_once():
    with pytest.raises(GLib.Error) as info:
        Flow.Dataflow("a.b")
    assert info.value.matches(Flow.error_quark(), Flow.Error.INVALID_STEP_ID)
    assert "a.b" in info.value.message


def test_stream_of_another_dataflow_raises_at_build_time():
    a = Flow.Dataflow("a")
    b = Flow.Dataflow("b")
    sa = a.input("inp", Flow.TestingSource([1]))
    sb = b.input("inp", Flow.TestingSource([2]))
    with pytest.raises(GLib.Error) as info:
        sa.merge("m", sb)
    assert info.value.matches(Flow.error_quark(), Flow.Error.INVALID_FLOW)


def test_incomplete_flow_is_not_a_building_mistake():
    flow = Flow.Dataflow("t")
    s = flow.input("inp", Flow.TestingSource([1]))
    s.map("m", lambda x: x)          # no output yet: no error
    with pytest.raises(GLib.Error) as info:
        flow.check()
    assert info.value.matches(Flow.error_quark(), Flow.Error.INCOMPLETE_FLOW)


def test_non_callable_raises_type_error():
    flow = Flow.Dataflow("t")
    s = flow.input("inp", Flow.TestingSource([1]))
    with pytest.raises(TypeError, match="mapper must be callable"):
        s.map("m", 42)


def test_runner_properties_and_signals():
    flow = Flow.Dataflow("t")
    s = flow.input("inp", Flow.TestingSource([1, 2, 3]))
    s.output("out", Flow.TestingSink())
    runner = Flow.Runner.new(flow)
    runner.props.snapshot_interval = 0
    closed = []
    runner.connect("epoch-closed", lambda r, epoch: closed.append(epoch))
    assert runner.run() is True
    assert closed and closed == sorted(closed)
