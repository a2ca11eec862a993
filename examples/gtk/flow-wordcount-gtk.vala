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
    Flow.Runner? runner = null;
    Cancellable? cancellable = null;
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
        run_button = new Gtk.Button.with_label ("Run") { sensitive = false };
        run_button.clicked.connect (start);
        header.pack_end (run_button);
        cancel_button = new Gtk.Button.with_label ("Cancel") { sensitive = false };
        cancel_button.clicked.connect (() => cancellable.cancel ());
        header.pack_end (cancel_button);

        var box = new Gtk.Box (Gtk.Orientation.VERTICAL, 6) {
            margin_top = 6, margin_bottom = 6, margin_start = 6, margin_end = 6
        };
        progress = new Gtk.ProgressBar () { show_text = true };
        status = new Gtk.Label ("Pick a text file to count its words.") { xalign = 0 };
        results = new Gtk.ListBox () { selection_mode = Gtk.SelectionMode.NONE };
        var panes = new Gtk.Box (Gtk.Orientation.HORIZONTAL, 6);
        panes.append (new Gtk.ScrolledWindow () { child = results, hexpand = true, vexpand = true });
        graph = new Gtk.DrawingArea () { content_width = 200, content_height = 360 };
        graph.set_draw_func (draw_graph);
        panes.append (new Gtk.Frame ("Dataflow") { child = graph });
        box.append (progress);
        box.append (status);
        box.append (panes);
        child = box;
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
        status.label = "%s: %lld lines. Press Run.".printf (path, total_lines);
    }

    void start () {
        var flow = new Flow.Dataflow ("wordcount");
        var source = new Flow.FileSource (path);
        source.batch_size = 100;
        var words = flow.input ("lines", source).flat_map ("split", (line) => {
            var builder = new VariantBuilder (new VariantType ("as"));
            MatchInfo match;
            for (word_re.match (line.get_string ().down (), 0, out match); match.matches (); ) {
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
            recovery_directory = recovery_dir, snapshot_interval = 0.5
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
        status.label = runner.resume_epoch > 0 ? "Resumed from epoch %llu…".printf (runner.resume_epoch)
                                               : "Counting…";
        runner.run_async.begin (cancellable, (obj, res) => {
            try {
                runner.run_async.end (res);
                status.label = "Done: %u different words.".printf (counts.size ());
            } catch (IOError.CANCELLED e) {
                status.label = "Cancelled. Run again to resume from the last snapshot.";
            } catch (Error e) {
                status.label = "Failed: " + e.message;
            }
            show_counts ();
            run_button.sensitive = true;
            cancel_button.sensitive = false;
        });
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
            line.append (new Gtk.Label (word) { xalign = 0, hexpand = true });
            line.append (new Gtk.Label (counts[word].to_string ()) { xalign = 1 });
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
        (active_window ?? new WordCountWindow (this)).present ();
    }

    protected override void open (File[] files, string hint) {
        var win = (active_window as WordCountWindow) ?? new WordCountWindow (this);
        win.open_path (files[0].get_path ());
        win.present ();
    }
}

int main (string[] args) {
    return new WordCountApp ().run (args);
}
