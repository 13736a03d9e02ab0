// Transitions: the first transition whose guard holds fires; none holding means the event is
// out of sequence for the instance. Actions run in the order written, before the move, so a
// final state's entry actions see the variables the transition set.
#include "engine/workflow/runner.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "engine/workflow/evaluate.h"

namespace takt {

WorkflowRunner::WorkflowRunner(const dsl::WorkflowDef& def)
    : def_(def), emitted_by_("workflow " + def.name) {
  for (int var : def_.indexes) indexes_[var];
}

bool WorkflowRunner::Apply(const Event& event, WorkflowEffects& out, std::string& reason) {
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
    instance.indexed_at.assign(def_.indexes.size(), 0);
    for (size_t i = 0; i < def_.indexes.size(); ++i) {
      const int var = def_.indexes[i];
      indexes_[var][IndexKey(instance.vars[static_cast<size_t>(var)])].push_back(&instance);
      instance.indexed_at[i] = ++*index_clock_;
    }
    instance.created_pos = out.pos;
    Run(def_.start_actions, instance, &event.fields, event.id, out);
    Record(out, instance, -1, def_.start_state, event.type);
    Enter(def_.start_state, instance, event.id, out);
    return true;
  }
  Instance* instance = Lookup(reason);
  if (instance == nullptr) return false;
  const dsl::StateDef& state = def_.states[static_cast<size_t>(instance->state)];
  if (FireFirst(state.on_event, event.type_id, event.type, *instance, &event.fields, event.id,
                out)) {
    return true;
  }
  reason = "no transition from " + def_.name + " state " + state.name + " on " +
           std::string(event.type) + " for " + lookup_;
  return false;
}

bool WorkflowRunner::Signal(std::string_view key, std::string_view name, std::string_view cause,
                            WorkflowEffects& out, std::string& reason) {
  lookup_.assign(key.data(), key.size());
  Instance* instance = Lookup(reason);
  if (instance == nullptr) return false;
  const dsl::StateDef& state = def_.states[static_cast<size_t>(instance->state)];
  const std::string trigger = "signal " + std::string(name);
  if (FireFirst(state.on_signal, name, trigger, *instance, nullptr, cause, out)) return true;
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
bool WorkflowRunner::FireFirst(const Table& table, const Trigger& trigger,
                               std::string_view trigger_text, Instance& instance,
                               const std::vector<dsl::Value>* fields, std::string_view cause,
                               WorkflowEffects& out) {
  if (Final(instance)) return false;
  auto candidates = table.find(trigger);
  if (candidates == table.end()) return false;
  const EvalContext ctx{&instance.key, &instance.vars, fields};
  for (const dsl::Transition& t : candidates->second) {
    if (t.has_guard && !EvaluateBool(t.guard, ctx)) continue;
    Run(t.actions, instance, fields, cause, out);
    const int from = instance.state;
    if (t.target >= 0) instance.state = t.target;
    Record(out, instance, from, instance.state, trigger_text);
    if (t.target >= 0) Enter(t.target, instance, cause, out);
    return true;
  }
  return false;
}

void WorkflowRunner::Record(WorkflowEffects& out, Instance& instance, int from, int to,
                            std::string_view trigger) {
  instance.updated_pos = out.pos;
  out.transitions.push_back(Transition{this, &instance, from, to, std::string(trigger)});
}

void WorkflowRunner::ArmTimers(Instance& instance) {
  for (const ArmedTimer& t : instance.timers) timers_.erase({t.due, t.seq, &instance});
  instance.timers.clear();
  const dsl::StateDef& state = def_.states[static_cast<size_t>(instance.state)];
  for (const auto& [after_ms, transitions] : state.on_timer) {
    const ArmedTimer t{after_ms, now_ + after_ms, ++timer_seq_};
    instance.timers.push_back(t);
    timers_.emplace(t.due, t.seq, &instance);
  }
}

std::optional<std::pair<int64_t, uint64_t>> WorkflowRunner::NextTimer() const {
  if (timers_.empty()) return std::nullopt;
  const auto& [due, seq, instance] = *timers_.begin();
  return std::make_pair(due, seq);
}

void WorkflowRunner::FireNextTimer(WorkflowEffects& out, std::string& cause) {
  const auto [due, seq, instance] = *timers_.begin();
  timers_.erase(timers_.begin());
  auto armed = std::find_if(instance->timers.begin(), instance->timers.end(),
                            [seq = seq](const ArmedTimer& t) { return t.seq == seq; });
  const int64_t after_ms = armed->after_ms;
  instance->timers.erase(armed);
  const dsl::StateDef& state = def_.states[static_cast<size_t>(instance->state)];
  const std::vector<dsl::Transition>& transitions = state.on_timer.at(after_ms);
  // "after 8h" as written, without a guard.
  std::string trigger = transitions.front().label.substr(0, transitions.front().label.find(" when "));
  cause = "timer:" + def_.name + "/" + instance->key.s + "/" + trigger.substr(6) + "@" +
          std::to_string(due);
  now_ = due;
  const int from = instance->state;
  const std::optional<int64_t> overdue_since = instance->overdue_since;
  if (!FireFirst(state.on_timer, after_ms, trigger, *instance, nullptr, cause, out)) {
    Record(out, *instance, instance->state, instance->state, trigger + " (no guard held)");
  } else if (instance->state == from) {
    // Still there (Enter() cleared it on a re-entry): overdue since the first such timer.
    instance->overdue_since = overdue_since.value_or(due);
  }
}

void WorkflowRunner::Enter(int state, Instance& instance, std::string_view cause,
                           WorkflowEffects& out) {
  ArmTimers(instance);
  instance.overdue_since.reset();
  const dsl::StateDef& target = def_.states[static_cast<size_t>(state)];
  if (!target.final) return;
  Run(target.on_enter, instance, nullptr, cause, out);
  --active_;
}

void WorkflowRunner::Run(const std::vector<dsl::Action>& actions, Instance& instance,
                         const std::vector<dsl::Value>* fields, std::string_view cause,
                         WorkflowEffects& out) {
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
    std::vector<Command>& commands = *out.commands;
    out.command_owners.emplace_back(commands.size(), &instance);
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
  const auto slot = std::find(def_.indexes.begin(), def_.indexes.end(), var) - def_.indexes.begin();
  instance.indexed_at[static_cast<size_t>(slot)] = ++*index_clock_;
}

const Instance* WorkflowRunner::Current(int var, const dsl::Value& value) {
  auto index = indexes_.find(var);
  if (index == indexes_.end()) return nullptr;
  auto it = index->second.find(IndexKey(value));
  if (it == index->second.end()) return nullptr;
  std::vector<Instance*>& list = it->second;
  // Final instances never come back: drop them from the end so that the list stays short.
  while (!list.empty() && Final(*list.back())) {
    list.pop_back();
  }
  for (auto i = list.rbegin(); i != list.rend(); ++i) {
    if (!Final(**i)) return *i;
  }
  return nullptr;
}

uint64_t WorkflowRunner::IndexedAt(const Instance& instance, int var) const {
  const auto slot = std::find(def_.indexes.begin(), def_.indexes.end(), var) - def_.indexes.begin();
  return instance.indexed_at[static_cast<size_t>(slot)];
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

std::string WorkflowRunner::TimersJson(const Instance& instance) {
  std::string out = "[";
  for (const ArmedTimer& t : instance.timers) {
    if (out.size() > 1) out += ',';
    out += "[" + std::to_string(t.after_ms) + "," + std::to_string(t.due) + "," +
           std::to_string(t.seq) + "]";
  }
  return out + "]";
}

std::string WorkflowRunner::IndexedAtJson(const Instance& instance) {
  std::string out = "[";
  for (size_t i = 0; i < instance.indexed_at.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(instance.indexed_at[i]);
  }
  return out + "]";
}

namespace {

// A stored variable back into a value of the variable's declared type.
bool FromJson(const nlohmann::json& j, dsl::Type type, dsl::Value& out) {
  if (j.is_null()) {
    out = dsl::Value::Null();
    return true;
  }
  switch (type) {
    case dsl::Type::kBool:
      if (!j.is_boolean()) return false;
      out = dsl::Value::Bool(j.get<bool>());
      return true;
    case dsl::Type::kInt:
      if (!j.is_number_integer()) return false;
      out = dsl::Value::Int(j.get<int64_t>());
      return true;
    case dsl::Type::kFloat:
      if (!j.is_number()) return false;
      out = dsl::Value::Float(j.get<double>());
      return true;
    case dsl::Type::kString:
      if (!j.is_string()) return false;
      out = dsl::Value::String(j.get_ref<const std::string&>());
      return true;
    case dsl::Type::kNull: return false;
  }
  return false;
}

}  // namespace

Status WorkflowRunner::Restore(std::string_view key, std::string_view state,
                               std::string_view variables_json, std::string_view indexed_at_json,
                               std::string_view timers_json, int64_t created_pos,
                               int64_t updated_pos, std::optional<int64_t> overdue_since) {
  const std::string what = def_.name + " instance " + std::string(key);
  const int state_index = def_.StateIndex(state);
  if (state_index < 0) {
    return Status::InvalidArgument(what + " is in state " + std::string(state) +
                                   ", which this version of " + def_.name + " does not have");
  }
  nlohmann::json vars = nlohmann::json::parse(variables_json, nullptr, /*allow_exceptions=*/false);
  nlohmann::json indexed = nlohmann::json::parse(indexed_at_json, nullptr, false);
  nlohmann::json timers = nlohmann::json::parse(timers_json, nullptr, false);
  if (!vars.is_object() || !indexed.is_array() || indexed.size() != def_.indexes.size() ||
      !timers.is_array()) {
    return Status::InvalidArgument(what + ": stored variables or index times do not fit " +
                                   def_.name + " (" + std::string(variables_json) + ")");
  }
  auto [it, created] = instances_.try_emplace(std::string(key));
  if (!created) return Status::AlreadyExists(what + " is restored twice");
  Instance& instance = it->second;
  instance.key = dsl::Value::String(key);
  instance.state = state_index;
  instance.created_pos = created_pos;
  instance.updated_pos = updated_pos;
  instance.overdue_since = overdue_since;
  for (const dsl::VarDef& var : def_.vars) {
    instance.vars.push_back(var.initial);
    auto stored = vars.find(var.name);
    if (stored != vars.end() && !FromJson(*stored, var.type, instance.vars.back())) {
      instances_.erase(it);
      return Status::InvalidArgument(what + ": stored variable " + var.name + " is not a " +
                                     dsl::TypeName(var.type));
    }
  }
  for (const nlohmann::json& at : indexed) {
    if (!at.is_number_unsigned()) {
      instances_.erase(it);
      return Status::InvalidArgument(what + ": index times are not counts");
    }
    instance.indexed_at.push_back(at.get<uint64_t>());
    *index_clock_ = std::max(*index_clock_, instance.indexed_at.back());
  }
  const dsl::StateDef& at = def_.states[static_cast<size_t>(state_index)];
  for (const nlohmann::json& t : timers) {
    if (!t.is_array() || t.size() != 3 || !t[0].is_number_integer() || !t[1].is_number_integer() ||
        !t[2].is_number_unsigned()) {
      instances_.erase(it);
      return Status::InvalidArgument(what + ": stored timer " + t.dump() + " is not a timer");
    }
    // A timer this version of the state no longer has (its duration changed) is dropped.
    if (at.on_timer.count(t[0].get<int64_t>()) == 0) continue;
    const ArmedTimer armed{t[0].get<int64_t>(), t[1].get<int64_t>(), t[2].get<uint64_t>()};
    instance.timers.push_back(armed);
    timers_.emplace(armed.due, armed.seq, &instance);
    timer_seq_ = std::max(timer_seq_, armed.seq);
  }
  if (at.final) return Status();
  ++active_;
  // Each list is kept oldest first: the store gives instances back in about that order, so
  // the place is nearly always the end.
  for (size_t i = 0; i < def_.indexes.size(); ++i) {
    const int var = def_.indexes[i];
    std::vector<Instance*>& list = indexes_[var][IndexKey(instance.vars[static_cast<size_t>(var)])];
    const uint64_t taken = instance.indexed_at[i];
    auto place = list.end();
    while (place != list.begin() && (*std::prev(place))->indexed_at[i] > taken) --place;
    list.insert(place, &instance);
  }
  return Status();
}

bool WorkflowRunner::Evict(const Instance& instance) {
  if (!Final(instance) || !instance.timers.empty()) {
    return false;
  }
  // Current() drops final instances from its lists only as it reads them: drop this one now.
  Forget(instance);
  return true;
}

void WorkflowRunner::Forget(const Instance& instance) {
  Unindex(instance);
  for (const ArmedTimer& t : instance.timers) {
    timers_.erase({t.due, t.seq, const_cast<Instance*>(&instance)});
  }
  if (!Final(instance)) --active_;
  instances_.erase(instances_.find(instance.key.s));
}

void WorkflowRunner::Unindex(const Instance& instance) {
  for (int var : def_.indexes) {
    auto& by_value = indexes_[var];
    auto list = by_value.find(IndexKey(instance.vars[static_cast<size_t>(var)]));
    if (list == by_value.end()) continue;
    auto& instances = list->second;
    instances.erase(std::remove(instances.begin(), instances.end(), &instance), instances.end());
    if (instances.empty()) by_value.erase(list);
  }
}

void WorkflowRunner::Clear() {
  timers_.clear();
  timer_seq_ = 0;
  instances_.clear();
  for (auto& [var, by_value] : indexes_) by_value.clear();
  active_ = 0;
  *index_clock_ = 0;
}

}  // namespace takt
