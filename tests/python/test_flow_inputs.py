# SPDX-License-Identifier: LGPL-2.1-or-later
"""flow.inputs / flow.outputs beyond Bytewax's own tests: the classes are
generics, SimplePollingSource in a run (retry, end, resume through
recovery), RandomMetricSource resuming."""

import os
from datetime import timedelta
from itertools import islice

import pytest

import flow.operators as op
from flow.connectors.demo import RandomMetricSource
from flow.dataflow import Dataflow
from flow.inputs import (DynamicSource, FixedPartitionedSource, SimplePollingSource, Source,
                         StatefulSourcePartition, StatelessSourcePartition)
from flow.outputs import (DynamicSink, FixedPartitionedSink, Sink, StatefulSinkPartition,
                          StatelessSinkPartition)
from flow.recovery import RecoveryConfig, init_db_dir
from flow.testing import TestingSink, run_main


@pytest.mark.parametrize("cls,args", [
    (Source, (int,)), (StatefulSourcePartition, (int, str)), (FixedPartitionedSource, (int, str)),
    (StatelessSourcePartition, (int,)), (DynamicSource, (int,)),
    (SimplePollingSource, (int, str)),
    (Sink, (int,)), (StatefulSinkPartition, (int, str)), (FixedPartitionedSink, (int, str)),
    (StatelessSinkPartition, (int,)), (DynamicSink, (int,)),
])
def test_classes_are_subscriptable(cls, args):
    alias = cls[args if len(args) > 1 else args[0]]
    assert alias.__origin__ is cls


class Countdown(SimplePollingSource[int, int]):
    """Emits n, n-1, ... 1; retries once at 2; keeps its position."""

    def __init__(self, n):
        super().__init__(interval=timedelta(0))
        self.n = n
        self.retried = False

    def next_item(self):
        if self.n == 0:
            raise StopIteration()
        if self.n == 2 and not self.retried:
            self.retried = True
            raise SimplePollingSource.Retry(timedelta(0))
        self.n -= 1
        return self.n + 1

    def snapshot(self):
        return self.n

    def resume(self, state):
        self.n = state


def test_simple_polling_source_runs_retries_and_ends():
    out = []
    flow = Dataflow("df")
    src = Countdown(3)
    op.output("out", op.input("inp", flow, src), TestingSink(out))
    run_main(flow)
    assert out == [3, 2, 1]
    assert src.retried


def test_simple_polling_source_resumes_from_its_snapshot(tmp_path):
    init_db_dir(tmp_path, 1)
    config = RecoveryConfig(tmp_path)
    out = []
    flow = Dataflow("df")
    op.output("out", op.input("inp", flow, Countdown(2)), TestingSink(out))
    run_main(flow, epoch_interval=timedelta(0), recovery_config=config)
    assert out == [2, 1]

    # A new source object starting at 5 resumes at the snapshot (0): done.
    out2 = []
    flow2 = Dataflow("df")
    op.output("out", op.input("inp", flow2, Countdown(5)), TestingSink(out2))
    run_main(flow2, epoch_interval=timedelta(0), recovery_config=config)
    assert out2 == []


def test_simple_polling_source_needs_a_timedelta():
    with pytest.raises(TypeError, match="timedelta"):
        Countdown.__mro__[1].__init__(Countdown.__new__(Countdown), 5)


def test_random_metric_source_resumes_its_count(tmp_path):
    init_db_dir(tmp_path, 1)
    config = RecoveryConfig(tmp_path)

    def run(count):
        out = []
        flow = Dataflow("df")
        src = RandomMetricSource("volts", interval=timedelta(0), count=count,
                                 next_random=lambda: 7)
        op.output("out", op.input("inp", flow, src), TestingSink(out))
        run_main(flow, epoch_interval=timedelta(0), recovery_config=config)
        return out

    assert run(2) == [("volts", 7), ("volts", 7)]
    # Resumed at count 2 of 3: one more value.
    assert run(3) == [("volts", 7)]


def test_a_generator_batch_may_abort_or_end():
    from flow.inputs import AbortExecution

    class Gen(StatelessSourcePartition):
        def __init__(self):
            self.calls = 0

        def next_batch(self):
            self.calls += 1
            yield self.calls
            if self.calls == 2:
                raise AbortExecution()

    class Src(DynamicSource):
        def build(self, step_id, worker_index, worker_count):
            return Gen()

    out = []
    flow = Dataflow("df")
    op.output("out", op.input("inp", flow, Src()), TestingSink(out))
    run_main(flow)      # aborted (returns), not failed
    assert out[:1] == [1]


# Bytewax's DynamicSource / DynamicSink with several workers: each worker
# builds its own partition of each, with its index and the worker count,
# and its sink partition writes what that worker holds (no exchange).
class _ShardPartition(StatelessSourcePartition):
    def __init__(self, worker_index, worker_count, n):
        self._items = iter(range(worker_index, n, worker_count))

    def next_batch(self):
        return list(islice(self._items, 5)) or _end()


def _end():
    raise StopIteration()


class _ShardSource(DynamicSource):
    def __init__(self, n):
        self.n = n
        self.built = []

    def build(self, step_id, worker_index, worker_count):
        self.built.append((step_id, worker_index, worker_count))
        return _ShardPartition(worker_index, worker_count, self.n)


class _WorkerSinkPartition(StatelessSinkPartition):
    def __init__(self, got):
        self.got = got
        self.closed = False

    def write_batch(self, items):
        self.got.extend(items)

    def close(self):
        self.closed = True


class _WorkerSink(DynamicSink):
    def __init__(self):
        self.parts = {}

    def build(self, step_id, worker_index, worker_count):
        assert worker_index not in self.parts
        part = _WorkerSinkPartition([])
        self.parts[worker_index] = (worker_count, part)
        return part


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_dynamic_source_and_sink_per_worker(workers):
    from flow.testing import cluster_main

    src, sink = _ShardSource(40), _WorkerSink()
    flow = Dataflow("dyn")
    s = op.map("tag", op.input("inp", flow, src), lambda x: (x, x % 4))
    op.output("out", s, sink)
    cluster_main(flow, [], 0, worker_count_per_proc=workers)
    if workers == 1:
        # FLOW_TEST_WORKERS (conftest.py) turns 1 worker into N.
        workers = int(os.environ.get("FLOW_TEST_WORKERS", "1"))

    assert sorted(src.built) == [("dyn.inp", i, workers) for i in range(workers)]
    assert sorted(sink.parts) == list(range(workers))
    everything = []
    for index, (count, part) in sink.parts.items():
        assert count == workers
        assert part.closed
        # What worker i read (i, i + n, …) is what its sink partition got.
        assert sorted(x for x, _ in part.got) == list(range(index, 40, workers))
        everything += part.got
    assert sorted(everything) == [(x, x % 4) for x in range(40)]


def test_dynamic_sink_after_a_stateful_step_gets_the_workers_keys():
    from flow.testing import cluster_main

    sink = _WorkerSink()
    flow = Dataflow("dyn")
    s = op.key_on("key", op.input("inp", flow, _ShardSource(60)), lambda x: f"k{x % 5}")
    s = op.stateful_map("count", s, lambda state, x: ((state or 0) + 1,) * 2)
    op.output("out", s, sink)
    cluster_main(flow, [], 0, worker_count_per_proc=2)

    owner = {}
    counts = {}
    for index, (_, part) in sink.parts.items():
        for key, count in part.got:
            # A key's items all reach one worker's partition, in order.
            assert owner.setdefault(key, index) == index
            assert count == counts.get(key, 0) + 1
            counts[key] = count
    assert counts == {f"k{i}": 12 for i in range(5)}
