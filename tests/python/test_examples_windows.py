# SPDX-License-Identifier: LGPL-2.1-or-later
"""The windowed event count examples (examples/c/window-count.c and
examples/python/window_count.py) print what a plain reading of their
definition gives for examples/data/events.txt: per user, events counted in
one-minute windows of event time, an event later than 10 seconds after a
later event of its user being late."""

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from conftest import EXAMPLES, SOURCE_ROOT, run_python

EVENTS = SOURCE_ROOT / "examples" / "data" / "events.txt"
WAIT = timedelta(seconds=10)


def expected_lines():
    """Per user: the watermark is the latest time seen minus the wait; an
    event before it is late; every other event counts in its minute."""
    latest = {}
    counts = {}
    late = []
    for line in EVENTS.read_text().splitlines():
        stamp, user = line.split(" ", 1)
        t = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        if user in latest and t < latest[user] - WAIT:
            late.append(f"late {user} {t:%H:%M:%S}")
            continue
        latest[user] = max(latest.get(user, t), t)
        minute = t.replace(second=0, microsecond=0)
        counts[(user, minute)] = counts.get((user, minute), 0) + 1
    return sorted([f"{u} {m:%H:%M:%S} {c}" for (u, m), c in counts.items()] + late)


def test_expected_has_late_events():
    # The data exercises what the examples show.
    lines = expected_lines()
    assert sum(line.startswith("late ") for line in lines) == 2
    assert len(lines) == 7


def test_python_example():
    r = run_python("-m", "flow.run", EXAMPLES / "window_count.py")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == expected_lines()


def test_c_example():
    program = Path(os.environ.get("FLOW_BUILD_ROOT", SOURCE_ROOT / "build")) / "examples" / "c" / "window-count"
    if not program.exists():
        pytest.skip(f"{program} is not built")
    import subprocess
    r = subprocess.run([str(program), str(EVENTS)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # The C standard output sink prints the repr of each string.
    got = sorted(line.strip("'") for line in r.stdout.splitlines())
    assert got == expected_lines()
