// testWorkers.js: several workers in a GJS process (docs/workers.md).
//
// GJS has one JS context, entered from its own thread only: the workers
// share the caller's thread, each on its own context. The JS functions of
// the steps therefore all run on this thread, and the run gives the same
// items (per key, in the same order) as with one worker.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
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

// A dynamic source (build_worker_part): worker i of n reads i, i + n, …
// below 30; a dynamic sink: one partition per worker, written only with
// what that worker has (no exchange in front of it).
const ShardPartition = GObject.registerClass(
class ShardPartition extends Flow.SourcePartition {
    _init(index, count) {
        super._init();
        this._next = index;
        this._step = count;
    }

    vfunc_next_batch() {
        if (this._next >= 30)
            return null;
        const batch = [];
        for (let i = 0; i < 4 && this._next < 30; i++, this._next += this._step)
            batch.push(this._next);
        return new GLib.Variant('ax', batch);
    }
});

const ShardSource = GObject.registerClass(
class ShardSource extends Flow.Source {
    _init() {
        super._init();
        this.built = [];
    }

    vfunc_build_worker_part(stepId, index, count) {
        this.built.push(`${stepId} ${index} ${count}`);
        return new ShardPartition(index, count);
    }
});

const WorkerPartition = GObject.registerClass(
class WorkerPartition extends Flow.SinkPartition {
    _init(index, count) {
        super._init();
        this.index = index;
        this.count = count;
        this.got = [];
    }

    vfunc_write_batch(items) {
        for (const item of items)
            this.got.push(Number(item.unpack()));
        return true;
    }
});

const WorkerSink = GObject.registerClass(
class WorkerSink extends Flow.Sink {
    _init() {
        super._init();
        this.parts = [];
    }

    vfunc_build_worker_part(_stepId, index, count) {
        const part = new WorkerPartition(index, count);
        this.parts.push(part);
        return part;
    }
});

test('workers: a dynamic source and sink get one partition per worker', () => {
    for (let workers = 1; workers <= 3; workers++) {
        const source = new ShardSource();
        const sink = new WorkerSink();
        const flow = Flow.Dataflow.new('dyn');
        flow.input('inp', source).output('out', sink);
        const runner = Flow.Runner.new(flow);
        runner.workers = workers;
        assertEqual(runner.run(null), true, `run() with ${workers} workers`);
        const expectedBuilt = [];
        for (let i = 0; i < workers; i++)
            expectedBuilt.push(`dyn.inp ${i} ${workers}`);
        assertEqual(JSON.stringify([...source.built].sort()), JSON.stringify(expectedBuilt),
            `${workers} workers: one source partition per worker`);
        assertEqual(sink.parts.length, workers, `${workers} workers: one sink partition each`);
        const all = [];
        for (const part of sink.parts) {
            assertEqual(part.count, workers, 'the worker count');
            // What worker i read is what its own partition got, in order.
            const mine = [];
            for (let v = part.index; v < 30; v += workers)
                mine.push(v);
            assertEqual(JSON.stringify(part.got), JSON.stringify(mine),
                `worker ${part.index} of ${workers} wrote what it read`);
            all.push(...part.got);
        }
        assertEqual(all.length, 30, `${workers} workers: every item once`);
    }
});

run();
