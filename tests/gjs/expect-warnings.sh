#!/bin/sh
# expect-warnings.sh COUNT COMMAND...: runs COMMAND (a TAP test), passes its
# output through, and fails unless libflow's warning that GJS refused
# callbacks without the Flow override loaded appeared on its stderr exactly
# COUNT times (it is given once per process at most).
#
# SPDX-License-Identifier: LGPL-2.1-or-later

expected=$1
shift
err=$(mktemp) || exit 99
trap 'rm -f "$err"' EXIT

"$@" 2>"$err"
rc=$?
cat "$err" >&2
refused=$(grep -F 'Flow-WARNING **: ' "$err" | grep -c -F 'GJS refused to run a JS callback during garbage collection')
if [ "$refused" != "$expected" ]; then
  echo "expect-warnings.sh: expected $expected warning(s) that GJS refused callbacks without the Flow override, got $refused" >&2
  exit 1
fi
exit $rc
