// v8_run.js - runs a bench/wasm program on Node's WebAssembly engine (V8):
// node v8_run.js PROGRAM.wasm N  ->  prints "CHECKSUM SECONDS" (the run(N)
// call only; compiling and instantiating are not timed).
'use strict';
const fs = require('fs');
const [file, n] = process.argv.slice(2);
const mod = new WebAssembly.Module(fs.readFileSync(file));
const inst = new WebAssembly.Instance(mod, {});
const t0 = process.hrtime.bigint();
const sum = inst.exports.run(Number(n)) >>> 0;
const t1 = process.hrtime.bigint();
console.log(`${sum} ${(Number(t1 - t0) / 1e9).toFixed(6)}`);
