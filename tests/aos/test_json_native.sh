#!/bin/sh
# test_json_native.sh - builds the json C module for native Lua 5.3
# (make build/aos-native/json.so) and runs tests/aos/json_native.lua.
cd "$(dirname "$0")/../.." || exit 1
make --no-print-directory build/aos-native/json.so >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
exec lua5.3 tests/aos/json_native.lua build/aos-native
