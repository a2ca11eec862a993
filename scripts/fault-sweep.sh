#!/bin/sh
# fault-sweep.sh: the long fault-injection sweep (issue 6).
#
# Runs tests/recovery/test-faults over every N (FLOW_FAULT_STRIDE=1), with
# persistent faults (every operation from the Nth on fails: a full disk)
# and one-shot faults (only the Nth fails: a transient error), over more
# input lines than the default suite. Each N must end in success or a
# clean error, and a rerun with the fault gone must give exactly the
# output of an uninterrupted run.
#
#   scripts/fault-sweep.sh [BUILD_DIR] [LINES]      (defaults: build, 60)
#
# Prints one line per sweep and exits non-zero on the first failure (the
# test's log then says "hang at …" or which N failed and how).

set -eu

build=${1:-build}
lines=${2:-60}
test_faults="$build/tests/recovery/test-faults"
[ -x "$test_faults" ] || { echo "no $test_faults: build first (ninja -C $build)" >&2; exit 2; }

export FLOW_FAULT_STRIDE=1 FLOW_FAULT_LINES="$lines"
export G_DEBUG=gc-friendly,fatal-criticals LC_ALL=C.UTF-8
export FLOW_RECOVERY_TOOL="$build/libflow/tools/flow-recovery"

failed=0
for oneshot in 0 1; do
  for path in /faults/partition/write /faults/partition/sync /faults/partition/lock \
              /faults/sink/write /faults/sink/sync; do
    log=$(mktemp)
    start=$(date +%s)
    if FLOW_FAULT_ONESHOT=$oneshot "$test_faults" -p "$path" --verbose >"$log" 2>&1; then
      summary=$(grep -o '[0-9]* runs failed cleanly, [0-9]* succeeded' "$log" | tail -n 1)
      echo "ok   $path oneshot=$oneshot: $summary ($(( $(date +%s) - start )) s)"
    else
      echo "FAIL $path oneshot=$oneshot:"
      grep -E 'hang at|HANG|ERROR|Bail out' "$log" | head -n 5
      failed=1
    fi
    rm -f "$log"
  done
done
exit $failed
