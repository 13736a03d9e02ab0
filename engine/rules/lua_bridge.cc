// Every lua_CFunction rules can reach. Each goes through Guarded<>, so no C++ exception crosses
// into Lua; Lua's own errors (C++ exceptions too, with lua5.4-c++) pass through untouched.
#include "engine/rules/lua_bridge.h"

#include "engine/event/command_names.h"
#include "engine/rules/sandbox.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <lauxlib.h>
#include <lua.h>
#include <stdexcept>
#include <vector>

namespace takt::rules {
namespace {

constexpr const char* kDecisionMeta = "takt.decision";
constexpr int kMaxDepth = 16;
constexpr size_t kMaxNameBytes = 128;     // command, signal and workflow names
constexpr size_t kMaxTargetBytes = 1024;  // a signal's target key
constexpr size_t kMaxPayloadBytes = 64 * 1024;  // a command's data, as JSON

template <int (*Fn)(lua_State*)>
int Guarded(lua_State* L) {
  std::string error;
  try {
    return Fn(L);
  } catch (const std::exception& e) {  // not (...): Lua's own errors are exceptions too
    error = e.what();
  }
  return luaL_error(L, "%s", error.c_str());  // raised after the handler has finished
}

void PushString(lua_State* L, std::string_view s) { lua_pushlstring(L, s.data(), s.size()); }

// Whether `s` is UTF-8. Command data is mostly short ASCII, seen here without simdjson's call.
bool IsUtf8(const char* s, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    if (static_cast<unsigned char>(s[i]) >= 0x80) return simdjson::validate_utf8(s, len);
  }
  return true;
}

// A decision is checked and copied when command() or signal() makes it, inside the rule's
// protected and budgeted call: a userdata whose one user value is the table of its fields
// (strings and scalars only), which a rule can read through __index but never reach or change.
// What the engine takes from it after decide() returns is what was checked.
// Pushes the userdata, then its fields table {kind = kind} above it.
void PushDecision(lua_State* L, const char* kind, int fields) {
  lua_newuserdatauv(L, 0, 1);
  luaL_setmetatable(L, kDecisionMeta);
  lua_createtable(L, 0, fields + 1);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, -3, 1);
}

// `text` for an error message: at most 40 bytes, control characters and other bytes outside
// printable ASCII as \xNN.
std::string Quoted(std::string_view text) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < 40; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  out += text.size() > 40 ? "\"..." : "\"";
  return out;
}

// The string argument `arg`, a name of 1 to 128 letters, digits, '_', '-' and '.': what a
// command, signal or workflow may be called. Raises an error naming `what` otherwise.
std::string_view CheckName(lua_State* L, int arg, const char* what) {
  size_t size = 0;
  const char* name = luaL_checklstring(L, arg, &size);
  const std::string_view view(name, size);
  if (!IsName(view)) {
    const std::string message = std::string(what) + " must be 1 to " +
                                std::to_string(kMaxNameBytes) +
                                " letters, digits, '_', '-' or '.', not " + Quoted(view) +
                                (size > kMaxNameBytes ? " (" + std::to_string(size) + " bytes)" : "");
    luaL_argerror(L, arg, message.c_str());
  }
  return view;
}

// command(name, data): a command for the outbox; `data` is written as JSON here, once.
int Command(lua_State* L) {
  lua_settop(L, 2);  // what is pushed below lands above the arguments
  const std::string_view name = CheckName(L, 1, "a command name");
  std::string payload = "{}";
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    payload.clear();
    std::string error;
    if (!AppendJson(L, 2, payload, kMaxPayloadBytes, error)) {
      const std::string message = "command " + std::string(name) + ": " + error;
      return luaL_error(L, "%s", message.c_str());
    }
  }
  PushDecision(L, "command", 2);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "name");
  PushString(L, payload);
  lua_setfield(L, -2, "data");
  lua_pop(L, 1);  // the fields; the decision stays
  return 1;
}

// signal(workflow, target, name): `target` is an instance key, or {index_variable = value}.
int Signal(lua_State* L) {
  lua_settop(L, 3);
  CheckName(L, 1, "a workflow name");
  CheckName(L, 3, "a signal name");
  PushDecision(L, "signal", 4);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "workflow");
  lua_pushvalue(L, 3);
  lua_setfield(L, -2, "name");
  if (lua_type(L, 2) == LUA_TSTRING) {
    size_t size = 0;
    const char* key = lua_tolstring(L, 2, &size);
    if (size == 0 || size > kMaxTargetBytes || std::string_view(key, size).find('\0') !=
                                                     std::string_view::npos) {
      return luaL_argerror(L, 2, ("an instance key must be 1 to " +
                                  std::to_string(kMaxTargetBytes) + " bytes without NUL")
                                     .c_str());
    }
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "target");
  } else if (lua_type(L, 2) == LUA_TTABLE) {
    // {index_variable = value}: one entry, a name and a scalar, read without metamethods.
    lua_pushnil(L);
    dsl::Value value;
    if (lua_next(L, 2) == 0 || lua_type(L, -2) != LUA_TSTRING || !ToValue(L, -1, value) ||
        lua_type(L, -1) == LUA_TNIL) {
      return luaL_argerror(L, 2, "expected an instance key or {index_variable = value}");
    }
    CheckName(L, lua_absindex(L, -2), "an index variable");
    lua_setfield(L, -3, "index_value");  // pops the value
    lua_setfield(L, -2, "index_var");    // pops the name
  } else {
    return luaL_argerror(L, 2, "expected an instance key or {index_variable = value}");
  }
  lua_pop(L, 1);  // the fields; the decision stays
  return 1;
}

// Reading a decision's field from a rule: d.kind, d.name, d.data (JSON text), ...
int DecisionIndex(lua_State* L) {
  lua_getiuservalue(L, 1, 1);
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

int DecisionNewIndex(lua_State* L) {
  return luaL_error(L, "a decision cannot be changed once command() or signal() made it");
}

// rule "name" { on = ..., key = ..., decide = ... }: returns the spec with its name.
int RuleSpec(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_setfield(L, 1, "name");
  lua_settop(L, 1);
  return 1;
}
int Rule(lua_State* L) {
  luaL_checkstring(L, 1);
  lua_settop(L, 1);
  lua_pushcclosure(L, Guarded<RuleSpec>, 1);
  return 1;
}

InstanceLookup* Lookup(lua_State* L) {
  auto* const* holder = static_cast<InstanceLookup* const*>(lua_touserdata(L, lua_upvalueindex(1)));
  if (holder == nullptr || *holder == nullptr) throw std::runtime_error("no instances to look at here");
  return *holder;
}

// ctx.instance(workflow, key): a view of the instance, or nil.
int CtxInstance(lua_State* L) {
  size_t wl = 0;
  size_t kl = 0;
  const char* workflow = luaL_checklstring(L, 1, &wl);
  const char* key = luaL_checklstring(L, 2, &kl);
  Result<std::optional<InstanceRef>> ref = Lookup(L)->Find({workflow, wl}, {key, kl});
  if (!ref.ok()) throw std::runtime_error(ref.status().message());
  if (!ref.value()) return 0;
  PushInstanceView(L, *ref.value());
  return 1;
}

// ctx.current(workflow, {index_variable = value}): the instance that took the value most recently
// and is not final, or nil.
int CtxCurrent(lua_State* L) {
  size_t wl = 0;
  const char* workflow = luaL_checklstring(L, 1, &wl);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_pushnil(L);
  if (lua_next(L, 2) == 0 || lua_type(L, -2) != LUA_TSTRING) {
    return luaL_argerror(L, 2, "expected {index_variable = value}");
  }
  size_t vl = 0;
  const char* var = lua_tolstring(L, -2, &vl);
  dsl::Value value;
  if (!ToValue(L, -1, value)) return luaL_argerror(L, 2, "the index value must be a scalar");
  Result<std::optional<InstanceRef>> ref = Lookup(L)->Current({workflow, wl}, {var, vl}, value);
  if (!ref.ok()) throw std::runtime_error(ref.status().message());
  if (!ref.value()) return 0;
  PushInstanceView(L, *ref.value());
  return 1;
}

bool AppendJsonAt(lua_State* L, int index, std::string& out, size_t max_bytes, int depth,
                  std::string& error) {
  index = lua_absindex(L, index);
  if (out.size() > max_bytes) {
    error = "command data is larger than " + std::to_string(max_bytes) + " bytes";
    return false;
  }
  switch (lua_type(L, index)) {
    case LUA_TNIL: out += "null"; return true;
    case LUA_TBOOLEAN: out += lua_toboolean(L, index) != 0 ? "true" : "false"; return true;
    case LUA_TNUMBER: {
      dsl::Value v;
      ToValue(L, index, v);
      if (v.type == dsl::Type::kFloat && !std::isfinite(v.f)) {
        error = "command data holds a number JSON cannot write (NaN or an infinity)";
        return false;
      }
      v.AppendJson(out);
      return true;
    }
    case LUA_TSTRING: {
      size_t len = 0;
      const char* s = lua_tolstring(L, index, &len);
      if (!IsUtf8(s, len)) {
        error = "command data holds a string that is not UTF-8";
        return false;
      }
      dsl::AppendJsonString(out, {s, len});
      return true;
    }
    case LUA_TTABLE: break;
    default:
      error = std::string("command data cannot hold a ") + luaL_typename(L, index);
      return false;
  }
  if (depth >= kMaxDepth) {
    error = "command data is nested deeper than " + std::to_string(kMaxDepth) + " levels";
    return false;
  }
  luaL_checkstack(L, 4, "command data");
  // Collect keys: all strings (an object, sorted) or exactly 1..n (an array). The keys are
  // the table's own strings, which it keeps alive: viewed, not copied, into a list kept for
  // each depth (a nested table's list is the next one).
  thread_local std::vector<std::string_view> keys_at[kMaxDepth];
  std::vector<std::string_view>& keys = keys_at[depth];
  keys.clear();
  lua_Integer count = 0;
  bool array = true;
  lua_pushnil(L);
  while (lua_next(L, index) != 0) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      size_t len = 0;
      const char* key = lua_tolstring(L, -1, &len);  // whole: a key may hold a NUL
      if (!IsUtf8(key, len)) {
        lua_pop(L, 1);
        error = "command data has a field name that is not UTF-8";
        return false;
      }
      keys.emplace_back(key, len);
      array = false;
    } else if (lua_isinteger(L, -1) != 0 && lua_tointeger(L, -1) >= 1) {
      ++count;
    } else {
      lua_pop(L, 1);
      error = "command data keys must be strings, or 1..n for a list";
      return false;
    }
  }
  if (!keys.empty() && count > 0) {
    error = "command data mixes a list and named fields";
    return false;
  }
  if (array && count > 0) {
    if (static_cast<lua_Integer>(lua_rawlen(L, index)) != count) {
      error = "command data list has holes";
      return false;
    }
    out += '[';
    for (lua_Integer i = 1; i <= count; ++i) {
      if (i > 1) out += ',';
      lua_rawgeti(L, index, i);
      const bool ok = AppendJsonAt(L, -1, out, max_bytes, depth + 1, error);
      lua_pop(L, 1);
      if (!ok) return false;
    }
    out += ']';
    return true;
  }
  std::sort(keys.begin(), keys.end());
  out += '{';
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) out += ',';
    dsl::AppendJsonString(out, keys[i]);
    out += ':';
    PushString(L, keys[i]);
    lua_rawget(L, index);  // the value lua_next saw, whatever the table's metatable says
    const bool ok = AppendJsonAt(L, -1, out, max_bytes, depth + 1, error);
    lua_pop(L, 1);
    if (!ok) return false;
  }
  out += '}';
  return true;
}

}  // namespace

void PushValue(lua_State* L, const dsl::Value& v) {
  switch (v.type) {
    case dsl::Type::kNull: lua_pushnil(L); break;
    case dsl::Type::kBool: lua_pushboolean(L, v.b ? 1 : 0); break;
    case dsl::Type::kInt: lua_pushinteger(L, v.i); break;
    case dsl::Type::kFloat: lua_pushnumber(L, v.f); break;
    case dsl::Type::kString: lua_pushlstring(L, v.s.data(), v.s.size()); break;
  }
}

void PushInstanceView(lua_State* L, const InstanceRef& ref) {
  const dsl::WorkflowDef& wf = *ref.workflow;
  const Instance& instance = *ref.instance;
  const dsl::StateDef& state = wf.states[static_cast<size_t>(instance.state)];
  lua_createtable(L, 0, 5);
  lua_pushstring(L, wf.name.c_str());
  lua_setfield(L, -2, "workflow");
  PushValue(L, instance.key);
  lua_setfield(L, -2, "key");
  lua_pushstring(L, state.name.c_str());
  lua_setfield(L, -2, "state");
  lua_pushboolean(L, state.final ? 1 : 0);
  lua_setfield(L, -2, "final");
  lua_createtable(L, 0, static_cast<int>(wf.vars.size()));
  for (size_t i = 0; i < wf.vars.size(); ++i) {
    PushValue(L, instance.vars[i]);
    lua_setfield(L, -2, wf.vars[i].name.c_str());
  }
  lua_setfield(L, -2, "vars");
}

bool ToValue(lua_State* L, int index, dsl::Value& out) {
  switch (lua_type(L, index)) {
    case LUA_TNIL: out = dsl::Value::Null(); return true;
    case LUA_TBOOLEAN: out = dsl::Value::Bool(lua_toboolean(L, index) != 0); return true;
    case LUA_TNUMBER:
      out = lua_isinteger(L, index) != 0 ? dsl::Value::Int(lua_tointeger(L, index))
                                          : dsl::Value::Float(lua_tonumber(L, index));
      return true;
    case LUA_TSTRING: {
      size_t len = 0;
      const char* s = lua_tolstring(L, index, &len);
      out = dsl::Value::String({s, len});
      return true;
    }
    default: return false;
  }
}

bool AppendJson(lua_State* L, int index, std::string& out, size_t max_bytes, std::string& error) {
  const size_t start = out.size();
  if (!AppendJsonAt(L, index, out, start + max_bytes, 0, error)) return false;
  if (out.size() - start <= max_bytes) return true;
  error = "command data is larger than " + std::to_string(max_bytes) + " bytes";
  return false;
}

int InstallRuleApi(Sandbox& sandbox, InstanceLookup** lookup) {
  lua_State* L = sandbox.state();
  luaL_newmetatable(L, kDecisionMeta);
  lua_pushliteral(L, "read-only");
  lua_setfield(L, -2, "__metatable");
  lua_pushcfunction(L, DecisionIndex);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, DecisionNewIndex);
  lua_setfield(L, -2, "__newindex");
  lua_pop(L, 1);
  lua_pushcfunction(L, Guarded<Command>);
  sandbox.AddGlobal("command");
  lua_pushcfunction(L, Guarded<Signal>);
  sandbox.AddGlobal("signal");
  lua_pushcfunction(L, Guarded<Rule>);
  sandbox.AddGlobal("rule");
  // ctx: one table for every evaluation; its functions reach instances through `lookup`.
  lua_createtable(L, 0, 2);
  lua_pushlightuserdata(L, lookup);
  lua_pushcclosure(L, Guarded<CtxInstance>, 1);
  lua_setfield(L, -2, "instance");
  lua_pushlightuserdata(L, lookup);
  lua_pushcclosure(L, Guarded<CtxCurrent>, 1);
  lua_setfield(L, -2, "current");
  sandbox.MakeReadOnly();
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

void PushDecisionFields(lua_State* L, int index) { lua_getiuservalue(L, index, 1); }

bool IsDecision(lua_State* L, int index) {
  if (lua_getmetatable(L, index) == 0) return false;
  luaL_getmetatable(L, kDecisionMeta);
  const bool same = lua_rawequal(L, -1, -2) != 0;
  lua_pop(L, 2);
  return same;
}

}  // namespace takt::rules
