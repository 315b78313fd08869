-- json_native.lua - the json C module (aos/glue/json.c) built natively as
-- build/aos-native/json.so, run by test_json_native.sh with lua5.3.
-- Prints one line per check and "N passed, N failed".
package.cpath = (arg[1] or "build/aos-native") .. "/?.so"
local json = require "json"
local pass, fail = 0, 0
local function check(name, ok)
  if ok then pass = pass + 1; print("ok   " .. name)
  else fail = fail + 1; print("not ok " .. name) end
end
local function errs(f, ...) local ok, e = pcall(f, ...); return not ok and e or nil end

check("encode array", json.encode({1, 2, "a"}) == '[1,2,"a"]')
check("encode empty table as []", json.encode({}) == "[]")
check("encode object", json.encode({a = {b = true}}) == '{"a":{"b":true}}')
check("encode escapes", json.encode('q"\\\n\t\1') == '"q\\"\\\\\\n\\t\\u0001"')
check("encode utf8 raw", json.encode("é") == '"é"')
check("encode integers exactly", json.encode(9007199254740993) == "9007199254740993")
check("encode floats %.14g", json.encode(0.1) == "0.1" and json.encode(1e300) == "1e+300")
check("encode nan refused", errs(json.encode, 0/0) ~= nil)
check("encode circular refused", (function() local t = {}; t.t = t; return errs(json.encode, t) end)():find("circular") ~= nil)
check("encode sparse refused", errs(json.encode, {[1] = 1, [3] = 3}):find("sparse") ~= nil)
check("encode mixed refused", errs(json.encode, {1, x = 2}):find("mixed") ~= nil)
check("encode function refused", errs(json.encode, print) ~= nil)
local t = json.decode('{"a":[1,2.5,null,"x"],"b":false,"c":null,"u":"\\u00e9\\ud83d\\ude00"}')
check("decode integer subtype", math.type(t.a[1]) == "integer" and math.type(t.a[2]) == "float")
check("decode null member absent", t.c == nil and t.b == false)
check("decode null element is a hole", t.a[3] == nil and t.a[4] == "x")
check("decode unicode escapes", t.u == "é😀")
check("decode big integer becomes float", math.type(json.decode("123456789012345678901")) == "float")
check("decode trailing garbage refused", errs(json.decode, "1 2"):find("trailing") ~= nil)
check("decode trailing comma refused", errs(json.decode, "[1,]") ~= nil)
check("decode lone surrogate refused", errs(json.decode, '"\\ud800"') ~= nil)
check("decode deep nesting refused", errs(json.decode, string.rep("[", 2000)) ~= nil)
check("round trip", json.encode(json.decode('{"k":[1,{"z":"y"}]}')) == '{"k":[1,{"z":"y"}]}')
print(pass .. " passed, " .. fail .. " failed")
os.exit(fail == 0 and 0 or 1)
