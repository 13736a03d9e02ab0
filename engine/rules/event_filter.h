// A rule's `when`: conditions on the event's data fields that the engine checks before it enters
// the rule's Lua. An event they turn away costs no evaluation at all: no event table, no call,
// no look at the rule's state. Most alarms are below the severity a quality hold needs, and
// building the event for Lua only to return at once costs more than the rest of the work on it.
#ifndef TAKT_ENGINE_RULES_EVENT_FILTER_H_
#define TAKT_ENGINE_RULES_EVENT_FILTER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "dsl/catalog.h"
#include "engine/event/event.h"

struct lua_State;

namespace takt::rules {

struct FieldCondition {
  enum class Op : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };
  std::string field;  // for messages
  int index = -1;     // the field's index in the event type's data
  Op op = Op::kEq;
  dsl::Value value;   // a bool, a number or a string
};

class EventFilter {
 public:
  // Reads the `when` table at `index` of `L` (raw reads only: no metamethod of the rule's runs)
  // for a rule on the event types `on`. Every field it names must be one that each of those
  // types declares, compared with a value of its kind. Empty on success, else what is wrong.
  // `name` is what messages call the table: "when", or "skip" for a rule's skip conditions.
  std::string Read(lua_State* L, int index, const dsl::Catalog& catalog,
                   const std::vector<int>& on, const std::string& name = "when");

  // Reads the condition at `index` (a value, or { OP, value }) into `out`'s op and value. Empty
  // on success, else what is wrong, to follow the name of what it is a condition on.
  static std::string ReadCondition(lua_State* L, int index, FieldCondition& out);
  // Whether `value` meets `c`, compared as Lua would (numbers exactly, strings bytewise).
  static bool Holds(const FieldCondition& c, const dsl::Value& value);

  // Does `event` (of one of the rule's types) meet every condition? A rule without `when`
  // admits every event.
  bool Admits(const Event& event) const {
    const size_t type = static_cast<size_t>(event.type_id);
    return type >= by_type_.size() || by_type_[type].empty() || AdmitsSlow(event);
  }

 private:
  bool AdmitsSlow(const Event& event) const;
  std::vector<std::vector<FieldCondition>> by_type_;  // by event type id; empty: no conditions
};

}  // namespace takt::rules

#endif  // TAKT_ENGINE_RULES_EVENT_FILTER_H_
