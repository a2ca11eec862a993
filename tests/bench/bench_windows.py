#!/usr/bin/env python3
# bench_windows.py: a keyed count over 1 s tumbling event-time windows
# from Python, next to a plain Python loop bucketing the same items by hand
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The flow (issue 8's benchmark), as a user writes it with the flow package:
#
#   input (Flow.TestingSource over an `ax` of 0 .. N-1, batches of 1024)
#   -> flow.operators.windowing.count_window (EventClock(ts_getter, 5 s),
#      TumblingWindower(1 s), key) -> a TestingSink of the counts
#
# Item i is at T0 + i * 100 µs (10,000 items per second of event time),
# key i % 1000. The plain loop calls the SAME ts_getter and key functions
# on the same items and keeps, per key, the current window and its count
# in a dict, emitting a count when a key's window changes and all at the
# end. Target (issue 8): the flow reaches at least 0.25 of the loop.
#
# Each variant is timed by the wall clock and by the process's CPU time;
# on a loaded machine the CPU-time ratio is the one to trust.
#
# With the native fast path (gi.overrides._flow_native), ts_getter and key
# are called from C (flow-native-window.c), and the meta stream, which
# nobody reads here, is not converted to WindowMetadata; with
# FLOW_PYTHON_NATIVE=0 both functions go through PyGObject's callbacks.
#
# Usage: bench_windows.py [--items N] [--repeat R]

import argparse
import array
import time
from datetime import datetime, timedelta, timezone

import gi

gi.require_version("GLib", "2.0")
gi.require_version("Flow", "1")
from gi.repository import Flow, GLib  # noqa: E402

import flow.operators as op  # noqa: E402
import flow.operators.windowing as win  # noqa: E402
from flow.dataflow import Dataflow  # noqa: E402
from flow.testing import TestingSink, run_main  # noqa: E402

N_KEYS = 1000
KEYS = [f"key-{i}" for i in range(N_KEYS)]
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
STEP = timedelta(microseconds=100)
SECOND = timedelta(seconds=1)


def ts_getter(i):
    return T0 + i * STEP


def key_of(i):
    return KEYS[i % N_KEYS]


def plain_loop(items):
    buckets = {}
    out = []
    for i in items:
        key = key_of(i)
        window = (ts_getter(i) - T0) // SECOND
        b = buckets.get(key)
        if b is None:
            buckets[key] = [window, 1]
            continue
        if b[0] != window:
            out.append((key, (b[0], b[1])))
            b[0] = window
            b[1] = 0
        b[1] += 1
    for key, (window, count) in buckets.items():
        out.append((key, (window, count)))
    return out


def source(n):
    data = GLib.Bytes.new(array.array("q", range(n)).tobytes())
    src = Flow.TestingSource.new(GLib.Variant.new_from_bytes(GLib.VariantType.new("ax"), data, True))
    src.set_batch_size(1024)
    return src


def run_flow(n):
    flow = Dataflow("bench")
    items = op.input("inp", flow, source(n))
    # A 5 s wait: the watermark also moves with system time; a stall longer
    # than a key's gap in event time would make items late.
    clock = win.EventClock(ts_getter, wait_for_system_duration=timedelta(seconds=5))
    windower = win.TumblingWindower(length=SECOND, align_to=T0)
    out = []
    counts = win.count_window("count", items, clock, windower, key_of)
    op.output("out", counts.down, TestingSink(out))
    run_main(flow)
    return out


def timed(fn, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = args.items

    best = {"loop": (float("inf"), float("inf")), "flow": (float("inf"), float("inf"))}
    for _ in range(args.repeat):
        wall, cpu, expected = timed(plain_loop, range(n))
        best["loop"] = (min(best["loop"][0], wall), min(best["loop"][1], cpu))
        wall, cpu, got = timed(run_flow, n)
        best["flow"] = (min(best["flow"][0], wall), min(best["flow"][1], cpu))
        assert sorted(got) == sorted(expected), "the flow's counts differ from the loop's"
        assert sum(c for _, (_, c) in got) == n

    from gi.overrides import Flow as override
    native = "on" if getattr(override, "_native", None) is not None else "off (FLOW_PYTHON_NATIVE=0 or not built)"
    print(f"items: {n}, keys: {N_KEYS}, 1 s tumbling windows, 10000 items/s of event time, "
          f"best of {args.repeat}; windows emitted: {len(expected)}; native fast path: {native}")
    for name, label in (("loop", "plain Python loop (by hand)"), ("flow", "flow count_window")):
        wall, cpu = best[name]
        print(f"{label:30s} {wall:8.3f} s wall {n / wall:12.0f} items/s   "
              f"{cpu:8.3f} s CPU {n / cpu:12.0f} items/s")
    print(f"ratio flow / plain loop: {best['loop'][0] / best['flow'][0]:.3f} (wall), "
          f"{best['loop'][1] / best['flow'][1]:.3f} (CPU)  (target >= 0.25)")


if __name__ == "__main__":
    main()
