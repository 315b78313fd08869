-- Tests of the bundled blueprints: token (Info, Balance, Balances,
-- Transfer with notices, insufficient balance, Mint, Total-Supply, Burn,
-- big numbers) and chatroom.
local H = require "harness"
local T = {}
local function test(name, fn) T[#T + 1] = { name, fn } end

local INITIAL = "10000000000000000"

-- A token process; messages "from the process itself" come through the MU
-- (an authority), as the process's own messages do.
local function token()
  H.spawn({ tags = { { "Authority", H.MU } } })
  local r = H.eval([[require("blueprints.token"); return nil]])
  H.ok(not r.Error, "blueprint loads: " .. tostring(r.Error))
end

local function act(from, action, tags, data)
  local t = { { "Action", action } }
  for _, x in ipairs(tags or {}) do t[#t + 1] = x end
  local f = { From = from, Tags = t, Data = data }
  if from ~= H.OWNER and from ~= H.STRANGER and from:sub(1, 1) ~= "U" then f.FromProcess = true; f.Owner = H.MU end
  return H.send(f)
end

local function balance(who)
  local r = act(H.OWNER, "Balance", { { "Recipient", who } })
  return r.Messages[1].Data
end

-- The process transfers its own tokens (its message comes back to it).
local function transferFromProcess(to, qty, extra)
  local tags = { { "Recipient", to }, { "Quantity", qty } }
  for _, x in ipairs(extra or {}) do tags[#tags + 1] = x end
  return act(H.PID, "Transfer", tags)
end

test("token_info", function()
  token()
  local r = act(H.OWNER, "Info")
  local m = r.Messages[1]
  H.eq(m.Target, H.OWNER, "reply to sender")
  H.eq(H.tag(m, "Ticker"), "PNTS", "Ticker")
  H.eq(H.tag(m, "Denomination"), "12", "Denomination")
  H.eq(H.tag(m, "Name"), "aos", "Name (the process's)")
  H.ok(H.tag(m, "Logo"), "Logo")
end)

test("token_initial_balance_and_supply", function()
  token()
  H.eq(balance(H.PID), INITIAL, "process holds the supply")
  H.eq(balance(H.OWNER), "0", "others hold nothing")
  local r = act(H.OWNER, "Total-Supply")
  H.eq(r.Messages[1].Data, INITIAL, "Total-Supply")
  H.eq(H.tag(r.Messages[1], "Action"), "Total-Supply", "action")
end)

test("token_balance_of_sender_and_target_tag", function()
  token()
  local r = act(H.OWNER, "Balance")
  H.eq(H.tag(r.Messages[1], "Account"), H.OWNER, "own balance by default")
  H.eq(H.tag(r.Messages[1], "Balance"), "0", "Balance tag")
  r = act(H.OWNER, "Balance", { { "Target", H.PID } })
  H.eq(r.Messages[1].Data, INITIAL, "Target tag names the account")
end)

test("token_transfer_with_notices", function()
  token()
  local r = transferFromProcess("ALICE", "2500", { { "X-Order", "o-1" } })
  H.ok(not r.Error, "no error")
  H.eq(#r.Messages, 2, "two notices")
  local debit, credit = r.Messages[1], r.Messages[2]
  H.eq(debit.Target, H.PID, "Debit-Notice to the sender")
  H.eq(H.tag(debit, "Action"), "Debit-Notice", "debit action")
  H.eq(H.tag(debit, "Recipient"), "ALICE", "debit recipient")
  H.eq(H.tag(debit, "Quantity"), "2500", "debit quantity")
  H.eq(H.tag(debit, "X-Order"), "o-1", "X- tags forwarded on debit")
  H.has(H.plain(debit.Data), "You transferred 2500 to ALICE", "debit text")
  H.eq(credit.Target, "ALICE", "Credit-Notice to the recipient")
  H.eq(H.tag(credit, "Action"), "Credit-Notice", "credit action")
  H.eq(H.tag(credit, "Sender"), H.PID, "credit sender")
  H.eq(H.tag(credit, "Quantity"), "2500", "credit quantity")
  H.eq(H.tag(credit, "X-Order"), "o-1", "X- tags forwarded on credit")
  H.has(H.plain(credit.Data), "You received 2500 from " .. H.PID, "credit text")
  H.eq(balance("ALICE"), "2500", "recipient credited")
  H.eq(balance(H.PID), "9999999999997500", "sender debited")
end)

test("token_transfer_between_users", function()
  token()
  transferFromProcess("USERA", "100")
  local r = act("USERA", "Transfer", { { "Recipient", "USERB" }, { "Quantity", "30" } })
  H.eq(#r.Messages, 2, "notices")
  H.eq(balance("USERA"), "70", "debited")
  H.eq(balance("USERB"), "30", "credited")
end)

test("token_insufficient_balance", function()
  token()
  transferFromProcess("USERA", "10")
  local r = act("USERA", "Transfer", { { "Recipient", "USERB" }, { "Quantity", "11" } })
  H.eq(#r.Messages, 1, "one error reply")
  H.eq(H.tag(r.Messages[1], "Action"), "Transfer-Error", "Transfer-Error")
  H.eq(H.tag(r.Messages[1], "Error"), "Insufficient Balance!", "reason")
  H.ok(H.tag(r.Messages[1], "Message-Id"), "names the message")
  H.eq(balance("USERA"), "10", "unchanged")
  H.eq(balance("USERB"), "0", "nothing credited")
  r = act("UNKNOWN", "Transfer", { { "Recipient", "USERB" }, { "Quantity", "1" } })
  H.eq(H.tag(r.Messages[1], "Action"), "Transfer-Error", "no balance at all")
end)

test("token_transfer_bad_quantity", function()
  token()
  local r = transferFromProcess("ALICE", "12abc")
  H.ok(r.Error, "non-integer refused")
  r = transferFromProcess("ALICE", "0")
  H.has(H.plain(r.Error), "greater than 0", "zero refused")
  r = transferFromProcess("ALICE", "-5")
  H.ok(r.Error, "negative refused")
  r = act(H.PID, "Transfer", { { "Quantity", "5" } })
  H.has(H.plain(r.Error), "Recipient is required", "recipient required")
  H.eq(balance(H.PID), INITIAL, "balance untouched")
end)

test("token_cast_transfer_sends_no_notices", function()
  token()
  local r = transferFromProcess("ALICE", "5", { { "Cast", "true" } })
  H.eq(#r.Messages, 0, "no notices")
  H.eq(balance("ALICE"), "5", "transferred")
end)

test("token_big_numbers_exact", function()
  token()
  -- mint far beyond 2^64 and move amounts that doubles cannot hold
  local big = "123456789012345678901234567890123456789"
  local r = act(H.PID, "Mint", { { "Quantity", big } })
  H.ok(not r.Error, "mint ok")
  H.eq(balance(H.PID), "123456789012345678901244567890123456789", "balance exact")
  transferFromProcess("WHALE", "9007199254740993")
  H.eq(balance("WHALE"), "9007199254740993", "2^53+1 exact")
  transferFromProcess("WHALE", "1")
  H.eq(balance("WHALE"), "9007199254740994", "added exactly")
  r = act(H.OWNER, "Total-Supply")
  H.eq(r.Messages[1].Data, "123456789012345678901244567890123456789", "supply exact")
end)

test("token_mint_only_by_process", function()
  token()
  local r = act(H.OWNER, "Mint", { { "Quantity", "1000" } })
  H.eq(H.tag(r.Messages[1], "Action"), "Mint-Error", "refused for others")
  H.has(H.tag(r.Messages[1], "Error"), "Only the Process Id can mint", "reason")
  H.eq(balance(H.OWNER), "0", "nothing minted")
  r = act(H.PID, "Mint", { { "Quantity", "1000" } })
  H.has(H.plain(r.Messages[1].Data), "Successfully minted 1000", "minted")
  H.eq(balance(H.PID), "10000000000001000", "balance grew")
end)

test("token_total_supply_not_from_self", function()
  token()
  local r = act(H.PID, "Total-Supply")
  H.has(H.plain(r.Error), "Cannot call Total-Supply from the same process", "refused")
end)

test("token_burn", function()
  token()
  transferFromProcess("USERA", "50")
  local r = act("USERA", "Burn", { { "Quantity", "20" } })
  H.has(H.plain(r.Messages[1].Data), "Successfully burned 20", "burned")
  H.eq(balance("USERA"), "30", "balance reduced")
  r = act(H.OWNER, "Total-Supply")
  H.eq(r.Messages[1].Data, "9999999999999980", "supply reduced")
  r = act("USERA", "Burn", { { "Quantity", "31" } })
  H.has(H.plain(r.Error), "less than or equal to the current balance", "over-burn refused")
end)

test("token_balances_sorted_json", function()
  token()
  transferFromProcess("ZED", "2")
  transferFromProcess("ABE", "1")
  local r = act(H.OWNER, "Balances")
  H.eq(r.Messages[1].Data, '{"ABE":"1","' .. H.PID .. '":"9999999999999997","ZED":"2"}', "sorted JSON")
end)

test("token_state_kept_when_reloaded", function()
  token()
  transferFromProcess("ALICE", "7")
  H.eq(H.value([[require("blueprints.token") and Balances.ALICE]]), "7", "require again keeps balances")
end)

test("chatroom_register_broadcast", function()
  H.spawn()
  H.value([[require("blueprints.chatroom"); return 1]])
  local r = H.send({ From = "U1", Tags = { { "Action", "Register" } } })
  H.eq(r.Messages[1].Data, "Registered.", "registered")
  H.has(H.out(r), "U1 Registered", "printed")
  H.send({ From = "U2", Tags = { { "Action", "Register" } } })
  r = H.send({ From = "U2", Tags = { { "Action", "Register" } } })
  H.eq(r.Messages[1].Data, "Already registered.", "no double registration")
  r = H.send({ From = "U1", Data = "hi all", Tags = { { "Action", "Broadcast" } } })
  H.eq(#r.Messages, 3, "two members + reply")
  H.eq(r.Messages[1].Target, "U1", "members in joining order")
  H.eq(r.Messages[2].Target, "U2", "second member")
  H.eq(r.Messages[2].Data, "hi all", "data")
  H.eq(H.tag(r.Messages[2], "Broadcaster"), "U1", "broadcaster")
  H.eq(r.Messages[3].Data, "Broadcasted.", "reply")
  r = H.send({ From = "U1", Tags = { { "Action", "Unregister" } } })
  H.eq(r.Messages[1].Data, "Unregistered.", "left")
  H.eq(H.value("#Members"), "1", "one member left")
end)

return T
