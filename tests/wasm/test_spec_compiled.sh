#!/bin/sh
# The WebAssembly spec suite on the compiled tier (docs/wasm.md): the same
# runner (build/tests/wasm/test_spec) with AO_WASM_TIER=compiled must give
# the same pass count as on the interpreter, with no failure. Modules the
# tier does not take run on the interpreter; they are counted and named by
# reason ("interpreted: FILE: REASON" lines of the runner). Spec modules are
# compiled with cc -O0 (fast to build; the library cache build/aot-spec,
# shared by every build flavour since the libraries do not depend on it,
# keeps them between runs). Argument 1 = build dir. Ends with
# "N passed, N failed".
B=${1:-${AO_BUILD:-build}}
T="$B/tests/wasm/test_spec"
if [ ! -x "$T" ]; then
    echo "$T not built"
    echo "0 passed, 1 failed"
    exit 1
fi
if ! command -v wasm2c >/dev/null 2>&1; then
    echo "wasm2c not found (scripts/deps.sh installs wabt)"
    echo "0 passed, 1 failed"
    exit 1
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$T" > "$out/interp" 2>&1
AO_WASM_TIER=compiled AO_WASM_AOT_SYNC=1 AO_WASM_CACHE=build/aot-spec AO_WASM_AOT_OPT=0 "$T" > "$out/compiled" 2>&1
pi=$(tail -1 "$out/interp")
pc=$(tail -1 "$out/compiled")
ncomp=$(grep -c '^compiled: ' "$out/compiled")
nint=$(grep -c '^interpreted: ' "$out/compiled")
echo "interpreter:   $pi"
echo "compiled tier: $pc"
echo "modules on the interpreter (the tier does not take them): $nint, by reason:"
grep '^interpreted: ' "$out/compiled" | sed 's/^interpreted: [^:]*: //' | sort | uniq -c
echo "first of each reason:"
grep '^interpreted: ' "$out/compiled" | sort -t: -k3 -u | sed 's/^/  /'
echo "modules run compiled: $ncomp"
passed=0
failed=0
check() {
    if [ "$2" = ok ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $1"; fi
}
case "$pi" in *" 0 failed,"*) check "interpreter run has no failure" ok ;; *) check "interpreter run has no failure" no ;; esac
case "$pc" in *" 0 failed,"*) check "compiled run has no failure" ok ;; *) check "compiled run has no failure" no ;; esac
[ "$pi" = "$pc" ] && check "same counts on both tiers" ok || check "same counts on both tiers" no
[ "$ncomp" -gt $((nint * 2)) ] && check "most modules run compiled" ok || check "most modules run compiled ($ncomp)" no
if [ "$failed" -ne 0 ]; then
    grep -E 'FAIL|failed' "$out/compiled" | grep -v ' 0 failed' | head -20
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
