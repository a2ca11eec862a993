#!/usr/bin/env bash
# The C and the Python word count examples agree on a text: the same words
# with the same counts (the C one prints them in key order, the Python one
# most frequent first).
set -euo pipefail
wordcount_c=$1
text=$FLOW_SOURCE_ROOT/examples/python/wordcount.txt
c=$("$wordcount_c" "$text" | sort)
py=$(cd "$FLOW_SOURCE_ROOT/examples/python" && "$FLOW_PYTHON" -m flow.run wordcount.py | sort)
[ -n "$c" ] || { echo "the C word count printed nothing"; exit 1; }
if [ "$c" != "$py" ]; then
  echo "C and Python word counts differ:"
  diff <(echo "$c") <(echo "$py") || true
  exit 1
fi
echo "C and Python agree on $(echo "$c" | wc -l) words"
