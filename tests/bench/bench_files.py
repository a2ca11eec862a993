#!/usr/bin/env python3
# bench_files.py: real flows of the flow package (file connectors, testing
# connectors, key_on, stateful_map) next to a plain Python loop doing the
# same work on the same data, in the same run (issue 12)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The flow is the crash test's (tests/soak/crash_flow.py): the numbered
# lines of a file, keyed on n % 100, a running sum per key:
#
#   source -> (nothing | key_on | key_on + stateful_map) -> sink
#
# for the sources FileSource (the file) and TestingSource (the same lines
# as a list of str) and the sinks FileSink (the value of each item, a line
# each) and TestingSink (a list). Each flow is compared with a plain Python
# loop doing the same work with the same data: reading the file (or
# iterating the list), calling the same key and sum functions with a dict
# of states, and writing the same lines (or appending the same items).
#
# It prints µs/item of each and the ratio plain loop / flow (1.0: as fast
# as the loop), by wall clock and by CPU time (on a loaded machine the CPU
# time is the one to trust; the wall clock also counts the waits for
# fdatasync()). The last rows run the full flow with recovery snapshots
# every 50 ms (and every second), a fresh recovery directory each time.
#
# Targets (issue 12): FileSource -> key_on -> stateful_map -> FileSink at
# least 0.3 of the plain loop, 0.25 with recovery every 50 ms.
#
# Usage: bench_files.py [--lines N] [--repeat R] [--only ROW]

import argparse
import os
import shutil
import sys
import tempfile
import time

import gi

gi.require_version("GLib", "2.0")
gi.require_version("Flow", "1")

import flow.operators as op  # noqa: E402
from flow.connectors.files import FileSink, FileSource  # noqa: E402
from flow.dataflow import Dataflow  # noqa: E402
from flow.recovery import RecoveryConfig, init_db_dir  # noqa: E402
from flow.testing import TestingSink, TestingSource, run_main  # noqa: E402

N_KEYS = 100
TARGET = 0.3
TARGET_RECOVERY = 0.25


# The user functions, shared by the flows and the loops (crash_flow.py's).
def key_of(line):
    return "k%02d" % (int(line) % N_KEYS)


def add(total, line):
    total = (total or 0) + int(line)
    return total, total


# ---- the plain loops ----

def read_file(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            yield line[:-1] if line.endswith("\n") else line


def plain(path, lines, source, ops, sink, out_path, out_list):
    items = read_file(path) if source == "file" else lines
    states = {}
    if sink == "file":
        with open(out_path, "a", encoding="utf-8") as out:
            write = out.write
            if ops == "none":
                for line in items:
                    write(line + "\n")
            elif ops == "key_on":
                for line in items:
                    key_of(line)
                    write(line + "\n")
            else:
                for line in items:
                    key = key_of(line)
                    state, emit = add(states.get(key), line)
                    states[key] = state
                    write(f"{emit}\n")
    else:
        append = out_list.append
        if ops == "none":
            for line in items:
                append(line)
        elif ops == "key_on":
            for line in items:
                append((key_of(line), line))
        else:
            for line in items:
                key = key_of(line)
                state, emit = add(states.get(key), line)
                states[key] = state
                append((key, emit))


# ---- the flows ----

def run_flow(path, lines, source, ops, sink, out_path, out_list, recovery_dir=None, interval=None):
    flow = Dataflow("bench")
    if source == "file":
        s = op.input("inp", flow, FileSource(path, batch_size=1000))
    else:
        s = op.input("inp", flow, TestingSource(lines, batch_size=1000))
    if ops != "none":
        s = op.key_on("key", s, key_of)
    if ops == "stateful_map":
        s = op.stateful_map("sum", s, add)
    op.output("out", s, FileSink(out_path) if sink == "file" else TestingSink(out_list))
    if recovery_dir is None:
        run_main(flow)
    else:
        run_main(flow, epoch_interval=interval, recovery_config=RecoveryConfig(recovery_dir))


def timed(fn):
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


def measure(kind, path, lines, source, ops, sink, tmp, interval=None):
    """(wall s, CPU s) of one run; checks the output."""
    out_path = os.path.join(tmp, "out.txt")
    if os.path.exists(out_path):
        os.unlink(out_path)
    out_list = []
    recovery_dir = None
    if interval is not None:
        recovery_dir = os.path.join(tmp, "recovery")
        shutil.rmtree(recovery_dir, ignore_errors=True)
        init_db_dir(recovery_dir, 1)
    if kind == "plain":
        result = timed(lambda: plain(path, lines, source, ops, sink, out_path, out_list))
    else:
        result = timed(lambda: run_flow(path, lines, source, ops, sink, out_path, out_list,
                                        recovery_dir, interval))
    n = len(lines)
    if sink == "file":
        with open(out_path, "rb") as f:
            got = f.read().count(b"\n")
    else:
        got = len(out_list)
    if got != n:
        raise SystemExit(f"{kind} {source}->{ops}->{sink} wrote {got} items, not {n}")
    return result


ROWS = [
    # label, source, sink
    ("FileSource -> FileSink", "file", "file"),
    ("FileSource -> TestingSink", "file", "list"),
    ("TestingSource -> FileSink", "list", "file"),
]
COLUMNS = ["none", "key_on", "stateful_map"]


def main():
    parser = argparse.ArgumentParser(description="flow package connectors vs a plain Python loop")
    parser.add_argument("--lines", type=int, default=300_000, help="lines of input (default 300,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best counts")
    parser.add_argument("--only", default=None,
                        help="one flow only, as SOURCE,OPS,SINK (file|list, none|key_on|stateful_map, "
                             "file|list), for profiling")
    parser.add_argument("--recovery-interval", type=float, default=None,
                        help="with --only: recovery snapshots every S seconds")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="flow-bench-files-")
    try:
        path = os.path.join(tmp, "input.txt")
        lines = [str(i) for i in range(args.lines)]
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        n = args.lines

        def best(kind, source, ops, sink, interval=None):
            runs = [measure(kind, path, lines, source, ops, sink, tmp, interval)
                    for _ in range(args.repeat)]
            return min(r[0] for r in runs), min(r[1] for r in runs)

        if args.only:
            source, ops, sink = args.only.split(",")
            wall, cpu = best("flow", source, ops, sink, args.recovery_interval)
            print(f"{args.only}: {wall / n * 1e6:.2f} µs/item wall, {cpu / n * 1e6:.2f} µs/item CPU")
            return 0

        print(f"# {n:,} lines, {N_KEYS} keys, batches of 1000, best of {args.repeat}; "
              f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
              f"load {os.getloadavg()[0]:.1f}")
        print("# µs/item of the flow (and of the plain loop doing the same), ratio = loop / flow")
        print(f"# {'':<32}" + "".join(f"{c:>30}" for c in COLUMNS))
        print(f"# {'':<32}" + "".join(f"{'flow  loop  ratio':>30}" for _ in COLUMNS)
              + "   (CPU time; wall clock below)")
        full = None
        walls = {}
        for label, source, sink in ROWS:
            cells, wall_cells = [], []
            for ops in COLUMNS:
                loop = best("plain", source, ops, sink)
                fl = best("flow", source, ops, sink)
                cells.append(f"{fl[1] / n * 1e6:6.2f} {loop[1] / n * 1e6:5.2f} {loop[1] / fl[1]:6.3f}")
                wall_cells.append(f"{fl[0] / n * 1e6:6.2f} {loop[0] / n * 1e6:5.2f} {loop[0] / fl[0]:6.3f}")
                if (source, ops, sink) == ("file", "stateful_map", "file"):
                    full = (loop, fl)
            print(f"{label:<34}" + "".join(f"{c:>30}" for c in cells), flush=True)
            walls[label] = wall_cells
        for label, wall_cells in walls.items():
            print(f"{label + ' (wall)':<34}" + "".join(f"{c:>30}" for c in wall_cells))

        loop, fl = full
        rec = {}
        for interval in (0.05, 1.0):
            rec[interval] = best("flow", "file", "stateful_map", "file", interval)
        print("# FileSource -> key_on -> stateful_map -> FileSink:")
        print(f"#   without recovery:          {fl[1] / n * 1e6:6.2f} µs/item CPU, ratio {loop[1] / fl[1]:.3f} "
              f"(wall {fl[0] / n * 1e6:.2f} µs/item, ratio {loop[0] / fl[0]:.3f}); target {TARGET}")
        for interval, (wall, cpu) in rec.items():
            print(f"#   recovery every {interval * 1000:4.0f} ms:    {cpu / n * 1e6:6.2f} µs/item CPU, "
                  f"ratio {loop[1] / cpu:.3f} (wall {wall / n * 1e6:.2f} µs/item, ratio {loop[0] / wall:.3f}; "
                  f"overhead {(wall / fl[0] - 1) * 100:+.0f} % wall){'; target ' + str(TARGET_RECOVERY) if interval == 0.05 else ''}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
