// testWorkers.js: several workers in a GJS process (docs/workers.md).
//
// GJS has one JS context, entered from its own thread only: the workers
// share the caller's thread, each on its own context. The JS functions of
// the steps therefore all run on this thread, and the run gives the same
// items (per key, in the same order) as with one worker.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Flow from 'gi://Flow?version=1';

import {test, run, assert, assertEqual} from './harness.js';

function runSums(workers) {
    const flow = Flow.Dataflow.new('workers');
    const values = [];
    for (let i = 1; i <= 60; i++)
        values.push(i);
    const source = Flow.TestingSource.new(new GLib.Variant('ax', values));
    source.batch_size = 7;
    const sink = Flow.TestingSink.new();
    const seen = new Set();
    flow.input('inp', source)
        .key_on('key', item => `k${item.unpack() % 12}`)
        .stateful_map('sum', () => new GLib.Variant('x', 0), (sum, value) => {
            const s = sum.unpack() + value.unpack();
            return [new GLib.Variant('x', s), new GLib.Variant('x', s)];
        })
        .inspect_debug('dbg', (stepId, item, epoch, worker) => seen.add(worker))
        .output('out', sink);
    const runner = Flow.Runner.new(flow);
    runner.workers = workers;
    assertEqual(runner.run(null), true, 'run() returns true');
    const perKey = {};
    for (const [key, sum] of sink.get_items().recursiveUnpack()) {
        perKey[key] = perKey[key] || [];
        perKey[key].push(sum);
    }
    const sorted = {};
    for (const key of Object.keys(perKey).sort())
        sorted[key] = perKey[key];
    return {perKey: sorted, workers: [...seen].sort()};
}

test('workers: 3 workers give each key the sums of 1 worker, in order', () => {
    const one = runSums(1);
    const three = runSums(3);
    assertEqual(JSON.stringify(three.perKey), JSON.stringify(one.perKey), 'per-key sums');
    assertEqual(JSON.stringify(one.workers), '[0]', 'one worker: index 0');
    // inspect_debug runs after the exchange of stateful_map: on every worker.
    assertEqual(JSON.stringify(three.workers), '[0,1,2]', 'every worker saw items');
});

run();
