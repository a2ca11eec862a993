# SPDX-License-Identifier: LGPL-2.1-or-later
"""Built-in operators, as :mod:`bytewax.operators`.

Every operator takes a unique ``step_id`` (no ``.``), the upstream
:class:`~flow.dataflow.Stream` (or, for :func:`input`, the
:class:`~flow.dataflow.Dataflow`) and plain Python functions, and returns
the downstream :class:`~flow.dataflow.Stream`::

    import flow.operators as op

    nums = op.input("inp", flow, TestingSource([1, 2, 3]))
    keyed = op.key_on("key", nums, lambda x: "even" if x % 2 == 0 else "odd")
    sums = op.reduce_final("sum", keyed, lambda acc, x: acc + x)
    op.output("out", sums, StdOutSink())

Items are plain Python values; a *keyed* stream carries ``(key, value)``
2-tuples whose key is a ``str``, made by :func:`key_on`. Building
mistakes (a step id used twice or containing ``.``, a stream of another
dataflow) raise :class:`ValueError` at once; an exception raised by a
function while the dataflow runs stops the run and is re-raised from
:func:`flow.testing.run_main` or :func:`flow.run.cli_main`, with a note
naming the step and the key.
"""

import builtins
import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from .._gi import GLib
from ..dataflow import (
    KeyedStream,
    Stream,
    _build_error,
    _check_scopes,
    _check_step_id,
    _gi_flow,
    _gi_stream,
    _wrap,
    f_repr,
)

__all__ = [
    "BranchOut",
    "KeyedStream",
    "StatefulBatchLogic",
    "StatefulLogic",
    "branch",
    "collect",
    "count_final",
    "filter",
    "filter_map",
    "filter_map_value",
    "filter_value",
    "flat_map",
    "flat_map_batch",
    "flat_map_value",
    "flatten",
    "fold_final",
    "input",
    "inspect",
    "inspect_debug",
    "key_on",
    "key_rm",
    "map",
    "map_value",
    "max_final",
    "merge",
    "min_final",
    "output",
    "raises",
    "redistribute",
    "reduce_final",
    "stateful",
    "stateful_batch",
    "stateful_flat_map",
    "stateful_map",
]

# Several inputs, and cached lookups (_join.py)
from ._join import (  # noqa: E402
    JoinEmitMode,
    JoinInsertMode,
    TTLCache,
    enrich_cached,
    join,
    join_named,
)

__all__ += ["JoinEmitMode", "JoinInsertMode", "TTLCache", "enrich_cached", "join", "join_named"]


def _build(up, call, step_id=None):
    """Calls ``call(gi_stream)`` on the GI stream of ``up``, raising
    building mistakes as ValueError, and wraps the resulting stream."""
    if step_id is not None:
        _check_step_id(step_id)
    stream = _gi_stream(up)
    _check_scopes(up)
    try:
        result = call(stream)
    except GLib.Error as e:
        exc = _build_error(e)
        if exc is e:
            raise
        raise exc from e
    if result is None:
        return None
    return _wrap(result, up)


def input(step_id, flow, source):  # noqa: A001
    """Introduces the items of ``source`` into ``flow``.

    ``source`` is a :class:`flow.inputs.Source` (for instance
    :class:`flow.testing.TestingSource` or
    :class:`flow.connectors.files.FileSource`) or a ``Flow.Source``.
    """
    _check_step_id(step_id)
    gflow = _gi_flow(flow)
    try:
        stream = gflow.input(step_id, source)
    except GLib.Error as e:
        exc = _build_error(e)
        if exc is e:
            raise
        raise exc from e
    return _wrap(stream, flow)


def output(step_id, up, sink):
    """Writes the items of ``up`` to ``sink``: a :class:`flow.outputs.Sink`
    (for instance :class:`flow.connectors.stdio.StdOutSink` or
    :class:`flow.testing.TestingSink`) or a ``Flow.Sink``."""
    _build(up, lambda s: s.output(step_id, sink), step_id)


def map(step_id, up, mapper):  # noqa: A001
    """Transforms each item 1-to-1: ``mapper(item) -> new_item``."""
    return _build(up, lambda s: s.map(step_id, mapper), step_id)


def filter(step_id, up, predicate):  # noqa: A001
    """Keeps only the items for which ``predicate(item)`` is true;
    ``predicate`` must return a ``bool``."""
    shim = _bool_predicate(step_id, up, predicate)
    return _build(up, lambda s: s.filter(step_id, shim), step_id)


def filter_map(step_id, up, mapper):
    """Transforms each item, dropping it when ``mapper`` returns ``None``."""
    return _build(up, lambda s: s.filter_map(step_id, mapper), step_id)


def flat_map(step_id, up, mapper):
    """Transforms each item 1-to-many: ``mapper(item)`` returns an
    iterable whose every element is emitted."""
    return _build(up, lambda s: s.flat_map(step_id, mapper), step_id)


def _full_id(step_id, up):
    scope = getattr(up, "_scope", None)
    return f"{scope}.{step_id}" if scope else step_id


def flat_map_batch(step_id, up, mapper):
    """Transforms the items a batch at a time: ``mapper(items)`` gets a
    list of the items of a batch and returns an iterable whose every
    element is emitted. For functions that are cheaper per batch than per
    item."""
    return _build(up, lambda s: s.flat_map_batch(step_id, mapper), step_id)


def flatten(step_id, up):
    """Emits each element of each item, which must be an iterable."""
    full_id = _full_id(step_id, up)

    def shim_mapper(x):
        if not isinstance(x, Iterable):
            raise TypeError(f"step {full_id!r} requires upstream to be iterables; "
                            f"got a {type(x)!r} instead")
        return x
    return _build(up, lambda s: s.flat_map(step_id, shim_mapper), step_id)


def _default_inspector(step_id, item):
    builtins.print(f"{step_id}: {item!r}", flush=True)


def inspect(step_id, up, inspector=_default_inspector):
    """Calls ``inspector(step_id, item)`` (``step_id`` is the full id,
    ``flow_id.step_id``) on each item and passes the items on unchanged.
    By default prints ``flow_id.step_id: repr(item)``."""
    return _build(up, lambda s: s.inspect(step_id, inspector), step_id)


def _default_debug_inspector(step_id, item, epoch, worker_index):
    builtins.print(f"{step_id} W{worker_index} @{epoch}: {item!r}", flush=True)


def inspect_debug(step_id, up, inspector=_default_debug_inspector):
    """Calls ``inspector(step_id, item, epoch, worker_index)`` on each item
    (``step_id`` is the full id; ``worker_index`` is 0 while a run has one
    worker) and passes the items on unchanged. By default prints
    ``flow_id.step_id W0 @epoch: repr(item)``."""
    return _build(up, lambda s: s.inspect_debug(step_id, inspector), step_id)


def merge(step_id, *ups):
    """Combines several streams of one dataflow into one."""
    _check_step_id(step_id)
    if not ups:
        raise TypeError("merge needs at least one upstream")
    streams = [_gi_stream(u, "'ups' *args all") for u in ups]
    _check_scopes(*ups)
    return _build(ups[0], lambda s: streams[0].merge(step_id, *streams[1:]))


@dataclass(frozen=True)
class BranchOut:
    """The two streams :func:`branch` returns."""

    trues: Stream
    falses: Stream


def _bool_predicate(step_id, up, predicate, what="predicate"):
    """Wraps ``predicate`` so that a result other than a bool is refused,
    as Bytewax does."""
    if not callable(predicate):
        raise TypeError(f"{what} must be callable, not {type(predicate).__qualname__}")
    full_id = _full_id(step_id, up)

    def shim(x):
        keep = predicate(x)
        if keep is True or keep is False:
            return keep
        raise TypeError(f"return value of `{what}` {f_repr(predicate)} in step "
                        f"{full_id!r} must be a `bool`; got a {type(keep)!r} instead")
    return shim


def branch(step_id, up, predicate):
    """Divides the items in two streams: ``trues``, the items for which
    ``predicate(item)`` is true, and ``falses``, the others.
    ``predicate`` must return a ``bool``."""
    _check_step_id(step_id)
    stream = _gi_stream(up)
    _check_scopes(up)
    shim = _bool_predicate(step_id, up, predicate)
    try:
        trues, falses = stream.branch(step_id, shim)
    except GLib.Error as e:
        exc = _build_error(e)
        if exc is e:
            raise
        raise exc from e
    return BranchOut(_wrap(trues, up, "trues"), _wrap(falses, up, "falses"))


def redistribute(step_id, up):
    """Spreads the items over the workers (with one worker, passes them
    on)."""
    return _build(up, lambda s: s.redistribute(step_id), step_id)


def raises(step_id, up):
    """Stops the run with a :class:`RuntimeError` at the first item. Like
    Bytewax's, it is an effect of its own (an inspect step) and returns
    nothing."""
    def _raise(full_id, item):
        raise RuntimeError(f"step {full_id!r} raises on every item; got {item!r}")
    _build(up, lambda s: s.inspect(step_id, _raise), step_id)


def key_on(step_id, up, key):
    """Makes each item the keyed item ``(key(item), item)``; ``key`` must
    return a ``str``."""
    if not callable(key):
        raise TypeError(f"key must be callable, not {type(key).__qualname__}")
    full_id = _full_id(step_id, up)

    def shim_key(x):
        k = key(x)
        if type(k) is str:
            return k
        raise TypeError(f"return value of `key` {f_repr(key)} in step {full_id!r} "
                        f"must be a `str`; got a {type(k)!r} instead")
    return _build(up, lambda s: s.key_on(step_id, shim_key), step_id)


def key_rm(step_id, up):
    """Drops the key of each ``(key, value)`` item, emitting the value."""
    return _build(up, lambda s: s.key_rm(step_id), step_id)


def map_value(step_id, up, mapper):
    """Transforms the value of each ``(key, value)`` item."""
    return _build(up, lambda s: s.map_value(step_id, mapper), step_id)


def filter_value(step_id, up, predicate):
    """Keeps the ``(key, value)`` items whose value passes ``predicate``
    (which must return a ``bool``)."""
    shim = _bool_predicate(step_id, up, predicate)
    return _build(up, lambda s: s.filter_value(step_id, shim), step_id)


def filter_map_value(step_id, up, mapper):
    """Transforms the value of each ``(key, value)`` item, dropping the
    item when ``mapper`` returns ``None``."""
    if not callable(mapper):
        raise TypeError(f"filter_map_value: mapper must be callable, not {type(mapper).__qualname__}")
    return _build(up, lambda s: s.filter_map_value(step_id, mapper), step_id)


def flat_map_value(step_id, up, mapper):
    """Emits ``(key, w)`` for every ``w`` of the iterable
    ``mapper(value)``, for each ``(key, value)`` item."""
    return _build(up, lambda s: s.flat_map_value(step_id, mapper), step_id)


def _builder_mapper(name, args, kwargs):
    builder = kwargs.pop("builder", None)
    mapper = kwargs.pop("mapper", None)
    if kwargs:
        raise TypeError(f"{name}() got unexpected keyword arguments {sorted(kwargs)}")
    if len(args) == 2:
        if builder is not None or mapper is not None:
            raise TypeError(f"{name}() got builder/mapper twice")
        builder, mapper = args
    elif len(args) == 1:
        if mapper is not None:
            builder, mapper = args[0], mapper
        else:
            mapper = args[0]
    elif len(args) != 0:
        raise TypeError(f"{name}() takes (step_id, up, mapper) or "
                        f"(step_id, up, builder, mapper)")
    if mapper is None:
        raise TypeError(f"{name}() needs a mapper")
    return builder, mapper


def stateful_map(step_id, up, *args, **kwargs):
    """Keeps a state per key and emits a value per item.

    Two forms::

        op.stateful_map(step_id, up, mapper)
        op.stateful_map(step_id, up, builder, mapper)

    ``mapper(state, value)`` returns ``(new_state, emit)``: ``emit`` is
    emitted with the key, and ``new_state`` is kept for the key (``None``
    discards it). The state of a key seen for the first time (or after it
    was discarded) is ``builder()`` in the second form, ``None`` in the
    first. States are snapshotted by recovery; they must be plain values
    or picklable.
    """
    builder, mapper = _builder_mapper("stateful_map", args, kwargs)
    return _build(up, lambda s: s.stateful_map(step_id, builder, mapper), step_id)


def stateful_flat_map(step_id, up, *args, **kwargs):
    """Like :func:`stateful_map`, but ``mapper(state, value)`` returns
    ``(new_state, iterable)`` and every element of the iterable is
    emitted with the key."""
    builder, mapper = _builder_mapper("stateful_flat_map", args, kwargs)
    return _build(up, lambda s: s.stateful_flat_map(step_id, builder, mapper), step_id)


def fold_final(step_id, up, builder, folder):
    """Folds the values of each key, starting from ``builder()``, with
    ``folder(acc, value) -> acc``, and emits ``(key, acc)`` for every key
    at the end of input."""
    return _build(up, lambda s: s.fold_final(step_id, builder, folder), step_id)


def reduce_final(step_id, up, reducer):
    """Reduces the values of each key with ``reducer(acc, value) -> acc``
    (the first value is the first accumulator) and emits ``(key, acc)``
    for every key at the end of input."""
    return _build(up, lambda s: s.reduce_final(step_id, reducer), step_id)


def count_final(step_id, up, key):
    """Counts the items per ``key(item)`` (a ``str``) and emits
    ``(key, count)`` for every key at the end of input."""
    return _build(up, lambda s: s.count_final(step_id, key), step_id)


def max_final(step_id, up, by=None):
    """Emits ``(key, greatest value)`` for every key at the end of input,
    comparing ``by(value)`` when ``by`` is given."""
    return _build(up, lambda s: s.max_final(step_id, by), step_id)


def min_final(step_id, up, by=None):
    """Emits ``(key, smallest value)`` for every key at the end of input,
    comparing ``by(value)`` when ``by`` is given."""
    return _build(up, lambda s: s.min_final(step_id, by), step_id)


def collect(step_id, up, timeout, max_size):
    """Collects the values of each key into lists, emitting
    ``(key, [values])`` when a list has ``max_size`` values, when
    ``timeout`` (a :class:`datetime.timedelta`) passed since its first
    value, or at the end of input."""
    if isinstance(timeout, datetime.timedelta):
        seconds = timeout.total_seconds()
    else:
        seconds = float(timeout)
    if not isinstance(max_size, int) or max_size < 0:
        raise ValueError(f"collect: max_size must be an int >= 0, not {max_size!r}")
    return _build(up, lambda s: s.collect(step_id, seconds, max_size), step_id)


# ---------------------------------------------------------------------------
# stateful, stateful_batch (issue 8): Bytewax's plain-Python logic classes,
# run by libflow's stateful operators through an adapter subclass of
# Flow.StatefulLogic / Flow.StatefulBatchLogic.
# ---------------------------------------------------------------------------

_EMPTY = ()


class StatefulBatchLogic:
    """The logic of one key of :func:`stateful_batch` (Bytewax's
    ``StatefulBatchLogic``). Subclass it and implement :meth:`on_batch`
    and :meth:`snapshot`; :meth:`on_notify`, :meth:`on_eof` and
    :meth:`notify_at` are optional.

    The operator calls, per batch: :meth:`on_batch` once per key with all
    its values, then :meth:`on_notify` for the keys whose notification time
    has come (in order of time), then, at the end of input, :meth:`on_eof`
    for every key; then :meth:`notify_at` for every logic it called and
    kept. :meth:`snapshot` gives the state recovery stores, which the
    builder gets back on resume.
    """

    RETAIN = False
    """Keep the logic after the method returned."""

    DISCARD = True
    """Drop the logic (and its state) once the method returned."""

    def on_batch(self, values):
        """Called with the list of the values of the key in a batch;
        returns ``(values to emit, RETAIN or DISCARD)``."""
        raise NotImplementedError(f"{type(self).__qualname__} does not implement on_batch()")

    def on_notify(self):
        """Called once the time :meth:`notify_at` returned has come;
        returns ``(values to emit, RETAIN or DISCARD)``. The default emits
        nothing and retains the logic."""
        return (_EMPTY, StatefulBatchLogic.RETAIN)

    def on_eof(self):
        """Called at the end of the input of a run; returns ``(values to
        emit, RETAIN or DISCARD)``. The default emits nothing and retains
        the logic."""
        return (_EMPTY, StatefulBatchLogic.RETAIN)

    def notify_at(self):
        """Returns the next notification time (an aware
        :class:`datetime.datetime`), or ``None`` for none."""
        return None

    def snapshot(self):
        """Returns an immutable copy of the state (plain values or
        picklable), handed to the builder when a run resumes."""
        raise NotImplementedError(f"{type(self).__qualname__} does not implement snapshot()")


class StatefulLogic:
    """The logic of one key of :func:`stateful` (Bytewax's
    ``StatefulLogic``): as :class:`StatefulBatchLogic`, with
    :meth:`on_item` called once per value in place of ``on_batch``. A
    logic discarded by :meth:`on_item` is rebuilt (``builder(None)``) for
    the next value of its key."""

    RETAIN = False
    """Keep the logic after the method returned."""

    DISCARD = True
    """Drop the logic (and its state) once the method returned."""

    def on_item(self, value):
        """Called with each value of the key; returns ``(values to emit,
        RETAIN or DISCARD)``."""
        raise NotImplementedError(f"{type(self).__qualname__} does not implement on_item()")

    def on_notify(self):
        """As :meth:`StatefulBatchLogic.on_notify`."""
        return (_EMPTY, StatefulLogic.RETAIN)

    def on_eof(self):
        """As :meth:`StatefulBatchLogic.on_eof`."""
        return (_EMPTY, StatefulLogic.RETAIN)

    def notify_at(self):
        """As :meth:`StatefulBatchLogic.notify_at`."""
        return None

    def snapshot(self):
        """As :meth:`StatefulBatchLogic.snapshot`."""
        raise NotImplementedError(f"{type(self).__qualname__} does not implement snapshot()")


_adapters = {}


def _adapter(batch):
    """The Flow.Stateful(Batch)Logic subclass that runs a plain logic."""
    cls = _adapters.get(batch)
    if cls is not None:
        return cls
    from .._gi import _override

    base = _override.StatefulBatchLogic if batch else _override.StatefulLogic

    def checked(result, method):
        try:
            emit, discard = result
        except (TypeError, ValueError):
            raise TypeError(f"`{method}` must return a 2-tuple of `(emit, discard)`; "
                            f"got a {type(result)!r} instead") from None
        if not isinstance(discard, bool):
            raise TypeError(f"`{method}` must return `(emit, discard)` with `discard` a `bool` "
                            f"(RETAIN or DISCARD); got a {type(discard)!r} instead")
        return emit, discard

    class Adapter(base):
        def __init__(self, logic):
            super().__init__()
            self.logic = logic

        def do_on_notify(self):
            return checked(self.logic.on_notify(), "on_notify")

        def do_on_eof(self):
            return checked(self.logic.on_eof(), "on_eof")

        def do_notify_at(self):
            return self.logic.notify_at()

        def do_snapshot(self):
            return self.logic.snapshot()

    if batch:
        class BatchAdapter(Adapter):
            def do_on_batch(self, values):
                return checked(self.logic.on_batch(values), "on_batch")
        cls = BatchAdapter
    else:
        class ItemAdapter(Adapter):
            def do_on_item(self, value):
                return checked(self.logic.on_item(value), "on_item")
        cls = ItemAdapter
    _adapters[batch] = cls
    return cls


def _logic_builder(step_id, up, builder, batch):
    if not callable(builder):
        raise TypeError(f"builder must be callable, not {type(builder).__qualname__}")
    full_id = _full_id(step_id, up)
    want = StatefulBatchLogic if batch else StatefulLogic
    adapter = _adapter(batch)

    def shim_builder(_key, resume_state):
        logic = builder(resume_state)
        if not isinstance(logic, want):
            raise TypeError(f"the builder {f_repr(builder)} of step {full_id!r} must return a "
                            f"`flow.operators.{want.__name__}`; got a {type(logic)!r} instead")
        return adapter(logic)
    return shim_builder


def stateful(step_id, up, builder):
    """The general stateful operator (Bytewax's ``stateful``).

    ``builder(resume_state)`` returns the :class:`StatefulLogic` of a key
    seen for the first time (``resume_state`` is ``None``), or of a key
    that had one when the resumed run stopped (``resume_state`` is what its
    :meth:`~StatefulLogic.snapshot` returned). Every value the logic's
    methods return is emitted with the key.
    """
    shim = _logic_builder(step_id, up, builder, False)
    return _build(up, lambda s: s.stateful(step_id, shim), step_id)


def stateful_batch(step_id, up, builder):
    """Like :func:`stateful`, with a :class:`StatefulBatchLogic` per key,
    which gets its key's values a batch at a time (Bytewax's
    ``stateful_batch``)."""
    shim = _logic_builder(step_id, up, builder, True)
    return _build(up, lambda s: s.stateful_batch(step_id, shim), step_id)
