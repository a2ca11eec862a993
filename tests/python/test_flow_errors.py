# SPDX-License-Identifier: LGPL-2.1-or-later
"""flow.errors.FlowRuntimeError: what user code raised during a run
surfaces from run_main, cli_main and `python3 -m flow.run` as a
RuntimeError naming the step, caused by the user's exception; the
GObject-Introspection API keeps re-raising the user's exception."""

import textwrap

import gi
import pytest

import flow.operators as op
from flow.dataflow import Dataflow
from flow.errors import FlowRuntimeError
from flow.inputs import DynamicSource, StatelessSourcePartition
from flow.run import cli_main
from flow.testing import TestingSink, TestingSource, run_main

from conftest import run_python

gi.require_version("Flow", "1")
from gi.repository import Flow  # noqa: E402


class Boom(Exception):
    pass


def failing_flow(fail_on=2):
    def mapper(x):
        if x == fail_on:
            raise Boom(f"bad {x}")
        return x
    out = []
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource([1, 2, 3]))
    s = op.map("parse", s, mapper)
    op.output("out", s, TestingSink(out))
    return flow, out


def test_is_a_runtime_error():
    assert issubclass(FlowRuntimeError, RuntimeError)


def test_run_main_raises_it_caused_by_the_user_exception():
    flow, out = failing_flow()
    with pytest.raises(FlowRuntimeError) as info:
        run_main(flow)
    assert isinstance(info.value.__cause__, Boom)
    assert str(info.value.__cause__) == "bad 2"
    assert "'df.parse'" in str(info.value)
    assert "Boom: bad 2" in str(info.value)
    assert 3 not in out


def test_scripts_catching_runtime_error_catch_it():
    flow, _ = failing_flow()
    try:
        run_main(flow)
    except RuntimeError as e:
        caught = e
    assert isinstance(caught.__cause__, Boom)


def test_cli_main_raises_it():
    flow, _ = failing_flow()
    with pytest.raises(FlowRuntimeError, match="df.parse") as info:
        cli_main(flow)
    assert isinstance(info.value.__cause__, Boom)


def test_source_error_names_the_input_step():
    class Bad(StatelessSourcePartition):
        def next_batch(self):
            raise KeyError("gone")

    class BadSource(DynamicSource):
        def build(self, step_id, worker_index, worker_count):
            return Bad()

    flow = Dataflow("df")
    op.output("out", op.input("inp", flow, BadSource()), TestingSink([]))
    with pytest.raises(FlowRuntimeError, match="df.inp") as info:
        run_main(flow)
    assert isinstance(info.value.__cause__, KeyError)


def test_gi_runner_still_reraises_the_user_exception():
    flow, _ = failing_flow()
    with pytest.raises(Boom):
        Flow.Runner.new(flow.to_gi()).run()


def test_flow_requires_input():
    # Bytewax's test_inputs.py::test_flow_requires_input
    flow = Dataflow("test_df")
    with pytest.raises(RuntimeError) as info:
        run_main(flow)
    assert isinstance(info.value.__cause__, ValueError)
    assert "at least one input" in str(info.value.__cause__)


def test_flow_without_effect_is_refused():
    flow = Dataflow("test_df")
    op.map("m", op.input("inp", flow, TestingSource([1])), lambda x: x)
    with pytest.raises(FlowRuntimeError, match="at least one output or inspect step") as info:
        run_main(flow)
    assert isinstance(info.value.__cause__, ValueError)


def test_flow_whose_only_effect_is_inspect_runs():
    seen = []
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([1, 2]))
    op.inspect("look", s, lambda step_id, x: seen.append((step_id, x)))
    run_main(flow)
    assert seen == [("test_df.look", 1), ("test_df.look", 2)]


def test_flow_run_exits_non_zero_naming_the_step(tmp_path):
    script = tmp_path / "bad_flow.py"
    script.write_text(textwrap.dedent("""\
        import flow.operators as op
        from flow.dataflow import Dataflow
        from flow.testing import TestingSource
        from flow.connectors.stdio import StdOutSink

        flow = Dataflow("bad")
        s = op.input("inp", flow, TestingSource(["1", "x"]))
        s = op.map("parse", s, int)
        op.output("out", s, StdOutSink())
        """))
    result = run_python("-m", "flow.run", script)
    assert result.returncode != 0
    assert "FlowRuntimeError" in result.stderr
    assert "'bad.parse'" in result.stderr
    assert "ValueError: invalid literal" in result.stderr
