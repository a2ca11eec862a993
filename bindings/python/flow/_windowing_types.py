# SPDX-License-Identifier: LGPL-2.1-or-later
"""Bytewax's windowing types (clocks, windowers, window metadata) on
libflow's C types (``Flow.TumblingWindower``, ``Flow.EventClock``, ...).

Times are aware :class:`datetime.datetime` and durations
:class:`datetime.timedelta`, in and out, exactly as in Bytewax 0.21; a
naive datetime is refused with a :class:`ValueError`. In C a time is
microseconds since the Unix epoch (UTC) and a duration microseconds.

This module holds the types only; the window operators
(``flow.operators.windowing``) are built on them. ``Windower``,
``WindowerLogic``, ``Clock`` and ``ClockLogic`` are Bytewax's abstract
classes; the built-in windowers and clocks implement ``build(resume_state)``
with a logic over the C per-key state (``Flow.WindowerState`` /
``Flow.WindowClockState``), whose snapshots are the C states' GVariants.

System time is the run's clock (outside of a run, the system's real
time): Bytewax's ``now_getter`` and ``to_system_utc`` arguments are not
supported; tests drive time with libflow's test clock instead.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, List, Optional, Set, Tuple

from ._gi import Flow, GLib, _override, is_flow_error

__all__ = [
    "ZERO_TD",
    "UTC_MAX",
    "UTC_MIN",
    "LATE_SESSION_ID",
    "WindowMetadata",
    "Windower",
    "WindowerLogic",
    "TumblingWindower",
    "SlidingWindower",
    "SessionWindower",
    "Clock",
    "ClockLogic",
    "SystemClock",
    "EventClock",
]

ZERO_TD = timedelta(seconds=0)
"""A zero length of time."""

UTC_MAX = datetime.max.replace(tzinfo=timezone.utc)
"""Maximum possible UTC date time."""

UTC_MIN = datetime.min.replace(tzinfo=timezone.utc)
"""Minimum possible UTC date time."""

LATE_SESSION_ID: int = Flow.LATE_SESSION_ID
"""Sentinel window ID assigned to late items of session windows."""

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_USEC = timedelta(microseconds=1)
_SPAN_MAX = Flow.TIMESTAMP_MAX - Flow.TIMESTAMP_MIN


def _to_usec(dt, what):
    """µs since the epoch of an aware datetime; ``what`` names it in
    errors."""
    if not isinstance(dt, datetime):
        raise TypeError(f"{what} must be an aware datetime, not {type(dt).__name__} {dt!r}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(
            f"{what} must be an aware datetime, not the naive {dt!r}: "
            "give it a time zone, e.g. datetime(..., tzinfo=timezone.utc)"
        )
    return (dt - _EPOCH) // _USEC


def _from_usec(usec):
    """The aware UTC datetime of µs since the epoch."""
    return _EPOCH + timedelta(microseconds=usec)


def _span_usec(td, what):
    if not isinstance(td, timedelta):
        raise TypeError(f"{what} must be a timedelta, not {type(td).__name__} {td!r}")
    return td // _USEC


def _call(fn, *args):
    """Calls a Flow constructor, giving its bad-argument errors as
    ValueError (as Bytewax's dataclasses raise)."""
    try:
        return fn(*args)
    except GLib.Error as e:
        if is_flow_error(e, Flow.Error.INVALID_ARGUMENT):
            raise ValueError(e.message) from None
        raise


@dataclass
class WindowMetadata:
    """Metadata about a window.

    The exact semantics of the fields will depend on the windower
    used. E.g. for :class:`SessionWindower`, `close_time` is
    inclusive; but for :class:`SlidingWindower` it is not.
    """

    open_time: datetime
    """The timestamp this window opened."""
    close_time: datetime
    """The timestamp this window closed."""
    merged_ids: Set[int] = field(default_factory=set)
    """Any original window IDs merged into this window before close."""

    @classmethod
    def _from_flow(cls, meta):
        return cls(
            _from_usec(meta.get_open_time()),
            _from_usec(meta.get_close_time()),
            set(meta.get_merged_ids()),
        )


# Windowers -------------------------------------------------------------


class WindowerLogic(ABC):
    """The windows of one key (Bytewax's ``WindowerLogic``): made by
    :meth:`Windower.build` for each key."""

    @abstractmethod
    def open_for(self, timestamp: datetime) -> Iterable[int]:
        """Window IDs a non-late item is in, opening them."""

    @abstractmethod
    def late_for(self, timestamp: datetime) -> Iterable[int]:
        """Window IDs a late item would have been in."""

    @abstractmethod
    def merged(self) -> Iterable[Tuple[int, int]]:
        """`(original_window_id, target_window_id)` merges since the last
        call."""

    @abstractmethod
    def close_for(self, watermark: datetime) -> Iterable[Tuple[int, WindowMetadata]]:
        """Windows the watermark closes, with their final metadata."""

    @abstractmethod
    def notify_at(self) -> Optional[datetime]:
        """The earliest watermark at which a window closes, if any."""

    @abstractmethod
    def is_empty(self) -> bool:
        """Whether no state needs to be kept."""

    @abstractmethod
    def snapshot(self) -> Any:
        """The state, for :meth:`Windower.build` on resume."""


class _FlowWindowerLogic(WindowerLogic):
    """A :class:`WindowerLogic` over a ``Flow.WindowerState``."""

    def __init__(self, state):
        self._state = state

    def open_for(self, timestamp: datetime) -> List[int]:
        return list(self._state.open_for(_to_usec(timestamp, "timestamp")))

    def late_for(self, timestamp: datetime) -> List[int]:
        return list(self._state.late_for(_to_usec(timestamp, "timestamp")))

    def merged(self) -> List[Tuple[int, int]]:
        return [tuple(pair) for pair in self._state.take_merged().unpack()]

    def close_for(self, watermark: datetime) -> List[Tuple[int, WindowMetadata]]:
        closed = self._state.close_for(_to_usec(watermark, "watermark"))
        return [(m.get_window_id(), WindowMetadata._from_flow(m)) for m in closed]

    def notify_at(self) -> Optional[datetime]:
        found, at = self._state.notify_at()
        return _from_usec(at) if found else None

    def is_empty(self) -> bool:
        return self._state.is_empty()

    def snapshot(self) -> GLib.Variant:
        """The C state's snapshot (a GLib.Variant)."""
        return self._state.snapshot()


class Windower(ABC):
    """A type of window (Bytewax's ``Windower``)."""

    @abstractmethod
    def build(self, resume_state: Optional[Any]) -> WindowerLogic:
        """The windows of a new key, or of a resumed one from a snapshot
        of :meth:`WindowerLogic.snapshot`."""


class _FlowWindower(Windower):
    """A windower that is a ``Flow.Windower`` (``self._c``)."""

    def build(self, resume_state: Optional[GLib.Variant] = None) -> WindowerLogic:
        if resume_state is None:
            return _FlowWindowerLogic(self._c.new_state())
        return _FlowWindowerLogic(self._c.restore_state(resume_state))


@dataclass
class SlidingWindower(_FlowWindower):
    """Sliding windows of fixed duration.

    If `offset == length`, windows cover all time but do not overlap.
    Each item will fall in exactly one window. This is equivalent to
    using :class:`TumblingWindower`.

    If `offset < length`, windows overlap. Items could fall in
    multiple windows.

    You are not allowed to set `offset > length`, otherwise there
    would be undefined gaps between windows which would lose items.

    Window open times are inclusive, but close times are exclusive.

    :arg length: Length of windows.

    :arg offset: Duration between start times of adjacent windows.

    :arg align_to: Align windows so this instant starts a window (an
        aware datetime, not in the future).
    """

    length: timedelta
    offset: timedelta
    align_to: datetime

    def __post_init__(self):
        self._c = _call(
            Flow.SlidingWindower.new,
            _span_usec(self.length, "length"),
            _span_usec(self.offset, "offset"),
            _to_usec(self.align_to, "align_to"),
        )


@dataclass
class TumblingWindower(_FlowWindower):
    """Tumbling windows of fixed duration.

    Each item will fall in exactly one window.

    Window open times are inclusive, but close times are exclusive.

    :arg length: Length of windows.

    :arg align_to: Align windows so this instant starts a window (an
        aware datetime, not in the future).
    """

    length: timedelta
    align_to: datetime

    def __post_init__(self):
        self._c = _call(
            Flow.TumblingWindower.new,
            _span_usec(self.length, "length"),
            _to_usec(self.align_to, "align_to"),
        )


@dataclass
class SessionWindower(_FlowWindower):
    """Session windows with a fixed inactivity gap.

    :arg gap: Gap of inactivity before considering a session closed.
        The gap must be positive (Bytewax allows zero).
    """

    gap: timedelta

    def __post_init__(self):
        self._c = _call(Flow.SessionWindower.new, _span_usec(self.gap, "gap"))


# Clocks ----------------------------------------------------------------


class ClockLogic(ABC):
    """The time of one key (Bytewax's ``ClockLogic``): made by
    :meth:`Clock.build` for each key."""

    @abstractmethod
    def before_batch(self) -> None:
        """Prepares for the items that come together."""

    @abstractmethod
    def on_item(self, value: Any) -> Tuple[datetime, datetime]:
        """The item's timestamp and the watermark after it."""

    @abstractmethod
    def on_notify(self) -> datetime:
        """The watermark now, when there is no item."""

    @abstractmethod
    def on_eof(self) -> datetime:
        """The watermark at the end of input."""

    @abstractmethod
    def to_system_utc(self, timestamp: datetime) -> Optional[datetime]:
        """The system time at which to wake for ``timestamp``."""

    @abstractmethod
    def snapshot(self) -> Any:
        """The state, for :meth:`Clock.build` on resume."""


class _FlowClockLogic(ClockLogic):
    """A :class:`ClockLogic` over a ``Flow.WindowClockState``."""

    def __init__(self, clock, state):
        self._clock = clock
        self._state = state

    def before_batch(self) -> None:
        """Reads the system time (the run's clock) for the items that
        follow."""
        self._state.before_batch()

    def on_item(self, value: Any) -> Tuple[datetime, datetime]:
        return self._clock._on_item(self._state, value)

    def on_notify(self) -> datetime:
        return _from_usec(self._state.on_notify())

    def on_eof(self) -> datetime:
        """:data:`UTC_MAX`: every window closes."""
        return _from_usec(self._state.on_eof())

    def to_system_utc(self, timestamp: datetime) -> Optional[datetime]:
        """The system time at which the watermark reaches ``timestamp``."""
        found, at = self._state.to_system_utc(_to_usec(timestamp, "timestamp"))
        return _from_usec(at) if found else None

    def snapshot(self) -> GLib.Variant:
        """The C state's snapshot (a GLib.Variant)."""
        return self._state.snapshot()


class Clock(ABC):
    """A type of clock (Bytewax's ``Clock``)."""

    @abstractmethod
    def build(self, resume_state: Optional[Any]) -> ClockLogic:
        """The time of a new key, or of a resumed one from a snapshot of
        :meth:`ClockLogic.snapshot`."""


class _FlowClock(Clock):
    """A clock that is a ``Flow.WindowClock`` (``self._c``)."""

    def build(self, resume_state: Optional[GLib.Variant] = None) -> ClockLogic:
        if resume_state is None:
            return _FlowClockLogic(self, self._c.new_state())
        return _FlowClockLogic(self, self._c.restore_state(resume_state))

    def _on_item(self, state, value):
        ok, ts, wm = state.on_item(Flow.to_variant(value))
        return _from_usec(ts), _from_usec(wm)


@dataclass
class SystemClock(_FlowClock):
    """Uses the current system time as the timestamp for each item.

    The watermark is the current system time (the run's clock).

    All timestamps and watermarks are generated in UTC.

    When the dataflow has no more input, all windows are closed.
    """

    def __post_init__(self):
        self._c = Flow.SystemClock.new()


@dataclass
class EventClock(_FlowClock):
    """Use a timestamp embedded within each item.

    The watermark is the largest timestamp seen thus far, minus the
    waiting duration, plus the system time duration that has elapsed
    since that item was seen. This effectively means that items will
    be correctly processed as long as they do not have timestamps
    out-of-order or arrive later than the waiting duration.

    :arg ts_getter: Called once on each item to get its timestamp, an
        aware datetime.

    :arg wait_for_system_duration: How much system time to wait after
        seeing a timestamp to have the watermark catch up to that time
        (zero or positive; ``timedelta.max`` waits for the end of input).

    :arg now_getter: Not supported: system time is the run's clock.

    :arg to_system_utc: Not supported: the clock computes when the
        watermark reaches a window's close.
    """

    ts_getter: Callable[[Any], datetime]
    wait_for_system_duration: timedelta
    now_getter: Optional[Callable[[], datetime]] = None
    to_system_utc: Optional[Callable[[datetime], Optional[datetime]]] = None

    def __post_init__(self):
        if self.now_getter is not None or self.to_system_utc is not None:
            raise ValueError(
                "EventClock's now_getter and to_system_utc are not supported: "
                "system time is the run's clock (use the test clock in tests)"
            )
        if not callable(self.ts_getter):
            raise TypeError(f"ts_getter must be callable, not {self.ts_getter!r}")
        wait = _span_usec(self.wait_for_system_duration, "wait_for_system_duration")
        # A wait beyond all representable time is the same as the longest.
        wait = min(wait, _SPAN_MAX)
        self._failure = None
        # The native fast path calls ts_getter from C and converts a UTC
        # datetime there (flow-native-window.c); the same errors.
        native = getattr(_override._native, "event_clock_new", None)
        if native is not None:
            self._c = native(wait, self.ts_getter, _to_usec, self._set_failure)
        else:
            self._c = _call(Flow.EventClock.new, wait, self._get_ts)

    def _set_failure(self, e):
        self._failure = e

    def _get_ts(self, value):
        # The exception is kept (re-raised by _on_item) and handed to the
        # run in progress (a window operator), which stops with it; C gets
        # a GLib.Error (the callback throws).
        try:
            return _to_usec(self.ts_getter(Flow.from_variant(value)), "the timestamp from ts_getter")
        except Exception as e:  # noqa: BLE001 - re-raised by _on_item or the run
            self._failure = e
            raise _override._user_error(e) from None

    def _on_item(self, state, value):
        self._failure = None
        try:
            return super()._on_item(state, value)
        except GLib.Error:
            failure, self._failure = self._failure, None
            if failure is not None:
                raise failure from None
            raise
