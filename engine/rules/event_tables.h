// The tables a rule gets an event in: `ev` and `ev.data`. Making two tables for every evaluation
// was a quarter of what the rules cost (the allocations, each field hashed in, the garbage), so
// each rule keeps its tables between evaluations and fills them again, as long as nothing the
// rule can see would tell the difference:
//   - it did not keep either table in its state (the engine looks there after each successful
//     evaluation: NoteKept());
//   - it added no field to either (an added field goes through the tables' __newindex, which
//     notes it).
// Otherwise the next event gets new tables, and the old ones are the rule's to keep. Nothing else
// can hold a table past an evaluation: globals are read-only, chunk-level tables frozen, and
// decisions copy what they take. The tables carry a protected metatable ("takt.event"), so a
// rule can neither replace it nor set fields around it.
#ifndef TAKT_ENGINE_RULES_EVENT_TABLES_H_
#define TAKT_ENGINE_RULES_EVENT_TABLES_H_

#include <cstddef>
#include <string>
#include <vector>

#include "dsl/catalog.h"
#include "engine/event/event.h"

struct lua_State;

namespace takt::rules {

class SeenTables;

class EventTables {
 public:
  // Makes the metatable, the table holding the current tables, and the names the tables are
  // filled with, in `L`, for events of the types `events`. Allocates in Lua, like the rest of a
  // sandbox's setup.
  EventTables(lua_State* L, const std::vector<dsl::EventDef>& events);
  EventTables(const EventTables&) = delete;
  EventTables& operator=(const EventTables&) = delete;

  // Pushes `event` as {id, source, type, key, seq, ts, data = {...}}. Allocates in Lua (a
  // memory error is raised), so call it inside a protected call.
  void Push(lua_State* L, const Event& event, const dsl::EventDef& def);

  // After an evaluation that succeeded: `seen` holds the tables of the rule's state. When the
  // tables last pushed are among them, the state owns them and the next event gets new ones.
  void NoteKept(lua_State* L, const SeenTables& seen);

 private:
  static int NewIndex(lua_State* L);
  // Pushes the table in slot `slot` of the holder (at stack index `holder`); when the slot holds
  // false, a new table with room for `fields` fields, put there first.
  void PushTable(lua_State* L, int holder, int slot, int fields);

  // Registry: {[1] = ev, [2 + type id] = ev.data for that type}; false in a slot whose table
  // may not be filled again.
  int holder_ref_ = -1;
  int meta_ref_ = -1;     // registry: the metatable
  // Registry: {[1] = {"id", "source", ...}, [2 + type id] = {type name, its field names...},
  // [source_slot_] = the source last pushed}. Pushing a string that Lua holds already is an
  // array read; pushing it from C hashes it (and compares it) to find it among Lua's strings.
  int names_ref_ = -1;
  int source_slot_ = 0;
  std::string last_source_;  // the source in the names' source slot
  bool changed_ = false;  // a rule added a field to a table since the last Push()
  // The tables last pushed, to look for in the state.
  const void* event_table_ = nullptr;
  const void* data_table_ = nullptr;
  int data_slot_ = 0;
};

}  // namespace takt::rules

#endif  // TAKT_ENGINE_RULES_EVENT_TABLES_H_
