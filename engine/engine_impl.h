// The engine behind include/takt/engine.h. Submit() is the path of one event:
//   decode + validate -> duplicate? -> owner? -> workflows (transition, or out of sequence)
//   -> rules on the accepted event (commands; signals delivered to workflows at once)
// With a store, a batch of events is one transaction: each event's log row, audit rows and
// commands are written as it is applied, the changed instances, rule states and sequence
// positions at the end of the batch, then the commit, and only then are the results returned.
// A failed commit puts the engine back to what the database holds (engine_store.cc).
// Threads (engine_submit.cc): submissions go through a CommitQueue, and everything that reads
// or changes the engine's state holds state_mu_; the methods below marked "caller holds
// state_mu_" assume it.
#ifndef TAKT_ENGINE_ENGINE_IMPL_H_
#define TAKT_ENGINE_ENGINE_IMPL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "dsl/catalog.h"
#include "engine/commit_queue.h"
#include "engine/event/decode.h"
#include "engine/event/id_set.h"
#include "engine/event/reorder.h"
#include "engine/rules/reloader.h"
#include "engine/rules/rule_set.h"
#include "engine/state/instance_cache.h"
#include "engine/state/sequences.h"
#include "engine/store/store.h"
#include "engine/store/wal_sync.h"
#include "engine/workflow/runner.h"
#include "takt/engine.h"

namespace takt {

// Engine::Open() on a store of the caller's (any implementation of store::Store) instead of
// options.store_path: for the store conformance and fault tests, and for stores that are not
// SQLite files.
Result<std::unique_ptr<Engine>> OpenEngineOnStore(EngineOptions options,
                                                  std::unique_ptr<store::Store> store,
                                                  std::string where);

class EngineImpl;
// An engine of `options` (its limits, policies and rules_dir) on definitions already loaded,
// with no store and no watcher: what the rule test vectors run on.
Result<std::unique_ptr<EngineImpl>> NewEngine(EngineOptions options,
                                              std::shared_ptr<const dsl::Definitions> defs);

class EngineImpl final : public Engine {
 public:
  EngineImpl(EngineOptions options, std::shared_ptr<const dsl::Definitions> definitions,
             std::unique_ptr<rules::RuleSet> rules);
  ~EngineImpl() override;
  // Starts watching the rules directory when the options ask for it.
  Status StartWatching();
  // Opens options_.store_path, if any, as AttachStore() does.
  Status OpenStore();
  // Keeps the engine's state in `store` from now on (`where` names it in errors): records the
  // definitions and restores the state it holds.
  Status AttachStore(std::unique_ptr<store::Store> store, std::string where);

  Status Submit(std::string_view event_json, SubmitResult& result) override;
  Status SubmitBatch(const std::vector<std::string_view>& events, std::vector<SubmitResult>& results,
                     const InputCursor* cursor) override;
  Result<uint64_t> CursorPosition(std::string_view name) override;
  Result<InputCursor> Cursor(std::string_view name) override;
  bool durable() const override { return durable_; }
  Status ForEachCommand(const std::function<void(const Command&)>& visit) override;
  Result<std::vector<PendingCommand>> PendingCommands(size_t max) override;
  Status MarkDelivered(std::string_view command_id) override;
  Status MarkFailed(std::string_view command_id, std::string_view error, bool give_up) override;
  Status Close() override;
  void ForEachInstance(const std::function<void(const InstanceSummary&)>& visit) const override;
  Result<InstanceInfo> GetInstance(std::string_view workflow, std::string_view key) const override;
  EngineStats stats() const override;
  std::vector<std::string> workflows() const override;
  void Log(LogLevel level, std::string_view message) const override;
  std::vector<RuleInfo> rules() const override;
  Status ReloadRules() override;

 private:
  // engine_submit.cc: the CommitQueue's side of a submission. A group of submissions is applied
  // as one batch under state_mu_ (ApplyGroup returns the ticket of its commit), then waits for
  // its sync, then its results are handed over.
  CommitQueue::Handlers QueueHandlers();
  uint64_t ApplyGroup(const std::vector<CommitQueue::Submission*>& group);
  // MarkDelivered, MarkFailed: `change` under state_mu_, then its sync.
  Status ChangeDelivery(const std::function<Status()>& change);
  // Returns once the store's DurabilityTicket() `ticket` is on disk (at once for 0: no store,
  // or kNormal). Without state_mu_, so that the next group is applied meanwhile.
  Status WaitDurable(uint64_t ticket) const;
  // Events in order as one unit, with a store in one transaction with the cursors. Caller
  // holds state_mu_.
  Status ApplyBatch(const std::vector<std::string_view>& events, std::vector<SubmitResult>& results,
                    const std::vector<const InputCursor*>& cursors);
  // Hands the results' commands to options_.on_command, released events' included. Called
  // without state_mu_, so that the callback may query the engine.
  void CallOnCommand(const std::vector<SubmitResult>& results) const;
  void CallOnCommand(const SubmitResult& result) const;
  // Fails a call that may not be made from on_command, or on a closed engine.
  Status CheckCanSubmit() const;
  Status CheckOutbox() const;
  static Status Closed() { return Status::InvalidArgument("the engine is closed"); }

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
  bool WithinLimits(std::string_view json, std::string& reason) const;
  static std::string_view LoggedPrefix(std::string_view json);
  bool IsMonotonic(std::string_view source) const;
  // Raises the `monotonic` bar for a held event applied on its release (it was counted in its
  // sequence position when it arrived).
  void TrackAccepted(std::string_view source, std::string_view key, int64_t seq);
  // engine_store.cc: links the log row at `pos` to the previous one of its (source, key) and
  // returns that one's position (0: none).
  int64_t ChainEvent(const Event& event, int64_t pos);
  // Adds the result's outcome and commands to the stats.
  void Count(const SubmitResult& result);
  // Fires, in due order, every timer due at or before `now`, into effects_.
  Status FireTimers(int64_t now);
  // The rules on an accepted event. A rule's failure is the rule's (result.rule_errors); a
  // failed read of the store behind ctx.instance() or ctx.current() fails the event.
  Status RunRules(const Event& event, SubmitResult& result);
  // Gives the event's commands their ids.
  void NameCommands(SubmitResult& result) const;
  void SwapInPending();

  // engine_store.cc: the event's log row, audit rows and outbox rows.
  Status Record(std::string_view body, const Event* event, SubmitResult& result);
  // A held event applied now: what became of it, at the releasing event's position.
  Status RecordRelease(const HeldEvent& held, const Event& event, SubmitResult& result);
  // The audit and outbox rows of what an event caused; `audit` carries the event's fields.
  Status RecordEffects(store::AuditRow& audit, const Transition* own, SubmitResult& result);
  // The end of a batch: changed instances, rule states, sequence positions and the cursor.
  Status FlushBatch(const std::vector<const InputCursor*>& cursors);
  // Replaces all in-memory state by what the store holds: the open instances (the most
  // recently changed ones, with max_instances_in_memory), rule states, held events and the
  // sequence positions of their keys; the rest is read back as events ask for it.
  Status LoadFromStore();
  Status RecordDefinitions();
  void ForgetBatch();
  Status Deliver(const rules::RuleDecision& signal, const Event& event,
                 const std::string& emitted_by, SubmitResult& result);
  // Loads and tests rules_dir in a fresh set; touches nothing of the engine's, so it may run on
  // the watcher's thread.
  Result<std::unique_ptr<rules::RuleSet>> PrepareRules() const;
  // Moves the state over and makes `next` the active set.
  Status SwapIn(std::unique_ptr<rules::RuleSet> next);


  EngineOptions options_;
  // Shared with the engines that a reload's rule test vectors run on.
  std::shared_ptr<const dsl::Definitions> definitions_;
  EventDecoder decoder_;
  Event event_;  // reused: its field values keep their buffers
  // The loaded files without workflows (event schemas and owners): part of every workflow's
  // version, and stored with it.
  std::vector<const dsl::SourceFile*> declaration_files_;
  // Runners by event type: which workflows an event of each type goes to.
  std::vector<std::vector<WorkflowRunner*>> routes_;
  std::unique_ptr<rules::RuleSet> rules_;  // null: no rules
  rules::SandboxLimits limits_;
  // A set the watcher prepared, waiting for the next event. Guarded by pending_mu_.
  std::mutex pending_mu_;
  std::unique_ptr<rules::RuleSet> pending_;
  std::atomic<bool> has_pending_{false};
  std::atomic<uint64_t> reload_failures_{0};  // counted on the watcher's thread too
  std::unique_ptr<rules::RuleWatcher> watcher_;  // last: stopped first
  std::vector<rules::RuleDecision> decisions_;  // reused for every rule evaluation
  IdSet seen_ids_;  // without a store: every well-formed id
  std::string timer_cause_;  // reused: "timer:WORKFLOW/KEY/DURATION@DUE"
  EngineStats stats_;
  uint64_t position_ = 0;  // of the last event submitted

  ReorderBuffer reorder_;
  int64_t clock_ = INT64_MIN;  // the latest event time seen, for the reorder policy's waits
  std::vector<HeldEvent> ready_;   // reused by ReleaseHeld()
  WorkflowEffects effects_;  // of the event being applied; reused
  InstanceCache instances_;
  SequencePositions sequences_{&reorder_};
  std::vector<std::string> moved_keys_;

  // With a store only.
  std::unique_ptr<store::Store> store_;
  // The store's, with Durability::kFull (else null); kept past Close() for the submitters
  // still waiting for a sync.
  std::shared_ptr<store::WalSync> wal_sync_;
  std::vector<std::string> owners_;        // the sources that own event types, each once
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

  // Threads.
  // The most events one group commit takes from the queue: enough to amortise a commit over
  // many small submissions, few enough to keep one transaction's latency near a batch's.
  static constexpr size_t kMaxGroupEvents = 4096;
  mutable std::mutex state_mu_;  // everything above, while applying or reading
  CommitQueue queue_;
  const CommitQueue::Handlers queue_handlers_ = QueueHandlers();
  bool durable_ = false;
  bool closed_ = false;
  // False while memory may hold less than the store (a failed batch whose rollback could not
  // read the committed state back): the next batch reads it back first.
  bool restored_ = true;
  // A group of several submissions, merged into one batch; the leader's, reused.
  std::vector<std::string_view> group_events_;
  std::vector<SubmitResult> group_results_;
  std::vector<const InputCursor*> group_cursors_;
};

}  // namespace takt

#endif  // TAKT_ENGINE_ENGINE_IMPL_H_
