// testJoin.js: join and enrich_cached from JavaScript.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Flow from 'gi://Flow?version=1';

import {test, run, assert, assertEqual} from './harness.js';

const keyed = (...pairs) =>
    new GLib.Variant('av', pairs.map(([k, v]) => new GLib.Variant('(sv)', [k, v])));
const int = n => new GLib.Variant('x', n);
const str = s => new GLib.Variant('s', s);

function runJoin(lefts, rights, insertMode, emitMode) {
    const flow = Flow.Dataflow.new('js_join');
    const left = flow.input('left', Flow.TestingSource.new(lefts));
    const right = flow.input('right', Flow.TestingSource.new(rights));
    const sink = Flow.TestingSink.new();
    left.join('join', [right], insertMode, emitMode).output('out', sink);
    assertEqual(Flow.Runner.new(flow).run(null), true, 'run() returns true');
    return sink.get_items().recursiveUnpack();
}

test('join, complete: a (key, [left, right]) row once both sides are there', () => {
    const out = runJoin(keyed(['123', str('Bee')], ['456', str('Hive')]),
        keyed(['456', str('hive@example.org')], ['123', str('bee@example.org')]),
        Flow.JoinInsertMode.LAST, Flow.JoinEmitMode.COMPLETE);
    out.sort((a, b) => a[0].localeCompare(b[0]));
    assertEqual(out, [['123', ['Bee', 'bee@example.org']], ['456', ['Hive', 'hive@example.org']]]);
});

test('join, final and product: every combination at the end, a missing side as null', () => {
    const out = runJoin(keyed(['k', int(1)], ['k', int(2)], ['only_left', int(9)]),
        keyed(['k', int(3)]),
        Flow.JoinInsertMode.PRODUCT, Flow.JoinEmitMode.FINAL);
    assertEqual(out, [['k', [1, 3]], ['k', [2, 3]], ['only_left', [9, null]]]);
});

test('join of an unkeyed stream: the error names the step and the item', () => {
    const flow = Flow.Dataflow.new('js_join');
    const left = flow.input('left', Flow.TestingSource.new(keyed(['k', int(1)])));
    const right = flow.input('right', Flow.TestingSource.new(new GLib.Variant('ax', [42])));
    left.join('join', [right], Flow.JoinInsertMode.LAST, Flow.JoinEmitMode.COMPLETE)
        .output('out', Flow.TestingSink.new());
    try {
        Flow.Runner.new(flow).run(null);
    } catch (e) {
        assert(e.matches(Flow.error_quark(), Flow.Error.NOT_KEYED), `NOT_KEYED, not ${e}`);
        assert(e.message.includes("join step 'js_join.join'"), e.message);
        assert(e.message.includes('42'), e.message);
        return;
    }
    throw new Error('the run did not fail');
});

test('enrich_cached: the getter is called once per key, the cache is given to the mapper', () => {
    const calls = [];
    const flow = Flow.Dataflow.new('js_enrich');
    const sink = Flow.TestingSink.new();
    flow.input('inp', Flow.TestingSource.new(new GLib.Variant('as', ['dog', 'cat', 'dog'])))
        .enrich_cached('enrich', key => {
            calls.push(key.unpack());
            return str(`${key.unpack()}.png`);
        }, (cache, item) => new GLib.Variant('(sv)', [item.unpack(), cache.get(item)]),
        Flow.TTL_CACHE_FOREVER)
        .output('out', sink);
    Flow.Runner.new(flow).run(null);
    assertEqual(sink.get_items().recursiveUnpack(),
        [['dog', 'dog.png'], ['cat', 'cat.png'], ['dog', 'dog.png']]);
    assertEqual(calls, ['dog', 'cat'], 'one call per key');
});

run();
