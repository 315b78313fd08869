-- tests/aos/lua/util/greet.lua - a nested module of the host tests' process
-- (embedded as "util.greet").
local M = {}
function M.hi(name) return "hi " .. name end
return M
