#!/bin/sh
# Runs the aos Lua tests' traffic through the emscripten build of the aos
# module (build/aos.wasm with its JS glue, on node) and compares every
# response with the native lua5.3 one: the library behaves the same inside
# the module's sandbox, json and Lua build. Argument 1 = build dir (the
# module is always built under build/). Ends with "N passed, N failed"
# (one per test process).
GLUE=build/aos/link-lib/aos.js
LUA=${LUA:-lua5.3}
if [ ! -f "$GLUE" ] || [ ! -f build/aos/link-lib/aos.wasm ]; then
    echo "$GLUE missing (make builds the aos module)"
    echo "0 passed, 1 failed"
    exit 1
fi
for c in node "$LUA"; do
    if ! command -v "$c" >/dev/null 2>&1; then
        echo "$c not found (scripts/deps.sh installs it)"
        echo "0 passed, 1 failed"
        exit 1
    fi
done
rec=$(mktemp)
trap 'rm -f "$rec"' EXIT
AOS_RECORD=$rec LUA=$LUA "$LUA" tests/aos/run.lua >/dev/null 2>&1
node tests/aos/replay.js "$GLUE" "$rec"
