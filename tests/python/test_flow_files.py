# SPDX-License-Identifier: LGPL-2.1-or-later
"""flow.connectors.files: DirSource, DirSink and CSVSource (libflow's C
connectors) with Bytewax's signatures, across resumes."""

import csv
from datetime import timedelta

import pytest

import flow.operators as op
from flow.connectors.files import CSVSource, DirSink, DirSource, FileSource
from flow.dataflow import Dataflow
from flow.errors import FlowRuntimeError
from flow.recovery import RecoveryConfig, init_db_dir
from flow.testing import TestingSink, TestingSource, run_main

ZERO = timedelta(0)


@pytest.fixture
def config(tmp_path):
    db = tmp_path / "db"
    init_db_dir(db, 1)
    return RecoveryConfig(db)


def read_dir(tmp_path, pattern="*", batch_size=1000, config=None):
    out = []
    flow = Dataflow("df")
    s = op.input("inp", flow, DirSource(tmp_path, pattern, batch_size=batch_size))
    op.output("out", s, TestingSink(out))
    run_main(flow, epoch_interval=ZERO, recovery_config=config)
    return out


def test_dir_source_glob_and_resume(tmp_path, config):
    data = tmp_path / "in"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("a1\na2\n")
    (data / "sub" / "b.txt").write_text("b1\n")
    (data / "c.log").write_text("c1\n")
    assert sorted(read_dir(data, "*.txt")) == ["a1", "a2"]
    assert sorted(DirSource(data, "**/*.txt", get_fs_id=lambda _d: "fs").list_parts()) == [
        "fs::a.txt", "fs::sub/b.txt"]

    assert sorted(read_dir(data, "**/*.txt", config=config)) == ["a1", "a2", "b1"]
    with open(data / "a.txt", "a") as f:
        f.write("a3\n")
    (data / "sub" / "d.txt").write_text("d1\n")
    # Only what is new: the grown file's new line, the new file.
    assert sorted(read_dir(data, "**/*.txt", config=config)) == ["a3", "d1"]


def test_get_fs_id_names_the_partitions_as_bytewax(tmp_path):
    (tmp_path / "a.txt").write_text("a1\n")
    seen = []

    def fs_id(directory):
        seen.append(directory)
        return "SHARED"

    # Called with the directory (of the file) when the source is made.
    source = DirSource(tmp_path, get_fs_id=fs_id)
    assert seen == [tmp_path]
    assert source.list_parts() == ["SHARED::a.txt"]
    part = source.build_part("s", "SHARED::a.txt", None)
    assert part.next_batch() == ["a1"]
    part.close()

    source = FileSource(tmp_path / "a.txt", get_fs_id=fs_id)
    assert seen[-1] == tmp_path
    assert source.list_parts() == [f"SHARED::{tmp_path / 'a.txt'}"]
    with pytest.raises(ValueError, match="Can't resume reading from different file"):
        source.build_part("s", "SHARED::/elsewhere/a.txt", None)

    # By default, the device of the filesystem (as Bytewax's).
    dev = hex(tmp_path.stat().st_dev)
    assert DirSource(tmp_path).list_parts() == [f"{dev}::a.txt"]
    assert CSVSource(tmp_path / "a.txt").list_parts() == [f"{dev}::{tmp_path / 'a.txt'}"]


def test_get_fs_id_result_is_checked(tmp_path):
    with pytest.raises(ValueError, match=r"result of `get_fs_id` must not contain `::`; "
                                         r"got 'a::b'"):
        DirSource(tmp_path, get_fs_id=lambda _d: "a::b")
    with pytest.raises(TypeError, match="result of `get_fs_id` must be a `str`"):
        FileSource(tmp_path / "x", get_fs_id=lambda _d: 7)
    with pytest.raises(TypeError, match="get_fs_id must be a function"):
        FileSource(tmp_path / "x", get_fs_id="fs")


def test_dir_source_checks_its_arguments(tmp_path):
    with pytest.raises(ValueError, match="batch_size"):
        DirSource(tmp_path, batch_size=0)
    with pytest.raises(ValueError, match="glob_pat"):
        DirSource(tmp_path, "")


def test_dir_sink_default_routing_is_stable_and_exactly_once(tmp_path, config):
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def run(items):
        flow = Dataflow("df")
        s = op.input("inp", flow, TestingSource(items))
        op.output("out", s, DirSink(out_dir, 3))
        run_main(flow, epoch_interval=ZERO, recovery_config=config)

    items = [(f"k{i % 7}", f"v{i}") for i in range(30)]
    run(items)
    files = {p.name: p.read_text().split() for p in out_dir.iterdir()}
    assert sorted(files) == ["part_0", "part_1", "part_2"]
    assert sorted(sum(files.values(), [])) == sorted(v for _, v in items)
    where = {v: name for name, vs in files.items() for v in vs}
    for k in range(7):
        assert len({where[v] for key, v in items if key == f"k{k}"}) == 1

    # Resumed with the same input and more: only the new items are added.
    more = items + [(f"k{i % 7}", f"w{i}") for i in range(5)]
    run(more)
    files2 = {p.name: p.read_text().split() for p in out_dir.iterdir()}
    assert sorted(sum(files2.values(), [])) == sorted(v for _, v in more)


def test_dir_sink_names_and_checks(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        DirSink(tmp_path / "nope", 2)
    with pytest.raises(ValueError, match="same name twice"):
        DirSink(tmp_path, 2, file_namer=lambda i, n: "x")
    with pytest.raises(ValueError, match="inside the directory"):
        DirSink(tmp_path, 1, file_namer=lambda i, n: "../x")
    sink = DirSink(tmp_path, 2, file_namer=lambda i, n: f"out-{i}-of-{n}.txt")
    assert sink.list_parts() == ["out-0-of-2.txt", "out-1-of-2.txt"]


def read_csv(path, config=None, **fmtparams):
    out = []
    flow = Dataflow("df")
    op.output("out", op.input("inp", flow, CSVSource(path, batch_size=1, **fmtparams)),
              TestingSink(out))
    run_main(flow, epoch_interval=ZERO, recovery_config=config)
    return out


@pytest.mark.parametrize("fmtparams,text", [
    ({}, 'a,b\n"x, y","say ""hi"""\n'),
    ({"dialect": "excel-tab"}, 'a\tb\n"x, y"\t"say ""hi"""\n'),
    ({"delimiter": ";", "quotechar": "'"}, "a;b\n'x, y';'say \"hi\"'\n"),
    ({"dialect": "unix"}, '"a","b"\n"x, y","say ""hi"""\n'),
    ({"quoting": csv.QUOTE_NONE, "escapechar": "\\", "delimiter": "|"},
     'a|b\nx, y|say "hi"\n'),
])
def test_csv_source_matches_dict_reader(tmp_path, fmtparams, text):
    path = tmp_path / "t.csv"
    path.write_text(text)
    with open(path, newline="") as f:
        expected = list(csv.DictReader(f, **fmtparams))
    assert read_csv(path, **fmtparams) == expected == [{"a": "x, y", "b": 'say "hi"'}]


def test_csv_source_short_rows_empty_lines_and_resume(tmp_path, config):
    path = tmp_path / "t.csv"
    path.write_text('a,b\n1,2\n\n3\n"multi\nline",4\n')
    with open(path, newline="") as f:
        expected = list(csv.DictReader(f))
    assert read_csv(path, config=config) == expected
    with open(path, "a") as f:
        f.write("5,6\n")
    assert read_csv(path, config=config) == [{"a": "5", "b": "6"}]


def test_csv_source_long_row_stops_the_run(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2,3\n")
    with pytest.raises(FlowRuntimeError, match="row 2 has 3 fields, but the header has 2"):
        read_csv(path)


def test_csv_source_refuses_what_it_cannot_do(tmp_path):
    path = tmp_path / "t.csv"
    with pytest.raises(ValueError, match="QUOTE_NONNUMERIC"):
        CSVSource(path, quoting=csv.QUOTE_NONNUMERIC)
    with pytest.raises(TypeError, match="fieldnames"):
        CSVSource(path, fieldnames=["a"])
    with pytest.raises(ValueError, match="one ASCII character"):
        CSVSource(path, delimiter="é")
    with pytest.raises(TypeError, match="bad CSV format parameters"):
        CSVSource(path, dialect="no-such-dialect")
