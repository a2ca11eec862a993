/* test-graph.vala: nested operators, the graph as Mermaid, and the
 * directory source, from Vala.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

using TestUtil;

Variant ints (int64[] xs) {
    return xs;
}

void test_nested_mermaid () {
    try {
        var flow = new Flow.Dataflow ("df");
        unowned Flow.Stream s = flow.input ("inp", new Flow.TestingSource (ints ({ 1 })));
        flow.begin_operator ("op", "double_it");
        flow.add_operator_input ("up", s);
        s = s.map ("m", (item) => new Variant.int64 (item.get_int64 () * 2));
        flow.add_operator_output ("down", s);
        flow.end_operator ();
        var sink = new Flow.TestingSink ();
        s.output ("out", sink);

        assert_cmpstrv (flow.list_steps (), { "df.inp", "df.op.m", "df.out" });
        assert_cmpstr (flow.to_mermaid (), CompareOperator.EQ,
                       "flowchart TD\n" +
                       "subgraph \"df (Dataflow)\"\n" +
                       "df.inp[\"inp (input)\"]\n" +
                       "df.op[\"op (double_it)\"]\n" +
                       "df.inp -- \"down → up\" --> df.op\n" +
                       "df.out[\"out (output)\"]\n" +
                       "df.op -- \"down → up\" --> df.out\n" +
                       "end");
        assert_true (new Flow.Runner (flow).run ());
        assert_cmpstr (items_repr (sink), CompareOperator.EQ, "[2]");
    } catch (Error e) {
        error ("%s", e.message);
    }
}

void test_dir_source () {
    try {
        var dir = DirUtils.make_tmp ("flow-vala-XXXXXX");
        FileUtils.set_contents (Path.build_filename (dir, "a.txt"), "a1\n");
        FileUtils.set_contents (Path.build_filename (dir, "b.log"), "no\n");
        var flow = new Flow.Dataflow ("dirs");
        var sink = new Flow.TestingSink ();
        flow.input ("inp", new Flow.DirSource (dir, "*.txt")).output ("out", sink);
        assert_true (new Flow.Runner (flow).run ());
        assert_cmpstr (items_repr (sink), CompareOperator.EQ, "['a1']");
        FileUtils.remove (Path.build_filename (dir, "a.txt"));
        FileUtils.remove (Path.build_filename (dir, "b.log"));
        DirUtils.remove (dir);
    } catch (Error e) {
        error ("%s", e.message);
    }
}

int main (string[] args) {
    Test.init (ref args);
    Test.add_func ("/vala/graph/nested-mermaid", test_nested_mermaid);
    Test.add_func ("/vala/graph/dir-source", test_dir_source);
    return Test.run ();
}
