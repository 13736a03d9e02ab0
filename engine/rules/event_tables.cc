#include "engine/rules/event_tables.h"

#include <lauxlib.h>
#include <lua.h>

#include "engine/rules/lua_bridge.h"
#include "engine/rules/seen_tables.h"

namespace takt::rules {
namespace {

constexpr int kEventSlot = 1;
constexpr int kEventFields = 7;

void SetString(lua_State* L, int table, const char* name, std::string_view value) {
  lua_pushstring(L, name);
  lua_pushlstring(L, value.data(), value.size());
  lua_rawset(L, table);
}

void SetInteger(lua_State* L, int table, const char* name, int64_t value) {
  lua_pushstring(L, name);
  lua_pushinteger(L, value);
  lua_rawset(L, table);
}

}  // namespace

EventTables::EventTables(lua_State* L, size_t event_types) {
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
}

int EventTables::NewIndex(lua_State* L) {
  static_cast<EventTables*>(lua_touserdata(L, lua_upvalueindex(1)))->changed_ = true;
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 0;
}

void EventTables::PushTable(lua_State* L, int slot, int fields) {
  const int holder = lua_gettop(L);
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
  data_slot_ = 2 + event.type_id;
  const int field_count = static_cast<int>(def.fields.size());
  PushTable(L, data_slot_, field_count);
  const int data = lua_gettop(L);
  data_table_ = lua_topointer(L, data);
  for (int i = 0; i < field_count && static_cast<size_t>(i) < event.fields.size(); ++i) {
    lua_pushstring(L, def.fields[static_cast<size_t>(i)].name.c_str());
    PushValue(L, event.fields[static_cast<size_t>(i)]);  // nil clears what the last one had
    lua_rawset(L, data);
  }
  lua_settop(L, holder);
  PushTable(L, kEventSlot, kEventFields);
  const int ev = lua_gettop(L);
  event_table_ = lua_topointer(L, ev);
  SetString(L, ev, "id", event.id);
  SetString(L, ev, "source", event.source);
  SetString(L, ev, "type", event.type);
  SetString(L, ev, "key", event.key);
  SetInteger(L, ev, "seq", event.seq);
  SetInteger(L, ev, "ts", event.ts);
  lua_pushliteral(L, "data");
  lua_rawgeti(L, holder, data_slot_);
  lua_rawset(L, ev);
  lua_remove(L, holder);
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
