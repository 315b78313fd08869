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

process.setMaxListeners(0);
(async () => {
  let mod = null, name = '?', n = 0, bad = 0;
  for (let i = 0; i < lines.length;) {
    if (lines[i].startsWith('# spawn ')) { name = lines[i].slice(8); mod = await instance(); i++; continue; }
    const [msg, env, want] = lines.slice(i, i + 3);
    i += 3; n++;
    const got = JSON.parse(mod.ccall('handle', 'string', ['string', 'string'], [msg, env]));
    const g = JSON.stringify(canon(got.ok ? got.response : { LoaderError: got.response }));
    const w = JSON.stringify(canon(JSON.parse(want)));
    if (g !== w) {
      bad++;
      console.log(`DIFF ${name} (message ${n})\n module: ${g.slice(0, 800)}\n native: ${w.slice(0, 800)}`);
    }
  }
  console.log(`${n} messages, ${bad} differ`);
  process.exitCode = bad ? 1 : 0;
})();
