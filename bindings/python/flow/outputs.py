# SPDX-License-Identifier: LGPL-2.1-or-later
"""Output interfaces, as :mod:`bytewax.outputs`.

Subclass :class:`FixedPartitionedSink` (with
:class:`StatefulSinkPartition`) for a sink of fixed partitions that
resume from their snapshots, or :class:`DynamicSink` (with
:class:`StatelessSinkPartition`) for a sink that keeps no state. These are
plain Python classes; :func:`flow.operators.output` runs them through
``Flow.Sink`` / ``Flow.SinkPartition`` subclasses, so an exception they
raise stops the run and is re-raised from it.
"""

import abc
import zlib
from typing import Generic, List, Optional, TypeVar

from ._gi import Flow, sink_partition

__all__ = [
    "DynamicSink",
    "FixedPartitionedSink",
    "Sink",
    "StatefulSinkPartition",
    "StatelessSinkPartition",
]

X = TypeVar("X")   # the type of the items
S = TypeVar("S")   # the type of the resume states


class Sink(abc.ABC, Generic[X]):  # noqa: B024
    """A location to write output items to. Do not subclass this directly;
    subclass :class:`FixedPartitionedSink` or :class:`DynamicSink`."""

    def _to_flow_sink(self):
        raise NotImplementedError


class StatefulSinkPartition(abc.ABC, Generic[X, S]):
    """An output partition that keeps state, resumed from its snapshot
    (``StatefulSinkPartition[X, S]``: values of type ``X``, resume states
    of type ``S``)."""

    @abc.abstractmethod
    def write_batch(self, values: List[X]) -> None:
        """Writes a batch of values (the values of ``(key, value)`` items
        routed to this partition)."""

    @abc.abstractmethod
    def snapshot(self) -> S:
        """Returns the state to resume writing after what was written so
        far. Never called after :meth:`close`."""

    def close(self) -> None:
        """Releases what the partition holds at the end of a run."""


class FixedPartitionedSink(Sink, Generic[X, S]):
    """A sink with a fixed set of partitions. Its items must be
    ``(key, value)`` 2-tuples: :meth:`part_fn` of the key picks the
    partition, which is given the value."""

    @abc.abstractmethod
    def list_parts(self) -> List[str]:
        """Returns the keys (``str``) of the partitions."""

    def part_fn(self, item_key: str) -> int:
        """Routes an item key to a partition: returns an int, taken modulo
        the number of partitions as an index into :meth:`list_parts`.
        Defaults to ``zlib.adler32`` of the key (stable across processes,
        unlike ``hash``)."""
        return zlib.adler32(item_key.encode("utf-8"))

    @abc.abstractmethod
    def build_part(self, step_id: str, for_part: str,
                   resume_state: Optional[S]) -> StatefulSinkPartition[X, S]:
        """Builds the partition ``for_part``, resuming from
        ``resume_state`` (``None`` for a fresh start); returns a
        :class:`StatefulSinkPartition`."""

    def _to_flow_sink(self):
        return _FixedSink(self)


class StatelessSinkPartition(abc.ABC, Generic[X]):
    """An output partition that keeps no state."""

    @abc.abstractmethod
    def write_batch(self, items: List[X]) -> None:
        """Writes a batch of items."""

    def close(self) -> None:
        """Releases what the partition holds at the end of a run."""


class DynamicSink(Sink[X]):
    """A sink every worker writes to, without state (at-least-once across
    a resume)."""

    @abc.abstractmethod
    def build(self, step_id: str, worker_index: int,
              worker_count: int) -> StatelessSinkPartition[X]:
        """Builds the :class:`StatelessSinkPartition` of a worker."""

    def _to_flow_sink(self):
        return _DynamicSink(self)


# ---------------------------------------------------------------------------
# Adapters onto Flow.Sink / Flow.SinkPartition
# ---------------------------------------------------------------------------

class _FixedSink(Flow.Sink):
    """Builds one Flow partition per partition of the Python sink. libflow
    routes the items over the Flow partitions by its own key hash; each
    Flow partition then hands every value to the Python partition
    ``part_fn`` picks, so Python's routing is the one that counts."""

    def __init__(self, sink):
        super().__init__()
        self._sink = sink
        self._order = None
        self._parts = {}

    def _keys(self):
        parts = list(self._sink.list_parts())
        for p in parts:
            if not isinstance(p, str):
                raise TypeError(f"list_parts() must return str keys, not {type(p).__qualname__}")
        if not parts:
            raise ValueError("list_parts() returned no partition")
        return parts

    def do_list_parts(self):
        self._order = self._keys()
        return self._order

    def do_build_part(self, step_id, part_key, resume_state):
        if self._order is None:
            self._order = self._keys()
        resume = None if resume_state is None else Flow.from_variant(resume_state)
        part = self._sink.build_part(step_id, part_key, resume)
        if not isinstance(part, StatefulSinkPartition):
            raise TypeError(f"build_part() must return a StatefulSinkPartition, "
                            f"not {type(part).__qualname__}")
        self._parts[part_key] = part
        return sink_partition(self._route, part.snapshot, part.close)

    def _route(self, items):
        order = self._order
        by_part = {}
        for kv in items:
            if not (type(kv) is tuple and len(kv) == 2 and isinstance(kv[0], str)):
                raise TypeError(f"a FixedPartitionedSink needs (key, value) 2-tuples "
                                f"with a str key, not {kv!r}")
            index = self._sink.part_fn(kv[0])
            if not isinstance(index, int):
                raise TypeError(f"part_fn() must return an int, not {type(index).__qualname__}")
            by_part.setdefault(order[index % len(order)], []).append(kv[1])
        for key, values in by_part.items():
            part = self._parts.get(key)
            if part is None:
                raise RuntimeError(f"partition {key!r} of the sink is not built in this execution")
            part.write_batch(values)


class _DynamicSink(Flow.Sink):
    def __init__(self, sink):
        super().__init__()
        self._sink = sink

    # One partition per worker, built with its index and the worker count
    # (Flow.Source/Flow.Sink build_worker_part; docs/workers.md). Python
    # runs the workers on the caller's thread, one after the other.
    def do_build_worker_part(self, step_id, worker_index, worker_count):
        part = self._sink.build(step_id, worker_index, worker_count)
        if not isinstance(part, StatelessSinkPartition):
            raise TypeError(f"build() must return a StatelessSinkPartition, "
                            f"not {type(part).__qualname__}")
        return sink_partition(part.write_batch, None, part.close)
