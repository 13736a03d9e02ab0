// The pipeline's side of the durable store: what each event leaves in the database (its log row,
// audit rows, outbox rows), what a batch leaves at its end (instances, rule states, sequence
// positions, the input cursor), and putting all of it back into memory at open or after a
// failed commit.
#include <algorithm>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "engine/core/pipeline.h"

namespace takt {

Status Pipeline::AttachStore(std::unique_ptr<store::Store> store, std::string where) {
  store_ = std::move(store);
  instances_.Attach(store_.get(), where, options_.max_instances_in_memory);
  sequences_.Attach(store_.get(), where);
  TAKT_RETURN_IF_ERROR(LoadFromStore());
  return RecordDefinitions();
}

Status Pipeline::CloseStore() {
  if (store_ == nullptr) return Status();
  Status status = store_->Checkpoint();
  store_.reset();
  return status;
}

Status Pipeline::SwapRules(std::unique_ptr<rules::RuleSet> next) {
  TAKT_RETURN_IF_ERROR(rules_->TransferStateTo(*next));
  rules_ = std::move(next);
  ++stats_.rule_reloads;
  return store_ != nullptr ? RecordDefinitions() : Status();
}

Status Pipeline::RecordDefinitions() {
  const auto pos = static_cast<int64_t>(position_);
  nlohmann::json imports = nlohmann::json::array();
  for (const dsl::SourceFile* file : declaration_files_) {
    imports.push_back({file->name, file->text});
  }
  const std::string imports_json = imports.dump();
  for (const WorkflowRunner& runner : instances_.runners()) {
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

Status Pipeline::LoadFromStore() {
  if (rules_ != nullptr) rules_->ClearStates();
  TAKT_RETURN_IF_ERROR(instances_.Restore());

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
  Result<store::Store::SequenceTotals> sequences = sequences_.Restore();
  if (!sequences.ok()) return sequences.status();
  Status read;
  TAKT_RETURN_IF_ERROR(store_->ForEachHeld([&](const store::HeldRow& row) {
    if (read.ok()) read = sequences_.Load(row.source, row.key);
    reorder_.Hold(HeldEvent{static_cast<uint64_t>(row.pos), std::string(row.source),
                            std::string(row.key), std::string(row.id), std::string(row.body),
                            row.seq, row.ts});
  }));
  TAKT_RETURN_IF_ERROR(read);
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
const Transition* OwnTransition(const WorkflowEffects& effects, std::string_view key,
                                std::string_view type) {
  for (const Transition& t : effects.transitions) {
    if (t.instance->key.s == key && t.trigger == type) return &t;
  }
  return nullptr;
}

}  // namespace

Status Pipeline::Record(std::string_view body, const Event* event, SubmitResult& result) {
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
  const Transition* own = OwnTransition(effects_, row.key, row.type);
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

int64_t Pipeline::ChainEvent(const Event& event, int64_t pos) {
  // Apply() read the position back if it was evicted. A duplicate may be the first event of
  // its (source, key): it starts the chain, and the position it makes counts nothing
  // (last_seq 0, as if there were none).
  SequencePositions::Position& s = sequences_.Change(event.source, event.key);
  const int64_t previous = s.last_pos;
  s.last_pos = pos;
  return previous;
}

Status Pipeline::RecordRelease(const HeldEvent& held, const Event& event, SubmitResult& result) {
  // At the releasing event's position: the held event's row stays as it was logged (held), and
  // this row says what became of it.
  const Transition* own = OwnTransition(effects_, held.key, event.type);
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

Status Pipeline::RecordEffects(store::AuditRow& audit, const Transition* own,
                                 SubmitResult& result) {
  const std::string_view event_key = audit.key;
  std::string detail;
  for (const Transition& t : effects_.transitions) {
    if (changed_set_.insert(t.instance).second) changed_.emplace_back(t.runner, t.instance);
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
    // A workflow's command belongs to the instance that emitted it; a rule's to the event's key.
    audit.kind = "command";
    audit.key = event_key;
    for (const auto& [index, owner] : effects_.command_owners) {
      if (index == i) audit.key = owner->key.s;
    }
    store::CommandRow command;
    command.key = audit.key;
    command.id = c.id;
    command.name = c.name;
    command.payload = c.payload_json;
    command.caused_by = c.caused_by;
    command.emitted_by = c.emitted_by;
    command.status = "pending";
    command.pos = audit.pos;
    TAKT_RETURN_IF_ERROR(store_->AddCommand(command));
    store_->CrashPoint("mid_outbox");
    detail = c.id + " " + c.name + " " + c.payload_json + " (from " + c.emitted_by + ")";
    audit.detail = detail;
    TAKT_RETURN_IF_ERROR(store_->AddAudit(audit));
  }
  return Status();
}

Status Pipeline::FlushBatch(const std::vector<const InputCursor*>& cursors) {
  TAKT_RETURN_IF_ERROR(instances_.WriteChanged(changed_));
  for (const auto& [id, s] : changed_rule_states_) {
    TAKT_RETURN_IF_ERROR(rules_->EncodeStateOf(s.rule, s.key, encoded_state_));
    TAKT_RETURN_IF_ERROR(store_->PutRuleState(s.rule, s.key, encoded_state_, s.pos));
  }
  TAKT_RETURN_IF_ERROR(sequences_.Write());
  for (const InputCursor* cursor : cursors) {
    if (cursor == nullptr) continue;
    TAKT_RETURN_IF_ERROR(store_->SetCursor(*cursor));
  }
  return Status();
}

void Pipeline::ForgetBatch() {
  instances_.ForgetBatch();
  changed_.clear();
  changed_set_.clear();
  sequences_.ForgetBatch();
  changed_rule_states_.clear();
}

}  // namespace takt
