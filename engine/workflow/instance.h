// One workflow instance: where it is and its variables.
#ifndef TAKT_ENGINE_WORKFLOW_INSTANCE_H_
#define TAKT_ENGINE_WORKFLOW_INSTANCE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dsl/value.h"

namespace takt {

// A timer of the instance's current state (`after DURATION`), armed when it entered the state.
struct ArmedTimer {
  int64_t after_ms = 0;  // which of the state's timers
  int64_t due = 0;       // event time at which it fires
  uint64_t seq = 0;      // arming order, to fire timers due at the same time in that order
};

struct Instance {
  dsl::Value key;  // a string
  int state = -1;  // index into WorkflowDef::states
  std::vector<dsl::Value> vars;  // by VarDef index
  // Per index variable (WorkflowDef::indexes), when the instance took its current value: the
  // index prefers the latest, and a restart rebuilds it in this order.
  std::vector<uint64_t> indexed_at;
  int64_t created_pos = 0;  // position of the event that created it (the store's log)
  int64_t updated_pos = 0;  // position of the last event that changed it
  std::vector<ArmedTimer> timers;  // not yet fired; cancelled when the instance leaves its state
  // When a timer of its current state fired a transition that kept it there (an SLA or a
  // reminder: it is overdue): that timer's due. Cleared when it enters another state.
  std::optional<int64_t> overdue_since;
};

}  // namespace takt

#endif  // TAKT_ENGINE_WORKFLOW_INSTANCE_H_
