// testConnectors.js: sources and sinks subclassed in JavaScript.
//
// A partitioned list source whose partitions snapshot their position and
// are rebuilt from it, and a sink whose partitions collect what they are
// written and snapshot how much; used in flows with and without recovery,
// including a resume after a failed run.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import Flow from 'gi://Flow?version=1';

import {
    test, run, assert, assertEqual, assertMatch, assertThrows, makeTempDir, removeTree,
} from './harness.js';

const int = n => new GLib.Variant('x', n);

// One partition of a ListSource: returns its items batchSize at a time and
// resumes from a position. `hooks.beforeBatch(partition)` may throw.
const ListPartition = GObject.registerClass(
class ListPartition extends Flow.SourcePartition {
    _init(source, key, items, position) {
        super._init();
        this._source = source;
        this._key = key;
        this._items = items;
        this.position = position;
    }

    vfunc_next_batch() {
        this._source.log.push(`next_batch ${this._key}`);
        this._source.hooks.beforeBatch?.(this);
        if (this.position >= this._items.length)
            return null;
        const batch = this._items.slice(this.position, this.position + this._source.batchSize);
        this.position += batch.length;
        return new GLib.Variant('av', batch.map(int));
    }

    vfunc_next_awake() {
        return this._source.pace
            ? Flow.get_monotonic_time() + this._source.pace * 1000
            : 0;
    }

    vfunc_snapshot() {
        this._source.log.push(`snapshot ${this._key} ${this.position}`);
        return new GLib.Variant('x', this.position);
    }

    vfunc_close() {
        this._source.log.push(`close ${this._key}`);
        return true;
    }
});

// A source with one partition per key of `parts` ({key: [items]}).
const ListSource = GObject.registerClass(
class ListSource extends Flow.Source {
    _init(parts, {batchSize = 2, pace = 0, hooks = {}} = {}) {
        super._init();
        this.parts = parts;
        this.batchSize = batchSize;
        this.pace = pace;
        this.hooks = hooks;
        this.log = [];
        this.built = [];
    }

    vfunc_list_parts() {
        return Object.keys(this.parts);
    }

    vfunc_build_part(stepId, partKey, resumeState) {
        const position = resumeState ? resumeState.unpack() : 0;
        this.built.push([stepId, partKey, resumeState ? resumeState.get_type_string() : null, position]);
        return new ListPartition(this, partKey, this.parts[partKey], position);
    }
});

// A source that keeps the default list_parts: one partition named "0".
const SinglePartSource = GObject.registerClass(
class SinglePartSource extends Flow.Source {
    _init(items) {
        super._init();
        this.items = items;
        this.keys = [];
    }

    vfunc_build_part(_stepId, partKey, resumeState) {
        this.keys.push(partKey);
        const inner = new ListSource({[partKey]: this.items});
        return inner.vfunc_build_part(_stepId, partKey, resumeState);
    }
});

const CollectPartition = GObject.registerClass(
class CollectPartition extends Flow.SinkPartition {
    _init(sink, written) {
        super._init();
        this._sink = sink;
        this._written = written;
    }

    vfunc_write_batch(items) {
        this._sink.batchTypes.push(items.map(i => i instanceof GLib.Variant));
        for (const item of items)
            this._sink.items.push(item.recursiveUnpack());
        this._written += items.length;
        return true;
    }

    vfunc_snapshot() {
        return new GLib.Variant('t', this._written);
    }

    vfunc_close() {
        this._sink.closed++;
        return true;
    }
});

const CollectSink = GObject.registerClass(
class CollectSink extends Flow.Sink {
    _init() {
        super._init();
        this.items = [];
        this.batchTypes = [];
        this.built = [];
        this.closed = 0;
    }

    vfunc_build_part(stepId, partKey, resumeState) {
        const written = resumeState ? Number(resumeState.unpack()) : 0;
        this.built.push([stepId, partKey, written]);
        return new CollectPartition(this, written);
    }
});

// source → key "ALL" → running sum → sink
function sumFlow(source, sink) {
    const flow = Flow.Dataflow.new('custom');
    flow.input('inp', source)
        .key_on('key', () => 'ALL')
        .stateful_map('sum', () => int(0), (sum, value) => {
            const total = sum.unpack() + value.unpack();
            return [int(total), int(total)];
        })
        .output('out', sink);
    return flow;
}

function runner(flow, dir, snapshotInterval = 30) {
    const r = Flow.Runner.new(flow);
    if (dir)
        r.recovery_directory = dir;
    r.snapshot_interval = snapshotInterval;
    return r;
}

const sums = (from, to) => {
    const out = [];
    let total = 0;
    for (let i = 1; i <= to; i++) {
        total += i;
        if (i >= from)
            out.push(['ALL', total]);
    }
    return out;
};

test('a subclassed source and sink carry items through a flow', () => {
    const source = new ListSource({'p': [1, 2, 3, 4, 5]});
    const sink = new CollectSink();
    assertEqual(runner(sumFlow(source, sink)).run(null), true);
    assertEqual(sink.items, sums(1, 5), 'items written');
    assert(sink.batchTypes.length > 0 && sink.batchTypes.flat().every(x => x),
        'write_batch gets an array of GLib.Variant');
    assertEqual(source.built, [['custom.inp', 'p', null, 0]], 'build_part(step_id, part_key, null)');
    assertEqual(sink.built, [['custom.out', '0', 0]], 'the sink has the default partition "0"');
    assertEqual(source.log.filter(l => l.startsWith('next_batch')).length, 4,
        'next_batch is called until it returns null (3 batches of 2, then EOF)');
    assertEqual(source.log.at(-1), 'close p', 'the partition is closed at the end');
    assertEqual(sink.closed, 1, 'the sink partition is closed at the end');
});

test('list_parts: every partition is built and read', () => {
    const source = new ListSource({'a': [1, 2, 3], 'b': [10, 20]});
    const sink = new CollectSink();
    const flow = Flow.Dataflow.new('parts');
    flow.input('inp', source).output('out', sink);
    runner(flow).run(null);
    assertEqual(source.built.map(b => b[1]).sort(), ['a', 'b'], 'partitions built');
    assertEqual(sink.items.sort((x, y) => x - y), [1, 2, 3, 10, 20], 'items of both partitions');
});

test('the default list_parts gives one partition named "0"', () => {
    const source = new SinglePartSource([4, 5]);
    const sink = new CollectSink();
    runner(sumFlow(source, sink)).run(null);
    assertEqual(source.keys, ['0']);
    assertEqual(sink.items, [['ALL', 4], ['ALL', 9]]);
});

test('next_awake is honoured without busy polling', () => {
    // On a test clock: the run takes no real time waiting, and the times
    // are exact whatever the machine is doing.
    const source = new ListSource({'p': [1, 2, 3, 4]}, {batchSize: 1, pace: 40});
    const sink = new CollectSink();
    const clock = Flow.TestClock.new(1_700_000_000_000_000);
    const r = runner(sumFlow(source, sink));
    r.set_test_clock(clock);
    const start = clock.get_monotonic_time();
    r.run(null);
    assertEqual(sink.items, sums(1, 4));
    assertEqual((clock.get_monotonic_time() - start) / 1000, 4 * 40,
        '4 batches 40 ms apart, then the end, on the test clock');
    assertEqual(source.log.filter(l => l.startsWith('next_batch')).length, 5,
        'next_batch is called once per batch and once for EOF');
});

test('resume after EOF: build_part gets the snapshot, the sink its state, the sum continues', () => {
    const dir = makeTempDir();
    try {
        Flow.recovery_init_dir(dir, 2);
        const first = new ListSource({'p': [1, 2, 3]});
        const sink1 = new CollectSink();
        runner(sumFlow(first, sink1), dir).run(null);
        assertEqual(sink1.items, sums(1, 3), 'first run');
        assert(first.log.includes('snapshot p 3'), 'the position was snapshotted at EOF');

        // The same list, grown: a continuation.
        const second = new ListSource({'p': [1, 2, 3, 4, 5]});
        const sink2 = new CollectSink();
        runner(sumFlow(second, sink2), dir).run(null);
        assertEqual(second.built, [['custom.inp', 'p', 'x', 3]], 'build_part got the resume state 3');
        assertEqual(sink2.built, [['custom.out', '0', 3]], 'the sink got its snapshot (3 written)');
        assertEqual(sink2.items, sums(4, 5), 'only the new items, with the restored sum');
    } finally {
        removeTree(dir);
    }
});

test('resume after a failed run: source position and keyed state come from the same epoch', () => {
    const dir = makeTempDir();
    try {
        Flow.recovery_init_dir(dir, 1);
        const items = Array.from({length: 10}, (_, i) => i + 1);
        let committed = 0;
        // Fail on the first batch after at least one epoch committed with
        // at least 3 items read: a crash in the middle of the input.
        const source = new ListSource({'p': items}, {
            batchSize: 1,
            pace: 5,
            hooks: {
                beforeBatch(partition) {
                    if (committed > 0 && partition.position >= 3)
                        throw new Error(`disk gone at ${partition.position}`);
                },
            },
        });
        const sink1 = new CollectSink();
        const r1 = runner(sumFlow(source, sink1), dir, 0.02);
        r1.connect('snapshot-committed', () => {
            committed++;
        });
        const e = assertThrows(() => r1.run(null), 'the first run fails');
        assertMatch(e.message, /input step 'custom\.inp' \(partition 'p'\) failed: disk gone at \d+/);
        const failedAt = Number(/disk gone at (\d+)/.exec(e.message)[1]);
        assert(committed > 0, 'an epoch was committed before the failure');

        const resumed = new ListSource({'p': items});
        const sink2 = new CollectSink();
        runner(sumFlow(resumed, sink2), dir).run(null);
        const [[, , , position]] = resumed.built;
        assert(position > 0 && position <= failedAt,
            `resumed at a snapshotted position (${position}), not from scratch, not past the failure (${failedAt})`);
        // The restored sum is the sum of exactly the items before the
        // resume position: the keyed state and the source position agree.
        assertEqual(sink2.items, sums(position + 1, 10), `resumed from position ${position}`);
        assertEqual(sink2.built, [['custom.out', '0', position]],
            'the sink state is from the same epoch (one output per input)');
    } finally {
        removeTree(dir);
    }
});

test('a partition rebuilt without a snapshot starts from the beginning', () => {
    const dir = makeTempDir();
    try {
        Flow.recovery_init_dir(dir, 1);
        const source = new ListSource({'p': [1, 2]});
        const sink = new CollectSink();
        runner(sumFlow(source, sink), dir).run(null);
        assertEqual(source.built, [['custom.inp', 'p', null, 0]], 'no resume state on a fresh directory');
        assertEqual(sink.items, sums(1, 2));
    } finally {
        removeTree(dir);
    }
});

test('FileSource and FileSink from GJS: lines in, lines out, resumed after the file grew', () => {
    const dir = makeTempDir();
    try {
        Flow.recovery_init_dir(dir, 1);
        const input = GLib.build_filenamev([dir, 'in.txt']);
        const output = GLib.build_filenamev([dir, 'out.txt']);
        const lines = n => Array.from({length: n}, (_, i) => `line ${i}`);
        const runOnce = () => {
            const flow = Flow.Dataflow.new('files');
            flow.input('inp', Flow.FileSource.new(input))
                .map('upper', v => new GLib.Variant('s', v.unpack().toUpperCase()))
                .output('out', Flow.FileSink.new(output));
            runner(flow, dir).run(null);
        };
        GLib.file_set_contents(input, `${lines(3).join('\n')}\n`);
        runOnce();
        GLib.file_set_contents(input, `${lines(5).join('\n')}\n`);
        runOnce();
        const [, bytes] = GLib.file_get_contents(output);
        assertEqual(new TextDecoder().decode(bytes),
            `${lines(5).map(l => l.toUpperCase()).join('\n')}\n`,
            'each line written once, the second run only the two new ones');
    } finally {
        removeTree(dir);
    }
});

run();
