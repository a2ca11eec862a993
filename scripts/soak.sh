#!/usr/bin/env bash
# The recovery soak: at least 1,000 seeded SIGKILLs (by default) across the
# C and Python file flows (FileSource -> key_on -> stateful_map -> FileSink),
# with random snapshot and backup intervals, batch sizes and partition
# counts, about a third of the rounds with simulated power cuts (the
# LD_PRELOAD power-cut shim rolls every file back to its last fsync).
# After every kill it checks what is committed (source offset, per-key
# sums, sink length) and at the end of every round that the output is
# byte-identical to an uninterrupted run's. See tests/soak/soak.py.
#
#   scripts/soak.sh [--seed N] [--kills N] [soak.py options...]
#
# It builds BUILDDIR (default: build) first, prints its figures as it goes
# and at the end, and exits non-zero on any failure (a loss, a duplicate, a
# wrong state, a hang or a run that failed). The default (1,000 kills)
# takes about 15-30 minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/python.sh

builddir=${BUILDDIR:-build}
python=$(find_python_with_gi)
if [ ! -f "$builddir/build.ninja" ]; then
  meson setup "$builddir" -Dpython="$python"
fi
ninja -C "$builddir" >/dev/null
exec "$python" tests/soak/soak.py --build "$builddir" --python "$python" "$@"
