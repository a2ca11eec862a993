/* test-errors.vala: failures a Vala user can cause, and how they surface.
 *
 * A GLib.Error thrown by a callback or an overridden virtual method stops
 * the run and is thrown from run() with its own domain and code, its
 * message prefixed with the full step id (and key); bad flows and bad
 * recovery directories are rejected with the Flow.Error code that says why.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

using TestUtil;

errordomain ParseError {
    EMPTY,
    NOT_A_NUMBER,
}

delegate unowned Flow.Stream BuildFunc (Flow.Stream input);

Flow.Dataflow make_flow (BuildFunc build, int64[] items = { 1, 2, 3 }) {
    var flow = new Flow.Dataflow ("errs");
    build (flow.input ("inp", new Flow.TestingSource (items))).output ("out", new Flow.TestingSink ());
    return flow;
}

/* Runs the flow, which must fail; returns the error. */
Error run_error (Flow.Dataflow flow, string? recovery_directory = null) {
    var runner = new Flow.Runner (flow);
    runner.recovery_directory = recovery_directory;
    try {
        runner.run ();
    } catch (Error e) {
        return e;
    }
    assert_not_reached ();
}

Error check_error (Flow.Dataflow flow) {
    try {
        flow.check ();
    } catch (Error e) {
        return e;
    }
    assert_not_reached ();
}

void test_callback_error_keeps_domain_and_code () throws Error {
    int64[] seen = {};
    var e = run_error (make_flow ((s) => s
        .key_on ("key", (item) => "k%lld".printf (item.get_int64 ()))
        .stateful_map ("sum", null, (state, value, out emit) => {
            seen += value.get_int64 ();
            if (value.get_int64 () == 2)
                throw new ParseError.NOT_A_NUMBER ("'%lld' is not a number", value.get_int64 ());
            emit = value;
            return value;
        })));
    assert_true (e is ParseError.NOT_A_NUMBER);
    assert_error (e, e.domain, ParseError.NOT_A_NUMBER);
    assert_cmpstr (e.domain.to_string (), CompareOperator.EQ, "parse-error-quark");
    assert_cmpstr (e.message, CompareOperator.EQ, "stateful_map step 'errs.sum' failed for key 'k2': '2' is not a number");
    assert_cmpint (seen.length, CompareOperator.EQ, 2);
}

void test_errors_of_other_callbacks () throws Error {
    var m = run_error (make_flow ((s) => s.map ("parse", (item) => {
        throw new ParseError.EMPTY ("empty");
    })));
    assert_true (m is ParseError.EMPTY);
    assert_cmpstr (m.message, CompareOperator.EQ, "map step 'errs.parse' failed on item 1: empty");

    var k = run_error (make_flow ((s) => s.key_on ("key", (item) => {
        throw new IOError.PERMISSION_DENIED ("no keys today");
    })));
    assert_error (k, IOError.quark (), IOError.PERMISSION_DENIED);
    assert_match (k.message, "'errs\\.key'.*no keys today");

    var b = run_error (make_flow ((s) => s
        .key_on ("key", (item) => "K")
        .fold_final ("fold", () => {
            throw new ParseError.EMPTY ("no initial value");
        }, (acc, v) => acc)));
    assert_true (b is ParseError.EMPTY);
    assert_match (b.message, "'errs\\.fold'.*'K'.*no initial value");

    var f = run_error (make_flow ((s) => s.filter ("keep", (item) => {
        throw new Flow.Error.WRONG_TYPE ("wanted a string");
    })));
    assert_error (f, Flow.Error.quark (), Flow.Error.WRONG_TYPE);
    assert_match (f.message, "'errs\\.keep'.*wanted a string");
}

void test_not_keyed () throws Error {
    var e = run_error (make_flow ((s) => s.stateful_map ("sum", () => new Variant.int64 (0),
        (sum, value, out emit) => {
            emit = value;
            return value;
        })));
    assert_error (e, Flow.Error.quark (), Flow.Error.NOT_KEYED);
    assert_match (e.message, "'errs\\.sum'");
    assert_match (e.message, "\\(sv\\)");
}

void test_bad_step_ids () throws Error {
    var dup = make_flow ((s) => s.map ("twice", (v) => v));
    dup.input ("other", new Flow.TestingSource (new int64[] { 1 })).map ("twice", (v) => v);
    assert_error (check_error (dup), Flow.Error.quark (), Flow.Error.DUPLICATE_STEP_ID);
    var e = run_error (dup);
    assert_error (e, Flow.Error.quark (), Flow.Error.DUPLICATE_STEP_ID);
    assert_match (e.message, "'errs\\.twice'");

    var dot = run_error (make_flow ((s) => s.map ("a.b", (v) => v)));
    assert_error (dot, Flow.Error.quark (), Flow.Error.INVALID_STEP_ID);
    assert_match (dot.message, "'a\\.b'");

    var empty = run_error (make_flow ((s) => s.map ("", (v) => v)));
    assert_error (empty, Flow.Error.quark (), Flow.Error.INVALID_STEP_ID);
}

void test_incomplete_flows () throws Error {
    var no_input = new Flow.Dataflow ("empty");
    var e = run_error (no_input);
    assert_error (e, Flow.Error.quark (), Flow.Error.INCOMPLETE_FLOW);
    assert_match (e.message, "'empty'.*input");

    var no_output = new Flow.Dataflow ("no_out");
    no_output.input ("inp", new Flow.TestingSource (new int64[] { 1 })).map ("m", (v) => v);
    var o = run_error (no_output);
    assert_error (o, Flow.Error.quark (), Flow.Error.INCOMPLETE_FLOW);
    assert_match (o.message, "'no_out'.*output");

    var a = new Flow.Dataflow ("a");
    var b = new Flow.Dataflow ("b");
    var sa = a.input ("inp", new Flow.TestingSource (new int64[] { 1 }));
    var sb = b.input ("inp", new Flow.TestingSource (new int64[] { 2 }));
    sa.merge ("both", { sb }).output ("out", new Flow.TestingSink ());
    var m = run_error (a);
    assert_error (m, Flow.Error.quark (), Flow.Error.INVALID_FLOW);
    assert_match (m.message, "'a\\.both'.*'b\\.inp'");
}

string run_sum (string dir) throws Error {
    var flow = new Flow.Dataflow ("errs");
    var sink = new Flow.TestingSink ();
    flow.input ("inp", new Flow.TestingSource (new int64[] { 1, 2, 3 }))
        .key_on ("k", (item) => "K")
        .stateful_map ("sum", () => new Variant.int64 (0), (sum, value, out emit) => {
            emit = sum.get_int64 () + value.get_int64 ();
            return emit;
        })
        .output ("out", sink);
    var runner = new Flow.Runner (flow);
    runner.recovery_directory = dir;
    runner.run ();
    return items_repr (sink);
}

void test_recovery_directories () throws Error {
    var dir = make_temp_dir ();
    try {
        Flow.recovery_init_dir (dir, 2);
        assert_cmpstr (run_sum (dir), CompareOperator.EQ, "[('K', 1), ('K', 3), ('K', 6)]");

        var other = new Flow.Dataflow ("someone_else");
        other.input ("inp", new Flow.TestingSource (new int64[] { 1 })).output ("out", new Flow.TestingSink ());
        var e = run_error (other, dir);
        assert_error (e, Flow.Error.quark (), Flow.Error.FOREIGN_PARTITIONS);
        assert_match (e.message, "'errs'");
        assert_match (e.message, "'someone_else'");
        /* Nothing changed: the owner resumes (same input, all consumed). */
        assert_cmpstr (run_sum (dir), CompareOperator.EQ, "[]");

        try {
            Flow.recovery_init_dir (dir, 2);
            assert_not_reached ();
        } catch (Error again) {
            assert_error (again, Flow.Error.quark (), Flow.Error.PARTITIONS_EXIST);
        }
    } finally {
        remove_tree (dir);
    }

    var empty = make_temp_dir ();
    try {
        var flow = make_flow ((s) => s);
        assert_error (run_error (flow, empty), Flow.Error.quark (), Flow.Error.NO_PARTITIONS);
        assert_error (run_error (flow, Path.build_filename (empty, "missing")),
            Flow.Error.quark (), Flow.Error.NO_PARTITIONS);
    } finally {
        remove_tree (empty);
    }
}

/* Connectors whose overridden methods throw where told to. */
class FailingSource : Flow.Source {
    public string fail_in;

    public FailingSource (string fail_in) {
        this.fail_in = fail_in;
    }

    public override Flow.SourcePartition build_part (string step_id, string part_key, Variant? resume) throws Error {
        if (fail_in == "build_part")
            throw new IOError.NOT_FOUND ("cannot open");
        return new FailingPartition (fail_in);
    }
}

class FailingPartition : Flow.SourcePartition {
    private string fail_in;
    private bool done = false;

    public FailingPartition (string fail_in) {
        this.fail_in = fail_in;
    }

    public override Variant? next_batch () throws Error {
        if (fail_in == "next_batch")
            throw new IOError.FAILED ("no more disk");
        if (done)
            return null;
        done = true;
        return new int64[] { 1 };
    }
}

class FailingSink : Flow.Sink {
    public override Flow.SinkPartition build_part (string step_id, string part_key, Variant? resume) throws Error {
        return new FailingSinkPartition ();
    }
}

class FailingSinkPartition : Flow.SinkPartition {
    public override bool write_batch (GenericArray<Variant> items) throws Error {
        throw new IOError.NO_SPACE ("disk full");
    }
}

Error run_connectors (Flow.Source source, Flow.Sink sink) {
    var flow = new Flow.Dataflow ("conn");
    flow.input ("inp", source).output ("out", sink);
    return run_error (flow);
}

void test_virtual_method_errors () throws Error {
    var n = run_connectors (new FailingSource ("next_batch"), new Flow.TestingSink ());
    assert_error (n, IOError.quark (), IOError.FAILED);
    assert_cmpstr (n.message, CompareOperator.EQ, "input step 'conn.inp' (partition '0') failed: no more disk");

    var b = run_connectors (new FailingSource ("build_part"), new Flow.TestingSink ());
    assert_error (b, IOError.quark (), IOError.NOT_FOUND);
    assert_match (b.message, "'conn\\.inp'.*cannot open");

    var w = run_connectors (new FailingSource ("none"), new FailingSink ());
    assert_error (w, IOError.quark (), IOError.NO_SPACE);
    assert_match (w.message, "'conn\\.out'.*disk full");
}

void test_parse_args () throws Error {
    var runner = new Flow.Runner (make_flow ((s) => s));
    string[] argv = { "prog", "-r", "/some/dir", "-s", "0.5", "-b", "180", "rest" };
    assert_true (runner.parse_args (ref argv));
    assert_cmpstr (runner.recovery_directory, CompareOperator.EQ, "/some/dir");
    assert_cmpfloat (runner.snapshot_interval, CompareOperator.EQ, 0.5);
    assert_cmpfloat (runner.backup_interval, CompareOperator.EQ, 180);
    assert_cmpstrv (argv, { "prog", "rest" });

    string[] bad = { "prog", "-s", "soon" };
    try {
        runner.parse_args (ref bad);
        assert_not_reached ();
    } catch (Error e) {
        assert_match (e.message, "soon");
    }
}

int main (string[] args) {
    Test.init (ref args);
    add ("/vala/errors/callback-error-keeps-domain-and-code", test_callback_error_keeps_domain_and_code);
    add ("/vala/errors/other-callbacks", test_errors_of_other_callbacks);
    add ("/vala/errors/not-keyed", test_not_keyed);
    add ("/vala/errors/bad-step-ids", test_bad_step_ids);
    add ("/vala/errors/incomplete-flows", test_incomplete_flows);
    add ("/vala/errors/recovery-directories", test_recovery_directories);
    add ("/vala/errors/virtual-methods", test_virtual_method_errors);
    add ("/vala/errors/parse-args", test_parse_args);
    return Test.run ();
}
