# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sources and sinks subclassed in Python at the GI level (do_next_batch,
do_snapshot, do_next_awake, do_close, do_list_parts, do_build_part,
do_write_batch), and the built-in connectors."""

import collections.abc
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
        # Plain values, converted once per batch by the override.
        assert not any(isinstance(i, GLib.Variant) for i in items)
        self.out.extend(items)
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


# ---- do_write_batch gets plain values (issue 12) ----

def _keyed_flow(sink, items=("a", "b", "a")):
    flow = Flow.Dataflow("t")
    s = flow.input("inp", Flow.TestingSource(list(items), batch_size=10))
    s = s.key_on("key", lambda x: x)
    s = s.stateful_map("count", lambda n, _: ((n or 0) + 1, (n or 0) + 1))
    s.output("out", sink)
    return flow


class _OneSink(Flow.Sink):
    def __init__(self, part):
        super().__init__()
        self.part = part

    def do_build_part(self, step_id, part_key, resume_state):
        return self.part


class PlainPart(Flow.SinkPartition):
    def __init__(self):
        super().__init__()
        self.batches = []

    def do_write_batch(self, items):
        self.batches.append(items)      # kept beyond the call on purpose


def test_do_write_batch_gets_plain_values():
    part = PlainPart()
    assert Flow.Runner.new(_keyed_flow(_OneSink(part))).run()
    assert [list(b) for b in part.batches] == [[("a", 1), ("b", 1), ("a", 2)]]
    batch = part.batches[0]
    # A read-only sequence: len, indexing (negative too), slices, iteration.
    assert len(batch) == 3 and batch[-1] == ("a", 2) and batch[1:] == [("b", 1), ("a", 2)]
    assert isinstance(batch, collections.abc.Sequence)
    assert type(batch[0][0]) is str and type(batch[0][1]) is int


class RawPart(Flow.SinkPartition):
    plain_values = False

    def __init__(self):
        super().__init__()
        self.items = []

    def do_write_batch(self, items):
        self.items.extend(items)


def test_do_write_batch_raw_variants_on_request():
    part = RawPart()
    assert Flow.Runner.new(_keyed_flow(_OneSink(part))).run()
    assert all(isinstance(i, GLib.Variant) for i in part.items)
    assert [i.get_type_string() for i in part.items] == ["(sv)"] * 3
    assert [Flow.from_variant(i) for i in part.items] == [("a", 1), ("b", 1), ("a", 2)]


class InheritingPart(PlainPart):
    """No do_write_batch of its own: PlainPart's, with plain values."""


class RawChildPart(PlainPart):
    plain_values = False

    def do_write_batch(self, items):
        self.batches.append(["raw"] + [i.get_type_string() for i in items])


def test_do_write_batch_mode_follows_the_subclass_defining_it():
    inheriting, raw = InheritingPart(), RawChildPart()
    assert Flow.Runner.new(_keyed_flow(_OneSink(inheriting))).run()
    assert Flow.Runner.new(_keyed_flow(_OneSink(raw))).run()
    assert [list(b) for b in inheriting.batches] == [[("a", 1), ("b", 1), ("a", 2)]]
    assert raw.batches == [["raw", "(sv)", "(sv)", "(sv)"]]


def test_write_batch_called_by_hand_gives_plain_values():
    part = PlainPart()
    assert part.write_batch([GLib.Variant("x", 7), Flow.to_variant(("k", "v"))])
    assert [list(b) for b in part.batches] == [[7, ("k", "v")]]


def test_do_write_batch_exception_names_the_step():
    class Failing(Flow.SinkPartition):
        def do_write_batch(self, items):
            raise KeyError(items[0])

    with pytest.raises(KeyError) as info:
        Flow.Runner.new(_keyed_flow(_OneSink(Failing()))).run()
    assert info.value.args == (("a", 1),)
    assert any("t.out" in note for note in info.value.__notes__)


def test_file_sink_values_only(tmp_path):
    whole, values = tmp_path / "whole.txt", tmp_path / "values.txt"
    flow = Flow.Dataflow("t")
    s = flow.input("inp", Flow.TestingSource([("a", "x"), ("b", 2), "plain", ("c", [1])]))
    s.output("whole", Flow.FileSink.new(str(whole)))
    sink = Flow.FileSink(path=str(values), values_only=True)
    assert sink.get_values_only()
    s.output("values", sink)
    # Split keyed items (after a keyed step) take the other code path.
    s.key_on("rekey", lambda x: "k").map_value("v", lambda x: x).output(
        "split", Flow.FileSink(path=str(tmp_path / "split.txt"), values_only=True))
    Flow.Runner.new(flow).run()
    assert whole.read_text() == "('a', 'x')\n('b', 2)\nplain\n('c', [1])\n"
    assert values.read_text() == "x\n2\nplain\n[1]\n"
    assert (tmp_path / "split.txt").read_text() == "('a', 'x')\n('b', 2)\nplain\n('c', [1])\n"


class SyncingPart(Flow.SinkPartition):
    """do_sync (FlowSinkPartition.sync): called from the recovery writer
    thread before each commit; its exception fails the run."""

    def __init__(self, fail):
        super().__init__()
        self.fail = fail
        self.threads = []
        self.written = 0

    def do_write_batch(self, items):
        self.written += len(items)

    def do_snapshot(self):
        return self.written

    def do_sync(self):
        import threading
        self.threads.append(threading.current_thread() is threading.main_thread())
        if self.fail and len(self.threads) >= 2:
            raise OSError("the disk is gone")


def test_do_sync_runs_off_the_main_thread_and_can_fail(db_dir, tmp_path):
    part = SyncingPart(fail=False)
    flow = Flow.Dataflow("t")
    flow.input("inp", Flow.TestingSource([1, 2, 3, 4], batch_size=1)).output("out", _OneSink(part))
    runner = Flow.Runner.new(flow)
    runner.props.recovery_directory = str(db_dir)
    runner.props.snapshot_interval = 0
    assert runner.run()
    # the initial rows' sync on the main thread, then one per epoch off it
    assert part.threads[0] is True and len(part.threads) >= 3
    assert not any(part.threads[1:])

    failing = SyncingPart(fail=True)
    other = tmp_path / "other"
    other.mkdir()
    Flow.recovery_init_dir(str(other), 1)
    flow = Flow.Dataflow("t")
    flow.input("inp", Flow.TestingSource([1, 2, 3, 4], batch_size=1)).output("out", _OneSink(failing))
    runner = Flow.Runner.new(flow)
    runner.props.recovery_directory = str(other)
    runner.props.snapshot_interval = 0
    with pytest.raises((OSError, GLib.Error), match="the disk is gone"):
        runner.run()
