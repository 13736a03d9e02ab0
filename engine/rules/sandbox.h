// A Lua 5.4 state that runs untrusted rule code: only allowlisted globals, shared library
// tables read-only, no way to load bytecode, and per-evaluation limits on instructions, wall
// time and memory that a pcall inside the rule cannot defeat.
#ifndef TAKT_ENGINE_RULES_SANDBOX_H_
#define TAKT_ENGINE_RULES_SANDBOX_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "takt/status.h"

struct lua_State;
struct lua_Debug;

namespace takt::rules {

struct SandboxLimits {
  int64_t max_instructions = 1'000'000;  // per evaluation
  size_t max_memory_bytes = 64u << 20;   // the whole Lua state: code, rule state, garbage
  std::chrono::milliseconds timeout{100};  // per evaluation, wall clock
};

class Sandbox {
 public:
  explicit Sandbox(SandboxLimits limits);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  lua_State* state() const { return L_; }
  const SandboxLimits& limits() const { return limits_; }

  // Compiles `source` (text only, never bytecode) with a fresh environment of its own, runs it
  // under the limits, and leaves its first result on the stack. kParseError with "name:line:
  // message" when it does not compile; kRuleError when running it fails.
  Status LoadChunk(std::string_view name, std::string_view source);

  // Calls the function below `nargs` arguments on the stack with the limits armed, leaving
  // LUA_MULTRET results. On failure pops everything it pushed and returns kRuleError or
  // kLimitExceeded with the message. REQUIRES: the function and its arguments are on the stack.
  Status Call(int nargs);

  // Pushes a new environment table for a chunk: reads fall through to the allowlist, writes
  // fail with a message that says where state belongs.
  void PushEnvironment();
  // Replaces the table on the top of the stack by a read-only proxy of it.
  void MakeReadOnly();
  // Is the value at `index` a proxy MakeReadOnly() made? (A rule cannot forge one: it never
  // sees a proxy's metatable.)
  static bool IsReadOnlyProxy(lua_State* L, int index);
  // Adds the value on the top of the stack (popped) to the allowlist as `name`.
  void AddGlobal(const char* name);

  size_t memory_used() const { return used_; }
  // While set, allocations may pass max_memory_bytes: for putting back a rule's state as it was
  // before a failed evaluation, which the limit admitted then (RuleSet::PutBackState), and for
  // adding to a state the entries of events it took (owed_entries.h).
  void set_memory_limit_lifted(bool lifted) { limit_lifted_ = lifted; }
  // How many bytes the sandbox of `L` may allocate before its memory limit refuses (without the
  // garbage a collection would free); SIZE_MAX while the limit is lifted.
  static size_t RoomLeft(lua_State* L);

  // Charges `instructions` to the running evaluation from C code that loops without running
  // Lua instructions (pattern matching), and reads the clock: raises the limit's error once
  // the budget or the time is spent, as the count hook does. Outside an evaluation, nothing.
  static void Charge(lua_State* L, int64_t instructions);

 private:
  static void* Allocate(void* ud, void* ptr, size_t old_size, size_t new_size);
  static void OnCount(lua_State* L, lua_Debug* ar);
  // Takes `instructions` from the budget and reads the clock; raises the limit's error when
  // either is spent.
  void Spend(lua_State* L, int64_t instructions);
  void BuildAllowlist();

  SandboxLimits limits_;
  lua_State* L_ = nullptr;
  size_t used_ = 0;
  bool armed_ = false;  // inside Call(): limits apply
  bool limit_lifted_ = false;
  int64_t budget_ = 0;  // instructions left in this evaluation
  std::chrono::steady_clock::time_point deadline_;
  bool out_of_budget_ = false;
  bool out_of_time_ = false;
  int allowlist_ref_ = -1;  // registry ref of the table environments read through
};

}  // namespace takt::rules

#endif  // TAKT_ENGINE_RULES_SANDBOX_H_
