#!/bin/sh
# aos.sh - benchmark of a token process on the aos module: spawn, the token
# blueprint, a mint of 1,000 holders' balances (one Eval), then 10,000
# Transfers among them (tests/interop/aos_log.js transfers). Messages per
# second through our engine (`ao process run build/aos.wasm`, with its
# per-message rollback mark - an engine transaction - and gas count) and through the Node
# host of tests/interop/aos_node_host.js (the same wasm on V8 with
# emscripten's glue), whole runs (load + every message) timed by the wall
# clock, best of 2; prints the ratio. The two runs' results are checked
# equal (GasUsed aside). The same run on the engine's compiled tier
# (AO_WASM_TIER=compiled, library cached in build/aot, built before the
# timing) must give byte-identical results to the interpreter's, GasUsed
# included. Argument 1: the build folder (holding ./ao).
BUILD=${1:-${AO_BUILD:-build}}
HOLDERS=${AOS_BENCH_HOLDERS:-1000}
N=${AOS_BENCH_TRANSFERS:-10000}
GLUE=build/aos/link-lib/aos.js
[ -x "$BUILD/ao" ] && [ -f build/aos.wasm ] && [ -f "$GLUE" ] || { echo "aos bench: $BUILD/ao, build/aos.wasm or $GLUE missing"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node tests/interop/aos_log.js transfers "$HOLDERS" "$N" > "$tmp/log" || exit 1
msgs=$(wc -l < "$tmp/log")
now() { date +%s.%N; }
best() {   # best of 2 wall-clock seconds of "$@" > $tmp/out
    b=""
    for i in 1 2; do
        t0=$(now); "$@" > "$tmp/out"; rc=$?; t1=$(now)
        [ $rc -le 1 ] || { echo "aos bench: $1 exited $rc" >&2; exit 1; }
        b=$(echo "$t0 $t1 $b" | awk '{d = $2 - $1; if ($3 == "" || d < $3) d = d; else d = $3; print d}')
    done
    echo "$b"
}
ours=$(best "$BUILD/ao" process run build/aos.wasm "$tmp/log"); cp "$tmp/out" "$tmp/ours"
comp=""
if command -v wasm2c >/dev/null 2>&1; then
    head -1 "$tmp/log" > "$tmp/log1"
    AO_WASM_TIER=compiled AO_WASM_AOT_SYNC=1 AO_WASM_CACHE=build/aot "$BUILD/ao" process run build/aos.wasm "$tmp/log1" > /dev/null
    comp=$(best env AO_WASM_TIER=compiled AO_WASM_CACHE=build/aot "$BUILD/ao" process run build/aos.wasm "$tmp/log")
    if cmp -s "$tmp/out" "$tmp/ours"; then
        csame="compiled tier: all results identical to the interpreter's (GasUsed included)"
    else
        csame="compiled tier: RESULTS DIFFER from the interpreter's"
    fi
fi
v8=$(best node tests/interop/aos_node_host.js "$GLUE" "$tmp/log"); cp "$tmp/out" "$tmp/node"
same=$(node -e '
const fs = require("fs");
const r = f => fs.readFileSync(f, "utf8").split("\n").filter(x => x).map(l => { const o = JSON.parse(l); delete o.GasUsed; return JSON.stringify(o); });
const a = r(process.argv[1]), b = r(process.argv[2]);
let d = a.length === b.length ? 0 : 1; for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++;
const ok = a.filter(x => x.includes("Debit-Notice")).length;
console.log(d ? d + " results differ" : "all " + a.length + " results equal, " + ok + " transfers done");
' "$tmp/ours" "$tmp/node")
echo "aos token: $msgs messages ($HOLDERS holders, $N Transfers), $same"
[ -n "$comp" ] && echo "$csame"
awk -v m="$msgs" -v o="$ours" -v v="$v8" -v c="$comp" 'BEGIN {
    printf "%-38s %10s %12s\n", "run", "seconds", "messages/s"
    printf "%-38s %10.2f %12.0f\n", "ours: ao process run (interpreter)", o, m / o
    if (c != "") printf "%-38s %10.2f %12.0f\n", "ours: ao process run (compiled tier)", c, m / c
    printf "%-38s %10.2f %12.0f\n", "node host (V8, emscripten glue)", v, m / v
    printf "ratio interpreter/V8 (time): %.2fx\n", o / v
    if (c != "") printf "ratio compiled/V8 (time): %.2fx, compiled speed-up over the interpreter: %.2fx\n", c / v, o / c
}'
case "$csame" in *DIFFER*) exit 1 ;; esac
