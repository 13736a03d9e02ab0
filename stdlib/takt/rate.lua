-- takt.rate: rate of change per second between consecutive samples, over event time.
--
--   local rate = require "takt.rate"
--   local per_second = rate.of_change(state, "temp", ev.ts, ev.data.value)
--   if per_second and per_second > 2.0 then ... end   -- rising faster than 2 units/s
local rate = {}

-- The change since the previous sample divided by the time between them (per second), or nil
-- for the first sample and for a sample no later than the previous one (which is ignored).
function rate.of_change(state, name, t, value)
  local r = state[name]
  if r == nil then
    state[name] = { t = t, v = value }
    return nil
  end
  if t <= r.t then return nil end
  local per_second = (value - r.v) * 1000 / (t - r.t)
  r.t, r.v = t, value
  return per_second
end

return rate
