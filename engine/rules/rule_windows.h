// A rule's `windows` and `skip`: what the engine does for a rule before, or instead of, its Lua.
//
//   windows = { alarms = { on = "alarm", width = 600000 } },
//   skip = { alarm = "open" },
//
// A window the rule declares is one of takt.window's, in the rule's state under its name, and the
// engine adds each event of its types to it (at the event's ts, the value 1 or the data field
// `value` names) before decide sees the event, as `window.add(state, name, ev.ts, value, width,
// lateness)` at the top of decide would. `skip` names, for some of the rule's event types, a
// field of its state: while that field holds a true value (not nil, not false), an event of the
// type joins the windows and decide is not called. An alarm while a request is open then costs
// the rule one entry in a window, not a call into Lua with the event's tables and the state's
// walk after it (docs/rules.md, docs/performance.md).
#ifndef TAKT_ENGINE_RULES_RULE_WINDOWS_H_
#define TAKT_ENGINE_RULES_RULE_WINDOWS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "dsl/catalog.h"
#include "engine/event/event.h"

struct lua_State;

namespace takt::rules {

class RuleWindows {
 public:
  // Reads the spec's `windows` and `skip` (the values at `windows` and `skip`, either nil) with
  // raw reads, for a rule on the event types `on`. Empty on success, else what is wrong. Keeps
  // references in `L`'s registry: the window's names, the skip fields and takt.window's add.
  std::string Read(lua_State* L, int windows, int skip, const dsl::Catalog& catalog,
                   const std::vector<int>& on);

  // Whether the rule declares a window or a skip for events of type `type_id`.
  bool Concerns(int type_id) const {
    const auto type = static_cast<size_t>(type_id);
    return type < by_type_.size() &&
           (!by_type_[type].feeds.empty() || by_type_[type].skip_ref >= 0);
  }

  // How many windows an event of type `type_id` joins.
  size_t WindowsOf(int type_id) const {
    const auto type = static_cast<size_t>(type_id);
    return type < by_type_.size() ? by_type_[type].feeds.size() : 0;
  }

  // Whether decide is skipped for `event`, given the state at `state` (an existing table): its
  // type has a skip field, and state[field], read raw, holds a true value. Allocates nothing.
  bool Skips(lua_State* L, int state, const Event& event) const;

  // Whether feeding the windows of the state at `state` runs none of the rule's code: the state
  // has no metatable (takt.window's add reads `state[name]` as Lua would, the window raw).
  static bool FeedsWithoutRuleCode(lua_State* L, int state);

  // Adds `event` to every window of the state at `state` that takes its type, by calls to
  // takt.window's add, which finds what could stop it before it changes anything (so an error
  // leaves the window as it was; a second window's error leaves the first one fed). Lua errors
  // propagate: call it inside a protected call.
  void Feed(lua_State* L, int state, const Event& event) const;

 private:
  struct Window {
    int name_ref = -1;  // registry: the name, a Lua string
    int64_t width = 0;
    bool has_lateness = false;
    int64_t lateness = 0;
  };
  struct Feeding {
    size_t window = 0;     // in windows_
    int value_field = -1;  // index in the event type's data; -1: the value 1
  };
  struct ForType {
    std::vector<Feeding> feeds;
    int skip_ref = -1;  // registry: the state field that skips decide, a Lua string; -1: none
  };

  std::string ReadWindows(lua_State* L, int windows, const dsl::Catalog& catalog,
                          const std::vector<int>& on);
  std::string ReadSkip(lua_State* L, int skip, const dsl::Catalog& catalog,
                       const std::vector<int>& on);

  std::vector<Window> windows_;
  std::vector<ForType> by_type_;  // by event type id
  int add_ref_ = -1;              // registry: takt.window's add
};

}  // namespace takt::rules

#endif  // TAKT_ENGINE_RULES_RULE_WINDOWS_H_
