// Runs one compiled workflow over its instances: creates an instance on the start event, fires
// the first transition whose guard holds, runs actions, and emits commands.
#ifndef TAKT_ENGINE_WORKFLOW_RUNNER_H_
#define TAKT_ENGINE_WORKFLOW_RUNNER_H_

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dsl/catalog.h"
#include "engine/event/event.h"
#include "engine/workflow/effects.h"
#include "engine/workflow/instance.h"
#include "takt/engine.h"
#include "takt/status.h"

namespace takt {

class WorkflowRunner {
 public:
  explicit WorkflowRunner(const dsl::WorkflowDef& def);

  const dsl::WorkflowDef& def() const { return def_; }
  // Whether `instance` is in a final state: it takes no more events, its lifecycle is
  // "completed" (an open one's "active"; nothing else moves an instance).
  bool Final(const Instance& instance) const {
    return def_.states[static_cast<size_t>(instance.state)].final;
  }
  // Does any transition (or the start) of this workflow react to events of type `type_id`?
  bool Handles(int type_id) const { return def_.handles[static_cast<size_t>(type_id)]; }

  // Applies `event` to the instance of its key. Returns true when it fired a transition or
  // created the instance, appending its transitions and commands to `out`; false with
  // `reason` set when the event is out of sequence for this workflow.
  bool Apply(const Event& event, WorkflowEffects& out, std::string& reason);

  // Delivers signal `name` to the instance `key`: false with `reason` when there is no such
  // instance or its state does not react to the signal.
  bool Signal(std::string_view key, std::string_view name, std::string_view cause,
              WorkflowEffects& out, std::string& reason);

  // Event time for what happens next: timers armed by a state entry are due `now` plus their
  // duration. The engine sets it to each event's ts, and to a timer's due time while it fires.
  void set_now(int64_t now) { now_ = now; }
  // The (due, arming order) of the next timer to fire; none when no timer is armed.
  std::optional<std::pair<int64_t, uint64_t>> NextTimer() const;
  // Fires the next timer: the first of its transitions whose guard holds, as an event would
  // (none holding: the timer is spent all the same). Commands name `cause` ("timer:...") as
  // theirs, which this call writes.
  void FireNextTimer(WorkflowEffects& out, std::string& cause);

  // Counts index updates on `clock` (not owned) instead of a clock of its own, so that the
  // runners of several versions of one workflow order their instances on one time line.
  void set_index_clock(uint64_t* clock) { index_clock_ = clock; }
  // When `instance` took its current value of index variable `var`, on the index clock.
  uint64_t IndexedAt(const Instance& instance, int var) const;
  // Content hash of the definition this runner runs, recorded with each instance.
  void set_version(std::string version) { version_ = std::move(version); }
  const std::string& version() const { return version_; }

  // Puts back an instance the store kept, with its timers and, when it is not final, in the
  // indexes where its index times place it. kInvalidArgument when `state` is not a state of
  // this definition (the instance would be stranded) or the variables do not fit it.
  Status Restore(std::string_view key, std::string_view state, std::string_view variables_json,
                 std::string_view indexed_at_json, std::string_view timers_json,
                 int64_t created_pos, int64_t updated_pos,
                 std::optional<int64_t> overdue_since = std::nullopt);
  // Forgets every instance.
  void Clear();
  // Forgets `instance` when it can take nothing more (a final state, no timer armed), for a
  // store that holds it to give it back through Restore() when it is asked for: true when it
  // was forgotten. Pointers to it are then invalid.
  bool Evict(const Instance& instance);
  // Forgets `instance`, open or not, with its timers and index entries, for a store that holds
  // all of it (the engine's cap on instances in memory). Pointers to it are then invalid.
  void Forget(const Instance& instance);
  // The instance's index times as a JSON array.
  static std::string IndexedAtJson(const Instance& instance);
  // The instance's armed timers as a JSON array of [after_ms, due, seq].
  static std::string TimersJson(const Instance& instance);

  const Instance* Find(std::string_view key) const;
  Instance* Find(std::string_view key) {
    return const_cast<Instance*>(static_cast<const WorkflowRunner*>(this)->Find(key));
  }
  // The instance that most recently took `value` for index variable `var` and is not in a
  // final state; null when there is none. REQUIRES: `var` is one of the workflow's indexes.
  const Instance* Current(int var, const dsl::Value& value);
  size_t size() const { return instances_.size(); }
  size_t active() const { return active_; }
  // Every instance, in key order.
  void ForEach(const std::function<void(const Instance&)>& visit) const;
  // Every instance, in no order: cheaper, for what does not depend on one. The instances may
  // be changed, but not so that the runner's indexes or timers would have to follow.
  template <typename Visit>
  void ForEachUnordered(Visit visit) {
    for (auto& [key, instance] : instances_) visit(instance);
  }
  // The instance's variables as a JSON object.
  std::string VariablesJson(const Instance& instance) const;

 private:
  // Records in `out` that `instance` moved or changed.
  void Record(WorkflowEffects& out, Instance& instance, int from, int to,
              std::string_view trigger);
  // The instance of key lookup_, or null with `reason` set.
  Instance* Lookup(std::string& reason);
  // Fires the first transition for `trigger` in `table` whose guard holds: its actions, then
  // the move to its target. False when the instance takes no events or none fires.
  template <typename Table, typename Trigger>
  bool FireFirst(const Table& table, const Trigger& trigger, std::string_view trigger_text,
                 Instance& instance,
                 const std::vector<dsl::Value>* fields, std::string_view cause,
                 WorkflowEffects& out);
  // Runs what entering `state` means: for a final state, its entry actions and the end of
  // the instance's lifecycle.
  void Enter(int state, Instance& instance, std::string_view cause, WorkflowEffects& out);
  // Cancels the instance's armed timers and arms those of its current state.
  void ArmTimers(Instance& instance);
  void Run(const std::vector<dsl::Action>& actions, Instance& instance,
           const std::vector<dsl::Value>* fields, std::string_view cause,
           WorkflowEffects& out);
  // Moves `instance` from `old_value` to its current value of index variable `var`.
  void Reindex(int var, const dsl::Value& old_value, Instance& instance);
  // Removes `instance` from the list of its value of each index variable.
  void Unindex(const Instance& instance);
  static std::string IndexKey(const dsl::Value& value);

  const dsl::WorkflowDef& def_;
  std::unordered_map<std::string, Instance> instances_;
  std::string lookup_;  // reused for map lookups by string_view
  size_t active_ = 0;
  std::string emitted_by_;  // "workflow NAME"
  // Per index variable: value (as JSON text) -> instances that took it, oldest first.
  std::unordered_map<int, std::unordered_map<std::string, std::vector<Instance*>>> indexes_;
  uint64_t own_index_clock_ = 0;
  uint64_t* index_clock_ = &own_index_clock_;  // ticks each time an instance takes an index value
  std::string version_;
  int64_t now_ = 0;
  uint64_t timer_seq_ = 0;  // ticks with each timer armed
  // Every armed timer: (due, seq, instance). Also in each instance's `timers`.
  std::set<std::tuple<int64_t, uint64_t, Instance*>> timers_;
};

}  // namespace takt

#endif  // TAKT_ENGINE_WORKFLOW_RUNNER_H_
