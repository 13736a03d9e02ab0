-- Tool wear: a machined dimension creeping away from nominal long before any part is out of
-- tolerance. The first WARMUP parts of each tag set the centre line and the deviation
-- (takt.baseline, then frozen); after them each part is checked against Nelson's run rules
-- (takt.shewhart), and the rules it breaks are reported.
local baseline = require "takt.baseline"
local shewhart = require "takt.shewhart"

local WARMUP = 10

return rule "tool_wear_shewhart" {
  on = "telemetry",
  commands = { "alert.out_of_control" },
  key = function(ev) return ev.key .. "/" .. ev.data.tag end,

  decide = function(ev, state)
    local value = ev.data.value
    if type(value) ~= "number" then return end
    if not baseline.ready(state, "centre", WARMUP) then
      baseline.learn(state, "centre", value)
      return
    end
    local mean, sd = baseline.get(state, "centre")
    local broken = shewhart.nelson(state, "chart", value, mean, sd)
    if broken then
      return command("alert.out_of_control", { asset = ev.key, tag = ev.data.tag, rules = broken })
    end
  end,
}
