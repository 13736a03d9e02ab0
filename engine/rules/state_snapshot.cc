#include "engine/rules/state_snapshot.h"

#include <lauxlib.h>
#include <lua.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

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
  Writer(lua_State* L, std::string& out, size_t at, std::string& error, SeenTables& numbers,
         std::vector<int>& heights)
      : L_(L), out_(out), at_(at), error_(error), numbers_(numbers), heights_(heights) {}

  // The bytes written end here.
  size_t end() const { return at_; }
  // A table was met again while it was still being written (a cycle).
  bool cyclic() const { return cyclic_; }

  // `height`: the levels of tables the value spans (0 for a scalar, 1 for a table of scalars).
  bool Value(int index, int depth, int& height) {
    height = 0;
    const int type = lua_type(L_, index);
    if (type == LUA_TTABLE) return Table(index, depth, height);
    if (Scalar(index, type)) return true;
    error_ = std::string("rule state may hold tables, strings, numbers and booleans, not a ") +
             lua_typename(L_, type);
    return false;
  }

 private:
  // Writes the boolean, number or string at `index`, of type `type`; false for any other type.
  // The type is passed in: the walk below reads it once per key and once per value.
  bool Scalar(int index, int type) {
    switch (type) {
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
        const auto length = static_cast<uint64_t>(len);
        char* room = Room(1 + sizeof length + len);  // tag, length and bytes in one reservation
        room[0] = kString;
        std::memcpy(room + 1, &length, sizeof length);
        if (len > 0) std::memcpy(room + 1 + sizeof length, s, len);
        return true;
      }
      default: return false;
    }
  }

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

  // The depth is checked where a table is met again too: the store's encoder writes keys in
  // another order (sorted), so it may first meet a shared table there, and walk it from there.
  // A table met again spans from here as many levels as it did where first met; one still
  // being written (a cycle) counts none more.
  bool Table(int index, int depth, int& height) {
    if (depth > kMaxStateDepth) return TooDeep();
    const int64_t number = numbers_.FindOrAdd(lua_topointer(L_, index));
    if (number >= 0) {
      height = heights_[static_cast<size_t>(number)];
      cyclic_ |= height == 0;  // still being written: met again through a cycle
      if (depth + height - 1 > kMaxStateDepth) return TooDeep();
      out_[0] = kHasRefs;
      Tagged(kTableRef, static_cast<uint64_t>(number));
      return true;
    }
    const size_t mine = heights_.size();  // its number: tables are numbered as met
    heights_.push_back(0);
    index = lua_absindex(L_, index);
    luaL_checkstack(L_, 4, "keeping rule state");
    *Room(1) = kTableStart;
    int deepest = 0;
    lua_pushnil(L_);
    while (lua_next(L_, index) != 0) {
      const int key_type = lua_type(L_, -2);
      if (key_type == LUA_TTABLE || !Scalar(-2, key_type)) {
        error_ = std::string("rule state keys must be strings, numbers or booleans, not a ") +
                 lua_typename(L_, key_type);
        lua_pop(L_, 2);
        return false;
      }
      int below = 0;
      const int value_type = lua_type(L_, -1);
      if (value_type == LUA_TTABLE) {
        if (!Table(-1, depth + 1, below)) {
          lua_pop(L_, 2);
          return false;
        }
        deepest = std::max(deepest, below);
      } else if (!Scalar(-1, value_type)) {
        error_ = std::string("rule state may hold tables, strings, numbers and booleans, not a ") +
                 lua_typename(L_, value_type);
        lua_pop(L_, 2);
        return false;
      }
      lua_pop(L_, 1);
    }
    *Room(1) = kTableEnd;
    height = 1 + deepest;
    heights_[mine] = height;
    return true;
  }

  bool TooDeep() {
    error_ = NestedTooDeep();
    return false;
  }

  lua_State* L_;
  std::string& out_;
  size_t at_;
  std::string& error_;
  SeenTables& numbers_;
  std::vector<int>& heights_;  // by table number
  bool cyclic_ = false;
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
  thread_local std::vector<int> heights;  // keeps its room between calls
  tables.Clear();
  heights.clear();
  if (out.size() < 64) out.resize(64);
  out[0] = kNoRefs;
  index = lua_absindex(L, index);
  Writer writer(L, out, 1, error, tables, heights);
  int height = 0;
  const bool ok = writer.Value(index, 0, height);
  out.resize(writer.end());
  if (!ok || !writer.cyclic() || heights.size() <= static_cast<size_t>(kMaxStateDepth)) return ok;
  // A cycle hides paths from the count above: a table met again while still being written
  // counts no levels there, yet the path on through it may be longer than any the walk took.
  // The store's encoder walks in another order (keys sorted) and may take such a path. So a
  // state with a cycle and more tables than the depth limit (with fewer no order can nest
  // deeper) is encoded here as the store will encode it, to know.
  thread_local std::string encoded;
  encoded.clear();
  return EncodeState(L, index, encoded, error);
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
