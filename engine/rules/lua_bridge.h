// Conversions between the engine's values and Lua: events into tables for rules, instances into
// read-only views, and what rules return (commands, signals) back into C++. Every lua_CFunction
// the rules can call lives in lua_bridge.cc.
#ifndef TAKT_ENGINE_RULES_LUA_BRIDGE_H_
#define TAKT_ENGINE_RULES_LUA_BRIDGE_H_

#include <optional>
#include <string>
#include <string_view>

#include "dsl/catalog.h"
#include "engine/event/event.h"
#include "engine/workflow/instance.h"
#include "takt/status.h"

struct lua_State;

namespace takt::rules {

// A read-only look at one workflow instance, as rules see it through ctx.
struct InstanceRef {
  const dsl::WorkflowDef* workflow = nullptr;
  const Instance* instance = nullptr;
};

// What ctx.instance() and ctx.current() ask of the engine. Either may have to read the
// instance back from the store: a failed read is an error, and the rule stops with it.
class InstanceLookup {
 public:
  virtual ~InstanceLookup() = default;
  // Instance `key` of `workflow`; none when there is no such instance.
  virtual Result<std::optional<InstanceRef>> Find(std::string_view workflow,
                                                  std::string_view key) = 0;
  // The instance that took `value` for the index variable `var` most recently and is not in a
  // final state.
  virtual Result<std::optional<InstanceRef>> Current(std::string_view workflow,
                                                     std::string_view var,
                                                     const dsl::Value& value) = 0;
};

// Pushes `v`: nil, a boolean, an integer, a float or a string. (Events reach rules through
// event_tables.h.)
void PushValue(lua_State* L, const dsl::Value& v);
// Pushes a view {workflow, key, state, final, vars = {...}} of `ref`.
void PushInstanceView(lua_State* L, const InstanceRef& ref);
// Reads the Lua value at `index` as a dsl::Value (nil, boolean, number, string); false for
// other types.
bool ToValue(lua_State* L, int index, dsl::Value& out);
// Appends the Lua value at `index` as JSON: tables with keys 1..n become arrays, others
// objects with their keys sorted (so that output is the same on every run). Fails with a
// message for functions, cycles, too deep nesting or more than `max_bytes` of output.
bool AppendJson(lua_State* L, int index, std::string& out, size_t max_bytes, std::string& error);

class Sandbox;

// Adds rule(), command() and signal() to the sandbox's allowlist, and returns a registry
// reference to the read-only ctx table passed to every decide(). `*lookup` is read at each
// call, so the caller points it at the engine for the time of an evaluation.
int InstallRuleApi(Sandbox& sandbox, InstanceLookup** lookup);


// Is the value at `index` a decision made by command() or signal()?
bool IsDecision(lua_State* L, int index);
// Pushes the fields of the decision at `index`, as command() or signal() checked and set them:
// a plain table of strings and scalars {kind = "command", name, data = JSON text} or
// {kind = "signal", workflow, name, target = key} or {..., index_var, index_value}.
void PushDecisionFields(lua_State* L, int index);

}  // namespace takt::rules

#endif  // TAKT_ENGINE_RULES_LUA_BRIDGE_H_
