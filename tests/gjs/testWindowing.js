// testWindowing.js: windowers and window clocks from JavaScript.
//
// Window ids are Bytewax's: counted from align_to for tumbling and
// sliding windows, sequential for sessions. Times are µs since the Unix
// epoch (UTC); they stay below 2^53, so plain JS numbers hold them.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import Flow from 'gi://Flow?version=1';

import {test, run, assert, assertEqual} from './harness.js';

const SEC = 1000000;
const MINUTE = 60 * SEC;
const HOUR = 60 * MINUTE;
const midnight = GLib.DateTime.new_utc(2023, 12, 14, 0, 0, 0);
const MIDNIGHT = midnight.to_unix() * SEC;

function assertInvalid(fn, part) {
    try {
        fn();
    } catch (e) {
        assert(e.matches(Flow.error_quark(), Flow.Error.INVALID_ARGUMENT),
            `a Flow.Error.INVALID_ARGUMENT, not ${e}`);
        assert(e.message.includes(part), `"${e.message}" names ${part}`);
        return;
    }
    throw new Error(`no error naming ${part}`);
}

test('TumblingWindower: ids from align_to, open and close times', () => {
    const w = Flow.TumblingWindower.new_for_date_time(HOUR, midnight);
    assertEqual(w.get_align_to(), MIDNIGHT, 'align_to from the GDateTime');
    assertEqual(w.get_window_id(MIDNIGHT + 30 * MINUTE), 0, '00:30 is in window 0');
    assertEqual(w.get_window_id(MIDNIGHT + HOUR), 1, 'open times are inclusive');
    assertEqual(w.get_window_id(MIDNIGHT - 1), -1, 'before align_to: negative');

    const state = w.new_state();
    assertEqual(state.open_for(MIDNIGHT + 90 * MINUTE), [1], 'open_for');
    assertEqual(state.notify_at(), [true, MIDNIGHT + 2 * HOUR], 'notify_at: the close of window 1');
    assertEqual(state.close_for(MIDNIGHT + 2 * HOUR - 1).length, 0, 'close times are exclusive');
    const closed = state.close_for(MIDNIGHT + 2 * HOUR);
    assertEqual(closed.length, 1, 'the watermark at the close time closes it');
    assertEqual(closed[0].get_window_id(), 1, 'window id');
    assertEqual(closed[0].dup_open_date_time().format_iso8601(), '2023-12-14T01:00:00Z', 'open time');
    assertEqual(closed[0].get_close_time(), MIDNIGHT + 2 * HOUR, 'close time');
    assert(state.is_empty(), 'nothing open');
});

test('SlidingWindower: overlapping windows (Bytewax documentation)', () => {
    const w = Flow.SlidingWindower.new(HOUR, 30 * MINUTE, MIDNIGHT);
    assertEqual(w.get_window_ids(MIDNIGHT + 45 * MINUTE), [0, 1], '00:45');
    assertEqual(w.get_window_ids(MIDNIGHT - 10 * MINUTE), [-2, -1], '23:50 the day before');
    assertEqual(w.get_open_time(2), MIDNIGHT + HOUR, 'window 2 opens at 01:00');
    assertInvalid(() => Flow.SlidingWindower.new(HOUR, 2 * HOUR, MIDNIGHT), 'offset');
});

test('SessionWindower: sequential ids, merges, late items', () => {
    const w = Flow.SessionWindower.new(30 * SEC);
    const state = w.new_state();
    assertEqual(state.open_for(MIDNIGHT), [0], 'first session');
    assertEqual(state.open_for(MIDNIGHT + MINUTE), [1], 'beyond the gap: a new session');
    assertEqual(state.open_for(MIDNIGHT + 30 * SEC), [0], 'joins session 0...');
    assertEqual(state.take_merged().deepUnpack(), [[1, 0]], '...which merges session 1');
    assertEqual(state.late_for(MIDNIGHT), [Flow.LATE_SESSION_ID], 'late items');
    const closed = state.close_for(MIDNIGHT + HOUR);
    assertEqual(closed.length, 1, 'one session left');
    assertEqual(closed[0].get_merged_ids(), [1], 'merged ids');

    const resumed = w.restore_state(state.snapshot());
    assertEqual(resumed.open_for(MIDNIGHT + 2 * HOUR), [2], 'ids go on after a resume');
    assertInvalid(() => Flow.SessionWindower.new(0), 'gap');
});

test('EventClock: a JavaScript timestamp getter', () => {
    const clock = Flow.EventClock.new(5 * MINUTE, v => {
        if (v.get_type_string() !== 'x')
            throw new Error('no time in this item');
        return v.unpack();
    });
    const state = clock.new_state();
    state.before_batch();
    const [ok, ts, wm] = state.on_item(new GLib.Variant('x', MIDNIGHT));
    assert(ok, 'on_item');
    assertEqual([ts, wm], [MIDNIGHT, MIDNIGHT - 5 * MINUTE], 'timestamp and watermark');
    let failed = null;
    try {
        state.on_item(new GLib.Variant('s', 'x'));
    } catch (e) {
        failed = e;
    }
    assert(failed !== null && failed.message.includes('no time in this item'),
        `the getter's exception is the error (${failed})`);
    assertEqual(state.snapshot().get_type_string(), '(xx)', 'snapshot');
});

// Window operators ----------------------------------------------------

// Sums the values of a window; emits the sum when it closes.
const SumLogic = GObject.registerClass(class SumLogic extends Flow.WindowLogic {
    _init() {
        super._init();
        this.sum = 0;
    }

    vfunc_on_value(value) {
        this.sum += value.unpack();
        return null;
    }

    vfunc_on_merge(consumed) {
        this.sum += consumed.sum;
        return null;
    }

    vfunc_on_close() {
        return new GLib.Variant('av', [new GLib.Variant('x', this.sum)]);
    }

    vfunc_snapshot() {
        return new GLib.Variant('x', this.sum);
    }

    vfunc_restore(state) {
        this.sum = state.unpack();
        return true;
    }
});

function keyedSeconds(pairs) {
    return new GLib.Variant('a(sv)', pairs.map(([k, s]) => [k, new GLib.Variant('x', s)]));
}

test('window operators: count_window and a WindowLogic subclass, event time', () => {
    const align = GLib.DateTime.new_utc(2022, 1, 1, 0, 0, 0).to_unix() * SEC;
    const flow = Flow.Dataflow.new('windows');
    const items = flow.input('inp', Flow.TestingSource.new(keyedSeconds(
        [['a', 1], ['b', 2], ['a', 5], ['a', 12], ['a', 3], ['b', 14]])));
    const clock = Flow.EventClock.new(0, v => {
        // count_window's getter gets whole items, window's the values.
        const value = v.get_type_string() === '(sv)' ? v.get_child_value(1).get_variant() : v;
        return align + value.unpack() * SEC;
    });
    const windower = Flow.TumblingWindower.new(10 * SEC, align);

    const counts = items.count_window('count', clock, windower, item => item.get_child_value(0).unpack());
    const countSink = Flow.TestingSink.new();
    counts.get_down().output('counts', countSink);
    const lateSink = Flow.TestingSink.new();
    counts.late.output('late', lateSink);

    const sums = items.window('sum', clock, windower, SumLogic.$gtype, true);
    const sumSink = Flow.TestingSink.new();
    sums.down.output('sums', sumSink);

    assertEqual(Flow.Runner.new(flow).run(null), true, 'run() returns true');
    assertEqual(countSink.get_items().recursiveUnpack().sort(),
        [['a', [0, 2]], ['a', [1, 1]], ['b', [1, 1]], ['b', [0, 1]]].sort(), 'counts per window');
    assertEqual(sumSink.get_items().recursiveUnpack().sort(),
        [['a', [0, 6]], ['a', [1, 12]], ['b', [0, 2]], ['b', [1, 14]]].sort(), 'sums per window');
    assertEqual(lateSink.get_items().recursiveUnpack(), [['a', [0, ['a', 3]]]],
        'a at 3 s is late (the watermark of a is 12 s)');
});

// A windower written in JavaScript (vfunc_ overrides of Flow.Windower):
// fixed windows of `length` µs from `align`, as TumblingWindower's. The
// windows of a key are in a KeyWindows object (what vfunc_build returns).
const KeyWindows = GObject.registerClass(class KeyWindows extends GObject.Object {
    _init(open) {
        super._init();
        this.open = open;   // window id -> close time
    }
});

const FixedWindower = GObject.registerClass(class FixedWindower extends Flow.Windower {
    _init(length, align) {
        super._init();
        this.length = length;
        this.align = align;
        this.built = [];
    }

    vfunc_build(resumeState) {
        this.built.push(resumeState ? resumeState.recursiveUnpack() : null);
        return new KeyWindows(new Map(resumeState ? resumeState.recursiveUnpack() : []));
    }

    _id(ts) {
        return Math.floor((ts - this.align) / this.length);
    }

    vfunc_open_for(logic, ts) {
        const id = this._id(ts);
        if (!logic.open.has(id))
            logic.open.set(id, this.align + (id + 1) * this.length);
        return new GLib.Variant('ax', [id]);
    }

    vfunc_late_for(logic, ts) {
        return new GLib.Variant('ax', [this._id(ts)]);
    }

    vfunc_merged(_logic) {
        return new GLib.Variant('a(xx)', []);
    }

    vfunc_close_for(logic, watermark) {
        const closed = [...logic.open].filter(([, close]) => close <= watermark)
            .sort(([a], [b]) => a - b);
        for (const [id] of closed)
            logic.open.delete(id);
        return new GLib.Variant('a(xxxax)',
            closed.map(([id, close]) => [id, close - this.length, close, []]));
    }

    vfunc_notify_at(logic) {
        const closes = [...logic.open.values()];
        return closes.length ? [true, Math.min(...closes)] : [false, 0];
    }

    vfunc_is_empty(logic) {
        return logic.open.size === 0;
    }

    vfunc_snapshot(logic) {
        return new GLib.Variant('a(xx)', [...logic.open]);
    }
});

test('a Flow.Windower subclass (vfunc_ overrides) in collect_window, as TumblingWindower', () => {
    const align = GLib.DateTime.new_utc(2022, 1, 1, 0, 0, 0).to_unix() * SEC;
    const input = [['a', 1], ['b', 2], ['a', 5], ['a', 12], ['a', 3], ['b', 14], ['a', 25]];
    const run = windower => {
        const flow = Flow.Dataflow.new('custom');
        const items = flow.input('inp', Flow.TestingSource.new(keyedSeconds(input)));
        const clock = Flow.EventClock.new(0, v => align + v.unpack() * SEC);
        const out = items.collect_window('collect', clock, windower, true);
        const down = Flow.TestingSink.new(), late = Flow.TestingSink.new(), meta = Flow.TestingSink.new();
        out.get_down().output('down', down);
        out.late.output('late', late);
        out.meta.output('meta', meta);
        assertEqual(Flow.Runner.new(flow).run(null), true, 'run() returns true');
        return [down, late, meta].map(s => s.get_items().recursiveUnpack().map(JSON.stringify).sort());
    };
    const custom = new FixedWindower(10 * SEC, align);
    const got = run(custom);
    assertEqual(got, run(Flow.TumblingWindower.new(10 * SEC, align)),
        'the same windows, late items and metadata as TumblingWindower');
    assertEqual(got[0], [['a', [0, [1, 5]]], ['a', [1, [12]]], ['a', [2, [25]]],
        ['b', [0, [2]]], ['b', [1, [14]]]].map(JSON.stringify).sort(), 'windows');
    assertEqual(got[1], [JSON.stringify(['a', [0, 3]])], 'a at 3 s is late');
    assertEqual(custom.built, [null, null], 'built once per key');
});

run();
