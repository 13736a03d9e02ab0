// The engine's side of the durable store: what each event leaves in the database (its log row,
// audit rows, outbox rows), what a batch leaves at its end (instances, rule states, sequence
// positions, the input cursor), and putting all of it back into memory at open or after a
// failed commit.
#include <algorithm>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "engine/engine_impl.h"
#include "engine/store/sqlite_store.h"

namespace takt {

Status EngineImpl::OpenStore() {
  if (options_.store_path.empty()) return Status();
  store::StoreOptions options;
  options.path = options_.store_path;
  options.durability = options_.durability;
  options.max_bytes = options_.store_max_bytes;
  Result<std::unique_ptr<store::SqliteStore>> opened = store::OpenSqliteStore(options);
  if (!opened.ok()) return opened.status();
  store_ = std::move(opened).value();
  wal_sync_ = store_->wal_sync();
  durable_ = true;
  for (WorkflowRunner& runner : runners_) runner.set_journal(&journal_);
  // Before the state is loaded: restored instances count on it. Not in LoadFromStore(), which
  // also runs after a failed commit, when writing may well fail again.
  TAKT_RETURN_IF_ERROR(PrepareIndexValues());
  TAKT_RETURN_IF_ERROR(LoadFromStore());
  TAKT_RETURN_IF_ERROR(RecordDefinitions());
  return WaitDurable(store_->DurabilityTicket());
}

Status EngineImpl::RecordDefinitions() {
  const auto pos = static_cast<int64_t>(position_);
  nlohmann::json imports = nlohmann::json::array();
  for (const dsl::SourceFile* file : declaration_files_) imports.push_back({file->name, file->text});
  const std::string imports_json = imports.dump();
  for (const WorkflowRunner& runner : runners_) {
    const dsl::WorkflowDef& def = runner.def();
    const dsl::SourceFile* file = def.where.file;
    TAKT_RETURN_IF_ERROR(store_->PutDefinition(runner.version(), "workflow", def.name,
                                               file != nullptr ? file->name : "",
                                               file != nullptr ? file->text : "", imports_json,
                                               pos));
  }
  if (rules_ == nullptr) return Status();
  for (const auto& rule : rules_->rules()) {
    TAKT_RETURN_IF_ERROR(store_->PutDefinition(rule->version, "rule", rule->name, rule->file,
                                               rule->text, "[]", pos));
  }
  return Status();
}

WorkflowRunner* EngineImpl::Holding(std::string_view workflow, std::string_view key) const {
  if (PinnedVersions::Version* pinned = pinned_.Holding(workflow, key)) {
    return pinned->runner.get();
  }
  return const_cast<EngineImpl*>(this)->Runner(workflow);
}

Status EngineImpl::RestoreInstance(const store::InstanceRow& row,
                                   std::unordered_map<std::string, uint64_t>& moved) {
  WorkflowRunner* runner = Runner(row.workflow);
  if (runner == nullptr) return UnknownWorkflow(row.workflow);
  // An instance stays on the version it started on.
  if (row.version != runner->version()) {
    Result<PinnedVersions::Version*> pinned = pinned_.Get(*store_, row.workflow, row.version);
    if (pinned.ok()) {
      runner = pinned.value()->runner.get();
    } else {
      Log(LogLevel::kWarn, pinned.status().message());
      ++moved[std::string(row.workflow)];
    }
  }
  TAKT_RETURN_IF_ERROR(runner->Restore(row.key, row.state, row.variables, row.indexed_at,
                                       row.timers, row.created_pos, row.updated_pos));
  // With a cap, every open instance has its rows in instance_index (PrepareIndexValues(),
  // ChooseEvictions()).
  runner->Find(row.key)->index_stored = !row.final && options_.max_instances_in_memory > 0;
  // It was counted among those in the database only.
  --evicted_instances_;
  if (!row.final) --evicted_open_;
  if (row.timers != "[]") --evicted_timed_;
  return Status();
}

Status EngineImpl::UnknownWorkflow(std::string_view workflow) const {
  return Status::InvalidArgument(options_.store_path + " holds instances of workflow " +
                                 std::string(workflow) +
                                 ", which the loaded definitions do not have");
}

Status EngineImpl::LoadFromStore() {
  for (WorkflowRunner& runner : runners_) runner.Clear();
  pinned_.Clear();
  if (rules_ != nullptr) rules_->ClearStates();
  sequences_.Clear();

  // Final instances stay in the database; what memory needs of them is how many there are, and
  // the index clock, which must go on from the latest index time any instance took.
  Result<std::vector<store::Store::InstanceTotals>> totals = store_->InstanceTotalsByWorkflow();
  if (!totals.ok()) return totals.status();
  evicted_instances_ = 0;
  evicted_open_ = 0;
  evicted_timed_ = 0;
  for (const store::Store::InstanceTotals& t : totals.value()) {
    if (Runner(t.workflow) == nullptr) return UnknownWorkflow(t.workflow);
    evicted_instances_ += t.final_count + t.open_count;
    evicted_open_ += t.open_count;
    evicted_timed_ += t.timed_count;
    index_clock_ = std::max(index_clock_, t.last_indexed_at);
  }
  // The open instances, or with a cap the most recently changed of them.
  std::unordered_map<std::string, uint64_t> moved;  // workflow -> instances on the loaded version
  TAKT_RETURN_IF_ERROR(store_->ForEachOpenInstance(
      [&](const store::InstanceRow& row) { return RestoreInstance(row, moved); },
      options_.max_instances_in_memory));
  for (const auto& [workflow, count] : moved) {
    Log(LogLevel::kWarn, std::to_string(count) + " " + workflow +
                             " instance(s) started on a version that cannot be compiled again "
                             "and continue on the loaded one");
  }
  // Timers of the instances left in the database (final ones included) fire when due.
  Result<std::optional<int64_t>> due = store_->NextDueAfter(INT64_MIN);
  if (!due.ok()) return due.status();
  evicted_due_ = due.value().value_or(INT64_MAX);

  uint64_t unknown_rules = 0;
  if (rules_ != nullptr) {
    TAKT_RETURN_IF_ERROR(store_->ForEachRuleState(
        [&](std::string_view rule, std::string_view key, std::string_view state) -> Status {
          Result<bool> restored = rules_->RestoreState(rule, key, state);
          if (!restored.ok()) return restored.status();
          if (!restored.value()) ++unknown_rules;
          return Status();
        }));
  }
  if (unknown_rules > 0) {
    Log(LogLevel::kInfo, std::to_string(unknown_rules) +
                             " stored rule state(s) belong to rules not loaded; they are kept");
  }

  // Sequence positions are read back as events need them; those of keys holding events now.
  reorder_.Clear();
  loaded_sequences_.clear();
  Result<store::Store::SequenceTotals> sequences = store_->SequenceTotalsOfAll();
  if (!sequences.ok()) return sequences.status();
  evicted_sequences_ = sequences.value().count;
  TAKT_RETURN_IF_ERROR(store_->ForEachHeld([&](const store::HeldRow& row) {
    LoadEvictedSequence(row.source, row.key);
    reorder_.Hold(HeldEvent{static_cast<uint64_t>(row.pos), std::string(row.source),
                            std::string(row.key), std::string(row.id), std::string(row.body),
                            row.seq, row.ts});
  }));
  if (!store_read_error_.ok()) return std::exchange(store_read_error_, Status());
  clock_ = INT64_MIN;
  if (reorder_.held() > 0) {  // held events wait in event time: where had it got to?
    Result<int64_t> clock = store_->AppliedClock();
    if (!clock.ok()) return clock.status();
    clock_ = clock.value();
  }

  Result<store::OutcomeCounts> counts = store_->Counts();
  if (!counts.ok()) return counts.status();
  const store::OutcomeCounts& c = counts.value();
  stats_.accepted = c.by_outcome[static_cast<int>(Outcome::kApplied)];
  stats_.duplicates = c.by_outcome[static_cast<int>(Outcome::kDuplicate)];
  stats_.ownership_violations = c.by_outcome[static_cast<int>(Outcome::kOwnershipViolation)];
  stats_.out_of_sequence = c.by_outcome[static_cast<int>(Outcome::kOutOfSequence)];
  stats_.malformed = c.by_outcome[static_cast<int>(Outcome::kMalformed)];
  stats_.held = c.by_outcome[static_cast<int>(Outcome::kHeld)];
  stats_.events = stats_.accepted + stats_.duplicates + stats_.ownership_violations +
                  stats_.out_of_sequence + stats_.malformed + stats_.held;
  stats_.commands = c.commands;
  stats_.sequence_gaps = sequences.value().gaps;
  stats_.late_events = sequences.value().late;
  position_ = c.last_pos;
  return Status();
}

namespace {

// "released -> executing on order.started", "created in released on order.released".
std::string Describe(const Transition& t) {
  const dsl::WorkflowDef& def = t.runner->def();
  std::string text =
      t.from < 0 ? "created in " : def.states[static_cast<size_t>(t.from)].name + " -> ";
  return text + def.states[static_cast<size_t>(t.to)].name + " on " + t.trigger;
}

}  // namespace

namespace {

// The transition an event fired on its own key's instance, if any: named in the event's row
// (the common case); other transitions (through signals, or in a second workflow) get rows.
const Transition* OwnTransition(const RunnerJournal& journal, std::string_view key,
                                std::string_view type) {
  for (const Transition& t : journal.transitions) {
    if (t.instance->key.s == key && t.trigger == type) return &t;
  }
  return nullptr;
}

}  // namespace

Status EngineImpl::Record(std::string_view body, const Event* event, SubmitResult& result) {
  store::EventRow row;
  row.pos = static_cast<int64_t>(result.position);
  row.id = result.event_id;
  row.outcome = result.outcome;
  row.reason = result.reason;
  row.body = body;
  if (event != nullptr) {
    row.envelope = true;
    row.source = event->source;
    row.type = event->type;
    row.key = event->key;
    row.seq = event->seq;
    row.ts = event->ts;
    row.prev_pos = ChainEvent(*event, row.pos);
  }
  const Transition* own = OwnTransition(journal_, row.key, row.type);
  std::string effect;
  if (own != nullptr) {
    row.workflow = own->runner->def().name;
    row.version = own->runner->version();
    effect = Describe(*own);
    row.effect = effect;
  }
  TAKT_RETURN_IF_ERROR(store_->AppendEvent(row));
  if (result.outcome == Outcome::kHeld) {
    TAKT_RETURN_IF_ERROR(store_->Hold(row.pos));
  }
  store::AuditRow audit;
  audit.pos = row.pos;
  audit.at = row.ts;
  audit.event_id = result.event_id;
  audit.source = row.source;
  audit.key = row.key;
  return RecordEffects(audit, own, result);
}

int64_t EngineImpl::ChainEvent(const Event& event, int64_t pos) {
  // Apply() read the position back if it was evicted. A duplicate may be the first event of
  // its (source, key): it starts the chain, and the position it makes counts nothing
  // (last_seq 0, as if there were none).
  SequenceState& s = sequences_[SequenceKey(event.source, event.key)];
  const int64_t previous = s.last_pos;
  s.last_pos = pos;
  MarkSequenceChanged(s, sequence_key_);
  return previous;
}

Status EngineImpl::RecordRelease(const HeldEvent& held, const Event& event, SubmitResult& result) {
  // At the releasing event's position: the held event's row stays as it was logged (held), and
  // this row says what became of it.
  const Transition* own = OwnTransition(journal_, held.key, event.type);
  store::AuditRow audit;
  audit.pos = static_cast<int64_t>(position_);
  audit.at = held.ts;
  audit.event_id = held.id;
  audit.source = held.source;
  audit.key = held.key;
  audit.kind = "released";
  std::string detail = std::string(event.type) + " " + OutcomeName(result.outcome);
  if (!result.reason.empty()) detail += ": " + result.reason;
  if (own != nullptr) {
    audit.workflow = own->runner->def().name;
    audit.version = own->runner->version();
    detail += ": " + Describe(*own);
  }
  audit.detail = detail;
  TAKT_RETURN_IF_ERROR(store_->AddAudit(audit));
  TAKT_RETURN_IF_ERROR(store_->Release(static_cast<int64_t>(held.pos), result.outcome,
                                       audit.pos));
  audit.workflow = {};
  audit.version = {};
  return RecordEffects(audit, own, result);
}

Status EngineImpl::RecordEffects(store::AuditRow& audit, const Transition* own,
                                 SubmitResult& result) {
  const std::string_view event_key = audit.key;
  std::string detail;
  for (const Transition& t : journal_.transitions) {
    if (&t == own) continue;
    audit.kind = "transition";
    audit.workflow = t.runner->def().name;
    audit.key = t.instance->key.s;
    audit.version = t.runner->version();
    detail = Describe(t);
    audit.detail = detail;
    TAKT_RETURN_IF_ERROR(store_->AddAudit(audit));
  }
  audit.workflow = {};
  audit.version = {};

  for (const RuleError& e : result.rule_errors) {
    audit.kind = "rule_error";
    audit.key = event_key;
    detail = e.rule + " failed: " + e.message;
    audit.detail = detail;
    audit.version = e.version;
    TAKT_RETURN_IF_ERROR(store_->AddAudit(audit));
  }
  for (const SignalRecord& sig : result.signals) {
    audit.kind = "signal";
    audit.workflow = sig.workflow;
    audit.key = sig.key.empty() ? event_key : std::string_view(sig.key);
    detail = sig.name + (sig.delivered ? " delivered" : " ignored") + " (from " +
             sig.emitted_by + ")";
    audit.detail = detail;
    audit.version = {};
    TAKT_RETURN_IF_ERROR(store_->AddAudit(audit));
  }
  audit.workflow = {};

  for (size_t i = 0; i < result.commands.size(); ++i) {
    const Command& c = result.commands[i];
    store::CommandRow command;
    command.id = c.id;
    command.name = c.name;
    command.payload = c.payload_json;
    command.caused_by = c.caused_by;
    command.emitted_by = c.emitted_by;
    command.status = "pending";
    command.pos = audit.pos;
    TAKT_RETURN_IF_ERROR(store_->AddCommand(command));
    store_->CrashPoint("mid_outbox");
    // A workflow's command belongs to the instance that emitted it; a rule's to the event's key.
    audit.kind = "command";
    audit.key = event_key;
    for (const auto& [index, owner] : journal_.command_owners) {
      if (index == i) audit.key = owner->key.s;
    }
    detail = c.id + " " + c.name + " " + c.payload_json + " (from " + c.emitted_by + ")";
    audit.detail = detail;
    TAKT_RETURN_IF_ERROR(store_->AddAudit(audit));
  }
  journal_.transitions.clear();
  journal_.command_owners.clear();
  return Status();
}

Status EngineImpl::FlushBatch(const std::vector<const InputCursor*>& cursors) {
  std::string variables, indexed_at, timers;
  for (const auto& [runner, instance] : journal_.changed) {
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
    for (const ArmedTimer& t : instance->timers) {
      row.next_due = std::min(row.next_due.value_or(t.due), t.due);
    }
    TAKT_RETURN_IF_ERROR(store_->PutInstance(row));
    // The rows of an instance that has them follow it, and go when it ends; one that has none
    // gets them when it is evicted (ChooseEvictions()). So an engine that never evicts an open
    // instance never writes one.
    if (instance->index_stored && state.final) {
      TAKT_RETURN_IF_ERROR(store_->DropIndexValues(row.workflow, row.key));
      instance->index_stored = false;
    } else if (instance->index_stored && instance->index_changed) {
      TAKT_RETURN_IF_ERROR(PutIndexValues(*runner, *instance));
    }
    instance->index_changed = false;
  }
  for (const auto& [id, s] : changed_rule_states_) {
    TAKT_RETURN_IF_ERROR(rules_->EncodeStateOf(s.rule, s.key, encoded_state_));
    TAKT_RETURN_IF_ERROR(store_->PutRuleState(s.rule, s.key, encoded_state_, s.pos));
  }
  for (const std::string& key : changed_sequences_) {
    const SequenceState& s = sequences_[key];
    const auto [source, seq_key] = SplitSequenceKey(key);
    TAKT_RETURN_IF_ERROR(store_->PutSequence(store::SequenceRow{
        source, seq_key, s.last_seq, s.gaps, s.late, reorder_.Next(source, seq_key), s.last_pos,
        s.last_accepted}));
  }
  for (const InputCursor* cursor : cursors) {
    if (cursor == nullptr) continue;
    TAKT_RETURN_IF_ERROR(store_->SetCursor(*cursor));
  }
  return Status();
}

void EngineImpl::ForgetBatch() {
  chosen_.clear();
  for (const auto& [runner, instance] : journal_.changed) instance->changed = false;
  journal_.changed.clear();
  journal_.transitions.clear();
  journal_.command_owners.clear();
  for (const std::string& key : changed_sequences_) {
    if (SequenceState* s = sequences_.Lookup(key)) s->changed = false;
  }
  changed_sequences_.clear();
  changed_rule_states_.clear();
  loaded_.clear();
}

}  // namespace takt
