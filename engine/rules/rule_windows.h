// A rule's `windows` and `skip`: what the engine does for a rule before, or instead of, its Lua.
//
//   windows = { alarms = { on = "alarm", width = 600000 } },
//   skip = { alarm = { "open", { severity = { "<", 3 }, alarms = { "<", 3 } } } },
//
// A window the rule declares is one of takt.window's, in the rule's state under its name, and the
// engine adds each event of its types to it (at the event's ts, the value 1 or the data field
// `value` names) before decide sees the event, as `window.add(state, name, ev.ts, value, width,
// lateness)` at the top of decide would. `skip` gives, for some of the rule's event types, when
// decide has nothing to do: a field of the state that is set (holds a true value) or, written
// "not FIELD", one that is not (maintenance.done while no request is open), or conditions
// that all hold, on the event's data fields (as `when`'s) and on the count of a window's entries
// in [ev.ts - width, ev.ts] once the event joined it; or a list of such alternatives, any of
// which skips. A skipped event joins the windows and decide is not called. R1's alarm while a
// request is open, or below both of its thresholds, then costs the rule one entry in a window,
// not a call into Lua with the event's tables and the state's walk after it (docs/rules.md,
// docs/performance.md).
#ifndef TAKT_ENGINE_RULES_RULE_WINDOWS_H_
#define TAKT_ENGINE_RULES_RULE_WINDOWS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "dsl/catalog.h"
#include "engine/event/event.h"
#include "engine/rules/event_filter.h"

struct lua_State;

namespace takt::rules {

class RuleWindows {
 public:
  // Reads the spec's `windows` and `skip` (the values at `windows` and `skip`, either nil) with
  // raw reads, for a rule on the event types `on`. Empty on success, else what is wrong. Keeps
  // references in `L`'s registry: the windows' names, the skip fields and takt.window's add.
  std::string Read(lua_State* L, int windows, int skip, const dsl::Catalog& catalog,
                   const std::vector<int>& on);

  // Whether the rule declares a window or a skip for events of type `type_id`.
  bool Concerns(int type_id) const {
    const auto type = static_cast<size_t>(type_id);
    return type < by_type_.size() &&
           (!by_type_[type].feeds.empty() || !by_type_[type].skip.empty());
  }

  // How many windows an event of type `type_id` joins.
  size_t WindowsOf(int type_id) const {
    const auto type = static_cast<size_t>(type_id);
    return type < by_type_.size() ? by_type_[type].feeds.size() : 0;
  }

  enum class Verdict : uint8_t {
    kRun,        // decide is called
    kSkip,       // decide is not called
    kAfterFeed,  // not known before the event joined the windows: ask again after
  };
  // What Feed() adds for an event of a type that joins one window: enough to add it again to
  // the state as a snapshot has it (SnapshotCache), when an evaluation fails and the state
  // before it is put back, or to add it later (Deferred).
  struct Fed {
    int type_id = -1;
    int64_t ts = 0;
    dsl::Type type = dsl::Type::kNull;  // the value's: kInt or kFloat; kNull: the value 1
    int64_t i = 0;
    double f = 0;
  };

  // The entries of skipped events that a key's state is owed: added to one of its windows
  // later, all at once (Settle()), rather than one by one as the events come. What the window
  // holds, with them, is what it would hold had each event joined it when it came: each of them
  // would have gone among the window's newest, without a join (the event that joins is fed when
  // it comes, after them); and nothing reads or changes the state before they are added (the
  // rule's set settles a state before anything else touches it: rule_set.h).
  struct Deferred {
    size_t window = 0;  // in windows_
    size_t held = 0;    // the window's newest held apart when the first was deferred
    std::vector<Fed> fed;
  };

  // Whether decide is skipped for `event`, given the state at `state` (a table, new or not),
  // what it is owed (`owed`, may be null) and whether the event joined its windows yet (`fed`).
  // Before, a window's count is its entries in range and one for the event, which is what it
  // will be unless the event is older than the window's newest entry (a late event: the feed
  // may then drop entries in range, past the lateness): kAfterFeed then, and for a window not
  // in the packed form. Raw reads; allocates nothing.
  Verdict Skips(lua_State* L, int state, const Event& event, bool fed,
                const Deferred* owed) const;

  // Whether feeding the windows of the state at `state` runs none of the rule's code: the state
  // has no metatable (takt.window's add reads `state[name]` as Lua would, the window raw).
  static bool FeedsWithoutRuleCode(lua_State* L, int state);

  // Adds `event` to every window of the state at `state` that takes its type, by calls to
  // takt.window's add, which finds what could stop it before it changes anything (so an error
  // leaves the window as it was; a second window's error leaves the first one fed). Lua errors
  // propagate: call it inside a protected call.
  void Feed(lua_State* L, int state, const Event& event) const;

  // What Feed() adds for `event`, of a type that joins exactly one window.
  Fed FedOf(const Event& event) const;
  // Feed() again, for what FedOf() took.
  void Refeed(lua_State* L, int state, const Fed& fed) const;

  // Whether the rule declares any window.
  bool Any() const { return !windows_.empty(); }
  enum class Owing : uint8_t {
    kWaits,  // the event's entry waits in `owed`
    kJoins,  // it would join the window's newest to the rest: JoinWithOwed(), or as kNow
    kNow,    // it is fed now: the caller settles `owed`, then feeds it
  };
  // Puts `event` (skipped; of a type that joins one window) in `owed` instead of feeding it to
  // the state at `state` (with no metatable), when Deferred allows. Else says why not: the
  // window is new, or not in the packed form, or `owed` is for another window (kNow), or this
  // entry would join the window's newest to the rest (kJoins).
  Owing Defer(lua_State* L, int state, const Event& event, Deferred& owed) const;
  // For kJoins: adds what `owed` holds and `event` to the state at `state` at once, joining the
  // window's newest to the rest (native_window.h's JoinNewest()), and empties `owed`. False, with
  // nothing changed, when that cannot be done at once (the sandbox short of room, a window not
  // as the engine's feeds keep it).
  bool JoinWithOwed(lua_State* L, int state, const Event& event, Deferred& owed) const;
  // Adds what `owed` holds to the state at `state`, in order, and empties it. Lua errors (out
  // of memory) propagate, leaving the state and `owed` as they were.
  void Settle(lua_State* L, int state, Deferred& owed) const;

 private:
  struct Window {
    std::string name;
    int name_ref = -1;  // registry: the name, a Lua string
    int64_t width = 0;
    bool has_lateness = false;
    int64_t lateness = 0;
  };
  struct Feeding {
    size_t window = 0;     // in windows_
    int value_field = -1;  // index in the event type's data; -1: the value 1
  };
  // One way to skip decide: all of it holds.
  struct Alternative {
    int field_ref = -1;  // registry: a state field that must be set, a Lua string; -1: none
    bool unset = false;  // ... or, written "not FIELD", that must not be set
    EventFilter data;    // conditions on the event's data fields
    // Conditions on the count of window `window`'s entries (FieldCondition::index).
    std::vector<FieldCondition> counts;
  };
  struct ForType {
    std::vector<Feeding> feeds;
    std::vector<Alternative> skip;  // any of them skips decide
  };

  std::string ReadWindows(lua_State* L, int windows, const dsl::Catalog& catalog,
                          const std::vector<int>& on);
  std::string ReadSkip(lua_State* L, int skip, const dsl::Catalog& catalog,
                       const std::vector<int>& on);
  // One alternative of type `type`'s skip, at `index`: a state field or a table of conditions.
  std::string ReadAlternative(lua_State* L, int index, const dsl::Catalog& catalog, int type,
                              Alternative& out);
  Verdict Holds(lua_State* L, int state, const Event& event, bool fed, const Deferred* owed,
                const Alternative& alternative) const;
  // Adds (ts, the value on the top of the stack, popped) to `window` in the state at `state`.
  void Join(lua_State* L, int state, const Window& window, int64_t ts) const;

  std::vector<Window> windows_;
  std::vector<ForType> by_type_;  // by event type id
  int add_ref_ = -1;              // registry: takt.window's add
};

}  // namespace takt::rules

#endif  // TAKT_ENGINE_RULES_RULE_WINDOWS_H_
