# SPDX-License-Identifier: LGPL-2.1-or-later
"""Clocks and windowers written in Python, as in Bytewax: subclasses of
Clock/ClockLogic and Windower/WindowerLogic in the window operators
(through the virtual methods of Flow.WindowClock and Flow.Windower), their
snapshots through the recovery partitions, and their errors."""

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Dict, Optional

import flow.operators as op
import flow.operators.windowing as win
import pytest
from flow.dataflow import Dataflow
from flow.errors import FlowRuntimeError
from flow.operators.windowing import (
    UTC_MAX,
    ZERO_TD,
    Clock,
    ClockLogic,
    EventClock,
    TumblingWindower,
    WindowMetadata,
    Windower,
    WindowerLogic,
)
from flow.recovery import RecoveryConfig, init_db_dir
from flow.testing import TestingSink, TestingSource, run_main

UTC = timezone.utc
ALIGN = datetime(2022, 1, 1, tzinfo=UTC)


def _at(seconds):
    return ALIGN + timedelta(seconds=seconds)


# A clock of the event time in the values (seconds after ALIGN): the
# watermark is the latest timestamp seen minus `wait` (no system time).
@dataclass
class _ValueClockLogic(ClockLogic):
    wait: timedelta
    max_seen: Optional[datetime] = None
    calls: list = field(default_factory=list)

    def before_batch(self):
        pass

    def on_item(self, value):
        ts = _at(value)
        if self.max_seen is None or ts > self.max_seen:
            self.max_seen = ts
        return ts, self.max_seen - self.wait

    def on_notify(self):
        return self.max_seen - self.wait if self.max_seen else win.UTC_MIN

    def on_eof(self):
        return UTC_MAX

    def to_system_utc(self, timestamp):
        return None

    def snapshot(self):
        return self.max_seen


@dataclass
class ValueClock(Clock):
    wait: timedelta = ZERO_TD
    built: list = field(default_factory=list)

    def build(self, resume_state):
        self.built.append(resume_state)
        return _ValueClockLogic(self.wait, resume_state)


# Fixed windows of `length` from ALIGN, as TumblingWindower's: window i
# holds [ALIGN + i * length, ALIGN + (i + 1) * length).
@dataclass
class _FixedLogic(WindowerLogic):
    length: timedelta
    opened: Dict[int, datetime]

    def _id(self, timestamp):
        return (timestamp - ALIGN) // self.length

    def open_for(self, timestamp):
        wid = self._id(timestamp)
        self.opened.setdefault(wid, ALIGN + self.length * (wid + 1))
        return [wid]

    def late_for(self, timestamp):
        return [self._id(timestamp)]

    def merged(self):
        return []

    def close_for(self, watermark):
        closed = sorted(wid for wid, close in self.opened.items() if close <= watermark)
        out = []
        for wid in closed:
            close = self.opened.pop(wid)
            out.append((wid, WindowMetadata(close - self.length, close)))
        return out

    def notify_at(self):
        return min(self.opened.values(), default=None)

    def is_empty(self):
        return not self.opened

    def snapshot(self):
        return dict(self.opened)


@dataclass
class FixedWindower(Windower):
    length: timedelta

    def build(self, resume_state):
        return _FixedLogic(self.length, dict(resume_state or {}))


ITEMS = [("a", 1), ("b", 2), ("a", 5), ("a", 12), ("b", 3), ("a", 4),
         ("b", 25), ("a", 21), ("b", 11)]


def _flow(items, clock, windower, out, late=None, meta=None):
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource(items))
    wo = win.collect_window("c", s, clock, windower)
    op.output("out", wo.down, TestingSink(out))
    if late is not None:
        op.output("late", wo.late, TestingSink(late))
    if meta is not None:
        op.output("meta", wo.meta, TestingSink(meta))
    return flow


def test_custom_clock_and_windower_as_the_built_in_ones():
    # The same items through the Python clock and windower, and through
    # EventClock and TumblingWindower defined the same way: same windows,
    # same late items, same metadata.
    ten = timedelta(seconds=10)
    runs = {}
    for name, clock, windower in [
        ("python", ValueClock(), FixedWindower(ten)),
        ("builtin", EventClock(lambda v: _at(v), ZERO_TD), TumblingWindower(ten, ALIGN)),
        ("python clock", ValueClock(), TumblingWindower(ten, ALIGN)),
        ("python windower", EventClock(lambda v: _at(v), ZERO_TD), FixedWindower(ten)),
    ]:
        out, late, meta = [], [], []
        run_main(_flow(ITEMS, clock, windower, out, late, meta))
        runs[name] = (sorted(out), sorted(late), sorted(meta, key=repr))
    assert runs["python"] == runs["builtin"] == runs["python clock"] == runs["python windower"]
    out, late, meta = runs["python"]
    # Worked out by hand: 'a' 4 comes after 12 (watermark 12), late for
    # window 0; 'b' 11 after 25, late for window 1.
    assert out == [("a", (0, [1, 5])), ("a", (1, [12])), ("a", (2, [21])),
                   ("b", (0, [2, 3])), ("b", (2, [25]))]
    assert late == [("a", (0, 4)), ("b", (1, 11))]
    assert ("a", (1, WindowMetadata(_at(10), _at(20)))) in meta


def test_custom_logic_is_built_per_key():
    clock = ValueClock()
    run_main(_flow(ITEMS, clock, FixedWindower(timedelta(seconds=10)), []))
    # One logic per key, none resumed ('a' and 'b' keep a window open
    # until the end, so they are never dropped).
    assert clock.built == [None, None]


def test_custom_clock_and_windower_resume(tmp_path):
    ten = timedelta(seconds=10)
    ref = []
    run_main(_flow(ITEMS, ValueClock(), FixedWindower(ten), ref))

    init_db_dir(tmp_path, 1)
    config = RecoveryConfig(str(tmp_path))
    out = []
    clock = ValueClock()
    aborted = ITEMS[:4] + [TestingSource.ABORT()] + ITEMS[4:]
    flow = _flow(aborted, clock, FixedWindower(ten), out)
    run_main(flow, epoch_interval=ZERO_TD, recovery_config=config)
    assert out == [("a", (0, [1, 5]))]
    tool = os.environ.get("FLOW_RECOVERY_TOOL") or shutil.which("flow-recovery")
    if tool is not None:
        # The logic's snapshots are in the key's state, readable.
        shown = subprocess.run([tool, "show", str(tmp_path)], check=True,
                               capture_output=True, text=True).stdout
        assert ("'a': windows {1: [12]}, watermark 2022-01-01T00:00:12Z, windower "
                "{1: datetime.datetime(2022, 1, 1, 0, 0, 20, tzinfo=datetime.timezone.utc)}, "
                "clock datetime.datetime(2022, 1, 1, 0, 0, 12, tzinfo=datetime.timezone.utc)") in shown
    run_main(flow, epoch_interval=ZERO_TD, recovery_config=config)
    # Each window once, with all its items, as without the abort: the
    # windows open at the abort ('a' 1, 'b' 0) and the watermarks came
    # back from the snapshots.
    assert sorted(out) == sorted(ref)
    # The resumed clocks got their snapshots (the latest timestamps).
    assert sorted(s for s in clock.built if s is not None) == [_at(2), _at(12)]


class _BadOnItem(_ValueClockLogic):
    def on_item(self, value):
        if value == 3:
            return _at(value)           # not a (timestamp, watermark) pair
        return super().on_item(value)


@dataclass
class BadClock(ValueClock):
    def build(self, resume_state):
        return _BadOnItem(self.wait, resume_state)


def test_wrong_shape_names_step_key_and_method():
    out = []
    flow = _flow([("a", 1), ("b", 3)], BadClock(), FixedWindower(timedelta(seconds=10)), out)
    with pytest.raises(FlowRuntimeError,
                       match="collect_window step 'df.c.window' failed for key 'b'") as info:
        run_main(flow)
    cause = info.value.__cause__
    assert isinstance(cause, TypeError)
    assert "_BadOnItem.on_item must return a (timestamp, watermark) tuple" in str(cause)
    assert out == []


class _BadIds(_FixedLogic):
    def open_for(self, timestamp):
        return ["zero"]


@dataclass
class BadWindower(FixedWindower):
    def build(self, resume_state):
        return _BadIds(self.length, {})


def test_windower_wrong_shape_names_step_and_key():
    flow = _flow([("k", 1)], ValueClock(), BadWindower(timedelta(seconds=10)), [])
    with pytest.raises(FlowRuntimeError,
                       match="collect_window step 'df.c.window' failed for key 'k'") as info:
        run_main(flow)
    assert isinstance(info.value.__cause__, TypeError)
    assert "_BadIds.open_for must return int window ids, not str 'zero'" in str(info.value.__cause__)


def test_naive_datetime_from_custom_clock():
    class Naive(_ValueClockLogic):
        def on_notify(self):
            return datetime(2022, 1, 1)

    class NaiveClock(ValueClock):
        def build(self, resume_state):
            return Naive(self.wait)

    # on_notify is called at a wake-up: none here (to_system_utc gives
    # None), so the bad value is never seen; on_item's are fine.
    out = []
    run_main(_flow([("k", 1)], NaiveClock(), FixedWindower(timedelta(seconds=10)), out))
    assert out == [("k", (0, [1]))]

    class NaiveItem(_ValueClockLogic):
        def on_item(self, value):
            return datetime(2022, 1, 1), datetime(2022, 1, 1)

    class NaiveItemClock(ValueClock):
        def build(self, resume_state):
            return NaiveItem(self.wait)

    with pytest.raises(FlowRuntimeError, match="failed for key 'k'") as info:
        run_main(_flow([("k", 1)], NaiveItemClock(), FixedWindower(timedelta(seconds=10)), []))
    assert isinstance(info.value.__cause__, ValueError)
    assert "NaiveItem.on_item must be an aware datetime, not the naive" in str(info.value.__cause__)


def test_build_must_return_a_logic():
    class NoLogic(Windower):
        def build(self, resume_state):
            return 42

    with pytest.raises(FlowRuntimeError, match="failed for key 'k'") as info:
        run_main(_flow([("k", 1)], ValueClock(), NoLogic(), []))
    assert isinstance(info.value.__cause__, TypeError)
    assert "NoLogic.build must return a WindowerLogic" in str(info.value.__cause__)


def test_not_a_clock_is_refused():
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource([("k", 1)]))
    with pytest.raises(TypeError, match="clock must be a Clock"):
        win.collect_window("c", s, object(), FixedWindower(timedelta(seconds=1)))
    with pytest.raises(TypeError, match="windower must be a Windower"):
        win.collect_window("c2", s, ValueClock(), object())


class _Unpicklable(_FixedLogic):
    def snapshot(self):
        return lambda: "not a state"


@dataclass
class UnpicklableWindower(FixedWindower):
    def build(self, resume_state):
        return _Unpicklable(self.length, {})


def test_snapshot_that_does_not_convert_names_step_and_key(tmp_path):
    # Snapshots are taken only with recovery on; one that cannot be stored
    # stops the run before its epoch is committed.
    init_db_dir(tmp_path, 1)
    config = RecoveryConfig(str(tmp_path))
    out = []
    flow = _flow([("k", 1)], ValueClock(), UnpicklableWindower(timedelta(seconds=10)), out)
    run_main(_flow([("k", 1)], ValueClock(), UnpicklableWindower(timedelta(seconds=10)), []))
    with pytest.raises(FlowRuntimeError,
                       match="collect_window step 'df.c.window' failed for key 'k': snapshot"):
        run_main(flow, epoch_interval=ZERO_TD, recovery_config=config)
    assert out == []
