/* common.vala: helpers shared by the Vala tests.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

namespace TestUtil {
    public delegate void ThrowingFunc () throws Error;

    /* glib-2.0.vapi of Vala 0.56 binds Test.add_data_func_full with the
     * destroy notify before the function (its C order is data, func,
     * destroy), so the test would call the destroy notify; bind it here. */
    [CCode (cname = "g_test_add_data_func_full")]
    extern void test_add_data_func_full (string path,
        [CCode (delegate_target_pos = 1.9, destroy_notify_pos = 2.1)] owned TestDataFunc func);

    /* Registers a GTest case whose body may throw: an uncaught error fails
     * the case with its domain, code and message. */
    public void add (string path, owned ThrowingFunc func) {
        test_add_data_func_full (path, () => {
            try {
                func ();
            } catch (Error e) {
                Test.message ("uncaught error %s %d: %s", e.domain.to_string (), e.code, e.message);
                Test.fail ();
            }
        });
    }

    /* Fails the case unless @text matches the regular expression @pattern. */
    public void assert_match (string text, string pattern) {
        if (!Regex.match_simple (pattern, text)) {
            Test.message ("'%s' does not match /%s/", text, pattern);
            Test.fail ();
        }
    }

    /* Python-style repr of what a TestingSink collected, e.g.
     * "[('ALL', 0), ('ALL', 1)]". */
    public string items_repr (Flow.TestingSink sink) {
        return Flow.item_repr (sink.get_items ());
    }

    public Variant int_item (int64 n) {
        return new Variant.int64 (n);
    }

    public string make_temp_dir () {
        try {
            return DirUtils.make_tmp ("flow-vala-XXXXXX");
        } catch (FileError e) {
            error ("cannot make a temporary directory: %s", e.message);
        }
    }

    public void remove_tree (string path) {
        var file = File.new_for_path (path);
        try {
            if (file.query_file_type (FileQueryInfoFlags.NOFOLLOW_SYMLINKS) == FileType.DIRECTORY) {
                var children = file.enumerate_children ("standard::name", FileQueryInfoFlags.NOFOLLOW_SYMLINKS);
                FileInfo? info;
                while ((info = children.next_file ()) != null)
                    remove_tree (file.get_child (info.get_name ()).get_path ());
                children.close ();
            }
            file.delete ();
        } catch (IOError.NOT_FOUND e) {
            /* already gone */
        } catch (Error e) {
            Test.message ("cannot remove %s: %s", path, e.message);
            Test.fail ();
        }
    }

    /* Runs @argv; returns its exit status (-1 if it did not exit normally)
     * and its standard output and error. */
    public int spawn (string[] argv, out string stdout_text, out string stderr_text) throws Error {
        var proc = new Subprocess.newv (argv, SubprocessFlags.STDOUT_PIPE | SubprocessFlags.STDERR_PIPE);
        string? out_text, err_text;
        proc.communicate_utf8 (null, null, out out_text, out err_text);
        stdout_text = out_text ?? "";
        stderr_text = err_text ?? "";
        return proc.get_if_exited () ? proc.get_exit_status () : -1;
    }
}
