#!/bin/sh
# test_up.sh - the `ao up` command: bad flags give a clear error and exit
# 2 before anything starts; the settings are printed with their defaults;
# a node on free ports writes node.json, answers /health and /metrics on
# the SU, CU and MU and /info on the gateway, and stops with exit code 0
# on SIGTERM; a restart on the ports of node.json (given as flags, with
# --json logs) keeps the wallets and the aos module and stops on SIGINT.
# Argument 1: the build folder (holding ./ao). Prints "N passed, N failed".
BUILD=${1:-${AO_BUILD:-build}}
AO=$(cd "$BUILD" 2>/dev/null && pwd)/ao
REPO=$(pwd)
passed=0; failed=0
ok()   { passed=$((passed + 1)); echo "ok   $1"; }
bad()  { failed=$((failed + 1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
if [ ! -x "$AO" ]; then
    echo "FAIL no ao binary at $BUILD/ao"
    echo "0 passed, 1 failed"; exit 1
fi
if ! command -v curl >/dev/null 2>&1; then
    echo "FAIL curl is not installed (run 'make deps')"
    echo "0 passed, 1 failed"; exit 1
fi
WORK=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

# ---- bad flags: exit 2, a message naming the problem ----
expect_usage_error() {   # name, pattern, args...
    name=$1; pat=$2; shift 2
    "$AO" up --data "$WORK/never" "$@" >"$WORK/o" 2>"$WORK/e"
    rc=$?
    if [ "$rc" -eq 2 ] && grep -q -- "$pat" "$WORK/e" && [ ! -e "$WORK/never" ]; then
        ok "$name"
    else
        bad "$name (exit $rc: $(head -c 300 "$WORK/e"))"
    fi
}
expect_usage_error "unknown flag refused" "unexpected argument '--bogus'" --bogus
expect_usage_error "non-numeric port refused" "option --gateway-port needs a valid value" --gateway-port abc
expect_usage_error "port 70000 refused" "option --mu-port needs a valid value" --mu-port 70000
expect_usage_error "missing value refused" "option --cu-port needs a valid value" --cu-port
expect_usage_error "unknown log level refused" "option --log-level needs a valid value" --log-level loud
expect_usage_error "two units on one port refused" "cannot share port 4001" --gateway-port 4001
check "the settings are printed with their defaults before the port check" \
    "grep -q 'gateway port    4001\$' '$WORK/o' && grep -q 'su port         4001 (default)' '$WORK/o' &&
     grep -q 'cu port         4002 (default)' '$WORK/o' && grep -q 'mu port         4003 (default)' '$WORK/o' &&
     grep -q 'host            127.0.0.1 (default)' '$WORK/o' && grep -q 'log level       info (default)' '$WORK/o'"
"$AO" up --help >"$WORK/o" 2>&1
check "--help exits 0 and lists the flags" \
    "[ $? -eq 0 ] && grep -q -- '--gateway-port' '$WORK/o' && grep -q -- '--json' '$WORK/o'"

# ---- a node on free ports ----
json_field() {   # file, key -> value of "key": "value"
    sed -n "s/.*\"$2\":[[:space:]]*\"\([^\"]*\)\".*/\1/p" "$1" | head -1
}
wait_ready() {   # stdout file; 0 once "ready" was printed, 1 if the node died or 120 s passed
    i=0
    while [ $i -lt 1200 ]; do
        grep -q '^ready' "$1" 2>/dev/null && return 0
        kill -0 "$PID" 2>/dev/null || return 1
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
stop_node() {    # signal -> sets RC
    kill -"$1" "$PID"
    i=0
    while kill -0 "$PID" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
    wait "$PID"; RC=$?
    PID=""
}

# default data folder (.ao-data) under the current folder
mkdir -p "$WORK/run1"
(cd "$WORK/run1" && exec "$AO" up --any-ports --block-interval 300) >"$WORK/out1" 2>"$WORK/err1" &
PID=$!
if wait_ready "$WORK/out1"; then ok "ao up starts and says ready"; else
    bad "ao up starts and says ready ($(tail -c 600 "$WORK/err1"))"
    echo "$passed passed, $failed failed"; exit 1
fi
NJ="$WORK/run1/.ao-data/node.json"
check "data defaults to .ao-data and is printed so" \
    "grep -q 'data            .ao-data (default)' '$WORK/out1' && [ -f '$NJ' ]"
GW=$(json_field "$NJ" gateway); SU=$(json_field "$NJ" su); CU=$(json_field "$NJ" cu); MU=$(json_field "$NJ" mu)
MOD=$(json_field "$NJ" aosModule); SUA=$(json_field "$NJ" suAddress); MUA=$(json_field "$NJ" muAddress)
check "node.json has the four URLs, addresses and the module" \
    "[ -n '$GW' ] && [ -n '$SU' ] && [ -n '$CU' ] && [ -n '$MU' ] && [ \${#MOD} -eq 43 ] &&
     [ \${#SUA} -eq 43 ] && [ \${#MUA} -eq 43 ] && grep -q '\"cuAddress\"' '$NJ'"
check "node.json has the node's pid" "grep -q '\"pid\":[[:space:]]*$PID' '$NJ'"
check "the URLs are printed" \
    "grep -q \"gateway  $GW\" '$WORK/out1' && grep -q \"mu       $MU\" '$WORK/out1' &&
     grep -q \"aos module  $MOD\" '$WORK/out1'"
for u in su cu mu; do
    eval "url=\$$(echo $u | tr a-z A-Z)"
    body=$(curl -s -m 10 "$url/health")
    check "$u /health answers ok" "echo '$body' | grep -q '\"status\":\"ok\"'"
    curl -s -m 10 -o "$WORK/metrics" -w '%{http_code}' "$url/metrics" >"$WORK/code"
    check "$u /metrics answers the Prometheus page" \
        "[ \"\$(cat '$WORK/code')\" = 200 ] && grep -q '^# TYPE ' '$WORK/metrics'"
done
check "the gateway answers /info" "curl -sf -m 10 '$GW/info' | grep -q '\"height\"'"
check "the gateway serves the aos module" \
    "curl -sf -m 10 '$GW/raw/$MOD' -o '$WORK/mod.wasm' && cmp -s '$WORK/mod.wasm' '$REPO/build/aos.wasm'"
check "the SU answers with its address" "curl -sf -m 10 '$SU/' | grep -q '$SUA'"
check "the wallets are 0600" \
    "[ \"\$(stat -c %a '$WORK/run1/.ao-data/wallets/su.json')\" = 600 ] &&
     [ \"\$(stat -c %a '$WORK/run1/.ao-data/wallets/mu.json')\" = 600 ]"
"$AO" up --data "$WORK/run1/.ao-data" --any-ports >"$WORK/o" 2>"$WORK/e"
check "a second ao up on the same data folder is refused" \
    "[ $? -eq 2 ] && grep -q 'in use by another node (pid $PID)' '$WORK/e'"
cp "$WORK/run1/.ao-data/wallets/mu.json" "$WORK/mu-before.json"
stop_node TERM
check "SIGTERM stops it with exit code 0" "[ $RC -eq 0 ] && grep -q 'SIGTERM, shutting down' '$WORK/err1'"
check "the logs are plain lines with levels" "grep -q ' INFO  node: ' '$WORK/err1'"

# ---- restart on the same ports given as flags, JSON logs ----
port() { echo "$1" | sed 's/.*://'; }
"$AO" up --data "$WORK/run1/.ao-data" --gateway-port "$(port "$GW")" --su-port "$(port "$SU")" \
    --cu-port "$(port "$CU")" --mu-port "$(port "$MU")" --json --log-level debug \
    --block-interval 300 >"$WORK/out2" 2>"$WORK/err2" &
PID=$!
if wait_ready "$WORK/out2"; then ok "restart on the flagged ports"; else
    bad "restart on the flagged ports ($(tail -c 600 "$WORK/err2"))"
fi
check "the same URLs, module and SU address after restart" \
    "[ \"\$(json_field '$NJ' mu)\" = '$MU' ] && [ \"\$(json_field '$NJ' gateway)\" = '$GW' ] &&
     [ \"\$(json_field '$NJ' aosModule)\" = '$MOD' ] && [ \"\$(json_field '$NJ' suAddress)\" = '$SUA' ]"
check "the wallets are kept" "cmp -s '$WORK/mu-before.json' '$WORK/run1/.ao-data/wallets/mu.json'"
check "the MU answers on its flagged port" "curl -sf -m 10 '$MU/health' | grep -q ok"
stop_node INT
check "SIGINT stops it with exit code 0" "[ $RC -eq 0 ]"
check "--json logs are JSON lines with level and unit" \
    "grep -q '^{\"time\":\"[^\"]*\",\"level\":\"info\",\"unit\":\"node\",\"msg\":' '$WORK/err2'"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
