#!/bin/sh
# `make test`: every test plainly, again under ASan+UBSan, then a short fuzz
# pass; ends with one line adding the three up. Exit status non-zero if any
# part failed.
MAKE=${MAKE:-make}
FUZZ_RUNS=${FUZZ_RUNS:-20000}
log=$(mktemp)
status=0
for step in check check-asan "fuzz FUZZ_RUNS=$FUZZ_RUNS"; do
    # shellcheck disable=SC2086
    $MAKE --no-print-directory $step 2>&1 | tee "$log"
    # the step's own summary line is the last "word: N passed, N failed"
    line=$(grep -E '^[A-Za-z-]+: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    if [ -z "$line" ]; then
        echo "!! make $step printed no summary"
        status=1
        continue
    fi
    p=$(echo "$line" | sed 's/^[^:]*: \([0-9]*\) passed.*/\1/')
    f=$(echo "$line" | sed 's/.* \([0-9]*\) failed.*/\1/')
    echo "$line" >>"$log.sum"
    [ "$f" -ne 0 ] && status=1
done
# make's own exit status is lost through the pipe; a step that failed to build
# prints no summary and is caught above.
echo "== summary"
[ -f "$log.sum" ] && cat "$log.sum"
total_p=$(sed 's/^[^:]*: \([0-9]*\) passed.*/\1/' "$log.sum" 2>/dev/null | awk '{s+=$1} END {print s+0}')
total_f=$(sed 's/.* \([0-9]*\) failed.*/\1/' "$log.sum" 2>/dev/null | awk '{s+=$1} END {print s+0}')
[ "$status" -ne 0 ] && [ "$total_f" -eq 0 ] && total_f=1
rm -f "$log" "$log.sum"
echo "total: $total_p passed, $total_f failed"
exit "$status"
