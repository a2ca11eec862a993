# SPDX-License-Identifier: LGPL-2.1-or-later
"""flow.dataflow: @operator (nested operators whose substeps' ids are under
their own), Stream/KeyedStream/ports as generics, f_repr, and
Dataflow.substeps from libflow's description of the graph."""

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from typing import Tuple

import pytest

import flow.operators as op
from flow.dataflow import (Dataflow, KeyedStream, MultiPort, Operator, Port, SinglePort, Stream,
                           f_repr, operator)
from flow.recovery import RecoveryConfig
from flow.testing import TestingSink, TestingSource, run_main


@operator
def add_then_double(step_id: str, up: Stream[int]) -> Stream[int]:
    up = op.map("add", up, lambda x: x + 1)
    return op.map("double", up, lambda x: x * 2)


def test_substeps_get_ids_under_the_operator():
    out = []
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource([1, 2]))
    s = add_then_double("calc", s)
    op.output("out", s, TestingSink(out))
    assert flow.steps() == ["df.inp", "df.calc.add", "df.calc.double", "df.out"]
    run_main(flow)
    assert out == [4, 6]


def test_two_operators_reuse_substep_ids_and_nest():
    @operator
    def twice(step_id: str, up: Stream[int]) -> Stream[int]:
        return add_then_double("inner", add_then_double("first", up))

    out = []
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource([0]))
    s = twice("a", s)
    s = add_then_double("b", s)
    op.output("out", s, TestingSink(out))
    assert flow.steps() == ["df.inp", "df.a.first.add", "df.a.first.double",
                            "df.a.inner.add", "df.a.inner.double",
                            "df.b.add", "df.b.double", "df.out"]
    run_main(flow)
    assert out == [(((0 + 1) * 2 + 1) * 2 + 1) * 2]


def test_builder_gets_the_full_step_id():
    seen = []

    @operator
    def remember(step_id: str, up: Stream) -> Stream:
        seen.append(step_id)
        return up

    flow = Dataflow("df")
    remember("r", op.input("inp", flow, TestingSource([])))
    assert seen == ["df.r"]


def test_duplicate_operator_id_is_a_value_error():
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource([1]))
    add_then_double("calc", s)
    with pytest.raises(ValueError, match="df.calc"):
        add_then_double("calc", s)


def test_operator_needs_step_id_parameter():
    with pytest.raises(TypeError, match="'step_id' parameter"):
        @operator
        def bad(up: Stream) -> Stream:
            return up


def test_operator_called_incorrectly():
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource([1]))
    with pytest.raises(TypeError, match="called incorrectly") as info:
        add_then_double("x", s, 3)
    assert isinstance(info.value.__cause__, TypeError)


def test_failing_builder_ends_its_operator():
    @operator
    def broken(step_id: str, up: Stream) -> Stream:
        op.map("m", up, lambda x: x)
        raise RuntimeError("builder failed")

    out = []
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource([1]))
    with pytest.raises(RuntimeError, match="builder failed"):
        broken("b", s)
    op.output("out", s, TestingSink(out))
    assert flow.steps() == ["df.inp", "df.b.m", "df.out"]
    run_main(flow)
    assert out == [1]


def test_named_downstreams_and_varargs_ports():
    @dataclass
    class Split:
        odds: Stream[int]
        evens: Stream[int]

    @operator
    def split(step_id: str, *ups: Stream[int]) -> Split:
        merged = op.merge("merge", *ups)
        b = op.branch("branch", merged, lambda x: x % 2 == 1)
        return Split(b.trues, b.falses)

    odds, evens = [], []
    flow = Dataflow("df")
    a = op.input("a", flow, TestingSource([1, 2]))
    b = op.input("b", flow, TestingSource([3, 4]))
    out = split("split", a, b)
    assert out.odds.stream_id == "df.split.branch.trues"
    op.output("odds", out.odds, TestingSink(odds))
    op.output("evens", out.evens, TestingSink(evens))
    run_main(flow)
    assert sorted(odds) == [1, 3] and sorted(evens) == [2, 4]

    top = {step.step_id: step for step in flow.substeps}
    node = top["df.split"]
    # An instance of split._op_cls, as Bytewax's: a field per port.
    assert type(node) is split._op_cls
    assert type(node).__name__ == "split"
    assert node.step_name == "split"
    assert [sub.step_id for sub in node.substeps] == ["df.split.merge", "df.split.branch"]
    assert node.ups == MultiPort("df.split.ups", {0: "df.a.down", 1: "df.b.down"})
    assert node.odds == SinglePort("df.split.odds", "df.split.branch.trues")
    assert isinstance(node.evens, Port)
    assert isinstance(node, Operator)
    assert split._op_cls.ups_names == ["ups"]
    assert split._op_cls.dwn_names == ["odds", "evens"]
    # The built-in substeps: their ports, by Bytewax's port names.
    merge, branch = node.substeps
    assert merge.ups == MultiPort("df.split.merge.ups", {0: "df.a.down", 1: "df.b.down"})
    assert branch.up == SinglePort("df.split.branch.up", "df.split.merge.down")
    assert type(branch).__name__ == "branch"
    assert branch.trues.port_id == "df.split.branch.trues"
    assert branch.core


def test_op_cls_fields_as_bytewax():
    from flow.dataflow import DataflowId

    @dataclass
    class Pair:
        left: Stream[int]
        right: Stream[int]
        note: str

    @operator
    def pair(step_id: str, flow: Dataflow, up: Stream[int], factor: int = 2,
             **extra: Stream[int]) -> Pair:
        a = op.map("a", up, lambda x: x * factor)
        return Pair(a, op.merge("b", up, *extra.values()), "hi")

    cls = pair._op_cls
    assert cls.__name__ == "pair"
    assert [f.name for f in dataclasses.fields(cls)] == [
        "step_name", "step_id", "substeps", "flow", "up", "factor", "extra", "left", "right",
        "note"]
    assert cls.ups_names == ["up", "extra"]
    assert cls.dwn_names == ["left", "right"]
    assert not getattr(cls, "core", False)

    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource([1]))
    t = op.input("inp2", flow, TestingSource([2]))
    out = pair("p", flow, s, factor=3, other=t)
    op.output("o1", out.left, TestingSink([]))
    op.output("o2", out.right, TestingSink([]))
    step = {x.step_id: x for x in flow.substeps}["df.p"]
    assert step == cls(step_name="p", step_id="df.p", substeps=step.substeps,
                       flow=DataflowId("df"), up=SinglePort("df.p.up", "df.inp.down"),
                       factor=3, extra=MultiPort("df.p.extra", {"other": "df.inp2.down"}),
                       left=SinglePort("df.p.left", "df.p.a.down"),
                       right=SinglePort("df.p.right", "df.p.b.down"), note="hi")


def test_op_cls_refuses_clashing_names():
    @dataclass
    class Out:
        up: Stream[int]

    with pytest.raises(TypeError, match="'up' are both a build function parameter and a "
                                        "return dataclass field name"):
        @operator
        def clash(step_id: str, up: Stream[int]) -> Out:
            return Out(up)

    with pytest.raises(TypeError, match="shadow any of the field names in "
                                        "`flow.dataflow.Operator`; rename the 'substeps'"):
        @operator
        def shadow(step_id: str, up: Stream[int], substeps: int) -> Stream[int]:
            return up


def test_core_operator_class():
    @operator(_core=True)
    def mine(step_id: str, up: Stream[int]) -> Stream[int]:
        return op.map("m", up, lambda x: x)

    assert mine._op_cls.core is True


def test_stateful_substep_resumes_under_its_nested_id(tmp_path):
    from flow.recovery import init_db_dir

    @operator
    def running_sum(step_id: str, up: KeyedStream[int]) -> KeyedStream[int]:
        return op.stateful_map("sum", up, lambda: 0, lambda acc, x: (acc + x, acc + x))

    def build(items, out):
        flow = Dataflow("df")
        s = op.input("inp", flow, TestingSource(items))
        s = op.key_on("key", s, lambda _: "ALL")
        s = running_sum("total", s)
        op.output("out", s, TestingSink(out))
        return flow

    init_db_dir(tmp_path, 1)
    config = RecoveryConfig(tmp_path)
    out = []
    run_main(build([1, 2], out), epoch_interval=timedelta(0), recovery_config=config)
    assert out == [("ALL", 1), ("ALL", 3)]
    out.clear()
    run_main(build([1, 2, 10], out), epoch_interval=timedelta(0), recovery_config=config)
    assert out == [("ALL", 13)]


def test_types_are_subscriptable():
    assert Stream[int] is not None
    assert KeyedStream[int] == Stream[Tuple[str, int]]
    assert MultiPort[str] is not None


def test_stream_flow_and_then():
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource([1]))
    assert s.flow() is flow
    assert s.stream_id == "df.inp.down"
    assert s.then(op.map, "m", lambda x: x).stream_id == "df.m.down"


def test_f_repr():
    def my_f(x):
        return x

    text = f_repr(my_f)
    assert text.startswith("<function 'test_flow_dataflow.test_f_repr.<locals>.my_f' line ")
    assert f_repr(len) == repr(len)


def test_dataflow_id_checks():
    with pytest.raises(ValueError, match="can't contain a period"):
        Dataflow("a.b")
    with pytest.raises(TypeError, match="must be a `str`"):
        Dataflow(3)
