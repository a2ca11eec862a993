#!/usr/bin/env bash
# The workers' crash soak: /crash/workers/file-sink of tests/recovery/
# test-crash.c with more kills and several seeds. Each round starts a
# crash-flow (FileSource -> key_on -> stateful_map -> FileSink) with 2
# workers, SIGKILLs it at random moments and resumes it with 1, 2 or 3
# workers drawn at random; after every run each key's output lines must be
# the start of its expected lines (none twice), and at the end all of
# them (docs/workers.md).
#
#   scripts/soak-workers.sh [SEEDS] [KILLS]     (default: 5 seeds, 400 kills each)
#
# BUILDDIR (default: build) is built first. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
builddir=${BUILDDIR:-build}
seeds=${1:-5}
kills=${2:-400}
ninja -C "$builddir" >/dev/null
for seed in $(seq 1 "$seeds"); do
  echo "seed $seed: $kills kills"
  FLOW_CRASH_SEED=$seed FLOW_CRASH_WORKER_KILLS=$kills \
    meson test -C "$builddir" --suite recovery crash/workers/file-sink \
      --timeout-multiplier 0 --print-errorlogs
  grep -h "FileSink:" "$builddir/meson-logs/testlog.txt" | tail -1
done
