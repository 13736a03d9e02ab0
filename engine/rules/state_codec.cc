#include "engine/rules/state_codec.h"

#include <lauxlib.h>
#include <lua.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>
#include <vector>

namespace takt::rules {
namespace {

class Encoder {
 public:
  Encoder(lua_State* L, std::string& out, std::string& error) : L_(L), out_(out), error_(error) {}

  bool Value(int index) {
    index = lua_absindex(L_, index);
    switch (lua_type(L_, index)) {
      case LUA_TBOOLEAN: out_ += lua_toboolean(L_, index) != 0 ? 'T' : 'F'; return true;
      case LUA_TNUMBER: Number(index); return true;
      case LUA_TSTRING: {
        size_t len = 0;
        const char* s = lua_tolstring(L_, index, &len);
        out_ += 's';
        out_ += std::to_string(len);
        out_ += ':';
        out_.append(s, len);
        return true;
      }
      case LUA_TTABLE: return Table(index);
      default:
        error_ = std::string("rule state may hold tables, strings, numbers and booleans, not a ") +
                 luaL_typename(L_, index);
        return false;
    }
  }

 private:
  void Number(int index) {
    char buf[64];
    if (lua_isinteger(L_, index) != 0) {
      buf[0] = 'i';
      char* end = std::to_chars(buf + 1, buf + sizeof buf - 1, lua_tointeger(L_, index)).ptr;
      *end++ = ';';
      out_.append(buf, static_cast<size_t>(end - buf));
    } else {
      std::snprintf(buf, sizeof buf, "d%a;", static_cast<double>(lua_tonumber(L_, index)));
      out_ += buf;
    }
  }

  // Sorted so that the bytes do not depend on where Lua put the keys: booleans, then numbers
  // by value (an integer before an equal float), then strings by bytes.
  struct Key {
    int rank;  // 0 boolean, 1 number, 2 string
    bool b = false;
    double number = 0;
    bool integer = false;
    lua_Integer ivalue = 0;
    std::string_view text;
    int stack_index = 0;  // where the key sits while the table is written
  };

  bool Table(int index) {
    const void* address = lua_topointer(L_, index);
    auto seen = tables_.find(address);
    if (seen != tables_.end()) {
      out_ += 'r' + std::to_string(seen->second) + ';';
      return true;
    }
    // The check after each evaluation held the state to this depth, in whatever order it is
    // walked; this keeps the walk's recursion bounded should anything get past it.
    if (depth_ > kMaxStateDepth) {
      error_ = NestedTooDeep();
      return false;
    }
    ++depth_;
    const bool written = Entries(index, address);
    --depth_;
    return written;
  }

  bool Entries(int index, const void* address) {
    tables_.emplace(address, tables_.size());
    // Push every key onto the stack (they stay valid there while we sort views of them).
    const int base = lua_gettop(L_);
    std::vector<Key> keys;
    lua_pushnil(L_);
    while (lua_next(L_, index) != 0) {
      lua_pop(L_, 1);  // the value
      luaL_checkstack(L_, 4, "encoding rule state");
      lua_pushvalue(L_, -1);  // a copy of the key stays; the original goes on to lua_next
      const int at = lua_gettop(L_) - 1;
      lua_insert(L_, -2);
      Key k;
      k.stack_index = at;
      switch (lua_type(L_, at)) {
        case LUA_TBOOLEAN: k.rank = 0; k.b = lua_toboolean(L_, at) != 0; break;
        case LUA_TNUMBER:
          k.rank = 1;
          k.integer = lua_isinteger(L_, at) != 0;
          k.ivalue = k.integer ? lua_tointeger(L_, at) : 0;
          k.number = k.integer ? static_cast<double>(k.ivalue) : lua_tonumber(L_, at);
          break;
        case LUA_TSTRING: {
          size_t len = 0;
          const char* s = lua_tolstring(L_, at, &len);
          k.rank = 2;
          k.text = std::string_view(s, len);
          break;
        }
        default:
          error_ = std::string("rule state keys must be strings, numbers or booleans, not a ") +
                   luaL_typename(L_, at);
          lua_settop(L_, base);
          return false;
      }
      keys.push_back(k);
    }
    // Integers compare exactly even beyond 2^53: compare them as integers when both are.
    std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
      if (a.rank != b.rank) return a.rank < b.rank;
      if (a.rank == 0) return a.b < b.b;
      if (a.rank == 2) return a.text < b.text;
      if (a.integer && b.integer) return a.ivalue < b.ivalue;
      if (a.number != b.number) return a.number < b.number;
      return a.integer && !b.integer;
    });
    out_ += '{';
    for (const Key& k : keys) {
      if (!Value(k.stack_index)) {
        lua_settop(L_, base);
        return false;
      }
      lua_pushvalue(L_, k.stack_index);
      lua_rawget(L_, index);
      const bool ok = Value(-1);
      lua_pop(L_, 1);
      if (!ok) {
        lua_settop(L_, base);
        return false;
      }
    }
    out_ += '}';
    lua_settop(L_, base);
    return true;
  }

  lua_State* L_;
  std::string& out_;
  std::string& error_;
  std::unordered_map<const void*, size_t> tables_;
  int depth_ = 0;  // tables being written
};

class Decoder {
 public:
  Decoder(lua_State* L, std::string_view text) : L_(L), text_(text) {}

  bool Value(std::string& error) {
    if (pos_ >= text_.size()) return Fail(error, "ends early");
    luaL_checkstack(L_, 4, "decoding rule state");
    const char tag = text_[pos_++];
    switch (tag) {
      case 'T': lua_pushboolean(L_, 1); return true;
      case 'F': lua_pushboolean(L_, 0); return true;
      case 'i': {
        std::string_view digits;
        if (!Until(';', digits)) return Fail(error, "has an unterminated integer");
        lua_pushinteger(L_, std::strtoll(std::string(digits).c_str(), nullptr, 10));
        return true;
      }
      case 'd': {
        std::string_view digits;
        if (!Until(';', digits)) return Fail(error, "has an unterminated float");
        lua_pushnumber(L_, std::strtod(std::string(digits).c_str(), nullptr));
        return true;
      }
      case 's': {
        std::string_view digits;
        if (!Until(':', digits)) return Fail(error, "has an unterminated string length");
        const size_t len = std::strtoull(std::string(digits).c_str(), nullptr, 10);
        if (len > text_.size() - pos_) return Fail(error, "has a string longer than the data");
        lua_pushlstring(L_, text_.data() + pos_, len);
        pos_ += len;
        return true;
      }
      case 'r': {
        std::string_view digits;
        if (!Until(';', digits)) return Fail(error, "has an unterminated reference");
        const size_t n = std::strtoull(std::string(digits).c_str(), nullptr, 10);
        if (n >= tables_) return Fail(error, "refers to a table not yet seen");
        lua_rawgeti(L_, 1 + base_, static_cast<lua_Integer>(n) + 1);
        return true;
      }
      case '{': {
        lua_newtable(L_);
        lua_pushvalue(L_, -1);
        lua_rawseti(L_, 1 + base_, static_cast<lua_Integer>(++tables_));
        const int table = lua_gettop(L_);
        while (pos_ < text_.size() && text_[pos_] != '}') {
          if (!Value(error)) return false;
          if (lua_isnil(L_, -1)) return Fail(error, "has a nil key");
          if (!Value(error)) return false;
          lua_rawset(L_, table);
        }
        if (pos_ >= text_.size()) return Fail(error, "has an unterminated table");
        ++pos_;
        return true;
      }
      default: return Fail(error, std::string("has an unknown tag '") + tag + "'");
    }
  }

  bool Run(std::string& error) {
    base_ = lua_gettop(L_);
    lua_newtable(L_);  // table number -> table, for references
    if (!Value(error) || pos_ != text_.size()) {
      if (error.empty()) error = "rule state data has bytes after its end";
      lua_settop(L_, base_);
      return false;
    }
    lua_remove(L_, base_ + 1);
    return true;
  }

 private:
  bool Until(char end, std::string_view& out) {
    const size_t at = text_.find(end, pos_);
    if (at == std::string_view::npos) return false;
    out = text_.substr(pos_, at - pos_);
    pos_ = at + 1;
    return true;
  }
  bool Fail(std::string& error, const std::string& what) {
    error = "rule state data " + what + " (at byte " + std::to_string(pos_) + ")";
    return false;
  }

  lua_State* L_;
  std::string_view text_;
  size_t pos_ = 0;
  int base_ = 0;
  size_t tables_ = 0;
};

}  // namespace

std::string NestedTooDeep() {
  return "rule state is nested deeper than " + std::to_string(kMaxStateDepth) + " levels";
}

bool EncodeState(lua_State* L, int index, std::string& out, std::string& error) {
  return Encoder(L, out, error).Value(index);
}

bool DecodeState(lua_State* L, std::string_view text, std::string& error) {
  return Decoder(L, text).Run(error);
}

}  // namespace takt::rules
