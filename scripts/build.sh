#!/usr/bin/env bash
# Sets up and builds libflow in ./build (or $BUILDDIR).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/python.sh

bash scripts/deps.sh
python=$(find_python_with_gi)
builddir=${BUILDDIR:-build}
if [ -f "$builddir/build.ninja" ]; then
  meson setup --reconfigure "$builddir" -Dpython="$python" >/dev/null
else
  meson setup "$builddir" -Dpython="$python"
fi
ninja -C "$builddir"
