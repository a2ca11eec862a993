// SPDX-License-Identifier: LGPL-2.1-or-later
//
// GJS override for libflow, loaded automatically by `imports.gi.Flow` and
// `import Flow from 'gi://Flow'` (it is installed to
// $datadir/gjs-1.0/overrides/, which is on GJS's search path; `meson devenv`
// and the tests put bindings/gjs on GJS_PATH).
//
// It works around a GJS 1.74 bug that would otherwise make long runs lose
// data. GJS refuses to call a JS callback while a garbage collection is
// sweeping ("Attempting to run a JS callback during garbage collection");
// with SpiderMonkey's incremental GC, a collection started by allocations in
// one callback can leave that state set when the callback returns, and as
// no JS runs while libflow calls back again, it never ends. Every later
// callback is then skipped and returns a neutral value: a `filter` keeps
// nothing, a `next_batch` vfunc returns null (the end of input), a `map`
// returns null. A run over a few hundred thousand items hits it.
//
// The override finishes collections itself: before every run, and during
// it often enough that the incremental state is not reached: every
// callback given to a Stream
// operator, and every vfunc of a JS subclass of Flow.Source,
// Flow.SourcePartition, Flow.Sink and Flow.SinkPartition, counts calls; a
// full GC runs (System.gc()) every GC_EVERY_CALLS calls or GC_EVERY_MS
// milliseconds, whichever comes first, unless the previous one took more
// than a twentieth of the time since, which bounds its cost to about 5%.

const System = imports.system;
const GObject = imports.gi.GObject;

const GC_EVERY_CALLS = 1024;
const GC_EVERY_MS = 25;
let calls = 0;
let lastGcEnd = Date.now();
let lastGcTook = 0;

function maybeCollect(now) {
    calls = 0;
    if (now - lastGcEnd < 20 * lastGcTook)
        return;
    System.gc();
    lastGcEnd = Date.now();
    lastGcTook = lastGcEnd - now;
}

function guarded(fn) {
    if (typeof fn !== 'function' || fn.__flowGuarded)
        return fn;
    const wrapper = function (...args) {
        if (++calls >= GC_EVERY_CALLS) {
            maybeCollect(Date.now());
        } else {
            const now = Date.now();
            if (now - lastGcEnd >= GC_EVERY_MS)
                maybeCollect(now);
        }
        return fn.apply(this, args);
    };
    Object.defineProperty(wrapper, '__flowGuarded', {value: true});
    Object.defineProperty(wrapper, 'name', {value: fn.name});
    return wrapper;
}

// Positions of the function arguments of each operator (after step_id).
const OPERATORS = {
    map: [1],
    filter: [1],
    filter_map: [1],
    flat_map: [1],
    inspect: [1],
    branch: [1],
    key_on: [1],
    map_value: [1],
    filter_value: [1],
    flat_map_value: [1],
    stateful_map: [1, 2],
    stateful_flat_map: [1, 2],
    fold_final: [1, 2],
    reduce_final: [1],
    count_final: [1],
    max_final: [1],
    min_final: [1],
};

function _guardVfuncs(klass, bases) {
    if (typeof klass !== 'function' || !klass.prototype ||
        !bases.some(base => klass.prototype instanceof base))
        return;
    for (const key of Object.getOwnPropertyNames(klass.prototype)) {
        if (!key.startsWith('vfunc_'))
            continue;
        const desc = Object.getOwnPropertyDescriptor(klass.prototype, key);
        if (desc && typeof desc.value === 'function')
            klass.prototype[key] = guarded(desc.value);
    }
}

var _init = function () {
    const Flow = this;

    for (const [name, positions] of Object.entries(OPERATORS)) {
        const original = Flow.Stream.prototype[name];
        Flow.Stream.prototype[name] = function (...args) {
            for (const i of positions)
                args[i] = guarded(args[i]);
            return original.apply(this, args);
        };
    }

    // A collection left sweeping by JS that ran before the run would block
    // its very first callback: finish it first.
    for (const name of ['run', 'run_async', 'run_with_args']) {
        const original = Flow.Runner.prototype[name];
        Flow.Runner.prototype[name] = function (...args) {
            System.gc();
            lastGcEnd = Date.now();
            calls = 0;
            return original.apply(this, args);
        };
    }

    const bases = [Flow.Source, Flow.SourcePartition, Flow.Sink, Flow.SinkPartition];
    const registerClass = GObject.registerClass;
    GObject.registerClass = function (...args) {
        _guardVfuncs(args[args.length - 1], bases);
        return registerClass.apply(this, args);
    };
};
