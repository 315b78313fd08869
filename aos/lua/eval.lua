-- The `_eval` handler's work: runs msg.Data as Lua in the process's global
-- environment (first as an expression, `return <Data>`, else as a chunk).
-- The value is printed into Output; a compile error, or a second value
-- returned by the code (`return nil, "why"`), becomes the result's Error;
-- a run-time error propagates (the process reports it as Error).
local dump = require "dump"

return function(ao)
  return function(msg)
    local src = msg.Data
    if type(src) ~= "string" then src = tostring(src or "") end
    local fn, err = load("return " .. src, "aos", "t", _G)
    if not fn then fn, err = load(src, "aos", "t", _G) end
    if not fn then
      ao.outbox.Error = err
      return
    end
    local out, e = fn()
    if e then
      ao.outbox.Error = type(e) == "string" and e or dump.dump(e)
      return
    end
    if out ~= nil then
      table.insert(ao._log, type(out) == "table" and dump.format(out) or tostring(out))
    end
  end
end
