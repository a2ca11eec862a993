# SPDX-License-Identifier: LGPL-2.1-or-later
"""flow.testing and flow.run beyond Bytewax's own tests: the time getter,
poll_next_batch, the testing connectors as plain partitioned objects,
Ctrl-C, `python3 -m flow.testing` and flow.run's command line."""

import os
import signal
import textwrap
from datetime import datetime, timedelta, timezone

import pytest

import flow.operators as op
from flow.dataflow import Dataflow
from flow.inputs import DynamicSource, StatelessSourcePartition
from flow.outputs import DynamicSink, StatelessSinkPartition
from flow.testing import (TestingSink, TestingSource, TimeTestingGetter, poll_next_batch,
                          run_main)

from conftest import run_python


def test_time_testing_getter():
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    clock = TimeTestingGetter(start)
    assert clock.get() == start
    clock.advance(timedelta(seconds=90))
    assert clock.get() == start + timedelta(seconds=90)
    assert clock.now == clock.get()


class _Slow(StatelessSourcePartition):
    """Empty batches before a non-empty one."""

    def __init__(self, empties):
        self.empties = empties

    def next_batch(self):
        if self.empties:
            self.empties -= 1
            return []
        return iter([1, 2])


def test_poll_next_batch_skips_empty_batches():
    assert poll_next_batch(_Slow(3)) == [1, 2]


def test_poll_next_batch_times_out():
    with pytest.raises(TimeoutError):
        poll_next_batch(_Slow(10 ** 9), timeout=timedelta(0))


def test_testing_sink_is_a_dynamic_sink():
    out = []
    sink = TestingSink(out)
    assert isinstance(sink, DynamicSink)
    part = sink.build("step", 0, 1)
    assert isinstance(part, StatelessSinkPartition)
    part.write_batch([1, 2])
    part.write_batch([3])
    assert out == [1, 2, 3]


def test_testing_source_pause_takes_a_timedelta():
    pause = TestingSource.PAUSE(timedelta(milliseconds=1))
    assert pause.for_sec == 0.001
    out = []
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource([1, pause, 2, TestingSource.PAUSE(0)]))
    op.output("out", s, TestingSink(out))
    run_main(flow)
    assert out == [1, 2]


def test_testing_source_partition_pause_sets_next_awake():
    part = TestingSource([1, TestingSource.PAUSE(timedelta(hours=1)), 2]).build_part("s", "iterable", None)
    assert part.next_batch() == [1]
    assert part.next_batch() == []
    assert part.next_awake() > datetime.now(timezone.utc) + timedelta(minutes=59)
    assert part.next_batch() == [2]
    assert part.snapshot() == 3


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _test_clock():
    from gi.repository import Flow
    return Flow.TestClock.new((START - EPOCH) // timedelta(microseconds=1))


def _stamped(s, stamps):
    from gi.repository import Flow

    def stamp(x):
        stamps.append(EPOCH + timedelta(microseconds=Flow.get_real_time()))
        return x

    return op.map("stamp", s, stamp)


def test_run_main_on_a_test_clock_polls_on_its_time():
    # An hour between polls: waited on the test clock, not in real time.
    from flow.inputs import SimplePollingSource

    class Counter(SimplePollingSource):
        def __init__(self):
            super().__init__(timedelta(hours=1))
            self.n = 0

        def next_item(self):
            self.n += 1
            if self.n > 3:
                raise StopIteration()
            return self.n

    out, stamps = [], []
    flow = Dataflow("df")
    s = _stamped(op.input("inp", flow, Counter()), stamps)
    op.output("out", s, TestingSink(out))
    run_main(flow, test_clock=_test_clock())
    assert out == [1, 2, 3]
    assert stamps == [START, START + timedelta(hours=1), START + timedelta(hours=2)]


def test_run_main_on_a_test_clock_pauses_on_its_time():
    out, stamps = [], []
    flow = Dataflow("df")
    src = TestingSource([1, TestingSource.PAUSE(timedelta(days=1)), 2])
    s = _stamped(op.input("inp", flow, src), stamps)
    op.output("out", s, TestingSink(out))
    run_main(flow, test_clock=_test_clock())
    assert out == [1, 2]
    assert stamps == [START, START + timedelta(days=1)]


def test_random_metric_source_on_a_test_clock():
    from flow.connectors.demo import RandomMetricSource

    out, stamps = [], []
    flow = Dataflow("df")
    src = RandomMetricSource("m", interval=timedelta(minutes=5), count=3,
                             next_random=lambda: 7)
    s = _stamped(op.input("inp", flow, src), stamps)
    op.output("out", s, TestingSink(out))
    run_main(flow, test_clock=_test_clock())
    assert out == [("m", 7)] * 3
    assert stamps == [START + timedelta(minutes=5 * i) for i in range(3)]


def test_run_main_test_clock_must_be_a_test_clock():
    flow = Dataflow("df")
    op.output("out", op.input("inp", flow, TestingSource([1])), TestingSink([]))
    with pytest.raises(TypeError, match="test_clock must be a Flow.TestClock, not datetime"):
        run_main(flow, test_clock=START)


def test_marker_classes_must_be_instantiated():
    with pytest.raises(ValueError, match=r"`TestingSource.EOF` must be instantiated"):
        TestingSource([1, TestingSource.EOF])


def test_ctrl_c_stops_a_run_with_keyboard_interrupt():
    class Endless(StatelessSourcePartition):
        def __init__(self):
            self.calls = 0

        def next_batch(self):
            self.calls += 1
            if self.calls == 3:
                os.kill(os.getpid(), signal.SIGINT)      # as Ctrl-C would
            return [self.calls]

    part = Endless()

    class Source(DynamicSource):
        def build(self, step_id, worker_index, worker_count):
            return part

    out = []
    flow = Dataflow("df")
    op.output("out", op.input("inp", flow, Source()), TestingSink(out))
    with pytest.raises(KeyboardInterrupt):
        run_main(flow)
    assert part.calls < 10


FLOW_SCRIPT = textwrap.dedent("""\
    import flow.operators as op
    from flow.dataflow import Dataflow
    from flow.testing import TestingSource
    from flow.connectors.stdio import StdOutSink

    def get_flow(n):
        flow = Dataflow("cli")
        s = op.input("inp", flow, TestingSource(range(n)))
        op.output("out", op.map("double", s, lambda x: x * 2), StdOutSink())
        return flow

    flow = get_flow(2)
    """)


def test_flow_testing_runs_a_dataflow(tmp_path):
    (tmp_path / "cliflow.py").write_text(FLOW_SCRIPT)
    r = run_python("-m", "flow.testing", "cliflow.py", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "2"]
    r = run_python("-m", "flow.testing", "cliflow:get_flow(3)", "-p", "1", "-s", "0",
                   cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "2", "4"]


def test_flow_testing_refuses_several_processes(tmp_path):
    (tmp_path / "cliflow.py").write_text(FLOW_SCRIPT)
    r = run_python("-m", "flow.testing", "cliflow.py", "-p", "2", cwd=tmp_path)
    assert r.returncode == 2
    assert "-p/--processes 2" in r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize("args", [["-i", "0"], ["-a", "localhost:2101;localhost:2102"]])
def test_flow_run_refuses_cluster_options(tmp_path, args):
    (tmp_path / "cliflow.py").write_text(FLOW_SCRIPT)
    r = run_python("-m", "flow.run", "cliflow.py", *args, cwd=tmp_path)
    assert r.returncode == 2
    assert "-i/--process-id and -a/--addresses" in r.stderr
    assert "one process" in r.stderr
    assert r.stdout == ""


def test_flow_run_import_forms(tmp_path):
    (tmp_path / "cliflow.py").write_text(FLOW_SCRIPT)
    r = run_python("-m", "flow.run", str(tmp_path / "cliflow.py") + ":flow", cwd="/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "2"]
    r = run_python("-m", "flow.run", "cliflow:get_flow(1)", "-w", "1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0"]
    r = run_python("-m", "flow.run", "cliflow:nothing", cwd=tmp_path)
    assert r.returncode != 0
    assert "Failed to find attribute 'nothing'" in r.stderr
