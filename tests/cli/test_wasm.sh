#!/bin/sh
# test_wasm.sh - `ao wasm validate` and `ao wasm run`: exit codes, typed
# arguments and results, traps, gas and memory limits, unresolved imports.
# Test modules are built here: one from C with clang --target=wasm32, the
# others written byte by byte. Usage: sh tests/cli/test_wasm.sh BUILD_DIR
BUILD=${1:-${AO_BUILD:-build}}
AO="$BUILD/ao"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
passed=0; failed=0

# bytes N... : write the given byte values (decimal or 0x hex) to stdout
bytes() { for b; do printf "\\$(printf %o "$b")"; done; }

# check NAME WANT_STATUS PATTERN CMD... : runs CMD, wants exit status
# WANT_STATUS and a line of stdout+stderr matching the grep pattern
check() {
    name=$1; want=$2; pat=$3; shift 3
    "$@" >"$T/out" 2>&1
    rc=$?
    if [ "$rc" -eq "$want" ] && grep -q -e "$pat" "$T/out"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $name: status $rc (want $want), output:"
        sed 's/^/    /' "$T/out"
        echo "    (wanted a line matching: $pat)"
    fi
}

cat >"$T/m.c" <<'CEOF'
int add(int a, int b) { return a + b; }
long long mul64(long long a, long long b) { return a * b; }
double half(double x) { return x * 0.5; }
float fadd(float a, float b) { return a + b; }
int divs(int a, int b) { return a / b; }
int count(int n) { volatile int s = 0; for (int i = 0; i < n; i++) s += i; return s; }
void boom(void) { __builtin_trap(); }
int grow(int n) { return __builtin_wasm_memory_grow(0, n); }
int pages(void) { return __builtin_wasm_memory_size(0); }
CEOF
if ! clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -Wl,--export-all \
        -o "$T/m.wasm" "$T/m.c" 2>"$T/clang.log"; then
    cat "$T/clang.log"
    echo "cannot build the test module with clang --target=wasm32"
    echo "0 passed, 1 failed"
    exit 1
fi

HDR="0 0x61 0x73 0x6d 1 0 0 0"
# bad version
bytes 0 0x61 0x73 0x6d 2 0 0 0 >"$T/badver.wasm"
# truncated section
bytes $HDR 1 5 1 0x60 >"$T/trunc.wasm"
# func () -> i32 whose body is empty: decodes but does not validate
bytes $HDR 1 5 1 0x60 0 1 0x7f  3 2 1 0  0xa 4 1 2 0 0xb >"$T/invalid.wasm"
# imports env.foo : () -> ()
bytes $HDR 1 4 1 0x60 0 0  2 0xb 1 3 0x65 0x6e 0x76 3 0x66 0x6f 0x6f 0 0 >"$T/import.wasm"
# "rec": calls itself forever; "spin": loops forever
bytes $HDR 1 4 1 0x60 0 0  3 3 2 0 0 \
      7 0xe 2 3 0x72 0x65 0x63 0 0 4 0x73 0x70 0x69 0x6e 0 1 \
      0xa 0xe 2 4 0 0x10 0 0xb 7 0 3 0x40 0xc 0 0xb 0xb >"$T/spin.wasm"
# start function that traps (unreachable)
bytes $HDR 1 4 1 0x60 0 0  3 2 1 0  8 1 0  0xa 5 1 3 0 0 0xb >"$T/starttrap.wasm"
# empty module
bytes $HDR >"$T/empty.wasm"
# memory of 65536 pages (4 GiB), exports "size" : () -> i32 (memory.size)
bytes $HDR 1 5 1 0x60 0 1 0x7f  3 2 1 0  5 5 1 0 0x80 0x80 4 \
      7 8 1 4 0x73 0x69 0x7a 0x65 0 0  0xa 6 1 4 0 0x3f 0 0xb >"$T/bigmem.wasm"

check help 0 "usage: ao wasm" "$AO" wasm --help
check run-help 0 "gas-limit" "$AO" wasm run --help
check no-subcommand 2 "usage" "$AO" wasm
check unknown-subcommand 2 "unknown subcommand" "$AO" wasm frobnicate

check validate-ok 0 "valid" "$AO" wasm validate "$T/m.wasm"
check validate-empty 0 "valid (0 imports, 0 exports)" "$AO" wasm validate "$T/empty.wasm"
check validate-bad-version 1 "malformed" "$AO" wasm validate "$T/badver.wasm"
check validate-truncated 1 "malformed" "$AO" wasm validate "$T/trunc.wasm"
check validate-invalid 1 "invalid" "$AO" wasm validate "$T/invalid.wasm"
check validate-missing-file 2 "." "$AO" wasm validate "$T/nope.wasm"
check validate-usage 2 "usage" "$AO" wasm validate

check run-i32 0 "^i32:5$" "$AO" wasm run "$T/m.wasm" add i32:2 i32:3
check run-i32-wraps 0 "^i32:-2147483648$" "$AO" wasm run "$T/m.wasm" add i32:2147483647 i32:1
check run-i32-hex 0 "^i32:256$" "$AO" wasm run "$T/m.wasm" add i32:0xff i32:1
check run-gas-printed 0 "^gas: [1-9][0-9]*$" "$AO" wasm run "$T/m.wasm" add i32:2 i32:3
check run-i64 0 "^i64:-3$" "$AO" wasm run "$T/m.wasm" mul64 i64:-1 i64:3
check run-i64-big 0 "^i64:-9223372036854775808$" "$AO" wasm run "$T/m.wasm" mul64 i64:4611686018427387904 i64:2
check run-f64 0 "^f64:0.25$" "$AO" wasm run "$T/m.wasm" half f64:0.5
check run-f32 0 "^f32:3.75$" "$AO" wasm run "$T/m.wasm" fadd f32:1.5 f32:2.25
check run-f64-nan-bits 0 "^f64:nan:0x7ff8000000000000$" "$AO" wasm run "$T/m.wasm" half f64:0x7ff8000000000000
check run-f32-bits 0 "^f32:2$" "$AO" wasm run "$T/m.wasm" fadd f32:0x3f800000 f32:1
check run-loop 0 "^i32:499500$" "$AO" wasm run "$T/m.wasm" count i32:1000
check validate-counts 0 "valid (0 imports, 2 exports)" "$AO" wasm validate "$T/spin.wasm"
check validate-import-count 0 "valid (1 import, 0 exports)" "$AO" wasm validate "$T/import.wasm"

# gas is deterministic: the same call twice reports the same gas, and a
# limit just below it traps while the exact amount suffices
g1=$("$AO" wasm run "$T/m.wasm" count i32:500 2>&1 | sed -n 's/^gas: //p')
g2=$("$AO" wasm run "$T/m.wasm" count i32:500 2>&1 | sed -n 's/^gas: //p')
if [ -n "$g1" ] && [ "$g1" = "$g2" ] && [ "$g1" -gt 500 ]; then
    passed=$((passed + 1))
else
    failed=$((failed + 1)); echo "FAIL gas-deterministic: gas '$g1' then '$g2'"
fi
check gas-exact-limit 0 "^i32:124750$" "$AO" wasm run --gas-limit "${g1:-0}" "$T/m.wasm" count i32:500
check gas-limit-one-less 1 "out of gas" "$AO" wasm run --gas-limit "$(( ${g1:-1} - 1 ))" "$T/m.wasm" count i32:500

check trap-div-zero 1 "integer divide by zero" "$AO" wasm run "$T/m.wasm" divs i32:1 i32:0
check trap-overflow 1 "integer overflow" "$AO" wasm run "$T/m.wasm" divs i32:-2147483648 i32:-1
check trap-unreachable 1 "unreachable" "$AO" wasm run "$T/m.wasm" boom
check trap-out-of-gas 1 "out of gas" "$AO" wasm run --gas-limit 1000 "$T/spin.wasm" spin
check trap-out-of-gas-loop 1 "out of gas" "$AO" wasm run --gas-limit 100 "$T/m.wasm" count i32:1000000
check gas-limit-enough 0 "^i32:45$" "$AO" wasm run --gas-limit 1000000 "$T/m.wasm" count i32:10
check trap-stack 1 "call stack exhausted" "$AO" wasm run --gas-limit 100000000 "$T/spin.wasm" rec
check trap-start 1 "unreachable" "$AO" wasm run "$T/starttrap.wasm" x

check grow-unlimited 0 "^i32:2$" "$AO" wasm run "$T/m.wasm" grow i32:1
check grow-limited 0 "^i32:-1$" "$AO" wasm run --memory-limit 2 "$T/m.wasm" grow i32:1
check grow-within-limit 0 "^i32:2$" "$AO" wasm run --memory-limit 3 "$T/m.wasm" grow i32:1

check big-memory 0 "^i32:65536$" "$AO" wasm run "$T/bigmem.wasm" size
check big-memory-over-limit 2 "cannot instantiate" "$AO" wasm run --memory-limit 100 "$T/bigmem.wasm" size

check import-refused 2 "unresolved import env.foo" "$AO" wasm run "$T/import.wasm" x
check no-such-export 2 "no export named \"nope\"" "$AO" wasm run "$T/m.wasm" nope
check export-not-func 2 "not a function" "$AO" wasm run "$T/m.wasm" memory
check wrong-arg-count 2 "takes 2 arguments" "$AO" wasm run "$T/m.wasm" add i32:1
check wrong-arg-type 2 "parameter is a i32" "$AO" wasm run "$T/m.wasm" add f32:1 i32:1
check bad-arg-value 2 "expected i32:VALUE" "$AO" wasm run "$T/m.wasm" add i32:abc i32:1
check i32-out-of-range 2 "expected i32:VALUE" "$AO" wasm run "$T/m.wasm" add i32:4294967296 i32:1
check bad-gas-limit 2 "non-negative integer" "$AO" wasm run --gas-limit x "$T/m.wasm" add i32:1 i32:1
check unknown-option 2 "unknown option" "$AO" wasm run --frob "$T/m.wasm" add
check run-malformed 2 "." "$AO" wasm run "$T/badver.wasm" add
check run-missing-file 2 "." "$AO" wasm run "$T/nope.wasm" add

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
