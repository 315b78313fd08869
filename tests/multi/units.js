// units.js - helpers shared by the tests that run the units as separate
// `ao` processes (tests/multi/multi.js, tests/faults/kill_units.js):
// start a unit and wait for its ready line, restart it on the same port,
// wait for an exit, HTTP with a timeout, sign items with `ao item sign`,
// post to an MU with retries, read a CU result and its output, Eval through
// an MU, and read an SU schedule page by page. Every URL is passed in by
// the caller. Usage:
//   const U = require('../multi/units.js')(AO_BINARY, WORKDIR);
//   const gw = await U.start('gw', ['gateway', ...], 'listening on');
// Each started unit is U.procs[name] = {child, args, url, address, exited};
// its stdout goes to WORKDIR/NAME.out, its stderr to WORKDIR/NAME.err.
'use strict';
const { spawn, spawnSync, execFile } = require('child_process');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

module.exports = (AO, WORK) => {
    const procs = {};
    let seq = 0;

    // Starts `ao ARGS` as unit NAME and waits (at most 120 s) for a stdout
    // line starting with readyLine; reads "listening on URL" and "address".
    async function start(name, args, readyLine) {
        const outPath = path.join(WORK, name + '.out');
        const errFd = fs.openSync(path.join(WORK, name + '.err'), 'a');
        const outFd = fs.openSync(outPath, 'w');
        const child = spawn(AO, args, { stdio: ['ignore', outFd, errFd] });
        fs.closeSync(outFd);
        fs.closeSync(errFd);
        let exited = null;
        child.on('exit', (code, sig) => { exited = { code, sig }; });
        const p = { child, args, get exited() { return exited; } };
        procs[name] = p;
        for (let i = 0; i < 1200; i++) {
            const text = fs.readFileSync(outPath, 'utf8');
            if (text.split('\n').some((l) => l.startsWith(readyLine))) {
                const m = /listening on (\S+)/.exec(text);
                const a = /^address (\S+)/m.exec(text);
                p.url = m && m[1];
                p.address = a && a[1];
                return p;
            }
            if (exited) break;
            await sleep(100);
        }
        throw new Error(name + ' did not start: ' +
                        fs.readFileSync(path.join(WORK, name + '.err'), 'utf8').slice(-800));
    }

    // Resolves with {code, sig} once p has exited, or null after ms.
    function waitExit(p, ms) {
        return new Promise((resolve) => {
            if (p.exited) return resolve(p.exited);
            const t = setTimeout(() => resolve(null), ms);
            p.child.on('exit', (code, sig) => { clearTimeout(t); resolve({ code, sig }); });
        });
    }

    // One HTTP request; {status, text}, status -1 on a network error or
    // after timeoutMs (default 120 s).
    async function http(method, url, body, type, timeoutMs) {
        const opt = { method, headers: {} };
        if (body !== undefined && body !== null) {
            opt.body = body;
            opt.headers['content-type'] = type || 'application/octet-stream';
        }
        const ctl = new AbortController();
        const t = setTimeout(() => ctl.abort(), timeoutMs || 120000);
        opt.signal = ctl.signal;
        try {
            const r = await fetch(url, opt);
            const text = await r.text();
            return { status: r.status, text };
        } catch (e) {
            return { status: -1, text: String(e) };
        } finally {
            clearTimeout(t);
        }
    }

    function signArgs(tags, data, target, wallet, out) {
        const args = ['item', 'sign', '--wallet', wallet || path.join(WORK, 'user.json'), '--out', out];
        for (const t of tags) args.push('--tag', t);
        if (target) args.push('--target', target);
        args.push('--anchor', crypto.randomBytes(16).toString('hex'));
        if (data !== undefined) args.push('--data', data);
        return args;
    }

    // Signs an item through `ao item sign` (default wallet WORK/user.json);
    // returns {raw, id}.
    function sign(tags, data, target, wallet) {
        const out = path.join(WORK, 'item-' + (seq++) + '.bin');
        const r = spawnSync(AO, signArgs(tags, data, target, wallet, out), { encoding: 'utf8' });
        if (r.status !== 0) throw new Error('ao item sign: ' + r.stderr);
        const raw = fs.readFileSync(out);
        fs.unlinkSync(out);
        return { raw, id: r.stderr.trim().split('\n').pop().trim() };
    }

    // The same without blocking the event loop (for workloads that run
    // while timers kill units).
    function signAsync(tags, data, target, wallet) {
        const out = path.join(WORK, 'item-' + (seq++) + '.bin');
        return new Promise((resolve, reject) => {
            execFile(AO, signArgs(tags, data, target, wallet, out), { encoding: 'utf8' }, (e, so, se) => {
                if (e) return reject(new Error('ao item sign: ' + se));
                const raw = fs.readFileSync(out);
                fs.unlinkSync(out);
                resolve({ raw, id: se.trim().split('\n').pop().trim() });
            });
        });
    }

    // POSTs a signed item to the MU until it answers 202 (at most `tries`
    // times, 200 ms apart); returns the parsed answer.
    async function toMu(mu, item, tries) {
        for (let i = 0; i < (tries || 50); i++) {
            const r = await http('POST', mu + '/', item.raw);
            if (r.status === 202) return JSON.parse(r.text);
            await sleep(200);
        }
        throw new Error('MU refused ' + item.id);
    }

    // The result JSON text of msg on process pid from the CU at `cu`,
    // waiting up to `seconds` (default 120) for it.
    async function result(cu, msg, pid, seconds) {
        const n = (seconds || 120) * 5;
        let last;
        for (let i = 0; i < n; i++) {
            last = await http('GET', `${cu}/result/${msg}?process-id=${pid}`);
            if (last.status === 200) return last.text;
            await sleep(200);
        }
        throw new Error(`no result for ${msg} on ${cu}: ${last.status} ${last.text.slice(0, 200)}`);
    }

    // The Output of a result JSON as a string; throws on an Error result.
    function output(text) {
        const j = JSON.parse(text);
        if (j.Error) throw new Error('Error: ' + JSON.stringify(j.Error));
        const o = j.Output;
        return typeof o === 'object' && o ? String(o.data) : String(o);
    }

    // Evaluates Lua `code` in pid: an Eval posted to the MU, its output
    // read from the CU.
    async function evalOn(mu, cu, pid, code) {
        const m = sign(['Data-Protocol=ao', 'Variant=ao.TN.1', 'Type=Message', 'Action=Eval', 'SDK=ao-test'],
                       code, pid);
        await toMu(mu, m);
        return output(await result(cu, m.id, pid));
    }

    // Every node ({message, assignment}) of pid's schedule at the SU, in
    // slot order, read page by page (at most 10,000 pages).
    async function schedule(su, pid) {
        const nodes = [];
        let from = null;
        for (let page = 0; page < 10000; page++) {
            const r = await http('GET', `${su}/${pid}?limit=1000` + (from ? '&from=' + encodeURIComponent(from) : ''));
            if (r.status !== 200) throw new Error(`schedule of ${pid}: ${r.status} ${r.text.slice(0, 300)}`);
            const j = JSON.parse(r.text);
            for (const e of j.edges) nodes.push(e.node);
            if (!j.page_info.has_next_page || !j.edges.length) return nodes;
            from = j.edges[j.edges.length - 1].cursor;
        }
        throw new Error(`schedule of ${pid}: more than 10,000 pages`);
    }

    // Every message id of pid's schedule, in slot order.
    async function scheduleIds(su, pid) {
        return (await schedule(su, pid)).map((n) => (n.message ? n.message.id : null));
    }

    // Restarts unit NAME with its arguments, on the port it had.
    async function restart(name) {
        const p = procs[name];
        const port = p.url.replace(/.*:/, '');
        const args = p.args.map((a, i) => (p.args[i - 1] === '--port' ? port : a));
        return start(name, args, name === 'gw' || p.args[0] === 'gateway' ? 'listening on' : 'ready');
    }

    return { procs, sleep, start, waitExit, http, sign, signAsync, toMu, result, output, evalOn,
             schedule, scheduleIds, restart };
};
