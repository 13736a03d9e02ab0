// Transitions: the first transition whose guard holds fires; none holding means the event is
// out of sequence for the instance. Actions run in the order written, before the move, so a
// final state's entry actions see the variables the transition set.
#include "engine/workflow/runner.h"

#include <algorithm>

#include "engine/workflow/evaluate.h"

namespace takt {

bool WorkflowRunner::Apply(const Event& event, std::vector<Command>& commands, std::string& reason) {
  lookup_.assign(event.key.data(), event.key.size());
  if (event.type_id == def_.start_event) {
    auto [it, created] = instances_.try_emplace(lookup_);
    Instance& instance = it->second;
    if (!created) {
      reason = def_.name + " instance " + lookup_ + " exists already (in state " +
               def_.states[static_cast<size_t>(instance.state)].name + ")";
      return false;
    }
    instance.key = dsl::Value::String(event.key);
    instance.vars.reserve(def_.vars.size());
    for (const dsl::VarDef& var : def_.vars) instance.vars.push_back(var.initial);
    instance.state = def_.start_state;
    ++active_;
    Run(def_.start_actions, instance, &event.fields, event.id, commands);
    Enter(def_.start_state, instance, event.id, commands);
    return true;
  }
  Instance* instance = Lookup(reason);
  if (instance == nullptr) return false;
  const dsl::StateDef& state = def_.states[static_cast<size_t>(instance->state)];
  if (FireFirst(state.on_event, event.type_id, *instance, &event.fields, event.id, commands)) {
    return true;
  }
  reason = "no transition from " + def_.name + " state " + state.name + " on " +
           std::string(event.type) + " for " + lookup_;
  return false;
}

bool WorkflowRunner::Signal(std::string_view key, std::string_view name, std::string_view cause,
                            std::vector<Command>& commands, std::string& reason) {
  lookup_.assign(key.data(), key.size());
  Instance* instance = Lookup(reason);
  if (instance == nullptr) return false;
  const dsl::StateDef& state = def_.states[static_cast<size_t>(instance->state)];
  if (FireFirst(state.on_signal, name, *instance, nullptr, cause, commands)) return true;
  reason = "no transition from " + def_.name + " state " + state.name + " on signal " +
           std::string(name) + " for " + lookup_;
  return false;
}

Instance* WorkflowRunner::Lookup(std::string& reason) {
  auto it = instances_.find(lookup_);
  if (it != instances_.end()) return &it->second;
  reason = "no " + def_.name + " instance " + lookup_;
  return nullptr;
}

template <typename Table, typename Trigger>
bool WorkflowRunner::FireFirst(const Table& table, const Trigger& trigger, Instance& instance,
                               const std::vector<dsl::Value>* fields, std::string_view cause,
                               std::vector<Command>& commands) {
  if (!instance.lifecycle.accepts_events()) return false;
  auto candidates = table.find(trigger);
  if (candidates == table.end()) return false;
  const EvalContext ctx{&instance.key, &instance.vars, fields};
  for (const dsl::Transition& t : candidates->second) {
    if (t.has_guard && !EvaluateBool(t.guard, ctx)) continue;
    Run(t.actions, instance, fields, cause, commands);
    if (t.target >= 0) {
      instance.state = t.target;
      Enter(t.target, instance, cause, commands);
    }
    return true;
  }
  return false;
}

void WorkflowRunner::Enter(int state, Instance& instance, std::string_view cause,
                           std::vector<Command>& commands) {
  const dsl::StateDef& target = def_.states[static_cast<size_t>(state)];
  if (!target.final) return;
  Run(target.on_enter, instance, nullptr, cause, commands);
  instance.lifecycle.Fire(LifecycleEvent::kFinish);
  --active_;
}

void WorkflowRunner::Run(const std::vector<dsl::Action>& actions, Instance& instance,
                         const std::vector<dsl::Value>* fields, std::string_view cause,
                         std::vector<Command>& commands) {
  const EvalContext ctx{&instance.key, &instance.vars, fields};
  for (const dsl::Action& action : actions) {
    if (action.kind == dsl::AstAction::Kind::kSet) {
      dsl::Value value = Evaluate(action.value, ctx);
      dsl::Value& var = instance.vars[static_cast<size_t>(action.var)];
      if (var.type == dsl::Type::kFloat && value.type == dsl::Type::kInt) {
        value = dsl::Value::Float(static_cast<double>(value.i));
      }
      var = std::move(value);
      continue;
    }
    Command& command = commands.emplace_back();
    command.name = action.command;
    command.caused_by.assign(cause.data(), cause.size());
    std::string& payload = command.payload_json;
    payload = "{";
    for (const dsl::EmitField& field : action.fields) {
      if (payload.size() > 1) payload += ',';
      dsl::AppendJsonString(payload, field.name);
      payload += ':';
      Evaluate(field.value, ctx).AppendJson(payload);
    }
    payload += '}';
  }
}

const Instance* WorkflowRunner::Find(std::string_view key) const {
  auto it = instances_.find(std::string(key));
  return it == instances_.end() ? nullptr : &it->second;
}

void WorkflowRunner::ForEach(const std::function<void(const Instance&)>& visit) const {
  std::vector<const Instance*> sorted;
  sorted.reserve(instances_.size());
  for (const auto& [key, instance] : instances_) sorted.push_back(&instance);
  std::sort(sorted.begin(), sorted.end(),
            [](const Instance* a, const Instance* b) { return a->key.s < b->key.s; });
  for (const Instance* instance : sorted) visit(*instance);
}

std::string WorkflowRunner::VariablesJson(const Instance& instance) const {
  std::string out = "{";
  for (size_t i = 0; i < def_.vars.size(); ++i) {
    if (i > 0) out += ',';
    dsl::AppendJsonString(out, def_.vars[i].name);
    out += ':';
    instance.vars[i].AppendJson(out);
  }
  return out + "}";
}

}  // namespace takt
