-- takt.latch: something that happens once until it is reset.
--
--   local latch = require "takt.latch"
--   if latch.once(state, "requested") then return command(...) end   -- only the first time
--   latch.reset(state, "requested")                                   -- e.g. on maintenance.done
local latch = {}

-- True the first time it is called, false after that until reset().
function latch.once(state, name)
  if state[name] then return false end
  state[name] = true
  return true
end

function latch.reset(state, name)
  state[name] = nil
end

function latch.is_set(state, name)
  return state[name] == true
end

return latch
