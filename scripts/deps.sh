#!/bin/sh
# Installs every Debian package the build, the tests and the benchmarks need.
# Idempotent and quiet when everything is already there.
set -e
PKGS="build-essential clang lld libclang-rt-14-dev pkg-config
libssl-dev libsecp256k1-dev libcjson-dev libjansson-dev libzstd-dev
libsqlite3-dev libmicrohttpd-dev libcurl4-openssl-dev libreadline-dev
libcmocka-dev lua5.3 liblua5.3-dev curl tmux wabt python3"
# (python3: node-gyp builds the sqlite3 module of arlocal, tests/mirror)
# Node.js and npm are needed only by the interop tests; a machine may carry
# its own build of them, so they are checked as commands.
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
