-- Token blueprint: `require "blueprints.token"` (e.g. in an Eval) turns the
-- process into a token. Quantities and balances are decimal strings of
-- any size, added and compared exactly (bigint). Handlers: Info, Balance,
-- Balances, Transfer (Debit-Notice to the sender, Credit-Notice to the
-- recipient, Transfer-Error on insufficient balance), Mint (the process
-- itself only), Total-Supply, Burn. Globals it keeps: Balances,
-- TotalSupply, Denomination, Ticker, Logo (and Name if unset).
local bigint = require "bigint"
local utils = require "utils"

Denomination = Denomination or 12
Balances = Balances or { [ao.id] = bigint.tostring(bigint.mul(10000, bigint.new("1" .. string.rep("0", Denomination)))) }
TotalSupply = TotalSupply or (function()
  local t = bigint.new(0)
  for _, k in ipairs(utils.sortedKeys(Balances)) do t = t + bigint.new(Balances[k]) end
  return bigint.tostring(t)
end)()
Name = Name or "Points Coin"
Ticker = Ticker or "PNTS"
Logo = Logo or "SBCCXwwecBlDqRLUjb8dYABExTJXLieawf7m2aBJ-KY"

local function quantity(q, what)
  assert(type(q) == "string", (what or "Quantity") .. " is required and must be a string!")
  local n = bigint.parse(q)
  assert(n, (what or "Quantity") .. " must be an integer string!")
  return n
end

local function balanceOf(account) return bigint.new(Balances[account] or "0") end

-- X- tags of msg, to be carried on the notices of a transfer.
local function forwardedTags(msg, notice)
  for _, k in ipairs(utils.sortedKeys(msg.Tags or {})) do
    if type(k) == "string" and k:sub(1, 2) == "X-" then notice[k] = msg.Tags[k] end
  end
  return notice
end

Handlers.add("Info", "Info", function(msg)
  msg.reply({ Name = Name, Ticker = Ticker, Logo = Logo, Denomination = tostring(Denomination) })
end)

Handlers.add("Balance", "Balance", function(msg)
  local account = msg.Tags.Recipient or msg.Tags.Target or msg.From
  local bal = bigint.tostring(balanceOf(account))
  msg.reply({ Balance = bal, Ticker = Ticker, Account = account, Data = bal })
end)

-- Balances as a JSON object with sorted keys (a fixed text for fixed
-- balances).
Handlers.add("Balances", "Balances", function(msg)
  local parts = {}
  for _, k in ipairs(utils.sortedKeys(Balances)) do
    parts[#parts + 1] = utils.jsonString(k) .. ":" .. utils.jsonString(Balances[k])
  end
  msg.reply({ Data = "{" .. table.concat(parts, ",") .. "}" })
end)

Handlers.add("Transfer", "Transfer", function(msg)
  assert(type(msg.Recipient) == "string", "Recipient is required!")
  local qty = quantity(msg.Quantity)
  assert(qty > bigint.new(0), "Quantity must be greater than 0")
  local from = balanceOf(msg.From)
  if from >= qty then
    Balances[msg.From] = bigint.tostring(from - qty)
    Balances[msg.Recipient] = bigint.tostring(balanceOf(msg.Recipient) + qty)
    local q = bigint.tostring(qty)
    if not msg.Cast then
      msg.reply(forwardedTags(msg, {
        Action = "Debit-Notice", Recipient = msg.Recipient, Quantity = q,
        Data = Colors.gray .. "You transferred " .. Colors.blue .. q .. Colors.gray ..
          " to " .. Colors.green .. msg.Recipient .. Colors.reset,
      }))
      Send(forwardedTags(msg, {
        Target = msg.Recipient, Action = "Credit-Notice", Sender = msg.From, Quantity = q,
        Data = Colors.gray .. "You received " .. Colors.blue .. q .. Colors.gray ..
          " from " .. Colors.green .. msg.From .. Colors.reset,
      }))
    end
  else
    msg.reply({ Action = "Transfer-Error", ["Message-Id"] = msg.Id, Error = "Insufficient Balance!" })
  end
end)

Handlers.add("Mint", "Mint", function(msg)
  local qty = quantity(msg.Quantity)
  assert(qty > bigint.new(0), "Quantity must be greater than zero!")
  if msg.From == ao.id then
    Balances[msg.From] = bigint.tostring(balanceOf(msg.From) + qty)
    TotalSupply = bigint.tostring(bigint.new(TotalSupply) + qty)
    msg.reply({ Data = Colors.gray .. "Successfully minted " .. Colors.blue .. bigint.tostring(qty) .. Colors.reset })
  else
    msg.reply({ Action = "Mint-Error", ["Message-Id"] = msg.Id,
      Error = "Only the Process Id can mint new " .. Ticker .. " tokens!" })
  end
end)

Handlers.add("Total-Supply", "Total-Supply", function(msg)
  assert(msg.From ~= ao.id, "Cannot call Total-Supply from the same process!")
  msg.reply({ Action = "Total-Supply", Data = TotalSupply, Ticker = Ticker })
end)

Handlers.add("Burn", "Burn", function(msg)
  local qty = quantity(msg.Quantity)
  assert(qty > bigint.new(0), "Quantity must be greater than zero!")
  assert(qty <= balanceOf(msg.From), "Quantity must be less than or equal to the current balance!")
  Balances[msg.From] = bigint.tostring(balanceOf(msg.From) - qty)
  TotalSupply = bigint.tostring(bigint.new(TotalSupply) - qty)
  msg.reply({ Data = Colors.gray .. "Successfully burned " .. Colors.blue .. bigint.tostring(qty) .. Colors.reset })
end)

return { loaded = true }
