# SPDX-License-Identifier: LGPL-2.1-or-later
"""Operators over several keyed streams, and cached lookups: Bytewax's
``join``, ``join_named``, ``enrich_cached`` and ``TTLCache``.

``join`` is libflow's ``join`` step (``Flow.Stream.join``): its state is
in the recovery snapshots, and the run fails naming the step and the item
when a side is not a keyed stream. ``join_named`` is Bytewax's older
operator (up to 0.20), kept because ported Bytewax code still calls it.
"""

import datetime
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Generic, Literal, Tuple, TypeVar

from .._gi import Flow, GLib
from ..dataflow import (
    KeyedStream,
    Stream,
    _build_error,
    _check_scopes,
    _check_step_id,
    _gi_stream,
    _wrap,
    operator,
)

DK = TypeVar("DK")
DV = TypeVar("DV")

JoinInsertMode = Literal["first", "last", "product"]
"""What a join keeps of the values of one side (Bytewax's names):

- ``"first"``: only the first value of a side;
- ``"last"``: only the last value of a side;
- ``"product"``: every value; rows are every combination of the sides'
  values, like a SQL cross join.
"""

JoinEmitMode = Literal["complete", "final", "running"]
"""When a join emits (Bytewax's names):

- ``"complete"``: once every side has a value; then the key's state is
  discarded;
- ``"final"``: at the end of input (only for finite input), missing sides
  as ``None``; then the state is discarded;
- ``"running"``: after every value, missing sides as ``None``; the state
  is kept forever.
"""

def _modes(insert_mode, emit_mode):
    if insert_mode not in typing.get_args(JoinInsertMode):
        raise ValueError(f"unknown join insert mode {insert_mode!r}")
    if emit_mode not in typing.get_args(JoinEmitMode):
        raise ValueError(f"unknown join emit mode {emit_mode!r}")


def join(
    step_id: str,
    *sides: KeyedStream[Any],
    insert_mode: JoinInsertMode = "last",
    emit_mode: JoinEmitMode = "complete",
) -> KeyedStream[Tuple]:
    """Gathers the values of each key on several keyed streams.

    Emits ``(key, (value_of_side1, value_of_side2, ...))`` in the order of
    ``sides``; a side without a value is ``None``. See
    :data:`JoinInsertMode` and :data:`JoinEmitMode`; the defaults are
    ``"last"`` and ``"complete"``, as Bytewax's.

    The sides' state of each key is recovered after a resume. Every side
    must be a keyed stream of ``(str, value)`` 2-tuples: the run stops on
    an item that is not, naming the step and the item.
    """
    _check_step_id(step_id)
    _modes(insert_mode, emit_mode)
    if not sides:
        raise TypeError("join needs at least one side")
    streams = [_gi_stream(s, "'sides' *args all") for s in sides]
    _check_scopes(*sides)
    try:
        result = streams[0].join(step_id, *streams[1:],
                                 insert_mode=insert_mode, emit_mode=emit_mode)
    except GLib.Error as e:
        exc = _build_error(e)
        if exc is e:
            raise
        raise exc from e
    return _wrap(result, sides[0])


def _wrap_side(v):
    return (v,)


@operator
def join_named(
    step_id: str,
    insert_mode: JoinInsertMode = "last",
    emit_mode: JoinEmitMode = "complete",
    **sides: Stream,
) -> Stream:
    """Gathers the values of each key on several keyed streams, named.

    Bytewax's ``join_named`` (up to Bytewax 0.20): like :func:`join`, but
    each row is a ``dict`` from the name of a side (its keyword) to its
    value, without the sides that have no value (yet). A value that is
    ``None`` is kept as ``None``: only sides that have nothing are left
    out.
    """
    _modes(insert_mode, emit_mode)
    from . import map_value

    names = list(sides)
    wrapped = [map_value(f"wrap_{name}", s, _wrap_side) for name, s in sides.items()]
    joined = join("join", *wrapped, insert_mode=insert_mode, emit_mode=emit_mode)

    def as_dict(row):
        return {name: cell[0] for name, cell in zip(names, row) if cell is not None}

    return map_value("as_dict", joined, as_dict)


def _run_utc_now() -> datetime.datetime:
    """The run's wall-clock time (its test clock in tests) as an aware
    UTC datetime."""
    usec = Flow.get_real_time()
    return datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + \
        datetime.timedelta(microseconds=usec)


@dataclass
class TTLCache(Generic[DK, DV]):
    """A simple TTL cache (Bytewax's).

    :meth:`get` returns the cached value of a key, or calls ``v_getter``
    when there is none or it was got more than ``ttl`` ago by
    ``now_getter``'s clock. Keys may be any hashable value.
    """

    v_getter: Callable[[DK], DV]
    now_getter: Callable[[], datetime.datetime]
    ttl: datetime.timedelta
    _cache: Dict[DK, Tuple[datetime.datetime, DV]] = field(default_factory=dict)

    def get(self, k: DK) -> DV:
        """The cached value of ``k``, got anew if its TTL passed."""
        now = self.now_getter()
        hit = self._cache.get(k)
        if hit is not None:
            ts, v = hit
            if not now - ts > self.ttl:
                return v
        v = self.v_getter(k)
        self._cache[k] = (now, v)
        return v

    def remove(self, k: DK) -> None:
        """Forgets the cached value of ``k`` (``KeyError`` if none)."""
        del self._cache[k]


@operator
def enrich_cached(
    step_id: str,
    up: Stream[Any],
    getter: Callable[[DK], DV],
    mapper: Callable[[TTLCache, Any], Any],
    ttl: datetime.timedelta = datetime.timedelta.max,
    _now_getter: Callable[[], datetime.datetime] = _run_utc_now,
) -> Stream[Any]:
    """Enriches items with values looked up by key and cached.

    ``mapper(cache, item)`` is called on each item; ``cache.get(k)``
    returns the cached value of ``k`` or calls ``getter(k)``, again once
    the value is older than ``ttl``. The time is taken once per batch,
    from ``_now_getter``: by default the run's clock (a test clock in
    tests, see ``Flow.get_real_time``), so expiry is testable without
    waiting.

    As Bytewax's, the cache is not part of recovery: a resumed run starts
    with an empty cache and gets the values again. As Bytewax's, it is an
    operator made of a ``flat_map_batch`` substep.
    """
    if not callable(getter):
        raise TypeError(f"enrich_cached: getter must be callable, not {type(getter).__qualname__}")
    if not callable(mapper):
        raise TypeError(f"enrich_cached: mapper must be callable, not {type(mapper).__qualname__}")
    if not isinstance(ttl, datetime.timedelta):
        raise TypeError(f"enrich_cached: ttl must be a timedelta, not {type(ttl).__qualname__}")
    from . import flat_map_batch

    now = None

    def batch_now():
        return now

    cache = TTLCache(getter, batch_now, ttl)

    def shim(items):
        nonlocal now
        now = _now_getter()
        return [mapper(cache, x) for x in items]

    return flat_map_batch("flat_map_batch", up, shim)
