-- takt.baseline: what normal looks like for a signal, learnt from the signal itself, and how
-- far a reading is from it (a z-score).
--
--   local baseline = require "takt.baseline"
--   local z = baseline.z(state, "temp", ev.data.value)          -- nil while still learning
--   baseline.learn(state, "temp", ev.data.value, { frozen = alarm_on })
--
-- The baseline counts samples, not milliseconds, so it serves a signal sampled every second
-- and one sampled every five minutes alike. It learns the mean and variance of its first
-- `memory` samples (default 600) with equal weight, then goes on with an exponential weight of
-- 1/memory per sample, so a slow drift of normal operation is followed. z() answers once
-- `warmup` samples (default 60) are learnt. While frozen (an alarm is on) it learns nothing:
-- an anomaly does not become the new normal while it is being reported.
local baseline = {}

baseline.WARMUP = 60
baseline.MEMORY = 600

local function get(state, name)
  local b = state[name]
  if b == nil then
    b = { n = 0, mean = 0, var = 0 }
    state[name] = b
  end
  return b
end

-- Learns `value` unless opts.frozen. opts.warmup and opts.memory as above. Returns the number
-- of samples learnt.
function baseline.learn(state, name, value, opts)
  local b = get(state, name)
  if opts and opts.frozen then return b.n end
  local memory = (opts and opts.memory) or baseline.MEMORY
  local n = b.n + 1
  local alpha = 1 / (n < memory and n or memory)
  local delta = value - b.mean
  b.mean = b.mean + alpha * delta
  b.var = (1 - alpha) * (b.var + alpha * delta * delta)
  b.n = n
  return n
end

-- True once `warmup` samples (default baseline.WARMUP) have been learnt.
function baseline.ready(state, name, warmup)
  local b = state[name]
  return b ~= nil and b.n >= (warmup or baseline.WARMUP)
end

-- The learnt mean and standard deviation, or nil before the first sample.
function baseline.get(state, name)
  local b = state[name]
  if b == nil or b.n == 0 then return nil end
  return b.mean, math.sqrt(b.var)
end

-- (value - mean) / sd against the baseline, or nil while it is not ready. The deviation is
-- floored at `floor` (default 1e-3 of |mean|, and never below 1e-9), so a signal that has
-- been constant does not turn its first change into an infinite z.
function baseline.z(state, name, value, warmup, floor)
  if not baseline.ready(state, name, warmup) then return nil end
  local b = state[name]
  local sd = math.sqrt(b.var)
  local least = floor or math.abs(b.mean) * 1e-3
  if sd < least then sd = least end
  if sd < 1e-9 then sd = 1e-9 end
  return (value - b.mean) / sd
end

return baseline
