# SPDX-License-Identifier: LGPL-2.1-or-later
"""The operators of the flow package, with Bytewax's signatures."""

import datetime

import pytest

import flow.operators as op
from flow.dataflow import Dataflow, Stream
from flow.errors import FlowRuntimeError
from flow.testing import TestingSink, TestingSource, run_main


def run(items, build, batch_size=1):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(items, batch_size=batch_size))
    out = []
    op.output("out", build(s), TestingSink(out))
    run_main(flow)
    return out


def keyed(s, key=lambda x: "even" if x % 2 == 0 else "odd"):
    return op.key_on("key", s, key)


def test_map():
    assert run([1, 2, 3], lambda s: op.map("m", s, lambda x: x + 1)) == [2, 3, 4]


def test_filter():
    assert run([1, 2, 3, 4], lambda s: op.filter("f", s, lambda x: x > 2)) == [3, 4]


def test_filter_map():
    assert run(["1", "x", "3"], lambda s: op.filter_map(
        "fm", s, lambda t: int(t) if t.isdigit() else None)) == [1, 3]


def test_flat_map():
    assert run(["a b", "c"], lambda s: op.flat_map("fm", s, str.split)) == ["a", "b", "c"]


def test_flatten():
    assert run([[1, 2], [3]], lambda s: op.flatten("f", s)) == [1, 2, 3]


def test_inspect_default_prints_step_and_repr(capsys):
    assert run(["a", 1], lambda s: op.inspect("insp", s)) == ["a", 1]
    assert capsys.readouterr().out == "test_df.insp: 'a'\ntest_df.insp: 1\n"


def test_flat_map_batch_gets_lists_of_items():
    batches = []

    def mapper(items):
        batches.append(list(items))
        return [sum(items), len(items)]

    assert run([1, 2, 3, 4, 5], lambda s: op.flat_map_batch("fmb", s, mapper),
               batch_size=2) == [3, 2, 7, 2, 5, 1]
    assert batches == [[1, 2], [3, 4], [5]]


def test_flat_map_batch_error_names_step():
    def boom(items):
        raise KeyError("nope")

    with pytest.raises(FlowRuntimeError) as info:
        run([1, 2], lambda s: op.flat_map_batch("fmb", s, boom), batch_size=2)
    assert "flat_map_batch step 'test_df.fmb' failed" in str(info.value)
    assert isinstance(info.value.__cause__, KeyError)


def test_inspect_debug_default_prints_epoch_and_worker(capsys):
    assert run(["a", 1], lambda s: op.inspect_debug("dbg", s)) == ["a", 1]
    assert capsys.readouterr().out == "test_df.dbg W0 @1: 'a'\ntest_df.dbg W0 @1: 1\n"


def test_inspect_debug_with_inspector():
    seen = []
    run([1, (2, "x")], lambda s: op.inspect_debug(
        "dbg", s, lambda step_id, x, epoch, worker: seen.append((step_id, x, epoch, worker))))
    assert seen == [("test_df.dbg", 1, 1, 0), ("test_df.dbg", (2, "x"), 1, 0)]


def test_inspect_with_inspector():
    seen = []
    run([1], lambda s: op.inspect("insp", s, lambda step_id, x: seen.append((step_id, x))))
    assert seen == [("test_df.insp", 1)]


def test_merge():
    flow = Dataflow("test_df")
    a = op.input("a", flow, TestingSource([1, 2]))
    b = op.input("b", flow, TestingSource([3]))
    out = []
    op.output("out", op.merge("m", a, b), TestingSink(out))
    run_main(flow)
    assert sorted(out) == [1, 2, 3]


def test_branch():
    flow = Dataflow("test_df")
    nums = op.input("nums", flow, TestingSource([1, 2, 3, 4, 5]))
    b_out = op.branch("even_odd", nums, lambda x: x % 2 == 0)
    evens, odds = [], []
    op.output("e", b_out.trues, TestingSink(evens))
    op.output("o", b_out.falses, TestingSink(odds))
    run_main(flow)
    assert evens == [2, 4]
    assert odds == [1, 3, 5]


def test_redistribute():
    assert run([1, 2], lambda s: op.redistribute("r", s)) == [1, 2]


def test_key_on_key_rm():
    assert run([1, 2], lambda s: keyed(s)) == [("odd", 1), ("even", 2)]
    assert run([1, 2], lambda s: op.key_rm("rm", keyed(s))) == [1, 2]


def test_map_value():
    assert run([1, 2], lambda s: op.map_value("mv", keyed(s), lambda v: -v)) == [
        ("odd", -1), ("even", -2)]


def test_filter_value():
    assert run([1, 2, 3], lambda s: op.filter_value("fv", keyed(s), lambda v: v != 2)) == [
        ("odd", 1), ("odd", 3)]


def test_filter_map_value():
    assert run([1, 2, 3], lambda s: op.filter_map_value(
        "fmv", keyed(s), lambda v: None if v == 2 else v * 10)) == [("odd", 10), ("odd", 30)]


def test_flat_map_value():
    assert run([2], lambda s: op.flat_map_value("fmv", keyed(s), lambda v: [v] * v)) == [
        ("even", 2), ("even", 2)]


def test_stateful_map_four_arguments_with_builder():
    def update_sum(current_sum, new_item):
        updated_sum = current_sum + new_item
        return updated_sum, updated_sum
    assert run([0, 1, 2], lambda s: op.stateful_map(
        "running_count", keyed(s, lambda _: "ALL"), lambda: 0, update_sum)) == [
        ("ALL", 0), ("ALL", 1), ("ALL", 3)]


def test_stateful_map_three_arguments_state_starts_as_none():
    def keep_max(max_val, new_val):
        if max_val is None:
            max_val = new_val
        max_val = max(max_val, new_val)
        return max_val, max_val
    assert run([3, 1, 5, 2], lambda s: op.stateful_map(
        "keep_max", keyed(s, lambda _: "ALL"), keep_max)) == [
        ("ALL", 3), ("ALL", 3), ("ALL", 5), ("ALL", 5)]


def test_stateful_map_keyword_arguments():
    assert run([1, 2], lambda s: op.stateful_map(
        "sm", keyed(s, lambda _: "K"), builder=lambda: 10,
        mapper=lambda st, v: (st + v, st + v))) == [("K", 11), ("K", 13)]


def test_stateful_map_emits_none_and_discards_state():
    def once(state, v):
        # Emit the previous value, forget after two.
        return (None if state is not None else v), state
    assert run([1, 2, 3], lambda s: op.stateful_map("sm", keyed(s, lambda _: "K"), once)) == [
        ("K", None), ("K", 1), ("K", None)]


def test_stateful_flat_map():
    def split_count(seen, line):
        words = line.split()
        seen = (seen or 0) + len(words)
        return seen, [(w, seen) for w in words]
    assert run(["a b", "c"], lambda s: op.stateful_flat_map(
        "sfm", keyed(s, lambda _: "K"), split_count)) == [
        ("K", ("a", 2)), ("K", ("b", 2)), ("K", ("c", 3))]


def test_fold_final():
    assert run([1, 2, 3], lambda s: op.fold_final(
        "ff", keyed(s), lambda: [], lambda acc, x: acc + [x])) == [
        ("even", [2]), ("odd", [1, 3])]


def test_reduce_final():
    assert run([1, 2, 3], lambda s: op.reduce_final("rf", keyed(s), lambda a, b: a + b)) == [
        ("even", 2), ("odd", 4)]


def test_count_final():
    assert run(["x", "y", "x"], lambda s: op.count_final("cf", s, lambda w: w)) == [
        ("x", 2), ("y", 1)]


def test_max_min_final():
    assert run([4, 1, 7], lambda s: op.max_final("mx", keyed(s, lambda _: "K"))) == [("K", 7)]
    assert run([4, 1, 7], lambda s: op.min_final("mn", keyed(s, lambda _: "K"))) == [("K", 1)]
    people = [{"n": "a", "age": 30}, {"n": "b", "age": 20}]
    assert run(people, lambda s: op.max_final(
        "mx", keyed(s, lambda _: "K"), by=lambda p: p["age"])) == [("K", people[0])]
    assert run(people, lambda s: op.min_final(
        "mn", keyed(s, lambda _: "K"), by=lambda p: p["age"])) == [("K", people[1])]


def test_collect():
    assert run([1, 2, 3], lambda s: op.collect(
        "c", keyed(s, lambda _: "K"), timeout=datetime.timedelta(seconds=30), max_size=2)) == [
        ("K", [1, 2]), ("K", [3])]


def test_raises():
    # An effect of its own: no output step is needed, and it returns None.
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([1]))
    assert op.raises("r", s) is None
    with pytest.raises(FlowRuntimeError, match="step 'test_df.r' raises on every item") as info:
        run_main(flow)
    assert isinstance(info.value.__cause__, RuntimeError)


def test_then_chains_operators():
    assert run([1, 2], lambda s: s.then(op.map, "m", lambda x: x * 3)
               .then(op.filter, "f", lambda x: x > 3)) == [6]


def test_streams_are_flow_streams():
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([1]))
    assert isinstance(s, Stream)
    assert s.stream_id == "test_df.inp.down"
    assert s.flow() is flow
    assert flow.steps() == ["test_df.inp"]


def test_exception_propagates_with_step_and_key():
    def boom(state, v):
        raise ValueError(f"no {v}")
    with pytest.raises(FlowRuntimeError, match="no 5") as info:
        run([5], lambda s: op.stateful_map("sm", keyed(s), boom))
    assert "test_df.sm" in str(info.value) and "odd" in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)


def test_non_keyed_item_to_a_stateful_step_is_a_type_error():
    with pytest.raises(FlowRuntimeError, match="keyed") as info:
        run([1], lambda s: op.reduce_final("rf", s, lambda a, b: a))
    assert isinstance(info.value.__cause__, TypeError)
    assert "must be a 2-tuple" in str(info.value.__cause__)


# --- building mistakes raise ValueError at once ----------------------------

def test_duplicate_step_id():
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([1]))
    op.map("m", s, lambda x: x)
    with pytest.raises(ValueError, match="test_df.m"):
        op.map("m", s, lambda x: x)


def test_step_id_with_a_dot():
    flow = Dataflow("test_df")
    with pytest.raises(ValueError):
        op.input("a.b", flow, TestingSource([1]))


def test_dataflow_id_with_a_dot():
    with pytest.raises(ValueError):
        Dataflow("a.b")


def test_stream_of_another_dataflow():
    f1, f2 = Dataflow("one"), Dataflow("two")
    s1 = op.input("inp", f1, TestingSource([1]))
    s2 = op.input("inp", f2, TestingSource([2]))
    with pytest.raises(ValueError, match="another dataflow"):
        op.merge("m", s1, s2)


def test_wrong_argument_types():
    flow = Dataflow("test_df")
    with pytest.raises(TypeError):
        op.map("m", flow, lambda x: x)
    s = op.input("inp", flow, TestingSource([1]))
    with pytest.raises(TypeError):
        op.map("m2", s, "not callable")
    with pytest.raises(TypeError):
        op.output("out", s, [])
