// testGraph.js: nested operators, the graph description and diagrams, and
// the directory and CSV connectors, from JavaScript: the same picture and
// the same connectors as in C and Python.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Flow from 'gi://Flow?version=1';

import {test, run, assertEqual, makeTempDir, removeTree} from './harness.js';

function writeFile(path, text) {
    GLib.file_set_contents(path, text);
}

function readFile(path) {
    const [, bytes] = GLib.file_get_contents(path);
    return new TextDecoder().decode(bytes);
}

function nested() {
    const flow = Flow.Dataflow.new('df');
    let s = flow.input('inp', Flow.TestingSource.new(new GLib.Variant('ax', [1, 2])));
    flow.begin_operator('op', 'add_two');
    flow.add_operator_input('up', s);
    s = s.map('m', item => new GLib.Variant('x', item.unpack() + 2));
    flow.add_operator_output('down', s);
    flow.end_operator();
    const sink = Flow.TestingSink.new();
    s.output('out', sink);
    return [flow, sink];
}

test('nested operator: substeps under its id, and it runs', () => {
    const [flow, sink] = nested();
    assertEqual(flow.list_steps(), ['df.inp', 'df.op.m', 'df.out']);
    Flow.Runner.new(flow).run(null);
    assertEqual(sink.get_items().deepUnpack().map(v => v.unpack()), [3, 4]);
});

test('describe: steps, kinds, nesting and ports', () => {
    const [flow] = nested();
    const steps = flow.describe().recursiveUnpack().steps;
    assertEqual(steps.map(s => [s.id, s.type, s.parent, s.core]), [
        ['df.inp', 'input', '', true],
        ['df.op', 'add_two', '', false],
        ['df.op.m', 'map', 'df.op', true],
        ['df.out', 'output', '', true],
    ]);
    assertEqual(steps[1].inputs, [['up', 'df.op.up', ['df.inp.down']]]);
    assertEqual(steps[1].outputs, [['down', 'df.op.down', ['df.op.m.down']]]);
});

test('to_mermaid: the same text as from C and Python', () => {
    const [flow] = nested();
    assertEqual(flow.to_mermaid(), [
        'flowchart TD',
        'subgraph "df (Dataflow)"',
        'df.inp["inp (input)"]',
        'df.op["op (add_two)"]',
        'df.inp -- "down → up" --> df.op',
        'df.out["out (output)"]',
        'df.op -- "down → up" --> df.out',
        'end',
    ].join('\n'));
});

test('DirSource, DirSink and CSVSource', () => {
    const dir = makeTempDir();
    try {
        GLib.mkdir_with_parents(`${dir}/in`, 0o700);
        GLib.mkdir_with_parents(`${dir}/out`, 0o700);
        writeFile(`${dir}/in/a.txt`, 'a1\na2\n');
        writeFile(`${dir}/in/b.txt`, 'b1\n');
        writeFile(`${dir}/t.csv`, 'name,n\n"x, y",1\n');

        const flow = Flow.Dataflow.new('files');
        const seen = Flow.TestingSink.new();
        const lines = flow.input('inp', Flow.DirSource.new(`${dir}/in`, '*.txt'));
        lines.output('seen', seen);
        lines.key_on('key', item => item.unpack()[0])
            .output('out', Flow.DirSink.new(`${dir}/out`, 1));
        const rows = Flow.TestingSink.new();
        flow.input('csv', Flow.CSVSource.new(`${dir}/t.csv`)).output('rows', rows);
        Flow.Runner.new(flow).run(null);

        assertEqual(seen.get_items().deepUnpack().map(v => v.unpack()).sort(), ['a1', 'a2', 'b1']);
        assertEqual(readFile(`${dir}/out/part_0`).split('\n').sort(), ['', 'a1', 'a2', 'b1']);
        assertEqual(rows.get_items().recursiveUnpack(), [{name: 'x, y', n: '1'}]);
    } finally {
        removeTree(dir);
    }
});

run();
