// kill_units.js - the fault harness for the separate units, driven by
// test_kill_units.sh: `ao gateway`, `ao su`, `ao cu` and `ao mu` run as
// separate processes on loopback (as tests/multi/multi.js runs them), and
// each round SIGKILLs one of them (every 4th kill of a unit after a
// SIGSTOP of 0.5-2 s and a SIGCONT) at a random moment (50-1500 ms) while a
// workload posts messages, then restarts it on the same data folder and
// port and waits until it answers /health. The workload: process A's
// handler makes each `Action=Go` message Send one `Note` to process B (one
// MU push per Go), B counts its Notes; two clients post Go messages to A
// through the MU, retrying a post that got no 202 with the same bytes until
// it does (as a client does). After the rounds, once the MU is quiescent
// (queue depth 0, no dead letters), it checks:
//   1. no acknowledged message lost: every id the MU answered 202 is in A's
//      SU schedule;
//   2. no slot reused: A's and B's nonces are 0..n-1, ids unique, the
//      Hash-Chain valid link by link (PROTOCOL.md §2.3);
//   3. no push duplicated or lost: B's schedule holds exactly one message
//      Pushed-For each Go message of A's schedule, and nothing else from A;
//   4. every result equal to a fault-free run: a fresh `ao cu` (new data
//      folder, same gateway and SU) answers every message of A's and B's
//      schedules with the same bytes (SHA-256) as the running CU;
//   5. B's own count of Notes equals the number of Go messages of A.
// Environment: FAULT_UNIT = su|cu|mu|gateway|all (default all: rotate),
// FAULT_ROUNDS (default 2 per unit: 8 with all), FAULT_SEED (default the
// time; printed). Usage: node kill_units.js AO_BINARY REPO WORKDIR.
// Prints "N passed, N failed".
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const [AO, REPO, WORK] = process.argv.slice(2);
const U = require('../multi/units.js')(AO, WORK);
const { procs, sleep, start, waitExit, http, sign, signAsync, result, output, schedule } = U;

let passed = 0, failed = 0;
function ok(name) { passed++; console.log('ok   ' + name); }
function bad(name, why) { failed++; console.log('FAIL ' + name + (why ? ' (' + why + ')' : '')); }
function check(name, cond, why) { if (cond) ok(name); else bad(name, why); }
const log = (s) => console.log('  ' + s);
const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(1) + 's';

// ---- settings ----
const UNITS = ['su', 'cu', 'mu', 'gateway'];
const NAME = { su: 'su', cu: 'cu', mu: 'mu', gateway: 'gw' };   // unit -> procs key
const unitSel = process.env.FAULT_UNIT || 'all';
const rounds = process.env.FAULT_ROUNDS ? Number(process.env.FAULT_ROUNDS)
                                        : (unitSel === 'all' ? 2 * UNITS.length : 2);
if ((unitSel !== 'all' && !UNITS.includes(unitSel)) || !Number.isInteger(rounds) || rounds < 1 ||
    (process.env.FAULT_SEED && !/^\d+$/.test(process.env.FAULT_SEED))) {
    console.log(`FAIL FAULT_UNIT must be su, cu, mu, gateway or all (got '${unitSel}'), ` +
                `FAULT_ROUNDS a whole number >= 1, FAULT_SEED a whole number`);
    console.log('0 passed, 1 failed');
    process.exit(1);
}
const seed = process.env.FAULT_SEED ? (parseInt(process.env.FAULT_SEED, 10) >>> 0)
                                    : (Date.now() % 4294967296) >>> 0;
const WORKERS = 2;            // concurrent clients posting Go messages
const QUIESCE_STALL_S = 120;  // give up when the MU's queue makes no progress this long
const QUIESCE_MAX_S = 1800;   // and in any case after this long

// A small seeded generator (xorshift32) so a seed replays the same kill plan.
let rs = seed || 1;
function rand() {
    rs ^= rs << 13; rs >>>= 0;
    rs ^= rs >>> 17;
    rs ^= rs << 5; rs >>>= 0;
    return rs / 4294967296;
}
const between = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');
const tag = (tags, name) => { const t = (tags || []).find((x) => x.name === name); return t ? t.value : undefined; };

// ---- units ----
async function waitHealth(url, seconds) {
    for (let i = 0; i < seconds * 10; i++) {
        const r = await http('GET', url + '/health', undefined, undefined, 2000);
        if (r.status === 200) return true;
        await sleep(100);
    }
    return false;
}

// Restarts unit `name` on its port; the port may take a moment to be free
// again, so a start that fails is tried again (at most 20 times).
async function restartSamePort(name) {
    const before = procs[name].url;
    let lastErr;
    for (let i = 0; i < 20; i++) {
        try {
            const p = await U.restart(name);
            if (p.url !== before) throw new Error(`${name} came back on ${p.url}, not ${before}`);
            if (i) log(`${name} started on try ${i + 1} (${lastErr.message.split('\n')[0]})`);
            return p;
        } catch (e) {
            lastErr = e;
            if (procs[name].exited === null) throw e;   // running but odd: do not hide it
            await sleep(250);
        }
    }
    throw lastErr;
}

// ---- the workload ----
const acked = [];            // ids the MU answered 202
const ackedSet = new Set();
let retried = 0;             // of them, acknowledged only after a retry
const failures = {};         // status of failed posts -> count
let stopWork = false;         // the rounds are over: finish the post in hand, then stop
let aborted = false;          // the harness failed: stop at once
let goSeq = 0;
const MAX_GOS = 1000000;

async function worker(mu, A) {
    while (!stopWork && !aborted && goSeq < MAX_GOS) {
        const n = ++goSeq;
        const item = await signAsync(['Data-Protocol=ao', 'Variant=ao.TN.1', 'Type=Message', 'Action=Go',
                                      'SDK=ao-test'], 'go ' + n, A);
        const started = Date.now();
        for (let tries = 0; !aborted; tries++) {
            const r = await http('POST', mu + '/', item.raw, undefined, 15000);
            let id = null;
            if (r.status === 202) { try { id = JSON.parse(r.text).id; } catch (e) { id = null; } }
            if (id === item.id) {
                acked.push(item.id);
                ackedSet.add(item.id);
                if (tries) retried++;
                break;
            }
            const k = r.status === -1 ? 'no answer' : String(r.status);
            failures[k] = (failures[k] || 0) + 1;
            if (tries >= 2000 || Date.now() - started > 300000)
                throw new Error(`the MU never acknowledged ${item.id}: last ${r.status} ${r.text.slice(0, 200)}`);
            await sleep(100);   // the unit is down: the same bytes again, soon
        }
    }
}

// ---- the MU's queue ----
async function muDepth(mu) {
    const r = await http('GET', mu + '/metrics', undefined, undefined, 10000);
    if (r.status !== 200) return null;
    const m = /^ao_mu_queue_depth\s+(\d+)/m.exec(r.text);
    return m ? parseInt(m[1], 10) : null;
}

async function waitQuiescent(mu) {
    const began = Date.now();
    let best = Infinity, bestAt = Date.now(), zeros = 0, depth = null, lastPrint = Date.now();
    while (Date.now() - began < QUIESCE_MAX_S * 1000) {
        depth = await muDepth(mu);
        if (depth === 0) { if (++zeros >= 3) return { ok: true, s: (Date.now() - began) / 1000 }; }
        else zeros = 0;
        if (depth !== null && depth < best) { best = depth; bestAt = Date.now(); }
        if (Date.now() - bestAt > QUIESCE_STALL_S * 1000) break;
        if (Date.now() - lastPrint > 30000) { log(`waiting for the MU: queue depth ${depth}`); lastPrint = Date.now(); }
        await sleep(depth === 0 ? 300 : 1000);
    }
    return { ok: false, depth, s: (Date.now() - began) / 1000 };
}

// ---- the schedule checks ----
function chainProblems(pid, nodes) {
    const bad = [];
    const seen = new Map();
    let prevAssign = null, prevChain = null;
    nodes.forEach((n, i) => {
        const at = n.assignment && n.assignment.tags;
        const nonce = tag(at, 'Nonce'), hc = tag(at, 'Hash-Chain'), msg = tag(at, 'Message');
        const aid = n.assignment && n.assignment.id;
        if (String(nonce) !== String(i)) bad.push(`slot ${i} has nonce ${nonce}`);
        const id = msg || (n.message && n.message.id);
        if (seen.has(id)) bad.push(`message ${id} in slots ${seen.get(id)} and ${i}`);
        else seen.set(id, i);
        const h = crypto.createHash('sha256');
        if (i === 0) h.update(Buffer.from(pid, 'base64url'));
        else { h.update(Buffer.from(prevAssign, 'base64url')); h.update(Buffer.from(prevChain, 'base64url')); }
        const want = h.digest('base64url');
        if (hc !== want) bad.push(`Hash-Chain broken at nonce ${i}: ${hc}, expected ${want}`);
        prevAssign = aid;
        prevChain = hc;
    });
    return bad;
}

// Result bodies of ids on pid from two CUs, compared by SHA-256, a few
// requests at a time.
async function compareResults(cuA, cuB, pid, ids) {
    const diff = [];
    let same = 0, next = 0;
    async function one() {
        while (next < ids.length) {
            const id = ids[next++];
            const [a, b] = await Promise.all([result(cuA, id, pid, 300), result(cuB, id, pid, 300)]);
            if (sha(a) === sha(b)) same++;
            else if (diff.push({ id, a: a.slice(0, 300), b: b.slice(0, 300) }) > 20) return;
        }
    }
    await Promise.all([one(), one(), one(), one()]);
    return { same, diff };
}

async function main() {
    console.log(`kill harness: FAULT_UNIT=${unitSel} FAULT_ROUNDS=${rounds} FAULT_SEED=${seed}`);
    execFileSync(AO, ['wallet', 'new', '--type', 'ed25519', '--out', path.join(WORK, 'user.json')]);

    // ---- the network ----
    const gw = await start('gw', ['gateway', '--data', path.join(WORK, 'gw'), '--port', '0',
                                  '--block-interval', '200'], 'listening on');
    const common = (name) => ['--gateway', gw.url, '--data', path.join(WORK, name), '--port', '0',
                              '--log-level', 'warn'];
    const su = await start('su', ['su', ...common('su')], 'ready');
    const cu = await start('cu', ['cu', ...common('cu')], 'ready');
    const mu = await start('mu', ['mu', ...common('mu'), '--cu-url', cu.url, '--max-attempts', '1000000',
                                  '--backoff', '50', '--backoff-max', '500'], 'ready');
    check('the gateway, SU, CU and MU start as separate processes',
          [gw, su, cu, mu].every((p) => /^http:\/\/127\.0\.0\.1:\d+$/.test(p.url)));

    const wasm = path.join(REPO, 'build', 'aos.wasm');
    const mod = sign(['Data-Protocol=ao', 'Type=Module', 'Module-Format=emscripten-3.1.6',
                      'Input-Encoding=JSON-1', 'Output-Encoding=JSON-1', 'Variant=ao.TN.1',
                      'Content-Type=application/wasm', 'Memory-Limit=1-gb',
                      'Compute-Limit=9000000000000', 'Name=aos'], '@' + wasm);
    const put = await http('POST', gw.url + '/tx', mod.raw);
    if (put.status !== 200) throw new Error('publishing the module: ' + put.status + ' ' + put.text);
    const spawnProc = async (name) => {
        const p = sign(['Data-Protocol=ao', 'Variant=ao.TN.1', 'Type=Process', 'Module=' + mod.id,
                        'Scheduler=' + su.address, 'Authority=' + mu.address, 'Name=' + name,
                        'App-Name=aos', 'Content-Type=text/plain', 'SDK=ao-test'], ' ');
        await U.toMu(mu.url, p);
        await result(cu.url, p.id, p.id);
        return p.id;
    };
    const A = await spawnProc('kill-a');
    const B = await spawnProc('kill-b');
    const evalOn = (pid, code) => U.evalOn(procs.mu.url, procs.cu.url, pid, code);
    await evalOn(B, `Count = 0; Handlers.add('note', Handlers.utils.hasMatchingTag('Action', 'Note'), ` +
                    `function (msg) if msg.From == '${A}' then Count = Count + 1 end end); return 'b'`);
    await evalOn(A, `Gos = 0; Handlers.add('go', Handlers.utils.hasMatchingTag('Action', 'Go'), ` +
                    `function (msg) Gos = Gos + 1; Send({ Target = '${B}', Action = 'Note', Data = tostring(Gos) }) end); ` +
                    `return 'a'`);
    log(`A ${A}, B ${B}; set up in ${secs()}`);

    // ---- the rounds ----
    const workers = [];
    for (let w = 0; w < WORKERS; w++) workers.push(worker(mu.url, A));
    let workErr = null;
    const work = Promise.all(workers).catch((e) => { workErr = e; stopWork = true; });
    const kills = {}, stops = {};
    for (const u of UNITS) { kills[u] = 0; stops[u] = 0; }
    let restartProblems = [];
    for (let r = 0; r < rounds && !workErr; r++) {
        const unit = unitSel === 'all' ? UNITS[r % UNITS.length] : unitSel;
        const name = NAME[unit];
        const p = procs[name];
        const wait = between(50, 1500);
        await sleep(wait);
        let how = 'kill';
        if (kills[unit] % 4 === 1) {   // every 4th kill of a unit (its 2nd, 6th, ...) after a stop
            const st = between(500, 2000);
            p.child.kill('SIGSTOP');
            await sleep(st);
            p.child.kill('SIGCONT');
            await sleep(between(0, 300));
            how = `stop ${st} ms, kill`;
            stops[unit]++;
        }
        p.child.kill('SIGKILL');
        const e = await waitExit(p, 10000);
        kills[unit]++;
        if (!e) throw new Error(`${name} did not die on SIGKILL`);
        const rs0 = Date.now();
        await restartSamePort(name);
        const healthy = await waitHealth(procs[name].url, 60);
        if (!healthy) restartProblems.push(`round ${r + 1}: ${name} did not answer /health`);
        log(`round ${r + 1}/${rounds} ${unit}: after ${wait} ms ${how}; back in ${Date.now() - rs0} ms; ` +
            `${acked.length} acknowledged (${secs()})`);
    }
    stopWork = true;
    await work;
    if (workErr) throw workErr;
    const nkills = Object.values(kills).reduce((a, b) => a + b, 0);
    const nstops = Object.values(stops).reduce((a, b) => a + b, 0);
    log(`${nkills} kills (${UNITS.map((u) => `${u} ${kills[u]}`).join(', ')}), ${nstops} after a SIGSTOP; ` +
        `${acked.length} Go messages acknowledged, ${retried} after a retry; failed posts: ${JSON.stringify(failures)}`);
    check(`every killed unit came back on its port and answered /health (${nkills} restarts)`,
          restartProblems.length === 0 && nkills === rounds, restartProblems.join('; '));

    // ---- quiescence ----
    let q = await waitQuiescent(procs.mu.url);
    log(`MU quiescent after ${q.s.toFixed(1)} s (${q.ok ? 'queue depth 0' : 'depth still ' + q.depth})`);
    const count = await evalOn(B, 'return Count');   // check 5; its Eval is then in B's schedule too
    q = await waitQuiescent(procs.mu.url);
    const dl = await http('GET', procs.mu.url + '/dead-letters');
    let dead = null;
    try { dead = JSON.parse(dl.text).deadLetters; } catch (e) { dead = null; }
    check('the MU drains its queue (depth 0) and holds no dead letters',
          q.ok && Array.isArray(dead) && dead.length === 0,
          `depth ${q.depth}, dead letters: ${dl.text.slice(0, 600)}`);

    // ---- 1. no acknowledged message lost ----
    const sa = await schedule(procs.su.url, A);
    const sb = await schedule(procs.su.url, B);
    const idOf = (n) => tag(n.assignment && n.assignment.tags, 'Message') || (n.message && n.message.id);
    const aIds = sa.map(idOf), bIds = sb.map(idOf);
    const aSet = new Set(aIds);
    const lost = acked.filter((id) => !aSet.has(id));
    const gos = sa.filter((n) => n.message && tag(n.message.tags, 'Action') === 'Go').map(idOf);
    const unackedGos = gos.filter((id) => !ackedSet.has(id));
    log(`A: ${sa.length} slots, ${gos.length} Go messages (${unackedGos.length} never acknowledged); B: ${sb.length} slots`);
    check(`1. no acknowledged message lost: all ${acked.length} acknowledged ids are in A's schedule`,
          lost.length === 0 && acked.length > 0, `${lost.length} missing: ${lost.slice(0, 10).join(', ')}`);

    // ---- 2. no slot reused ----
    const pa = chainProblems(A, sa), pb = chainProblems(B, sb);
    check(`2. no slot reused: A's ${sa.length} and B's ${sb.length} nonces are 0..n-1, ids unique, Hash-Chain valid`,
          pa.length === 0 && pb.length === 0 && sa.length > 1 && sb.length > 1,
          [...pa.map((x) => 'A: ' + x), ...pb.map((x) => 'B: ' + x)].slice(0, 10).join('; '));

    // ---- 3. no push duplicated or lost ----
    const goSet = new Set(gos);
    const pushes = new Map();
    const strays = [];
    for (const n of sb) {
        if (!n.message) continue;
        const mt = n.message.tags;
        const from = tag(mt, 'From-Process'), pf = tag(mt, 'Pushed-For');
        if (from !== A && pf === undefined) continue;   // B's own Evals
        if (from !== A || !goSet.has(pf)) { strays.push(`${idOf(n)} (From-Process ${from}, Pushed-For ${pf})`); continue; }
        pushes.set(pf, (pushes.get(pf) || 0) + 1);
    }
    const dups = [...pushes].filter(([, c]) => c > 1).map(([id, c]) => `${id} x${c}`);
    const missing = gos.filter((id) => !pushes.has(id));
    check(`3. no push duplicated or lost: B holds exactly one push for each of A's ${gos.length} Go messages`,
          dups.length === 0 && missing.length === 0 && strays.length === 0 && gos.length > 0,
          `duplicated: ${dups.slice(0, 10).join(', ')}; missing: ${missing.slice(0, 10).join(', ')} ` +
          `(${missing.length}); other messages from A: ${strays.slice(0, 5).join(', ')} (${strays.length})`);

    // ---- 4. every result equal to a fault-free run ----
    const fresh = await start('cu-fresh', ['cu', ...common('cu-fresh')], 'ready');
    const f0 = Date.now();
    await result(fresh.url, aIds[aIds.length - 1], A, 600);   // evaluate the whole schedules first
    await result(fresh.url, bIds[bIds.length - 1], B, 600);
    const ra = await compareResults(procs.cu.url, fresh.url, A, aIds);
    const rb = await compareResults(procs.cu.url, fresh.url, B, bIds);
    log(`fresh CU: ${aIds.length + bIds.length} results compared in ${((Date.now() - f0) / 1000).toFixed(1)} s`);
    const diffs = [...ra.diff, ...rb.diff];
    for (const d of diffs.slice(0, 3)) log(`differs ${d.id}:\n    running ${d.a}\n    fresh   ${d.b}`);
    check(`4. every result equal to a fault-free run: ${ra.same + rb.same} of ${aIds.length + bIds.length} ` +
          `results of A and B identical (SHA-256) on a fresh CU`,
          diffs.length === 0 && ra.same === aIds.length && rb.same === bIds.length,
          `${diffs.length} differ: ${diffs.slice(0, 10).map((d) => d.id).join(', ')}`);

    // ---- 5. B's own count ----
    check(`5. B counted ${count} Notes, the number of Go messages in A's schedule (${gos.length})`,
          count === String(gos.length), `Count = ${count}`);

    for (const n of Object.keys(procs)) {
        procs[n].child.kill('SIGTERM');
        await waitExit(procs[n], 30000);
    }
    console.log(`summary: unit ${unitSel}, seed ${seed}, ${nkills} rounds (${nstops} after a SIGSTOP), ` +
                `${acked.length} acknowledged (${retried} after a retry), A ${sa.length} slots, B ${sb.length} slots, ` +
                `${failed} violations, ${secs()}`);
}

main().catch((e) => bad('the harness ran to the end', e.stack || String(e))).finally(() => {
    stopWork = true;
    aborted = true;
    for (const n of Object.keys(procs)) {
        if (procs[n].exited) continue;
        procs[n].child.kill('SIGCONT');
        procs[n].child.kill('SIGKILL');
    }
    console.log(`${passed} passed, ${failed} failed`);
    process.exitCode = failed ? 1 : 0;
});
