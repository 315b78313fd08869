// Replays traffic recorded by the aos Lua tests (AOS_RECORD=file, see
// tests/aos/harness.lua) through the emscripten build of the aos module
// and compares each response with the native one (object key order and
// the file names in error positions aside: native errors name
// "aos/lua/dir/x.lua:N:", the module "dir.x.lua:N:"; the places searched
// for a missing module differ too). A manual cross-check:
//   node tests/aos/replay.js build/aos/link-lib/aos.js FILE
const fs = require('fs');
const path = require('path');
const [glue, file] = process.argv.slice(2);
if (!glue || !file) { console.error('usage: replay.js AOS_JS RECORD'); process.exit(2); }
const lines = fs.readFileSync(file, 'utf8').split('\n').filter(x => x.length);

function canon(v) {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = canon(v[k]);
    return o;
  }
  if (typeof v === 'string') {
    return v.replace(/aos\/lua\/([\w\/-]+)\.lua:/g, (m, p) => p.replace(/\//g, '.') + '.lua:')
      .replace(/(\n\tno (file|embedded module) [^\n]*)+/g, '\n\t(searched)');
  }
  return v;
}

// One fresh module instance per recorded process.
function instance() {
  return new Promise(resolve => {
    const Module = {
      wasmBinary: fs.readFileSync(glue.replace(/\.js$/, '.wasm')),
      onRuntimeInitialized() { resolve(Module); },
    };
    const src = fs.readFileSync(glue, 'utf8');
    new Function('Module', 'require', '__dirname', 'process', src)(Module, require, path.dirname(path.resolve(glue)), process);
  });
}

// handle(msgJSON, envJSON): the strings go in through the exported
// malloc; the result stays owned by the module (valid until the next call).
const enc = new TextEncoder(), dec = new TextDecoder();
function cstring(mod, str) {
  const b = enc.encode(str);
  const p = mod._malloc(b.length + 1);
  mod.HEAPU8.set(b, p);
  mod.HEAPU8[p + b.length] = 0;
  return p;
}
function callHandle(mod, msg, env) {
  const pm = cstring(mod, msg), pe = cstring(mod, env);
  const r = mod._handle(pm, pe);
  mod._free(pm); mod._free(pe);
  const h = mod.HEAPU8;
  let e = r;
  while (h[e] !== 0) e++;
  return dec.decode(h.subarray(r, e));
}

process.setMaxListeners(0);
(async () => {
  // counts are per recorded process (one per test): it passes when every
  // response of it is equal
  let mod = null, name = null, n = 0, procs = 0, badProcs = 0, curBad = false;
  const finish = () => { if (name !== null) { procs++; if (curBad) badProcs++; else console.log('ok   ' + name); } };
  for (let i = 0; i < lines.length;) {
    if (lines[i].startsWith('# spawn ')) {
      finish();
      name = lines[i].slice(8); curBad = false; mod = await instance(); i++; continue;
    }
    const [msg, env, want] = lines.slice(i, i + 3);
    i += 3; n++;
    let g;
    try {
      const got = JSON.parse(callHandle(mod, msg, env));
      g = JSON.stringify(canon(got.ok ? got.response : { LoaderError: got.response }));
    } catch (e) {
      g = 'module trapped: ' + e;
    }
    const w = JSON.stringify(canon(JSON.parse(want)));
    if (g !== w) {
      if (!curBad) console.log('FAIL ' + name);
      curBad = true;
      console.log(`  message ${n}\n  module: ${g.slice(0, 800)}\n  native: ${w.slice(0, 800)}`);
    }
  }
  finish();
  console.log(`${n} messages replayed`);
  console.log(`${procs - badProcs} passed, ${badProcs} failed`);
  process.exitCode = badProcs || procs === 0 ? 1 : 0;
})();
