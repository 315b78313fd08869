#!/bin/sh
# Runs each fuzz target of FUZZ_BUILD for RUNS inputs, starting from its seed
# corpus in tests/fuzz/corpus/<target>/ when there is one. Ends with
# "fuzz: N passed, N failed" (one count per target).
FB=${1:-build/fuzz}; RUNS=${2:-1000000}
passed=0; failed=0
for f in "$FB"/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    work="$FB/corpus-$name"; mkdir -p "$work"
    seeds="tests/fuzz/corpus/$name"; [ -d "$seeds" ] || seeds=""
    echo "== $name: $RUNS runs"
    if "$f" -runs="$RUNS" -max_len=65536 -rss_limit_mb=4096 -print_final_stats=1 \
         -artifact_prefix="$FB/$name-" "$work" $seeds >"$FB/$name.log" 2>&1; then
        grep -E 'stat::number_of_executed_units|Done' "$FB/$name.log" | tail -2
        passed=$((passed + 1))
    else
        tail -40 "$FB/$name.log"
        failed=$((failed + 1))
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
