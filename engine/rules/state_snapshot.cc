#include "engine/rules/state_snapshot.h"

#include <lauxlib.h>
#include <lua.h>

#include <algorithm>
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
T Get(const std::string& in, size_t& at) {
  T value;
  std::memcpy(&value, in.data() + at, sizeof(T));
  at += sizeof(T);
  return value;
}

// Writes into `out` from byte `at` on, with the buffer's size as its room: taken after every
// evaluation, so growing the buffer and filling new room is paid once, not each time.
class Writer {
 public:
  Writer(lua_State* L, std::string& out, size_t at, std::string& error, SeenTables& numbers)
      : L_(L), out_(out), at_(at), error_(error), numbers_(numbers) {}

  // The bytes written end here.
  size_t end() const { return at_; }

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
      case LUA_TBOOLEAN: *Room(1) = lua_toboolean(L_, index) != 0 ? kTrue : kFalse; return true;
      case LUA_TNUMBER:
        if (lua_isinteger(L_, index) != 0) {
          Tagged(kInteger, static_cast<int64_t>(lua_tointeger(L_, index)));
        } else {
          Tagged(kFloat, static_cast<double>(lua_tonumber(L_, index)));
        }
        return true;
      case LUA_TSTRING: {
        size_t len = 0;
        const char* s = lua_tolstring(L_, index, &len);
        Tagged(kString, static_cast<uint64_t>(len));
        if (len > 0) std::memcpy(Room(len), s, len);
        return true;
      }
      case LUA_TTABLE: return Table(index, depth);
      default:
        error_ = std::string("rule state may hold tables, strings, numbers and booleans, not a ") +
                 lua_typename(L_, lua_type(L_, index));
        return false;
    }
  }

 private:
  // `n` more bytes at the end of what is written.
  char* Room(size_t n) {
    if (at_ + n > out_.size()) out_.resize(std::max(2 * out_.size(), at_ + n));
    char* room = &out_[at_];
    at_ += n;
    return room;
  }
  template <typename T>
  void Tagged(char tag, T value) {
    char* room = Room(1 + sizeof(T));
    room[0] = tag;
    std::memcpy(room + 1, &value, sizeof(T));
  }

  bool Table(int index, int depth) {
    // Checked first, a table met again included, as CheckStorable() does.
    if (depth > kMaxStateDepth) {
      error_ = "rule state is nested deeper than " + std::to_string(kMaxStateDepth) + " levels";
      return false;
    }
    const int64_t number = numbers_.FindOrAdd(lua_topointer(L_, index));
    if (number >= 0) {
      out_[0] = kHasRefs;
      Tagged(kTableRef, static_cast<uint64_t>(number));
      return true;
    }
    index = lua_absindex(L_, index);
    luaL_checkstack(L_, 4, "keeping rule state");
    *Room(1) = kTableStart;
    lua_pushnil(L_);
    while (lua_next(L_, index) != 0) {
      if (!Key(-2) || !Value(-1, depth + 1)) {
        lua_pop(L_, 2);
        return false;
      }
      lua_pop(L_, 1);
    }
    *Room(1) = kTableEnd;
    return true;
  }

  lua_State* L_;
  std::string& out_;
  size_t at_;
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

bool TakeSnapshot(lua_State* L, int index, std::string& out, std::string& error,
                  SeenTables& tables) {
  tables.Clear();
  if (out.size() < 64) out.resize(64);
  out[0] = kNoRefs;
  Writer writer(L, out, 1, error, tables);
  const bool ok = writer.Value(lua_absindex(L, index), 0);
  out.resize(writer.end());
  return ok;
}

bool TakeSnapshot(lua_State* L, int index, std::string& out, std::string& error) {
  thread_local SeenTables tables;  // keeps its room between calls
  return TakeSnapshot(L, index, out, error, tables);
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
