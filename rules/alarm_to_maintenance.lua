-- R1: an alarm becomes a maintenance request (workloads/PLANT.md).
--
-- Severity 3 or more: a high-priority request. Below 3: a normal request once three alarms
-- (any severity, this one included) have arrived on the asset within ten minutes of this
-- one's time. At most one open request per asset: alarms while one is open are counted but
-- ask for nothing, until maintenance.done for the asset closes it.
local window = require "takt.window"

local TEN_MINUTES = 600000

return rule "alarm_to_maintenance" {
  on = { "alarm", "maintenance.done" },
  commands = { "odoo.maintenance.create" },
  -- key: the event's key, the asset
  -- Every alarm joins the asset's window before decide sees it (the engine adds it, as
  -- window.add(state, "alarms", ev.ts, 1, TEN_MINUTES) would).
  windows = { alarms = { on = "alarm", width = TEN_MINUTES } },
  -- decide has nothing to do for an alarm while the asset's request is open, nor for one below
  -- both thresholds (the count includes this alarm): such an alarm only joins the window. Nor
  -- for maintenance.done while no request is open.
  skip = {
    alarm = { "open", { severity = { "<", 3 }, alarms = { "<", 3 } } },
    ["maintenance.done"] = "not open",
  },

  decide = function(ev, state)
    if ev.type == "maintenance.done" then
      state.open = nil             -- closes the request; the window stays as it is
      return
    end
    local severity = ev.data.severity
    if severity >= 3 or window.count(state, "alarms", ev.ts) >= 3 then
      state.open = true
      return command("odoo.maintenance.create", {
        asset = ev.key,
        priority = severity >= 3 and "high" or "normal",
        reason = ev.data.code,
      })
    end
  end,
}
