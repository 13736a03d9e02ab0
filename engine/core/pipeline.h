// The path of events through the engine, without threads or locks (the engine, engine_impl.h,
// calls it under its lock):
//   decode + validate -> duplicate? -> owner? -> in order? -> timers -> workflows (transition,
//   or out of sequence) -> rules on the accepted event (commands; signals delivered at once)
// Each event's effects (workflow/effects.h) are a value that, with a store, pipeline_store.cc
// turns into its rows: the event's log row, audit rows and commands as it is applied, the
// changed instances, rule states and sequence positions at the end of the batch, then the
// commit. A failed batch leaves nothing, in the store or in memory.
#ifndef TAKT_ENGINE_CORE_PIPELINE_H_
#define TAKT_ENGINE_CORE_PIPELINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "dsl/catalog.h"
#include "engine/event/decode.h"
#include "engine/event/id_set.h"
#include "engine/event/reorder.h"
#include "engine/rules/rule_set.h"
#include "engine/state/instance_cache.h"
#include "engine/state/sequences.h"
#include "engine/store/store.h"
#include "engine/workflow/effects.h"
#include "engine/workflow/runner.h"
#include "takt/engine.h"

namespace takt {

// The sandbox limits EngineOptions set for every rule.
rules::SandboxLimits RuleLimits(const EngineOptions& options);

class Pipeline {
 public:
  // `options` (not owned) outlive the pipeline; `rules` may be null (no rules).
  Pipeline(const EngineOptions& options, std::shared_ptr<const dsl::Definitions> definitions,
           std::unique_ptr<rules::RuleSet> rules);

  // Keeps the state in `store` from now on (`where` names it in errors): records the
  // definitions and restores the state the store holds.
  Status AttachStore(std::unique_ptr<store::Store> store, std::string where);
  store::Store* store() { return store_.get(); }
  bool has_store() const { return store_ != nullptr; }
  // Makes the store whole and compact (Store::Checkpoint()) and closes it.
  Status CloseStore();
  // Events in order as one unit; with a store in one transaction with the cursors, and a
  // failure leaves nothing of it (results empty).
  Status ApplyBatch(const std::vector<std::string_view>& events, std::vector<SubmitResult>& results,
                    const std::vector<const InputCursor*>& cursors);
  // Fires every workflow timer due at or before `now` (wall clock or event time, ms since the
  // epoch) with no event needed, as one batch; `result` gets their commands (position: the last
  // event's). A timer fires once: it is spent in the instance committed with its commands.
  Status AdvanceClock(int64_t now, SubmitResult& result);
  // One event, with no batch around it: the in-memory engine's path. REQUIRES: no store.
  Status ApplyOne(std::string_view event_json, SubmitResult& result) {
    return SubmitOne(event_json, result);
  }
  // Makes `next` the active rule set, with the state of the current one; recorded in the store.
  Status SwapRules(std::unique_ptr<rules::RuleSet> next);
  const rules::RuleSet* rules() const { return rules_.get(); }
  const std::shared_ptr<const dsl::Definitions>& definitions() const { return definitions_; }

  // Queries, between batches.
  void ForEachInstance(const std::function<void(const InstanceSummary&)>& visit) const;
  Result<InstanceInfo> GetInstance(std::string_view workflow, std::string_view key) const;
  // The counts; the instance counts include those only the store holds.
  EngineStats stats() const;
  std::vector<std::string> workflows() const;
  void Log(LogLevel level, std::string_view message) const;

 private:
  // Runs `apply` as one transaction with the end of the batch and `cursors`; a failure rolls
  // the store and memory back to the last commit and clears `results`. REQUIRES: a store.
  Status InBatch(const std::function<Status()>& apply,
                 const std::vector<const InputCursor*>& cursors,
                 std::vector<SubmitResult>& results);
  // One event: decode, the checks, workflows, rules; with a store also its rows.
  Status SubmitOne(std::string_view event_json, SubmitResult& result);
  // The checks in PLANT.md's order, then the reorder policy, then ApplyAccepted().
  Result<Outcome> Apply(const Event& event, std::string_view body, SubmitResult& result);
  // Timers, workflows and rules for an event that passed the checks (or was released).
  Result<Outcome> ApplyAccepted(const Event& event, std::string_view body, SubmitResult& result);
  // Applies the held events that `now` (event time) lets go, into result.released.
  Status ReleaseHeld(int64_t now, SubmitResult& result);
  // Remembers the event's id: false when it was seen before.
  Result<bool> Remember(std::string_view id);
  // Counts the event in its (source, key)'s sequence position; `applied` also raises the bar
  // of the `monotonic` policy, the highest seq applied, which is kept whatever the policy.
  void TrackSequence(const Event& event, bool applied);
  // The limits on an event's text (EngineOptions::max_event_bytes, max_json_depth): false, with
  // the reason, when it is over one. What of such an event is logged: its first bytes.
  bool WithinSize(std::string_view json, std::string& reason) const;
  bool WithinDepth(std::string_view json, std::string& reason) const;
  static std::string_view LoggedPrefix(std::string_view json);
  bool IsMonotonic(std::string_view source) const;
  // Raises the `monotonic` bar for a held event applied on its release (it was counted in its
  // sequence position when it arrived).
  void TrackAccepted(std::string_view source, std::string_view key, int64_t seq);
  // Adds the result's outcome and commands to the stats.
  void Count(const SubmitResult& result);
  // The runner whose next timer is due first, at or before `now`; null when none is. The
  // instances due must be in memory (InstanceCache::LoadDue).
  WorkflowRunner* NextDue(int64_t now);
  // Fires, in due order, every timer due at or before `now`, into effects_.
  Status FireTimers(int64_t now);
  // The rules on an accepted event. A rule's failure is the rule's (result.rule_errors); a
  // failed read of the store behind ctx.instance() or ctx.current() fails the event.
  Status RunRules(const Event& event, SubmitResult& result);
  Status Deliver(const rules::RuleDecision& signal, const Event& event,
                 const std::string& emitted_by, SubmitResult& result);
  // Gives the event's commands their ids.
  void NameCommands(SubmitResult& result) const;

  // pipeline_store.cc: the event's log row, audit rows and outbox rows.
  Status Record(std::string_view body, const Event* event, SubmitResult& result);
  // A held event applied now: what became of it, at the releasing event's position.
  Status RecordRelease(const HeldEvent& held, const Event& event, SubmitResult& result);
  // The audit and outbox rows of what an event caused (effects_); `audit` carries the
  // event's fields. Notes the instances it changed for the end of the batch.
  Status RecordEffects(store::AuditRow& audit, const Transition* own, SubmitResult& result);
  // Links the log row at `pos` to the previous one of its (source, key) and returns that
  // one's position (0: none).
  int64_t ChainEvent(const Event& event, int64_t pos);
  // The end of a batch: changed instances, rule states, sequence positions and the cursors.
  Status FlushBatch(const std::vector<const InputCursor*>& cursors);
  // Replaces all in-memory state by what the store holds: the open instances (the most
  // recently changed ones, with max_instances_in_memory), rule states, held events and the
  // sequence positions of their keys; the rest is read back as events ask for it.
  Status LoadFromStore();
  Status RecordDefinitions();
  void ForgetBatch();

  const EngineOptions& options_;
  // Shared with the engines that a reload's rule test vectors run on.
  std::shared_ptr<const dsl::Definitions> definitions_;
  EventDecoder decoder_;
  Event event_;  // reused: its field values keep their buffers
  // The loaded files without workflows (event schemas and owners): part of every workflow's
  // version, and stored with it.
  std::vector<const dsl::SourceFile*> declaration_files_;
  // Runners by event type: which workflows an event of each type goes to.
  std::vector<std::vector<WorkflowRunner*>> routes_;
  std::vector<std::string> owners_;  // the sources that own event types, each once
  std::unique_ptr<rules::RuleSet> rules_;  // null: no rules
  std::vector<rules::RuleDecision> decisions_;  // reused for every rule evaluation
  IdSet seen_ids_;  // without a store: every well-formed id
  std::string timer_cause_;  // reused: "timer:WORKFLOW/KEY/DURATION@DUE"
  EngineStats stats_;
  uint64_t position_ = 0;  // of the last event submitted

  ReorderBuffer reorder_;
  int64_t clock_ = INT64_MIN;  // the latest event time seen, for the reorder policy's waits
  std::vector<HeldEvent> ready_;  // reused by ReleaseHeld()
  std::vector<std::string> moved_keys_;  // reused by ReleaseHeld()
  WorkflowEffects effects_;  // of the event being applied; reused
  InstanceCache instances_;
  SequencePositions sequences_{&reorder_};

  // With a store only.
  std::unique_ptr<store::Store> store_;
  // False while memory may hold less than the store (a failed batch whose rollback could not
  // read the committed state back): the next batch reads it back first.
  bool restored_ = true;
  // The instances the batch changed, each once, in the order they first changed: their rows
  // are written at its end.
  std::vector<std::pair<WorkflowRunner*, Instance*>> changed_;
  std::unordered_set<const Instance*> changed_set_;
  // Rule states changed in the batch, encoded once at its end: rule name, encoded key, position.
  struct ChangedRuleState {
    std::string rule, key;
    int64_t pos = 0;
  };
  std::unordered_map<std::string, ChangedRuleState> changed_rule_states_;  // by rule + key
  std::string state_key_;      // reused for every evaluation
  std::string rule_state_id_;  // reused: rule name + '\0' + state key
  std::string encoded_state_;
};

}  // namespace takt

#endif  // TAKT_ENGINE_CORE_PIPELINE_H_
