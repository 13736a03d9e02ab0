-- takt.debounce: on-delay and off-delay over event time, kept in a rule's state.
--
--   local debounce = require "takt.debounce"
--   -- true once the temperature has been high for 30 s without a break
--   if debounce.on_delay(state, "hot", ev.ts, ev.data.value > 80, 30000) then ... end
--   -- stays true until the door has been closed for 5 s
--   local open = debounce.off_delay(state, "door", ev.ts, ev.data.value > 0, 5000)
--
-- Delays are measured between event times (ms). "For 30 s" includes exactly 30 s.
local debounce = {}

-- True when `condition` has held at every sample since a time at least `delay` ms before `t`.
-- A false sample starts the wait again.
function debounce.on_delay(state, name, t, condition, delay)
  local d = state[name]
  if d == nil then
    d = {}
    state[name] = d
  end
  if not condition then
    d.since = nil
    return false
  end
  if d.since == nil then d.since = t end
  return t - d.since >= delay
end

-- True while `condition` holds, and after it stops until it has been false for `delay` ms.
function debounce.off_delay(state, name, t, condition, delay)
  local d = state[name]
  if d == nil then
    d = { on = false }
    state[name] = d
  end
  if condition then
    d.on, d.false_since = true, nil
    return true
  end
  if not d.on then return false end
  if d.false_since == nil then d.false_since = t end
  if t - d.false_since >= delay then
    d.on, d.false_since = false, nil
  end
  return d.on
end

return debounce
