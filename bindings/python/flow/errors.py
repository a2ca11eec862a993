# SPDX-License-Identifier: LGPL-2.1-or-later
"""Errors of a run, as :mod:`bytewax.errors`.

An exception raised by user code while a dataflow runs (a function given
to an operator, a method of a source or sink) stops the run, and
:func:`flow.testing.run_main`, :func:`flow.run.cli_main` and
``python3 -m flow.run`` raise it as a :class:`FlowRuntimeError` whose
message names the step (its full id, and the key where there is one) and
whose ``__cause__`` is the user's exception::

    try:
        run_main(flow)
    except FlowRuntimeError as e:
        print(e)                  # map step 'df.parse' failed on item 'x': ValueError: ...
        raise e.__cause__         # the ValueError the mapper raised

(The GObject-Introspection API, ``Flow.Runner.run()``, re-raises the
user's exception itself, with a note naming the step.)
"""

__all__ = ["FlowRuntimeError"]


class FlowRuntimeError(RuntimeError):
    """A :class:`RuntimeError` raised by a run that user code made fail;
    its ``__cause__`` is the exception the user code raised."""


class _InputError(FlowRuntimeError, ValueError):
    """Input a connector cannot read (libflow's ``INVALID_INPUT`` and
    ``INPUT_CHANGED``): both a FlowRuntimeError and a ValueError, so that
    scripts catching either see it."""


_NOTE_PREFIX = "libflow: "


def _describe(exc):
    try:
        text = str(exc)
    except Exception:
        text = ""
    name = type(exc).__qualname__
    return f"{name}: {text}" if text else name


def _where(exc):
    """Where a run failed, from the note the Flow override adds to an
    exception raised by user code; None if it has no such note."""
    for note in reversed(getattr(exc, "__notes__", None) or ()):
        if isinstance(note, str) and note.startswith(_NOTE_PREFIX):
            return note[len(_NOTE_PREFIX):]
    return None


def _wrap_user_error(exc):
    """The FlowRuntimeError for an exception that user code raised during
    a run (its cause), or None if ``exc`` did not come from user code."""
    if isinstance(exc, FlowRuntimeError):
        return None
    where = _where(exc)
    if where is None:
        return None
    err = FlowRuntimeError(f"{where}: {_describe(exc)}")
    err.__cause__ = exc
    err._flow_user_error = True     # python3 -m flow.run shows the traceback
    return err
