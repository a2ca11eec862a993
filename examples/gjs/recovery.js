#!/usr/bin/env -S gjs -m
// recovery.js: the seed tutorial's dataflow in GJS.
//
// A running sum over the input, keyed on "ALL", printed to standard output.
//
//   flow-recovery init db_dir/ 1
//   gjs -m recovery.js -r db_dir/ -s 30 -b 180
//
// Change `inp` to [3, 4] and run it again: it continues from the restored
// sum and prints ('ALL', 6) and ('ALL', 10).
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Flow from 'gi://Flow?version=1';
import System from 'system';

const inp = [0, 1, 2];

const flow = Flow.Dataflow.new('recovery');
const inputStream = flow.input('inp', Flow.TestingSource.new(new GLib.Variant('ax', inp)));
// Stateful operators require their input to be keyed. We'll use the static
// key "ALL" so that all input is processed together.
const keyedStream = inputStream.key_on('key_stream', _item => 'ALL');

// The mapper returns [updatedState, emitValue], both GLib.Variants.
function updateSum(currentSum, newItem) {
    const updatedSum = currentSum.unpack() + newItem.unpack();
    return [new GLib.Variant('x', updatedSum), new GLib.Variant('x', updatedSum)];
}

const totalSumStream = keyedStream.stateful_map('running_count',
    () => new GLib.Variant('x', 0), updateSum);
totalSumStream.output('out', Flow.StdOutSink.new());

// run_with_args parses -r/-s/-b/-w like a C program's main would.
const status = Flow.Runner.new(flow).run_with_args([System.programInvocationName, ...ARGV]);
System.exit(status);
