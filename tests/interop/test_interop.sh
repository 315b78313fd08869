#!/bin/sh
# test_interop.sh - ANS-104 interop of `ao` with the JavaScript reference
# libraries (see interop.js). Installs them first (setup.sh); a failed
# install or a missing `ao item` command is a test failure, never a skip.
# Argument 1: the build folder (holding ./ao). Prints "N passed, N failed".
BUILD=${1:-${AO_BUILD:-build}}
HERE=$(cd "$(dirname "$0")" && pwd)
AO=$(cd "$BUILD" 2>/dev/null && pwd)/ao
if [ ! -x "$AO" ]; then
    echo "FAIL no ao binary at $BUILD/ao"
    echo "0 passed, 1 failed"; exit 1
fi
if ! command -v node >/dev/null 2>&1; then
    echo "FAIL node is not installed (run 'make deps')"
    echo "0 passed, 1 failed"; exit 1
fi
if ! sh "$HERE/setup.sh"; then
    echo "FAIL could not install the JS reference libraries (see above)"
    echo "0 passed, 1 failed"; exit 1
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$HERE" && node interop.js "$AO" "$WORK"
