#!/bin/sh
# test_reproducible.sh - builds the aos modules a second time from scratch
# in a temporary directory and checks they are byte-identical to
# build/aos.wasm and build/aos-test.wasm. The check is remembered per pair
# of module hashes (build/aos/reproducible.ok), so the second test flavour
# of one `make test` does not rebuild the same modules again.
# Prints "N passed, N failed".
cd "$(dirname "$0")/../.." || exit 1
pass=0; fail=0
for f in build/aos.wasm build/aos-test.wasm; do
    [ -f "$f" ] || { echo "missing $f (make aos)"; echo "0 passed, 1 failed"; exit 1; }
done
sums=$(sha256sum build/aos.wasm build/aos-test.wasm)
stamp=build/aos/reproducible.ok
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sums" ]; then
    echo "ok   reproducible: these modules were rebuilt and compared already"
    echo "2 passed, 0 failed"
    exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aos-repro.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if ! make --no-print-directory -j2 AOS_ROOT="$tmp" AOS_LUA_SRC=build/lua-src \
        "$tmp/aos.wasm" "$tmp/aos-test.wasm" >"$tmp/log" 2>&1; then
    tail -20 "$tmp/log"
    echo "not ok rebuild failed"
    echo "0 passed, 2 failed"
    exit 1
fi
for f in aos.wasm aos-test.wasm; do
    if cmp -s "build/$f" "$tmp/$f"; then
        echo "ok   reproducible: $f rebuilt in another directory is byte-identical"
        pass=$((pass + 1))
    else
        echo "not ok reproducible: $f differs when rebuilt"
        fail=$((fail + 1))
    fi
done
[ "$fail" -eq 0 ] && echo "$sums" > "$stamp"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
