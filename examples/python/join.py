# Bytewax 0.21.1's examples/join.py, with bytewax -> flow (its unused
# windowing imports left out): three streams joined on one key.
#
#     python3 -m flow.run join.py      # prints ('KEY', ('a', 'b', 'c'))
from flow import operators as op
from flow.connectors.stdio import StdOutSink
from flow.dataflow import Dataflow
from flow.testing import TestingSource

flow = Dataflow("join")
inp1 = op.input("inp1", flow, TestingSource(["a"]))
inp1 = op.key_on("k1", inp1, lambda x: "KEY")
inp2 = op.input("inp2", flow, TestingSource(["b"]))
inp2 = op.key_on("k2", inp2, lambda x: "KEY")
inp3 = op.input("inp3", flow, TestingSource(["c"]))
inp3 = op.key_on("k3", inp3, lambda x: "KEY")

joined = op.join("j1", inp1, inp2, inp3)
op.output("out", joined, StdOutSink())
