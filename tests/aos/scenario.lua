-- A fixed scenario (token blueprint, transfers, sends with many fields,
-- printed tables, chatroom) whose responses are written as JSON; run in
-- several interpreters by the determinism test, which compares the text.
package.path = "aos/lua/?.lua;tests/aos/?.lua;" .. package.path
local H = require "harness"
H.testName = "scenario"
local out = {}
local function add(r) out[#out + 1] = H.json.encode(r) end

add(H.spawn({ tags = { { "Authority", H.MU }, { "Name", "scenario" } } }))
add(H.eval([[require("blueprints.token"); return nil]]))
add(H.eval([[require("blueprints.chatroom"); return nil]]))
for i = 1, 5 do
  add(H.eval(string.format([[Send({ Target = ao.id, Action = "Transfer", Recipient = "R%d", Quantity = "%d" }); return nil]], i, i * 1000)))
  add(H.send({ From = H.PID, Owner = H.MU, Tags = { { "Action", "Transfer" }, { "Recipient", "R" .. i },
    { "Quantity", tostring(i * 1000) }, { "X-Note", "n" .. i }, { "X-Alpha", "a" } } }))
end
add(H.send({ Tags = { { "Action", "Balances" } } }))
add(H.eval([[Send({ Target = "T", Zulu = 1, Alpha = "2", Mike = true, Tags = { Y = "1", B = "2", K = "3" } }); return nil]]))
add(H.eval([[{ zebra = 1, apple = { 3, 2, 1 }, mango = { x = 1, b = 2 }, [5] = "five" }]]))
add(H.eval([[Utils.keys({ q = 1, w = 2, e = 3, r = 4, t = 5, y = 6 })]]))
add(H.eval([[math.random(1, 1000000)]]))
for _, who in ipairs({ "M1", "M2", "M3" }) do
  add(H.send({ From = who, Tags = { { "Action", "Register" } } }))
end
add(H.send({ From = "M2", Data = "hello all", Tags = { { "Action", "Broadcast" } } }))
add(H.eval([[Inbox[#Inbox] ]]))
io.write(table.concat(out, "\n"), "\n")
