# Bytewax 0.21.1's pytests/operators/helpers/test_map_dict_value.py, with
# bytewax -> flow.
import flow.operators as op
from flow.dataflow import Dataflow
from flow.operators.helpers import map_dict_value
from flow.testing import TestingSink, TestingSource, run_main


def test_map_dict_value():
    inp = [
        {"a": 0, "b": 0},
        {"a": 1, "b": 0},
        {"a": 2, "b": 0},
    ]
    out = []

    def add_one(item):
        return item + 1

    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp))
    s = op.map("add_one", s, map_dict_value("a", add_one))
    op.output("out", s, TestingSink(out))

    run_main(flow)
    assert out == [
        {"a": 1, "b": 0},
        {"a": 2, "b": 0},
        {"a": 3, "b": 0},
    ]
