-- Deterministic random numbers for aos processes: a 32-bit Mersenne Twister
-- (MT19937) seeded once per process from its spawn message, so that
-- math.random gives the same sequence on every node that evaluates it.
local chance = {}

local N, M = 624, 397
local MASK = 0xffffffff

local state = { mt = {}, index = N + 1 }

function chance.seed(seed)
  seed = math.tointeger(seed) or math.floor(tonumber(seed) or 0)
  local mt = {}
  mt[0] = seed & MASK
  for i = 1, N - 1 do
    local prev = mt[i - 1] ~ (mt[i - 1] >> 30)
    mt[i] = (1812433253 * prev + i) & MASK
  end
  state.mt = mt
  state.index = N
end

local function twist()
  local mt = state.mt
  for i = 0, N - 1 do
    local y = (mt[i] & 0x80000000) | (mt[(i + 1) % N] & 0x7fffffff)
    local v = mt[(i + M) % N] ~ (y >> 1)
    if y & 1 == 1 then v = v ~ 0x9908b0df end
    mt[i] = v
  end
  state.index = 0
end

-- Next 32-bit unsigned integer.
function chance.integer32()
  if state.index > N then chance.seed(5489) end
  if state.index >= N then twist() end
  local y = state.mt[state.index]
  state.index = state.index + 1
  y = y ~ (y >> 11)
  y = y ~ ((y << 7) & 0x9d2c5680)
  y = y ~ ((y << 15) & 0xefc60000)
  y = y ~ (y >> 18)
  return y & MASK
end

-- A float in [0, 1).
function chance.random()
  return chance.integer32() / 4294967296.0
end

-- An integer in [lo, hi].
function chance.integer(lo, hi)
  assert(lo <= hi, "interval is empty")
  local span = hi - lo + 1
  return lo + math.floor(chance.random() * span)
end

-- A replacement for math.random with the same calling forms.
function chance.mathRandom(m, n)
  if m == nil then return chance.random() end
  m = math.tointeger(m) or error("bad argument #1 to 'random' (number has no integer representation)", 2)
  if n == nil then
    if m < 1 then error("bad argument #1 to 'random' (interval is empty)", 2) end
    return chance.integer(1, m)
  end
  n = math.tointeger(n) or error("bad argument #2 to 'random' (number has no integer representation)", 2)
  if m > n then error("bad argument #2 to 'random' (interval is empty)", 2) end
  return chance.integer(m, n)
end

return chance
