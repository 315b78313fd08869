#!/bin/sh
# test_kill_units.sh - the kill harness for the separate units
# (tests/faults/kill_units.js): `ao gateway`, `ao su`, `ao cu` and `ao mu`
# as separate processes on loopback, one of them SIGKILLed (some rounds
# after a SIGSTOP) and restarted on the same folder and port each round
# while a workload runs; then no acknowledged message lost, no slot reused,
# no push duplicated or lost, every result equal on a fresh CU.
# Argument 1: the build folder (holding ./ao). Environment: FAULT_UNIT
# (su|cu|mu|gateway|all), FAULT_ROUNDS, FAULT_SEED, FAULT_KEEP=1 keeps the
# work folder. Prints "N passed, N failed".
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
WORK=$(mktemp -d /tmp/ao-kill-units-XXXXXX)
if [ -n "$FAULT_KEEP" ]; then
    echo "work folder: $WORK"
else
    trap 'rm -rf "$WORK"' EXIT
fi
node "$REPO/tests/faults/kill_units.js" "$AO" "$REPO" "$WORK"
rc=$?
if [ $rc -ne 0 ]; then
    for f in "$WORK"/*.err; do
        [ -s "$f" ] && { echo "--- $(basename "$f") (tail)"; tail -n 15 "$f"; }
    done
fi
exit $rc
