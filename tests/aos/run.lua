-- Runner of the aos library's Lua tests. Without arguments: runs every
-- test of tests/aos/cases_*.lua, each in its own lua5.3 process (a fresh
-- process state), and ends with "N passed, N failed". With a test name:
-- runs just that one in this process.
package.path = "aos/lua/?.lua;tests/aos/?.lua;" .. package.path

local files = { "cases_core", "cases_handlers", "cases_process", "cases_token" }

local function all()
  local list = {}
  for _, f in ipairs(files) do
    for _, t in ipairs(require(f)) do list[#list + 1] = t end
  end
  return list
end

local lua = os.getenv("LUA") or "lua5.3"

if arg[1] == "--list" then
  for _, t in ipairs(all()) do io.write(t[1], "\n") end
  return
end

if arg[1] then
  for _, t in ipairs(all()) do
    if t[1] == arg[1] then
      require("harness").testName = t[1]
      local ok, err = xpcall(t[2], debug.traceback)
      if ok then io.write("ok\n") os.exit(0) end
      io.write(tostring(err), "\n")
      os.exit(1)
    end
  end
  io.write("no such test: ", arg[1], "\n")
  os.exit(2)
end

local passed, failed = 0, 0
local seen = {}
for _, t in ipairs(all()) do
  assert(not seen[t[1]], "duplicate test name " .. t[1])
  seen[t[1]] = true
  local p = io.popen(lua .. " tests/aos/run.lua '" .. t[1] .. "' 2>&1")
  local out = p:read("a")
  local ok = p:close()
  if ok and out == "ok\n" then
    passed = passed + 1
    io.write("ok   ", t[1], "\n")
  else
    failed = failed + 1
    io.write("FAIL ", t[1], "\n", out, "\n")
  end
end
io.write(string.format("%d passed, %d failed\n", passed, failed))
os.exit(failed == 0 and 0 or 1)
