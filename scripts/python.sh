# Sourced by the other scripts: finds the Python 3 that has PyGObject.
# The first python3 on PATH may be another interpreter without gi.
find_python_with_gi () {
  local candidate
  for candidate in ${FLOW_PYTHON:-} python3 /usr/bin/python3 /usr/local/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import gi' >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  echo "error: no Python 3 with PyGObject (gi) found; install python3-gi (Debian) or set FLOW_PYTHON" >&2
  return 1
}
