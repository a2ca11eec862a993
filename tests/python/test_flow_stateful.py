# SPDX-License-Identifier: LGPL-2.1-or-later
"""flow.operators.stateful / stateful_batch with Bytewax's plain-Python
StatefulLogic / StatefulBatchLogic: what Bytewax 0.21 documents for them
(RETAIN/DISCARD after each method, on_eof for every key, notifications,
snapshots per key across resumes, a discarded logic forgotten by
recovery), plus the errors of bad logics."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

import flow.operators as op
from flow.dataflow import Dataflow
from flow.errors import FlowRuntimeError
from flow.operators import StatefulBatchLogic, StatefulLogic
from flow.recovery import RecoveryConfig, init_db_dir
from flow.testing import TestingSink, TestingSource, run_main

ZERO_TD = timedelta(seconds=0)


class Transitions(StatefulLogic):
    """Emits (old state, new state) at every call; the class attributes say
    what it answers."""

    notify_after_item = False
    after_item = StatefulLogic.RETAIN
    after_notify = StatefulLogic.RETAIN
    after_eof = StatefulLogic.RETAIN

    def __init__(self, resume_state):
        self.state = "NEW" if resume_state is None else resume_state
        self.at = None

    def _go(self, new, answer):
        old, self.state = self.state, new
        return [(old, new)], answer

    def on_item(self, value):
        if self.notify_after_item:
            self.at = datetime.now(timezone.utc)
        return self._go("ITEM", self.after_item)

    def on_notify(self):
        self.at = None
        return self._go("NOTIFY", self.after_notify)

    def on_eof(self):
        return self._go("EOF", self.after_eof)

    def notify_at(self):
        return self.at

    def snapshot(self):
        return self.state


def build_all(logic_cls, inp, out):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp))
    s = op.key_on("key", s, lambda _x: "ALL")
    s = op.stateful("stateful", s, logic_cls)
    op.output("out", s, TestingSink(out))
    return flow


def run(flow, out, recovery_config=None):
    """Runs ``flow`` (again: a TestingSource aborts once) and returns what
    this run emitted."""
    out.clear()
    run_main(flow, epoch_interval=ZERO_TD, recovery_config=recovery_config)
    return list(out)


def run_all(logic_cls, inp, recovery_config=None):
    out = []
    return run(build_all(logic_cls, inp, out), out, recovery_config)


@pytest.fixture
def recovery(tmp_path):
    init_db_dir(tmp_path, 1)
    return RecoveryConfig(str(tmp_path), backup_interval=ZERO_TD)


@pytest.mark.parametrize("answer,expected", [
    (StatefulLogic.DISCARD, [("ALL", ("NEW", "ITEM")), ("ALL", ("NEW", "ITEM"))]),
    (StatefulLogic.RETAIN, [("ALL", ("NEW", "ITEM")), ("ALL", ("ITEM", "ITEM"))]),
])
def test_after_item(answer, expected):
    class Logic(Transitions):
        after_item = answer
    assert run_all(Logic, ["x", "y", TestingSource.ABORT()]) == expected


@pytest.mark.parametrize("answer,second", [
    (StatefulLogic.DISCARD, ("NEW", "ITEM")),
    (StatefulLogic.RETAIN, ("NOTIFY", "ITEM")),
])
def test_after_notify(answer, second):
    """A notification due at once fires before the next item."""
    class Logic(Transitions):
        notify_after_item = True
        after_notify = answer
    assert run_all(Logic, ["x", "y", TestingSource.ABORT()]) == [
        ("ALL", ("NEW", "ITEM")), ("ALL", ("ITEM", "NOTIFY")),
        ("ALL", second), ("ALL", ("ITEM", "NOTIFY"))]


@pytest.mark.parametrize("answer,resumed", [
    (StatefulLogic.DISCARD, ("NEW", "ITEM")),
    (StatefulLogic.RETAIN, ("EOF", "ITEM")),
])
def test_after_eof_and_resume(recovery, answer, resumed):
    class Logic(Transitions):
        after_eof = answer
    out = []
    flow = build_all(Logic, ["x", TestingSource.EOF(), "y", TestingSource.ABORT()], out)
    assert run(flow, out, recovery) == [("ALL", ("NEW", "ITEM")), ("ALL", ("ITEM", "EOF"))]
    # The logic kept after on_eof is resumed; a discarded one is not.
    assert run(flow, out, recovery) == [("ALL", resumed)]


class Last(StatefulLogic):
    """Keeps the last value; discards on the value "DISCARD"."""

    def __init__(self, resume_state):
        self.last = resume_state

    def on_item(self, value):
        old, self.last = self.last, value
        return [(old, value)], value == "DISCARD"

    def snapshot(self):
        return self.last


def build_keyed(inp, out):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp))
    s = op.stateful("stateful", s, Last)
    op.output("out", s, TestingSink(out))
    return flow


def run_keyed(inp, recovery_config=None):
    out = []
    return run(build_keyed(inp, out), out, recovery_config)


def test_logic_per_key():
    assert run_keyed([("a", "a1"), ("b", "b1"), ("a", "a2"), ("b", "b2")]) == [
        ("a", (None, "a1")), ("b", (None, "b1")), ("a", ("a1", "a2")), ("b", ("b1", "b2"))]


def test_snapshot_per_key(recovery):
    out = []
    flow = build_keyed([("a", "a1"), ("b", "b1"), ("a", "DISCARD"), TestingSource.ABORT(),
                        ("a", "a2"), ("b", "b2")], out)
    assert run(flow, out, recovery) == [
        ("a", (None, "a1")), ("b", (None, "b1")), ("a", ("a1", "DISCARD"))]
    # b resumes from its snapshot; a was discarded, so it starts afresh.
    assert run(flow, out, recovery) == [("a", (None, "a2")), ("b", ("b1", "b2"))]


def test_batch_logic():
    class Sums(StatefulBatchLogic):
        def __init__(self, resume_state):
            self.total = resume_state or 0

        def on_batch(self, values):
            self.total += sum(values)
            return [list(values)], self.RETAIN

        def on_eof(self):
            return [self.total], self.DISCARD

        def snapshot(self):
            return self.total

    out = []
    flow = Dataflow("test_df")
    src = TestingSource([("a", 1), ("b", 2), ("a", 3), ("a", 4)], batch_size=3)
    s = op.stateful_batch("sums", op.input("inp", flow, src), Sums)
    op.output("out", s, TestingSink(out))
    run_main(flow)
    assert out == [("a", [1, 3]), ("b", [2]), ("a", [4]), ("a", 8), ("b", 2)]


def test_builder_must_return_a_logic():
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([("a", 1)]))
    s = op.stateful("st", s, lambda state: object())
    op.output("out", s, TestingSink([]))
    with pytest.raises(FlowRuntimeError) as info:
        run_main(flow)
    cause = info.value.__cause__
    assert isinstance(cause, TypeError)
    assert "must return a `flow.operators.StatefulLogic`" in str(cause)
    assert "'test_df.st'" in str(cause)
    assert "stateful step 'test_df.st' failed for key 'a': builder" in str(info.value)


def test_on_item_must_return_a_pair():
    class Bad(StatefulLogic):
        def __init__(self, _state):
            pass

        def on_item(self, value):
            return value

        def snapshot(self):
            return None

    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([("a", 1)]))
    op.output("out", op.stateful("st", s, Bad), TestingSink([]))
    with pytest.raises(FlowRuntimeError) as info:
        run_main(flow)
    assert isinstance(info.value.__cause__, TypeError)
    assert "`on_item` must return a 2-tuple of `(emit, discard)`" in str(info.value.__cause__)
    assert "stateful step 'test_df.st' failed for key 'a': on_item()" in str(info.value)


def test_exception_in_on_item():
    class Boom(Last):
        def on_item(self, value):
            raise ZeroDivisionError("boom")

    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([("k", 1)]))
    op.output("out", op.stateful("st", s, Boom), TestingSink([]))
    with pytest.raises(FlowRuntimeError) as info:
        run_main(flow)
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert "stateful step 'test_df.st' failed for key 'k': on_item(): ZeroDivisionError: boom" \
        == str(info.value)


@dataclass
class Held:
    """A state of no plain type: it travels pickled."""
    items: list = field(default_factory=list)
    due: datetime = None


class Holder(StatefulLogic):
    """Holds values until a notification a minute after the first one."""

    def __init__(self, resume_state):
        self.state = resume_state if resume_state is not None else Held()

    def on_item(self, value):
        if self.state.due is None:
            self.state.due = datetime.now(timezone.utc) + timedelta(minutes=1)
        self.state.items.append(value)
        return [], self.RETAIN

    def on_notify(self):
        return [("late", list(self.state.items))], self.DISCARD

    def on_eof(self):
        return [("eof", list(self.state.items))], self.RETAIN

    def notify_at(self):
        return self.state.due

    def snapshot(self):
        return Held(list(self.state.items), self.state.due)


def test_pickled_state_resumes(recovery):
    """The snapshot (a dataclass, pickled) comes back to the builder, and
    the logic keeps holding what it held."""
    out = []
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([("a", 1), ("a", 2), TestingSource.EOF(), ("a", 3)]))
    op.output("out", op.stateful("hold", s, Holder), TestingSink(out))
    assert run(flow, out, recovery) == [("a", ("eof", [1, 2]))]
    assert run(flow, out, recovery) == [("a", ("eof", [1, 2, 3]))]
