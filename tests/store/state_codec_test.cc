// Rule state survives the store bit for bit: encoding then decoding gives back the same values
// and types, shared tables stay shared, and the bytes do not depend on insertion order.
#include "engine/rules/state_codec.h"

#include <gtest/gtest.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <string>

namespace takt::rules {
namespace {

class StateCodecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    L_ = luaL_newstate();
    luaL_openlibs(L_);
  }
  void TearDown() override { lua_close(L_); }

  // Encodes the value `expr` evaluates to.
  std::string Encode(const std::string& expr, std::string* error = nullptr) {
    const std::string chunk = "return " + expr;
    EXPECT_EQ(luaL_dostring(L_, chunk.c_str()), LUA_OK) << lua_tostring(L_, -1);
    std::string out, err;
    const bool ok = EncodeState(L_, -1, out, err);
    lua_pop(L_, 1);
    if (error != nullptr) *error = err;
    EXPECT_EQ(ok, error == nullptr) << err;
    return out;
  }
  // Decodes `text` into global `v`.
  void DecodeInto(const std::string& text) {
    std::string error;
    ASSERT_TRUE(DecodeState(L_, text, error)) << error;
    lua_setglobal(L_, "v");
  }
  bool Check(const std::string& condition) {
    const std::string chunk = "return " + condition;
    EXPECT_EQ(luaL_dostring(L_, chunk.c_str()), LUA_OK) << lua_tostring(L_, -1);
    const bool ok = lua_toboolean(L_, -1) != 0;
    lua_pop(L_, 1);
    return ok;
  }
  lua_State* L_ = nullptr;
};

TEST_F(StateCodecTest, ScalarsKeepTheirExactValueAndType) {
  DecodeInto(Encode(R"({ i = 9007199254740993, f = 0.1, big = 1e308, neg = -0.0, one = 1.0,
                         s = "a\0b\n", t = true, no = false, min = math.mininteger })"));
  EXPECT_TRUE(Check("math.type(v.i) == 'integer' and v.i == 9007199254740993"));
  EXPECT_TRUE(Check("v.f == 0.1 and v.big == 1e308"));
  EXPECT_TRUE(Check("math.type(v.one) == 'float' and v.one == 1.0"));
  EXPECT_TRUE(Check("1 / v.neg == -math.huge"));
  EXPECT_TRUE(Check("v.s == 'a\\0b\\n' and #v.s == 4"));
  EXPECT_TRUE(Check("v.t == true and v.no == false and v.min == math.mininteger"));
}

TEST_F(StateCodecTest, WindowsNestedTablesAndSharedTablesSurvive) {
  DecodeInto(Encode(R"((function()
      local shared = { n = 1 }
      local s = { alarms = { {ts = 1, sev = 2}, {ts = 5, sev = 4} }, a = shared, b = shared }
      s.self = s
      return s end)())"));
  EXPECT_TRUE(Check("#v.alarms == 2 and v.alarms[2].ts == 5 and v.alarms[2].sev == 4"));
  EXPECT_TRUE(Check("v.a == v.b and v.a.n == 1"));
  EXPECT_TRUE(Check("v.self == v"));
}

TEST_F(StateCodecTest, TheSameStateGivesTheSameBytesWhateverTheInsertionOrder) {
  const std::string a = Encode("{ z = 1, a = 2, [3] = 'x', [1] = 'y', [true] = 0, [2.5] = 1 }");
  const std::string b = Encode(R"((function()
      local t = {} t[2.5] = 1 t[true] = 0 t[1] = 'y' t.a = 2 t[3] = 'x' t.z = 1 return t end)())");
  EXPECT_EQ(a, b);
  DecodeInto(a);
  std::string again;
  std::string error;
  lua_getglobal(L_, "v");
  ASSERT_TRUE(EncodeState(L_, -1, again, error));
  lua_pop(L_, 1);
  EXPECT_EQ(again, a);
}

TEST_F(StateCodecTest, WhatCannotBeStoredIsNamed) {
  std::string error;
  Encode("{ f = function() end }", &error);
  EXPECT_NE(error.find("not a function"), std::string::npos) << error;
  Encode("{ [{}] = 1 }", &error);
  EXPECT_NE(error.find("keys must be strings, numbers or booleans, not a table"), std::string::npos)
      << error;
  Encode("{ co = coroutine.create(print) }", &error);
  EXPECT_NE(error.find("not a thread"), std::string::npos) << error;
}

TEST_F(StateCodecTest, DamagedBytesAreAnErrorNotACrash) {
  const int top = lua_gettop(L_);
  for (const char* bad : {"", "{", "{s3:abc", "s99:abc", "i12", "r0;", "{r5;i1;}", "x", "TT", "{T}"}) {
    std::string error;
    EXPECT_FALSE(DecodeState(L_, bad, error)) << bad;
    EXPECT_NE(error.find("rule state data"), std::string::npos) << bad << ": " << error;
    EXPECT_EQ(lua_gettop(L_), top) << bad;
  }
}

}  // namespace
}  // namespace takt::rules
