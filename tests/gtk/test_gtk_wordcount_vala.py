# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Vala GTK 4 example (examples/gtk/flow-wordcount-gtk.vala) under Xvfb.

The app is run in its test mode (FLOW_WORDCOUNT_SELF_TEST=SMALL:BIG): once
its window is up it clicks its own buttons — runs SMALL to the end, runs
BIG and clicks Cancel after the first commit, then opens BIG in a new window
and resumes it — and prints, for each phase, the status line and the counts
its results list shows, read through the widget tree. This test checks
those against counts computed here from the input files. The app says when
it is done; the timeout is only a watchdog."""

import collections
import os
import re
import subprocess
import tempfile

APP = os.environ["FLOW_WORDCOUNT_GTK_VALA"]
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "don't"]


def expected_counts(path):
    counter = collections.Counter()
    with open(path) as f:
        for line in f:
            counter.update(re.findall(r"[\w']+", line.lower()))
    return dict(counter)


def write_text(path, n_lines):
    with open(path, "w") as f:
        for i in range(n_lines):
            words = [WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(1 + i % 5)]
            if i % 4 == 0:
                words[0] = words[0].upper()      # counted in lower case
            f.write(", ".join(words) + ".\n")
    return str(path)


def run_app(small, big, cache):
    env = dict(os.environ, XDG_CACHE_HOME=cache,
               FLOW_WORDCOUNT_SELF_TEST=f"{small}:{big}")
    proc = subprocess.run([APP], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "CRITICAL" not in proc.stderr, proc.stderr
    return parse(proc.stdout)


def parse(stdout):
    """{phase: {'opened', 'started', 'status', 'state', 'progress', 'counts',
    'committed'}} from the app's report; a phase without its `end` line is
    missing."""
    phases, current = {}, None
    for line in stdout.splitlines():
        key, _, rest = line.partition(" ")
        if key == "phase":
            current = {"counts": {}}
        elif key == "count":
            word, n = rest.rsplit(" ", 1)
            assert word not in current["counts"], f"{word} shown twice"
            current["counts"][word] = int(n)
        elif key == "end":
            phases[rest] = current
        elif key == "error":
            raise AssertionError(rest)
        else:
            current[key] = rest
    return phases


def test_vala_app_runs_cancels_and_resumes(tmp_path):
    small = write_text(tmp_path / "small.txt", 12)
    big = write_text(tmp_path / "big.txt", 3000)
    cache = tempfile.mkdtemp(prefix="flow-gtk-vala-cache-", dir=tmp_path)
    phases = run_app(small, big, cache)
    assert list(phases) == ["small", "cancel", "close", "resume"]

    # 1. A small file, run to the end: every word, exactly counted.
    p = phases["small"]
    assert p["opened"].endswith("12 lines. Press Run.")
    assert p["started"] == "Counting…"
    assert p["state"] == "done", p["status"]
    assert p["status"] == f"Done: {len(expected_counts(small))} different words."
    assert p["counts"] == expected_counts(small)
    assert float(p["progress"]) == 1.0

    # 2. A bigger one, cancelled after its first commit: part of the counts.
    expected = expected_counts(big)
    p = phases["cancel"]
    assert p["state"] == "cancelled", p["status"]
    assert p["status"].startswith("Cancelled.")
    assert int(p["committed"]) >= 1
    assert set(p["counts"]) <= set(expected)
    assert 0 < sum(p["counts"].values()) < sum(expected.values())
    assert all(0 < n <= expected[w] for w, n in p["counts"].items())
    assert 0 < float(p["progress"]) < 1

    # 3. Run again and close the window after a commit: closing stops the
    # run (it ends cancelled, not done) and the app stays until it has.
    p = phases["close"]
    assert p["state"] == "cancelled", p
    assert int(p["committed"]) > int(phases["cancel"]["committed"])

    # 4. A new window on it shows the counts committed so far, resumes from
    # a committed epoch and ends with exact counts (nothing twice, nothing
    # missed).
    p = phases["resume"]
    assert "the counts of earlier runs are shown" in p["opened"]
    resumed = re.match(r"Resumed from epoch (\d+)…$", p["started"])
    assert resumed and int(resumed.group(1)) >= 1, p["started"]
    assert p["state"] == "done", p["status"]
    assert p["counts"] == expected
    assert float(p["progress"]) == 1.0
