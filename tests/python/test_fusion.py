# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fused steps (issue 12): a linear chain of Python map / filter /
filter_map / key_on steps, and the stateful_map after a key_on, run as
one node that hands Python values from one function to the next
(libflow/operators/flow-op-fused.c). Every flow here is run fused and
unfused (_native.set_fusion(False) while it is built) and must give the
same outputs, the same function calls in the same order, the same errors
naming the same step and item, the same graph and the same per-step
counts."""

import collections

import gi
import pytest

gi.require_version("Flow", "1")
from gi.repository import Flow, GLib  # noqa: E402

_native = pytest.importorskip("gi.overrides._flow_native",
                              reason="gi.overrides._flow_native is not built")
import gi.overrides.Flow as override  # noqa: E402

needs_override_native = pytest.mark.skipif(
    override._native is None, reason="the override does not use the native fast path")

Point = collections.namedtuple("Point", "x y")


class Custom:
    def __init__(self, a):
        self.a = a

    def __eq__(self, other):
        return type(other) is Custom and other.a == self.a

    def __repr__(self):
        return f"Custom({self.a!r})"


class IntSub(int):
    pass


class StrSub(str):
    pass


# Values that round-trip as they are (carried as Python objects) and values
# that do not (carried as their GVariant, converted where the step returns
# them): the next function must get what it gets unfused.
VALUES = [0, 1, -7, 2**63 - 1, -(2**63), 2**63, 2**100, 1.5, -0.0, float("inf"), True, False,
          None, "", "word", "ünï", "nul\0inside", "\ud800", (1, "a"), [1, [2]], {"k": 1},
          {1: "x"}, b"bytes", Point(1, 2), Custom(3), IntSub(4), StrSub("s"), frozenset({1})]


def build_flow(build, items, batch_size=4):
    flow = Flow.Dataflow("t")
    stream = flow.input("inp", Flow.TestingSource(items, batch_size=batch_size))
    outs = build(flow, stream)
    outs = outs if isinstance(outs, tuple) else (outs,)
    sinks = []
    for i, s in enumerate(outs):
        sink = Flow.TestingSink()
        s.output(f"out{i}", sink)
        sinks.append(sink)
    return flow, sinks


def run(build, items, fuse, batch_size=4, workers=1, runner_kind="override", recovery=None):
    """Builds the flow with fusion on or off, runs it; returns the outputs,
    the per-step counts and the flow's mermaid graph."""
    old = _native.set_fusion(fuse)
    try:
        flow, sinks = build_flow(build, items, batch_size)
    finally:
        _native.set_fusion(old)
    runner = Flow.Runner.new(flow)
    runner.props.workers = workers
    if recovery is not None:
        runner.set_recovery_directory(str(recovery))
    if runner_kind == "native":
        _native.run(runner)
    else:
        runner.run()
    metrics = runner.get_metrics().unpack()
    # Batches depend on how the input was sliced in time (and the time on
    # the machine): the items count, and each fused step counts the batches
    # its first step got.
    counts = {step: {k: v for k, v in m.items() if k not in ("time_us", "batches")}
              for step, m in metrics["steps"].items()}
    steps = metrics["steps"]
    for step, m in steps.items():
        assert (m["batches"] > 0) == (m["items_in"] > 0), step
    values = [s.get_values() for s in sinks]
    return values, counts, flow.to_mermaid()


def both(build, items, **kwargs):
    """Runs fused and unfused; asserts they agree and returns the outputs."""
    fused = run(build, items, True, **kwargs)
    unfused = run(build, items, False, **kwargs)
    assert fused[0] == unfused[0]
    assert fused[1] == unfused[1]
    assert fused[2] == unfused[2]
    return fused[0]


def key_of(x):
    return type(x).__name__


def chain(flow, s):
    s = s.map("a", lambda x: x * 2 if type(x) is int else x)
    s = s.filter("f", lambda x: x != 4)
    s = s.filter_map("fm", lambda x: None if x == 6 else x)
    s = s.key_on("k", key_of)
    return s.stateful_map("count", lambda st, v: ((st or 0) + 1, (st or 0, v)))


@pytest.mark.parametrize("runner_kind", ["override", "native"])
@pytest.mark.parametrize("batch_size", [1, 3, 100])
def test_chain_of_every_kind_gives_the_same_outputs(runner_kind, batch_size):
    items = list(range(10)) + VALUES
    out = both(chain, items, batch_size=batch_size, runner_kind=runner_kind)[0]
    # the flow did its work: what the functions do, in a plain loop
    kept = [y for y in (x * 2 if type(x) is int else x for x in items)
            if y != 4 and (None if y == 6 else y) is not None]
    assert len(out) == len(kept)
    assert [v for _, (_, v) in out][:8] == [0, 2, 8, 10, 12, 14, 16, 18]
    assert collections.Counter(k for k, _ in out) == collections.Counter(map(key_of, kept))


def test_next_function_gets_what_it_gets_unfused():
    """Types, identity and copies: a value that does not round-trip is
    converted where the step returns it, so the next function gets a copy
    of the same type it gets unfused."""
    def record(flow, s):
        s = s.map("a", lambda x: x)
        s = s.map("b", lambda x: (type(x).__name__, repr(x)))
        return s

    out = both(record, VALUES)[0]
    assert ("int", "0") in out and ("float", "1.5") in out

    made = []

    def mutate(flow, s):
        def make(x):
            obj = [x]
            made.append(obj)
            return obj

        def change(obj):
            obj.append("changed")   # unfused, a copy: `made` is not changed
            return len(obj)

        return s.map("make", make).map("change", change)

    assert both(mutate, [1, 2, 3])[0] == [2, 2, 2]
    assert made == [[1], [2], [3]] * 2


def test_calls_in_the_same_order():
    """Each step's function is called on the whole batch before the next
    step's, as unfused."""
    def traced(log):
        def build(flow, s):
            s = s.map("a", lambda x: log.append(("a", x)) or x + 1)
            s = s.filter("f", lambda x: log.append(("f", x)) or x % 2 == 0)
            s = s.key_on("k", lambda x: log.append(("k", x)) or str(x % 3))
            return s.stateful_map("s", lambda st, v: log.append(("s", st, v)) or (v, v))
        return build

    fused_log, unfused_log = [], []
    fused = run(traced(fused_log), list(range(12)), True, batch_size=5)
    unfused = run(traced(unfused_log), list(range(12)), False, batch_size=5)
    assert fused[0] == unfused[0]
    assert fused_log == unfused_log
    assert fused_log[:6] == [("a", 0), ("a", 1), ("a", 2), ("a", 3), ("a", 4), ("f", 1)]


class Boom(Exception):
    pass


def boom_at(value):
    def fn(x):
        if x == value:
            raise Boom(f"bang at {x!r}")
        return x
    return fn


# The chain map a -> map b -> filter f -> filter_map fm -> key_on k ->
# stateful_map s, with the function of one position raising on one item.
POSITIONS = ["a", "b", "f", "fm", "k", "s"]


def failing_chain(position):
    def build(flow, s):
        def step(name, fn):
            return boom_at(6 if name == "a" else 12) if name == position else fn

        s = s.map("a", step("a", lambda x: x * 2))
        s = s.map("b", step("b", lambda x: x + 1 if x % 2 else x))
        s = s.filter("f", lambda x: (step("f", None) or (lambda y: y))(x) is not None)
        s = s.filter_map("fm", step("fm", lambda x: x))
        s = s.key_on("k", lambda x: str(step("k", lambda y: y)(x) % 2))
        return s.stateful_map("s", lambda st, v: (step("s", lambda y: y)(v), v))
    return build


def error_of(build, fuse, runner_kind):
    old = _native.set_fusion(fuse)
    try:
        flow, _ = build_flow(build, list(range(10)))
    finally:
        _native.set_fusion(old)
    runner = Flow.Runner.new(flow)
    if runner_kind == "native":
        with pytest.raises(GLib.Error) as info:
            _native.run(runner)
        exc = _native.take_pending_exception()
        assert isinstance(exc, Boom)
        return info.value.message, str(exc)
    with pytest.raises(Boom) as info:
        runner.run()
    return info.value.__notes__[0], str(info.value)


@pytest.mark.parametrize("runner_kind", ["native", pytest.param("override", marks=needs_override_native)])
@pytest.mark.parametrize("position", POSITIONS)
def test_an_exception_names_the_step_that_raised(position, runner_kind):
    fused = error_of(failing_chain(position), True, runner_kind)
    unfused = error_of(failing_chain(position), False, runner_kind)
    assert fused == unfused
    assert f"'t.{position}'" in fused[0]
    assert fused[1] == ("bang at 6" if position == "a" else "bang at 12")
    if runner_kind == "native":
        # the kind of step, its id, and the item (or key) it failed on
        expected = {
            "a": "map step 't.a' failed on item 6",
            "b": "map step 't.b' failed on item 12",
            "f": "filter step 't.f' failed on item 12",
            "fm": "filter_map step 't.fm' failed on item 12",
            "k": "key_on step 't.k' failed on item 12",
            "s": "stateful_map step 't.s' failed for key '0'",
        }[position]
        assert fused[0] == f"{expected}: Boom: {fused[1]}"


def test_a_value_that_cannot_be_carried_fails_in_the_step_that_returned_it():
    """The first map's result cannot be a libflow item; the next map would
    raise on it: unfused the first step fails, and fused too."""
    def build(flow, s):
        s = s.map("a", lambda x: (lambda: x) if x == 2 else x)
        return s.map("b", lambda x: 1 / 0 if callable(x) else x)

    messages = []
    for fuse in (True, False):
        old = _native.set_fusion(fuse)
        try:
            flow, _ = build_flow(build, [0, 1, 2, 3])
        finally:
            _native.set_fusion(old)
        with pytest.raises(GLib.Error) as info:
            _native.run(Flow.Runner.new(flow))
        assert isinstance(_native.take_pending_exception(), TypeError)
        messages.append(info.value.message)
    assert messages[0] == messages[1]
    assert messages[0].startswith("map step 't.a' failed on item 2: TypeError")


def test_key_errors_are_the_same():
    for fn, exc in ((lambda x: x, TypeError), (lambda x: "a\0b", ValueError)):
        messages = []
        for fuse in (True, False):
            old = _native.set_fusion(fuse)
            try:
                flow, _ = build_flow(lambda flow, s: s.map("a", lambda x: x + 1).key_on("k", fn), [5])
            finally:
                _native.set_fusion(old)
            with pytest.raises(GLib.Error) as info:
                _native.run(Flow.Runner.new(flow))
            assert isinstance(_native.take_pending_exception(), exc)
            messages.append(info.value.message)
        assert messages[0] == messages[1]
        assert messages[0].startswith("key_on step 't.k' failed on item 6: ")


def test_inspect_between_steps_sees_every_item():
    seen = {True: [], False: []}

    def build(fuse):
        def b(flow, s):
            s = s.map("a", lambda x: x * 3)
            s = s.inspect("look", lambda step, x: seen[fuse].append((step, x)))
            s = s.map("b", lambda x: x + 1)
            return s.key_on("k", lambda x: str(x % 2))
        return b

    fused = run(build(True), list(range(7)), True)
    unfused = run(build(False), list(range(7)), False)
    assert fused == unfused
    assert seen[True] == seen[False] == [("t.look", x * 3) for x in range(7)]
    assert fused[0][0] == [(str((x * 3 + 1) % 2), x * 3 + 1) for x in range(7)]


def test_a_stream_with_two_consumers_is_not_fused_past_it():
    def build(flow, s):
        s = s.map("a", lambda x: x + 1)
        left = s.map("l", lambda x: -x)
        right = s.filter("r", lambda x: x % 2 == 0).map("r2", str)
        return left, right

    out = both(build, list(range(6)))
    assert out == [[-1, -2, -3, -4, -5, -6], ["2", "4", "6"]]


def test_branch_and_merge_are_not_fused():
    def build(flow, s):
        s = s.map("a", lambda x: x + 1)
        evens, odds = s.branch("br", lambda x: x % 2 == 0)
        return evens.map("e", lambda x: x * 10).merge("m", [odds]).map("z", lambda x: x)

    out = both(build, list(range(6)), batch_size=10)[0]
    assert sorted(out) == [1, 3, 5, 20, 40, 60]


@pytest.mark.parametrize("workers", [2, 3])
def test_workers(workers):
    def build(flow, s):
        s = s.map("a", lambda x: x * 2)
        s = s.filter("f", lambda x: x % 3 != 0)
        s = s.key_on("k", lambda x: str(x % 5))
        s = s.stateful_map("count", lambda st, v: ((st or 0) + 1, (st or 0) + 1))
        return s.map("z", lambda kv: kv)

    items = list(range(200))
    fused = run(build, items, True, workers=workers)
    unfused = run(build, items, False, workers=workers)
    assert sorted(map(tuple, fused[0][0])) == sorted(map(tuple, unfused[0][0]))
    assert fused[1] == unfused[1]
    counts = collections.Counter(k for k, _ in fused[0][0])
    expected = collections.Counter(str(x * 2 % 5) for x in items if x * 2 % 3 != 0)
    assert counts == expected
    # each key's running count goes up by one, whatever the worker
    for key, n in expected.items():
        assert sorted(c for k, c in fused[0][0] if k == key) == list(range(1, n + 1))


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_sharing_a_thread_carry_objects_across_the_exchange(workers):
    """Python's workers share one thread: a fused chain goes on through
    the exchange in front of stateful_map, so every worker's stateful_map
    gets the very object the map made (unfused, or through a message, it
    would get an equal copy)."""
    made = {}

    def build(flow, s):
        def make(x):
            v = f"item-{x}-" * 2   # a new str object
            made[v] = v
            return v
        s = s.map("a", make).key_on("k", lambda v: v[5:-1])
        return s.stateful_map("same", lambda st, v: (None, v is made[v]))

    items = list(range(60))
    fused = run(build, items, True, workers=workers)
    # 60 keys: most are owned by a worker other than the one that read them
    assert len({k for k, _ in fused[0][0]}) == 60
    assert [same for _, same in fused[0][0]] == [True] * 60
    made.clear()
    unfused = run(build, items, False, workers=workers)
    assert [same for _, same in unfused[0][0]] == [False] * 60
    assert fused[1] == unfused[1]


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_an_exception_in_another_workers_step(workers):
    """A stateful_map raising for a key that another worker owns stops the
    run naming the step and the key, fused as unfused."""
    def build(flow, s):
        s = s.map("a", lambda x: x + 1).key_on("k", lambda x: f"key{x % 7}")
        return s.stateful_map("s", lambda st, v: (1 / 0 if v == 40 else v, v))

    messages = []
    for fuse in (True, False):
        old = _native.set_fusion(fuse)
        try:
            flow, _ = build_flow(build, list(range(60)))
        finally:
            _native.set_fusion(old)
        runner = Flow.Runner.new(flow)
        runner.props.workers = workers
        with pytest.raises(ZeroDivisionError) as info:
            runner.run()
        messages.append(info.value.__notes__[0])
    assert messages[0] == messages[1]
    assert "'t.s'" in messages[0] and "key5" in messages[0]


def test_workers_recovery_resumes_the_fused_state(tmp_path):
    """With 2 workers, the state of a chain crossing the exchange is
    snapshotted and resumed (with 3 workers) as unfused."""
    from flow.recovery import init_db_dir

    def build(flow, s):
        s = s.map("a", lambda x: x + 1).key_on("k", lambda x: str(x % 5))
        return s.stateful_map("sum", lambda st, v: ((st or 0) + v, (st or 0) + v))

    results = {}
    for fuse in (True, False):
        db = tmp_path / f"db{fuse}"
        db.mkdir()
        init_db_dir(db, 2)
        first = run(build, list(range(40)), fuse, workers=2, recovery=db)
        second = run(build, list(range(40, 60)), fuse, workers=3, recovery=db)
        results[fuse] = (sorted(map(tuple, first[0][0])), sorted(map(tuple, second[0][0])),
                         first[1], second[1])
    assert results[True] == results[False]
    # the second run's sums go on from the first's
    final = {}
    for k, total in results[True][1]:
        final[k] = max(final.get(k, 0), total)
    assert final == {str(k): sum(x + 1 for x in range(60) if (x + 1) % 5 == k) for k in range(5)}


def test_recovery_resumes_the_fused_state(tmp_path):
    """A fused stateful_map's state is snapshotted and restored as
    unfused: two runs on one recovery directory, fused and unfused."""
    from flow.recovery import init_db_dir

    def build(flow, s):
        s = s.map("a", lambda x: x + 1).key_on("k", lambda x: str(x % 2))
        return s.stateful_map("sum", lambda st, v: (None if (st or 0) > 100 else (st or 0) + v, st))

    results = {}
    for fuse in (True, False):
        db = tmp_path / f"db{fuse}"
        db.mkdir()
        init_db_dir(db, 1)
        first = run(build, [1, 2, 3, 99], fuse, recovery=db)
        second = run(build, [4, 5, 6], fuse, recovery=db)
        results[fuse] = (first, second)
    assert results[True] == results[False]
    assert results[True][0][0][0] == [("0", None), ("1", None), ("0", 2), ("0", 6)]
    # the second run resumed each key's sum; "0" went over 100: discarded
    assert results[True][1][0][0] == [("1", 3), ("0", 106), ("1", 8)]



def test_keyed_items_into_a_chain():
    """A chain after a stateful step gets keyed items, whole (key, value)
    tuples, as unfused."""
    def build(flow, s):
        s = s.key_on("k1", lambda x: str(x % 3))
        s = s.stateful_map("s1", lambda st, v: ((st or 0) + v, (st or 0) + v))
        s = s.map("p", lambda kv: (kv[0], kv[1], type(kv).__name__))
        s = s.filter("q", lambda t: t[1] % 2 == 0)
        s = s.key_on("k2", lambda t: t[0] + t[2])
        return s.stateful_map("s2", lambda st, t: ((st or 0) + 1, t[1]))

    out = both(build, list(range(20)), batch_size=6)[0]
    sums = {}
    expected = []
    for x in range(20):
        k = str(x % 3)
        sums[k] = sums.get(k, 0) + x
        if sums[k] % 2 == 0:
            expected.append((k + "tuple", sums[k]))
    assert out == expected
