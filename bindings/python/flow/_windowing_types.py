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

Users may subclass ``Clock``/``ClockLogic`` and ``Windower``/
``WindowerLogic`` as in Bytewax: such a clock or windower is given to the
C operators through an adapter (``_PyClock``, ``_PyWindower``: subclasses
of ``Flow.WindowClock`` / ``Flow.Windower`` implementing their virtual
methods), made on first use as the object's ``_c``. Their logic's
snapshots are any value ``Flow.to_variant`` converts (plain values, or
anything picklable).

System time is the run's clock (outside of a run, the system's real
time): Bytewax's ``now_getter`` and ``to_system_utc`` arguments are not
supported; tests drive time with libflow's test clock instead.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, List, Optional, Set, Tuple

from gi.repository import GObject

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
    """A type of window (Bytewax's ``Windower``).

    Subclass it (and :class:`WindowerLogic`) to write your own: the
    window operators call :meth:`build` for each key, and the logic's
    methods with aware UTC datetimes."""

    @abstractmethod
    def build(self, resume_state: Optional[Any]) -> WindowerLogic:
        """The windows of a new key, or of a resumed one from a snapshot
        of :meth:`WindowerLogic.snapshot`."""

    def __getattr__(self, name):
        # The Flow.Windower the C operators use: made once, for windowers
        # written in Python (the built-in ones set their own in
        # __post_init__).
        if name != "_c":
            raise AttributeError(f"{type(self).__qualname__!r} object has no attribute {name!r}")
        c = _PyWindower(self)
        object.__setattr__(self, "_c", c)
        return c


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
    """A type of clock (Bytewax's ``Clock``).

    Subclass it (and :class:`ClockLogic`) to write your own: the window
    operators call :meth:`build` for each key, and the logic's methods
    with aware UTC datetimes."""

    @abstractmethod
    def build(self, resume_state: Optional[Any]) -> ClockLogic:
        """The time of a new key, or of a resumed one from a snapshot of
        :meth:`ClockLogic.snapshot`."""

    def __getattr__(self, name):
        # The Flow.WindowClock the C operators use (as Windower's).
        if name != "_c":
            raise AttributeError(f"{type(self).__qualname__!r} object has no attribute {name!r}")
        c = _PyClock(self)
        object.__setattr__(self, "_c", c)
        return c


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

    :arg now_getter: Returns the current system time, an aware
        datetime. By default the run's clock (the system's real time
        outside of runs, the test clock of ``run_main(test_clock=...)``).
        The operator still wakes on the run's clock, at the time this
        clock computes from ``now_getter``'s times.

    :arg to_system_utc: Not supported: the clock computes when the
        watermark reaches a window's close.
    """

    ts_getter: Callable[[Any], datetime]
    wait_for_system_duration: timedelta
    now_getter: Optional[Callable[[], datetime]] = None
    to_system_utc: Optional[Callable[[datetime], Optional[datetime]]] = None

    def __post_init__(self):
        if self.to_system_utc is not None:
            raise ValueError(
                "EventClock's to_system_utc is not supported: the clock computes "
                "when its watermark reaches a time"
            )
        if not callable(self.ts_getter):
            raise TypeError(f"ts_getter must be callable, not {self.ts_getter!r}")
        if self.now_getter is not None and not callable(self.now_getter):
            raise TypeError(f"now_getter must be callable, not {self.now_getter!r}")
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
        if self.now_getter is not None:
            self._c.set_now_func(self._get_now)

    def _set_failure(self, e):
        self._failure = e

    def _get_now(self):
        # C cannot take a failure here: a now_getter that fails, or gives
        # no aware datetime, leaves the time where it was (with a warning).
        try:
            self._last_now = _to_usec(self.now_getter(), "the time from now_getter")
        except Exception as e:  # noqa: BLE001 - reported, time stands still
            import warnings
            warnings.warn(f"EventClock's now_getter failed ({type(e).__name__}: {e}); "
                          f"the time stands still", RuntimeWarning, stacklevel=1)
        return getattr(self, "_last_now", Flow.TIMESTAMP_MIN)

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


# Clocks and windowers written in Python ------------------------------------
#
# The adapters implement the virtual methods of Flow.WindowClock and
# Flow.Windower over a Bytewax-style Clock / Windower: build() returns a
# _LogicBox holding the key's ClockLogic / WindowerLogic; times cross as µs
# since the epoch; a wrong shape is a TypeError (ValueError for a naive
# datetime) naming the method, which the run raises with a note naming the
# step and the key.


class _LogicBox(GObject.Object):
    """The GObject a Python logic travels in through C."""

    __gtype_name__ = "FlowPyTimeLogicBox"

    def __init__(self, logic):
        super().__init__()
        self.logic = logic


def _guard(fn):
    def vfunc(self, *args):
        try:
            return fn(self, *args)
        except BaseException as e:  # noqa: BLE001 - re-raised by the run
            raise _override._user_error(e) from None
    vfunc.__name__ = fn.__name__
    return vfunc


def _build_logic(obj, resume_state, base, what):
    state = None if resume_state is None else Flow.from_variant(resume_state)
    logic = obj.build(state)
    if not isinstance(logic, base):
        raise TypeError(f"{type(obj).__qualname__}.build must return a {base.__name__} "
                        f"(the {what} of one key), not {type(logic).__qualname__} {logic!r}")
    return _LogicBox(logic)


def _name(box, method):
    return f"{type(box.logic).__qualname__}.{method}"


def _ids_variant(ids, box, method):
    try:
        ids = list(ids)
    except TypeError:
        raise TypeError(f"{_name(box, method)} must return an iterable of int window ids, "
                        f"not {type(ids).__qualname__} {ids!r}") from None
    for i in ids:
        if not isinstance(i, int) or isinstance(i, bool):
            raise TypeError(f"{_name(box, method)} must return int window ids, not "
                            f"{type(i).__qualname__} {i!r}")
    return GLib.Variant("ax", ids)


def _time(value, box, method, what="a datetime"):
    return _to_usec(value, f"{what} returned by {_name(box, method)}")


class _PyClock(Flow.WindowClock):
    """A Flow.WindowClock over a Clock written in Python."""

    __gtype_name__ = "FlowPyClock"

    def __init__(self, clock):
        super().__init__()
        self.clock = clock

    @_guard
    def do_build(self, resume_state):
        return _build_logic(self.clock, resume_state, ClockLogic, "time")

    @_guard
    def do_before_batch(self, box):
        box.logic.before_batch()

    @_guard
    def do_on_item(self, box, value):
        result = box.logic.on_item(Flow.from_variant(value))
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise TypeError(f"{_name(box, 'on_item')} must return a (timestamp, watermark) "
                            f"tuple of aware datetimes, not {type(result).__qualname__} {result!r}")
        ts, wm = result
        return (True, _time(ts, box, "on_item", "the timestamp"),
                _time(wm, box, "on_item", "the watermark"))

    @_guard
    def do_on_notify(self, box):
        return _time(box.logic.on_notify(), box, "on_notify", "the watermark")

    @_guard
    def do_on_eof(self, box):
        return _time(box.logic.on_eof(), box, "on_eof", "the watermark")

    @_guard
    def do_to_system_utc(self, box, timestamp):
        at = box.logic.to_system_utc(_from_usec(timestamp))
        if at is None:
            return (False, 0)
        return (True, _time(at, box, "to_system_utc", "the system time"))

    @_guard
    def do_snapshot(self, box):
        return Flow.to_variant(box.logic.snapshot())


class _PyWindower(Flow.Windower):
    """A Flow.Windower over a Windower written in Python."""

    __gtype_name__ = "FlowPyWindower"

    def __init__(self, windower):
        super().__init__()
        self.windower = windower

    @_guard
    def do_build(self, resume_state):
        return _build_logic(self.windower, resume_state, WindowerLogic, "windows")

    @_guard
    def do_open_for(self, box, timestamp):
        return _ids_variant(box.logic.open_for(_from_usec(timestamp)), box, "open_for")

    @_guard
    def do_late_for(self, box, timestamp):
        return _ids_variant(box.logic.late_for(_from_usec(timestamp)), box, "late_for")

    @_guard
    def do_merged(self, box):
        result = box.logic.merged()
        pairs = []
        try:
            for pair in result:
                orig, target = pair
                if not all(isinstance(i, int) and not isinstance(i, bool) for i in pair):
                    raise TypeError
                pairs.append((orig, target))
        except (TypeError, ValueError):
            raise TypeError(f"{_name(box, 'merged')} must return an iterable of "
                            f"(original_window_id, target_window_id) int pairs, not "
                            f"{result!r}") from None
        return GLib.Variant("a(xx)", pairs)

    @_guard
    def do_close_for(self, box, watermark):
        result = box.logic.close_for(_from_usec(watermark))
        closed = []
        try:
            items = list(result)
        except TypeError:
            items = None
        for item in items if items is not None else [None]:
            if (items is None or not isinstance(item, tuple) or len(item) != 2 or
                    not isinstance(item[0], int) or not isinstance(item[1], WindowMetadata)):
                raise TypeError(f"{_name(box, 'close_for')} must return an iterable of "
                                f"(window_id, WindowMetadata) tuples, not {result!r}")
            window_id, meta = item
            merged = sorted(meta.merged_ids)
            closed.append((window_id,
                           _time(meta.open_time, box, "close_for", "the open_time"),
                           _time(meta.close_time, box, "close_for", "the close_time"),
                           merged))
        return GLib.Variant("a(xxxax)", closed)

    @_guard
    def do_notify_at(self, box):
        at = box.logic.notify_at()
        if at is None:
            return (False, 0)
        return (True, _time(at, box, "notify_at"))

    @_guard
    def do_is_empty(self, box):
        empty = box.logic.is_empty()
        if not isinstance(empty, bool):
            raise TypeError(f"{_name(box, 'is_empty')} must return a bool, not "
                            f"{type(empty).__qualname__} {empty!r}")
        return empty

    @_guard
    def do_snapshot(self, box):
        return Flow.to_variant(box.logic.snapshot())
