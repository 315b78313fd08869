// aos_log.js - writes a fixed aos message log, one [msg, env] JSON array per
// line, for the cross-checks and benchmarks of the aos module.
//   node aos_log.js mixed N        spawn, token blueprint, Evals that change
//                                  state and print, Transfers (some failing),
//                                  Sends, Spawn, Assign, erroring Evals,
//                                  Balance(s) queries, Inbox messages
//   node aos_log.js transfers H N  spawn, token blueprint, a Mint of H
//                                  holders' balances, then N Transfers among them
'use strict';
const PID = 'PROCESS_ID_0000000000000000000000000000000';
const OWNER = 'OWNER_ADDRESS_00000000000000000000000000000';
const env = {
  Process: { Id: PID, Owner: OWNER, Tags: [{ name: 'Type', value: 'Process' }, { name: 'Name', value: 'interop' },
    { name: 'Module', value: 'MODULE' }] },
  Module: { Id: 'MODULE', Owner: OWNER, Tags: [] },
};
const lines = [];
let seq = 0;
function msg(from, tags, data, id) {
  seq++;
  const m = { Id: id || 'MSG' + String(seq).padStart(6, '0'), Owner: from, From: from, Target: PID, Module: 'MODULE',
    Timestamp: 1700000000000 + seq * 1000, 'Block-Height': 100 + Math.floor(seq / 10),
    Tags: Object.entries(tags).map(([name, value]) => ({ name, value: String(value) })), Data: data };
  lines.push(JSON.stringify([m, env]));
}
const evalMsg = code => msg(OWNER, { Action: 'Eval' }, code);
const holder = i => 'HOLDER' + String(i).padStart(5, '0');

const [mode, a, b] = process.argv.slice(2);
msg(OWNER, { Type: 'Process', Name: 'interop' }, '', PID);
evalMsg("require('blueprints.token'); return Ticker");
if (mode === 'transfers') {
  const holders = Number(a), n = Number(b);
  // mint: the process's own balance is shared out to the holders in one Eval
  evalMsg(`for i = 0, ${holders - 1} do Balances[string.format('HOLDER%05d', i)] = '1000000' end; return #Utils.keys(Balances)`);
  for (let i = 0; i < n; i++) {
    const from = holder((i * 7919) % holders), to = holder((i * 104729 + 1) % holders);
    msg(from, { Action: 'Transfer', Recipient: to, Quantity: 1 + (i % 97) }, '');
  }
} else {
  const n = Number(a || 200);
  evalMsg("Balances[Owner] = '5000000'; return Balances[Owner]");
  for (let i = 0; seq < n; i++) {
    switch (i % 12) {
      case 0: msg(OWNER, { Action: 'Transfer', Recipient: holder(i % 17), Quantity: 1000 + i, 'X-Ref': 'r' + i }, ''); break;
      case 1: msg(holder((i * 5) % 17), { Action: 'Transfer', Recipient: holder((i * 3) % 17), Quantity: 500 + (i % 900) }, ''); break;
      case 2: evalMsg(`C = (C or 0) + ${i}; L = L or {}; L[#L + 1] = C; print('c=' .. C .. ' n=' .. #L); return C`); break;
      case 3: evalMsg(`Send({Target = 'T${i % 5}', Action = 'Ping', Data = 'n ${i}', ['X-I'] = '${i}'}); return 'sent'`); break;
      case 4: evalMsg(`C = -1; Balances[Owner] = '0'; error('boom ${i}')`); break;
      case 5: evalMsg(`R = (R or 0) + math.random(1, 1000000); return { r = R, t = os.time(), b = Balances['${holder(i % 17)}'] }`); break;
      case 6: msg(OWNER, { Action: 'Balance', Recipient: holder(i % 17) }, ''); break;
      case 7: msg(OWNER, { Action: 'Note', Seq: i }, 'note ' + i); break;
      case 8: evalMsg(i % 24 === 8 ? `Spawn('MOD2', {Data = 'child ${i}', Name = 'c${i}'}); return 'spawned'`
                                   : `ao.assign({Processes = {'P${i}', 'Q${i}'}, Message = 'M${i}'}); return 'assigned'`); break;
      case 9: msg(OWNER, { Action: 'Balances' }, ''); break;
      case 10: evalMsg(`return nil, 'refused ${i}'`); break;
      default: evalMsg(`return #Inbox .. ' ' .. (Inbox[#Inbox] and Inbox[#Inbox].Action or '-')`); break;
    }
  }
}
process.stdout.write(lines.join('\n') + '\n');
