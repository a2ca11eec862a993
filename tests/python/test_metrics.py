# SPDX-License-Identifier: LGPL-2.1-or-later
"""The runner's figures from Python: Runner.get_metrics() and the
::progress signal during run_async() on a GLib main loop."""

import gi

gi.require_version("Flow", "1")
from gi.repository import Flow, Gio, GLib  # noqa: E402


def word_count_flow(lines, sink):
    flow = Flow.Dataflow("wc")
    s = flow.input("inp", Flow.TestingSource(lines, batch_size=2))
    words = s.flat_map("split", lambda line: line.split())
    words.output("out", sink)
    return flow


def test_metrics_before_a_run():
    runner = Flow.Runner.new(word_count_flow(["a"], Flow.TestingSink()))
    assert runner.get_metrics().unpack() == {"running": False}


def test_progress_and_metrics_during_run_async():
    lines = ["one two three", "four five", "six"] * 10
    sink = Flow.TestingSink()
    flow = word_count_flow(lines, sink)
    runner = Flow.Runner.new(flow)
    reports = []
    seen_inside = []

    def on_progress(r, metrics):
        reports.append(metrics.unpack())

    runner.connect("progress", on_progress)
    loop = GLib.MainLoop()
    result = []

    def done(r, res):
        result.append(r.run_finish(res))
        loop.quit()

    # A step that reads the figures from inside the run.
    flow2 = Flow.Dataflow("inside")
    s = flow2.input("inp", Flow.TestingSource([1, 2, 3]))
    runner2 = Flow.Runner.new(flow2)
    s.map("look", lambda x: seen_inside.append(runner2.get_metrics().unpack()) or x).output(
        "out", Flow.TestingSink())

    runner.run_async(None, done)
    assert runner.get_metrics().unpack()["running"] is True
    loop.run()
    assert result == [True]

    # The last report is the end of the run, with every count.
    last = reports[-1]
    assert last["running"] is False
    assert all(r["running"] for r in reports[:-1])
    assert last["dataflow"] == "wc"
    assert list(last["items_read"].values()) == [30]
    assert list(last["items_read"])[0].startswith("wc.inp/")
    assert list(last["items_written"].values()) == [60]
    assert last["epochs_closed"] == 1
    assert runner.get_metrics().unpack() == last

    runner2.run()
    assert [m["running"] for m in seen_inside] == [True, True, True]
    assert sorted(list(m["items_read"].values())[0] for m in seen_inside)[-1] == 3


def test_prometheus_endpoint_with_urllib():
    import threading
    import urllib.error
    import urllib.request

    source = Flow.TestingSource([1, 2, 3])
    # After two items the input waits a minute: the test cancels the run
    # once it has read the endpoint.
    source.add_marker(2, Flow.TestingMarker.PAUSE, 60.0)
    flow = Flow.Dataflow("prom")
    flow.input("inp", source).output("out", Flow.TestingSink())
    runner = Flow.Runner.new(flow)
    runner.props.metrics_address = "127.0.0.1:0"
    cancellable = Gio.Cancellable()
    loop = GLib.MainLoop()
    got = {}
    errors = []

    def fetch(port):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as resp:
                got["status"] = resp.status
                got["type"] = resp.headers["Content-Type"]
                got["body"] = resp.read().decode()
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/nope", timeout=30)
            except urllib.error.HTTPError as e:
                got["missing"] = e.code
        finally:
            GLib.idle_add(lambda: cancellable.cancel())

    def on_progress(r, metrics):
        if list(metrics.unpack()["items_read"].values()) == [2] and "thread" not in got:
            got["thread"] = threading.Thread(target=fetch, args=(runner.props.metrics_port,))
            got["thread"].start()

    def done(r, res):
        try:
            r.run_finish(res)
        except GLib.Error as e:
            errors.append(e)
        loop.quit()

    runner.connect("progress", on_progress)
    runner.run_async(cancellable, done)
    loop.run()
    got["thread"].join()

    assert got["status"] == 200
    assert got["type"].startswith("text/plain; version=0.0.4")
    assert 'flow_items_read_total{dataflow="prom",step_id="prom.inp",partition="0"} 2\n' in got["body"]
    assert 'flow_running{dataflow="prom"} 1\n' in got["body"]
    assert got["missing"] == 404
    # Cancelling gives G_IO_ERROR_CANCELLED from run_finish.
    assert len(errors) == 1 and errors[0].matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)
    assert runner.props.metrics_port > 0


def test_flow_run_metrics_address(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "small.py"
    script.write_text(
        "from flow.dataflow import Dataflow\n"
        "import flow.operators as op\n"
        "from flow.testing import TestingSource\n"
        "from flow.connectors.stdio import StdOutSink\n"
        "flow = Dataflow('small')\n"
        "op.output('out', op.input('inp', flow, TestingSource([1, 2])), StdOutSink())\n")

    def run(*args):
        return subprocess.run([sys.executable, "-m", "flow.run", str(script), *args],
                              capture_output=True, text=True, timeout=60)

    ok = run("--metrics-address", "127.0.0.1:0")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "1\n2\n"
    bad = run("--metrics-address", "nowhere")
    assert bad.returncode == 1
    assert bad.stderr.startswith("python3 -m flow.run: error: dataflow 'small': metrics address 'nowhere'")
    assert bad.stdout == ""


def test_per_step_counters():
    sink = Flow.TestingSink()
    flow = Flow.Dataflow("steps")
    s = flow.input("inp", Flow.TestingSource(["a b a", "c x b", "a"], batch_size=2))
    words = s.flat_map("split", lambda line: line.split())
    kept = words.filter("no_x", lambda w: w != "x")

    def count(state, word):
        n = (state or 0) + 1
        return n, n

    counts = kept.key_on("key", lambda w: w).stateful_map("count", count)
    counts.output("out", sink)
    runner = Flow.Runner.new(flow)
    assert runner.run()

    steps = runner.get_metrics().unpack()["steps"]
    got = {step: (c["items_in"], c["items_out"]) for step, c in steps.items()}
    assert got == {
        "steps.inp": (3, 3),
        "steps.split": (3, 7),
        "steps.no_x": (7, 6),
        "steps.key": (6, 6),
        "steps.count": (6, 6),
        "steps.out": (6, 0),
    }
    assert steps["steps.inp"]["batches"] == 2
    assert steps["steps.split"]["batches"] == 2
    # Only the stateful step has keys: a, b and c.
    assert steps["steps.count"]["keys"] == 3
    assert "keys" not in steps["steps.split"]
    assert all(c["time_us"] >= 0 for c in steps.values())
