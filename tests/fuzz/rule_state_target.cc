#include <lauxlib.h>
#include <lua.h>

#include <string>
#include <string_view>

#include "engine/rules/seen_tables.h"
#include "engine/rules/state_codec.h"
#include "engine/rules/state_snapshot.h"
#include "fuzz/fuzz_targets.h"

namespace takt::fuzz {
namespace {

struct Input {
  std::string_view bytes;
};

// Inside a protected call: decode, and when the value can be kept, encode it, decode that
// again and encode once more, then take a snapshot, rebuild it and encode the rebuilt value.
int RoundTrip(lua_State* L) {
  auto* input = static_cast<Input*>(lua_touserdata(L, 1));
  std::string error;
  if (!rules::DecodeState(L, input->bytes, error)) {
    Require(!error.empty(), "refused state bytes say why");
    return 0;
  }
  const int value = lua_gettop(L);
  std::string snapshot;
  if (!rules::TakeSnapshot(L, value, snapshot, error)) return 0;  // decodes, too deep to keep
  std::string first;
  Require(rules::EncodeState(L, value, first, error), "a storable value encodes");
  Require(rules::DecodeState(L, first, error), "what was encoded decodes");
  std::string second;
  Require(rules::EncodeState(L, -1, second, error), "a decoded encoding encodes");
  Require(first == second, "encoding is canonical: encode(decode(encode(x))) == encode(x)");
  rules::PushSnapshot(L, snapshot);
  std::string rebuilt;
  Require(rules::EncodeState(L, -1, rebuilt, error), "a rebuilt snapshot encodes");
  Require(rebuilt == first, "a snapshot rebuilds the value it was taken of");
  return 0;
}

}  // namespace

int FuzzRuleState(const uint8_t* data, size_t size) {
  static lua_State* L = luaL_newstate();
  Input input{std::string_view(reinterpret_cast<const char*>(data), size)};
  lua_settop(L, 0);
  lua_pushcfunction(L, RoundTrip);
  lua_pushlightuserdata(L, &input);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    // Only memory can fail here (the state has no limit but the machine's).
    lua_settop(L, 0);
  }
  lua_gc(L, LUA_GCCOLLECT);
  return 0;
}

}  // namespace takt::fuzz
