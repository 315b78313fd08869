#!/bin/sh
# Runs the aos Lua library's tests (tests/aos/cases_*.lua) with Debian's
# native lua5.3, each test in a fresh interpreter. Argument 1 = build dir
# (unused: these tests need no build). Ends with "N passed, N failed".
LUA=${LUA:-lua5.3}
if ! command -v "$LUA" >/dev/null 2>&1; then
    echo "$LUA not found (scripts/deps.sh installs it)"
    echo "0 passed, 1 failed"
    exit 1
fi
export LUA
exec "$LUA" tests/aos/run.lua
