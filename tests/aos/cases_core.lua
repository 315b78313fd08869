-- Tests of the aos library's building blocks on their own: bigint, the
-- random generator, Utils and Dump.
local H = require "harness"
local T = {}
local function test(name, fn) T[#T + 1] = { name, fn } end

test("bigint_parse_and_print", function()
  local b = require "bigint"
  H.eq(b.tostring(b.new("000123")), "123", "leading zeros")
  H.eq(b.tostring(b.new("-0")), "0", "negative zero")
  H.eq(b.tostring(b.new("12345678901234567890123456789")), "12345678901234567890123456789", "long")
  H.eq(b.tostring(b.new(42)), "42", "integer")
  H.ok(b.parse("12a") == nil, "garbage refused")
  H.ok(b.parse("1.5") == nil, "fraction refused")
  H.ok(b.parse(1.5) == nil, "float refused")
  H.ok(b.parse("") == nil, "empty refused")
end)

test("bigint_add_sub_carry", function()
  local b = require "bigint"
  H.eq(tostring(b("9999999") + b("1")), "10000000", "carry across a limb")
  H.eq(tostring(b("99999999999999999999") + b("1")), "100000000000000000000", "carry chain")
  H.eq(tostring(b("100000000000000000000") - b("1")), "99999999999999999999", "borrow chain")
  H.eq(tostring(b("5") - b("8")), "-3", "negative result")
  H.eq(tostring(b("-5") + b("8")), "3", "mixed signs")
  H.eq(tostring(b("-5") - b("-5")), "0", "zero")
end)

test("bigint_beyond_double_precision", function()
  local b = require "bigint"
  -- 2^53 + 1 is not representable as a double
  H.eq(tostring(b("9007199254740992") + b("1")), "9007199254740993", "2^53+1")
  H.eq(tostring(b("18446744073709551615") + b("1")), "18446744073709551616", "2^64")
  H.eq(tostring(b("123456789012345678901234567890") * b("987654321098765432109876543210")),
    "121932631137021795226185032733622923332237463801111263526900", "product")
end)

test("bigint_compare", function()
  local b = require "bigint"
  H.ok(b("10") > b("9"), "10 > 9")
  H.ok(b("100000000000000000001") > b("100000000000000000000"), "long compare")
  H.ok(b("-3") < b("2"), "sign compare")
  H.ok(b("-3") < b("-2"), "negative compare")
  H.ok(b("7") == b("007"), "equal")
  H.ok(b("7") <= b("7") and b("7") >= b("7"), "le/ge")
end)

test("chance_mt19937_reference_values", function()
  local c = require "chance"
  c.seed(5489)
  -- first outputs of MT19937 with the reference seed 5489
  H.eq(c.integer32(), 3499211612, "1st")
  H.eq(c.integer32(), 581869302, "2nd")
  H.eq(c.integer32(), 3890346734, "3rd")
  for _ = 4, 9999 do c.integer32() end
  H.eq(c.integer32(), 4123659995, "10000th")
end)

test("chance_math_random_forms", function()
  local c = require "chance"
  c.seed(1)
  for _ = 1, 200 do
    local f = c.mathRandom()
    H.ok(f >= 0 and f < 1, "float in [0,1)")
    local i = c.mathRandom(6)
    H.ok(math.type(i) == "integer" and i >= 1 and i <= 6, "1..6")
    local j = c.mathRandom(-3, 3)
    H.ok(j >= -3 and j <= 3, "-3..3")
  end
  H.ok(not pcall(c.mathRandom, 0), "empty interval refused")
  H.ok(not pcall(c.mathRandom, 5, 1), "reversed interval refused")
end)

test("utils_curried_map_filter_reduce", function()
  local u = require "utils"
  local double = u.map(function(v) return v * 2 end)
  H.eq(table.concat(double({ 1, 2, 3 }), ","), "2,4,6", "curried map")
  H.eq(table.concat(u.map(function(v, k) return v .. k end, { "a", "b" }), ","), "a1,b2", "map gets keys")
  H.eq(table.concat(u.filter(function(v) return v % 2 == 1 end)({ 1, 2, 3, 4, 5 }), ","), "1,3,5", "filter")
  H.eq(u.reduce(function(a, v) return a + v end)(0)({ 1, 2, 3, 4 }), 10, "curried reduce")
  H.eq(u.reduce(function(a, v) return a + v end, 100, { 1, 2 }), 103, "reduce")
  H.eq(u.reduce(function(a, v) return a .. v end, nil, { "x", "y", "z" }), "xyz", "reduce without initial")
end)

test("utils_find_includes_prop_keys", function()
  local u = require "utils"
  local people = { { name = "a", age = 3 }, { name = "b", age = 5 } }
  H.eq(u.find(u.propEq("age", 5))(people).name, "b", "find with propEq")
  H.eq(u.find(function(p) return p.age > 10 end, people), nil, "find none")
  H.ok(u.includes("b")({ "a", "b" }), "includes")
  H.ok(not u.includes("c", { "a", "b" }), "not includes")
  H.eq(u.prop("name")(people[1]), "a", "prop")
  H.eq(table.concat(u.keys({ z = 1, a = 2, m = 3 }), ","), "a,m,z", "keys sorted")
  H.eq(table.concat(u.values({ z = 1, a = 2, m = 3 }), ","), "2,3,1", "values by sorted key")
  H.eq(table.concat(u.concat({ 1 }, { 2, 3 }), ","), "1,2,3", "concat")
  H.eq(table.concat(u.reverse({ 1, 2, 3 }), ","), "3,2,1", "reverse")
  local inc = function(x) return x + 1 end
  local dbl = function(x) return x * 2 end
  H.eq(u.compose(inc, dbl)(5), 11, "compose applies right to left")
end)

test("dump_sorted_and_cycles", function()
  local d = require "dump"
  H.eq(d.dump({ 1, 2, 3 }), "{ 1, 2, 3 }", "array")
  H.eq(d.dump({ b = 1, a = "x" }), '{\n  a = "x",\n  b = 1\n}', "sorted keys")
  H.eq(d.dump({ ["x-y"] = true }), '{\n  ["x-y"] = true\n}', "quoted key")
  local t = {}
  t.self = t
  H.has(d.dump(t), "<cycle>", "cycle")
  H.eq(d.dump("a\nb"), '"a\\nb"', "newline escaped")
end)

test("matches_pattern_rules", function()
  local u = require "utils"
  local m = { Action = "Transfer", Tags = { Action = "Transfer" } }
  H.ok(u.matchesPattern("_", "anything", m), "wildcard")
  H.ok(u.matchesPattern("Transfer", "Transfer", m), "exact")
  H.ok(u.matchesPattern("transfer", "Transfer", m), "exact, case-insensitive")
  H.ok(not u.matchesPattern("Transfe", "Transfer", m), "no prefix match for plain strings")
  H.ok(u.matchesPattern("^Trans", "Transfer", m), "Lua pattern")
  H.ok(u.matchesPattern("^trans.*", "Transfer", m), "Lua pattern, case-insensitive")
  H.ok(not u.matchesPattern("^Credit", "Transfer", m), "Lua pattern mismatch")
  H.ok(u.matchesPattern("%d+", "abc123", m), "class kept by lowering")
  H.ok(u.matchesPattern({ "Credit", "Transfer" }, "Transfer", m), "any-of table")
  H.ok(u.matchesPattern(function(v, msg) return v == msg.Action end, "Transfer", m), "function")
  H.ok(u.matchesPattern("5", 5, m), "number value")
end)

return T
