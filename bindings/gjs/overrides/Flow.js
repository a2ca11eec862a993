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
// base's static _classInit), counts calls; a
// full GC runs (System.gc()) every GC_EVERY_CALLS calls or GC_EVERY_MS
// milliseconds, whichever comes first, unless the previous one took more
// than a twentieth of the time since, which bounds its cost to about 5%.

const System = imports.system;

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
            lastGcEnd = Date.now();
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
