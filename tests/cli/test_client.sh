#!/bin/sh
# test_client.sh - the network commands against `ao up` on free ports:
# spawn, eval, send, result, dryrun, results (and --follow), with --json
# output parsed by node, and the exit codes `ao help` documents (0 ok,
# 1 a process Error, 2 bad usage or input, 3 a unit unreachable).
# Argument 1: the build folder (holding ./ao). Prints "N passed, N failed".
BUILD=${1:-${AO_BUILD:-build}}
AO=$(cd "$BUILD" 2>/dev/null && pwd)/ao
passed=0; failed=0
ok()   { passed=$((passed + 1)); echo "ok   $1"; }
bad()  { failed=$((failed + 1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
WORK=$(mktemp -d)
PID=""; FPID=""
cleanup() {
    [ -n "$FPID" ] && kill "$FPID" 2>/dev/null
    [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
# a JSON field of stdin: jf 'expression on j'
jf() { node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const j=JSON.parse(s);console.log($1)})"; }

"$AO" up --data "$WORK/node" --any-ports --block-interval 200 >"$WORK/up.out" 2>"$WORK/up.err" &
PID=$!
i=0
while ! grep -q '^ready' "$WORK/up.out" 2>/dev/null && [ $i -lt 600 ]; do
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1; i=$((i + 1))
done
if ! grep -q '^ready' "$WORK/up.out"; then
    bad "ao up starts ($(tail -c 400 "$WORK/up.err"))"
    echo "$passed passed, $failed failed"; exit 1
fi
export AO_NODE="$WORK/node/node.json"
W="$WORK/me.json"
"$AO" wallet new --out "$W" >/dev/null 2>&1
A="--wallet $W"

# ---- spawn ----
"$AO" spawn $A --name first --json >"$WORK/spawn.json" 2>"$WORK/spawn.err"
rc=$?
P=$(jf 'j.process' <"$WORK/spawn.json" 2>/dev/null)
check "spawn --json gives a process id and its first result" \
    "[ $rc -eq 0 ] && [ \${#P} -eq 43 ] && [ \"\$(jf 'typeof j.result' <'$WORK/spawn.json')\" = object ]"
"$AO" spawn $A --no-wait >"$WORK/spawn2.out" 2>&1
check "spawn prints the id alone" "[ $? -eq 0 ] && grep -Eq '^[A-Za-z0-9_-]{43}\$' '$WORK/spawn2.out'"

# ---- eval ----
out=$("$AO" eval "$P" 'return 6 * 7' $A 2>&1)
check "eval prints what the code returns" "[ $? -eq 0 ] && [ '$out' = 42 ]"
out=$("$AO" eval "$P" '-- code may begin with a comment
return 5' $A 2>&1)
check "eval of code that begins with '--'" "[ $? -eq 0 ] && [ '$out' = 5 ]"
# base64url ids may begin with '-': an argument, not an option
DASH_ID="-$(printf 'a%.0s' $(seq 41))A"
"$AO" eval "$DASH_ID" 'return 1' $A --timeout 3000 >"$WORK/dash.out" 2>&1
rc=$?
check "an id beginning with '-' is taken as the process id (exit $rc)" \
    "[ $rc -ne 2 ] && ! grep -q 'unknown option' '$WORK/dash.out'"
"$AO" eval "$P" 'Counter = (Counter or 0) + 5; print("counted " .. Counter)' $A >"$WORK/e1" 2>&1
check "eval prints what the code prints" "grep -q 'counted 5' '$WORK/e1'"
"$AO" eval "$P" 'error("boom here")' $A >"$WORK/e2" 2>"$WORK/e2.err"
rc=$?
check "a Lua error exits 1 and is shown on stderr" "[ $rc -eq 1 ] && grep -q 'boom here' '$WORK/e2.err'"
"$AO" eval "$P" 'return Counter' $A --json >"$WORK/e3.json" 2>&1
check "eval --json carries the id and the result" \
    "[ \"\$(jf 'j.id.length' <'$WORK/e3.json')\" = 43 ] && jf 'JSON.stringify(j.result.Output)' <'$WORK/e3.json' | grep -q '5'"
printf 'return "from stdin"' | "$AO" eval "$P" @- $A >"$WORK/e4" 2>&1
check "eval reads code from stdin with @-" "grep -q 'from stdin' '$WORK/e4'"

# ---- send / result ----
"$AO" eval "$P" 'Handlers.add("ping", "Ping", function(m) print("pinged by " .. m.From); m.reply({ Data = "pong" }) end)' $A >/dev/null 2>&1
"$AO" send "$P" --action Ping --tag Note=hi $A --json >"$WORK/s1.json" 2>&1
rc=$?
M=$(jf 'j.id' <"$WORK/s1.json" 2>/dev/null)
check "send --json returns the message id and its result" \
    "[ $rc -eq 0 ] && [ \${#M} -eq 43 ] && jf 'j.result.Output.data' <'$WORK/s1.json' | grep -q 'pinged by'"
check "send's result lists the reply message" \
    "[ \"\$(jf 'j.result.Messages.length' <'$WORK/s1.json')\" -ge 1 ]"
"$AO" send "$P" --action Ping $A >"$WORK/s2" 2>&1
check "send prints the output and the messages sent" \
    "grep -q 'pinged by' '$WORK/s2' && grep -q -- '-> message to ' '$WORK/s2'"
"$AO" result "$M" --process "$P" --json >"$WORK/r1.json" 2>&1
check "result shows a message's result again, the same" \
    "[ \"\$(jf 'j.result.Output.data' <'$WORK/r1.json')\" = \"\$(jf 'j.result.Output.data' <'$WORK/s1.json')\" ]"

# ---- dryrun ----
"$AO" dryrun "$P" --action Eval --data 'return Counter + 1' $A --json >"$WORK/d1.json" 2>&1
check "dryrun evaluates on the latest state" "jf 'JSON.stringify(j.result.Output)' <'$WORK/d1.json' | grep -q 6"
"$AO" dryrun "$P" --action Eval --data 'Counter = 100; return Counter' $A >/dev/null 2>&1
out=$("$AO" eval "$P" 'return Counter' $A 2>&1)
check "dryrun changes nothing" "[ '$out' = 5 ]"

# ---- results ----
"$AO" results "$P" --json >"$WORK/rs.jsonl" 2>&1
check "results --json prints one JSON line per result with a cursor" \
    "[ \$(wc -l <'$WORK/rs.jsonl') -ge 6 ] && head -1 '$WORK/rs.jsonl' | jf 'j.cursor.length > 0'| grep -q true"
"$AO" results "$P" --limit 2 --sort DESC >"$WORK/rs2" 2>&1
check "results --limit --sort" "[ $? -eq 0 ]"
"$AO" results "$P" --follow --interval 200 --json >"$WORK/follow.jsonl" 2>&1 &
FPID=$!
sleep 1
before=$(wc -l <"$WORK/follow.jsonl")
"$AO" send "$P" --action Ping --no-wait $A >/dev/null 2>&1
i=0
while [ $i -lt 100 ] && ! tail -n +$((before + 1)) "$WORK/follow.jsonl" | grep -q 'pinged by'; do
    sleep 0.1; i=$((i + 1))
done
check "results --follow prints a new result as it comes" \
    "tail -n +$((before + 1)) '$WORK/follow.jsonl' | grep -q 'pinged by'"
kill "$FPID" 2>/dev/null; wait "$FPID" 2>/dev/null; rc=$?
FPID=""
check "results --follow stops on SIGTERM" "[ $rc -eq 0 ] || [ $rc -eq 143 ]"

# ---- exit codes ----
"$AO" send notanid --action X $A >/dev/null 2>"$WORK/x1"
check "a bad process id exits 2" "[ $? -eq 2 ] && grep -q 'process id' '$WORK/x1'"
"$AO" send "$P" --bogus $A >/dev/null 2>&1
check "an unknown option exits 2" "[ $? -eq 2 ]"
"$AO" eval "$P" 'return 1' --wallet "$WORK/none.json" >/dev/null 2>"$WORK/x2"
check "a missing wallet exits 2" "[ $? -eq 2 ] && grep -q 'none.json' '$WORK/x2'"
"$AO" eval "$P" 'return 1' $A --mu-url http://127.0.0.1:1 >/dev/null 2>"$WORK/x3"
check "an unreachable MU exits 3 and says which" "[ $? -eq 3 ] && grep -q '127.0.0.1:1' '$WORK/x3'"
"$AO" result "$M" --process "$P" --cu-url http://127.0.0.1:1 >/dev/null 2>&1
check "an unreachable CU exits 3" "[ $? -eq 3 ]"
"$AO" help >"$WORK/help" 2>&1
check "ao help documents the exit codes" "grep -q 'exit codes' '$WORK/help' && grep -q '3 a unit' '$WORK/help'"

kill "$PID"; wait "$PID" 2>/dev/null; PID=""
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
