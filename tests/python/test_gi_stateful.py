# SPDX-License-Identifier: LGPL-2.1-or-later
"""stateful and stateful_batch from the GI API: Python subclasses of
Flow.StatefulLogic / Flow.StatefulBatchLogic (do_on_item, ...), plain
Python values, notifications on a test clock, errors naming step and key,
and resume."""

import datetime

import gi
import pytest

gi.require_version("Flow", "1")
from gi.repository import Flow, GLib  # noqa: E402

START = 1_700_000_000 * 1_000_000
UTC = datetime.timezone.utc


class Counter(Flow.StatefulLogic):
    """Counts its key's values; asks to be notified ``delay`` seconds after
    its first value; emits the count at the notification and at EOF."""

    def __init__(self, key, state, delay=None, log=None):
        super().__init__()
        self.key = key
        self.count, self.at = state if state is not None else (0, None)
        self.delay = delay
        self.log = log if log is not None else []

    def do_on_item(self, value):
        self.log.append(("item", self.key, value))
        self.count += 1
        if self.count == 1 and self.delay is not None:
            now = datetime.datetime.fromtimestamp(Flow.get_real_time() / 1e6, UTC)
            self.at = now + datetime.timedelta(seconds=self.delay)
        return [self.count], Flow.StatefulLogic.RETAIN

    def do_on_notify(self):
        self.log.append(("notify", self.key))
        self.at = None
        return [f"notified {self.count}"], self.DISCARD

    def do_on_eof(self):
        self.log.append(("eof", self.key))
        return [f"eof {self.count}"], self.RETAIN

    def do_notify_at(self):
        return self.at

    def do_snapshot(self):
        return (self.count, self.at and (self.at - datetime.datetime(1970, 1, 1, tzinfo=UTC))
                // datetime.timedelta(microseconds=1))


def run(items, build, batch_size=1, pauses=(), recovery=None):
    flow = Flow.Dataflow("t")
    source = Flow.TestingSource(items, batch_size=batch_size)
    for position, seconds in pauses:
        source.add_marker(position, Flow.TestingMarker.PAUSE, seconds)
    out = build(flow.input("inp", source))
    sink = Flow.TestingSink()
    out.output("out", sink)
    runner = Flow.Runner.new(flow)
    runner.set_test_clock(Flow.TestClock.new(START))
    if recovery is not None:
        runner.set_recovery_directory(str(recovery))
    runner.run()
    return sink.get_values()


def test_subclass_counts_per_key():
    log = []
    out = run([("a", 1), ("b", 2), ("a", 3)],
              lambda s: s.stateful("count", lambda key, state: Counter(key, state, log=log)))
    assert out == [("a", 1), ("b", 1), ("a", 2), ("a", "eof 2"), ("b", "eof 1")]
    assert log == [("item", "a", 1), ("item", "b", 2), ("item", "a", 3), ("eof", "a"), ("eof", "b")]


def test_one_batch_in_key_order():
    out = run([("b", 1), ("a", 2), ("b", 3)],
              lambda s: s.stateful("count", lambda key, state: Counter(key, state)), batch_size=10)
    assert out == [("a", 1), ("b", 1), ("b", 2), ("a", "eof 1"), ("b", "eof 2")]


def test_notifications_in_order_of_time():
    delays = {"a": 30, "b": 10}
    out = run([("a", 1), ("b", 2), ("c", 3)],
              lambda s: s.stateful("count", lambda key, state: Counter(key, state, delays.get(key))),
              pauses=[(2, 600)])
    assert out == [("a", 1), ("b", 1), ("b", "notified 1"), ("a", "notified 1"),
                   ("c", 1), ("c", "eof 1")]


def test_batch_logic():
    class Batcher(Flow.StatefulBatchLogic):
        def do_on_batch(self, values):
            return [values], self.RETAIN

        def do_snapshot(self):
            return None

    out = run([("a", 1), ("b", 2), ("a", 3), ("a", 4)],
              lambda s: s.stateful_batch("batches", lambda key, state: Batcher()), batch_size=3)
    assert out == [("a", [1, 3]), ("b", [2]), ("a", [4])]


def test_resume(tmp_path):
    Flow.recovery_init_dir(str(tmp_path), 1)
    log = []

    def build(s):
        return s.stateful("count", lambda key, state: Counter(
            key, state, 3600 if key == "a" else None, log))

    assert run([("a", 1)], build, recovery=tmp_path) == [("a", 1), ("a", "eof 1")]
    # The second run resumes a (count 1, notification at +1 h): the pause
    # of two hours lets it fire, although a gets no item.
    assert run([("b", 5), ("b", 6)], build, pauses=[(1, 7200)], recovery=tmp_path) == [
        ("b", 1), ("a", "notified 1"), ("b", 2), ("b", "eof 2")]


class Broken(Flow.StatefulLogic):
    def __init__(self, how):
        super().__init__()
        self.how = how

    def do_on_item(self, value):
        if self.how == "raise":
            raise KeyError(f"no {value}")
        if self.how == "shape":
            return 5
        if self.how == "discard":
            return [], "yes"
        return [], False

    def do_notify_at(self):
        if self.how == "naive":
            return datetime.datetime(2030, 1, 1)
        return None

    def do_snapshot(self):
        return 0


def test_exception_in_on_item_names_step_and_key():
    with pytest.raises(KeyError) as info:
        run([("k1", 7)], lambda s: s.stateful("st", lambda key, state: Broken("raise")))
    assert info.value.args == ("no 7",)
    assert "stateful step 't.st' failed for key 'k1': on_item()" in "\n".join(info.value.__notes__)


@pytest.mark.parametrize("how,message", [
    ("shape", "on_item() must return a 2-tuple (emit, discard), not int (5)"),
    ("discard", "on_item(): discard must be a bool (RETAIN or DISCARD), not str ('yes')"),
])
def test_wrong_shape(how, message):
    with pytest.raises(TypeError) as info:
        run([("k1", 7)], lambda s: s.stateful("st", lambda key, state: Broken(how)))
    assert str(info.value) == message
    assert "stateful step 't.st' failed for key 'k1'" in "\n".join(info.value.__notes__)


def test_naive_notify_at():
    with pytest.raises(ValueError) as info:
        run([("k1", 7)], lambda s: s.stateful("st", lambda key, state: Broken("naive")))
    assert "aware datetime" in str(info.value)
    assert "failed for key 'k1': notify_at()" in "\n".join(info.value.__notes__)


def test_builder_returning_no_logic():
    with pytest.raises(TypeError) as info:
        run([("k1", 7)], lambda s: s.stateful("st", lambda key, state: {"count": 0}))
    assert str(info.value) == "the builder must return a Flow.StatefulLogic, not dict ({'count': 0})"
    assert "stateful step 't.st' failed for key 'k1': builder" in "\n".join(info.value.__notes__)


def test_batch_builder_returning_a_stateful_logic():
    with pytest.raises(TypeError) as info:
        run([("k1", 7)], lambda s: s.stateful_batch("st", lambda key, state: Broken("ok")))
    assert "must return a Flow.StatefulBatchLogic, not Broken" in str(info.value)


def test_failed_epoch_is_not_committed(tmp_path):
    """A failure in the first epoch commits nothing: the next run starts
    afresh (the builder gets no resume state)."""
    Flow.recovery_init_dir(str(tmp_path), 1)
    states = []

    def build(key, state):
        states.append(state)
        return Broken("raise" if state is None and len(states) == 1 else "ok")

    with pytest.raises(KeyError):
        run([("k1", 7), ("k1", 8)],
            lambda s: s.stateful("st", build), recovery=tmp_path)
    assert run([("k1", 7)], lambda s: s.stateful("st", build), recovery=tmp_path) == []
    assert states == [None, None]


def test_filter_map_value():
    out = run([("a", 0), ("b", 1), ("a", 2), ("b", 3)],
              lambda s: s.filter_map_value("odd", lambda v: None if v % 2 else v + 1))
    assert out == [("a", 1), ("a", 3)]


def test_raises():
    flow = Flow.Dataflow("t")
    flow.input("inp", Flow.TestingSource([5, 6])).raises("boom")
    with pytest.raises(GLib.Error) as info:
        Flow.Runner.new(flow).run()
    assert info.value.matches(Flow.error_quark(), Flow.Error.FAILED)
    assert info.value.message == "raises step 't.boom' got an item: 5"


def test_notify_at_in_microseconds():
    """do_notify_at may return UTC µs (Flow.get_real_time()'s clock)."""
    class Once(Flow.StatefulLogic):
        def __init__(self):
            super().__init__()
            self.at = None

        def do_on_item(self, value):
            self.at = Flow.get_real_time() + 5_000_000
            return [], False

        def do_on_notify(self):
            late = Flow.get_real_time() - self.at
            self.at = None
            return [late], True

        def do_notify_at(self):
            return self.at

        def do_snapshot(self):
            return self.at

    # The test clock jumps to the notification exactly: 0 µs late.
    assert run([("k", 1), ("k", 2)], lambda s: s.stateful("once", lambda k, st: Once()),
               pauses=[(1, 60)]) == [("k", 0)]
