# Bytewax's pytests/test_next_awake.py (of a release before 0.21), with
# bytewax -> flow. CHANGED: written in 0.21's API (op.input/op.output,
# build(step_id, ...), build_part(step_id, ...)), and run on a
# Flow.TestClock (run_main's libflow keyword `test_clock`): the partitions
# read the run's clock where Bytewax's read the system's, so the run waits
# no real time and "next_batch is not called before next_awake" is checked
# exactly.
from datetime import datetime, timedelta, timezone

import flow.operators as op
from flow.dataflow import Dataflow
from flow.inputs import (
    DynamicSource,
    FixedPartitionedSource,
    StatefulSourcePartition,
    StatelessSourcePartition,
)
from flow.testing import TestingSink, run_main
from gi.repository import Flow

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def clock_now():
    """The time of the run's clock (its Flow.TestClock)."""
    return EPOCH + timedelta(microseconds=Flow.get_real_time())


def make_test_clock():
    return Flow.TestClock.new((START - EPOCH) // timedelta(microseconds=1))


def test_next_awake_in_dynamic_input():
    """Test that the `next` method is not called before `next_awake` time."""

    class TestPartition(StatelessSourcePartition):
        def __init__(self):
            self._next_awake = clock_now()
            self._iter = iter(list(range(5)))

        def next_batch(self):
            now = clock_now()
            # Assert that `next` is only called after
            # the `next_awake` time has passed.
            assert now >= self._next_awake
            # Request to awake in 0.1 seconds from now
            self._next_awake = now + timedelta(seconds=0.1)
            # This will raise StopIteration when the iterator is complete
            return [next(self._iter)]

        def next_awake(self):
            return self._next_awake

    class TestSource(DynamicSource):
        def build(self, step_id, worker_index, worker_count):
            return TestPartition()

    out = []
    flow = Dataflow("test_df")
    s = op.input("in", flow, TestSource())
    op.output("out", s, TestingSink(out))
    # If next is called before the next_awake time has passed,
    # the dataflow will crash and the test won't pass.
    clock = make_test_clock()
    run_main(flow, test_clock=clock)
    expected = [0, 1, 2, 3, 4]
    assert out == expected
    # Five awakes 0.1 s apart, then the end: 0.5 s of the test clock.
    assert clock.get_time() - (START - EPOCH) // timedelta(microseconds=1) == 500_000


def test_next_awake_in_partitioned_input():
    """Test that the `next` method is not called before `next_awake` time."""

    class TestPartition(StatefulSourcePartition):
        def __init__(self, cooldown):
            self._cooldown = cooldown
            self._next_awake = clock_now()
            self._iter = iter(list(range(4)))

        def next_batch(self):
            now = clock_now()
            # Assert that `next` is only called after
            # the `next_awake` time has passed.
            assert now >= self._next_awake

            # Request to awake in self._cooldown seconds from now
            self._next_awake = now + self._cooldown
            # This will raise StopIteration when the iterator is complete
            return [next(self._iter)]

        def next_awake(self):
            return self._next_awake

        def snapshot(self):
            pass

    class TestSource(FixedPartitionedSource):
        def list_parts(self):
            return ["one", "two", "three"]

        def build_part(self, step_id, for_part, resume_state):
            if for_part == "one":
                return TestPartition(cooldown=timedelta(seconds=0.1))
            if for_part == "two":
                return TestPartition(cooldown=timedelta(seconds=0.2))
            if for_part == "three":
                return TestPartition(cooldown=timedelta(seconds=0.3))

    out = []
    flow = Dataflow("test_df")
    s = op.input("in", flow, TestSource())
    op.output("out", s, TestingSink(out))
    # If next is called before the next_awake time has passed,
    # the dataflow will crash and the test won't pass.
    run_main(flow, test_clock=make_test_clock())
    expected = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert sorted(out) == expected
