# Bytewax 0.21.1's pytests/test_flows/simple.py, with bytewax -> flow: the
# dataflow test_run.py's *_can_be_ctrl_c tests run in a child process.
#
# Changed so that the tests need no real time: after the first ten items
# the input pauses for a day, so the run is still going whenever the
# SIGINT comes, however fast or slow the machine; and the step "marker"
# prints MARKER (flushed) when item 9 went by, which is when the test
# sends the signal (Bytewax's test polls the output file for a line).
from datetime import timedelta

import flow.operators as op
from flow.connectors.files import FileSink
from flow.dataflow import Dataflow
from flow.testing import TestingSource

MARKER = "flow-test: item 9 went by"


def _marker(step_id, item):
    if item == ("ALL", "9"):
        print(MARKER, flush=True)


def get_flow(path):
    flow = Dataflow("test_df")
    inp = list(range(10)) + [TestingSource.PAUSE(timedelta(days=1))] + list(range(10, 1000))
    stream = op.input("inp", flow, TestingSource(inp))

    def mapper(item):
        return "ALL", f"{item}"

    stream = op.map("all_mapper", stream, mapper)
    stream = op.inspect("marker", stream, _marker)
    op.output("out", stream, FileSink(path))
    return flow
