// multi.js - the multi-machine acceptance test, driven by test_multi.sh:
// a gateway (`ao gateway`), two SUs (`ao su`), two CUs (`ao cu`) and one
// MU (`ao mu`, configured through --config) run as separate processes on
// loopback. The test publishes the aos module to the gateway (`ao item
// sign` + POST /tx), spawns process A on SU1 and process B on SU2 through
// the MU, and has them exchange Ping/Pong messages across the SUs.
//   1. every message of both schedules has the same result, byte for byte,
//      read from CU1 (the MU's CU) and from CU2 (which never saw them);
//   2. kill -9 of SU2 in the middle of the exchange: A on SU1 keeps
//      answering; after SU2 restarts every acknowledged message arrives
//      (the MU retries with backoff) and the schedules agree again;
//   3. kill -9 of CU1 (the MU's CU) in the middle of the exchange: CU2
//      keeps serving; after the restart every Ping gets its Pong;
//   4. SU2 restarts on another port: its new Scheduler-Location record is
//      followed by the MU and both CUs (their cached URL fails, they look
//      it up again);
//   5. bad flags and a bad config file exit 2 with a clear message; the
//      units answer /health and /metrics and stop on SIGTERM with code 0.
// The unit helpers (start, restart, sign, post, results, schedules) are in
// units.js. Usage: node multi.js AO_BINARY REPO WORKDIR. Prints
// "N passed, N failed".
'use strict';
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const [AO, REPO, WORK] = process.argv.slice(2);
const U = require('./units.js')(AO, WORK);
const { procs, sleep, start, waitExit, http, sign, result, output, scheduleIds, restart } = U;
let passed = 0, failed = 0;
function ok(name) { passed++; console.log('ok   ' + name); }
function bad(name, why) { failed++; console.log('FAIL ' + name + (why ? ' (' + why + ')' : '')); }
function check(name, cond, why) { if (cond) ok(name); else bad(name, why); }

const toMu = (item) => U.toMu(procs.mu.url, item);
const evalOn = (pid, code, cu) => U.evalOn(procs.mu.url, cu || procs.cu1.url, pid, code);

async function waitValue(pid, expr, want, cu, seconds) {
    let last;
    for (let i = 0; i < seconds * 2; i++) {
        last = await evalOn(pid, 'return ' + expr, cu);
        if (last === want) return true;
        await sleep(500);
    }
    console.log(`  ${expr} on ${pid} stayed ${last}, wanted ${want}`);
    return false;
}

// Result of every scheduled message of pid, from both CUs: equal bytes?
async function compareCus(su, pid, label) {
    const ids = await scheduleIds(su, pid);
    let same = 0, diff = [];
    for (const id of ids) {
        if (!id) continue;
        const a = await result(procs.cu1.url, id, pid);
        const b = await result(procs.cu2.url, id, pid);
        const ha = crypto.createHash('sha256').update(a).digest('hex');
        const hb = crypto.createHash('sha256').update(b).digest('hex');
        if (ha === hb) same++; else diff.push(id);
    }
    check(`${label}: all ${ids.length} results of ${pid.slice(0, 8)} identical on both CUs`,
          diff.length === 0 && same === ids.length && same > 0,
          `${same} same, differing: ${diff.join(',')}`);
    return ids.length;
}

async function main() {
    // ---- usage errors ----
    const usage = (args, pat, name) => {
        const r = spawnSync(AO, args, { encoding: 'utf8' });
        check(name, r.status === 2 && r.stderr.includes(pat), `exit ${r.status}: ${r.stderr.slice(0, 200)}`);
    };
    usage(['su', '--bogus'], "unexpected argument '--bogus'", 'ao su: unknown flag exits 2');
    usage(['su'], '--gateway URL is required', 'ao su: missing --gateway exits 2');
    usage(['cu', '--gateway', 'http://127.0.0.1:1', '--port', 'x'], 'option --port needs a valid value',
          'ao cu: bad port exits 2');
    usage(['mu', '--gateway', 'http://127.0.0.1:1'], '--cu-url URL is required', 'ao mu: missing --cu-url exits 2');
    usage(['cu', '--gateway', 'http://127.0.0.1:1', '--cu-url', 'http://x'], "unexpected argument '--cu-url'",
          'ao cu: a flag of another unit exits 2');
    fs.writeFileSync(path.join(WORK, 'bad.json'), '{"gateway":"http://127.0.0.1:1","colour":"red"}');
    usage(['cu', '--config', path.join(WORK, 'bad.json')], 'unknown setting "colour"',
          'ao cu: unknown config key exits 2');
    fs.writeFileSync(path.join(WORK, 'bad2.json'), '[1,2]');
    usage(['mu', '--config', path.join(WORK, 'bad2.json')], 'not a JSON object', 'ao mu: non-object config exits 2');
    usage(['su', '--gateway', 'http://127.0.0.1:1', '--wallet-type', 'dsa'], 'option --wallet-type needs a valid value',
          'ao su: bad wallet type exits 2');

    // ---- the network ----
    execFileSync(AO, ['wallet', 'new', '--type', 'ed25519', '--out', path.join(WORK, 'user.json')]);
    const gw = await start('gw', ['gateway', '--data', path.join(WORK, 'gw'), '--port', '0',
                                  '--block-interval', '200'], 'listening on');
    const common = (name) => ['--gateway', gw.url, '--data', path.join(WORK, name), '--port', '0',
                              '--log-level', 'warn'];
    const su1 = await start('su1', ['su', ...common('su1')], 'ready');
    const su2 = await start('su2', ['su', ...common('su2')], 'ready');
    const cu1 = await start('cu1', ['cu', ...common('cu1'), '--threads', '1'], 'ready');
    const cu2 = await start('cu2', ['cu', ...common('cu2'), '--threads', '1'], 'ready');
    const muConfig = path.join(WORK, 'mu.json');
    fs.writeFileSync(muConfig, JSON.stringify({ gateway: gw.url, 'cu-url': cu1.url, data: path.join(WORK, 'mu'),
                                               port: 0, backoff: 100, 'backoff-max': 1000,
                                               'max-attempts': 10000, 'log-level': 'warn' }));
    const mu = await start('mu', ['mu', '--config', muConfig], 'ready');
    check('five units and a gateway start as separate processes',
          [su1, su2, cu1, cu2, mu].every((p) => /^http:\/\/127\.0\.0\.1:\d+$/.test(p.url) && p.address.length === 43));
    check('the two SUs have different addresses', su1.address !== su2.address);
    for (const n of ['su1', 'cu1', 'mu']) {
        const h = await http('GET', procs[n].url + '/health');
        const m = await http('GET', procs[n].url + '/metrics');
        check(`${n} answers /health and /metrics`, h.status === 200 && h.text.includes('"ok"') &&
              m.status === 200 && m.text.includes('# TYPE '));
    }
    const loc = await http('POST', gw.url + '/graphql', JSON.stringify({
        query: `{transactions(owners:["${su2.address}"],tags:[{name:"Type",values:["Scheduler-Location"]}]){edges{node{tags{name value}}}}}`
    }), 'application/json');
    check('each SU published its Scheduler-Location in the gateway', loc.status === 200 && loc.text.includes(su2.url),
          loc.text.slice(0, 300));

    // the aos module, published by the test
    const wasm = path.join(REPO, 'build', 'aos.wasm');
    const mod = sign(['Data-Protocol=ao', 'Type=Module', 'Module-Format=emscripten-3.1.6',
                      'Input-Encoding=JSON-1', 'Output-Encoding=JSON-1', 'Variant=ao.TN.1',
                      'Content-Type=application/wasm', 'Memory-Limit=1-gb',
                      'Compute-Limit=9000000000000', 'Name=aos'], '@' + wasm);
    const put = await http('POST', gw.url + '/tx', mod.raw);
    check('the aos module is published to the gateway', put.status === 200, put.text);

    const spawnOn = async (su, name) => {
        const p = sign(['Data-Protocol=ao', 'Variant=ao.TN.1', 'Type=Process', 'Module=' + mod.id,
                        'Scheduler=' + su.address, 'Authority=' + mu.address, 'Name=' + name,
                        'App-Name=aos', 'Content-Type=text/plain', 'SDK=ao-test'], ' ');
        await toMu(p);
        await result(cu1.url, p.id, p.id);
        return p.id;
    };
    const A = await spawnOn(su1, 'A');
    const B = await spawnOn(su2, 'B');
    const sA = await scheduleIds(su1.url, A), sB = await scheduleIds(su2.url, B);
    check('A is scheduled on SU1 and B on SU2', sA[0] === A && sB[0] === B);
    const notB = await http('GET', `${su1.url}/${B}`);
    check('SU1 does not hold B', notB.status !== 200, String(notB.status));

    // handlers: B answers each Ping with a Pong; A counts its Pongs
    await evalOn(B, "Pings = 0; Handlers.add('ping', Handlers.utils.hasMatchingTag('Action', 'Ping'), " +
                    "function (msg) Pings = Pings + 1; Send({ Target = msg.From, Action = 'Pong', Data = tostring(Pings) }) end); return 'b'");
    await evalOn(A, "Pongs = 0; Last = ''; Handlers.add('pong', Handlers.utils.hasMatchingTag('Action', 'Pong'), " +
                    "function (msg) Pongs = Pongs + 1; Last = msg.Data end); return 'a'");
    const ping = (n) => evalOn(A, `for i = 1, ${n} do Send({ Target = '${B}', Action = 'Ping' }) end; return 'sent'`);
    await ping(3);
    check('A on SU1 and B on SU2 exchange 3 Ping/Pong pairs through the MU', await waitValue(A, 'Pongs', '3', cu1.url, 60));
    check('B counted the Pings it received', await waitValue(B, 'Pings', '3', cu1.url, 30));
    await compareCus(su1.url, A, 'acceptance 1');
    await compareCus(su2.url, B, 'acceptance 1');

    // ---- kill -9 SU2 in the middle of the exchange ----
    await ping(2);
    procs.su2.child.kill('SIGKILL');
    await waitExit(procs.su2, 10000);
    await ping(2);   // acknowledged by the MU; B's SU is down
    const aAlive = await evalOn(A, 'return 40 + 2');
    check('with SU2 killed, A on SU1 keeps answering', aAlive === '42', aAlive);
    await restart('su2');
    check('after SU2 restarts, every acknowledged Ping got its Pong (7)', await waitValue(A, 'Pongs', '7', cu1.url, 120));
    check('B received all 7 Pings exactly once', await waitValue(B, 'Pings', '7', cu1.url, 30));

    // ---- kill -9 CU1 (the MU's CU) in the middle of the exchange ----
    await ping(2);
    procs.cu1.child.kill('SIGKILL');
    await waitExit(procs.cu1, 10000);
    const m = sign(['Data-Protocol=ao', 'Variant=ao.TN.1', 'Type=Message', 'Action=Eval', 'SDK=ao-test'],
                   'return 6 * 7', A);
    const ack = await toMu(m);
    check('with CU1 killed, the MU still acknowledges messages', ack.id === m.id);
    const viaCu2 = output(await result(cu2.url, m.id, A));
    check('with CU1 killed, CU2 serves A', viaCu2 === '42', viaCu2);
    await restart('cu1');
    check('after CU1 restarts, every Ping got its Pong (9)', await waitValue(A, 'Pongs', '9', cu1.url, 120));
    check('B received all 9 Pings exactly once', await waitValue(B, 'Pings', '9', cu2.url, 60));
    // ---- SU2 moves to another port: a new Scheduler-Location is followed ----
    const oldUrl = procs.su2.url;
    procs.su2.child.kill('SIGTERM');
    await waitExit(procs.su2, 30000);
    const anyPort = procs.su2.args.map((a, i, all) => (all[i - 1] === '--port' ? '0' : a));
    await start('su2', anyPort, 'ready');   // --port 0: a new free port
    check('SU2 restarted on another port', procs.su2.url !== oldUrl, procs.su2.url);
    await ping(2);
    check('after SU2 moved, the MU and the CUs follow its new Scheduler-Location (11 Pongs)',
          await waitValue(A, 'Pongs', '11', cu1.url, 120));
    check('B received all 11 Pings exactly once, read from CU2', await waitValue(B, 'Pings', '11', cu2.url, 60));
    await compareCus(su1.url, A, 'after the kills');
    await compareCus(procs.su2.url, B, 'after the kills');

    // ---- clean stops ----
    for (const n of ['mu', 'cu1', 'cu2', 'su1', 'su2', 'gw']) {
        procs[n].child.kill('SIGTERM');
        const e = await waitExit(procs[n], 30000);
        check(`${n} stops on SIGTERM with exit code 0`, e && e.code === 0, JSON.stringify(e));
    }
}

main().catch((e) => bad('the workload ran to the end', e.stack || String(e))).finally(() => {
    for (const n of Object.keys(procs))
        if (!procs[n].exited) procs[n].child.kill('SIGKILL');
    console.log(`${passed} passed, ${failed} failed`);
    process.exitCode = failed ? 1 : 0;
});
