-- Telemetry limits: raw sensor readings become maintenance requests, with limits learnt from
-- each signal rather than written down.
--
-- Every tag of every asset gets a baseline (takt.baseline): the mean and spread of its normal
-- readings, learnt from its first samples and then followed slowly (a memory of `memory`
-- samples) so that the drift of normal operation is not a fault; it may ask once `warmup`
-- samples are learnt. A reading `z_on` or more deviations from its baseline, in either
-- direction, turns the tag's switch on; back within `z_off` turns it off (a deadband: no
-- flapping). While the switch is on the baseline is frozen, so an anomaly is not learnt as
-- normal while it lasts. A switch on for `hold` samples in a row counts: one spike is not a
-- fault. The first tag that counts asks for maintenance; the asset then has one open request
-- until every tag has been off for `rearm` of its own samples, or until maintenance.done
-- arrives.
--
-- All durations are in samples of the tag's own signal, so the same file serves a machine read
-- every second and one read every five minutes. The defaults serve any tag; a plant engineer
-- tunes a tag (or leaves it out) in TAGS below: docs/rules.md says how.
local baseline = require "takt.baseline"

local DEFAULTS = {
  warmup = 60,    -- samples learnt before the tag may ask for anything
  memory = 1200,  -- samples the baseline remembers once warm
  z_on = 5,       -- deviations from the baseline that turn the switch on
  z_off = 2.5,    -- ... and back within which it turns off
  hold = 5,       -- samples in a row the switch must stay on
  rearm = 30,     -- samples every tag must be off before the asset may ask again
}
-- Per tag (by name, on every asset): any of the keys above, or ignore = true.
-- For example: ["Voltage"] = { ignore = true }, ["Thermocouple"] = { z_on = 4 }.
local TAGS = {}

local function setting(tag, key)
  local own = TAGS[tag]
  if own ~= nil and own[key] ~= nil then return own[key] end
  return DEFAULTS[key]
end

return rule "telemetry_limits" {
  on = { "telemetry", "maintenance.done" },
  commands = { "odoo.maintenance.create" },
  -- key: the event's key, the asset
  -- maintenance.done has nothing to do while this rule's request is not open.
  skip = { ["maintenance.done"] = "not open" },

  decide = function(ev, state)
    if ev.type == "maintenance.done" then
      state.open = nil
      return
    end
    local tag, value = ev.data.tag, ev.data.value
    if type(tag) ~= "string" or type(value) ~= "number" or value ~= value then return end
    if setting(tag, "ignore") then return end
    state.tags = state.tags or {}
    local s = state.tags[tag]
    if s == nil then
      s = { on = false, run = 0, off = 0 }
      state.tags[tag] = s
    end

    local warmup = setting(tag, "warmup")
    local z = baseline.z(s, "b", value, warmup)
    if z ~= nil then
      local size = math.abs(z)
      if not s.on and size >= setting(tag, "z_on") then
        s.on = true
      elseif s.on and size <= setting(tag, "z_off") then
        s.on = false
      end
    end
    baseline.learn(s, "b", value, { frozen = s.on, memory = setting(tag, "memory") })
    -- How long it has been on, and off, in its own samples.
    if s.on then s.run, s.off = s.run + 1, 0 else s.run, s.off = 0, s.off + 1 end

    if state.open then
      -- Re-armed once every watched tag has been off for its `rearm` samples.
      for name, other in pairs(state.tags) do
        if not setting(name, "ignore") and other.off < setting(name, "rearm") then return end
      end
      state.open = nil
      return
    end
    if s.run >= setting(tag, "hold") then
      state.open = true
      local mean = baseline.get(s, "b")
      return command("odoo.maintenance.create", {
        asset = ev.key,
        priority = "normal",
        reason = z > 0 and "ABOVE_NORMAL" or "BELOW_NORMAL",
        tag = tag,
        value = value,
        normal = mean,
        deviations = math.floor(z * 10 + 0.5) / 10,
      })
    end
  end,
}
