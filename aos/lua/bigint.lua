-- Arbitrary-size signed integers for the aos library (token balances and
-- supplies travel as decimal strings; this does their arithmetic exactly,
-- with no float rounding). Numbers are sign + little-endian limbs of base
-- 10^7. Operators: + - * (with bigints, integers or decimal strings),
-- == < <= and tostring().
local bigint = {}
bigint.__index = bigint

local BASE = 10000000
local DIGITS = 7

local function normalize(n)
  local l = n.l
  while #l > 1 and l[#l] == 0 do l[#l] = nil end
  if #l == 1 and l[1] == 0 then n.neg = false end
  return n
end

local function copy(l)
  local r = {}
  for i = 1, #l do r[i] = l[i] end
  return r
end

local function make(neg, limbs)
  return normalize(setmetatable({ neg = neg, l = limbs }, bigint))
end

-- Parses a decimal string ("-123", "+5", "0") or a Lua integer (or a float
-- with an integer value). Returns nil and a reason for anything else.
function bigint.parse(v)
  if getmetatable(v) == bigint then return v end
  if math.type(v) == "float" then
    local i = math.tointeger(v)
    if not i then return nil, "not an integer: " .. tostring(v) end
    v = i
  end
  if math.type(v) == "integer" then v = string.format("%d", v) end
  if type(v) ~= "string" then return nil, "not a number: " .. type(v) end
  local sign, digits = v:match("^%s*([+-]?)(%d+)%s*$")
  if not digits then return nil, "not an integer string: " .. v end
  digits = digits:gsub("^0+", "")
  if digits == "" then digits = "0" end
  local limbs = {}
  local i = #digits
  while i >= 1 do
    local j = math.max(1, i - DIGITS + 1)
    limbs[#limbs + 1] = tonumber(digits:sub(j, i))
    i = j - 1
  end
  return make(sign == "-", limbs)
end

-- Like parse but raises an error on bad input.
function bigint.new(v)
  local n, err = bigint.parse(v)
  if not n then error(err, 2) end
  return n
end

local function cmpabs(a, b)
  if #a.l ~= #b.l then return #a.l < #b.l and -1 or 1 end
  for i = #a.l, 1, -1 do
    if a.l[i] ~= b.l[i] then return a.l[i] < b.l[i] and -1 or 1 end
  end
  return 0
end

local function addabs(a, b)
  local r, carry = {}, 0
  for i = 1, math.max(#a.l, #b.l) do
    local s = (a.l[i] or 0) + (b.l[i] or 0) + carry
    if s >= BASE then r[i] = s - BASE; carry = 1 else r[i] = s; carry = 0 end
  end
  if carry > 0 then r[#r + 1] = carry end
  return r
end

-- |a| - |b| with |a| >= |b|
local function subabs(a, b)
  local r, borrow = {}, 0
  for i = 1, #a.l do
    local s = a.l[i] - (b.l[i] or 0) - borrow
    if s < 0 then r[i] = s + BASE; borrow = 1 else r[i] = s; borrow = 0 end
  end
  return r
end

-- Compares two values: -1, 0 or 1.
function bigint.cmp(a, b)
  a, b = bigint.new(a), bigint.new(b)
  if a.neg ~= b.neg then return a.neg and -1 or 1 end
  local c = cmpabs(a, b)
  return a.neg and -c or c
end

function bigint.add(a, b)
  a, b = bigint.new(a), bigint.new(b)
  if a.neg == b.neg then return make(a.neg, addabs(a, b)) end
  if cmpabs(a, b) >= 0 then return make(a.neg, subabs(a, b)) end
  return make(b.neg, subabs(b, a))
end

function bigint.sub(a, b)
  b = bigint.new(b)
  return bigint.add(a, make(not b.neg, copy(b.l)))
end

function bigint.mul(a, b)
  a, b = bigint.new(a), bigint.new(b)
  local r = {}
  for i = 1, #a.l + #b.l do r[i] = 0 end
  for i = 1, #a.l do
    local carry, ai = 0, a.l[i]
    for j = 1, #b.l do
      local t = r[i + j - 1] + ai * b.l[j] + carry
      r[i + j - 1] = t % BASE
      carry = t // BASE
    end
    local k = i + #b.l
    while carry > 0 do
      local t = r[k] + carry
      r[k] = t % BASE
      carry = t // BASE
      k = k + 1
    end
  end
  return make(a.neg ~= b.neg, r)
end

-- Decimal string form.
function bigint.tostring(n)
  n = bigint.new(n)
  local parts = { (n.neg and "-" or "") .. tostring(n.l[#n.l]) }
  for i = #n.l - 1, 1, -1 do parts[#parts + 1] = string.format("%07d", n.l[i]) end
  return table.concat(parts)
end

function bigint.iszero(n) n = bigint.new(n); return #n.l == 1 and n.l[1] == 0 end
function bigint.isneg(n) return bigint.new(n).neg end

bigint.__add = bigint.add
bigint.__sub = bigint.sub
bigint.__mul = bigint.mul
bigint.__tostring = bigint.tostring
bigint.__eq = function(a, b) return bigint.cmp(a, b) == 0 end
bigint.__lt = function(a, b) return bigint.cmp(a, b) < 0 end
bigint.__le = function(a, b) return bigint.cmp(a, b) <= 0 end
bigint.__unm = function(a) return make(not a.neg, copy(a.l)) end

return setmetatable(bigint, { __call = function(_, v) return bigint.new(v) end })
