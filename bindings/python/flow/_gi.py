# SPDX-License-Identifier: LGPL-2.1-or-later
"""The GObject-Introspection API the flow package is built on."""

import sys
from datetime import datetime, timedelta, timezone

try:
    import gi
    gi.require_version  # noqa: B018 (a directory named gi/ is not PyGObject)
except (ImportError, AttributeError):
    raise ImportError(
        f"libflow's Python package needs PyGObject (the 'gi' module), which this Python "
        f"({sys.executable}) does not have; install python3-gi (Debian) and run the Python it "
        f"is for, such as /usr/bin/python3") from None

gi.require_version("GLib", "2.0")
gi.require_version("Flow", "1")

from gi.repository import GLib, Flow  # noqa: E402
from gi.overrides import Flow as _override  # noqa: E402

__all__ = ["Flow", "GLib", "is_flow_error", "run_now", "sink_partition"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def run_now():
    """The current time (an aware UTC ``datetime``) of the run being
    processed on this thread: its ``Flow.TestClock``'s if it has one, the
    system's otherwise (and outside a run)."""
    return _EPOCH + timedelta(microseconds=Flow.get_real_time())


def is_flow_error(error, *codes):
    """Whether ``error`` is a ``GLib.Error`` of libflow with one of
    ``codes`` (any code when none is given)."""
    if not isinstance(error, GLib.Error):
        return False
    if error.domain != GLib.quark_to_string(Flow.error_quark()):
        return False
    return not codes or error.code in [int(c) for c in codes]


class _SinkPartition(Flow.SinkPartition):
    def __init__(self, write_batch, snapshot, close):
        super().__init__()
        self._write_batch = write_batch
        self._snapshot = snapshot
        self._close = close

    def do_write_batch(self, items):
        from_variant = Flow.from_variant
        self._write_batch([from_variant(item) for item in items])

    def do_snapshot(self):
        return None if self._snapshot is None else self._snapshot()

    def do_close(self):
        if self._close is not None:
            self._close()


def sink_partition(write_batch, snapshot=None, close=None):
    """A ``Flow.SinkPartition`` that calls ``write_batch(values)`` once per
    batch with a list of plain Python values, ``snapshot()`` for its
    resume state (a plain value; ``None`` for none) and ``close()``.

    Made by the native fast path (which converts the batch in C) when it
    is available, by a Python subclass otherwise; exceptions stop the run
    and are re-raised from it either way.
    """
    native = getattr(_override._native, "sink_partition", None)
    if native is not None:
        return native(write_batch, snapshot, close)
    return _SinkPartition(write_batch, snapshot, close)
