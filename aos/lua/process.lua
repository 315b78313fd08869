-- The aos process: entry point of the module (`process.handle(msg, env)`
-- returns the evaluation's response). Sets up the globals a process
-- offers (ao, Handlers, Utils, Send, Spawn, Assign, Receive, Inbox, Owner,
-- Name, Errors, Colors, Prompt, print, Dump, Tab, ...), checks trust, and
-- runs the message through Handlers inside a coroutine so that Receive can
-- suspend a handler until a later message.
local utils = require "utils"
local chance = require "chance"
local dump = require "dump"

-- `require ".name"` is `require "name"`: the same module table.
table.insert(package.searchers, 1, function(name)
  if type(name) == "string" and name:sub(1, 1) == "." and #name > 1 then
    return function() return require(name:sub(2)) end
  end
  return nil
end)

ao = ao or require "ao"
Handlers = Handlers or require "handlers"
Utils = Utils or utils

local process = { _version = "2.0.0" }
Version = process._version

MAX_INBOX_SIZE = 10000

Colors = {
  red = "\27[31m", green = "\27[32m", blue = "\27[34m",
  gray = "\27[90m", reset = "\27[0m",
}
Bell = "\x07"

Dump = dump.dump

function Prompt()
  return Colors.green .. (Name or "aos") .. Colors.gray .. "@" .. Colors.blue .. "aos-" ..
    process._version .. Colors.gray .. "[Inbox:" .. Colors.red .. tostring(#(Inbox or {})) ..
    Colors.gray .. "]" .. Colors.reset .. "> "
end

-- print writes into the evaluation's Output (tables in their coloured
-- text form, nil/booleans/numbers coloured).
local rawprint = print
print = function(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, math.max(n, 1) do
    local a = select(i, ...)
    if type(a) == "table" then a = dump.format(a)
    elseif type(a) == "boolean" then a = Colors.blue .. tostring(a) .. Colors.reset
    elseif a == nil then a = Colors.red .. "nil" .. Colors.reset
    elseif type(a) == "number" then a = Colors.green .. tostring(a) .. Colors.reset
    else a = tostring(a) end
    parts[#parts + 1] = a
  end
  local line = table.concat(parts, "\t")
  if ao._log then table.insert(ao._log, line) else rawprint(line) end
end

-- Tags as a map: the first value of each name.
function Tab(msg)
  local r = {}
  for _, t in ipairs(msg.TagArray or msg.Tags or {}) do
    if type(t) == "table" and t.name ~= nil and r[t.name] == nil then r[t.name] = t.value end
  end
  return r
end

function Send(msg) return ao.send(msg) end

-- Spawn([module,] msg): without a module, spawns this process's module.
function Spawn(...)
  local module, msg
  if select("#", ...) == 1 then module, msg = ao._module, ... else module, msg = ... end
  return ao.spawn(module, msg or {})
end

function Assign(a) return ao.assign(a) end

Receive = Handlers.receive

local function insertInbox(msg)
  table.insert(Inbox, msg)
  while #Inbox > MAX_INBOX_SIZE do table.remove(Inbox, 1) end
end

local function short(s)
  if type(s) ~= "string" then return "unknown" end
  if #s <= 6 then return s end
  return s:sub(1, 3) .. "..." .. s:sub(-3)
end

-- `_default`: keeps unhandled messages in the Inbox and says so.
local function default(msg)
  insertInbox(msg)
  local txt = Colors.gray .. "New Message From " .. Colors.green .. short(msg.From) .. Colors.gray .. ": "
  if msg.Action then
    txt = txt .. "Action = " .. Colors.blue .. tostring(msg.Action):sub(1, 20) .. Colors.reset
  else
    local data = msg.Data
    if type(data) == "table" then data = require("json").encode(data) end
    txt = txt .. "Data = " .. Colors.blue .. tostring(data or ""):sub(1, 20) .. Colors.reset
  end
  print(txt)
end

-- `_boot`: on the spawn message, keeps it in the Inbox and runs the
-- On-Boot code: the message's Data ("Data") or a transaction's data read
-- from /data/<id>.
local function boot(msg)
  if #Inbox == 0 then insertInbox(msg) end
  local which = msg.Tags and msg.Tags["On-Boot"]
  if which == nil then return end
  local src
  if which == "Data" then
    src = msg.Data
  else
    local f = type(io) == "table" and io.open and io.open("/data/" .. which)
    if not f then error("On-Boot: cannot read the data of " .. which, 0) end
    src = f:read("a")
    f:close()
  end
  if type(src) ~= "string" then error("On-Boot: no code to run") end
  local fn, err = load(src, "On-Boot", "t", _G)
  if not fn then error(err, 0) end
  fn()
end

local function stringSeed(s)
  local sum = 0
  for i = 1, #s do sum = sum + s:byte(i) end
  return sum
end

local function processTags(env)
  local r = {}
  local tags = env and env.Process and (env.Process.TagArray or env.Process.Tags)
  if type(tags) ~= "table" then return r end
  for _, t in ipairs(tags) do
    if type(t) == "table" and t.name and r[t.name] == nil then r[t.name] = t.value end
  end
  return r
end

-- Owner, Name, Inbox, Errors and the random seed, set on the first message.
local function initializeState(msg, env)
  local ptags = processTags(env)
  if not ao._seeded then
    local h = msg["Block-Height"] or 0
    h = math.tointeger(tonumber(h)) or 0
    local s = stringSeed(tostring(msg.Owner or "") .. tostring(msg.Module or ao._module or "") ..
      tostring(msg.Id or ""))
    local seed = tonumber(tostring(h) .. tostring(s))
    chance.seed(math.tointeger(seed) or math.floor(seed % 4294967296))
    ao._seeded = true
  end
  math.random = chance.mathRandom
  math.randomseed = function(x) chance.seed(x) end
  if not Owner then
    if env and env.Process and msg.Id == env.Process.Id then
      Owner = msg.Tags["From-Process"] or msg.From or msg.Owner
    else
      Owner = ptags["From-Process"] or (env and env.Process and env.Process.Owner) or msg.From
    end
  end
  if not Name then Name = ptags["Name"] or "aos" end
  Inbox = Inbox or {}
  Errors = Errors or {}
end

-- Message fields as the loader gives them are kept; tags are copied on
-- top, Tags becomes a map and TagArray the list.
local function prepare(msg, env)
  if type(msg.Tags) ~= "table" then msg.Tags = {} end
  ao.normalize(msg)
  msg.TagArray = msg.Tags
  msg.Tags = Tab(msg)
  if env and env.Process and type(env.Process.Tags) == "table" then
    env.Process.TagArray = env.Process.Tags
    env.Process.Tags = Tab(env.Process)
  end
  if msg.Tags["Content-Type"] == "application/json" and type(msg.Data) == "string" then
    local ok, v = pcall(require("json").decode, msg.Data ~= "" and msg.Data or "{}")
    if ok then msg.Data = v end
  end
end

local function addReplyForward(msg)
  msg.reply = function(r)
    assert(type(r) == "table", "reply must be a table")
    r.Target = msg["Reply-To"] or r.Target or msg.From
    local xref = msg["X-Reference"] or msg.Reference
    if xref ~= nil and xref ~= "" then r["X-Reference"] = xref end
    local origin = msg["X-Origin"]
    if origin ~= nil and origin ~= "" then r["X-Origin"] = origin end
    return ao.send(r)
  end
  msg.forward = function(target, extra)
    assert(type(target) == "string", "forward target must be a process id")
    local m = ao.sanitize(msg)
    m.TagArray = nil
    for k, v in pairs(extra or {}) do m[k] = v end
    m.Target = target
    m["Reply-To"] = msg["Reply-To"] or msg.From
    local xref = msg["X-Reference"] or msg.Reference
    if xref ~= nil and xref ~= "" then m["X-Reference"] = xref end
    m["X-Origin"] = msg["X-Origin"] or msg.From
    return ao.send(m)
  end
end

local function output(eval)
  local data = table.concat(ao._log, "\n")
  if eval then return { data = data, prompt = Prompt() } end
  return { data = data, prompt = Prompt(), print = true }
end

-- Handles one message: returns {Output, Messages, Spawns, Assignments}
-- or {Error}.
function process.handle(msg, env)
  if env and env.Process == nil and env.env then env = env.env end
  ao.init(env)
  prepare(msg, env)
  initializeState(msg, env)
  local ts = msg.Timestamp
  os.time = function() return ts end

  -- Only messages signed by their sender, or coming through an authority,
  -- are trusted.
  if msg.From ~= msg.Owner and not ao.isTrusted(msg) then
    print("Message is not trusted! From: " .. tostring(msg.From) .. " - Owner: " .. tostring(msg.Owner))
    return ao.result({ Output = output(false) })
  end
  if ao.isAssignment(msg) and not ao.isAssignable(msg) then
    print("Assignment is not trusted! From: " .. tostring(msg.From) .. " - Owner: " .. tostring(msg.Owner))
    return ao.result({ Output = output(false) })
  end

  Handlers.add("_eval", function(m) return m.Action == "Eval" and Owner == m.From end,
    require("eval")(ao))
  if not ao._booted then
    Handlers.once("_boot", function(m) return m.Tags.Type == "Process" and Owner == m.From end,
      function(m) ao._booted = true; boot(m) end)
  end
  Handlers.append("_default", function() return true end, default)

  addReplyForward(msg)

  local co = coroutine.create(function() return pcall(Handlers.evaluate, msg, env) end)
  local resumed, ok, err = coroutine.resume(co)
  if not resumed then ok, err = false, ok end
  if coroutine.status(co) ~= "dead" then table.insert(Handlers.coroutines, co) end
  for i = #Handlers.coroutines, 1, -1 do
    if coroutine.status(Handlers.coroutines[i]) == "dead" then table.remove(Handlers.coroutines, i) end
  end

  if not ok then
    if type(err) ~= "string" then err = dump.dump(err) end
    table.insert(Errors, err)
    if msg.Action == "Eval" then return { Error = err } end
    print(Colors.red .. "Error" .. Colors.gray .. " handling message with Action = " ..
      tostring(msg.Action or "") .. Colors.reset)
    local logs = table.concat(ao._log, "\n")
    return { Error = logs .. "\n\n" .. Colors.red .. "error:\n" .. Colors.reset .. err }
  end
  return ao.result({ Output = output(msg.Action == "Eval") })
end

return process
