# SPDX-License-Identifier: LGPL-2.1-or-later
"""flow.operators.windowing: Bytewax's documented windowing example, the
containers of collect_window, wake-ups on the test clock, and bad input.

Bytewax's own windowing tests run in tests/python/bytewax/test_windowing.py.
"""

from datetime import datetime, timedelta, timezone

import flow.operators as op
import flow.operators.windowing as win
import gi
import pytest
from flow.connectors.stdio import StdOutSink
from flow.dataflow import Dataflow
from flow.errors import FlowRuntimeError
from flow.operators.windowing import (
    ZERO_TD,
    Clock,
    EventClock,
    SessionWindower,
    TumblingWindower,
    WindowMetadata,
)
from flow.testing import TestingSink, TestingSource, run_main

gi.require_version("Flow", "1")
from gi.repository import Flow  # noqa: E402

UTC = timezone.utc
ALIGN = datetime(2022, 1, 1, tzinfo=UTC)


def test_documented_windowing_example(capsys):
    # Bytewax's docs/guide/getting-started/collecting-windowing-example.md,
    # "Windowing", with bytewax.operators.window -> flow.operators.windowing.
    flow = Dataflow("windowing")

    align_to = datetime(2022, 1, 1, tzinfo=timezone.utc)
    inp = [
        {"time": align_to, "user": "a", "val": 1},
        {"time": align_to + timedelta(seconds=4), "user": "a", "val": 1},
        {"time": align_to + timedelta(seconds=5), "user": "b", "val": 1},
        {"time": align_to + timedelta(seconds=8), "user": "a", "val": 1},
        {"time": align_to + timedelta(seconds=12), "user": "a", "val": 1},
        {"time": align_to + timedelta(seconds=13), "user": "a", "val": 1},
        {"time": align_to + timedelta(seconds=14), "user": "b", "val": 1},
    ]
    stream = op.input("input", flow, TestingSource(inp))
    keyed_stream = op.key_on("key_on_user", stream, lambda e: e["user"])
    clock = EventClock(lambda e: e["time"], wait_for_system_duration=timedelta(seconds=0))
    windower = TumblingWindower(length=timedelta(seconds=10), align_to=align_to)
    win_out = win.collect_window("add", keyed_stream, clock, windower)
    op.output("out", win_out.down, StdOutSink())
    run_main(flow)

    # The output the documentation shows.
    assert capsys.readouterr().out == (
        "('a', (0, [{'time': datetime.datetime(2022, 1, 1, 0, 0, tzinfo=datetime.timezone.utc), 'user': 'a', 'val': 1}, {'time': datetime.datetime(2022, 1, 1, 0, 0, 4, tzinfo=datetime.timezone.utc), 'user': 'a', 'val': 1}, {'time': datetime.datetime(2022, 1, 1, 0, 0, 8, tzinfo=datetime.timezone.utc), 'user': 'a', 'val': 1}]))\n"  # noqa: E501
        "('b', (0, [{'time': datetime.datetime(2022, 1, 1, 0, 0, 5, tzinfo=datetime.timezone.utc), 'user': 'b', 'val': 1}]))\n"  # noqa: E501
        "('a', (1, [{'time': datetime.datetime(2022, 1, 1, 0, 0, 12, tzinfo=datetime.timezone.utc), 'user': 'a', 'val': 1}, {'time': datetime.datetime(2022, 1, 1, 0, 0, 13, tzinfo=datetime.timezone.utc), 'user': 'a', 'val': 1}]))\n"  # noqa: E501
        "('b', (1, [{'time': datetime.datetime(2022, 1, 1, 0, 0, 14, tzinfo=datetime.timezone.utc), 'user': 'b', 'val': 1}]))\n"  # noqa: E501
    )


def _seconds_flow(values, build):
    """A flow over ``(key, seconds)`` items whose timestamp is ALIGN +
    seconds; ``build(keyed, clock)`` returns a WindowOut."""
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource(values))
    clock = EventClock(lambda v: ALIGN + timedelta(seconds=v), wait_for_system_duration=timedelta.max)
    outs = {"down": [], "late": [], "meta": []}
    wo = build(s, clock)
    for name, items in outs.items():
        op.output(f"out_{name}", getattr(wo, name), TestingSink(items))
    return flow, outs


def test_collect_into_set_and_dict():
    windower = TumblingWindower(timedelta(seconds=10), ALIGN)
    _, outs = _seconds_flow([("k", 1), ("k", 2), ("k", 1)], lambda s, c: win.collect_window(
        "c", s, c, windower, into=set))
    run_main(_)
    assert outs["down"] == [("k", (0, {1, 2}))]

    pairs = [("k", ("x", 1)), ("k", ("y", 2)), ("k", ("x", 3))]
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource(pairs))
    clock = EventClock(lambda kv: ALIGN + timedelta(seconds=kv[1]), timedelta.max)
    out = []
    op.output("out", win.collect_window("c", s, clock, windower, into=dict).down, TestingSink(out))
    run_main(flow)
    # Later values win, in timestamp order (ordered): x=1 came at 1 s, x=3 at 3 s.
    assert out == [("k", (0, {"x": 3, "y": 2}))]

    with pytest.raises(TypeError, match="only `list`, `set`, and `dict`"):
        win.collect_window("c2", s, clock, windower, into=tuple)


def test_meta_and_late_streams():
    windower = SessionWindower(gap=timedelta(seconds=5))

    def build(s, clock):
        return win.collect_window("c", s, clock, windower, ordered=False)
    flow, outs = _seconds_flow([("k", 0), ("k", 10), ("k", 5)], build)
    run_main(flow)
    assert outs["down"] == [("k", (0, [0, 5, 10]))]
    assert outs["meta"] == [("k", (0, WindowMetadata(ALIGN, ALIGN + timedelta(seconds=10), {1})))]
    assert outs["late"] == []


def test_late_items():
    windower = TumblingWindower(timedelta(seconds=10), ALIGN)
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource([("k", 3), ("k", 15), ("k", 2)]))
    clock = EventClock(lambda v: ALIGN + timedelta(seconds=v), ZERO_TD)
    wo = win.count_window("count", op.key_rm("unkey", s), clock, windower, lambda v: "k")
    late, down = [], []
    op.output("late", wo.late, TestingSink(late))
    op.output("down", wo.down, TestingSink(down))
    run_main(flow)
    assert down == [("k", (0, 1)), ("k", (1, 1))]
    assert late == [("k", (0, 2))]


def test_windows_close_while_input_waits():
    # On the test clock, the pause takes no real time; the watermark of
    # 'z' passes its window's close during it, and the step's wake-up
    # closes it before 'a' comes (the end of input would close 'a' first,
    # in key order).
    windower = TumblingWindower(timedelta(seconds=10), ALIGN)
    flow = Dataflow("df")
    items = [("z", 0), TestingSource.PAUSE(timedelta(seconds=30)), ("a", 100)]
    s = op.input("inp", flow, TestingSource(items))
    clock = EventClock(lambda v: ALIGN + timedelta(seconds=v), ZERO_TD)
    out = []
    op.output("out", win.collect_window("c", s, clock, windower).down, TestingSink(out))
    runner = Flow.Runner.new(flow._flow)
    runner.set_test_clock(Flow.TestClock.new(1_700_000_000 * 1_000_000))
    assert runner.run()
    assert out == [("z", (0, [0])), ("a", (10, [100]))]


def test_naive_timestamp_names_step_and_key():
    windower = TumblingWindower(timedelta(seconds=10), ALIGN)
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource([("ok", 1), ("bad", 2)]))

    def ts(v):
        return datetime(2022, 1, 1) if v == 2 else ALIGN

    out = []
    op.output("out", win.collect_window("c", s, EventClock(ts, ZERO_TD), windower).down,
              TestingSink(out))
    with pytest.raises(FlowRuntimeError, match="collect_window step 'df.c.window' failed "
                       "for key 'bad'") as info:
        run_main(flow)
    assert isinstance(info.value.__cause__, ValueError)
    assert "must be an aware datetime, not the naive" in str(info.value.__cause__)
    assert out == []


def test_timestamp_not_a_time_names_step_and_key():
    windower = TumblingWindower(timedelta(seconds=10), ALIGN)
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource([("k1", "soon")]))
    op.output("out", win.count_window("n", s, EventClock(lambda item: item[1], ZERO_TD),
                                      windower, lambda item: item[0]).down, TestingSink([]))
    with pytest.raises(FlowRuntimeError, match="count_window step 'df.n.window' failed "
                       "for key 'k1'") as info:
        run_main(flow)
    assert isinstance(info.value.__cause__, TypeError)
    assert "must be an aware datetime, not str" in str(info.value.__cause__)


def test_what_is_not_a_clock_or_windower_is_refused():
    # (Subclasses of Clock and Windower work: test_flow_custom_time.py.)
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource([("k", 1)]))
    with pytest.raises(TypeError, match="clock must be a Clock"):
        win.collect_window("c", s, object(), TumblingWindower(timedelta(seconds=1), ALIGN))
    with pytest.raises(TypeError, match="windower must be a Windower"):
        win.collect_window("c2", s, EventClock(lambda v: ALIGN, ZERO_TD), object())


def test_bad_windowing_parameters_are_refused_at_once():
    with pytest.raises(ValueError, match="length must be positive"):
        TumblingWindower(timedelta(seconds=-1), ALIGN)
    with pytest.raises(ValueError, match="gap must be positive"):
        SessionWindower(ZERO_TD)
    with pytest.raises(ValueError, match="align_to.*in the future"):
        TumblingWindower(timedelta(seconds=1), datetime.now(UTC) + timedelta(days=1))
    with pytest.raises(ValueError, match="align_to must be an aware datetime"):
        TumblingWindower(timedelta(seconds=1), datetime(2022, 1, 1))


class _Sum(win.WindowLogic):
    def __init__(self, total):
        self.total = total

    def on_value(self, value):
        if value < 0:
            raise ArithmeticError(f"negative value {value}")
        self.total += value
        return ()

    def on_merge(self, original):
        self.total += original.total
        return ()

    def on_close(self):
        return (self.total,)

    def snapshot(self):
        return self.total


def _sum_builder(resume_state):
    return _Sum(0 if resume_state is None else resume_state)


def _window_flow(items, out):
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource(items))
    clock = EventClock(lambda v: ALIGN + timedelta(seconds=v), ZERO_TD)
    wo = win.window("w", s, clock, TumblingWindower(timedelta(seconds=10), ALIGN), _sum_builder)
    op.output("out", wo.down, TestingSink(out))
    return flow


def test_window_logic_survives_an_abort(tmp_path):
    from flow.recovery import RecoveryConfig, init_db_dir

    items = [("a", 1), ("b", 2), ("a", 5), ("b", 12), ("a", 8),
             ("a", 15), ("b", 18), ("b", 25)]
    ref = []
    run_main(_window_flow(items, ref))
    assert ref == [("b", (0, 2)), ("a", (0, 14)), ("b", (1, 30)), ("a", (1, 15)), ("b", (2, 25))]

    init_db_dir(tmp_path, 1)
    config = RecoveryConfig(str(tmp_path))
    out = []
    aborted = items[:5] + [TestingSource.ABORT()] + items[5:]
    flow = _window_flow(aborted, out)
    run_main(flow, epoch_interval=ZERO_TD, recovery_config=config)
    run_main(flow, epoch_interval=ZERO_TD, recovery_config=config)
    # Each window once, with all its values, as without the abort.
    assert out == ref


def test_window_logic_exception_names_step_and_key():
    out = []
    flow = _window_flow([("a", 1), ("b", -3)], out)
    with pytest.raises(FlowRuntimeError, match="window step 'df.w.window' failed for key 'b'") as info:
        run_main(flow)
    assert isinstance(info.value.__cause__, ArithmeticError)


def test_join_window_insert_modes():
    def run(**kwargs):
        flow = Dataflow("df")
        names = op.input("names", flow, TestingSource([("u1", (1, "ann")), ("u1", (2, "anne"))]))
        ages = op.input("ages", flow, TestingSource([("u1", (3, 31)), ("u2", (4, 40))]))
        clock = EventClock(lambda v: ALIGN + timedelta(seconds=v[0]), timedelta.max)
        out = []
        wo = win.join_window("join", clock, TumblingWindower(timedelta(seconds=10), ALIGN),
                             names, ages, **kwargs)
        op.output("out", op.map_value("values", wo.down,
                                      lambda iv: (iv[0], tuple(v and v[1] for v in iv[1]))),
                  TestingSink(out))
        run_main(flow)
        return sorted(out)

    assert run() == [("u1", (0, ("anne", 31))), ("u2", (0, (None, 40)))]
    assert run(insert_mode="first") == [("u1", (0, ("ann", 31))), ("u2", (0, (None, 40)))]
    assert run(insert_mode="product") == [("u1", (0, ("ann", 31))), ("u1", (0, ("anne", 31))),
                                          ("u2", (0, (None, 40)))]
    with pytest.raises(ValueError, match="insert_mode must be one of"):
        run(insert_mode="middle")


def test_failed_epoch_is_not_committed(tmp_path):
    # A ts_getter that fails stops the run; the epoch of the bad item is not
    # committed, so a resumed run (with the getter fixed) reads it again and
    # each window holds every item once.
    from flow.recovery import RecoveryConfig, init_db_dir

    init_db_dir(tmp_path, 1)
    config = RecoveryConfig(str(tmp_path))
    broken = {"on": True}

    def ts(v):
        if v == "bad":
            if broken["on"]:
                raise LookupError("no time in 'bad'")
            return ALIGN + timedelta(seconds=2)
        return ALIGN + timedelta(seconds=v)

    out = []
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource([("a", 1), ("a", 3), ("b", "bad"), ("a", 4)]))
    wo = win.collect_window("c", s, EventClock(ts, timedelta.max),
                            TumblingWindower(timedelta(seconds=10), ALIGN))
    op.output("out", wo.down, TestingSink(out))

    with pytest.raises(FlowRuntimeError, match="collect_window step 'df.c.window' failed for key 'b'") as info:
        run_main(flow, epoch_interval=ZERO_TD, recovery_config=config)
    assert isinstance(info.value.__cause__, LookupError)
    assert out == []

    broken["on"] = False
    run_main(flow, epoch_interval=ZERO_TD, recovery_config=config)
    assert sorted(out) == [("a", (0, [1, 3, 4])), ("b", (0, ["bad"]))]
