# SPDX-License-Identifier: LGPL-2.1-or-later
"""Recovery, as :mod:`bytewax.recovery`.

A stateful dataflow snapshots its state into a fixed set of SQLite
*recovery partitions*; a later run against the same partitions resumes
from the last snapshot instead of re-reading all its input.

Create the partitions once (the directory is created if needed)::

    python3 -m flow.recovery db_dir/ 1

(or :func:`init_db_dir`), then run with them::

    python3 -m flow.run dataflow.py -r db_dir/ -s 30 -b 180

(or :func:`flow.testing.run_main` with a :class:`RecoveryConfig`).
``flow-recovery show db_dir/`` prints what they hold.
"""

import argparse
import sys
from datetime import timedelta
from pathlib import Path

from ._gi import Flow, GLib, is_flow_error

__all__ = [
    "CorruptPartitionError",
    "ForeignPartitionsError",
    "InconsistentPartitionsError",
    "MissingPartitionsError",
    "NoPartitionsError",
    "PartitionsExistError",
    "PartitionsTooOldError",
    "RecoveryConfig",
    "RecoveryError",
    "UnsupportedFormatError",
    "init_db_dir",
]


class RecoveryError(Exception):
    """Base of the errors about recovery partitions. ``code`` is the
    ``Flow.Error`` code; the ``GLib.Error`` of libflow is the cause."""

    code = None


class NoPartitionsError(RecoveryError, FileNotFoundError):
    """The recovery directory holds no partitions: it is the wrong
    directory, or it was not initialised with ``python3 -m flow.recovery``."""

    code = Flow.Error.NO_PARTITIONS


class MissingPartitionsError(RecoveryError, FileNotFoundError):
    """Some of the recovery partitions are missing."""

    code = Flow.Error.MISSING_PARTITIONS


class InconsistentPartitionsError(RecoveryError, ValueError):
    """The recovery partitions do not belong together (another partition
    count or index)."""

    code = Flow.Error.INCONSISTENT_PARTITIONS


class ForeignPartitionsError(InconsistentPartitionsError):
    """The recovery partitions belong to another dataflow."""

    code = Flow.Error.FOREIGN_PARTITIONS


class PartitionsTooOldError(InconsistentPartitionsError):
    """The recovery partitions are from times too far apart to resume
    without losing state (snapshots were garbage collected past the
    epoch the oldest one could resume from: raise the backup interval)."""

    code = Flow.Error.PARTITIONS_TOO_OLD


class CorruptPartitionError(RecoveryError, ValueError):
    """A recovery partition is not a valid libflow partition."""

    code = Flow.Error.CORRUPT_PARTITION


class UnsupportedFormatError(RecoveryError, ValueError):
    """A recovery partition has a format this libflow does not know."""

    code = Flow.Error.UNSUPPORTED_FORMAT


class PartitionsExistError(RecoveryError, FileExistsError):
    """The directory already holds recovery partitions."""

    code = Flow.Error.PARTITIONS_EXIST


_BY_CODE = {int(cls.code): cls for cls in (
    NoPartitionsError, MissingPartitionsError, InconsistentPartitionsError,
    ForeignPartitionsError, PartitionsTooOldError, CorruptPartitionError,
    UnsupportedFormatError, PartitionsExistError)}


def _translate(error):
    """The recovery exception for a ``GLib.Error`` of libflow, or None."""
    if not is_flow_error(error):
        return None
    cls = _BY_CODE.get(error.code)
    if cls is None:
        return None
    exc = cls(error.message)
    exc.__cause__ = error
    return exc


class RecoveryConfig:
    """Where and how to keep recovery snapshots.

    :arg db_dir: the directory of recovery partitions, created with
        :func:`init_db_dir` or ``python3 -m flow.recovery``.

    :arg backup_interval: how long to keep snapshots older than the
        newest (a :class:`datetime.timedelta`); set it to how often the
        partitions are backed up, so that partitions restored from a
        backup can still resume together. Defaults to zero.
    """

    def __init__(self, db_dir, backup_interval=None):
        if backup_interval is None:
            backup_interval = timedelta(0)
        elif not isinstance(backup_interval, timedelta):
            backup_interval = timedelta(seconds=float(backup_interval))
        if backup_interval < timedelta(0):
            raise ValueError(f"backup_interval must not be negative, not {backup_interval}")
        self.db_dir = Path(db_dir)
        self.backup_interval = backup_interval

    def __repr__(self):
        return f"RecoveryConfig(db_dir={str(self.db_dir)!r}, backup_interval={self.backup_interval!r})"


def init_db_dir(db_dir, count):
    """Creates ``count`` empty recovery partitions,
    ``part-0.sqlite3`` … ``part-{count-1}.sqlite3``, in the directory
    ``db_dir``, which is created if it does not exist yet (its parent
    must).

    :raises FileNotFoundError: if the parent of ``db_dir`` does not exist
    :raises PartitionsExistError: if it already holds partitions (they are
        left untouched)
    :raises ValueError: if ``count`` is not a positive integer
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"the number of partitions must be a positive integer, not {count!r}")
    path = Path(db_dir)
    created = False
    if not path.is_dir():
        try:
            path.mkdir()
        except FileNotFoundError:
            raise FileNotFoundError(
                f"cannot create recovery directory {str(db_dir)!r}: its parent "
                f"directory does not exist") from None
        created = True
    try:
        Flow.recovery_init_dir(str(path), count)
    except GLib.Error as e:
        if created:
            try:
                path.rmdir()
            except OSError:
                pass
        exc = _translate(e)
        if exc is None and is_flow_error(e, Flow.Error.INVALID_ARGUMENT):
            exc = ValueError(e.message)
        elif exc is None and is_flow_error(e, Flow.Error.IO):
            exc = OSError(e.message)
        if exc is None:
            raise
        raise exc from e


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {value}")
    return value


def _main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m flow.recovery",
        description="Create and init a set of empty recovery partitions.",
    )
    parser.add_argument("db_dir", type=Path,
                        help="Local directory to create partitions in (created if it "
                             "does not exist; its parent must)")
    parser.add_argument("part_count", type=_positive_int,
                        help="Number of partitions to create")
    args = parser.parse_args(argv)
    try:
        init_db_dir(args.db_dir, args.part_count)
    except (OSError, ValueError, RecoveryError) as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main())
