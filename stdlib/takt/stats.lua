-- takt.stats: the mean and variance of a signal, over a sliding time window (Welford) or
-- exponentially weighted (EWMA), kept in a rule's state.
--
--   local stats = require "takt.stats"
--   local n, mean, var = stats.rolling(state, "flow", ev.ts, ev.data.value, 120000)  -- 2 min
--   local level, var = stats.ewma(state, "temp", ev.ts, ev.data.value, 60000)  -- tau 1 min
--
-- Times are event times (ms); nothing reads the wall clock. Variances are sample variances
-- (n - 1) for the window and exponentially weighted ones for the EWMA; nil when undefined.
local stats = {}

-- Adds `value` at time `t` to window `name` and drops the samples older than t - width (the
-- newest time seen, for a late sample). Returns the count, mean and variance of what is left
-- (the variance is nil below two samples). Mean and variance are kept by Welford's updates,
-- one step per sample added or dropped, and computed again from the samples each time the
-- window is compacted, so rounding does not build up.
function stats.rolling(state, name, t, value, width)
  local w = state[name]
  if w == nil then
    w = { first = 1, ts = {}, vs = {}, n = 0, mean = 0, m2 = 0, newest = t }
    state[name] = w
  end
  local ts, vs = w.ts, w.vs
  local last = #ts + 1
  ts[last], vs[last] = t, value
  if t > w.newest then w.newest = t end
  local n = w.n + 1
  local delta = value - w.mean
  local mean = w.mean + delta / n
  local m2 = w.m2 + delta * (value - mean)
  local first, oldest = w.first, w.newest - width
  while first < last and ts[first] < oldest do
    local x = vs[first]
    first = first + 1  -- dropped: kept in the arrays (a state has no holes) until compacted
    if n == 1 then
      mean, m2 = 0, 0
    else
      local before = mean
      mean = (n * mean - x) / (n - 1)
      m2 = m2 - (x - before) * (x - mean)
    end
    n = n - 1
  end
  if m2 < 0 then m2 = 0 end
  -- Compact once the dropped prefix is as long as what is kept: moves stay linear overall.
  if first > 16 and first - 1 >= n then
    local nts, nvs, sum = {}, {}, 0
    for i = first, last do
      nts[#nts + 1], nvs[#nvs + 1] = ts[i], vs[i]
      sum = sum + vs[i]
    end
    mean, m2 = sum / n, 0
    for i = 1, n do m2 = m2 + (nvs[i] - mean) ^ 2 end
    w.ts, w.vs, first = nts, nvs, 1
  end
  w.first, w.n, w.mean, w.m2 = first, n, mean, m2
  return n, mean, n > 1 and m2 / (n - 1) or nil
end

-- Exponentially weighted mean and variance with time constant `tau` ms: a sample `dt` ms after
-- the previous one weighs 1 - exp(-dt / tau), so uneven sampling is weighed by the time it
-- covers. The first sample sets the mean (variance 0); a sample not later than the previous
-- one changes nothing. Returns the mean and the variance.
function stats.ewma(state, name, t, value, tau)
  local e = state[name]
  if e == nil then
    state[name] = { t = t, mean = value, var = 0 }
    return value, 0
  end
  if t > e.t then
    local alpha = 1 - math.exp(-(t - e.t) / tau)
    local delta = value - e.mean
    e.mean = e.mean + alpha * delta
    e.var = (1 - alpha) * (e.var + alpha * delta * delta)
    e.t = t
  end
  return e.mean, e.var
end

return stats
