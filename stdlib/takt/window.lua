-- takt.window: sliding windows over event time, kept in a rule's durable state.
--
--   local window = require "takt.window"
--   window.add(state, "alarms", ev.ts, 1, 600000)      -- remember this alarm, 10-minute window
--   local n = window.count(state, "alarms", ev.ts)      -- entries with ts in [t - 600000, t]
--
-- Entries are kept in arrival order with their event time. A query at time t covers the
-- entries with t - width <= ts <= t, both ends included, whatever order they arrived in, so a
-- late event is counted where its time puts it. Entries older than the newest time seen minus
-- the width minus window.LATENESS_MS are dropped: an event may arrive that late and still see
-- every entry it needs. Times are integers (ms); nothing reads the wall clock.
local window = {}
-- The entries are packed into strings (engine/rules/native_window.cc): immutable values, so
-- that the check after each evaluation costs one value per window, whatever it holds, and the
-- snapshot taken for rollback one copy of its bytes. The newest few are packed apart, in
-- `recent`, and joined to `data` when they reach RECENT: an add copies those few, not the
-- whole window (which with the default lateness holds hours of entries).
local native = require "takt.window.native"

window.LATENESS_MS = 6 * 3600 * 1000
local RECENT = 16

-- The window `name` of `state`, with an earlier version's two arrays packed on first use.
local function find(state, name)
  local w = state[name]
  if w ~= nil and w.ts ~= nil then
    local data = ""
    for i = 1, #w.ts do data = native.append(data, w.ts[i], w.vs[i]) end
    w.data, w.ts, w.vs = data, nil, nil
  end
  return w
end

local function get(state, name)
  local w = find(state, name)
  if w == nil then
    w = { width = 0, newest = nil, kept = 0, data = "" }
    state[name] = w
  end
  return w
end

-- Adds `value` (default 1) at time `t` to window `name` of `state`, `width` ms wide. Entries
-- are kept for `lateness` ms (default window.LATENESS_MS) past the width: a shorter lateness
-- makes a window cheaper, and events later than it may miss entries.
function window.add(state, name, t, value, width, lateness)
  local w = get(state, name)
  if width ~= nil then w.width = width end
  if lateness ~= nil then w.lateness = lateness end
  local recent, held = native.append(w.recent or "", t, value or 1)
  if w.newest == nil or t > w.newest then w.newest = t end
  if held < RECENT then
    w.recent = recent
    return
  end
  w.data, w.recent = w.data .. recent, nil
  -- Drop old entries once the window has doubled since the last time, so that the cost of
  -- dropping is spread over the adds. Until then they stay, which changes no query that the
  -- lateness promise covers.
  local n = native.size(w.data)
  if n < 2 * w.kept or n < 16 then return end
  local oldest = w.newest - w.width - (w.lateness or window.LATENESS_MS)
  w.data, w.kept = native.prune(w.data, oldest)
end

-- The entries of window `name` in [t - width, t]: count, sum, min and max, in one pass.
-- width defaults to the window's own.
local function scan(state, name, t, width)
  local w = find(state, name)
  if w == nil then return 0, 0, nil, nil end
  return native.scan(w.data, t - (width or w.width), t, w.recent)
end

function window.count(state, name, t, width)
  local n = scan(state, name, t, width)
  return n
end

function window.sum(state, name, t, width)
  local _, s = scan(state, name, t, width)
  return s
end

-- The smallest value in the window, or nil when it is empty.
function window.min(state, name, t, width)
  local _, _, lo = scan(state, name, t, width)
  return lo
end

-- The largest value in the window, or nil when it is empty.
function window.max(state, name, t, width)
  local _, _, _, hi = scan(state, name, t, width)
  return hi
end

-- The mean of the entries in the window, or nil when it is empty.
function window.mean(state, name, t, width)
  local n, s = scan(state, name, t, width)
  if n == 0 then return nil end
  return s / n
end

return window
