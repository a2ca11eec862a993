# SPDX-License-Identifier: LGPL-2.1-or-later
"""Connectors to local files, as :mod:`bytewax.connectors.files`."""

from pathlib import Path

from .._gi import Flow
from ..inputs import Source
from ..outputs import Sink

__all__ = ["FileSink", "FileSource"]


class FileSource(Source):
    """Reads the lines of a text file, without their line ends, as ``str``
    items, ``batch_size`` lines at a time.

    It resumes at the byte offset of its last snapshot; a file that was
    truncated or replaced since is read again from its start.

    A record is never split. By default the file is complete when it is
    read: a last line without a line end is emitted, and a later run that
    finds that line continued (rather than ended by a line end) raises
    :class:`ValueError` naming the file and byte offset. With
    ``hold_partial=True`` the file may still be growing: such a line is
    held back and emitted whole by a later run, once it has its line end.

    A line that is not UTF-8 text raises :class:`ValueError` naming the
    file, the line number and its byte offset.
    """

    def __init__(self, path, batch_size=1000, *, hold_partial=False):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, not {batch_size!r}")
        self.path = Path(path)
        self._source = Flow.FileSource.new(str(self.path))
        self._source.set_batch_size(batch_size)
        self._source.set_hold_partial(bool(hold_partial))

    def _to_flow_source(self):
        return self._source


class _FileSinkPartition(Flow.SinkPartition):
    def __init__(self, inner):
        super().__init__()
        self._inner = inner

    def do_write_batch(self, items):
        # Bytewax writes the value of each (key, value) item.
        values = []
        for item in items:
            if item.get_type_string() == "(sv)":
                item = item.get_child_value(1).get_variant()
            values.append(item)
        self._inner.write_batch(values)

    def do_snapshot(self):
        return self._inner.snapshot()

    def do_close(self):
        self._inner.close()


class _FileSink(Flow.Sink):
    def __init__(self, inner):
        super().__init__()
        self._inner = inner

    def do_list_parts(self):
        return self._inner.list_parts()

    def do_build_part(self, step_id, part_key, resume_state):
        return _FileSinkPartition(self._inner.build_part(step_id, part_key, resume_state))


class FileSink(Sink):
    """Writes each item to a file, one line per item.

    Like Bytewax's, it takes ``(key, value)`` items and writes the value
    (other items are written whole): a ``str`` as it is, anything else as
    its repr.

    It is exactly-once across a resume: each snapshot records the byte
    offset reached (after making the file durable), and a resumed run
    truncates the file back to it before writing. A run that does not
    resume appends to the file.
    """

    def __init__(self, path, end="\n"):
        if end != "\n":
            raise ValueError("FileSink only writes lines ending with '\\n'")
        self.path = Path(path)
        self._sink = _FileSink(Flow.FileSink.new(str(self.path)))

    def _to_flow_sink(self):
        return self._sink
