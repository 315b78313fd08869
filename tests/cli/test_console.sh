#!/bin/sh
# test_console.sh - `ao console` driven through tmux against `ao up`: start
# with --new, evaluate a multi-line function, .load a file of handlers, see
# a message from another process arrive in the live feed, see a Lua error,
# survive the node being stopped and started again, leave with .exit.
# Argument 1: the build folder (holding ./ao). Prints "N passed, N failed".
BUILD=${1:-${AO_BUILD:-build}}
AO=$(cd "$BUILD" 2>/dev/null && pwd)/ao
passed=0; failed=0
ok()   { passed=$((passed + 1)); echo "ok   $1"; }
bad()  { failed=$((failed + 1)); echo "FAIL $1"; }
if ! command -v tmux >/dev/null 2>&1; then
    echo "FAIL tmux is not installed (run 'make deps')"
    echo "0 passed, 1 failed"; exit 1
fi
WORK=$(mktemp -d)
SOCK="$WORK/tmux.sock"
T="tmux -S $SOCK"
PID=""
cleanup() {
    $T kill-server 2>/dev/null
    [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

start_node() {   # extra flags...
    "$AO" up --data "$WORK/node" --block-interval 200 "$@" >"$WORK/up.out" 2>>"$WORK/up.err" &
    PID=$!
    i=0
    while ! grep -q '^ready' "$WORK/up.out" 2>/dev/null && [ $i -lt 600 ]; do
        kill -0 "$PID" 2>/dev/null || return 1
        sleep 0.1; i=$((i + 1))
    done
    grep -q '^ready' "$WORK/up.out"
}
pane() { $T capture-pane -p -J -S -200 -t con; }
# wait until the pane shows a pattern (grep -E), up to 30 s
wait_for() {
    i=0
    while [ $i -lt 300 ]; do
        pane | grep -Eq -- "$1" && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
expect() { if wait_for "$2"; then ok "$1"; else bad "$1 (pane: $(pane | tail -8 | tr '\n' '|'))"; fi; }
keys() { $T send-keys -t con -l -- "$1"; $T send-keys -t con Enter; }

if ! start_node --any-ports; then
    bad "ao up starts ($(tail -c 400 "$WORK/up.err"))"
    echo "$passed passed, $failed failed"; exit 1
fi
export AO_NODE="$WORK/node/node.json"
W="$WORK/me.json"
"$AO" wallet new --out "$W" >/dev/null 2>&1

$T new-session -d -s con -x 160 -y 50 \
    "AO_NODE=$AO_NODE '$AO' console --new tester --wallet '$W'; echo console-exited-\$?; sleep 30"
expect "console spawns a process and shows the aos prompt" "spawned tester \\([A-Za-z0-9_-]{43}\\)"
P=$(pane | sed -n 's/.*spawned tester (\([A-Za-z0-9_-]\{43\}\)).*/\1/p' | head -1)
expect "the prompt comes from the process" "aos-[0-9.]+.*> *\$"

keys 'function add(a, b)'
keys '  return a + b'
keys 'end'
keys 'add(20, 22)'
expect "a multi-line function is evaluated as one chunk" "^42\$"

cat >"$WORK/handlers.lua" <<'EOF'
Handlers.add("hello", "Hello", function(m)
  print("hello from " .. m.From .. ": " .. (m.Data or ""))
end)
return "handlers loaded"
EOF
keys ".load $WORK/handlers.lua"
expect ".load evaluates a file" "handlers loaded"

Q=$("$AO" spawn --wallet "$W" 2>/dev/null)
"$AO" eval "$Q" "Send({ Target = \"$P\", Action = \"Hello\", Data = \"hi there\" })" \
    --wallet "$W" >/dev/null 2>&1
expect "a message from another process shows in the live feed" "hello from $Q: hi there"

keys 'error("something bad")'
expect "a Lua error is shown clearly" "error: .*something bad"

port() { sed -n "s/.*\"$1\":[[:space:]]*\"http:\/\/[^:]*:\([0-9]*\)\".*/\1/p" "$AO_NODE" | head -1; }
GP=$(port gateway); SP=$(port su); CP=$(port cu); MP=$(port mu)
kill "$PID"; wait "$PID" 2>/dev/null; PID=""
keys 'return 1'
expect "a stopped node is reported, the console stays" "could not evaluate: .*(connect|reach|refused|Couldn)"
if start_node --gateway-port "$GP" --su-port "$SP" --cu-port "$CP" --mu-port "$MP"; then
    keys 'return add(1, 6) * 100'
    expect "after the node restarts the console works again" "^700\$"
else
    bad "the node restarts on its ports ($(tail -c 300 "$WORK/up.err"))"
fi

keys '.exit'
expect ".exit leaves with status 0" "console-exited-0"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
