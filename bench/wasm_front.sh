#!/bin/sh
# wasm_front.sh - WebAssembly front-end benchmark: decode + validate
# throughput of our engine (bench/wasm_front/front_run.c over the build's
# libao.a) beside Node's V8 WebAssembly.validate on the same bytes, for
#   big:  one synthetic module of mixed code (front_run gen), ~22 MB;
#   spec: every valid binary module of shared/wasm-spec/core (1100+ small
#         modules, the per-module overhead case).
# Prints MB/s for each and the ratio (ours / V8; above 1 = we are faster).
# Usage: sh bench/wasm_front.sh [BUILD]    env BENCH_SCALE=percent (100)
BUILD=${1:-build}
SCALE=${BENCH_SCALE:-100}
OUT="$BUILD/bench-wasm-front"
mkdir -p "$OUT"
LIBS="-lcrypto -lsecp256k1 -lcjson -lzstd -lm -lpthread"
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Isrc -o "$OUT/front_run" \
    bench/wasm_front/front_run.c "$BUILD/libao.a" $LIBS || { echo "!! front_run did not build"; exit 1; }

nfuncs=$((20000 * SCALE / 100)); [ "$nfuncs" -lt 10 ] && nfuncs=10
"$OUT/front_run" gen "$OUT/big.wasm" "$nfuncs" || exit 1

shared=""
for d in "$AO_SHARED" ../shared; do
    [ -n "$d" ] && [ -d "$d/wasm-spec/core" ] && { shared=$d; break; }
done
spec_list="$OUT/spec.list"
: >"$spec_list"
if [ -n "$shared" ]; then
    # the "module" commands' binaries (valid modules only)
    for j in "$shared"/wasm-spec/core/*.json; do
        grep -o '"type": *"module"[^}]*"filename": *"[^"]*\.wasm"' "$j" |
            sed 's/.*"filename": *"\([^"]*\)"/\1/' |
            sed "s|^|$shared/wasm-spec/core/|" >>"$spec_list"
    done
fi

have_node=1
command -v node >/dev/null 2>&1 || { echo "!! node not found: V8 column skipped"; have_node=0; }

printf '%-6s %10s %10s %12s %12s %10s %8s\n' set bytes modules "decode MB/s" "d+v MB/s" "V8 MB/s" "ours/V8"
run() {   # name reps files...
    name=$1; reps=$2; shift 2
    r=$("$OUT/front_run" time "$reps" "$@") || { echo "!! $name: front_run failed"; return 1; }
    set -- $r "$@"
    bytes=$1; td=$2; tv=$3; shift 3
    n=$#
    ours=$(awk -v b="$bytes" -v d="$td" -v v="$tv" 'BEGIN { printf "%.1f %.1f", b/d/1e6, b/(d+v)/1e6 }')
    v8="-"; ratio="-"
    if [ $have_node = 1 ]; then
        v=$(node bench/wasm_front/v8_validate.js "$reps" "$@") || { echo "!! $name: V8 failed"; return 1; }
        set -- $v
        v8=$(awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b/s/1e6 }')
        ratio=$(awk -v b="$bytes" -v d="$td" -v v="$tv" -v s="$2" 'BEGIN { printf "%.2f", s/(d+v) }')
    fi
    set -- $ours
    printf '%-6s %10s %10s %12s %12s %10s %8s\n' "$name" "$bytes" "$n" "$1" "$2" "$v8" "$ratio"
}
run big 5 "$OUT/big.wasm" || exit 1
if [ -s "$spec_list" ]; then
    run spec 5 $(cat "$spec_list") || exit 1
else
    echo "!! shared/wasm-spec not found: spec set skipped"
fi
