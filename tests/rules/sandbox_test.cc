// Escape and abuse attempts against the rule sandbox. Each must fail with an error that says
// what went wrong, and the sandbox must stay usable afterwards.
#include <gtest/gtest.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "engine/rules/sandbox.h"

namespace takt::rules {
namespace {

struct Attempt {
  const char* name;
  const char* code;
  const char* error;  // a part of the expected message
};

void PrintTo(const Attempt& a, std::ostream* os) { *os << a.name; }

SandboxLimits TestLimits() {
  SandboxLimits limits;
  limits.max_instructions = 200'000;
  limits.max_memory_bytes = 16u << 20;
  limits.timeout = std::chrono::milliseconds(2000);
  return limits;
}

class SandboxAbuseTest : public testing::TestWithParam<Attempt> {};

TEST_P(SandboxAbuseTest, FailsWithAClearError) {
  Sandbox sandbox(TestLimits());
  const int top = lua_gettop(sandbox.state());
  Status s = sandbox.LoadChunk("abuse.lua", GetParam().code);
  ASSERT_FALSE(s.ok()) << GetParam().name << " was not stopped";
  EXPECT_NE(s.message().find(GetParam().error), std::string::npos)
      << GetParam().name << ": " << s.message();
  EXPECT_EQ(lua_gettop(sandbox.state()), top);
  // The sandbox still works, within its limits, after the attempt.
  Status after = sandbox.LoadChunk("after.lua", "local n = 0 for i = 1, 1000 do n = n + i end return n");
  ASSERT_TRUE(after.ok()) << after.message();
  EXPECT_EQ(lua_tointeger(sandbox.state(), -1), 500500);
  lua_pop(sandbox.state(), 1);
}

INSTANTIATE_TEST_SUITE_P(
    Attempts, SandboxAbuseTest,
    testing::Values(
        Attempt{"os_execute", "os.execute('touch /tmp/pwned')", "global 'os'"},
        Attempt{"os_time", "return os.time()", "global 'os'"},
        Attempt{"io_open", "io.open('/etc/passwd')", "global 'io'"},
        Attempt{"print", "print('hello')", "global 'print'"},
        Attempt{"require_c_module", "local socket = require 'socket'", "global 'require'"},
        Attempt{"package_loadlib", "package.loadlib('libc.so.6', 'system')", "global 'package'"},
        Attempt{"load_binary_chunk", "load('\\27Lua\\84\\0')", "global 'load'"},
        Attempt{"loadstring", "loadstring('return 1')", "global 'loadstring'"},
        Attempt{"dofile", "dofile('/etc/passwd')", "global 'dofile'"},
        Attempt{"loadfile", "loadfile('/etc/passwd')", "global 'loadfile'"},
        Attempt{"string_dump", "return string.dump(function() end)", "field 'dump'"},
        Attempt{"string_dump_method", "local s = 'x' return s.dump(print)", "field 'dump'"},
        Attempt{"debug_getregistry", "return debug.getregistry()", "global 'debug'"},
        Attempt{"collectgarbage", "collectgarbage('stop')", "global 'collectgarbage'"},
        Attempt{"math_random", "return math.random()", "field 'random'"},
        Attempt{"change_string_metatable", "getmetatable('').__index = {}", "index a string value"},
        Attempt{"setmetatable_on_string_lib", "setmetatable(string, {})", "protected metatable"},
        Attempt{"replace_string_function", "string.upper = function() return 'owned' end",
                "read-only table"},
        Attempt{"replace_table_function", "table.insert = nil", "read-only table"},
        Attempt{"rawset_globals", "rawset(_ENV, 'x', 1)", "global 'rawset'"},
        Attempt{"assign_global", "counter = 1", "globals are read-only"},
        Attempt{"unlock_environment", "setmetatable(_ENV, nil)", "protected metatable"},
        Attempt{"endless_loop", "while true do end", "instruction limit exceeded"},
        Attempt{"endless_goto", "::top:: goto top", "instruction limit exceeded"},
        Attempt{"endless_loop_under_pcall",
                "while true do pcall(function() while true do end end) end",
                "instruction limit exceeded"},
        Attempt{"pcall_then_carry_on",
                "pcall(function() while true do end end) local n = 0 for i = 1, 10 do n = n + 1 end",
                "instruction limit exceeded"},
        Attempt{"xpcall_handler_loops",
                "xpcall(function() error('x') end, function() while true do end end)",
                "global 'xpcall'"},
        Attempt{"tostring_metamethod_loops",
                "return tostring(setmetatable({}, {__tostring = function() while true do end end}))",
                "instruction limit exceeded"},
        Attempt{"string_rep_bomb", "return string.rep('x', 1 << 40)", "resulting string too large"},
        Attempt{"string_rep_memory_bomb", "return string.rep('x', 1 << 30)", "memory limit exceeded"},
        Attempt{"string_rep_separator_bomb", "return string.rep('x', 1 << 28, 'yy')",
                "memory limit exceeded"},
        Attempt{"doubling", "local x = 'x' for i = 1, 64 do x = x .. x end return #x",
                "memory limit exceeded"},
        Attempt{"table_growth_bomb",
                "local t = {} while true do t[#t + 1] = string.rep('x', 1 << 20) .. #t end",
                "memory limit exceeded"},
        Attempt{"concat_bomb",
                "local t = {} for i = 1, 64 do t[i] = string.rep('y', 1 << 20) end return table.concat(t)",
                "memory limit exceeded"},
        // Lua-level recursion meets the instruction budget before Lua's own stack limit.
        Attempt{"deep_recursion", "local function f(n) return 1 + f(n + 1) end return f(1)",
                "instruction limit exceeded"},
        Attempt{"deep_recursion_in_c", "local t = setmetatable({}, {}) getmetatable(t).__index = "
                "function(t, k) return t[k] end return t.x", "stack overflow"},
        Attempt{"endless_coroutines",
                "while true do coroutine.wrap(function() end)() end", "instruction limit exceeded"},
        Attempt{"nested_coroutines",
                "local function f() coroutine.wrap(f)() end f()", "C stack overflow"},
        Attempt{"loop_inside_coroutine",
                "coroutine.wrap(function() while true do end end)()", "instruction limit exceeded"},
        Attempt{"error_with_a_table", "error({code = 42})", "error object is a table"},
        Attempt{"error_with_nil", "error(nil)", "error object is a nil"},
        Attempt{"syntax_error", "return 1 +", "abuse.lua:1:"},
        Attempt{"binary_chunk_as_source", "\x1bLua\x54\x00", "attempt to load a binary chunk"}),
    [](const auto& param) { return std::string(param.param.name); });

TEST(SandboxTest, TimeLimitStopsALoopThatStaysUnderTheInstructionBudget) {
  SandboxLimits limits = TestLimits();
  limits.max_instructions = int64_t{1} << 50;
  limits.timeout = std::chrono::milliseconds(50);
  Sandbox sandbox(limits);
  const auto start = std::chrono::steady_clock::now();
  Status s = sandbox.LoadChunk("slow.lua", "while true do end");
  EXPECT_EQ(s.code(), Code::kLimitExceeded);
  EXPECT_NE(s.message().find("time limit exceeded (50 ms)"), std::string::npos) << s.message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(SandboxTest, LimitsAreCodedAsLimitsAndErrorsAsRuleErrors) {
  Sandbox sandbox(TestLimits());
  EXPECT_EQ(sandbox.LoadChunk("a", "while true do end").code(), Code::kLimitExceeded);
  EXPECT_EQ(sandbox.LoadChunk("b", "error('no')").code(), Code::kRuleError);
  EXPECT_EQ(sandbox.LoadChunk("c", "return (").code(), Code::kParseError);
}

TEST(SandboxTest, TheBudgetIsPerEvaluation) {
  Sandbox sandbox(TestLimits());
  // 100 runs of ~60,000 instructions each: far over one budget in total, under it each time.
  for (int i = 0; i < 100; ++i) {
    Status s = sandbox.LoadChunk("loop.lua", "local n = 0 for i = 1, 20000 do n = n + i end return n");
    ASSERT_TRUE(s.ok()) << i << ": " << s.message();
    lua_pop(sandbox.state(), 1);
  }
}

TEST(SandboxTest, MemoryIsGivenBackAfterAFailedEvaluation) {
  Sandbox sandbox(TestLimits());
  const size_t before = sandbox.memory_used();
  EXPECT_FALSE(sandbox.LoadChunk("bomb.lua", "local t = {} for i = 1, 1e9 do t[i] = i end").ok());
  EXPECT_LT(sandbox.memory_used(), before + (1u << 20));
}

TEST(SandboxTest, AllowlistedLibrariesWork) {
  Sandbox sandbox(TestLimits());
  Status s = sandbox.LoadChunk("ok.lua", R"(
    local t = {}
    for k, v in pairs({a = 1, b = 2}) do t[#t + 1] = k .. v end
    table.sort(t)
    local words = {}
    for w in ("a b c"):gmatch("%a") do words[#words + 1] = w:upper() end
    local co = coroutine.wrap(function() coroutine.yield(1) end)
    local ok = pcall(error, "caught")
    return table.concat(t, ",") .. "|" .. table.concat(words) .. "|" .. co() .. "|" ..
           tostring(ok) .. "|" .. math.floor(2.5) .. "|" .. utf8.char(72) .. "|" .. _VERSION)");
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_STREQ(lua_tostring(sandbox.state(), -1), "a1,b2|ABC|1|false|2|H|Lua 5.4");
}

// string.find, match, gmatch and gsub are Lua's matcher with a budget (lua_patterns.cc): each
// call gives what the same call gives in a plain Lua state.
TEST(SandboxTest, PatternFunctionsGiveWhatLuasOwnGive) {
  const char* const calls[] = {
      "string.find('hello world', 'o w')",
      "string.find('hello world', 'o', 6)",
      "string.find('hello world', 'l+', -5)",
      "string.find('a.b', '.', 1, true)",
      "string.find('abc', '', 10)",
      "string.find('key=value', '(%w+)=(%w+)')",
      "string.find('  x', '()x()')",
      "string.match('2026-12-04', '^(%d+)-(%d+)-(%d+)$')",
      "string.match('THE (quick) fox', '%((%a+)%)')",
      "string.match('f(a(b)c)d', '%b()')",
      "string.match('THE (quick) fox', '%f[%a]%a+', 5)",
      "string.match('abcabc', '(abc)%1')",
      "string.match('x', '[%a-]')",
      "string.match('aaa', 'a-b')",
      "string.match('aaab', 'a-b')",
      "string.match('[]', '[]]')",
      "string.gsub('hello world', 'o', '0')",
      "string.gsub('hello world', '(%w+)', '<%1>')",
      "string.gsub('hello world', '%w+', '%0 %0', 1)",
      "string.gsub('abc', '', '-')",
      "string.gsub('$x $y', '%$(%w+)', {x = 'X'})",
      "string.gsub('a1b22', '%d+', function(d) return #d end)",
      "string.gsub('^a^a', '^%^a', 'b')",
      "table.concat({string.match('  a ', '^%s*(.-)%s*$')})",
  };
  lua_State* plain = luaL_newstate();
  luaL_openlibs(plain);
  Sandbox sandbox(TestLimits());
  for (const char* call : calls) {
    // Every result, as text, joined by '|'.
    const std::string chunk = std::string("local r = table.pack(") + call +
                              ") local t = {} for i = 1, r.n do t[i] = tostring(r[i]) end "
                              "return table.concat(t, '|')";
    ASSERT_EQ(luaL_dostring(plain, chunk.c_str()), LUA_OK) << call << ": " << lua_tostring(plain, -1);
    Status s = sandbox.LoadChunk("p.lua", chunk);
    ASSERT_TRUE(s.ok()) << call << ": " << s.message();
    EXPECT_STREQ(lua_tostring(sandbox.state(), -1), lua_tostring(plain, -1)) << call;
    lua_pop(plain, 1);
    lua_pop(sandbox.state(), 1);
  }
  // gmatch, with an anchor and with a start.
  const std::string gmatch = "local t = {} for k, v in string.gmatch('a=1, b=2, c=3', '(%w+)=(%w+)', 3) "
                             "do t[#t + 1] = k .. v end return table.concat(t, ',')";
  ASSERT_EQ(luaL_dostring(plain, gmatch.c_str()), LUA_OK);
  ASSERT_TRUE(sandbox.LoadChunk("g.lua", gmatch).ok());
  EXPECT_STREQ(lua_tostring(sandbox.state(), -1), lua_tostring(plain, -1));
  EXPECT_STREQ(lua_tostring(sandbox.state(), -1), "b2,c3");
  // Errors are Lua's too.
  Status bad = sandbox.LoadChunk("e.lua", "return string.find('x', '%')");
  EXPECT_NE(bad.message().find("malformed pattern (ends with '%')"), std::string::npos) << bad.message();
  lua_close(plain);
}

// Backtracking in the matcher counts against the budget, so a pattern that would run for
// minutes ends at the instruction limit.
TEST(SandboxTest, PatternMatchingIsBoundedByTheBudget) {
  Sandbox sandbox(TestLimits());
  const auto start = std::chrono::steady_clock::now();
  Status s = sandbox.LoadChunk("p.lua", "return string.find(string.rep('a', 5000), '.-.-.-.-b')");
  EXPECT_EQ(s.code(), Code::kLimitExceeded) << s.message();
  EXPECT_NE(s.message().find("instruction limit exceeded"), std::string::npos) << s.message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(SandboxTest, PairsOverAReadOnlyLibraryListsItsFunctions) {
  Sandbox sandbox(TestLimits());
  ASSERT_TRUE(sandbox.LoadChunk("p.lua", "local n = 0 for k in pairs(math) do n = n + 1 end return n").ok());
  EXPECT_GT(lua_tointeger(sandbox.state(), -1), 20);
}

TEST(SandboxTest, EachChunkHasItsOwnEnvironment) {
  Sandbox sandbox(TestLimits());
  ASSERT_TRUE(sandbox.LoadChunk("a.lua", "local secret = 42 return function() return secret end").ok());
  Status s = sandbox.LoadChunk("b.lua", "return secret");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(lua_isnil(sandbox.state(), -1));
}

}  // namespace
}  // namespace takt::rules
