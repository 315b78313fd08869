#!/bin/sh
# test_diskfull.sh - disk-full and fsync-error injection: `ao up` runs with
# an LD_PRELOAD shim (tests/faults/shim/fail_io.c) that, while a trigger
# file exists, fails every write/pwrite (ENOSPC) and fsync/fdatasync (EIO)
# on regular files. With the disk "full", posts to the MU, the SU and the
# gateway must answer an error (a 4xx/5xx JSON body, never 2xx), and the
# node must stay up; after a kill -9 and a restart on a healthy disk every
# message that was acknowledged is in the schedule, nonces 0..n-1, and new
# messages are accepted. Argument 1: the build folder (holding ./ao).
# Prints "N passed, N failed".
BUILD=${1:-${AO_BUILD:-build}}
AO=$(cd "$BUILD" 2>/dev/null && pwd)/ao
passed=0; failed=0
ok()   { passed=$((passed + 1)); echo "ok   $1"; }
bad()  { failed=$((failed + 1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }
for tool in curl node cc; do
    command -v $tool >/dev/null 2>&1 || { echo "FAIL $tool is not installed"; echo "0 passed, 1 failed"; exit 1; }
done
[ -x "$AO" ] || { echo "FAIL no ao binary at $BUILD/ao"; echo "0 passed, 1 failed"; exit 1; }
WORK=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
DATA="$WORK/data"
cc -shared -fPIC -O1 -o "$WORK/fail_io.so" tests/faults/shim/fail_io.c -ldl || { bad "build the shim"; finish; }
# an ASan-built ao wants its runtime first; the shim does not care
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0:detect_leaks=0"
export AO_FAIL_IO_TRIGGER="$WORK/disk-full"

json_field() { sed -n "s/.*\"$2\":[[:space:]]*\"\([^\"]*\)\".*/\1/p" "$1" | head -1; }
start() {   # [preload]
    rm -f "$DATA/node.json"
    if [ -n "$1" ]; then
        LD_PRELOAD="$WORK/fail_io.so" "$AO" up --data "$DATA" --any-ports >>"$WORK/up.log" 2>&1 &
    else
        "$AO" up --data "$DATA" --any-ports >>"$WORK/up.log" 2>&1 &
    fi
    PID=$!
    i=0
    while [ $i -lt 1200 ]; do
        if [ -f "$DATA/node.json" ] && grep -q "\"pid\":[[:space:]]*$PID" "$DATA/node.json"; then
            MU=$(json_field "$DATA/node.json" mu); SU=$(json_field "$DATA/node.json" su)
            GW=$(json_field "$DATA/node.json" gateway)
            curl -sf -m 5 "$MU/" >/dev/null 2>&1 && return 0
        fi
        kill -0 "$PID" 2>/dev/null || return 1
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
sign() {   # out target data tags... ; prints the id
    out=$1; target=$2; data=$3; shift 3
    for t in "$@"; do set -- "$@" --tag "$t"; shift; done
    # a unique anchor: Ed25519 items with equal fields share an id
    set -- --wallet "$WORK/w.json" --out "$out" --data "$data" --anchor "$(printf 'a%s-%s-%s' "$n" "$(date +%s%N)" "$$$$$$$$$$$$$$$$$$$$$$$$" | cut -c1-32)" "$@"
    [ -n "$target" ] && set -- --target "$target" "$@"
    "$AO" item sign "$@" 2>&1 >/dev/null | tail -1
}
post() {   # url file -> status, body in $WORK/body
    curl -s -m 30 -o "$WORK/body" -w '%{http_code}' -H 'Content-Type: application/octet-stream' \
        --data-binary "@$2" "$1"
}
is_json_error() { node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); process.exit(typeof j.error==="string"&&j.error?0:1)' "$1" 2>/dev/null; }

"$AO" wallet new --type ed25519 --out "$WORK/w.json" >/dev/null || { bad "wallet"; finish; }
start preload || { bad "ao up starts under the shim"; cat "$WORK/up.log"; finish; }
ok "ao up starts under the shim"
MOD=$(json_field "$DATA/node.json" aosModule)
SUA=$(json_field "$DATA/node.json" suAddress); MUA=$(json_field "$DATA/node.json" muAddress)
P=$(sign "$WORK/p.item" "" " " Data-Protocol=ao Variant=ao.TN.1 Type=Process "Module=$MOD" \
      "Scheduler=$SUA" "Authority=$MUA" Name=diskfull)
check "a process is accepted on a healthy disk" "[ \"\$(post '$MU/' '$WORK/p.item')\" = 202 ]"
: >"$WORK/acked"
n=0
msg() {   # post one Eval to the MU; records the id when 202; prints the status
    n=$((n + 1))
    id=$(sign "$WORK/m$n.item" "$P" "N = (N or 0) + 1" Data-Protocol=ao Variant=ao.TN.1 Type=Message Action=Eval)
    st=$(post "$MU/" "$WORK/m$n.item")
    [ "$st" = 202 ] && echo "$id" >>"$WORK/acked"
    echo "$st"
}
good=0
for i in 1 2 3; do [ "$(msg)" = 202 ] && good=$((good + 1)); done
check "messages are accepted on a healthy disk" "[ $good -eq 3 ]"

# ---- the disk fills up ----
touch "$WORK/disk-full"
refused=0; acked_full=0; nonjson=0
for i in 1 2 3 4 5; do
    st=$(msg)
    case "$st" in 2*) acked_full=$((acked_full + 1));; *) refused=$((refused + 1));; esac
    is_json_error "$WORK/body" || nonjson=$((nonjson + 1))
    echo "   disk full: MU answered $st $(head -c 160 "$WORK/body")"
done
check "with the disk full no message is acknowledged" "[ $acked_full -eq 0 ] && [ $refused -eq 5 ]"
check "every refusal is a JSON error" "[ $nonjson -eq 0 ]"
n=$((n + 1))
sign "$WORK/m$n.item" "$P" "direct" Data-Protocol=ao Variant=ao.TN.1 Type=Message Action=Eval >/dev/null
st=$(post "$SU/" "$WORK/m$n.item")
echo "   disk full: SU answered $st $(head -c 160 "$WORK/body")"
check "the SU refuses a post it cannot make durable" "[ \"\${st#2}\" = \"$st\" ] && is_json_error '$WORK/body'"
n=$((n + 1))
sign "$WORK/m$n.item" "" "blob" Type=Note >/dev/null
st=$(post "$GW/tx" "$WORK/m$n.item")
echo "   disk full: gateway answered $st $(head -c 160 "$WORK/body")"
check "the gateway refuses an upload it cannot make durable" "[ \"\${st#2}\" = \"$st\" ] && is_json_error '$WORK/body'"
check "the node is still up with the disk full" "kill -0 $PID 2>/dev/null && curl -sf -m 5 '$SU/' >/dev/null"

# ---- the disk is freed: the node recovers by itself ----
rm -f "$WORK/disk-full"
st=$(msg)
echo "   disk freed: MU answered $st $(head -c 160 "$WORK/body")"
check "once the disk is freed messages are accepted without a restart" "[ $st = 202 ]"
# ---- killed and restarted ----
kill -9 "$PID"; wait "$PID" 2>/dev/null; PID=""
start || { bad "ao up restarts after the disk-full episode"; tail -20 "$WORK/up.log"; finish; }
ok "ao up restarts after the disk-full episode"
good=0
for i in 1 2; do [ "$(msg)" = 202 ] && good=$((good + 1)); done
check "messages are accepted again" "[ $good -eq 2 ]"
sleep 1
curl -sf -m 30 "$SU/$P?process-id=$P&limit=1000" -o "$WORK/sched" || bad "read the schedule"
check "every acknowledged message is in the schedule, nonces 0..n-1" \
    "node -e '
const fs=require(\"fs\");
const s=JSON.parse(fs.readFileSync(process.argv[1],\"utf8\"));
const acked=fs.readFileSync(process.argv[2],\"utf8\").split(/\\s+/).filter(Boolean);
const ids=new Set(); let ok=true;
s.edges.forEach((e,i)=>{const t=Object.fromEntries(e.node.assignment.tags.map(x=>[x.name,x.value]));
  if (Number(t.Nonce)!==i) ok=false; ids.add(t.Message||\"$P\");});
const miss=acked.filter(a=>!ids.has(a));
console.log(\"   schedule: \"+s.edges.length+\" slots, \"+acked.length+\" acknowledged, \"+miss.length+\" missing\");
process.exit(ok&&miss.length===0&&acked.length===6?0:1);' '$WORK/sched' '$WORK/acked'"
finish
