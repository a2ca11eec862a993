/* test-stateful.vala: Flow.StatefulLogic and Flow.StatefulBatchLogic
 * subclassed in Vala (override), for stateful and stateful_batch.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

using TestUtil;

const int64 START = 1700000000 * (int64) 1000000;

/* Counts its key's values; asks to be notified `delay` µs after its first
 * value; discards itself at the notification. */
class Counter : Flow.StatefulLogic {
    public string key;
    public int64 count;
    public int64 delay;
    public int64 at = -1;

    public Counter (string key, Variant? state, int64 delay) {
        this.key = key;
        this.count = state != null ? state.get_int64 () : 0;
        this.delay = delay;
    }

    public override Variant? on_item (Variant value, out bool discard) throws Error {
        count++;
        if (count == 1 && delay > 0)
            at = Flow.get_real_time () + delay;
        discard = Flow.STATEFUL_LOGIC_RETAIN != 0;
        return new Variant.array (null, { new Variant.int64 (count) });
    }

    public override Variant? on_notify (out bool discard) throws Error {
        discard = true;
        return new Variant.array (null, { new Variant.string ("notified %lld".printf (count)) });
    }

    public override Variant? on_eof (out bool discard) throws Error {
        discard = false;
        return new Variant.array (null, { new Variant.string ("eof %lld".printf (count)) });
    }

    public override bool notify_at (out int64 when) throws Error {
        when = at;
        return at >= 0;
    }

    public override Variant snapshot () throws Error {
        return new Variant.int64 (count);
    }
}

class Batcher : Flow.StatefulBatchLogic {
    public override Variant? on_batch (Variant values, out bool discard) throws Error {
        discard = false;
        return new Variant.array (null, { values });
    }

    public override Variant snapshot () throws Error {
        return new Variant.boolean (true);
    }
}

errordomain LogicError {
    BROKEN,
}

class Broken : Flow.StatefulLogic {
    public override Variant? on_item (Variant value, out bool discard) throws Error {
        discard = false;
        throw new LogicError.BROKEN ("broken logic");
    }

    public override Variant snapshot () throws Error {
        return new Variant.int64 (0);
    }
}

Variant keyed (string key, int64 n) {
    return new Variant ("(sv)", key, new Variant.int64 (n));
}

delegate Flow.Stream BuildFunc (Flow.Stream s);

string run_flow (Variant[] items, BuildFunc build, uint batch_size = 1, uint pause_at = 0) throws Error {
    var flow = new Flow.Dataflow ("st");
    var source = new Flow.TestingSource (new Variant.array (VariantType.VARIANT, wrap (items)));
    source.batch_size = batch_size;
    if (pause_at > 0)
        source.add_marker (pause_at, Flow.TestingMarker.PAUSE, 600);
    var sink = new Flow.TestingSink ();
    build (flow.input ("inp", source)).output ("out", sink);
    var runner = new Flow.Runner (flow);
    runner.set_test_clock (new Flow.TestClock (START));
    runner.run (null);
    return items_repr (sink);
}

Variant[] wrap (Variant[] items) {
    Variant[] boxed = {};
    foreach (var item in items)
        boxed += new Variant.variant (item);
    return boxed;
}

void test_counter () throws Error {
    var out_repr = run_flow ({ keyed ("a", 1), keyed ("b", 2), keyed ("a", 3) },
        (s) => s.stateful ("count", (key, state) => new Counter (key, state, 0)));
    assert_cmpstr (out_repr, CompareOperator.EQ,
        "[('a', 1), ('b', 1), ('a', 2), ('a', 'eof 2'), ('b', 'eof 1')]");
}

void test_notify () throws Error {
    var out_repr = run_flow ({ keyed ("a", 1), keyed ("b", 2), keyed ("c", 3) },
        (s) => s.stateful ("count", (key, state) =>
            new Counter (key, state, key == "a" ? 30000000 : key == "b" ? 10000000 : 0)),
        1, 2);
    assert_cmpstr (out_repr, CompareOperator.EQ,
        "[('a', 1), ('b', 1), ('b', 'notified 1'), ('a', 'notified 1'), ('c', 1), ('c', 'eof 1')]");
}

void test_batch () throws Error {
    var out_repr = run_flow ({ keyed ("a", 1), keyed ("b", 2), keyed ("a", 3), keyed ("a", 4) },
        (s) => s.stateful_batch ("batches", (key, state) => new Batcher ()), 3);
    assert_cmpstr (out_repr, CompareOperator.EQ, "[('a', [1, 3]), ('b', [2]), ('a', [4])]");
}

void test_error () throws Error {
    try {
        run_flow ({ keyed ("k9", 1) }, (s) => s.stateful ("bad", (key, state) => new Broken ()));
        Test.message ("the run did not fail");
        Test.fail ();
    } catch (LogicError.BROKEN e) {
        assert_cmpstr (e.message, CompareOperator.EQ,
            "stateful step 'st.bad' failed for key 'k9': on_item(): broken logic");
    }
}

int main (string[] args) {
    Test.init (ref args);
    add ("/vala/stateful/counter", test_counter);
    add ("/vala/stateful/notify", test_notify);
    add ("/vala/stateful/batch", test_batch);
    add ("/vala/stateful/error", test_error);
    return Test.run ();
}
