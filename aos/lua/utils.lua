-- Utils: small functional helpers for aos processes (the global `Utils`).
-- Functions taking a function and a table are curried: Utils.map(f)(t) is
-- Utils.map(f, t). Also the message-pattern matcher used by Handlers and
-- by ao's assignables (matchesSpec / matchesPattern).
local utils = { _version = "0.1.0" }

-- curry(fn, arity): calling with fewer than `arity` arguments returns a
-- function waiting for the rest.
function utils.curry(fn, arity)
  assert(type(fn) == "function", "function is required as first argument")
  arity = arity or debug.getinfo(fn, "u").nparams
  if arity < 2 then return fn end
  local function collect(args, n)
    return function(...)
      local all = { table.unpack(args, 1, n) }
      local m = select("#", ...)
      for i = 1, m do all[n + i] = select(i, ...) end
      if n + m >= arity then return fn(table.unpack(all, 1, n + m)) end
      return collect(all, n + m)
    end
  end
  return collect({}, 0)
end

local function isArray(t)
  if type(t) ~= "table" then return false end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do if t[i] == nil then return false end end
  return true
end
utils.isArray = isArray

-- concat(a, b): a new array with a's items then b's.
utils.concat = utils.curry(function(a, b)
  assert(type(a) == "table" and type(b) == "table", "concat: both arguments must be tables")
  local r = {}
  for _, v in ipairs(a) do r[#r + 1] = v end
  for _, v in ipairs(b) do r[#r + 1] = v end
  return r
end, 2)

-- reduce(fn, initial, t): fn(acc, value, key) over the array t.
utils.reduce = utils.curry(function(fn, initial, t)
  assert(type(fn) == "function", "reduce: first argument must be a function")
  assert(type(t) == "table", "reduce: third argument must be a table")
  local acc = initial
  for k, v in ipairs(t) do
    if acc == nil and k == 1 then acc = v else acc = fn(acc, v, k) end
  end
  return acc
end, 3)

-- map(fn, t): a new array of fn(value, key).
utils.map = utils.curry(function(fn, t)
  assert(type(fn) == "function", "map: first argument must be a function")
  assert(type(t) == "table", "map: second argument must be a table")
  local r = {}
  for k, v in ipairs(t) do r[k] = fn(v, k) end
  return r
end, 2)

-- filter(fn, t): the items of array t for which fn(value) is true.
utils.filter = utils.curry(function(fn, t)
  assert(type(fn) == "function", "filter: first argument must be a function")
  assert(type(t) == "table", "filter: second argument must be a table")
  local r = {}
  for _, v in ipairs(t) do if fn(v) then r[#r + 1] = v end end
  return r
end, 2)

-- find(fn, t): the first item of array t for which fn(value) is true.
utils.find = utils.curry(function(fn, t)
  assert(type(fn) == "function", "find: first argument must be a function")
  assert(type(t) == "table", "find: second argument must be a table")
  for _, v in ipairs(t) do if fn(v) then return v end end
  return nil
end, 2)

-- propEq(name, value, obj): obj[name] == value
utils.propEq = utils.curry(function(name, value, obj)
  return type(obj) == "table" and obj[name] == value
end, 3)

-- prop(name, obj): obj[name]
utils.prop = utils.curry(function(name, obj) return obj[name] end, 2)

-- includes(value, t): whether array t holds value.
utils.includes = utils.curry(function(value, t)
  assert(type(t) == "table", "includes: second argument must be a table")
  for _, v in ipairs(t) do if v == value then return true end end
  return false
end, 2)

-- reverse(t): a new array in reverse order.
function utils.reverse(t)
  local r = {}
  for i = #t, 1, -1 do r[#r + 1] = t[i] end
  return r
end

-- compose(f, g, h)(x) = f(g(h(x)))
function utils.compose(...)
  local fns = { ... }
  return function(...)
    local r = table.pack(...)
    for i = #fns, 1, -1 do r = table.pack(fns[i](table.unpack(r, 1, r.n))) end
    return table.unpack(r, 1, r.n)
  end
end

-- Sorted keys of a table (numbers first, then strings, then the rest by
-- type name), so that iteration in outputs does not depend on hash order.
-- Numbers and strings are each sorted by table.sort's own comparison (no
-- Lua comparator call per comparison: this runs on every message).
function utils.sortedKeys(t)
  local nums, strs, rest = {}, {}, nil
  for k in pairs(t) do
    local tk = type(k)
    if tk == "string" then strs[#strs + 1] = k
    elseif tk == "number" then nums[#nums + 1] = k
    else rest = rest or {}; rest[#rest + 1] = k end
  end
  table.sort(strs)
  if #nums == 0 and not rest then return strs end
  table.sort(nums)
  local ks = nums
  for i = 1, #strs do ks[#ks + 1] = strs[i] end
  if rest then
    table.sort(rest, function(a, b) return type(a) < type(b) end)
    for i = 1, #rest do ks[#ks + 1] = rest[i] end
  end
  return ks
end

function utils.keys(t)
  assert(type(t) == "table", "keys: argument must be a table")
  return utils.sortedKeys(t)
end

function utils.values(t)
  assert(type(t) == "table", "values: argument must be a table")
  local r = {}
  for _, k in ipairs(utils.sortedKeys(t)) do r[#r + 1] = t[k] end
  return r
end

-- Title-Case-With-Dashes form of a message field or tag name
-- ("x-reference" -> "X-Reference"); letters after the first of each
-- dash-separated part are kept as they are.
function utils.normalizeName(name)
  if type(name) ~= "string" then return name end
  return (name:gsub("^%l", string.upper):gsub("%-%l", string.upper))
end

-- A Lua pattern with its letters lower-cased, except the class letters
-- after '%' (%a, %S, ...), which keep their meaning.
local function lowerPattern(p)
  local out, i = {}, 1
  while i <= #p do
    local c = p:sub(i, i)
    if c == "%" then out[#out + 1] = p:sub(i, i + 1); i = i + 2
    else out[#out + 1] = c:lower(); i = i + 1 end
  end
  return table.concat(out)
end

local SPECIAL = "[%^%$%(%)%%%.%[%]%*%+%?]"

-- Whether one field value matches one pattern of a table spec:
-- '_' matches anything present, a function is called with (value, msg),
-- a string holding Lua pattern characters is a Lua pattern, any other
-- string an exact value (both compared case-insensitively), a table is
-- any-of its patterns.
function utils.matchesPattern(pattern, value, msg)
  if pattern == nil then return false end
  if pattern == "_" then return value ~= nil end
  if type(pattern) == "function" then return pattern(value, msg) and true or false end
  if type(pattern) == "table" then
    for _, sub in ipairs(pattern) do
      if utils.matchesPattern(sub, value, msg) then return true end
    end
    return false
  end
  if type(value) == "number" or type(value) == "boolean" then value = tostring(value) end
  if type(value) ~= "string" then return false end
  if type(pattern) == "number" or type(pattern) == "boolean" then pattern = tostring(pattern) end
  if type(pattern) ~= "string" then return false end
  if pattern:find(SPECIAL) then
    local ok, r = pcall(string.match, value, pattern)
    if ok and r then return true end
    ok, r = pcall(string.match, value:lower(), lowerPattern(pattern))
    return (ok and r) and true or false
  end
  return value == pattern or value:lower() == pattern:lower()
end

-- Whether msg matches a spec: a function (its result is returned as is),
-- a table of field -> pattern (each field looked up on msg, then in
-- msg.Tags; all must match), or a string (msg.Action equals it).
function utils.matchesSpec(msg, spec)
  if type(spec) == "function" then return spec(msg) end
  if type(spec) == "table" then
    for _, key in ipairs(utils.sortedKeys(spec)) do
      local pattern = spec[key]
      local v = msg[key]
      local tv = type(msg.Tags) == "table" and msg.Tags[key] or nil
      if v == nil and tv == nil then return false end
      if not (utils.matchesPattern(pattern, v, msg) or
              (tv ~= nil and tv ~= v and utils.matchesPattern(pattern, tv, msg))) then
        return false
      end
    end
    return true
  end
  if type(spec) == "string" then return msg.Action ~= nil and msg.Action == spec end
  return false
end

-- A JSON string literal for s (used where the library writes JSON itself
-- to keep key order fixed).
function utils.jsonString(s)
  s = tostring(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local m = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
    return m[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

return utils
