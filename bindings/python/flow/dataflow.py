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
    """A step of a dataflow, as :attr:`Dataflow.substeps` lists them.

    ``step_name`` is the id it was given, ``step_id`` its full id,
    ``op_type`` its kind (``map``, … or the name of an :func:`operator`
    function), ``substeps`` the steps it is made of, ``ups`` and ``dwns``
    its input and output ports by name.
    """

    step_name: str
    step_id: str
    substeps: List["Operator"]
    op_type: str = ""
    ups: Dict[str, Port] = field(default_factory=dict)
    dwns: Dict[str, Port] = field(default_factory=dict)
    ups_names: ClassVar[List[str]] = []
    dwn_names: ClassVar[List[str]] = []


def _port(port_id, stream_ids):
    if len(stream_ids) == 1:
        return SinglePort(port_id, stream_ids[0])
    return MultiPort(port_id, dict(enumerate(stream_ids)))


def _operators_from(description):
    """The tree of Operators of a Flow.Dataflow.describe() result."""
    by_id = {}
    top = []
    for step in description["steps"]:
        node = Operator(
            step_name=step["name"],
            step_id=step["id"],
            substeps=[],
            op_type=step["type"],
            ups={name: _port(pid, ids) for name, pid, ids in step["inputs"]},
            dwns={name: _port(pid, ids) for name, pid, ids in step["outputs"]},
        )
        by_id[node.step_id] = node
        parent = by_id.get(step["parent"])
        (parent.substeps if parent is not None else top).append(node)
    return top


class Dataflow:
    """A dataflow: a named graph of steps, built with
    :mod:`flow.operators` and run with :mod:`flow.run` or
    :func:`flow.testing.run_main`.

    The ``flow_id`` is the first part of every step's full id
    (``flow_id.step_id``) and what recovery partitions are tied to; it
    may not be empty or contain a ``.``.
    """

    __slots__ = ("flow_id", "_flow", "_scopes")

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
        return _operators_from(self.describe())

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
        if "step_id" not in sig.parameters:
            raise TypeError("builder function requires a 'step_id' parameter")
        try:
            annos = typing.get_type_hints(builder)
        except Exception:
            annos = dict(getattr(builder, "__annotations__", {}))
        ups_names = [name for name in sig.parameters if _is_stream_anno(annos.get(name))]
        op_type = builder.__name__
        cls = dataclasses.make_dataclass(op_type, [], bases=(Operator,), frozen=True,
                                         namespace={"ups_names": list(ups_names),
                                                    "dwn_names": []})
        cls.__module__ = builder.__module__

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
                flow._scopes.append(inner)
                try:
                    out = builder(*bound.args, **bound.kwargs)
                finally:
                    flow._scopes.pop()

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
            return out

        fn._op_cls = cls
        return fn

    if builder is not None:
        return deco(builder)
    return deco
