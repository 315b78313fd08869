// aoconnect.js - the real JS client, @permaweb/aoconnect 0.0.98 in legacy
// mode, against `ao up` (run by test_aoconnect.sh).
// Usage: node aoconnect.js AO_BINARY WORKDIR
//
// 1. Starts `ao up --any-ports` with a fresh data dir and reads node.json.
// 2. connect({MODE:'legacy', MU_URL, CU_URL, GATEWAY_URL}); spawn an aos
//    process (module = node.json aosModule, scheduler = suAddress,
//    Authority = muAddress): aoconnect checks the module over GraphQL.
// 3. Eval messages through the MU; `result` gives what aos answers (the
//    value, printed text, the prompt, an Error); `results` pages with
//    base64 JSON cursors holding `ordinate`; `dryrun` runs a handler and an
//    Eval without changing state; a Send from one process to another is
//    cranked by the MU; `monitor` / `unmonitor` are accepted.
// 4. SIGTERM stops the node with exit code 0.
// Prints one line per check and ends with "N passed, N failed".
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");

const [AO, WORK] = process.argv.slice(2);
if (!AO || !WORK) {
  console.error("usage: node aoconnect.js AO_BINARY WORKDIR");
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
const short = (v) => { const s = JSON.stringify(v); return s && s.length > 400 ? s.slice(0, 400) + "..." : s; };

function startNode(dataDir) {
  return new Promise((resolve, reject) => {
    const p = spawn(AO, ["up", "--any-ports", "--data", dataDir, "--block-interval", "500",
                         "--log-level", "warn"],
                    { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    const timer = setTimeout(() => reject(new Error("ao up did not start: " + err)), 120000);
    p.stderr.on("data", (d) => { err += d; if (process.env.AO_TEST_VERBOSE) process.stderr.write(d); });
    p.stdout.on("data", (d) => {
      out += d;
      if (/^ready/m.test(out)) { clearTimeout(timer); resolve(p); }
    });
    p.on("exit", (code) => { clearTimeout(timer); reject(new Error(`ao up exited ${code}: ${err}`)); });
  });
}

// result(), again while the CU answers "in progress" (202, no Output).
async function resultOf(ao, message, processId) {
  for (let i = 0; i < 60; i++) {
    const r = await ao.result({ message, process: processId });
    if (r && (r.Output !== undefined || r.Error !== undefined)) return r;
    await sleep(250);
  }
  throw new Error("no result for " + message);
}

async function evalOn(ao, signer, processId, code) {
  const id = await ao.message({ process: processId, signer, data: code,
                                tags: [{ name: "Action", value: "Eval" }] });
  return { id, res: await resultOf(ao, id, processId) };
}

const outData = (r) => (r && r.Output && typeof r.Output === "object") ? r.Output.data : undefined;

async function main() {
  const dataDir = path.join(WORK, "node");
  const proc = await startNode(dataDir);
  let exitCode = null;
  const exited = new Promise((res) => proc.on("exit", (code, sig) => { exitCode = code; res(sig); }));
  try {
    const info = JSON.parse(fs.readFileSync(path.join(dataDir, "node.json"), "utf8"));
    check("node.json names the units", info.mu && info.cu && info.gateway && info.su &&
          info.aosModule && info.suAddress && info.muAddress, short(info));

    const arweave = Arweave.init({});
    const jwk = await arweave.wallets.generate();
    const owner = await arweave.wallets.jwkToAddress(jwk);
    const signer = createDataItemSigner(jwk);
    const ao = connect({ MODE: "legacy", MU_URL: info.mu, CU_URL: info.cu, GATEWAY_URL: info.gateway });

    // spawn: aoconnect verifies the module over GraphQL, then posts to the MU
    const tags = [{ name: "Authority", value: info.muAddress }, { name: "Name", value: "interop" },
                  { name: "App-Name", value: "aos" }];
    const pid = await ao.spawn({ module: info.aosModule, scheduler: info.suAddress, signer, tags });
    check("spawn returns a process id", typeof pid === "string" && pid.length === 43, pid);
    const r0 = await resultOf(ao, pid, pid);
    check("the spawn message evaluates without Error", r0.Error === undefined, short(r0));

    // a spawn with a module that is not a Module is refused by aoconnect itself
    let refused = false;
    try {
      await ao.spawn({ module: pid, scheduler: info.suAddress, signer, tags });
    } catch (e) { refused = true; }
    check("spawn refuses an id that is not a Module", refused);

    // Eval: value and prompt
    const e1 = await evalOn(ao, signer, pid, "1 + 41");
    check("Eval answers the value", outData(e1.res) === "42", short(e1.res));
    const prompt = e1.res.Output && e1.res.Output.prompt;
    check("Eval answers the aos prompt", typeof prompt === "string" && prompt.includes("interop") &&
          prompt.includes("aos-"), short(prompt));
    const e2 = await evalOn(ao, signer, pid, "print('hello from aos'); return Owner");
    check("Eval shows printed text", typeof outData(e2.res) === "string" &&
          outData(e2.res).includes("hello from aos"), short(e2.res));
    check("the process Owner is the signer", outData(e2.res).includes(owner), short(e2.res));
    const e3 = await evalOn(ao, signer, pid, "error('boom')");
    check("an Eval error comes back in Error", typeof e3.res.Error === "string" &&
          e3.res.Error.includes("boom"), short(e3.res));
    const e4 = await evalOn(ao, signer, pid,
      "Handlers.add('info', Handlers.utils.hasMatchingTag('Action', 'Info'), " +
      "function(msg) msg.reply({ Data = 'info:' .. Name }) end); Counter = 7; return 'added'");
    check("Eval adds a handler", outData(e4.res) === "added", short(e4.res));

    // results: base64 JSON cursors with ordinate, in order
    const page = await ao.results({ process: pid, sort: "ASC", limit: 25 });
    const edges = (page && page.edges) || [];
    check("results lists the evaluated messages", edges.length >= 5, short(page));
    let cursorsOk = edges.length > 0, ordinates = [];
    for (const e of edges) {
      try {
        const c = JSON.parse(Buffer.from(e.cursor, "base64").toString("utf8"));
        if (c.ordinate === undefined || c.timestamp === undefined) cursorsOk = false;
        ordinates.push(Number(c.ordinate));
      } catch (err) { cursorsOk = false; }
    }
    check("results cursors are base64 JSON with ordinate", cursorsOk, short(edges.map((e) => e.cursor)));
    check("results come in ascending order",
          ordinates.every((o, i) => i === 0 || o > ordinates[i - 1]), short(ordinates));
    check("results hold the Eval outputs", edges.some((e) => outData(e.node) === "42"));
    const desc = await ao.results({ process: pid, sort: "DESC", limit: 1 });
    check("results DESC limit 1 gives the newest",
          desc && desc.edges && desc.edges.length === 1 && outData(desc.edges[0].node) === "added",
          short(desc));

    // dryrun: a handler's reply, an Eval by the owner, no state change
    const d1 = await ao.dryrun({ process: pid, tags: [{ name: "Action", value: "Info" }] });
    check("dryrun runs a handler", d1 && Array.isArray(d1.Messages) && d1.Messages.length === 1 &&
          d1.Messages[0].Data === "info:interop", short(d1));
    const d2 = await ao.dryrun({ process: pid, Owner: owner, data: "Counter = Counter + 1; return Counter",
                                 tags: [{ name: "Action", value: "Eval" }] });
    check("dryrun Eval sees the state", outData(d2) === "8", short(d2));
    const e5 = await evalOn(ao, signer, pid, "Counter");
    check("dryrun changed nothing", outData(e5.res) === "7", short(e5.res));

    // a Send from A to B, pushed by the MU
    const pidB = await ao.spawn({ module: info.aosModule, scheduler: info.suAddress, signer,
                                  tags: [{ name: "Authority", value: info.muAddress },
                                         { name: "Name", value: "interop-b" }] });
    await resultOf(ao, pidB, pidB);
    const s = await evalOn(ao, signer, pid,
      `Send({ Target = '${pidB}', Action = 'Ping', Data = 'hello-b' }); return 'sent'`);
    check("the Send is in A's outbox", s.res.Messages && s.res.Messages.length === 1 &&
          s.res.Messages[0].Target === pidB, short(s.res));
    let seen = false;
    for (let i = 0; i < 120 && !seen; i++) {
      const rb = await ao.results({ process: pidB, sort: "DESC", limit: 10 });
      seen = !!(rb && rb.edges && rb.edges.some((e) => typeof outData(e.node) === "string" &&
                                                   outData(e.node).includes("New Message From")));
      if (!seen) await sleep(250);
    }
    check("B received A's message (cranked by the MU)", seen);
    const b1 = await evalOn(ao, signer, pidB, "Inbox[#Inbox].Data .. '|' .. Inbox[#Inbox].From");
    check("B's Inbox has it From A", outData(b1.res) === "hello-b|" + pid, short(b1.res));

    // a token (the aos token blueprint): Transfer from the owner's wallet to
    // process B; the Credit-Notice is cranked to B, the Debit-Notice to the
    // wallet is stored in the weave, balances read with dryrun
    const pidT = await ao.spawn({ module: info.aosModule, scheduler: info.suAddress, signer,
                                  tags: [{ name: "Authority", value: info.muAddress },
                                         { name: "Name", value: "interop-token" }] });
    await resultOf(ao, pidT, pidT);
    const t0 = await evalOn(ao, signer, pidT,
      `require('blueprints.token'); Balances = { ['${owner}'] = '1000' }; TotalSupply = '1000'; ` +
      "Ticker = 'ITK'; return Ticker");
    check("token: the blueprint loads", outData(t0.res) === "ITK", short(t0.res));
    const tr = await ao.message({ process: pidT, signer, tags: [
      { name: "Action", value: "Transfer" }, { name: "Recipient", value: pidB },
      { name: "Quantity", value: "250" }] });
    const trRes = await resultOf(ao, tr, pidT);
    const notice = (action) => (trRes.Messages || []).find((m) =>
      (m.Tags || []).some((t) => t.name === "Action" && t.value === action));
    check("token: Transfer answers a Debit-Notice to the sender",
          notice("Debit-Notice") && notice("Debit-Notice").Target === owner, short(trRes));
    check("token: and a Credit-Notice to the recipient",
          notice("Credit-Notice") && notice("Credit-Notice").Target === pidB, short(trRes));
    const bal = async (who) => {
      const d = await ao.dryrun({ process: pidT, tags: [{ name: "Action", value: "Balance" },
                                                        { name: "Recipient", value: who }] });
      return d && d.Messages && d.Messages[0] ? d.Messages[0].Data : undefined;
    };
    check("token: balances after the transfer", (await bal(owner)) === "750" &&
          (await bal(pidB)) === "250");
    let credited = false;
    for (let i = 0; i < 120 && !credited; i++) {
      const rb = await ao.results({ process: pidB, sort: "DESC", limit: 10 });
      credited = !!(rb && rb.edges && rb.edges.some((e) => typeof outData(e.node) === "string" &&
                                                      outData(e.node).includes("Credit-Notice")));
      if (!credited) await sleep(250);
    }
    check("token: B got the Credit-Notice (cranked by the MU)", credited);
    let stored = false;
    for (let i = 0; i < 120 && !stored; i++) {
      const q = `{ transactions(recipients:["${owner}"], tags:[{name:"Action", values:["Debit-Notice"]}]) ` +
                "{ edges { node { id owner { address } tags { name value } } } } }";
      const g = await fetch(info.gateway + "/graphql", { method: "POST",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify({ query: q }) })
        .then((r) => r.json()).catch(() => null);
      const edges = g && g.data && g.data.transactions ? g.data.transactions.edges : [];
      stored = edges.length === 1 && edges[0].node.owner.address === info.muAddress &&
        edges[0].node.tags.some((t) => t.name === "From-Process" && t.value === pidT);
      if (!stored) await sleep(250);
    }
    check("token: the Debit-Notice to the wallet is stored in the weave, signed by the MU", stored);
    const over = await ao.message({ process: pidT, signer, tags: [
      { name: "Action", value: "Transfer" }, { name: "Recipient", value: pidB },
      { name: "Quantity", value: "5000" }] });
    const overRes = await resultOf(ao, over, pidT);
    check("token: an overdraft answers Transfer-Error", (overRes.Messages || []).some((m) =>
      (m.Tags || []).some((t) => t.name === "Action" && t.value === "Transfer-Error")), short(overRes));

    // monitor / unmonitor
    let mon, unmon;
    try { mon = await ao.monitor({ process: pid, signer }); } catch (e) { mon = e; }
    check("monitor is accepted", typeof mon === "string" && mon.length === 43, String(mon));
    try { unmon = await ao.unmonitor({ process: pid, signer }); } catch (e) { unmon = e; }
    check("unmonitor is accepted", typeof unmon === "string" && unmon.length === 43, String(unmon));
  } catch (e) {
    check("no exception", false, e && e.stack ? e.stack : String(e));
  } finally {
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 30000);
    await exited;
    clearTimeout(timer);
    check("SIGTERM stops ao up with exit code 0", exitCode === 0, "exit " + exitCode);
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
main();
