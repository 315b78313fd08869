#!/bin/sh
# Runs every benchmark of one build; each prints its own table.
BUILD=${1:-build}
for b in "$BUILD"/bench/*; do
    [ -x "$b" ] || continue
    echo "== $(basename "$b")"
    "$b" || exit 1
done
for s in bench/*.sh; do
    [ -f "$s" ] || continue
    echo "== $s"
    sh "$s" "$BUILD" || exit 1
done
