// interop.js - ANS-104 interop between the `ao` binary and the JavaScript
// reference libraries (arbundles 0.11.2, arweave 1.15.7), run by
// test_interop.sh. Usage: node interop.js AO_BINARY WORKDIR
//
// 1. `ao wallet new` makes one wallet of each type; the JS libraries load
//    them and derive the same addresses as `ao wallet address`.
// 2. arbundles signs items (ArweaveSigner, Ed25519 via SolanaSigner,
//    EthereumSigner) with tags, target, anchor and data; `ao item verify
//    --json` must accept each with the same id, and reject a tampered copy.
// 3. `ao item sign` signs items; arbundles' DataItem.verify must accept
//    them, with the id ao printed and the target/anchor/tags/data asked for.
// Prints one line per check and ends with "N passed, N failed".
"use strict";
const { execFileSync, spawnSync } = require("child_process");
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const [AO, WORK] = process.argv.slice(2);
if (!AO || !WORK) {
  console.error("usage: node interop.js AO_BINARY WORKDIR");
  process.exit(2);
}
const { createData, DataItem, ArweaveSigner, SolanaSigner, EthereumSigner } = require("arbundles");
const Arweave = require("arweave");
const bs58 = require("bs58");
const { computeAddress } = require("@ethersproject/transactions");
const secp256k1 = require("secp256k1");

let passed = 0, failed = 0;
function check(name, cond, detail) {
  if (cond) { passed++; console.log("ok   " + name); }
  else { failed++; console.log("FAIL " + name + (detail ? ": " + detail : "")); }
}
function ao(args, opts = {}) {
  const r = spawnSync(AO, args, { encoding: opts.encoding || "utf8", input: opts.input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, error: r.error };
}
const b64u = (buf) => Buffer.from(buf).toString("base64url");
const fromB64u = (s) => Buffer.from(s, "base64url");

// Fixed inputs shared by both directions.
const TARGET = b64u(crypto.createHash("sha256").update("interop target").digest());
const ANCHOR_ASCII = "0123456789abcdefghijklmnopqrstuv";             // 32 ASCII bytes
const BINARY = Buffer.from(Array.from({ length: 1500 }, (_, i) => (i * 31 + 7) & 255));
const CASES = [
  { name: "full", target: TARGET, anchor: ANCHOR_ASCII,
    tags: [{ name: "Data-Protocol", value: "ao" }, { name: "Action", value: "Eval" },
           { name: "Ünïcödé", value: "ok ✓ 🚀" }],
    data: Buffer.from("Send({ Target = ao.id, Data = 'hello' })") },
  { name: "empty", tags: [], data: Buffer.alloc(0) },
  { name: "binary", target: TARGET,
    tags: Array.from({ length: 12 }, (_, i) => ({ name: "T" + i, value: "v".repeat(i * 20) })),
    data: BINARY },
];

async function jsSigner(walletPath) {
  const w = JSON.parse(fs.readFileSync(walletPath, "utf8"));
  if (w.kty === "RSA") return { type: 1, w, signer: new ArweaveSigner(w) };
  if (w.kty === "OKP") {
    const sk = Buffer.concat([fromB64u(w.d), fromB64u(w.x)]);
    return { type: 2, w, signer: new SolanaSigner(bs58.encode(sk)) };
  }
  return { type: 3, w, signer: new EthereumSigner(fromB64u(w.d).toString("hex")) };
}

async function jsAddress(s) {
  if (s.type === 1) return new Arweave({}).wallets.jwkToAddress(s.w);
  if (s.type === 2) return b64u(crypto.createHash("sha256").update(fromB64u(s.w.x)).digest());
  return computeAddress(Buffer.from(secp256k1.publicKeyCreate(fromB64u(s.w.d), false)));
}

function sameTags(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

async function main() {
  // `ao item` must exist: this test cannot pass without it.
  const help = ao(["item", "sign", "--help"]);
  if (help.status !== 0) {
    check("ao item sign is available in " + AO, false,
          "exit " + help.status + ": " + String(help.stderr || help.error).trim());
    return;
  }
  const types = ["arweave", "ed25519", "ethereum"];
  for (const t of types) {
    const wpath = path.join(WORK, t + ".json");
    const r = ao(["wallet", "new", "--type", t, "--out", wpath]);
    check(`${t}: ao wallet new`, r.status === 0, r.stderr);
    if (r.status !== 0) continue;
    const s = await jsSigner(wpath);
    check(`${t}: JS signer type ${s.type} from the ao wallet`, s.signer.signatureType === s.type);
    const addr = ao(["wallet", "address", wpath]);
    const want = await jsAddress(s);
    check(`${t}: ao wallet address equals the JS address`, addr.stdout.trim() === want,
          `ao ${addr.stdout.trim()} js ${want}`);
    if (s.type === 3)
      check(`${t}: owner key in the wallet (x, y) matches secp256k1`,
            Buffer.concat([Buffer.from([4]), fromB64u(s.w.x), fromB64u(s.w.y)])
              .equals(Buffer.from(secp256k1.publicKeyCreate(fromB64u(s.w.d), false))));

    // --- arbundles signs, ao verifies ---
    for (const c of CASES) {
      const opts = {};
      if (c.target) opts.target = c.target;
      if (c.anchor) opts.anchor = c.anchor;
      if (c.tags.length) opts.tags = c.tags;
      const item = createData(c.data, s.signer, opts);
      await item.sign(s.signer);
      const file = path.join(WORK, `js_${t}_${c.name}.bin`);
      fs.writeFileSync(file, item.getRaw());
      const v = ao(["item", "verify", "--json", file]);
      let j = {};
      try { j = JSON.parse(v.stdout); } catch (e) { j = {}; }
      check(`${t}/${c.name}: arbundles item verified by ao`, v.status === 0 && j.valid === true,
            `exit ${v.status} ${v.stdout.trim()} ${v.stderr.trim()}`);
      check(`${t}/${c.name}: ao reports the arbundles id`, j.id === item.id, `${j.id} vs ${item.id}`);
      check(`${t}/${c.name}: ao reports signature type ${s.type}`, j.signature_type === s.type);
      const plain = ao(["item", "verify", file]);
      check(`${t}/${c.name}: plain verify prints 'valid <id>'`,
            plain.status === 0 && plain.stdout.trim() === "valid " + item.id, plain.stdout.trim());
      if (c.name === "full") {
        const raw = Buffer.from(item.getRaw());
        raw[raw.length - 1] ^= 0x01;   // last data byte
        const bad = path.join(WORK, `js_${t}_tampered.bin`);
        fs.writeFileSync(bad, raw);
        const tv = ao(["item", "verify", bad]);
        check(`${t}: tampered arbundles item rejected by ao (exit 1)`, tv.status === 1,
              `exit ${tv.status} ${tv.stdout.trim()}`);
      }
    }

    // --- ao signs, arbundles verifies ---
    for (const c of CASES) {
      const out = path.join(WORK, `ao_${t}_${c.name}.bin`);
      const dataFile = path.join(WORK, `data_${c.name}`);
      fs.writeFileSync(dataFile, c.data);
      const args = ["item", "sign", "--wallet", wpath, "--data", "@" + dataFile, "--out", out];
      if (c.target) args.push("--target", c.target);
      if (c.anchor) args.push("--anchor", c.anchor);
      for (const tag of c.tags) args.push("--tag", `${tag.name}=${tag.value}`);
      const r2 = ao(args);
      check(`${t}/${c.name}: ao item sign`, r2.status === 0, r2.stderr);
      if (r2.status !== 0) continue;
      const aoId = r2.stderr.trim().split("\n").pop();
      const buf = fs.readFileSync(out);
      const ok = await DataItem.verify(buf);
      check(`${t}/${c.name}: ao item verified by arbundles DataItem.verify`, ok === true);
      const di = new DataItem(buf);
      check(`${t}/${c.name}: arbundles id equals ao's id`, di.id === aoId, `${di.id} vs ${aoId}`);
      check(`${t}/${c.name}: signature type ${s.type}`, di.signatureType === s.type);
      check(`${t}/${c.name}: owner is the wallet's public key`,
            Buffer.from(di.rawOwner).equals(Buffer.from(s.signer.publicKey)));
      check(`${t}/${c.name}: target as asked`, c.target ? di.target === c.target : di.rawTarget.length === 0);
      check(`${t}/${c.name}: anchor as asked`,
            c.anchor ? Buffer.from(di.rawAnchor).equals(Buffer.from(c.anchor)) : di.rawAnchor.length === 0);
      check(`${t}/${c.name}: tags as asked`, sameTags(di.tags, c.tags), JSON.stringify(di.tags));
      check(`${t}/${c.name}: data as asked`, Buffer.from(di.rawData).equals(c.data));
    }
  }
}

main().then(
  () => { console.log(`${passed} passed, ${failed} failed`); process.exit(failed ? 1 : 0); },
  (e) => { console.log("FAIL exception: " + (e && e.stack || e)); console.log(`${passed} passed, ${failed + 1} failed`); process.exit(1); });
