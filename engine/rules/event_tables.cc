#include "engine/rules/event_tables.h"

#include <lauxlib.h>
#include <lua.h>

#include "engine/rules/lua_bridge.h"
#include "engine/rules/seen_tables.h"

namespace takt::rules {
namespace {

constexpr int kEventSlot = 1;
constexpr int kEventFields = 7;

// In the names table: the envelope's field names, in the order below.
constexpr int kEnvelopeSlot = 1;
enum EnvelopeName : int { kId = 1, kSource, kType, kKey, kSeq, kTs, kData };
const char* const kEnvelopeNames[] = {nullptr, "id", "source", "type", "key", "seq", "ts", "data"};

// Pushes the string `names` holds at `name`: the key of a field to set.
void PushName(lua_State* L, int names, int name) { lua_rawgeti(L, names, name); }

}  // namespace

EventTables::EventTables(lua_State* L, const std::vector<dsl::EventDef>& events) {
  const size_t event_types = events.size();
  lua_createtable(L, 0, 2);
  lua_pushlightuserdata(L, this);
  lua_pushcclosure(L, &EventTables::NewIndex, 1);
  lua_setfield(L, -2, "__newindex");
  lua_pushliteral(L, "takt.event");
  lua_setfield(L, -2, "__metatable");
  meta_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  // Every slot holds false until it holds a table, so that putting a table there (or false
  // again) never allocates.
  const int slots = 1 + static_cast<int>(event_types);
  lua_createtable(L, slots, 0);
  for (int slot = 1; slot <= slots; ++slot) {
    lua_pushboolean(L, 0);
    lua_rawseti(L, -2, slot);
  }
  holder_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_createtable(L, static_cast<int>(event_types) + 2, 0);
  lua_createtable(L, kData, 0);
  for (int name = kId; name <= kData; ++name) {
    lua_pushstring(L, kEnvelopeNames[name]);
    lua_rawseti(L, -2, name);
  }
  lua_rawseti(L, -2, kEnvelopeSlot);
  for (size_t type = 0; type < event_types; ++type) {
    const dsl::EventDef& def = events[type];
    lua_createtable(L, static_cast<int>(def.fields.size()) + 1, 0);
    lua_pushlstring(L, def.type.data(), def.type.size());
    lua_rawseti(L, -2, 1);
    for (size_t i = 0; i < def.fields.size(); ++i) {
      lua_pushlstring(L, def.fields[i].name.data(), def.fields[i].name.size());
      lua_rawseti(L, -2, static_cast<lua_Integer>(i) + 2);
    }
    lua_rawseti(L, -2, static_cast<lua_Integer>(type) + 2);
  }
  source_slot_ = static_cast<int>(event_types) + 2;
  lua_pushliteral(L, "");  // the source slot, with room made for it
  lua_rawseti(L, -2, source_slot_);
  names_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
}

int EventTables::NewIndex(lua_State* L) {
  static_cast<EventTables*>(lua_touserdata(L, lua_upvalueindex(1)))->changed_ = true;
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 0;
}

void EventTables::PushTable(lua_State* L, int holder, int slot, int fields) {
  if (lua_rawgeti(L, holder, slot) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_createtable(L, 0, fields);
  lua_rawgeti(L, LUA_REGISTRYINDEX, meta_ref_);
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawseti(L, holder, slot);
}

void EventTables::Push(lua_State* L, const Event& event, const dsl::EventDef& def) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, holder_ref_);
  const int holder = lua_gettop(L);
  if (changed_) {  // a rule's field would show in the next event: every table is made anew
    const auto slots = static_cast<lua_Integer>(lua_rawlen(L, holder));
    for (lua_Integer slot = 1; slot <= slots; ++slot) {
      lua_pushboolean(L, 0);
      lua_rawseti(L, holder, slot);
    }
    changed_ = false;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, names_ref_);
  const int names = holder + 1;
  lua_rawgeti(L, names, kEnvelopeSlot);
  const int envelope_names = holder + 2;
  data_slot_ = 2 + event.type_id;
  lua_rawgeti(L, names, data_slot_);  // the type's name, then its fields' names
  const int type_names = holder + 3;
  const int field_count = static_cast<int>(def.fields.size());
  PushTable(L, holder, data_slot_, field_count);
  const int data = lua_gettop(L);
  data_table_ = lua_topointer(L, data);
  for (int i = 0; i < field_count && static_cast<size_t>(i) < event.fields.size(); ++i) {
    PushName(L, type_names, i + 2);
    PushValue(L, event.fields[static_cast<size_t>(i)]);  // nil clears what the last one had
    lua_rawset(L, data);
  }
  PushTable(L, holder, kEventSlot, kEventFields);
  const int ev = lua_gettop(L);
  event_table_ = lua_topointer(L, ev);
  PushName(L, envelope_names, kId);
  lua_pushlstring(L, event.id.data(), event.id.size());
  lua_rawset(L, ev);
  if (event.source != last_source_) {  // a new source: its string takes the slot
    lua_pushlstring(L, event.source.data(), event.source.size());
    lua_rawseti(L, names, source_slot_);
    last_source_ = event.source;
  }
  PushName(L, envelope_names, kSource);
  lua_rawgeti(L, names, source_slot_);
  lua_rawset(L, ev);
  PushName(L, envelope_names, kType);
  lua_rawgeti(L, type_names, 1);
  lua_rawset(L, ev);
  PushName(L, envelope_names, kKey);
  lua_pushlstring(L, event.key.data(), event.key.size());
  lua_rawset(L, ev);
  PushName(L, envelope_names, kSeq);
  lua_pushinteger(L, event.seq);
  lua_rawset(L, ev);
  PushName(L, envelope_names, kTs);
  lua_pushinteger(L, event.ts);
  lua_rawset(L, ev);
  PushName(L, envelope_names, kData);
  lua_pushvalue(L, data);
  lua_rawset(L, ev);
  lua_replace(L, holder);  // ev, where the holder was
  lua_settop(L, holder);
}

void EventTables::NoteKept(lua_State* L, const SeenTables& seen) {
  const bool event_kept = seen.Contains(event_table_);
  const bool data_kept = seen.Contains(data_table_);
  if (!event_kept && !data_kept) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, holder_ref_);
  if (event_kept) {
    lua_pushboolean(L, 0);
    lua_rawseti(L, -2, kEventSlot);
  }
  if (data_kept) {
    lua_pushboolean(L, 0);
    lua_rawseti(L, -2, data_slot_);
  }
  lua_pop(L, 1);
}

}  // namespace takt::rules
