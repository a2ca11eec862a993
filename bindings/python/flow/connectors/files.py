# SPDX-License-Identifier: LGPL-2.1-or-later
"""Connectors to local files, as :mod:`bytewax.connectors.files`.

All of them are libflow's C connectors (``Flow.FileSource``,
``Flow.DirSource``, ``Flow.CSVSource``, ``Flow.FileSink``,
``Flow.DirSink``), so they are exactly-once across resumes and read and
write the same way from every language.
"""

import csv
from pathlib import Path
from typing import Any, Callable, List, Optional

from .._gi import Flow, GLib
from ..inputs import FixedPartitionedSource, StatefulSourcePartition
from ..outputs import FixedPartitionedSink, StatefulSinkPartition, _FixedSink

__all__ = ["CSVSource", "DirSink", "DirSource", "FileSink", "FileSource"]


def _get_path_dev(path: Path) -> str:
    """The default ``get_fs_id``: the device of the filesystem of
    ``path`` (``os.stat_result.st_dev``), in hex, as Bytewax's."""
    return hex(path.stat().st_dev)


def _fs_id(get_fs_id, directory):
    """Calls ``get_fs_id(directory)`` and checks its result, as Bytewax
    does when a file source is made."""
    if get_fs_id is None:
        get_fs_id = _get_path_dev
    if not callable(get_fs_id):
        raise TypeError(f"get_fs_id must be a function, not {type(get_fs_id).__qualname__}")
    fs_id = get_fs_id(directory)
    if not isinstance(fs_id, str):
        raise TypeError(f"result of `get_fs_id` must be a `str`; got a {type(fs_id)!r} instead")
    if "::" in fs_id:
        raise ValueError(f"result of `get_fs_id` must not contain `::`; got {fs_id!r}")
    return fs_id


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, not {batch_size!r}")


class _GiSourcePartition(StatefulSourcePartition[Any, GLib.Variant]):
    """A partition of a libflow source, to drive by hand: its batches are
    plain values, its resume state the ``GLib.Variant`` libflow keeps."""

    def __init__(self, part):
        self._part = part

    def next_batch(self) -> List[Any]:
        batch = self._part.next_batch()
        if batch is None:
            raise StopIteration()
        return Flow.from_variant(batch)

    def snapshot(self) -> GLib.Variant:
        return self._part.snapshot()

    def close(self) -> None:
        self._part.close()


def _gi_resume(resume_state):
    if resume_state is None or isinstance(resume_state, GLib.Variant):
        return resume_state
    raise TypeError(f"the resume state of a file connector is the GLib.Variant its "
                    f"snapshot() returned, not a {type(resume_state).__qualname__}")


class _GiPartitioned(FixedPartitionedSource[Any, GLib.Variant]):
    """A FixedPartitionedSource over a libflow source (``self._source``)."""

    _fs_id = None

    def _part_name(self, key):
        """The name Bytewax gives the partition libflow names ``key``."""
        return f"{self._fs_id}::{key}"

    def _part_key(self, for_part):
        """The libflow key of the partition named ``for_part``."""
        return for_part.split("::", 1)[1] if "::" in for_part else for_part

    def list_parts(self) -> List[str]:
        """The partitions of the libflow source, named as Bytewax's:
        ``fs_id::name`` (the id of the filesystem :func:`get_fs_id`
        gave)."""
        return [self._part_name(key) for key in self._source.list_parts()]

    def build_part(self, step_id: str, for_part: str,
                   resume_state: Optional[GLib.Variant]) -> StatefulSourcePartition:
        """A partition to drive by hand (in a dataflow, the libflow source
        runs on its own, its partitions keyed by libflow's names)."""
        if not isinstance(for_part, str):
            raise TypeError(f"for_part must be a `str`, not {type(for_part).__qualname__}")
        return _GiSourcePartition(self._source.build_part(step_id, self._part_key(for_part),
                                                          _gi_resume(resume_state)))

    def _to_flow_source(self):
        return self._source


def _check_dir(dir_path, what):
    if not dir_path.exists():
        raise ValueError(f"{what} directory `{dir_path}` does not exist")
    if not dir_path.is_dir():
        raise ValueError(f"{what} directory `{dir_path}` is not a directory")


class DirSource(_GiPartitioned):
    """Reads the lines of the files of a directory, one partition per file
    (named by its path relative to the directory), as ``str`` items
    without their line ends, ``batch_size`` lines at a time.

    :arg dir_path: the directory; it must exist.
    :arg glob_pat: the files to read, as :meth:`pathlib.Path.glob` takes
        it (``*`` by default; ``**/*.txt`` for every ``.txt`` below).
    :arg batch_size: lines per batch.
    :arg get_fs_id: called with ``dir_path`` when the source is made; it
        returns the id of its filesystem (a ``str`` without ``::``; by
        default the device number of ``os.stat``), which prefixes the
        partition names :meth:`list_parts` gives (``fs_id::name``), as
        Bytewax's. (libflow runs in one process, which sees every file,
        so the id does not select which files are read; in a dataflow
        the partitions are keyed by their names alone.)

    Each file resumes at the byte offset of the last snapshot (a
    truncated or replaced file is read again from its start, a grown one
    read on); a file that appears later is read from its start.
    """

    def __init__(self, dir_path, glob_pat: str = "*", batch_size: int = 1000,
                 get_fs_id: Optional[Callable[[Path], str]] = None):
        dir_path = Path(dir_path)
        _check_dir(dir_path, "input")
        _check_batch_size(batch_size)
        if not isinstance(glob_pat, str) or not glob_pat:
            raise ValueError(f"glob_pat must be a non-empty str, not {glob_pat!r}")
        self._dir_path = dir_path
        self._glob_pat = glob_pat
        self._batch_size = batch_size
        self._fs_id = _fs_id(get_fs_id, dir_path)
        self._source = Flow.DirSource.new(str(dir_path), glob_pat)
        self._source.set_batch_size(batch_size)


def _csv_properties(fmtparams):
    """The Flow.CSVSource properties for csv module format parameters."""
    params = dict(fmtparams)
    for name in ("fieldnames", "restkey", "restval"):
        if name in params:
            raise TypeError(f"CSVSource does not take `{name}`: the first row is the "
                            f"header, rows with more fields are an error")
    try:
        dialect = csv.reader([], **params).dialect
    except (TypeError, csv.Error) as e:
        raise TypeError(f"bad CSV format parameters {fmtparams!r}: {e}") from e
    if dialect.quoting == csv.QUOTE_NONNUMERIC:
        raise ValueError("CSVSource does not support quoting=csv.QUOTE_NONNUMERIC: its "
                         "fields are strings")
    props = {
        "delimiter": dialect.delimiter,
        "quote_char": "" if dialect.quoting == csv.QUOTE_NONE or dialect.quotechar is None
                      else dialect.quotechar,
        "escape_char": dialect.escapechar or "",
        "double_quote": bool(dialect.doublequote),
        "skip_initial_space": bool(dialect.skipinitialspace),
        "strict": bool(dialect.strict),
    }
    for name in ("delimiter", "quote_char", "escape_char"):
        value = props[name]
        if value and (len(value) != 1 or not value.isascii() or value in "\r\n"):
            raise ValueError(f"CSVSource: {name.replace('_', '')} must be one ASCII "
                             f"character, not {value!r}")
    return props


class _OneFile(_GiPartitioned):
    """A libflow source of one file (``self.path``), whose partition
    Bytewax names ``fs_id::path``."""

    def _part_name(self, key):
        return f"{self._fs_id}::{self.path}"

    def _part_key(self, for_part):
        keys = list(self._source.list_parts()) or [self.path.name]
        if for_part in keys:
            return for_part
        path = for_part.split("::", 1)[1] if "::" in for_part else for_part
        if path != str(self.path):
            raise ValueError(f"Can't resume reading from different file: partition "
                             f"{for_part!r} is not of {str(self.path)!r}")
        return keys[0]


class CSVSource(_OneFile):
    """Reads a CSV file row by row as dicts keyed by the header's fields,
    as Bytewax's (a :class:`csv.DictReader`): ``{'index': '0', 'value':
    '0.132', ...}``. A row with fewer fields than the header has ``None``
    for the missing ones; one with more stops the run with an error
    naming the row; empty lines are skipped.

    :arg path: the CSV file.
    :arg batch_size: lines read per batch.
    :arg get_fs_id: called with the file's directory, as
        :class:`FileSource`'s.
    :arg fmtparams: the :mod:`csv` module's format parameters:
        ``dialect`` (``"excel"``, ``"excel-tab"``, ``"unix"`` or a
        :class:`csv.Dialect`), ``delimiter``, ``quotechar``,
        ``escapechar``, ``doublequote``, ``skipinitialspace``,
        ``quoting`` (``QUOTE_NONE`` turns quoting off) and ``strict``.

    It resumes exactly-once, at the byte offset of the last snapshot, in
    the middle of a row of several lines too.
    """

    def __init__(self, path, batch_size: int = 1000,
                 get_fs_id: Optional[Callable[[Path], str]] = None, **fmtparams):
        _check_batch_size(batch_size)
        self.path = Path(path)
        self._fs_id = _fs_id(get_fs_id, self.path.parent)
        props = _csv_properties(fmtparams)
        self._source = Flow.CSVSource(path=str(self.path), batch_size=batch_size, **props)


class FileSource(_OneFile):
    """Reads the lines of a text file, without their line ends, as ``str``
    items, ``batch_size`` lines at a time, in one partition.

    It resumes at the byte offset of its last snapshot; a file that was
    truncated or replaced since is read again from its start.
    ``get_fs_id`` is called with the file's directory when the source is
    made, and its result prefixes the partition's name, as Bytewax's
    (``fs_id::path``; see :class:`DirSource`).

    A record is never split. By default the file is complete when it is
    read: a last line without a line end is emitted, and a later run that
    finds that line continued (rather than ended by a line end) raises
    :class:`ValueError` naming the file and byte offset. With
    ``hold_partial=True`` the file may still be growing: such a line is
    held back and emitted whole by a later run, once it has its line end.

    A line that is not UTF-8 text raises :class:`ValueError` naming the
    file, the line number and its byte offset.
    """

    def __init__(self, path, batch_size=1000, get_fs_id=None, *, hold_partial=False):
        _check_batch_size(batch_size)
        self.path = Path(path)
        self._fs_id = _fs_id(get_fs_id, self.path.parent)
        self._source = Flow.FileSource.new(str(self.path))
        self._source.set_batch_size(batch_size)
        self._source.set_hold_partial(bool(hold_partial))


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


class FileSink(FixedPartitionedSink[Any, Any]):
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
        self._gi = Flow.FileSink.new(str(self.path))
        self._sink = _FileSink(self._gi)

    def list_parts(self) -> List[str]:
        """One partition."""
        return list(self._gi.list_parts())

    def build_part(self, step_id: str, for_part: str,
                   resume_state: Optional[Any]) -> StatefulSinkPartition:
        """The partition, to drive by hand; its resume state is the
        ``GLib.Variant`` its snapshot returned."""
        if isinstance(resume_state, int) and not isinstance(resume_state, bool):
            resume_state = GLib.Variant("t", resume_state)
        return _GiSinkPartition(self._sink.do_build_part(step_id, for_part,
                                                         _gi_resume(resume_state)))

    def _to_flow_sink(self):
        return self._sink


class _GiSinkPartition(StatefulSinkPartition[Any, GLib.Variant]):
    """A partition of a libflow sink, written with plain values."""

    def __init__(self, part):
        self._part = part

    def write_batch(self, values: List[Any]) -> None:
        self._part.write_batch([Flow.to_variant(v) for v in values])

    def snapshot(self) -> GLib.Variant:
        return self._part.snapshot()

    def close(self) -> None:
        self._part.close()


class DirSink(FixedPartitionedSink[Any, Any]):
    """Writes ``(key, value)`` items to ``file_count`` files of a
    directory, one partition per file, a line per value (a ``str`` as it
    is, anything else as its repr).

    :arg dir_path: the directory; it must exist.
    :arg file_count: the number of files.
    :arg file_namer: ``file_namer(i, file_count)`` names file ``i``;
        ``part_{i}`` by default.
    :arg assign_file: ``assign_file(key)`` picks the file of a key (taken
        modulo ``file_count``). By default libflow's own stable key hash
        routes the items, in C; with a function, routing goes through
        Python.
    :arg end: the line end; only ``"\\n"``.

    Each file is exactly-once across a resume: truncated back to the
    offset of the epoch the run resumes from.
    """

    def __init__(self, dir_path, file_count: int,
                 file_namer: Callable[[int, int], str] = lambda i, _n: f"part_{i}",
                 assign_file: Optional[Callable[[str], int]] = None, end: str = "\n"):
        if end != "\n":
            raise ValueError("DirSink only writes lines ending with '\\n'")
        if isinstance(file_count, bool) or not isinstance(file_count, int) or file_count < 1:
            raise ValueError(f"file_count must be a positive int, not {file_count!r}")
        dir_path = Path(dir_path)
        _check_dir(dir_path, "output")
        names = [file_namer(i, file_count) for i in range(file_count)]
        for name in names:
            if not isinstance(name, str) or not name or name.startswith("/") or ".." in name.split("/"):
                raise ValueError(f"file_namer must return a file name inside the directory, "
                                 f"not {name!r}")
        if len(set(names)) != len(names):
            raise ValueError(f"file_namer returned the same name twice: {names!r}")
        self._dir_path = dir_path
        self._names = names
        self._assign_file = assign_file
        self._sink = Flow.DirSink.new_with_names(str(dir_path), names)

    def list_parts(self) -> List[str]:
        """One partition per file."""
        return list(self._names)

    def part_fn(self, item_key: str) -> int:
        """The file of a key: ``assign_file(key)``, or
        :func:`zlib.adler32` of it without one (when routing in Python)."""
        if self._assign_file is not None:
            return self._assign_file(item_key)
        return super().part_fn(item_key)

    def build_part(self, step_id: str, for_part: str,
                   resume_state: Optional[Any]) -> StatefulSinkPartition:
        """The partition of file ``for_part``."""
        if isinstance(resume_state, int) and not isinstance(resume_state, bool):
            resume_state = GLib.Variant("t", resume_state)
        return _GiSinkPartition(self._sink.build_part(step_id, for_part,
                                                      _gi_resume(resume_state)))

    def _to_flow_sink(self):
        if self._assign_file is None:
            return self._sink
        return _FixedSink(self)
