// aos_cli_replay.js - the aos CLI (2.x, `--legacy --cu-url --mu-url
// --gateway-url`) against `ao up`: the CLI is not on the npm registry, so
// this replays its sequence of calls (PROTOCOL.md §6) with the client it
// is built on, @permaweb/aoconnect 0.0.98, and its own GraphQL queries.
// Usage: node aos_cli_replay.js AO_BINARY WORKDIR (run by test_aos_cli.sh)
//
//  1. start-up: look the process up by Name over GraphQL (owners + tags
//     Data-Protocol/Type/Name, first:10), find none;
//  2. spawn with the CLI's tags: App-Name=aos, Name, Authority (its
//     hard-coded legacy one and ours), aos-Version; data " " (text/plain);
//     the SU's schedule then has the Process item as edge 0 (Nonce 0);
//  3. after 500 ms, Eval `require('.process')._version` with the CLI's
//     tags, then poll `result` every 500 ms (up to 50 times) until
//     Output.prompt or Output.data.prompt appears;
//  4. a restart of the CLI finds the process by Name over GraphQL;
//  5. REPL lines: Eval and result, printing Output.data and the prompt,
//     and an Error for a Lua error;
//  6. the live feed: every 2 s `results` (limit 5, DESC), then from the
//     cursor (limit 1000), edges sorted by JSON.parse(atob(cursor)).ordinate,
//     printing nodes with Output.print === true — here a message another
//     process sends ours.
// Prints one line per check and ends with "N passed, N failed".
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");

const [AO, WORK] = process.argv.slice(2);
if (!AO || !WORK) {
  console.error("usage: node aos_cli_replay.js AO_BINARY WORKDIR");
  process.exit(2);
}
const { connect, createDataItemSigner } = require("@permaweb/aoconnect");
const Arweave = require("arweave");

let passed = 0, failed = 0;
function check(name, cond, detail) {
  if (cond) { passed++; console.log("ok   " + name); }
  else { failed++; console.log("FAIL " + name + (detail ? ": " + detail : "")); }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const short = (v) => { const s = JSON.stringify(v); return s && s.length > 300 ? s.slice(0, 300) + "..." : s; };
const LEGACY_AUTHORITY = "fcoN_xJeisVsPXA-trzVAuIiqO3ydLQxM-L4XbrQKzY";

function startNode(dataDir) {
  return new Promise((resolve, reject) => {
    const p = spawn(AO, ["up", "--any-ports", "--data", dataDir, "--block-interval", "300",
                         "--log-level", "warn"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    const timer = setTimeout(() => reject(new Error("ao up did not start: " + err)), 120000);
    p.stderr.on("data", (d) => { err += d; });
    p.stdout.on("data", (d) => {
      out += d;
      if (/^ready/m.test(out)) { clearTimeout(timer); resolve(p); }
    });
    p.on("exit", (code) => { clearTimeout(timer); reject(new Error(`ao up exited ${code}: ${err}`)); });
  });
}

// The CLI's process lookup (src/services/gql.js): by owner and Name.
async function findByName(gateway, owner, name) {
  const query = `query ($owners: [String!]!, $names: [String!]!) {
    transactions(first: 10, owners: $owners, tags: [
      { name: "Data-Protocol", values: ["ao"] },
      { name: "Type", values: ["Process"] },
      { name: "Name", values: $names }]) { edges { node { id tags { name value } } } } }`;
  const r = await fetch(gateway + "/graphql", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables: { owners: [owner], names: [name] } }),
  });
  const j = await r.json();
  return j.data.transactions.edges.map((e) => e.node.id);
}

const promptOf = (r) => r && r.Output && (r.Output.prompt || (r.Output.data && r.Output.data.prompt));
const dataOf = (r) => r && r.Output && (typeof r.Output.data === "object" && r.Output.data !== null
  ? r.Output.data.output : r.Output.data);

// the CLI's Eval: tags as it sends them, result polled every 500 ms
async function evaluate(ao, signer, pid, code) {
  const id = await ao.message({ process: pid, signer, data: code, tags: [
    { name: "Action", value: "Eval" }, { name: "SDK", value: "aoconnect" },
    { name: "Data-Protocol", value: "ao" }, { name: "Variant", value: "ao.TN.1" },
    { name: "Type", value: "Message" }] });
  for (let i = 0; i < 50; i++) {
    await sleep(500);
    const r = await ao.result({ message: id, process: pid });
    if (r && (promptOf(r) || r.Error)) return { id, r };
  }
  return { id, r: null };
}

async function main() {
  const dataDir = path.join(WORK, "node");
  const node = await startNode(dataDir);
  try {
    const info = JSON.parse(fs.readFileSync(path.join(dataDir, "node.json"), "utf8"));
    const ao = connect({ MODE: "legacy", MU_URL: info.mu, CU_URL: info.cu, GATEWAY_URL: info.gateway });
    const arweave = Arweave.init({});
    const jwk = await arweave.wallets.generate();
    const owner = await arweave.wallets.jwkToAddress(jwk);
    const signer = createDataItemSigner(jwk);
    const name = "replay-" + Date.now();

    // 1. start-up lookup
    check("start-up: no process of that name yet", (await findByName(info.gateway, owner, name)).length === 0);

    // 2. spawn with the CLI's tags
    const pid = await ao.spawn({ module: info.aosModule, scheduler: info.suAddress, signer, data: " ",
      tags: [{ name: "App-Name", value: "aos" }, { name: "Name", value: name },
             { name: "Authority", value: LEGACY_AUTHORITY }, { name: "Authority", value: info.muAddress },
             { name: "aos-Version", value: "2.0.16" }, { name: "Content-Type", value: "text/plain" }] });
    check("spawn answers a process id", typeof pid === "string" && pid.length === 43, pid);

    // the SU's schedule of the new process: the Process item is edge 0 (Nonce 0)
    const page = await (await fetch(`${info.su}/${pid}?process-id=${pid}`)).json();
    const e0 = page.edges && page.edges[0];
    const nonce0 = e0 && e0.node.assignment.tags.find((t) => t.name === "Nonce");
    check("the SU schedule shows the spawned process as edge 0 with Nonce 0",
          e0 && e0.node.message.id === pid && nonce0 && nonce0.value === "0" &&
          e0.node.message.tags.some((t) => t.name === "Type" && t.value === "Process"), short(e0));

    // 3. the version Eval and the prompt
    await sleep(500);
    const boot = await evaluate(ao, signer, pid, "require('.process')._version");
    check("the version Eval comes back with a prompt", boot.r && promptOf(boot.r), short(boot.r));
    check("the version is the aos version", boot.r && /^\d+\.\d+\.\d+$/.test(String(dataOf(boot.r))), short(boot.r && boot.r.Output));

    // 4. a restart of the CLI finds the process by Name
    let found = [];
    for (let i = 0; i < 20 && !found.includes(pid); i++) {
      found = await findByName(info.gateway, owner, name);
      if (!found.includes(pid)) await sleep(300);
    }
    check("a restart finds the process by Name over GraphQL", found.includes(pid), short(found));

    // 5. REPL lines
    const line = await evaluate(ao, signer, pid, "1 + 41");
    check("a REPL line prints its value", line.r && String(dataOf(line.r)) === "42", short(line.r && line.r.Output));
    check("and sets the prompt", line.r && /aos/.test(promptOf(line.r) || ""), short(line.r && line.r.Output));
    const bad = await evaluate(ao, signer, pid, "error('replay failure')");
    check("a Lua error comes back as Error", bad.r && /replay failure/.test(String(bad.r.Error)), short(bad.r));
    const handler = await evaluate(ao, signer, pid,
      "Handlers.add('note', 'Note', function(m) print('note: ' .. m.Data) end)");
    check("a handler is added", handler.r && !handler.r.Error, short(handler.r));

    // 6. the live feed
    let cursor = null, feedErr = null;
    const first = await ao.results({ process: pid, limit: 5, sort: "DESC" });
    const ordinals = first.edges.map((e) => JSON.parse(atob(e.cursor)).ordinate);
    check("results cursors are base64 JSON with an ordinate",
          first.edges.length > 0 && ordinals.every((o) => o !== undefined), short(first.edges.map((e) => e.cursor)));
    cursor = first.edges.length ? first.edges.sort((a, b) =>
      JSON.parse(atob(b.cursor)).ordinate - JSON.parse(atob(a.cursor)).ordinate)[0].cursor : null;
    const other = await ao.spawn({ module: info.aosModule, scheduler: info.suAddress, signer, data: " ",
      tags: [{ name: "Authority", value: info.muAddress }] });
    await evaluate(ao, signer, other, `Send({ Target = "${pid}", Action = "Note", Data = "from afar" })`);
    let printed = null;
    for (let i = 0; i < 20 && !printed; i++) {
      await sleep(2000 / 4);
      try {
        const page = await ao.results({ process: pid, from: cursor, limit: 1000 });
        const edges = page.edges.sort((a, b) =>
          JSON.parse(atob(a.cursor)).ordinate - JSON.parse(atob(b.cursor)).ordinate);
        for (const e of edges) {
          if (e.node.Output && e.node.Output.print === true && /note: from afar/.test(dataOf(e.node))) printed = e;
          cursor = e.cursor;
        }
      } catch (e) { feedErr = e; }
    }
    check("the live feed shows what another process made ours print", printed, feedErr && feedErr.message);
  } finally {
    node.kill("SIGTERM");
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.log("FAIL " + (e && e.stack || e));
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
