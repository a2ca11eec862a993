# SPDX-License-Identifier: LGPL-2.1-or-later
"""A Python without PyGObject gets a message that says so, not "module 'gi'
has no attribute 'require_version'" (the gi/overrides directory of the
flow package would otherwise be imported as `gi`)."""

import os
import subprocess
import sys
from pathlib import Path

SOURCE_ROOT = Path(os.environ.get("FLOW_SOURCE_ROOT", Path(__file__).resolve().parents[2]))


def run_without_gi(*args):
    # -S: no site module, so no dist-packages, so no PyGObject.
    env = dict(os.environ, PYTHONPATH=str(SOURCE_ROOT / "bindings" / "python"))
    return subprocess.run([sys.executable, "-S", *args], env=env, capture_output=True,
                          text=True, timeout=60)


def test_import_says_pygobject_is_missing():
    r = run_without_gi("-c", "import flow.dataflow")
    assert r.returncode != 0
    assert "needs PyGObject (the 'gi' module), which this Python" in r.stderr
    assert "require_version" not in r.stderr


def test_flow_run_says_pygobject_is_missing():
    r = run_without_gi("-m", "flow.run", "x.py")
    assert r.returncode == 1
    assert r.stderr.startswith("python3 -m flow.run: error: libflow's Python package needs PyGObject")
    assert "Traceback" not in r.stderr
