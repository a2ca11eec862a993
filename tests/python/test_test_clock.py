# SPDX-License-Identifier: LGPL-2.1-or-later
"""Flow.TestClock: a run on it takes no real time waiting, and what
happens at which time is exact."""

import time

import gi

gi.require_version("Flow", "1")
from gi.repository import Flow  # noqa: E402

START = 1_700_000_000 * 1_000_000


def paused_flow(pause, stamps, clock_reader):
    source = Flow.TestingSource.new([1, 2, 3])
    source.add_marker(1, Flow.TestingMarker.PAUSE, pause)
    flow = Flow.Dataflow.new("clock")
    sink = Flow.TestingSink.new()

    def stamp(item):
        stamps.append(clock_reader())
        return item

    flow.input("inp", source).map("stamp", stamp).output("out", sink)
    return flow, sink


def test_pause_takes_clock_time_not_real_time():
    clock = Flow.TestClock.new(START)
    stamps = []
    flow, sink = paused_flow(3600.0, stamps, Flow.get_monotonic_time)
    runner = Flow.Runner.new(flow)
    runner.set_test_clock(clock)
    assert runner.props.test_clock is clock

    # (Were the hour waited for in real time, the test would time out.)
    start = clock.get_monotonic_time()
    assert runner.run()
    # An hour of the test clock, exactly, between items 1 and 2 ...
    assert [s - start for s in stamps] == [0, 3600 * 1_000_000, 3600 * 1_000_000]
    assert clock.get_time() - START == 3600 * 1_000_000
    assert sink.get_n_items() == 3


def test_outside_a_run_the_system_clock():
    before = time.monotonic_ns() // 1000
    now = Flow.get_monotonic_time()
    assert now >= before
    assert abs(Flow.get_real_time() - time.time_ns() // 1000) < 60 * 1_000_000


def test_advance_by_hand():
    clock = Flow.TestClock.new(START)
    clock.advance(250)
    assert clock.get_time() == START + 250
    assert clock.get_monotonic_time() == 1_000_000 + 250
