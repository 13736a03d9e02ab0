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
local native = require "takt.window.native"

-- The functions are C (engine/rules/native_window.cc): a window costs a rule one call. The
-- entries are packed into strings: immutable values, so that the check after each evaluation
-- costs one value per window, whatever it holds, and the snapshot taken for rollback one copy
-- of its bytes. The newest few (up to 16) are packed apart, in the window's `recent`, and joined
-- to its `data` when they fill: an add copies those few, not the whole window (which with the
-- default lateness holds hours of entries).
local window = {
  -- How late (ms) an event may arrive and still see every entry it needs: 6 hours.
  LATENESS_MS = native.LATENESS_MS,

  -- add(state, name, t, value, width, lateness): adds `value` (default 1) at time `t` to window
  -- `name` of `state`, `width` ms wide. Entries are kept for `lateness` ms (default
  -- window.LATENESS_MS) past the width: a shorter lateness makes a window cheaper, and events
  -- later than it may miss entries. Old entries are dropped once the window has doubled since
  -- they last were, so that the cost of dropping is spread over the adds.
  add = native.add,

  -- count, sum, min, max, mean (state, name, t, width): over the entries in [t - width, t],
  -- width defaulting to the window's own. Sums use Lua's arithmetic in arrival order (integers
  -- stay integers); min, max and mean are nil when the window is empty, count and sum 0.
  count = native.count,
  sum = native.sum,
  min = native.min,
  max = native.max,
  mean = native.mean,
}

return window
