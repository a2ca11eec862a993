// testLongRun.js: runs long enough for GJS's garbage collector to sweep
// while libflow keeps calling back into JS.
//
// GJS 1.74 skips JS callbacks while a collection is sweeping, and an
// incremental collection started inside one callback could stay in that
// state for good: every later callback was skipped (a filter kept nothing,
// a next_batch vfunc read as the end of input). The Flow override
// (bindings/gjs/overrides/Flow.js) finishes collections itself; these
// runs lose nothing with it, and failed after ~100k-300k items without it.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import Flow from 'gi://Flow?version=1';

import {test, run, assertEqual} from './harness.js';

const N = 300000;

test('callbacks: 300k items through map and filter, run()', () => {
    const flow = Flow.Dataflow.new('long');
    const items = new GLib.Variant('ax', Array.from({length: N}, (_, i) => i));
    const source = Flow.TestingSource.new(items);
    source.set_batch_size(500);
    const sink = Flow.TestingSink.new();
    let mapped = 0;
    flow.input('inp', source)
        .map('pair', v => {
            mapped++;
            return new GLib.Variant('(xs)', [v.unpack(), 'x'.repeat(40)]);
        })
        .filter('every-1000th', v => v.deepUnpack()[0] % 1000 === 0)
        .output('out', sink);
    Flow.Runner.new(flow).run(null);
    assertEqual(mapped, N, 'items mapped');
    assertEqual(sink.get_n_items(), N / 1000, 'items kept by the filter');
});

test('callbacks: 300k items through stateful_map, run_async()', () => {
    const flow = Flow.Dataflow.new('long_async');
    const items = new GLib.Variant('ax', Array.from({length: N}, (_, i) => i));
    const source = Flow.TestingSource.new(items);
    source.set_batch_size(500);
    const sink = Flow.TestingSink.new();
    flow.input('inp', source)
        .key_on('k', v => `k${v.unpack() % 7}`)
        .stateful_map('count', () => new GLib.Variant('x', 0), (state, _v) => {
            const n = new GLib.Variant('x', state.unpack() + 1);
            return [n, null];
        })
        .output('out', sink);
    const loop = new GLib.MainLoop(null, false);
    let error = null;
    const runner = Flow.Runner.new(flow);
    runner.run_async(null, (r, res) => {
        try {
            r.run_finish(res);
        } catch (e) {
            error = e;
        }
        loop.quit();
    });
    const timeout = GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, 120, () => {
        error = new Error('run_async did not finish within 120 s');
        loop.quit();
        return GLib.SOURCE_REMOVE;
    });
    loop.run();
    GLib.source_remove(timeout);
    if (error)
        throw error;
    assertEqual(sink.get_n_items(), 0, 'nothing emitted');
});

const CountingPartition = GObject.registerClass(
class CountingPartition extends Flow.SourcePartition {
    _init(n) {
        super._init();
        this._next = 0;
        this._n = n;
    }

    vfunc_next_batch() {
        if (this._next >= this._n)
            return null;
        const batch = [];
        for (let i = 0; i < 50 && this._next < this._n; i++, this._next++)
            batch.push(new GLib.Variant('s', `item-${this._next}-${'y'.repeat(30)}`));
        return new GLib.Variant('av', batch);
    }
});

const CountingSource = GObject.registerClass(
class CountingSource extends Flow.Source {
    vfunc_build_part(_stepId, _key, _resume) {
        return new CountingPartition(N);
    }
});

test('vfuncs: 300k items from a JS source in batches of 50, read to the end', () => {
    const flow = Flow.Dataflow.new('long_vfunc');
    const sink = Flow.TestingSink.new();
    flow.input('inp', new CountingSource())
        .output('out', sink);
    Flow.Runner.new(flow).run(null);
    assertEqual(sink.get_n_items(), N, 'items read before the end of input');
});

run();
