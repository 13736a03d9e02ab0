-- takt.hysteresis: a switch with a deadband, so that a value hovering at a threshold does not
-- flip it back and forth.
--
--   local hysteresis = require "takt.hysteresis"
--   local active, changed = hysteresis.above(state, "vibration", ev.data.value, 0.30, 0.25)
--   if changed and active then return command(...) end
--
-- above(): turns on when value >= on_at, off when value <= off_at (off_at < on_at).
-- below(): the mirror image, for low levels: on when value <= on_at, off when value >= off_at.
-- Between the two, the switch keeps its state. Returns the state and whether this sample
-- changed it.
local hysteresis = {}

local function switch(state, name, turn_on, turn_off)
  local was = state[name] == true
  local now = was
  if not was and turn_on then now = true end
  if was and turn_off then now = false end
  state[name] = now
  return now, now ~= was
end

function hysteresis.above(state, name, value, on_at, off_at)
  assert(off_at < on_at, "hysteresis.above: off_at must be below on_at")
  return switch(state, name, value >= on_at, value <= off_at)
end

function hysteresis.below(state, name, value, on_at, off_at)
  assert(off_at > on_at, "hysteresis.below: off_at must be above on_at")
  return switch(state, name, value <= on_at, value >= off_at)
end

return hysteresis
