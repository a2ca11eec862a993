// testRecoveryTutorial.js: the seed recovery tutorial in GJS.
//
// Runs examples/gjs/recovery.js the way the tutorial runs recovery.py: a
// first run with inp = [0, 1, 2], then a copy of the script with
// inp = [3, 4] against the same recovery directory.
//
// Usage: gjs -m testRecoveryTutorial.js GJS EXAMPLE_SCRIPT
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Flow from 'gi://Flow?version=1';

import {
    test, run, assert, assertEqual, makeTempDir, removeTree, spawn,
} from './harness.js';

const [gjs, example] = ARGV;
const recoveryTool = GLib.getenv('FLOW_RECOVERY_TOOL');

const FIRST_OUTPUT = "('ALL', 0)\n('ALL', 1)\n('ALL', 3)\n";
const SECOND_OUTPUT = "('ALL', 6)\n('ALL', 10)\n";

// The script with its input line changed, as the tutorial edits it.
function scriptWithInput(dir, input) {
    const [, bytes] = GLib.file_get_contents(example);
    const source = new TextDecoder().decode(bytes);
    const edited = source.replace(/^const inp = \[0, 1, 2\];$/m, `const inp = ${input};`);
    assert(edited !== source || input === '[0, 1, 2]',
        `the example has no line 'const inp = [0, 1, 2];' to edit`);
    const path = GLib.build_filenamev([dir, 'recovery.js']);
    GLib.file_set_contents(path, edited);
    return path;
}

function runScript(script, args) {
    return spawn([gjs, '-m', script, ...args]);
}

function expectRun(result, stdout, what) {
    assertEqual(result.stderr, '', `${what}: standard error`);
    assertEqual(result.status, 0, `${what}: exit status`);
    assertEqual(result.stdout, stdout, `${what}: output`);
}

test('the example is what the tutorial runs', () => {
    assert(gjs && example, 'usage: testRecoveryTutorial.js GJS EXAMPLE_SCRIPT');
    assert(GLib.file_test(example, GLib.FileTest.EXISTS), `${example} exists`);
    assert(recoveryTool && GLib.file_test(recoveryTool, GLib.FileTest.IS_EXECUTABLE),
        'FLOW_RECOVERY_TOOL names the flow-recovery tool');
});

test('tutorial with flow-recovery init: both runs print the tutorial output', () => {
    const tmp = makeTempDir();
    try {
        const db = GLib.build_filenamev([tmp, 'db_dir']);
        GLib.mkdir_with_parents(db, 0o755);
        const init = spawn([recoveryTool, 'init', db, '1']);
        assertEqual(init.status, 0, `flow-recovery init: ${init.stderr}`);
        assert(GLib.file_test(GLib.build_filenamev([db, 'part-0.sqlite3']), GLib.FileTest.EXISTS),
            'flow-recovery init made part-0.sqlite3');

        expectRun(runScript(example, ['-r', db, '-s', '30', '-b', '180']), FIRST_OUTPUT, 'first run');

        const second = scriptWithInput(tmp, '[3, 4]');
        expectRun(runScript(second, ['-r', db, '-s', '30', '-b', '180']), SECOND_OUTPUT, 'second run');
    } finally {
        removeTree(tmp);
    }
});

test('tutorial with Flow.recovery_init_dir: resumes, continues, and only with -r', () => {
    const tmp = makeTempDir();
    try {
        const db = GLib.build_filenamev([tmp, 'db_dir']);
        GLib.mkdir_with_parents(db, 0o755);
        Flow.recovery_init_dir(db, 1);

        expectRun(runScript(example, ['-r', db, '-s', '30', '-b', '180']), FIRST_OUTPUT, 'first run');
        const second = scriptWithInput(tmp, '[3, 4]');
        // Without -r nothing is restored: the sum starts again at 0.
        expectRun(runScript(second, []), "('ALL', 3)\n('ALL', 7)\n", 'run without -r');
        expectRun(runScript(second, ['-r', db, '-s', '30', '-b', '180']), SECOND_OUTPUT, 'second run');
        // The same input again is a continuation: all of it was consumed.
        expectRun(runScript(second, ['-r', db, '-s', '30', '-b', '180']), '', 'third run, same input');
        // Grown input continues after what was consumed.
        const grown = scriptWithInput(tmp, '[3, 4, 5]');
        expectRun(runScript(grown, ['-r', db, '-s', '30', '-b', '180']), "('ALL', 15)\n", 'run with grown input');
    } finally {
        removeTree(tmp);
    }
});

test('the tutorial flow in-process, into a TestingSink, resumes its sum', () => {
    const tmp = makeTempDir();
    try {
        Flow.recovery_init_dir(tmp, 1);
        const runOnce = inp => {
            const flow = Flow.Dataflow.new('recovery');
            const sink = Flow.TestingSink.new();
            flow.input('inp', Flow.TestingSource.new(new GLib.Variant('ax', inp)))
                .key_on('key_stream', () => 'ALL')
                .stateful_map('running_count', () => new GLib.Variant('x', 0), (sum, item) => {
                    const updated = sum.unpack() + item.unpack();
                    return [new GLib.Variant('x', updated), new GLib.Variant('x', updated)];
                })
                .output('out', sink);
            const runner = Flow.Runner.new(flow);
            runner.recovery_directory = tmp;
            runner.snapshot_interval = 30;
            runner.backup_interval = 180;
            assertEqual(runner.run(null), true, 'run() returns true');
            return sink.get_items().recursiveUnpack();
        };
        assertEqual(runOnce([0, 1, 2]), [['ALL', 0], ['ALL', 1], ['ALL', 3]], 'first run');
        assertEqual(runOnce([3, 4]), [['ALL', 6], ['ALL', 10]], 'second run');
    } finally {
        removeTree(tmp);
    }
});

test('a recovery directory without partitions is an error, not a fresh start', () => {
    const tmp = makeTempDir();
    try {
        const result = runScript(example, ['-r', tmp, '-s', '30', '-b', '180']);
        assert(result.status !== 0, 'exit status is non-zero');
        assertEqual(result.stdout, '', 'nothing is printed');
        assert(result.stderr.includes(tmp) && result.stderr.includes('flow-recovery init'),
            `the message names the directory and the fix: ${result.stderr}`);
    } finally {
        removeTree(tmp);
    }
});

run();
