/* flow-wordcount-gtk.vala: the GTK 4 word count of flow-wordcount-gtk.py,
 * in Vala.
 *
 *   flow-wordcount-gtk-vala [FILE]
 *
 * Open a text file (or give one on the command line), press Run: the words
 * are counted by a libflow dataflow with Flow.Runner.run_async() on the
 * application's main loop, a progress bar follows the runner's ::progress
 * signal, Cancel stops the run, and the next run resumes from the last
 * snapshot, kept in g_get_user_cache_dir()/libflow-wordcount-vala.
 *
 * For the test suite only (tests/gtk/test_gtk_wordcount_vala.py): with
 * FLOW_WORDCOUNT_SELF_TEST=SMALL_FILE:BIG_FILE in the environment, the app
 * drives its own windows instead — runs SMALL_FILE, then runs BIG_FILE,
 * cancels it after the first commit and resumes it in a new window — and
 * prints what the widget tree shows on stdout (see SelfTest below).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

public class WordCountWindow : Gtk.ApplicationWindow {
    Gtk.Button run_button;
    Gtk.Button cancel_button;
    Gtk.Label status;
    Gtk.ProgressBar progress;
    Gtk.ListBox results;
    string? path = null;
    string recovery_dir;
    string output;
    int64 total_lines = 0;
    public Flow.Runner? runner = null;
    /* Seconds between snapshots; the self-test sets 0 (one per epoch). */
    public double snapshot_interval = 0.5;
    /* Emitted when a run ends: "done", "cancelled" or "failed". */
    public signal void run_ended (string state);
    Cancellable? cancellable = null;
    bool running = false;
    /* The application held while a closed window's run ends (a destroyed
     * window has no application any more). */
    GLib.Application? held_app = null;
    HashTable<string, int64?> counts = new HashTable<string, int64?> (str_hash, str_equal);
    Regex word_re;
    string[] steps = {};      /* what the graph shows: Flow.Dataflow.list_steps () */
    Gtk.DrawingArea graph;

    public WordCountWindow (Gtk.Application app) {
        Object (application: app, title: "Word count (Vala)", default_width: 640, default_height: 480);
        try {
            word_re = new Regex ("[\\w']+");
        } catch (RegexError e) {
            assert_not_reached ();
        }

        var header = new Gtk.HeaderBar ();
        set_titlebar (header);
        var open_button = new Gtk.Button.with_label ("Open…");
        open_button.clicked.connect (on_open);
        header.pack_start (open_button);
        run_button = new Gtk.Button.with_label ("Run") { sensitive = false, name = "run" };
        run_button.clicked.connect (start);
        header.pack_end (run_button);
        cancel_button = new Gtk.Button.with_label ("Cancel") { sensitive = false, name = "cancel" };
        cancel_button.clicked.connect (() => cancellable.cancel ());
        header.pack_end (cancel_button);

        var box = new Gtk.Box (Gtk.Orientation.VERTICAL, 6) {
            margin_top = 6, margin_bottom = 6, margin_start = 6, margin_end = 6
        };
        progress = new Gtk.ProgressBar () { show_text = true, name = "progress" };
        status = new Gtk.Label ("Pick a text file to count its words.") { xalign = 0, name = "status" };
        results = new Gtk.ListBox () { selection_mode = Gtk.SelectionMode.NONE, name = "results" };
        var panes = new Gtk.Box (Gtk.Orientation.HORIZONTAL, 6);
        panes.append (new Gtk.ScrolledWindow () { child = results, hexpand = true, vexpand = true });
        graph = new Gtk.DrawingArea () { content_width = 200, content_height = 360 };
        graph.set_draw_func (draw_graph);
        panes.append (new Gtk.Frame ("Dataflow") { child = graph });
        box.append (progress);
        box.append (status);
        box.append (panes);
        child = box;
        close_request.connect (on_close_request);
    }

    /* Closing the window stops the run; what was committed is resumed next
     * time. The application is held until the run has ended, so the last
     * commit is not cut short by the process exiting. */
    bool on_close_request () {
        if (running && held_app == null) {
            held_app = application;
            held_app.hold ();
        }
        if (running)
            cancellable.cancel ();
        return false;
    }

    void draw_graph (Gtk.DrawingArea area, Cairo.Context cr, int width, int height) {
        if (steps.length == 0)
            return;
        double box_h = 36, gap = (height - box_h * steps.length) / steps.length;
        for (int i = 0; i < steps.length; i++) {
            double y = gap / 2 + i * (box_h + gap);
            cr.rectangle (10, y, width - 20, box_h);
            cr.stroke ();
            cr.move_to (18, y + 22);
            cr.show_text (steps[i]);
            if (i + 1 < steps.length) {
                cr.move_to (width / 2, y + box_h);
                cr.line_to (width / 2, y + box_h + gap);
                cr.stroke ();
            }
        }
    }

    void on_open () {
        var chooser = new Gtk.FileChooserNative ("Count the words of", this, Gtk.FileChooserAction.OPEN, null, null);
        chooser.response.connect ((response) => {
            if (response == Gtk.ResponseType.ACCEPT)
                open_path (chooser.get_file ().get_path ());
        });
        chooser.show ();
    }

    public void open_path (string file_path) {
        path = File.new_for_path (file_path).get_path ();
        var digest = Checksum.compute_for_string (ChecksumType.SHA256, path).substring (0, 16);
        var dir = Path.build_filename (Environment.get_user_cache_dir (), "libflow-wordcount-vala", digest);
        recovery_dir = Path.build_filename (dir, "recovery");
        output = Path.build_filename (dir, "counts.txt");
        try {
            if (!FileUtils.test (recovery_dir, FileTest.IS_DIR)) {
                DirUtils.create_with_parents (recovery_dir, 0700);
                Flow.recovery_init_dir (recovery_dir, 1);
            }
            string text;
            FileUtils.get_contents (path, out text);
            total_lines = text.split ("\n").length - (text.has_suffix ("\n") ? 1 : 0);
        } catch (Error e) {
            status.label = "Cannot open %s: %s".printf (path, e.message);
            return;
        }
        run_button.sensitive = true;
        load_counts ();
        if (counts.size () > 0)
            status.label = "%s: %lld lines; the counts of earlier runs are shown: Run resumes from the last snapshot.".printf (path, total_lines);
        else
            status.label = "%s: %lld lines. Press Run.".printf (path, total_lines);
        show_counts ();
    }

    /* The counts written by earlier runs: the sink's ('word', n) lines. */
    void load_counts () {
        counts.remove_all ();
        string text;
        try {
            FileUtils.get_contents (output, out text);
        } catch (FileError e) {
            return;
        }
        foreach (var line in text.split ("\n")) {
            if (line == "")
                continue;
            try {
                var item = Variant.parse (new VariantType ("(sx)"), line);
                counts[item.get_child_value (0).get_string ()] = item.get_child_value (1).get_int64 ();
            } catch (VariantParseError e) {
                warning ("%s: not a count: %s", output, line);
            }
        }
    }

    void start () {
        var flow = new Flow.Dataflow ("wordcount");
        var source = new Flow.FileSource (path);
        source.batch_size = 100;
        var words = flow.input ("lines", source).flat_map ("split", (line) => {
            var builder = new VariantBuilder (new VariantType ("as"));
            /* The MatchInfo points into the string it matched: keep it alive. */
            var text = line.get_string ().down ();
            MatchInfo match;
            for (word_re.match (text, 0, out match); match.matches (); ) {
                builder.add ("s", match.fetch (0));
                try {
                    match.next ();
                } catch (RegexError e) {
                    break;
                }
            }
            return builder.end ();
        });
        var counted = words.key_on ("key", (word) => word.get_string ())
            .stateful_map ("count", () => new Variant.int64 (0), (n, word, out emit) => {
                emit = new Variant.int64 (n.get_int64 () + 1);
                return emit;
            })
            .inspect ("show", (step, item) => {
                counts[item.get_child_value (0).get_string ()] =
                    item.get_child_value (1).get_variant ().get_int64 ();
            });
        counted.output ("out", new Flow.FileSink (output));
        steps = flow.list_steps ();
        graph.queue_draw ();

        runner = new Flow.Runner (flow) {
            recovery_directory = recovery_dir, snapshot_interval = this.snapshot_interval
        };
        runner.progress.connect ((metrics) => {
            int64 read = 0;
            var parts = metrics.lookup_value ("items_read", new VariantType ("a{st}"));
            foreach (var part in parts)
                read += (int64) part.get_child_value (1).get_uint64 ();
            progress.fraction = total_lines > 0 ? double.min (1.0, (double) read / total_lines) : 1.0;
            show_counts ();
        });
        cancellable = new Cancellable ();
        run_button.sensitive = false;
        cancel_button.sensitive = true;
        running = true;
        runner.run_async.begin (cancellable, (obj, res) => {
            string state = "done";
            running = false;
            try {
                runner.run_async.end (res);
                status.label = "Done: %u different words.".printf (counts.size ());
                progress.fraction = 1.0;   /* the whole file was read */
            } catch (IOError.CANCELLED e) {
                state = "cancelled";
                status.label = "Cancelled. Run again to resume from the last snapshot.";
            } catch (Error e) {
                state = "failed";
                status.label = "Failed: " + e.message;
            }
            show_counts ();
            run_button.sensitive = true;
            cancel_button.sensitive = false;
            run_ended (state);
            if (held_app != null) {
                held_app.release ();
                held_app = null;
            }
        });
        /* Known once the run has opened its recovery partitions. */
        status.label = runner.resume_epoch > 0 ? "Resumed from epoch %llu…".printf (runner.resume_epoch)
                                               : "Counting…";
    }

    void show_counts () {
        Gtk.Widget? row;
        while ((row = results.get_first_child ()) != null)
            results.remove (row);
        var words = counts.get_keys ();
        words.sort_with_data ((a, b) => {
            int64 d = (int64) counts.get (b) - (int64) counts.get (a);
            return d != 0 ? (d > 0 ? 1 : -1) : strcmp (a, b);
        });
        int shown = 0;
        foreach (var word in words) {
            if (shown++ == 200)
                break;
            var line = new Gtk.Box (Gtk.Orientation.HORIZONTAL, 12);
            line.append (new Gtk.Label (word) { xalign = 0, hexpand = true, name = "word" });
            line.append (new Gtk.Label (counts[word].to_string ()) { xalign = 1, name = "count" });
            results.append (line);
        }
    }
}

public class WordCountApp : Gtk.Application {
    public WordCountApp () {
        Object (application_id: "org.libflow.WordCountVala",
                flags: ApplicationFlags.HANDLES_OPEN | ApplicationFlags.NON_UNIQUE);
    }

    protected override void activate () {
        var self_test = Environment.get_variable ("FLOW_WORDCOUNT_SELF_TEST");
        if (self_test != null) {
            new SelfTest (this, self_test).start ();
            return;
        }
        (active_window ?? new WordCountWindow (this)).present ();
    }

    protected override void open (File[] files, string hint) {
        var win = (active_window as WordCountWindow) ?? new WordCountWindow (this);
        win.open_path (files[0].get_path ());
        win.present ();
    }
}

/* The test mode: drives the windows as a person would (through the widget
 * tree: names "run", "cancel", "status", "progress", "results", and in each
 * row "word" and "count"), and prints on stdout, for each phase:
 *
 *   phase NAME
 *   opened TEXT          (the status line when the window shows the file,
 *   started TEXT          once Run is clicked,
 *   status TEXT           and once the run has ended)
 *   state done|cancelled|failed
 *   progress FRACTION
 *   count WORD N         (one per row of the results list)
 *   end NAME
 *
 * The phases are "small" (run SMALL_FILE to the end), "cancel" (run
 * BIG_FILE, Cancel after the first snapshot is committed), "close" (run
 * BIG_FILE again and close the window after a commit: only "phase",
 * "committed", "state" and "end" are printed, the window being gone) and
 * "resume" (a new window on BIG_FILE, run to the end). The app quits after "resume"
 * with status 0, or at once with status 1 on an unexpected state. */
class SelfTest : Object {
    WordCountApp app;
    string small_path;
    string big_path;
    WordCountWindow? win = null;
    bool cancelled_once = false;

    public SelfTest (WordCountApp app, string spec) {
        this.app = app;
        var sep = spec.last_index_of (":");
        small_path = spec.substring (0, sep);
        big_path = spec.substring (sep + 1);
    }

    public void start () {
        app.hold ();
        /* Begin once the first window has been mapped. */
        win = new_window (small_path, 0.5);
        win.map.connect_after (() => {
            Idle.add (() => { run_phase ("small", on_small_ended); return Source.REMOVE; });
        });
        win.present ();
    }

    WordCountWindow new_window (string path, double interval) {
        var w = new WordCountWindow (app) { snapshot_interval = interval };
        w.open_path (path);
        return w;
    }

    static Gtk.Widget? find (Gtk.Widget widget, string name) {
        if (widget.name == name)
            return widget;
        for (var child = widget.get_first_child (); child != null; child = child.get_next_sibling ()) {
            var found = find (child, name);
            if (found != null)
                return found;
        }
        return null;
    }

    static void find_all (Gtk.Widget widget, string name, ref GenericArray<Gtk.Widget> into) {
        if (widget.name == name)
            into.add (widget);
        for (var child = widget.get_first_child (); child != null; child = child.get_next_sibling ())
            find_all (child, name, ref into);
    }

    void print_status (string what) {
        stdout.printf ("%s %s\n", what, ((Gtk.Label) find (win, "status")).label);
    }

    delegate void Ended (string state);

    void run_phase (string phase, owned Ended ended) {
        stdout.printf ("phase %s\n", phase);
        print_status ("opened");
        var run = (Gtk.Button) find (win, "run");
        if (!run.sensitive) {
            stdout.printf ("error Run is not sensitive\n");
            stdout.flush ();
            app.release ();
            app.quit ();
            return;
        }
        ulong handler = 0;
        handler = win.run_ended.connect ((state) => {
            win.disconnect (handler);
            print_status ("status");
            stdout.printf ("state %s\n", state);
            stdout.printf ("progress %s\n",
                           ((Gtk.ProgressBar) find (win, "progress")).fraction.to_string ());
            var rows = new GenericArray<Gtk.Widget> ();
            find_all (find (win, "results"), "word", ref rows);
            foreach (var word in rows) {
                var count = (Gtk.Label) word.get_next_sibling ();
                stdout.printf ("count %s %s\n", ((Gtk.Label) word).label, count.label);
            }
            stdout.printf ("end %s\n", phase);
            stdout.flush ();
            ended (state);
        });
        run.clicked ();
        print_status ("started");
    }

    void on_small_ended (string state) {
        win.destroy ();
        /* An epoch per batch of 100 lines, each one committed. */
        win = new_window (big_path, 0.0);
        win.present ();
        cancelled_once = false;
        run_phase ("cancel", on_cancel_ended);
        win.runner.snapshot_committed.connect ((epoch) => {
            if (!cancelled_once) {
                cancelled_once = true;
                stdout.printf ("committed %llu\n", epoch);
                ((Gtk.Button) find (win, "cancel")).clicked ();
            }
        });
    }

    void on_cancel_ended (string state) {
        win.destroy ();
        win = new_window (big_path, 0.0);
        win.present ();
        /* Closing the window while it runs stops the run (the window is
         * gone by the time the run ends: only its state is printed). */
        stdout.printf ("phase close\n");
        var closing = win;
        bool closed = false;
        closing.run_ended.connect ((state) => {
            stdout.printf ("state %s\n", state);
            stdout.printf ("end close\n");
            stdout.flush ();
            Idle.add (() => { on_close_ended (); return Source.REMOVE; });
        });
        ((Gtk.Button) find (closing, "run")).clicked ();
        closing.runner.snapshot_committed.connect ((epoch) => {
            if (!closed) {
                closed = true;
                stdout.printf ("committed %llu\n", epoch);
                closing.close ();
            }
        });
    }

    void on_close_ended () {
        win = new_window (big_path, 0.0);
        win.present ();
        run_phase ("resume", finish);
    }

    void finish (string state) {
        win.destroy ();
        app.release ();
    }
}

int main (string[] args) {
    return new WordCountApp ().run (args);
}
