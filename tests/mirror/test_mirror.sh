#!/bin/sh
# test_mirror.sh - the Arweave mirror and the holographic rebuild
# (tests/mirror/mirror.js) against arlocal, a local Arweave gateway
# installed from npm by tests/mirror/setup.sh. Argument 1: the build
# folder (holding ./ao). Prints "N passed, N failed".
BUILD=${1:-${AO_BUILD:-build}}
AO=$(cd "$BUILD" 2>/dev/null && pwd)/ao
REPO=$(pwd)
if [ ! -x "$AO" ]; then
    echo "FAIL no ao binary at $BUILD/ao"; echo "0 passed, 1 failed"; exit 1
fi
if [ ! -f "$REPO/build/aos.wasm" ]; then
    echo "FAIL no build/aos.wasm (run make)"; echo "0 passed, 1 failed"; exit 1
fi
if ! sh "$REPO/tests/mirror/setup.sh"; then
    echo "FAIL could not install arlocal (tests/mirror/setup.sh)"; echo "0 passed, 1 failed"; exit 1
fi
WORK=$(mktemp -d /tmp/ao-mirror-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
node "$REPO/tests/mirror/mirror.js" "$AO" "$REPO" "$WORK"
rc=$?
if [ $rc -ne 0 ]; then
    for f in "$WORK"/*.err; do
        [ -s "$f" ] && { echo "--- $(basename "$f") (tail)"; grep -v '^ *at ' "$f" | tail -n 15; }
    done
fi
exit $rc
