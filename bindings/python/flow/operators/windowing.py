# SPDX-License-Identifier: LGPL-2.1-or-later
"""Time-based windowing operators, as :mod:`bytewax.operators.windowing`.

Each operator groups the values of a keyed stream into windows of time
(a :class:`Windower`: :class:`TumblingWindower`, :class:`SlidingWindower`,
:class:`SessionWindower`) as a :class:`Clock` (:class:`EventClock`,
:class:`SystemClock`) sees time, and returns a :class:`WindowOut` of three
keyed streams::

    import flow.operators as op
    import flow.operators.windowing as win

    clock = win.EventClock(lambda e: e["at"], wait_for_system_duration=timedelta(seconds=5))
    windower = win.TumblingWindower(length=timedelta(minutes=1), align_to=align_to)
    counts = win.count_window("count", events, clock, windower, lambda e: e["user"])
    op.output("out", counts.down, sink)      # (user, (window_id, count))

Times are aware :class:`datetime.datetime` and durations
:class:`datetime.timedelta`; a naive datetime (from ``ts_getter``, or as
``align_to``) is refused with a :class:`ValueError`. Open windows close
when the watermark passes their close time, and all at the end of input.

The operators run in C (``Flow.Stream.fold_window`` and its kind): the
functions given are called from there with plain Python values. Besides
the built-in clocks and windowers, subclasses of :class:`Clock` /
:class:`ClockLogic` and :class:`Windower` / :class:`WindowerLogic`
written in Python work as in Bytewax (C calls their logic through the
virtual methods of ``Flow.WindowClock`` and ``Flow.Windower``).
"""

import itertools
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, Optional, TypeVar

from .._windowing_types import (
    LATE_SESSION_ID,
    UTC_MAX,
    UTC_MIN,
    ZERO_TD,
    Clock,
    ClockLogic,
    EventClock,
    SessionWindower,
    SlidingWindower,
    SystemClock,
    TumblingWindower,
    WindowMetadata,
    Windower,
    WindowerLogic,
    _from_usec,
)
from .._gi import Flow, GLib, _override
from ..dataflow import KeyedStream, Stream, _build_error, _gi_stream, _wrap, operator
from . import _build, map_value

__all__ = [
    "LATE_SESSION_ID",
    "UTC_MAX",
    "UTC_MIN",
    "ZERO_TD",
    "Clock",
    "ClockLogic",
    "EventClock",
    "SessionWindower",
    "SlidingWindower",
    "SystemClock",
    "TumblingWindower",
    "WindowMetadata",
    "WindowLogic",
    "WindowOut",
    "Windower",
    "WindowerLogic",
    "collect_window",
    "count_window",
    "fold_window",
    "join_window",
    "max_window",
    "min_window",
    "reduce_window",
    "window",
]

V = TypeVar("V")
W_co = TypeVar("W_co", covariant=True)


@dataclass(frozen=True)
class WindowOut(Generic[V, W_co]):
    """Streams returned from a windowing operator."""

    down: KeyedStream
    """Items emitted from this operator: ``(key, (window_id, value))``.

    Sub-keyed by window ID."""

    late: KeyedStream
    """Upstream items that were deemed late for a window:
    ``(key, (window_id, item))``.

    Sub-keyed by window ID."""

    meta: KeyedStream
    """Metadata about closed windows: ``(key, (window_id,
    WindowMetadata))``, once per window when it closes.

    Sub-keyed by window ID."""


def _check_clock(clock):
    if not isinstance(clock, Clock) or not isinstance(getattr(clock, "_c", None), Flow.WindowClock):
        raise TypeError(f"clock must be a Clock (EventClock, SystemClock, or a subclass of "
                        f"Clock); got {type(clock).__qualname__}")


def _check_windower(windower):
    if not isinstance(windower, Windower) or not isinstance(getattr(windower, "_c", None), Flow.Windower):
        raise TypeError(f"windower must be a Windower (TumblingWindower, SlidingWindower, "
                        f"SessionWindower, or a subclass of Windower); got "
                        f"{type(windower).__qualname__}")


def _to_meta(id_meta):
    window_id, (open_time, close_time, merged) = id_meta
    return (window_id, WindowMetadata(_from_usec(open_time), _from_usec(close_time), set(merged)))


def _add_window(up, clock, windower, call):
    """Adds the C window step (``call(gi_stream)`` returns its
    Flow.WindowOut) as the substep "window" and returns the WindowOut of
    the operator."""
    _check_clock(clock)
    _check_windower(windower)
    stream = _gi_stream(up)
    try:
        out = call(stream)
    except GLib.Error as e:
        exc = _build_error(e)
        if exc is e:
            raise
        raise exc from e
    down = _wrap(out.get_down(), up, "down")
    late = _wrap(out.get_late(), up, "late")
    meta = _wrap(out.get_meta(), up, "meta")
    native_meta = getattr(_override._native, "window_meta", None)
    if native_meta is not None:
        # The same map_value step, converting only when a step reads the
        # meta stream (flow-native-window.c).
        def call_meta(s):
            mapped = native_meta(s, "meta", _to_meta)
            _override._check_flow(s.get_dataflow())
            return mapped
        meta = _build(meta, call_meta, "meta")
    else:
        meta = map_value("meta", meta, _to_meta)
    return WindowOut(down, late, meta)


def _identity(x):
    return x


def _into_set(id_values):
    window_id, values = id_values
    return (window_id, set(values))


def _into_dict_for(step_id):
    def into_dict(id_values):
        window_id, values = id_values
        d = {}
        for k_v in values:
            try:
                k, v = k_v
            except (TypeError, ValueError) as ex:
                raise TypeError(f"step {step_id!r} collecting into a `dict` requires "
                                f"`(key, value)` 2-tuple as the values in the stream; "
                                f"got a {type(k_v)!r} instead") from ex
            d[k] = v
        return (window_id, d)
    return into_dict


@operator
def collect_window(
    step_id: str,
    up: KeyedStream,
    clock: Clock,
    windower: Windower,
    into=list,
    ordered: bool = True,
) -> WindowOut:
    """Collect items in a window into a container.

    See :func:`flow.operators.collect` for the ability to set a max size.

    :arg step_id: Unique ID.

    :arg up: Stream of items to collect.

    :arg clock: Time definition.

    :arg windower: Window definition.

    :arg into: Type to collect into: :class:`list` (the default),
        :class:`set` or :class:`dict` (values must be ``(key, value)``
        2-tuples; later values win).

    :arg ordered: Whether values are collected in timestamp order (the
        default) rather than in arrival order.

    :returns: Window result of the collected containers at the end of
        each window.
    """
    if isinstance(into, type) and issubclass(into, list):
        convert = None
    elif isinstance(into, type) and issubclass(into, set):
        convert = _into_set
    elif isinstance(into, type) and issubclass(into, dict):
        convert = _into_dict_for(step_id)
    else:
        raise TypeError(f"`collect_window` doesn't support `{into!r}`; only `list`, `set`, "
                        f"and `dict`; use `fold_window` directly")
    out = _add_window(up, clock, windower,
                      lambda s: s.collect_window("window", clock, windower, ordered))
    if convert is None:
        return out
    return WindowOut(map_value("into", out.down, convert), out.late, out.meta)


@operator
def count_window(
    step_id: str,
    up: Stream,
    clock: Clock,
    windower: Windower,
    key: Callable[[Any], str],
) -> WindowOut:
    """Count the number of occurrences of items in a window.

    :arg step_id: Unique ID.

    :arg up: Stream of items to count (not keyed: ``key`` gives the
        keys; the clock's ``ts_getter`` gets whole items).

    :arg clock: Time definition.

    :arg windower: Window definition.

    :arg key: Function to convert each item into a string key. The
        counting machinery does not compare the items directly, instead
        it groups by this string key.

    :returns: Window result of ``(key, count)`` per window at the end of
        each window.
    """
    if not callable(key):
        raise TypeError(f"key must be callable, not {type(key).__qualname__}")
    native = getattr(_override._native, "window_count", None)
    if native is not None:
        # The key function called from C (flow-native-window.c).
        def call(s):
            out = native(s, "window", clock._c, windower._c, key)
            _override._check_flow(s.get_dataflow())
            return out
        return _add_window(up, clock, windower, call)
    return _add_window(up, clock, windower,
                       lambda s: s.count_window("window", clock, windower, key))


@operator
def fold_window(
    step_id: str,
    up: KeyedStream,
    clock: Clock,
    windower: Windower,
    builder: Callable[[], Any],
    folder: Callable[[Any, Any], Any],
    merger: Callable[[Any, Any], Any],
    ordered: bool = True,
) -> WindowOut:
    """Build an empty accumulator, then combine values into it.

    It is like :func:`reduce_window` but uses a function to build the
    initial value.

    :arg step_id: Unique ID.

    :arg up: Keyed stream.

    :arg clock: Time definition.

    :arg windower: Window definition.

    :arg builder: Called the first time a window of a key opens and is
        expected to return the empty accumulator.

    :arg folder: Combines a new value into an existing accumulator and
        returns the updated accumulator.

    :arg merger: Combines two accumulators whenever two windows merge
        (sessions): the accumulator of the window merged into, then the
        other's.

    :arg ordered: Whether values are folded in timestamp order (the
        default) rather than in arrival order.

    :returns: Window result of the accumulators once each window has
        closed.
    """
    return _add_window(up, clock, windower,
                       lambda s: s.fold_window("window", clock, windower, builder, folder,
                                               merger, ordered))


@operator
def reduce_window(
    step_id: str,
    up: KeyedStream,
    clock: Clock,
    windower: Windower,
    reducer: Callable[[Any, Any], Any],
    ordered: bool = True,
) -> WindowOut:
    """Distill all values for a key down into a single value.

    It is like :func:`fold_window` but the first value is the initial
    accumulator; ``reducer`` also combines windows that merge.

    :arg step_id: Unique ID.

    :arg up: Keyed stream.

    :arg clock: Time definition.

    :arg windower: Window definition.

    :arg reducer: Combines a new value into an old value and returns the
        combined value.

    :arg ordered: Whether values are reduced in timestamp order (the
        default) rather than in arrival order.

    :returns: Window result of the reduced values once each window has
        closed.
    """
    return _add_window(up, clock, windower,
                       lambda s: s.reduce_window("window", clock, windower, reducer, ordered))


@operator
def max_window(
    step_id: str,
    up: KeyedStream,
    clock: Clock,
    windower: Windower,
    by: Optional[Callable[[Any], Any]] = _identity,
) -> WindowOut:
    """Find the maximum value for each key.

    :arg step_id: Unique ID.

    :arg up: Keyed stream.

    :arg clock: Time definition.

    :arg windower: Window definition.

    :arg by: A function called on each value that is used to extract
        what to compare.

    :returns: Window result of the max values once each window has
        closed.
    """
    key = _identity if by is None else by
    if not callable(key):
        raise TypeError(f"by must be callable, not {type(key).__qualname__}")

    def reducer(acc, value):
        return max(acc, value, key=key)   # of equal values, the earlier
    return _add_window(up, clock, windower,
                       lambda s: s.reduce_window("window", clock, windower, reducer, True))


@operator
def min_window(
    step_id: str,
    up: KeyedStream,
    clock: Clock,
    windower: Windower,
    by: Optional[Callable[[Any], Any]] = _identity,
) -> WindowOut:
    """Find the minimum value for each key.

    :arg step_id: Unique ID.

    :arg up: Keyed stream.

    :arg clock: Time definition.

    :arg windower: Window definition.

    :arg by: A function called on each value that is used to extract
        what to compare.

    :returns: Window result of the min values once each window has
        closed.
    """
    key = _identity if by is None else by
    if not callable(key):
        raise TypeError(f"by must be callable, not {type(key).__qualname__}")

    def reducer(acc, value):
        return min(acc, value, key=key)   # of equal values, the earlier
    return _add_window(up, clock, windower,
                       lambda s: s.reduce_window("window", clock, windower, reducer, True))


# window: a WindowLogic per window --------------------------------------


class WindowLogic(ABC, Generic[V, W_co]):
    """The logic of one window (Bytewax's ``WindowLogic``): made by the
    ``builder`` of :func:`window` for each window of each key."""

    @abstractmethod
    def on_value(self, value: V) -> Iterable[W_co]:
        """A value came into the window; returns what to emit now."""

    @abstractmethod
    def on_merge(self, original: "WindowLogic") -> Iterable[W_co]:
        """The window ``original`` merged into this one (sessions);
        returns what to emit now."""

    @abstractmethod
    def on_close(self) -> Iterable[W_co]:
        """The window closed; returns what to emit."""

    @abstractmethod
    def snapshot(self) -> Any:
        """The state of the window, given to ``builder`` on resume."""


def _values(result, what):
    if result is None:
        return None
    try:
        items = [GLib.Variant.new_variant(Flow.to_variant(x)) for x in result]
    except TypeError as e:
        if not hasattr(result, "__iter__"):
            raise TypeError(f"{what} must return an iterable of values, not "
                            f"{type(result).__qualname__}") from None
        raise e
    if not items:
        return None
    return GLib.Variant.new_array(GLib.VariantType.new("v"), items)


_logic_types = itertools.count()


def _logic_type(builder):
    """A Flow.WindowLogic subclass whose instances call ``builder``'s
    WindowLogic (built lazily: the C operator makes the instances)."""

    def guard(fn):
        def vfunc(self, *args):
            try:
                return fn(self, *args)
            except BaseException as e:  # noqa: BLE001 - re-raised by the run
                raise _override._user_error(e) from None
        return vfunc

    def logic(self):
        lg = self.__dict__.get("_logic")
        if lg is None:
            lg = self._logic = builder(None)
        return lg

    def do_on_value(self, value):
        return _values(logic(self).on_value(Flow.from_variant(value)), "on_value")

    def do_on_merge(self, consumed):
        return _values(logic(self).on_merge(logic(consumed)), "on_merge")

    def do_on_close(self):
        return _values(logic(self).on_close(), "on_close")

    def do_snapshot(self):
        return Flow.to_variant(logic(self).snapshot())

    def do_restore(self, state):
        self._logic = builder(Flow.from_variant(state))
        return True

    name = f"FlowPyWindowLogic{next(_logic_types)}"
    return type(name, (Flow.WindowLogic,), {
        "__gtype_name__": name,
        "do_on_value": guard(do_on_value),
        "do_on_merge": guard(do_on_merge),
        "do_on_close": guard(do_on_close),
        "do_snapshot": guard(do_snapshot),
        "do_restore": guard(do_restore),
    })


@operator
def window(
    step_id: str,
    up: KeyedStream,
    clock: Clock,
    windower: Windower,
    builder: Callable[[Optional[Any]], WindowLogic],
    ordered: bool = True,
) -> WindowOut:
    """Advanced generic windowing operator.

    :arg step_id: Unique ID.

    :arg up: Keyed upstream.

    :arg clock: Time definition.

    :arg windower: Window definition.

    :arg builder: Called whenever a new window is opened with the resume
        state returned from :meth:`WindowLogic.snapshot` for that window,
        if any (``None`` for a new one); returns its
        :class:`WindowLogic`.

    :arg ordered: Whether values come to each window in timestamp order
        (the default) rather than in arrival order.

    :returns: Window result streams.
    """
    if not callable(builder):
        raise TypeError(f"builder must be callable, not {type(builder).__qualname__}")
    gtype = _logic_type(builder)
    return _add_window(up, clock, windower,
                       lambda s: s.window("window", clock, windower, gtype, ordered))


@operator
def join_window(
    step_id: str,
    clock: Clock,
    windower: Windower,
    *sides: KeyedStream,
    insert_mode: str = "last",
    product: bool = False,
) -> WindowOut:
    """Gather together the value for a key on multiple streams, per
    window.

    :arg step_id: Unique ID.

    :arg clock: Time definition (its ``ts_getter`` gets the values of
        every side).

    :arg windower: Window definition.

    :arg *sides: Keyed streams.

    :arg insert_mode: What each side keeps of its values in a window:
        ``"first"``, ``"last"`` (the default) or ``"product"`` (all of
        them: one tuple per combination is emitted).

    :arg product: ``True`` is ``insert_mode="product"`` (the argument of
        later Bytewax versions).

    :returns: Window result with tuples with the value from each stream
        in the order of the argument list (``None`` for a side without
        a value) once each window has closed.
    """
    if not sides:
        raise TypeError("join_window needs at least one side")
    if product:
        insert_mode = "product"
    first, others = sides[0], [_gi_stream(s, "'sides' *args all") for s in sides[1:]]
    return _add_window(first, clock, windower,
                       lambda s: s.join_window("window", clock, windower, others, insert_mode))
