-- Test harness for the aos library run natively: builds messages and env
-- the way the Compute Unit gives them (PROTOCOL.md 4.3), passes them
-- through JSON like the module's loader (so responses must be plain
-- data), calls process.handle and returns the decoded response.
local json = require "json"

local H = {}

H.PID = "PROCESS00000000000000000000000000000000000"
H.OWNER = "OWNER0000000000000000000000000000000000000"
H.MODULE = "MODULE00000000000000000000000000000000000"
H.MU = "MU000000000000000000000000000000000000000000"
H.OTHER = "OTHERPROCESS000000000000000000000000000000"
H.STRANGER = "STRANGER00000000000000000000000000000000000"

local process
local envTags
local nextId = 0
local clock = 1700000000000

local function tagArray(tags)
  local r = {}
  for _, t in ipairs(tags or {}) do r[#r + 1] = { name = t[1], value = t[2] } end
  return r
end

local function env()
  return {
    Process = { Id = H.PID, Owner = H.OWNER, Tags = tagArray(envTags) },
    Module = { Id = H.MODULE, Owner = H.OWNER, Tags = { { name = "Module-Format", value = "wasm32-unknown-emscripten4" } } },
  }
end
H.envOf = env

-- With AOS_RECORD=file, every handled message is appended to file as
-- three lines (msg JSON, env JSON, response JSON) after a "# spawn NAME"
-- line per process, so the same traffic can be replayed through the
-- module (tests/aos/replay.js).
local record = os.getenv("AOS_RECORD")

-- Calls process.handle like the loader: JSON in, pcall, JSON out.
function H.handle(msg)
  local mj, ej = json.encode(msg), json.encode(env())
  local m, e = json.decode(mj), json.decode(ej)
  local ok, r = pcall(process.handle, m, e)
  local rj = json.encode({ ok = ok, response = r })
  local out = json.decode(rj)
  if not out.ok then error("process.handle raised: " .. tostring(out.response), 2) end
  if record then
    local f = assert(io.open(record, "a"))
    f:write(mj, "\n", ej, "\n", json.encode(out.response), "\n")
    f:close()
  end
  H.last = out.response
  return out.response
end

-- Spawns the process. opts.tags = extra process tags ({name, value}
-- pairs, e.g. {"Authority", X}), opts.data, opts.from (From-Process of a
-- spawning process), opts.height.
-- opts.nospawn: set the process up without its spawn message (as a
-- node that starts from a later message would).
function H.spawn(opts)
  opts = opts or {}
  -- the module's loader requires the entry as ".process"
  process = require ".process"
  if record then
    local f = assert(io.open(record, "a"))
    f:write("# spawn ", tostring(H.testName or "?"), "\n")
    f:close()
  end
  local tags = {
    { "Data-Protocol", "ao" }, { "Variant", "ao.TN.1" }, { "Type", "Process" },
    { "Module", H.MODULE }, { "Scheduler", "SCHEDULER" },
  }
  if opts.from then tags[#tags + 1] = { "From-Process", opts.from } end
  for _, t in ipairs(opts.tags or {}) do tags[#tags + 1] = t end
  envTags = tags
  local msg = {
    Id = H.PID, Owner = opts.signer or H.OWNER, From = opts.from or H.OWNER,
    Target = H.PID, Data = opts.data or "", Anchor = "",
    Tags = tagArray(tags), Timestamp = clock, ["Block-Height"] = opts.height or 1000,
    Epoch = 0, Nonce = 0, ["Hash-Chain"] = "HC", Signature = "SIG", Module = nil,
    Cron = false, ["Read-Only"] = false,
  }
  if opts.from then msg["Forwarded-By"] = msg.Owner end
  if opts.nospawn then return nil end
  return H.handle(msg)
end

-- Sends a message to the process. fields: From (default owner), Owner
-- (the signer, default = From unless From is a process: then H.MU),
-- Data, Tags ({name, value} pairs), Target, Id, Timestamp, Cron.
function H.send(f)
  f = f or {}
  nextId = nextId + 1
  clock = clock + 1000
  local from = f.From or H.OWNER
  local signer = f.Owner or (f.FromProcess and H.MU) or from
  local tags = { { "Data-Protocol", "ao" }, { "Variant", "ao.TN.1" }, { "Type", "Message" } }
  if f.FromProcess then tags[#tags + 1] = { "From-Process", from } end
  for _, t in ipairs(f.Tags or {}) do tags[#tags + 1] = t end
  local msg = {
    Id = f.Id or string.format("MSG%040d", nextId), Owner = signer, From = from,
    Target = f.Target or H.PID, Data = f.Data or "", Anchor = "",
    Tags = tagArray(tags), Timestamp = f.Timestamp or clock, ["Block-Height"] = 1000 + nextId,
    Epoch = 0, Nonce = nextId, ["Hash-Chain"] = "HC", Signature = "SIG",
    Cron = f.Cron or false, ["Read-Only"] = false,
  }
  if f.FromProcess then msg["Forwarded-By"] = signer end
  if f.Cron then msg.Id = nil; msg.Signature = nil; msg.Nonce = nil; msg["Hash-Chain"] = nil end
  return H.handle(msg)
end

-- Eval from the owner (or from f.From).
function H.eval(code, f)
  f = f or {}
  local tags = { { "Action", "Eval" } }
  return H.send({ From = f.From, Owner = f.Owner, FromProcess = f.FromProcess, Data = code, Tags = tags })
end

-- The Output data of a response with colour codes removed.
function H.plain(s) return (tostring(s or ""):gsub("\27%[%d+m", "")) end
function H.out(r) return H.plain(r.Output and r.Output.data) end

-- The value of tag `name` in a Messages/Spawns entry.
function H.tag(m, name)
  for _, t in ipairs(m.Tags or {}) do if t.name == name then return t.value end end
  return nil
end

-- Evaluates `code` and returns its printed value (plain text).
function H.value(code)
  local r = H.eval(code)
  if r.Error then error("eval failed: " .. tostring(r.Error), 2) end
  return H.out(r)
end

-- Assertions
function H.eq(got, want, what)
  if got ~= want then
    error(string.format("%s: expected %q, got %q", what or "value", tostring(want), tostring(got)), 2)
  end
end
function H.ok(v, what) if not v then error((what or "condition") .. " does not hold", 2) end end
function H.has(s, sub, what)
  if type(s) ~= "string" or not s:find(sub, 1, true) then
    error(string.format("%s: %q does not contain %q", what or "text", tostring(s), sub), 2)
  end
end
function H.hasnt(s, sub, what)
  if type(s) == "string" and s:find(sub, 1, true) then
    error(string.format("%s: %q contains %q", what or "text", tostring(s), sub), 2)
  end
end

H.json = json
return H
