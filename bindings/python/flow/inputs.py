# SPDX-License-Identifier: LGPL-2.1-or-later
"""Input interfaces, as :mod:`bytewax.inputs`.

Subclass :class:`FixedPartitionedSource` (with
:class:`StatefulSourcePartition`) for a resumable source of fixed
partitions, or :class:`DynamicSource` (with
:class:`StatelessSourcePartition`) for a source that keeps no resume
state. These are plain Python classes; :func:`flow.operators.input` runs
them through ``Flow.Source`` / ``Flow.SourcePartition`` subclasses, so an
exception they raise stops the run and is re-raised from it.

Resume states (what :meth:`StatefulSourcePartition.snapshot` returns and
:meth:`FixedPartitionedSource.build_part` gets back) are plain values or
anything picklable.
"""

import abc
import asyncio
import queue
from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, Callable, Generic, Iterable, Iterator, List, Optional, Type, TypeVar

from ._gi import Flow, GLib, run_now

__all__ = [
    "AbortExecution",
    "DynamicSource",
    "FixedPartitionedSource",
    "SimplePollingSource",
    "Source",
    "StatefulSourcePartition",
    "StatelessSourcePartition",
    "batch",
    "batch_async",
    "batch_getter",
    "batch_getter_ex",
]

X = TypeVar("X")   # the type of the items
S = TypeVar("S")   # the type of the resume states


class AbortExecution(RuntimeError):
    """Raise this from ``next_batch`` to abort the execution, as if it
    crashed (for tests): :func:`flow.testing.run_main` returns and a later
    run resumes from the last snapshot."""


class Source(abc.ABC, Generic[X]):  # noqa: B024
    """A location to read input items from. Do not subclass this directly;
    subclass :class:`FixedPartitionedSource` or :class:`DynamicSource`."""

    def _to_flow_source(self):
        raise NotImplementedError


class StatefulSourcePartition(abc.ABC, Generic[X, S]):
    """An input partition that keeps the state of its position
    (``StatefulSourcePartition[X, S]``: items of type ``X``, resume states
    of type ``S``)."""

    @abc.abstractmethod
    def next_batch(self) -> Iterable[X]:
        """Returns the next batch of items: an iterable, maybe empty if
        none is ready yet (never block). Raises :class:`StopIteration` at
        the end of the input."""

    def next_awake(self) -> Optional[datetime]:
        """When to call :meth:`next_batch` next: a :class:`datetime` (with
        a time zone, or naive local time), or ``None`` for at once (after a
        short back-off when the last batch was empty). Called after every
        :meth:`next_batch`; use it instead of sleeping in ``next_batch``."""
        return None

    @abc.abstractmethod
    def snapshot(self) -> S:
        """Returns the state to resume reading after the last item
        returned so far. Never called after :meth:`close`."""

    def close(self) -> None:
        """Releases what the partition holds at the end of a run that
        reached the end of its input."""


class FixedPartitionedSource(Source[X], Generic[X, S]):
    """A source with a fixed set of independent partitions, each resumed
    from its snapshot."""

    @abc.abstractmethod
    def list_parts(self) -> List[str]:
        """Returns the keys (``str``) of the partitions."""

    @abc.abstractmethod
    def build_part(self, step_id: str, for_part: str,
                   resume_state: Optional[S]) -> StatefulSourcePartition[X, S]:
        """Builds the partition ``for_part`` (one of :meth:`list_parts`),
        resuming from ``resume_state`` (``None`` for a fresh start);
        returns a :class:`StatefulSourcePartition`."""

    def _to_flow_source(self):
        return _FixedSource(self)


class StatelessSourcePartition(abc.ABC, Generic[X]):
    """An input partition that keeps no state."""

    @abc.abstractmethod
    def next_batch(self) -> Iterable[X]:
        """Returns the next batch of items: an iterable, maybe empty.
        Raises :class:`StopIteration` at the end of the input."""

    def next_awake(self) -> Optional[datetime]:
        """When to call :meth:`next_batch` next, as
        :meth:`StatefulSourcePartition.next_awake`."""
        return None

    def close(self) -> None:
        """Releases what the partition holds at the end of a run."""


class DynamicSource(Source[X]):
    """A source every worker reads distinct items from, without resume
    state (at-most-once across a resume)."""

    @abc.abstractmethod
    def build(self, step_id: str, worker_index: int,
              worker_count: int) -> StatelessSourcePartition[X]:
        """Builds the :class:`StatelessSourcePartition` of a worker."""

    def _to_flow_source(self):
        return _DynamicSource(self)


class _SimplePollingPartition(StatefulSourcePartition[X, S]):
    def __init__(self, now: datetime, interval: timedelta, align_to: Optional[datetime],
                 getter: Callable[[], X], snapshot: Callable[[], S]):
        self._interval = interval
        self._getter = getter
        self._snapshot = snapshot
        if align_to is not None:
            since_last_awake = (now - align_to) % interval if interval else timedelta(0)
            if since_last_awake > timedelta(0):
                until_next_awake = interval - since_last_awake
            else:
                # Exactly on the alignment: awake at once.
                until_next_awake = timedelta(0)
            self._next_awake = now + until_next_awake
        else:
            self._next_awake = now

    def next_batch(self) -> List[X]:
        try:
            item = self._getter()
            self._next_awake += self._interval
            if item is None:
                return []
            return [item]
        except SimplePollingSource.Retry as ex:
            self._next_awake += ex.timeout
            return []

    def next_awake(self) -> Optional[datetime]:
        return self._next_awake

    def snapshot(self) -> S:
        return self._snapshot()


class SimplePollingSource(FixedPartitionedSource[X, S]):
    """Calls :meth:`next_item` every ``interval``, in one partition::

        class URLSource(SimplePollingSource[str, None]):
            def __init__(self):
                super().__init__(interval=timedelta(seconds=10))

            def next_item(self):
                res = requests.get("https://example.com")
                if not res.ok:
                    raise SimplePollingSource.Retry(timedelta(seconds=1))
                return res.text

    ``next_item`` returns the next item (``None`` for none this time),
    raises :class:`SimplePollingSource.Retry` to be called again sooner
    than the interval, :class:`StopIteration` at the end of the input, or
    :class:`AbortExecution`. Override :meth:`snapshot` and :meth:`resume`
    to make it resumable; by default it keeps no state (at-most-once).
    Meant for low-throughput polling, seconds to hours apart.
    """

    @dataclass
    class Retry(Exception):
        """Raise this from :meth:`SimplePollingSource.next_item` to be
        called again after ``timeout`` instead of the interval."""

        timeout: timedelta

    def __init__(self, interval: timedelta, align_to: Optional[datetime] = None):
        """:arg interval: the time between calls of :meth:`next_item`.
        :arg align_to: align the calls to this time (as a clock ticks);
            by default they start at once."""
        if not isinstance(interval, timedelta):
            raise TypeError(f"interval must be a `timedelta`; got a {type(interval)!r} instead")
        if interval < timedelta(0):
            raise ValueError(f"interval must not be negative, not {interval}")
        self._interval = interval
        self._align_to = align_to

    def list_parts(self) -> List[str]:
        """One partition: ``singleton``."""
        return ["singleton"]

    def build_part(self, step_id: str, for_part: str,
                   resume_state: Optional[S]) -> StatefulSourcePartition[X, S]:
        """Builds the partition, calling :meth:`resume` first with a
        resume state."""
        now = run_now()
        if resume_state is not None:
            self.resume(resume_state)
        return _SimplePollingPartition(now, self._interval, self._align_to,
                                       self.next_item, self.snapshot)

    @abc.abstractmethod
    def next_item(self) -> X:
        """Returns the next item, or ``None`` for none this time."""

    def snapshot(self) -> S:
        """Returns the state to resume from; ``None`` by default."""
        return None

    def resume(self, state: S) -> None:
        """Resumes from the ``state`` :meth:`snapshot` returned in an
        earlier execution; does nothing by default."""


def batch(ib: Iterable[X], batch_size: int) -> Iterator[List[X]]:
    """Yields the items of the iterable ``ib`` in lists of at most
    ``batch_size``; handy for ``next_batch``."""
    it = iter(ib)
    while True:
        chunk = list(islice(it, batch_size))
        if not chunk:
            return
        yield chunk


def batch_getter(getter: Callable[[], X], batch_size: int,
                 yield_on: Any = None) -> Iterator[List[X]]:
    """Yields batches of the items ``getter()`` returns: each batch ends
    when it has ``batch_size`` items or ``getter()`` returns ``yield_on``
    (no item yet; ``None`` by default). ``getter`` raises
    :class:`StopIteration` at the end of the input."""
    while True:
        chunk: List[X] = []
        while len(chunk) < batch_size:
            try:
                item = getter()
            except StopIteration:
                yield chunk
                return
            if item != yield_on:
                chunk.append(item)
            else:
                break
        yield chunk


def batch_getter_ex(getter: Callable[[], X], batch_size: int,
                    yield_ex: Type[Exception] = queue.Empty) -> Iterator[List[X]]:
    """Like :func:`batch_getter`, for a ``getter`` that raises
    ``yield_ex`` (:class:`queue.Empty` by default) when it has no item
    yet."""
    while True:
        chunk: List[X] = []
        while len(chunk) < batch_size:
            try:
                item = getter()
            except yield_ex:
                break
            except StopIteration:
                yield chunk
                return
            chunk.append(item)
        yield chunk


def batch_async(aib: AsyncIterable, timeout: timedelta, batch_size: int,
                loop=None) -> Iterator[List[X]]:
    """Yields batches of an async iterable, synchronously: each batch is
    what ``aib`` yields within ``timeout``, at most ``batch_size`` items,
    so that ``next_batch`` never blocks longer than ``timeout``.

    :arg loop: the :mod:`asyncio` event loop to run ``aib`` on; a new one
        by default.
    """
    ait = aib.__aiter__()
    loop = loop if loop is not None else asyncio.new_event_loop()
    task = None

    async def anext_batch():
        nonlocal task
        chunk = []
        for _ in range(batch_size):
            if task is None:
                task = loop.create_task(ait.__anext__())
            try:
                # Shielded: the timeout's cancellation must not cancel the
                # pending __anext__, which the next batch goes on with.
                item = await asyncio.shield(task)
            except asyncio.CancelledError:
                break       # the timeout: return what was gathered
            except StopAsyncIteration:
                if chunk:
                    break
                raise
            chunk.append(item)
            task = None
        return chunk

    while True:
        try:
            # On timeout, wait_for cancels anext_batch at its await, which
            # returns the batch gathered so far.
            chunk = loop.run_until_complete(asyncio.wait_for(anext_batch(),
                                                             timeout.total_seconds()))
        except StopAsyncIteration:
            return
        yield chunk


# ---------------------------------------------------------------------------
# Adapters onto Flow.Source / Flow.SourcePartition
# ---------------------------------------------------------------------------

def _aborted():
    return GLib.Error.new_literal(Flow.error_quark(),
                                  "the execution was aborted by AbortExecution",
                                  Flow.Error.ABORTED)


class _PartitionAdapter(Flow.SourcePartition):
    def __init__(self, part, stateful):
        super().__init__()
        self._part = part
        self._stateful = stateful

    def do_next_batch(self):
        try:
            items = self._part.next_batch()
            # A generator runs (and may end or abort) while it is listed.
            return items if isinstance(items, list) else list(items)
        except StopIteration:
            return None
        except AbortExecution:
            raise _aborted() from None

    def do_next_awake(self):
        when = self._part.next_awake()
        if when is not None and not isinstance(when, datetime):
            raise TypeError(f"next_awake() must return a datetime or None, "
                            f"not {type(when).__qualname__}")
        return when

    def do_snapshot(self):
        if not self._stateful:
            return None
        return Flow.to_variant(self._part.snapshot())

    def do_close(self):
        self._part.close()


class _FixedSource(Flow.Source):
    def __init__(self, source):
        super().__init__()
        self._source = source

    def do_list_parts(self):
        parts = list(self._source.list_parts())
        for p in parts:
            if not isinstance(p, str):
                raise TypeError(f"list_parts() must return str keys, not {type(p).__qualname__}")
        return parts

    def do_build_part(self, step_id, part_key, resume_state):
        resume = None if resume_state is None else Flow.from_variant(resume_state)
        part = self._source.build_part(step_id, part_key, resume)
        if not isinstance(part, StatefulSourcePartition):
            raise TypeError(f"build_part() must return a StatefulSourcePartition, "
                            f"not {type(part).__qualname__}")
        return _PartitionAdapter(part, True)


class _DynamicSource(Flow.Source):
    def __init__(self, source):
        super().__init__()
        self._source = source

    # One partition per worker, built with its index and the worker count
    # (Flow.Source/Flow.Sink build_worker_part; docs/workers.md). Python
    # runs the workers on the caller's thread, one after the other.
    def do_build_worker_part(self, step_id, worker_index, worker_count):
        part = self._source.build(step_id, worker_index, worker_count)
        if not isinstance(part, StatelessSourcePartition):
            raise TypeError(f"build() must return a StatelessSourcePartition, "
                            f"not {type(part).__qualname__}")
        return _PartitionAdapter(part, False)
