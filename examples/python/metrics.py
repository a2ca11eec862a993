#!/usr/bin/env python3
# metrics.py: the mean value per instance of a CSV file of metrics, with a
# custom operator (a step made of steps, as Bytewax's @operator).
#
#   python3 -m flow.run metrics.py
#   python3 -m flow.run "metrics.py:get_flow('other.csv')"
#   python3 -m flow.visualize metrics.py          # a Mermaid diagram
#   FLOW_DEBUG_DUMP_DOT_DIR=/tmp python3 -m flow.run metrics.py   # and /tmp/*-metrics.dot
#
# SPDX-License-Identifier: LGPL-2.1-or-later

from pathlib import Path

import flow.operators as op
from flow.connectors.files import CSVSource
from flow.connectors.stdio import StdOutSink
from flow.dataflow import Dataflow, KeyedStream, Stream, operator

SAMPLE = Path(__file__).with_name("metrics.csv")


@operator
def mean_by(step_id: str, up: Stream[dict], key_field: str,
            value_field: str) -> KeyedStream[float]:
    """The mean of `value_field` for each `key_field`, at the end of input."""
    keyed = op.key_on("key", up, lambda row: row[key_field])
    values = op.map_value("value", keyed, lambda row: float(row[value_field]))
    sums = op.fold_final("sum", values, lambda: (0.0, 0),
                         lambda acc, v: (acc[0] + v, acc[1] + 1))
    return op.map_value("mean", sums, lambda acc: acc[0] / acc[1])


def get_flow(path=SAMPLE):
    flow = Dataflow("metrics")
    rows = op.input("inp", flow, CSVSource(path))
    means = mean_by("mean", rows, "instance", "value")
    lines = op.map("format", means, lambda kv: f"{kv[0]} {kv[1]:.3f}")
    op.output("out", lines, StdOutSink())
    return flow


flow = get_flow()
