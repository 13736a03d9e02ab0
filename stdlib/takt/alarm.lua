-- takt.alarm: alarm management helpers after ISA-18.2, over event time.
--
--   local alarm = require "takt.alarm"
--   if alarm.shelved(state, "A07", ev.ts) then return end           -- an operator shelved it
--   if alarm.chattering(state, "A07", ev.ts, 60000, 3) then ... end  -- 3 or more in a minute
--   if alarm.flood(state, "area", ev.ts, 600000, 10) then ... end    -- 10 or more in 10 min
local window = require "takt.window"

local alarm = {}

-- Records an activation at `t` and tells whether there have been `limit` or more (this one
-- included) within [t - window_ms, t]: a chattering alarm, whose repeats say nothing new.
function alarm.chattering(state, name, t, window_ms, limit)
  window.add(state, name, t, 1, window_ms, window_ms)
  return window.count(state, name, t) >= limit
end

-- Records an alarm at `t` and tells whether `limit` or more arrived within [t - window_ms, t]:
-- an alarm flood (ISA-18.2 suggests 10 in 10 minutes per operator), during which rules should
-- raise only what matters most. Key the rule's state by area to count across alarms.
function alarm.flood(state, name, t, window_ms, limit)
  window.add(state, name .. ".flood", t, 1, window_ms, window_ms)
  return window.count(state, name .. ".flood", t) >= limit
end

-- Shelves `name` from `t` for `duration_ms`: shelved() is true until t + duration_ms
-- (excluded), or until unshelve().
function alarm.shelve(state, name, t, duration_ms)
  state[name .. ".shelved_until"] = t + duration_ms
end

function alarm.unshelve(state, name)
  state[name .. ".shelved_until"] = nil
end

function alarm.shelved(state, name, t)
  local until_t = state[name .. ".shelved_until"]
  return until_t ~= nil and t < until_t
end

return alarm
