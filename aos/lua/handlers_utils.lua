-- Handlers.utils: ready-made patterns and handles for Handlers.add.
local hutils = { _version = "0.1.0" }

-- Pattern: msg.Tags[name] == value
function hutils.hasMatchingTag(name, value)
  assert(type(name) == "string" and type(value) == "string", "invalid arguments: (name: string, value: string)")
  return function(msg)
    return type(msg.Tags) == "table" and msg.Tags[name] == value
  end
end

-- Pattern: msg.Tags[name] is one of values.
function hutils.hasMatchingTagOf(name, values)
  assert(type(name) == "string" and type(values) == "table", "invalid arguments: (name: string, values: string[])")
  return function(msg)
    for _, v in ipairs(values) do
      local r = hutils.hasMatchingTag(name, v)(msg)
      if r ~= false and r ~= 0 and r ~= "skip" then return r end
    end
    return false
  end
end

-- Pattern: msg.Data == value
function hutils.hasMatchingData(value)
  assert(type(value) == "string", "invalid arguments: (value: string)")
  return function(msg) return msg.Data == value end
end

-- Handle: replies with a string (as Data) or a message table.
function hutils.reply(input)
  assert(type(input) == "table" or type(input) == "string", "invalid arguments: (input: table | string)")
  return function(msg)
    if type(input) == "string" then
      msg.reply({ Data = input })
    else
      local copy = {}
      for k, v in pairs(input) do copy[k] = v end
      msg.reply(copy)
    end
  end
end

-- Pattern wrapper: a match of fn becomes "continue" (later handlers still
-- see the message).
function hutils.continue(fn)
  assert(type(fn) == "function", "invalid arguments: (fn: function)")
  return function(msg)
    local r = fn(msg)
    if not r or r == 0 or r == "skip" then return r end
    return 1
  end
end

return hutils
