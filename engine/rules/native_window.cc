#include "engine/rules/native_window.h"

#include <lauxlib.h>
#include <lua.h>

#include <cstdint>
#include <cstring>

#include "engine/rules/sandbox.h"

namespace takt::rules {
namespace {

// One entry: the time, whether the value is a float, and the value's 8 bytes (a lua_Integer or
// a lua_Number), in the host's byte order.
constexpr size_t kEntry = 8 + 1 + 8;
// Below this many entries a call is cheaper than reading the clock to charge it.
constexpr size_t kChargeFrom = 1024;

struct Entry {
  lua_Integer t;
  bool is_float;
  lua_Integer i;
  lua_Number f;
};

Entry Read(const char* p) {
  Entry e{};
  std::memcpy(&e.t, p, 8);
  e.is_float = p[8] != 0;
  if (e.is_float) {
    std::memcpy(&e.f, p + 9, 8);
  } else {
    std::memcpy(&e.i, p + 9, 8);
  }
  return e;
}

void Write(char* out, lua_Integer t, bool is_float, lua_Integer i, lua_Number f) {
  std::memcpy(out, &t, 8);
  out[8] = is_float ? 1 : 0;
  if (is_float) {
    std::memcpy(out + 9, &f, 8);
  } else {
    std::memcpy(out + 9, &i, 8);
  }
}

const char* Data(lua_State* L, int index, size_t& entries) {
  size_t len = 0;
  const char* data = luaL_checklstring(L, index, &len);
  if (len % kEntry != 0) luaL_error(L, "takt.window: the window's data is damaged");
  entries = len / kEntry;
  if (entries >= kChargeFrom) Sandbox::Charge(L, static_cast<int64_t>(entries / 16));
  return data;
}

lua_Integer Time(lua_State* L, int index) {
  int is_integer = 0;
  const lua_Integer t = lua_tointegerx(L, index, &is_integer);
  if (is_integer == 0) {
    luaL_error(L, "takt.window: times, widths and lateness are integers (ms), not %s",
               lua_type(L, index) == LUA_TNUMBER ? "a fraction" : luaL_typename(L, index));
  }
  return t;
}

// append(data, t, value): the packed data with the entry added, and its number of entries.
int Append(lua_State* L) {
  size_t entries = 0;
  const char* data = Data(L, 1, entries);
  const lua_Integer t = Time(L, 2);
  luaL_checktype(L, 3, LUA_TNUMBER);
  luaL_Buffer b;
  char* out = luaL_buffinitsize(L, &b, (entries + 1) * kEntry);
  std::memcpy(out, data, entries * kEntry);
  if (lua_isinteger(L, 3)) {
    Write(out + entries * kEntry, t, false, lua_tointeger(L, 3), 0);
  } else {
    Write(out + entries * kEntry, t, true, 0, lua_tonumber(L, 3));
  }
  luaL_pushresultsize(&b, (entries + 1) * kEntry);
  lua_pushinteger(L, static_cast<lua_Integer>(entries + 1));
  return 2;
}

int Prune(lua_State* L) {
  size_t entries = 0;
  const char* data = Data(L, 1, entries);
  const lua_Integer oldest = Time(L, 2);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  lua_Integer kept = 0;
  for (size_t i = 0; i < entries; ++i) {
    const char* p = data + i * kEntry;
    lua_Integer t;
    std::memcpy(&t, p, 8);
    if (t < oldest) continue;
    luaL_addlstring(&b, p, kEntry);
    ++kept;
  }
  luaL_pushresult(&b);
  lua_pushinteger(L, kept);
  return 2;
}

// Pushes the entry's value as Lua has it.
void PushValue(lua_State* L, const Entry& e) {
  if (e.is_float) {
    lua_pushnumber(L, e.f);
  } else {
    lua_pushinteger(L, e.i);
  }
}

// scan(data, from, to[, recent]): count, sum, min and max of the entries with from <= t <= to,
// those of `data` first, then those of `recent` (window.lua keeps the newest apart): the order
// they arrived in, which a float sum depends on.
int Scan(lua_State* L) {
  size_t entries = 0;
  const char* data = Data(L, 1, entries);
  const lua_Integer from = Time(L, 2);
  const lua_Integer to = Time(L, 3);
  size_t recent_entries = 0;
  const char* recent = lua_isnoneornil(L, 4) ? nullptr : Data(L, 4, recent_entries);
  lua_Integer n = 0;
  // The sum as `s = s + v` from the integer 0: integers wrap, a float makes it float for good.
  bool sum_float = false;
  lua_Integer sum_i = 0;
  lua_Number sum_f = 0;
  lua_settop(L, 4);  // the strings stay on the stack while their bytes are read
  lua_pushnil(L);  // 5: min
  lua_pushnil(L);  // 6: max
  const auto visit = [&](const char* p) {
    const Entry e = Read(p);
    if (e.t < from || e.t > to) return;
    ++n;
    if (!sum_float && !e.is_float) {
      sum_i = static_cast<lua_Integer>(static_cast<lua_Unsigned>(sum_i) +
                                       static_cast<lua_Unsigned>(e.i));
    } else {
      if (!sum_float) sum_f = static_cast<lua_Number>(sum_i);
      sum_float = true;
      sum_f += e.is_float ? e.f : static_cast<lua_Number>(e.i);
    }
    // min and max by Lua's own comparison, which is exact between integers and floats.
    PushValue(L, e);
    if (lua_isnil(L, 5) || lua_compare(L, 7, 5, LUA_OPLT) != 0) {
      lua_pushvalue(L, 7);
      lua_replace(L, 5);
    }
    if (lua_isnil(L, 6) || lua_compare(L, 6, 7, LUA_OPLT) != 0) {
      lua_pushvalue(L, 7);
      lua_replace(L, 6);
    }
    lua_pop(L, 1);
  };
  for (size_t i = 0; i < entries; ++i) visit(data + i * kEntry);
  for (size_t i = 0; i < recent_entries; ++i) visit(recent + i * kEntry);
  lua_pushinteger(L, n);
  if (sum_float) {
    lua_pushnumber(L, sum_f);
  } else {
    lua_pushinteger(L, sum_i);
  }
  lua_pushvalue(L, 5);
  lua_pushvalue(L, 6);
  return 4;
}

int Size(lua_State* L) {
  size_t entries = 0;
  Data(L, 1, entries);
  lua_pushinteger(L, static_cast<lua_Integer>(entries));
  return 1;
}

}  // namespace

void PushNativeWindow(lua_State* L) {
  const luaL_Reg functions[] = {
      {"append", Append}, {"prune", Prune}, {"scan", Scan}, {"size", Size}, {nullptr, nullptr}};
  luaL_newlib(L, functions);
}

}  // namespace takt::rules
