# SPDX-License-Identifier: LGPL-2.1-or-later
"""An exception raised by Python code called during a run stops the run and
is re-raised from it: the same exception object, with a note naming the step
(full id) and the key or item. It is never printed and skipped."""

import subprocess
import sys
import textwrap

import gi
import pytest

gi.require_version("Flow", "1")
from gi.repository import Flow, GLib  # noqa: E402


class Boom(Exception):
    pass


def notes(exc):
    return "\n".join(getattr(exc, "__notes__", []))


def build(items, build_fn, sink=None):
    flow = Flow.Dataflow("t")
    s = flow.input("inp", Flow.TestingSource(items))
    sink = sink or Flow.TestingSink()
    build_fn(s).output("out", sink)
    return flow, sink


def run_raises(flow, exc_type):
    with pytest.raises(exc_type) as info:
        Flow.Runner.new(flow).run()
    return info.value


def test_the_original_exception_object_is_raised():
    raised = []

    def fail(x):
        if x == 2:
            e = Boom("two")
            raised.append(e)
            raise e
        return x

    flow, sink = build([1, 2, 3], lambda s: s.map("explode", fail))
    exc = run_raises(flow, Boom)
    assert exc is raised[0]
    assert "libflow: map step 't.explode' failed on item 2" in notes(exc)
    # The run stopped: 3 was never mapped, nothing after the failure written.
    assert sink.get_values() in ([1], [])
    # The traceback leads to the line that raised.
    assert exc.__traceback__ is not None
    frames = []
    tb = exc.__traceback__
    while tb:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert "fail" in frames


def test_except_value_error_works():
    flow, _ = build(["1", "x"], lambda s: s.map("parse", int))
    with pytest.raises(ValueError, match="invalid literal"):
        Flow.Runner.new(flow).run()


@pytest.mark.parametrize("op", [
    lambda s, f: s.map("op", f),
    lambda s, f: s.filter("op", f),
    lambda s, f: s.filter_map("op", f),
    lambda s, f: s.flat_map("op", f),
    lambda s, f: s.inspect("op", lambda step, x: f(x)),
    lambda s, f: s.branch("op", f)[0],
    lambda s, f: s.key_on("op", f),
    lambda s, f: s.count_final("op", f),
], ids=["map", "filter", "filter_map", "flat_map", "inspect", "branch", "key_on", "count_final"])
def test_every_unkeyed_callback_propagates(op):
    def fail(x):
        raise Boom(f"bad {x}")
    flow, _ = build([7], lambda s: op(s, fail))
    exc = run_raises(flow, Boom)
    assert str(exc) == "bad 7"
    assert "'t.op'" in notes(exc)


@pytest.mark.parametrize("op", [
    lambda s, f: s.map_value("op", f),
    lambda s, f: s.filter_value("op", f),
    lambda s, f: s.flat_map_value("op", f),
    lambda s, f: s.stateful_map("op", lambda st, v: (st, f(v))),
    lambda s, f: s.stateful_flat_map("op", lambda st, v: (st, [f(v)])),
    lambda s, f: s.fold_final("op", lambda: 0, lambda acc, v: f(v)),
    lambda s, f: s.reduce_final("op", lambda acc, v: f(v)),
    lambda s, f: s.max_final("op", f),
    lambda s, f: s.min_final("op", f),
], ids=["map_value", "filter_value", "flat_map_value", "stateful_map", "stateful_flat_map",
        "fold_final", "reduce_final", "max_final", "min_final"])
def test_every_keyed_callback_propagates_with_the_key(op):
    def fail(x):
        raise Boom(f"bad {x}")
    # reduce_final only calls the reducer from the second value on.
    flow, _ = build([7, 8], lambda s: op(s.key_on("k", lambda _: "the-key"), fail))
    exc = run_raises(flow, Boom)
    assert str(exc) in ("bad 7", "bad 8")
    assert "'t.op'" in notes(exc)
    if "map_value" not in notes(exc) and "filter_value" not in notes(exc):
        assert "the-key" in notes(exc)


def test_builder_exception_propagates():
    def builder():
        raise Boom("no state")
    flow, _ = build([1], lambda s: s.key_on("k", lambda _: "K").stateful_map(
        "sm", builder, lambda st, v: (st, v)))
    exc = run_raises(flow, Boom)
    assert "stateful_map step 't.sm' failed for key 'K'" in notes(exc)


def test_bad_return_values_raise_type_errors():
    flow, _ = build([1], lambda s: s.key_on("k", lambda x: x))
    exc = run_raises(flow, TypeError)
    assert "must return a str" in str(exc)

    flow, _ = build([1], lambda s: s.flat_map("fm", lambda x: x))
    exc = run_raises(flow, TypeError)
    assert "iterable" in str(exc)

    flow, _ = build([1], lambda s: s.key_on("k", str).stateful_map("sm", lambda st, v: v))
    exc = run_raises(flow, TypeError)
    assert "2-tuple" in str(exc)


def test_unpicklable_result_raises_type_error():
    flow, _ = build([1], lambda s: s.map("m", lambda x: (lambda: x)))
    exc = run_raises(flow, TypeError)
    assert "pickled" in str(exc)
    assert "'t.m'" in notes(exc)


def test_glib_error_raised_by_a_callback_keeps_its_domain():
    def fail(x):
        raise GLib.Error.new_literal(GLib.file_error_quark(), "no such thing", GLib.FileError.NOENT)
    flow, _ = build([1], lambda s: s.map("m", fail))
    exc = run_raises(flow, GLib.Error)
    assert exc.matches(GLib.file_error_quark(), GLib.FileError.NOENT)


def test_a_failed_run_does_not_leak_into_the_next():
    flow, _ = build([1], lambda s: s.map("m", lambda x: 1 / 0))
    run_raises(flow, ZeroDivisionError)
    ok, sink = build([1, 2], lambda s: s.map("m", lambda x: x))
    Flow.Runner.new(ok).run()
    assert sink.get_values() == [1, 2]
    # libflow's own errors are GLib.Errors as before.
    bad = Flow.Dataflow("t")
    bad.input("inp", Flow.TestingSource([1]))
    with pytest.raises(GLib.Error) as info:
        Flow.Runner.new(bad).run()
    assert info.value.matches(Flow.error_quark(), Flow.Error.INCOMPLETE_FLOW)


def test_run_async_finish_raises_the_original_exception():
    flow, _ = build([1], lambda s: s.map("m", lambda x: {}["missing"]))
    runner = Flow.Runner.new(flow)
    loop = GLib.MainLoop()
    result = {}

    def done(r, res, *_):
        try:
            r.run_finish(res)
        except KeyError as e:
            result["exc"] = e
        loop.quit()

    runner.run_async(None, done)
    loop.run()
    assert isinstance(result["exc"], KeyError)
    assert "'t.m'" in notes(result["exc"])


def test_run_with_args_prints_the_traceback_and_returns_1(tmp_path):
    script = tmp_path / "flow_script.py"
    script.write_text(textwrap.dedent("""
        import sys
        import gi
        gi.require_version("Flow", "1")
        from gi.repository import Flow

        def explode(x):
            raise ValueError("exploded on %r" % (x,))

        flow = Flow.Dataflow("script")
        s = flow.input("inp", Flow.TestingSource([41]))
        s.map("explode", explode).output("out", Flow.StdOutSink())
        sys.exit(Flow.Runner.new(flow).run_with_args(sys.argv))
    """))
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "Traceback" in r.stderr
    assert "ValueError: exploded on 41" in r.stderr
    assert "map step 'script.explode' failed on item 41" in r.stderr
    assert r.stdout == ""

    r = subprocess.run([sys.executable, str(script), "--bogus"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2
    assert "--bogus" in r.stderr

    r = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0
    assert "--recovery-directory" in r.stdout


# --- sources and sinks written in Python -----------------------------------

class Part(Flow.SourcePartition):
    def __init__(self, fail_in=None, items=(1, 2, 3)):
        super().__init__()
        self.items = list(items)
        self.fail_in = fail_in

    def do_next_batch(self):
        if self.fail_in == "next_batch" and len(self.items) < 2:
            raise Boom("next_batch")
        if not self.items:
            return None
        return [self.items.pop(0)]

    def do_next_awake(self):
        if self.fail_in == "next_awake":
            raise Boom("next_awake")
        return 0

    def do_snapshot(self):
        if self.fail_in == "snapshot":
            raise Boom("snapshot")
        return len(self.items)

    def do_close(self):
        if self.fail_in == "close":
            raise Boom("close")


class Src(Flow.Source):
    def __init__(self, fail_in=None):
        super().__init__()
        self.fail_in = fail_in

    def do_list_parts(self):
        if self.fail_in == "list_parts":
            raise Boom("list_parts")
        return ["p0"]

    def do_build_part(self, step_id, part_key, resume_state):
        if self.fail_in == "build_part":
            raise Boom("build_part")
        return Part(self.fail_in)


@pytest.mark.parametrize("where", ["next_batch", "next_awake", "snapshot", "close",
                                   "list_parts", "build_part"])
def test_python_source_exceptions_propagate(where, db_dir):
    flow = Flow.Dataflow("t")
    flow.input("inp", Src(where)).output("out", Flow.TestingSink())
    runner = Flow.Runner.new(flow)
    runner.props.recovery_directory = str(db_dir)   # so that snapshot() is called
    runner.props.snapshot_interval = 0
    with pytest.raises(Boom) as info:
        runner.run()
    assert str(info.value) == where
    assert "input step 't.inp'" in notes(info.value)


class SinkPart(Flow.SinkPartition):
    def __init__(self, fail_in):
        super().__init__()
        self.fail_in = fail_in

    def do_write_batch(self, items):
        if self.fail_in == "write_batch":
            raise Boom("write_batch")

    def do_snapshot(self):
        if self.fail_in == "snapshot":
            raise Boom("snapshot")
        return 0

    def do_close(self):
        if self.fail_in == "close":
            raise Boom("close")


class Snk(Flow.Sink):
    def __init__(self, fail_in):
        super().__init__()
        self.fail_in = fail_in

    def do_list_parts(self):
        if self.fail_in == "list_parts":
            raise Boom("list_parts")
        return ["only"]

    def do_build_part(self, step_id, part_key, resume_state):
        if self.fail_in == "build_part":
            raise Boom("build_part")
        return SinkPart(self.fail_in)


@pytest.mark.parametrize("where", ["write_batch", "snapshot", "close", "list_parts", "build_part"])
def test_python_sink_exceptions_propagate(where, db_dir):
    flow = Flow.Dataflow("t")
    flow.input("inp", Flow.TestingSource([1, 2])).output("out", Snk(where))
    runner = Flow.Runner.new(flow)
    runner.props.recovery_directory = str(db_dir)
    runner.props.snapshot_interval = 0
    with pytest.raises(Boom) as info:
        runner.run()
    assert str(info.value) == where
    assert "output step 't.out'" in notes(info.value)


def test_write_batch_returning_nothing_is_success():
    class Quiet(Flow.SinkPartition):
        got = []

        def do_write_batch(self, items):
            Quiet.got.extend(items)

    class QuietSink(Flow.Sink):
        def do_build_part(self, step_id, part_key, resume_state):
            return Quiet()

    flow = Flow.Dataflow("t")
    flow.input("inp", Flow.TestingSource([1, "a"])).output("out", QuietSink())
    assert Flow.Runner.new(flow).run()
    assert Quiet.got == [1, "a"]


def test_nothing_is_printed_for_a_failing_callback(capfd):
    flow, _ = build([1, 2], lambda s: s.map("m", lambda x: 1 / 0))
    run_raises(flow, ZeroDivisionError)
    captured = capfd.readouterr()
    assert captured.err == ""
    assert captured.out == ""



def test_each_run_raises_its_own_exception():
    # Two runs in two threads fail at the same time with exceptions of the
    # same type and message: each run() raises the very exception its own
    # function raised (one exception slot per run, not a shared list).
    import threading

    raised_both = threading.Barrier(2, timeout=60)
    raised = {}
    caught = {}

    class WaitingPart(Flow.SinkPartition):
        def do_write_batch(self, items):
            pass

        def do_close(self):
            # Closed when the failed run shuts down, after its exception
            # was stashed: wait until the other run's was too.
            raised_both.wait()

    class WaitingSink(Flow.Sink):
        def do_build_part(self, step_id, part_key, resume_state):
            return WaitingPart()

    def worker(name):
        def fail(x):
            raised[name] = Boom("same message")
            raise raised[name]

        flow = Flow.Dataflow("t")
        flow.input("inp", Flow.TestingSource([1])).map("m", fail).output("out", WaitingSink())
        try:
            Flow.Runner.new(flow).run()
        except Boom as e:
            caught[name] = e

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert caught["a"] is raised["a"]
    assert caught["b"] is raised["b"]
