#include "engine/rules/state_snapshot.h"

#include <lauxlib.h>
#include <lua.h>

#include <cstdint>
#include <cstring>

#include "engine/rules/seen_tables.h"
#include "engine/rules/state_codec.h"

namespace takt::rules {
namespace {

// The buffer: whether a table appears twice ('R', else 'N'), then the state. A value is a tag
// and its bytes; a table is '{', its keys and values, '}'; a table written before is 'r' and its
// number (tables are numbered in the order they start).
enum Tag : char {
  kTrue = 't', kFalse = 'f', kInteger = 'i', kFloat = 'd', kString = 's',
  kTableStart = '{', kTableEnd = '}', kTableRef = 'r', kHasRefs = 'R', kNoRefs = 'N',
};

template <typename T>
void Put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

template <typename T>
T Get(const std::string& in, size_t& at) {
  T value;
  std::memcpy(&value, in.data() + at, sizeof(T));
  at += sizeof(T);
  return value;
}

class Writer {
 public:
  Writer(lua_State* L, std::string& out, std::string& error, SeenTables& numbers)
      : L_(L), out_(out), error_(error), numbers_(numbers) {}

  bool Key(int index) {
    const int type = lua_type(L_, index);
    if (type == LUA_TSTRING || type == LUA_TNUMBER || type == LUA_TBOOLEAN) {
      return Value(index, 0);
    }
    error_ = std::string("rule state keys must be strings, numbers or booleans, not a ") +
             lua_typename(L_, type);
    return false;
  }

  bool Value(int index, int depth) {
    switch (lua_type(L_, index)) {
      case LUA_TBOOLEAN: out_ += lua_toboolean(L_, index) != 0 ? kTrue : kFalse; return true;
      case LUA_TNUMBER:
        if (lua_isinteger(L_, index) != 0) {
          out_ += kInteger;
          Put<int64_t>(out_, lua_tointeger(L_, index));
        } else {
          out_ += kFloat;
          Put<double>(out_, lua_tonumber(L_, index));
        }
        return true;
      case LUA_TSTRING: {
        size_t len = 0;
        const char* s = lua_tolstring(L_, index, &len);
        out_ += kString;
        Put<uint64_t>(out_, len);
        out_.append(s, len);
        return true;
      }
      case LUA_TTABLE: return Table(index, depth);
      default:
        error_ = std::string("rule state may hold tables, strings, numbers and booleans, not a ") +
                 luaL_typename(L_, index);
        return false;
    }
  }

 private:
  bool Table(int index, int depth) {
    const int64_t number = numbers_.FindOrAdd(lua_topointer(L_, index));
    if (number >= 0) {
      out_[0] = kHasRefs;
      out_ += kTableRef;
      Put<uint64_t>(out_, static_cast<uint64_t>(number));
      return true;
    }
    if (depth > kMaxStateDepth) {
      error_ = "rule state is nested deeper than " + std::to_string(kMaxStateDepth) + " levels";
      return false;
    }
    index = lua_absindex(L_, index);
    luaL_checkstack(L_, 4, "keeping rule state");
    out_ += kTableStart;
    lua_pushnil(L_);
    while (lua_next(L_, index) != 0) {
      if (!Key(-2) || !Value(-1, depth + 1)) {
        lua_pop(L_, 2);
        return false;
      }
      lua_pop(L_, 1);
    }
    out_ += kTableEnd;
    return true;
  }

  lua_State* L_;
  std::string& out_;
  std::string& error_;
  SeenTables& numbers_;
};

// Reads back what Writer wrote; `tables` (a Lua table at that index, or 0 when no table
// appears twice) holds the tables made so far by number.
class Reader {
 public:
  Reader(lua_State* L, const std::string& in, int tables)
      : L_(L), in_(in), tables_(tables), at_(1) {}

  void Value() {
    const char tag = in_[at_++];
    switch (tag) {
      case kTrue: lua_pushboolean(L_, 1); return;
      case kFalse: lua_pushboolean(L_, 0); return;
      case kInteger: lua_pushinteger(L_, Get<int64_t>(in_, at_)); return;
      case kFloat: lua_pushnumber(L_, Get<double>(in_, at_)); return;
      case kString: {
        const auto len = static_cast<size_t>(Get<uint64_t>(in_, at_));
        lua_pushlstring(L_, in_.data() + at_, len);
        at_ += len;
        return;
      }
      case kTableRef:
        lua_rawgeti(L_, tables_, static_cast<lua_Integer>(Get<uint64_t>(in_, at_)) + 1);
        return;
      default: break;  // kTableStart: only Writer wrote this buffer
    }
    luaL_checkstack(L_, 4, "putting rule state back");
    lua_newtable(L_);
    if (tables_ != 0) {
      lua_pushvalue(L_, -1);
      lua_rawseti(L_, tables_, ++count_);
    }
    while (in_[at_] != kTableEnd) {
      Value();
      Value();
      lua_rawset(L_, -3);
    }
    ++at_;
  }

 private:
  lua_State* L_;
  const std::string& in_;
  int tables_;
  size_t at_;
  lua_Integer count_ = 0;
};

}  // namespace

bool TakeSnapshot(lua_State* L, int index, std::string& out, std::string& error) {
  // Taken before every evaluation: the buffer and the list keep their room between calls.
  thread_local SeenTables numbers;
  numbers.Clear();
  out.assign(1, kNoRefs);
  return Writer(L, out, error, numbers).Value(lua_absindex(L, index), 0);
}

void PushSnapshot(lua_State* L, const std::string& snapshot) {
  if (snapshot[0] == kNoRefs) {
    Reader(L, snapshot, 0).Value();
    return;
  }
  lua_newtable(L);
  const int tables = lua_gettop(L);
  Reader(L, snapshot, tables).Value();
  lua_remove(L, tables);
}

}  // namespace takt::rules
