#!/usr/bin/env bash
# Sets everything up, builds, and runs the whole test suite: the default
# meson test run (C, recovery, Python, GJS, Vala, docs), then the C tests
# again under valgrind. The last line is the plain count "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/python.sh

builddir=${BUILDDIR:-build}
bash scripts/build.sh || { echo "0 passed, 1 failed"; exit 1; }
python=$(find_python_with_gi)

status=0
meson test -C "$builddir" --print-errorlogs --num-processes "${FLOW_TEST_JOBS:-2}" || status=1
cp "$builddir/meson-logs/testlog.json" "$builddir/meson-logs/testlog-default.json"

if [ "${FLOW_SKIP_VALGRIND:-0}" != 1 ] && command -v valgrind >/dev/null; then
  meson test -C "$builddir" --setup valgrind --suite c --print-errorlogs \
    --num-processes "${FLOW_TEST_JOBS:-2}" || status=1
fi

"$python" - "$builddir/meson-logs" <<'PY'
import json, pathlib, sys
logs = pathlib.Path(sys.argv[1])
passed = failed = skipped = 0
for name in ("testlog-default.json", "testlog-valgrind.json"):
    path = logs / name
    if not path.exists():
        continue
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        result = json.loads(line)["result"]
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
if skipped:
    print(f"({skipped} skipped)")
print(f"{passed} passed, {failed} failed")
PY
exit $status
