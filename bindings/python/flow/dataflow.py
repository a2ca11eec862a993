# SPDX-License-Identifier: LGPL-2.1-or-later
"""Dataflows and streams, as :mod:`bytewax.dataflow`.

A :class:`Dataflow` is built with the functions of :mod:`flow.operators`,
each of which takes the :class:`Stream` it consumes and returns the one it
produces::

    flow = Dataflow("my_flow")
    nums = op.input("inp", flow, TestingSource([1, 2, 3]))
    doubled = op.map("double", nums, lambda x: x * 2)
    op.output("out", doubled, StdOutSink())
"""

from ._gi import Flow, is_flow_error

__all__ = ["Dataflow", "Stream"]

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


class Dataflow:
    """A dataflow: a named graph of steps, built with
    :mod:`flow.operators` and run with :mod:`flow.run` or
    :func:`flow.testing.run_main`.

    The ``flow_id`` is the first part of every step's full id
    (``flow_id.step_id``) and what recovery partitions are tied to; it
    may not be empty or contain a ``.``.
    """

    __slots__ = ("flow_id", "_flow")

    def __init__(self, flow_id):
        if not isinstance(flow_id, str):
            raise TypeError(f"a dataflow id must be a str, not {type(flow_id).__qualname__}")
        if not flow_id or "." in flow_id:
            raise ValueError(f"dataflow id {flow_id!r} must not be empty or contain a '.'")
        self.flow_id = flow_id
        self._flow = Flow.Dataflow.new(flow_id)

    def __repr__(self):
        return f"Dataflow(flow_id={self.flow_id!r})"

    def steps(self):
        """The full ids of the steps, in the order they were added."""
        return list(self._flow.list_steps())

    def to_gi(self):
        """The underlying ``Flow.Dataflow`` (GObject-Introspection API)."""
        return self._flow


class Stream:
    """The output of a step: a stream of items.

    Streams are made by the functions of :mod:`flow.operators`;
    :meth:`then` chains them fluently::

        nums.then(op.map, "double", lambda x: x * 2)
    """

    __slots__ = ("_stream", "flow")

    def __init__(self, stream, flow):
        self._stream = stream
        self.flow = flow

    @property
    def stream_id(self):
        """The full id of the step that produces the stream."""
        return self._stream.get_step_id()

    def __repr__(self):
        return f"Stream(stream_id={self.stream_id!r})"

    def then(self, op_fn, step_id, *args, **kwargs):
        """Applies the operator ``op_fn`` to this stream:
        ``op_fn(step_id, self, *args, **kwargs)``."""
        return op_fn(step_id, self, *args, **kwargs)

    def to_gi(self):
        """The underlying ``Flow.Stream`` (GObject-Introspection API)."""
        return self._stream


def _gi_stream(up, what="up"):
    if isinstance(up, Stream):
        return up._stream
    if isinstance(up, Flow.Stream):
        return up
    raise TypeError(f"{what} must be a Stream, not {type(up).__qualname__}")


def _gi_flow(flow):
    if isinstance(flow, Dataflow):
        return flow._flow
    if isinstance(flow, Flow.Dataflow):
        return flow
    raise TypeError(f"flow must be a Dataflow, not {type(flow).__qualname__}")


def _wrap(stream, up_or_flow):
    flow = up_or_flow.flow if isinstance(up_or_flow, Stream) else up_or_flow
    return Stream(stream, flow)

