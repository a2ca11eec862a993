# Bytewax 0.21.1's pytests/test_outputs.py, with bytewax -> flow.
import re

import flow.operators as op
from flow.dataflow import Dataflow
from flow.testing import TestingSource, run_main
from pytest import raises


def test_flow_requires_output():
    inp = range(3)

    flow = Dataflow("test_df")
    op.input("inp", flow, TestingSource(inp))

    expect = "at least one output"
    with raises(RuntimeError):
        with raises(ValueError, match=re.escape(expect)):
            run_main(flow)
