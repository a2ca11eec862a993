# SPDX-License-Identifier: LGPL-2.1-or-later
"""flow.visualize: JSON, Mermaid, PlantUML and DOT of a dataflow with a
nested operator, drawn from libflow's description of the graph."""

import json
import textwrap

import flow.operators as op
from flow.dataflow import Dataflow, Stream, operator
from flow.testing import TestingSink, TestingSource
from flow.visualize import to_dot, to_json, to_mermaid, to_plantuml

from conftest import run_python


@operator
def my_map(step_id: str, up: Stream, mapper) -> Stream:
    # Made as Bytewax's own map, so that the JSON below is Bytewax's
    # test_to_json_linear with only the op_type of add_one changed.
    return op.flat_map_batch("flat_map_batch", up, lambda xs: [mapper(x) for x in xs])


def linear_flow():
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([1, 2, 3]))
    s = my_map("add_one", s, lambda x: x + 1)
    op.output("out", s, TestingSink([]))
    return flow


def port(name, port_id, from_ports, from_streams):
    return {"typ": "RenderedPort", "port_name": name, "port_id": port_id,
            "from_port_ids": from_ports, "from_stream_ids": from_streams}


def test_to_json_nested_operator_resolves_ports_as_bytewax():
    assert json.loads(to_json(linear_flow())) == {
        "typ": "RenderedDataflow",
        "flow_id": "test_df",
        "substeps": [
            {
                "typ": "RenderedOperator", "op_type": "input", "step_name": "inp",
                "step_id": "test_df.inp", "inp_ports": [],
                "out_ports": [port("down", "test_df.inp.down", [], [])],
                "substeps": [],
            },
            {
                "typ": "RenderedOperator", "op_type": "my_map", "step_name": "add_one",
                "step_id": "test_df.add_one",
                "inp_ports": [port("up", "test_df.add_one.up",
                                   ["test_df.inp.down"], ["test_df.inp.down"])],
                "out_ports": [port("down", "test_df.add_one.down",
                                   ["test_df.add_one.flat_map_batch.down"],
                                   ["test_df.add_one.flat_map_batch.down"])],
                "substeps": [
                    {
                        "typ": "RenderedOperator", "op_type": "flat_map_batch",
                        "step_name": "flat_map_batch",
                        "step_id": "test_df.add_one.flat_map_batch",
                        "inp_ports": [port("up", "test_df.add_one.flat_map_batch.up",
                                           ["test_df.add_one.up"], ["test_df.inp.down"])],
                        "out_ports": [port("down", "test_df.add_one.flat_map_batch.down",
                                           [], [])],
                        "substeps": [],
                    }
                ],
            },
            {
                "typ": "RenderedOperator", "op_type": "output", "step_name": "out",
                "step_id": "test_df.out",
                "inp_ports": [port("up", "test_df.out.up", ["test_df.add_one.down"],
                                   ["test_df.add_one.flat_map_batch.down"])],
                "out_ports": [],
                "substeps": [],
            },
        ],
    }


def _shape(step):
    """(step_id, op_type, {port_id: (from_port_ids, from_stream_ids)},
    [substeps]) of a rendered step, for comparing shapes."""
    ports = {p["port_id"]: (p["from_port_ids"], p["from_stream_ids"])
             for p in step["inp_ports"] + step["out_ports"]}
    return (step["step_id"], step["op_type"], ports, [_shape(s) for s in step["substeps"]])


def test_to_json_draws_built_ins_with_bytewax_substeps_at_every_depth():
    # Bytewax: filter is flat_map("flat_map") of flat_map_batch; count_final
    # is map("init_count") then reduce_final("sum"), which is
    # flat_map_batch("pre_reduce") then fold_final, stateful, stateful_batch.
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource([1, 2, 3]))
    s = op.filter("f", s, lambda x: x > 1)
    c = op.count_final("c", s, str)
    op.output("out", c, TestingSink([]))
    steps = json.loads(to_json(flow))["substeps"]

    assert _shape(steps[1]) == ("df.f", "filter", {
        "df.f.up": (["df.inp.down"], ["df.inp.down"]),
        "df.f.down": (["df.f.flat_map.down"], ["df.f.flat_map.flat_map_batch.down"]),
    }, [("df.f.flat_map", "flat_map", {
        "df.f.flat_map.up": (["df.f.up"], ["df.inp.down"]),
        "df.f.flat_map.down": (["df.f.flat_map.flat_map_batch.down"],
                               ["df.f.flat_map.flat_map_batch.down"]),
    }, [("df.f.flat_map.flat_map_batch", "flat_map_batch", {
        "df.f.flat_map.flat_map_batch.up": (["df.f.flat_map.up"], ["df.inp.down"]),
        "df.f.flat_map.flat_map_batch.down": ([], []),
    }, [])])])

    count = steps[2]
    inner = "df.c.sum.fold_final.stateful.stateful_batch.down"
    assert [s["step_id"] for s in count["substeps"]] == ["df.c.init_count", "df.c.sum"]
    init_count, total = count["substeps"]
    assert [s["step_id"] for s in init_count["substeps"]] == ["df.c.init_count.flat_map_batch"]
    assert [(s["step_id"], s["op_type"]) for s in total["substeps"]] == [
        ("df.c.sum.pre_reduce", "flat_map_batch"), ("df.c.sum.fold_final", "fold_final")]
    # The second substep reads from the first.
    assert total["substeps"][1]["inp_ports"][0]["from_port_ids"] == ["df.c.sum.pre_reduce.down"]
    assert count["inp_ports"][0]["from_stream_ids"] == ["df.f.flat_map.flat_map_batch.down"]
    assert count["out_ports"][0]["from_port_ids"] == ["df.c.sum.down"]
    assert count["out_ports"][0]["from_stream_ids"] == [inner]
    # Downstream, the stream is the innermost one (as Bytewax's ids are).
    assert steps[3]["inp_ports"][0]["from_port_ids"] == ["df.c.down"]
    assert steps[3]["inp_ports"][0]["from_stream_ids"] == [inner]


def test_to_json_built_in_inside_a_nested_operator():
    @operator
    def wrap(step_id: str, up: Stream) -> Stream:
        return op.map("m", up, lambda x: x)

    flow = Dataflow("df")
    s = wrap("w", op.input("inp", flow, TestingSource([1])))
    op.output("out", s, TestingSink([]))
    steps = json.loads(to_json(flow))["substeps"]
    w = steps[1]
    assert w["out_ports"][0]["from_port_ids"] == ["df.w.m.down"]
    assert w["out_ports"][0]["from_stream_ids"] == ["df.w.m.flat_map_batch.down"]
    assert [s["step_id"] for s in w["substeps"][0]["substeps"]] == ["df.w.m.flat_map_batch"]
    assert steps[2]["inp_ports"][0]["from_stream_ids"] == ["df.w.m.flat_map_batch.down"]


def test_to_mermaid_shows_the_nested_operator_as_one_node():
    assert to_mermaid(linear_flow()) == textwrap.dedent("""\
        flowchart TD
        subgraph "test_df (Dataflow)"
        test_df.inp["inp (input)"]
        test_df.add_one["add_one (my_map)"]
        test_df.inp -- "down → up" --> test_df.add_one
        test_df.out["out (output)"]
        test_df.add_one -- "down → up" --> test_df.out
        end""")


def test_to_plantuml():
    flow = linear_flow()
    flat = to_plantuml(flow)
    assert flat.splitlines()[0] == "@startuml" and flat.splitlines()[-1] == "@enduml"
    assert "    test_df.add_one (my_map)" in flat
    assert "test_df.inp.down --> test_df.add_one.up : test_df.inp.down" in flat
    assert "component test_df.add_one.flat_map_batch" not in flat
    deep = to_plantuml(flow, recursive=True)
    assert "component test_df.add_one.flat_map_batch {" in deep
    assert ("test_df.add_one.flat_map_batch.down --> test_df.add_one.down : "
            "test_df.add_one.flat_map_batch.down") in deep


def test_to_dot_draws_the_nested_operator_as_a_cluster():
    dot = to_dot(linear_flow())
    assert 'subgraph "cluster_test_df.add_one" {' in dot
    assert '"test_df.add_one.flat_map_batch" [label="flat_map_batch (flat_map_batch)"];' in dot
    assert '"test_df.inp" -> "test_df.add_one.flat_map_batch" [label="down → up"];' in dot


def test_python_m_flow_visualize(tmp_path):
    (tmp_path / "vizflow.py").write_text(textwrap.dedent("""\
        import flow.operators as op
        from flow.dataflow import Dataflow
        from flow.testing import TestingSource, TestingSink

        flow = Dataflow("viz")
        op.output("out", op.input("inp", flow, TestingSource([1])), TestingSink([]))
        """))
    r = run_python("-m", "flow.visualize", "vizflow.py", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == textwrap.dedent("""\
        flowchart TD
        subgraph "viz (Dataflow)"
        viz.inp["inp (input)"]
        viz.out["out (output)"]
        viz.inp -- "down → up" --> viz.out
        end
        """)
    r = run_python("-m", "flow.visualize", "vizflow:flow", "-o", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["flow_id"] == "viz"
    r = run_python("-m", "flow.visualize", "vizflow.py", "-o", "dot", cwd=tmp_path)
    assert r.stdout.startswith('digraph "viz" {')
    r = run_python("-m", "flow.visualize", "vizflow.py", "-o", "svg", cwd=tmp_path)
    assert r.returncode == 2 and "invalid choice: 'svg'" in r.stderr


def test_debug_dump_dot_dir(tmp_path):
    script = tmp_path / "dumped.py"
    script.write_text(textwrap.dedent("""\
        import flow.operators as op
        from flow.dataflow import Dataflow
        from flow.testing import TestingSource, TestingSink

        flow = Dataflow("dumped")
        op.output("out", op.input("inp", flow, TestingSource([1])), TestingSink([]))
        """))
    dots = tmp_path / "dots"
    dots.mkdir()
    r = run_python("-m", "flow.run", script, env={"FLOW_DEBUG_DUMP_DOT_DIR": str(dots)})
    assert r.returncode == 0, r.stderr
    files = list(dots.iterdir())
    assert len(files) == 1 and files[0].name.endswith("-dumped.dot")
    assert '"dumped.inp" -> "dumped.out"' in files[0].read_text()


def test_metrics_example_runs_and_draws(tmp_path):
    from conftest import EXAMPLES
    r = run_python("-m", "flow.run", EXAMPLES / "metrics.py",
                   env={"FLOW_DEBUG_DUMP_DOT_DIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == ["24ae8d 21.392", "c6585a 25.956", "fe7f93 2.296"]
    dot = next(tmp_path.glob("*-metrics.dot")).read_text()
    assert 'subgraph "cluster_metrics.mean" {' in dot
    assert '"metrics.mean.sum" [label="sum (fold_final)"];' in dot
    r = run_python("-m", "flow.visualize", EXAMPLES / "metrics.py")
    assert r.returncode == 0, r.stderr
    assert 'metrics.mean["mean (mean_by)"]' in r.stdout
    assert 'metrics.inp -- "down → up" --> metrics.mean' in r.stdout
