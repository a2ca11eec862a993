/* test-connectors.vala: sources and sinks subclassed in Vala.
 *
 * A partitioned list source whose partitions snapshot their position and
 * are rebuilt from it, and a sink whose partitions collect what they are
 * written and snapshot how much; used in flows with and without recovery,
 * including a resume after a failed run, and run_async on a main loop.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

using TestUtil;

errordomain TestError {
    DISK_GONE,
}

class ListSource : Flow.Source {
    public HashTable<string, Variant> parts = new HashTable<string, Variant> (str_hash, str_equal);
    public string[] part_order = {};
    public int batch_size = 2;
    public int pace_ms = 0;
    /* Fail in next_batch once this is set and the position is at least 3. */
    public bool fail_from_3 = false;
    public string[] log = {};
    public string[] built = {};
    public int64 failed_at = -1;

    public void add_part (string key, int64[] items) {
        parts[key] = items;
        part_order += key;
    }

    public override string[] list_parts () throws Error {
        return part_order;
    }

    public override Flow.SourcePartition build_part (string step_id, string part_key, Variant? resume_state) throws Error {
        int64 position = resume_state != null ? resume_state.get_int64 () : 0;
        built += "%s %s %s %lld".printf (step_id, part_key,
            resume_state != null ? resume_state.get_type_string () : "null", position);
        return new ListPartition (this, part_key, parts[part_key], position);
    }
}

class ListPartition : Flow.SourcePartition {
    private unowned ListSource source;
    private string key;
    private Variant items;
    public int64 position;

    public ListPartition (ListSource source, string key, Variant items, int64 position) {
        this.source = source;
        this.key = key;
        this.items = items;
        this.position = position;
    }

    public override Variant? next_batch () throws Error {
        source.log += "next_batch " + key;
        if (source.fail_from_3 && position >= 3) {
            source.failed_at = position;
            throw new TestError.DISK_GONE ("disk gone at %lld", position);
        }
        if (position >= (int64) items.n_children ())
            return null;
        var batch = new VariantBuilder (new VariantType ("ax"));
        for (var i = 0; i < source.batch_size && position < (int64) items.n_children (); i++)
            batch.add_value (items.get_child_value ((size_t) position++));
        return batch.end ();
    }

    public override int64 next_awake () {
        return source.pace_ms > 0 ? Flow.get_monotonic_time () + source.pace_ms * 1000 : 0;
    }

    public override Variant? snapshot () throws Error {
        source.log += "snapshot %s %lld".printf (key, position);
        return new Variant.int64 (position);
    }

    public override bool close () throws Error {
        source.log += "close " + key;
        return true;
    }
}

class CollectSink : Flow.Sink {
    public string[] items = {};
    public string[] built = {};
    public int closed = 0;

    public override Flow.SinkPartition build_part (string step_id, string part_key, Variant? resume_state) throws Error {
        uint64 written = resume_state != null ? resume_state.get_uint64 () : 0;
        built += "%s %s %llu".printf (step_id, part_key, written);
        return new CollectPartition (this, written);
    }
}

class CollectPartition : Flow.SinkPartition {
    private unowned CollectSink sink;
    private uint64 written;

    public CollectPartition (CollectSink sink, uint64 written) {
        this.sink = sink;
        this.written = written;
    }

    public override bool write_batch (GenericArray<Variant> batch) throws Error {
        foreach (var item in batch)
            sink.items += Flow.item_repr (item);
        written += batch.length;
        return true;
    }

    public override Variant? snapshot () throws Error {
        return new Variant.uint64 (written);
    }

    public override bool close () throws Error {
        sink.closed++;
        return true;
    }
}

/* source → key "ALL" → running sum → sink */
Flow.Dataflow sum_flow (Flow.Source source, Flow.Sink sink) {
    var flow = new Flow.Dataflow ("custom");
    flow.input ("inp", source)
        .key_on ("key", (item) => "ALL")
        .stateful_map ("sum", () => new Variant.int64 (0), (sum, value, out emit) => {
            var total = sum.get_int64 () + value.get_int64 ();
            emit = total;
            return total;
        })
        .output ("out", sink);
    return flow;
}

/* The reprs of ('ALL', 1 + … + i) for i in from..to. */
string[] sums (int from, int to) {
    string[] out_items = {};
    int64 total = 0;
    for (int i = 1; i <= to; i++) {
        total += i;
        if (i >= from)
            out_items += "('ALL', %lld)".printf (total);
    }
    return out_items;
}

int count_prefix (string[] lines, string prefix) {
    int n = 0;
    foreach (var line in lines) {
        if (line.has_prefix (prefix))
            n++;
    }
    return n;
}

void test_source_and_sink () throws Error {
    var source = new ListSource ();
    source.add_part ("p", { 1, 2, 3, 4, 5 });
    var sink = new CollectSink ();
    assert_true (new Flow.Runner (sum_flow (source, sink)).run ());
    assert_cmpstrv (sink.items, sums (1, 5));
    assert_cmpstrv (source.built, { "custom.inp p null 0" });
    assert_cmpstrv (sink.built, { "custom.out 0 0" });
    /* 3 batches of 2, then EOF. */
    assert_cmpint (count_prefix (source.log, "next_batch"), CompareOperator.EQ, 4);
    assert_cmpstr (source.log[source.log.length - 1], CompareOperator.EQ, "close p");
    assert_cmpint (sink.closed, CompareOperator.EQ, 1);
}

void test_list_parts () throws Error {
    var source = new ListSource ();
    source.add_part ("a", { 1, 2, 3 });
    source.add_part ("b", { 10, 20 });
    var sink = new CollectSink ();
    var flow = new Flow.Dataflow ("parts");
    flow.input ("inp", source)
        .key_on ("key", (item) => "ALL")
        .reduce_final ("total", (acc, v) => acc.get_int64 () + v.get_int64 ())
        .output ("out", sink);
    new Flow.Runner (flow).run ();
    assert_cmpint (source.built.length, CompareOperator.EQ, 2);
    assert_cmpint (count_prefix (source.log, "close"), CompareOperator.EQ, 2);
    assert_cmpstrv (sink.items, { "('ALL', 36)" });
}

void test_next_awake () throws Error {
    var source = new ListSource ();
    source.add_part ("p", { 1, 2, 3, 4 });
    source.batch_size = 1;
    source.pace_ms = 40;
    var sink = new CollectSink ();
    /* On a test clock: no real time spent waiting, exact times. */
    var clock = new Flow.TestClock (1700000000000000);
    var runner = new Flow.Runner (sum_flow (source, sink));
    runner.set_test_clock (clock);
    var start = clock.get_monotonic_time ();
    runner.run ();
    var elapsed_ms = (clock.get_monotonic_time () - start) / 1000;
    assert_cmpstrv (sink.items, sums (1, 4));
    /* 4 batches 40 ms apart, then the end. */
    assert_cmpint ((int) elapsed_ms, CompareOperator.EQ, 4 * 40);
    /* Once per batch and once for EOF: no busy polling. */
    assert_cmpint (count_prefix (source.log, "next_batch"), CompareOperator.EQ, 5);
}

void test_resume_after_eof () throws Error {
    var dir = make_temp_dir ();
    try {
        Flow.recovery_init_dir (dir, 2);
        var first = new ListSource ();
        first.add_part ("p", { 1, 2, 3 });
        var sink1 = new CollectSink ();
        var runner1 = new Flow.Runner (sum_flow (first, sink1));
        runner1.recovery_directory = dir;
        runner1.run ();
        assert_cmpstrv (sink1.items, sums (1, 3));
        assert_true ("snapshot p 3" in first.log);

        /* The same list, grown: a continuation. */
        var second = new ListSource ();
        second.add_part ("p", { 1, 2, 3, 4, 5 });
        var sink2 = new CollectSink ();
        var runner2 = new Flow.Runner (sum_flow (second, sink2));
        runner2.recovery_directory = dir;
        runner2.run ();
        assert_cmpstrv (second.built, { "custom.inp p x 3" });
        assert_cmpstrv (sink2.built, { "custom.out 0 3" });
        assert_cmpstrv (sink2.items, sums (4, 5));
    } finally {
        remove_tree (dir);
    }
}

void test_resume_after_failure () throws Error {
    var dir = make_temp_dir ();
    try {
        Flow.recovery_init_dir (dir, 1);
        int64[] items = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
        var source = new ListSource ();
        source.add_part ("p", items);
        source.batch_size = 1;
        source.pace_ms = 5;
        var sink1 = new CollectSink ();
        var runner1 = new Flow.Runner (sum_flow (source, sink1));
        runner1.recovery_directory = dir;
        runner1.snapshot_interval = 0.02;
        /* Fail once an epoch was committed: a crash mid-input. */
        runner1.snapshot_committed.connect ((epoch) => {
            source.fail_from_3 = true;
        });
        try {
            runner1.run ();
            assert_not_reached ();
        } catch (Error e) {
            assert_true (e is TestError.DISK_GONE);
            assert_match (e.message, "^input step 'custom\\.inp' \\(partition 'p'\\) failed: disk gone at \\d+$");
        }
        assert_cmpint ((int) source.failed_at, CompareOperator.GE, 3);

        var resumed = new ListSource ();
        resumed.add_part ("p", items);
        var sink2 = new CollectSink ();
        var runner2 = new Flow.Runner (sum_flow (resumed, sink2));
        runner2.recovery_directory = dir;
        runner2.run ();
        assert_cmpint (resumed.built.length, CompareOperator.EQ, 1);
        var position = int.parse (resumed.built[0].split (" ")[3]);
        /* Resumed at a snapshotted position, not from scratch, not past the
         * failure; the restored sum and the sink state are of that same
         * epoch. */
        assert_cmpint (position, CompareOperator.GT, 0);
        assert_cmpint (position, CompareOperator.LE, (int) source.failed_at);
        assert_cmpstrv (sink2.items, sums (position + 1, 10));
        assert_cmpstrv (sink2.built, { "custom.out 0 %d".printf (position) });
    } finally {
        remove_tree (dir);
    }
}

void test_run_async () throws Error {
    var source = new ListSource ();
    source.add_part ("p", { 1, 2, 3, 4, 5, 6 });
    source.batch_size = 1;
    source.pace_ms = 20;
    var sink = new CollectSink ();
    var runner = new Flow.Runner (sum_flow (source, sink));
    var loop = new MainLoop ();
    int ticks_while_running = 0;
    var tick = Timeout.add (5, () => {
        if (runner.running)
            ticks_while_running++;
        return Source.CONTINUE;
    });
    bool result = false;
    Error? error = null;
    runner.run_async.begin (null, (obj, res) => {
        try {
            result = runner.run_async.end (res);
        } catch (Error e) {
            error = e;
        }
        loop.quit ();
    });
    assert_true (runner.running);
    loop.run ();
    Source.remove (tick);
    assert_no_error (error);
    assert_true (result);
    assert_false (runner.running);
    assert_cmpint (ticks_while_running, CompareOperator.GE, 10);
    assert_cmpstrv (sink.items, sums (1, 6));
}

/* A dynamic source and sink (build_worker_part): worker i of n reads
 * i, i + n, … < 30 and writes what it read to its own sink partition. */
class ShardSource : Flow.Source {
    public string[] built = {};

    public override Flow.SourcePartition build_worker_part (string step_id, uint worker_index, uint worker_count) throws Error {
        lock (built) {
            built += "%s %u %u".printf (step_id, worker_index, worker_count);
        }
        return new ShardPartition (worker_index, worker_count);
    }
}

class ShardPartition : Flow.SourcePartition {
    private int64 next;
    private uint step;

    public ShardPartition (uint index, uint count) {
        next = index;
        step = count;
    }

    public override Variant? next_batch () throws Error {
        if (next >= 30)
            return null;
        var batch = new VariantBuilder (new VariantType ("ax"));
        for (var i = 0; i < 4 && next < 30; i++, next += step)
            batch.add ("x", next);
        return batch.end ();
    }
}

class WorkerSink : Flow.Sink {
    public WorkerPartition[] parts = {};

    public override Flow.SinkPartition build_worker_part (string step_id, uint worker_index, uint worker_count) throws Error {
        var part = new WorkerPartition (worker_index, worker_count);
        lock (parts) {
            parts += part;
        }
        return part;
    }
}

class WorkerPartition : Flow.SinkPartition {
    public uint index;
    public uint count;
    public int64[] got = {};

    public WorkerPartition (uint index, uint count) {
        this.index = index;
        this.count = count;
    }

    /* Only this worker's thread writes to it. */
    public override bool write_batch (GenericArray<Variant> batch) throws Error {
        foreach (var item in batch)
            got += item.get_int64 ();
        return true;
    }
}

void test_dynamic () throws Error {
    for (uint workers = 1; workers <= 3; workers++) {
        var source = new ShardSource ();
        var sink = new WorkerSink ();
        var flow = new Flow.Dataflow ("dyn");
        flow.input ("inp", source).output ("out", sink);
        var runner = new Flow.Runner (flow);
        runner.workers = workers;
        assert_true (runner.run ());
        assert_cmpuint (source.built.length, CompareOperator.EQ, workers);
        assert_cmpuint (sink.parts.length, CompareOperator.EQ, workers);
        var total = 0;
        foreach (var part in sink.parts) {
            assert_cmpuint (part.count, CompareOperator.EQ, workers);
            assert_true (("dyn.inp %u %u".printf (part.index, workers)) in source.built);
            /* What worker i read is what its partition got. */
            var expected = 0;
            foreach (var v in part.got) {
                assert_cmpint ((int) (v % workers), CompareOperator.EQ, (int) part.index);
                expected++;
            }
            assert_cmpint (expected, CompareOperator.EQ, (int) ((30 - part.index + workers - 1) / workers));
            total += part.got.length;
        }
        assert_cmpint (total, CompareOperator.EQ, 30);
    }
}

int main (string[] args) {
    Test.init (ref args);
    add ("/vala/connectors/source-and-sink", test_source_and_sink);
    add ("/vala/connectors/list-parts", test_list_parts);
    add ("/vala/connectors/next-awake", test_next_awake);
    add ("/vala/connectors/resume-after-eof", test_resume_after_eof);
    add ("/vala/connectors/resume-after-failure", test_resume_after_failure);
    add ("/vala/connectors/run-async", test_run_async);
    add ("/vala/connectors/dynamic", test_dynamic);
    return Test.run ();
}
