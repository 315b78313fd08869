-- Text forms of Lua values for aos: `Dump(v)` (plain, Lua-literal-like, the
-- global Dump) and `format(v)` (the coloured form print uses for tables).
-- Keys are sorted, so the text never depends on hash order; cycles print
-- as <cycle>.
local utils = require "utils"

local M = {}

local colors = {
  key = "\27[31m", str = "\27[32m", num = "\27[34m", reset = "\27[0m",
}

local function keyText(k, color)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then
    return color and (colors.key .. k .. colors.reset) or k
  end
  local inner = type(k) == "string" and string.format("%q", k) or tostring(k)
  return "[" .. inner .. "]"
end

local function scalar(v, color)
  if type(v) == "string" then
    local s = string.format("%q", v):gsub("\\\n", "\\n")
    return color and (colors.str .. s .. colors.reset) or s
  end
  if type(v) == "number" or type(v) == "boolean" then
    return color and (colors.num .. tostring(v) .. colors.reset) or tostring(v)
  end
  if v == nil then return "nil" end
  if getmetatable(v) and getmetatable(v).__tostring and type(v) == "table" then return tostring(v) end
  return "<" .. type(v) .. ">"
end

local function render(v, color, indent, seen)
  if type(v) ~= "table" or (getmetatable(v) and getmetatable(v).__tostring) then
    return scalar(v, color)
  end
  if seen[v] then return "<cycle>" end
  if next(v) == nil then return "{}" end
  seen[v] = true
  local pad = string.rep("  ", indent + 1)
  local parts = {}
  local n = #v
  local simple = true
  for i = 1, n do
    parts[#parts + 1] = render(v[i], color, indent + 1, seen)
    if type(v[i]) == "table" then simple = false end
  end
  local keyed = {}
  for _, k in ipairs(utils.sortedKeys(v)) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then
      keyed[#keyed + 1] = keyText(k, color) .. " = " .. render(v[k], color, indent + 1, seen)
      simple = false
    end
  end
  seen[v] = nil
  for _, p in ipairs(keyed) do parts[#parts + 1] = p end
  if simple then return "{ " .. table.concat(parts, ", ") .. " }" end
  return "{\n" .. pad .. table.concat(parts, ",\n" .. pad) .. "\n" .. string.rep("  ", indent) .. "}"
end

function M.dump(v) return render(v, false, 0, {}) end
function M.format(v) return render(v, true, 0, {}) end

return M
