/* recovery.vala: the seed tutorial's dataflow in Vala.
 *
 * A running sum over the input, keyed on "ALL", printed to standard output.
 *
 *   flow-recovery init db_dir/ 1
 *   ./recovery -r db_dir/ -s 30 -b 180
 *   ./recovery-second -r db_dir/ -s 30 -b 180
 *
 * The tutorial changes the input to [3, 4] before the second run; the build
 * compiles this file a second time with -D SECOND_RUN for that.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#if SECOND_RUN
const int64[] INP = { 3, 4 };
#else
const int64[] INP = { 0, 1, 2 };
#endif

int main (string[] args) {
    var flow = new Flow.Dataflow ("recovery");
    /* An int64[] converts to an "ax" GLib.Variant: one item per element. */
    var input_stream = flow.input ("inp", new Flow.TestingSource (INP));
    /* Stateful operators require their input to be keyed; the static key
     * "ALL" processes all input together. */
    var keyed_stream = input_stream.key_on ("key_stream", (item) => "ALL");
    var total_sum_stream = keyed_stream.stateful_map ("running_count",
        () => new Variant.int64 (0),
        (current_sum, new_item, out emit) => {
            int64 updated_sum = current_sum.get_int64 () + new_item.get_int64 ();
            emit = updated_sum;
            return updated_sum;
        });
    total_sum_stream.output ("out", new Flow.StdOutSink ());

    /* Parses -r/-s/-b/-w, runs the flow, prints an error and returns
     * non-zero on failure. */
    return new Flow.Runner (flow).run_with_args (args);
}
