/* test-recovery-tutorial.vala: the seed recovery tutorial in Vala.
 *
 * Runs the two programs built from examples/vala/recovery.vala (the first
 * run's input [0, 1, 2]; -D SECOND_RUN for the tutorial's changed input
 * [3, 4]) against one recovery directory, and the same flow in-process.
 *
 * Usage: test-recovery-tutorial [GTest options] FIRST_PROGRAM SECOND_PROGRAM
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

using TestUtil;

const string FIRST_OUTPUT = "('ALL', 0)\n('ALL', 1)\n('ALL', 3)\n";
const string SECOND_OUTPUT = "('ALL', 6)\n('ALL', 10)\n";

string first_program;
string second_program;

void expect_run (string[] argv, string expected_stdout) throws Error {
    string out_text, err_text;
    int status = spawn (argv, out out_text, out err_text);
    assert_cmpstr (err_text, CompareOperator.EQ, "");
    assert_cmpint (status, CompareOperator.EQ, 0);
    assert_cmpstr (out_text, CompareOperator.EQ, expected_stdout);
}

void test_with_tool () throws Error {
    var tmp = make_temp_dir ();
    var db = Path.build_filename (tmp, "db_dir");
    DirUtils.create (db, 0755);
    try {
        var tool = Environment.get_variable ("FLOW_RECOVERY_TOOL");
        assert_nonnull (tool);
        string out_text, err_text;
        assert_cmpint (spawn ({ tool, "init", db, "1" }, out out_text, out err_text), CompareOperator.EQ, 0);
        assert_true (FileUtils.test (Path.build_filename (db, "part-0.sqlite3"), FileTest.IS_REGULAR));

        expect_run ({ first_program, "-r", db, "-s", "30", "-b", "180" }, FIRST_OUTPUT);
        expect_run ({ second_program, "-r", db, "-s", "30", "-b", "180" }, SECOND_OUTPUT);
    } finally {
        remove_tree (tmp);
    }
}

void test_with_init_dir () throws Error {
    var tmp = make_temp_dir ();
    try {
        Flow.recovery_init_dir (tmp, 1);
        expect_run ({ first_program, "-r", tmp, "-s", "30", "-b", "180" }, FIRST_OUTPUT);
        /* Without -r nothing is restored. */
        expect_run ({ second_program }, "('ALL', 3)\n('ALL', 7)\n");
        expect_run ({ second_program, "-r", tmp, "-s", "30", "-b", "180" }, SECOND_OUTPUT);
        /* The same input again is a continuation: all of it was consumed. */
        expect_run ({ second_program, "-r", tmp, "-s", "30", "-b", "180" }, "");
    } finally {
        remove_tree (tmp);
    }
}

void test_no_partitions () throws Error {
    var tmp = make_temp_dir ();
    try {
        string out_text, err_text;
        int status = spawn ({ first_program, "-r", tmp }, out out_text, out err_text);
        assert_cmpint (status, CompareOperator.NE, 0);
        assert_cmpstr (out_text, CompareOperator.EQ, "");
        assert_true (err_text.contains (tmp));
        assert_true (err_text.contains ("flow-recovery init"));
    } finally {
        remove_tree (tmp);
    }
}

/* The tutorial's flow, built in-process, into a TestingSink. */
string run_in_process (string dir, int64[] inp) throws Error {
    var flow = new Flow.Dataflow ("recovery");
    var sink = new Flow.TestingSink ();
    flow.input ("inp", new Flow.TestingSource (inp))
        .key_on ("key_stream", (item) => "ALL")
        .stateful_map ("running_count",
            () => new Variant.int64 (0),
            (sum, item, out emit) => {
                int64 updated = sum.get_int64 () + item.get_int64 ();
                emit = updated;
                return updated;
            })
        .output ("out", sink);
    var runner = new Flow.Runner (flow);
    runner.recovery_directory = dir;
    runner.snapshot_interval = 30;
    runner.backup_interval = 180;
    assert_true (runner.run ());
    return items_repr (sink);
}

void test_in_process () throws Error {
    var tmp = make_temp_dir ();
    try {
        Flow.recovery_init_dir (tmp, 1);
        assert_cmpstr (run_in_process (tmp, { 0, 1, 2 }), CompareOperator.EQ, "[('ALL', 0), ('ALL', 1), ('ALL', 3)]");
        assert_cmpstr (run_in_process (tmp, { 3, 4 }), CompareOperator.EQ, "[('ALL', 6), ('ALL', 10)]");
    } finally {
        remove_tree (tmp);
    }
}

int main (string[] args) {
    Test.init (ref args);
    if (args.length != 3) {
        printerr ("usage: %s [GTest options] FIRST_PROGRAM SECOND_PROGRAM\n", args[0]);
        return 2;
    }
    first_program = args[1];
    second_program = args[2];

    add ("/vala/recovery-tutorial/flow-recovery-init", test_with_tool);
    add ("/vala/recovery-tutorial/recovery-init-dir", test_with_init_dir);
    add ("/vala/recovery-tutorial/no-partitions", test_no_partitions);
    add ("/vala/recovery-tutorial/in-process", test_in_process);
    return Test.run ();
}
