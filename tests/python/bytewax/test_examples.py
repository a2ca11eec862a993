# Bytewax 0.21.1's examples that need only the modules of the flow package
# (examples/partials.py, examples/csv_input.py; under examples/ here, with
# bytewax -> flow), run as Bytewax's are: `python3 -m flow.run` and
# `python3 -m flow.visualize`. Bytewax's other examples use connectors
# libflow does not have (Kafka aside) or an older API.
import ast
import json
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent / "examples"


def run(*args):
    proc = subprocess.run([sys.executable, "-m", *map(str, args)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_partials_runs():
    out = run("flow.run", EXAMPLES / "partials.py")
    # Only v4 is inspected: its items are the inputs plus one.
    assert out.splitlines() == [f"basic.insp: {i + 1}" for i in range(10)]


def test_partials_visualizes():
    rendered = json.loads(run("flow.visualize", EXAMPLES / "partials.py", "-o", "json"))
    steps = {s["step_name"]: s for s in rendered["substeps"]}
    assert [s["step_name"] for s in rendered["substeps"]] == [
        "inp", "v0", "v1", "v2", "v3", "v4", "insp"]
    assert all(steps[name]["op_type"] == "map" for name in ("v0", "v1", "v2", "v3"))
    assert steps["v4"]["op_type"] == "v4"
    assert [s["step_id"] for s in steps["v4"]["substeps"]] == ["basic.v4.inner"]
    mermaid = run("flow.visualize", EXAMPLES / "partials.py")
    assert 'basic.v4["v4 (v4)"]' in mermaid
    assert 'basic.v4 -- "down → up" --> basic.insp' in mermaid


def test_csv_input_runs():
    out = run("flow.run", EXAMPLES / "csv_input.py")
    rows = [ast.literal_eval(line) for line in out.splitlines()]
    header, *lines = (EXAMPLES.parent / "fixtures" / "metrics.csv").read_text().splitlines()
    assert rows == [dict(zip(header.split(","), line.split(","))) for line in lines]
