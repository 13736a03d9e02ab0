-- takt.shewhart: control-chart limits around a mean, with the run rules that find a process
-- out of control before a single point crosses 3 sigma.
--
--   local shewhart = require "takt.shewhart"
--   local broken = shewhart.nelson(state, "diameter", ev.data.value, mean, sd)
--   if broken then ... broken[1] ... end   -- the numbers of the rules this point breaks
--   local we = shewhart.western_electric(state, "diameter", ev.data.value, mean, sd)
--
-- Each call records the point (as z = (x - mean) / sd) in a history of the last 15 under
-- `name` and returns the rules that the history ending with it breaks, in ascending order, or
-- nil. Use one of the two functions per name. Nelson's rules:
--   1 one point beyond 3 sd               5 two of three beyond 2 sd, same side
--   2 nine in a row on one side           6 four of five beyond 1 sd, same side
--   3 six in a row rising, or falling     7 fifteen in a row within 1 sd
--   4 fourteen in a row alternating       8 eight in a row beyond 1 sd, on both sides
-- The Western Electric rules are 1 (beyond 3 sd), 2 (two of three beyond 2 sd), 3 (four of five
-- beyond 1 sd) and 4 (eight in a row on one side).
local shewhart = {}

local KEEP = 15

local function record(state, name, x, mean, sd)
  local h = state[name]
  if h == nil then
    h = {}
    state[name] = h
  end
  if #h == KEEP then table.move(h, 2, KEEP, 1); h[KEEP] = nil end
  h[#h + 1] = sd > 0 and (x - mean) / sd or 0
  return h
end

-- Of the last `m` points, at least `n` beyond `limit` sd on one side.
local function n_of_m_beyond(h, n, m, limit)
  if #h < n then return false end
  local up, down = 0, 0
  for i = math.max(1, #h - m + 1), #h do
    if h[i] > limit then up = up + 1 elseif h[i] < -limit then down = down + 1 end
  end
  return up >= n or down >= n
end

-- The last `n` points all strictly on one side of the mean.
local function run_on_one_side(h, n)
  if #h < n then return false end
  local up, down = true, true
  for i = #h - n + 1, #h do
    if h[i] <= 0 then up = false end
    if h[i] >= 0 then down = false end
  end
  return up or down
end

local function trend(h, n)
  if #h < n then return false end
  local rising, falling = true, true
  for i = #h - n + 2, #h do
    if h[i] <= h[i - 1] then rising = false end
    if h[i] >= h[i - 1] then falling = false end
  end
  return rising or falling
end

local function alternating(h, n)
  if #h < n then return false end
  for i = #h - n + 3, #h do
    local a, b = h[i - 1] - h[i - 2], h[i] - h[i - 1]
    if a * b >= 0 then return false end
  end
  return true
end

local function within(h, n, limit)
  if #h < n then return false end
  for i = #h - n + 1, #h do
    if math.abs(h[i]) >= limit then return false end
  end
  return true
end

local function beyond_both_sides(h, n, limit)
  if #h < n then return false end
  local up, down = false, false
  for i = #h - n + 1, #h do
    if h[i] > limit then up = true elseif h[i] < -limit then down = true else return false end
  end
  return up and down
end

local function collect(checks)
  local broken = {}
  for i, check in ipairs(checks) do
    if check then broken[#broken + 1] = i end
  end
  if #broken == 0 then return nil end
  return broken
end

function shewhart.nelson(state, name, x, mean, sd)
  local h = record(state, name, x, mean, sd)
  return collect({
    math.abs(h[#h]) > 3,
    run_on_one_side(h, 9),
    trend(h, 6),
    alternating(h, 14),
    n_of_m_beyond(h, 2, 3, 2),
    n_of_m_beyond(h, 4, 5, 1),
    within(h, 15, 1),
    beyond_both_sides(h, 8, 1),
  })
end

function shewhart.western_electric(state, name, x, mean, sd)
  local h = record(state, name, x, mean, sd)
  return collect({
    math.abs(h[#h]) > 3,
    n_of_m_beyond(h, 2, 3, 2),
    n_of_m_beyond(h, 4, 5, 1),
    run_on_one_side(h, 8),
  })
end

return shewhart
