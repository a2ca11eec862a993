// bench_gjs.js: what the GJS override (bindings/gjs/overrides/Flow.js)
// costs (issue 12)
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Runs the same flow, 400,000 integers through
//
//   input (Flow.TestingSource over an `ax`, batches of 1000)
//   -> map (x * 2) -> key_on (100 keys) -> stateful_map (running count)
//   -> Flow.TestingSink
//
// and prints µs/item and the items that reached the sink. bench-gjs (meson
// benchmark) runs it twice, with the override on GJS_PATH and without, and
// compares: the override's cost is the difference. (Without the override,
// GJS 1.74 may skip callbacks during a garbage collection and lose items:
// the run says so.)
//
// Usage: gjs -m bench_gjs.js [ITEMS] [REPEAT]

import GLib from 'gi://GLib';
import Flow from 'gi://Flow?version=1';
import System from 'system';

const N = Number(ARGV[0] ?? 400000);
const REPEAT = Number(ARGV[1] ?? 3);
const KEYS = Array.from({length: 100}, (_, i) => `key-${i}`);

// The process's CPU time in µs (utime + stime of /proc/self/stat): on a
// loaded machine the wall clock says more about the neighbours.
function cpuMicros() {
    const [, bytes] = GLib.file_get_contents('/proc/self/stat');
    const fields = new TextDecoder().decode(bytes).split(') ')[1].split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks * 1e6 / 100;  // USER_HZ
}

function once() {
    const flow = Flow.Dataflow.new('bench');
    const source = Flow.TestingSource.new(new GLib.Variant('ax', Array.from({length: N}, (_, i) => i)));
    source.set_batch_size(1000);
    const sink = Flow.TestingSink.new();
    flow.input('inp', source)
        .map('double', v => new GLib.Variant('x', v.unpack() * 2))
        .key_on('key', v => KEYS[(v.unpack() / 2) % 100])
        .stateful_map('count', null, (state, v) => {
            const n = new GLib.Variant('x', state === null ? 1 : state.unpack() + 1);
            return [n, n];
        })
        .output('out', sink);
    const start = GLib.get_monotonic_time();
    const cpu = cpuMicros();
    Flow.Runner.new(flow).run(null);
    return [(GLib.get_monotonic_time() - start) / N, (cpuMicros() - cpu) / N, sink.get_n_items()];
}

let best = Infinity;
let bestCpu = Infinity;
let written = N;
for (let r = 0; r < REPEAT; r++) {
    const [us, cpu, n] = once();
    best = Math.min(best, us);
    bestCpu = Math.min(bestCpu, cpu);
    written = Math.min(written, n);
    System.gc();
}
let override = false;
try {
    override = imports.overrides.Flow !== undefined;
} catch (e) {
    // not on the search path
}
print(JSON.stringify({us_per_item: best, cpu_us_per_item: bestCpu, items: N, written,
    override_loaded: override}));
