// bench/wasm_front/v8_validate.js - the peer of front_run.c: Node's V8
// WebAssembly.validate over the same files, REPS rounds; prints
// "bytes seconds" of the best round, in CPU time of the whole process (so
// load on the machine does not count, and V8's helper threads do).
// Usage: node v8_validate.js REPS FILE...
const fs = require('fs');
const reps = parseInt(process.argv[2], 10);
const bins = process.argv.slice(3).map((f) => fs.readFileSync(f));
const total = bins.reduce((n, b) => n + b.length, 0);
let best = Infinity;
for (let r = 0; r < reps; r++) {
  const t0 = process.cpuUsage();
  for (const b of bins) {
    if (!WebAssembly.validate(b)) {
      console.error('v8 rejects a module');
      process.exit(1);
    }
  }
  const d = process.cpuUsage(t0);
  const s = (d.user + d.system) / 1e6;
  if (s < best) best = s;
}
console.log(total + ' ' + best.toFixed(6));
