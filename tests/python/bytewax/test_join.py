# Bytewax 0.21.1's pytests/operators/test_join.py, with bytewax -> flow.
#
# Bytewax 0.21 replaced the older `mode=` argument with `insert_mode` and
# `emit_mode` ("first"/"last"/"product", "complete"/"final"/"running");
# the cases below are the stored test's (complete, final, running,
# product), written with 0.21's arguments. The tests of the private
# `_JoinState` (astuples/asdicts) are written against what the operator
# emits instead: libflow's join state lives in C.
#
# join_named is Bytewax's older operator (up to 0.20), which
# test_dataflow.py still calls; its cases are here with 0.21's arguments.
from typing import Dict, List, Tuple

import flow.operators as op
import pytest
from flow.dataflow import Dataflow
from flow.testing import TestingSink, TestingSource, run_main


def build_join_dataflow(
    inp_l: List[int],
    inp_r: List[int],
    out: List[Tuple[int, int]],
    **modes,
) -> Dataflow:
    flow = Dataflow("test_df")
    lefts = op.input("inp_l", flow, TestingSource(inp_l))
    keyed_lefts = op.key_on("key_l", lefts, lambda _x: "ALL")
    rights = op.input("inp_r", flow, TestingSource(inp_r))
    keyed_rights = op.key_on("key_r", rights, lambda _x: "ALL")
    joined = op.join("join", keyed_lefts, keyed_rights, **modes)
    cleaned = op.map("clean", joined, lambda x: x[1])
    op.output("out", cleaned, TestingSink(out))
    return flow


def test_join_complete() -> None:
    inp_l = [1]
    inp_r = [2]
    out: List[Tuple[int, int]] = []

    flow = build_join_dataflow(inp_l, inp_r, out, emit_mode="complete")

    run_main(flow)
    assert out == [
        (1, 2),
    ]


def test_join_default_is_last_complete() -> None:
    flow = Dataflow("test_df")
    left = op.key_on("key_l", op.input("inp_l", flow, TestingSource([1])), lambda _x: "ALL")
    right = op.key_on("key_r", op.input("inp_r", flow, TestingSource([2])), lambda _x: "ALL")
    out: List = []
    op.output("out", op.join("join", left, right), TestingSink(out))

    run_main(flow)
    assert out == [("ALL", (1, 2))]


def test_join_final() -> None:
    inp_l = [1]
    inp_r = [2, 3]
    out: List[Tuple[int, int]] = []

    flow = build_join_dataflow(inp_l, inp_r, out, emit_mode="final")

    run_main(flow)
    assert out == [
        (1, 3),
    ]


def test_join_running() -> None:
    inp_l = [1]
    inp_r = [2, 3]
    out: List[Tuple[int, int]] = []

    flow = build_join_dataflow(inp_l, inp_r, out, emit_mode="running")

    run_main(flow)
    assert out == [
        (1, None),
        (1, 2),
        (1, 3),
    ]


def test_join_product() -> None:
    inp_l = [1, 2]
    inp_r = [3, 4]
    out: List[Tuple[int, int]] = []

    flow = build_join_dataflow(inp_l, inp_r, out, insert_mode="product", emit_mode="final")

    run_main(flow)
    assert out == [
        (1, 3),
        (1, 4),
        (2, 3),
        (2, 4),
    ]


def test_join_state_astuples() -> None:
    # _JoinState.astuples: sides a, b, c; a = [1, 2], c = [3, 4].
    flow = Dataflow("test_df")
    sides = {}
    for name, values in [("a", [1, 2]), ("b", []), ("c", [3, 4])]:
        s = op.input(f"inp_{name}", flow, TestingSource(values))
        sides[name] = op.key_on(f"key_{name}", s, lambda _x: "ALL")
    out: List = []
    joined = op.join("join", sides["a"], sides["b"], sides["c"],
                     insert_mode="product", emit_mode="final")
    op.output("out", joined, TestingSink(out))

    run_main(flow)
    assert out == [
        ("ALL", (1, None, 3)),
        ("ALL", (1, None, 4)),
        ("ALL", (2, None, 3)),
        ("ALL", (2, None, 4)),
    ]


def test_join_unknown_modes() -> None:
    flow = Dataflow("test_df")
    s = op.key_on("key", op.input("inp", flow, TestingSource([1])), lambda _x: "ALL")
    with pytest.raises(ValueError, match="unknown join insert mode 'middle'"):
        op.join("join", s, s, insert_mode="middle")  # type: ignore
    with pytest.raises(ValueError, match="unknown join emit mode 'sometimes'"):
        op.join("join", s, s, emit_mode="sometimes")  # type: ignore


def build_join_named_dataflow(
    inp_l: List[int],
    inp_r: List[int],
    out: List[Dict[str, int]],
    **modes,
) -> Dataflow:
    flow = Dataflow("test_df")
    lefts = op.input("inp_l", flow, TestingSource(inp_l))
    keyed_lefts = op.key_on("key_l", lefts, lambda _x: "ALL")
    rights = op.input("inp_r", flow, TestingSource(inp_r))
    keyed_rights = op.key_on("key_r", rights, lambda _x: "ALL")
    joined = op.join_named("join", left=keyed_lefts, right=keyed_rights, **modes)
    cleaned = op.map("clean", joined, lambda x: x[1])
    op.output("out", cleaned, TestingSink(out))
    return flow


def test_join_named_complete() -> None:
    out: List[Dict[str, int]] = []
    flow = build_join_named_dataflow([1], [2], out, emit_mode="complete")

    run_main(flow)
    assert out == [
        {"left": 1, "right": 2},
    ]


def test_join_named_final() -> None:
    out: List[Dict[str, int]] = []
    flow = build_join_named_dataflow([1], [2, 3], out, emit_mode="final")

    run_main(flow)
    assert out == [
        {"left": 1, "right": 3},
    ]


def test_join_named_running() -> None:
    out: List[Dict[str, int]] = []
    flow = build_join_named_dataflow([1], [2, 3], out, emit_mode="running")

    run_main(flow)
    assert out == [
        {"left": 1},
        {"left": 1, "right": 2},
        {"left": 1, "right": 3},
    ]


def test_join_named_product() -> None:
    out: List[Dict[str, int]] = []
    flow = build_join_named_dataflow([1, 2], [3, 4], out,
                                     insert_mode="product", emit_mode="final")

    run_main(flow)
    assert out == [
        {"left": 1, "right": 3},
        {"left": 1, "right": 4},
        {"left": 2, "right": 3},
        {"left": 2, "right": 4},
    ]


def test_join_named_keeps_none_values() -> None:
    # A side whose value is None is there (None), unlike a side without
    # a value, which is left out.
    out: List[Dict[str, int]] = []
    flow = build_join_named_dataflow([None], [2], out, emit_mode="running")

    run_main(flow)
    assert out == [
        {"left": None},
        {"left": None, "right": 2},
    ]
