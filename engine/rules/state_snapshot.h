// A rule's state as an evaluation left it, to put back if the next evaluation of its key fails.
// Taking it is the check after every evaluation: what a state may hold, and how deep
// (kMaxStateDepth). It is written into a byte buffer outside Lua, so taking it allocates nothing
// in the sandbox and leaves no garbage behind; it is read back only on the rare failure. Shared
// and cyclic tables stay so; a table's array part is written as its other keys are.
#ifndef TAKT_ENGINE_RULES_STATE_SNAPSHOT_H_
#define TAKT_ENGINE_RULES_STATE_SNAPSHOT_H_

#include <string>

struct lua_State;

namespace takt::rules {

class SeenTables;

// Writes the value at `index` into `out` (replacing what it held). False with `error` when it
// holds what EncodeState() cannot encode, or nests deeper than kMaxStateDepth.
bool TakeSnapshot(lua_State* L, int index, std::string& out, std::string& error);
// The same, and `tables` holds the tables met (the value's own first): the check after an
// evaluation, which looks among them for the event's tables (event_tables.h).
bool TakeSnapshot(lua_State* L, int index, std::string& out, std::string& error,
                  SeenTables& tables);

// Pushes a new table equal to the one TakeSnapshot() wrote into `snapshot`. Allocates in Lua,
// so it may raise a memory error: call it inside a protected call.
void PushSnapshot(lua_State* L, const std::string& snapshot);

}  // namespace takt::rules

#endif  // TAKT_ENGINE_RULES_STATE_SNAPSHOT_H_
