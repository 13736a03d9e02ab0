// Submit(): the checks run in the order PLANT.md fixes (well-formed, duplicate, owner,
// transition), and every event ends in exactly one outcome.
#include "engine/engine_impl.h"

#include "dsl/load.h"

namespace takt {

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kApplied: return "applied";
    case Outcome::kDuplicate: return "duplicate";
    case Outcome::kOwnershipViolation: return "ownership_violation";
    case Outcome::kOutOfSequence: return "out_of_sequence";
    case Outcome::kMalformed: return "malformed";
  }
  return "?";
}

Result<SubmitResult> Engine::Submit(std::string_view event_json) {
  SubmitResult result;
  Status status = Submit(event_json, result);
  if (!status.ok()) return status;
  return result;
}

Result<std::unique_ptr<Engine>> Engine::Open(EngineOptions options) {
  DefinitionOptions load;
  load.paths = options.workflow_paths;
  load.stdlib_dir = options.stdlib_dir;
  std::unique_ptr<dsl::Definitions> defs = dsl::LoadDefinitions(load);
  if (defs->diagnostics.errors() != 0) {
    return Status::ParseError(defs->diagnostics.FormatAll());
  }
  if (options.on_log) {
    for (const Diagnostic& d : defs->diagnostics.Sorted()) options.on_log(LogLevel::kWarn, d.Format());
  }
  return std::unique_ptr<Engine>(std::make_unique<EngineImpl>(std::move(options), std::move(defs)));
}

EngineImpl::EngineImpl(EngineOptions options, std::unique_ptr<dsl::Definitions> definitions)
    : options_(std::move(options)),
      definitions_(std::move(definitions)),
      decoder_(definitions_->catalog) {
  const dsl::Catalog& catalog = definitions_->catalog;
  runners_.reserve(catalog.workflows.size());
  for (const dsl::WorkflowDef& wf : catalog.workflows) runners_.emplace_back(wf);
  routes_.resize(catalog.events.size());
  for (size_t type = 0; type < catalog.events.size(); ++type) {
    for (WorkflowRunner& runner : runners_) {
      if (runner.Handles(static_cast<int>(type))) routes_[type].push_back(&runner);
    }
  }
}

Status EngineImpl::Submit(std::string_view event_json, SubmitResult& result) {
  result.commands.clear();
  result.reason.clear();
  ++stats_.events;
  if (!decoder_.Decode(event_json, event_, result.reason)) {
    // A malformed event's id is not remembered: a valid re-send of it is accepted.
    result.event_id.assign(event_.id.data(), event_.id.size());
    result.outcome = Outcome::kMalformed;
    ++stats_.malformed;
    return Status();
  }
  result.event_id.assign(event_.id.data(), event_.id.size());
  result.outcome = Apply(event_, result);
  switch (result.outcome) {
    case Outcome::kApplied: ++stats_.accepted; break;
    case Outcome::kDuplicate: ++stats_.duplicates; break;
    case Outcome::kOwnershipViolation: ++stats_.ownership_violations; break;
    case Outcome::kOutOfSequence: ++stats_.out_of_sequence; break;
    case Outcome::kMalformed: ++stats_.malformed; break;
  }
  stats_.commands += result.commands.size();
  return Status();
}

Outcome EngineImpl::Apply(const Event& event, SubmitResult& result) {
  // Every well-formed id is remembered, so a re-delivery of a rejected event is a duplicate.
  id_.assign(event.id.data(), event.id.size());
  if (!seen_ids_.insert(id_).second) {
    result.reason = "id " + id_ + " was seen before";
    return Outcome::kDuplicate;
  }
  const dsl::EventDef& def = definitions_->catalog.events[static_cast<size_t>(event.type_id)];
  if (event.source != def.owner) {
    result.reason = "source " + std::string(event.source) + " does not own " + def.type +
                    " (its owner is " + def.owner + ")";
    return Outcome::kOwnershipViolation;
  }
  const std::vector<WorkflowRunner*>& routes = routes_[static_cast<size_t>(event.type_id)];
  if (routes.empty()) return Outcome::kApplied;  // valid, and no workflow reacts to it
  bool applied = false;
  std::string reason;
  for (WorkflowRunner* runner : routes) {
    const size_t before = runner->size();
    if (runner->Apply(event, result.commands, reason)) {
      applied = true;
      stats_.instances += runner->size() - before;
    } else if (result.reason.empty()) {
      result.reason = reason;
    }
  }
  if (!applied) return Outcome::kOutOfSequence;
  result.reason.clear();
  return Outcome::kApplied;
}

void EngineImpl::ForEachInstance(const std::function<void(const InstanceSummary&)>& visit) const {
  for (const WorkflowRunner& runner : runners_) {
    const dsl::WorkflowDef& def = runner.def();
    runner.ForEach([&](const Instance& instance) {
      const dsl::StateDef& state = def.states[static_cast<size_t>(instance.state)];
      visit(InstanceSummary{def.name, instance.key.s, state.name, state.final});
    });
  }
}

Result<InstanceInfo> EngineImpl::GetInstance(std::string_view workflow, std::string_view key) const {
  for (const WorkflowRunner& runner : runners_) {
    if (runner.def().name != workflow) continue;
    const Instance* instance = runner.Find(key);
    if (instance == nullptr) break;
    const dsl::StateDef& state = runner.def().states[static_cast<size_t>(instance->state)];
    InstanceInfo info;
    info.workflow = runner.def().name;
    info.key = instance->key.s;
    info.state = state.name;
    info.final = state.final;
    info.lifecycle = LifecycleStateName(instance->lifecycle.state());
    info.variables_json = runner.VariablesJson(*instance);
    return info;
  }
  return Status::NotFound(std::string(workflow) + " instance " + std::string(key) + " not found");
}

EngineStats EngineImpl::stats() const {
  EngineStats s = stats_;
  s.active_instances = 0;
  for (const WorkflowRunner& runner : runners_) s.active_instances += runner.active();
  return s;
}

std::vector<std::string> EngineImpl::workflows() const {
  std::vector<std::string> names;
  for (const WorkflowRunner& runner : runners_) names.push_back(runner.def().name);
  return names;
}

}  // namespace takt

namespace takt {

void EngineImpl::Log(LogLevel level, std::string_view message) const {
  if (options_.on_log) options_.on_log(level, message);
}

}  // namespace takt
