// testStateful.js: Flow.StatefulLogic and Flow.StatefulBatchLogic
// subclassed in JavaScript (vfunc_on_item, ...), for stateful and
// stateful_batch.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import Flow from 'gi://Flow?version=1';

import {test, run, assert, assertEqual, assertMatch} from './harness.js';

const keyed = (k, n) => new GLib.Variant('(sv)', [k, new GLib.Variant('x', n)]);
const emit = (...values) => new GLib.Variant('av', values);
const START = 1700000000 * 1000000;

// Counts its key's values; asks to be notified `delay` µs after its first
// value (on the run's clock); discards itself at the notification.
const Counter = GObject.registerClass(
class Counter extends Flow.StatefulLogic {
    _init(key, state, delay, log) {
        super._init();
        this.key = key;
        this.count = state ? state.recursiveUnpack() : 0;
        this.at = null;
        this.delay = delay;
        this.log = log;
    }

    vfunc_on_item(value) {
        this.log.push(`item ${this.key} ${value.unpack()}`);
        this.count++;
        if (this.count === 1 && this.delay)
            this.at = Flow.get_real_time() + this.delay;
        return [emit(new GLib.Variant('x', this.count)), Flow.STATEFUL_LOGIC_RETAIN];
    }

    vfunc_on_notify() {
        this.log.push(`notify ${this.key}`);
        return [emit(new GLib.Variant('s', `notified ${this.count}`)), true];
    }

    vfunc_on_eof() {
        this.log.push(`eof ${this.key}`);
        return [emit(new GLib.Variant('s', `eof ${this.count}`)), false];
    }

    vfunc_notify_at() {
        return this.at === null ? [false, 0] : [true, this.at];
    }

    vfunc_snapshot() {
        return new GLib.Variant('x', this.count);
    }
});

function runFlow(items, build, {batchSize = 0, pause = null} = {}) {
    const flow = Flow.Dataflow.new('st');
    const source = Flow.TestingSource.new(new GLib.Variant('av', items));
    if (batchSize)
        source.batch_size = batchSize;
    if (pause)
        source.add_marker(pause[0], Flow.TestingMarker.PAUSE, pause[1]);
    const sink = Flow.TestingSink.new();
    build(flow.input('inp', source)).output('out', sink);
    const runner = Flow.Runner.new(flow);
    runner.set_test_clock(Flow.TestClock.new(START));
    assertEqual(runner.run(null), true, 'run() returns true');
    return sink.get_items().recursiveUnpack();
}

test('stateful: a JavaScript logic per key, on_eof for every key', () => {
    const log = [];
    const out = runFlow([keyed('a', 1), keyed('b', 2), keyed('a', 3)],
        s => s.stateful('count', (key, state) => new Counter(key, state, 0, log)));
    assertEqual(out, [['a', 1], ['b', 1], ['a', 2], ['a', 'eof 2'], ['b', 'eof 1']]);
    assertEqual(log, ['item a 1', 'item b 2', 'item a 3', 'eof a', 'eof b']);
});

test('stateful: notifications on the run clock, in order of time', () => {
    const log = [];
    const delays = {a: 30e6, b: 10e6};
    const out = runFlow([keyed('a', 1), keyed('b', 2), keyed('c', 3)],
        s => s.stateful('count', (key, state) => new Counter(key, state, delays[key], log)),
        {pause: [2, 600]});
    assertEqual(out, [['a', 1], ['b', 1], ['b', 'notified 1'], ['a', 'notified 1'],
        ['c', 1], ['c', 'eof 1']]);
});

test('stateful_batch: one on_batch per key per batch', () => {
    const Batcher = GObject.registerClass(
    class Batcher extends Flow.StatefulBatchLogic {
        vfunc_on_batch(values) {
            return [emit(values), false];
        }

        vfunc_snapshot() {
            return new GLib.Variant('b', true);
        }
    });
    const out = runFlow([keyed('a', 1), keyed('b', 2), keyed('a', 3), keyed('a', 4)],
        s => s.stateful_batch('batches', () => new Batcher()), {batchSize: 3});
    assertEqual(out, [['a', [1, 3]], ['b', [2]], ['a', [4]]]);
});

test('stateful: an exception in on_item stops the run, naming step and key', () => {
    const Broken = GObject.registerClass(
    class Broken extends Flow.StatefulLogic {
        vfunc_on_item() {
            throw new Error('broken logic');
        }
    });
    const flow = Flow.Dataflow.new('st');
    flow.input('inp', Flow.TestingSource.new(new GLib.Variant('av', [keyed('k9', 1)])))
        .stateful('bad', () => new Broken())
        .output('out', Flow.TestingSink.new());
    let error = null;
    try {
        Flow.Runner.new(flow).run(null);
    } catch (e) {
        error = e;
    }
    assert(error !== null, 'the run failed');
    assertMatch(error.message, /stateful step 'st\.bad' failed for key 'k9': on_item\(\): .*broken logic/);
});

run();
