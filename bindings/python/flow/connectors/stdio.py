# SPDX-License-Identifier: LGPL-2.1-or-later
"""Connectors to the console, as :mod:`bytewax.connectors.stdio`."""

import sys

from ..outputs import DynamicSink, StatelessSinkPartition

__all__ = ["StdOutSink"]


class _PrintSinkPartition(StatelessSinkPartition):
    def write_batch(self, items):
        out = sys.stdout
        for item in items:
            out.write(f"{item}\n")
        out.flush()


class StdOutSink(DynamicSink):
    """Prints each item on its own line, as ``print(item)`` does (so a
    ``str`` item is printed without quotes, a tuple as its repr). It is
    at-least-once: after a resume, the items of the replayed epoch are
    printed again.

    (``Flow.StdOutSink`` of the GObject-Introspection API prints the repr
    of every item instead, identically from every language.)
    """

    def build(self, step_id, worker_index, worker_count):
        return _PrintSinkPartition()
