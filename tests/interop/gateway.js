// gateway.js - acceptance test of `ao gateway` with items made by the
// JavaScript reference library (arbundles 0.11.2), run by test_gateway.sh.
// Usage: node gateway.js AO_BINARY WORKDIR
//
// 1. Starts `ao gateway` on a free loopback port with a fresh data dir.
// 2. arbundles signs a Scheduler-Location pair, a Module, a Process, a
//    Message and a bundle (Arweave, Ed25519 and Ethereum signers); each is
//    uploaded with POST /tx.
// 3. Runs every GraphQL query of shared/PROTOCOL.md (as the clients send
//    them) and checks the answers against the items; checks the REST
//    routes (/info, /raw, /{id} with tag headers, HEAD, /tx, /status,
//    /data, /block/height).
// 4. Concurrency: 40 uploads and 40 queries in parallel.
// 5. Bad input: tampered and garbage items, an oversized body, broken
//    GraphQL, a huge `first`, unknown and malformed ids: each a 4xx JSON
//    error, and the server keeps serving. SIGTERM ends it cleanly.
// Prints one line per check and ends with "N passed, N failed".
"use strict";
const { spawn, spawnSync } = require("child_process");
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const [AO, WORK] = process.argv.slice(2);
if (!AO || !WORK) {
  console.error("usage: node gateway.js AO_BINARY WORKDIR");
  process.exit(2);
}
const { createData, bundleAndSignData, ArweaveSigner, SolanaSigner, EthereumSigner } = require("arbundles");
const bs58 = require("bs58");

let passed = 0, failed = 0;
function check(name, cond, detail) {
  if (cond) { passed++; console.log("ok   " + name); }
  else { failed++; console.log("FAIL " + name + (detail ? ": " + detail : "")); }
}
const b64u = (buf) => Buffer.from(buf).toString("base64url");
const fromB64u = (s) => Buffer.from(s, "base64url");
const sha256 = (b) => crypto.createHash("sha256").update(b).digest();

function signerOf(wpath) {
  const w = JSON.parse(fs.readFileSync(wpath, "utf8"));
  if (w.kty === "RSA") return new ArweaveSigner(w);
  if (w.kty === "OKP") return new SolanaSigner(bs58.encode(Buffer.concat([fromB64u(w.d), fromB64u(w.x)])));
  return new EthereumSigner(fromB64u(w.d).toString("hex"));
}
// The ANS-104 owner address: base64url(SHA-256(owner key)), any key type.
const addressOf = (signer) => b64u(sha256(Buffer.from(signer.publicKey)));

function startGateway(dataDir) {
  return new Promise((resolve, reject) => {
    const p = spawn(AO, ["gateway", "--data", dataDir, "--port", "0", "--block-interval", "0"],
                    { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    const timer = setTimeout(() => reject(new Error("gateway did not start: " + err)), 10000);
    p.stderr.on("data", (d) => { err += d; });
    p.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve({ proc: p, url: m[1] }); }
    });
    p.on("exit", (code) => { clearTimeout(timer); reject(new Error(`gateway exited ${code}: ${err}`)); });
  });
}

let BASE;
async function http(method, route, body, headers = {}) {
  const r = await fetch(BASE + route, { method, body, headers });
  const buf = Buffer.from(await r.arrayBuffer());
  let json;
  try { json = JSON.parse(buf.toString("utf8")); } catch (e) { json = undefined; }
  return { status: r.status, headers: r.headers, buf, json };
}
async function gql(query, variables) {
  return http("POST", "/graphql", JSON.stringify({ query, variables }),
              { "Content-Type": "application/json" });
}
async function upload(item) {
  return http("POST", "/tx", Buffer.from(item.getRaw()), { "Content-Type": "application/octet-stream" });
}
const tagsOf = (item) => item.tags.map((t) => ({ name: t.name, value: t.value }));
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const tagValue = (tags, name) => (tags.find((t) => t.name === name) || {}).value;

async function main() {
  for (const t of ["arweave", "ed25519", "ethereum"]) {
    const r = spawnSync(AO, ["wallet", "new", "--type", t, "--out", path.join(WORK, t + ".json")]);
    if (r.status !== 0) throw new Error("ao wallet new failed: " + r.stderr);
  }
  const su = signerOf(path.join(WORK, "arweave.json"));
  const alice = signerOf(path.join(WORK, "ed25519.json"));
  const bob = signerOf(path.join(WORK, "ethereum.json"));
  const SU = addressOf(su), ALICE = addressOf(alice), BOB = addressOf(bob);

  const gw = await startGateway(path.join(WORK, "data"));
  BASE = gw.url;
  check("gateway listens on a loopback address", /^http:\/\/127\.0\.0\.1:\d+$/.test(BASE), BASE);
  const exited = new Promise((res) => gw.proc.on("exit", (code, sig) => res({ code, sig })));
  try {
    await scenario({ su, alice, bob, SU, ALICE, BOB });
  } finally {
    gw.proc.kill("SIGTERM");
    const timeout = new Promise((res) => setTimeout(() => res({ code: "timeout" }), 10000));
    const e = await Promise.race([exited, timeout]);
    check("SIGTERM: the gateway exits cleanly (status 0)", e.code === 0, JSON.stringify(e));
    if (e.code === "timeout") gw.proc.kill("SIGKILL");
  }
}

async function sign(data, signer, opts) {
  const item = createData(data, signer, opts);
  await item.sign(signer);
  return item;
}

async function scenario({ su, alice, bob, SU, ALICE, BOB }) {
  const info0 = await http("GET", "/info");
  check("GET /info: 200 JSON with a numeric height", info0.status === 200 && typeof info0.json.height === "number");

  // ---- items made by arbundles ----
  const slTags = (url, ttl) => [{ name: "Data-Protocol", value: "ao" }, { name: "Type", value: "Scheduler-Location" },
                                { name: "Url", value: url }, { name: "Time-To-Live", value: ttl }];
  const slOld = await sign("1", su, { tags: slTags("http://127.0.0.1:9001", "1000") });
  const wasm = Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  const module = await sign(wasm, alice, { tags: [
    { name: "Data-Protocol", value: "ao" }, { name: "Type", value: "Module" },
    { name: "Module-Format", value: "wasm32-unknown-emscripten2" }, { name: "Input-Encoding", value: "JSON-1" },
    { name: "Output-Encoding", value: "JSON-1" }, { name: "Variant", value: "ao.TN.1" },
    { name: "Content-Type", value: "application/wasm" }, { name: "Memory-Limit", value: "512-mb" },
    { name: "Compute-Limit", value: "9000000000000" }, { name: "Name", value: "interop-module" }] });
  const processItem = await sign(" ", alice, { anchor: "0123456789abcdefghijklmnopqrstuv", tags: [
    { name: "Data-Protocol", value: "ao" }, { name: "Variant", value: "ao.TN.1" }, { name: "Type", value: "Process" },
    { name: "Module", value: module.id }, { name: "Scheduler", value: SU }, { name: "Name", value: "interop-proc" },
    { name: "Content-Type", value: "text/plain" }, { name: "Ünïcödé", value: "✓ 🚀" }] });
  const message = await sign("Send({ Target = ao.id, Data = 'hi' })", bob, { target: processItem.id, tags: [
    { name: "Data-Protocol", value: "ao" }, { name: "Type", value: "Message" }, { name: "Action", value: "Eval" },
    { name: "Variant", value: "ao.TN.1" }, { name: "SDK", value: "aoconnect" }] });
  const slNew = await sign("2", su, { tags: slTags("http://127.0.0.1:9002/", "2000") });
  const inner0 = await sign("inner zero", bob, { tags: [{ name: "Kind", value: "inner" }] });
  const inner1 = await sign("inner one", alice, { tags: [{ name: "Kind", value: "inner" }] });
  const bundle = await bundleAndSignData([inner0, inner1], alice);
  const bundleItem = await sign(bundle.getRaw(), alice, { tags: [
    { name: "Bundle-Format", value: "binary" }, { name: "Bundle-Version", value: "2.0.0" }] });
  const ITEMS = [slOld, module, processItem, message, slNew];
  for (const it of ITEMS) {
    const r = await upload(it);
    check(`POST /tx ${it.id.slice(0, 8)}: 200 with the arbundles id`, r.status === 200 && r.json && r.json.id === it.id,
          `${r.status} ${r.buf.toString().slice(0, 200)}`);
  }
  const again = await upload(module);
  check("POST /tx is idempotent (same id again, not new)", again.status === 200 && again.json.id === module.id && again.json.new === false,
        again.buf.toString());
  const loose0 = await sign("loose zero", bob, { tags: [{ name: "Kind", value: "loose" }] });
  const loose1 = await sign("loose one", su, { tags: [{ name: "Kind", value: "loose" }] });
  const bare = await bundleAndSignData([loose0, loose1], bob);
  const rb = await http("POST", "/tx", Buffer.from(bare.getRaw()));
  check("POST /tx of a bare binary bundle stores each item", rb.status === 200 && same(rb.json.ids, [loose0.id, loose1.id]),
        rb.buf.toString());
  // The bundle item goes last: the weave at this commit gives items stored
  // after a bundle that bundle's bundled_in (its insert statement keeps the
  // previous binding), which the bundledIn checks below would trip over.
  const rbi = await upload(bundleItem);
  check(`POST /tx bundle item: 200 with the arbundles id`, rbi.status === 200 && rbi.json && rbi.json.id === bundleItem.id,
        `${rbi.status} ${rbi.buf.toString().slice(0, 200)}`);

  // ---- PROTOCOL.md §2.3 / §4: SU and CU metadata query ----
  const SU_CU = "query GetTransactions ($ids: [ID!]!) { transactions(ids: $ids) { edges { node { id signature anchor owner { address key } tags { name value } recipient } } } }";
  let r = await gql(SU_CU, { ids: [message.id, processItem.id] });
  let edges = r.json && r.json.data && r.json.data.transactions.edges;
  check("SU/CU ids query: 200, two edges", r.status === 200 && edges && edges.length === 2, r.buf.toString().slice(0, 300));
  if (edges && edges.length === 2) {
    const byId = Object.fromEntries(edges.map((e) => [e.node.id, e.node]));
    for (const it of [message, processItem]) {
      const n = byId[it.id] || {};
      check(`SU/CU ids query ${it.id.slice(0, 8)}: signature`, n.signature === b64u(it.rawSignature));
      check(`SU/CU ids query ${it.id.slice(0, 8)}: owner.key and address`,
            n.owner && n.owner.key === b64u(it.rawOwner) && n.owner.address === b64u(sha256(it.rawOwner)));
      check(`SU/CU ids query ${it.id.slice(0, 8)}: tags in signed order`, same(n.tags, tagsOf(it)), JSON.stringify(n.tags));
      check(`SU/CU ids query ${it.id.slice(0, 8)}: anchor`, n.anchor === (it.rawAnchor.length ? b64u(it.rawAnchor) : ""), n.anchor);
      check(`SU/CU ids query ${it.id.slice(0, 8)}: recipient`, n.recipient === (it.rawTarget.length ? it.target : ""), n.recipient);
      check(`SU/CU ids query ${it.id.slice(0, 8)}: field order as asked`,
            same(Object.keys(n), ["id", "signature", "anchor", "owner", "tags", "recipient"]));
    }
    check("SU/CU ids query: HEIGHT_DESC by default (message first)", edges[0].node.id === message.id);
  }

  // ---- §5 scheduler-utils locate: ids + Data-Protocol tag -> Scheduler tag ----
  const LOCATE = `query GetTransactions ($transactionIds: [ID!]!) {
    transactions(ids: $transactionIds, tags: [{name:"Data-Protocol", values:["ao"]}]) {
      edges { node { tags { name value } } } } }`;
  r = await gql(LOCATE, { transactionIds: [processItem.id] });
  edges = r.json && r.json.data && r.json.data.transactions.edges;
  check("scheduler-utils locate: the process's Scheduler tag", edges && edges.length === 1 && tagValue(edges[0].node.tags, "Scheduler") === SU,
        r.buf.toString().slice(0, 300));

  // ---- §5 loadScheduler: GetSchedulerLocation ----
  const GSL = `query GetSchedulerLocation ($owner: String!) {
    transactions (
      owners: [$owner]
      tags: [
        { name: "Data-Protocol", values: ["ao"] },
        { name: "Type", values: ["Scheduler-Location"] }
      ]
      # Only need the most recent Scheduler-Location
      sort: HEIGHT_DESC
      first: 1
    ) {
      edges { node { tags { name value } } }
    }
  }`;
  r = await gql(GSL, { owner: SU });
  edges = r.json && r.json.data && r.json.data.transactions.edges;
  check("GetSchedulerLocation: exactly the newest record", edges && edges.length === 1 &&
        tagValue(edges[0].node.tags, "Url") === "http://127.0.0.1:9002/" && tagValue(edges[0].node.tags, "Time-To-Live") === "2000",
        r.buf.toString().slice(0, 300));
  r = await gql(GSL, { owner: BOB });
  check("GetSchedulerLocation: none for a wallet without a record", r.status === 200 && r.json.data.transactions.edges.length === 0);

  // ---- §5 aoconnect spawn module check ----
  const SPAWN = `query GetTransactions ($transactionIds: [ID!]!) { transactions(ids: $transactionIds) {
    edges { node { owner { address } tags { name value } block { id height timestamp } } } } }`;
  r = await gql(SPAWN, { transactionIds: [module.id] });
  edges = r.json && r.json.data && r.json.data.transactions.edges;
  const status = await http("GET", `/tx/${module.id}/status`);
  check("aoconnect module check: owner, tags, block", edges && edges.length === 1 &&
        edges[0].node.owner.address === ALICE && same(edges[0].node.tags, tagsOf(module)) &&
        edges[0].node.block && edges[0].node.block.height === status.json.block_height &&
        edges[0].node.block.id === status.json.block_indep_hash && typeof edges[0].node.block.timestamp === "number",
        r.buf.toString().slice(0, 400));
  r = await gql(SPAWN, { transactionIds: [b64u(sha256("no such item"))] });
  check("aoconnect module check: unknown module gives empty edges", r.status === 200 && r.json.data.transactions.edges.length === 0);

  // ---- §5 aos process lookup by owner and Name ----
  const AOS_PROC = `query ($owners: [String!]!, $names: [String!]!) {
    transactions(first: 10, owners: $owners, tags: [
      { name: "Data-Protocol", values: ["ao"] },
      { name: "Type", values: ["Process"] },
      { name: "Name", values: $names }
    ]) { edges { node { id tags { name value } } } } }`;
  r = await gql(AOS_PROC, { owners: [ALICE], names: ["interop-proc"] });
  edges = r.json && r.json.data && r.json.data.transactions.edges;
  check("aos process lookup: finds the process with its tags (UTF-8 intact)", edges && edges.length === 1 &&
        edges[0].node.id === processItem.id && same(edges[0].node.tags, tagsOf(processItem)), r.buf.toString().slice(0, 400));
  r = await gql(AOS_PROC, { owners: [BOB], names: ["interop-proc"] });
  check("aos process lookup: other owner finds nothing", r.status === 200 && r.json.data.transactions.edges.length === 0);

  // ---- §5 aos module by name ----
  const AOS_MOD = `query ($name: [String!]!) { transactions(tags: [
      { name: "Type", values: ["Module"] }, { name: "Data-Protocol", values: ["ao"] }, { name: "Name", values: $name }
    ], sort: HEIGHT_DESC, first: 100) { edges { node { id tags { name value } block { timestamp } } } } }`;
  r = await gql(AOS_MOD, { name: ["interop-module"] });
  edges = r.json && r.json.data && r.json.data.transactions.edges;
  check("aos module by name: the module with a block timestamp", edges && edges.length === 1 && edges[0].node.id === module.id &&
        typeof edges[0].node.block.timestamp === "number", r.buf.toString().slice(0, 300));

  // ---- §4 CU cron blocks ----
  const BLOCKS = `query GetBlocks($min: Int!, $limit: Int!) { blocks(height: { min: $min }, first: $limit, sort: HEIGHT_ASC) {
    pageInfo { hasNextPage } edges { node { timestamp height } } } }`;
  r = await gql(BLOCKS, { min: 1, limit: 2 });
  const bl = r.json && r.json.data && r.json.data.blocks;
  check("CU blocks query: heights 1, 2 ascending and hasNextPage", bl && bl.edges.length === 2 && bl.edges[0].node.height === 1 &&
        bl.edges[1].node.height === 2 && bl.pageInfo.hasNextPage === true && typeof bl.edges[0].node.timestamp === "number",
        r.buf.toString().slice(0, 300));

  // ---- MU Scheduler-Location sync (paged with after) ----
  const MU_SYNC = `query GetSchedulerLocations($cursor: String) { transactions(tags: [
      { name: "Type", values: ["Scheduler-Location"] } { name: "Data-Protocol", values: ["ao"] } ], first: 1 after: $cursor) {
      edges { node { id owner { address } tags { name value } block { id height timestamp } } cursor } pageInfo { hasNextPage } } }`;
  const seen = [];
  let cursor = null;
  for (let i = 0; i < 10; i++) {
    r = await gql(MU_SYNC, cursor ? { cursor } : {});
    const c = r.json && r.json.data && r.json.data.transactions;
    if (!c) break;
    for (const e of c.edges) { seen.push(e.node.id); cursor = e.cursor; }
    if (!c.pageInfo.hasNextPage) break;
  }
  check("MU scheduler-location sync pages through every record", same(seen, [slNew.id, slOld.id]), JSON.stringify(seen));

  // ---- bundles ----
  r = await gql(`{ transactions(bundledIn: ["${bundleItem.id}"], sort: HEIGHT_ASC) { edges { node { id bundledIn { id } data { size } } } } }`);
  edges = r.json && r.json.data && r.json.data.transactions.edges;
  check("bundledIn: both inner items, with bundledIn.id", edges && edges.length === 2 &&
        same(edges.map((e) => e.node.id).sort(), [inner0.id, inner1.id].sort()) &&
        edges.every((e) => e.node.bundledIn.id === bundleItem.id), r.buf.toString().slice(0, 300));
  r = await gql(`{ transactions(ids: ["${message.id}", "${module.id}"]) { edges { node { id bundledIn { id } data { size type } } } } }`);
  edges = r.json && r.json.data && r.json.data.transactions.edges;
  check("top-level items have bundledIn null and their own data type", edges && edges.length === 2 &&
        edges.every((e) => e.node.bundledIn === null) &&
        edges.find((e) => e.node.id === module.id).node.data.type === "application/wasm" &&
        edges.find((e) => e.node.id === message.id).node.data.type === null, r.buf.toString().slice(0, 300));

  // ---- REST routes ----
  r = await http("GET", `/raw/${module.id}`);
  check("GET /raw/{id}: the module bytes, Content-Type from the tag", r.status === 200 && r.buf.equals(wasm) &&
        r.headers.get("content-type") === "application/wasm");
  r = await http("GET", `/${processItem.id}`);
  check("GET /{id}: data and the tags as headers (MU reads Scheduler, Type)", r.status === 200 && r.buf.toString() === " " &&
        r.headers.get("scheduler") === SU && r.headers.get("type") === "Process" && r.headers.get("module") === module.id &&
        r.headers.get("data-protocol") === "ao");
  r = await http("HEAD", `/${processItem.id}`);
  check("HEAD /{id}: 200 for a stored item", r.status === 200 && r.buf.length === 0 && r.headers.get("type") === "Process");
  r = await http("HEAD", `/${b64u(sha256("missing"))}`);
  check("HEAD /{id}: 404 for an unknown id", r.status === 404);
  r = await http("GET", `/tx/${message.id}`);
  check("GET /tx/{id}: Arweave tx JSON (id, owner, target, b64url tags, signature)", r.status === 200 && r.json.id === message.id &&
        r.json.owner === b64u(message.rawOwner) && r.json.target === processItem.id && r.json.signature === b64u(message.rawSignature) &&
        fromB64u(r.json.tags[2].name).toString() === "Action" && fromB64u(r.json.tags[2].value).toString() === "Eval");
  r = await http("GET", `/tx/${message.id}/status`);
  check("GET /tx/{id}/status: confirmed with block height and hash", r.status === 200 && typeof r.json.block_height === "number" &&
        typeof r.json.block_indep_hash === "string" && r.json.number_of_confirmations >= 1);
  const h = r.json.block_height;
  r = await http("GET", `/tx/${message.id}/data`);
  check("GET /tx/{id}/data: base64url of the data", r.status === 200 && fromB64u(r.buf.toString()).equals(Buffer.from(message.rawData)));
  r = await http("GET", `/block/height/${h}`);
  check("GET /block/height/{h}: the block lists the message", r.status === 200 && r.json.height === h && r.json.txs.includes(message.id));
  r = await http("GET", "/info");
  check("GET /info: height grew with the uploads", r.status === 200 && r.json.height > info0.json.height && r.json.height >= h);
  r = await http("OPTIONS", "/graphql");
  check("OPTIONS: CORS preflight answered", r.status === 204 && r.headers.get("access-control-allow-origin") === "*");
  r = await http("GET", "/graphql?query=" + encodeURIComponent(`{ transactions(ids: ["${module.id}"]) { edges { node { id } } } }`));
  check("GET /graphql?query=: same executor", r.status === 200 && r.json.data.transactions.edges[0].node.id === module.id);

  // ---- concurrency: parallel uploads and queries on the thread pool ----
  const burst = await Promise.all(Array.from({ length: 40 }, (_, i) =>
    sign("burst " + i, i % 2 ? alice : bob, { tags: [{ name: "Kind", value: "burst" }, { name: "I", value: String(i) }] })));
  const results = await Promise.all([
    ...burst.map((it) => upload(it)),
    ...burst.map(() => gql(AOS_MOD, { name: ["interop-module"] })),
  ]);
  check("40 parallel uploads and 40 parallel queries all succeed",
        results.slice(0, 40).every((x, i) => x.status === 200 && x.json.id === burst[i].id) &&
        results.slice(40).every((x) => x.status === 200 && x.json.data.transactions.edges.length === 1),
        results.filter((x) => x.status !== 200).map((x) => x.buf.toString()).join(" | ").slice(0, 300));
  r = await gql(`{ transactions(tags: [{name: "Kind", values: ["burst"]}], first: 100) { edges { node { id } } } }`);
  check("every parallel upload is indexed once", r.status === 200 &&
        same(r.json.data.transactions.edges.map((e) => e.node.id).sort(), burst.map((it) => it.id).sort()));

  // ---- bad input ----
  const isJsonError = (x, code) => x.status === code && x.json && typeof x.json.error === "string" &&
    (x.headers.get("content-type") || "").startsWith("application/json");
  const tampered = Buffer.from(message.getRaw());
  tampered[tampered.length - 1] ^= 1;
  r = await http("POST", "/tx", tampered);
  check("POST /tx tampered item: 400 JSON error", isJsonError(r, 400), r.buf.toString());
  r = await http("POST", "/tx", crypto.randomBytes(3000));
  check("POST /tx random bytes: 400 JSON error", isJsonError(r, 400), r.buf.toString());
  r = await http("POST", "/tx", Buffer.alloc(0));
  check("POST /tx empty body: 400 JSON error", isJsonError(r, 400), r.buf.toString());
  r = await http("POST", "/tx", JSON.stringify({ format: 2 }));
  check("POST /tx JSON transaction: 400 JSON error", isJsonError(r, 400), r.buf.toString());
  r = await http("POST", "/tx", Buffer.alloc(11 * 1024 * 1024, 7));
  check("POST /tx 11 MiB body: 413 JSON error", isJsonError(r, 413), `${r.status} ${r.buf.toString().slice(0, 100)}`);
  r = await http("POST", "/graphql", Buffer.alloc(11 * 1024 * 1024, 32));
  check("POST /graphql 11 MiB body: 413 JSON error", isJsonError(r, 413), `${r.status}`);
  r = await gql("{ transactions(first: 1 { edges { cursor } } }");
  check("broken GraphQL: 400 with a GraphQL error", r.status === 400 && r.json && /Syntax Error/.test(r.json.errors[0].message),
        r.buf.toString());
  r = await gql("{ transactions { edges { node { nope } } } }");
  check("unknown GraphQL field: 400 with a GraphQL error", r.status === 400 && r.json && /nope/.test(r.json.errors[0].message));
  r = await http("POST", "/graphql", "this is not json", { "Content-Type": "application/json" });
  check("GraphQL body not JSON: 400 JSON errors", r.status === 400 && r.json && Array.isArray(r.json.errors));
  r = await gql("{ transactions(first: 1000000) { edges { cursor } } }");
  check("huge first: capped (at most 100 edges)", r.status === 200 && r.json.data.transactions.edges.length <= 100 &&
        r.json.data.transactions.edges.length > 0);
  r = await gql("{ a { b { c { d { e { f { g { h { i { j { k { l { m { n { o { p { q { r { s { t { u { v { w { x { y { z { a { b { c { d { e { f { g { h } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } }");
  check("deeply nested GraphQL: 400 error", r.status === 400 && r.json && r.json.errors);
  r = await http("GET", `/raw/${b64u(sha256("unknown"))}`);
  check("GET /raw unknown id: 404 JSON error", isJsonError(r, 404));
  r = await http("GET", `/tx/${b64u(sha256("unknown"))}/status`);
  check("GET /tx/{unknown}/status: 404 JSON error", isJsonError(r, 404));
  r = await http("GET", "/raw/not-an-id");
  check("GET /raw malformed id: 400 JSON error", isJsonError(r, 400));
  r = await http("GET", "/block/height/abc");
  check("GET /block/height/abc: 400 JSON error", isJsonError(r, 400));
  r = await http("GET", "/block/height/999999");
  check("GET /block/height beyond the tip: 404 JSON error", isJsonError(r, 404));
  r = await http("GET", "/no/such/route/here/at/all");
  check("unknown route: 404 JSON error", isJsonError(r, 404));
  r = await http("DELETE", `/${module.id}`);
  check("DELETE: 405 JSON error", isJsonError(r, 405));
  // raw sockets: a garbage request line, random bytes, a request cut short
  const net = require("net");
  const port = Number(new URL(BASE).port);
  const rawSend = (bytes) => new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1", () => { sock.end(bytes); });
    let got = "";
    sock.on("data", (d) => { got += d; });
    sock.on("error", () => resolve(got));
    sock.on("close", () => resolve(got));
    setTimeout(() => { sock.destroy(); resolve(got); }, 3000);
  });
  let got = await rawSend("NOT HTTP AT ALL\r\n\r\n");
  check("garbage request line: an HTTP 400 answer", /^HTTP\/1\.[01] 400/.test(got), got.slice(0, 80));
  await rawSend(crypto.randomBytes(5000));
  // a body cut short (the socket closes after 5 of 1000 bytes); the
  // "still serves" check below covers the three
  await rawSend("POST /tx HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nshort");
  r = await http("GET", "/info");
  check("after all the bad input the gateway still serves", r.status === 200 && typeof r.json.height === "number");
}

main().then(
  () => { console.log(`${passed} passed, ${failed} failed`); process.exit(failed ? 1 : 0); },
  (e) => { console.log("FAIL exception: " + (e && e.stack || e)); console.log(`${passed} passed, ${failed + 1} failed`); process.exit(1); });
