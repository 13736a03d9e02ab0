// Where each instance is held, and moving instances between memory and the store.
#include "engine/state/instance_cache.h"

#include <algorithm>

namespace takt {

InstanceCache::InstanceCache(size_t workflows, LogFn log)
    : log_(std::move(log)), pinned_(&index_clock_) {
  // Runners are held by address (the engine's routes, transitions): never moved.
  runners_.reserve(workflows);
}

WorkflowRunner& InstanceCache::Add(const dsl::WorkflowDef& def, std::string version) {
  WorkflowRunner& runner = runners_.emplace_back(def);
  runner.set_index_clock(&index_clock_);
  runner.set_version(std::move(version));
  return runner;
}

void InstanceCache::Attach(store::Store* store, std::string where, uint64_t cap) {
  store_ = store;
  where_ = std::move(where);
  cap_ = cap;
}

const WorkflowRunner* InstanceCache::Runner(std::string_view workflow) const {
  for (const WorkflowRunner& runner : runners_) {
    if (runner.def().name == workflow) return &runner;
  }
  return nullptr;
}

const WorkflowRunner* InstanceCache::Holding(std::string_view workflow,
                                             std::string_view key) const {
  if (PinnedVersions::Version* pinned = pinned_.Holding(workflow, key)) {
    return pinned->runner.get();
  }
  return Runner(workflow);
}

bool InstanceCache::InMemory(std::string_view workflow, std::string_view key) const {
  const WorkflowRunner* holding = Holding(workflow, key);
  return holding != nullptr && holding->Find(key) != nullptr;
}

Status InstanceCache::ReadError(std::string what, const Status& cause) const {
  return Status::IoError(what + " from " + where_ + ": " + cause.message());
}

Status InstanceCache::UnknownWorkflow(std::string_view workflow) const {
  return Status::InvalidArgument(where_ + " holds instances of workflow " +
                                 std::string(workflow) +
                                 ", which the loaded definitions do not have");
}

Result<WorkflowRunner*> InstanceCache::Load(std::string_view workflow, std::string_view key) {
  WorkflowRunner* holding = Holding(workflow, key);
  if (evicted_ == 0 || holding == nullptr || holding->Find(key) != nullptr) return holding;
  std::unordered_map<std::string, uint64_t> moved;
  Result<bool> loaded = store_->LoadInstance(workflow, key, [&](const store::InstanceRow& row) {
    return RestoreRow(row, moved);
  });
  if (!loaded.ok()) {
    return ReadError("loading " + std::string(workflow) + " instance " + std::string(key),
                     loaded.status());
  }
  if (!loaded.value()) return holding;
  loaded_.emplace_back(workflow, key);
  return Holding(workflow, key);  // a pinned version's runner when it started on one
}

Result<std::optional<rules::InstanceRef>> InstanceCache::Find(std::string_view workflow,
                                                              std::string_view key) {
  Result<WorkflowRunner*> runner = Load(workflow, key);
  if (!runner.ok()) return runner.status();
  const Instance* instance = runner.value() != nullptr ? runner.value()->Find(key) : nullptr;
  if (instance == nullptr) return std::optional<rules::InstanceRef>();
  return std::optional<rules::InstanceRef>(rules::InstanceRef{&runner.value()->def(), instance});
}

Result<std::optional<rules::InstanceRef>> InstanceCache::Current(std::string_view workflow,
                                                                 std::string_view var,
                                                                 const dsl::Value& value) {
  // Each version's runner has its own index: the latest on the shared index clock wins.
  std::optional<rules::InstanceRef> best;
  uint64_t best_at = 0;
  ForEachRunner([&](WorkflowRunner& runner) {
    if (runner.def().name != workflow) return;
    const int index = runner.def().VarIndex(var);
    const auto& indexes = runner.def().indexes;
    if (index < 0 || std::find(indexes.begin(), indexes.end(), index) == indexes.end()) return;
    const Instance* instance = runner.Current(index, value);
    if (instance == nullptr) return;
    const uint64_t at = runner.IndexedAt(*instance, index);
    if (!best || at > best_at) {
      best = rules::InstanceRef{&runner.def(), instance};
      best_at = at;
    }
  });
  if (evicted_open_ == 0) return best;
  Result<const Instance*> stored = CurrentInStore(workflow, var, value, best ? best_at : 0);
  if (!stored.ok()) return stored.status();
  if (stored.value() == nullptr) return best;
  return std::optional<rules::InstanceRef>(
      rules::InstanceRef{&Holding(workflow, stored.value()->key.s)->def(), stored.value()});
}

Result<const Instance*> InstanceCache::CurrentInStore(std::string_view workflow,
                                                      std::string_view var,
                                                      const dsl::Value& value, uint64_t after) {
  // The store's rows are as of the last commit: right for every instance not in memory, and
  // memory knows better for the others.
  std::string value_json;
  value.AppendJson(value_json);
  std::string latest;
  Status read = store_->ForEachIndexed(workflow, var, value_json,
                                       [&](std::string_view key, uint64_t at) {
                                         if (at <= after) return false;
                                         if (InMemory(workflow, key)) return true;
                                         latest = key;
                                         return false;
                                       });
  if (!read.ok()) {
    return ReadError("finding the " + std::string(workflow) + " instance with " +
                         std::string(var) + " " + value_json,
                     read);
  }
  if (latest.empty()) return nullptr;
  Result<WorkflowRunner*> runner = Load(workflow, latest);
  if (!runner.ok()) return runner.status();
  return runner.value() != nullptr ? runner.value()->Find(latest) : nullptr;
}

Status InstanceCache::LoadDue(int64_t now) {
  if (evicted_timed_ == 0 || now < evicted_due_) return Status();
  std::vector<std::pair<std::string, std::string>> due;
  Status read = store_->ForEachDue(now, [&](std::string_view workflow, std::string_view key) {
    if (!InMemory(workflow, key)) due.emplace_back(workflow, key);
  });
  for (const auto& [workflow, key] : due) {
    if (!read.ok()) break;
    read = Load(workflow, key).status();
  }
  // A bound: the instances in memory count too, and the next one due may be one of them.
  Result<std::optional<int64_t>> next = store_->NextDueAfter(now);
  if (read.ok() && !next.ok()) read = next.status();
  if (!read.ok()) return ReadError("finding the timers due by " + std::to_string(now), read);
  evicted_due_ = next.value().value_or(INT64_MAX);
  return Status();
}

Status InstanceCache::WriteChanged(
    const std::vector<std::pair<WorkflowRunner*, Instance*>>& changed) {
  std::string variables, indexed_at, timers;
  for (const auto& [runner, instance] : changed) {
    const dsl::StateDef& state = runner->def().states[static_cast<size_t>(instance->state)];
    variables = runner->VariablesJson(*instance);
    indexed_at = WorkflowRunner::IndexedAtJson(*instance);
    timers = WorkflowRunner::TimersJson(*instance);
    store::InstanceRow row;
    row.workflow = runner->def().name;
    row.key = instance->key.s;
    row.version = runner->version();
    row.state = state.name;
    row.final = state.final;
    row.variables = variables;
    row.indexed_at = indexed_at;
    row.timers = timers;
    row.created_pos = instance->created_pos;
    row.updated_pos = instance->updated_pos;
    row.overdue_since = instance->overdue_since;
    for (const ArmedTimer& t : instance->timers) {
      row.next_due = std::min(row.next_due.value_or(t.due), t.due);
    }
    TAKT_RETURN_IF_ERROR(store_->PutInstance(row));
    // The index rows of an instance that has them follow it, and go when it ends; one that has
    // none gets them when it is evicted (ChooseEvictions()). So an engine that never evicts an
    // open instance never writes one.
    if (index_stored_.empty() || index_stored_.count(instance) == 0) continue;
    if (state.final) {
      TAKT_RETURN_IF_ERROR(store_->DropIndexValues(row.workflow, row.key));
      index_stored_.erase(instance);
    } else {
      TAKT_RETURN_IF_ERROR(PutIndexValues(*runner, *instance));
    }
  }
  return Status();
}

Status InstanceCache::ChooseEvictions() {
  if (cap_ == 0) return Status();
  size_t in_memory = 0;
  ForEachRunner([&](const WorkflowRunner& runner) { in_memory += runner.size(); });
  if (in_memory <= cap_) return Status();
  // EvictCommitted() takes the final instances without a timer: what would stay are the others.
  struct Candidate {
    int64_t updated_pos;
    WorkflowRunner* runner;
    Instance* instance;
  };
  std::vector<Candidate> staying;
  ForEachRunner([&](WorkflowRunner& runner) {
    runner.ForEachUnordered([&](Instance& instance) {
      if (runner.Final(instance) && instance.timers.empty()) return;
      staying.push_back(Candidate{instance.updated_pos, &runner, &instance});
    });
  });
  if (staying.size() <= cap_) return Status();
  // Down to nine tenths of the cap, so that a sweep, which visits every instance, is not
  // needed after every batch. The key breaks ties (one event changing several instances), so
  // that a run evicts the same instances each time.
  const size_t evict = staying.size() - static_cast<size_t>(cap_ - cap_ / 10);
  std::nth_element(staying.begin(), staying.begin() + static_cast<std::ptrdiff_t>(evict),
                   staying.end(), [](const Candidate& a, const Candidate& b) {
                     return a.updated_pos != b.updated_pos ? a.updated_pos < b.updated_pos
                                                           : a.instance->key.s < b.instance->key.s;
                   });
  for (size_t i = 0; i < evict; ++i) {
    Instance& instance = *staying[i].instance;
    WorkflowRunner& runner = *staying[i].runner;
    if (!runner.Final(instance) && index_stored_.count(&instance) == 0) {
      TAKT_RETURN_IF_ERROR(PutIndexValues(runner, instance));
      index_stored_.insert(&instance);
    }
    chosen_.emplace_back(&runner, instance.key.s);
  }
  return Status();
}

void InstanceCache::EvictCommitted(
    const std::vector<std::pair<WorkflowRunner*, Instance*>>& changed) {
  evicted_keys_.clear();
  auto evict = [&](WorkflowRunner& runner, const Instance& instance) {
    std::string key = instance.key.s;
    if (!Drop(runner, instance, /*open=*/false)) return;
    ++evicted_;
    evicted_keys_.push_back(std::move(key));
  };
  for (const auto& [runner, instance] : changed) evict(*runner, *instance);
  for (const auto& [workflow, key] : loaded_) {
    WorkflowRunner* runner = Holding(workflow, key);
    const Instance* instance = runner != nullptr ? runner->Find(key) : nullptr;
    if (instance != nullptr) evict(*runner, *instance);
  }
  loaded_.clear();
  for (const auto& [runner, key] : chosen_) {
    const Instance* instance = runner->Find(key);
    if (instance == nullptr) continue;
    if (!instance->timers.empty()) {
      ++evicted_timed_;
      for (const ArmedTimer& t : instance->timers) evicted_due_ = std::min(evicted_due_, t.due);
    }
    if (!runner->Final(*instance)) ++evicted_open_;
    ++evicted_;
    evicted_keys_.push_back(key);
    Drop(*runner, *instance, /*open=*/true);
  }
  chosen_.clear();
}

bool InstanceCache::Drop(WorkflowRunner& runner, const Instance& instance, bool open) {
  const Instance* const address = &instance;
  if (open) {
    runner.Forget(instance);
  } else if (!runner.Evict(instance)) {
    return false;
  }
  index_stored_.erase(address);  // the address may be reused by the next instance
  return true;
}

void InstanceCache::ForgetBatch() {
  chosen_.clear();
  loaded_.clear();
}

Status InstanceCache::PutIndexValues(const WorkflowRunner& runner, const Instance& instance) {
  const dsl::WorkflowDef& def = runner.def();
  std::string value;
  for (size_t i = 0; i < def.indexes.size(); ++i) {
    const auto var = static_cast<size_t>(def.indexes[i]);
    value.clear();
    instance.vars[var].AppendJson(value);
    TAKT_RETURN_IF_ERROR(store_->PutIndexValue(def.name, instance.key.s, def.vars[var].name,
                                               value, instance.indexed_at[i]));
  }
  return Status();
}

Status InstanceCache::PrepareIndexValues() {
  if (cap_ == 0) return store_->ClearIndexValues();
  Result<std::vector<std::pair<std::string, std::string>>> versions = store_->OpenVersions();
  if (!versions.ok()) return versions.status();
  for (const auto& [workflow, version] : versions.value()) {
    const WorkflowRunner* runner = Runner(workflow);
    if (runner == nullptr) return UnknownWorkflow(workflow);
    if (version != runner->version()) {  // the version it runs on, else the loaded one
      Result<PinnedVersions::Version*> pinned = pinned_.Get(*store_, workflow, version);
      if (pinned.ok()) runner = pinned.value()->runner.get();
    }
    const dsl::WorkflowDef& def = runner->def();
    for (size_t i = 0; i < def.indexes.size(); ++i) {
      TAKT_RETURN_IF_ERROR(store_->FillIndexValues(
          workflow, version, def.vars[static_cast<size_t>(def.indexes[i])].name, i));
    }
  }
  return Status();
}

Status InstanceCache::RestoreRow(const store::InstanceRow& row,
                                 std::unordered_map<std::string, uint64_t>& moved) {
  WorkflowRunner* runner = Runner(row.workflow);
  if (runner == nullptr) return UnknownWorkflow(row.workflow);
  // An instance stays on the version it started on.
  if (row.version != runner->version()) {
    Result<PinnedVersions::Version*> pinned = pinned_.Get(*store_, row.workflow, row.version);
    if (pinned.ok()) {
      runner = pinned.value()->runner.get();
    } else {
      log_(LogLevel::kWarn, pinned.status().message());
      ++moved[std::string(row.workflow)];
    }
  }
  TAKT_RETURN_IF_ERROR(runner->Restore(row.key, row.state, row.variables, row.indexed_at,
                                       row.timers, row.created_pos, row.updated_pos,
                                       row.overdue_since));
  // With a cap, every open instance has its index rows (PrepareIndexValues(), ChooseEvictions()).
  if (!row.final && cap_ > 0) index_stored_.insert(runner->Find(row.key));
  // It was counted among those in the store only.
  --evicted_;
  if (!row.final) --evicted_open_;
  if (row.timers != "[]") --evicted_timed_;
  return Status();
}

Status InstanceCache::Restore() {
  for (WorkflowRunner& runner : runners_) runner.Clear();
  pinned_.Clear();
  chosen_.clear();
  loaded_.clear();
  index_stored_.clear();
  // Restored instances count on their index rows, also after a failed batch: an open instance
  // that never left memory has none, and is about to leave it.
  TAKT_RETURN_IF_ERROR(PrepareIndexValues());
  // Final instances stay in the store; what memory needs of them is how many there are, and
  // the index clock, which must go on from the latest index time any instance took.
  Result<std::vector<store::Store::InstanceTotals>> totals = store_->InstanceTotalsByWorkflow();
  if (!totals.ok()) return totals.status();
  evicted_ = 0;
  evicted_open_ = 0;
  evicted_timed_ = 0;
  for (const store::Store::InstanceTotals& t : totals.value()) {
    if (Runner(t.workflow) == nullptr) return UnknownWorkflow(t.workflow);
    evicted_ += t.final_count + t.open_count;
    evicted_open_ += t.open_count;
    evicted_timed_ += t.timed_count;
    index_clock_ = std::max(index_clock_, t.last_indexed_at);
  }
  // The open instances, or with a cap the most recently changed of them.
  std::unordered_map<std::string, uint64_t> moved;  // workflow -> instances on the loaded version
  TAKT_RETURN_IF_ERROR(store_->ForEachOpenInstance(
      [&](const store::InstanceRow& row) { return RestoreRow(row, moved); }, cap_));
  for (const auto& [workflow, count] : moved) {
    log_(LogLevel::kWarn, std::to_string(count) + " " + workflow +
                              " instance(s) started on a version that cannot be compiled again "
                              "and continue on the loaded one");
  }
  // Timers of the instances left in the store (final ones included) fire when due.
  Result<std::optional<int64_t>> due = store_->NextDueAfter(INT64_MIN);
  if (!due.ok()) return due.status();
  evicted_due_ = due.value().value_or(INT64_MAX);
  return Status();
}

}  // namespace takt
