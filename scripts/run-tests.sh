#!/bin/sh
# Runs every test binary of one build (BUILD/tests/*/test_*) and every test
# script (tests/*/test_*.sh), adds up their counts and ends with one line
# "<flavour>: N passed, N failed". Exit status is non-zero if anything failed.
BUILD=${1:-build}
# Nodes started by the tests run the CU on the interpreter unless a test
# asks otherwise: the compiled tier (the default of `ao up` and `ao cu`)
# builds each module's native library in the background, ~30 s of a core
# per module, which short tests would start over and over.
# tests/cli/test_tier.sh covers the default; the tier tests set their own.
export AO_WASM_TIER="${AO_WASM_TIER:-interp}"
flavour=$(basename "$BUILD")
[ "$flavour" = build ] && flavour=plain
passed=0; failed=0; bad=""
log=$(mktemp)
for t in $(find "$BUILD/tests" -type f -name 'test_*' -perm -u+x 2>/dev/null | sort) \
         $(find tests -type f -name 'test_*.sh' 2>/dev/null | sort); do
    case "$t" in *.sh) cmd="sh $t $BUILD";; *) cmd="$t";; esac
    echo "== $t"
    AO_BUILD="$BUILD" $cmd >"$log" 2>&1
    rc=$?
    cat "$log"
    # cmocka: "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)"
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    # plain runners: "N passed, N failed" (optionally "word: " before it)
    pl=$(sed -n 's/^\([A-Za-z-]*: \)\{0,1\}\([0-9]*\) passed, \([0-9]*\) failed.*/\2 \3/p' "$log" | tail -1)
    if [ -n "$pl" ]; then
        p=$((p + ${pl% *})); f=$((f + ${pl#* }))
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1  # crashed or failed without saying how many
        echo "!! $t exited with status $rc"
    fi
    passed=$((passed + p)); failed=$((failed + f))
    [ "$f" -ne 0 ] && bad="$bad $t"
done
rm -f "$log"
[ -n "$bad" ] && echo "failing:$bad"
echo "$flavour: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
