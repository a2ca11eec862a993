#!/usr/bin/env bash
# The two-stream join examples in C and Python print the users that have
# both a name and an address, and agree; Bytewax's examples/join.py joins
# its three streams.
set -euo pipefail
join_c=$1
expected="('123', ('Bee', 'bee@example.org'))
('456', ('Hive', 'hive@example.org'))"
c=$("$join_c" | sort)
py=$(cd "$FLOW_SOURCE_ROOT/examples/python" && "$FLOW_PYTHON" -m flow.run join_users.py | sort)
bytewax=$(cd "$FLOW_SOURCE_ROOT/examples/python" && "$FLOW_PYTHON" -m flow.run join.py)
status=0
[ "$c" = "$expected" ] || { echo "C join printed:"; echo "$c"; status=1; }
[ "$py" = "$expected" ] || { echo "Python join printed:"; echo "$py"; status=1; }
[ "$bytewax" = "('KEY', ('a', 'b', 'c'))" ] || { echo "join.py printed:"; echo "$bytewax"; status=1; }
[ $status = 0 ] && echo "C and Python joins agree; join.py joins its three streams"
exit $status
