# SPDX-License-Identifier: LGPL-2.1-or-later
"""The GTK 4 example application (examples/gtk/flow-wordcount-gtk.py),
driven under Xvfb the way a person would use it: open a file, Run, read the
counts shown, Cancel, close the window, open it again and resume. What is
checked is what the window shows, found through its widget tree."""

import collections
import importlib.util
import os
import re
import tempfile
from pathlib import Path

# The recovery partitions go to the user's cache directory: a fresh one.
# (Before GLib reads it for the first time.)
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="flow-gtk-cache-")

import gi  # noqa: E402

gi.require_version("Gtk", "4.0")
gi.require_version("Flow", "1")
from gi.repository import Gio, GLib, Gtk  # noqa: E402

SOURCE_ROOT = Path(os.environ.get("FLOW_SOURCE_ROOT", Path(__file__).resolve().parents[2]))
spec = importlib.util.spec_from_file_location(
    "wordcount_app", SOURCE_ROOT / "examples" / "gtk" / "flow-wordcount-gtk.py")
wc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(wc)

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]


def expected_counts(path):
    """What a word count of the file must show, computed here."""
    counter = collections.Counter()
    with open(path) as f:
        for line in f:
            counter.update(re.findall(r"[\w']+", line.lower()))
    return dict(counter)


def write_text(path, n_lines):
    with open(path, "w") as f:
        for i in range(n_lines):
            f.write(" ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(1 + i % 5)) + "\n")
    return path


def walk(widget):
    yield widget
    child = widget.get_first_child()
    while child is not None:
        yield from walk(child)
        child = child.get_next_sibling()


def find(window, name):
    return next(w for w in walk(window) if w.get_name() == name)


def shown_counts(window):
    """The rows of the results list: {word: count} as displayed."""
    counts = {}
    for row in walk(find(window, "results")):
        if isinstance(row, Gtk.ListBoxRow):
            labels = {w.get_name(): w.get_text() for w in walk(row) if isinstance(w, Gtk.Label)}
            counts[labels["word"]] = int(labels["count"])
    return counts


def iterate_until(condition):
    context = GLib.MainContext.default()
    while not condition():
        context.iteration(True)


def new_app(snapshot_interval):
    app = wc.WordCountApp(snapshot_interval=snapshot_interval)
    app.register(None)
    return app


def test_count_a_file_given_on_the_command_line(tmp_path):
    path = write_text(tmp_path / "small.txt", 12)
    app = new_app(0.05)
    # What `flow-wordcount-gtk FILE` does: GApplication::open.
    app.open([Gio.File.new_for_path(str(path))], "")
    win = app.get_active_window()
    assert find(win, "file").get_text() == str(path)
    assert find(win, "run").get_sensitive()
    assert shown_counts(win) == {}

    find(win, "run").emit("clicked")
    assert win.state == "running"
    assert not find(win, "run").get_sensitive() and find(win, "cancel").get_sensitive()
    iterate_until(lambda: win.state != "running")

    assert win.state == "done", find(win, "status").get_text()
    assert shown_counts(win) == expected_counts(path)
    assert find(win, "progress").get_fraction() == 1.0
    assert find(win, "progress").get_text() == "12 / 12 lines"
    assert find(win, "status").get_text().startswith("Done: ")
    # The graph shows the steps the dataflow was built with, as libflow
    # describes them.
    graph = find(win, "graph")
    assert graph.steps == [("lines", "input"), ("split", "flat_map"), ("key", "key_on"),
                           ("count", "stateful_map"), ("show", "inspect"), ("out", "output")]
    assert graph.get_content_height() == 6 * 60
    win.destroy()


def test_cancel_close_and_resume(tmp_path):
    path = write_text(tmp_path / "big.txt", 3000)
    expected = expected_counts(path)
    # An epoch per batch (100 lines): 30 epochs, each committed.
    app = new_app(0.0)
    app.activate()
    win = app.get_active_window()
    win.open_path(str(path))

    # 1. Run, and Cancel once the first epoch is committed.
    find(win, "run").emit("clicked")
    committed = []

    def on_committed(_runner, epoch):
        if not committed:
            find(win, "cancel").emit("clicked")
        committed.append(epoch)

    win.runner.connect("snapshot-committed", on_committed)
    iterate_until(lambda: win.state not in ("running", "cancelling"))
    assert win.state == "cancelled", find(win, "status").get_text()
    assert find(win, "status").get_text().startswith("Cancelled.")
    assert committed
    partial = shown_counts(win)
    assert 0 < sum(partial.values()) < sum(expected.values())
    assert 0 < find(win, "progress").get_fraction() < 1

    # 2. Run again, and close the window while it runs: the run stops.
    find(win, "run").emit("clicked")
    assert find(win, "status").get_text().startswith("Resumed from epoch ")
    closed = []

    def close_after_commit(_runner, _epoch):
        if not closed:
            closed.append(True)
            win.close()

    win.runner.connect("snapshot-committed", close_after_commit)
    iterate_until(lambda: win.state not in ("running", "cancelling"))
    assert win.state == "cancelled"
    assert app.get_active_window() is None

    # 3. A new window on the same file resumes and finishes: the counts
    # are exact (no line counted twice, none missed).
    app.activate()
    win = app.get_active_window()
    win.open_path(str(path))
    assert "counted before" in find(win, "status").get_text()
    before = find(win, "progress").get_fraction()
    assert 0 < before < 1
    find(win, "run").emit("clicked")
    resumed = re.match(r"Resumed from epoch (\d+)", find(win, "status").get_text())
    assert resumed and int(resumed.group(1)) >= 2
    iterate_until(lambda: win.state != "running")
    assert win.state == "done", find(win, "status").get_text()
    assert shown_counts(win) == expected
    assert find(win, "progress").get_fraction() == 1.0
    win.destroy()
