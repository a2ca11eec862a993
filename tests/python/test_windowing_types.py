# SPDX-License-Identifier: LGPL-2.1-or-later
"""flow._windowing_types: Bytewax's windowers, clocks and window metadata
on libflow's C types, with aware datetimes in and out.

Expected values follow Bytewax 0.21's definitions and the examples of
its windowing documentation. No test depends on the speed of the
machine: where the system time enters (the event clock's watermark
advancing between items), only what holds however much time passes is
asserted; the C tests drive that with the test clock.
"""

from datetime import datetime, timedelta, timezone

import pytest

from flow._windowing_types import (
    LATE_SESSION_ID,
    UTC_MAX,
    UTC_MIN,
    ZERO_TD,
    EventClock,
    SessionWindower,
    SlidingWindower,
    SystemClock,
    TumblingWindower,
    WindowMetadata,
)

UTC = timezone.utc
MIDNIGHT = datetime(2023, 12, 14, tzinfo=UTC)


def at(hour, minute=0, second=0, day=14):
    return datetime(2023, 12, day, hour, minute, second, tzinfo=UTC)


def test_constants():
    assert ZERO_TD == timedelta(0)
    assert UTC_MAX == datetime.max.replace(tzinfo=UTC)
    assert UTC_MIN == datetime.min.replace(tzinfo=UTC)
    assert LATE_SESSION_ID == -1


def test_tumbling_windows():
    windower = TumblingWindower(length=timedelta(hours=1), align_to=MIDNIGHT)
    assert windower.length == timedelta(hours=1)
    logic = windower.build(None)
    assert logic.is_empty()
    assert logic.notify_at() is None

    assert logic.open_for(at(0, 30)) == [0]
    assert logic.open_for(at(1)) == [1]  # open times are inclusive
    assert logic.open_for(at(23, 59, day=13)) == [-1]
    assert logic.notify_at() == MIDNIGHT

    # Close times are exclusive: the watermark at 01:00 closes window 0.
    closed = logic.close_for(at(1))
    assert closed == [
        (-1, WindowMetadata(at(23, day=13), MIDNIGHT)),
        (0, WindowMetadata(MIDNIGHT, at(1))),
    ]
    meta = closed[1][1]
    assert meta.open_time.tzinfo is not None and meta.merged_ids == set()

    assert logic.close_for(UTC_MAX) == [(1, WindowMetadata(at(1), at(2)))]
    assert logic.is_empty()


def test_sliding_windows_overlap():
    # Bytewax's documentation: 1 hour windows every 30 minutes from
    # midnight: window 0 at 00:00, 1 at 00:30, 2 at 01:00.
    windower = SlidingWindower(
        length=timedelta(hours=1), offset=timedelta(minutes=30), align_to=MIDNIGHT
    )
    logic = windower.build()
    assert logic.open_for(at(0, 45)) == [0, 1]
    assert logic.open_for(at(1, 10)) == [1, 2]
    assert logic.late_for(at(23, 50, day=13)) == [-2, -1]
    assert logic.merged() == []
    assert logic.close_for(at(1, 30)) == [
        (0, WindowMetadata(MIDNIGHT, at(1))),
        (1, WindowMetadata(at(0, 30), at(1, 30))),
    ]


def test_session_windows_and_merges():
    # Bytewax's documentation's values, 30 minute gap (01:30 is exactly
    # the gap after 01:00, which Bytewax 0.21's code joins).
    logic = SessionWindower(gap=timedelta(minutes=30)).build()
    ids = [logic.open_for(at(h, m)) for h, m in [(0, 0), (0, 10), (0, 15), (0, 50), (1, 0), (1, 30)]]
    assert ids == [[0], [0], [0], [1], [1], [1]]
    assert logic.late_for(at(0)) == [LATE_SESSION_ID]
    assert logic.close_for(at(0, 45)) == []
    assert logic.close_for(at(0, 45) + timedelta(microseconds=1)) == [
        (0, WindowMetadata(at(0), at(0, 15)))
    ]

    # A session extended to within the gap of another merges with it.
    logic = SessionWindower(gap=timedelta(seconds=30)).build()
    assert logic.open_for(at(12)) == [0]
    assert logic.open_for(at(12, 1, 0)) == [1]
    assert logic.open_for(at(12, 0, 30)) == [0]
    assert logic.merged() == [(1, 0)]
    assert logic.merged() == []
    assert logic.close_for(UTC_MAX) == [(0, WindowMetadata(at(12), at(12, 1), {1}))]
    assert not logic.is_empty()


def test_windower_snapshot_and_resume():
    windower = SessionWindower(gap=timedelta(seconds=30))
    logic = windower.build()
    logic.open_for(at(12))
    logic.open_for(at(12, 1))
    resumed = windower.build(logic.snapshot())
    assert resumed.open_for(at(12, 0, 30)) == logic.open_for(at(12, 0, 30)) == [0]
    assert resumed.merged() == logic.merged() == [(1, 0)]
    assert resumed.close_for(UTC_MAX) == logic.close_for(UTC_MAX)


def test_bad_windower_parameters():
    with pytest.raises(ValueError, match="can't be longer than its length"):
        SlidingWindower(timedelta(seconds=1), timedelta(seconds=2), MIDNIGHT)
    with pytest.raises(ValueError, match="tumbling window length must be positive"):
        TumblingWindower(ZERO_TD, MIDNIGHT)
    with pytest.raises(ValueError, match="sliding window offset must be positive"):
        SlidingWindower(timedelta(seconds=1), timedelta(seconds=-1), MIDNIGHT)
    with pytest.raises(ValueError, match="session window gap must be positive"):
        SessionWindower(ZERO_TD)
    with pytest.raises(ValueError, match="align_to.*in the future"):
        TumblingWindower(timedelta(hours=1), datetime.now(UTC) + timedelta(days=1))
    with pytest.raises(TypeError, match="length must be a timedelta"):
        TumblingWindower(60, MIDNIGHT)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="align_to must be an aware datetime, not the naive"):
        TumblingWindower(timedelta(hours=1), datetime(2023, 12, 14))
    logic = TumblingWindower(timedelta(hours=1), MIDNIGHT).build()
    with pytest.raises(ValueError, match="timestamp must be an aware datetime"):
        logic.open_for(datetime(2023, 12, 14, 1))
    with pytest.raises(ValueError, match="watermark must be an aware datetime"):
        logic.close_for(datetime(2023, 12, 14, 1))


def test_other_time_zones_are_utc_in_and_out():
    paris = timezone(timedelta(hours=1))
    windower = TumblingWindower(timedelta(hours=1), datetime(2023, 12, 14, 1, tzinfo=paris))
    logic = windower.build()
    assert logic.open_for(datetime(2023, 12, 14, 2, 30, tzinfo=paris)) == [1]
    [(window_id, meta)] = logic.close_for(UTC_MAX)
    assert meta.open_time == at(1)
    assert meta.open_time.utcoffset() == ZERO_TD


def test_event_clock():
    def ts_getter(item):
        return item["at"]

    clock = EventClock(ts_getter, wait_for_system_duration=timedelta(minutes=5))
    logic = clock.build(None)
    logic.before_batch()
    ts, wm = logic.on_item({"at": at(10, 35)})
    assert ts == at(10, 35)
    assert wm == at(10, 30)
    # An older item within the wait is on time; one before the watermark
    # is late (the items of a batch share the batch's system time, so the
    # watermark is exactly 10:30 here however slow the machine is).
    ts, wm = logic.on_item({"at": at(10, 31)})
    assert ts >= wm
    ts, wm = logic.on_item({"at": at(10, 29)})
    assert ts < wm
    assert logic.on_notify() >= at(10, 30)
    assert logic.on_eof() == UTC_MAX
    assert logic.to_system_utc(at(11)).tzinfo is not None

    # A resumed clock goes on from the snapshot: the watermark does not
    # go back.
    resumed = clock.build(logic.snapshot())
    resumed.before_batch()
    ts, wm = resumed.on_item({"at": at(10, 29)})
    assert ts < wm and wm >= at(10, 30)


def test_event_clock_bad_timestamps():
    class Boom(Exception):
        pass

    def ts_getter(item):
        if item == "boom":
            raise Boom("no time in this item")
        return item

    logic = EventClock(ts_getter, ZERO_TD).build()
    logic.before_batch()
    with pytest.raises(Boom, match="no time in this item"):
        logic.on_item("boom")
    with pytest.raises(ValueError, match="timestamp from ts_getter must be an aware datetime"):
        logic.on_item(datetime(2023, 12, 14))
    with pytest.raises(TypeError, match="must be an aware datetime, not int"):
        logic.on_item(17)
    # The failures changed nothing.
    assert logic.on_item(at(9)) == (at(9), at(9))


def test_event_clock_parameters():
    # Bytewax's way to wait for the end of input.
    logic = EventClock(lambda x: x, timedelta.max).build()
    logic.before_batch()
    ts, wm = logic.on_item(at(9))
    assert ts == at(9) and wm < ts
    with pytest.raises(ValueError, match="wait_for_system_duration must be zero or positive"):
        EventClock(lambda x: x, timedelta(seconds=-1))
    with pytest.raises(ValueError, match="to_system_utc is not supported"):
        EventClock(lambda x: x, ZERO_TD, to_system_utc=lambda t: t)
    with pytest.raises(TypeError, match="now_getter must be callable"):
        EventClock(lambda x: x, ZERO_TD, now_getter=MIDNIGHT)


def test_event_clock_now_getter():
    # Bytewax's now_getter: the system time the watermark advances with.
    def sec(n):
        return MIDNIGHT + timedelta(seconds=n)

    now = [MIDNIGHT]
    logic = EventClock(lambda x: x, timedelta(seconds=5), now_getter=lambda: now[0]).build()
    logic.before_batch()
    assert logic.on_item(sec(60)) == (sec(60), sec(55))
    now[0] += timedelta(seconds=3)
    assert logic.on_notify() == sec(58)
    # Resumed: the watermark goes on with the system time since the maximum.
    now[0] += timedelta(seconds=1)
    resumed = EventClock(lambda x: x, timedelta(seconds=5),
                         now_getter=lambda: now[0]).build(logic.snapshot())
    assert resumed.on_notify() == sec(59)
    # A getter that fails leaves the time where it was, with a warning.
    bad = EventClock(lambda x: x, ZERO_TD, now_getter=lambda: now[0] if now else 1 / 0).build()
    bad.before_batch()
    bad.on_item(sec(60))
    now.clear()
    with pytest.warns(RuntimeWarning, match="now_getter failed .ZeroDivisionError"):
        assert bad.on_notify() == sec(60)


def test_system_clock():
    logic = SystemClock().build()
    logic.before_batch()
    ts, wm = logic.on_item("anything")
    assert ts == wm and ts.tzinfo is not None
    assert logic.on_notify() >= wm
    assert logic.to_system_utc(at(9)) == at(9)
    assert logic.on_eof() == UTC_MAX
    assert SystemClock().build(logic.snapshot()).on_eof() == UTC_MAX


def test_abstract_classes_as_in_bytewax():
    from flow._windowing_types import Clock, ClockLogic, Windower, WindowerLogic

    assert isinstance(TumblingWindower(timedelta(hours=1), MIDNIGHT), Windower)
    assert isinstance(SessionWindower(timedelta(minutes=1)).build(None), WindowerLogic)
    assert isinstance(EventClock(lambda x: x, ZERO_TD), Clock)
    assert isinstance(SystemClock().build(None), ClockLogic)
    for cls in (Windower, WindowerLogic, Clock, ClockLogic):
        with pytest.raises(TypeError):
            cls()

    # A user's windower (as with Bytewax) only needs build().
    class MyWindower(Windower):
        def build(self, resume_state):
            return SessionWindower(timedelta(minutes=1)).build(resume_state)

    assert MyWindower().build(None).open_for(MIDNIGHT) == [0]
