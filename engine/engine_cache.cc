// The engine's instance cache over the store. With a store, memory holds open instances only
// (and, with max_instances_in_memory, only the most recently changed of them): what a batch
// finished or evicted is forgotten after its commit, and brought back from the database when
// an event, a timer, a signal or a rule asks for it. The sequence positions of keys without an
// instance in memory are cached the same way.
#include <algorithm>
#include <string>
#include <utility>

#include "engine/engine_impl.h"

namespace takt {

void EngineImpl::EvictFinished() {
  evicted_keys_.clear();
  auto evict = [&](WorkflowRunner& runner, const Instance& instance) {
    std::string key = instance.key.s;
    if (!runner.Evict(instance)) return;
    ++evicted_instances_;
    evicted_keys_.push_back(std::move(key));
  };
  for (const auto& [runner, instance] : journal_.changed) {
    instance->changed = false;
    evict(*runner, *instance);
  }
  journal_.changed.clear();
  for (const auto& [workflow, key] : loaded_) {
    WorkflowRunner* runner = Holding(workflow, key);
    const Instance* instance = runner != nullptr ? runner->Find(key) : nullptr;
    if (instance != nullptr) evict(*runner, *instance);
  }
  loaded_.clear();
}

WorkflowRunner* EngineImpl::LoadEvicted(std::string_view workflow, std::string_view key) {
  WorkflowRunner* holding = Holding(workflow, key);
  if (evicted_instances_ == 0 || holding == nullptr || holding->Find(key) != nullptr) {
    return holding;
  }
  std::unordered_map<std::string, uint64_t> moved;
  Result<bool> loaded = store_->LoadInstance(workflow, key, [&](const store::InstanceRow& row) {
    return RestoreInstance(row, moved);
  });
  if (!loaded.ok()) {
    store_read_error_ = Status::IoError("loading " + std::string(workflow) + " instance " +
                                        std::string(key) + " from " + options_.store_path +
                                        ": " + loaded.status().message());
    return holding;
  }
  if (!loaded.value()) return holding;
  loaded_.emplace_back(workflow, key);
  return Holding(workflow, key);  // a pinned version's runner when it started on one
}

bool EngineImpl::InMemory(std::string_view workflow, std::string_view key) const {
  const WorkflowRunner* holding = Holding(workflow, key);
  return holding != nullptr && holding->Find(key) != nullptr;
}

Status EngineImpl::ChooseEvictions() {
  const uint64_t cap = options_.max_instances_in_memory;
  if (cap == 0) return Status();
  size_t in_memory = 0;
  ForEachRunner([&](const WorkflowRunner& runner) { in_memory += runner.size(); });
  if (in_memory <= cap) return Status();
  // EvictFinished() takes the final instances without a timer after the commit: what would
  // stay are the others.
  struct Candidate {
    int64_t updated_pos;
    WorkflowRunner* runner;
    Instance* instance;
  };
  std::vector<Candidate> staying;
  ForEachRunner([&](WorkflowRunner& runner) {
    runner.ForEachUnordered([&](Instance& instance) {
      if (runner.Final(instance) &&
          instance.timers.empty()) {
        return;
      }
      staying.push_back(Candidate{instance.updated_pos, &runner, &instance});
    });
  });
  if (staying.size() <= cap) return Status();
  // The key breaks ties (one event changing several instances), so that a run evicts the same
  // instances each time.
  const size_t evict = staying.size() - static_cast<size_t>(cap - cap / 10);
  std::nth_element(staying.begin(), staying.begin() + static_cast<std::ptrdiff_t>(evict),
                   staying.end(), [](const Candidate& a, const Candidate& b) {
                     return a.updated_pos != b.updated_pos ? a.updated_pos < b.updated_pos
                                                           : a.instance->key.s < b.instance->key.s;
                   });
  for (size_t i = 0; i < evict; ++i) {
    Instance& instance = *staying[i].instance;
    WorkflowRunner& runner = *staying[i].runner;
    const bool open = !runner.Final(instance);
    if (open && !instance.index_stored) {
      TAKT_RETURN_IF_ERROR(PutIndexValues(runner, instance));
      instance.index_stored = true;
    }
    chosen_.emplace_back(&runner, instance.key.s);
  }
  return Status();
}

void EngineImpl::EvictChosen() {
  for (const auto& [runner, key] : chosen_) {
    const Instance* instance = runner->Find(key);
    if (instance == nullptr) continue;
    if (!instance->timers.empty()) {
      ++evicted_timed_;
      for (const ArmedTimer& t : instance->timers) evicted_due_ = std::min(evicted_due_, t.due);
    }
    if (!runner->Final(*instance)) ++evicted_open_;
    ++evicted_instances_;
    evicted_keys_.push_back(key);
    runner->Forget(*instance);
  }
  chosen_.clear();
}

void EngineImpl::LoadDue(int64_t now) {
  if (evicted_timed_ == 0 || now < evicted_due_) return;
  std::vector<std::pair<std::string, std::string>> due;
  Status read = store_->ForEachDue(now, [&](std::string_view workflow, std::string_view key) {
    if (!InMemory(workflow, key)) due.emplace_back(workflow, key);
  });
  for (const auto& [workflow, key] : due) LoadEvicted(workflow, key);
  // A bound: the instances in memory count too, and the next one due may be one of them.
  Result<std::optional<int64_t>> next = store_->NextDueAfter(now);
  if (read.ok() && !next.ok()) read = next.status();
  if (!read.ok()) {
    store_read_error_ = Status::IoError("finding the timers due by " + std::to_string(now) +
                                        " in " + options_.store_path + ": " + read.message());
    return;
  }
  evicted_due_ = next.value().value_or(INT64_MAX);
}

const Instance* EngineImpl::CurrentInStore(std::string_view workflow, std::string_view var,
                                           const dsl::Value& value, uint64_t after) {
  // The database's rows are as of the last commit: right for every instance not in memory,
  // and memory knows better for the others.
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
    store_read_error_ = Status::IoError("finding the " + std::string(workflow) + " instance with " +
                                        std::string(var) + " " + value_json + " in " +
                                        options_.store_path + ": " + read.message());
    return nullptr;
  }
  if (latest.empty()) return nullptr;
  const WorkflowRunner* runner = LoadEvicted(workflow, latest);
  return runner != nullptr ? runner->Find(latest) : nullptr;
}

Status EngineImpl::PutIndexValues(const WorkflowRunner& runner, const Instance& instance) {
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

Status EngineImpl::PrepareIndexValues() {
  if (options_.max_instances_in_memory == 0) return store_->ClearIndexValues();
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

void EngineImpl::EvictSequences() {
  auto evict = [&](const std::string& key) {
    const auto [source, seq_key] = SplitSequenceKey(key);
    bool in_memory = false;
    ForEachRunner([&](const WorkflowRunner& runner) {
      in_memory = in_memory || runner.Find(seq_key) != nullptr;
    });
    if (in_memory || !reorder_.Forget(source, seq_key)) return;
    if (sequences_.Erase(key)) ++evicted_sequences_;
  };
  for (const std::string& key : changed_sequences_) evict(key);
  for (const std::string& key : loaded_sequences_) evict(key);
  loaded_sequences_.clear();
  // A finished order's positions that this batch did not touch: those of the other sources.
  std::string key;
  for (const std::string& instance_key : evicted_keys_) {
    for (const std::string& source : owners_) {
      key.assign(source);
      key += '\0';
      key += instance_key;
      if (sequences_.Lookup(key) != nullptr) evict(key);
    }
  }
}

void EngineImpl::LoadEvictedSequence(std::string_view source, std::string_view key) {
  if (sequences_.Lookup(SequenceKey(source, key)) != nullptr) return;
  store::SequenceRow row;
  Result<bool> loaded = store_->LoadSequence(source, key, row);
  if (!loaded.ok()) {
    store_read_error_ = Status::IoError("loading the sequence position of " +
                                        std::string(source) + "/" + std::string(key) + " from " +
                                        options_.store_path + ": " + loaded.status().message());
    return;
  }
  if (!loaded.value()) return;
  sequences_[sequence_key_] =
      SequenceState{row.last_seq, row.gaps, row.late, row.last_pos, row.last_accepted, false};
  if (row.next_seq != 1) reorder_.SetNext(source, key, row.next_seq);
  --evicted_sequences_;
  loaded_sequences_.push_back(sequence_key_);
}

}  // namespace takt
