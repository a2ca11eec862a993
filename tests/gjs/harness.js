// harness.js: a small TAP test harness for the GJS tests (gjs -m).
//
// Debian's gjs comes without jasmine-gjs, so each test module registers
// its cases with test() and ends with run(), which prints TAP for
// `meson test` and exits non-zero when a case failed.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import System from 'system';

const cases = [];

export function test(name, fn) {
    cases.push({name, fn});
}

export class AssertionError extends Error {
    constructor(message) {
        super(message);
        this.name = 'AssertionError';
    }
}

function repr(value) {
    if (value instanceof GLib.Variant)
        return `GLib.Variant(${value.print(true)})`;
    if (typeof value === 'bigint')
        return `${value}n`;
    try {
        return JSON.stringify(value, (_k, v) => typeof v === 'bigint' ? `${v}n` : v);
    } catch {
        return String(value);
    }
}

function deepEqual(a, b) {
    if (a === b)
        return true;
    if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object')
        return false;
    if (Array.isArray(a) !== Array.isArray(b))
        return false;
    const ka = Object.keys(a), kb = Object.keys(b);
    if (ka.length !== kb.length)
        return false;
    return ka.every(k => deepEqual(a[k], b[k]));
}

export function assert(condition, message = 'assertion failed') {
    if (!condition)
        throw new AssertionError(message);
}

export function assertEqual(actual, expected, message = '') {
    if (!deepEqual(actual, expected)) {
        throw new AssertionError(`${message ? `${message}: ` : ''}expected ${repr(expected)}, got ${repr(actual)}`);
    }
}

export function assertMatch(text, regexp, message = '') {
    if (typeof text !== 'string' || !regexp.test(text))
        throw new AssertionError(`${message ? `${message}: ` : ''}${repr(text)} does not match ${regexp}`);
}

// Calls fn, which must throw; returns what it threw.
export function assertThrows(fn, message = '') {
    try {
        fn();
    } catch (e) {
        if (e instanceof AssertionError)
            throw e;
        return e;
    }
    throw new AssertionError(`${message ? `${message}: ` : ''}expected an exception, none was thrown`);
}

// Asserts that e is a GLib.Error of the Flow.Error domain (or another
// domain) with the given code.
export function assertGError(e, domain, code, message = '') {
    const prefix = message ? `${message}: ` : '';
    if (!(e instanceof GLib.Error))
        throw new AssertionError(`${prefix}expected a GLib.Error, got ${e?.constructor?.name}: ${e}`);
    if (!e.matches(domain, code))
        throw new AssertionError(`${prefix}expected error domain ${GLib.quark_to_string(domain)} code ${code}, got ${GLib.quark_to_string(e.domain)} code ${e.code}: ${e.message}`);
}

// A new empty directory under $TMPDIR; removed with removeTree().
export function makeTempDir(prefix = 'flow-gjs') {
    return GLib.dir_make_tmp(`${prefix}-XXXXXX`);
}

export function removeTree(path) {
    const file = Gio.File.new_for_path(path);
    const remove = f => {
        const type = f.query_file_type(Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
        if (type === Gio.FileType.DIRECTORY) {
            const children = f.enumerate_children('standard::name',
                Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
            let info;
            while ((info = children.next_file(null)) !== null)
                remove(f.get_child(info.get_name()));
            children.close(null);
        }
        f.delete(null);
    };
    if (file.query_exists(null))
        remove(file);
}

// Runs argv and returns {status, stdout, stderr}.
export function spawn(argv) {
    const proc = Gio.Subprocess.new(argv,
        Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_PIPE);
    const [, stdout, stderr] = proc.communicate_utf8(null, null);
    proc.wait(null);
    return {
        status: proc.get_if_exited() ? proc.get_exit_status() : -1,
        stdout: stdout ?? '',
        stderr: stderr ?? '',
    };
}

export function run() {
    print('TAP version 13');
    print(`1..${cases.length}`);
    let failed = 0;
    cases.forEach(({name, fn}, i) => {
        try {
            fn();
            print(`ok ${i + 1} - ${name}`);
        } catch (e) {
            failed++;
            print(`not ok ${i + 1} - ${name}`);
            const text = e instanceof GLib.Error
                ? `GLib.Error ${GLib.quark_to_string(e.domain)} ${e.code}: ${e.message}`
                : `${e?.name ?? 'Error'}: ${e?.message ?? e}\n${e?.stack ?? ''}`;
            for (const line of text.trimEnd().split('\n'))
                print(`# ${line}`);
        }
    });
    System.exit(failed ? 1 : 0);
}
