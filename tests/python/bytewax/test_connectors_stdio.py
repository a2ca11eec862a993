# Bytewax 0.21.1's pytests/connectors/test_stdio.py, with bytewax -> flow
# (in the op.input/op.output form of 0.21).
import flow.operators as op
from flow.connectors.stdio import StdOutSink
from flow.dataflow import Dataflow
from flow.testing import TestingSource, run_main


def test_std_output(capfd):
    flow = Dataflow("test_df")

    inp = ["a", "b"]
    s = op.input("inp", flow, TestingSource(inp))

    op.output("out", s, StdOutSink())

    run_main(flow)

    captured = capfd.readouterr()
    assert captured.out == "a\nb\n"
