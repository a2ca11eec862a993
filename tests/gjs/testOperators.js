// testOperators.js: operator callbacks written in JavaScript.
//
// Each case builds a small flow over a Flow.TestingSource, runs it, and
// checks what the callbacks were given and what a Flow.TestingSink got.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import Flow from 'gi://Flow?version=1';

import {test, run, assert, assertEqual} from './harness.js';

const int = n => new GLib.Variant('x', n);
const str = s => new GLib.Variant('s', s);

// Runs source → build(stream) → TestingSink and returns the unpacked items.
function runFlow(items, build, {id = 'ops', batchSize = 0} = {}) {
    const flow = Flow.Dataflow.new(id);
    const source = Flow.TestingSource.new(items);
    if (batchSize)
        source.batch_size = batchSize;
    const sink = Flow.TestingSink.new();
    build(flow.input('inp', source)).output('out', sink);
    assertEqual(Flow.Runner.new(flow).run(null), true, 'run() returns true');
    return sink.get_items().recursiveUnpack();
}

const ints = (...xs) => new GLib.Variant('ax', xs);
const strs = (...xs) => new GLib.Variant('as', xs);

test('TestingSink: get_items, get_n_items, get_item, clear', () => {
    const flow = Flow.Dataflow.new('sink');
    const sink = Flow.TestingSink.new();
    flow.input('inp', Flow.TestingSource.new(strs('a', 'b'))).output('out', sink);
    Flow.Runner.new(flow).run(null);
    assertEqual(sink.get_n_items(), 2, 'get_n_items');
    const items = sink.get_items();
    assert(items instanceof GLib.Variant, 'get_items returns a GLib.Variant');
    assertEqual(items.get_type_string(), 'av', 'items type');
    assertEqual(items.recursiveUnpack(), ['a', 'b'], 'recursiveUnpack');
    assertEqual(sink.get_item(1).unpack(), 'b', 'get_item(1)');
    sink.clear();
    assertEqual(sink.get_n_items(), 0, 'after clear');
});

test('map: each item to one new item, of any type', () => {
    const seen = [];
    const out = runFlow(ints(1, 2, 3), s => s.map('times_ten', item => {
        seen.push(item.get_type_string());
        return str(`n=${item.unpack() * 10}`);
    }));
    assertEqual(seen, ['x', 'x', 'x'], 'the mapper gets the items as they are');
    assertEqual(out, ['n=10', 'n=20', 'n=30']);
});

test('filter: keeps the items the predicate accepts', () => {
    const out = runFlow(ints(1, 2, 3, 4, 5, 6), s => s.filter('even', item => item.unpack() % 2 === 0));
    assertEqual(out, [2, 4, 6]);
});

test('filter_map: null drops the item', () => {
    const out = runFlow(strs('1', 'x', '3', ''), s => s.filter_map('parse', item => {
        const n = Number.parseInt(item.unpack(), 10);
        return Number.isNaN(n) ? null : int(n);
    }));
    assertEqual(out, [1, 3]);
});

test('flat_map: an av array is unboxed, a typed array gives its elements, null gives none', () => {
    const out = runFlow(ints(0, 1, 2), s => s.flat_map('explode', item => {
        const n = item.unpack();
        if (n === 0)
            return null;
        if (n === 1)
            return new GLib.Variant('av', [int(n), str('one'), new GLib.Variant('(sx)', ['t', n])]);
        return new GLib.Variant('ax', [n, n, n]);
    }));
    assertEqual(out, [1, 'one', ['t', 1], 2, 2, 2]);
});

test('flatten: the elements of array items', () => {
    const out = runFlow(new GLib.Variant('aax', [[1, 2], [], [3]]), s => s.flatten('flat'));
    assertEqual(out, [1, 2, 3]);
});

test('key_on, map_value, filter_value, key_rm: keyed (sv) items', () => {
    const valueTypes = [];
    const out = runFlow(ints(1, 2, 3, 4), s => s
        .key_on('parity', item => item.unpack() % 2 ? 'odd' : 'even')
        .map_value('square', value => {
            valueTypes.push(value.get_type_string());
            return int(value.unpack() ** 2);
        })
        .filter_value('not_one', value => value.unpack() !== 1));
    assertEqual(valueTypes, ['x', 'x', 'x', 'x'], 'map_value gets the unboxed value');
    assertEqual(out, [['even', 4], ['odd', 9], ['even', 16]]);

    const flow = Flow.Dataflow.new('keyrm');
    const sink = Flow.TestingSink.new();
    flow.input('inp', Flow.TestingSource.new(ints(5, 6)))
        .key_on('k', () => 'K')
        .key_rm('rm')
        .output('out', sink);
    Flow.Runner.new(flow).run(null);
    assertEqual(sink.get_item(0).get_type_string(), 'x', 'key_rm emits the unboxed value');
    assertEqual(sink.get_items().recursiveUnpack(), [5, 6], 'key_rm');
    assertEqual(sink.get_items().get_child_value(0).get_variant().get_type_string(), 'x');
});

test('flat_map_value: values of one key to many', () => {
    const out = runFlow(strs('a b', 'c'), s => s
        .key_on('k', () => 'words')
        .flat_map_value('split', value => new GLib.Variant('as', value.unpack().split(' '))));
    assertEqual(out, [['words', 'a'], ['words', 'b'], ['words', 'c']]);
});

test('stateful_map with a builder: a running sum per key', () => {
    const out = runFlow(ints(1, 2, 3, 4, 5), s => s
        .key_on('parity', item => item.unpack() % 2 ? 'odd' : 'even')
        .stateful_map('sum', () => int(100), (sum, value) => {
            const total = sum.unpack() + value.unpack();
            return [int(total), str(`total ${total}`)];
        }));
    assertEqual(out, [['odd', 'total 101'], ['even', 'total 102'], ['odd', 'total 104'],
        ['even', 'total 106'], ['odd', 'total 109']]);
});

test('stateful_map without a builder: null state for a new key, null discards, null emit emits nothing', () => {
    const states = [];
    const out = runFlow(strs('a', 'a', 'a', 'b', 'a'), s => s
        .key_on('self', item => item.unpack())
        .stateful_map('count', null, (state, _value) => {
            states.push(state === null ? null : state.unpack());
            const n = state === null ? 1 : state.unpack() + 1;
            // Count to 2, then forget the key; emit only odd counts.
            return [n >= 2 ? null : int(n), n % 2 ? int(n) : null];
        }));
    assertEqual(states, [null, 1, null, null, 1], 'states given to the mapper');
    assertEqual(out, [['a', 1], ['a', 1], ['b', 1]]);
});

test('stateful_flat_map: emits an array of values', () => {
    const out = runFlow(ints(1, 2), s => s
        .key_on('k', () => 'k')
        .stateful_flat_map('repeat', () => int(0), (seen, value) => {
            const n = seen.unpack() + 1;
            return [int(n), new GLib.Variant('ax', Array(n).fill(value.unpack()))];
        }));
    assertEqual(out, [['k', 1], ['k', 2], ['k', 2]]);
});

test('fold_final: an accumulator per key, emitted at the end in key order', () => {
    const out = runFlow(strs('pear', 'apple', 'plum', 'avocado', 'banana'), s => s
        .key_on('initial', item => item.unpack()[0])
        .fold_final('by_initial', () => new GLib.Variant('as', []),
            (list, value) => new GLib.Variant('as', [...list.unpack().map(v => v.unpack()), value.unpack()])));
    assertEqual(out, [['a', ['apple', 'avocado']], ['b', ['banana']], ['p', ['pear', 'plum']]]);
});

test('reduce_final: the first value starts the accumulator', () => {
    const calls = [];
    const out = runFlow(ints(3, 4, 5), s => s
        .key_on('k', () => 'all')
        .reduce_final('product', (acc, value) => {
            calls.push([acc.unpack(), value.unpack()]);
            return int(acc.unpack() * value.unpack());
        }));
    assertEqual(calls, [[3, 4], [12, 5]], 'reducer calls');
    assertEqual(out, [['all', 60]]);
});

test('count_final: counts per key from a key function', () => {
    const out = runFlow(strs('b', 'a', 'b', 'c', 'b'), s => s.count_final('count', item => item.unpack()));
    assertEqual(out, [['a', 1], ['b', 3], ['c', 1]]);
});

test('max_final and min_final: by the value itself or by a function', () => {
    const words = () => strs('kiwi', 'fig', 'banana', 'apple');
    const keyed = s => s.key_on('k', () => 'w');
    assertEqual(runFlow(words(), s => keyed(s).max_final('max', null)), [['w', 'kiwi']], 'max by value');
    assertEqual(runFlow(words(), s => keyed(s).max_final('max', v => int(v.unpack().length))),
        [['w', 'banana']], 'max by length');
    assertEqual(runFlow(words(), s => keyed(s).min_final('min', null)), [['w', 'apple']], 'min by value');
    assertEqual(runFlow(words(), s => keyed(s).min_final('min', v => int(v.unpack().length))),
        [['w', 'fig']], 'min by length');
});

test('collect: lists of max_size values, the rest at the end of input', () => {
    const out = runFlow(ints(1, 2, 3, 4, 5), s => s
        .key_on('k', () => 'k')
        .collect('batch', 3600, 2));
    assertEqual(out, [['k', [1, 2]], ['k', [3, 4]], ['k', [5]]]);
});

test('branch returns [trues, falses]; merge joins them again', () => {
    const flow = Flow.Dataflow.new('branching');
    const evens = Flow.TestingSink.new(), odds = Flow.TestingSink.new(), all = Flow.TestingSink.new();
    const inp = flow.input('inp', Flow.TestingSource.new(ints(1, 2, 3, 4, 5)));
    const result = inp.branch('is_even', item => item.unpack() % 2 === 0);
    assert(Array.isArray(result) && result.length === 2, 'branch returns two streams');
    const [trues, falses] = result;
    assert(trues instanceof Flow.Stream && falses instanceof Flow.Stream, 'both are Flow.Streams');
    trues.output('evens', evens);
    falses.map('negate', item => int(-item.unpack())).output('odds', odds);
    trues.merge('merged', [falses]).output('all', all);
    Flow.Runner.new(flow).run(null);
    assertEqual(evens.get_items().recursiveUnpack(), [2, 4], 'trues');
    assertEqual(odds.get_items().recursiveUnpack(), [-1, -3, -5], 'falses');
    assertEqual(all.get_items().recursiveUnpack().sort(), [1, 2, 3, 4, 5], 'merge of both');
});

test('merge of three streams', () => {
    const flow = Flow.Dataflow.new('merging');
    const sink = Flow.TestingSink.new();
    const a = flow.input('a', Flow.TestingSource.new(strs('a1', 'a2')));
    const b = flow.input('b', Flow.TestingSource.new(strs('b1')));
    const c = flow.input('c', Flow.TestingSource.new(strs('c1', 'c2')));
    a.merge('abc', [b, c]).output('out', sink);
    Flow.Runner.new(flow).run(null);
    assertEqual(sink.get_items().recursiveUnpack().sort(), ['a1', 'a2', 'b1', 'c1', 'c2']);
});

test('inspect: sees the full step id and each item, passes items on unchanged', () => {
    const seen = [];
    const out = runFlow(ints(7, 8), s => s
        .key_on('k', item => `k${item.unpack()}`)
        .inspect('look', (stepId, item) => {
            seen.push([stepId, item.recursiveUnpack()]);
            return true;
        }), {id: 'inspecting'});
    assertEqual(seen, [['inspecting.look', ['k7', 7]], ['inspecting.look', ['k8', 8]]]);
    assertEqual(out, [['k7', 7], ['k8', 8]]);
});

test('redistribute passes items on; batch size does not change results', () => {
    const xs = Array.from({length: 25}, (_, i) => i);
    for (const batchSize of [1, 4, 100]) {
        const out = runFlow(new GLib.Variant('ax', xs), s => s
            .redistribute('spread')
            .key_on('k', () => 'k')
            .stateful_map('sum', () => int(0), (sum, v) => {
                const t = sum.unpack() + v.unpack();
                return [int(t), int(t)];
            }), {batchSize});
        assertEqual(out.length, 25, `batch size ${batchSize}: item count`);
        assertEqual(out[24], ['k', 300], `batch size ${batchSize}: final sum`);
    }
});

test('callbacks can close over JavaScript state', () => {
    let calls = 0;
    const out = runFlow(ints(1, 2, 3), s => s.map('count_calls', item => {
        calls++;
        return new GLib.Variant('(xx)', [item.unpack(), calls]);
    }));
    assertEqual(calls, 3);
    assertEqual(out, [[1, 1], [2, 2], [3, 3]]);
});

test('flat_map_batch: the mapper gets each batch as one array', () => {
    const batches = [];
    const out = runFlow(ints(1, 2, 3, 4, 5), s => s.flat_map_batch('per_batch', items => {
        const values = items.recursiveUnpack();
        batches.push(values);
        return ints(values.length, values.reduce((a, b) => a + b, 0));
    }), {batchSize: 2});
    assertEqual(batches, [[1, 2], [3, 4], [5]]);
    assertEqual(out, [2, 3, 2, 7, 1, 5]);
});

test('inspect_debug: sees the step id, item, epoch and worker index', () => {
    const seen = [];
    const out = runFlow(ints(7, 8), s => s.inspect_debug('dbg', (stepId, item, epoch, worker) => {
        seen.push([stepId, item.unpack(), epoch, worker]);
    }), {id: 'debugging'});
    assertEqual(out, [7, 8]);
    assertEqual(seen, [['debugging.dbg', 7, 1, 0], ['debugging.dbg', 8, 1, 0]]);
});

test('the override guards the vfuncs of connector subclasses', () => {
    const Partition = GObject.registerClass(class GuardedPartition extends Flow.SinkPartition {
        vfunc_write_batch() {
            return true;
        }
    });
    assertEqual(Partition.prototype.vfunc_write_batch.__flowGuarded, true,
        'vfunc_write_batch is wrapped by the override');
});

test('the override passes every argument, whatever the function declares', () => {
    // Its wrapper has the function's arity (1 to 3 parameters), or passes
    // everything on (rest parameters, none declared, more than 3).
    const restSeen = [];
    const mapperArgs = [];
    const out = runFlow(ints(1, 2, 3), s => s
        .inspect_debug('rest', (...args) => {
            restSeen.push(args.length);
        })
        .key_on('key', () => 'k')
        .stateful_map('sum', null, function (state, value) {
            mapperArgs.push(arguments.length);
            const n = new GLib.Variant('x', (state === null ? 0 : state.unpack()) + value.unpack());
            return [n, n];
        }));
    assertEqual(out, [['k', 1], ['k', 3], ['k', 6]]);
    assertEqual(restSeen, [4, 4, 4], 'a rest-parameter function gets all four arguments');
    assertEqual(mapperArgs, [2, 2, 2], 'a two-parameter function gets both');
});

run();
