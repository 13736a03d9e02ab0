#include "engine/rules/rule_windows.h"

#include <lauxlib.h>
#include <lua.h>

#include <algorithm>
#include <string_view>

#include "engine/rules/lua_bridge.h"
#include "engine/rules/native_window.h"

namespace takt::rules {
namespace {

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
      if (!is_string) {  // a list with anything else in it is no list of types
        names.clear();
        break;
      }
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
          if (index < 0 || !dsl::IsNumber(def.fields[static_cast<size_t>(index)].type) ||
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
    window.name = name;
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
      "'skip' must map event types of the rule's 'on' to a field of its state, a table of "
      "conditions, or a list of those (skip = { alarm = \"open\" }: decide is not called for "
      "an alarm while state.open is set)";
  if (!lua_istable(L, skip)) return usage;
  std::vector<std::string> types;
  lua_pushnil(L);
  while (lua_next(L, skip) != 0) {
    const bool named = lua_type(L, -2) == LUA_TSTRING;
    if (named) types.emplace_back(lua_tostring(L, -2));
    lua_pop(L, 1);
    if (!named) {
      lua_pop(L, 1);
      return usage;
    }
  }
  std::sort(types.begin(), types.end());  // the same file gives the same first complaint
  for (const std::string& name : types) {
    std::vector<int> type;
    lua_pushstring(L, name.c_str());
    std::string wrong = ReadTypes(L, catalog, on, "'skip'", type);
    lua_pop(L, 1);
    if (!wrong.empty()) return wrong;
    std::vector<Alternative>& alternatives = by_type_[static_cast<size_t>(type[0])].skip;
    RawField(L, skip, name.c_str());
    const int given = lua_gettop(L);
    // A list of alternatives, or one: a field's name, or a table of conditions (not a list).
    const bool list = lua_istable(L, given) && lua_rawlen(L, given) > 0;
    const auto n = list ? static_cast<lua_Integer>(lua_rawlen(L, given)) : 1;
    for (lua_Integer i = 1; i <= n && wrong.empty(); ++i) {
      if (list) lua_rawgeti(L, given, i);
      if (!list) lua_pushvalue(L, given);
      wrong = ReadAlternative(L, lua_gettop(L), catalog, type[0], alternatives.emplace_back());
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (!wrong.empty()) return "'skip' for '" + name + "': " + wrong;
  }
  return "";
}

std::string RuleWindows::ReadAlternative(lua_State* L, int index, const dsl::Catalog& catalog,
                                         int type, Alternative& out) {
  const std::string usage =
      "an alternative is a field of the state (a string: skipped while it is set; \"not FIELD\": "
      "while it is not) or a table of conditions on data fields and windows (skipped when all "
      "hold)";
  if (lua_type(L, index) == LUA_TSTRING) {
    size_t len = 0;
    const char* given = lua_tolstring(L, index, &len);
    std::string_view field(given, len);
    constexpr std::string_view kNot = "not ";
    out.unset = field.substr(0, kNot.size()) == kNot;
    if (out.unset) field.remove_prefix(kNot.size());
    if (field.empty()) return usage;
    lua_pushlstring(L, field.data(), field.size());
    out.field_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return "";
  }
  // An empty table would be all of no conditions: it would skip every event of the type.
  if (!lua_istable(L, index) || (lua_pushnil(L), lua_next(L, index) == 0)) return usage;
  lua_pop(L, 2);
  // The windows' conditions are taken here; the data fields' go to an EventFilter, in a table
  // of their own.
  const dsl::EventDef& def = catalog.events[static_cast<size_t>(type)];
  lua_newtable(L);
  const int data = lua_gettop(L);
  std::string wrong;
  lua_pushnil(L);
  while (wrong.empty() && lua_next(L, index) != 0) {
    const std::string key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
    size_t window = windows_.size();
    for (const Feeding& feed : by_type_[static_cast<size_t>(type)].feeds) {
      if (windows_[feed.window].name == key) window = feed.window;
    }
    if (window == windows_.size()) {  // a data field, or a mistake EventFilter names
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, data);
      continue;
    }
    if (def.FieldIndex(key) >= 0) {
      wrong = "'" + key + "' is both a data field of '" + def.type + "' and a window";
    } else {
      FieldCondition c;
      c.field = key;
      c.index = static_cast<int>(window);
      wrong = EventFilter::ReadCondition(L, -1, c);
      if (wrong.empty() && !dsl::IsNumber(c.value.type)) {
        wrong = " is compared with something that is not a number";
      }
      if (!wrong.empty()) wrong = "window '" + key + "'" + wrong;
      out.counts.push_back(c);
    }
    lua_pop(L, 1);
  }
  if (!wrong.empty()) {
    lua_settop(L, data - 1);
    return wrong;
  }
  wrong = out.data.Read(L, data, catalog, {type}, "skip");
  lua_pop(L, 1);
  return wrong;
}

RuleWindows::Verdict RuleWindows::Skips(lua_State* L, int state, const Event& event, bool fed,
                                        const Deferred* owed) const {
  Verdict verdict = Verdict::kRun;
  for (const Alternative& alternative : by_type_[static_cast<size_t>(event.type_id)].skip) {
    const Verdict holds = Holds(L, state, event, fed, owed, alternative);
    if (holds == Verdict::kSkip) return holds;
    if (holds == Verdict::kAfterFeed) verdict = holds;
  }
  return verdict;
}

RuleWindows::Verdict RuleWindows::Holds(lua_State* L, int state, const Event& event, bool fed,
                                        const Deferred* owed,
                                        const Alternative& alternative) const {
  if (alternative.field_ref >= 0) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, alternative.field_ref);
    lua_rawget(L, state);
    const bool set = lua_toboolean(L, -1) != 0;
    lua_pop(L, 1);
    return set != alternative.unset ? Verdict::kSkip : Verdict::kRun;
  }
  if (!alternative.data.Admits(event)) return Verdict::kRun;
  Verdict verdict = Verdict::kSkip;
  for (const FieldCondition& c : alternative.counts) {
    const Window& window = windows_[static_cast<size_t>(c.index)];
    lua_rawgeti(L, LUA_REGISTRYINDEX, window.name_ref);
    lua_rawget(L, state);
    int64_t count = 0;
    double newest = 0;
    const int64_t ts = event.ts;
    const bool known = CountEntries(L, -1, ts - window.width, ts, count, newest);
    lua_pop(L, 1);
    if (owed != nullptr && owed->window == static_cast<size_t>(c.index)) {
      for (const Fed& entry : owed->fed) {
        count += entry.ts >= ts - window.width && entry.ts <= ts;
        newest = std::max(newest, static_cast<double>(entry.ts));
      }
    }
    // Before its feed, a late event (older than the window's newest entry) may make the feed
    // drop entries its count would see (past the lateness): known only once fed.
    if (!known || (!fed && static_cast<double>(ts) < newest)) {
      verdict = Verdict::kAfterFeed;
      continue;
    }
    if (!fed) ++count;  // the event's own entry, at ts
    if (!EventFilter::Holds(c, dsl::Value::Int(count))) return Verdict::kRun;
  }
  return verdict;
}

bool RuleWindows::FeedsWithoutRuleCode(lua_State* L, int state) {
  if (lua_getmetatable(L, state) == 0) return true;
  lua_pop(L, 1);
  return false;
}

void RuleWindows::Feed(lua_State* L, int state, const Event& event) const {
  for (const Feeding& feed : by_type_[static_cast<size_t>(event.type_id)].feeds) {
    if (feed.value_field < 0) {
      lua_pushinteger(L, 1);
    } else {
      PushValue(L, event.fields[static_cast<size_t>(feed.value_field)]);
    }
    Join(L, state, windows_[feed.window], event.ts);
  }
}

RuleWindows::Fed RuleWindows::FedOf(const Event& event) const {
  const Feeding& feed = by_type_[static_cast<size_t>(event.type_id)].feeds.front();
  Fed fed;
  fed.type_id = event.type_id;
  fed.ts = event.ts;
  if (feed.value_field >= 0) {
    const dsl::Value& value = event.fields[static_cast<size_t>(feed.value_field)];
    fed.type = value.type;
    fed.i = value.i;
    fed.f = value.f;
  }
  return fed;
}

void RuleWindows::Refeed(lua_State* L, int state, const Fed& fed) const {
  const Feeding& feed = by_type_[static_cast<size_t>(fed.type_id)].feeds.front();
  if (fed.type == dsl::Type::kFloat) {
    lua_pushnumber(L, fed.f);
  } else {
    lua_pushinteger(L, fed.type == dsl::Type::kInt ? fed.i : 1);
  }
  Join(L, state, windows_[feed.window], fed.ts);
}

RuleWindows::Owing RuleWindows::Defer(lua_State* L, int state, const Event& event,
                                      Deferred& owed) const {
  const Feeding& feed = by_type_[static_cast<size_t>(event.type_id)].feeds.front();
  if (owed.fed.empty()) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, windows_[feed.window].name_ref);
    const int held = NewestHeldApart(L, state, -1);
    lua_pop(L, 1);
    if (held < 0) return Owing::kNow;
    owed.window = feed.window;
    owed.held = static_cast<size_t>(held);
  } else if (owed.window != feed.window) {
    return Owing::kNow;
  }
  if (owed.held + owed.fed.size() + 1 >= kWindowNewestApart) return Owing::kJoins;
  owed.fed.push_back(FedOf(event));
  return Owing::kWaits;
}

namespace {

WindowEntry EntryOf(const RuleWindows::Fed& fed) {
  WindowEntry entry;
  entry.t = fed.ts;
  entry.is_float = fed.type == dsl::Type::kFloat;
  entry.i = fed.type == dsl::Type::kInt ? fed.i : 1;
  entry.f = fed.f;
  return entry;
}

}  // namespace

bool RuleWindows::JoinWithOwed(lua_State* L, int state, const Event& event,
                               Deferred& owed) const {
  const Window& window = windows_[owed.window];
  WindowEntry entries[kWindowNewestApart];
  const size_t n = owed.fed.size() + 1;
  if (n > kWindowNewestApart) return false;
  for (size_t k = 0; k + 1 < n; ++k) entries[k] = EntryOf(owed.fed[k]);
  entries[n - 1] = EntryOf(FedOf(event));
  lua_rawgeti(L, LUA_REGISTRYINDEX, window.name_ref);
  const int64_t* lateness = window.has_lateness ? &window.lateness : nullptr;
  const bool joined = JoinNewest(L, state, -1, entries, n, window.width, lateness);
  lua_pop(L, 1);
  if (joined) owed.fed.clear();
  return joined;
}

void RuleWindows::Settle(lua_State* L, int state, Deferred& owed) const {
  if (owed.fed.empty()) return;
  state = lua_absindex(L, state);
  const Window& window = windows_[owed.window];
  WindowEntry entries[kWindowNewestApart];
  const size_t n = std::min(owed.fed.size(), kWindowNewestApart);
  for (size_t k = 0; k < n; ++k) entries[k] = EntryOf(owed.fed[k]);
  lua_rawgeti(L, LUA_REGISTRYINDEX, window.name_ref);
  const int64_t* lateness = window.has_lateness ? &window.lateness : nullptr;
  const bool added = n == owed.fed.size() &&
                     AddToNewest(L, state, -1, entries, n, window.width, lateness);
  lua_pop(L, 1);
  if (added) {
    owed.fed.clear();
    return;
  }
  // Not added only if the state changed since the entries were deferred, which Deferred rules
  // out; then one by one, as each event would have been fed, each forgotten once fed.
  while (!owed.fed.empty()) {
    Refeed(L, state, owed.fed.front());
    owed.fed.erase(owed.fed.begin());
  }
}

void RuleWindows::Join(lua_State* L, int state, const Window& window, int64_t ts) const {
  state = lua_absindex(L, state);
  const int value = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, window.name_ref);
  const int name = value + 1;
  // Most events only join the window's newest entries: that much without a call to add.
  const int64_t* lateness = window.has_lateness ? &window.lateness : nullptr;
  WindowEntry entry;
  entry.t = ts;
  entry.is_float = lua_isinteger(L, value) == 0;
  if (entry.is_float) {
    entry.f = lua_tonumber(L, value);
  } else {
    entry.i = static_cast<int64_t>(lua_tointeger(L, value));
  }
  if (!AddToNewest(L, state, name, &entry, 1, window.width, lateness) &&
      !JoinNewest(L, state, name, &entry, 1, window.width, lateness)) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, add_ref_);
    lua_pushvalue(L, state);
    lua_pushvalue(L, name);
    lua_pushinteger(L, static_cast<lua_Integer>(ts));
    lua_pushvalue(L, value);
    lua_pushinteger(L, static_cast<lua_Integer>(window.width));
    if (lateness != nullptr) {
      lua_pushinteger(L, static_cast<lua_Integer>(*lateness));
    } else {
      lua_pushnil(L);
    }
    lua_call(L, 6, 0);
  }
  lua_settop(L, value - 1);
}

}  // namespace takt::rules
