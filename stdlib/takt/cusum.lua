-- takt.cusum: Page's cumulative sum, for a small sustained shift of the mean that no single
-- reading shows.
--
--   local cusum = require "takt.cusum"
--   local side = cusum.update(state, "flow", ev.data.value, mean, sd)   -- "up", "down" or nil
--
-- In units of sd: s_up = max(0, s_up + (x - mean) / sd - k) and s_down likewise downwards;
-- a sum past h signals its side, and both sums start again from 0. k (default 0.5) is half the
-- shift to detect, h (default 5) trades detection delay for false signals (with k = 0.5 and
-- h = 5, about one false signal in 465 samples of an in-control normal signal per side).
local cusum = {}

function cusum.update(state, name, x, mean, sd, k, h)
  local c = state[name]
  if c == nil then
    c = { up = 0, down = 0 }
    state[name] = c
  end
  k, h = k or 0.5, h or 5
  if sd <= 0 then return nil end
  local z = (x - mean) / sd
  local up = c.up + z - k
  local down = c.down - z - k
  c.up = up > 0 and up or 0
  c.down = down > 0 and down or 0
  if c.up > h then
    c.up, c.down = 0, 0
    return "up"
  end
  if c.down > h then
    c.up, c.down = 0, 0
    return "down"
  end
  return nil
end

-- The current sums, upwards and downwards (0, 0 before the first sample).
function cusum.sums(state, name)
  local c = state[name]
  if c == nil then return 0, 0 end
  return c.up, c.down
end

function cusum.reset(state, name)
  state[name] = nil
end

return cusum
