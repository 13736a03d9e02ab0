// One workflow instance: where it is, its variables, and its lifecycle.
#ifndef TAKT_ENGINE_WORKFLOW_INSTANCE_H_
#define TAKT_ENGINE_WORKFLOW_INSTANCE_H_

#include <vector>

#include "dsl/value.h"
#include "engine/workflow/lifecycle.h"

namespace takt {

struct Instance {
  dsl::Value key;  // a string
  int state = -1;  // index into WorkflowDef::states
  std::vector<dsl::Value> vars;  // by VarDef index
  Lifecycle lifecycle;
};

}  // namespace takt

#endif  // TAKT_ENGINE_WORKFLOW_INSTANCE_H_
