#!/bin/sh
# test_aos_v8.sh - the aos module on our engine against the same module on
# Node's V8: one fixed log of 200 messages (tests/interop/aos_log.js: spawn,
# token blueprint, Transfers, Evals that print, Send, Spawn, Assign, errors)
# runs through `ao process run build/aos.wasm` and through a Node host
# (aos_node_host.js: emscripten's glue for build/aos/link-lib/aos.wasm with
# the clock, argument and rollback rules of docs/host.md); every result is
# compared field by field (Output, Messages, Spawns, Assignments, Error;
# GasUsed is ours only). Argument 1: the build folder (holding ./ao).
# Prints "N passed, N failed" (one per message).
BUILD=${1:-${AO_BUILD:-build}}
HERE=$(cd "$(dirname "$0")" && pwd)
AO=$(cd "$BUILD" 2>/dev/null && pwd)/ao
GLUE=build/aos/link-lib/aos.js
fail() { echo "FAIL $1"; echo "0 passed, 1 failed"; exit 1; }
[ -x "$AO" ] || fail "no ao binary at $BUILD/ao"
command -v node >/dev/null 2>&1 || fail "node is not installed (run 'make deps')"
[ -f build/aos.wasm ] && [ -f "$GLUE" ] && [ -f build/aos/link-lib/aos.wasm ] || fail "build/aos.wasm or $GLUE missing (make builds them)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node "$HERE/aos_log.js" mixed 200 > "$tmp/log" || fail "cannot write the log"
"$AO" process run build/aos.wasm "$tmp/log" > "$tmp/ours"
rc=$?
# 1 = some message ended in an Error (the log has some on purpose)
[ $rc -le 1 ] || fail "ao process run exited $rc"
node "$HERE/aos_node_host.js" "$GLUE" "$tmp/log" > "$tmp/node" || fail "the Node host failed"
node "$HERE/aos_compare.js" "$tmp/log" "$tmp/ours" "$tmp/node"
