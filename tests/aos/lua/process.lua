-- tests/aos/lua/process.lua - a minimal process for the host tests (not
-- aos): keeps state in globals and answers by Action tag.
--   Eval    runs Data as Lua (print() output is returned in Output)
--   Error   raises error(Data)
--   Alloc   builds a table of Data (number) strings of 1 KiB each, kept
--   Loop    loops forever
--   Send    returns one message to Target with Data
--   Fn      answers with a function as Output (not encodable as JSON)
--   Lost    adds 5000 to the count, answers with an Output ending in
--           "not enough memory for buffer allocation"
--   other   counts and returns Output "count=N"
local json = require "json"
local process = {}
Count = Count or 0
Kept = Kept or {}

local function tag(msg, name)
  for _, t in ipairs(msg.Tags or {}) do
    if t.name == name then return t.value end
  end
end

function process.handle(msg, env)
  local action = tag(msg, "Action")
  local out = {}
  print = function(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
    out[#out + 1] = table.concat(parts, "\t")
  end
  if action == "Eval" then
    local f, err = load("return " .. msg.Data)
    if not f then f, err = load(msg.Data) end
    if not f then error(err) end
    local r = f()
    if r ~= nil then out[#out + 1] = tostring(r) end
    return { Output = table.concat(out, "\n"), Messages = {}, Spawns = {}, Assignments = {} }
  elseif action == "Error" then
    Count = Count + 1000
    error(msg.Data)
  elseif action == "Alloc" then
    local chunk = string.rep("x", 1023)
    for i = 1, tonumber(msg.Data) do Kept[#Kept + 1] = chunk .. tostring(i % 10) end
    return { Output = "kept " .. #Kept }
  elseif action == "Loop" then
    local i = 0
    while true do i = i + 1 end
  elseif action == "Fn" then
    Count = Count + 7000
    return { Output = print }
  elseif action == "Lost" then
    Count = Count + 5000
    return { Output = { data = "buffer: not enough memory for buffer allocation" } }
  elseif action == "Send" then
    return { Output = "", Messages = { { Target = msg.Target, Data = msg.Data, Tags = { { name = "Action", value = "Hello" } } } } }
  end
  Count = Count + 1
  return { Output = "count=" .. Count .. " time=" .. os.time() .. " json=" .. json.encode({ a = 1 }) }
end

return process
