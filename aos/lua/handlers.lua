-- Handlers: the ordered list of (name, pattern, handle) an aos process runs
-- each message through (the global `Handlers`), plus Receive: a coroutine
-- waiting for a later message that matches a pattern.
local utils = require "utils"

local handlers = { _version = "0.1.0" }
handlers.list = {}
handlers.coroutines = {}
handlers.onceNonce = 0
handlers.utils = require "handlers_utils"

local function indexOf(name)
  for i, h in ipairs(handlers.list) do
    if h.name == name then return i end
  end
  return nil
end

-- A table handle maps patterns to functions: the first matching one runs.
local function resolver(handle)
  if type(handle) == "function" then return handle end
  return function(msg, env)
    for _, k in ipairs(utils.sortedKeys(handle)) do
      if utils.matchesSpec(msg, k) then return handle[k](msg, env) end
    end
  end
end

local function checkArgs(name, pattern, handle, maxRuns)
  assert(type(name) == "string", "invalid arguments: handler name must be a string")
  assert(type(pattern) == "function" or type(pattern) == "table" or type(pattern) == "string",
    "invalid arguments: pattern must be a function, a table or a string")
  assert(type(handle) == "function" or type(handle) == "table",
    "invalid arguments: handle must be a function or a table of resolvers")
  assert(maxRuns == nil or maxRuns == "inf" or (math.type(maxRuns) == "integer" and maxRuns > 0) or
    (type(maxRuns) == "number" and maxRuns > 0),
    "invalid arguments: maxRuns must be a positive number or 'inf'")
end

-- (name, pattern, handle[, maxRuns]) or (name, handle): the second form
-- matches messages whose Action is `name`.
local function args(name, pattern, handle, maxRuns)
  if handle == nil and (type(pattern) == "function" or type(pattern) == "table") and
     type(name) == "string" then
    return name, name, pattern, nil
  end
  return name, pattern, handle, maxRuns
end

local function entry(name, pattern, handle, maxRuns)
  return { name = name, pattern = pattern, handle = resolver(handle), maxRuns = maxRuns }
end

-- Adds a handler at the end, or replaces the one of the same name in place.
function handlers.add(...)
  local name, pattern, handle, maxRuns = args(...)
  checkArgs(name, pattern, handle, maxRuns)
  local e = entry(name, pattern, handle, maxRuns)
  local i = indexOf(name)
  if i then handlers.list[i] = e else table.insert(handlers.list, e) end
  return #handlers.list
end

handlers.append = handlers.add

-- Adds a handler at the front, or replaces the one of the same name.
function handlers.prepend(...)
  local name, pattern, handle, maxRuns = args(...)
  checkArgs(name, pattern, handle, maxRuns)
  local e = entry(name, pattern, handle, maxRuns)
  local i = indexOf(name)
  if i then handlers.list[i] = e else table.insert(handlers.list, 1, e) end
  return #handlers.list
end

local function placed(target, offset)
  return {
    add = function(...)
      local name, pattern, handle, maxRuns = args(...)
      checkArgs(name, pattern, handle, maxRuns)
      local old = indexOf(name)
      if old then table.remove(handlers.list, old) end
      local i = indexOf(target)
      local e = entry(name, pattern, handle, maxRuns)
      if i then table.insert(handlers.list, i + offset, e) else table.insert(handlers.list, e) end
      return #handlers.list
    end
  }
end

-- Handlers.before("x").add(name, pattern, handle[, maxRuns])
function handlers.before(target)
  assert(type(target) == "string", "handler name must be a string")
  return placed(target, 0)
end

-- Handlers.after("x").add(name, pattern, handle[, maxRuns])
function handlers.after(target)
  assert(type(target) == "string", "handler name must be a string")
  return placed(target, 1)
end

-- Handlers.once([name,] pattern, handle): a handler run at most once, put
-- at the front of the list.
function handlers.once(...)
  local name, pattern, handle
  if select("#", ...) >= 3 then
    name, pattern, handle = ...
  else
    pattern, handle = ...
    name = "_once_" .. tostring(handlers.onceNonce)
    handlers.onceNonce = handlers.onceNonce + 1
  end
  return handlers.prepend(name, pattern, handle, 1)
end

-- Removes the handler with that name; returns whether there was one.
function handlers.remove(name)
  assert(type(name) == "string", "name must be a string")
  local i = indexOf(name)
  if i then table.remove(handlers.list, i) end
  return i ~= nil
end

-- Receive(pattern): suspends the running handler until a later message
-- matches pattern, then returns that message.
function handlers.receive(pattern)
  local co = coroutine.running()
  local _, ismain = coroutine.running()
  assert(not ismain, "Receive can only be called from inside a handler")
  handlers.once(pattern, function(msg)
    local ok, a, b = coroutine.resume(co, msg)
    if not ok then error(a, 0) end
    -- the coroutine ended with its pcall'd evaluation failing
    if a == false then error(b, 0) end
  end)
  return coroutine.yield(pattern)
end

-- Normalizes a pattern result: -1 break, 0 skip, 1 continue.
local function outcome(m)
  if m == true then return -1 end
  if m == false or m == nil then return 0 end
  if m == "break" then return -1 end
  if m == "continue" then return 1 end
  if m == "skip" then return 0 end
  if type(m) == "number" then
    if m < 0 then return -1 elseif m > 0 then return 1 else return 0 end
  end
  if type(m) == "string" then return 0 end
  error("Pattern result is not valid, it MUST be string, number, or boolean")
end

-- Runs msg through the handlers in order. A handler whose pattern breaks
-- stops the walk; one that continues lets later handlers see the message.
-- `_default` runs last, only if no handler broke.
function handlers.evaluate(msg, env)
  assert(type(msg) == "table", "msg must be a table")
  local handled = false
  -- walk the names present when the message arrived; each is looked up
  -- again (a handler removed meanwhile is skipped, a replaced one runs
  -- in its new form, one added meanwhile waits for the next message)
  local walk = {}
  for i, h in ipairs(handlers.list) do walk[i] = h.name end
  for _, name in ipairs(walk) do
    local i = indexOf(name)
    local h = i and handlers.list[i]
    if h and h.name ~= "_default" then
      local m = outcome(utils.matchesSpec(msg, h.pattern))
      if m ~= 0 then
        if m < 0 then handled = true end
        if h.maxRuns ~= nil and h.maxRuns ~= "inf" then
          h.maxRuns = h.maxRuns - 1
          if h.maxRuns <= 0 then
            for j, x in ipairs(handlers.list) do
              if x == h then table.remove(handlers.list, j) break end
            end
          end
        end
        h.handle(msg, env)
      end
      if m < 0 then return handled end
    end
  end
  if not handled then
    local i = indexOf("_default")
    if i then handlers.list[i].handle(msg, env) end
  end
  return handled
end

return handlers
