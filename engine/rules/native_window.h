// takt.window in C: a window's entries packed into Lua strings, which a rule's state holds as
// immutable values. Copying the state for rollback and checking it after an evaluation then cost
// one value per window, not two per entry; and a rule's call to the window is one C call.
#ifndef TAKT_ENGINE_RULES_NATIVE_WINDOW_H_
#define TAKT_ENGINE_RULES_NATIVE_WINDOW_H_

#include <cstddef>
#include <cstdint>

struct lua_State;

namespace takt::rules {

// Pushes the table of functions stdlib/takt/window.lua requires as "takt.window.native":
//   append(data, t, value) -> data with the entry (t, value) added at its end
//   prune(data, oldest)    -> data without the entries before `oldest`, and how many are left
//   scan(data, from, to)   -> count, sum, min, max of the entries with from <= t <= to, with
//                             Lua's own arithmetic (integers stay integers, in arrival order)
//   size(data)             -> the number of entries
// t is an integer (ms); value an integer or a float. The table also holds takt.window's own
// add, count, sum, min, max and mean (stdlib/takt/window.lua), and its LATENESS_MS. add finds
// all that could stop it before it changes anything: an error leaves the state as it was. It
// reads the state with lua_gettable (what `state[name]` reads in Lua), the window raw.
void PushNativeWindow(lua_State* L);

// The entries with from <= t <= to of the window at `window` (a state's value, read raw: nil is
// an empty window) into `count`, and its newest time into `newest` (when it has none, the lowest
// integer). False, and nothing set, when the value is not a window in the packed form (an earlier
// version's, or damaged): add converts the one and raises for the other. Reads raw, allocates
// nothing, raises nothing.
bool CountEntries(lua_State* L, int window, int64_t from, int64_t to, int64_t& count,
                  double& newest);

// An entry for a window: its time (ms) and its value, an integer or a float.
struct WindowEntry {
  int64_t t = 0;
  bool is_float = false;
  int64_t i = 0;
  double f = 0;
};

// A window keeps its newest entries apart from the rest, up to this many, and joins them to
// the rest when they reach it (stdlib/takt/window.lua).
constexpr size_t kWindowNewestApart = 16;

// add(state, name, t, value, width, lateness), for each of the n entries in order, as
// takt.window's add does it, without a Lua call, where that add would only put the entries
// among the window's newest: the window exists in the packed form and its newest, these
// included, are fewer than kWindowNewestApart. False, with nothing changed, for anything more
// (a new window, a join, an earlier version's window, a damaged one): the caller calls add
// itself. `name` is a stack index; width and lateness are what a rule's `windows` declares
// (whole milliseconds, checked when it was read). A state with a metatable gets false (add
// reads it as Lua does). Raises only what add would (out of memory, before any change).
bool AddToNewest(lua_State* L, int state, int name, const WindowEntry* entries, size_t n,
                 int64_t width, const int64_t* lateness);

// AddToNewest() for n entries the last of which joins the window's newest to the rest (the
// newest it holds apart and these make kWindowNewestApart), as add does the join: the entries
// joined in order, the old ones dropped when add would drop them, the fields left as add leaves
// them; in one string, not one for the newest and another for all. For a window whose numbers
// are integers, as the engine's feeds keep them, and when the sandbox has room for the joined
// entries without a collection: false, with nothing changed, for anything else (the caller adds
// them as before, and add raises what it raises).
bool JoinNewest(lua_State* L, int state, int name, const WindowEntry* entries, size_t n,
                int64_t width, const int64_t* lateness);

// How many entries the window `name` (a stack index) of the state at `state` holds among its
// newest, when AddToNewest() would add to it; -1 when it would not. Reads raw; raises nothing.
int NewestHeldApart(lua_State* L, int state, int name);

}  // namespace takt::rules

#endif  // TAKT_ENGINE_RULES_NATIVE_WINDOW_H_
