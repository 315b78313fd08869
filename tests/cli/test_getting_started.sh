#!/bin/sh
# test_getting_started.sh - runs every command of docs/getting-started.md,
# in order, the way a reader would: `make up` in the background (its data
# folder moved into a temp folder with AO_DATA, HOME a temp folder too),
# then each ```sh block's lines in one shell, from a folder that holds the
# node's .ao-data and a link to build/; the console block runs under tmux.
# Some commands' output is checked against what the page says they print.
# Needs the default ports 4000-4003 free. Prints "N passed, N failed".
BUILD=${1:-${AO_BUILD:-build}}
REPO=$(pwd)
DOC="$REPO/docs/getting-started.md"
passed=0; failed=0
ok()   { passed=$((passed + 1)); echo "ok   $1"; }
bad()  { failed=$((failed + 1)); echo "FAIL $1"; }
WORK=$(mktemp -d)
UPPID=""
T="tmux -S $WORK/tmux.sock"
cleanup() {
    $T kill-server 2>/dev/null
    if [ -n "$UPPID" ]; then   # make and the node under it: one process group
        kill -TERM -"$UPPID" 2>/dev/null
        i=0; while kill -0 -"$UPPID" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -KILL -"$UPPID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

for p in 4000 4001 4002 4003; do
    if curl -s -m 1 "http://127.0.0.1:$p/" >/dev/null 2>&1; then
        bad "port $p is free for the page's default node (something answers there)"
        echo "$passed passed, $failed failed"; exit 1
    fi
done

# The page's blocks: block N's lines go to $WORK/block.N
awk -v dir="$WORK" '
    /^```sh$/ { n++; inb = 1; next }
    /^```/    { inb = 0; next }
    inb       { print > (dir "/block." n) }
' "$DOC"
nblocks=$(ls "$WORK"/block.* 2>/dev/null | wc -l)
if [ "$nblocks" -lt 6 ] || [ "$(cat "$WORK/block.1")" != "make up" ]; then
    bad "the page has its six blocks, the first being make up"
    echo "$passed passed, $failed failed"; exit 1
fi

# ---- block 1: make up ----
mkdir -p "$WORK/home" "$WORK/reader"
ln -s "$REPO/$BUILD" "$WORK/reader/build"
(cd "$REPO" && HOME="$WORK/home" exec setsid make --no-print-directory up AO_DATA="$WORK/reader/.ao-data") \
    >"$WORK/up.out" 2>"$WORK/up.err" &
UPPID=$!
i=0
while [ $i -lt 1800 ] && ! grep -q '^ready' "$WORK/up.out" 2>/dev/null; do
    kill -0 "$UPPID" 2>/dev/null || break
    sleep 0.1; i=$((i + 1))
done
if grep -q '^ready' "$WORK/up.out"; then ok "make up starts the node"; else
    bad "make up starts the node ($(tail -c 400 "$WORK/up.err"))"
    echo "$passed passed, $failed failed"; exit 1
fi
[ -f "$WORK/reader/.ao-data/node.json" ] && ok "node.json is in .ao-data" || bad "node.json is in .ao-data"

# ---- blocks 2-5: one shell, each command's output kept ----
{
    echo 'set -u'
    echo 'n=0'
    echo 'run() { n=$((n + 1)); printf "%s\n" "$1" > "$OUT/cmd.$n"; eval "$1" > "$OUT/out.$n" 2>&1; echo $? > "$OUT/rc.$n"; }'
    for b in 2 3 4 5; do
        while IFS= read -r line; do
            [ -z "$line" ] && continue
            case "$line" in
                *'=$('*) echo "$line";                     # an assignment: run as is
                         echo "n=\$((n + 1)); printf '%s\n' '(assignment)' > \"\$OUT/cmd.\$n\"; echo \$? > \"\$OUT/rc.\$n\"; : > \"\$OUT/out.\$n\"" ;;
                export*) echo "$line" ;;
                *) printf 'run %s\n' "'$(printf '%s' "$line" | sed "s/'/'\\\\''/g")'" ;;
            esac
        done <"$WORK/block.$b"
    done
    echo 'echo "$PID" > "$OUT/pid"; echo "$TOKEN" > "$OUT/token"'
} >"$WORK/script.sh"
mkdir -p "$WORK/out"
(cd "$WORK/reader" && HOME="$WORK/home" OUT="$WORK/out" sh "$WORK/script.sh") >"$WORK/script.log" 2>&1
total=$(ls "$WORK/out"/rc.* 2>/dev/null | wc -l)
expected=$(cat "$WORK/block.2" "$WORK/block.3" "$WORK/block.4" "$WORK/block.5" | grep -v '^export' | grep -c .)
fails=0
for f in "$WORK/out"/rc.*; do
    k=${f##*.}
    if [ "$(cat "$f")" != 0 ]; then
        fails=$((fails + 1))
        bad "page command $k exits 0: $(cat "$WORK/out/cmd.$k") -> $(head -c 300 "$WORK/out/out.$k")"
    fi
done
[ "$total" -eq "$expected" ] && [ $fails -eq 0 ] && ok "all $total commands of blocks 2-5 exit 0"
[ "$total" -eq "$expected" ] || bad "blocks 2-5 ran ($total of $expected commands; $(tail -c 300 "$WORK/script.log"))"

# what the page says they print
out_of() {   # the output of the command whose text matches a pattern
    for f in "$WORK/out"/cmd.*; do
        grep -qF -- "$1" "$f" && { cat "$WORK/out/out.${f##*.}"; return; }
    done
}
PID=$(cat "$WORK/out/pid" 2>/dev/null)
[ ${#PID} -eq 43 ] && ok "ao spawn gave a process id" || bad "ao spawn gave a process id ('$PID')"
[ "$(out_of "'return 1 + 1'")" = 2 ] && ok "ao eval prints 2" || bad "ao eval prints 2 ($(out_of "'return 1 + 1'"))"
out_of "--action Hello" | grep -q -- '-> message to ' && ok "ao send shows the reply sent" \
    || bad "ao send shows the reply sent ($(out_of '--action Hello'))"
out_of "return #Handlers.list" | grep -Eq '^[0-9]+$' && ok "ao dryrun prints the handler count" \
    || bad "ao dryrun prints the handler count ($(out_of 'return #Handlers.list'))"
out_of "return Ticker" | grep -q PNTS && ok "the token blueprint loads" || bad "the token blueprint loads"
i=0
bal=""
while [ $i -lt 50 ]; do   # the Transfer is cranked by the MU: give it a moment
    bal=$(cd "$WORK/reader" && HOME="$WORK/home" AO_NODE="$WORK/reader/.ao-data/node.json" \
          ./build/ao dryrun "$(cat "$WORK/out/token")" --action Balance --tag Recipient="$PID" 2>&1)
    echo "$bal" | grep -q 250 && break
    sleep 0.2; i=$((i + 1))
done
echo "$bal" | grep -q 250 && ok "the Balance dry-run shows 250" || bad "the Balance dry-run shows 250 ($bal)"

# ---- block 6: the console, under tmux ----
cmd=$(cat "$WORK/block.6")
$T new-session -d -s gs -x 160 -y 40 \
    "cd '$WORK/reader' && HOME='$WORK/home' PATH='$WORK/reader/build:$PATH' AO_NODE='$WORK/reader/.ao-data/node.json' $cmd; echo console-exited-\$?; sleep 30"
pane() { $T capture-pane -p -J -S -100 -t gs; }
wait_for() { i=0; while [ $i -lt 300 ]; do pane | grep -Eq -- "$1" && return 0; sleep 0.1; i=$((i + 1)); done; return 1; }
if wait_for "first@aos-"; then ok "$cmd opens the process named first"; else bad "$cmd opens the process ($(pane | tail -5 | tr '\n' '|'))"; fi
$T send-keys -t gs -l -- '.load-blueprint chatroom'; $T send-keys -t gs Enter
wait_for "loaded chatroom" && ok ".load-blueprint works" || bad ".load-blueprint works ($(pane | tail -5 | tr '\n' '|'))"
$T send-keys -t gs -l -- '.exit'; $T send-keys -t gs Enter
wait_for "console-exited-0" && ok ".exit leaves the console" || bad ".exit leaves the console"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
