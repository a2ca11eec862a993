# Bytewax 0.21.1's pytests/test_run.py, with bytewax -> flow.
# Skipped: the three *_can_be_ctrl_c tests, which start a dataflow in a
# child process and interrupt it once it has written output (waiting on
# real time); two of them also need -w 2 / -p 2 (several workers and
# processes: other issues). Ctrl-C is tested without waiting in
# tests/python/test_flow_testing.py::test_ctrl_c_stops_a_run_with_keyboard_interrupt.
import flow.operators as op
import pytest
from flow.dataflow import Dataflow
from flow.errors import FlowRuntimeError
from flow.testing import TestingSink, TestingSource
from pytest import raises


def test_run(entry_point):
    flow = Dataflow("test_df")
    inp = range(3)
    stream = op.input("inp", flow, TestingSource(inp))
    stream = op.map("add_one", stream, lambda x: x + 1)
    out = []
    op.output("out", stream, TestingSink(out))

    entry_point(flow)

    assert sorted(out) == sorted([1, 2, 3])


def test_reraises_custom_exception(entry_point):
    class CustomException(Exception):
        """A custom exception with more than one argument"""

        def __init__(self, msg, b):
            self.msg = msg
            self.b = b

    flow = Dataflow("test_df")
    inp = range(3)
    stream = op.input("inp", flow, TestingSource(inp))

    def boom(item):
        if item == 0:
            msg = "BOOM"
            raise CustomException(msg, 1)
        else:
            return item

    stream = op.map("explode", stream, boom)
    out = []
    op.output("out", stream, TestingSink(out))

    with raises(FlowRuntimeError):
        with raises(CustomException):
            entry_point(flow)

    assert len(out) < 3


@pytest.mark.skip(reason="waits on real time for a child process's output")
def test_single_worker_can_be_ctrl_c():
    pass


@pytest.mark.skip(reason="waits on real time; -w 2 (several workers) is another issue")
def test_manual_cluster_can_be_ctrl_c():
    pass


@pytest.mark.skip(reason="waits on real time; -p 2 (several processes) is another issue")
def test_testing_cluster_can_be_ctrl_c():
    pass
