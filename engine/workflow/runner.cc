// Transitions: the first transition whose guard holds fires; none holding means the event is
// out of sequence for the instance. Actions run in the order written, before the move, so a
// final state's entry actions see the variables the transition set.
#include "engine/workflow/runner.h"

#include <algorithm>

#include "engine/workflow/evaluate.h"

namespace takt {

WorkflowRunner::WorkflowRunner(const dsl::WorkflowDef& def)
    : def_(def), emitted_by_("workflow " + def.name) {
  for (int var : def_.indexes) indexes_[var];
}

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
    for (auto& [var, by_value] : indexes_) {
      by_value[IndexKey(instance.vars[static_cast<size_t>(var)])].push_back(&instance);
    }
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
      if (indexes_.count(action.var) != 0 && var != value) {
        dsl::Value old = std::move(var);
        var = std::move(value);
        Reindex(action.var, old, instance);
      } else {
        var = std::move(value);
      }
      continue;
    }
    Command& command = commands.emplace_back();
    command.name = action.command;
    command.caused_by.assign(cause.data(), cause.size());
    command.emitted_by = emitted_by_;
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

std::string WorkflowRunner::IndexKey(const dsl::Value& value) {
  std::string key;
  value.AppendJson(key);
  return key;
}

void WorkflowRunner::Reindex(int var, const dsl::Value& old_value, Instance& instance) {
  auto& by_value = indexes_[var];
  auto old = by_value.find(IndexKey(old_value));
  if (old != by_value.end()) {
    auto& list = old->second;
    list.erase(std::remove(list.begin(), list.end(), &instance), list.end());
    if (list.empty()) by_value.erase(old);
  }
  by_value[IndexKey(instance.vars[static_cast<size_t>(var)])].push_back(&instance);
}

const Instance* WorkflowRunner::Current(int var, const dsl::Value& value) {
  auto index = indexes_.find(var);
  if (index == indexes_.end()) return nullptr;
  auto it = index->second.find(IndexKey(value));
  if (it == index->second.end()) return nullptr;
  std::vector<Instance*>& list = it->second;
  // Final instances never come back: drop them from the end so that the list stays short.
  while (!list.empty() && def_.states[static_cast<size_t>(list.back()->state)].final) {
    list.pop_back();
  }
  for (auto i = list.rbegin(); i != list.rend(); ++i) {
    if (!def_.states[static_cast<size_t>((*i)->state)].final) return *i;
  }
  return nullptr;
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
