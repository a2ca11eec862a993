# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sources and sinks subclassed in Python at the GI level (do_next_batch,
do_snapshot, do_next_awake, do_close, do_list_parts, do_build_part,
do_write_batch), and the built-in connectors."""

import time

import gi
import pytest

gi.require_version("Flow", "1")
from gi.repository import Flow, GLib  # noqa: E402


class CountingPartition(Flow.SourcePartition):
    """Emits start, start+1, … < stop, two at a time; resumes from its
    snapshot (the next number)."""

    def __init__(self, start, stop, log):
        super().__init__()
        self.next = start
        self.stop = stop
        self.log = log

    def do_next_batch(self):
        if self.next >= self.stop:
            return None
        batch = list(range(self.next, min(self.next + 2, self.stop)))
        self.next += len(batch)
        return batch

    def do_snapshot(self):
        return self.next

    def do_close(self):
        self.log.append("closed")


class CountingSource(Flow.Source):
    def __init__(self, stop, log):
        super().__init__()
        self.stop = stop
        self.log = log

    def do_list_parts(self):
        return ["evens", "odds"]

    def do_build_part(self, step_id, part_key, resume_state):
        self.log.append((step_id, part_key, None if resume_state is None
                         else Flow.from_variant(resume_state)))
        start = 0 if part_key == "evens" else 1000
        if resume_state is not None:
            start = Flow.from_variant(resume_state)
        return CountingPartition(start, start + self.stop if resume_state is None else
                                 (0 if part_key == "evens" else 1000) + self.stop, self.log)


def test_python_source_with_partitions():
    log = []
    flow = Flow.Dataflow("t")
    sink = Flow.TestingSink()
    flow.input("inp", CountingSource(3, log)).output("out", sink)
    Flow.Runner.new(flow).run()
    assert sorted(sink.get_values()) == [0, 1, 2, 1000, 1001, 1002]
    assert ("t.inp", "evens", None) in log and ("t.inp", "odds", None) in log
    assert log.count("closed") == 2


class ListSinkPartition(Flow.SinkPartition):
    def __init__(self, out, written):
        super().__init__()
        self.out = out
        self.written = written

    def do_write_batch(self, items):
        assert all(isinstance(i, GLib.Variant) for i in items)
        self.out.extend(Flow.from_variant(i) for i in items)
        self.written += len(items)

    def do_snapshot(self):
        return self.written


class ListSink(Flow.Sink):
    def __init__(self, out, resumes):
        super().__init__()
        self.out = out
        self.resumes = resumes

    def do_build_part(self, step_id, part_key, resume_state):
        written = 0 if resume_state is None else Flow.from_variant(resume_state)
        self.resumes.append(written)
        return ListSinkPartition(self.out, written)


def test_python_source_and_sink_resume_from_their_snapshots(db_dir):
    def make(stop):
        log, out, resumes = [], [], []
        flow = Flow.Dataflow("t")
        flow.input("inp", CountingSource(stop, log)).output("out", ListSink(out, resumes))
        runner = Flow.Runner.new(flow)
        runner.props.recovery_directory = str(db_dir)
        runner.props.snapshot_interval = 0
        return runner, log, out, resumes

    runner, log, out, resumes = make(3)
    runner.run()
    assert sorted(out) == [0, 1, 2, 1000, 1001, 1002]
    assert resumes == [0]

    # The second run resumes each partition where it stopped, and the sink
    # from the count it had written.
    runner, log, out, resumes = make(5)
    runner.run()
    assert ("t.inp", "evens", 3) in log and ("t.inp", "odds", 1003) in log
    assert sorted(out) == [3, 4, 1003, 1004]
    assert resumes == [6]


class AwakePartition(Flow.SourcePartition):
    def __init__(self, when_kind):
        super().__init__()
        self.when_kind = when_kind
        self.calls = []

    def do_next_batch(self):
        self.calls.append(time.monotonic())
        if len(self.calls) > 2:
            return None
        return [len(self.calls)]

    def do_next_awake(self):
        if not self.calls:
            return 0
        if self.when_kind == "monotonic":
            return GLib.get_monotonic_time() + 100_000
        import datetime
        return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=0.1)


class AwakeSource(Flow.Source):
    def __init__(self, when_kind):
        super().__init__()
        self.part = AwakePartition(when_kind)

    def do_build_part(self, step_id, part_key, resume_state):
        return self.part


@pytest.mark.parametrize("when_kind", ["monotonic", "datetime"])
def test_next_awake_delays_next_batch(when_kind):
    src = AwakeSource(when_kind)
    flow = Flow.Dataflow("t")
    sink = Flow.TestingSink()
    flow.input("inp", src).output("out", sink)
    Flow.Runner.new(flow).run()
    assert sink.get_values() == [1, 2]
    calls = src.part.calls
    assert len(calls) == 3
    assert calls[1] - calls[0] >= 0.09 and calls[2] - calls[1] >= 0.09


def test_next_batch_may_return_a_variant_array():
    class P(Flow.SourcePartition):
        done = False

        def do_next_batch(self):
            if P.done:
                return None
            P.done = True
            return GLib.Variant("ai", [4, 5])

    class S(Flow.Source):
        def do_build_part(self, *args):
            return P()

    flow = Flow.Dataflow("t")
    sink = Flow.TestingSink()
    flow.input("inp", S()).output("out", sink)
    Flow.Runner.new(flow).run()
    assert sink.get_values() == [4, 5]


def test_testing_source_markers_and_batch_size():
    src = Flow.TestingSource([1, 2, 3, 4], batch_size=3)
    assert src.get_batch_size() == 3
    src.add_marker(2, Flow.TestingMarker.EOF, 0)
    flow = Flow.Dataflow("t")
    sink = Flow.TestingSink()
    flow.input("inp", src).output("out", sink)
    Flow.Runner.new(flow).run()
    assert sink.get_values() == [1, 2]


def test_testing_source_new_takes_a_list_or_a_variant():
    for items in ([1, "a"], GLib.Variant("av", [GLib.Variant("x", 1), GLib.Variant("s", "a")])):
        flow = Flow.Dataflow("t")
        sink = Flow.TestingSink.new()
        flow.input("inp", Flow.TestingSource.new(items)).output("out", sink)
        Flow.Runner.new(flow).run()
        assert sink.get_values() == [1, "a"]


def test_abort_marker_fails_the_run_with_aborted():
    src = Flow.TestingSource([1, 2, 3])
    src.add_marker(2, Flow.TestingMarker.ABORT, 0)
    flow = Flow.Dataflow("t")
    sink = Flow.TestingSink()
    flow.input("inp", src).output("out", sink)
    with pytest.raises(GLib.Error) as info:
        Flow.Runner.new(flow).run()
    assert info.value.matches(Flow.error_quark(), Flow.Error.ABORTED)
    assert sink.get_values() == [1, 2]


def test_file_source_and_file_sink(tmp_path):
    src_path = tmp_path / "in.txt"
    src_path.write_text("alpha\nbeta\n\ngamma\n")
    out_path = tmp_path / "out.txt"
    flow = Flow.Dataflow("t")
    s = flow.input("inp", Flow.FileSource.new(str(src_path)))
    s.map("upper", str.upper).output("lines", Flow.FileSink.new(str(out_path)))
    s.map("len", len).output("lens", Flow.FileSink.new(str(tmp_path / "lens.txt")))
    Flow.Runner.new(flow).run()
    assert out_path.read_text() == "ALPHA\nBETA\n\nGAMMA\n"
    assert (tmp_path / "lens.txt").read_text() == "5\n4\n0\n5\n"


def test_std_out_sink_prints_reprs(capfd):
    flow = Flow.Dataflow("t")
    flow.input("inp", Flow.TestingSource([("ALL", 0), "text", 2.5, [1, 2], None])).output(
        "out", Flow.StdOutSink.new())
    Flow.Runner.new(flow).run()
    assert capfd.readouterr().out == "('ALL', 0)\n'text'\n2.5\n[1, 2]\nNone\n"


def test_run_can_be_cancelled_from_another_thread():
    import threading
    from gi.repository import Gio

    # The source pauses for an hour after 0 and 1; a thread cancels the run
    # as soon as 1 has gone through (it would otherwise wait that hour).
    src = Flow.TestingSource([0, 1, 2, 3])
    src.add_marker(2, Flow.TestingMarker.PAUSE, 3600.0)
    flow = Flow.Dataflow("t")
    sink = Flow.TestingSink()
    waiting = threading.Event()
    flow.input("inp", src).inspect("seen", lambda _step, x: x == 1 and waiting.set()).output("out", sink)
    cancellable = Gio.Cancellable()

    def cancel_when_waiting():
        waiting.wait()
        cancellable.cancel()

    t = threading.Thread(target=cancel_when_waiting)
    t.start()
    try:
        with pytest.raises(GLib.Error) as info:
            Flow.Runner.new(flow).run(cancellable)
    finally:
        waiting.set()
        t.join()
    assert info.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)
    assert sink.get_values() == [0, 1]
