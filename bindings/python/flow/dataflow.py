# SPDX-License-Identifier: LGPL-2.1-or-later
"""Dataflows, streams and custom operators, as :mod:`bytewax.dataflow`.

A :class:`Dataflow` is built with the functions of :mod:`flow.operators`,
each of which takes the :class:`Stream` it consumes and returns the one it
produces::

    flow = Dataflow("my_flow")
    nums = op.input("inp", flow, TestingSource([1, 2, 3]))
    doubled = op.map("double", nums, lambda x: x * 2)
    op.output("out", doubled, StdOutSink())

New operators are functions decorated with :func:`operator`: the steps
their body adds become substeps, whose full ids are under the operator's
own (``my_flow.my_op.substep``)::

    @operator
    def add_then_double(step_id: str, up: Stream[int]) -> Stream[int]:
        up = op.map("add", up, lambda x: x + 1)
        return op.map("double", up, lambda x: x * 2)

The graph, nesting included, is described by libflow
(``Flow.Dataflow.describe``), which :mod:`flow.visualize` draws.
"""

import dataclasses
import functools
import inspect
import typing
from dataclasses import dataclass, field
from inspect import Parameter
from types import FunctionType
from typing import ClassVar, Dict, Generic, List, Protocol, Tuple, TypeVar, runtime_checkable

from ._gi import Flow, GLib, is_flow_error

__all__ = [
    "Dataflow",
    "DataflowId",
    "KeyedStream",
    "MultiPort",
    "Operator",
    "Port",
    "SinglePort",
    "Stream",
    "f_repr",
    "operator",
]

K = TypeVar("K")
V = TypeVar("V")
X_co = TypeVar("X_co", covariant=True)

# Building mistakes, raised as ValueError like Bytewax does.
_BUILD_CODES = (
    Flow.Error.INVALID_STEP_ID,
    Flow.Error.DUPLICATE_STEP_ID,
    Flow.Error.INVALID_FLOW,
    Flow.Error.INVALID_ARGUMENT,
)


def _build_error(error):
    """The Python exception for a GLib.Error raised while building."""
    if is_flow_error(error, *_BUILD_CODES):
        exc = ValueError(error.message)
        exc.__cause__ = error
        return exc
    return error


def _raise_build_mistake(gflow):
    """Raises the first building mistake of ``gflow`` (as ValueError); an
    incomplete flow (no input or output yet) is no mistake while building."""
    try:
        gflow.check()
    except GLib.Error as e:
        if is_flow_error(e, Flow.Error.INCOMPLETE_FLOW):
            return
        exc = _build_error(e)
        if exc is e:
            raise
        raise exc from e


def f_repr(f):
    """A nicer ``repr`` for functions, with their module and line: use it
    in the exceptions an operator raises.

    >>> def my_f(x):
    ...     pass
    >>> f_repr(my_f)
    "<function 'flow.dataflow.my_f' line 1>"
    """
    if isinstance(f, FunctionType):
        path = f"{f.__module__}.{f.__qualname__}"
        return f"<function {path!r} line {f.__code__.co_firstlineno}>"
    return repr(f)


def _check_step_id(step_id):
    if not isinstance(step_id, str):
        raise TypeError("'step_id' must be a `str`")
    if "." in step_id:
        raise ValueError("'step_id' can't contain any periods '.'")


@runtime_checkable
class Port(Protocol):
    """An input or output location of an :class:`Operator`: a
    :class:`SinglePort` or a :class:`MultiPort`."""

    port_id: str
    stream_ids: Dict[str, str]


@dataclass(frozen=True)
class SinglePort:
    """An input or output location of an :class:`Operator` with one
    stream."""

    port_id: str
    stream_id: str

    @property
    def stream_ids(self) -> Dict[str, str]:
        """The stream, as the :class:`Port` protocol has it."""
        return {"stream": self.stream_id}


@dataclass(frozen=True)
class MultiPort(Generic[K]):
    """An input or output location of an :class:`Operator` with several
    streams (``*ups`` or ``**ups`` of an operator function)."""

    port_id: str
    stream_ids: Dict[K, str]


@dataclass(frozen=True)
class Operator:
    """A step of a dataflow, as :attr:`Dataflow.substeps` lists them: the
    base class of the dataclass :func:`operator` makes for each operator
    function (``fn._op_cls``), as Bytewax's.

    ``step_name`` is the id it was given, ``step_id`` its full id,
    ``substeps`` the steps it is made of. The subclass has a field for
    each parameter of the operator function but ``step_id`` (its ``Stream``
    parameters as :class:`SinglePort` or :class:`MultiPort`, a
    ``Dataflow`` as :class:`DataflowId`) and for each output port
    (``down``, or the fields of the dataclass it returns);
    ``ups_names`` and ``dwn_names`` name the port fields. Its class name
    is the operator's (``type(step).__name__``).
    """

    step_name: str
    step_id: str
    substeps: List["Operator"]
    ups_names: ClassVar[List[str]] = []
    dwn_names: ClassVar[List[str]] = []


@dataclass(frozen=True)
class _CoreOperator(Operator):
    core: ClassVar[bool] = True


@dataclass(frozen=True)
class DataflowId:
    """The id of a dataflow, as an :class:`Operator` field holds a
    ``Dataflow`` argument."""

    flow_id: str


_OPERATOR_BASE_NAMES = frozenset(("step_name", "step_id", "substeps", "ups_names",
                                  "dwn_names", "core"))


def _port(port_id, stream_ids, multi=False):
    if len(stream_ids) == 1 and not multi:
        return SinglePort(port_id, stream_ids[0])
    return MultiPort(port_id, dict(enumerate(stream_ids)))


_builtin_op_classes = {}


def _builtin_op_cls(op_type, core, ups_names, dwn_names):
    """A dataclass for a step libflow describes but no :func:`operator`
    of this package made (a built-in operator): its port fields only."""
    key = (op_type, core, tuple(ups_names), tuple(dwn_names))
    cls = _builtin_op_classes.get(key)
    if cls is None:
        fields = [(name, Port) for name in ups_names + dwn_names
                  if name not in _OPERATOR_BASE_NAMES]
        cls = dataclasses.make_dataclass(
            op_type if op_type.isidentifier() else "operator", fields,
            bases=(_CoreOperator if core else Operator,), frozen=True,
            namespace={"ups_names": list(ups_names), "dwn_names": list(dwn_names),
                       "__doc__": f"`{op_type}` operator data model (ports only)."})
        cls.__module__ = "flow.operators"
        _builtin_op_classes[key] = cls
    return cls


def _operators_from(description, ops=None):
    """The tree of Operators of a Flow.Dataflow.describe() result; ``ops``
    maps the full id of a step made by an :func:`operator` to its class
    and field values."""
    ops = ops or {}
    children = {}
    order = []
    for step in description["steps"]:
        children.setdefault(step["parent"], []).append(step)
        order.append(step)

    def build(step):
        substeps = [build(child) for child in children.get(step["id"], [])]
        made = ops.get(step["id"])
        if made is not None:
            cls, values = made
            return cls(substeps=substeps, **values)
        ups_names = [name for name, _pid, _ids in step["inputs"]]
        dwn_names = [name for name, _pid, _ids in step["outputs"]]
        cls = _builtin_op_cls(step["type"], step["core"], ups_names, dwn_names)
        values = {name: _port(pid, ids, multi=(name == "ups"))
                  for name, pid, ids in step["inputs"] + step["outputs"]
                  if name not in _OPERATOR_BASE_NAMES}
        return cls(step_name=step["name"], step_id=step["id"], substeps=substeps, **values)

    return [build(step) for step in children.get("", [])]


class Dataflow:
    """A dataflow: a named graph of steps, built with
    :mod:`flow.operators` and run with :mod:`flow.run` or
    :func:`flow.testing.run_main`.

    The ``flow_id`` is the first part of every step's full id
    (``flow_id.step_id``) and what recovery partitions are tied to; it
    may not be empty or contain a ``.``.
    """

    __slots__ = ("flow_id", "_flow", "_scopes", "_ops")

    def __init__(self, flow_id):
        if not isinstance(flow_id, str):
            raise TypeError(f"a dataflow id must be a `str`, not {type(flow_id).__qualname__}")
        if "." in flow_id:
            raise ValueError("flow ID can't contain a period `.`")
        if not flow_id:
            raise ValueError("flow ID must not be empty")
        self.flow_id = flow_id
        self._flow = Flow.Dataflow.new(flow_id)
        # Full ids of the operators being built, innermost last.
        self._scopes = [flow_id]
        # Full id of each step an @operator made -> (its class, field values).
        self._ops = {}

    def __repr__(self):
        return f"Dataflow(flow_id={self.flow_id!r})"

    def steps(self):
        """The full ids of the steps that run (not the nested operators
        that group them), in the order they were added."""
        return list(self._flow.list_steps())

    @property
    def substeps(self):
        """The top-level steps, as :class:`Operator` objects whose
        ``substeps`` are those of nested operators."""
        return _operators_from(self.describe(), self._ops)

    def describe(self):
        """libflow's description of the graph
        (``Flow.Dataflow.describe()``) as plain values: a dict with
        ``id`` and ``steps``."""
        return Flow.from_variant(self._flow.describe())

    def to_gi(self):
        """The underlying ``Flow.Dataflow`` (GObject-Introspection API)."""
        return self._flow

    def _scope(self):
        return self._scopes[-1]


class Stream(Generic[X_co]):
    """The output of a step: a stream of items (of type ``X_co``;
    ``Stream[int]`` is a type annotation).

    Streams are made by the functions of :mod:`flow.operators`;
    :meth:`then` chains them fluently::

        nums.then(op.map, "double", lambda x: x * 2)
    """

    __slots__ = ("_stream", "_flow", "_port", "_scope")

    def __init__(self, stream, flow, port="down", scope=None):
        self._stream = stream
        self._flow = flow
        self._port = port
        if scope is None and flow is not None:
            scope = flow._scope()
        self._scope = scope

    @property
    def stream_id(self):
        """The id of the stream: the full id of the step that produces it
        and the name of its output port (``flow_id.step_id.down``)."""
        return f"{self._stream.get_step_id()}.{self._port}"

    def flow(self):
        """The :class:`Dataflow` the stream belongs to."""
        return self._flow

    def __repr__(self):
        return f"Stream(stream_id={self.stream_id!r})"

    def __eq__(self, other):
        return (isinstance(other, Stream) and other._stream == self._stream
                and other._port == self._port)

    def __hash__(self):
        return hash((self._stream, self._port))

    def then(self, op_fn, step_id, *args, **kwargs):
        """Applies the operator ``op_fn`` to this stream:
        ``op_fn(step_id, self, *args, **kwargs)``."""
        return op_fn(step_id, self, *args, **kwargs)

    def to_gi(self):
        """The underlying ``Flow.Stream`` (GObject-Introspection API)."""
        return self._stream

    def _with_scope(self, scope):
        return Stream(self._stream, self._flow, self._port, scope)


#: A stream of ``(key, value)`` 2-tuples with a ``str`` key, as
#: :func:`flow.operators.key_on` makes.
KeyedStream = Stream[Tuple[str, V]]


def _stream_desc(what):
    return f"{what} must be a `Stream`"


def _gi_stream(up, what="'up' argument"):
    if isinstance(up, Stream):
        return up._stream
    if isinstance(up, Flow.Stream):
        return up
    raise TypeError(f"{_stream_desc(what)}; got a {type(up)!r} instead; did you forget "
                    f"to unpack the result of an operator that returns multiple streams?")


def _gi_flow(flow):
    if isinstance(flow, Dataflow):
        return flow._flow
    if isinstance(flow, Flow.Dataflow):
        return flow
    raise TypeError(f"'flow' argument must be a `Dataflow`; got a {type(flow)!r} instead")


def _check_scopes(*ups):
    """Streams given to one step must all be of the scope being built."""
    flows = {id(u._flow): u._flow for u in ups if isinstance(u, Stream) and u._flow is not None}
    if len(flows) != 1:
        return      # streams of several dataflows: libflow says so (ValueError)
    scopes = {u._scope for u in ups if isinstance(u, Stream) and u._scope is not None}
    for flow in flows.values():
        scopes.add(flow._scope())
    if len(scopes) > 1:
        raise AssertionError(
            f"inconsistent stream scoping; found multiple scopes {sorted(scopes)!r}; "
            f"expected one; possible invalid operator definition; might be nested "
            f"`Stream` in arguments to this operator or return value from previous "
            f"operator; see `flow.dataflow.operator` docstring for custom operator rules")


def _wrap(stream, up_or_flow, port="down"):
    if isinstance(up_or_flow, Stream):
        return Stream(stream, up_or_flow._flow, port, up_or_flow._scope)
    if isinstance(up_or_flow, Dataflow):
        return Stream(stream, up_or_flow, port)
    return Stream(stream, None, port)


# ---------------------------------------------------------------------------
# @operator
# ---------------------------------------------------------------------------

def _is_stream_anno(anno):
    if anno is Stream:
        return True
    origin = typing.get_origin(anno)
    return origin is Stream or (inspect.isclass(anno) and issubclass(anno, Stream))


def _stream_values(param, value):
    """The streams an argument holds, when it is declared as streams."""
    if param.kind == Parameter.VAR_POSITIONAL:
        return list(value)
    if param.kind == Parameter.VAR_KEYWORD:
        return list(value.values())
    return [value]


def _anno_class(anno):
    """The class an annotation stands for, or None."""
    if anno is typing.Any:
        return object
    if inspect.isclass(anno):
        return anno
    origin = typing.get_origin(anno)
    if origin is not None and inspect.isclass(origin):
        return origin
    return None


def _is_subclass(anno, base):
    typ = _anno_class(anno)
    return typ is not None and issubclass(typ, base)


def _gen_op_cls(builder, sig, annos, core):
    """The dataclass of an operator function, as Bytewax's ``_op_cls``: a
    field per parameter but ``step_id`` (``Stream`` ones as ports, a
    ``Dataflow`` as a :class:`DataflowId`) and per output port."""
    if "step_id" not in sig.parameters:
        raise TypeError("builder function requires a 'step_id' parameter")

    inp_fields = {}
    ups_names = []
    for name, param in sig.parameters.items():
        anno = annos.get(name, typing.Any)
        if _is_stream_anno(anno):
            multi = param.kind in (Parameter.VAR_POSITIONAL, Parameter.VAR_KEYWORD)
            inp_fields[name] = MultiPort if multi else SinglePort
            ups_names.append(name)
        elif _is_subclass(anno, Dataflow):
            inp_fields[name] = DataflowId
        else:
            inp_fields[name] = anno

    out_fields = {}
    dwn_names = []
    ret = annos.get("return", typing.Any)
    if ret is None or _is_subclass(ret, type(None)):
        pass
    elif _is_stream_anno(ret):
        out_fields["down"] = SinglePort
        dwn_names.append("down")
    elif (_anno_class(ret) is not None and _anno_class(ret) is not object
          and dataclasses.is_dataclass(_anno_class(ret))):
        ret_cls = _anno_class(ret)
        try:
            ret_annos = typing.get_type_hints(ret_cls)
        except Exception:
            ret_annos = {}
        for fld in dataclasses.fields(ret_cls):
            anno = ret_annos.get(fld.name, typing.Any)
            if _is_stream_anno(anno):
                out_fields[fld.name] = SinglePort
                dwn_names.append(fld.name)
            else:
                out_fields[fld.name] = anno
    else:
        out_fields["down"] = ret

    conflicting = sorted(set(inp_fields) & set(out_fields))
    if conflicting:
        names = ", ".join(repr(name) for name in conflicting)
        raise TypeError(f"{names} are both a build function parameter and a return "
                        f"dataclass field name; rename so there are no overlapping field "
                        f"names")
    fields = dict(inp_fields)
    fields.update(out_fields)
    del fields["step_id"]
    forbidden = sorted(set(fields) & _OPERATOR_BASE_NAMES)
    if forbidden:
        names = ", ".join(repr(name) for name in forbidden)
        raise TypeError(f"builder function can't have parameters or return dataclass fields "
                        f"that shadow any of the field names in `flow.dataflow.Operator`; "
                        f"rename the {names} parameter or fields")

    cls = dataclasses.make_dataclass(
        builder.__name__, list(fields.items()),
        bases=(_CoreOperator if core else Operator,), frozen=True,
        namespace={"__doc__": f"`{builder.__name__}` operator data model.",
                   "ups_names": ups_names, "dwn_names": dwn_names})
    cls.__module__ = builder.__module__
    return cls


def _to_ref(value, port_id):
    """What an Operator field holds for an argument or output value."""
    if isinstance(value, Stream):
        return SinglePort(port_id, value.stream_id)
    if isinstance(value, Dataflow):
        return DataflowId(value.flow_id)
    return value


def _op_values(sig, bound, inner, stream_params):
    """The field values of an operator step for its arguments."""
    values = {}
    for name, param in sig.parameters.items():
        value = bound.arguments[name]
        port_id = f"{inner}.{name}"
        if name in stream_params and param.kind == Parameter.VAR_POSITIONAL:
            values[name] = MultiPort(port_id, {i: v.stream_id for i, v in enumerate(value)})
        elif name in stream_params and param.kind == Parameter.VAR_KEYWORD:
            values[name] = MultiPort(port_id, {k: v.stream_id for k, v in value.items()})
        else:
            values[name] = _to_ref(value, port_id)
    return values


def _op_out_values(out, inner):
    """The field values of an operator step for what its function
    returned."""
    if out is None:
        return {}
    if dataclasses.is_dataclass(out) and not isinstance(out, type):
        return {fld.name: _to_ref(getattr(out, fld.name), f"{inner}.{fld.name}")
                for fld in dataclasses.fields(out)}
    return {"down": _to_ref(out, f"{inner}.down")}


def operator(builder=None, *, _core=False):
    """Makes a function an operator: a step made of the steps the function
    adds (its substeps), as Bytewax's ``@operator``.

    The function must take a ``step_id`` parameter. Its parameters
    annotated ``Stream`` (also as ``*ups: Stream`` or ``**ups: Stream``)
    are its input ports; what it returns (a ``Stream``, ``None``, or a
    dataclass whose fields are ``Stream``s) are its output ports::

        @operator
        def add_one(step_id: str, up: Stream[int]) -> Stream[int]:
            return op.map("map", up, lambda x: x + 1)

        s = add_one("plus", s)      # a step "flow.plus" with the substep "flow.plus.map"

    Called, the operator checks its arguments (``step_id`` a ``str``
    without ``.``, the input ports ``Stream``s of the scope being built),
    then calls the function with ``step_id`` set to the operator's full
    id, inside a nested operator of libflow
    (``Flow.Dataflow.begin_operator``): steps the function adds get full
    ids under the operator's, and state is recovered under them. Streams
    of another scope (a ``Stream`` hidden in a list argument, or one the
    function kept from outside) raise ``AssertionError``.
    """

    def deco(builder):
        sig = inspect.signature(builder)
        try:
            annos = typing.get_type_hints(builder)
        except Exception:
            annos = dict(getattr(builder, "__annotations__", {}))
        cls = _gen_op_cls(builder, sig, annos, _core)
        ups_names = [name for name in sig.parameters if _is_stream_anno(annos.get(name))]
        op_type = builder.__name__

        @functools.wraps(builder)
        def fn(*args, **kwargs):
            try:
                bound = sig.bind(*args, **kwargs)
            except TypeError as ex:
                raise TypeError(f"operator {op_type!r} called incorrectly; "
                                f"see cause above") from ex
            bound.apply_defaults()

            streams = []
            for name in ups_names:
                param = sig.parameters[name]
                if param.kind == Parameter.VAR_POSITIONAL:
                    desc = f"{name!r} *args all"
                elif param.kind == Parameter.VAR_KEYWORD:
                    desc = f"{name!r} **kwargs all"
                else:
                    desc = f"{name!r} argument"
                for val in _stream_values(param, bound.arguments[name]):
                    if not isinstance(val, Stream):
                        raise TypeError(f"{_stream_desc(desc)}; got a {type(val)!r} instead; "
                                        f"did you forget to unpack the result of an operator "
                                        f"that returns multiple streams?")
                    streams.append((name, val))

            step_id = bound.arguments["step_id"]
            _check_step_id(step_id)

            flows = [v for v in bound.arguments.values() if isinstance(v, Dataflow)]
            flows += [s._flow for _, s in streams if s._flow is not None]
            if not flows:
                raise TypeError(f"operator {op_type!r} needs a `Stream` or a `Dataflow` "
                                f"argument to know which dataflow to add to")
            flow = flows[0]
            if any(f is not flow for f in flows):
                raise ValueError(f"operator {op_type!r} was given streams of several dataflows")
            _check_scopes(*[s for _, s in streams])

            gflow = flow._flow
            outer = flow._scope()
            inner = f"{outer}.{step_id}"
            gflow.begin_operator(step_id, op_type)
            try:
                _raise_build_mistake(gflow)
                for name, s in streams:
                    gflow.add_operator_input(name, s._stream)
                for name in ups_names:
                    param = sig.parameters[name]
                    val = bound.arguments[name]
                    if param.kind == Parameter.VAR_POSITIONAL:
                        bound.arguments[name] = tuple(s._with_scope(inner) for s in val)
                    elif param.kind == Parameter.VAR_KEYWORD:
                        bound.arguments[name] = {k: s._with_scope(inner) for k, s in val.items()}
                    else:
                        bound.arguments[name] = val._with_scope(inner)
                bound.arguments["step_id"] = inner
                values = _op_values(sig, bound, inner, ups_names)
                values["step_name"] = step_id
                flow._scopes.append(inner)
                try:
                    out = builder(*bound.args, **bound.kwargs)
                finally:
                    flow._scopes.pop()
                values.update(_op_out_values(out, inner))

                if isinstance(out, Stream):
                    gflow.add_operator_output("down", out._stream)
                    out = out._with_scope(outer)
                elif out is not None and dataclasses.is_dataclass(out):
                    changes = {}
                    for fld in dataclasses.fields(out):
                        val = getattr(out, fld.name)
                        if isinstance(val, Stream):
                            gflow.add_operator_output(fld.name, val._stream)
                            changes[fld.name] = val._with_scope(outer)
                    out = dataclasses.replace(out, **changes)
            finally:
                gflow.end_operator()
            _raise_build_mistake(gflow)
            flow._ops[inner] = (cls, {k: v for k, v in values.items() if k in cls_fields})
            return out

        cls_fields = {f.name for f in dataclasses.fields(cls)}
        fn._op_cls = cls
        return fn

    if builder is not None:
        return deco(builder)
    return deco
