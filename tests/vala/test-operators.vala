/* test-operators.vala: operator callbacks written in Vala.
 *
 * Each case builds a small flow over a Flow.TestingSource, runs it, and
 * checks what the callbacks were given and what a Flow.TestingSink got
 * (printed Python-style by Flow.item_repr).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

using TestUtil;

delegate unowned Flow.Stream BuildFunc (Flow.Stream input);

/* Runs input → build → TestingSink; returns the repr of the items. */
string run_flow (Variant items, BuildFunc build, string id = "ops") throws Error {
    var flow = new Flow.Dataflow (id);
    var sink = new Flow.TestingSink ();
    build (flow.input ("inp", new Flow.TestingSource (items))).output ("out", sink);
    assert_true (new Flow.Runner (flow).run ());
    return items_repr (sink);
}

/* The repr of the items in sorted order, for operators (merge) that do
 * not promise an order. */
string sorted_items_repr (Flow.TestingSink sink) {
    var reprs = new GenericArray<string> ();
    for (uint i = 0; i < sink.get_n_items (); i++)
        reprs.add (Flow.item_repr (sink.get_item (i)));
    reprs.sort (strcmp);
    var text = new StringBuilder ("[");
    for (uint i = 0; i < reprs.length; i++)
        text.append_printf ("%s%s", i > 0 ? ", " : "", reprs[i]);
    text.append ("]");
    return text.str;
}

Variant ints (int64[] xs) {
    return xs;
}

Variant strs (string[] xs) {
    return xs;
}

void test_testing_sink () throws Error {
    var flow = new Flow.Dataflow ("sink");
    var sink = new Flow.TestingSink ();
    flow.input ("inp", new Flow.TestingSource (strs ({ "a", "b" }))).output ("out", sink);
    new Flow.Runner (flow).run ();
    assert_cmpuint (sink.get_n_items (), CompareOperator.EQ, 2);
    assert_cmpstr (sink.get_items ().get_type_string (), CompareOperator.EQ, "av");
    assert_cmpstr (sink.get_item (1).get_string (), CompareOperator.EQ, "b");
    assert_cmpstr (items_repr (sink), CompareOperator.EQ, "['a', 'b']");
    sink.clear ();
    assert_cmpuint (sink.get_n_items (), CompareOperator.EQ, 0);
}

void test_map () throws Error {
    string[] types = {};
    var out_repr = run_flow (ints ({ 1, 2, 3 }), (s) => s.map ("times_ten", (item) => {
        types += item.get_type_string ();
        return new Variant.string ("n=%lld".printf (item.get_int64 () * 10));
    }));
    assert_cmpstrv (types, { "x", "x", "x" });
    assert_cmpstr (out_repr, CompareOperator.EQ, "['n=10', 'n=20', 'n=30']");
}

void test_filter () throws Error {
    var out_repr = run_flow (ints ({ 1, 2, 3, 4, 5, 6 }),
        (s) => s.filter ("even", (item) => item.get_int64 () % 2 == 0));
    assert_cmpstr (out_repr, CompareOperator.EQ, "[2, 4, 6]");
}

void test_filter_map () throws Error {
    var out_repr = run_flow (strs ({ "1", "x", "3", "" }), (s) => s.filter_map ("parse", (item) => {
        int64 n;
        if (!int64.try_parse (item.get_string (), out n) || item.get_string () == "")
            return null;
        return new Variant.int64 (n);
    }));
    assert_cmpstr (out_repr, CompareOperator.EQ, "[1, 3]");
}

void test_flat_map () throws Error {
    var out_repr = run_flow (ints ({ 0, 1, 2 }), (s) => s.flat_map ("explode", (item) => {
        var n = item.get_int64 ();
        if (n == 0)
            return null;
        if (n == 1) {
            /* An av array: its elements are unboxed. */
            return new Variant.array (VariantType.VARIANT, {
                new Variant.variant (new Variant.int64 (n)),
                new Variant.variant (new Variant.string ("one")),
                new Variant.variant (new Variant ("(sx)", "t", n)),
            });
        }
        int64[] three = { n, n, n };
        return three;
    }));
    assert_cmpstr (out_repr, CompareOperator.EQ, "[1, 'one', ('t', 1), 2, 2, 2]");
}

void test_flatten () throws Error {
    var out_repr = run_flow (new Variant.parsed ("[[1, 2], @ax [], [3]]"), (s) => s.flatten ("flat"));
    assert_cmpstr (out_repr, CompareOperator.EQ, "[1, 2, 3]");
}

void test_keyed () throws Error {
    string[] value_types = {};
    var out_repr = run_flow (ints ({ 1, 2, 3, 4 }), (s) => s
        .key_on ("parity", (item) => item.get_int64 () % 2 == 1 ? "odd" : "even")
        .map_value ("square", (value) => {
            value_types += value.get_type_string ();
            return new Variant.int64 (value.get_int64 () * value.get_int64 ());
        })
        .filter_value ("not_one", (value) => value.get_int64 () != 1));
    assert_cmpstrv (value_types, { "x", "x", "x", "x" });
    assert_cmpstr (out_repr, CompareOperator.EQ, "[('even', 4), ('odd', 9), ('even', 16)]");

    var flow = new Flow.Dataflow ("keyrm");
    var sink = new Flow.TestingSink ();
    flow.input ("inp", new Flow.TestingSource (ints ({ 5, 6 })))
        .key_on ("k", (item) => "K")
        .key_rm ("rm")
        .output ("out", sink);
    new Flow.Runner (flow).run ();
    assert_cmpstr (sink.get_item (0).get_type_string (), CompareOperator.EQ, "x");
    assert_cmpstr (items_repr (sink), CompareOperator.EQ, "[5, 6]");

    /* Keyed items are (sv); Flow.item_get_keyed splits them. */
    var item = Flow.item_new_keyed ("k", new Variant.int64 (1));
    string? key;
    Variant? value;
    assert_true (Flow.item_get_keyed (item, out key, out value));
    assert_cmpstr (key, CompareOperator.EQ, "k");
    assert_cmpint ((int) value.get_int64 (), CompareOperator.EQ, 1);
    assert_false (Flow.item_get_keyed (new Variant.int64 (1), out key, out value));
    assert_null (key);
    assert_null (value);
}

void test_flat_map_value () throws Error {
    var out_repr = run_flow (strs ({ "a b", "c" }), (s) => s
        .key_on ("k", (item) => "words")
        .flat_map_value ("split", (value) => value.get_string ().split (" ")));
    assert_cmpstr (out_repr, CompareOperator.EQ, "[('words', 'a'), ('words', 'b'), ('words', 'c')]");
}

void test_stateful_map_builder () throws Error {
    var out_repr = run_flow (ints ({ 1, 2, 3, 4, 5 }), (s) => s
        .key_on ("parity", (item) => item.get_int64 () % 2 == 1 ? "odd" : "even")
        .stateful_map ("sum", () => new Variant.int64 (100), (sum, value, out emit) => {
            var total = sum.get_int64 () + value.get_int64 ();
            emit = "total %lld".printf (total);
            return total;
        }));
    assert_cmpstr (out_repr, CompareOperator.EQ,
        "[('odd', 'total 101'), ('even', 'total 102'), ('odd', 'total 104'), ('even', 'total 106'), ('odd', 'total 109')]");
}

void test_stateful_map_no_builder () throws Error {
    string[] states = {};
    var out_repr = run_flow (strs ({ "a", "a", "a", "b", "a" }), (s) => s
        .key_on ("self", (item) => item.get_string ())
        .stateful_map ("count", null, (state, value, out emit) => {
            states += state == null ? "null" : state.get_int64 ().to_string ();
            int64 n = state == null ? 1 : state.get_int64 () + 1;
            /* Count to 2, then forget the key; emit only odd counts. */
            emit = n % 2 == 1 ? new Variant.int64 (n) : null;
            return n >= 2 ? null : new Variant.int64 (n);
        }));
    assert_cmpstrv (states, { "null", "1", "null", "null", "1" });
    assert_cmpstr (out_repr, CompareOperator.EQ, "[('a', 1), ('a', 1), ('b', 1)]");
}

void test_stateful_flat_map () throws Error {
    var out_repr = run_flow (ints ({ 1, 2 }), (s) => s
        .key_on ("k", (item) => "k")
        .stateful_flat_map ("repeat", () => new Variant.int64 (0), (seen, value, out emit) => {
            var n = seen.get_int64 () + 1;
            int64[] copies = {};
            for (var i = 0; i < n; i++)
                copies += value.get_int64 ();
            emit = copies;
            return n;
        }));
    assert_cmpstr (out_repr, CompareOperator.EQ, "[('k', 1), ('k', 2), ('k', 2)]");
}

void test_fold_final () throws Error {
    var out_repr = run_flow (strs ({ "pear", "apple", "plum", "avocado", "banana" }), (s) => s
        .key_on ("initial", (item) => item.get_string ().substring (0, 1))
        .fold_final ("by_initial", () => new Variant.strv ({}), (list, value) => {
            var words = list.dup_strv ();
            words += value.get_string ();
            return words;
        }));
    assert_cmpstr (out_repr, CompareOperator.EQ,
        "[('a', ['apple', 'avocado']), ('b', ['banana']), ('p', ['pear', 'plum'])]");
}

void test_reduce_final () throws Error {
    string[] calls = {};
    var out_repr = run_flow (ints ({ 3, 4, 5 }), (s) => s
        .key_on ("k", (item) => "all")
        .reduce_final ("product", (acc, value) => {
            calls += "%lld*%lld".printf (acc.get_int64 (), value.get_int64 ());
            return acc.get_int64 () * value.get_int64 ();
        }));
    assert_cmpstrv (calls, { "3*4", "12*5" });
    assert_cmpstr (out_repr, CompareOperator.EQ, "[('all', 60)]");
}

void test_count_final () throws Error {
    var out_repr = run_flow (strs ({ "b", "a", "b", "c", "b" }),
        (s) => s.count_final ("count", (item) => item.get_string ()));
    assert_cmpstr (out_repr, CompareOperator.EQ, "[('a', 1), ('b', 3), ('c', 1)]");
}

void test_max_min_final () throws Error {
    Variant words = strs ({ "kiwi", "fig", "banana", "apple" });
    assert_cmpstr (run_flow (words, (s) => s.key_on ("k", (i) => "w").max_final ("max", null)),
        CompareOperator.EQ, "[('w', 'kiwi')]");
    assert_cmpstr (run_flow (words, (s) => s.key_on ("k", (i) => "w")
            .max_final ("max", (v) => new Variant.int64 (v.get_string ().length))),
        CompareOperator.EQ, "[('w', 'banana')]");
    assert_cmpstr (run_flow (words, (s) => s.key_on ("k", (i) => "w").min_final ("min", null)),
        CompareOperator.EQ, "[('w', 'apple')]");
    assert_cmpstr (run_flow (words, (s) => s.key_on ("k", (i) => "w")
            .min_final ("min", (v) => new Variant.int64 (v.get_string ().length))),
        CompareOperator.EQ, "[('w', 'fig')]");
}

void test_collect () throws Error {
    var out_repr = run_flow (ints ({ 1, 2, 3, 4, 5 }), (s) => s
        .key_on ("k", (item) => "k")
        .collect ("batch", 3600, 2));
    assert_cmpstr (out_repr, CompareOperator.EQ, "[('k', [1, 2]), ('k', [3, 4]), ('k', [5])]");
}

void test_branch_merge () throws Error {
    var flow = new Flow.Dataflow ("branching");
    var evens = new Flow.TestingSink ();
    var odds = new Flow.TestingSink ();
    var all = new Flow.TestingSink ();
    unowned Flow.Stream trues, falses;
    flow.input ("inp", new Flow.TestingSource (ints ({ 1, 2, 3, 4, 5 })))
        .branch ("is_even", (item) => item.get_int64 () % 2 == 0, out trues, out falses);
    assert_nonnull (trues);
    assert_nonnull (falses);
    assert_true (trues != falses);
    assert_cmpstr (trues.step_id, CompareOperator.EQ, "branching.is_even");
    trues.output ("evens", evens);
    falses.map ("negate", (item) => new Variant.int64 (-item.get_int64 ())).output ("odds", odds);
    trues.merge ("merged", { falses }).output ("all", all);
    new Flow.Runner (flow).run ();
    assert_cmpstr (items_repr (evens), CompareOperator.EQ, "[2, 4]");
    assert_cmpstr (items_repr (odds), CompareOperator.EQ, "[-1, -3, -5]");
    assert_cmpstr (sorted_items_repr (all), CompareOperator.EQ, "[1, 2, 3, 4, 5]");
}

void test_merge_three () throws Error {
    var flow = new Flow.Dataflow ("merging");
    var sink = new Flow.TestingSink ();
    var a = flow.input ("a", new Flow.TestingSource (strs ({ "a1", "a2" })));
    var b = flow.input ("b", new Flow.TestingSource (strs ({ "b1" })));
    var c = flow.input ("c", new Flow.TestingSource (strs ({ "c1", "c2" })));
    a.merge ("abc", { b, c }).output ("out", sink);
    new Flow.Runner (flow).run ();
    assert_cmpstr (sorted_items_repr (sink), CompareOperator.EQ, "['a1', 'a2', 'b1', 'c1', 'c2']");
}

void test_inspect () throws Error {
    string[] seen = {};
    var out_repr = run_flow (ints ({ 7, 8 }), (s) => s
        .key_on ("k", (item) => "k%lld".printf (item.get_int64 ()))
        .inspect ("look", (step_id, item) => {
            seen += "%s %s".printf (step_id, Flow.item_repr (item));
        }), "inspecting");
    assert_cmpstrv (seen, { "inspecting.look ('k7', 7)", "inspecting.look ('k8', 8)" });
    assert_cmpstr (out_repr, CompareOperator.EQ, "[('k7', 7), ('k8', 8)]");
}

void test_flat_map_batch () throws Error {
    string[] batches = {};
    var flow = new Flow.Dataflow ("batching");
    var source = new Flow.TestingSource (ints ({ 1, 2, 3, 4, 5 }));
    source.batch_size = 2;
    var sink = new Flow.TestingSink ();
    flow.input ("inp", source)
        .flat_map_batch ("per_batch", (items) => {
            batches += Flow.item_repr (items);
            int64 sum = 0;
            for (size_t i = 0; i < items.n_children (); i++)
                sum += items.get_child_value (i).get_variant ().get_int64 ();
            return new Variant.array (VariantType.INT64,
                                      { new Variant.int64 ((int64) items.n_children ()), new Variant.int64 (sum) });
        })
        .output ("out", sink);
    assert_true (new Flow.Runner (flow).run ());
    assert_cmpstrv (batches, { "[1, 2]", "[3, 4]", "[5]" });
    assert_cmpstr (items_repr (sink), CompareOperator.EQ, "[2, 3, 2, 7, 1, 5]");
}

void test_inspect_debug () throws Error {
    string[] seen = {};
    var out_repr = run_flow (ints ({ 7, 8 }), (s) => s
        .inspect_debug ("dbg", (step_id, item, epoch, worker_index) => {
            seen += "%s W%u @%llu: %s".printf (step_id, worker_index, epoch, Flow.item_repr (item));
        }), "debugging");
    assert_cmpstrv (seen, { "debugging.dbg W0 @1: 7", "debugging.dbg W0 @1: 8" });
    assert_cmpstr (out_repr, CompareOperator.EQ, "[7, 8]");
}

void test_closures () throws Error {
    int calls = 0;
    var out_repr = run_flow (ints ({ 1, 2, 3 }), (s) => s.map ("count_calls", (item) => {
        calls++;
        return new Variant ("(xi)", item.get_int64 (), calls);
    }));
    assert_cmpint (calls, CompareOperator.EQ, 3);
    assert_cmpstr (out_repr, CompareOperator.EQ, "[(1, 1), (2, 2), (3, 3)]");
}

int main (string[] args) {
    Test.init (ref args);
    add ("/vala/operators/testing-sink", test_testing_sink);
    add ("/vala/operators/map", test_map);
    add ("/vala/operators/filter", test_filter);
    add ("/vala/operators/filter-map", test_filter_map);
    add ("/vala/operators/flat-map", test_flat_map);
    add ("/vala/operators/flatten", test_flatten);
    add ("/vala/operators/keyed", test_keyed);
    add ("/vala/operators/flat-map-value", test_flat_map_value);
    add ("/vala/operators/stateful-map-builder", test_stateful_map_builder);
    add ("/vala/operators/stateful-map-no-builder", test_stateful_map_no_builder);
    add ("/vala/operators/stateful-flat-map", test_stateful_flat_map);
    add ("/vala/operators/fold-final", test_fold_final);
    add ("/vala/operators/reduce-final", test_reduce_final);
    add ("/vala/operators/count-final", test_count_final);
    add ("/vala/operators/max-min-final", test_max_min_final);
    add ("/vala/operators/collect", test_collect);
    add ("/vala/operators/branch-merge", test_branch_merge);
    add ("/vala/operators/merge-three", test_merge_three);
    add ("/vala/operators/inspect", test_inspect);
    add ("/vala/operators/flat-map-batch", test_flat_map_batch);
    add ("/vala/operators/inspect-debug", test_inspect_debug);
    add ("/vala/operators/closures", test_closures);
    return Test.run ();
}
