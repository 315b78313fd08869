-- Test-only JSON for running the aos library natively (the module gets its
-- `json` from C). Encodes sequences (and empty tables) as arrays, other
-- tables as objects with sorted keys; refuses functions and other
-- unencodable values, so a response that would not survive the loader's
-- json.encode fails the tests.
local json = {}

local function esc(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local m = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
    return m[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function enc(v, out, seen)
  local t = type(v)
  if v == nil then out[#out + 1] = "null"
  elseif t == "boolean" then out[#out + 1] = tostring(v)
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then error("json: cannot encode " .. tostring(v)) end
    out[#out + 1] = math.type(v) == "integer" and string.format("%d", v) or string.format("%.14g", v)
  elseif t == "string" then out[#out + 1] = esc(v)
  elseif t == "table" then
    if seen[v] then error("json: circular reference") end
    seen[v] = true
    local n, count = #v, 0
    for _ in pairs(v) do count = count + 1 end
    if count == n then
      out[#out + 1] = "["
      for i = 1, n do
        if i > 1 then out[#out + 1] = "," end
        enc(v[i], out, seen)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do
        if type(k) ~= "string" then error("json: object key of type " .. type(k)) end
        keys[#keys + 1] = k
      end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = esc(k) .. ":"
        enc(v[k], out, seen)
      end
      out[#out + 1] = "}"
    end
    seen[v] = nil
  else
    error("json: cannot encode a " .. t)
  end
end

function json.encode(v)
  local out = {}
  enc(v, out, {})
  return table.concat(out)
end

local function decoder(s)
  local i = 1
  local function ws() i = s:find("[^ \t\r\n]", i) or #s + 1 end
  local function fail(what) error(string.format("json: %s at %d", what, i)) end
  local value
  local function str()
    i = i + 1
    local parts = {}
    while true do
      local c = s:sub(i, i)
      if c == "" then fail("unterminated string") end
      if c == '"' then i = i + 1 break end
      if c == "\\" then
        local e = s:sub(i + 1, i + 1)
        local m = { ['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f', n = '\n', r = '\r', t = '\t' }
        if m[e] then parts[#parts + 1] = m[e]; i = i + 2
        elseif e == "u" then
          local cp = tonumber(s:sub(i + 2, i + 5), 16) or fail("bad \\u")
          i = i + 6
          if cp >= 0xD800 and cp <= 0xDBFF and s:sub(i, i + 1) == "\\u" then
            local lo = tonumber(s:sub(i + 2, i + 5), 16)
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
            i = i + 6
          end
          parts[#parts + 1] = utf8.char(cp)
        else fail("bad escape") end
      else
        parts[#parts + 1] = c; i = i + 1
      end
    end
    return table.concat(parts)
  end
  function value()
    ws()
    local c = s:sub(i, i)
    if c == "{" then
      i = i + 1
      local r = {}
      ws()
      if s:sub(i, i) == "}" then i = i + 1 return r end
      while true do
        ws()
        if s:sub(i, i) ~= '"' then fail("expected key") end
        local k = str()
        ws()
        if s:sub(i, i) ~= ":" then fail("expected ':'") end
        i = i + 1
        r[k] = value()
        ws()
        local d = s:sub(i, i); i = i + 1
        if d == "}" then return r end
        if d ~= "," then fail("expected ',' or '}'") end
      end
    elseif c == "[" then
      i = i + 1
      local r = {}
      ws()
      if s:sub(i, i) == "]" then i = i + 1 return r end
      while true do
        r[#r + 1] = value()
        ws()
        local d = s:sub(i, i); i = i + 1
        if d == "]" then return r end
        if d ~= "," then fail("expected ',' or ']'") end
      end
    elseif c == '"' then return str()
    elseif s:sub(i, i + 3) == "true" then i = i + 4 return true
    elseif s:sub(i, i + 4) == "false" then i = i + 5 return false
    elseif s:sub(i, i + 3) == "null" then i = i + 4 return nil
    else
      local num = s:match("^-?%d+%.?%d*[eE]?[+-]?%d*", i)
      if not num or num == "" then fail("unexpected character") end
      i = i + #num
      return math.tointeger(tonumber(num)) or tonumber(num)
    end
  end
  return function()
    local v = value()
    ws()
    if i <= #s then fail("trailing characters") end
    return v
  end
end

function json.decode(s)
  assert(type(s) == "string", "json.decode: expected a string")
  return decoder(s)()
end

return json
