// aos_node_host.js - a small Node host for the aos module (the emscripten
// build build/aos/link-lib/aos.wasm with its JS glue aos.js), following the
// rules of docs/host.md so its results can be compared with src/host's:
//   - arguments are written like ccall: stackSave, stackAlloc(strlen+1) for
//     msg then env, handle(msg, env), stackRestore;
//   - the clock: every time source reads a counter that starts at 10000 ms
//     at each message and goes up by 1 per read; clock() is 0;
//   - the result {ok, response} becomes {Messages, Spawns, Assignments,
//     Output, Error?} (no GasUsed: that is our engine's count);
//   - on an Error (ok false, or a response with Error) the memory rolls
//     back to its bytes before the message.
// Used by tests/interop/test_aos_v8.sh and bench/aos.sh. As a program:
//   node aos_node_host.js AOS_JS LOG   (prints one result JSON per line)
'use strict';
const fs = require('fs');
const path = require('path');

let now = 10000;
const clock = () => now++;
class HostDate extends Date { static now() { return clock(); } }
const hostProcess = new Proxy(process, {
  get(t, k) {
    if (k === 'hrtime') return () => { const ms = clock(); return [Math.floor(ms / 1000), (ms % 1000) * 1e6]; };
    const v = t[k];
    return typeof v === 'function' ? v.bind(t) : v;
  },
});

function instance(glue) {
  return new Promise(resolve => {
    const Module = {
      wasmBinary: fs.readFileSync(glue.replace(/\.js$/, '.wasm')),
      print() {}, printErr() {},
      onRuntimeInitialized() { resolve(Module); },
    };
    // clock() is 0 in our host (docs/host.md)
    const src = fs.readFileSync(glue, 'utf8').replace('function _clock(){', 'function _clock(){return 0;');
    new Function('Module', 'require', '__dirname', 'process', 'Date', src)(
      Module, require, path.dirname(path.resolve(glue)), hostProcess, HostDate);
  });
}

const enc = new TextEncoder(), dec = new TextDecoder();
function stackString(mod, str) {
  const b = enc.encode(str);
  const p = mod.stackAlloc(b.length + 1);
  mod.HEAPU8.set(b, p);
  mod.HEAPU8[p + b.length] = 0;
  return p;
}

// One message: returns the result object (without GasUsed).
function handle(mod, msg, env) {
  const saved = mod.HEAPU8.slice();
  now = 10000;
  const sp = mod.stackSave();
  const pm = stackString(mod, msg), pe = stackString(mod, env);
  let text = null, error = null, resp = null;
  try {
    const r = mod._handle(pm, pe);
    const h = mod.HEAPU8;
    let e = r;
    while (h[e] !== 0) e++;
    text = dec.decode(h.subarray(r, e));
  } catch (e) {
    error = 'trap: ' + e;
  }
  mod.stackRestore(sp);
  if (!error) {
    let doc = null;
    try { doc = text ? JSON.parse(text) : null; } catch (e) { doc = null; }
    if (!text) error = 'the module returned no result';
    else if (!doc) error = "the module's result is not JSON";
    else if (doc.ok !== true) error = typeof doc.response === 'string' ? doc.response : JSON.stringify(doc.response ?? '(no error message)');
    else {
      resp = doc.response && typeof doc.response === 'object' && !Array.isArray(doc.response) ? doc.response : null;
      if (resp && resp.Error !== undefined && resp.Error !== null)
        error = typeof resp.Error === 'string' ? resp.Error : JSON.stringify(resp.Error);
    }
  }
  const out = {};
  for (const k of ['Messages', 'Spawns', 'Assignments']) out[k] = resp && Array.isArray(resp[k]) ? resp[k] : [];
  out.Output = resp && resp.Output !== undefined && resp.Output !== null ? resp.Output : '';
  if (error !== null) out.Error = error;
  if (error !== null) {
    // roll back: the bytes before the message (a grown memory keeps its size, zeroed beyond)
    const h = mod.HEAPU8;
    h.set(saved);
    if (h.length > saved.length) h.fill(0, saved.length);
  }
  return out;
}

module.exports = { instance, handle };

if (require.main === module) {
  const [glue, log] = process.argv.slice(2);
  if (!glue || !log) { console.error('usage: aos_node_host.js AOS_JS LOG'); process.exit(2); }
  (async () => {
    const mod = await instance(glue);
    const lines = fs.readFileSync(log, 'utf8').split('\n').filter(x => x.length);
    const outs = [];
    for (const l of lines) {
      const [msg, env] = JSON.parse(l);
      outs.push(JSON.stringify(handle(mod, JSON.stringify(msg), JSON.stringify(env))));
    }
    process.stdout.write(outs.join('\n') + '\n');
  })();
}
