-- loader.lua - the aos module's message entry (embedded as "@loader").
-- Returns the function the C export handle(msgJSON, envJSON) calls:
-- JSON-decode msg and env, set the clock to msg.Timestamp, run
-- pcall(process.handle, msg, env) and return json.encode{ok=..., response=...},
-- then collect garbage (as the ao dev-cli loader does).
local json = require "json"
local sys = require "aos.sys"
local process

return function(msgJSON, envJSON)
  if process == nil then
    process = require ".process"
  end
  local msg = json.decode(msgJSON)
  local env = json.decode(envJSON)
  sys.settime(type(msg) == "table" and tonumber(msg.Timestamp) or nil)
  local status, response = pcall(process.handle, msg, env)
  local ok, out = pcall(json.encode, { ok = status, response = response })
  if not ok then
    out = json.encode({ ok = false, response = "result is not encodable: " .. tostring(out) })
  end
  response = nil
  collectgarbage()
  return out
end
