#!/usr/bin/env python3
# bench_python.py: how fast a Python flow runs, next to a plain Python loop
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The flow (issue 2's benchmark):
#
#   input (Flow.TestingSource over an `ax`, large batches)
#   -> map (x * 2) -> key_on (1,000 keys) -> stateful_map (running count)
#   -> a counting sink (a Python Flow.Sink that adds len(items) per batch)
#
# and, in the same process, a plain Python loop that calls the SAME Python
# functions with a dict of states. It prints items/s for each variant and
# its ratio to the plain loop:
#
#   plain loop            the loop above
#   native, _native.run   flow._native callbacks, run by flow._native.run()
#                         (keeps the GIL while items are processed)
#   native, Runner.run    flow._native callbacks, run by Flow.Runner.run()
#                         (PyGObject releases the GIL: every callback takes it)
#   override              the Pythonic API (stream.map("id", fn)) as a user
#                         writes it, run by Flow.Runner.run(); uses flow._native
#                         unless FLOW_PYTHON_NATIVE=0 (only if the override is
#                         installed)
#   GI path               the override with FLOW_PYTHON_NATIVE=0, in a child
#                         process; without the override, plain GI callbacks
#                         with hand-written GLib.Variant conversions
#
# Target (issue 2): the Python flow reaches at least 0.25 of the plain loop.
#
# Usage: bench_python.py [--items N] [--gi-items N] [--repeat R] [--only MODE]

import argparse
import json
import os
import subprocess
import sys
import time

import gi

gi.require_version("GLib", "2.0")
gi.require_version("Flow", "1")
from gi.repository import Flow, GLib  # noqa: E402

try:
    from flow import _native
except ImportError:
    _native = None

N_KEYS = 1000
KEYS = [str(i) for i in range(N_KEYS)]
TARGET = 0.25


# The user functions, shared by the loop and every flow.
def double(x):
    return x * 2


def key_of(x):
    return KEYS[x % N_KEYS]


def running_count(state, value):
    state = 1 if state is None else state + 1
    return state, state


def plain_loop(items):
    states = {}
    written = 0
    for x in items:
        y = double(x)
        key = key_of(y)
        state, emit = running_count(states.get(key), y)
        if state is None:
            states.pop(key, None)
        else:
            states[key] = state
        written += 1  # the counting sink's work: (key, emit) is "written"
    return written


class CountingPartition(Flow.SinkPartition):
    def __init__(self, counter):
        super().__init__()
        self.counter = counter

    def do_write_batch(self, items):
        self.counter[0] += len(items)
        return True


class CountingSink(Flow.Sink):
    def __init__(self):
        super().__init__()
        self.counter = [0]

    def do_build_part(self, step_id, part_key, resume_state):
        return CountingPartition(self.counter)


def source(n):
    src = Flow.TestingSource.new(GLib.Variant("ax", range(n)))
    src.set_batch_size(4096)
    return src


def has_override():
    return hasattr(Flow, "to_variant") or hasattr(Flow.Stream, "_flow_override")


def build_native(n):
    flow = Flow.Dataflow.new("bench")
    s = flow.input("inp", source(n))
    s = _native.map(s, "double", double)
    s = _native.key_on(s, "key", key_of)
    s = _native.stateful_map(s, "count", None, running_count)
    sink = CountingSink()
    s.output("out", sink)
    return flow, sink


def build_override(n):
    flow = Flow.Dataflow.new("bench")
    s = flow.input("inp", source(n))
    s = s.map("double", double)
    s = s.key_on("key", key_of)
    s = s.stateful_map("count", None, running_count)
    sink = CountingSink()
    s.output("out", sink)
    return flow, sink


def build_raw_gi(n):
    # No override: GI callbacks get and return GLib.Variant; the conversions
    # are written by hand for this flow (cheaper than the generic ones).
    def gi_double(v):
        return GLib.Variant("x", double(v.get_int64()))

    def gi_key(v):
        return key_of(v.get_int64())

    def gi_count(state, value):
        new, emit = running_count(None if state is None else state.get_int64(),
                                  value.get_int64())
        return (None if new is None else GLib.Variant("x", new)), GLib.Variant("x", emit)

    flow = Flow.Dataflow.new("bench")
    s = flow.input("inp", source(n))
    s = s.map("double", gi_double)
    s = s.key_on("key", gi_key)
    s = s.stateful_map("count", None, gi_count)
    sink = CountingSink()
    s.output("out", sink)
    return flow, sink


def time_flow(build, run, n):
    flow, sink = build(n)
    runner = Flow.Runner.new(flow)
    start = time.perf_counter()
    run(runner)
    elapsed = time.perf_counter() - start
    if sink.counter[0] != n:
        raise SystemExit(f"the flow wrote {sink.counter[0]} items, not {n}")
    return n / elapsed


def time_loop(n):
    items = list(range(n))
    start = time.perf_counter()
    written = plain_loop(items)
    elapsed = time.perf_counter() - start
    assert written == n
    return n / elapsed


def measure(mode, n):
    if mode == "plain":
        return time_loop(n)
    if mode == "native-run":
        return time_flow(build_native, _native.run, n)
    if mode == "native-runner":
        return time_flow(build_native, lambda r: r.run(), n)
    if mode == "override":
        return time_flow(build_override, lambda r: r.run(), n)
    if mode == "gi":
        if has_override():
            return time_flow(build_override, lambda r: r.run(), n)
        return time_flow(build_raw_gi, lambda r: r.run(), n)
    raise SystemExit(f"unknown mode {mode}")


def best_of(mode, n, repeat):
    return max(measure(mode, n) for _ in range(repeat))


def child(mode, n, repeat):
    """Runs one mode in a child process (for the GI path: FLOW_PYTHON_NATIVE=0
    must be set before the override is imported)."""
    env = dict(os.environ, FLOW_PYTHON_NATIVE="0")
    out = subprocess.run([sys.executable, __file__, "--items", str(n), "--repeat", str(repeat),
                          "--only", mode, "--json"],
                         env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["rate"]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1_000_000, help="items per run (default 1,000,000)")
    parser.add_argument("--gi-items", type=int, default=None,
                        help="items for the (slow) GI path (default: min(items, 200,000))")
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant; the best counts")
    parser.add_argument("--only", default=None, help="measure one mode only")
    parser.add_argument("--json", action="store_true", help="print the result of --only as JSON")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the native flow is below the target ratio")
    args = parser.parse_args()

    if args.only:
        rate = best_of(args.only, args.items, args.repeat)
        print(json.dumps({"mode": args.only, "rate": rate}) if args.json else f"{args.only}: {rate:,.0f} items/s")
        return 0

    n = args.items
    gi_n = args.gi_items or min(n, 200_000)
    override = has_override()
    rows = [("plain Python loop", "plain", n)]
    if _native is not None:
        rows.append(("flow, native fast path, _native.run()", "native-run", n))
        rows.append(("flow, native fast path, Runner.run()", "native-runner", n))
    if override and _native is not None and os.environ.get("FLOW_PYTHON_NATIVE", "1") != "0":
        rows.append(("flow, override API (native), Runner.run()", "override", n))
    rows.append(("flow, GI path" + ("" if override else " (no override: hand-written conversions)"),
                 "gi", gi_n))

    print(f"# {n:,} items ({gi_n:,} for the GI path), {N_KEYS} keys, best of {args.repeat}; "
          f"Python {sys.version.split()[0]}, PyGObject {'.'.join(map(str, gi.version_info))}")
    if _native is None:
        print("# flow._native is not built: only the GI path is measured")
    plain = None
    native_ratio = None
    for label, mode, items in rows:
        if mode == "gi" and override:
            rate = child(mode, items, args.repeat)
        else:
            rate = best_of(mode, items, args.repeat)
        if plain is None:
            plain = rate
        ratio = rate / plain
        if mode == "native-run":
            native_ratio = ratio
        print(f"{label:<58} {rate:>12,.0f} items/s   {ratio:5.3f} of the loop   "
              f"{1e9 / rate:8.0f} ns/item")
    if native_ratio is not None:
        verdict = "meets" if native_ratio >= TARGET else "MISSES"
        print(f"# native fast path: {native_ratio:.3f} of the plain loop: {verdict} the target of {TARGET}")
        if args.check and native_ratio < TARGET:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
