#!/usr/bin/env bash
# Builds and runs the seed flow in C (pkg-config flow-1), Python
# (from gi.repository import Flow, and python3 -m flow.run), GJS
# (imports.gi.Flow) and Vala (--pkg flow-1), twice each (the second run
# resumes), against:
#   devenv   the uninstalled build, through `meson devenv`
#   install  a `meson install --destdir` of the build
# Output: TAP.
set -uo pipefail

mode=$1            # devenv | install
builddir=$FLOW_BUILD_ROOT
srcdir=$FLOW_SOURCE_ROOT
python=$FLOW_PYTHON
work=$(mktemp -d "${TMPDIR:-/tmp}/flow-install-XXXXXX")
trap 'rm -rf "$work"' EXIT

n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $*"; }
not_ok () { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }

expected_first=$'(\'ALL\', 0)\n(\'ALL\', 1)\n(\'ALL\', 3)'
expected_second=$'(\'ALL\', 6)\n(\'ALL\', 10)'

if [ "$mode" = install ]; then
  destdir="$work/destdir"
  if ! meson install -C "$builddir" --destdir "$destdir" --no-rebuild --quiet > "$work/install.log" 2>&1; then
    cat "$work/install.log" | sed 's/^/# /'
    echo "1..1"; echo "not ok 1 - meson install"; exit 1
  fi
  prefix=$(meson introspect "$builddir" --buildoptions | "$python" -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
  libdir=$(meson introspect "$builddir" --buildoptions | "$python" -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"][0])')
  root="$destdir$prefix"
  case "$libdir" in /*) lib="$destdir$libdir" ;; *) lib="$root/$libdir" ;; esac
  pysite=$(find "$root" -path '*/gi/overrides/Flow.py' | head -1 | sed 's|/gi/overrides/Flow.py$||')
  # The environment of the installed prefix (not /usr) is what
  # scripts/flow-env.sh prints; nothing of the build or source tree may
  # leak in. Only pkg-config gets the staged flow-1.pc first (the
  # installed one names the final prefix, not the staging directory).
  if flowenv=$(sh "$srcdir/scripts/flow-env.sh" "$root" 2> "$work/env.err"); then
    ok "scripts/flow-env.sh $root"
    printf '%s\n' "$flowenv" | sed 's/^/# /'
  else
    not_ok "scripts/flow-env.sh $root"; sed 's/^/# /' "$work/env.err"
  fi
  for var in PATH LD_LIBRARY_PATH PKG_CONFIG_PATH GI_TYPELIB_PATH PYTHONPATH XDG_DATA_DIRS; do
    case "$flowenv" in
      *"export $var=\"$root"*) ok "flow-env.sh sets $var" ;;
      *) not_ok "flow-env.sh sets $var" ;;
    esac
  done
  case "$flowenv" in
    *"PYTHONPATH=\"$pysite\${"*) ok "flow-env.sh finds the Python package in $pysite" ;;
    *) not_ok "flow-env.sh finds the Python package in $pysite" ;;
  esac
  envrun () {
    env -u GI_TYPELIB_PATH -u LD_LIBRARY_PATH -u PYTHONPATH -u PKG_CONFIG_PATH -u GJS_PATH \
        -u XDG_DATA_DIRS \
      sh -c "$flowenv
export PKG_CONFIG_PATH=\"$work/pkgconfig:\$PKG_CONFIG_PATH\"
exec \"\$@\"" sh "$@"
  }
  vapidir=""   # valac finds flow-1.vapi through XDG_DATA_DIRS
  # The GTK example, when it was installed: its first line names the
  # Python with gi, and it imports Gtk and Flow from the prefix.
  if [ -e "$root/bin/flow-wordcount-gtk" ]; then
    out=$(envrun env -u DISPLAY -u WAYLAND_DISPLAY flow-wordcount-gtk --help 2>&1)
    case "$out" in
      Usage:*flow-wordcount-gtk*) ok "flow-wordcount-gtk --help (installed)" ;;
      *) not_ok "flow-wordcount-gtk --help (installed)"; printf '%s\n' "$out" | sed 's/^/# /' ;;
    esac
  fi
  # The staged flow-1.pc, pointing at the staging directory.
  mkdir -p "$work/pkgconfig"
  sed "s|^prefix=.*|prefix=$root|" "$lib/pkgconfig/flow-1.pc" > "$work/pkgconfig/flow-1.pc"
  [ -f "$lib/pkgconfig/flow-1.pc" ] && ok "flow-1.pc installed" || not_ok "flow-1.pc installed"
  [ -f "$lib/girepository-1.0/Flow-1.typelib" ] && ok "Flow-1.typelib installed" || not_ok "Flow-1.typelib installed"
  [ -f "$root/include/libflow-1/flow.h" ] && ok "headers in include/libflow-1" || not_ok "headers in include/libflow-1"
  [ -n "$pysite" ] && ok "Python override installed ($pysite)" || not_ok "Python override installed"
  [ -f "$root/share/gjs-1.0/overrides/Flow.js" ] && ok "GJS override installed" || not_ok "GJS override installed"
  # The native fast path is private to the override: installed next to it,
  # not in the flow package.
  if ls "$pysite"/gi/overrides/_flow_native*.so > /dev/null 2>&1; then
    ok "native fast path installed next to the Python override"
    if envrun "$python" -c 'import gi; gi.require_version("Flow", "1"); from gi.repository import Flow; import gi.overrides.Flow as o; assert o._native is not None and o._native.__name__ == "gi.overrides._flow_native"' > "$work/native.log" 2>&1; then
      ok "the installed override uses its native fast path"
    else
      not_ok "the installed override uses its native fast path"; sed 's/^/# /' "$work/native.log"
    fi
  else
    ok "# SKIP native fast path not built"
  fi
  ls "$pysite"/flow/_native* > /dev/null 2>&1 && not_ok "no flow._native in the flow package" || ok "no flow._native in the flow package"
else
  envrun () { meson devenv -C "$builddir" -w "$work" "$@"; }
  vapidir="$builddir/libflow"
fi

# check NAME FIRST_CMD... -- SECOND_CMD...  (each run in its own fresh state dir)
seed () {
  local name=$1 first=$2 second=$3 out
  rm -rf "$work/db" && mkdir "$work/db"
  if ! envrun flow-recovery init "$work/db" 1 > /dev/null 2> "$work/err"; then
    not_ok "$name: flow-recovery init"; sed 's/^/# /' "$work/err"; return
  fi
  out=$(cd "$work" && eval "envrun $first -r $work/db -s 30 -b 180" 2> "$work/err")
  if [ "$out" = "$expected_first" ]; then ok "$name: first run"; else
    not_ok "$name: first run"; printf '%s\n' "$out" | sed 's/^/# got: /'; sed 's/^/# /' "$work/err"; fi
  out=$(cd "$work" && eval "envrun $second -r $work/db -s 30 -b 180" 2> "$work/err")
  if [ "$out" = "$expected_second" ]; then ok "$name: second run resumes"; else
    not_ok "$name: second run resumes"; printf '%s\n' "$out" | sed 's/^/# got: /'; sed 's/^/# /' "$work/err"; fi
}

# C, compiled here with pkg-config flow-1
cp "$srcdir/examples/c/recovery.c" "$work/"
if envrun sh -c "cd '$work' && cc -o recovery recovery.c \$(pkg-config --cflags --libs flow-1) && cc -o recovery2 -DINP='3, 4' recovery.c \$(pkg-config --cflags --libs flow-1)" > "$work/cc.log" 2>&1; then
  ok "C: builds with pkg-config flow-1"
  seed C "$work/recovery" "$work/recovery2"
else
  not_ok "C: builds with pkg-config flow-1"; sed 's/^/# /' "$work/cc.log"
fi

# Python, GI API
cp "$srcdir/examples/python/recovery_gi.py" "$work/recovery_gi.py"
sed 's/^inp = \[0, 1, 2\]$/inp = [3, 4]/' "$srcdir/examples/python/recovery_gi.py" > "$work/recovery_gi2.py"
seed "Python (gi.repository.Flow)" "$python $work/recovery_gi.py" "$python $work/recovery_gi2.py"

# Python, the flow package
cp "$srcdir/examples/python/recovery.py" "$work/recovery.py"
sed 's/^inp = \[0, 1, 2\]$/inp = [3, 4]/' "$srcdir/examples/python/recovery.py" > "$work/recovery2.py"
seed "Python (python3 -m flow.run)" "$python -m flow.run $work/recovery.py" "$python -m flow.run $work/recovery2.py"

# GJS, with imports.gi.Flow
if command -v gjs > /dev/null; then
  cat > "$work/seed.js" <<'JS'
const {Flow, GLib} = imports.gi;
const inp = JSON.parse(ARGV.shift());
const flow = Flow.Dataflow.new('recovery');
flow.input('inp', Flow.TestingSource.new(new GLib.Variant('ax', inp)))
    .key_on('key_stream', () => 'ALL')
    .stateful_map('running_count', () => new GLib.Variant('x', 0), (sum, item) => {
        const total = sum.unpack() + item.unpack();
        return [new GLib.Variant('x', total), new GLib.Variant('x', total)];
    })
    .output('out', Flow.StdOutSink.new());
imports.system.exit(Flow.Runner.new(flow).run_with_args(['seed.js', ...ARGV]));
JS
  seed "GJS (imports.gi.Flow)" "gjs $work/seed.js '[0, 1, 2]'" "gjs $work/seed.js '[3, 4]'"
fi

# Vala, with --pkg flow-1
if command -v valac > /dev/null; then
  cp "$srcdir/examples/vala/recovery.vala" "$work/"
  if envrun sh -c "cd '$work' && valac ${vapidir:+--vapidir '$vapidir'} --pkg flow-1 -o recovery-vala recovery.vala && valac ${vapidir:+--vapidir '$vapidir'} --pkg flow-1 -D SECOND_RUN -o recovery-vala2 recovery.vala" > "$work/valac.log" 2>&1; then
    ok "Vala: builds with --pkg flow-1"
    seed Vala "$work/recovery-vala" "$work/recovery-vala2"
  else
    not_ok "Vala: builds with --pkg flow-1"; sed 's/^/# /' "$work/valac.log"
  fi
fi

echo "1..$n"
exit $failed
