#!/usr/bin/env python3
# recovery_gi.py: the seed tutorial's dataflow with the GObject-Introspection
# API of libflow (the Flow override makes the callbacks take and return plain
# Python values).
#
# A running sum over the input, keyed on "ALL", printed to standard output:
#
#   flow-recovery init db_dir/ 1          (or: python3 -m flow.recovery db_dir/ 1)
#   python3 recovery_gi.py -r db_dir/ -s 30 -b 180
#
# Change `inp` to [3, 4] and run it again: it continues from the restored sum
# and prints ('ALL', 6) and ('ALL', 10). `python3 -m flow.run recovery_gi.py
# -r db_dir/ -s 30 -b 180` runs the same dataflow.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import sys

import gi

gi.require_version("Flow", "1")
from gi.repository import Flow  # noqa: E402

inp = [0, 1, 2]

flow = Flow.Dataflow.new("recovery")
input_stream = flow.input("inp", Flow.TestingSource.new(inp))
# Stateful operators require their input to be keyed. We'll use the static
# key "ALL" so that all input is processed together.
keyed_stream = input_stream.key_on("key_stream", lambda _: "ALL")


def update_sum(current_sum, new_item):
    updated_sum = current_sum + new_item
    return updated_sum, updated_sum


total_sum_stream = keyed_stream.stateful_map("running_count", lambda: 0, update_sum)
total_sum_stream.output("out", Flow.StdOutSink.new())

if __name__ == "__main__":
    # run_with_args parses -r/-s/-b/-w like the C, GJS and Vala examples do.
    sys.exit(Flow.Runner.new(flow).run_with_args(sys.argv))
