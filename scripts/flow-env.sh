#!/bin/sh
# Prints the environment that programs need to use libflow installed in
# PREFIX (a `meson setup --prefix=PREFIX` + `meson install`, or a staged
# `meson install --destdir`), as shell `export` lines:
#
#   eval "$(sh scripts/flow-env.sh "$HOME/.local")"
#
#   PATH              PREFIX/bin (flow-recovery, flow-wordcount-gtk)
#   LD_LIBRARY_PATH   the libdir of libflow-1.so
#   PKG_CONFIG_PATH   LIBDIR/pkgconfig (pkg-config --cflags --libs flow-1)
#   GI_TYPELIB_PATH   LIBDIR/girepository-1.0 (Flow-1.typelib: Python, GJS)
#   PYTHONPATH        the directory holding the `flow` package and
#                     gi/overrides/Flow.py: Debian's python3/dist-packages
#                     layout, or pythonX.Y/site-packages
#   XDG_DATA_DIRS     PREFIX/share: valac finds vala/vapi/flow-1.vapi there,
#                     and GJS its override gjs-1.0/overrides/Flow.js
#
# Nothing is printed for a directory that does not exist in PREFIX. For
# /usr itself nothing is needed.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu

if [ $# -ne 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  echo "usage: $0 PREFIX    (then: eval \"\$($0 PREFIX)\")" >&2
  [ $# -eq 1 ] && exit 0
  exit 2
fi
if [ ! -d "$1" ]; then
  echo "$0: '$1' is not a directory (the prefix libflow was installed into)" >&2
  exit 1
fi
prefix=$(cd "$1" && pwd)

# The libdir: Debian's multiarch lib/<triplet>, lib64 or lib, whichever
# holds libflow-1.so.
libdir=
for so in "$prefix"/lib/*/libflow-1.so* "$prefix"/lib64/libflow-1.so* "$prefix"/lib/libflow-1.so*; do
  if [ -e "$so" ]; then
    libdir=$(dirname "$so")
    break
  fi
done
if [ -z "$libdir" ]; then
  echo "$0: no libflow-1.so under $prefix/lib*: is libflow installed in $prefix?" >&2
  exit 1
fi

# The Python directory: where flow/__init__.py was installed.
pydir=
for init in "$prefix"/lib/python3/dist-packages/flow/__init__.py \
            "$prefix"/lib/python3*/dist-packages/flow/__init__.py \
            "$prefix"/lib/python3*/site-packages/flow/__init__.py \
            "$prefix"/lib64/python3*/site-packages/flow/__init__.py \
            "$prefix"/local/lib/python3*/dist-packages/flow/__init__.py; do
  if [ -e "$init" ]; then
    pydir=$(dirname "$(dirname "$init")")
    break
  fi
done

# export NAME=DIR:$NAME (or DIR alone when NAME is unset or empty);
# DEFAULT is what an unset NAME means (XDG_DATA_DIRS).
prepend () {
  if [ -n "${3:-}" ]; then
    printf 'export %s="%s:${%s:-%s}"\n' "$1" "$2" "$1" "$3"
  else
    printf 'export %s="%s${%s:+:$%s}"\n' "$1" "$2" "$1" "$1"
  fi
}

[ -d "$prefix/bin" ] && prepend PATH "$prefix/bin"
prepend LD_LIBRARY_PATH "$libdir"
[ -d "$libdir/pkgconfig" ] && prepend PKG_CONFIG_PATH "$libdir/pkgconfig"
[ -d "$libdir/girepository-1.0" ] && prepend GI_TYPELIB_PATH "$libdir/girepository-1.0"
[ -n "$pydir" ] && prepend PYTHONPATH "$pydir"
[ -d "$prefix/share" ] && prepend XDG_DATA_DIRS "$prefix/share" /usr/local/share:/usr/share
exit 0
