#!/bin/sh
# test_multi.sh - the multi-machine acceptance test (tests/multi/multi.js):
# a gateway, two SUs, two CUs and an MU as separate `ao` processes on
# loopback, processes on both SUs exchanging messages, identical results
# from both CUs, kill -9 of an SU and of a CU in the middle of the
# workload. Argument 1: the build folder (holding ./ao). Prints
# "N passed, N failed".
BUILD=${1:-${AO_BUILD:-build}}
AO=$(cd "$BUILD" 2>/dev/null && pwd)/ao
REPO=$(pwd)
if [ ! -x "$AO" ]; then
    echo "FAIL no ao binary at $BUILD/ao"; echo "0 passed, 1 failed"; exit 1
fi
if [ ! -f "$REPO/build/aos.wasm" ]; then
    echo "FAIL no build/aos.wasm (run make)"; echo "0 passed, 1 failed"; exit 1
fi
if ! command -v node >/dev/null 2>&1; then
    echo "FAIL node is not installed (run 'make deps')"; echo "0 passed, 1 failed"; exit 1
fi
WORK=$(mktemp -d /tmp/ao-multi-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
node "$REPO/tests/multi/multi.js" "$AO" "$REPO" "$WORK"
rc=$?
if [ $rc -ne 0 ]; then
    for f in "$WORK"/*.err; do
        [ -s "$f" ] && { echo "--- $(basename "$f") (tail)"; tail -n 15 "$f"; }
    done
fi
exit $rc
