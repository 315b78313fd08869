#!/bin/sh
# test_wallet.sh - `ao wallet` end to end: help texts, new (all three types,
# stdout and --out, mode 0600, no overwriting), address (against the shared
# vectors' keys) and the exit codes of usage errors.
# Argument 1: the build folder (holding ./ao). Prints "N passed, N failed".
BUILD=${1:-${AO_BUILD:-build}}
AO="$BUILD/ao"
SHARED=${AO_SHARED:-../shared}
VEC="$SHARED/vectors/ans104.json"

pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
# check NAME CMD...: passes when the command succeeds
check() { name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

if [ ! -x "$AO" ]; then
    echo "FAIL no binary at $AO"
    echo "0 passed, 1 failed"; exit 1
fi

# expect_rc NAME WANT CMD...: exit status equals WANT
expect_rc() {
    name=$1; want=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$name"; else bad "$name (exit $rc, want $want)"; cat "$T/err"; fi
}

# --- help ---
expect_rc "wallet --help exits 0" 0 "$AO" wallet --help
check "wallet --help lists new and address" grep -q "address" "$T/out"
expect_rc "wallet new --help exits 0" 0 "$AO" wallet new --help
check "wallet new --help shows --type" grep -q -- "--type" "$T/out"
expect_rc "wallet address --help exits 0" 0 "$AO" wallet address --help
check "wallet address --help shows --wallet" grep -q -- "--wallet" "$T/out"

# --- new to stdout ---
expect_rc "new ed25519 to stdout" 0 "$AO" wallet new --type ed25519
cp "$T/out" "$T/ed.json"
check "ed25519 JSON is an OKP key" grep -q '"kty":"OKP","crv":"Ed25519"' "$T/ed.json"
expect_rc "address of ed25519 wallet" 0 "$AO" wallet address "$T/ed.json"
check "ed25519 address is 43 base64url chars" \
    sh -c "[ \$(tr -d '\n' <'$T/out' | grep -cE '^[A-Za-z0-9_-]{43}$') -eq 1 ]"

# --- new ethereum with --out ---
expect_rc "new ethereum --out" 0 "$AO" wallet new --type ethereum --out "$T/eth.json"
cp "$T/out" "$T/eth.addr"
check "ethereum wallet file has mode 600" sh -c "[ \$(stat -c %a '$T/eth.json') = 600 ]"
check "ethereum JSON is an EC secp256k1 key" grep -q '"kty":"EC","crv":"secp256k1"' "$T/eth.json"
expect_rc "address --wallet of ethereum wallet" 0 "$AO" wallet address --wallet "$T/eth.json"
check "printed address on creation equals address command" cmp -s "$T/out" "$T/eth.addr"
check "ethereum address is 0x + 40 hex" grep -qE '^0x[0-9a-fA-F]{40}$' "$T/out"

# --- refuses to overwrite ---
cp "$T/eth.json" "$T/eth.copy"
expect_rc "new --out existing file fails" 2 "$AO" wallet new --type ed25519 --out "$T/eth.json"
check "existing file left unchanged" cmp -s "$T/eth.json" "$T/eth.copy"
check "error says it does not overwrite" grep -q "exist" "$T/err"

# --- default type is arweave (RSA-4096) ---
expect_rc "new (default type) --out" 0 "$AO" wallet new --out "$T/ar.json"
check "default wallet is an RSA JWK" grep -q '"kty":"RSA"' "$T/ar.json"
expect_rc "address of arweave wallet" 0 "$AO" wallet address "$T/ar.json"
check "arweave address is 43 base64url chars" grep -qE '^[A-Za-z0-9_-]{43}$' "$T/out"

# --- the vectors' keys give the published addresses ---
if [ -r "$VEC" ] && command -v node >/dev/null 2>&1; then
    node -e '
const v = require(process.argv[1]); const fs = require("fs"); const d = process.argv[2];
const b64u = (h) => Buffer.from(h, "hex").toString("base64url");
const k = Object.fromEntries(v.keys.map((x) => [x.name, x]));
fs.writeFileSync(d + "/v_rsa.json", JSON.stringify(k.rsa4096.jwk));
fs.writeFileSync(d + "/v_rsa.addr", k.rsa4096.address_b64url + "\n");
fs.writeFileSync(d + "/v_eth.json", JSON.stringify({kty: "EC", crv: "secp256k1", d: b64u(k.secp256k1.private_key_hex)}));
fs.writeFileSync(d + "/v_eth.addr", k.secp256k1.eth_address + "\n");
fs.writeFileSync(d + "/v_eth.b64", k.secp256k1.owner_sha256_address_b64url + "\n");
fs.writeFileSync(d + "/v_ed.json", JSON.stringify({kty: "OKP", crv: "Ed25519", d: b64u(k.ed25519.seed_hex)}));
fs.writeFileSync(d + "/v_ed.addr", k.ed25519.owner_sha256_address_b64url + "\n");
' "$(cd "$(dirname "$VEC")" && pwd)/$(basename "$VEC")" "$T"
    expect_rc "address of vectors RSA JWK" 0 "$AO" wallet address "$T/v_rsa.json"
    check "vectors RSA address matches" cmp -s "$T/out" "$T/v_rsa.addr"
    expect_rc "address of vectors Ed25519 key" 0 "$AO" wallet address "$T/v_ed.json"
    check "vectors Ed25519 address matches" cmp -s "$T/out" "$T/v_ed.addr"
    expect_rc "address of vectors secp256k1 key" 0 "$AO" wallet address "$T/v_eth.json"
    check "vectors Ethereum address matches (ignoring case)" \
        sh -c "[ \"\$(tr A-F a-f <'$T/out')\" = \"\$(cat '$T/v_eth.addr')\" ]"
    check "Ethereum address uses EIP-55 mixed case" grep -q '[A-F]' "$T/out"
    expect_rc "address --b64 of secp256k1 key" 0 "$AO" wallet address --b64 "$T/v_eth.json"
    check "--b64 gives the owner SHA-256 address" cmp -s "$T/out" "$T/v_eth.b64"
else
    bad "vectors ($VEC) or node missing"
fi

# --- usage errors exit 2 with a message ---
expect_rc "no subcommand" 2 "$AO" wallet
expect_rc "unknown subcommand" 2 "$AO" wallet frobnicate
check "unknown subcommand named in the error" grep -q "frobnicate" "$T/err"
expect_rc "unknown type" 2 "$AO" wallet new --type dsa
check "unknown type named in the error" grep -q "dsa" "$T/err"
expect_rc "--out without value" 2 "$AO" wallet new --out
expect_rc "unexpected argument to new" 2 "$AO" wallet new extra
expect_rc "address without file" 2 "$AO" wallet address
expect_rc "address of missing file" 2 "$AO" wallet address "$T/nope.json"
echo '{"kty":"RSA"}' >"$T/broken.json"
expect_rc "address of a broken wallet" 2 "$AO" wallet address "$T/broken.json"
check "broken wallet error names the member" grep -q '"n"' "$T/err"
expect_rc "address with two files" 2 "$AO" wallet address "$T/ed.json" "$T/eth.json"
expect_rc "address with unknown option" 2 "$AO" wallet address --bogus "$T/ed.json"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
