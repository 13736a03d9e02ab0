-- Telemetry limits: raw sensor readings become maintenance requests.
--
-- For each watched tag, a switch with a deadband (takt.hysteresis) turns on when the reading
-- crosses its limit and off only when it is back past a lower one, so a reading that hovers at
-- the limit does not flap. The switch must stay on for a hold time (takt.debounce) before it
-- counts: one spike is not a fault. The first tag that counts asks for maintenance; then the
-- asset has an open request until every switch has been off for REARM_MS, or until
-- maintenance.done arrives. Limits fit the SKAB water-circulation testbed (docs/rules.md).
local hysteresis = require "takt.hysteresis"
local debounce = require "takt.debounce"

local LIMITS = {
  -- tag                     on      off     hold (ms)  reason
  ["Accelerometer1RMS"] = { on = 0.30, off = 0.27, hold = 5000,  reason = "VIBRATION" },
  ["Accelerometer2RMS"] = { on = 0.35, off = 0.31, hold = 5000,  reason = "VIBRATION" },
  ["Thermocouple"]      = { on = 31.0, off = 30.6, hold = 10000, reason = "FLUID_TEMPERATURE" },
}
local REARM_MS = 30000

return rule "telemetry_limits" {
  on = { "telemetry", "maintenance.done" },
  commands = { "odoo.maintenance.create" },
  -- key: the event's key, the asset

  decide = function(ev, state)
    if ev.type == "maintenance.done" then
      state.open = nil
      return
    end
    local limit = LIMITS[ev.data.tag]
    if limit == nil or ev.data.value == nil then return end
    local tag = ev.data.tag
    local on = hysteresis.above(state, tag, ev.data.value, limit.on, limit.off)
    -- Tracked on every reading, open request or not, so that a hold starts when the switch does.
    local held = debounce.on_delay(state, tag .. ".held", ev.ts, on, limit.hold)
    state.active = state.active or {}
    state.active[tag] = on or nil
    local any_on = next(state.active) ~= nil
    if state.open then
      -- Re-arm once every switch has been off for REARM_MS.
      if not debounce.off_delay(state, "rearm", ev.ts, any_on, REARM_MS) then state.open = nil end
      return
    end
    if held then
      state.open = true
      debounce.off_delay(state, "rearm", ev.ts, true, REARM_MS)
      return command("odoo.maintenance.create", {
        asset = ev.key,
        priority = "normal",
        reason = limit.reason,
        tag = tag,
        value = ev.data.value,
      })
    end
  end,
}
