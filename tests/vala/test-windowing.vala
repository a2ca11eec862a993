/* test-windowing.vala: windowers and window clocks from Vala.
 *
 * Window ids are Bytewax's: counted from align_to for tumbling and
 * sliding windows, sequential for sessions. Times are µs since the Unix
 * epoch (UTC).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

using TestUtil;

const int64 SEC = 1000000;
const int64 MINUTE = 60 * SEC;
const int64 HOUR = 60 * MINUTE;

int64 midnight () {
    return new DateTime.utc (2023, 12, 14, 0, 0, 0).to_unix () * SEC;
}

void test_tumbling () throws Error {
    var w = new Flow.TumblingWindower.for_date_time (HOUR, new DateTime.utc (2023, 12, 14, 0, 0, 0));
    assert (w.get_align_to () == midnight ());
    assert (w.get_window_id (midnight () + 30 * MINUTE) == 0);
    assert (w.get_window_id (midnight () + HOUR) == 1);
    assert (w.get_window_id (midnight () - 1) == -1);

    var state = w.new_state ();
    int64[] ids = state.open_for (midnight () + 90 * MINUTE);
    assert (ids.length == 1 && ids[0] == 1);
    int64 at;
    assert (state.notify_at (out at) && at == midnight () + 2 * HOUR);
    assert (state.close_for (at - 1).length == 0);
    var closed = state.close_for (at);
    assert (closed.length == 1);
    assert (closed[0].get_window_id () == 1);
    assert (closed[0].dup_open_date_time ().format_iso8601 () == "2023-12-14T01:00:00Z");
    assert (state.is_empty ());
}

void test_sliding () throws Error {
    /* Bytewax's documentation: 1 hour windows every 30 minutes. */
    var w = new Flow.SlidingWindower (HOUR, 30 * MINUTE, midnight ());
    int64[] ids = w.get_window_ids (midnight () + 45 * MINUTE);
    assert (ids.length == 2 && ids[0] == 0 && ids[1] == 1);
    ids = w.get_window_ids (midnight () - 10 * MINUTE);
    assert (ids.length == 2 && ids[0] == -2 && ids[1] == -1);
    try {
        new Flow.SlidingWindower (HOUR, 2 * HOUR, midnight ());
        assert_not_reached ();
    } catch (Flow.Error.INVALID_ARGUMENT e) {
        assert_match (e.message, "offset .* can't be longer than its length");
    }
}

void test_session () throws Error {
    var w = new Flow.SessionWindower (30 * SEC);
    var state = w.new_state ();
    assert (state.open_for (midnight ())[0] == 0);
    assert (state.open_for (midnight () + MINUTE)[0] == 1);
    assert (state.open_for (midnight () + 30 * SEC)[0] == 0);
    assert (state.take_merged ().print (false) == "[(1, 0)]");
    assert (state.late_for (midnight ())[0] == Flow.LATE_SESSION_ID);

    var resumed = w.restore_state (state.snapshot ());
    var closed = resumed.close_for (Flow.TIMESTAMP_MAX);
    assert (closed.length == 1);
    unowned int64[] merged = closed[0].get_merged_ids ();
    assert (merged.length == 1 && merged[0] == 1);
    try {
        new Flow.SessionWindower (0);
        assert_not_reached ();
    } catch (Flow.Error.INVALID_ARGUMENT e) {
        assert_match (e.message, "gap must be positive");
    }
}

void test_event_clock () throws Error {
    var clock = new Flow.EventClock (5 * MINUTE, (v) => {
        if (!v.is_of_type (VariantType.INT64))
            throw new Flow.Error.WRONG_TYPE ("no time in this item");
        return v.get_int64 ();
    });
    var state = clock.new_state ();
    state.before_batch ();
    int64 ts, wm;
    state.on_item (new Variant.int64 (midnight ()), out ts, out wm);
    assert (ts == midnight () && wm == midnight () - 5 * MINUTE);
    try {
        state.on_item (new Variant.string ("x"), out ts, out wm);
        assert_not_reached ();
    } catch (Flow.Error.WRONG_TYPE e) {
        assert_match (e.message, "timestamp getter failed: no time in this item");
    }
    assert (state.snapshot ().get_type_string () == "(xx)");
}

/* Window operators: a WindowLogic subclass and collect_window. */
class SumLogic : Flow.WindowLogic {
    public int64 sum = 0;

    public override Variant? on_value (Variant value) throws Error {
        sum += value.get_int64 ();
        return null;
    }

    public override Variant? on_merge (Flow.WindowLogic consumed) throws Error {
        sum += ((SumLogic) consumed).sum;
        return null;
    }

    public override Variant? on_close () throws Error {
        Variant[] values = { new Variant.variant (new Variant.int64 (sum)) };
        return new Variant.array (VariantType.VARIANT, values);
    }

    public override Variant? snapshot () throws Error {
        return new Variant.int64 (sum);
    }

    public override bool restore (Variant state) throws Error {
        sum = state.get_int64 ();
        return true;
    }
}

void test_window_operators () throws Error {
    int64 align = new DateTime.utc (2022, 1, 1, 0, 0, 0).to_unix () * SEC;
    var builder = new VariantBuilder (new VariantType ("a(sv)"));
    int64[] seconds = { 1, 2, 5, 12, 3, 14 };
    string[] keys = { "a", "b", "a", "a", "a", "b" };
    for (int i = 0; i < seconds.length; i++)
        builder.add ("(sv)", keys[i], new Variant.int64 (seconds[i]));

    var flow = new Flow.Dataflow ("windows");
    var items = flow.input ("inp", new Flow.TestingSource (builder.end ()));
    var clock = new Flow.EventClock (0, (v) => align + v.get_int64 () * SEC);
    var windower = new Flow.TumblingWindower (10 * SEC, align);

    var collected = items.collect_window ("collect", clock, windower, true);
    var collect_sink = new Flow.TestingSink ();
    collected.down.output ("collected", collect_sink);
    var late_sink = new Flow.TestingSink ();
    collected.late.output ("late", late_sink);
    var sums = items.window ("sum", clock, windower, typeof (SumLogic), true);
    var sum_sink = new Flow.TestingSink ();
    sums.down.output ("sums", sum_sink);

    assert_true (new Flow.Runner (flow).run ());
    assert_cmpstr (collect_sink.get_items ().print (false), CompareOperator.EQ,
                   "[<('a', <(int64 0, <[<int64 1>, <int64 5>]>)>)>, <('b', <(int64 0, <[<int64 2>]>)>)>, "
                   + "<('a', <(int64 1, <[<int64 12>]>)>)>, <('b', <(int64 1, <[<int64 14>]>)>)>]");
    assert_cmpstr (sum_sink.get_items ().print (false), CompareOperator.EQ,
                   "[<('a', <(int64 0, <int64 6>)>)>, <('b', <(int64 0, <int64 2>)>)>, "
                   + "<('a', <(int64 1, <int64 12>)>)>, <('b', <(int64 1, <int64 14>)>)>]");
    /* a at 3 s is late: the watermark of a is 12 s then. */
    assert_cmpstr (late_sink.get_items ().print (false), CompareOperator.EQ,
                   "[<('a', <(int64 0, <int64 3>)>)>]");
}

/* A clock written in Vala (overrides of Flow.WindowClock): the timestamp
 * is `align` plus the value in seconds, the watermark the latest
 * timestamp seen (EventClock with no wait, without system time). Each
 * key's time is a KeyTime (what build returns). */
class KeyTime : Object {
    public int64 max_ts = Flow.TIMESTAMP_MIN;
}

class SecondsClock : Flow.WindowClock {
    public int64 align;
    public int n_built = 0;
    public int n_resumed = 0;

    public SecondsClock (int64 align) {
        this.align = align;
    }

    public override Object build (Variant? resume_state) throws Error {
        var t = new KeyTime ();
        n_built++;
        if (resume_state != null) {
            n_resumed++;
            t.max_ts = resume_state.get_int64 ();
        }
        return t;
    }

    public override bool on_item (Object logic, Variant value, out int64 timestamp,
                                  out int64 watermark) throws Error {
        var t = (KeyTime) logic;
        if (!value.is_of_type (VariantType.INT64))
            throw new Flow.Error.USER_FUNCTION ("no seconds in %s", value.get_type_string ());
        timestamp = align + value.get_int64 () * SEC;
        t.max_ts = int64.max (t.max_ts, timestamp);
        watermark = t.max_ts;
        return true;
    }

    public override int64 on_notify (Object logic) throws Error {
        return ((KeyTime) logic).max_ts;
    }

    public override int64 on_eof (Object logic) throws Error {
        return Flow.TIMESTAMP_MAX;
    }

    public override Variant snapshot (Object logic) throws Error {
        return new Variant.int64 (((KeyTime) logic).max_ts);
    }
}

void test_custom_clock () throws Error {
    int64 align = new DateTime.utc (2022, 1, 1, 0, 0, 0).to_unix () * SEC;
    var builder = new VariantBuilder (new VariantType ("a(sv)"));
    int64[] seconds = { 1, 2, 5, 12, 3, 14 };
    string[] keys = { "a", "b", "a", "a", "a", "b" };
    for (int i = 0; i < seconds.length; i++)
        builder.add ("(sv)", keys[i], new Variant.int64 (seconds[i]));

    var flow = new Flow.Dataflow ("custom");
    var items = flow.input ("inp", new Flow.TestingSource (builder.end ()));
    var clock = new SecondsClock (align);
    var collected = items.collect_window ("collect", clock, new Flow.TumblingWindower (10 * SEC, align), true);
    var collect_sink = new Flow.TestingSink ();
    collected.down.output ("collected", collect_sink);
    var late_sink = new Flow.TestingSink ();
    collected.late.output ("late", late_sink);

    assert_true (new Flow.Runner (flow).run ());
    /* As with EventClock (test_window_operators). */
    assert_cmpstr (collect_sink.get_items ().print (false), CompareOperator.EQ,
                   "[<('a', <(int64 0, <[<int64 1>, <int64 5>]>)>)>, <('b', <(int64 0, <[<int64 2>]>)>)>, "
                   + "<('a', <(int64 1, <[<int64 12>]>)>)>, <('b', <(int64 1, <[<int64 14>]>)>)>]");
    assert_cmpstr (late_sink.get_items ().print (false), CompareOperator.EQ,
                   "[<('a', <(int64 0, <int64 3>)>)>]");
    assert_cmpint (clock.n_built, CompareOperator.EQ, 2);

    /* The state API through the overrides; a snapshot resumes. */
    var state = clock.new_state ();
    int64 ts, wm;
    assert_true (state.on_item (new Variant.int64 (7), out ts, out wm));
    assert_true (ts == align + 7 * SEC && wm == ts);
    var resumed = clock.restore_state (state.snapshot ());
    assert_cmpint (clock.n_resumed, CompareOperator.EQ, 1);
    assert_true (resumed.on_notify () == align + 7 * SEC);
    try {
        state.on_item (new Variant.string ("x"), out ts, out wm);
        assert_not_reached ();
    } catch (Flow.Error.USER_FUNCTION e) {
        assert_match (e.message, "on_item\\(\\): no seconds in s");
    }
}

int main (string[] args) {
    Test.init (ref args);
    add ("/vala/windowing/tumbling", test_tumbling);
    add ("/vala/windowing/sliding", test_sliding);
    add ("/vala/windowing/session", test_session);
    add ("/vala/windowing/event-clock", test_event_clock);
    add ("/vala/windowing/operators", test_window_operators);
    add ("/vala/windowing/custom-clock", test_custom_clock);
    return Test.run ();
}
