#!/bin/sh
# test_gateway.sh - `ao gateway` as a command: help, usage errors (exit 2),
# a data dir that cannot be created, a port already in use, start on a free
# loopback port, and a clean exit (status 0, weave reopenable) on SIGTERM
# and on SIGINT. (The HTTP behaviour is tested by
# tests/interop/test_gateway.sh.)
# Argument 1: the build folder (holding ./ao). Prints "N passed, N failed".
BUILD=${1:-${AO_BUILD:-build}}
AO="$BUILD/ao"
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if [ ! -x "$AO" ]; then
    echo "FAIL no binary at $AO"
    echo "0 passed, 1 failed"; exit 1
fi
expect_rc() {
    name=$1; want=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$name"; else bad "$name (exit $rc, want $want)"; cat "$T/err"; fi
}

expect_rc "gateway --help exits 0" 0 "$AO" gateway --help
if grep -q -- "--block-interval" "$T/out"; then ok "help shows --block-interval"; else bad "help shows --block-interval"; fi
expect_rc "no --data: exit 2" 2 "$AO" gateway --port 0
expect_rc "bad port: exit 2" 2 "$AO" gateway --data "$T/d" --port 70000
expect_rc "port not a number: exit 2" 2 "$AO" gateway --data "$T/d" --port 12x
expect_rc "missing option value: exit 2" 2 "$AO" gateway --data
expect_rc "unknown option: exit 2" 2 "$AO" gateway --data "$T/d" --frobnicate 1
expect_rc "non-IPv4 host: exit 2" 2 "$AO" gateway --data "$T/d" --host localhost --port 0
touch "$T/file"
expect_rc "data dir under a file: exit 2" 2 "$AO" gateway --data "$T/file/sub" --port 0

# start_gw DIR OUT: start on a free port; sets PID and PORT (empty on failure)
start_gw() {
    "$AO" gateway --data "$1" --port 0 --block-interval 0 >"$2" 2>"$2.err" &
    PID=$!
    PORT=""
    i=0
    while [ $i -lt 100 ]; do
        PORT=$(sed -n 's/^listening on http:\/\/127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$2")
        [ -n "$PORT" ] && return 0
        kill -0 "$PID" 2>/dev/null || return 1
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
# stop_gw SIGNAL: send it, wait up to 10 s; sets RC
stop_gw() {
    kill -"$1" "$PID"
    i=0
    while kill -0 "$PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$PID" 2>/dev/null; then kill -9 "$PID"; RC=timeout; else wait "$PID"; RC=$?; fi
}

if start_gw "$T/d" "$T/gw1"; then ok "starts and prints its loopback port ($PORT)"; else bad "starts"; cat "$T/gw1.err"; fi
PORT1=$PORT; PID1=$PID
if [ -n "$PORT1" ]; then
    expect_rc "a second gateway on the same port: exit 2" 2 "$AO" gateway --data "$T/d2" --port "$PORT1"
fi
PID=$PID1
stop_gw TERM
if [ "$RC" = 0 ]; then ok "SIGTERM: exit 0"; else bad "SIGTERM: exit $RC"; fi
if grep -q "SIGTERM, shutting down" "$T/gw1.err"; then ok "SIGTERM: says it is shutting down"; else bad "SIGTERM message"; fi
if start_gw "$T/d" "$T/gw2"; then ok "restarts on the same data dir"; else bad "restarts"; cat "$T/gw2.err"; fi
stop_gw INT
if [ "$RC" = 0 ]; then ok "SIGINT: exit 0"; else bad "SIGINT: exit $RC"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
