// The hot part of takt.window in C: a window's entries packed into one Lua string, which a
// rule's state holds as a single immutable value. Copying the state for rollback and checking
// it after an evaluation then cost one value per window, not two per entry.
#ifndef TAKT_ENGINE_RULES_NATIVE_WINDOW_H_
#define TAKT_ENGINE_RULES_NATIVE_WINDOW_H_

struct lua_State;

namespace takt::rules {

// Pushes the table of functions stdlib/takt/window.lua requires as "takt.window.native":
//   append(data, t, value) -> data with the entry (t, value) added at its end
//   prune(data, oldest)    -> data without the entries before `oldest`, and how many are left
//   scan(data, from, to)   -> count, sum, min, max of the entries with from <= t <= to, with
//                             Lua's own arithmetic (integers stay integers, in arrival order)
//   size(data)             -> the number of entries
// t is an integer (ms); value an integer or a float.
void PushNativeWindow(lua_State* L);

}  // namespace takt::rules

#endif  // TAKT_ENGINE_RULES_NATIVE_WINDOW_H_
