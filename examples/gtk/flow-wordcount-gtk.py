#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Word count: a GTK 4 desktop data tool built on libflow.

    flow-wordcount-gtk [FILE]

Pick a text file (or give one on the command line) and press Run: a libflow
dataflow counts its words with Flow.Runner.run_async() on the application's
main loop, so the window stays responsive. The counts appear as they are
made, a progress bar follows the runner's ::progress signal, Cancel stops the
run, and a run that was cancelled — or whose window was closed — resumes
where it was last snapshotted: the recovery partitions and the output live in
the user's cache directory (g_get_user_cache_dir()/libflow-wordcount).

The dataflow, drawn in the window from Flow.Dataflow.describe():

    lines (FileSource) -> split (flat_map) -> key (key_on)
        -> count (stateful_map) -> show (inspect) -> out (FileSink)
"""

import ast
import hashlib
import json
import os
import re
import sys

try:
    import gi
    gi.require_version("Gtk", "4.0")
    gi.require_version("Flow", "1")
    from gi.repository import Flow, Gio, GLib, Gtk
except (ImportError, ValueError) as e:
    sys.exit(f"flow-wordcount-gtk: needs PyGObject with GTK 4 and libflow's typelib: {e}")

APP_ID = "org.libflow.WordCount"
WORD_RE = re.compile(r"[\w']+")
MAX_SHOWN = 200



def describe_steps(flow):
    """The steps of a dataflow, in order, as (name, kind) pairs, from
    Flow.Dataflow.describe() (the graph libflow itself reports)."""
    description = flow.describe().unpack()
    return [(step["name"], step["type"]) for step in description["steps"] if step["core"]]


def count_lines(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f)


class WordCount:
    """The state of one input file: its recovery partitions, its output
    (one `('word', count)` line per update, exactly-once across resumes) and
    the lines known read as of the last commit, in the cache directory."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        digest = hashlib.sha256(self.path.encode()).hexdigest()[:16]
        self.dir = os.path.join(GLib.get_user_cache_dir(), "libflow-wordcount", digest)
        self.recovery_dir = os.path.join(self.dir, "recovery")
        self.output = os.path.join(self.dir, "counts.txt")
        self.progress_file = os.path.join(self.dir, "progress.json")
        if not os.path.isdir(self.recovery_dir):
            os.makedirs(self.recovery_dir)
            Flow.recovery_init_dir(self.recovery_dir, 1)

    def committed_lines(self):
        """Lines read as of the last committed epoch (0 for a fresh start)."""
        try:
            with open(self.progress_file) as f:
                return json.load(f)["lines"]
        except (OSError, ValueError, KeyError):
            return 0

    def save_committed_lines(self, lines):
        tmp = self.progress_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"lines": lines}, f)
        os.replace(tmp, self.progress_file)

    def load_counts(self):
        """The counts written so far (the output of committed epochs)."""
        counts = {}
        try:
            with open(self.output) as f:
                for line in f:
                    word, n = ast.literal_eval(line)
                    counts[word] = n
        except FileNotFoundError:
            pass
        return counts

    def build_flow(self, on_count):
        flow = Flow.Dataflow.new("wordcount")
        source = Flow.FileSource.new(self.path)
        # Small batches: a batch of lines is split into many words, and a
        # dispatch of the main loop handles whole batches.
        source.props.batch_size = 100
        lines = flow.input("lines", source)
        words = lines.flat_map("split", lambda line: WORD_RE.findall(line.lower()))
        keyed = words.key_on("key", lambda word: word)
        counts = keyed.stateful_map("count", lambda: 0, lambda n, _word: (n + 1, n + 1))
        shown = counts.inspect("show", lambda _step, item: on_count(*item))
        shown.output("out", Flow.FileSink.new(self.output))
        return flow


class GraphView(Gtk.DrawingArea):
    """A drawing of the dataflow's steps, top to bottom."""

    def __init__(self):
        super().__init__()
        self.steps = []
        self.set_content_width(220)
        self.set_content_height(360)
        self.set_draw_func(self._draw)

    def set_steps(self, steps):
        self.steps = steps
        self.set_content_height(60 * max(len(steps), 1))
        self.queue_draw()

    def _draw(self, area, cr, width, height):
        n = len(self.steps)
        box_h, gap = 36, (height - 36 * n) / max(n, 1)
        fg = area.get_color()
        for i, (name, kind) in enumerate(self.steps):
            y = gap / 2 + i * (box_h + gap)
            cr.set_source_rgba(fg.red, fg.green, fg.blue, 0.12)
            cr.rectangle(10, y, width - 20, box_h)
            cr.fill()
            cr.set_source_rgba(fg.red, fg.green, fg.blue, 1.0)
            cr.rectangle(10, y, width - 20, box_h)
            cr.set_line_width(1)
            cr.stroke()
            cr.move_to(18, y + 15)
            cr.show_text(name)
            cr.move_to(18, y + 29)
            cr.show_text(kind)
            if i + 1 < n:
                x = width / 2
                cr.move_to(x, y + box_h)
                cr.line_to(x, y + box_h + gap)
                cr.stroke()
                cr.move_to(x - 4, y + box_h + gap - 6)
                cr.line_to(x, y + box_h + gap)
                cr.line_to(x + 4, y + box_h + gap - 6)
                cr.stroke()


class WordCountWindow(Gtk.ApplicationWindow):
    def __init__(self, app, snapshot_interval=0.5):
        super().__init__(application=app, title="Word count")
        self.set_default_size(640, 480)
        self.snapshot_interval = snapshot_interval
        self.job = None          # WordCount of the file picked
        self.runner = None
        self.cancellable = None
        self.counts = {}
        self.dirty = False
        self.state = "idle"      # idle, running, cancelling, cancelled, done, failed
        self.total_lines = 0
        self.base_lines = 0      # lines read before this run (committed)
        self.lines_at_epoch = {}

        header = Gtk.HeaderBar()
        self.set_titlebar(header)
        self.open_button = Gtk.Button(label="Open…", name="open")
        self.open_button.connect("clicked", self._on_open_clicked)
        header.pack_start(self.open_button)
        self.run_button = Gtk.Button(label="Run", name="run", sensitive=False)
        self.run_button.add_css_class("suggested-action")
        self.run_button.connect("clicked", lambda _b: self.start())
        header.pack_end(self.run_button)
        self.cancel_button = Gtk.Button(label="Cancel", name="cancel", sensitive=False)
        self.cancel_button.connect("clicked", lambda _b: self.cancel())
        header.pack_end(self.cancel_button)

        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6,
                      margin_top=6, margin_bottom=6, margin_start=6, margin_end=6)
        self.file_label = Gtk.Label(label="No file", name="file", xalign=0)
        self.progress = Gtk.ProgressBar(name="progress", show_text=True)
        self.status = Gtk.Label(label="Pick a text file to count its words.", name="status",
                                xalign=0, wrap=True)
        self.results = Gtk.ListBox(name="results", selection_mode=Gtk.SelectionMode.NONE)
        scroller = Gtk.ScrolledWindow(vexpand=True, hexpand=True, child=self.results)
        self.graph = GraphView()
        self.graph.set_name("graph")
        panes = Gtk.Box(spacing=6)
        panes.append(scroller)
        panes.append(Gtk.Frame(label="Dataflow", child=self.graph))
        for w in (self.file_label, self.progress, self.status, panes):
            box.append(w)
        self.set_child(box)
        self.connect("close-request", self._on_close_request)

    # -- the file --------------------------------------------------------

    def _on_open_clicked(self, _button):
        chooser = Gtk.FileChooserNative(title="Count the words of", transient_for=self,
                                        action=Gtk.FileChooserAction.OPEN)
        chooser.connect("response", self._on_chosen)
        self._chooser = chooser
        chooser.show()

    def _on_chosen(self, chooser, response):
        if response == Gtk.ResponseType.ACCEPT:
            self.open_path(chooser.get_file().get_path())
        self._chooser = None

    def open_path(self, path):
        if self.state in ("running", "cancelling"):
            return
        self.job = WordCount(path)
        self.total_lines = count_lines(self.job.path)
        self.base_lines = self.job.committed_lines()
        self.counts = self.job.load_counts()
        self.file_label.set_text(self.job.path)
        self.graph.set_steps(describe_steps(self.job.build_flow(self._on_count)))
        self.run_button.set_sensitive(True)
        if self.base_lines:
            self.status.set_text(f"{self.base_lines} of {self.total_lines} lines counted "
                                 f"before: Run resumes from there.")
        else:
            self.status.set_text(f"{self.total_lines} lines. Press Run.")
        self._set_fraction(self.base_lines)
        self._show_counts()

    # -- the run ---------------------------------------------------------

    def start(self):
        if self.job is None or self.state in ("running", "cancelling"):
            return
        self.base_lines = self.job.committed_lines()
        self.counts = self.job.load_counts()
        self.lines_at_epoch = {}
        flow = self.job.build_flow(self._on_count)
        self.graph.set_steps(describe_steps(flow))
        self.runner = Flow.Runner.new(flow)
        self.runner.props.recovery_directory = self.job.recovery_dir
        self.runner.props.snapshot_interval = self.snapshot_interval
        self.runner.connect("progress", self._on_progress)
        self.runner.connect("epoch-closed", self._on_epoch_closed)
        self.runner.connect("snapshot-committed", self._on_committed)
        self.cancellable = Gio.Cancellable()
        self._set_state("running")
        self.runner.run_async(self.cancellable, self._on_done)
        resume = self.runner.props.resume_epoch
        self.status.set_text(f"Resumed from epoch {resume}…" if resume else "Counting…")

    def cancel(self):
        if self.state == "running":
            self._set_state("cancelling")
            self.cancellable.cancel()

    def _on_count(self, word, n):
        self.counts[word] = n
        self.dirty = True

    def _lines_read(self, metrics):
        return self.base_lines + sum(metrics["items_read"].values())

    def _on_progress(self, _runner, metrics):
        m = metrics.unpack()
        self._set_fraction(self._lines_read(m))
        if self.dirty:
            self._show_counts()
        if m["running"] and self.state == "running":
            self.status.set_text(f"Counting… epoch {m['epoch']}, "
                                 f"{self._lines_read(m)} of {self.total_lines} lines")

    def _on_epoch_closed(self, runner, epoch):
        # The lines read as of this close are what its snapshot holds.
        metrics = runner.get_metrics().unpack()
        self.lines_at_epoch[epoch] = self._lines_read(metrics)

    def _on_committed(self, _runner, epoch):
        if epoch in self.lines_at_epoch:
            self.job.save_committed_lines(self.lines_at_epoch.pop(epoch))

    def _on_done(self, runner, result):
        try:
            runner.run_finish(result)
        except GLib.Error as e:
            if e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED):
                self._set_state("cancelled")
                self.status.set_text("Cancelled. Run again to resume from the last snapshot.")
            else:
                self._set_state("failed")
                self.status.set_text(f"Failed: {e.message}")
        else:
            self._set_state("done")
            words = sum(self.counts.values())
            self.status.set_text(f"Done: {words} words, {len(self.counts)} different.")
        self._show_counts()
        self.runner = None
        self.cancellable = None
        app = self.get_application()
        if getattr(self, "_held", False) and app is not None:
            self._held = False
            app.release()

    def _set_state(self, state):
        self.state = state
        running = state in ("running", "cancelling")
        self.run_button.set_sensitive(not running and self.job is not None)
        self.open_button.set_sensitive(not running)
        self.cancel_button.set_sensitive(state == "running")

    def _set_fraction(self, lines):
        fraction = 1.0 if self.total_lines == 0 else min(1.0, lines / self.total_lines)
        self.progress.set_fraction(fraction)
        self.progress.set_text(f"{lines} / {self.total_lines} lines")

    def _show_counts(self):
        self.dirty = False
        while (row := self.results.get_first_child()) is not None:  # GTK 4.8: no remove_all()
            self.results.remove(row)
        top = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_SHOWN]
        for word, n in top:
            row = Gtk.Box(spacing=12)
            row.append(Gtk.Label(label=word, name="word", xalign=0, hexpand=True))
            row.append(Gtk.Label(label=str(n), name="count", xalign=1))
            self.results.append(row)

    def _on_close_request(self, _window):
        # Closing stops the run; what was committed is resumed next time.
        # The application stays until the run has ended.
        if self.state in ("running", "cancelling"):
            app = self.get_application()
            if app is not None and not getattr(self, "_held", False):
                self._held = True
                app.hold()
            self.cancel()
        return False


class WordCountApp(Gtk.Application):
    def __init__(self, snapshot_interval=0.5):
        super().__init__(application_id=APP_ID,
                         flags=Gio.ApplicationFlags.HANDLES_OPEN | Gio.ApplicationFlags.NON_UNIQUE)
        self.snapshot_interval = snapshot_interval

    def do_activate(self):
        win = self.get_active_window() or WordCountWindow(self, self.snapshot_interval)
        win.present()

    def do_open(self, files, _n_files, _hint):
        win = self.get_active_window() or WordCountWindow(self, self.snapshot_interval)
        win.open_path(files[0].get_path())
        win.present()


def main(argv=None):
    return WordCountApp().run(sys.argv if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
