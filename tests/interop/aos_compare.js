// aos_compare.js - compares two files of aos results (one JSON per line):
// ours (ao process run) and the Node host's, field by field: Output,
// Messages, Spawns, Assignments, Error (GasUsed is our engine's only and is
// not compared). One count per message; ends with "N passed, N failed".
//   node aos_compare.js LOG OURS NODE
'use strict';
const fs = require('fs');
const read = f => fs.readFileSync(f, 'utf8').split('\n').filter(x => x.length);
const [logf, oursf, nodef] = process.argv.slice(2);
const log = read(logf), ours = read(oursf), node = read(nodef);
let passed = 0, failed = 0;
if (ours.length !== log.length || node.length !== log.length) {
  console.log(`result counts differ: log ${log.length}, ours ${ours.length}, node ${node.length}`);
  failed++;
}
const kinds = { error: 0, messages: 0, spawns: 0, assignments: 0 };
for (let i = 0; i < Math.min(ours.length, node.length); i++) {
  const a = JSON.parse(ours[i]), b = JSON.parse(node[i]);
  const bad = [];
  for (const k of ['Output', 'Messages', 'Spawns', 'Assignments', 'Error']) {
    const x = JSON.stringify(a[k]), y = JSON.stringify(b[k]);
    if (x !== y) bad.push(`  ${k}\n    ours: ${String(x).slice(0, 400)}\n    node: ${String(y).slice(0, 400)}`);
  }
  if (a.Error !== undefined) kinds.error++;
  if ((a.Messages || []).length) kinds.messages++;
  if ((a.Spawns || []).length) kinds.spawns++;
  if ((a.Assignments || []).length) kinds.assignments++;
  if (bad.length) { failed++; console.log(`FAIL message ${i + 1}\n${bad.join('\n')}`); } else passed++;
}
console.log(`compared ${Math.min(ours.length, node.length)} messages: ${kinds.error} with Error, ` +
  `${kinds.messages} with Messages, ${kinds.spawns} with Spawns, ${kinds.assignments} with Assignments`);
// the log must exercise every field, or the comparison says little
for (const [k, v] of Object.entries(kinds)) if (!v) { console.log(`FAIL: no result with ${k}`); failed++; }
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
