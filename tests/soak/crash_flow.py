# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python twin of tests/recovery/crash-flow.c, for the soak:

    python3 -m flow.run tests/soak/crash_flow.py -r DIR -s S -b B

reads the numbered lines of $CRASH_FLOW_INPUT with a FileSource
($CRASH_FLOW_BATCH lines a batch), keys line n on n % 100, keeps a running
sum per key with stateful_map (every $CRASH_FLOW_DISCARD-th line discards
its key's state and emits -1, when set) and writes "('kNN', sum)" lines to
the FileSink $CRASH_FLOW_OUTPUT: the same bytes as crash-flow.
"""

import os

import flow.operators as op
from flow.connectors.files import FileSink, FileSource
from flow.dataflow import Dataflow

N_KEYS = 100
_discard = int(os.environ.get("CRASH_FLOW_DISCARD", "0") or 0)


def _key(line):
    return "k%02d" % (int(line) % N_KEYS)


def _add(total, line):
    n = int(line)
    if _discard and n % _discard == 0:
        return None, -1
    total = (total or 0) + n
    return total, total


flow = Dataflow("crash")
_lines = op.input("inp", flow, FileSource(os.environ["CRASH_FLOW_INPUT"],
                                          batch_size=int(os.environ.get("CRASH_FLOW_BATCH", "1000"))))
_sums = op.stateful_map("sum", op.key_on("key", _lines, _key), _add)
op.output("out", op.map("fmt", _sums, lambda kv: f"('{kv[0]}', {kv[1]})"),
          FileSink(os.environ["CRASH_FLOW_OUTPUT"]))
