# Bytewax's windowing tests (pytests/operators/windowing/test_collect_window.py,
# test_count_window.py, test_fold_window.py, test_max_min_window.py,
# test_reduce_window.py, test_session_windower.py,
# test_sliding_windower.py), with bytewax -> flow, gathered in one file.
# CHANGED: the stored copies import `bytewax.windowing` (the module's name
# after 0.21); 0.21.1's is `bytewax.operators.windowing`, as here.
# CHANGED: the windower tests of private logic classes
# (_SlidingWindowerLogic.intersects, _SessionWindowerLogic.metadata_for)
# are written against the public logic (`Windower.build(None)`: open_for,
# merged, close_for), with the same inputs and expected window ids and
# times; test_within_existing (a hand-made private state) and the
# _session_find_merges tests (a private function) are skipped.
# Skipped: test_fold_window_benchmark (pytest-benchmark; libflow's
# benchmarks are under tests/bench). test_event_clock.py and
# test_system_clock.py are ported in test_event_clock.py.
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Tuple

import flow.operators as op
import flow.operators.windowing as win
import pytest
from flow.dataflow import Dataflow
from flow.operators.windowing import (
    LATE_SESSION_ID,
    UTC_MAX,
    ZERO_TD,
    EventClock,
    SessionWindower,
    SlidingWindower,
    SystemClock,
    TumblingWindower,
    WindowMetadata,
)
from flow.testing import TestingSink, TestingSource, run_main

# --- test_collect_window.py ------------------------------------------------


@dataclass(frozen=True)
class _Event:
    timestamp: datetime
    value: int


def test_collect_window() -> None:
    align_to = datetime(2022, 1, 1, tzinfo=timezone.utc)
    inp = [
        _Event(align_to, 1),
        _Event(align_to + timedelta(seconds=8), 3),
        _Event(align_to + timedelta(seconds=4), 2),
        # First 10 sec window closes during processing this input.
        _Event(align_to + timedelta(seconds=13), 5),
        _Event(align_to + timedelta(seconds=12), 4),
    ]
    out: List[Tuple[int, List[int]]] = []

    def ts_getter(event: _Event) -> datetime:
        return event.timestamp

    clock = EventClock(ts_getter, wait_for_system_duration=timedelta.max)
    windower = TumblingWindower(length=timedelta(seconds=10), align_to=align_to)

    flow = Dataflow("test_df")
    inps = op.input("inp", flow, TestingSource(inp))
    keyed_inps = op.key_on("key", inps, lambda _: "ALL")
    collect_out = win.collect_window("collect_window", keyed_inps, clock, windower)
    unkeyed = op.key_rm("unkey", collect_out.down)

    def clean(
        id_collected: Tuple[int, List[_Event]],
    ) -> Tuple[int, List[int]]:
        window_id, collected = id_collected
        cleaned = [event.value for event in collected]
        return (window_id, cleaned)

    cleans = op.map("clean", unkeyed, clean)
    op.output("out", cleans, TestingSink(out))

    run_main(flow)
    assert out == [
        (0, [1, 2, 3]),
        (1, [4, 5]),
    ]


# --- test_count_window.py --------------------------------------------------


def test_count_window():
    align_to = datetime(2022, 1, 1, tzinfo=timezone.utc)
    inp = [
        {"time": align_to + timedelta(seconds=0), "user": "a", "val": 1},
        {"time": align_to + timedelta(seconds=4), "user": "a", "val": 1},
        {"time": align_to + timedelta(seconds=8), "user": "b", "val": 1},
        # First 10 sec window closes during processing this input.
        {"time": align_to + timedelta(seconds=12), "user": "a", "val": 1},
        {"time": align_to + timedelta(seconds=13), "user": "a", "val": 1},
    ]
    out = []

    clock = EventClock(lambda e: e["time"], wait_for_system_duration=ZERO_TD)
    windower = TumblingWindower(length=timedelta(seconds=10), align_to=align_to)

    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp))
    wo = win.count_window("add", s, clock, windower, lambda e: e["user"])
    op.output("out", wo.down, TestingSink(out))

    run_main(flow)
    assert out == [
        ("a", (0, 2)),
        ("a", (1, 2)),
        ("b", (0, 1)),
    ]


# --- test_fold_window.py ---------------------------------------------------


@dataclass(frozen=True)
class _UserEvent:
    timestamp: datetime
    typ: str


def _merge_defaultdict(
    a: Dict[str, int],
    b: Dict[str, int],
) -> Dict[str, int]:
    a.update(b)
    return a


def test_fold_window_tumbling() -> None:
    align_to = datetime(2022, 1, 1, tzinfo=timezone.utc)
    inp = [
        _UserEvent(align_to, "login"),
        _UserEvent(align_to + timedelta(seconds=4), "post"),
        _UserEvent(align_to + timedelta(seconds=8), "post"),
        # First 10 sec window closes during processing this input.
        _UserEvent(align_to + timedelta(seconds=16), "post"),
    ]
    out: List[Tuple[int, Dict[str, int]]] = []

    flow = Dataflow("test_df")
    events = op.input("inp", flow, TestingSource(inp))
    keyed_events = op.key_on("key", events, lambda _: "ALL")

    def ts_getter(event: _UserEvent) -> datetime:
        return event.timestamp

    clock = EventClock(ts_getter, wait_for_system_duration=ZERO_TD)
    windower = TumblingWindower(length=timedelta(seconds=10), align_to=align_to)

    def builder() -> Dict[str, int]:
        return defaultdict(int)

    def count(counts: Dict[str, int], event: _UserEvent) -> Dict[str, int]:
        typ = event.typ
        counts[typ] += 1
        return counts

    fold_out = win.fold_window(
        "count",
        keyed_events,
        clock,
        windower,
        builder,
        count,
        _merge_defaultdict,
    )
    unkeyed = op.key_rm("key_rm", fold_out.down)

    def map_dict(id_value: Tuple[int, Dict[str, int]]) -> Tuple[int, Dict[str, int]]:
        win_id, value = id_value
        return (win_id, dict(value))

    cleaned = op.map("normal_dict", unkeyed, map_dict)
    op.output("out", cleaned, TestingSink(out))

    run_main(flow)
    assert out == [
        (0, {"login": 1, "post": 2}),
        (1, {"post": 1}),
    ]


@dataclass(frozen=True)
class _StrEvent:
    timestamp: datetime
    value: str


def test_fold_window_session() -> None:
    align_to = datetime(2022, 1, 1, tzinfo=timezone.utc)
    inp = [
        # Session 1
        _StrEvent(align_to + timedelta(seconds=1), "a"),
        _StrEvent(align_to + timedelta(seconds=5), "b"),
        # Session 2
        _StrEvent(align_to + timedelta(seconds=11), "c"),
        _StrEvent(align_to + timedelta(seconds=12), "d"),
        _StrEvent(align_to + timedelta(seconds=13), "e"),
        _StrEvent(align_to + timedelta(seconds=14), "f"),
        # Session 3
        _StrEvent(align_to + timedelta(seconds=20), "g"),
        # This is late, and should be ignored
        _StrEvent(align_to + timedelta(seconds=1), "h"),
    ]
    out: List[Tuple[int, List[str]]] = []

    flow = Dataflow("test_df")
    events = op.input("inp", flow, TestingSource(inp))
    keyed_events = op.key_on("key", events, lambda _: "ALL")

    def ts_getter(event: _StrEvent) -> datetime:
        return event.timestamp

    clock = EventClock(ts_getter, wait_for_system_duration=ZERO_TD)
    windower = SessionWindower(gap=timedelta(seconds=5))

    def add(acc: List[str], event: _StrEvent) -> List[str]:
        acc.append(event.value)
        return acc

    fold_out = win.fold_window(
        "sum", keyed_events, clock, windower, list, add, list.__add__
    )
    unkeyed = op.key_rm("unkey", fold_out.down)
    op.output("out", unkeyed, TestingSink(out))

    run_main(flow)
    assert out == [
        (0, ["a", "b"]),
        (1, ["c", "d", "e", "f"]),
        (2, ["g"]),
    ]


def test_fold_window_sliding() -> None:
    align_to = datetime(2022, 1, 1, tzinfo=timezone.utc)
    # Valign_to
    #  a  b   c   def g
    #  h
    # -----)
    # [---------)
    #      [---------)
    #           [---------)
    #                [---------)
    inp = [
        _StrEvent(align_to + timedelta(seconds=1), "a"),
        _StrEvent(align_to + timedelta(seconds=4), "b"),
        _StrEvent(align_to + timedelta(seconds=8), "c"),
        _StrEvent(align_to + timedelta(seconds=12), "d"),
        _StrEvent(align_to + timedelta(seconds=13), "e"),
        _StrEvent(align_to + timedelta(seconds=14), "f"),
        _StrEvent(align_to + timedelta(seconds=16), "g"),
        # This is late, and should be ignored.
        _StrEvent(align_to + timedelta(seconds=1), "h"),
    ]
    out: List[Tuple[int, List[str]]] = []

    flow = Dataflow("test_df")
    events = op.input("inp", flow, TestingSource(inp))
    keyed_events = op.key_on("key", events, lambda _: "ALL")

    def ts_getter(event: _StrEvent) -> datetime:
        return event.timestamp

    clock = EventClock(ts_getter, wait_for_system_duration=ZERO_TD)
    windower = SlidingWindower(
        length=timedelta(seconds=10),
        offset=timedelta(seconds=5),
        align_to=align_to,
    )

    def add(acc: List[str], event: _StrEvent) -> List[str]:
        acc.append(event.value)
        return acc

    fold_out = win.fold_window(
        "sum", keyed_events, clock, windower, list, add, list.__add__
    )
    unkeyed = op.key_rm("unkey", fold_out.down)
    op.output("out", unkeyed, TestingSink(out))

    run_main(flow)
    assert out == [
        (-1, ["a", "b"]),
        (0, ["a", "b", "c"]),
        (1, ["c", "d", "e", "f"]),
        (2, ["d", "e", "f", "g"]),
        (3, ["g"]),
    ]


@pytest.mark.parametrize("entry_point_name", ["run_main", "cluster_main-1thread"])
def test_fold_window_benchmark(entry_point) -> None:
    # Bytewax times this flow with pytest-benchmark; here it runs once, for
    # its result (libflow's timings are under tests/bench): 100,000 items a
    # second apart, in batches of 10, unordered, fold into one-minute windows.
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    items = [start + timedelta(seconds=i) for i in range(100_000)]
    out: List[Tuple[int, None]] = []

    flow = Dataflow("bench")
    keyed = op.key_on("key", op.input("in", flow, TestingSource(items, 10)), lambda _: "ALL")
    folded = win.fold_window(
        "fold_window",
        keyed,
        EventClock(lambda t: t, wait_for_system_duration=ZERO_TD),
        TumblingWindower(timedelta(minutes=1), start),
        lambda: None,
        lambda acc, _item: acc,
        lambda acc, _other: acc,
        ordered=False,
    )
    op.output("out", op.key_rm("unkey", folded.down), TestingSink(out))

    entry_point(flow)
    # ceil(100,000 s / 60 s) windows, each emitted once, in window order.
    assert out == [(i, None) for i in range(1667)]


# --- test_max_min_window.py ------------------------------------------------


def test_max_window():
    align_to = datetime(2022, 1, 1, tzinfo=timezone.utc)
    inp = [
        {"time": align_to, "user": "a", "val": 1},
        {"time": align_to + timedelta(seconds=4), "user": "a", "val": 9},
        {"time": align_to + timedelta(seconds=8), "user": "a", "val": 3},
        # First 10 sec window closes during processing this input.
        {"time": align_to + timedelta(seconds=12), "user": "a", "val": 10},
        {"time": align_to + timedelta(seconds=13), "user": "a", "val": 4},
    ]
    out = []

    clock = EventClock(lambda e: e["time"], wait_for_system_duration=ZERO_TD)
    windower = TumblingWindower(length=timedelta(seconds=10), align_to=align_to)

    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp))
    s = op.key_on("key_on_user", s, lambda e: e["user"])
    wo = win.max_window("add", s, clock, windower, by=lambda e: e["val"])
    op.output("out", wo.down, TestingSink(out))

    run_main(flow)
    assert out == [
        ("a", (0, {"time": align_to + timedelta(seconds=4), "user": "a", "val": 9})),
        ("a", (1, {"time": align_to + timedelta(seconds=12), "user": "a", "val": 10})),
    ]


def test_min_window():
    align_to = datetime(2022, 1, 1, tzinfo=timezone.utc)
    inp = [
        {"time": align_to, "user": "a", "val": 1},
        {"time": align_to + timedelta(seconds=4), "user": "a", "val": 9},
        {"time": align_to + timedelta(seconds=8), "user": "a", "val": 3},
        # First 10 sec window closes during processing this input.
        {"time": align_to + timedelta(seconds=12), "user": "a", "val": 10},
        {"time": align_to + timedelta(seconds=13), "user": "a", "val": 4},
    ]
    out = []

    clock = EventClock(lambda e: e["time"], wait_for_system_duration=ZERO_TD)
    windower = TumblingWindower(length=timedelta(seconds=10), align_to=align_to)

    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp))
    s = op.key_on("key_on_user", s, lambda e: e["user"])
    wo = win.min_window("min", s, clock, windower, by=lambda e: e["val"])
    op.output("out", wo.down, TestingSink(out))

    run_main(flow)
    assert out == [
        ("a", (0, {"time": align_to, "user": "a", "val": 1})),
        ("a", (1, {"time": align_to + timedelta(seconds=13), "user": "a", "val": 4})),
    ]


# --- test_reduce_window.py -------------------------------------------------


def test_reduce_window():
    align_to = datetime(2022, 1, 1, tzinfo=timezone.utc)
    inp = [
        {"time": align_to, "user": "a", "val": 1},
        {"time": align_to + timedelta(seconds=4), "user": "a", "val": 1},
        {"time": align_to + timedelta(seconds=8), "user": "a", "val": 1},
        # First 10 sec window closes during processing this input.
        {"time": align_to + timedelta(seconds=12), "user": "a", "val": 1},
        {"time": align_to + timedelta(seconds=13), "user": "a", "val": 1},
    ]
    out = []

    clock = EventClock(lambda e: e["time"], wait_for_system_duration=ZERO_TD)
    windower = TumblingWindower(length=timedelta(seconds=10), align_to=align_to)

    def add(acc, x):
        acc["val"] += x["val"]
        return acc

    def extract_val(key__metadata_event):
        key, (metadata, event) = key__metadata_event
        return (key, (metadata, event["val"]))

    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp))
    s = op.key_on("key_on_user", s, lambda e: e["user"])
    wo = win.reduce_window("add", s, clock, windower, add)
    s = op.map("extract_val", wo.down, extract_val)
    op.output("out", s, TestingSink(out))

    run_main(flow)
    assert out == [
        ("a", (0, 3)),
        ("a", (1, 2)),
    ]


# --- test_session_windower.py ----------------------------------------------


def _session_logic():
    return SessionWindower(gap=timedelta(seconds=10)).build(None)


def _metadata_of(logic, window_id):
    closed = dict(logic.close_for(UTC_MAX))
    return closed[window_id]


def test_initial_session() -> None:
    logic = _session_logic()

    found = logic.open_for(datetime(2024, 1, 1, 9, 0, 0, tzinfo=timezone.utc))
    assert list(found) == [0]

    assert _metadata_of(logic, 0) == WindowMetadata(
        open_time=datetime(2024, 1, 1, 9, 0, 0, tzinfo=timezone.utc),
        close_time=datetime(2024, 1, 1, 9, 0, 0, tzinfo=timezone.utc),
    )


def test_extend_forward_within_gap() -> None:
    logic = _session_logic()

    logic.open_for(datetime(2024, 1, 1, 9, 0, 0, tzinfo=timezone.utc))

    found = logic.open_for(datetime(2024, 1, 1, 9, 0, 5, tzinfo=timezone.utc))
    assert list(found) == [0]

    assert _metadata_of(logic, 0) == WindowMetadata(
        open_time=datetime(2024, 1, 1, 9, 0, 0, tzinfo=timezone.utc),
        close_time=datetime(2024, 1, 1, 9, 0, 5, tzinfo=timezone.utc),
    )


def test_extend_forward_exact_gap() -> None:
    logic = _session_logic()

    logic.open_for(datetime(2024, 1, 1, 9, 0, 0, tzinfo=timezone.utc))

    found = logic.open_for(datetime(2024, 1, 1, 9, 0, 10, tzinfo=timezone.utc))
    assert list(found) == [0]

    assert _metadata_of(logic, 0) == WindowMetadata(
        open_time=datetime(2024, 1, 1, 9, 0, 0, tzinfo=timezone.utc),
        close_time=datetime(2024, 1, 1, 9, 0, 10, tzinfo=timezone.utc),
    )


def test_extend_backward_within_gap() -> None:
    logic = _session_logic()

    logic.open_for(datetime(2024, 1, 1, 9, 0, 0, tzinfo=timezone.utc))

    found = logic.open_for(datetime(2024, 1, 1, 8, 59, 55, tzinfo=timezone.utc))
    assert list(found) == [0]

    assert _metadata_of(logic, 0) == WindowMetadata(
        open_time=datetime(2024, 1, 1, 8, 59, 55, tzinfo=timezone.utc),
        close_time=datetime(2024, 1, 1, 9, 0, 0, tzinfo=timezone.utc),
    )


def test_extend_backward_exact_gap() -> None:
    logic = _session_logic()

    logic.open_for(datetime(2024, 1, 1, 9, 0, 0, tzinfo=timezone.utc))

    found = logic.open_for(datetime(2024, 1, 1, 8, 59, 50, tzinfo=timezone.utc))
    assert list(found) == [0]

    assert _metadata_of(logic, 0) == WindowMetadata(
        open_time=datetime(2024, 1, 1, 8, 59, 50, tzinfo=timezone.utc),
        close_time=datetime(2024, 1, 1, 9, 0, 0, tzinfo=timezone.utc),
    )


def test_extend_merge() -> None:
    logic = _session_logic()

    logic.open_for(datetime(2024, 1, 1, 9, 0, 0, tzinfo=timezone.utc))
    logic.open_for(datetime(2024, 1, 1, 9, 0, 20, tzinfo=timezone.utc))

    found = logic.open_for(
        datetime(2024, 1, 1, 9, 0, 10, tzinfo=timezone.utc),
    )
    assert list(found) == [0]
    assert logic.merged() == [(1, 0)]

    # CHANGED: libflow's metadata also lists the merged ids.
    assert _metadata_of(logic, 0) == WindowMetadata(
        open_time=datetime(2024, 1, 1, 9, 0, 0, tzinfo=timezone.utc),
        close_time=datetime(2024, 1, 1, 9, 0, 20, tzinfo=timezone.utc),
        merged_ids={1},
    )


@pytest.mark.skip(reason="builds Bytewax's private _SessionWindowerState by hand")
def test_within_existing() -> None:
    pass


def test_late() -> None:
    logic = _session_logic()

    found = logic.late_for(datetime(2023, 12, 1, 9, 0, 0, tzinfo=timezone.utc))
    assert list(found) == [LATE_SESSION_ID]


def test_session_with_system_clock() -> None:
    flow = Dataflow("test_df")
    nums = op.input("input", flow, TestingSource(range(10)))
    keyed_nums = op.key_on("key", nums, lambda _: "ALL")

    def folder(s, v):
        s.append(v)
        return s

    fold_out = win.fold_window(
        "collect_records",
        keyed_nums,
        SystemClock(),
        SessionWindower(gap=timedelta(seconds=10)),
        list,
        folder,
        list.__add__,
    )
    unkeyed = op.key_rm("unkey", fold_out.down)

    out: List[Tuple[int, List[int]]] = []
    op.output("out", unkeyed, TestingSink(out))

    run_main(flow)

    assert out == [(0, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])]


# --- test_sliding_windower.py ----------------------------------------------
# Each of Bytewax's test_intersect_* cases: (length, offset, time after
# 2023-03-16T09:00:00Z, expected window ids).

_ALIGN = datetime(2023, 3, 16, 9, 0, 0, tzinfo=timezone.utc)
_S = timedelta(seconds=1)

_INTERSECTS = {
    "overlap_offset_divisible_by_length_bulk_positive": (10, 5, 13 * _S, [1, 2]),
    "overlap_offset_divisible_by_length_bulk_negative": (10, 5, -3 * _S, [-2, -1]),
    "overlap_offset_divisible_by_length_bulk_zero_negative": (10, 5, 3 * _S, [-1, 0]),
    "overlap_offset_divisible_by_length_bulk_zero_positive": (10, 5, 7 * _S, [0, 1]),
    "overlap_offset_divisible_by_length_edge_positive": (10, 5, 15 * _S, [2, 3]),
    "overlap_offset_divisible_by_length_edge_negative": (10, 5, -5 * _S, [-2, -1]),
    "overlap_offset_divisible_by_length_edge_start_zero": (10, 5, 0 * _S, [-1, 0]),
    "overlap_offset_divisible_by_length_edge_end_zero": (10, 5, 10 * _S, [1, 2]),
    "overlap_offset_indivisible_by_length_bulk_positive": (10, 3, 11 * _S, [1, 2, 3]),
    "overlap_offset_indivisible_by_length_bulk_positive_remainder": (10, 3, 11.5 * _S, [1, 2, 3]),
    "overlap_offset_indivisible_by_length_bulk_negative": (10, 3, -1 * _S, [-3, -2, -1]),
    "overlap_offset_indivisible_by_length_bulk_negative_remainder": (10, 3, -1.5 * _S, [-3, -2, -1]),
    "overlap_offset_indivisible_by_length_bulk_zero": (10, 3, 5 * _S, [-1, 0, 1]),
    "overlap_offset_indivisible_by_length_edge_start_positive": (10, 7, 14 * _S, [1, 2]),
    "overlap_offset_indivisible_by_length_edge_start_negative": (10, 7, -7 * _S, [-2, -1]),
    "overlap_offset_indivisible_by_length_edge_start_zero": (10, 7, 0 * _S, [-1, 0]),
    "overlap_offset_indivisible_by_length_edge_end_positive": (10, 7, 17 * _S, [2]),
    "overlap_offset_indivisible_by_length_edge_end_negative": (10, 7, -4 * _S, [-1]),
    "overlap_offset_indivisible_by_length_edge_end_zero": (10, 7, 10 * _S, [1]),
    "tumble_bulk_positive": (10, 10, 15 * _S, [1]),
    "tumble_bulk_negative": (10, 10, -5 * _S, [-1]),
    "tumble_bulk_zero": (10, 10, 5 * _S, [0]),
    "tumble_edge_positive": (10, 10, 20 * _S, [2]),
    "tumble_edge_negative": (10, 10, -10 * _S, [-1]),
    "tumble_edge_zero_start": (10, 10, 0 * _S, [0]),
    "tumble_edge_zero_end": (10, 10, 10 * _S, [1]),
}


@pytest.mark.parametrize("case", sorted(_INTERSECTS))
def test_intersect(case):
    length, offset, after, expected = _INTERSECTS[case]
    logic = SlidingWindower(
        length=timedelta(seconds=length),
        offset=timedelta(seconds=offset),
        align_to=_ALIGN,
    ).build(None)
    assert list(logic.open_for(_ALIGN + after)) == expected
