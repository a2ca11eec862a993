#!/bin/sh
# bench-gjs.sh: the GJS override's cost (issue 12): bench_gjs.js with the
# override on GJS_PATH and without it, in the same run; prints both and the
# overhead. Usage: bench-gjs.sh OVERRIDE_DIR [ITEMS] [REPEAT]
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu
here=$(dirname "$0")
override_dir=$1
items=${2:-400000}
repeat=${3:-3}
with=$(GJS_PATH="$override_dir" gjs -m "$here/bench_gjs.js" "$items" "$repeat" 2>/dev/null | tail -n 1)
without=$(env -u GJS_PATH gjs -m "$here/bench_gjs.js" "$items" "$repeat" 2>/dev/null | tail -n 1)
echo "with the override:    $with"
echo "without the override: $without"
python3 - "$with" "$without" <<'PY'
import json, sys
w, wo = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert w["override_loaded"] and not wo["override_loaded"], "the override was (not) loaded"
print(f"override cost: {(w['cpu_us_per_item'] / wo['cpu_us_per_item'] - 1) * 100:+.1f} % CPU time, "
      f"{(w['us_per_item'] / wo['us_per_item'] - 1) * 100:+.1f} % wall clock "
      f"({w['items']:,} items; written {w['written']:,} with, {wo['written']:,} without)")
PY
