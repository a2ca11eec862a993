# SPDX-License-Identifier: LGPL-2.1-or-later
"""flow.inputs / flow.outputs subclasses, flow.connectors, flow.testing."""

import datetime
import os
import time
import zlib

import pytest

import flow.operators as op
from conftest import run_python
from flow.connectors.files import FileSink, FileSource
from flow.connectors.stdio import StdOutSink
from flow.dataflow import Dataflow
from flow.errors import FlowRuntimeError
from flow.inputs import (AbortExecution, DynamicSource, FixedPartitionedSource,
                         StatefulSourcePartition, StatelessSourcePartition, batch)
from flow.outputs import (DynamicSink, FixedPartitionedSink, StatefulSinkPartition,
                          StatelessSinkPartition)
from flow.recovery import RecoveryConfig, init_db_dir
from flow.testing import TestingSink, TestingSource, run_main

ZERO_TD = datetime.timedelta(seconds=0)


# --- inputs ------------------------------------------------------------------

class _RangePartition(StatefulSourcePartition):
    def __init__(self, name, stop, start, log):
        self._name = name
        self._next = start
        self._stop = stop
        self._log = log

    def next_batch(self):
        if self._next >= self._stop:
            raise StopIteration()
        item = f"{self._name}{self._next}"
        self._next += 1
        return [item]

    def snapshot(self):
        return {"next": self._next}

    def close(self):
        self._log.append(("close", self._name))


class RangeSource(FixedPartitionedSource):
    def __init__(self, stop, log):
        self._stop = stop
        self._log = log

    def list_parts(self):
        return ["a", "b"]

    def build_part(self, step_id, for_part, resume_state):
        self._log.append(("build", step_id, for_part, resume_state))
        start = 0 if resume_state is None else resume_state["next"]
        return _RangePartition(for_part, self._stop, start, self._log)


def test_fixed_partitioned_source_reads_every_partition():
    log, out = [], []
    flow = Dataflow("df")
    op.output("out", op.input("inp", flow, RangeSource(2, log)), TestingSink(out))
    run_main(flow)
    assert sorted(out) == ["a0", "a1", "b0", "b1"]
    assert ("build", "df.inp", "a", None) in log
    assert ("close", "a") in log and ("close", "b") in log


def test_fixed_partitioned_source_resumes_from_plain_resume_states(tmp_path):
    init_db_dir(tmp_path, 1)
    rc = RecoveryConfig(tmp_path)
    log, out = [], []
    flow = Dataflow("df")
    op.output("out", op.input("inp", flow, RangeSource(2, log)), TestingSink(out))
    run_main(flow, epoch_interval=ZERO_TD, recovery_config=rc)

    log2, out2 = [], []
    flow2 = Dataflow("df")
    op.output("out", op.input("inp", flow2, RangeSource(4, log2)), TestingSink(out2))
    run_main(flow2, epoch_interval=ZERO_TD, recovery_config=rc)
    assert ("build", "df.inp", "a", {"next": 2}) in log2
    assert sorted(out2) == ["a2", "a3", "b2", "b3"]


class _Stateless(StatelessSourcePartition):
    def __init__(self, items, awake_every=None):
        self._batches = batch(items, 2)
        self._awake_every = awake_every
        self.calls = []

    def next_batch(self):
        self.calls.append(time.monotonic())
        return next(self._batches)   # StopIteration at the end

    def next_awake(self):
        if self._awake_every is None or not self.calls:
            return None
        return datetime.datetime.now(datetime.timezone.utc) + self._awake_every


# The workers of the run_main() calls below (conftest.py: FLOW_TEST_WORKERS);
# a dynamic source or sink is built once per worker.
WORKERS = int(os.environ.get("FLOW_TEST_WORKERS", "1"))


class ListDynamicSource(DynamicSource):
    """Worker i of n reads items i, i + n, … (as Bytewax's examples shard)."""

    def __init__(self, items, awake_every=None):
        self.items = items
        self.awake_every = awake_every
        self.built = []
        self.parts = []

    def build(self, step_id, worker_index, worker_count):
        self.built.append((step_id, worker_index, worker_count))
        part = _Stateless(self.items[worker_index::worker_count], self.awake_every)
        self.parts.append(part)
        return part


def test_dynamic_source():
    src = ListDynamicSource([1, 2, 3])
    out = []
    flow = Dataflow("df")
    op.output("out", op.input("inp", flow, src), TestingSink(out))
    run_main(flow)
    assert sorted(out) == [1, 2, 3]
    assert sorted(src.built) == [("df.inp", i, WORKERS) for i in range(WORKERS)]


def test_next_awake_datetime_is_honoured():
    src = ListDynamicSource([1, 2, 3, 4], awake_every=datetime.timedelta(milliseconds=100))
    out = []
    flow = Dataflow("df")
    op.output("out", op.input("inp", flow, src), TestingSink(out))
    run_main(flow)
    assert sorted(out) == [1, 2, 3, 4]
    for part in src.parts:
        calls = part.calls
        assert all(b - a >= 0.09 for a, b in zip(calls, calls[1:]))


def test_source_exception_propagates():
    class Bad(StatelessSourcePartition):
        def next_batch(self):
            raise KeyError("gone")

    class BadSource(DynamicSource):
        def build(self, step_id, worker_index, worker_count):
            return Bad()

    flow = Dataflow("df")
    op.output("out", op.input("inp", flow, BadSource()), TestingSink([]))
    with pytest.raises(FlowRuntimeError, match="df.inp") as info:
        run_main(flow)
    assert isinstance(info.value.__cause__, KeyError)


def test_abort_execution_from_a_source_returns_from_run_main():
    class Aborting(StatelessSourcePartition):
        def __init__(self):
            self.n = 0

        def next_batch(self):
            self.n += 1
            if self.n == 3:
                raise AbortExecution()
            return [self.n]

    class AbortingSource(DynamicSource):
        def build(self, step_id, worker_index, worker_count):
            # Other workers (FLOW_TEST_WORKERS) read nothing.
            return Aborting() if worker_index == 0 else _Stateless([])

    out = []
    flow = Dataflow("df")
    op.output("out", op.input("inp", flow, AbortingSource()), TestingSink(out))
    run_main(flow)
    assert out == [1, 2]


# --- outputs -----------------------------------------------------------------

class _DictPartition(StatefulSinkPartition):
    def __init__(self, name, resume_state, log):
        self.name = name
        self.values = list(resume_state or [])
        self.log = log
        log.append(("build", name, resume_state))

    def write_batch(self, values):
        self.values.extend(values)
        self.log.append(("write", self.name, list(values)))

    def snapshot(self):
        return list(self.values)


class DictSink(FixedPartitionedSink):
    def __init__(self, log):
        self.log = log

    def list_parts(self):
        return ["p0", "p1", "p2"]

    def part_fn(self, item_key):
        return int(item_key)

    def build_part(self, step_id, for_part, resume_state):
        return _DictPartition(for_part, resume_state, self.log)


def test_fixed_partitioned_sink_routes_by_part_fn_and_gets_values(tmp_path):
    init_db_dir(tmp_path, 1)
    rc = RecoveryConfig(tmp_path)
    log = []
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource([("0", "a"), ("1", "b"), ("4", "c"), ("2", "d")]))
    op.output("out", s, DictSink(log))
    run_main(flow, epoch_interval=ZERO_TD, recovery_config=rc)
    writes = {}
    for entry in log:
        if entry[0] == "write":
            writes.setdefault(entry[1], []).extend(entry[2])
    assert writes == {"p0": ["a"], "p1": ["b", "c"], "p2": ["d"]}

    # A second run gets the snapshots back as resume states.
    log2 = []
    flow2 = Dataflow("df")
    s = op.input("inp", flow2, TestingSource([("0", "a"), ("1", "b"), ("4", "c"), ("2", "d")]))
    op.output("out", s, DictSink(log2))
    run_main(flow2, epoch_interval=ZERO_TD, recovery_config=rc)
    builds = {e[1]: e[2] for e in log2 if e[0] == "build"}
    assert builds == {"p0": ["a"], "p1": ["b", "c"], "p2": ["d"]}


def test_fixed_partitioned_sink_default_part_fn_is_adler32():
    class Two(FixedPartitionedSink):
        def list_parts(self):
            return ["x", "y"]

        def build_part(self, step_id, for_part, resume_state):
            return _DictPartition(for_part, None, log)

    log = []
    keys = ["k1", "k2", "k3", "k4"]
    flow = Dataflow("df")
    op.output("out", op.input("inp", flow, TestingSource([(k, k) for k in keys])), Two())
    run_main(flow)
    written = {v: e[1] for e in log if e[0] == "write" for v in e[2]}
    assert written == {k: ["x", "y"][zlib.adler32(k.encode()) % 2] for k in keys}


def test_fixed_partitioned_sink_needs_keyed_items():
    flow = Dataflow("df")
    op.output("out", op.input("inp", flow, TestingSource([1])), DictSink([]))
    with pytest.raises(FlowRuntimeError) as info:
        run_main(flow)
    assert isinstance(info.value.__cause__, TypeError)
    assert "2-tuples" in str(info.value.__cause__)


class _Collect(StatelessSinkPartition):
    def __init__(self, out):
        self.out = out

    def write_batch(self, items):
        self.out.append(list(items))

    def close(self):
        self.out.append("closed")


class CollectSink(DynamicSink):
    def __init__(self):
        self.out = []

    def build(self, step_id, worker_index, worker_count):
        return _Collect(self.out)


def test_dynamic_sink_gets_batches_of_plain_values():
    sink = CollectSink()
    flow = Dataflow("df")
    op.output("out", op.input("inp", flow, TestingSource([1, ("k", 2), None], batch_size=3)), sink)
    run_main(flow)
    # Worker 0 reads the source's one partition and writes to its own
    # sink partition; every worker's partition is closed.
    assert [b for b in sink.out if b != "closed"] == [[1, ("k", 2), None]]
    assert sink.out.count("closed") == WORKERS


def test_sink_exception_propagates():
    class Bad(StatelessSinkPartition):
        def write_batch(self, items):
            raise OSError("disk full")

    class BadSink(DynamicSink):
        def build(self, step_id, worker_index, worker_count):
            return Bad()

    flow = Dataflow("df")
    op.output("out", op.input("inp", flow, TestingSource([1])), BadSink())
    with pytest.raises(FlowRuntimeError, match="df.out") as info:
        run_main(flow)
    assert isinstance(info.value.__cause__, OSError)
    assert str(info.value.__cause__) == "disk full"


# --- connectors ----------------------------------------------------------------

def test_std_out_sink_prints_like_print(capfd):
    flow = Dataflow("df")
    items = [("ALL", 0), "text", 2.5, [1, 2], None, datetime.date(2024, 1, 2)]
    op.output("out", op.input("inp", flow, TestingSource(items)), StdOutSink())
    run_main(flow)
    assert capfd.readouterr().out == "".join(f"{x}\n" for x in items)


def test_file_source_and_sink(tmp_path):
    inp = tmp_path / "in.txt"
    inp.write_text("one two\nthree\n")
    out_path = tmp_path / "out.txt"
    flow = Dataflow("df")
    lines = op.input("inp", flow, FileSource(inp, batch_size=1))
    words = op.flat_map("split", lines, str.split)
    # Keyed items: FileSink writes their values, as Bytewax's does.
    op.output("out", op.key_on("k", words, lambda w: w[0]), FileSink(out_path))
    run_main(flow)
    assert out_path.read_text() == "one\ntwo\nthree\n"


def test_file_sink_is_exactly_once_across_an_abort(tmp_path):
    init_db_dir(tmp_path, 1)
    rc = RecoveryConfig(tmp_path)
    out_path = tmp_path / "out.txt"
    inp = [1, 2, TestingSource.ABORT(), 3, 4]
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource(inp))
    op.output("out", op.map("m", s, lambda x: x * 10), FileSink(out_path))
    run_main(flow, epoch_interval=ZERO_TD, recovery_config=rc)
    assert out_path.read_text() == "10\n20\n"
    run_main(flow, epoch_interval=ZERO_TD, recovery_config=rc)
    assert out_path.read_text() == "10\n20\n30\n40\n"


def _word_sums_flow(inp, out_path, hold_partial=False):
    """FileSource → key on the first word → a running sum per word →
    FileSink, writing "WORD sum"."""
    def add(total, line):
        word, n = line.split(" ")
        total = (total or 0) + int(n)
        return total, f"{word.upper()} {total}"

    flow = Dataflow("sums")
    lines = op.input("inp", flow, FileSource(inp, batch_size=1, hold_partial=hold_partial))
    keyed = op.key_on("key", lines, lambda line: line.split(" ")[0])
    op.output("out", op.stateful_map("sum", keyed, add), FileSink(out_path))
    return flow


def test_file_source_refuses_to_split_a_continued_last_line(tmp_path):
    # The file was complete when first read, so its last line (without a
    # line end) was emitted; a writer then continued that line.
    db = tmp_path / "db"
    init_db_dir(db, 2)
    rc = RecoveryConfig(db)
    inp = tmp_path / "in.txt"
    out_path = tmp_path / "out.txt"
    inp.write_bytes(b"alpha 1\nbeta 2")
    flow = _word_sums_flow(inp, out_path)
    run_main(flow, epoch_interval=ZERO_TD, recovery_config=rc)
    assert out_path.read_text() == "ALPHA 1\nBETA 2\n"

    with inp.open("ab") as f:
        f.write(b"5\ngamma 3\n")
    with pytest.raises(ValueError) as e:
        run_main(flow, epoch_interval=ZERO_TD, recovery_config=rc)
    assert str(inp) in str(e.value)
    assert "at byte 14" in str(e.value)
    assert out_path.read_text() == "ALPHA 1\nBETA 2\n"

    # Ended with a line end instead: read on, and beta's sum is right.
    inp.write_bytes(b"alpha 1\nbeta 2\ngamma 3\nbeta 7\n")
    run_main(flow, epoch_interval=ZERO_TD, recovery_config=rc)
    assert out_path.read_text() == "ALPHA 1\nBETA 2\nGAMMA 3\nBETA 9\n"


def test_file_source_hold_partial_emits_a_growing_last_line_whole(tmp_path):
    db = tmp_path / "db"
    init_db_dir(db, 2)
    rc = RecoveryConfig(db)
    inp = tmp_path / "in.txt"
    out_path = tmp_path / "out.txt"
    inp.write_bytes(b"alpha 1\nbeta 2")
    flow = _word_sums_flow(inp, out_path, hold_partial=True)
    run_main(flow, epoch_interval=ZERO_TD, recovery_config=rc)
    assert out_path.read_text() == "ALPHA 1\n"

    with inp.open("ab") as f:
        f.write(b"5\ngamma 3\nbeta 1")
    run_main(flow, epoch_interval=ZERO_TD, recovery_config=rc)
    assert out_path.read_text() == "ALPHA 1\nBETA 25\nGAMMA 3\n"

    with inp.open("ab") as f:
        f.write(b"\n")
    run_main(flow, epoch_interval=ZERO_TD, recovery_config=rc)
    assert out_path.read_text() == "ALPHA 1\nBETA 25\nGAMMA 3\nBETA 26\n"


def test_file_source_hold_partial_is_a_keyword():
    with pytest.raises(TypeError):
        FileSource("x", 10, True)


def test_file_source_non_utf8_names_the_file_line_and_offset(tmp_path):
    inp = tmp_path / "in.txt"
    inp.write_bytes(b"a 1\nb \xff\xfe\nc 3\n")
    flow = Dataflow("df")
    op.output("out", op.input("inp", flow, FileSource(inp)), TestingSink([]))
    with pytest.raises(ValueError) as e:
        run_main(flow)
    assert not isinstance(e.value, TypeError)
    message = str(e.value)
    assert str(inp) in message
    assert "line 2 (at byte 4)" in message
    assert "UTF-8" in message


def test_flow_run_reports_non_utf8_input_without_a_traceback(tmp_path):
    inp = tmp_path / "in.txt"
    inp.write_bytes(b"a 1\nb \xff\xfe\n")
    prog = tmp_path / "prog.py"
    prog.write_text(
        "import flow.operators as op\n"
        "from flow.connectors.files import FileSource\n"
        "from flow.connectors.stdio import StdOutSink\n"
        "from flow.dataflow import Dataflow\n"
        "flow = Dataflow('df')\n"
        f"op.output('out', op.input('inp', flow, FileSource({str(inp)!r})), StdOutSink())\n")
    result = run_python("-m", "flow.run", prog)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{inp}: line 2 (at byte 4) is not valid UTF-8 text" in result.stderr


def test_file_sink_only_writes_lines():
    with pytest.raises(ValueError):
        FileSink("x", end="\r\n")


# --- testing -------------------------------------------------------------------

def test_testing_source_batch_size():
    sink = CollectSink()
    flow = Dataflow("df")
    op.output("out", op.input("inp", flow, TestingSource(range(7), batch_size=3)), sink)
    run_main(flow)
    assert [b for b in sink.out if b != "closed"] == [[0, 1, 2], [3, 4, 5], [6]]
    assert sink.out.count("closed") == WORKERS


def test_testing_source_markers_must_be_instances():
    with pytest.raises(ValueError, match="instantiated"):
        TestingSource([1, TestingSource.EOF])


def test_testing_source_pause():
    flow = Dataflow("df")
    out = []
    s = op.input("inp", flow, TestingSource([1, TestingSource.PAUSE(0.2), 2]))
    op.output("out", op.map("t", s, lambda x: (x, time.monotonic())), TestingSink(out))
    run_main(flow)
    assert [x for x, _ in out] == [1, 2]
    assert out[1][1] - out[0][1] >= 0.18


def test_testing_sink_keeps_appending():
    out = ["before"]
    flow = Dataflow("df")
    op.output("out", op.input("inp", flow, TestingSource([1])), TestingSink(out))
    run_main(flow)
    assert out == ["before", 1]
