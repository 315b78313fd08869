// mirror.js - the Arweave mirror and the holographic rebuild, driven by
// test_mirror.sh, with arlocal (tests/mirror/arlocal.js) as the upstream:
//   1. `ao up --upstream ARLOCAL` writes everything it stores through to
//      arlocal (bundles in L1 transactions, paid by the node's mirror
//      wallet, minted by the test); GET {gateway}/mirror and `ao status`
//      show the progress; nothing is confirmed before arlocal mines;
//   2. a workload of aos processes (evals, a counter, messages between
//      processes through the MU, a spawned child, an Error);
//   3. SIGKILL of the node while its mirror queue is not empty: after the
//      restart the queue drains and every item reaches arlocal;
//   4. everything stopped, every local data folder deleted, a fresh
//      `ao cu --gateway ARLOCAL --schedule-from-data` recomputes every
//      process from arlocal alone: each result and each /results page is
//      byte for byte the original;
//   4b. a fresh `ao up --upstream` runs a process of a module that only
//      arlocal has (the units' reads fall back upstream);
//   4c. `ao gateway --upstream` writes an item posted to it through;
//   5. bad --upstream values exit 2; a node without --upstream answers 404
//      on /mirror.
// Usage: node mirror.js AO_BINARY REPO WORKDIR. Prints "N passed, N failed".
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const [AO, REPO, WORK] = process.argv.slice(2);
let passed = 0, failed = 0;
function check(name, cond, why) {
    if (cond) { passed++; console.log('ok   ' + name); }
    else { failed++; console.log('FAIL ' + name + (why ? ' (' + why + ')' : '')); }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = [];

// Start a child; resolve once a line of its stdout matches `ready`.
async function start(name, cmd, args, ready, opts) {
    const out = fs.openSync(path.join(WORK, name + '.out'), 'w');
    const err = fs.openSync(path.join(WORK, name + '.err'), 'a');
    const child = spawn(cmd, args, Object.assign({ stdio: ['ignore', out, err] }, opts || {}));
    fs.closeSync(out);
    fs.closeSync(err);
    let exited = null;
    child.on('exit', (code, sig) => { exited = { code, sig }; });
    children.push(child);
    for (let i = 0; i < 600; i++) {
        const text = fs.readFileSync(path.join(WORK, name + '.out'), 'utf8');
        const m = text.split('\n').map((l) => ready.exec(l)).find((x) => x);
        if (m) return { child, match: m, get exited() { return exited; } };
        if (exited) break;
        await sleep(100);
    }
    throw new Error(name + ' did not start: ' + fs.readFileSync(path.join(WORK, name + '.err'), 'utf8').slice(-800));
}

function stop(p, signal) {
    return new Promise((resolve) => {
        if (p.exited) return resolve(p.exited);
        const t = setTimeout(() => resolve(null), 20000);
        p.child.on('exit', (code, sig) => { clearTimeout(t); resolve({ code, sig }); });
        p.child.kill(signal || 'SIGTERM');
    });
}

async function http(method, url, body, type) {
    const opt = { method, headers: {} };
    if (body !== undefined) { opt.body = body; opt.headers['content-type'] = type || 'application/octet-stream'; }
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), 120000);
    opt.signal = ctl.signal;
    try {
        const r = await fetch(url, opt);
        return { status: r.status, text: await r.text() };
    } catch (e) {
        return { status: -1, text: String(e) };
    } finally {
        clearTimeout(t);
    }
}

let node = null, info = null, arlocal = null;
const nodeDir = path.join(WORK, 'node');
const wallet = path.join(WORK, 'user.json');

function ao(args) {
    const r = spawnSync(AO, args.concat(['--node', path.join(nodeDir, 'node.json'), '--wallet', wallet,
                                         '--timeout', '60000']), { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ao ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    return r.stdout.trim();
}

async function startNode() {
    node = await start('node', AO, ['up', '--data', nodeDir, '--any-ports', '--upstream', arlocal,
                                    '--mirror-poll', '200', '--block-interval', '500'], /^ready/);
    info = JSON.parse(fs.readFileSync(path.join(nodeDir, 'node.json'), 'utf8'));
    // arlocal indexes a bundle's items at once only when their signers have
    // a wallet there (else at /mine, and not always: the reader copes with
    // both, by scanning bundles); a wallet of 0 is enough
    const user = spawnSync(AO, ['wallet', 'address', wallet], { encoding: 'utf8' }).stdout.trim();
    for (const a of [info.suAddress, info.muAddress, info.cuAddress, user])
        await http('GET', `${arlocal}/mint/${a}/0`);
}

async function mirrorStatus() {
    const r = await http('GET', info.gateway + '/mirror');
    if (r.status !== 200) throw new Error('/mirror: ' + r.status + ' ' + r.text);
    return JSON.parse(r.text);
}

// Mine on arlocal until the node's queue is empty and all is confirmed.
async function drain(label) {
    let s;
    for (let i = 0; i < 300; i++) {
        await http('GET', arlocal + '/mine');
        s = await mirrorStatus();
        if (s.pending === 0 && s.posted === 0 && s.confirmed > 0) break;
        await sleep(200);
    }
    check(`${label}: the mirror queue drains once arlocal mines`, s.pending === 0 && s.posted === 0,
          JSON.stringify(s));
    return s;
}

// Every scheduled message id of pid (the process first), from the SU.
async function scheduleIds(pid) {
    const ids = [];
    let from = null;
    for (;;) {
        const r = await http('GET', `${info.su}/${pid}?limit=500` + (from ? '&from=' + from : ''));
        if (r.status !== 200) throw new Error(`schedule of ${pid}: ${r.status} ${r.text}`);
        const j = JSON.parse(r.text);
        for (const e of j.edges) ids.push(e.node.message ? e.node.message.id : e.node.assignment.id);
        if (!j.page_info.has_next_page || !j.edges.length) return ids;
        from = j.edges[j.edges.length - 1].cursor;
    }
}

async function result(cu, msg, pid) {
    for (let i = 0; i < 600; i++) {
        const r = await http('GET', `${cu}/result/${msg}?process-id=${pid}`);
        if (r.status === 200) return r.text;
        if (r.status !== 202 && i > 50) return `HTTP ${r.status} ${r.text}`;
        await sleep(200);
    }
    return 'timeout';
}

async function resultsPages(cu, pid) {
    const pages = [];
    let from = null;
    for (;;) {
        const r = await http('GET', `${cu}/results/${pid}?sort=ASC&limit=7` + (from ? '&from=' + from : ''));
        pages.push(r.status + ' ' + r.text);
        if (r.status !== 200) return pages;
        const j = JSON.parse(r.text);
        if (!j.pageInfo.hasNextPage || !j.edges.length) return pages;
        from = j.edges[j.edges.length - 1].cursor;
    }
}

const sha = (t) => crypto.createHash('sha256').update(t).digest('hex');

async function main() {
    // ---- usage ----
    const bad = spawnSync(AO, ['up', '--upstream', 'ftp://x'], { encoding: 'utf8' });
    check('ao up: a bad --upstream exits 2', bad.status === 2 && bad.stderr.includes('--upstream'),
          `exit ${bad.status}: ${bad.stderr.slice(0, 200)}`);

    // ---- arlocal ----
    const a = await start('arlocal', 'node', [path.join(REPO, 'tests/mirror/arlocal.js'), '0',
                                              path.join(WORK, 'arlocal')],
                          /^arlocal listening on (\S+)/);
    arlocal = a.match[1];

    // ---- 1. the node writes through ----
    spawnSync(AO, ['wallet', 'new', '--type', 'arweave', '--out', wallet]);
    await startNode();
    check('node.json names the upstream and the paying address',
          info.upstream === arlocal && /^[A-Za-z0-9_-]{43}$/.test(info.mirrorAddress || ''));
    await sleep(1500);
    let s = await mirrorStatus();
    check('nothing is confirmed before arlocal mines', s.confirmed === 0, JSON.stringify(s));
    const mint = await http('GET', `${arlocal}/mint/${info.mirrorAddress}/1000000000000000`);
    check('arlocal funds the mirror wallet', mint.status === 200, mint.text);
    s = await drain('the module and the Scheduler-Location');
    const st = spawnSync(AO, ['status', '--node', path.join(nodeDir, 'node.json')], { encoding: 'utf8' });
    check('ao status shows the mirror', st.status === 0 && st.stdout.includes('mirror   ' + arlocal) &&
          /confirmed\s+[1-9]/.test(st.stdout), st.stdout + st.stderr);

    // ---- 2. a workload ----
    const A = ao(['spawn', '--name', 'mirror-a']);
    const B = ao(['spawn', '--name', 'mirror-b']);
    ao(['eval', A, 'Count = 0; Handlers.add("inc", "Inc", function(m) Count = Count + tonumber(m.Data) ' +
        'Send({Target = m.Tags.Peer, Action = "Echo", Data = tostring(Count)}) end)']);
    ao(['eval', B, 'Seen = {}; Handlers.add("echo", "Echo", function(m) table.insert(Seen, m.Data) end)']);
    for (let i = 1; i <= 6; i++)
        ao(['send', A, '--action', 'Inc', '--data', String(i), '--tag', 'Peer=' + B]);
    ao(['eval', A, 'Spawn(ao.env.Module.Id, {Data = "child"})']);
    spawnSync(AO, ['eval', A, 'error("on purpose")', '--node', path.join(nodeDir, 'node.json'),
                   '--wallet', wallet]);
    let seen = '';
    for (let i = 0; i < 100 && seen !== '6'; i++) {
        seen = ao(['eval', B, 'return #Seen']);
        await sleep(200);
    }
    check('the workload ran: B saw 6 echoes from A through the MU', seen === '6', seen);

    // ---- 3. SIGKILL with items still queued ----
    await sleep(300);
    s = await mirrorStatus();
    const queued = s.pending + s.posted;
    await stop(node, 'SIGKILL');
    await startNode();
    s = await mirrorStatus();
    check('after SIGKILL the queue is still there', s.pending + s.posted >= queued || s.confirmed > 0,
          `before ${queued}, after ${JSON.stringify(s)}`);
    await drain('after the restart');

    // the originals, as the node's own CU answers them
    const procs = [A, B];
    // the child A spawned (pushed by the MU), found through the gateway
    const q = await http('POST', info.gateway + '/graphql', JSON.stringify({ query:
        `{transactions(tags:[{name:"Type",values:["Process"]},{name:"From-Process",values:["${A}"]}]){edges{node{id}}}}` }),
        'application/json');
    const kids = q.status === 200 ? JSON.parse(q.text).data.transactions.edges.map((e) => e.node.id) : [];
    check('the spawned child is found on the gateway', kids.length === 1, q.status + ' ' + q.text.slice(0, 200));
    procs.push(...kids);
    const originals = {};
    for (const pid of procs) {
        originals[pid] = { ids: await scheduleIds(pid), results: {}, pages: null };
        for (const id of originals[pid].ids) originals[pid].results[id] = await result(info.cu, id, pid);
        originals[pid].pages = await resultsPages(info.cu, pid);
    }
    await drain('after the reads');   // every message evaluated above is upstream too
    const total = procs.reduce((n, p) => n + originals[p].ids.length, 0);
    check(`${procs.length} processes, ${total} scheduled messages to rebuild`, procs.length === 3 && total >= 20,
          `${procs.length} processes, ${total} messages`);

    // ---- 4. holographic rebuild ----
    await stop(node);
    fs.rmSync(nodeDir, { recursive: true, force: true });
    check('every local data folder is gone', !fs.existsSync(nodeDir));
    const cu = await start('cu', AO, ['cu', '--gateway', arlocal, '--schedule-from-data', '--data',
                                      path.join(WORK, 'fresh-cu'), '--port', '0'], /^listening on (\S+)/);
    const cuUrl = cu.match[1];
    for (const pid of procs) {
        let same = 0;
        const diff = [];
        for (const id of originals[pid].ids) {
            const got = await result(cuUrl, id, pid);
            if (sha(got) === sha(originals[pid].results[id])) same++;
            else diff.push(id.slice(0, 8) + ': ' + got.slice(0, 160));
        }
        check(`rebuild: all ${originals[pid].ids.length} results of ${pid.slice(0, 8)} identical from arlocal alone`,
              diff.length === 0 && same > 0, diff.slice(0, 3).join(' | '));
        const pages = await resultsPages(cuUrl, pid);
        check(`rebuild: /results pages of ${pid.slice(0, 8)} identical`,
              JSON.stringify(pages) === JSON.stringify(originals[pid].pages),
              `${pages.length} vs ${originals[pid].pages.length} pages`);
    }
    await stop(cu);

    // ---- 4b. reads fall back upstream: a fresh node runs the old module ----
    const oldModule = info.aosModule;
    fs.rmSync(nodeDir, { recursive: true, force: true });
    await startNode();
    check('the fresh node published its own module (the old one is not here)',
          info.aosModule !== oldModule, info.aosModule);
    const C = ao(['spawn', '--module', oldModule, '--name', 'mirror-c']);
    const c2 = ao(['eval', C, 'return 6 * 7']);
    check('a process of a module only upstream runs (read through to arlocal)', c2 === '42', c2);
    await stop(node);

    // ---- 4c. ao gateway --upstream ----
    const gwWallet = path.join(WORK, 'gw-wallet.json');
    spawnSync(AO, ['wallet', 'new', '--type', 'arweave', '--out', gwWallet]);
    const gwAddr = spawnSync(AO, ['wallet', 'address', gwWallet], { encoding: 'utf8' }).stdout.trim();
    const gw = await start('gateway', AO, ['gateway', '--data', path.join(WORK, 'gw'), '--port', '0',
                                           '--upstream', arlocal, '--upstream-wallet', gwWallet,
                                           '--mirror-poll', '200'], /^listening on (\S+)/);
    const gwUrl = gw.match[1];
    const payer = /paying address (\S+)\)/.exec(fs.readFileSync(path.join(WORK, 'gateway.out'), 'utf8'));
    check('ao gateway --upstream-wallet pays with that wallet', payer && payer[1] === gwAddr,
          (payer && payer[1]) + ' vs ' + gwAddr);
    await http('GET', `${arlocal}/mint/${gwAddr}/1000000000000000`);
    const itemFile = path.join(WORK, 'gw-item.bin');
    spawnSync(AO, ['item', 'sign', '--wallet', wallet, '--tag', 'Mirror-Test=gateway', '--data',
                   'through the gateway', '--out', itemFile]);
    const put = await http('POST', gwUrl + '/tx', fs.readFileSync(itemFile));
    const itemId = put.status === 200 ? JSON.parse(put.text).id : null;
    let gs = null;
    for (let i = 0; i < 100; i++) {
        await http('GET', arlocal + '/mine');
        gs = JSON.parse((await http('GET', gwUrl + '/mirror')).text);
        if (gs.pending === 0 && gs.posted === 0 && gs.confirmed > 0) break;
        await sleep(200);
    }
    const back = itemId ? await http('GET', `${arlocal}/${itemId}`) : { status: 0, text: put.text };
    const metrics = (await http('GET', gwUrl + '/metrics')).text;
    check('/metrics carries the mirror counts', /^ao_mirror_confirmed_items [1-9]/m.test(metrics) &&
          /^ao_mirror_pending_items 0/m.test(metrics), metrics.split('\n').filter((l) => l.includes('mirror')).join(' '));
    check('ao gateway --upstream writes an item through to arlocal',
          gs && gs.confirmed >= 1 && back.status === 200 && back.text === 'through the gateway',
          JSON.stringify(gs) + ' ' + back.status + ' ' + back.text.slice(0, 100));
    await stop(gw);

    // ---- 5. no upstream: /mirror is 404 ----
    node = await start('plain', AO, ['up', '--data', path.join(WORK, 'plain'), '--any-ports'], /^ready/);
    const plain = JSON.parse(fs.readFileSync(path.join(WORK, 'plain', 'node.json'), 'utf8'));
    const r = await http('GET', plain.gateway + '/mirror');
    check('a node without --upstream answers 404 JSON on /mirror', r.status === 404 && JSON.parse(r.text).error);
    await stop(node);
    await stop(a);
}

main().catch((e) => { failed++; console.log('FAIL ' + (e && e.stack ? e.stack : e)); })
    .finally(() => {
        for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
        console.log(`${passed} passed, ${failed} failed`);
        process.exit(failed ? 1 : 0);
    });
