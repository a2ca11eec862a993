# SPDX-License-Identifier: LGPL-2.1-or-later
"""Drawing the structure of a dataflow, as :mod:`bytewax.visualize`.

::

    python3 -m flow.visualize dataflow.py[:flow] [-o mermaid|json|plantuml|dot] [-r]

prints a diagram of the dataflow (Mermaid by default). The graph comes
from libflow (``Flow.Dataflow.describe()``, ``to_mermaid()``,
``to_dot()``), so a dataflow built from C, GJS or Vala is drawn the same
way; :func:`to_json` and :func:`to_plantuml` are drawn here from the same
description.
"""

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import List

from ._gi import Flow
from .dataflow import Dataflow, _gi_flow

__all__ = [
    "RenderedDataflow",
    "RenderedOperator",
    "RenderedPort",
    "to_dot",
    "to_json",
    "to_mermaid",
    "to_plantuml",
    "to_rendered",
]


@dataclass(frozen=True)
class RenderedPort:
    """A port, with the ports and streams that feed it."""

    port_name: str
    port_id: str
    from_port_ids: List[str]
    from_stream_ids: List[str]


@dataclass(frozen=True)
class RenderedOperator:
    """A step, with its ports resolved and its substeps."""

    op_type: str
    step_name: str
    step_id: str
    inp_ports: List[RenderedPort]
    out_ports: List[RenderedPort]
    substeps: List["RenderedOperator"] = field(default_factory=list)


@dataclass(frozen=True)
class RenderedDataflow:
    """A dataflow, with every port link resolved."""

    flow_id: str
    substeps: List[RenderedOperator]


def _description(flow):
    return Flow.from_variant(_gi_flow(flow).describe())


def _tree(description):
    """The steps of a description as a tree: [(step dict, [children])]."""
    nodes = {}
    top = []
    for step in description["steps"]:
        node = (step, [])
        nodes[step["id"]] = node
        parent = nodes.get(step["parent"])
        (parent[1] if parent is not None else top).append(node)
    return top


# Bytewax builds most of its operators out of others, so its to_json()
# shows them with substeps; libflow runs them as core steps of their own.
# For the JSON (and PlantUML) to have Bytewax's shape, a core step of one
# of these kinds is drawn with Bytewax's substeps: the chain of
# (step_name, op_type) it is made of in Bytewax 0.21's
# bytewax.operators, each expanded in turn.
_BYTEWAX_SUBSTEPS = {
    "collect": [("stateful", "stateful")],
    "count_final": [("init_count", "map"), ("sum", "reduce_final")],
    "enrich_cached": [("flat_map_batch", "flat_map_batch")],
    "filter": [("flat_map", "flat_map")],
    "filter_map": [("flat_map", "flat_map")],
    "filter_map_value": [("flat_map_value", "flat_map_value")],
    "filter_value": [("filter", "flat_map_value")],
    "flat_map": [("flat_map_batch", "flat_map_batch")],
    "flat_map_value": [("flat_map", "flat_map")],
    "flatten": [("flat_map", "flat_map")],
    "fold_final": [("stateful", "stateful")],
    "inspect": [("inspect_debug", "inspect_debug")],
    "key_on": [("map", "map")],
    "key_rm": [("map", "map")],
    "map": [("flat_map_batch", "flat_map_batch")],
    "map_value": [("map", "map")],
    "max_final": [("reduce_final", "reduce_final")],
    "min_final": [("reduce_final", "reduce_final")],
    "raises": [("output", "output")],
    "reduce_final": [("pre_reduce", "flat_map_batch"), ("fold_final", "fold_final")],
    "stateful": [("stateful_batch", "stateful_batch")],
    "stateful_flat_map": [("stateful", "stateful")],
    "stateful_map": [("stateful_flat_map", "stateful_flat_map")],
}


def _bytewax_substeps(step_id, op_type, inp_ports, has_output):
    """The substeps Bytewax draws inside a step of ``op_type`` (whose
    input ports are ``inp_ports``), and the id of the innermost stream
    its output comes from (None if it has no output)."""
    chain = _BYTEWAX_SUBSTEPS.get(op_type)
    if chain is None:
        return [], (f"{step_id}.down" if has_output else None)
    substeps = []
    from_ports = [p.port_id for p in inp_ports]
    from_streams = [s for p in inp_ports for s in p.from_stream_ids]
    stream = None
    for i, (name, sub_type) in enumerate(chain):
        sub_id = f"{step_id}.{name}"
        ups = [RenderedPort("up", f"{sub_id}.up", from_ports, from_streams)]
        sub_output = has_output or i < len(chain) - 1
        inner, stream = _bytewax_substeps(sub_id, sub_type, ups, sub_output)
        dwns = []
        if sub_output:
            if inner:
                dwns = [RenderedPort("down", f"{sub_id}.down", [inner[-1].out_ports[0].port_id],
                                     [stream])]
            else:
                dwns = [RenderedPort("down", f"{sub_id}.down", [], [])]
            from_ports, from_streams = [f"{sub_id}.down"], [stream]
        substeps.append(RenderedOperator(sub_type, name, sub_id, ups, dwns, inner))
    return substeps, stream


def _render(node, origin, renames):
    """Renders a step. ``origin`` maps a stream id to the port it comes
    from as seen at this step's level: a list of dicts, innermost last.
    ``renames`` maps the id of a stream libflow gives a step drawn with
    Bytewax's substeps to the id of the innermost stream it comes from."""
    step, children = node

    def lookup(stream_id):
        for layer in reversed(origin):
            if stream_id in layer:
                return layer[stream_id]
        return stream_id

    inp_ports = [RenderedPort(name, port_id, [lookup(s) for s in ids],
                              [renames.get(s, s) for s in ids])
                 for name, port_id, ids in step["inputs"]]
    # Downstream of this step (at its own level), its output streams come
    # from its output ports.
    for _name, port_id, ids in step["outputs"]:
        for stream_id in ids:
            origin[-1][stream_id] = port_id

    if step["core"] and not children and step["type"] in _BYTEWAX_SUBSTEPS:
        outputs = step["outputs"]
        substeps, stream = _bytewax_substeps(step["id"], step["type"], inp_ports,
                                             bool(outputs))
        out_ports = []
        for name, port_id, ids in outputs:
            out_ports.append(RenderedPort(name, port_id, [substeps[-1].out_ports[0].port_id],
                                          [stream]))
            for stream_id in ids:
                renames[stream_id] = stream
        return RenderedOperator(step["type"], step["name"], step["id"], inp_ports, out_ports,
                                substeps)

    # Inside it, the streams of its inputs come from its input ports.
    inner = origin + [{s: port_id for _name, port_id, ids in step["inputs"] for s in ids}]
    substeps = [_render(child, inner, renames) for child in children]

    def inner_lookup(stream_id):
        for layer in reversed(inner):
            if stream_id in layer:
                return layer[stream_id]
        return stream_id

    out_ports = []
    for name, port_id, ids in step["outputs"]:
        if step["core"] or not substeps:
            out_ports.append(RenderedPort(name, port_id, [], []))
        else:
            out_ports.append(RenderedPort(name, port_id, [inner_lookup(s) for s in ids],
                                          [renames.get(s, s) for s in ids]))
    return RenderedOperator(step["type"], step["name"], step["id"], inp_ports, out_ports,
                            substeps)


def to_rendered(flow: Dataflow) -> RenderedDataflow:
    """The dataflow with every port link resolved: connect each
    :attr:`RenderedPort.port_id` to its :attr:`RenderedPort.from_port_ids`.

    As Bytewax's, the built-in operators Bytewax makes of others
    (``map`` of ``flat_map_batch``, ``filter`` of ``flat_map``, …) have
    those as substeps, although libflow runs each as one step."""
    description = _description(flow)
    origin = [{}]
    renames = {}
    return RenderedDataflow(description["id"],
                            [_render(node, origin, renames) for node in _tree(description)])


def _json_default(obj):
    if isinstance(obj, RenderedDataflow):
        return {"typ": "RenderedDataflow", "flow_id": obj.flow_id, "substeps": obj.substeps}
    if isinstance(obj, RenderedOperator):
        return {"typ": "RenderedOperator", "op_type": obj.op_type,
                "step_name": obj.step_name, "step_id": obj.step_id,
                "inp_ports": obj.inp_ports, "out_ports": obj.out_ports,
                "substeps": obj.substeps}
    if isinstance(obj, RenderedPort):
        return {"typ": "RenderedPort", "port_name": obj.port_name, "port_id": obj.port_id,
                "from_port_ids": obj.from_port_ids, "from_stream_ids": obj.from_stream_ids}
    raise TypeError(f"cannot encode a {type(obj).__qualname__} as JSON")


def to_json(flow: Dataflow) -> str:
    """The dataflow as JSON (Bytewax's bespoke format, for debugging)."""
    return json.dumps(to_rendered(flow), default=_json_default, indent=2)


def to_mermaid(flow: Dataflow) -> str:
    """A Mermaid flowchart of the top level of the dataflow (nested
    operators are one node each), drawn by libflow
    (``Flow.Dataflow.to_mermaid()``)."""
    return _gi_flow(flow).to_mermaid()


def to_dot(flow: Dataflow) -> str:
    """A Graphviz DOT graph of the dataflow, nested operators as clusters,
    drawn by libflow (``Flow.Dataflow.to_dot()``; what
    ``FLOW_DEBUG_DUMP_DOT_DIR`` dumps)."""
    return _gi_flow(flow).to_dot()


def _plantuml_step(step: RenderedOperator, recursive: bool) -> List[str]:
    lines = [f"component {step.step_id} [", f"    {step.step_id} ({step.op_type})", "]",
             f"component {step.step_id} {{"]
    inner = [f"portin {p.port_id}" for p in step.inp_ports]
    inner += [f"portout {p.port_id}" for p in step.out_ports]
    for port in step.inp_ports:
        for from_port_id, stream_id in zip(port.from_port_ids, port.from_stream_ids):
            inner.append(f"{from_port_id} --> {port.port_id} : {stream_id}")
    if recursive:
        for substep in step.substeps:
            inner += _plantuml_step(substep, recursive)
        for port in step.out_ports:
            for from_port_id, stream_id in zip(port.from_port_ids, port.from_stream_ids):
                inner.append(f"{from_port_id} --> {port.port_id} : {stream_id}")
    lines += ["    " + line for line in inner]
    lines.append("}")
    return lines


def to_plantuml(flow: Dataflow, recursive: bool = False) -> str:
    """A PlantUML component diagram of the dataflow; with ``recursive``,
    nested operators show their substeps."""
    lines = ["@startuml"]
    for step in to_rendered(flow).substeps:
        lines += _plantuml_step(step, recursive)
    lines.append("@enduml")
    return "\n".join(lines)


_FORMATS = ("mermaid", "json", "plantuml", "dot")


def _main(argv=None) -> int:
    from .run import _locate_dataflow, _prepare_import

    parser = argparse.ArgumentParser(
        prog="python3 -m flow.visualize",
        description="Print a diagram of the structure of a dataflow: Mermaid "
                    "(https://mermaid.js.org/), PlantUML (https://plantuml.com/), "
                    "Graphviz DOT, or JSON (for debugging).")
    parser.add_argument("import_str",
                        help="Dataflow import string: <file.py or module>[:<dataflow "
                             "variable or factory call>]; the variable is 'flow' by default")
    parser.add_argument("-o", "--output-format", choices=_FORMATS, default="mermaid",
                        help="Output format; defaults to 'mermaid'")
    parser.add_argument("-r", "--recursive", action="store_true",
                        help="Show nested operators' substeps (PlantUML; Mermaid shows "
                             "the top level only, JSON and DOT always show them)")
    args = parser.parse_args(argv)
    module_str, _, attrs_str = _prepare_import(args.import_str).partition(":")
    flow = _locate_dataflow(module_str, attrs_str)
    if args.output_format == "json":
        out = to_json(flow)
    elif args.output_format == "plantuml":
        out = to_plantuml(flow, args.recursive)
    elif args.output_format == "dot":
        out = to_dot(flow).rstrip("\n")
    else:
        out = to_mermaid(flow)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
