#include "engine/rules/rule_windows.h"

#include <lauxlib.h>
#include <lua.h>

#include <algorithm>
#include <string_view>

#include "engine/rules/lua_bridge.h"

namespace takt::rules {
namespace {

bool IsNumeric(dsl::Type t) { return t == dsl::Type::kInt || t == dsl::Type::kFloat; }

// Pushes table[name] (the table at `table`), read raw: the spec is the rule's, and a metamethod
// of its must not run outside its sandbox's budget.
int RawField(lua_State* L, int table, const char* name) {
  lua_pushstring(L, name);
  return lua_rawget(L, table);
}

// The integer at the stack top, when it is one (a float with an integral value is not).
bool ReadInteger(lua_State* L, int64_t& out) {
  if (lua_isinteger(L, -1) == 0) return false;
  out = static_cast<int64_t>(lua_tointeger(L, -1));
  return true;
}

// The event types named by the string or list of strings at the stack top, each one of `on`.
std::string ReadTypes(lua_State* L, const dsl::Catalog& catalog, const std::vector<int>& on,
                      const std::string& what, std::vector<int>& out) {
  std::vector<std::string> names;
  if (lua_type(L, -1) == LUA_TSTRING) {
    names.emplace_back(lua_tostring(L, -1));
  } else if (lua_type(L, -1) == LUA_TTABLE) {
    const auto n = static_cast<lua_Integer>(lua_rawlen(L, -1));
    for (lua_Integer i = 1; i <= n; ++i) {
      const bool is_string = lua_rawgeti(L, -1, i) == LUA_TSTRING;
      if (is_string) names.emplace_back(lua_tostring(L, -1));
      lua_pop(L, 1);
      if (!is_string) names.clear();
      if (!is_string) break;
    }
  }
  if (names.empty()) return what + " must name an event type of the rule's 'on', or list them";
  for (const std::string& name : names) {
    const int id = catalog.EventId(name);
    if (id < 0 || std::find(on.begin(), on.end(), id) == on.end()) {
      return what + " names '" + name + "', which is not one of the rule's 'on'";
    }
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  return "";
}

}  // namespace

std::string RuleWindows::Read(lua_State* L, int windows, int skip, const dsl::Catalog& catalog,
                              const std::vector<int>& on) {
  windows = lua_absindex(L, windows);
  skip = lua_absindex(L, skip);
  by_type_.assign(catalog.events.size(), ForType{});
  std::string wrong = ReadWindows(L, windows, catalog, on);
  if (wrong.empty()) wrong = ReadSkip(L, skip, catalog, on);
  if (!wrong.empty() || windows_.empty()) return wrong;
  // The add that window.lua hands out, with the field names it keeps as upvalues.
  lua_getfield(L, LUA_REGISTRYINDEX, "takt.modules");
  lua_getfield(L, -1, "takt.window.native");
  lua_getfield(L, -1, "add");
  add_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pop(L, 2);
  return "";
}

std::string RuleWindows::ReadWindows(lua_State* L, int windows, const dsl::Catalog& catalog,
                                     const std::vector<int>& on) {
  if (lua_isnil(L, windows)) return "";
  const std::string usage =
      "'windows' must map names to { on = TYPES, width = MS[, lateness = MS][, value = FIELD] }";
  if (!lua_istable(L, windows)) return usage;
  // By name, so that the windows an event joins are fed in the same order on every run.
  std::vector<std::string> names;
  lua_pushnil(L);
  while (lua_next(L, windows) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING || lua_rawlen(L, -2) == 0 || !lua_istable(L, -1)) {
      lua_pop(L, 2);
      return usage;
    }
    names.emplace_back(lua_tostring(L, -2));
    lua_pop(L, 1);
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string what = "window '" + name + "'";
    RawField(L, windows, name.c_str());
    const int spec = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, spec) != 0) {
      const std::string_view key =
          lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : std::string_view();
      lua_pop(L, 1);
      if (key != "on" && key != "width" && key != "lateness" && key != "value") {
        lua_settop(L, spec - 1);
        return what + ": unknown field '" + std::string(key) +
               "' (it may have on, width, lateness and value)";
      }
    }
    Window window;
    std::vector<int> types;
    RawField(L, spec, "on");
    std::string wrong = ReadTypes(L, catalog, on, what + ": 'on'", types);
    lua_pop(L, 1);
    if (wrong.empty()) {
      RawField(L, spec, "width");
      if (!ReadInteger(L, window.width) || window.width <= 0) {
        wrong = what + ": 'width' must be a whole number of milliseconds above 0";
      }
      lua_pop(L, 1);
    }
    if (wrong.empty()) {
      RawField(L, spec, "lateness");
      window.has_lateness = !lua_isnil(L, -1);
      if (window.has_lateness && (!ReadInteger(L, window.lateness) || window.lateness < 0)) {
        wrong = what + ": 'lateness' must be a whole number of milliseconds, 0 or more";
      }
      lua_pop(L, 1);
    }
    std::vector<int> value_fields(types.size(), -1);
    if (wrong.empty()) {
      RawField(L, spec, "value");
      if (!lua_isnil(L, -1)) {
        const std::string field = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
        for (size_t i = 0; i < types.size() && wrong.empty(); ++i) {
          const dsl::EventDef& def = catalog.events[static_cast<size_t>(types[i])];
          const int index = def.FieldIndex(field);
          if (index < 0 || !IsNumeric(def.fields[static_cast<size_t>(index)].type) ||
              def.fields[static_cast<size_t>(index)].optional) {
            wrong = what + ": 'value' must name a data field that every event type of its 'on' "
                           "declares as a number, not optional ('" + field + "' in '" + def.type +
                           "' is not one)";
          }
          value_fields[i] = index;
        }
      }
      lua_pop(L, 1);
    }
    lua_settop(L, spec - 1);
    if (!wrong.empty()) return wrong;
    lua_pushstring(L, name.c_str());
    window.name_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    for (size_t i = 0; i < types.size(); ++i) {
      by_type_[static_cast<size_t>(types[i])].feeds.push_back(
          Feeding{windows_.size(), value_fields[i]});
    }
    windows_.push_back(window);
  }
  return "";
}

std::string RuleWindows::ReadSkip(lua_State* L, int skip, const dsl::Catalog& catalog,
                                  const std::vector<int>& on) {
  if (lua_isnil(L, skip)) return "";
  const std::string usage =
      "'skip' must map event types of the rule's 'on' to a field of its state (skip = { alarm = "
      "\"open\" }: decide is not called for an alarm while state.open is set)";
  if (!lua_istable(L, skip)) return usage;
  std::vector<std::pair<std::string, std::string>> pairs;
  lua_pushnil(L);
  while (lua_next(L, skip) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING ||
        lua_rawlen(L, -1) == 0) {
      lua_pop(L, 2);
      return usage;
    }
    pairs.emplace_back(lua_tostring(L, -2), lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  for (const auto& [type, field] : pairs) {
    std::vector<int> types;
    lua_pushstring(L, type.c_str());
    std::string wrong = ReadTypes(L, catalog, on, "'skip'", types);
    lua_pop(L, 1);
    if (!wrong.empty()) return wrong;
    lua_pushstring(L, field.c_str());
    by_type_[static_cast<size_t>(types[0])].skip_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  return "";
}

bool RuleWindows::Skips(lua_State* L, int state, const Event& event) const {
  const ForType& type = by_type_[static_cast<size_t>(event.type_id)];
  if (type.skip_ref < 0) return false;
  lua_rawgeti(L, LUA_REGISTRYINDEX, type.skip_ref);
  lua_rawget(L, state);
  const bool set = lua_toboolean(L, -1) != 0;
  lua_pop(L, 1);
  return set;
}

bool RuleWindows::FeedsWithoutRuleCode(lua_State* L, int state) {
  if (lua_getmetatable(L, state) == 0) return true;
  lua_pop(L, 1);
  return false;
}

void RuleWindows::Feed(lua_State* L, int state, const Event& event) const {
  const ForType& type = by_type_[static_cast<size_t>(event.type_id)];
  for (const Feeding& feed : type.feeds) {
    const Window& window = windows_[feed.window];
    lua_rawgeti(L, LUA_REGISTRYINDEX, add_ref_);
    lua_pushvalue(L, state);
    lua_rawgeti(L, LUA_REGISTRYINDEX, window.name_ref);
    lua_pushinteger(L, static_cast<lua_Integer>(event.ts));
    if (feed.value_field < 0) {
      lua_pushinteger(L, 1);
    } else {
      PushValue(L, event.fields[static_cast<size_t>(feed.value_field)]);
    }
    lua_pushinteger(L, static_cast<lua_Integer>(window.width));
    if (window.has_lateness) {
      lua_pushinteger(L, static_cast<lua_Integer>(window.lateness));
    } else {
      lua_pushnil(L);
    }
    lua_call(L, 6, 0);
  }
}

}  // namespace takt::rules
