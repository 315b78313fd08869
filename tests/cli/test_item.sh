#!/bin/sh
# test_item.sh - `ao item` end to end: help texts, usage errors (exit 2),
# sign for all three wallet types (target, anchor in both forms, tags, data
# from text, file and stdin, --out and stdout), verify and show (text and
# --json, exit 0/1), tampered and truncated items, and every valid and
# invalid item of shared/vectors/ans104.json (extracted with node).
# Argument 1: the build folder (holding ./ao). Prints "N passed, N failed".
BUILD=${1:-${AO_BUILD:-build}}
AO="$BUILD/ao"
SHARED=${AO_SHARED:-../shared}
VEC="$SHARED/vectors/ans104.json"

pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

if [ ! -x "$AO" ]; then
    echo "FAIL no binary at $AO"
    echo "0 passed, 1 failed"; exit 1
fi

# expect_rc NAME WANT CMD...: exit status equals WANT (stdout in $T/out, stderr in $T/err)
expect_rc() {
    name=$1; want=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$name"; else bad "$name (exit $rc, want $want)"; cat "$T/err"; fi
}

TARGET=ZV-8CRHTZQ34CrUABL6t53EoJjzp3BQMuoJ0RMl_tWQ
ANCHOR_TXT=0123456789abcdefghijklmnopqrstuv
ANCHOR_B64=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8

# --- help ---
expect_rc "item --help exits 0" 0 "$AO" item --help
check "item --help lists sign, verify, show" sh -c "grep -q sign '$T/out' && grep -q verify '$T/out' && grep -q show '$T/out'"
expect_rc "item sign --help exits 0" 0 "$AO" item sign --help
check "sign --help documents every flag" sh -c "for f in --wallet --target --anchor --tag --data --out; do grep -q -- \$f '$T/out' || exit 1; done"
check "sign --help documents the anchor rule" grep -q "32 bytes" "$T/out"
expect_rc "item verify --help exits 0" 0 "$AO" item verify --help
check "verify --help documents --json" grep -q -- "--json" "$T/out"
expect_rc "item show --help exits 0" 0 "$AO" item show --help

# --- wallets ---
expect_rc "new ed25519 wallet" 0 "$AO" wallet new --type ed25519 --out "$T/ed.json"
expect_rc "new ethereum wallet" 0 "$AO" wallet new --type ethereum --out "$T/eth.json"
cp "$T/out" "$T/eth.addr"
expect_rc "new arweave wallet" 0 "$AO" wallet new --type arweave --out "$T/ar.json"
cp "$T/out" "$T/ar.addr"

# --- usage errors ---
expect_rc "item without command exits 2" 2 "$AO" item
expect_rc "unknown item command exits 2" 2 "$AO" item frobnicate
expect_rc "sign without --wallet exits 2" 2 "$AO" item sign --data x
expect_rc "sign unknown option exits 2" 2 "$AO" item sign --wallet "$T/ed.json" --bogus 1
expect_rc "sign option without value exits 2" 2 "$AO" item sign --wallet
expect_rc "sign bad target exits 2" 2 "$AO" item sign --wallet "$T/ed.json" --target abc
check "bad target message names --target" grep -q -- "--target" "$T/err"
expect_rc "sign 31-byte anchor exits 2" 2 "$AO" item sign --wallet "$T/ed.json" --anchor 0123456789abcdefghijklmnopqrstu
expect_rc "sign tag without = exits 2" 2 "$AO" item sign --wallet "$T/ed.json" --tag NoEquals
expect_rc "sign empty tag name exits 2" 2 "$AO" item sign --wallet "$T/ed.json" --tag =v
expect_rc "sign missing wallet file exits 2" 2 "$AO" item sign --wallet "$T/none.json"
expect_rc "sign missing data file exits 2" 2 "$AO" item sign --wallet "$T/ed.json" --data @"$T/none"
expect_rc "verify without FILE exits 2" 2 "$AO" item verify
expect_rc "verify missing file exits 2" 2 "$AO" item verify "$T/none.bin"
expect_rc "verify unknown option exits 2" 2 "$AO" item verify --bogus x
expect_rc "show missing file exits 2" 2 "$AO" item show "$T/none.bin"

# --- sign and verify, each wallet type ---
for w in ed eth ar; do
    expect_rc "sign $w with target, anchor, tags, text data" 0 "$AO" item sign --wallet "$T/$w.json" \
        --target "$TARGET" --anchor "$ANCHOR_TXT" --tag Data-Protocol=ao --tag Action=Eval \
        --tag "Eq=a=b" --data 'return 1+1' --out "$T/$w.bin"
    id=$(cat "$T/err")
    check "sign $w prints a 43-char id on stderr" sh -c "echo '$id' | grep -qE '^[A-Za-z0-9_-]{43}\$'"
    expect_rc "verify $w item exits 0" 0 "$AO" item verify "$T/$w.bin"
    check "verify $w prints valid and the id" grep -qx "valid $id" "$T/out"
    expect_rc "verify --json $w" 0 "$AO" item verify --json "$T/$w.bin"
    check "json $w: valid, id, target, anchor" sh -c "grep -q '\"valid\":true' '$T/out' && grep -q '\"id\":\"$id\"' '$T/out' && grep -q '\"target\":\"$TARGET\"' '$T/out' && grep -q '\"anchor\":\"$ANCHOR_TXT\"' '$T/out'"
    check "json $w: tags in order, '=' kept in value" grep -q '"tags":\[{"name":"Data-Protocol","value":"ao"},{"name":"Action","value":"Eval"},{"name":"Eq","value":"a=b"}\]' "$T/out"
    check "json $w: data_size 10" grep -q '"data_size":10' "$T/out"
    expect_rc "show $w exits 0" 0 "$AO" item show "$T/$w.bin"
    check "show $w prints id and valid signature" sh -c "grep -qF -- '$id' '$T/out' && grep -q 'signature: *valid' '$T/out'"
done
"$AO" item verify --json "$T/ed.bin" >"$T/out" 2>&1
check "json ed25519: signature type 2" grep -q '"signature_type":2,"signature_type_name":"ed25519"' "$T/out"
"$AO" item verify --json "$T/eth.bin" >"$T/out" 2>&1
check "json ethereum: signature type 3" grep -q '"signature_type":3' "$T/out"
check "json ethereum: address is the wallet's 0x address" grep -q "\"address\":\"$(cat "$T/eth.addr")\"" "$T/out"
"$AO" item verify --json "$T/ar.bin" >"$T/out" 2>&1
check "json arweave: signature type 1" grep -q '"signature_type":1' "$T/out"
check "json arweave: address is the wallet's address" grep -q "\"address\":\"$(cat "$T/ar.addr")\"" "$T/out"
check "arweave item is 2+512+512+66+16+tags+data bytes" sh -c "[ \$(stat -c %s '$T/ar.bin') -gt 1108 ]"

# --- anchor as base64url of 32 bytes, data from a file, item to stdout ---
head -c 5000 /dev/urandom >"$T/data.bin"
expect_rc "sign with b64url anchor, @file data, to stdout" 0 "$AO" item sign --wallet "$T/ed.json" \
    --anchor "$ANCHOR_B64" --data @"$T/data.bin"
cp "$T/out" "$T/stdout.bin"
id=$(cat "$T/err")
expect_rc "verify stdout item" 0 "$AO" item verify "$T/stdout.bin"
check "verify stdout item id" grep -qx "valid $id" "$T/out"
"$AO" item verify --json "$T/stdout.bin" >"$T/out" 2>&1
check "binary anchor shown as anchor_b64url" grep -q "\"anchor_b64url\":\"$ANCHOR_B64\"" "$T/out"
check "data size 5000" grep -q '"data_size":5000' "$T/out"
check "no target is null" grep -q '"target":null' "$T/out"
check "item ends with the data file" sh -c "tail -c 5000 '$T/stdout.bin' | cmp -s - '$T/data.bin'"

# --- data from stdin, verify from stdin ---
printf 'from stdin' | "$AO" item sign --wallet "$T/ed.json" --data @- --out "$T/stdin.bin" 2>"$T/err"
check "sign --data @- exits 0" [ $? -eq 0 ]
check "stdin data is the item's tail" sh -c "[ \"\$(tail -c 10 '$T/stdin.bin')\" = 'from stdin' ]"
"$AO" item verify - <"$T/stdin.bin" >"$T/out" 2>&1
check "verify - reads stdin" grep -q "^valid " "$T/out"

# --- no data, no tags ---
expect_rc "sign with nothing but a wallet" 0 "$AO" item sign --wallet "$T/ed.json" --out "$T/empty.bin"
check "empty ed25519 item is 116 bytes" sh -c "[ \$(stat -c %s '$T/empty.bin') -eq 116 ]"
expect_rc "verify empty item" 0 "$AO" item verify "$T/empty.bin"

# --- tampering ---
cp "$T/ed.bin" "$T/bad.bin"
size=$(stat -c %s "$T/bad.bin")
printf 'X' | dd of="$T/bad.bin" bs=1 seek=$((size - 1)) conv=notrunc 2>/dev/null
expect_rc "verify tampered data exits 1" 1 "$AO" item verify "$T/bad.bin"
check "tampered: reason says the signature does not verify" grep -q "^invalid: ed25519 signature does not verify" "$T/out"
expect_rc "verify --json tampered exits 1" 1 "$AO" item verify --json "$T/bad.bin"
check "tampered json: valid false with error" sh -c "grep -q '\"valid\":false' '$T/out' && grep -q '\"error\":' '$T/out'"
expect_rc "show tampered still exits 0" 0 "$AO" item show "$T/bad.bin"
check "show tampered says INVALID" grep -q "signature: *INVALID" "$T/out"
head -c 100 "$T/ed.bin" >"$T/trunc.bin"
expect_rc "verify truncated exits 1" 1 "$AO" item verify "$T/trunc.bin"
check "truncated: reason says truncated" grep -q "^invalid: truncated" "$T/out"
expect_rc "show truncated exits 1" 1 "$AO" item show "$T/trunc.bin"
printf '\011\000' >"$T/type9.bin"; head -c 200 /dev/zero >>"$T/type9.bin"
expect_rc "verify unknown type exits 1" 1 "$AO" item verify "$T/type9.bin"
check "unknown type reason" grep -q "unknown signature type 9" "$T/out"

# --- the shared vectors ---
if command -v node >/dev/null 2>&1 && [ -r "$VEC" ]; then
    mkdir -p "$T/vec"
    node -e '
const fs = require("fs"); const v = JSON.parse(fs.readFileSync(process.argv[1]));
const out = process.argv[2]; let i = 0;
for (const x of v.valid_items) { fs.writeFileSync(`${out}/valid${i}.bin`, Buffer.from(x.raw_b64, "base64")); fs.writeFileSync(`${out}/valid${i++}.id`, x.id_b64url + "\n"); }
i = 0;
for (const x of v.invalid_items) fs.writeFileSync(`${out}/invalid${i++}.bin`, Buffer.from(x.raw_b64, "base64"));
' "$VEC" "$T/vec"
    n=0
    for f in "$T"/vec/valid*.bin; do
        id=$(cat "${f%.bin}.id")
        "$AO" item verify "$f" >"$T/out" 2>&1
        if [ $? -eq 0 ] && grep -qx "valid $id" "$T/out"; then n=$((n + 1)); else echo "  $f: $(cat "$T/out")"; fi
    done
    check "all 17 valid vector items verify with their ids" [ "$n" -eq 17 ]
    n=0
    for f in "$T"/vec/invalid*.bin; do
        "$AO" item verify "$f" >"$T/out" 2>&1
        if [ $? -eq 1 ] && grep -q "^invalid: " "$T/out"; then n=$((n + 1)); else echo "  $f: $(cat "$T/out")"; fi
    done
    check "all 15 invalid vector items exit 1 with a reason" [ "$n" -eq 15 ]
else
    bad "vectors: need node and $VEC"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
