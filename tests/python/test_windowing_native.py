# SPDX-License-Identifier: LGPL-2.1-or-later
"""flow.operators.windowing on the native fast path (flow-native-window.c)
and without it (FLOW_PYTHON_NATIVE=0): the EventClock's conversion of
timestamps in C, and the meta stream converted only when a step reads it.
Both paths must give the same results.
"""

from datetime import datetime, timedelta, timezone

import flow.operators as op
import flow.operators.windowing as win
import pytest
from flow.dataflow import Dataflow
from flow.operators.windowing import ZERO_TD, EventClock, TumblingWindower, WindowMetadata
from flow.testing import TestingSink, TestingSource, run_main
from gi.overrides import Flow as override

UTC = timezone.utc
ALIGN = datetime(2022, 1, 1, tzinfo=UTC)
native = pytest.mark.skipif(override._native is None, reason="the native fast path is off")


class MyDatetime(datetime):
    pass


@pytest.mark.parametrize("dt", [
    ALIGN,
    datetime(2022, 1, 1, 12, 30, 15, 123456, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),        # before the epoch
    datetime(2000, 2, 29, 1, 2, 3, tzinfo=UTC),                    # leap days
    datetime(1900, 3, 1, tzinfo=UTC),
    datetime(2100, 2, 28, 23, 59, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),                                 # the ends of time
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2022, 1, 1, 5, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(2021, 12, 31, 19, 0, 0, 1, tzinfo=timezone(timedelta(hours=-5))),
    MyDatetime(2022, 6, 1, 8, tzinfo=UTC),                         # a subclass
])
def test_event_clock_gives_the_instant(dt):
    logic = EventClock(lambda item: item, ZERO_TD).build()
    logic.before_batch()
    ts, wm = logic.on_item(dt)
    assert ts == dt and ts.tzinfo is not None
    # (At the start of time the watermark is already a little after it.)
    assert wm == dt or dt.year == 1


def test_event_clock_errors():
    logic = EventClock(lambda item: item, ZERO_TD).build()
    logic.before_batch()
    with pytest.raises(ValueError, match="the timestamp from ts_getter must be an aware "
                       "datetime, not the naive"):
        logic.on_item(datetime(2022, 1, 1))
    with pytest.raises(TypeError, match="must be an aware datetime, not float"):
        logic.on_item(1.5)
    assert logic.on_item(ALIGN) == (ALIGN, ALIGN)


def test_count_window_with_zones():
    # The same instants, given in several time zones, fall in the same
    # windows.
    plus2 = timezone(timedelta(hours=2))
    items = [("a", ALIGN + timedelta(seconds=1)),
             ("a", (ALIGN + timedelta(seconds=3)).astimezone(plus2)),
             ("b", MyDatetime(2022, 1, 1, 0, 0, 12, tzinfo=UTC)),
             ("a", (ALIGN + timedelta(seconds=15)).astimezone(plus2))]
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource(items))
    out = []
    wo = win.count_window("n", s, EventClock(lambda item: item[1], timedelta.max),
                          TumblingWindower(timedelta(seconds=10), ALIGN), lambda item: item[0])
    op.output("out", wo.down, TestingSink(out))
    run_main(flow)
    assert sorted(out) == [("a", (0, 2)), ("a", (1, 1)), ("b", (1, 1))]


def _counting_to_meta(monkeypatch):
    calls = []
    to_meta = win._to_meta

    def counting(id_meta):
        calls.append(id_meta)
        return to_meta(id_meta)

    monkeypatch.setattr(win, "_to_meta", counting)
    return calls


def _count_flow(items):
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource(items))
    wo = win.count_window("n", s, EventClock(lambda item: ALIGN + timedelta(seconds=item[1]),
                                             timedelta.max),
                          TumblingWindower(timedelta(seconds=10), ALIGN), lambda item: item[0])
    down = []
    op.output("out", wo.down, TestingSink(down))
    return flow, wo, down


def test_meta_is_converted_for_its_readers(monkeypatch):
    calls = _counting_to_meta(monkeypatch)
    items = [("a", 1), ("a", 12), ("b", 3)]
    flow, wo, down = _count_flow(items)
    run_main(flow)
    assert sorted(down) == [("a", (0, 1)), ("a", (1, 1)), ("b", (0, 1))]
    if override._native is not None:
        assert calls == []        # nobody reads meta: nothing converted

    # A reader added afterwards gets WindowMetadata, on the next run.
    meta = []
    op.output("meta", wo.meta, TestingSink(meta))
    down.clear()
    run_main(flow)
    assert sorted(down) == [("a", (0, 1)), ("a", (1, 1)), ("b", (0, 1))]
    second = timedelta(seconds=1)
    assert sorted(meta, key=lambda km: (km[0], km[1][0])) == [
        ("a", (0, WindowMetadata(ALIGN, ALIGN + 10 * second))),
        ("a", (1, WindowMetadata(ALIGN + 10 * second, ALIGN + 20 * second))),
        ("b", (0, WindowMetadata(ALIGN, ALIGN + 10 * second))),
    ]
    assert len(calls) == (3 if override._native is not None else 6)


@native
def test_meta_read_through_a_step(monkeypatch):
    # A step that reads meta (here a map) gets WindowMetadata too.
    calls = _counting_to_meta(monkeypatch)
    flow, wo, down = _count_flow([("a", 1)])
    closes = []
    op.output("closes", op.map_value("close", wo.meta, lambda id_m: id_m[1].close_time),
              TestingSink(closes))
    run_main(flow)
    assert closes == [("a", ALIGN + timedelta(seconds=10))]
    assert len(calls) == 1
