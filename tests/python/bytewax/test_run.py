# Bytewax 0.21.1's pytests/test_run.py, with bytewax -> flow.
# Changed: the three *_can_be_ctrl_c tests send SIGINT to the child
# process when it printed a marker line (test_flows/simple.py: after item
# 9, before a day-long pause of its input), not once its output file has
# a line (which Bytewax's test polls for, with a time limit): so the child
# is always still running when interrupted, and the test waits on nothing
# but the child. A watchdog kills a child that hangs (60 s), so a broken
# run fails the test instead of hanging it.
# - test_manual_cluster_can_be_ctrl_c runs `-w 2` as Bytewax's: it skips
#   itself while libflow refuses several workers (another issue).
# - test_testing_cluster_can_be_ctrl_c runs `python3 -m flow.testing`
#   with `-p 1`: libflow runs one process (Bytewax's `-p 2` is refused,
#   tests/python/test_flow_testing.py::test_flow_testing_refuses_several_processes)
#   of one worker (Bytewax's `-w 2`: see the test above).
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import BinaryIO

import flow.operators as op
import pytest
from flow.dataflow import Dataflow
from flow.errors import FlowRuntimeError
from flow.testing import TestingSink, TestingSource
from pytest import raises


def test_run(entry_point):
    flow = Dataflow("test_df")
    inp = range(3)
    stream = op.input("inp", flow, TestingSource(inp))
    stream = op.map("add_one", stream, lambda x: x + 1)
    out = []
    op.output("out", stream, TestingSink(out))

    entry_point(flow)

    assert sorted(out) == sorted([1, 2, 3])


def test_reraises_custom_exception(entry_point):
    class CustomException(Exception):
        """A custom exception with more than one argument"""

        def __init__(self, msg, b):
            self.msg = msg
            self.b = b

    flow = Dataflow("test_df")
    inp = range(3)
    stream = op.input("inp", flow, TestingSource(inp))

    def boom(item):
        if item == 0:
            msg = "BOOM"
            raise CustomException(msg, 1)
        else:
            return item

    stream = op.map("explode", stream, boom)
    out = []
    op.output("out", stream, TestingSink(out))

    with raises(FlowRuntimeError):
        with raises(CustomException):
            entry_point(flow)

    assert len(out) < 3


HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from test_flows.simple import MARKER  # noqa: E402

WATCHDOG_SECONDS = 60  # only a child that hangs ever reaches it

SEVERAL_WORKERS_REFUSED = b"only 1 worker per process is supported so far"


def _assert_can_be_ctrl_c(proc: subprocess.Popen, out_file: BinaryIO):
    watchdog = threading.Timer(WATCHDOG_SECONDS, proc.kill)
    watchdog.start()
    try:
        # Wait for the marker line: the dataflow has started, and its
        # input waits (a day) before the rest of the items.
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if line.rstrip(b"\n") == MARKER.encode():
                break
        else:
            stdout, stderr = proc.communicate()
            if SEVERAL_WORKERS_REFUSED in stderr:
                pytest.skip("several workers per process are not supported yet")
            msg = (f"dataflow exited (status {proc.returncode}) without printing the marker;"
                   f" stdout: {b''.join(seen) + stdout!r}; stderr: {stderr.decode()}")
            raise AssertionError(msg)

        # And stop the dataflow by sending SIGINT (like ctrl+c)
        proc.send_signal(signal.SIGINT)

        # Process termination should be handled properly
        stdout, stderr = proc.communicate()
        assert proc.returncode != 0, f"not interrupted; stderr: {stderr.decode()}"
        assert b"KeyboardInterrupt" in stderr, stderr.decode()
        assert b"Traceback" in stderr
        assert b"FlowRuntimeError" not in stderr

        # The file should not contain all the lines since we stopped it
        # (here: at most the ten items before the pause, in order).
        out_file.seek(0)
        output = out_file.read()
        assert len(output.splitlines()) < 999
        lines = output.decode().splitlines()
        assert lines == [str(i) for i in range(len(lines))]
        assert len(lines) <= 10
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _ctrl_c(tmp_path, args):
    tmp_path = tmp_path / "out.txt"

    with open(tmp_path, "w+b") as tmp_file:
        # The dataflow we want to run is in ./test_flows/simple.py
        flow_path = f"{HERE / 'test_flows' / 'simple.py'}:get_flow('{tmp_file.name}')"
        proc = subprocess.Popen(
            # Ensure that we use the exact same Python interpreter as
            # here; might be in a venv.
            [sys.executable, *args[:2], flow_path, *args[2:]],
            # Use PIPE to check the content of stdout
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

        _assert_can_be_ctrl_c(proc, tmp_file)


@pytest.mark.skipif(
    os.name == "nt",
    reason=(
        "Sending os.kill(test_proc.pid, signal.CTRL_C_EVENT) sends event to all"
        " processes on this console so interrupts pytest itself"
    ),
)
def test_single_worker_can_be_ctrl_c(tmp_path):
    # With 1 worker per process to ensure `run_main` is used. Set
    # snapshot interval to 0 so that the output is written to the file as
    # soon as possible
    _ctrl_c(tmp_path, ["-m", "flow.run", "-w", "1", "-s", "0"])


@pytest.mark.skipif(os.name == "nt", reason="SIGINT")
def test_manual_cluster_can_be_ctrl_c(tmp_path):
    # With 2 workers per process to ensure `cluster_main` is used.
    _ctrl_c(tmp_path, ["-m", "flow.run", "-w", "2", "-s", "0"])


@pytest.mark.skipif(os.name == "nt", reason="SIGINT")
def test_testing_cluster_can_be_ctrl_c(tmp_path):
    """Test that we can stop cluster execution by sending SIGINT (ctrl+c)."""
    # Bytewax: -p 2 -w 2 (spawn 2 processes of 2 workers); libflow runs
    # one process, and one worker until several are supported.
    _ctrl_c(tmp_path, ["-m", "flow.testing", "-p", "1", "-w", "1", "-s", "0"])
