# Bytewax 0.21.1's examples/csv_input.py, with bytewax -> flow.
# CHANGED: reads ../fixtures/metrics.csv (Bytewax's reads
# examples/sample_data/ec2_metrics.csv, of the same columns).
from pathlib import Path

from flow import operators as op
from flow.connectors.files import CSVSource
from flow.connectors.stdio import StdOutSink
from flow.dataflow import Dataflow

CSV = Path(__file__).resolve().parent.parent / "fixtures" / "metrics.csv"

flow = Dataflow("csv_input")
stream = op.input("inp", flow, CSVSource(CSV))
op.output("out", stream, StdOutSink())
