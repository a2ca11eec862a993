// testRunAsync.js: Flow.Runner.run_async inside the caller's main loop.
//
// What a GTK application does: the flow runs on the application's main
// loop while the loop keeps serving its other sources (here a timeout).
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Flow from 'gi://Flow?version=1';

import {
    test, run, assert, assertEqual, assertMatch, assertGError, makeTempDir, removeTree,
} from './harness.js';

const int = n => new GLib.Variant('x', n);

// Runs runner.run_async on a new main loop with a 5 ms timeout on it.
// Returns what the timeout and the callbacks observed.
function runAsyncOnLoop(runner, {cancellable = null, onTick = null} = {}) {
    const loop = new GLib.MainLoop(null, false);
    const seen = {ticks: 0, ticksWhileRunning: 0, result: null, error: null, finishedAfterTicks: -1};
    const tick = GLib.timeout_add(GLib.PRIORITY_DEFAULT, 5, () => {
        seen.ticks++;
        if (runner.running)
            seen.ticksWhileRunning++;
        onTick?.(seen);
        return GLib.SOURCE_CONTINUE;
    });
    const guard = GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, 30, () => {
        seen.error = new Error('run_async did not finish within 30 s');
        loop.quit();
        return GLib.SOURCE_REMOVE;
    });
    runner.run_async(cancellable, (r, res) => {
        try {
            seen.result = r.run_finish(res);
        } catch (e) {
            seen.error = e;
        }
        seen.finishedAfterTicks = seen.ticks;
        loop.quit();
    });
    seen.runningAfterStart = runner.running;
    loop.run();
    GLib.source_remove(tick);
    GLib.source_remove(guard);
    return seen;
}

// 0 … n-1, with a pause of pauseSeconds in the middle.
function pausedSource(n, pauseSeconds) {
    const source = Flow.TestingSource.new(new GLib.Variant('ax', Array.from({length: n}, (_, i) => i)));
    source.batch_size = 1;
    source.add_marker(n / 2, Flow.TestingMarker.PAUSE, pauseSeconds);
    return source;
}

test('run_async runs the flow while a timeout on the same loop keeps firing', () => {
    const flow = Flow.Dataflow.new('async');
    const sink = Flow.TestingSink.new();
    const mappedWhileTicking = [];
    let ticksNow = 0;
    flow.input('inp', pausedSource(40, 0.25))
        .map('double', item => {
            mappedWhileTicking.push(ticksNow);
            return int(item.unpack() * 2);
        })
        .output('out', sink);
    const runner = Flow.Runner.new(flow);
    const seen = runAsyncOnLoop(runner, {onTick: s => (ticksNow = s.ticks)});

    assertEqual(seen.error, null, 'no error');
    assertEqual(seen.result, true, 'run_finish returns true');
    assertEqual(seen.runningAfterStart, true, 'run_async returns at once, with the runner running');
    assertEqual(runner.running, false, 'not running after the callback');
    assert(seen.ticksWhileRunning >= 10,
        `the timeout fired while the flow ran (${seen.ticksWhileRunning} times in a 0.25 s pause)`);
    assert(mappedWhileTicking.at(-1) > mappedWhileTicking[0],
        'items were processed on both sides of timeout ticks: the loop interleaves them');
    assertEqual(sink.get_items().recursiveUnpack(), Array.from({length: 40}, (_, i) => i * 2));
});

test('run_async with recovery resumes like run()', () => {
    const dir = makeTempDir();
    try {
        Flow.recovery_init_dir(dir, 1);
        const once = inp => {
            const flow = Flow.Dataflow.new('recovery');
            const sink = Flow.TestingSink.new();
            flow.input('inp', Flow.TestingSource.new(new GLib.Variant('ax', inp)))
                .key_on('key_stream', () => 'ALL')
                .stateful_map('running_count', () => int(0), (sum, v) => {
                    const t = sum.unpack() + v.unpack();
                    return [int(t), int(t)];
                })
                .output('out', sink);
            const runner = Flow.Runner.new(flow);
            runner.recovery_directory = dir;
            let committed = 0;
            runner.connect('snapshot-committed', () => committed++);
            const seen = runAsyncOnLoop(runner);
            assertEqual(seen.error, null, 'no error');
            assert(committed > 0, 'snapshot-committed was emitted');
            return sink.get_items().recursiveUnpack();
        };
        assertEqual(once([0, 1, 2]), [['ALL', 0], ['ALL', 1], ['ALL', 3]], 'first run');
        assertEqual(once([3, 4]), [['ALL', 6], ['ALL', 10]], 'second run');
    } finally {
        removeTree(dir);
    }
});

test('an exception in a callback comes back from run_finish', () => {
    const flow = Flow.Dataflow.new('async');
    flow.input('inp', Flow.TestingSource.new(new GLib.Variant('ax', [1, 2])))
        .key_on('key', () => 'K')
        .map_value('fail', () => {
            throw new Error('async boom');
        })
        .output('out', Flow.TestingSink.new());
    const runner = Flow.Runner.new(flow);
    const seen = runAsyncOnLoop(runner);
    assert(seen.error instanceof Error, 'run_finish threw');
    assertMatch(seen.error.message, /map_value step 'async\.fail' failed for key 'K': async boom/);
    assertEqual(runner.running, false);
});

test('cancelling run_async stops the flow with G_IO_ERROR_CANCELLED', () => {
    const flow = Flow.Dataflow.new('async');
    const sink = Flow.TestingSink.new();
    flow.input('inp', pausedSource(10, 30)).output('out', sink);
    const runner = Flow.Runner.new(flow);
    const cancellable = new Gio.Cancellable();
    const seen = runAsyncOnLoop(runner, {
        cancellable,
        onTick: s => {
            if (s.ticks === 10)
                cancellable.cancel();
        },
    });
    assertGError(seen.error, Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED);
    assert(seen.finishedAfterTicks < 100, `finished soon after the cancel (tick ${seen.finishedAfterTicks}), not after the 30 s pause`);
    assertEqual(runner.running, false);
    assert(sink.get_n_items() <= 5, 'nothing after the pause was processed');
});

run();
