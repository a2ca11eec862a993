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
// function given to a method of Flow.Stream, and every vfunc of a JS
// subclass of Flow.Source, Flow.SourcePartition, Flow.Sink and
// Flow.SinkPartition (guarded when GObject.registerClass() calls the
// base's static _classInit), counts calls; every 64th call looks at the
// clock, and a full GC runs (System.gc()) once GC_EVERY_CALLS calls or
// GC_EVERY_US microseconds passed since the last, whichever comes first,
// unless the previous one took more than a twentieth of the time since:
// the collections cost at most about 5% of the run.
//
// What it costs, measured (tests/bench/bench_gjs.js, meson benchmark
// bench-gjs: 200,000-400,000 items through map -> key_on -> stateful_map,
// CPU time with and without this override on the search path, same run):
// about 4-8%. Before issue 12 it was about 25%: GC times were measured with
// Date.now(), whose milliseconds round a sub-millisecond collection to
// zero (so the 5% bound never held), and every call read the clock.

const GLib = imports.gi.GLib;
const System = imports.system;

const GC_EVERY_CALLS = 1024;
const GC_EVERY_US = 25 * 1000;
let calls = 0;
let lastGcEnd = GLib.get_monotonic_time();
let lastGcTook = 0;

function maybeCollect() {
    const now = GLib.get_monotonic_time();
    if (calls < GC_EVERY_CALLS && now - lastGcEnd < GC_EVERY_US)
        return;
    calls = 0;
    if (now - lastGcEnd < 20 * lastGcTook)
        return;
    System.gc();
    lastGcEnd = GLib.get_monotonic_time();
    lastGcTook = lastGcEnd - now;
}

// The wrapper has the function's own arity where it can (no rest
// parameter, no apply()): it runs once per item.
function guarded(fn) {
    if (typeof fn !== 'function' || fn.__flowGuarded)
        return fn;
    let wrapper;
    switch (fn.length) {
    case 1:
        wrapper = function (a) {
            if ((++calls & 63) === 0)
                maybeCollect();
            return fn.call(this, a);
        };
        break;
    case 2:
        wrapper = function (a, b) {
            if ((++calls & 63) === 0)
                maybeCollect();
            return fn.call(this, a, b);
        };
        break;
    case 3:
        wrapper = function (a, b, c) {
            if ((++calls & 63) === 0)
                maybeCollect();
            return fn.call(this, a, b, c);
        };
        break;
    default:
        wrapper = function (...args) {
            if ((++calls & 63) === 0)
                maybeCollect();
            return fn.apply(this, args);
        };
    }
    Object.defineProperty(wrapper, '__flowGuarded', {value: true});
    Object.defineProperty(wrapper, 'name', {value: fn.name});
    return wrapper;
}

function _guardVfuncs(klass) {
    if (typeof klass !== 'function' || !klass.prototype)
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

    // Tells libflow this override is loaded: without it, libflow warns once
    // when GJS refuses a callback (flow_binding_set_override_loaded()).
    Flow.binding_set_override_loaded('gjs');

    // Every function given to a Stream method (map's mapper, stateful_map's
    // builder and mapper, ...) is guarded: no list of operators to keep.
    for (const name of Object.getOwnPropertyNames(Flow.Stream.prototype)) {
        const desc = Object.getOwnPropertyDescriptor(Flow.Stream.prototype, name);
        if (name === 'constructor' || !desc || typeof desc.value !== 'function')
            continue;
        const original = desc.value;
        Flow.Stream.prototype[name] = function (...args) {
            return original.apply(this, args.map(guarded));
        };
    }

    // A collection left sweeping by JS that ran before the run would block
    // its very first callback: finish it first.
    for (const name of ['run', 'run_async', 'run_with_args']) {
        const original = Flow.Runner.prototype[name];
        Flow.Runner.prototype[name] = function (...args) {
            System.gc();
            lastGcEnd = GLib.get_monotonic_time();
            calls = 0;
            return original.apply(this, args);
        };
    }

    // The vfuncs of JS subclasses of the connector base classes are guarded
    // when the subclass is registered: GObject.registerClass() calls the
    // class's static _classInit, which subclasses inherit from these bases
    // (GObject.registerClass itself is left alone).
    for (const base of [Flow.Source, Flow.SourcePartition, Flow.Sink, Flow.SinkPartition]) {
        const classInit = base._classInit;
        Object.defineProperty(base, '_classInit', {
            configurable: true,
            writable: true,
            value: function (klass) {
                _guardVfuncs(klass);
                return classInit.call(this, klass);
            },
        });
    }
};
