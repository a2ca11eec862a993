#!/usr/bin/env bash
# Installs the Debian 12 packages libflow needs to build, test and run its
# examples in every language. Safe to run again; does nothing if all are
# installed. Uses sudo when not run as root.
set -euo pipefail

packages=(
  # build
  gcc meson ninja-build pkg-config
  libglib2.0-dev libglib2.0-bin libsqlite3-dev
  gobject-introspection libgirepository1.0-dev gir1.2-glib-2.0
  # Python (Debian's own interpreter has gi; pip is not used)
  python3 python3-gi python3-pytest python3-dev python-gi-dev
  python3-typing-extensions   # Bytewax's ported tests (tests/python/bytewax)
  # GJS and Vala
  gjs valac
  # tests and docs
  valgrind sqlite3 gi-docgen
  # Kafka connectors (meson option kafka) and their Python tests
  librdkafka-dev python3-confluent-kafka
  # the GTK 4 example application (examples/gtk) and its tests under Xvfb
  libgtk-4-dev gir1.2-gtk-4.0 xvfb xauth
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} Debian packages are installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo="sudo"
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
