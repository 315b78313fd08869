#!/bin/sh
# The engine's runtime tests (build/tests/wasm/test_runtime: exact gas
# counts, memory limits, call-stack exhaustion, host functions with
# re-entry and traps, tables, globals, memories) run again with every
# module on the compiled tier (AO_WASM_TIER=compiled, built as each module
# is created: AO_WASM_AOT_SYNC=1, cc -O0, libraries in
# a fresh cache so that the modules really compiled are counted). They
# must pass unchanged. Argument 1 = build dir. Ends with "N passed, N failed".
B=${1:-${AO_BUILD:-build}}
T="$B/tests/wasm/test_runtime"
if [ ! -x "$T" ] || ! command -v wasm2c >/dev/null 2>&1; then
    echo "$T or wasm2c missing"
    echo "0 passed, 1 failed"
    exit 1
fi
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
AO_WASM_TIER=compiled AO_WASM_AOT_SYNC=1 AO_WASM_CACHE="$cache" AO_WASM_AOT_OPT=0 "$T" > "$cache/log" 2>&1
rc=$?
libs=$(ls "$cache" | grep -c '\.so$')
grep -E '^\[ *(OK|FAILED|PASSED|ERROR|LINE) *\]' "$cache/log" | tail -25
echo "modules compiled: $libs; left on the interpreter: $(grep -c 'stays on the interpreter' "$cache/log")"
passed=0
failed=0
if [ $rc -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: test_runtime on the compiled tier"; fi
if [ "$libs" -ge 10 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: only $libs modules compiled"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
