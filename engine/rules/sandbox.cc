// The sandbox's three levers, as in Lua's own design: the allocator (memory), the count hook
// (instructions and wall time) and the environment of each chunk (what names exist).
//
// Linked against lua5.4-c++: Lua errors are C++ exceptions, so they unwind through our
// destructors. No C++ exception may escape into Lua from our C functions (see lua_bridge.cc).
#include "engine/rules/sandbox.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "engine/rules/lua_patterns.h"

namespace takt::rules {
namespace {

constexpr int kHookEvery = 1000;  // instructions between two checks of the budget and the clock

// Library functions a rule may use; everything else is absent. Not xpcall: a message handler
// that breaks a limit is called again for its own error, without end.
const char* const kBaseFunctions[] = {"assert",   "error",    "ipairs",   "next",
                                      "pairs",    "pcall",    "select",   "tonumber",
                                      "tostring", "type",     "rawequal", "rawget",
                                      "rawlen",   "getmetatable", "setmetatable"};
struct LibraryAllowlist {
  const char* library;
  const char* const* removed;  // functions taken out (nullptr-terminated)
};
const char* const kNoneRemoved[] = {nullptr};
const char* const kStringRemoved[] = {"dump", nullptr};  // would turn functions into bytecode
const char* const kMathRemoved[] = {"random", "randomseed", nullptr};  // not deterministic
const LibraryAllowlist kLibraries[] = {{"string", kStringRemoved}, {"math", kMathRemoved},
                                       {"table", kNoneRemoved},    {"utf8", kNoneRemoved},
                                       {"coroutine", kNoneRemoved}};

// The sandbox a Lua state belongs to: the allocator's user data.
Sandbox& SandboxOf(lua_State* L) {
  void* ud = nullptr;
  lua_getallocf(L, &ud);
  return *static_cast<Sandbox*>(ud);
}

// The tail of each wrapper below: calls the library's own function, its upvalue 1, with the
// arguments on the stack, and returns what it returns.
int CallLibraryFunction(lua_State* L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

// setmetatable() for rules: a metatable with __gc is refused, since its finalizer would run
// whenever the collector gets to the object, outside the evaluation and its budget (Lua 5.4
// marks an object for finalization only if __gc is there when the metatable is set). The
// library's own setmetatable is the upvalue.
int SetMetatableWithoutGc(lua_State* L) {
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    if (lua_rawget(L, 2) != LUA_TNIL) {
      return luaL_error(L, "a metatable with __gc is not allowed in a rule (a finalizer would run "
                           "outside the evaluation)");
    }
    lua_pop(L, 1);
  }
  return CallLibraryFunction(L);
}

// tostring() for rules: what Lua's would give, except that a table, function, coroutine or
// userdata without __tostring is written as its type alone, without the address that Lua adds
// and that differs from run to run. The library's own tostring is the upvalue.
int TostringWithoutAddress(lua_State* L) {
  luaL_checkany(L, 1);
  const int type = lua_type(L, 1);
  const bool addressed = type == LUA_TTABLE || type == LUA_TFUNCTION || type == LUA_TTHREAD ||
                         type == LUA_TUSERDATA || type == LUA_TLIGHTUSERDATA;
  if (addressed && luaL_getmetafield(L, 1, "__tostring") == LUA_TNIL) {
    lua_pushstring(L, luaL_typename(L, 1));
    return 1;
  }
  lua_settop(L, 1);  // the __tostring found, if any, goes too
  return CallLibraryFunction(L);
}

// string.format() for rules: refuses %p, which writes an address. The library's own format is
// the upvalue.
int FormatWithoutAddress(lua_State* L) {
  size_t size = 0;
  const char* format = luaL_checklstring(L, 1, &size);
  for (size_t i = 0; i + 1 < size; ++i) {
    if (format[i] != '%') continue;
    size_t j = i + 1;
    while (j < size && std::string_view("-+ #0123456789.").find(format[j]) != std::string_view::npos) {
      ++j;
    }
    if (j < size && format[j] == 'p') {
      return luaL_error(L, "string.format: %%p is not available in a rule (an address differs "
                           "from run to run)");
    }
    i = j;  // past the conversion, "%%" included
  }
  return CallLibraryFunction(L);
}

// table.insert, remove, move, concat and unpack loop in C over the range a table's length or
// the arguments give, with no instruction counted: for rules they refuse a table whose length
// comes from __len (which may claim anything), and a range longer than the instruction limit
// (table.move(t, 1, 1 << 40, 2)). The library's own function is upvalue 1; upvalue 2 is the
// argument where the range begins (move and unpack: 2, concat: 3; 0: none), upvalue 3 the
// argument that may hold a second table (move: 5; 0: none).
int TableFunctionBounded(lua_State* L) {
  const auto range = static_cast<int>(lua_tointeger(L, lua_upvalueindex(2)));
  const auto second = static_cast<int>(lua_tointeger(L, lua_upvalueindex(3)));
  for (int i : {1, second}) {
    if (i > 0 && lua_type(L, i) == LUA_TTABLE && luaL_getmetafield(L, i, "__len") != LUA_TNIL) {
      return luaL_error(L, "a table with __len cannot be given to the table library in a rule");
    }
  }
  if (range > 0 && lua_isinteger(L, range) && lua_isinteger(L, range + 1)) {
    const int64_t budget = SandboxOf(L).limits().max_instructions;
    const lua_Integer from = lua_tointeger(L, range);
    const lua_Integer to = lua_tointeger(L, range + 1);
    if (to >= from && static_cast<lua_Unsigned>(to) - static_cast<lua_Unsigned>(from) >=
                          static_cast<lua_Unsigned>(budget)) {
      return luaL_error(L, "a range of more elements than the instruction limit (%d) allows",
                        static_cast<int>(budget));
    }
  }
  return CallLibraryFunction(L);
}

// Determinism. Lua 5.4 seeds its string hashes anew in every process, so next() and Lua's
// pairs() visit string keys in an order that changes from run to run, and table.sort takes its
// pivots from the clock. For rules, pairs() visits keys in a defined order and table.sort is
// stable, so that the same events and rules make the same decisions on every run.

// The order of keys in a rule's pairs(): numbers by value, then strings bytewise, then false
// and true; keys of other types (tables, functions) last, in the order next() gives them.
int KeyRank(lua_State* L, int index) {
  switch (lua_type(L, index)) {
    case LUA_TNUMBER: return 0;
    case LUA_TSTRING: return 1;
    case LUA_TBOOLEAN: return 2;
    default: return 3;
  }
}

bool KeyBefore(lua_State* L, int a, int b) {
  const int rank = KeyRank(L, a);
  const int other = KeyRank(L, b);
  if (rank != other) return rank < other;
  switch (rank) {
    case 0: return lua_compare(L, a, b, LUA_OPLT) != 0;  // numbers: no metamethod
    case 1: {
      size_t la = 0;
      size_t lb = 0;
      const char* sa = lua_tolstring(L, a, &la);
      const char* sb = lua_tolstring(L, b, &lb);
      const int c = std::memcmp(sa, sb, std::min(la, lb));
      return c < 0 || (c == 0 && la < lb);
    }
    case 2: return lua_toboolean(L, a) == 0 && lua_toboolean(L, b) != 0;
    default: return false;
  }
}

// Sorts items 1..n of the table at `list`, stably, by `before` (which compares two values on
// the stack top: -2 is the earlier item). A bottom-up merge sort through a buffer table: no
// pivot, so no clock, and ties keep their order.
template <typename Before>
void MergeSort(lua_State* L, int list, lua_Integer n, Before before) {
  if (n < 2) return;
  luaL_checkstack(L, 4, "sorting");
  lua_createtable(L, static_cast<int>(std::min<lua_Integer>(n, 1 << 20)), 0);
  int src = list;
  int dst = lua_gettop(L);
  const int buffer = dst;
  for (lua_Integer width = 1; width < n; width *= 2) {
    for (lua_Integer lo = 1; lo <= n; lo += 2 * width) {
      const lua_Integer mid = std::min(lo + width, n + 1);
      const lua_Integer hi = std::min(lo + 2 * width, n + 1);
      lua_Integer i = lo;
      lua_Integer j = mid;
      lua_Integer k = lo;
      while (i < mid && j < hi) {
        lua_rawgeti(L, src, i);
        lua_rawgeti(L, src, j);
        if (before(L)) {  // the right one first: strictly before, so ties keep their order
          lua_rawseti(L, dst, k++);
          lua_pop(L, 1);
          ++j;
        } else {
          lua_pop(L, 1);
          lua_rawseti(L, dst, k++);
          ++i;
        }
      }
      for (; i < mid; ++i) {
        lua_rawgeti(L, src, i);
        lua_rawseti(L, dst, k++);
      }
      for (; j < hi; ++j) {
        lua_rawgeti(L, src, j);
        lua_rawseti(L, dst, k++);
      }
    }
    std::swap(src, dst);
  }
  if (src != list) {
    for (lua_Integer i = 1; i <= n; ++i) {
      lua_rawgeti(L, src, i);
      lua_rawseti(L, list, i);
    }
  }
  lua_remove(L, buffer);
}

// The iterator of a rule's pairs(): upvalues the sorted keys, the table and the position.
int OrderedNext(lua_State* L) {
  lua_Integer i = lua_tointeger(L, lua_upvalueindex(3));
  for (;;) {
    ++i;
    if (lua_rawgeti(L, lua_upvalueindex(1), i) == LUA_TNIL) return 0;
    lua_pushvalue(L, -1);
    if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL) {
      lua_pushinteger(L, i);
      lua_replace(L, lua_upvalueindex(3));
      return 2;
    }
    lua_pop(L, 2);  // removed while iterating
  }
}

// Pushes the iterator of the keys of the table at `table` in KeyBefore's order, taken now, as
// OrderedNext with its upvalues.
void PushOrderedIterator(lua_State* L, int table) {
  table = lua_absindex(L, table);
  luaL_checkstack(L, 8, "pairs");
  lua_newtable(L);  // the keys
  const int keys = lua_gettop(L);
  lua_Integer n = 0;
  lua_pushnil(L);
  while (lua_next(L, table) != 0) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawseti(L, keys, ++n);
  }
  MergeSort(L, keys, n, [](lua_State* S) { return KeyBefore(S, -1, -2); });
  lua_pushvalue(L, table);
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, OrderedNext, 3);
}

// pairs() for rules: a __pairs metamethod (a read-only proxy's) as Lua's pairs, otherwise the
// keys in KeyBefore's order, taken when the loop starts.
int OrderedPairs(lua_State* L) {
  luaL_checkany(L, 1);
  if (luaL_getmetafield(L, 1, "__pairs") != LUA_TNIL) {
    lua_pushvalue(L, 1);
    lua_call(L, 1, 3);
    return 3;
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  PushOrderedIterator(L, 1);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

// table.sort for rules: the same contract (in place, by `comp` or by <), stable, and with no
// pivot from the clock. The items are read and written with their metamethods, as Lua's sort
// does; the comparisons run in the rule's budget.
int StableSort(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const bool has_comp = !lua_isnoneornil(L, 2);
  if (has_comp) luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 2);
  const lua_Integer n = luaL_len(L, 1);
  if (n > SandboxOf(L).limits().max_instructions) {
    return luaL_error(L, "table.sort of more elements than the instruction limit allows");
  }
  lua_createtable(L, static_cast<int>(std::min<lua_Integer>(n, 1 << 20)), 0);  // 3: a copy
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_geti(L, 1, i);
    lua_rawseti(L, 3, i);
  }
  MergeSort(L, 3, n, [has_comp](lua_State* S) {
    // Is the right item (top) before the left one (below it)?
    if (!has_comp) return lua_compare(S, -1, -2, LUA_OPLT) != 0;
    lua_pushvalue(S, 2);
    lua_pushvalue(S, -2);
    lua_pushvalue(S, -4);
    lua_call(S, 2, 1);
    const bool before = lua_toboolean(S, -1) != 0;
    lua_pop(S, 1);
    return before;
  });
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_rawgeti(L, 3, i);
    lua_seti(L, 1, i);
  }
  return 0;
}

int ReadOnlyError(lua_State* L) {
  return luaL_error(L, "attempt to change a read-only table (keep state in the state table)");
}

// The table a read-only proxy (at `proxy`) stands for, pushed. A rule's getmetatable() sees
// only "read-only", so only our C functions get here.
void PushProxied(lua_State* L, int proxy) {
  lua_getmetatable(L, proxy);
  lua_pushliteral(L, "__index");
  lua_rawget(L, -2);
  lua_remove(L, -2);
}

// __pairs of a read-only proxy: the keys of the table it stands for in pairs()'s order, with
// the proxy as the iteration's state. The table itself is an upvalue of the iterator, never
// one of the values it returns, so no rule can reach it and change what others see.
int ProxyPairs(lua_State* L) {
  lua_settop(L, 1);
  PushProxied(L, 1);
  PushOrderedIterator(L, 2);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

// __len of a read-only proxy: the length of the table it stands for, so that # and ipairs see
// a frozen list as it is.
int ProxyLen(lua_State* L) {
  PushProxied(L, 1);
  lua_pushinteger(L, static_cast<lua_Integer>(lua_rawlen(L, -1)));
  return 1;
}

// Replaces the table on the stack top by a read-only proxy of it.
void MakeReadOnlyProxy(lua_State* L) {
  lua_newtable(L);                 // proxy
  lua_createtable(L, 0, 5);        // its metatable
  lua_pushvalue(L, -3);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, ReadOnlyError);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, ProxyPairs);
  lua_setfield(L, -2, "__pairs");
  lua_pushcfunction(L, ProxyLen);
  lua_setfield(L, -2, "__len");
  lua_pushliteral(L, "read-only");
  lua_setfield(L, -2, "__metatable");  // getmetatable sees a string; setmetatable fails
  lua_setmetatable(L, -2);
  lua_remove(L, -2);
}

}  // namespace

Sandbox::Sandbox(SandboxLimits limits) : limits_(limits) {
  L_ = lua_newstate(&Sandbox::Allocate, this);
  // Libraries are opened whole, then only the allowlist is exposed to rules.
  luaL_openlibs(L_);
  BuildAllowlist();
  // Rules make many short-lived tables (events, views, state copies): the generational
  // collector handles those better than the incremental one.
  lua_gc(L_, LUA_GCGEN, 0, 0);
}

Sandbox::~Sandbox() {
  if (L_ != nullptr) lua_close(L_);
}

void* Sandbox::Allocate(void* ud, void* ptr, size_t old_size, size_t new_size) {
  auto* self = static_cast<Sandbox*>(ud);
  const size_t old = ptr != nullptr ? old_size : 0;
  if (new_size == 0) {
    std::free(ptr);
    self->used_ -= old;
    return nullptr;
  }
  if (new_size > old && self->used_ + (new_size - old) > self->limits_.max_memory_bytes &&
      !self->limit_lifted_) {
    return nullptr;  // Lua raises "not enough memory"
  }
  // The count hook sees the clock only every kHookEvery instructions, and one instruction can
  // be a C call that copies megabytes (string.rep, a concatenation): a loop of those ran for
  // 10 s under a 100 ms limit. Such calls allocate big buffers, so a big allocation looks at
  // the clock too, and past the deadline fails, which ends the call.
  constexpr size_t kTimedAllocation = 64u << 10;
  if (self->armed_ && new_size >= kTimedAllocation && new_size > old &&
      std::chrono::steady_clock::now() >= self->deadline_) {
    self->out_of_time_ = true;
    return nullptr;
  }
  void* grown = std::realloc(ptr, new_size);
  if (grown == nullptr) return nullptr;
  self->used_ = self->used_ - old + new_size;
  return grown;
}

void Sandbox::OnCount(lua_State* L, lua_Debug*) { SandboxOf(L).Spend(L, kHookEvery); }

void Sandbox::Charge(lua_State* L, int64_t instructions) { SandboxOf(L).Spend(L, instructions); }

size_t Sandbox::RoomLeft(lua_State* L) {
  const Sandbox& self = SandboxOf(L);
  if (self.limit_lifted_) return SIZE_MAX;
  const size_t limit = self.limits_.max_memory_bytes;
  return self.used_ < limit ? limit - self.used_ : 0;
}

void Sandbox::Spend(lua_State* L, int64_t instructions) {
  if (!armed_) return;
  budget_ -= instructions;
  if (budget_ <= 0) out_of_budget_ = true;
  if (std::chrono::steady_clock::now() >= deadline_) out_of_time_ = true;
  if (!out_of_budget_ && !out_of_time_) return;
  // From now on every instruction fails, so a pcall in the rule cannot carry on.
  lua_sethook(L, &Sandbox::OnCount, LUA_MASKCOUNT, 1);
  luaL_error(L, out_of_budget_ ? "instruction limit exceeded" : "time limit exceeded");
}

void Sandbox::BuildAllowlist() {
  lua_State* L = L_;
  lua_newtable(L);  // the allowlist
  for (const char* name : kBaseFunctions) {
    lua_getglobal(L, name);
    if (std::string_view(name) == "setmetatable") lua_pushcclosure(L, SetMetatableWithoutGc, 1);
    if (std::string_view(name) == "tostring") lua_pushcclosure(L, TostringWithoutAddress, 1);
    if (std::string_view(name) == "pairs") {
      lua_pop(L, 1);
      lua_pushcfunction(L, OrderedPairs);
    }
    lua_setfield(L, -2, name);
  }
  for (const LibraryAllowlist& lib : kLibraries) {
    lua_newtable(L);  // a copy of the library without the removed functions
    lua_getglobal(L, lib.library);
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
      bool removed = false;
      for (const char* const* r = lib.removed; *r != nullptr; ++r) {
        removed |= lua_type(L, -2) == LUA_TSTRING && std::string_view(lua_tostring(L, -2)) == *r;
      }
      if (removed) {
        lua_pop(L, 1);
        continue;
      }
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_settable(L, -5);
    }
    lua_pop(L, 1);
    if (std::string_view(lib.library) == "table") {
      lua_pushcfunction(L, StableSort);
      lua_setfield(L, -2, "sort");
      struct Bounded {
        const char* name;
        int range;   // the argument where a range begins; 0: none
        int second;  // the argument that may hold a second table; 0: none
      };
      for (const Bounded& f : {Bounded{"insert", 0, 0}, Bounded{"remove", 0, 0},
                               Bounded{"move", 2, 5}, Bounded{"concat", 3, 0},
                               Bounded{"unpack", 2, 0}}) {
        lua_getfield(L, -1, f.name);
        lua_pushinteger(L, f.range);
        lua_pushinteger(L, f.second);
        lua_pushcclosure(L, TableFunctionBounded, 3);
        lua_setfield(L, -2, f.name);
      }
    }
    if (std::string_view(lib.library) == "string") {
      lua_getfield(L, -1, "format");
      lua_pushcclosure(L, FormatWithoutAddress, 1);
      lua_setfield(L, -2, "format");
      ReplacePatternFunctions(L, -1);
      // Strings index this copy (s:upper()); the metatable itself is hidden and locked.
      lua_pushliteral(L, "");
      lua_getmetatable(L, -1);
      lua_pushvalue(L, -3);
      lua_setfield(L, -2, "__index");
      lua_pushliteral(L, "read-only");
      lua_setfield(L, -2, "__metatable");
      lua_pop(L, 2);
    }
    MakeReadOnlyProxy(L);
    lua_setfield(L, -2, lib.library);
  }
  lua_pushliteral(L, "_VERSION");
  lua_pushliteral(L, LUA_VERSION);
  lua_settable(L, -3);
  allowlist_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  // Nothing of the standard globals stays reachable from the main state's own globals either:
  // rules never run with them, but a bug of ours must not expose them.
  lua_newtable(L);
  lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
}

void Sandbox::MakeReadOnly() { MakeReadOnlyProxy(L_); }

bool Sandbox::IsReadOnlyProxy(lua_State* L, int index) {
  if (lua_type(L, index) != LUA_TTABLE || lua_getmetatable(L, index) == 0) return false;
  lua_pushliteral(L, "__newindex");
  lua_rawget(L, -2);
  const bool proxy = lua_tocfunction(L, -1) == &ReadOnlyError;
  lua_pop(L, 2);
  return proxy;
}

void Sandbox::AddGlobal(const char* name) {
  lua_rawgeti(L_, LUA_REGISTRYINDEX, allowlist_ref_);
  lua_insert(L_, -2);
  lua_setfield(L_, -2, name);
  lua_pop(L_, 1);
}

void Sandbox::PushEnvironment() {
  lua_newtable(L_);
  lua_createtable(L_, 0, 3);
  lua_rawgeti(L_, LUA_REGISTRYINDEX, allowlist_ref_);
  lua_setfield(L_, -2, "__index");
  lua_pushcfunction(L_, [](lua_State* L) -> int {
    return luaL_error(L, "assignment to global '%s': globals are read-only in a rule (use local, "
                         "or the state table for what must last)",
                      lua_tostring(L, 2) != nullptr ? lua_tostring(L, 2) : "?");
  });
  lua_setfield(L_, -2, "__newindex");
  lua_pushliteral(L_, "read-only");
  lua_setfield(L_, -2, "__metatable");
  lua_setmetatable(L_, -2);
}

Status Sandbox::LoadChunk(std::string_view name, std::string_view source) {
  // "@": Lua shortens a long name from the front, keeping the file name in messages.
  const std::string chunk_name = "@" + std::string(name);
  if (luaL_loadbufferx(L_, source.data(), source.size(), chunk_name.c_str(), "t") != LUA_OK) {
    std::string message = lua_tostring(L_, -1) != nullptr ? lua_tostring(L_, -1) : "load error";
    lua_pop(L_, 1);
    return Status::ParseError(message);
  }
  PushEnvironment();
  if (lua_setupvalue(L_, -2, 1) == nullptr) lua_pop(L_, 1);  // becomes the chunk's _ENV
  const int base = lua_gettop(L_) - 1;
  Status s = Call(0);
  if (!s.ok()) return s;
  // Keep exactly one result.
  if (lua_gettop(L_) == base) lua_pushnil(L_);
  lua_settop(L_, base + 1);
  return s;
}

Status Sandbox::Call(int nargs) {
  const int base = lua_gettop(L_) - nargs - 1;
  budget_ = limits_.max_instructions;
  deadline_ = std::chrono::steady_clock::now() + limits_.timeout;
  out_of_budget_ = out_of_time_ = false;
  armed_ = true;
  lua_sethook(L_, &Sandbox::OnCount, LUA_MASKCOUNT, kHookEvery);
  const int rc = lua_pcall(L_, nargs, LUA_MULTRET, 0);
  lua_sethook(L_, nullptr, 0, 0);
  armed_ = false;
  // A limit ends the evaluation whatever caught its error on the way (coroutine.resume does,
  // and the rule may then return before the hook fires again): its results are dropped.
  if (rc == LUA_OK && !out_of_budget_ && !out_of_time_) return Status();
  std::string message;
  if (out_of_budget_) {
    message = "instruction limit exceeded (" + std::to_string(limits_.max_instructions) + ")";
  } else if (out_of_time_) {
    message = "time limit exceeded (" + std::to_string(limits_.timeout.count()) + " ms)";
  } else if (rc == LUA_ERRMEM) {
    message = "memory limit exceeded (" + std::to_string(limits_.max_memory_bytes >> 20) + " MiB)";
  } else if (lua_type(L_, -1) == LUA_TSTRING) {
    message = lua_tostring(L_, -1);
  } else {
    message = std::string("error object is a ") + luaL_typename(L_, -1) + ", not a string";
  }
  lua_settop(L_, base);
  lua_gc(L_, LUA_GCCOLLECT);  // give back what the failed evaluation allocated
  const bool limit = out_of_budget_ || out_of_time_ || rc == LUA_ERRMEM;
  return limit ? Status::LimitExceeded(message) : Status::RuleError(message);
}

}  // namespace takt::rules
