-- A slow leak: a pressure a little below normal at every reading, which no single reading
-- shows. The first WARMUP readings of each tag are its reference (takt.baseline, then frozen);
-- after them, Page's CUSUM (takt.cusum) signals a sustained shift of half a deviation or more.
local baseline = require "takt.baseline"
local cusum = require "takt.cusum"

local WARMUP = 10

return rule "leak_cusum" {
  on = "telemetry",
  commands = { "alert.pressure_shift" },
  key = function(ev) return ev.key .. "/" .. ev.data.tag end,

  decide = function(ev, state)
    local value = ev.data.value
    if type(value) ~= "number" then return end
    if not baseline.ready(state, "reference", WARMUP) then
      baseline.learn(state, "reference", value)
      return
    end
    local mean, sd = baseline.get(state, "reference")
    local side = cusum.update(state, "shift", value, mean, sd)
    if side then
      return command("alert.pressure_shift", { asset = ev.key, tag = ev.data.tag, side = side })
    end
  end,
}
