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

import signal
import socket
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import islice
from typing import Any, Iterable, Iterator, List, Optional, TypeVar

from gi.repository import Gio

from ._gi import Flow, GLib, is_flow_error, run_now, sink_partition
from .dataflow import _BUILD_CODES, Dataflow
from .errors import FlowRuntimeError, _InputError, _wrap_user_error
from .inputs import AbortExecution, FixedPartitionedSource, StatefulSourcePartition
from .outputs import DynamicSink, StatelessSinkPartition
from .recovery import RecoveryConfig, _translate

__all__ = [
    "TestingSink",
    "TestingSource",
    "TimeTestingGetter",
    "cluster_main",
    "ffwd_iter",
    "poll_next_batch",
    "run_main",
]

X = TypeVar("X")


@dataclass
class TimeTestingGetter:
    """A clock for unit tests: :meth:`get` returns ``now``, which only
    :meth:`advance` moves. Give ``getter.get`` where a function returning
    the current time is wanted."""

    now: datetime

    def advance(self, td: timedelta) -> None:
        """Moves the current time forward by ``td``."""
        self.now += td

    def get(self) -> datetime:
        """Returns the current time."""
        return self.now


def ffwd_iter(it: Iterator[Any], n: int) -> None:
    """Skips the stateful iterator ``it`` forward by ``n`` items."""
    next(islice(it, n, n), None)


def poll_next_batch(part, timeout=timedelta(seconds=5)):
    """Calls ``part.next_batch()`` until it returns a non-empty batch, and
    returns it (a busy loop, for unit tests of partitions).

    :raises TimeoutError: if no batch came within ``timeout``.
    """
    batch = []
    start = datetime.now(timezone.utc)
    while len(batch) <= 0:
        if datetime.now(timezone.utc) - start > timeout:
            raise TimeoutError()
        batch = list(part.next_batch())
    return batch


def _pause_seconds(pause):
    value = pause.for_duration
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if not seconds >= 0:
        raise ValueError(f"`TestingSource.PAUSE` needs a duration >= 0, not {value!r}")
    return seconds


class _IterSourcePartition(StatefulSourcePartition[X, int]):
    """A partition of TestingSource in Python, as Bytewax's: its resume
    state is the index of the next item to read."""

    def __init__(self, ib, batch_size, resume_state):
        self._start_idx = 0 if resume_state is None else resume_state
        self._batch_size = batch_size
        self._next_awake = None
        self._it = iter(ib)
        ffwd_iter(self._it, self._start_idx)
        self._raise = None

    def next_batch(self) -> List[X]:
        if self._raise is not None:
            raise self._raise
        self._next_awake = None
        batch = []
        for item in self._it:
            if isinstance(item, TestingSource.EOF):
                self._raise = StopIteration()
                self._start_idx += 1       # skipped on continuation
                break
            if isinstance(item, TestingSource.ABORT):
                self._start_idx += 1
                if not item._triggered:
                    item._triggered = True
                    self._raise = AbortExecution()
                    break
                continue
            if isinstance(item, TestingSource.PAUSE):
                self._start_idx += 1
                self._next_awake = (run_now()
                                    + timedelta(seconds=_pause_seconds(item)))
                break
            batch.append(item)
            if len(batch) >= self._batch_size:
                break
        if batch or self._raise is not None or self._next_awake is not None:
            self._start_idx += len(batch)
            return batch
        raise StopIteration()

    def next_awake(self) -> Optional[datetime]:
        return self._next_awake

    def snapshot(self) -> int:
        return self._start_idx


class TestingSource(FixedPartitionedSource[X, int]):
    """Emits the items of an iterable, ``batch_size`` at a time, in one
    partition (``iterable``).

    Markers placed among the items:

    - ``TestingSource.EOF()`` ends the input there; a resumed run
      continues after it.
    - ``TestingSource.ABORT()`` aborts the execution there, as if it
      crashed, the first time it is reached by this source object; a
      resumed run starts again from the last snapshot.
    - ``TestingSource.PAUSE(for_duration)`` waits ``for_duration`` (a
      :class:`timedelta`, or seconds) before going on.

    In a dataflow it runs as libflow's ``Flow.TestingSource`` (the items
    are taken from the iterable when the source is made), which resumes by
    position and fingerprint: a run that resumes with the same items (or
    the same items grown) skips those the last snapshot says were
    consumed; given other items, it takes them as new data and starts at
    their beginning. :meth:`list_parts` and :meth:`build_part` give
    Bytewax's Python partition (resume state: the index of the next item),
    for testing code that drives partitions by hand.
    """

    __test__ = False  # not a pytest test class

    @dataclass
    class EOF:
        """Ends the input here; the next execution continues after it."""

    @dataclass
    class ABORT:
        """Aborts the execution here, once, as if it crashed."""

        _triggered: bool = False

    @dataclass
    class PAUSE:
        """Pauses the partition for ``for_duration`` (a timedelta or
        seconds)."""

        for_duration: Any

        @property
        def for_sec(self):
            """The duration in seconds."""
            return _pause_seconds(self)

    def __init__(self, ib: Iterable[X], batch_size: int = 1):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, not {batch_size!r}")
        items = list(ib)
        self._markers = []
        marker_types = (TestingSource.EOF, TestingSource.ABORT, TestingSource.PAUSE)
        # Most lists hold no marker: find that out at C speed (the types of
        # the items, as a set) before looking at the items one by one.
        if any(t is type or issubclass(t, marker_types) for t in set(map(type, items))):
            items = self._split_markers(items, marker_types)
        self._items = items
        self._batch_size = batch_size
        self._ib_list = None

    def _split_markers(self, ib, marker_types):
        items = []
        for x in ib:
            if x is TestingSource.EOF or x is TestingSource.ABORT or x is TestingSource.PAUSE:
                raise ValueError(f"`TestingSource.{x.__name__}` must be instantiated; use `()`")
            if isinstance(x, marker_types):
                self._markers.append((len(items), x))
            else:
                items.append(x)
        return items

    @property
    def _ib(self):
        # The items with their markers, for the Python partition.
        if self._ib_list is None:
            self._ib_list = list(self._with_markers())
        return self._ib_list

    def _with_markers(self):
        markers = iter(self._markers)
        marker = next(markers, None)
        for i, item in enumerate(self._items + [None]):
            while marker is not None and marker[0] == i:
                yield marker[1]
                marker = next(markers, None)
            if i < len(self._items):
                yield item

    def list_parts(self) -> List[str]:
        """One partition: ``iterable``."""
        return ["iterable"]

    def build_part(self, step_id: str, for_part: str,
                   resume_state: Optional[int]) -> StatefulSourcePartition[X, int]:
        """The Python partition (resume state: the index of the next
        item, markers included)."""
        return _IterSourcePartition(self._ib, self._batch_size, resume_state)

    def _to_flow_source(self):
        source = Flow.TestingSource(self._items, batch_size=self._batch_size)
        for position, marker in self._markers:
            if isinstance(marker, TestingSource.EOF):
                source.add_marker(position, Flow.TestingMarker.EOF, 0.0)
            elif isinstance(marker, TestingSource.ABORT):
                # Each ABORT object aborts once: later runs skip it.
                if marker._triggered:
                    continue
                source.add_marker(position, Flow.TestingMarker.ABORT, 0.0)
            else:
                source.add_marker(position, Flow.TestingMarker.PAUSE, _pause_seconds(marker))
        return source


class _ListSinkPartition(StatelessSinkPartition[X]):
    def __init__(self, ls):
        self._ls = ls

    def write_batch(self, items: List[X]) -> None:
        self._ls += items


class TestingSink(DynamicSink[X]):
    """Appends each item, as a plain value, to the list ``ls`` as it is
    written. The list is not cleared between executions, so a resumed run
    shows what was written again (at-least-once)."""

    __test__ = False  # not a pytest test class

    def __init__(self, ls: List[X]):
        self._ls = ls

    def build(self, step_id: str, worker_index: int,
              worker_count: int) -> StatelessSinkPartition[X]:
        """A partition appending to the list."""
        return _ListSinkPartition(self._ls)

    def _to_flow_sink(self):
        return _TestingFlowSink(self._ls)


class _TestingFlowSink(Flow.Sink):
    def __init__(self, ls):
        super().__init__()
        self._ls = ls

    def do_build_part(self, step_id, part_key, resume_state):
        return sink_partition(self._ls.extend)


class _InterruptibleRun:
    """Makes Ctrl-C (SIGINT) stop a run: the run's C main loop does not
    let Python's signal handler run, so the signal's wakeup byte goes to a
    thread that cancels the run; ``_run`` then raises KeyboardInterrupt.
    Only in the main thread, with Python's default SIGINT handler."""

    def __init__(self):
        self._cancellable = Gio.Cancellable()
        self._active = False

    def __enter__(self):
        if (threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
            return self._cancellable
        self._r, self._w = socket.socketpair()
        self._w.setblocking(False)
        try:
            self._old_fd = signal.set_wakeup_fd(self._w.fileno(), warn_on_full_buffer=False)
        except ValueError:
            self._r.close()
            self._w.close()
            return self._cancellable
        self._active = True
        self._thread = threading.Thread(target=self._watch, name="flow-sigint", daemon=True)
        self._thread.start()
        return self._cancellable

    def _watch(self):
        while True:
            try:
                data = self._r.recv(64)
            except OSError:
                return
            if not data:
                return          # closed: the run ended
            if signal.SIGINT in data:
                self._cancellable.cancel()

    def __exit__(self, *exc):
        if self._active:
            signal.set_wakeup_fd(self._old_fd)
            self._w.close()
            self._r.shutdown(socket.SHUT_RDWR)
            self._thread.join()
            self._r.close()
        return False


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


def _run(flow, *, epoch_interval=None, recovery_config=None, workers=1, metrics_address=None,
         test_clock=None):
    """Runs ``flow`` to the end of its input; returns False if it was
    aborted (by an ABORT marker or AbortExecution)."""
    runner = Flow.Runner.new(_gi_dataflow(flow))
    if test_clock is not None:
        if not isinstance(test_clock, Flow.TestClock):
            raise TypeError(f"test_clock must be a Flow.TestClock, not "
                            f"{type(test_clock).__qualname__}")
        runner.set_test_clock(test_clock)
    runner.props.snapshot_interval = 10.0 if epoch_interval is None else _seconds(epoch_interval, "epoch_interval")
    if recovery_config is not None:
        if not isinstance(recovery_config, RecoveryConfig):
            raise TypeError(f"recovery_config must be a RecoveryConfig, not "
                            f"{type(recovery_config).__qualname__}")
        runner.props.recovery_directory = str(recovery_config.db_dir)
        runner.props.backup_interval = recovery_config.backup_interval.total_seconds()
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"the number of workers must be an integer of at least 1, not {workers!r}")
    if workers != 1:
        runner.props.workers = workers
    if metrics_address is not None:
        runner.props.metrics_address = metrics_address
    try:
        with _InterruptibleRun() as cancellable:
            runner.run(cancellable)
    except GLib.Error as e:
        if is_flow_error(e, Flow.Error.ABORTED):
            return False
        if e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED):
            raise KeyboardInterrupt() from None
        exc = _translate(e)
        if exc is not None:
            raise exc from e
        if is_flow_error(e, Flow.Error.NOT_KEYED):
            cause = TypeError(f"{e.message} (each item must be a 2-tuple `(key, value)` "
                              f"with a `str` key)")
        elif is_flow_error(e, Flow.Error.WRONG_TYPE):
            cause = TypeError(e.message)
        elif is_flow_error(e, Flow.Error.INVALID_INPUT, Flow.Error.INPUT_CHANGED):
            raise _InputError(e.message) from e
        elif is_flow_error(e, Flow.Error.INCOMPLETE_FLOW, *_BUILD_CODES):
            cause = ValueError(e.message)
        else:
            raise
        cause.__cause__ = e
        raise FlowRuntimeError(e.message) from cause
    except Exception as e:
        err = _wrap_user_error(e)
        if err is None:
            raise
        raise err from e
    return True


def run_main(flow, *, epoch_interval=None, recovery_config=None, test_clock=None):
    """Runs a dataflow in this thread until all its input ended.

    :arg epoch_interval: the length of an epoch (how often state is
        snapshotted), a :class:`datetime.timedelta`; defaults to 10
        seconds. Zero closes an epoch after every batch of input.

    :arg recovery_config: a :class:`flow.recovery.RecoveryConfig` to
        snapshot into and resume from; ``None`` runs without recovery.

    An execution aborted by ``TestingSource.ABORT()`` (or
    :class:`flow.inputs.AbortExecution`) returns normally, as Bytewax's
    does: run again to resume.

    An exception raised by user code (a function given to an operator, a
    source or a sink) stops the run and is raised as a
    :class:`flow.errors.FlowRuntimeError` naming the step (and key),
    whose ``__cause__`` is the user's exception. A dataflow that cannot
    run (no input, no output or ``inspect``) raises a ``FlowRuntimeError``
    caused by a :class:`ValueError`; a non-keyed item reaching a stateful
    step one caused by a :class:`TypeError`.

    :arg test_clock: (libflow's, not Bytewax's) a ``Flow.TestClock`` the
        run reads its time from instead of the system's: whenever the run
        has nothing to do but wait (``next_awake``, a ``PAUSE``, the end
        of an epoch), the clock jumps to the time something is due, so
        the run takes no real time waiting and what happens when is
        exact. Partitions read that time with ``Flow.get_real_time()``
        (microseconds since the epoch); ``SimplePollingSource``,
        ``RandomMetricSource`` and ``TestingSource.PAUSE`` do.
    """
    _run(flow, epoch_interval=epoch_interval, recovery_config=recovery_config,
         test_clock=test_clock)


def cluster_main(flow, addresses, proc_id, *, epoch_interval=None,
                 recovery_config=None, worker_count_per_proc=1):
    """Runs a dataflow as one process of a cluster. Only a single process
    (``addresses`` empty or of one entry, ``proc_id`` 0) is supported."""
    if len(addresses or ()) > 1 or proc_id != 0:
        raise NotImplementedError("libflow does not run clusters of several processes yet")
    _run(flow, epoch_interval=epoch_interval, recovery_config=recovery_config,
         workers=worker_count_per_proc)


def _testing_main(argv=None):
    """``python3 -m flow.testing``: Bytewax's testing runner, which runs
    a dataflow as ``python3 -m flow.run`` does; ``-p N`` (N processes) is
    refused unless N is 1."""
    from . import run

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = run._create_arg_parser()
    parser.prog = "python3 -m flow.testing"
    parser.add_argument("-p", "--processes", type=int, default=1,
                        help="Number of processes; only 1 is supported")
    args, _ = parser.parse_known_args(argv)
    if args.processes != 1:
        parser.error(f"-p/--processes {args.processes}: libflow runs a dataflow in one "
                     f"process; clusters of processes are not supported yet")
    # Everything else is flow.run's command line.
    rest = []
    skip = False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg in ("-p", "--processes"):
            skip = True
            continue
        if arg.startswith("--processes=") or (arg.startswith("-p") and len(arg) > 2):
            continue
        rest.append(arg)
    return run._main(rest, prog=parser.prog)


if __name__ == "__main__":
    sys.exit(_testing_main())
