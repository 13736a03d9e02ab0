// What applying an event did to the workflows, as a value: the runner appends to it, and the
// engine hands it, with the event's outcome, signals and rule errors, to the store. Nothing
// about storage is kept on the instances themselves.
#ifndef TAKT_ENGINE_WORKFLOW_EFFECTS_H_
#define TAKT_ENGINE_WORKFLOW_EFFECTS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/workflow/instance.h"
#include "takt/engine.h"

namespace takt {

class WorkflowRunner;

// One transition an instance took (or its creation), on an event, a signal or a timer.
struct Transition {
  WorkflowRunner* runner = nullptr;
  Instance* instance = nullptr;
  int from = -1;  // -1: created
  int to = -1;
  std::string trigger;  // the event type, "signal NAME", or "after DURATION"
};

struct WorkflowEffects {
  // The log position of the event applied: instances record it as where they were created or
  // last changed.
  int64_t pos = 0;
  std::vector<Command>* commands = nullptr;  // where emitted commands go (the event's result)
  std::vector<Transition> transitions;       // in the order they fired
  // For each command a workflow emitted: (its index in *commands, the instance that emitted it).
  std::vector<std::pair<size_t, const Instance*>> command_owners;

  // Ready for the next event, at `position`, its commands going to `out`.
  void Start(int64_t position, std::vector<Command>& out) {
    pos = position;
    commands = &out;
    transitions.clear();
    command_owners.clear();
  }
};

}  // namespace takt

#endif  // TAKT_ENGINE_WORKFLOW_EFFECTS_H_
