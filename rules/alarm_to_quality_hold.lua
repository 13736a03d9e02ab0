-- R2: a severe alarm puts the asset's current order on quality hold (workloads/PLANT.md).
--
-- The current order is the one most recently released on the asset among those not in a
-- final state (the workflow's `index asset`). Only an order that is executing or inspecting is
-- held; one already on hold gets no second alert.
return rule "alarm_to_quality_hold" {
  on = "alarm",
  -- Only severe alarms: the engine turns the others away before this file's code runs.
  when = { severity = { ">=", 3 } },
  commands = { "odoo.quality.alert" },

  decide = function(ev, state, ctx)
    local order = ctx.current("production_order", { asset = ev.key })
    if order == nil or (order.state ~= "executing" and order.state ~= "inspecting") then
      return
    end
    return command("odoo.quality.alert", { order = order.key, asset = ev.key, reason = ev.data.code }),
           signal("production_order", order.key, "hold")
  end,
}
