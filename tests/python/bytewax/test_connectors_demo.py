# Bytewax 0.21.1's pytests/connectors/test_demo.py, with bytewax -> flow
# (in the op.input/op.output form of 0.21; the stored copy used the older
# fluent form flow.input(...)).
from datetime import timedelta

import flow.operators as op
from flow.connectors.demo import RandomMetricSource
from flow.dataflow import Dataflow
from flow.testing import TestingSink, run_main


def test_random_metric_source():
    out = []

    flow = Dataflow("test_df")
    s = op.input(
        "inp",
        flow,
        RandomMetricSource(
            "volts", interval=timedelta(seconds=0), count=3, next_random=lambda: 42
        ),
    )
    op.output("out", s, TestingSink(out))

    run_main(flow)
    assert out == [("volts", 42), ("volts", 42), ("volts", 42)]
