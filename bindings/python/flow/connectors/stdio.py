# SPDX-License-Identifier: LGPL-2.1-or-later
"""Connectors to the console, as :mod:`bytewax.connectors.stdio`."""

import sys
from typing import Any, List

from ..outputs import DynamicSink, StatelessSinkPartition

__all__ = ["StdOutSink"]


class _PrintSinkPartition(StatelessSinkPartition[Any]):
    def write_batch(self, items: List[Any]) -> None:
        out = sys.stdout
        for item in items:
            out.write(f"{item}\n")
        out.flush()


class StdOutSink(DynamicSink[Any]):
    """Prints each item on its own line, as ``print(item)`` does (so a
    ``str`` item is printed without quotes, a tuple as its repr). It is
    at-least-once: after a resume, the items of the replayed epoch are
    printed again.

    (``Flow.StdOutSink`` of the GObject-Introspection API prints the repr
    of every item instead, identically from every language.)
    """

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _PrintSinkPartition:
        """A partition printing to this process's standard output."""
        return _PrintSinkPartition()
