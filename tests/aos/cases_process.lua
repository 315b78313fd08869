-- Tests of the aos process as a whole: spawn state, Eval, print/Output,
-- Send/reply/forward, Receive and onReply across messages, Spawn, Assign,
-- trust and assignables, Inbox, Cron, On-Boot, require, determinism.
local H = require "harness"
local T = {}
local function test(name, fn) T[#T + 1] = { name, fn } end

local function q(s) return string.format("%q", s) end

-- spawn state -----------------------------------------------------------

test("spawn_sets_owner_name_id_module", function()
  local r = H.spawn()
  H.ok(not r.Error, "spawn ok")
  H.eq(H.value("Owner"), H.OWNER, "Owner")
  H.eq(H.value("Name"), "aos", "default Name")
  H.eq(H.value("ao.id"), H.PID, "ao.id")
  H.eq(H.value("ao._module"), H.MODULE, "ao._module")
  H.eq(H.value("ao.env.Process.Id"), H.PID, "ao.env")
  H.eq(H.value("#Inbox"), "1", "spawn message kept in Inbox")
end)

test("spawn_name_tag", function()
  H.spawn({ tags = { { "Name", "alice" } } })
  H.eq(H.value("Name"), "alice", "Name from tag")
  H.has(H.plain(H.eval("1").Output.prompt), "alice@aos-", "prompt shows Name")
end)

test("spawn_by_process_owner_is_spawner", function()
  H.spawn({ from = H.OTHER, signer = H.MU, tags = { { "Authority", H.MU } } })
  H.eq(H.out(H.eval("Owner", { From = H.OTHER, FromProcess = true })), H.OTHER, "Owner = From-Process of the spawn")
  -- the wallet that signed the spawn is not the owner: its Eval is ignored
  local r = H.eval("1 + 1", { From = H.MU })
  H.hasnt(H.out(r), "2", "Eval from non-owner not run")
end)

test("owner_without_spawn_message", function()
  H.spawn({ nospawn = true, tags = { { "Name", "late" } } })
  local r = H.send({ From = H.STRANGER, Tags = { { "Action", "Hi" } } })
  H.ok(not r.Error, "first message handled")
  H.eq(H.value("Owner"), H.OWNER, "Owner = the process's owner, not the first sender")
  H.eq(H.value("Name"), "late", "Name from the process tags")
  H.eq(H.value("#Inbox"), "1", "the first message is in the Inbox")
end)

test("owner_without_spawn_message_from_process", function()
  H.spawn({ nospawn = true, from = H.OTHER, tags = { { "Authority", H.MU } } })
  H.send({ From = H.STRANGER, Tags = { { "Action", "Hi" } } })
  H.eq(H.out(H.eval("Owner", { From = H.OTHER, FromProcess = true })), H.OTHER, "Owner = From-Process tag of the process")
end)

test("on_boot_data_runs", function()
  local r = H.spawn({ tags = { { "On-Boot", "Data" } }, data = "BootValue = 41 + 1; print('booting')" })
  H.ok(not r.Error, "no error")
  H.eq(H.out(r), "booting", "On-Boot output")
  H.eq(H.value("BootValue"), "42", "On-Boot code ran")
  H.eq(H.value("#Inbox"), "1", "spawn message in Inbox")
end)

test("on_boot_error_reported", function()
  local r = H.spawn({ tags = { { "On-Boot", "Data" } }, data = "error('bad boot')" })
  H.ok(r.Error, "Error")
  H.has(H.plain(r.Error), "bad boot", "reason")
end)

test("on_boot_unreadable_tx_reported", function()
  local r = H.spawn({ tags = { { "On-Boot", "NOSUCHTX0000000000000000000000000000000000" } } })
  H.ok(r.Error, "Error")
  H.has(H.plain(r.Error), "On-Boot: cannot read the data of NOSUCHTX", "reason")
end)

test("on_boot_only_on_spawn", function()
  H.spawn()
  local r = H.send({ Tags = { { "On-Boot", "Data" } }, Data = "Flag = true" })
  H.eq(H.value("tostring(Flag)"), "nil", "not run for a later message")
  H.ok(not r.Error, "no error")
end)

-- Eval ------------------------------------------------------------------

test("eval_expression_value", function()
  H.spawn()
  local r = H.eval("6 * 7")
  H.eq(H.out(r), "42", "value printed")
  H.ok(r.Output.prompt, "prompt")
  H.ok(r.Output.print == nil, "Eval output has no print flag")
end)

test("eval_statements_and_globals", function()
  H.spawn()
  H.eq(H.out(H.eval("X = 5")), "", "statement prints nothing")
  H.eq(H.value("X + 1"), "6", "global kept across messages")
end)

test("eval_table_value_formatted", function()
  H.spawn()
  H.eq(H.value("{ b = 2, a = 1 }"), "{\n  a = 1,\n  b = 2\n}", "sorted, coloured table (plain view)")
end)

test("eval_second_value_is_error", function()
  H.spawn()
  local r = H.eval("return nil, 'custom failure'")
  H.eq(r.Error, "custom failure", "second return value")
  H.ok(r.Output == nil, "only the Error")
end)

test("eval_compile_error", function()
  H.spawn()
  local r = H.eval("x = = 1")
  H.ok(r.Error, "Error")
  H.has(r.Error, "[string \"aos\"]:1:", "names the chunk and line")
end)

test("eval_runtime_error", function()
  H.spawn()
  local r = H.eval("local t = nil; return t.x")
  H.ok(r.Error, "Error")
  H.has(r.Error, "attempt to index", "Lua message")
  H.has(H.value("Errors[#Errors]"), "attempt to index", "kept in Errors")
end)

test("eval_error_keeps_no_messages", function()
  H.spawn()
  local r = H.eval("Send({ Target = 'X', Data = 'a' }); error('stop')")
  H.ok(r.Error and r.Messages == nil, "Error alone")
end)

test("eval_only_for_owner", function()
  H.spawn()
  local r = H.eval("Hacked = true", { From = H.STRANGER })
  H.has(H.out(r), "New Message From", "went to the default handler")
  H.eq(H.value("tostring(Hacked)"), "nil", "code not run")
  H.eq(H.value("Inbox[#Inbox].Action"), "Eval", "kept in Inbox")
end)

-- print / Output -------------------------------------------------------

test("print_into_output", function()
  H.spawn()
  H.value([[Handlers.add("p", "P", function() print("line 1"); print("line 2") end); return 1]])
  local r = H.send({ Tags = { { "Action", "P" } } })
  H.eq(H.out(r), "line 1\nline 2", "lines joined")
  H.eq(r.Output.print, true, "print flag for non-Eval messages")
  H.has(H.plain(r.Output.prompt), "[Inbox:1]> ", "prompt with Inbox size")
end)

test("print_value_kinds", function()
  H.spawn()
  local r = H.eval("print(nil); print(true); print(3); print({ 1 }); print('a', 'b')")
  H.eq(H.out(r), "nil\ntrue\n3\n{ 1 }\na\tb", "kinds")
  H.has(r.Output.data, "\27[32m3\27[0m", "numbers coloured")
  H.has(r.Output.data, "\27[31mnil\27[0m", "nil coloured")
end)

test("colors_prompt_dump_globals", function()
  H.spawn()
  H.eq(H.value("Colors.red == '\\27[31m' and Colors.reset == '\\27[0m'"), "true", "Colors")
  H.eq(H.value("Dump({ z = 1, a = { 'x' } })"), '{\n  a = { "x" },\n  z = 1\n}', "Dump")
  H.has(H.plain(H.value("Prompt()")), "aos@aos-", "Prompt()")
  H.eq(H.value("Bell"), "\7", "Bell")
end)

-- message fields --------------------------------------------------------

test("msg_tags_map_and_tagarray", function()
  H.spawn()
  H.value([[Handlers.add("t", "T", function(m)
    print(m.Tags.Color .. " " .. m.Color .. " " .. #m.TagArray .. " " .. m.TagArray[5].value) end); return 1]])
  local r = H.send({ Tags = { { "Action", "T" }, { "Color", "red" }, { "Color", "blue" } } })
  H.eq(H.out(r), "red red 6 red", "first value wins; TagArray keeps all")
end)

test("msg_tag_names_title_case_on_message", function()
  H.spawn()
  H.value([[Handlers.add("t", "T", function(m) print(m["X-Custom"] .. " " .. tostring(m.Tags["x-custom"])) end); return 1]])
  H.eq(H.out(H.send({ Tags = { { "Action", "T" }, { "x-custom", "v" } } })), "v v", "normalized name on msg, original in Tags")
end)

test("msg_non_extractable_tags_stay_in_tags", function()
  H.spawn()
  H.value([[Handlers.add("t", "T", function(m) print(tostring(m.Type) .. " " .. tostring(m.Variant) .. " " .. m.Tags.Type) end); return 1]])
  H.eq(H.out(H.send({ Tags = { { "Action", "T" } } })), "nil nil Message", "Type/Variant not copied")
end)

test("msg_json_data_decoded", function()
  H.spawn()
  H.value([[Handlers.add("j", "J", function(m) print(type(m.Data) .. " " .. m.Data.n) end); return 1]])
  local r = H.send({ Tags = { { "Action", "J" }, { "Content-Type", "application/json" } }, Data = '{"n":7}' })
  H.eq(H.out(r), "table 7", "decoded")
end)

test("default_handler_output_and_inbox", function()
  H.spawn()
  local r = H.send({ Data = "hello there, this is long" })
  H.eq(H.out(r), "New Message From OWN...000: Data = hello there, this is", "Data shown, 20 chars")
  r = H.send({ Tags = { { "Action", "Whatever" } } })
  H.eq(H.out(r), "New Message From OWN...000: Action = Whatever", "Action shown")
  H.eq(H.value("#Inbox"), "3", "both in Inbox")
  H.eq(H.value("Inbox[2].Data"), "hello there, this is long", "Inbox holds the message")
end)

test("inbox_capped", function()
  H.spawn()
  H.eq(H.value("MAX_INBOX_SIZE"), "10000", "cap")
  -- fill up to 9998 entries directly (fast), then let real messages in
  H.value([[for i = #Inbox + 1, 9998 do Inbox[i] = { Data = "f" .. i } end; return #Inbox]])
  H.send({ Data = "m1" })
  H.send({ Data = "m2" })
  H.eq(H.value("#Inbox"), "10000", "full")
  H.eq(H.value("Inbox[2].Data"), "f2", "nothing dropped yet")
  H.send({ Data = "m3" })
  H.send({ Data = "m4" })
  H.eq(H.value("#Inbox"), "10000", "capped")
  H.eq(H.value("Inbox[1].Data"), "f3", "oldest dropped first")
  H.eq(H.value("Inbox[10000].Data"), "m4", "newest last")
  H.eq(H.value("Inbox[9999].Data"), "m3", "order kept")
end)

-- Send / reply / forward -----------------------------------------------

test("send_message_shape", function()
  H.spawn()
  local r = H.eval([[Send({ Target = "T1", Action = "Go", Data = "d", Zeta = "z", Alpha = 5,
    Tags = { { name = "Extra", value = "e" } } }); return nil]])
  H.eq(#r.Messages, 1, "one message")
  local m = r.Messages[1]
  H.eq(m.Target, "T1", "Target")
  H.eq(m.Data, "d", "Data")
  H.eq(m.Anchor, "00000000000000000000000000000001", "Anchor = padded reference")
  local names = {}
  for _, t in ipairs(m.Tags) do names[#names + 1] = t.name .. "=" .. t.value end
  H.eq(table.concat(names, ","),
    "Data-Protocol=ao,Variant=ao.TN.1,Type=Message,Reference=1,Action=Go,Alpha=5,Zeta=z,Extra=e", "tags in order")
  r = H.eval([[Send({ Target = "T2" }); Send({ Target = "T3" }); return nil]])
  H.eq(H.tag(r.Messages[2], "Reference"), "3", "reference counts per process")
  H.eq(r.Messages[2].Anchor, "00000000000000000000000000000003", "anchor follows")
end)

test("send_table_data_json", function()
  H.spawn()
  local r = H.eval([[Send({ Target = "T", Data = { a = 1 } }); return nil]])
  H.eq(r.Messages[1].Data, '{"a":1}', "JSON data")
  H.eq(H.tag(r.Messages[1], "Content-Type"), "application/json", "content type")
end)

test("send_tags_map_form", function()
  H.spawn()
  local r = H.eval([[Send({ Target = "T", Tags = { B = "2", A = "1" } }); return nil]])
  H.eq(H.tag(r.Messages[1], "A"), "1", "map tags")
  H.eq(r.Messages[1].Tags[5].name, "A", "sorted")
end)

test("reply_targets_sender_with_x_reference", function()
  H.spawn({ tags = { { "Authority", H.MU } } })
  H.value([[Handlers.add("r", "Q", function(m) m.reply({ Action = "A", Data = "ans" }) end); return 1]])
  local r = H.send({ From = H.OTHER, FromProcess = true, Tags = { { "Action", "Q" }, { "Reference", "17" } } })
  local m = r.Messages[1]
  H.eq(m.Target, H.OTHER, "to the sender")
  H.eq(H.tag(m, "X-Reference"), "17", "X-Reference = the request's Reference")
  H.eq(H.tag(m, "Action"), "A", "tags")
  r = H.send({ Tags = { { "Action", "Q" }, { "Reply-To", "ELSEWHERE" }, { "X-Reference", "9" } } })
  H.eq(r.Messages[1].Target, "ELSEWHERE", "Reply-To honoured")
  H.eq(H.tag(r.Messages[1], "X-Reference"), "9", "X-Reference kept")
end)

test("forward_message", function()
  H.spawn()
  H.value([[Handlers.add("f", "F", function(m) m.forward("NEXT", { Extra = "1" }) end); return 1]])
  local r = H.send({ Data = "payload", Tags = { { "Action", "F" }, { "Reference", "4" } } })
  local m = r.Messages[1]
  H.eq(m.Target, "NEXT", "target")
  H.eq(m.Data, "payload", "data kept")
  H.eq(H.tag(m, "Action"), "F", "action kept")
  H.eq(H.tag(m, "Extra"), "1", "extra fields")
  H.eq(H.tag(m, "Reply-To"), H.OWNER, "Reply-To = original sender")
  H.eq(H.tag(m, "X-Origin"), H.OWNER, "X-Origin")
  H.eq(H.tag(m, "X-Reference"), "4", "X-Reference")
  H.eq(H.tag(m, "Signature"), nil, "non-forwardable fields dropped")
  H.eq(H.tag(m, "Timestamp"), nil, "no Timestamp")
  H.eq(H.tag(m, "Reference"), "1", "own Reference only")
end)

-- Receive / onReply ------------------------------------------------------

test("receive_across_messages", function()
  H.spawn({ tags = { { "Authority", H.MU } } })
  H.value([[Handlers.add("ask", "Ask", function(m)
    print("asking")
    local res = Send({ Target = "ORACLE", Action = "Question" }).receive()
    print("answer: " .. res.Data)
    m.reply({ Data = "done " .. res.Data })
  end); return 1]])
  local r = H.send({ Tags = { { "Action", "Ask" } } })
  H.eq(H.out(r), "asking", "handler suspended after asking")
  H.eq(#r.Messages, 1, "question sent")
  local ref = H.tag(r.Messages[1], "Reference")
  -- an unrelated message does not wake it
  r = H.send({ From = "ORACLE", FromProcess = true, Data = "noise", Tags = { { "X-Reference", "999" } } })
  H.hasnt(H.out(r), "answer", "wrong reference")
  r = H.send({ From = "ORACLE", FromProcess = true, Data = "42", Tags = { { "X-Reference", ref } } })
  H.eq(H.out(r), "answer: 42", "resumed by the reply")
  H.eq(r.Messages[1].Target, H.OWNER, "the suspended handler's reply goes to the first message's sender")
  H.eq(r.Messages[1].Data, "done 42", "reply")
  H.eq(H.value("#Handlers.coroutines"), "0", "finished coroutine dropped")
end)

test("receive_from_other_sender_ignored", function()
  H.spawn({ tags = { { "Authority", H.MU } } })
  H.value([[Handlers.add("ask", "Ask", function()
    local res = Send({ Target = "ORACLE", Action = "Q" }).receive()
    print("got " .. res.From)
  end); return 1]])
  H.send({ Tags = { { "Action", "Ask" } } })
  local r = H.send({ From = "IMPOSTOR", FromProcess = true, Tags = { { "X-Reference", "1" } } })
  H.hasnt(H.out(r), "got", "From must be the target")
  r = H.send({ From = "ORACLE", FromProcess = true, Tags = { { "X-Reference", "1" } } })
  H.eq(H.out(r), "got ORACLE", "resumed")
end)

test("receive_global_pattern", function()
  H.spawn()
  H.value([[Handlers.add("w", "Wait", function()
    local m = Receive({ Action = "Go" })
    print("go with " .. m.Data)
    local m2 = Receive(function(x) return x.Data == "again" end)
    print("twice " .. m2.Data)
  end); return 1]])
  H.eq(H.out(H.send({ Tags = { { "Action", "Wait" } } })), "", "waiting")
  H.eq(H.value("#Handlers.coroutines"), "1", "suspended coroutine kept")
  H.eq(H.out(H.send({ Data = "x", Tags = { { "Action", "Go" } } })), "go with x", "first Receive")
  H.eq(H.out(H.send({ Data = "again" })), "twice again", "second Receive")
end)

test("receive_error_after_resume_reported", function()
  H.spawn()
  H.value([[Handlers.add("w", "Wait", function() local m = Receive({ Action = "Go" }); error("late " .. m.Action) end); return 1]])
  H.send({ Tags = { { "Action", "Wait" } } })
  local r = H.send({ Tags = { { "Action", "Go" } } })
  H.ok(r.Error, "error of the resumed handler")
  H.has(H.plain(r.Error), "late Go", "reason")
end)

test("on_reply_callback", function()
  H.spawn({ tags = { { "Authority", H.MU } } })
  H.value([[Send({ Target = "SVC", Action = "Q" }).onReply(function(m) print("reply " .. m.Data) end); return 1]])
  local r = H.send({ From = "SVC", FromProcess = true, Data = "R", Tags = { { "X-Reference", "1" } } })
  H.eq(H.out(r), "reply R", "callback ran")
  r = H.send({ From = "SVC", FromProcess = true, Data = "R2", Tags = { { "X-Reference", "1" } } })
  H.has(H.out(r), "New Message From", "only once")
end)

test("receive_inside_eval", function()
  H.spawn()
  local r = H.eval([[local m = Receive({ Action = "Later" }); print("eval got " .. m.Data)]])
  H.ok(not r.Error, "Eval suspended without error")
  H.eq(H.out(r), "", "nothing yet")
  r = H.send({ Data = "D", Tags = { { "Action", "Later" } } })
  H.eq(H.out(r), "eval got D", "resumed")
end)

test("receive_two_waiters", function()
  H.spawn()
  H.value([[
    Handlers.add("wa", "WA", function() local m = Receive({ Action = "A" }); print("a:" .. m.Data) end)
    Handlers.add("wb", "WB", function() local m = Receive({ Action = "B" }); print("b:" .. m.Data) end)
    return 1]])
  H.send({ Tags = { { "Action", "WA" } } })
  H.send({ Tags = { { "Action", "WB" } } })
  H.eq(H.value("#Handlers.coroutines"), "2", "two suspended")
  H.eq(H.out(H.send({ Data = "2", Tags = { { "Action", "B" } } })), "b:2", "second waiter first")
  H.eq(H.out(H.send({ Data = "1", Tags = { { "Action", "A" } } })), "a:1", "first waiter")
  H.eq(H.value("#Handlers.coroutines"), "0", "both done")
end)

test("send_returns_message", function()
  H.spawn()
  H.eq(H.value([[local m = Send({ Target = "T", Action = "X" }); return m.Target .. " " .. m.Anchor .. " " .. #m.Tags]]),
    "T 00000000000000000000000000000001 5", "returned message")
  H.ok(H.eval([[Send({ Action = "no target" })]]).Error, "Target required")
end)

-- Spawn / Assign ---------------------------------------------------------

test("spawn_shape", function()
  H.spawn()
  local r = H.eval([[Spawn("MOD2", { Data = "init", Name = "child", Tags = { { name = "X", value = "y" } } }); return nil]])
  H.eq(#r.Spawns, 1, "one spawn")
  local s = r.Spawns[1]
  H.eq(s.Data, "init", "data")
  H.eq(s.Anchor, "00000000000000000000000000000001", "anchor")
  H.eq(H.tag(s, "Type"), "Process", "Type")
  H.eq(H.tag(s, "From-Process"), H.PID, "From-Process")
  H.eq(H.tag(s, "From-Module"), H.MODULE, "From-Module")
  H.eq(H.tag(s, "Module"), "MOD2", "Module")
  H.eq(H.tag(s, "Reference"), "1", "Reference")
  H.eq(H.tag(s, "Name"), "child", "extra field")
  H.eq(H.tag(s, "X"), "y", "Tags")
  H.eq(#r.Messages, 0, "not a message")
end)

test("spawn_defaults", function()
  H.spawn()
  local r = H.eval([[Spawn({}); return nil]])
  H.eq(r.Spawns[1].Data, "NODATA", "default Data")
  H.eq(H.tag(r.Spawns[1], "Module"), H.MODULE, "own module by default")
  H.ok(not H.eval([[Spawn(5, {})]]).Output, "module must be a string")
end)

test("spawn_receive_spawned_notice", function()
  H.spawn({ tags = { { "Authority", H.MU } } })
  H.value([[Handlers.add("mk", "Make", function()
    local res = Spawn("MOD2", {}).receive()
    print("child " .. res.Process)
  end); return 1]])
  H.send({ Tags = { { "Action", "Make" } } })
  local r = H.send({ From = H.PID, Owner = H.MU, Tags = { { "Action", "Spawned" }, { "Process", "CHILD" }, { "X-Reference", "1" } } })
  H.eq(H.out(r), "child CHILD", "resumed by Spawned")
end)

test("assign_shape", function()
  H.spawn()
  local r = H.eval([[Assign({ Processes = { "P1", "P2" }, Message = "MSGID" }); return nil]])
  H.eq(#r.Assignments, 1, "one assignment")
  H.eq(r.Assignments[1].Message, "MSGID", "message")
  H.eq(table.concat(r.Assignments[1].Processes, ","), "P1,P2", "processes")
  H.ok(H.eval([[Assign({ Message = "x" })]]).Error, "Processes required")
end)

-- trust / assignables -----------------------------------------------------

test("trust_no_authority_drops_forwarded", function()
  H.spawn()
  H.eq(H.value("#ao.authorities"), "0", "no authorities")
  local r = H.send({ From = H.OTHER, FromProcess = true, Tags = { { "Action", "Hi" } } })
  H.has(H.out(r), "Message is not trusted", "dropped with a print")
  H.eq(#r.Messages, 0, "nothing sent")
  H.eq(H.value("#Inbox"), "1", "not in Inbox")
end)

test("trust_signed_by_sender_accepted", function()
  H.spawn()
  local r = H.send({ From = H.STRANGER, Tags = { { "Action", "Hi" } } })
  H.has(H.out(r), "New Message From STR...000", "accepted")
  H.eq(H.value("#Inbox"), "2", "in Inbox")
end)

test("trust_authority_forwarded_accepted", function()
  H.spawn({ tags = { { "Authority", "SOMEONE, " .. H.MU } } })
  H.eq(H.value("table.concat(ao.authorities, '|')"), "SOMEONE|" .. H.MU, "comma-separated list")
  local r = H.send({ From = H.OTHER, FromProcess = true, Tags = { { "Action", "Hi" } } })
  H.has(H.out(r), "New Message From OTH...000", "accepted")
end)

test("trust_multiple_authority_tags_and_from", function()
  H.spawn({ tags = { { "Authority", "A1" }, { "Authority", "A2" } } })
  H.eq(H.value("#ao.authorities"), "2", "two tags")
  H.eq(H.value([[ao.isTrusted({ From = "A2", Owner = "X" })]]), "true", "From is an authority")
  H.eq(H.value([[ao.isTrusted({ From = "X", Owner = "A1" })]]), "true", "Owner is an authority")
  H.eq(H.value([[ao.isTrusted({ From = "X", Owner = "Y", ["Forwarded-By"] = "A2" })]]), "true", "forwarder is an authority")
  H.eq(H.value([[ao.isTrusted({ From = "X", Owner = "Y" })]]), "false", "neither")
  -- the wrong MU forwarding is refused
  local r = H.send({ From = H.OTHER, FromProcess = true, Owner = "BADMU", Tags = { { "Action", "Hi" } } })
  H.has(H.out(r), "not trusted", "unknown forwarder")
end)

test("assignment_needs_assignable", function()
  H.spawn()
  local r = H.send({ Target = H.OTHER, Tags = { { "Action", "Foreign" } } })
  H.has(H.out(r), "Assignment is not trusted", "dropped")
  H.eq(H.value("#Inbox"), "1", "not in Inbox")
  H.value([[ao.addAssignable("foreign", { Action = "Foreign" }); return 1]])
  r = H.send({ Target = H.OTHER, Tags = { { "Action", "Foreign" } } })
  H.has(H.out(r), "New Message From", "accepted")
  r = H.send({ Target = H.OTHER, Tags = { { "Action", "Other" } } })
  H.has(H.out(r), "not trusted", "other assignment still dropped")
  H.value([[ao.removeAssignable("foreign"); return 1]])
  r = H.send({ Target = H.OTHER, Tags = { { "Action", "Foreign" } } })
  H.has(H.out(r), "not trusted", "removed")
end)

test("ao_sanitize_and_clone", function()
  H.spawn()
  H.eq(H.value([[local s = ao.sanitize({ Action = "A", Signature = "S", Timestamp = 1, Id = "I", reply = print, Extra = "e" })
    return Dump(s)]]), '{\n  Action = "A",\n  Extra = "e"\n}', "node fields and functions dropped")
  H.eq(H.value([[local t = { a = { b = 1 } }; t.self = t; local c = ao.clone(t)
    return tostring(c ~= t and c.a ~= t.a and c.a.b == 1 and c.self == c)]]), "true", "deep copy keeps cycles")
end)

test("utils_curry", function()
  H.spawn()
  H.eq(H.value([[local add3 = Utils.curry(function(a, b, c) return a + b + c end, 3)
    return add3(1)(2)(3) + add3(1, 2)(3) + add3(1)(2, 3) + add3(1, 2, 3)]]), "24", "any split of the arguments")
  H.eq(H.value([[local f = Utils.curry(function(a, b) return a .. b end)
    return f("x")("y")]]), "xy", "arity from the function")
end)

-- Cron, time, randomness ---------------------------------------------------

test("cron_message_handled", function()
  H.spawn()
  H.value([[Ticks = 0; Handlers.add("tick", "Cron", function(m) Ticks = Ticks + 1; print("tick " .. tostring(m.Cron)) end); return 1]])
  local r = H.send({ Cron = true, Tags = { { "Action", "Cron" } } })
  H.ok(not r.Error, "no error without Id")
  H.eq(H.out(r), "tick true", "cron handler ran")
  H.send({ Cron = true, Tags = { { "Action", "Cron" } } })
  H.eq(H.value("Ticks"), "2", "each cron message")
end)

test("os_time_is_message_timestamp", function()
  H.spawn()
  H.eq(H.value("os.time()"), "1700000001000", "Timestamp of this message")
  local r = H.send({ Timestamp = 1234, Tags = { { "Action", "Eval" } }, Data = "os.time()" })
  H.eq(H.out(r), "1234", "follows each message")
end)

test("math_random_seeded_per_process", function()
  H.spawn()
  local got = H.value("math.random(1, 1000000) .. ',' .. math.random(1, 1000000)")
  local chance = require "chance"
  local sum = 0
  local s = H.OWNER .. H.MODULE .. H.PID
  for i = 1, #s do sum = sum + s:byte(i) end
  chance.seed(tonumber("1000" .. sum))
  local want = chance.mathRandom(1, 1000000) .. "," .. chance.mathRandom(1, 1000000)
  H.eq(got, want, "seed = Block-Height .. byte sum of Owner..Module..Id")
end)

test("math_random_differs_by_process", function()
  H.spawn({ height = 1000 })
  local a = H.value("math.random(1, 1000000000)")
  H.ok(a ~= "", "value")
  -- a second process state in this interpreter is not possible; compare
  -- against the seed of another height instead
  local chance = require "chance"
  local sum = 0
  local s = H.OWNER .. H.MODULE .. H.PID
  for i = 1, #s do sum = sum + s:byte(i) end
  chance.seed(tonumber("1001" .. sum))
  H.ok(tostring(chance.mathRandom(1, 1000000000)) ~= a, "another seed gives another value")
end)

test("outputs_do_not_depend_on_hash_order", function()
  -- the same scenario in separate interpreters (each with its own string
  -- hash seed) must give byte-identical responses
  local results = {}
  for i = 1, 4 do
    local p = io.popen((os.getenv("LUA") or "lua5.3") .. " tests/aos/scenario.lua")
    results[i] = p:read("a")
    p:close()
  end
  H.ok(#results[1] > 1000, "scenario produced output")
  for i = 2, 4 do H.eq(results[i], results[1], "run " .. i) end
end)

-- require ------------------------------------------------------------------

test("require_bundled_modules", function()
  H.spawn()
  H.eq(H.value([[require("utils") == Utils]]), "true", "utils is Utils")
  H.eq(H.value([[require(".utils") == Utils]]), "true", "dotted name is the same module")
  H.eq(H.value([[require(".handlers") == Handlers]]), "true", "handlers")
  H.eq(H.value([[require("bigint").tostring(require("bigint")("5") + 1)]]), "6", "bigint")
  local r = H.eval([[require("no.such.module")]])
  H.has(r.Error, "module 'no.such.module' not found", "missing module")
end)

return T
