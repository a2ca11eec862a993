# SPDX-License-Identifier: LGPL-2.1-or-later
"""The seed recovery tutorial, exactly as a user types it (with `bytewax`
replaced by `flow`), with the flow package and with the GI API; and the other
Python examples."""

import re
import shutil

import pytest

from conftest import EXAMPLES, run_python

FIRST = "('ALL', 0)\n('ALL', 1)\n('ALL', 3)\n"
SECOND = "('ALL', 6)\n('ALL', 10)\n"


def edit_input(script, new_input):
    text = script.read_text()
    edited, n = re.subn(r"^inp = \[0, 1, 2\]$", f"inp = {new_input}", text, flags=re.M)
    assert n == 1
    script.write_text(edited)


# The tutorial's recovery.py, with `bytewax` replaced by `flow`.
SEED_SCRIPT = '''\
import flow.operators as op

from flow.dataflow import Dataflow
from flow.testing import TestingSource
from flow.connectors.stdio import StdOutSink

inp = [0, 1, 2]

flow = Dataflow("recovery")
input_stream = op.input("inp", flow, TestingSource(inp))
# Stateful operators require their input to be keyed
# We'll use the static key "ALL" so that all input is
# processed together.
keyed_stream = op.key_on("key_stream", input_stream, lambda _: "ALL")


def update_sum(current_sum, new_item):
    updated_sum = current_sum + new_item
    return updated_sum, updated_sum


total_sum_stream = op.stateful_map("running_count", keyed_stream, lambda: 0, update_sum)
op.output("out", total_sum_stream, StdOutSink())
'''


def test_example_is_the_seed_word_for_word():
    assert (EXAMPLES / "recovery.py").read_text() == SEED_SCRIPT


def test_seed_tutorial_with_flow_run(tmp_path):
    shutil.copy(EXAMPLES / "recovery.py", tmp_path / "recovery.py")

    r = run_python("-m", "flow.recovery", "db_dir/", "1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert [p.name for p in (tmp_path / "db_dir").iterdir()] == ["part-0.sqlite3"]

    r = run_python("-m", "flow.run", "recovery.py", "-r", "db_dir/", "-s", "30", "-b", "180",
                   cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == FIRST
    assert r.stderr == ""

    edit_input(tmp_path / "recovery.py", "[3, 4]")
    r = run_python("-m", "flow.run", "recovery.py", "-r", "db_dir/", "-s", "30", "-b", "180",
                   cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == SECOND
    assert r.stderr == ""


def test_seed_tutorial_with_the_gi_api(tmp_path):
    script = tmp_path / "recovery_gi.py"
    shutil.copy(EXAMPLES / "recovery_gi.py", script)
    assert run_python("-m", "flow.recovery", "db_dir", "1", cwd=tmp_path).returncode == 0

    r = run_python(script, "-r", "db_dir/", "-s", "30", "-b", "180", cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, FIRST, "")
    edit_input(script, "[3, 4]")
    r = run_python(script, "-r", "db_dir/", "-s", "30", "-b", "180", cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, SECOND, "")


def test_flow_run_runs_a_gi_dataflow_too(tmp_path):
    shutil.copy(EXAMPLES / "recovery_gi.py", tmp_path / "recovery_gi.py")
    r = run_python("-m", "flow.run", "recovery_gi.py", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (0, FIRST), r.stderr


def test_flow_run_without_recovery_starts_over_each_time(tmp_path):
    shutil.copy(EXAMPLES / "recovery.py", tmp_path / "recovery.py")
    for _ in range(2):
        r = run_python("-m", "flow.run", "recovery.py", "-s", "0.5", cwd=tmp_path)
        assert (r.returncode, r.stdout) == (0, FIRST), r.stderr


@pytest.mark.parametrize("args,message", [
    (["recovery.py", "-r", "db_dir/"], "-s/--snapshot-interval"),
    (["recovery.py", "-r", "db_dir/", "-s", "30", "-b", "-1"], "backup"),
    (["recovery.py", "-s", "soon"], "snapshot"),
    (["recovery.py", "-w", "0"], "workers"),
    (["nonexistent_module.py"], "nonexistent_module"),
    (["recovery.py:nope"], "nope"),
])
def test_flow_run_argument_errors(tmp_path, args, message):
    shutil.copy(EXAMPLES / "recovery.py", tmp_path / "recovery.py")
    r = run_python("-m", "flow.run", *args, cwd=tmp_path)
    assert r.returncode != 0
    assert message in r.stderr
    assert r.stdout == ""


def test_flow_run_recovery_errors_are_one_clear_line(tmp_path):
    shutil.copy(EXAMPLES / "recovery.py", tmp_path / "recovery.py")
    (tmp_path / "empty").mkdir()
    r = run_python("-m", "flow.run", "recovery.py", "-r", "empty", "-s", "1", "-b", "1",
                   cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout == ""
    assert "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1
    assert "recovery directory empty has no recovery partitions" in r.stderr


def test_flow_run_user_exception_shows_the_traceback_and_the_step(tmp_path):
    (tmp_path / "broken.py").write_text(
        "import flow.operators as op\n"
        "from flow.dataflow import Dataflow\n"
        "from flow.testing import TestingSource\n"
        "from flow.connectors.stdio import StdOutSink\n"
        "def parse(x):\n"
        "    return int(x)\n"
        "flow = Dataflow('broken')\n"
        "s = op.map('parse', op.input('inp', flow, TestingSource(['1', 'two'])), parse)\n"
        "op.output('out', s, StdOutSink())\n")
    r = run_python("-m", "flow.run", "broken.py", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout == "1\n"
    assert "Traceback" in r.stderr
    assert "return int(x)" in r.stderr
    assert "ValueError: invalid literal for int() with base 10: 'two'" in r.stderr
    assert "map step 'broken.parse' failed on item 'two'" in r.stderr


def test_flow_run_factory_with_arguments(tmp_path):
    text = tmp_path / "words.txt"
    text.write_text("b a b\n")
    shutil.copy(EXAMPLES / "wordcount.py", tmp_path / "wordcount.py")
    r = run_python("-m", "flow.run", f"wordcount.py:get_flow({str(text)!r})", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (0, "('b', 2)\n('a', 1)\n"), r.stderr


def test_wordcount_example():
    r = run_python("-m", "flow.run", EXAMPLES / "wordcount.py")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "('the', 6)"
    assert "('fox', 2)" in lines and "('lazy', 1)" in lines
    counts = [int(re.search(r"(\d+)\)$", line).group(1)) for line in lines]
    assert counts == sorted(counts, reverse=True)
    words = (EXAMPLES / "wordcount.txt").read_text().lower()
    assert sum(counts) == len(re.findall(r"[a-z]+(?:'[a-z]+)*", words))
