#!/bin/sh
# test_aoconnect.sh - the real JS client against `ao up` (see aoconnect.js):
# @permaweb/aoconnect 0.0.98 in legacy mode spawns aos processes, sends
# Eval messages and reads result, results, dryrun, monitor and unmonitor
# from a node on free loopback ports with a temporary data dir. A failed
# install of the JS libraries or a missing binary is a failure, never a
# skip. Argument 1: the build folder (holding ./ao). Prints "N passed, N failed".
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
cd "$HERE" && node aoconnect.js "$AO" "$WORK"
