#!/bin/sh
# test_tier.sh - the CU's WebAssembly tier in `ao up` and `ao cu`: compiled
# by default (with AO_WASM_TIER unset), --tier interp|compiled, the
# environment's choice, and a clear exit 2 for an unknown name. On the
# compiled tier the node loads the aos module's native library (built here
# first into the shared cache build/aot) and answers as on the interpreter.
# Argument 1: the build folder (holding ./ao). Prints "N passed, N failed".
BUILD=${1:-${AO_BUILD:-build}}
AO=$(cd "$BUILD" 2>/dev/null && pwd)/ao
passed=0; failed=0
ok()   { passed=$((passed + 1)); echo "ok   $1"; }
bad()  { failed=$((failed + 1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
WORK=$(mktemp -d)
PID=""
cleanup() {
    [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
CACHE=$(pwd)/build/aot

# ---- bad names ----
"$AO" up --tier fast --data "$WORK/x" >"$WORK/o" 2>"$WORK/e"
check "ao up --tier fast exits 2 naming the option" "[ $? -eq 2 ] && grep -q -- '--tier' '$WORK/e'"
AO_WASM_TIER=fast "$AO" up --data "$WORK/x" >"$WORK/o" 2>"$WORK/e"
check "AO_WASM_TIER=fast: ao up exits 2 naming the tier" "[ $? -eq 2 ] && grep -q \"unknown tier 'fast'\" '$WORK/e'"
"$AO" cu --gateway http://127.0.0.1:9 --tier fast >"$WORK/o" 2>"$WORK/e"
check "ao cu --tier fast exits 2 naming the option" "[ $? -eq 2 ] && grep -q -- '--tier' '$WORK/e'"

# the aos module's library, built once (a no-op when cached)
if ! env AO_WASM_TIER=compiled AO_WASM_AOT_SYNC=1 AO_WASM_CACHE="$CACHE" \
        "$AO" process run build/aos.wasm /dev/null >"$WORK/build.log" 2>&1; then
    bad "the aos module's native library builds ($(tail -c 300 "$WORK/build.log"))"
fi

# start_node NAME [ao up flags...]: env is the caller's
start_node() {
    name=$1; shift
    "$AO" up --data "$WORK/$name" --any-ports --block-interval 200 "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" &
    PID=$!
    i=0
    while ! grep -q '^ready' "$WORK/$name.out" 2>/dev/null && [ $i -lt 600 ]; do
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1; i=$((i + 1))
    done
    grep -q '^ready' "$WORK/$name.out"
}
stop_node() { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=""; }

# eval_twice NAME: spawn, then two evals (the second sees the first's state)
eval_twice() {
    export AO_NODE="$WORK/$1/node.json"
    W="$WORK/me.json"
    [ -f "$W" ] || "$AO" wallet new --out "$W" >/dev/null 2>&1
    P=$("$AO" spawn --wallet "$W" 2>"$WORK/$1.spawn.err")
    "$AO" eval "$P" 'X = 6 * 7; return X' --wallet "$W" >"$WORK/$1.e1" 2>&1 &&
        "$AO" eval "$P" 'return X + 1' --wallet "$W" >"$WORK/$1.e2" 2>&1 &&
        [ "$(cat "$WORK/$1.e1")" = 42 ] && [ "$(cat "$WORK/$1.e2")" = 43 ]
}

# ---- the default: compiled ----
(unset AO_WASM_TIER; export AO_WASM_CACHE="$CACHE"; start_node def
 eval_twice def && echo evaluated >"$WORK/def.evaluated"; stop_node)
check "ao up without AO_WASM_TIER: cu tier compiled (default)" \
    "grep -q 'cu tier *compiled (default)' '$WORK/def.out'"
check "the default node evaluates (spawn, two evals)" "[ -f '$WORK/def.evaluated' ]"
[ -f "$WORK/def.evaluated" ] || { tail -c 600 "$WORK/def.spawn.err" "$WORK/def.e1" "$WORK/def.e2" "$WORK/def.err" 2>/dev/null; }
check "the default node ran the aos module's native library" \
    "grep -q 'compiled tier: loaded' '$WORK/def.err'"

# ---- --tier interp ----
(export AO_WASM_CACHE="$CACHE"; start_node interp --tier interp
 eval_twice interp && echo evaluated >"$WORK/interp.evaluated"; stop_node)
check "ao up --tier interp says so" "grep -q 'cu tier *interp$' '$WORK/interp.out'"
check "the interp node evaluates the same" "[ -f '$WORK/interp.evaluated' ]"
check "the interp node loaded no native library" "! grep -q 'compiled tier: loaded' '$WORK/interp.err'"

# ---- AO_WASM_TIER=interp ----
(export AO_WASM_TIER=interp; start_node envi; stop_node)
check "AO_WASM_TIER=interp: cu tier interp (AO_WASM_TIER)" \
    "grep -q 'cu tier *interp (AO_WASM_TIER)' '$WORK/envi.out'"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
