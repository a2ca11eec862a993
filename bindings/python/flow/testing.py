# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tools for testing dataflows, as :mod:`bytewax.testing`.

::

    from flow.testing import TestingSource, TestingSink, run_main

    out = []
    s = op.input("inp", flow, TestingSource([1, 2, TestingSource.EOF(), 3]))
    op.output("out", s, TestingSink(out))
    run_main(flow)            # out == [1, 2]
    run_main(flow)            # out == [1, 2, 3]: continues after the EOF
"""

from dataclasses import dataclass
from datetime import timedelta

from ._gi import Flow, GLib, is_flow_error, sink_partition
from .dataflow import Dataflow
from .inputs import Source
from .recovery import RecoveryConfig, _translate

__all__ = [
    "TestingSink",
    "TestingSource",
    "cluster_main",
    "run_main",
]


class TestingSource(Source):
    """Emits the items of an iterable, ``batch_size`` at a time, in one
    partition (made once, when the source is created).

    Markers placed among the items:

    - ``TestingSource.EOF()`` ends the input there; a resumed run
      continues after it.
    - ``TestingSource.ABORT()`` aborts the execution there, as if it
      crashed, the first time it is reached by this source object; a
      resumed run starts again from the last snapshot.
    - ``TestingSource.PAUSE(for_sec)`` waits ``for_sec`` seconds before
      going on.

    It resumes: a run that resumes with the same items (or the same items
    grown) skips those the last snapshot says were consumed; given other
    items, it takes them as new data and starts at their beginning.
    """

    __test__ = False  # not a pytest test class

    @dataclass
    class EOF:
        """Ends the input here; the next execution continues after it."""

    @dataclass
    class ABORT:
        """Aborts the execution here, once, as if it crashed."""

    @dataclass
    class PAUSE:
        """Pauses the partition for ``for_sec`` seconds."""

        for_sec: float

    def __init__(self, ib, batch_size=1):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, not {batch_size!r}")
        items = []
        markers = []
        for x in ib:
            if x is TestingSource.EOF or x is TestingSource.ABORT or x is TestingSource.PAUSE:
                raise ValueError(f"`TestingSource.{x.__name__}` must be instantiated; use `()`")
            if isinstance(x, TestingSource.EOF):
                markers.append((len(items), Flow.TestingMarker.EOF, 0.0))
            elif isinstance(x, TestingSource.ABORT):
                markers.append((len(items), Flow.TestingMarker.ABORT, 0.0))
            elif isinstance(x, TestingSource.PAUSE):
                seconds = x.for_sec.total_seconds() if isinstance(x.for_sec, timedelta) else float(x.for_sec)
                markers.append((len(items), Flow.TestingMarker.PAUSE, seconds))
            else:
                items.append(x)
        self._source = Flow.TestingSource(items, batch_size=batch_size)
        for position, marker, seconds in markers:
            self._source.add_marker(position, marker, seconds)

    def _to_flow_source(self):
        return self._source


class TestingSink(Flow.Sink):
    """Appends each item, as a plain value, to the list ``ls`` as it is
    written. The list is not cleared between executions, so a resumed run
    shows what was written again (at-least-once)."""

    __test__ = False  # not a pytest test class

    def __init__(self, ls):
        super().__init__()
        self._ls = ls

    def do_build_part(self, step_id, part_key, resume_state):
        return sink_partition(self._ls.extend)


def _gi_dataflow(flow):
    if isinstance(flow, Dataflow):
        return flow._flow
    if isinstance(flow, Flow.Dataflow):
        return flow
    raise TypeError(f"flow must be a Dataflow, not {type(flow).__qualname__}")


def _seconds(value, what):
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    else:
        seconds = float(value)
    if not seconds >= 0:
        raise ValueError(f"{what} must not be negative, not {value!r}")
    return seconds


def _run(flow, *, epoch_interval=None, recovery_config=None, workers=1):
    """Runs ``flow`` to the end of its input; returns False if it was
    aborted (by an ABORT marker or AbortExecution)."""
    runner = Flow.Runner.new(_gi_dataflow(flow))
    runner.props.snapshot_interval = 10.0 if epoch_interval is None else _seconds(epoch_interval, "epoch_interval")
    if recovery_config is not None:
        if not isinstance(recovery_config, RecoveryConfig):
            raise TypeError(f"recovery_config must be a RecoveryConfig, not "
                            f"{type(recovery_config).__qualname__}")
        runner.props.recovery_directory = str(recovery_config.db_dir)
        runner.props.backup_interval = recovery_config.backup_interval.total_seconds()
    if workers != 1:
        runner.props.workers = workers
    try:
        runner.run(None)
    except GLib.Error as e:
        if is_flow_error(e, Flow.Error.ABORTED):
            return False
        exc = _translate(e)
        if exc is None and is_flow_error(e, Flow.Error.NOT_KEYED, Flow.Error.WRONG_TYPE):
            exc = TypeError(e.message)
        if exc is None and is_flow_error(e, Flow.Error.INVALID_INPUT, Flow.Error.INPUT_CHANGED):
            exc = ValueError(e.message)
        if exc is None:
            raise
        raise exc from e
    return True


def run_main(flow, *, epoch_interval=None, recovery_config=None):
    """Runs a dataflow in this thread until all its input ended.

    :arg epoch_interval: the length of an epoch (how often state is
        snapshotted), a :class:`datetime.timedelta`; defaults to 10
        seconds. Zero closes an epoch after every batch of input.

    :arg recovery_config: a :class:`flow.recovery.RecoveryConfig` to
        snapshot into and resume from; ``None`` runs without recovery.

    An execution aborted by ``TestingSource.ABORT()`` (or
    :class:`flow.inputs.AbortExecution`) returns normally, as Bytewax's
    does: run again to resume. An exception raised by a function of the
    dataflow is re-raised, with a note naming the step and key.
    """
    _run(flow, epoch_interval=epoch_interval, recovery_config=recovery_config)


def cluster_main(flow, addresses, proc_id, *, epoch_interval=None,
                 recovery_config=None, worker_count_per_proc=1):
    """Runs a dataflow as one process of a cluster. Only a single process
    (``addresses`` empty or of one entry, ``proc_id`` 0) is supported."""
    if len(addresses or ()) > 1 or proc_id != 0:
        raise NotImplementedError("libflow does not run clusters of several processes yet")
    _run(flow, epoch_interval=epoch_interval, recovery_config=recovery_config,
         workers=worker_count_per_proc)
