# SPDX-License-Identifier: LGPL-2.1-or-later
"""Shared fixtures of the Python tests.

The tests run against the uninstalled build: meson's test environment
(tests/meson.build) points GI_TYPELIB_PATH, LD_LIBRARY_PATH and PYTHONPATH
at it, and child processes inherit that environment.
"""

import os
import subprocess
import sys
from pathlib import Path

import gi
import pytest

gi.require_version("Flow", "1")
from gi.repository import Flow  # noqa: E402

SOURCE_ROOT = Path(os.environ.get("FLOW_SOURCE_ROOT", Path(__file__).resolve().parents[2]))
EXAMPLES = SOURCE_ROOT / "examples" / "python"


@pytest.fixture
def db_dir(tmp_path):
    """An initialised directory of one recovery partition."""
    d = tmp_path / "db"
    d.mkdir()
    Flow.recovery_init_dir(str(d), 1)
    return d


def run_python(*args, cwd=None, timeout=60, env=None):
    """Runs the Python that runs the tests (the one with gi) in a child
    process; returns the CompletedProcess with text stdout/stderr."""
    full_env = dict(os.environ)
    full_env.pop("FLOW_RECOVERY_DIRECTORY", None)
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def native_active():
    """Whether the override dispatches to the native fast path."""
    import gi.overrides.Flow as override
    return override._native is not None


# FLOW_TEST_WORKERS=N: every run through flow.testing (run_main,
# cluster_main, flow.run's cli_main) that asks for 1 worker gets N
# (docs/workers.md; meson runs some test files so with N = 2).
_TEST_WORKERS = int(os.environ.get("FLOW_TEST_WORKERS", "1"))


@pytest.fixture(autouse=True)
def _test_workers(monkeypatch):
    if _TEST_WORKERS > 1:
        import flow.testing
        original = flow.testing._run

        def _run(flow_, *, workers=1, **kwargs):
            return original(flow_, workers=_TEST_WORKERS if workers == 1 else workers, **kwargs)

        monkeypatch.setattr(flow.testing, "_run", _run)
        import flow.run
        monkeypatch.setattr(flow.run, "_run", _run)
    yield
