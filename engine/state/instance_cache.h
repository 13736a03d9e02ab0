// Every workflow instance the engine runs, wherever it is held: the runners of the loaded
// definitions (one per workflow), the runners of the older versions that instances are pinned
// to (versions.h), and, with a store, the cache over it. With a store, memory holds open
// instances only (and, with a cap, only the most recently changed of them): what a batch
// finished or evicted is forgotten after its commit, and read back when an event, a timer, a
// signal or a rule asks for it. Every read that can reach the store returns a Result, so that
// a failed read fails the event that needed it.
#ifndef TAKT_ENGINE_STATE_INSTANCE_CACHE_H_
#define TAKT_ENGINE_STATE_INSTANCE_CACHE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "engine/rules/lua_bridge.h"
#include "engine/state/versions.h"
#include "engine/store/store.h"
#include "engine/workflow/runner.h"
#include "takt/status.h"

namespace takt {

class InstanceCache {
 public:
  using LogFn = std::function<void(LogLevel, std::string_view)>;
  // For `workflows` workflows; `log` takes the warnings of a read-back.
  InstanceCache(size_t workflows, LogFn log);

  // The runner of the loaded version of `def`, added once per workflow before any other call.
  WorkflowRunner& Add(const dsl::WorkflowDef& def, std::string version);
  // From now on instances live in `store` (not owned), named `where` in errors; with `cap`
  // > 0 at most about that many stay in memory (EngineOptions::max_instances_in_memory).
  void Attach(store::Store* store, std::string where, uint64_t cap);

  // The loaded version's runner of `workflow`; null when there is no such workflow.
  const WorkflowRunner* Runner(std::string_view workflow) const;
  WorkflowRunner* Runner(std::string_view workflow) {
    return const_cast<WorkflowRunner*>(static_cast<const InstanceCache*>(this)->Runner(workflow));
  }
  const std::vector<WorkflowRunner>& runners() const { return runners_; }
  // The runner holding `key` in memory: a pinned version's, else the loaded version's (null
  // when there is no such workflow).
  const WorkflowRunner* Holding(std::string_view workflow, std::string_view key) const;
  WorkflowRunner* Holding(std::string_view workflow, std::string_view key) {
    return const_cast<WorkflowRunner*>(
        static_cast<const InstanceCache*>(this)->Holding(workflow, key));
  }
  PinnedVersions& pinned() { return pinned_; }
  bool has_pinned() const { return !pinned_.empty(); }
  // Every runner: the loaded versions', then the pinned ones'.
  template <typename Visit>
  void ForEachRunner(Visit visit) {
    for (WorkflowRunner& runner : runners_) visit(runner);
    pinned_.ForEachRunner([&](WorkflowRunner& runner) { visit(runner); });
  }
  template <typename Visit>
  void ForEachRunner(Visit visit) const {
    for (const WorkflowRunner& runner : runners_) visit(runner);
    pinned_.ForEachRunner([&](const WorkflowRunner& runner) { visit(runner); });
  }

  // Reads, which bring an instance the store holds back into memory.
  // The runner holding instance `key` of `workflow`, as Holding() does, after reading the
  // instance back when it was evicted.
  Result<WorkflowRunner*> Load(std::string_view workflow, std::string_view key);
  // Instance `key` of `workflow`, wherever it is held; none when there is no such instance.
  Result<std::optional<rules::InstanceRef>> Find(std::string_view workflow, std::string_view key);
  // The instance not in a final state that took `value` for index variable `var` latest, on
  // any version; none when there is none (or `var` is not an index of `workflow`).
  Result<std::optional<rules::InstanceRef>> Current(std::string_view workflow,
                                                    std::string_view var,
                                                    const dsl::Value& value);
  // Before the timers due by `now` fire: reads back the instances with one due, so that every
  // timer fires in due order.
  Status LoadDue(int64_t now);

  // The end of a batch, before its commit: the rows of the instances the batch changed (and
  // their index rows), then, with a cap, the choice of the instances to evict.
  Status WriteChanged(const std::vector<std::pair<WorkflowRunner*, Instance*>>& changed);
  Status ChooseEvictions();
  // After the commit: forgets the changed instances that reached their end, those read back
  // and those chosen, which the store now holds. Their keys are in evicted_keys().
  void EvictCommitted(const std::vector<std::pair<WorkflowRunner*, Instance*>>& changed);
  const std::vector<std::string>& evicted_keys() const { return evicted_keys_; }
  // A batch that is not committed: forgets its choices (the instances are restored anew).
  void ForgetBatch();

  // Replaces every instance in memory by what the store holds: the open ones (the most
  // recently changed, with a cap); the rest are read back as they are asked for. First gives
  // every open instance its index rows (with a cap; without, none, since nothing would keep
  // them), so that Current() finds those not in memory.
  Status Restore();

  // Instances in the store and not in memory, and of those the ones not in a final state.
  uint64_t evicted() const { return evicted_; }
  uint64_t evicted_open() const { return evicted_open_; }

 private:
  // Puts an instance the store holds into the runner of the version it started on. `moved`
  // counts, by workflow, instances whose version cannot be compiled again (they go on the
  // loaded one).
  Status RestoreRow(const store::InstanceRow& row,
                    std::unordered_map<std::string, uint64_t>& moved);
  // Current() among the instances not in memory, after `after` on the index clock (0: any).
  Result<const Instance*> CurrentInStore(std::string_view workflow, std::string_view var,
                                         const dsl::Value& value, uint64_t after);
  bool InMemory(std::string_view workflow, std::string_view key) const;
  Status PrepareIndexValues();
  // The rows of the store's index for `instance`, which is open: its value of each index var.
  Status PutIndexValues(const WorkflowRunner& runner, const Instance& instance);
  Status UnknownWorkflow(std::string_view workflow) const;
  Status ReadError(std::string what, const Status& cause) const;

  // Forgets `instance` from the runner (Evict(), or Forget() when `open` is allowed) and
  // from index_stored_: true when it was forgotten.
  bool Drop(WorkflowRunner& runner, const Instance& instance, bool open);

  LogFn log_;
  std::vector<WorkflowRunner> runners_;  // in the catalog's order
  uint64_t index_clock_ = 0;  // shared by all runners: see WorkflowRunner::set_index_clock
  PinnedVersions pinned_;

  store::Store* store_ = nullptr;  // null: every instance stays in memory
  std::string where_;
  uint64_t cap_ = 0;
  uint64_t evicted_ = 0;
  uint64_t evicted_open_ = 0;
  uint64_t evicted_timed_ = 0;  // of those, the ones with a timer armed
  // No timer of an instance not in memory is due before it (a bound: the store is asked
  // again when event time passes it).
  int64_t evicted_due_ = INT64_MAX;
  // Chosen by ChooseEvictions(), by (runner, key).
  std::vector<std::pair<WorkflowRunner*, std::string>> chosen_;
  // Read back since the last batch, as (workflow, key): evicted again at the end of the next.
  std::vector<std::pair<std::string, std::string>> loaded_;
  std::vector<std::string> evicted_keys_;  // by the last EvictCommitted()
  // With a cap: the open instances in memory whose index rows the store holds (from when they
  // were first evicted); their rows follow them while they change, and go when they end.
  std::unordered_set<const Instance*> index_stored_;
};

}  // namespace takt

#endif  // TAKT_ENGINE_STATE_INSTANCE_CACHE_H_
