#!/bin/sh
# wasm.sh - WebAssembly benchmark: each program of bench/wasm/*.c is built
# natively (gcc -O2) and to wasm32 (clang --target=wasm32 -O2, no libc),
# then run natively, on our engine's interpreter (bench/wasm/ao_run.c
# linked with the build's libao.a), on its compiled tier (the same driver
# with AO_WASM_TIER=compiled: wasm2c + cc -O2, library cached in
# BUILD/bench-wasm/aot, compile time not counted) and on Node's V8
# (bench/wasm/v8_run.js) with the same .wasm. All must give the same
# checksum, and both tiers the same gas. Prints a table of run times
# with engine and V8 speed as a percentage of native speed, and the
# geometric means; then the same table as a Markdown section for
# bench/RESULTS.md.
# Times are CPU times of the run(N) call (best of BENCH_RUNS runs, default
# 1), so that other load on the machine skews them less.
# Usage: sh bench/wasm.sh [BUILD]   env BENCH_SCALE=percent (default 100)
#        BENCH_RUNS=3, BENCH_PROGRAMS="fib sha256" to run only some.
BUILD=${1:-build}
SCALE=${BENCH_SCALE:-100}
RUNS=${BENCH_RUNS:-1}
OUT="$BUILD/bench-wasm"
SRC=bench/wasm
mkdir -p "$OUT"
LIBS="-lcrypto -lsecp256k1 -lcjson -lzstd -lm -lpthread"

# program and work size giving roughly 0.3-0.5 s natively on a 2020s x86-64
PROGRAMS=${BENCH_PROGRAMS:-"fib coremark interp sha256 mem nbody"}
size_of() {
    case $1 in
    fib) echo 4000 ;; coremark) echo 6000 ;; interp) echo 300000 ;;
    sha256) echo 2000 ;; mem) echo 1500 ;; nbody) echo 5000000 ;;
    *) echo 100 ;;
    esac
}

# best PROGRAM LABEL CMD... : runs CMD RUNS times, prints the output line
# with the least time (field 2); all runs must print the same checksum.
best() {
    bp=$1; bl=$2; shift 2
    bout=""; i=0
    while [ $i -lt "$RUNS" ]; do
        r=$("$@" 2>"$OUT/$bp.$bl.err")
        if [ -z "$r" ]; then
            echo "!! $bp on $bl: $(cat "$OUT/$bp.$bl.err")" >&2; return 1
        fi
        if [ -z "$bout" ]; then bout=$r
        elif [ "${r%% *}" != "${bout%% *}" ]; then
            echo "!! $bp on $bl: checksum changed between runs" >&2; return 1
        else
            bout=$(printf '%s\n%s\n' "$bout" "$r" | sort -g -k2 | head -1)
        fi
        i=$((i + 1))
    done
    echo "$bout"
}

fail=0
engine=1
if ! ${CC:-cc} -std=c11 -O2 -Wall -Wextra -Werror -Isrc -o "$OUT/ao_run" "$SRC/ao_run.c" \
        "$BUILD/libao.a" $LIBS 2>"$OUT/ao_run.log"; then
    echo "!! engine driver did not build (see $OUT/ao_run.log): engine column skipped"
    engine=0
    fail=1
fi
v8=1
command -v node >/dev/null 2>&1 || { echo "!! node not found: V8 column skipped"; v8=0; }

load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
rows=""
for p in $PROGRAMS; do
    n=$(( $(size_of "$p") * SCALE / 100 ))
    [ "$n" -lt 1 ] && n=1
    if ! gcc -std=c11 -O2 -Wall -Wextra -Werror -I"$SRC" -o "$OUT/$p.native" \
            "$SRC/$p.c" "$SRC/native_main.c" -lm; then
        echo "!! $p: native build failed"; fail=1; continue
    fi
    if ! clang --target=wasm32 -O2 -nostdlib -ffreestanding -mbulk-memory -Wall -Wextra -Werror \
            -Wl,--no-entry -o "$OUT/$p.wasm" "$SRC/$p.c"; then
        echo "!! $p: wasm build failed"; fail=1; continue
    fi
    set -- $(best "$p" native "$OUT/$p.native" "$n"); nsum=$1; nt=$2
    esum="-"; et="-"; gas="-"
    if [ $engine = 1 ]; then
        r=$(best "$p" engine "$OUT/ao_run" "$OUT/$p.wasm" "$n")
        if [ -n "$r" ]; then set -- $r; esum=$1; et=$2; gas=$3; fi
    fi
    csum="-"; ct="-"; cgas="-"
    if [ $engine = 1 ] && command -v wasm2c >/dev/null 2>&1; then
        # build the library first (synchronously: a background build would
        # die with this short process), then time runs that load it
        env AO_WASM_TIER=compiled AO_WASM_AOT_SYNC=1 AO_WASM_CACHE="$OUT/aot" \
            "$OUT/ao_run" "$OUT/$p.wasm" 1 >/dev/null 2>&1
        r=$(best "$p" compiled env AO_WASM_TIER=compiled AO_WASM_CACHE="$OUT/aot" \
            "$OUT/ao_run" "$OUT/$p.wasm" "$n")
        if [ -n "$r" ]; then set -- $r; csum=$1; ct=$2; cgas=$3; fi
        if [ "$cgas" != "$gas" ]; then
            echo "!! $p: gas differs between tiers: interpreter $gas, compiled $cgas"; fail=1
        fi
    fi
    vsum="-"; vt="-"
    if [ $v8 = 1 ]; then
        r=$(best "$p" V8 node "$SRC/v8_run.js" "$OUT/$p.wasm" "$n")
        if [ -n "$r" ]; then set -- $r; vsum=$1; vt=$2; fi
    fi
    for s in $nsum $esum $csum $vsum; do
        if [ "$s" = "-" ] || [ "$s" != "$nsum" ]; then
            echo "!! $p: missing result or checksum mismatch: native $nsum, engine $esum, compiled $csum, V8 $vsum"
            fail=1
        fi
    done
    rows="$rows$p $n $nsum $nt $et $vt $gas $ct
"
done

printf '%s' "$rows" | awk -v md=0 '
function pct(n, x) { return (x == "-" || x <= 0) ? "-" : sprintf("%.1f%%", 100 * n / x) }
function rat(a, b) { return (a == "-" || b == "-" || b <= 0) ? "-" : sprintf("%.2fx", a / b) }
BEGIN { printf "%-9s %9s %11s %9s %9s %8s %9s %8s %8s %9s %8s %14s\n", "program", "n", "checksum",
        "native s", "interp s", "interp", "compil s", "compiled", "c/V8", "V8 s", "V8", "gas (both)" }
{
    printf "%-9s %9s %11s %9.3f %9s %8s %9s %8s %8s %9s %8s %14s\n", $1, $2, $3, $4,
        ($5 == "-" ? "-" : sprintf("%.3f", $5)), pct($4, $5),
        ($8 == "-" ? "-" : sprintf("%.3f", $8)), pct($4, $8), rat($6, $8),
        ($6 == "-" ? "-" : sprintf("%.3f", $6)), pct($4, $6), $7
    if ($5 != "-" && $5 > 0) { le += log($4 / $5); ne++ }
    if ($8 != "-" && $8 > 0) { lc += log($4 / $8); nc++ }
    if ($6 != "-" && $6 > 0) { lv += log($4 / $6); nv++ }
}
END {
    printf "geometric mean of speed vs native: interpreter %s, compiled tier %s, V8 %s\n",
        ne ? sprintf("%.1f%%", 100 * exp(le / ne)) : "-",
        nc ? sprintf("%.1f%%", 100 * exp(lc / nc)) : "-",
        nv ? sprintf("%.1f%%", 100 * exp(lv / nv)) : "-"
}'

# The same as a Markdown section for bench/RESULTS.md
{
    echo "## wasm"
    echo
    echo "Date: $(date -u). CPU: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)."
    echo "Engine at commit $(git rev-parse --short HEAD 2>/dev/null); load average before the run: $load."
    echo "gcc -O2 native vs our engine vs Node $(node --version 2>/dev/null) (V8), same .wasm"
    echo "(clang-14 --target=wasm32 -O2). CPU time of the run(n) call, best of $RUNS run(s)."
    echo "Speed = native time / time (100% = native)."
    echo
    echo "| program | n | checksum | native s | interp s | interp | compiled s | compiled | V8 s | V8 |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s' "$rows" | awk '
    function pct(n, x) { return (x == "-" || x <= 0) ? "-" : sprintf("%.1f%%", 100 * n / x) }
    function sec(x) { return x == "-" ? "-" : sprintf("%.3f", x) }
    { printf "| %s | %s | %s | %.3f | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, sec($5), pct($4, $5),
        sec($8), pct($4, $8), sec($6), pct($4, $6)
      if ($5 != "-" && $5 > 0) { le += log($4 / $5); ne++ }
      if ($8 != "-" && $8 > 0) { lc += log($4 / $8); nc++ }
      if ($6 != "-" && $6 > 0) { lv += log($4 / $6); nv++ } }
    END { printf "| geometric mean | | | | | %s | | %s | | %s |\n",
          ne ? sprintf("%.1f%%", 100 * exp(le / ne)) : "-", nc ? sprintf("%.1f%%", 100 * exp(lc / nc)) : "-",
          nv ? sprintf("%.1f%%", 100 * exp(lv / nv)) : "-" }'
} >"$OUT/RESULTS-wasm.md"
echo "(Markdown table written to $OUT/RESULTS-wasm.md)"
[ $fail = 0 ]
