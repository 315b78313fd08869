#!/bin/sh
# `ao wasm run --tier interp|compiled` and `ao wasm compile` (src/cli/
# cli_wasm.c) on spec modules: the same results and gas on both tiers,
# out of gas at the same point, an unknown tier refused, a memory64 module
# refused by the compiled tier with the reason. Libraries go to a fresh
# cache (cc -O0). Argument 1 = build dir. Ends with "N passed, N failed".
B=${1:-${AO_BUILD:-build}}
AO="$B/ao"
S=${AO_SHARED:-../shared}
[ -d "$S/wasm-spec" ] || S=/work/shared
FAC="$S/wasm-spec/core/fac.0.wasm"
M64="$S/wasm-spec/memory64/address64.0.wasm"
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
export AO_WASM_AOT_OPT=0
passed=0
failed=0
ok() { passed=$((passed + 1)); }
no() { failed=$((failed + 1)); echo "FAIL: $1"; }
for fn in fac-rec fac-iter fac-opt; do
    i=$("$AO" wasm run --tier interp "$FAC" "$fn" i64:25 2>&1)
    c=$("$AO" wasm run --tier compiled --cache "$cache" "$FAC" "$fn" i64:25 2>&1)
    if [ "$i" = "$c" ] && echo "$c" | grep -q 'i64:7034535277573963776' && echo "$c" | grep -q '^gas: '; then
        ok
    else
        no "$fn: interp '$i' compiled '$c'"
    fi
done
for lim in 0 10 57 200; do
    i=$("$AO" wasm run --tier interp --gas-limit $lim "$FAC" fac-iter i64:25 2>&1; echo "exit $?")
    c=$("$AO" wasm run --tier compiled --cache "$cache" --gas-limit $lim "$FAC" fac-iter i64:25 2>&1; echo "exit $?")
    if [ "$i" = "$c" ] && echo "$c" | grep -q 'out of gas' && echo "$c" | grep -q 'exit 1'; then
        ok
    else
        no "gas limit $lim: interp '$i' compiled '$c'"
    fi
done
"$AO" wasm run --tier jit "$FAC" fac-rec i64:1 >/dev/null 2>&1
[ $? -eq 2 ] && ok || no "unknown tier is a usage error"
out=$("$AO" wasm compile --cache "$cache" "$FAC")
[ $? -eq 0 ] && echo "$out" | grep -q 'compiled' && ok || no "compile fac: $out"
[ "$(ls "$cache" | grep -c '\.so$')" -ge 1 ] && ok || no "a library in the cache"
out=$("$AO" wasm compile --cache "$cache" "$M64")
[ $? -eq 1 ] && echo "$out" | grep -q 'memory64' && ok || no "compile memory64: $out"
out=$("$AO" wasm run --tier compiled --cache "$cache" "$M64" x 2>&1)
[ $? -eq 2 ] && echo "$out" | grep -q 'memory64' && ok || no "run memory64 compiled: $out"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
