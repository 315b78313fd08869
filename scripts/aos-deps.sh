#!/bin/sh
# Installs what the aos module build needs and fetches the Lua 5.3 sources.
#   - Debian packages: emscripten (wasm32 C compiler), lua5.3 + liblua5.3-dev
#     (native tests of the aos Lua library and the json C module), dpkg-dev
#     (apt-get source);
#   - the Lua 5.3 source package via `apt-get source lua5.3`, unpacked into
#     BUILD_ROOT/lua-src (default build/lua-src). A deb-src entry for Debian
#     bookworm is added under /etc/apt/sources.list.d/ when none exists.
# Idempotent: quiet and fast when everything is already there.
set -e
ROOT=${1:-build}
DEST="$ROOT/lua-src"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

missing=""
for p in emscripten lua5.3 liblua5.3-dev dpkg-dev; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing="$missing $p"
  fi
done
updated=0
if [ -n "$missing" ]; then
  echo "aos-deps: installing$missing"
  $SUDO apt-get update -qq
  updated=1
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -f "$DEST/src/lstate.c" ]; then
  if ! grep -rqs '^\(Types: .*deb-src\|deb-src \)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null; then
    echo "aos-deps: adding a deb-src entry for bookworm"
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
      $SUDO tee /etc/apt/sources.list.d/ao-deb-src.sources >/dev/null
    updated=0
  fi
  [ "$updated" -eq 1 ] || $SUDO apt-get update -qq
  tmp=$(mktemp -d "$ROOT/.lua-src.XXXXXX" 2>/dev/null || { mkdir -p "$ROOT"; mktemp -d "$ROOT/.lua-src.XXXXXX"; })
  (cd "$tmp" && apt-get source -qq lua5.3 >/dev/null 2>&1)
  src=$(ls -d "$tmp"/lua5.3-*/ | head -1)
  [ -f "$src/src/lstate.c" ] || { echo "aos-deps: apt-get source lua5.3 gave no src/lstate.c" >&2; exit 1; }
  rm -rf "$DEST"
  mv "$src" "$DEST"
  rm -rf "$tmp"
fi
