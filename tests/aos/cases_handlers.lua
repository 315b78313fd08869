-- Tests of Handlers inside a running process: ordering, pattern results,
-- maxRuns, once, before/after, remove, table specs, Handlers.utils.
local H = require "harness"
local T = {}
local function test(name, fn) T[#T + 1] = { name, fn } end

local function action(a, extra)
  local tags = { { "Action", a } }
  for _, t in ipairs(extra or {}) do tags[#tags + 1] = t end
  return H.send({ Tags = tags })
end

test("handler_action_string_pattern", function()
  H.spawn()
  H.value([[Handlers.add("ping", "Ping", function(m) print("pong " .. m.Action) end); return "ok"]])
  local r = action("Ping")
  H.eq(H.out(r), "pong Ping", "output")
  r = action("Other")
  H.hasnt(H.out(r), "pong", "other action")
  H.has(H.out(r), "New Message From", "default handler ran")
end)

test("handler_two_argument_form", function()
  H.spawn()
  H.value([[Handlers.add("Ping", function(m) print("two-arg") end); return 1]])
  H.eq(H.out(action("Ping")), "two-arg", "name is the Action")
end)

test("handler_order_and_break", function()
  H.spawn()
  H.value([[
    Handlers.add("a", "Go", function() print("a") end)
    Handlers.add("b", "Go", function() print("b") end)
    return 1]])
  H.eq(H.out(action("Go")), "a", "first matching handler breaks")
end)

test("handler_continue_results", function()
  H.spawn()
  H.value([[
    Handlers.add("c1", function(m) return m.Action == "Go" and 1 or 0 end, function() print("c1") end)
    Handlers.add("c2", function(m) return m.Action == "Go" and "continue" or "skip" end, function() print("c2") end)
    Handlers.add("c3", Handlers.utils.continue(Handlers.utils.hasMatchingTag("Action", "Go")), function() print("c3") end)
    Handlers.add("last", "Go", function() print("last") end)
    Handlers.add("never", "Go", function() print("never") end)
    return 1]])
  H.eq(H.out(action("Go")), "c1\nc2\nc3\nlast", "continue lets later handlers run; break stops")
end)

test("handler_break_results", function()
  H.spawn()
  H.value([[
    Handlers.add("b1", function(m) return m.Action == "B1" and -1 or 0 end, function() print("b1") end)
    Handlers.add("b2", function(m) return m.Action == "B2" and "break" or "skip" end, function() print("b2") end)
    Handlers.add("after", function() return "continue" end, function() print("after") end)
    return 1]])
  H.eq(H.out(action("B1")), "b1", "-1 breaks")
  H.eq(H.out(action("B2")), "b2", "'break' breaks")
end)

test("handler_skip_results", function()
  H.spawn()
  H.value([[
    Handlers.add("s0", function() return 0 end, function() print("<s0>") end)
    Handlers.add("sf", function() return false end, function() print("<sf>") end)
    Handlers.add("ss", function() return "skip" end, function() print("<ss>") end)
    return 1]])
  local out = H.out(action("X"))
  H.hasnt(out, "<s0>", "0 skips"); H.hasnt(out, "<sf>", "false skips"); H.hasnt(out, "<ss>", "'skip' skips")
  H.has(out, "New Message From", "default ran")
end)

test("handler_continue_then_default", function()
  H.spawn()
  H.value([[Handlers.add("peek", function() return "continue" end, function() print("peek") end); return 1]])
  local r = action("Z")
  H.has(H.out(r), "peek", "continuing handler ran")
  H.has(H.out(r), "New Message From", "default still runs when nothing broke")
  H.eq(H.value("#Inbox"), "2", "message went to Inbox")
end)

test("handler_invalid_pattern_result", function()
  H.spawn()
  H.value([[Handlers.add("bad", function() return {} end, function() end); return 1]])
  local r = action("X")
  H.ok(r.Error, "error reported")
  H.has(H.plain(r.Error), "Pattern result is not valid", "reason")
end)

test("handler_max_runs", function()
  H.spawn()
  H.value([[Handlers.add("twice", "T", function() print("run") end, 2); return 1]])
  H.eq(H.out(action("T")), "run", "1st")
  H.eq(H.out(action("T")), "run", "2nd")
  H.hasnt(H.out(action("T")), "run", "3rd: removed")
  H.eq(H.value([[Handlers.list[1].name .. "," .. tostring(#Handlers.list)]]), "_eval,2", "handler gone")
end)

test("handler_once", function()
  H.spawn()
  H.value([[Handlers.once("one", "O", function() print("once!") end); return 1]])
  H.eq(H.out(action("O")), "once!", "runs")
  H.hasnt(H.out(action("O")), "once!", "not again")
  H.value([[Handlers.once("O", function() print("anon") end); return 1]])
  H.eq(H.value([[Handlers.list[1].name]]), "_once_0", "unnamed once is prepended with a nonce name")
  H.eq(H.out(action("O")), "anon", "unnamed once runs")
end)

test("handler_prepend_before_after", function()
  H.spawn()
  H.value([[
    Handlers.add("mid", "Go", function() print("mid") end)
    Handlers.prepend("first", function() return "continue" end, function() print("first") end)
    Handlers.before("mid").add("pre", function() return "continue" end, function() print("pre") end)
    Handlers.after("first").add("post", function() return "continue" end, function() print("post") end)
    return 1]])
  H.eq(H.out(action("Go")), "first\npost\npre\nmid", "order")
  H.eq(H.value([[local n = {} for _, h in ipairs(Handlers.list) do n[#n+1] = h.name end return table.concat(n, ",")]]),
    "first\npost\nfirst,post,_eval,_default,pre,mid", "list (after the continuing handlers' prints)")
end)

test("handler_add_replaces_in_place", function()
  H.spawn()
  H.value([[
    Handlers.add("x", "Go", function() print("old") end)
    Handlers.add("y", "Go", function() print("y") end)
    Handlers.add("x", "Go", function() print("new") end)
    return 1]])
  H.eq(H.out(action("Go")), "new", "replaced, still before y")
end)

test("handler_remove", function()
  H.spawn()
  H.value([[Handlers.add("gone", "Go", function() print("gone") end); return 1]])
  H.eq(H.value([[Handlers.remove("gone")]]), "true", "removed")
  H.hasnt(H.out(action("Go")), "gone", "not run")
  H.eq(H.value([[Handlers.remove("gone")]]), "false", "second remove finds nothing")
end)

test("handler_table_spec", function()
  H.spawn()
  H.value([[
    Handlers.add("spec", { Action = "Credit-Notice", Quantity = "%d+", Sender = "_" },
      function(m) print("credit " .. m.Quantity) end)
    return 1]])
  H.eq(H.out(action("Credit-Notice", { { "Quantity", "50" }, { "Sender", "S" } })), "credit 50", "all match")
  H.hasnt(H.out(action("Credit-Notice", { { "Quantity", "lots" }, { "Sender", "S" } })), "credit", "pattern fails")
  H.hasnt(H.out(action("Credit-Notice", { { "Quantity", "5" } })), "credit", "wildcard needs the field")
end)

test("handler_table_spec_any_of_and_case", function()
  H.spawn()
  H.value([[Handlers.add("s", { Action = { "Ping", "Pong" } }, function(m) print("got " .. m.Action) end); return 1]])
  H.eq(H.out(action("Pong")), "got Pong", "any-of")
  H.eq(H.out(action("ping")), "got ping", "case-insensitive exact value")
end)

test("handler_spec_matches_top_level_fields", function()
  H.spawn()
  H.value((([[Handlers.add("s", { From = H_FROM, Data = "hello" }, function(m) print("from " .. m.From) end); return 1]])
    :gsub("H_FROM", string.format("%q", H.OWNER))))
  H.eq(H.out(H.send({ Data = "hello" })), "from " .. H.OWNER, "From and Data are message fields")
end)

test("handlers_utils_matchers", function()
  H.spawn()
  H.value([[
    Handlers.add("t", Handlers.utils.hasMatchingTag("Action", "A"), function() print("tag") end)
    Handlers.add("tof", Handlers.utils.hasMatchingTagOf("Action", { "B", "C" }), function() print("tagof") end)
    Handlers.add("d", Handlers.utils.hasMatchingData("payload"), function() print("data") end)
    return 1]])
  H.eq(H.out(action("A")), "tag", "hasMatchingTag")
  H.eq(H.out(action("C")), "tagof", "hasMatchingTagOf")
  H.eq(H.out(H.send({ Data = "payload" })), "data", "hasMatchingData")
end)

test("handlers_utils_reply", function()
  H.spawn()
  H.value([[
    Handlers.add("r1", "R1", Handlers.utils.reply("pong"))
    Handlers.add("r2", "R2", Handlers.utils.reply({ Action = "Pong", Data = "x" }))
    return 1]])
  local r = action("R1")
  H.eq(#r.Messages, 1, "one reply")
  H.eq(r.Messages[1].Target, H.OWNER, "to sender")
  H.eq(r.Messages[1].Data, "pong", "string reply is Data")
  r = action("R2")
  H.eq(H.tag(r.Messages[1], "Action"), "Pong", "table reply tags")
end)

test("handler_resolver_table", function()
  H.spawn()
  H.value([[
    Handlers.add("res", function(m) return m.Action == "Go" end, {
      [{ Mode = "a" }] = function() print("mode a") end,
      [{ Mode = "b" }] = function() print("mode b") end,
    })
    return 1]])
  H.eq(H.out(action("Go", { { "Mode", "b" } })), "mode b", "resolver picks by spec")
end)

test("handler_error_reported", function()
  H.spawn()
  H.value([[Handlers.add("boom", "Boom", function() print("before"); error("kaput") end); return 1]])
  local r = action("Boom")
  H.ok(r.Error, "Error set")
  H.ok(r.Messages == nil, "no Messages with an Error")
  local e = H.plain(r.Error)
  H.has(e, "before", "prints so far kept")
  H.has(e, "kaput", "reason")
  H.has(e, "Error handling message with Action = Boom", "names the action")
  H.has(H.value("Errors[#Errors]"), "kaput", "kept in Errors")
end)

test("handler_max_runs_inf", function()
  H.spawn()
  H.value([[Handlers.add("inf", "I", function() print("inf") end, "inf"); return 1]])
  for i = 1, 3 do H.eq(H.out(action("I")), "inf", "run " .. i) end
end)

test("handler_invalid_arguments", function()
  H.spawn()
  H.has(H.eval([[Handlers.add(5, "x", function() end)]]).Error, "name must be a string", "name")
  H.has(H.eval([[Handlers.add("n", 5, function() end)]]).Error, "pattern must be", "pattern")
  H.has(H.eval([[Handlers.add("n", "x", 5)]]).Error, "handle must be", "handle")
  H.has(H.eval([[Handlers.add("n", "x", function() end, 0)]]).Error, "maxRuns", "maxRuns")
end)

test("handler_removed_during_walk_not_run", function()
  H.spawn()
  H.value([[
    Handlers.add("killer", function() return "continue" end, function() Handlers.remove("victim") end)
    Handlers.add("victim", function() return "continue" end, function() print("victim ran") end)
    return 1]])
  H.hasnt(H.out(action("Any")), "victim ran", "a handler removed by an earlier one does not run")
end)

test("handler_added_during_walk_waits", function()
  H.spawn()
  H.value([[
    Handlers.add("adder", function() return "continue" end, function()
      Handlers.add("late", function() return "continue" end, function() print("late ran") end)
    end)
    return 1]])
  local r = action("Any")
  H.hasnt(H.out(r), "late ran", "not for the message that added it")
  -- regression: "adder" replaces "late" again during this walk; the
  -- replaced handler must still run (it was skipped when the walk
  -- compared handler tables instead of names)
  H.has(H.out(action("Any")), "late ran", "for the next one")
end)

return T
