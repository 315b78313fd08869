-- ao: the process's view of the network (the global `ao`): its id, module,
-- environment and authorities, the outbox of one evaluation (Output,
-- Messages, Spawns, Assignments) and the calls that fill it: send, spawn,
-- assign. Also trust (isTrusted) and assignables.
local utils = require "utils"

local ao = {
  _version = "0.1.0",
  id = "",
  _module = "",
  authorities = {},
  reference = 0,
  assignables = {},
  outbox = { Output = {}, Messages = {}, Spawns = {}, Assignments = {} },
  env = nil,
}

-- Fields never copied from tags onto the message itself.
ao.nonExtractableTags = {
  "Data-Protocol", "Variant", "From-Process", "From-Module", "Type",
  "From", "Owner", "Anchor", "Target", "Data", "Tags", "Read-Only",
}

-- Fields dropped when a message is forwarded.
ao.nonForwardableTags = {
  "Data-Protocol", "Variant", "From-Process", "From-Module", "Type",
  "From", "Owner", "Anchor", "Target", "Tags", "TagArray", "Hash-Chain",
  "Timestamp", "Nonce", "Epoch", "Signature", "Forwarded-By", "Pushed-For",
  "Read-Only", "Cron", "Block-Height", "Reference", "Id", "Reply-To",
}

local function member(list, v)
  for _, x in ipairs(list) do if x == v then return true end end
  return false
end

local function tagList(tags)
  if type(tags) ~= "table" then return {} end
  if #tags > 0 or next(tags) == nil then return tags end
  local r = {}
  for _, k in ipairs(utils.sortedKeys(tags)) do r[#r + 1] = { name = k, value = tags[k] } end
  return r
end

-- Takes the process environment of this evaluation: id, module and
-- authorities are set once (from the first env), the outbox is emptied.
function ao.init(env)
  ao.env = env
  local ptags = tagList(env and env.Process and env.Process.Tags)
  if ao.id == "" and env and env.Process and env.Process.Id then ao.id = env.Process.Id end
  if ao._module == "" then
    for _, t in ipairs(ptags) do
      if t.name == "Module" then ao._module = t.value break end
    end
    if ao._module == "" and env and env.Module and env.Module.Id then ao._module = env.Module.Id end
  end
  if #ao.authorities == 0 then
    for _, t in ipairs(ptags) do
      if t.name == "Authority" and type(t.value) == "string" then
        for a in t.value:gmatch("[^,]+") do
          a = a:match("^%s*(.-)%s*$")
          if a ~= "" and not member(ao.authorities, a) then table.insert(ao.authorities, a) end
        end
      end
    end
  end
  ao.clearOutbox()
end

function ao.clearOutbox()
  ao.outbox = { Output = {}, Messages = {}, Spawns = {}, Assignments = {} }
  ao._log = {}
end

-- Copies tags onto the message (Title-Case-With-Dashes names; the first
-- of repeated tags wins), except the non-extractable ones.
function ao.normalize(msg)
  local seen = {}
  for _, t in ipairs(tagList(msg.Tags)) do
    local name = utils.normalizeName(t.name)
    if type(name) == "string" and not seen[name] and not member(ao.nonExtractableTags, name) then
      seen[name] = true
      msg[name] = t.value
    end
  end
  return msg
end

-- A copy of msg without the fields that must not be forwarded, nor
-- functions.
function ao.sanitize(msg)
  local r = {}
  for k, v in pairs(msg) do
    if type(v) ~= "function" and not member(ao.nonForwardableTags, k) then r[k] = v end
  end
  return r
end

function ao.clone(v, seen)
  if type(v) ~= "table" then return v end
  seen = seen or {}
  if seen[v] then return seen[v] end
  local r = {}
  seen[v] = r
  for k, x in pairs(v) do r[ao.clone(k, seen)] = ao.clone(x, seen) end
  return setmetatable(r, getmetatable(v))
end

local function pad32(s) return string.rep("0", 32 - #s) .. s end

local function tagValue(v)
  if type(v) == "string" then return v end
  if type(v) == "number" or type(v) == "boolean" then return tostring(v) end
  if getmetatable(v) and getmetatable(v).__tostring then return tostring(v) end
  error("tag values must be strings, numbers or booleans (got " .. type(v) .. ")", 3)
end

-- Adds msg's own fields (sorted by name) then msg.Tags to tags.
local function extraTags(tags, msg, skip)
  for _, k in ipairs(utils.sortedKeys(msg)) do
    local v = msg[k]
    if type(k) == "string" and not member(skip, k) and type(v) ~= "function" then
      table.insert(tags, { name = k, value = tagValue(v) })
    end
  end
  for _, t in ipairs(tagList(msg.Tags)) do
    table.insert(tags, { name = t.name, value = tagValue(t.value) })
  end
end

local function encodeData(out, data)
  if type(data) == "table" then
    local json = require "json"
    out.Data = json.encode(data)
    local has = false
    for _, t in ipairs(out.Tags) do if t.name == "Content-Type" then has = true end end
    if not has then table.insert(out.Tags, { name = "Content-Type", value = "application/json" }) end
  elseif data ~= nil then
    out.Data = tostring(data)
  end
end

local function nextReference()
  ao.reference = ao.reference + 1
  return tostring(ao.reference)
end

-- Sends a message: returns it with `onReply([from,] handle)` and
-- `receive([from])`, which wait for its reply (matched on X-Reference).
function ao.send(msg)
  assert(type(msg) == "table", "msg should be a table")
  assert(type(msg.Target) == "string", "msg.Target should be a string (a process id)")
  local ref = nextReference()
  local out = {
    Target = msg.Target,
    Anchor = pad32(ref),
    Tags = {
      { name = "Data-Protocol", value = "ao" },
      { name = "Variant", value = "ao.TN.1" },
      { name = "Type", value = "Message" },
      { name = "Reference", value = ref },
    },
  }
  extraTags(out.Tags, msg, { "Target", "Data", "Anchor", "Tags", "From" })
  encodeData(out, msg.Data)
  table.insert(ao.outbox.Messages, out)

  local ext = {}
  for k, v in pairs(out) do ext[k] = v end
  local target = out.Target
  ext.onReply = function(...)
    local from, handle = target, ...
    if select("#", ...) >= 2 then from, handle = ... end
    Handlers.once({ From = from, ["X-Reference"] = ref }, handle)
  end
  ext.receive = function(from)
    return Handlers.receive({ From = from or target, ["X-Reference"] = ref })
  end
  return ext
end

-- Spawns a process of `module`: returns the spawn with `onReply(handle)`
-- and `receive()`, which wait for the Spawned notice of this spawn.
function ao.spawn(module, msg)
  assert(type(module) == "string", "module source id is required!")
  msg = msg or {}
  assert(type(msg) == "table", "message must be a table")
  local ref = nextReference()
  local out = {
    Anchor = pad32(ref),
    Tags = {
      { name = "Data-Protocol", value = "ao" },
      { name = "Variant", value = "ao.TN.1" },
      { name = "Type", value = "Process" },
      { name = "From-Process", value = ao.id },
      { name = "From-Module", value = ao._module },
      { name = "Module", value = module },
      { name = "Reference", value = ref },
    },
  }
  extraTags(out.Tags, msg, { "Target", "Data", "Anchor", "Tags", "From", "Module",
    "From-Process", "From-Module", "Type", "Data-Protocol", "Variant", "Reference" })
  encodeData(out, msg.Data ~= nil and msg.Data or "NODATA")
  table.insert(ao.outbox.Spawns, out)

  local ext = {}
  for k, v in pairs(out) do ext[k] = v end
  local function spawned(m)
    return m.Action == "Spawned" and (m["X-Reference"] == ref or m.Reference == ref)
  end
  ext.onReply = function(handle) Handlers.once(spawned, handle) end
  ext.receive = function() return Handlers.receive(spawned) end
  return ext
end

-- Asks the scheduler to assign message `Message` to `Processes`.
function ao.assign(a)
  assert(type(a) == "table", "assignment must be a table")
  assert(type(a.Processes) == "table", "Processes must be a table of process ids")
  assert(type(a.Message) == "string", "Message must be a message id")
  table.insert(ao.outbox.Assignments, { Processes = a.Processes, Message = a.Message })
end

-- Whether the sender (From), the signer (Owner) or the forwarding unit
-- (Forwarded-By) of msg is one of the process's authorities.
function ao.isTrusted(msg)
  for _, a in ipairs(ao.authorities) do
    if msg.From == a or msg.Owner == a or msg["Forwarded-By"] == a then return true end
  end
  return false
end

-- Assignables: patterns of assigned messages (Target is another process)
-- that this process accepts. addAssignable([name,] spec).
function ao.addAssignable(...)
  local name, spec
  if select("#", ...) >= 2 then name, spec = ... else spec = ... end
  assert(name == nil or type(name) == "string", "name must be a string")
  assert(type(spec) == "table" or type(spec) == "function" or type(spec) == "string",
    "MatchSpec must be a string, table or function")
  if name then
    for _, x in ipairs(ao.assignables) do
      if x.name == name then x.pattern = spec return end
    end
  end
  table.insert(ao.assignables, { name = name, pattern = spec })
end

-- removeAssignable(name or index)
function ao.removeAssignable(key)
  if type(key) == "number" then
    assert(ao.assignables[key], "index out of range")
    table.remove(ao.assignables, key)
    return
  end
  assert(type(key) == "string", "name must be a string or an index")
  for i, x in ipairs(ao.assignables) do
    if x.name == key then table.remove(ao.assignables, i) return end
  end
end

function ao.isAssignment(msg) return msg.Target ~= nil and msg.Target ~= ao.id end

function ao.isAssignable(msg)
  for _, x in ipairs(ao.assignables) do
    local r = utils.matchesSpec(msg, x.pattern)
    if r and r ~= 0 and r ~= "skip" then return true end
  end
  return false
end

-- The response of one evaluation: only the Error if there is one.
function ao.result(r)
  r = r or {}
  if ao.outbox.Error or r.Error then return { Error = r.Error or ao.outbox.Error } end
  return {
    Output = r.Output or ao.outbox.Output,
    Messages = ao.outbox.Messages,
    Spawns = ao.outbox.Spawns,
    Assignments = ao.outbox.Assignments,
  }
end

return ao
