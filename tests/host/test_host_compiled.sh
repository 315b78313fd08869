#!/bin/sh
# The aos and CU determinism tests (test_aos_determinism, test_aos_replay,
# test_cu_determinism) run again with every module on the engine's
# compiled tier (AO_WASM_TIER=compiled, libraries built as modules are
# created - AO_WASM_AOT_SYNC=1 - into the cache build/aot, cc -O2). They
# must pass unchanged, and the engine must report the aos library loaded.
# The interpreter runs of the same tests are the plain make check ones.
# Argument 1 = build dir. Ends with "N passed, N failed".
B=${1:-${AO_BUILD:-build}}
passed=0
failed=0
if ! command -v wasm2c >/dev/null 2>&1; then
    echo "wasm2c not found (scripts/deps.sh installs wabt)"
    echo "0 passed, 1 failed"
    exit 1
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in host/test_aos_determinism host/test_aos_replay cu/test_cu_determinism; do
    if [ ! -x "$B/tests/$t" ]; then
        echo "FAIL: $B/tests/$t not built"; failed=$((failed + 1)); continue
    fi
    AO_WASM_TIER=compiled AO_WASM_AOT_SYNC=1 AO_WASM_CACHE=build/aot "$B/tests/$t" > "$log" 2>&1
    rc=$?
    loaded=$(grep -c 'compiled tier: loaded' "$log")
    stays=$(grep -c 'stays on the interpreter' "$log")
    echo "$t on the compiled tier: exit $rc, libraries loaded $loaded, modules left on the interpreter $stays"
    if [ $rc -eq 0 ] && [ "$loaded" -gt 0 ] && [ "$stays" -eq 0 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1)); echo "FAIL: $t"; tail -20 "$log"
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
