// v8_run.js - runs a bench/wasm program on Node's WebAssembly engine (V8):
// node v8_run.js PROGRAM.wasm N  ->  prints "CHECKSUM SECONDS": the CPU time
// of the process (all threads, so V8's background compilation counts)
// during the run(N) call; compiling and instantiating before it are not
// timed.
'use strict';
const fs = require('fs');
const [file, n] = process.argv.slice(2);
const mod = new WebAssembly.Module(fs.readFileSync(file));
const inst = new WebAssembly.Instance(mod, {});
const c0 = process.cpuUsage();
const sum = inst.exports.run(Number(n)) >>> 0;
const c = process.cpuUsage(c0);
console.log(`${sum} ${((c.user + c.system) / 1e6).toFixed(6)}`);
