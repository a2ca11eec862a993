/* test-join.vala: join and enrich_cached from Vala.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

using TestUtil;

Variant keyed (string key, Variant value) {
    return new Variant ("(sv)", key, value);
}

Variant items (Variant[] xs) {
    return new Variant.array (VariantType.VARIANT, wrap (xs));
}

Variant[] wrap (Variant[] xs) {
    Variant[] boxed = {};
    foreach (var x in xs)
        boxed += new Variant.variant (x);
    return boxed;
}

string run_join (Variant lefts, Variant rights,
                 Flow.JoinInsertMode insert_mode, Flow.JoinEmitMode emit_mode) throws Error {
    var flow = new Flow.Dataflow ("vala_join");
    var sink = new Flow.TestingSink ();
    var left = flow.input ("left", new Flow.TestingSource (lefts));
    var right = flow.input ("right", new Flow.TestingSource (rights));
    left.join ("join", { right }, insert_mode, emit_mode).output ("out", sink);
    assert_true (new Flow.Runner (flow).run ());
    return items_repr (sink);
}

void test_join_running () throws Error {
    /* One side at a time: the left input has everything first. */
    var repr = run_join (items ({ keyed ("k", 1), keyed ("k", 2) }), items ({}),
                         Flow.JoinInsertMode.PRODUCT, Flow.JoinEmitMode.RUNNING);
    assert_cmpstr (repr, CompareOperator.EQ, "[('k', (1, None)), ('k', (1, None)), ('k', (2, None))]");
}

void test_join_complete () throws Error {
    var repr = run_join (items ({ keyed ("123", "Bee") }),
                         items ({ keyed ("123", "bee@example.org"), keyed ("456", "hive@example.org") }),
                         Flow.JoinInsertMode.LAST, Flow.JoinEmitMode.COMPLETE);
    assert_cmpstr (repr, CompareOperator.EQ, "[('123', ('Bee', 'bee@example.org'))]");
}

void test_join_not_keyed () throws Error {
    var flow = new Flow.Dataflow ("vala_join");
    var left = flow.input ("left", new Flow.TestingSource (items ({ keyed ("k", 1) })));
    var right = flow.input ("right", new Flow.TestingSource (items ({ new Variant.int64 (42) })));
    left.join ("join", { right }, Flow.JoinInsertMode.LAST, Flow.JoinEmitMode.COMPLETE)
        .output ("out", new Flow.TestingSink ());
    try {
        new Flow.Runner (flow).run ();
        Test.fail ();
    } catch (Flow.Error.NOT_KEYED e) {
        assert_match (e.message, "join step 'vala_join.join'.*42");
    }
}

void test_enrich_cached () throws Error {
    string[] calls = {};
    var flow = new Flow.Dataflow ("vala_enrich");
    var sink = new Flow.TestingSink ();
    Variant codes = new string[] { "dog", "cat", "dog" };
    flow.input ("inp", new Flow.TestingSource (codes))
        .enrich_cached ("enrich", (key) => {
            calls += key.get_string ();
            return new Variant.string (key.get_string () + ".png");
        }, (cache, item) => {
            return new Variant ("(sv)", item.get_string (), cache.get (item));
        }, Flow.TTL_CACHE_FOREVER)
        .output ("out", sink);
    assert_true (new Flow.Runner (flow).run ());
    assert_cmpstr (items_repr (sink), CompareOperator.EQ,
                   "[('dog', 'dog.png'), ('cat', 'cat.png'), ('dog', 'dog.png')]");
    assert_cmpuint (calls.length, CompareOperator.EQ, 2);
}

void test_ttl_cache () throws Error {
    int calls = 0;
    var cache = new Flow.TTLCache ((key) => {
        calls++;
        return new Variant.int64 (calls);
    }, 60 * TimeSpan.SECOND);
    cache.set_time (0);
    assert_cmpint ((int) cache.get (new Variant.string ("a")).get_int64 (), CompareOperator.EQ, 1);
    cache.set_time (60 * TimeSpan.SECOND);
    assert_cmpint ((int) cache.get (new Variant.string ("a")).get_int64 (), CompareOperator.EQ, 1);
    cache.set_time (60 * TimeSpan.SECOND + 1);
    assert_cmpint ((int) cache.get (new Variant.string ("a")).get_int64 (), CompareOperator.EQ, 2);
}

int main (string[] args) {
    Test.init (ref args);
    add ("/join/running", test_join_running);
    add ("/join/complete", test_join_complete);
    add ("/join/not-keyed", test_join_not_keyed);
    add ("/enrich-cached", test_enrich_cached);
    add ("/ttl-cache", test_ttl_cache);
    return Test.run ();
}
