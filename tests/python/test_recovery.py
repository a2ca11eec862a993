# SPDX-License-Identifier: LGPL-2.1-or-later
"""Bytewax-style recovery through flow.testing.run_main, and the recovery
errors and tool of flow.recovery."""

import datetime
import shutil

import pytest

import flow.operators as op
from conftest import run_python
from flow.dataflow import Dataflow
from flow.recovery import (ForeignPartitionsError, InconsistentPartitionsError,
                           MissingPartitionsError, NoPartitionsError, PartitionsExistError,
                           PartitionsTooOldError, RecoveryConfig, init_db_dir)
from flow.testing import TestingSink, TestingSource, run_main

ZERO_TD = datetime.timedelta(seconds=0)


def running_sum_flow(inp, out, flow_id="test_df"):
    """inp -> key "ALL" -> running sum -> out."""
    flow = Dataflow(flow_id)
    s = op.input("inp", flow, TestingSource(inp))
    keyed = op.key_on("key", s, lambda _: "ALL")
    sums = op.stateful_map("running_sum", keyed, lambda: 0, lambda acc, x: (acc + x, acc + x))
    op.output("out", sums, TestingSink(out))
    return flow


@pytest.fixture
def recovery_config(tmp_path):
    db = tmp_path / "db"
    db.mkdir()
    init_db_dir(db, 1)
    return RecoveryConfig(db)


def test_abort_before_any_snapshot_replays_all_input(recovery_config):
    out = []
    flow = running_sum_flow([0, 1, 2, TestingSource.ABORT(), 3, 4], out)
    # Epochs of 10 minutes: the abort comes before the first snapshot.
    interval = datetime.timedelta(minutes=10)
    run_main(flow, epoch_interval=interval, recovery_config=recovery_config)
    assert out == [("ALL", 0), ("ALL", 1), ("ALL", 3)]
    out.clear()
    # Nothing was committed: all input again, from a fresh state. The abort
    # triggers once per source.
    run_main(flow, epoch_interval=interval, recovery_config=recovery_config)
    assert out == [("ALL", 0), ("ALL", 1), ("ALL", 3), ("ALL", 6), ("ALL", 10)]


def test_abort_after_snapshots_resumes_after_the_last_one(recovery_config):
    out = []
    flow = running_sum_flow([0, 1, 2, TestingSource.ABORT(), 3, 4], out)
    run_main(flow, epoch_interval=ZERO_TD, recovery_config=recovery_config)
    assert out == [("ALL", 0), ("ALL", 1), ("ALL", 3)]
    out.clear()
    run_main(flow, epoch_interval=ZERO_TD, recovery_config=recovery_config)
    # The state came back (the sums go on from 3), and the items of the
    # committed epochs were not replayed. (At-least-once: the items of an
    # epoch whose commit was still in flight at the abort may be.)
    full = [("ALL", 0), ("ALL", 1), ("ALL", 3), ("ALL", 6), ("ALL", 10)]
    assert out[-2:] == [("ALL", 6), ("ALL", 10)]
    assert out == full[len(full) - len(out):]
    assert len(out) <= 3


def test_continuation_after_eof(recovery_config):
    out = []
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([0, 1, 2, TestingSource.EOF(), 3, 4]))
    op.output("out", s, TestingSink(out))
    run_main(flow, epoch_interval=ZERO_TD, recovery_config=recovery_config)
    assert out == [0, 1, 2]
    out.clear()
    run_main(flow, epoch_interval=ZERO_TD, recovery_config=recovery_config)
    assert out == [3, 4]
    out.clear()
    run_main(flow, epoch_interval=ZERO_TD, recovery_config=recovery_config)
    assert out == []


def test_state_survives_eof_and_changed_input_is_new_data(recovery_config):
    out = []
    run_main(running_sum_flow([0, 1, 2], out), recovery_config=recovery_config)
    assert out == [("ALL", 0), ("ALL", 1), ("ALL", 3)]
    out.clear()
    # The seed tutorial's second run: other input, restored state.
    run_main(running_sum_flow([3, 4], out), recovery_config=recovery_config)
    assert out == [("ALL", 6), ("ALL", 10)]
    out.clear()
    # The same input again is consumed already.
    run_main(running_sum_flow([3, 4], out), recovery_config=recovery_config)
    assert out == []
    # Grown input: only what is new.
    run_main(running_sum_flow([3, 4, 5], out), recovery_config=recovery_config)
    assert out == [("ALL", 15)]


def test_without_recovery_nothing_is_kept():
    out = []
    flow = running_sum_flow([1, 2], out)
    run_main(flow)
    run_main(flow)
    assert out == [("ALL", 1), ("ALL", 3), ("ALL", 1), ("ALL", 3)]


def _keyed_flow(inp, out):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp))
    keyed = op.key_on("key", s, lambda kv: kv[0])
    sums = op.stateful_map("sum", keyed, lambda: 0, lambda acc, kv: (acc + kv[1], acc + kv[1]))
    op.output("out", sums, TestingSink(out))
    return flow


KEYS = [f"k{i}" for i in range(8)]
SEGMENTED = ([(k, 1) for k in KEYS] + [TestingSource.EOF()]
             + [(k, 10) for k in KEYS] + [TestingSource.EOF()])


@pytest.mark.parametrize("backup_interval,resumes", [
    (datetime.timedelta(hours=1), True),
    (ZERO_TD, False),
])
def test_delayed_backup(tmp_path, backup_interval, resumes):
    """One partition restored from an older backup resumes together with a
    newer one only while the backup interval keeps the snapshots it needs."""
    db = tmp_path / "db"
    db.mkdir()
    init_db_dir(db, 2)
    rc = RecoveryConfig(db, backup_interval=backup_interval)
    out = []
    run_main(_keyed_flow(SEGMENTED, out), epoch_interval=ZERO_TD, recovery_config=rc)
    assert sorted(out) == [(k, 1) for k in KEYS]
    backup = tmp_path / "backup"
    backup.mkdir()
    shutil.copy(db / "part-0.sqlite3", backup)          # the backup, taken now
    out.clear()
    run_main(_keyed_flow(SEGMENTED, out), epoch_interval=ZERO_TD, recovery_config=rc)
    assert sorted(out) == [(k, 11) for k in KEYS]

    # part-0 is lost and restored from the older backup.
    shutil.copy(backup / "part-0.sqlite3", db / "part-0.sqlite3")
    out.clear()
    if resumes:
        # Both partitions resume from the epoch of the backup: the second
        # segment is replayed on the state as of then.
        run_main(_keyed_flow(SEGMENTED, out), epoch_interval=ZERO_TD, recovery_config=rc)
        assert sorted(out) == [(k, 11) for k in KEYS]
    else:
        before = {p.name: p.read_bytes() for p in db.iterdir()}
        with pytest.raises(PartitionsTooOldError) as info:
            run_main(_keyed_flow(SEGMENTED, out), epoch_interval=ZERO_TD, recovery_config=rc)
        assert isinstance(info.value, InconsistentPartitionsError)
        assert "part-0.sqlite3" in str(info.value)
        assert out == []
        assert {p.name: p.read_bytes() for p in db.iterdir()} == before


# --- errors ------------------------------------------------------------------

def test_no_partitions(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = []
    with pytest.raises(NoPartitionsError) as info:
        run_main(running_sum_flow([1], out), recovery_config=RecoveryConfig(empty))
    assert isinstance(info.value, FileNotFoundError)
    assert str(empty) in str(info.value)
    assert out == []
    assert list(empty.iterdir()) == []


def test_missing_partitions(tmp_path):
    db = tmp_path / "db"
    db.mkdir()
    init_db_dir(db, 3)
    (db / "part-1.sqlite3").unlink()
    with pytest.raises(MissingPartitionsError) as info:
        run_main(running_sum_flow([1], []), recovery_config=RecoveryConfig(db))
    assert isinstance(info.value, FileNotFoundError)
    assert "part-1" in str(info.value)
    assert sorted(p.name for p in db.iterdir()) == ["part-0.sqlite3", "part-2.sqlite3"]


def test_inconsistent_partitions(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    init_db_dir(a, 2)
    init_db_dir(b, 3)
    shutil.copy(b / "part-1.sqlite3", a / "part-1.sqlite3")   # one of 3 among 2
    with pytest.raises(InconsistentPartitionsError) as info:
        run_main(running_sum_flow([1], []), recovery_config=RecoveryConfig(a))
    assert "part-1.sqlite3" in str(info.value)


def test_partitions_of_another_dataflow(recovery_config):
    run_main(running_sum_flow([1], [], flow_id="first"), recovery_config=recovery_config)
    before = (recovery_config.db_dir / "part-0.sqlite3").read_bytes()
    out = []
    with pytest.raises(ForeignPartitionsError) as info:
        run_main(running_sum_flow([1], out, flow_id="second"), recovery_config=recovery_config)
    assert isinstance(info.value, InconsistentPartitionsError)
    assert "first" in str(info.value)
    assert out == []
    assert (recovery_config.db_dir / "part-0.sqlite3").read_bytes() == before


def test_init_db_dir_creates_the_directory_but_not_its_parents(tmp_path):
    init_db_dir(tmp_path / "new", 1)
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["part-0.sqlite3"]
    with pytest.raises(FileNotFoundError, match="parent"):
        init_db_dir(tmp_path / "missing" / "db", 1)
    assert not (tmp_path / "missing").exists()


def test_init_db_dir_errors(tmp_path):
    for bad in (0, -1, "2", 1.0, True):
        with pytest.raises(ValueError):
            init_db_dir(tmp_path, bad)
    assert list(tmp_path.iterdir()) == []
    init_db_dir(tmp_path, 2)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert sorted(before) == ["part-0.sqlite3", "part-1.sqlite3"]
    with pytest.raises(PartitionsExistError):
        init_db_dir(tmp_path, 2)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


# --- python3 -m flow.recovery ----------------------------------------------------

def test_recovery_tool_creates_partitions(tmp_path):
    r = run_python("-m", "flow.recovery", tmp_path, 3)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "part-0.sqlite3", "part-1.sqlite3", "part-2.sqlite3"]


def test_recovery_tool_creates_the_directory(tmp_path):
    r = run_python("-m", "flow.recovery", "db_dir/", "1", cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert [p.name for p in (tmp_path / "db_dir").iterdir()] == ["part-0.sqlite3"]


@pytest.mark.parametrize("args,message", [
    (["missing/db_dir", "1"], "parent"),
    (["db_dir", "0"], "positive"),
    ([".", "0"], "positive"),
    ([".", "x"], "integer"),
    ([".", "-3"], "positive"),
    (["."], "part_count"),
])
def test_recovery_tool_errors_touch_nothing(tmp_path, args, message):
    r = run_python("-m", "flow.recovery", *args, cwd=tmp_path)
    assert r.returncode != 0
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_recovery_tool_refuses_existing_partitions(tmp_path):
    init_db_dir(tmp_path, 1)
    before = (tmp_path / "part-0.sqlite3").read_bytes()
    r = run_python("-m", "flow.recovery", tmp_path, 2)
    assert r.returncode != 0
    assert "already" in r.stderr
    assert "Traceback" not in r.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["part-0.sqlite3"]
    assert (tmp_path / "part-0.sqlite3").read_bytes() == before
