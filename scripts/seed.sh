#!/usr/bin/env bash
# Sets everything up, builds libflow, and runs the seed recovery tutorial
# end to end: create a recovery partition, run the flow, change its input,
# run it again and see it resume from the snapshotted state. First in
# Python exactly as the tutorial is written (with `bytewax` replaced by
# `flow`), then the same flow in C, GJS and Vala.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/python.sh

builddir=${BUILDDIR:-build}
bash scripts/build.sh > "${TMPDIR:-/tmp}/libflow-seed-build.log" 2>&1 || {
  cat "${TMPDIR:-/tmp}/libflow-seed-build.log"; exit 1; }
python=$(find_python_with_gi)
work=$(mktemp -d "${TMPDIR:-/tmp}/libflow-seed-XXXXXX")

# Runs a command against the uninstalled build, in $work, echoing it.
run () {
  echo "> $*"
  meson devenv -C "$root/$builddir" -w "$work" "$@"
}

echo "== Python (python3 -m flow.*), in $work"
cp examples/python/recovery.py "$work/"
run "$python" -m flow.recovery db_dir/ 1
echo "\$ ls db_dir/"; ls "$work/db_dir/"
run "$python" -m flow.run recovery.py -r db_dir/ -s 30 -b 180
echo "(changing the input of recovery.py to inp = [3, 4])"
sed -i 's/^inp = \[0, 1, 2\]$/inp = [3, 4]/' "$work/recovery.py"
grep -q '^inp = \[3, 4\]$' "$work/recovery.py"
run "$python" -m flow.run recovery.py -r db_dir/ -s 30 -b 180

echo
echo "== C (examples/c/recovery.c; recovery-second is built with inp {3, 4})"
rm -rf "$work/db_dir" && mkdir "$work/db_dir"
run flow-recovery init db_dir/ 1
run "$root/$builddir/examples/c/recovery" -r db_dir/ -s 30 -b 180
run "$root/$builddir/examples/c/recovery-second" -r db_dir/ -s 30 -b 180

if command -v gjs >/dev/null; then
  echo
  echo "== GJS (examples/gjs/recovery.js)"
  rm -rf "$work/db_dir" && mkdir "$work/db_dir"
  cp examples/gjs/recovery.js "$work/"
  run flow-recovery init db_dir/ 1
  run gjs -m recovery.js -r db_dir/ -s 30 -b 180
  sed -i 's/^const inp = \[0, 1, 2\];$/const inp = [3, 4];/' "$work/recovery.js"
  grep -q '^const inp = \[3, 4\];$' "$work/recovery.js"
  run gjs -m recovery.js -r db_dir/ -s 30 -b 180
fi

if [ -x "$root/$builddir/examples/vala/recovery" ]; then
  echo
  echo "== Vala (examples/vala/recovery.vala; recovery-second is built with -D SECOND_RUN)"
  rm -rf "$work/db_dir" && mkdir "$work/db_dir"
  run flow-recovery init db_dir/ 1
  run "$root/$builddir/examples/vala/recovery" -r db_dir/ -s 30 -b 180
  run "$root/$builddir/examples/vala/recovery-second" -r db_dir/ -s 30 -b 180
fi

echo
echo "== What the recovery partition holds now"
run flow-recovery show db_dir/
rm -rf "$work"
