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
#include <utility>
#include <vector>

#include "dsl/catalog.h"
#include "engine/commit_queue.h"
#include "engine/event/decode.h"
#include "engine/event/id_set.h"
#include "engine/event/reorder.h"
#include "engine/rules/reloader.h"
#include "engine/rules/rule_set.h"
#include "engine/state/versions.h"
#include "engine/store/store.h"
#include "engine/store/wal_sync.h"
#include "engine/workflow/runner.h"
#include "takt/engine.h"

namespace takt {

class EngineImpl final : public Engine, private rules::InstanceLookup {
 public:
  EngineImpl(EngineOptions options, std::unique_ptr<dsl::Definitions> definitions,
             std::unique_ptr<rules::RuleSet> rules);
  ~EngineImpl() override;
  // Starts watching the rules directory when the options ask for it.
  Status StartWatching();
  // Opens options_.store_path, records the definitions and restores the state it holds.
  Status OpenStore();

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
  Outcome ApplyAccepted(const Event& event, std::string_view body, SubmitResult& result);
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
  // Fires, in due order, every timer due at or before `now`; their commands join the result.
  void FireTimers(int64_t now, SubmitResult& result);
  void RunRules(const Event& event, SubmitResult& result);
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
  // Replaces all in-memory state by what the database holds: every instance not yet final (the
  // most recently changed ones, with max_instances_in_memory), and
  // the sequence positions of held events (the rest stay in the database until they are asked
  // for: LoadEvicted(), LoadEvictedSequence()).
  Status LoadFromStore();
  // Puts an instance the store holds into the runner of the version it started on, and counts
  // it out of the evicted ones. `moved` counts, by workflow, instances whose version cannot be
  // compiled again (they go on the loaded one).
  Status RestoreInstance(const store::InstanceRow& row,
                         std::unordered_map<std::string, uint64_t>& moved);
  Status UnknownWorkflow(std::string_view workflow) const;
  // engine_cache.cc, the instance cache over the store.
  // After a commit: forgets the batch's instances that reached the end of their lifecycle,
  // which the database now holds, and those read back from it, so that memory holds open
  // instances only.
  void EvictFinished();
  // With options_.max_instances_in_memory, at the end of a batch before its commit: when more
  // than the cap would stay in memory, chooses the least recently changed down to nine tenths
  // of it (so that a sweep, which visits every instance, is not needed after every batch), and
  // writes the instance_index rows of the open ones that have none. EvictChosen() forgets them
  // after the commit.
  Status ChooseEvictions();
  void EvictChosen();
  // With a store, before the timers due by `now` fire: brings back the instances not in memory
  // that have one due, so that every timer fires in due order.
  void LoadDue(int64_t now);
  // Current() among the instances not in memory: the one that took `value` for `var` latest,
  // after `after` on the index clock (0: any), brought back; null when there is none.
  const Instance* CurrentInStore(std::string_view workflow, std::string_view var,
                                 const dsl::Value& value, uint64_t after);
  // Whether instance `key` of `workflow` is in memory, in any version's runner.
  bool InMemory(std::string_view workflow, std::string_view key) const;
  // The rows of instance_index for `instance`, which is open: its value of each index variable.
  Status PutIndexValues(const WorkflowRunner& runner, const Instance& instance);
  // At open: with a cap, a row in instance_index for every open instance that has none (a
  // database that ran without one, or from before schema 5); without, no rows, since nothing
  // would keep them.
  Status PrepareIndexValues();
  // Brings instance `key` of `workflow` back from the store when it was evicted, and returns
  // the runner holding it, as Holding() does. A failed read is kept in store_read_error_, and
  // fails the event's batch.
  WorkflowRunner* LoadEvicted(std::string_view workflow, std::string_view key);
  // After a commit: forgets the sequence positions whose key has no instance in memory (a
  // finished order's, an asset's) and no held event, among those the batch changed or read
  // back and those of the instances just evicted; the database holds them.
  void EvictSequences();
  // Brings the sequence position of (source, key) back from the store when it was evicted, as
  // LoadEvicted() does for instances.
  void LoadEvictedSequence(std::string_view source, std::string_view key);
  Status RecordDefinitions();
  void ForgetBatch();
  void Deliver(const rules::RuleDecision& signal, const Event& event, const std::string& emitted_by,
               SubmitResult& result);
  WorkflowRunner* Runner(std::string_view workflow);

  // The runner holding `key`: a pinned version's (state/versions.h), else the loaded
  // version's (null when there is no such workflow).
  WorkflowRunner* Holding(std::string_view workflow, std::string_view key) const;
  // Every runner: the loaded versions', then the pinned ones'.
  template <typename Visit>
  void ForEachRunner(Visit visit) const;
  // Loads and tests rules_dir in a fresh set; touches nothing of the engine's, so it may run on
  // the watcher's thread.
  Result<std::unique_ptr<rules::RuleSet>> PrepareRules() const;
  // Moves the state over and makes `next` the active set.
  Status SwapIn(std::unique_ptr<rules::RuleSet> next);

  // rules::InstanceLookup, for ctx.instance() and ctx.current().
  std::optional<rules::InstanceRef> Find(std::string_view workflow,
                                         std::string_view key) const override;
  std::optional<rules::InstanceRef> Current(std::string_view workflow, std::string_view var,
                                            const dsl::Value& value) const override;

  EngineOptions options_;
  std::unique_ptr<dsl::Definitions> definitions_;
  EventDecoder decoder_;
  Event event_;  // reused: its field values keep their buffers
  std::vector<WorkflowRunner> runners_;  // sorted by workflow name
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

  // Per (source, key): the last seq, for gap and lateness counts.
  struct SequenceState {
    int64_t last_seq = 0, gaps = 0, late = 0;
    int64_t last_pos = 0;  // with a store: its last event in the log, whatever the outcome
    int64_t last_accepted = 0;  // the highest seq applied: the `monotonic` policy's bar
    bool changed = false;  // in changed_sequences_
  };
  FlatStringMap<SequenceState> sequences_;
  std::string sequence_key_;  // reused: source + '\0' + key
  // The key of (source, key) in sequences_, built in sequence_key_.
  const std::string& SequenceKey(std::string_view source, std::string_view key);
  // The (source, key) of a key of sequences_.
  static std::pair<std::string_view, std::string_view> SplitSequenceKey(std::string_view key);
  // With a store: the position `s`, at `key`, is written at the end of the batch.
  void MarkSequenceChanged(SequenceState& s, const std::string& key);
  ReorderBuffer reorder_;
  int64_t clock_ = INT64_MIN;  // the latest event time seen, for the reorder policy's waits
  std::vector<HeldEvent> ready_;   // reused by ReleaseHeld()
  uint64_t index_clock_ = 0;  // shared by all runners: see WorkflowRunner::set_index_clock
  RunnerJournal journal_;
  // Older versions that instances are pinned to (with a store only).
  PinnedVersions pinned_{&index_clock_, &journal_};
  std::vector<std::string> moved_keys_;

  // With a store only.
  std::unique_ptr<store::Store> store_;
  // The store's, with Durability::kFull (else null); kept past Close() for the submitters
  // still waiting for a sync.
  std::shared_ptr<store::WalSync> wal_sync_;
  uint64_t evicted_instances_ = 0;  // instances in the database and not in memory
  uint64_t evicted_open_ = 0;       // of those, the ones not in a final state
  uint64_t evicted_timed_ = 0;      // of those, the ones with a timer armed
  // No timer of an instance not in memory is due before it (a bound: the database is asked
  // again when event time passes it).
  int64_t evicted_due_ = INT64_MAX;
  // Chosen by ChooseEvictions() for EvictChosen(), by (runner, key).
  std::vector<std::pair<WorkflowRunner*, std::string>> chosen_;
  // Instances LoadEvicted() read back since the last batch, as (workflow, key): evicted again
  // at the end of the next one.
  std::vector<std::pair<std::string, std::string>> loaded_;
  // A failed read of LoadEvicted() or LoadEvictedSequence(), for the event being applied.
  Status store_read_error_;
  uint64_t evicted_sequences_ = 0;  // sequence positions in the database and not in memory
  std::vector<std::string> loaded_sequences_;  // read back since the last batch
  std::vector<std::string> evicted_keys_;  // of the instances the last EvictFinished() forgot
  std::vector<std::string> owners_;        // the sources that own event types, each once
  std::vector<std::string> changed_sequences_;
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
  // A group of several submissions, merged into one batch; the leader's, reused.
  std::vector<std::string_view> group_events_;
  std::vector<SubmitResult> group_results_;
  std::vector<const InputCursor*> group_cursors_;
};

template <typename Visit>
void EngineImpl::ForEachRunner(Visit visit) const {
  // Runners are the engine's own state; visiting them does not change the engine.
  auto* self = const_cast<EngineImpl*>(this);
  for (WorkflowRunner& runner : self->runners_) visit(runner);
  self->pinned_.ForEachRunner([&](WorkflowRunner& runner) { visit(runner); });
}

}  // namespace takt

#endif  // TAKT_ENGINE_ENGINE_IMPL_H_
