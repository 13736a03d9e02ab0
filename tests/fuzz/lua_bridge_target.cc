#include <nlohmann/json.hpp>
#include <unistd.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "fuzz/fuzz_targets.h"
#include "takt/engine.h"

namespace takt::fuzz {
namespace {

// A rule that reads the input (hex in the alarm's code) as a program for a small stack machine
// building Lua values: integers at the edges of their range, NaN, infinities and -0.0, strings
// of any bytes, tables with any keys, shared and cyclic tables, metatables whose metamethods
// raise or lie, decisions made of all of these. It keeps some in its state and returns some as
// its decisions: everything the engine reads back from Lua across the boundary. Its window and
// skip field (state.w, state.s) are the program's to break, and the alarm's time comes from the
// input's first bytes, so that the engine's feed meets late events and whatever a rule can leave
// where a window should be.
constexpr const char* kRule = R"LUA(
local function unhex(s)
  return (s:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end
local specials = { 0/0, 1/0, -1/0, -0.0, 0.1, 1e308, 2^53, -2^63 }
-- Made per call: a chunk-level table is read-only, and a metatable has to be a plain table.
local function hostile()
  return {
    __index = function() error("index") end,
    __newindex = function() error("newindex") end,
    __len = function() return 1e9 end,
    __pairs = function(t) return function() error("pairs") end, t, nil end,
    __eq = function() error("eq") end,
  }
end

return rule "bridge" {
  on = "alarm",
  commands = "*",
  -- The engine feeds state.w before decide, and skips decide while state.s is set or the window
  -- is full: with whatever the program below left in state.w and state.s.
  windows = { w = { on = "alarm", width = 1000, lateness = 500, value = "severity" } },
  skip = { alarm = { "s", { severity = { ">=", 3 }, w = { ">=", 40 } } } },
  decide = function(ev, state)
    local code = unhex(ev.data.code)
    local at = 1
    local function byte()
      local b = code:byte(at) or 0
      at = at + 1
      return b
    end
    if byte() % 2 == 0 then
      for k in pairs(state) do state[k] = nil end
    end
    local stack, tables = {}, { state }
    local function push(v) stack[#stack + 1] = v end
    local function pop()  -- false when empty: nil is never pushed
      local n = #stack
      if n == 0 then return false end
      local v = stack[n]
      stack[n] = nil
      return v
    end
    while at <= #code do
      local op = byte() % 16
      if op == 0 then push(byte() - 128)
      elseif op == 1 then push(math.maxinteger - byte())
      elseif op == 2 then push(math.mininteger + byte())
      elseif op == 3 then push(specials[byte() % #specials + 1])
      elseif op == 4 then
        local n = byte() % 12
        push(code:sub(at, at + n - 1))
        at = at + n
      elseif op == 5 then push(byte() % 2 == 0)
      elseif op == 6 then
        local t = {}
        tables[#tables + 1] = t
        push(t)
      elseif op == 7 then  -- t[k] = v
        local v, k, t = pop(), pop(), pop()
        if type(t) == "table" then pcall(function() t[k] = v end) end
        push(t)
      elseif op == 8 then push(tables[byte() % #tables + 1])
      elseif op == 9 then  -- a list item
        local v, t = pop(), pop()
        if type(t) == "table" then pcall(function() t[#t + 1] = v end) end
        push(t)
      elseif op == 10 then
        local t = pop()
        if type(t) == "table" and t ~= state then pcall(setmetatable, t, hostile()) end
        push(t)
      elseif op == 11 then  -- a command, its name and data from the stack
        local data, name = pop(), pop()
        local ok, d = pcall(command, name, data)
        if ok then push(d) else push(name) end
      elseif op == 12 then  -- a signal by key or through an index
        local target, name = pop(), pop()
        local ok, d = pcall(signal, "production_order", target, name)
        if ok then push(d) else push(target) end
      elseif op == 13 then  -- kept in the state
        local v, k = pop(), pop()
        pcall(function() state[k] = v end)
      elseif op == 14 then push(ev)
      else
        local how = byte() % 4
        if how == 0 then return pop() end
        if how == 1 then return table.unpack(stack, 1, math.min(#stack, 70)) end
        if how == 2 then return stack end
        error(pop())
      end
    end
  end,
}
)LUA";

class Bridge {
 public:
  Bridge() {
    dir_ = std::filesystem::temp_directory_path() /
           ("takt-fuzz-bridge-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "bridge.lua") << kRule;
  }
  ~Bridge() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // The engine, opened again now and then: it remembers every event id it was given.
  Engine& engine() {
    if (engine_ == nullptr || ++uses_ % 20000 == 0) {
      EngineOptions options;
      options.workflow_paths = {std::string(TAKT_SOURCE_DIR) + "/workflows"};
      options.rules_dir = dir_.string();
      options.rule_max_instructions = 200'000;
      options.rule_max_memory_bytes = 8u << 20;
      Result<std::unique_ptr<Engine>> opened = Engine::Open(options);
      Require(opened.ok(), "the bridge rule loads");
      engine_ = std::move(opened).value();
    }
    return *engine_;
  }
  uint64_t next_id() { return ++ids_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<Engine> engine_;
  uint64_t uses_ = 0;
  uint64_t ids_ = 0;
};

}  // namespace

int FuzzLuaBridge(const uint8_t* data, size_t size) {
  static Bridge bridge;
  static const char kHex[] = "0123456789abcdef";
  std::string code;
  for (size_t i = 0; i < size && i < 4096; ++i) {
    code += kHex[data[i] >> 4];
    code += kHex[data[i] & 15];
  }
  const int64_t ts = 1000 + (size > 1 ? data[0] * 64 + data[1] : 0);
  const std::string event = R"({"id":"b)" + std::to_string(bridge.next_id()) +
                            R"(","source":"scada","type":"alarm","key":"A1","seq":1,"ts":)" +
                            std::to_string(ts) + R"(,"data":{"asset":"A1","code":")" + code +
                            R"(","severity":)" + std::to_string(size % 5) + "}}";
  Result<SubmitResult> result = bridge.engine().Submit(event);
  Require(result.ok(), "an accepted event is never an engine error, whatever its rule does");
  for (const Command& command : result.value().commands) {
    Require(nlohmann::json::accept(command.payload_json), "a command's data is JSON");
    const nlohmann::json payload = nlohmann::json::parse(command.payload_json);
    Require(payload.is_object() || payload.is_array(), "a command's data is an object or array");
    Require(!command.name.empty(), "a command has a name");
  }
  for (const RuleError& error : result.value().rule_errors) {
    Require(!error.message.empty(), "a rule error says what went wrong");
  }
  return 0;
}

}  // namespace takt::fuzz
