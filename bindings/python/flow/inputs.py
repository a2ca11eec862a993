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
from datetime import datetime
from itertools import islice

from ._gi import Flow, GLib

__all__ = [
    "AbortExecution",
    "DynamicSource",
    "FixedPartitionedSource",
    "Source",
    "StatefulSourcePartition",
    "StatelessSourcePartition",
    "batch",
]


class AbortExecution(RuntimeError):
    """Raise this from ``next_batch`` to abort the execution, as if it
    crashed (for tests): :func:`flow.testing.run_main` returns and a later
    run resumes from the last snapshot."""


class Source(abc.ABC):  # noqa: B024
    """A location to read input items from. Do not subclass this directly;
    subclass :class:`FixedPartitionedSource` or :class:`DynamicSource`."""

    def _to_flow_source(self):
        raise NotImplementedError


class StatefulSourcePartition(abc.ABC):
    """An input partition that keeps the state of its position."""

    @abc.abstractmethod
    def next_batch(self):
        """Returns the next batch of items: a list, maybe empty if none is
        ready yet (never block). Raises :class:`StopIteration` at the end
        of the input."""

    def next_awake(self):
        """When to call :meth:`next_batch` next: a :class:`datetime` (with
        a time zone, or naive local time), or ``None`` for at once (after a
        short back-off when the last batch was empty)."""
        return None

    @abc.abstractmethod
    def snapshot(self):
        """Returns the state to resume reading after the last item
        returned so far. Never called after :meth:`close`."""

    def close(self):
        """Releases what the partition holds at the end of a run that
        reached the end of its input."""


class FixedPartitionedSource(Source):
    """A source with a fixed set of independent partitions, each resumed
    from its snapshot."""

    @abc.abstractmethod
    def list_parts(self):
        """Returns the keys (``str``) of the partitions."""

    @abc.abstractmethod
    def build_part(self, step_id, for_part, resume_state):
        """Builds the partition ``for_part`` (one of :meth:`list_parts`),
        resuming from ``resume_state`` (``None`` for a fresh start);
        returns a :class:`StatefulSourcePartition`."""

    def _to_flow_source(self):
        return _FixedSource(self)


class StatelessSourcePartition(abc.ABC):
    """An input partition that keeps no state."""

    @abc.abstractmethod
    def next_batch(self):
        """Returns the next batch of items: a list, maybe empty. Raises
        :class:`StopIteration` at the end of the input."""

    def next_awake(self):
        """When to call :meth:`next_batch` next, as
        :meth:`StatefulSourcePartition.next_awake`."""
        return None

    def close(self):
        """Releases what the partition holds at the end of a run."""


class DynamicSource(Source):
    """A source every worker reads distinct items from, without resume
    state (at-most-once across a resume)."""

    @abc.abstractmethod
    def build(self, step_id, worker_index, worker_count):
        """Builds the :class:`StatelessSourcePartition` of a worker."""

    def _to_flow_source(self):
        return _DynamicSource(self)


def batch(ib, batch_size):
    """Yields the items of the iterable ``ib`` in lists of at most
    ``batch_size``; handy for ``next_batch``."""
    it = iter(ib)
    while True:
        chunk = list(islice(it, batch_size))
        if not chunk:
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
        except StopIteration:
            return None
        except AbortExecution:
            raise _aborted() from None
        return items if isinstance(items, list) else list(items)

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

    def do_build_part(self, step_id, part_key, resume_state):
        part = self._source.build(step_id, 0, 1)
        if not isinstance(part, StatelessSourcePartition):
            raise TypeError(f"build() must return a StatelessSourcePartition, "
                            f"not {type(part).__qualname__}")
        return _PartitionAdapter(part, False)
