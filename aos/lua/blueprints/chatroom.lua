-- Chatroom blueprint: `require "blueprints.chatroom"` makes the process a
-- chat room. Handlers: Register (join), Unregister (leave), Broadcast
-- (Data sent to every member, in joining order, with Broadcaster set).
-- Global: Members (array of addresses).
Members = Members or {}

local function indexOf(who)
  for i, m in ipairs(Members) do if m == who then return i end end
  return nil
end

Handlers.add("Register", "Register", function(msg)
  if indexOf(msg.From) then
    msg.reply({ Data = "Already registered." })
    return
  end
  table.insert(Members, msg.From)
  print(msg.From .. " Registered")
  msg.reply({ Data = "Registered." })
end)

Handlers.add("Unregister", "Unregister", function(msg)
  local i = indexOf(msg.From)
  if not i then
    msg.reply({ Data = "Not registered." })
    return
  end
  table.remove(Members, i)
  print(msg.From .. " Unregistered")
  msg.reply({ Data = "Unregistered." })
end)

Handlers.add("Broadcast", "Broadcast", function(msg)
  for _, member in ipairs(Members) do
    ao.send({ Target = member, Action = "Broadcasted", Broadcaster = msg.From, Data = msg.Data })
  end
  msg.reply({ Data = "Broadcasted." })
end)

return { loaded = true }
