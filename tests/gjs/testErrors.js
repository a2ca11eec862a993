// testErrors.js: failures a GJS user can cause, and how they surface.
//
// An exception thrown in a callback or a vfunc stops the run and is thrown
// from run() with the full step id (and key) in its message; a thrown
// GLib.Error keeps its domain and code; bad flows and bad recovery
// directories are rejected with the Flow.Error code that says why.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import Flow from 'gi://Flow?version=1';

import {
    test, run, assert, assertEqual, assertMatch, assertThrows, assertGError,
    makeTempDir, removeTree,
} from './harness.js';

const int = n => new GLib.Variant('x', n);
const ints = (...xs) => new GLib.Variant('ax', xs);

// Builds inp → build(stream) → TestingSink in a flow named "errs".
function makeFlow(build, items = ints(1, 2, 3)) {
    const flow = Flow.Dataflow.new('errs');
    const sink = Flow.TestingSink.new();
    build(flow.input('inp', Flow.TestingSource.new(items))).output('out', sink);
    return {flow, sink};
}

function runError(build, items) {
    const {flow} = makeFlow(build, items);
    return assertThrows(() => Flow.Runner.new(flow).run(null), 'run() throws');
}

test('an exception in a stateful_map mapper is thrown from run() with step id and key', () => {
    const calls = [];
    const e = runError(s => s
        .key_on('key', item => `k${item.unpack()}`)
        .stateful_map('sum', null, (_state, value) => {
            calls.push(value.unpack());
            if (value.unpack() === 2)
                throw new Error('boom');
            return [value, value];
        }));
    assert(e instanceof Error, 'a JavaScript Error');
    assertMatch(e.message, /^stateful_map step 'errs\.sum' failed for key 'k2': boom$/);
    assertEqual(calls, [1, 2], 'the run stopped at the failing item');
});

test('the class of a thrown JavaScript error is kept', () => {
    const e = runError(s => s.map('parse', () => {
        throw new TypeError('not a number');
    }));
    assert(e instanceof TypeError, `a TypeError, got ${e.constructor.name}`);
    assertMatch(e.message, /map step 'errs\.parse' failed on item 1: not a number/);

    const r = runError(s => s.key_on('key', () => {
        throw new RangeError('out of range');
    }));
    assert(r instanceof RangeError, `a RangeError, got ${r.constructor.name}`);
    assertMatch(r.message, /key_on step 'errs\.key' failed on item 1: out of range/);
});

test('a GLib.Error thrown in a callback keeps its domain and code', () => {
    const e = runError(s => s
        .key_on('key', () => 'K')
        .map_value('check', () => {
            throw new GLib.Error(Flow.Error, Flow.Error.WRONG_TYPE, 'wanted a string');
        }));
    assertGError(e, Flow.Error, Flow.Error.WRONG_TYPE);
    assertMatch(e.message, /map_value step 'errs\.check' failed for key 'K': wanted a string/);

    const io = runError(s => s.filter('f', () => {
        throw new GLib.Error(GLib.file_error_quark(), GLib.FileError.NOENT, 'no such file');
    }));
    assertGError(io, GLib.file_error_quark(), GLib.FileError.NOENT);
    assertMatch(io.message, /'errs\.f'.*no such file/);
});

test('exceptions in builders and reducers surface too', () => {
    const b = runError(s => s
        .key_on('key', () => 'K')
        .fold_final('fold', () => {
            throw new Error('no initial value');
        }, (acc, _v) => acc));
    assertMatch(b.message, /'errs\.fold'.*'K'.*no initial value/);

    const r = runError(s => s
        .key_on('key', () => 'K')
        .reduce_final('reduce', () => {
            throw new Error('cannot add');
        }));
    assertMatch(r.message, /'errs\.reduce'.*'K'.*cannot add/);
});

test('a callback returning the wrong JavaScript type fails the run', () => {
    const m = runError(s => s.map('m', () => undefined));
    assertMatch(m.message, /map step 'errs\.m' failed on item 1: .*undefined/);

    const k = runError(s => s.key_on('k', item => item.unpack()));
    assertMatch(k.message, /key_on step 'errs\.k' failed on item 1: .*number/);

    const sm = runError(s => s
        .key_on('k', () => 'K')
        .stateful_map('sm', null, () => int(1)));
    assertMatch(sm.message, /stateful_map step 'errs\.sm' failed for key 'K': .*expecting an Array/);
});

test('flat_map returning a non-array fails with WRONG_TYPE', () => {
    const e = runError(s => s.flat_map('explode', item => item));
    assertGError(e, Flow.Error, Flow.Error.WRONG_TYPE);
    assertMatch(e.message, /'errs\.explode'/);
});

test('a non-keyed item reaching stateful_map fails with NOT_KEYED', () => {
    const e = runError(s => s.stateful_map('sum', () => int(0), (sum, v) => [v, v]));
    assertGError(e, Flow.Error, Flow.Error.NOT_KEYED);
    assertMatch(e.message, /'errs\.sum'/);
    assertMatch(e.message, /\(sv\)/, 'the message says what a keyed item is');
    assertMatch(e.message, /\b1\b/, 'the message shows the item');
});

test('a duplicate step id is rejected by check() and run()', () => {
    const {flow} = makeFlow(s => s.map('twice', v => v));
    flow.input('other', Flow.TestingSource.new(ints(1))).map('twice', v => v);
    const c = assertThrows(() => flow.check());
    assertGError(c, Flow.Error, Flow.Error.DUPLICATE_STEP_ID);
    assertMatch(c.message, /'errs\.twice'/);
    const r = assertThrows(() => Flow.Runner.new(flow).run(null));
    assertGError(r, Flow.Error, Flow.Error.DUPLICATE_STEP_ID);
});

test("a step id with '.' or an empty step id is rejected", () => {
    const dot = runError(s => s.map('a.b', v => v));
    assertGError(dot, Flow.Error, Flow.Error.INVALID_STEP_ID);
    assertMatch(dot.message, /'a\.b'/);
    const empty = runError(s => s.map('', v => v));
    assertGError(empty, Flow.Error, Flow.Error.INVALID_STEP_ID);

    const flow = Flow.Dataflow.new('bad.flow');
    flow.input('inp', Flow.TestingSource.new(ints(1))).output('out', Flow.TestingSink.new());
    assertGError(assertThrows(() => flow.check()), Flow.Error, Flow.Error.INVALID_STEP_ID,
        "a dataflow id with '.'");
});

test('a flow without input or without output is rejected', () => {
    const empty = Flow.Dataflow.new('empty');
    const e = assertThrows(() => Flow.Runner.new(empty).run(null));
    assertGError(e, Flow.Error, Flow.Error.INCOMPLETE_FLOW);
    assertMatch(e.message, /'empty'.*input/);

    const noOut = Flow.Dataflow.new('no_out');
    noOut.input('inp', Flow.TestingSource.new(ints(1))).map('m', v => v);
    const o = assertThrows(() => Flow.Runner.new(noOut).run(null));
    assertGError(o, Flow.Error, Flow.Error.INCOMPLETE_FLOW);
    assertMatch(o.message, /'no_out'.*output/);
});

test('a stream of another dataflow is rejected', () => {
    const a = Flow.Dataflow.new('a');
    const b = Flow.Dataflow.new('b');
    const sa = a.input('inp', Flow.TestingSource.new(ints(1)));
    const sb = b.input('inp', Flow.TestingSource.new(ints(2)));
    sa.merge('both', [sb]).output('out', Flow.TestingSink.new());
    const e = assertThrows(() => Flow.Runner.new(a).run(null));
    assertGError(e, Flow.Error, Flow.Error.INVALID_FLOW);
    assertMatch(e.message, /'a\.both'.*'b\.inp'/);
});

test('recovery directories: another flow’s is FOREIGN_PARTITIONS, an empty or missing one NO_PARTITIONS', () => {
    const dir = makeTempDir();
    try {
        Flow.recovery_init_dir(dir, 2);
        const mine = () => {
            const {flow, sink} = makeFlow(s => s.key_on('k', () => 'K').stateful_map('sum', () => int(0),
                (sum, v) => [int(sum.unpack() + v.unpack()), int(sum.unpack() + v.unpack())]));
            const r = Flow.Runner.new(flow);
            r.recovery_directory = dir;
            r.run(null);
            return sink.get_items().recursiveUnpack();
        };
        assertEqual(mine(), [['K', 1], ['K', 3], ['K', 6]], 'first run of the owner');

        const other = Flow.Dataflow.new('someone_else');
        other.input('inp', Flow.TestingSource.new(ints(1))).output('out', Flow.TestingSink.new());
        const r = Flow.Runner.new(other);
        r.recovery_directory = dir;
        const e = assertThrows(() => r.run(null));
        assertGError(e, Flow.Error, Flow.Error.FOREIGN_PARTITIONS);
        assertMatch(e.message, /'errs'.*'someone_else'|'someone_else'.*'errs'/, 'names both flows');

        // Nothing was changed: the owner resumes (same input, all consumed).
        assertEqual(mine(), [], 'the owner still resumes after the rejected run');

        const again = assertThrows(() => Flow.recovery_init_dir(dir, 2));
        assertGError(again, Flow.Error, Flow.Error.PARTITIONS_EXIST);
    } finally {
        removeTree(dir);
    }

    const empty = makeTempDir();
    try {
        const {flow} = makeFlow(s => s);
        const r = Flow.Runner.new(flow);
        r.recovery_directory = empty;
        assertGError(assertThrows(() => r.run(null)), Flow.Error, Flow.Error.NO_PARTITIONS, 'empty directory');
        r.recovery_directory = GLib.build_filenamev([empty, 'missing']);
        assertGError(assertThrows(() => r.run(null)), Flow.Error, Flow.Error.NO_PARTITIONS, 'missing directory');
    } finally {
        removeTree(empty);
    }
});

// Sources and sinks whose vfuncs throw where told to.
const FailingPartition = GObject.registerClass(
class FailingPartition extends Flow.SourcePartition {
    _init(failIn) {
        super._init();
        this._failIn = failIn;
        this._done = false;
    }

    vfunc_next_batch() {
        if (this._failIn === 'next_batch')
            throw new Error('no more disk');
        if (this._done)
            return null;
        this._done = true;
        return new GLib.Variant('av', [int(1)]);
    }

    vfunc_snapshot() {
        if (this._failIn === 'snapshot')
            throw new GLib.Error(Flow.Error, Flow.Error.IO, 'cannot save position');
        return int(0);
    }
});

const FailingSource = GObject.registerClass(
class FailingSource extends Flow.Source {
    _init(failIn) {
        super._init();
        this._failIn = failIn;
    }

    vfunc_build_part(_stepId, _partKey, _resume) {
        if (this._failIn === 'build_part')
            throw new GLib.Error(Flow.Error, Flow.Error.IO, 'cannot open');
        return new FailingPartition(this._failIn);
    }
});

const FailingSinkPartition = GObject.registerClass(
class FailingSinkPartition extends Flow.SinkPartition {
    vfunc_write_batch(_items) {
        throw new Error('disk full');
    }
});

const FailingSink = GObject.registerClass(
class FailingSink extends Flow.Sink {
    vfunc_build_part(_stepId, _partKey, _resume) {
        return new FailingSinkPartition();
    }
});

function runConnectors(source, sink, dir = null) {
    const flow = Flow.Dataflow.new('conn');
    flow.input('inp', source).output('out', sink);
    const r = Flow.Runner.new(flow);
    if (dir)
        r.recovery_directory = dir;
    return assertThrows(() => r.run(null), 'run() throws');
}

test('an exception in vfunc_next_batch is thrown from run()', () => {
    const e = runConnectors(new FailingSource('next_batch'), Flow.TestingSink.new());
    assert(e instanceof Error);
    assertMatch(e.message, /input step 'conn\.inp' \(partition '0'\) failed: no more disk/);
});

test('a GLib.Error from vfunc_build_part keeps its code', () => {
    const e = runConnectors(new FailingSource('build_part'), Flow.TestingSink.new());
    assertGError(e, Flow.Error, Flow.Error.IO);
    assertMatch(e.message, /'conn\.inp'.*cannot open/);
});

test('an exception in vfunc_write_batch is thrown from run()', () => {
    const e = runConnectors(new FailingSource('none'), new FailingSink());
    assertMatch(e.message, /'conn\.out'.*disk full/);
});

test('an exception in vfunc_snapshot is thrown from run()', () => {
    const dir = makeTempDir();
    try {
        Flow.recovery_init_dir(dir, 1);
        const e = runConnectors(new FailingSource('snapshot'), Flow.TestingSink.new(), dir);
        assertGError(e, Flow.Error, Flow.Error.IO);
        assertMatch(e.message, /'conn\.inp'.*cannot save position/);
    } finally {
        removeTree(dir);
    }
});

run();
