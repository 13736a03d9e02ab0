#include "engine/rules/native_window.h"

#include <lauxlib.h>
#include <lua.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

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

// The time of the entry at `p`, without reading its value.
lua_Integer TimeOf(const char* p) {
  lua_Integer t;
  std::memcpy(&t, p, 8);
  return t;
}

// How many of the packed entries at `p` (len bytes) have from <= t <= to. With one unsigned
// comparison an entry: t - from, wrapping, is past to - from for every t outside.
lua_Integer CountInRange(const char* p, size_t len, lua_Integer from, lua_Integer to) {
  if (from > to) return 0;
  const auto span = static_cast<lua_Unsigned>(to) - static_cast<lua_Unsigned>(from);
  lua_Integer n = 0;
  for (const char* end = p + len; p < end; p += kEntry) {
    n += static_cast<lua_Unsigned>(TimeOf(p)) - static_cast<lua_Unsigned>(from) <= span;
  }
  return n;
}

Entry Read(const char* p) {
  Entry e{};
  e.t = TimeOf(p);
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

// Writes the entry (t, the number at `value`) at `out`, an integer kept as one.
void WriteValue(lua_State* L, char* out, lua_Integer t, int value) {
  if (lua_isinteger(L, value)) {
    Write(out, t, false, lua_tointeger(L, value), 0);
  } else {
    Write(out, t, true, 0, lua_tonumber(L, value));
  }
}

// Whether `t` is newer than the window's newest time at `newest` (nil: there is none), by Lua's
// comparison: a newest time of 5.0 stays a float in the state, as add was given it.
bool IsNewer(lua_State* L, int newest, lua_Integer t) {
  if (lua_isnil(L, newest)) return true;
  if (lua_isinteger(L, newest)) return t > lua_tointeger(L, newest);
  lua_pushinteger(L, t);
  const bool newer = lua_compare(L, newest, -1, LUA_OPLT) != 0;
  lua_pop(L, 1);
  return newer;
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
  WriteValue(L, out + entries * kEntry, t, 3);
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
    if (TimeOf(p) < oldest) continue;
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

// ---- takt.window's own functions (stdlib/takt/window.lua hands them out as they are) ----
//
// They were Lua over the functions above; in C a window costs an alarm one call instead of
// five, and of the rule's instruction budget only what a large window charges (Data()). What
// they do is unchanged, down to the state they leave: a window is the table
//   {width = W, newest = T, kept = K, data = "packed entries", recent = "packed", lateness = L}
// in the rule's state under its name, `recent` holding the newest (up to kRecent) apart, so that
// an add copies those few and not the whole window, and `lateness` only when add was given one.

constexpr lua_Integer kLatenessMs = 6LL * 3600 * 1000;  // window.LATENESS_MS
constexpr auto kRecent = static_cast<lua_Integer>(kWindowNewestApart);

// The field names, interned once and kept as the functions' upvalues (a lookup by C string
// hashes or compares the name on every call).
enum Field : int { kWidth = 1, kNewest, kKept, kData, kRecentField, kLateness, kTs, kVs, kFields };
const char* const kFieldNames[] = {nullptr, "width", "newest", "kept", "data",
                                   "recent", "lateness", "ts", "vs"};

int GetField(lua_State* L, int table, Field field) {
  lua_pushvalue(L, lua_upvalueindex(field));
  return lua_rawget(L, table);
}

// Sets the field from the value on the top of the stack (popped).
void SetField(lua_State* L, int table, Field field) {
  lua_pushvalue(L, lua_upvalueindex(field));
  lua_insert(L, -2);
  lua_rawset(L, table);
}

// a - b with Lua's arithmetic: integers wrap, anything else (a float, a string that converts)
// as the `-` operator would, with its error for what it cannot subtract.
void PushDifference(lua_State* L, int a, int b) {
  if (lua_isinteger(L, a) && lua_isinteger(L, b)) {
    lua_pushinteger(L, static_cast<lua_Integer>(static_cast<lua_Unsigned>(lua_tointeger(L, a)) -
                                                static_cast<lua_Unsigned>(lua_tointeger(L, b))));
    return;
  }
  lua_pushvalue(L, a);
  lua_pushvalue(L, b);
  lua_arith(L, LUA_OPSUB);
}

// Pushes state[name] (as `state[name]` reads it in Lua) when it is a window, nil when there is
// none. A window an earlier version kept as two arrays (ts, vs) is packed first.
int PushWindow(lua_State* L, int state, int name) {
  lua_pushvalue(L, name);
  const int type = lua_gettable(L, state);
  if (type == LUA_TNIL) return type;
  if (type != LUA_TTABLE) {
    return luaL_error(L, "takt.window: the state's '%s' is a %s, not a window",
                      luaL_tolstring(L, name, nullptr), lua_typename(L, type));
  }
  const int w = lua_gettop(L);
  if (GetField(L, w, kTs) == LUA_TNIL) {
    lua_pop(L, 1);
    return type;
  }
  const int ts = lua_gettop(L);
  GetField(L, w, kVs);
  const int vs = ts + 1;
  lua_pushliteral(L, "");
  if (!lua_istable(L, ts) || !lua_istable(L, vs)) {
    return luaL_error(L, "takt.window: the window's data is damaged");
  }
  // Raw reads: a metamethod of the rule's must not run where the engine feeds a window.
  const auto n = static_cast<lua_Integer>(lua_rawlen(L, ts));
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_pushcfunction(L, Append);
    lua_insert(L, -2);
    lua_rawgeti(L, ts, i);
    lua_rawgeti(L, vs, i);
    lua_call(L, 3, 2);
    lua_pop(L, 1);  // the count
  }
  SetField(L, w, kData);
  lua_pushnil(L);
  SetField(L, w, kTs);
  lua_pushnil(L);
  SetField(L, w, kVs);
  lua_settop(L, w);
  return type;
}

// Raises unless the value at `index` is a whole number of milliseconds (or nil, or, `or_false`,
// false): a width or a lateness, before the window changes.
void CheckWholeOrNil(lua_State* L, int index, const char* what, bool or_false) {
  if (lua_isnil(L, index) || (or_false && lua_isboolean(L, index) && !lua_toboolean(L, index))) {
    return;
  }
  int whole = 0;
  lua_tointegerx(L, index, &whole);
  if (whole == 0 || lua_type(L, index) != LUA_TNUMBER) {
    luaL_error(L, "takt.window: the %s is a whole number of milliseconds, not a %s", what,
               lua_type(L, index) == LUA_TNUMBER ? "fraction" : luaL_typename(L, index));
  }
}

// add(state, name, t, value = 1, width, lateness). What could be wrong is found, and what the
// window will hold is made, before anything changes, so that an error (a memory error too)
// leaves the state as it was: the engine feeds a window outside any evaluation, where there is
// no snapshot to put back (rule_windows.h). Only an earlier version's window is converted to the
// packed form before, which changes no query.
int Add(lua_State* L) {
  lua_settop(L, 6);
  if (!lua_toboolean(L, 4)) {  // value or 1
    lua_pushinteger(L, 1);
    lua_replace(L, 4);
  }
  const lua_Integer t = Time(L, 3);
  luaL_checktype(L, 4, LUA_TNUMBER);
  CheckWholeOrNil(L, 5, "width", false);
  CheckWholeOrNil(L, 6, "lateness", true);
  const bool fresh = PushWindow(L, 1, 2) == LUA_TNIL;
  const int w = 7;
  const int recent_at = 8;
  const int newest_at = 9;
  if (fresh) {
    lua_pushnil(L);
    lua_pushnil(L);
  } else {
    GetField(L, w, kRecentField);
    GetField(L, w, kNewest);
  }
  size_t recent_entries = 0;
  const char* recent = lua_isnil(L, recent_at) ? "" : Data(L, recent_at, recent_entries);
  if (static_cast<lua_Integer>(recent_entries) >= kRecent) {  // joined before there are this many
    return luaL_error(L, "takt.window: the window's data is damaged");
  }
  if (!lua_isnil(L, newest_at) && lua_type(L, newest_at) != LUA_TNUMBER) {
    return luaL_error(L, "takt.window: the window's newest time is a %s, not a number",
                      luaL_typename(L, newest_at));
  }
  const size_t held = recent_entries + 1;
  const bool joins = static_cast<lua_Integer>(held) >= kRecent;
  if (joins) {  // what joining the newest to the rest reads, and dropping the old entries
    size_t entries = 0;
    if (GetField(L, w, kData) != LUA_TSTRING) {
      return luaL_error(L, "takt.window: the window's data is damaged");
    }
    Data(L, lua_gettop(L), entries);
    const int kept_type = GetField(L, w, kKept);
    if (kept_type != LUA_TNIL && kept_type != LUA_TNUMBER) {
      return luaL_error(L, "takt.window: the window's count of kept entries is damaged");
    }
    if (lua_isnil(L, 5) && GetField(L, w, kWidth) == LUA_TNIL) {
      return luaL_error(L, "takt.window: the window has no width");
    }
    CheckWholeOrNil(L, lua_isnil(L, 5) ? lua_gettop(L) : 5, "width", false);
    if (lua_isnil(L, 6)) GetField(L, w, kLateness);
    CheckWholeOrNil(L, lua_isnil(L, 6) ? lua_gettop(L) : 6, "lateness", true);
    lua_settop(L, newest_at);
  }
  // What the window will hold is made first: all that can fail from here is an allocation.
  // Then the window changes, by assignments to fields it has (a table made for it has room for
  // all of them), which allocate nothing: a memory error leaves it as it was.
  luaL_checkstack(L, 12, "takt.window.add");
  char joined[kRecent * kEntry];  // the newest entries with this one
  std::memcpy(joined, recent, recent_entries * kEntry);
  WriteValue(L, joined + recent_entries * kEntry, t, 4);
  lua_pushlstring(L, joined, held * kEntry);
  const int joined_at = lua_gettop(L);
  const bool newer = IsNewer(L, newest_at, t);  // newest = max(newest, t), as given
  lua_pushvalue(L, newer ? 3 : newest_at);
  const int newest = lua_gettop(L);
  int data = 0;  // the entries once joined (and maybe pruned); 0: the newest are not joined yet
  int kept = 0;  // how many a prune kept; 0: none dropped
  if (joins) {
    // The newest are joined to the rest. Old entries go once the window has doubled since they
    // last went, so that the cost of dropping is spread over the adds. Until then they stay,
    // which changes no query that the lateness promise covers.
    GetField(L, w, kData);
    lua_pushvalue(L, joined_at);
    lua_concat(L, 2);
    data = lua_gettop(L);
    size_t n = 0;
    Data(L, data, n);
    if (GetField(L, w, kKept) == LUA_TNIL) {  // an earlier version's window: none dropped yet
      lua_pop(L, 1);
      lua_pushinteger(L, 0);
    }
    lua_pushinteger(L, 2);
    lua_insert(L, -2);
    lua_arith(L, LUA_OPMUL);
    lua_pushinteger(L, static_cast<lua_Integer>(n));
    const bool below_twice = lua_compare(L, -1, -2, LUA_OPLT) != 0;
    lua_settop(L, data);
    if (!below_twice && n >= 16) {
      if (lua_isnil(L, 5)) {
        GetField(L, w, kWidth);
      } else {
        lua_pushvalue(L, 5);
      }
      PushDifference(L, newest, data + 1);
      if (lua_isnil(L, 6)) {
        GetField(L, w, kLateness);
      } else {
        lua_pushvalue(L, 6);
      }
      if (!lua_toboolean(L, -1)) {  // w.lateness or window.LATENESS_MS
        lua_pop(L, 1);
        lua_pushinteger(L, kLatenessMs);
      }
      PushDifference(L, data + 2, data + 3);  // the oldest time kept
      lua_pushcfunction(L, Prune);
      lua_pushvalue(L, data);
      lua_pushvalue(L, -3);
      lua_call(L, 2, 2);  // the entries kept, and how many
      kept = lua_gettop(L);
      data = kept - 1;
    }
  }
  if (fresh) {
    lua_createtable(L, 0, 6);  // room for width, kept, data, newest, recent and lateness
    const int made = lua_gettop(L);
    lua_pushinteger(L, 0);
    SetField(L, made, kWidth);
    lua_pushinteger(L, 0);
    SetField(L, made, kKept);
    lua_pushliteral(L, "");
    SetField(L, made, kData);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, made);
    lua_settable(L, 1);  // state[name] = w: the last allocation, and the first change
    lua_replace(L, w);
  }
  if (!lua_isnil(L, 6)) {  // first: a window made by an earlier add may not have the field yet
    lua_pushvalue(L, 6);
    SetField(L, w, kLateness);
  }
  if (!lua_isnil(L, 5)) {
    lua_pushvalue(L, 5);
    SetField(L, w, kWidth);
  }
  if (newer) {
    lua_pushvalue(L, newest);
    SetField(L, w, kNewest);
  }
  if (!joins) {
    lua_pushvalue(L, joined_at);
    SetField(L, w, kRecentField);
    return 0;
  }
  lua_pushvalue(L, data);
  SetField(L, w, kData);
  lua_pushnil(L);
  SetField(L, w, kRecentField);
  if (kept != 0) {
    lua_pushvalue(L, kept);
    SetField(L, w, kKept);
  }
  return 0;
}

enum class Want { kCount, kSum, kMin, kMax, kMean };

// count, sum, min, max or mean (state, name, t[, width]) over the entries in [t - width, t];
// width defaults to the window's own.
template <Want want>
int Query(lua_State* L) {
  lua_settop(L, 4);
  if (PushWindow(L, 1, 2) == LUA_TNIL) {
    switch (want) {
      case Want::kCount: lua_pushinteger(L, 0); break;
      case Want::kSum: lua_pushinteger(L, 0); break;
      default: lua_pushnil(L);
    }
    return 1;
  }
  const int w = 5;
  if (lua_toboolean(L, 4)) {  // width or w.width
    lua_pushvalue(L, 4);
  } else {
    GetField(L, w, kWidth);
  }
  const int args = w + 2;  // scan's: data, from, to, recent
  GetField(L, w, kData);
  PushDifference(L, 3, w + 1);  // from
  lua_pushvalue(L, 3);          // to
  GetField(L, w, kRecentField);
  if (want == Want::kCount) {
    // Only the count: no sums, no comparisons of values.
    size_t entries = 0, recent_entries = 0;
    const char* data = Data(L, args, entries);
    const lua_Integer from = Time(L, args + 1);
    const lua_Integer to = Time(L, args + 2);
    const char* recent = lua_isnil(L, args + 3) ? nullptr : Data(L, args + 3, recent_entries);
    lua_Integer n = CountInRange(data, entries * kEntry, from, to);
    if (recent != nullptr) n += CountInRange(recent, recent_entries * kEntry, from, to);
    lua_pushinteger(L, n);
    return 1;
  }
  lua_pushcfunction(L, Scan);
  lua_insert(L, args);
  lua_call(L, 4, 4);  // count, sum, min, max
  const int count = lua_gettop(L) - 3;
  switch (want) {
    case Want::kSum: lua_pushvalue(L, count + 1); break;
    case Want::kMin: lua_pushvalue(L, count + 2); break;
    case Want::kMax: lua_pushvalue(L, count + 3); break;
    default:  // the mean: nil when empty
      if (lua_tointeger(L, count) == 0) {
        lua_pushnil(L);
      } else {
        lua_pushvalue(L, count + 1);
        lua_pushvalue(L, count);
        lua_arith(L, LUA_OPDIV);
      }
  }
  return 1;
}

}  // namespace

bool CountEntries(lua_State* L, int window, int64_t from, int64_t to, int64_t& count,
                  double& newest) {
  newest = static_cast<double>(std::numeric_limits<int64_t>::min());
  if (lua_isnil(L, window)) {
    count = 0;
    return true;
  }
  if (!lua_istable(L, window)) return false;
  window = lua_absindex(L, window);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kFieldNames);  // the names as Lua holds them: no hashing
  const int names = lua_gettop(L);
  lua_rawgeti(L, names, kTs);
  bool packed = lua_rawget(L, window) == LUA_TNIL;
  lua_pop(L, 1);
  int64_t n = 0;
  for (const Field field : {kData, kRecentField}) {
    lua_rawgeti(L, names, field);
    const int type = lua_rawget(L, window);
    size_t len = 0;
    const char* p = type == LUA_TSTRING ? lua_tolstring(L, -1, &len) : nullptr;
    if (type != LUA_TNIL && (p == nullptr || len % kEntry != 0)) packed = false;
    if (packed && p != nullptr) n += CountInRange(p, len, from, to);
    lua_pop(L, 1);
  }
  lua_rawgeti(L, names, kNewest);
  if (lua_rawget(L, window) == LUA_TNUMBER) newest = lua_tonumber(L, -1);
  lua_pop(L, 2);
  if (packed) count = n;
  return packed;
}

namespace {

// Pushes the window `name` of the state at `state` and what AddToNewest() reads of it: the
// window, the field names' table, its `recent` and its `newest` (four values), and returns how
// many entries `recent` holds; -1, with nothing pushed, when AddToNewest() would not add to it.
int PushNewest(lua_State* L, int state, int name) {
  const int top = lua_gettop(L);
  if (lua_checkstack(L, 8) == 0) return -1;
  if (lua_getmetatable(L, state) != 0) {  // add reads state[name] as Lua does: with its __index
    lua_pop(L, 1);
    return -1;
  }
  const auto refuse = [&] {
    lua_settop(L, top);
    return -1;
  };
  lua_pushvalue(L, name);
  if (lua_rawget(L, state) != LUA_TTABLE) return refuse();
  const int w = top + 1;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kFieldNames);  // the names as Lua holds them: no hashing
  const int names = top + 2;
  const auto get = [&](Field field) {
    lua_rawgeti(L, names, field);
    return lua_rawget(L, w);
  };
  const int ts_type = get(kTs);
  lua_pop(L, 1);
  if (ts_type != LUA_TNIL) return refuse();  // an earlier version's: add converts it
  const int recent_type = get(kRecentField);
  const int newest_type = get(kNewest);
  if ((recent_type != LUA_TNIL && recent_type != LUA_TSTRING) ||
      (newest_type != LUA_TNIL && newest_type != LUA_TNUMBER)) {
    return refuse();
  }
  const size_t len = recent_type == LUA_TNIL ? 0 : lua_rawlen(L, top + 3);
  if (len % kEntry != 0 || static_cast<lua_Integer>(len / kEntry) >= kRecent) return refuse();
  return static_cast<int>(len / kEntry);
}

// Packs the n entries at `out`, and sets newest = max(newest, t) for each in turn, as each add
// does it (by Lua's comparison), in the stack slot `newest_at`. Whether newest moved.
bool PackEntries(lua_State* L, int newest_at, const WindowEntry* entries, size_t n, char* out) {
  bool newer = false;
  for (size_t k = 0; k < n; ++k) {
    const WindowEntry& e = entries[k];
    Write(out + k * kEntry, e.t, e.is_float, e.i, e.f);
    if (IsNewer(L, newest_at, e.t)) {
      lua_pushinteger(L, e.t);
      lua_replace(L, newest_at);
      newer = true;
    }
  }
  return newer;
}

// w[field] = the value on the top of the stack (popped), the field's name from `names`.
void SetNamed(lua_State* L, int w, int names, Field field) {
  lua_rawgeti(L, names, field);
  lua_insert(L, -2);
  lua_rawset(L, w);
}

// The fields every add assigns, in its order, each to what the last of the adds leaves in it:
// the lateness when the rule declares one, the width, and newest when it moved.
void SetAddedFields(lua_State* L, int w, int names, int64_t width, const int64_t* lateness,
                    bool newer, int newest_at) {
  if (lateness != nullptr) {
    lua_pushinteger(L, *lateness);
    SetNamed(L, w, names, kLateness);
  }
  lua_pushinteger(L, width);
  SetNamed(L, w, names, kWidth);
  if (newer) {
    lua_pushvalue(L, newest_at);
    SetNamed(L, w, names, kNewest);
  }
}

}  // namespace

int NewestHeldApart(lua_State* L, int state, int name) {
  const int top = lua_gettop(L);
  const int held = PushNewest(L, lua_absindex(L, state), lua_absindex(L, name));
  lua_settop(L, top);
  return held;
}

bool AddToNewest(lua_State* L, int state, int name, const WindowEntry* entries, size_t n,
                 int64_t width, const int64_t* lateness) {
  state = lua_absindex(L, state);
  name = lua_absindex(L, name);
  const int top = lua_gettop(L);
  const int held = PushNewest(L, state, name);
  if (held < 0 || static_cast<lua_Integer>(static_cast<size_t>(held) + n) >= kRecent) {
    lua_settop(L, top);
    return false;
  }
  const int w = top + 1;
  const int names = top + 2;
  const int recent_at = top + 3;
  const int newest_at = top + 4;
  // From here on as n calls of add: what the window will hold is made first, then the fields
  // it has are assigned, in add's order, each to what the last of the n calls leaves in it.
  char joined[kRecent * kEntry];
  const size_t len = static_cast<size_t>(held) * kEntry;
  if (len > 0) std::memcpy(joined, lua_tostring(L, recent_at), len);
  const bool newer = PackEntries(L, newest_at, entries, n, joined + len);
  lua_pushlstring(L, joined, len + n * kEntry);
  SetAddedFields(L, w, names, width, lateness, newer, newest_at);
  SetNamed(L, w, names, kRecentField);  // the string pushed above
  lua_settop(L, top);
  return true;
}

bool JoinNewest(lua_State* L, int state, int name, const WindowEntry* entries, size_t n,
                int64_t width, const int64_t* lateness) {
  state = lua_absindex(L, state);
  name = lua_absindex(L, name);
  const int top = lua_gettop(L);
  const auto refuse = [&] {
    lua_settop(L, top);
    return false;
  };
  const int held = PushNewest(L, state, name);
  if (held < 0 || static_cast<size_t>(held) + n != kWindowNewestApart) return refuse();
  const int w = top + 1;
  const int names = top + 2;
  const int recent_at = top + 3;
  const int newest_at = top + 4;
  const auto get = [&](Field field) {
    lua_rawgeti(L, names, field);
    return lua_rawget(L, w);
  };
  // What add reads for a join, each as the engine's feeds keep it: else add does it all.
  size_t data_len = 0;
  const char* data = get(kData) == LUA_TSTRING ? lua_tolstring(L, -1, &data_len) : nullptr;
  if (data == nullptr || data_len % kEntry != 0) return refuse();
  const int kept_type = get(kKept);
  if (kept_type != LUA_TNIL && lua_isinteger(L, -1) == 0) return refuse();
  const lua_Integer kept = kept_type == LUA_TNIL ? 0 : lua_tointeger(L, -1);
  lua_Integer late = kLatenessMs;  // w.lateness or window.LATENESS_MS, unless declared
  if (lateness != nullptr) {
    late = *lateness;
  } else if (const int type = get(kLateness); lua_isinteger(L, -1) != 0) {
    late = lua_tointeger(L, -1);
  } else if (type != LUA_TNIL && !(type == LUA_TBOOLEAN && lua_toboolean(L, -1) == 0)) {
    return refuse();
  }
  char added[kRecent * kEntry];
  const bool newer = PackEntries(L, newest_at, entries, n, added);
  if (lua_isinteger(L, newest_at) == 0) return refuse();
  // As add: the newest joined to the rest; the old entries dropped once the window has doubled
  // since they last were (n < 2 * kept, in Lua's integers), from newest - width - lateness on.
  const size_t recent_len = static_cast<size_t>(held) * kEntry;
  const size_t total = data_len / kEntry + static_cast<size_t>(held) + n;
  const auto twice_kept = static_cast<lua_Integer>(static_cast<lua_Unsigned>(kept) * 2u);
  const bool prune = !(static_cast<lua_Integer>(total) < twice_kept);
  const auto oldest = static_cast<lua_Integer>(
      static_cast<lua_Unsigned>(lua_tointeger(L, newest_at)) - static_cast<lua_Unsigned>(width) -
      static_cast<lua_Unsigned>(late));
  thread_local std::string joined;  // a buffer for every call: Lua copies it into its string
  joined.clear();
  joined.reserve(total * kEntry);
  lua_Integer left = 0;
  const auto take = [&](const char* p, size_t len) {
    if (!prune) {
      joined.append(p, len);
      return;
    }
    for (size_t at = 0; at < len; at += kEntry) {
      if (TimeOf(p + at) < oldest) continue;
      joined.append(p + at, kEntry);
      ++left;
    }
  };
  take(data, data_len);
  if (recent_len > 0) take(lua_tostring(L, recent_at), recent_len);
  take(added, n * kEntry);
  // Room for the joined entries, or add (which a collection may yet find room for) does it.
  constexpr size_t kStringOverhead = 64;
  if (joined.size() + kStringOverhead > Sandbox::RoomLeft(L)) return refuse();
  lua_pushlstring(L, joined.data(), joined.size());
  // The fields, in add's order, to what it leaves in them.
  SetAddedFields(L, w, names, width, lateness, newer, newest_at);
  SetNamed(L, w, names, kData);  // the string pushed above
  lua_pushnil(L);
  SetNamed(L, w, names, kRecentField);
  if (prune) {
    lua_pushinteger(L, left);
    SetNamed(L, w, names, kKept);
  }
  lua_settop(L, top);
  return true;
}

void PushNativeWindow(lua_State* L) {
  const luaL_Reg functions[] = {
      {"append", Append}, {"prune", Prune}, {"scan", Scan}, {"size", Size}, {nullptr, nullptr}};
  luaL_newlib(L, functions);
  const luaL_Reg module[] = {{"add", Add},
                             {"count", Query<Want::kCount>},
                             {"sum", Query<Want::kSum>},
                             {"min", Query<Want::kMin>},
                             {"max", Query<Want::kMax>},
                             {"mean", Query<Want::kMean>},
                             {nullptr, nullptr}};
  lua_createtable(L, kFields - 1, 0);  // the names again, for CountEntries()
  for (int field = kWidth; field < kFields; ++field) {
    lua_pushstring(L, kFieldNames[field]);
    lua_rawseti(L, -2, field);
  }
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kFieldNames);
  for (int field = kWidth; field < kFields; ++field) lua_pushstring(L, kFieldNames[field]);
  luaL_setfuncs(L, module, kFields - 1);
  lua_pushinteger(L, kLatenessMs);
  lua_setfield(L, -2, "LATENESS_MS");
}

}  // namespace takt::rules
