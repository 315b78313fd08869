#!/bin/sh
# test_process.sh - `ao process run` with the host tests' module
# (build/aos-test.wasm): results per line, exit codes, Error rollback and
# --no-rollback, limits, memory images out and back in, bad input.
# Usage: sh tests/cli/test_process.sh BUILD_DIR
BUILD=${1:-${AO_BUILD:-build}}
AO="$BUILD/ao"
MOD=build/aos-test.wasm
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
passed=0; failed=0

# check NAME WANT_STATUS PATTERN CMD... (stdin from $T/in)
check() {
    name=$1; want=$2; pat=$3; shift 3
    "$@" <"$T/in" >"$T/out" 2>&1
    rc=$?
    if [ "$rc" -eq "$want" ] && grep -q -e "$pat" "$T/out"; then
        passed=$((passed + 1)); echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name: status $rc (want $want), output:"
        sed 's/^/    /' "$T/out"
        echo "    (wanted a line matching: $pat)"
    fi
}
msg() { # ACTION DATA -> one input line
    printf '[{"Id":"x","Timestamp":7,"Tags":[{"name":"Action","value":"%s"}],"Data":"%s"},{}]\n' "$1" "$2"
}

: >"$T/in"
check "no arguments is usage" 2 "usage: ao process run" "$AO" process
check "help" 0 "memory-limit" "$AO" process run --help
check "missing module file" 2 "ao process:" "$AO" process run "$T/nope.wasm"

{ msg Count ""; echo; msg Eval "Count"; } >"$T/in"
check "one result per message, blank lines skipped" 0 '"Output":"1"' "$AO" process run "$MOD"
[ "$(wc -l <"$T/out")" -eq 2 ] && { passed=$((passed + 1)); echo "ok   two lines out"; } ||
    { failed=$((failed + 1)); echo "FAIL two lines out"; cat "$T/out"; }

{ msg Count ""; msg Error "boom"; msg Eval "Count"; } >"$T/in"
check "error exits 1 and rolls back" 1 '"Output":"1"' "$AO" process run "$MOD"
check "error text in the result" 1 '"Error":"process.lua:[0-9]*: boom"' "$AO" process run "$MOD"
check "--no-rollback keeps the Lua error's changes" 1 '"Output":"1001"' "$AO" process run --no-rollback "$MOD"

msg Loop "" >"$T/in"
check "--compute-limit: out of gas" 1 '"Error":"out of gas"' "$AO" process run --compute-limit 1000000 "$MOD"
msg Alloc 40000 >"$T/in"
check "--memory-limit 24-mb: not enough memory" 1 'not enough memory' "$AO" process run --memory-limit 24-mb "$MOD"
check "bad --memory-limit" 2 "unknown unit" "$AO" process run --memory-limit 3-parsecs "$MOD"

{ msg Count ""; msg Count ""; } >"$T/in"
check "--memory-out" 0 '"Output":"count=2' "$AO" process run --memory-out "$T/mem" "$MOD"
msg Eval "Count" >"$T/in"
check "--memory-in continues from the image" 0 '"Output":"2"' "$AO" process run --memory-in "$T/mem" "$MOD"
printf 'junk' >"$T/bad"
check "--memory-in of a bad image" 2 "not a whole number of pages" "$AO" process run --memory-in "$T/bad" "$MOD"

echo '{"not":"an array"}' >"$T/in"
check "input line that is not [msg, env]" 2 "line 1: input line is not a JSON array" "$AO" process run "$MOD"
: >"$T/in"
check "unknown format" 2 "unsupported Module-Format" "$AO" process run --format nope "$MOD"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
