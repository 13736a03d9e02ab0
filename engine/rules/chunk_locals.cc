// Freezing a rule's chunk-level locals at load, and finding the ones an evaluation changed.
#include "engine/rules/chunk_locals.h"

#include <cmath>
#include <cstring>
#include <lauxlib.h>
#include <lua.h>

namespace takt::rules {
namespace {

constexpr int kMaxDepth = 32;

struct Walk {
  Sandbox* sandbox;
  std::string source;  // the rule's chunk: only functions defined in it are walked
  int seen;            // stack index: table -> its frozen proxy, function or upvalue id -> true
  int locals;          // stack index: the list of noted locals
  int count = 0;
  const char* name = "?";  // the local being walked from, for messages
};

void Freeze(lua_State* L, Walk& walk, int depth);

// A coroutine would carry state from one event to the next, and cannot be frozen.
void RefuseCoroutine(lua_State* L, const char* local) {
  luaL_error(L, "chunk-level local '%s' holds a coroutine, which would carry state from one "
                "event to the next outside the state table; make it inside decide",
             local);
}

// Replaces the table on the stack top by a read-only proxy of it, after freezing the tables
// and functions it holds. Shared and cyclic tables get one proxy each.
void FreezeTable(lua_State* L, Walk& walk, int depth) {
  if (Sandbox::IsReadOnlyProxy(L, -1)) return;  // a library, a module, or frozen already
  lua_pushvalue(L, -1);
  if (lua_rawget(L, walk.seen) != LUA_TNIL) {
    lua_replace(L, -2);
    return;
  }
  lua_pop(L, 1);
  if (depth > kMaxDepth) {
    luaL_error(L, "chunk-level local '%s' holds tables nested deeper than %d levels", walk.name,
               kMaxDepth);
  }
  const int table = lua_gettop(L);
  lua_pushvalue(L, table);
  walk.sandbox->MakeReadOnly();  // the proxy, known before the walk below meets a cycle
  lua_pushvalue(L, table);
  lua_pushvalue(L, -2);
  lua_rawset(L, walk.seen);
  lua_pushnil(L);
  while (lua_next(L, table) != 0) {
    const int type = lua_type(L, -1);
    if (type != LUA_TTABLE && type != LUA_TFUNCTION && type != LUA_TTHREAD) {
      lua_pop(L, 1);
      continue;
    }
    Freeze(L, walk, depth + 1);
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, table);  // an existing field: allowed while next() walks the table
  }
  lua_replace(L, table);
}

// Walks the upvalues of the function on the stack top (left there): tables are frozen in
// place, functions walked, and every other value noted with its place.
void FreezeFunction(lua_State* L, Walk& walk, int depth) {
  const int function = lua_gettop(L);
  lua_pushvalue(L, function);
  if (lua_rawget(L, walk.seen) != LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  lua_pushvalue(L, function);
  lua_pushboolean(L, 1);
  lua_rawset(L, walk.seen);
  if (depth > kMaxDepth) {
    luaL_error(L, "chunk-level local '%s' reaches functions nested deeper than %d levels",
               walk.name, kMaxDepth);
  }
  const bool in_rule = [&] {
    if (lua_iscfunction(L, function)) return false;
    lua_Debug ar;
    lua_pushvalue(L, function);
    lua_getinfo(L, ">S", &ar);
    return walk.source == ar.source;
  }();
  for (int i = 1;; ++i) {
    const char* name = lua_getupvalue(L, function, i);
    if (name == nullptr) break;
    const int type = lua_type(L, -1);
    if (type == LUA_TTHREAD) {
      RefuseCoroutine(L, in_rule ? name : walk.name);
    }
    // A C function (coroutine.wrap's) is only looked at for a coroutine; functions of the
    // stdlib modules are not the rule's to freeze.
    if (!in_rule || std::strcmp(name, "_ENV") == 0) {
      lua_pop(L, 1);
      continue;
    }
    const char* outer = walk.name;
    if (depth == 0) walk.name = name;
    if (type == LUA_TTABLE) {
      FreezeTable(L, walk, depth + 1);
      lua_setupvalue(L, function, i);
    } else if (type == LUA_TFUNCTION) {
      FreezeFunction(L, walk, depth + 1);
      lua_pop(L, 1);
    } else {
      // Noted once, however many functions share the local.
      lua_pushlightuserdata(L, lua_upvalueid(L, function, i));
      if (lua_rawget(L, walk.seen) == LUA_TNIL) {
        lua_pushlightuserdata(L, lua_upvalueid(L, function, i));
        lua_pushboolean(L, 1);
        lua_rawset(L, walk.seen);
        lua_createtable(L, 4, 0);
        lua_pushvalue(L, function);
        lua_rawseti(L, -2, 1);
        lua_pushinteger(L, i);
        lua_rawseti(L, -2, 2);
        lua_pushvalue(L, -3);  // the value
        lua_rawseti(L, -2, 3);
        lua_pushstring(L, name);
        lua_rawseti(L, -2, 4);
        lua_rawseti(L, walk.locals, ++walk.count);
      }
      lua_pop(L, 2);
    }
    walk.name = outer;
  }
}

void Freeze(lua_State* L, Walk& walk, int depth) {
  switch (lua_type(L, -1)) {
    case LUA_TTABLE: FreezeTable(L, walk, depth); break;
    case LUA_TFUNCTION: FreezeFunction(L, walk, depth); break;
    case LUA_TTHREAD:
      RefuseCoroutine(L, walk.name);
      break;
    default: break;
  }
}

struct FreezeCall {
  Sandbox* sandbox;
  std::initializer_list<int> refs;
  ChunkLocals* out;
};

// Runs inside a protected call: running out of memory, or a local that cannot be frozen,
// raises an error there.
int FreezeProtected(lua_State* L) {
  auto* call = static_cast<FreezeCall*>(lua_touserdata(L, 1));
  lua_settop(L, 0);
  lua_newtable(L);  // 1: seen
  lua_newtable(L);  // 2: the noted locals
  Walk walk{call->sandbox, {}, 1, 2};
  for (int ref : call->refs) {
    if (ref < 0) continue;
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    if (walk.source.empty() && !lua_iscfunction(L, -1)) {
      lua_Debug ar;
      lua_pushvalue(L, -1);
      lua_getinfo(L, ">S", &ar);
      walk.source = ar.source;
    }
    FreezeFunction(L, walk, 0);
    lua_pop(L, 1);
  }
  lua_createtable(L, walk.count, 0);  // the functions, apart
  for (int i = 1; i <= walk.count; ++i) {
    lua_rawgeti(L, 2, i);
    lua_rawgeti(L, -1, 1);
    lua_rawseti(L, -3, i);
    ChunkLocals::AtLoad local;
    lua_rawgeti(L, -1, 2);
    local.upvalue = static_cast<int>(lua_tointeger(L, -1));
    lua_rawgeti(L, -2, 3);
    local.type = lua_type(L, -1);
    local.is_integer = lua_isinteger(L, -1) != 0;
    local.integer = local.is_integer ? lua_tointeger(L, -1) : lua_toboolean(L, -1);
    local.number = lua_tonumber(L, -1);
    local.pointer = lua_topointer(L, -1);
    call->out->at_load.push_back(local);
    lua_pop(L, 3);
  }
  call->out->functions_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  call->out->ref = luaL_ref(L, LUA_REGISTRYINDEX);  // the list
  return 0;
}

// Is the value on the top of the stack what the local held at load? False when it may not be:
// the full comparison then decides (a long string equal to the one at load is another object).
bool SameAsAtLoad(lua_State* L, const ChunkLocals::AtLoad& local) {
  const int type = lua_type(L, -1);
  if (type != local.type) return false;
  switch (type) {
    case LUA_TNIL: return true;
    case LUA_TBOOLEAN: return lua_toboolean(L, -1) == local.integer;
    case LUA_TNUMBER:
      if (lua_isinteger(L, -1) != 0) {
        return local.is_integer && lua_tointeger(L, -1) == local.integer;
      }
      return !local.is_integer && (lua_tonumber(L, -1) == local.number ||
                                   (std::isnan(lua_tonumber(L, -1)) && std::isnan(local.number)));
    default: return lua_topointer(L, -1) == local.pointer;
  }
}

}  // namespace

Status FreezeChunkLocals(Sandbox& sandbox, std::initializer_list<int> refs, ChunkLocals& out) {
  lua_State* L = sandbox.state();
  FreezeCall call{&sandbox, refs, &out};
  lua_pushcfunction(L, FreezeProtected);
  lua_pushlightuserdata(L, &call);
  const int rc = lua_pcall(L, 1, 0, 0);
  if (rc == LUA_OK) return Status();
  std::string message = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "error";
  lua_pop(L, 1);
  if (rc == LUA_ERRMEM) {
    return Status::LimitExceeded("memory limit exceeded while loading the rule");
  }
  return Status::RuleError(message);
}

std::string RestoreChunkLocals(lua_State* L, const ChunkLocals& locals) {
  if (locals.at_load.empty()) return {};
  lua_rawgeti(L, LUA_REGISTRYINDEX, locals.functions_ref);
  bool same = true;
  for (size_t i = 0; i < locals.at_load.size() && same; ++i) {
    lua_rawgeti(L, -1, static_cast<lua_Integer>(i) + 1);
    lua_getupvalue(L, -1, locals.at_load[i].upvalue);
    same = SameAsAtLoad(L, locals.at_load[i]);
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  if (same) return {};
  std::string changed;
  lua_rawgeti(L, LUA_REGISTRYINDEX, locals.ref);
  const int list = lua_gettop(L);
  for (int i = 1; i <= static_cast<int>(locals.at_load.size()); ++i) {
    lua_rawgeti(L, list, i);
    lua_rawgeti(L, -1, 1);  // the function
    lua_rawgeti(L, -2, 2);
    const auto index = static_cast<int>(lua_tointeger(L, -1));
    lua_pop(L, 1);
    lua_rawgeti(L, -2, 3);  // the value at load
    lua_getupvalue(L, -2, index);
    const bool both_nan = lua_type(L, -1) == LUA_TNUMBER && lua_type(L, -2) == LUA_TNUMBER &&
                          std::isnan(lua_tonumber(L, -1)) && std::isnan(lua_tonumber(L, -2));
    if (!lua_rawequal(L, -1, -2) && !both_nan) {
      if (changed.empty()) {
        lua_rawgeti(L, -4, 4);
        changed = lua_tostring(L, -1);  // the name: a string kept since load
        lua_pop(L, 1);
      }
      lua_pushvalue(L, -2);
      lua_setupvalue(L, -4, index);
    }
    lua_settop(L, list);
  }
  lua_pop(L, 1);
  return changed;
}

}  // namespace takt::rules
