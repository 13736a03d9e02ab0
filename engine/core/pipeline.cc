// The path of one event: the checks run in the order PLANT.md fixes (well-formed, duplicate,
// owner, transition), and every event ends in exactly one outcome.
#include "engine/core/pipeline.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include "dsl/source.h"

namespace takt {

rules::SandboxLimits RuleLimits(const EngineOptions& options) {
  rules::SandboxLimits limits;
  limits.max_instructions = options.rule_max_instructions;
  limits.max_memory_bytes = options.rule_max_memory_bytes;
  limits.timeout = std::chrono::milliseconds(options.rule_timeout_ms);
  return limits;
}

Pipeline::Pipeline(const EngineOptions& options,
                   std::shared_ptr<const dsl::Definitions> definitions,
                   std::unique_ptr<rules::RuleSet> rules)
    : options_(options),
      definitions_(std::move(definitions)),
      decoder_(definitions_->catalog),
      rules_(std::move(rules)),
      reorder_(options_.reorder),
      instances_(definitions_->catalog.workflows.size(),
                 [this](LogLevel level, std::string_view message) { Log(level, message); }) {
  const dsl::Catalog& catalog = definitions_->catalog;
  // A workflow's version covers its own file and the files that declare without workflows
  // (the imported event schemas and owners), so that a change to either makes a new version.
  std::string shared_text;
  for (const auto& file : definitions_->files) {
    const bool has_workflow = std::any_of(
        catalog.workflows.begin(), catalog.workflows.end(),
        [&](const dsl::WorkflowDef& wf) { return wf.where.file == file.get(); });
    if (has_workflow) continue;
    shared_text += file->text;
    declaration_files_.push_back(file.get());
  }
  for (const dsl::WorkflowDef& wf : catalog.workflows) {
    instances_.Add(wf, dsl::ContentHash((wf.where.file ? wf.where.file->text : "") + shared_text));
  }
  routes_.resize(catalog.events.size());
  for (size_t type = 0; type < catalog.events.size(); ++type) {
    for (const WorkflowRunner& runner : instances_.runners()) {
      if (runner.Handles(static_cast<int>(type))) {
        routes_[type].push_back(instances_.Runner(runner.def().name));
      }
    }
    const std::string& owner = catalog.events[type].owner;
    if (std::find(owners_.begin(), owners_.end(), owner) == owners_.end()) owners_.push_back(owner);
  }
}

Status Pipeline::ApplyBatch(const std::vector<std::string_view>& events,
                            std::vector<SubmitResult>& results,
                            const std::vector<const InputCursor*>& cursors) {
  results.resize(events.size());
  if (store_ == nullptr) {
    for (size_t i = 0; i < events.size(); ++i) {
      TAKT_RETURN_IF_ERROR(SubmitOne(events[i], results[i]));
    }
    return Status();
  }
  return InBatch(
      [&]() -> Status {
        for (size_t i = 0; i < events.size(); ++i) {
          TAKT_RETURN_IF_ERROR(SubmitOne(events[i], results[i]));
        }
        return Status();
      },
      cursors, results);
}

Status Pipeline::AdvanceClock(int64_t now, SubmitResult& result) {
  result = SubmitResult();
  result.position = position_;
  effects_.Start(static_cast<int64_t>(position_), result.commands);
  const uint64_t fired_before = stats_.timers_fired;
  auto fire = [&]() -> Status {
    TAKT_RETURN_IF_ERROR(FireTimers(now));
    NameCommands(result);
    stats_.commands += result.commands.size();
    if (store_ == nullptr || stats_.timers_fired == fired_before) return Status();
    // No event caused these: their rows carry the position of the last event, the time, and
    // "timer" for an event id (takt trace shows them with their own key only).
    store::AuditRow audit;
    audit.pos = static_cast<int64_t>(position_);
    audit.at = now;
    audit.event_id = "timer";
    return RecordEffects(audit, nullptr, result);
  };
  if (store_ == nullptr) return fire();
  // Most calls find nothing due: those cost a read, not a transaction.
  TAKT_RETURN_IF_ERROR(instances_.LoadDue(now));
  if (NextDue(now) == nullptr) return Status();
  std::vector<SubmitResult> unused;
  Status status = InBatch(fire, {}, unused);
  if (!status.ok()) result = SubmitResult();
  return status;
}

Status Pipeline::InBatch(const std::function<Status()>& apply,
                         const std::vector<const InputCursor*>& cursors,
                         std::vector<SubmitResult>& results) {
  if (!restored_) {
    // The last failed batch could not put memory back to what the store holds: until that is
    // done, nothing is applied on top of it.
    Status reloaded = LoadFromStore();
    if (!reloaded.ok()) {
      results.clear();
      return Status::IoError("the engine's state could not be read back from the store after a "
                             "failed batch, so nothing is applied: " + reloaded.message());
    }
    restored_ = true;
  }
  const EngineStats before = stats_;
  const uint64_t position_before = position_;
  Status status = store_->Begin();
  if (status.ok()) status = apply();
  if (status.ok()) status = FlushBatch(cursors);
  if (status.ok()) status = instances_.ChooseEvictions();
  if (status.ok()) status = store_->Commit();
  if (status.ok()) {
    ++stats_.batches;
    // The store holds what memory may now forget.
    instances_.EvictCommitted(changed_);
    sequences_.EvictCommitted(instances_, owners_);
    ForgetBatch();
    return Status();
  }
  // Nothing of the batch happened: back to the last commit, in the database and in memory.
  store_->Rollback();
  results.clear();
  ForgetBatch();
  stats_ = before;
  position_ = position_before;
  Status reloaded = LoadFromStore();
  if (!reloaded.ok()) {
    restored_ = false;  // tried again before the next batch
    return Status::IoError(status.message() + "; and reloading the committed state failed: " +
                           reloaded.message());
  }
  return status;
}

Status Pipeline::SubmitOne(std::string_view event_json, SubmitResult& result) {
  result.commands.clear();
  result.signals.clear();
  result.rule_errors.clear();
  result.released.clear();
  result.reason.clear();
  result.position = ++position_;
  effects_.Start(static_cast<int64_t>(position_), result.commands);
  ++stats_.events;
  // A plain event (decode_plain.h) is two levels deep: the limit on nesting, which costs a pass
  // over the text, is checked only for the others, before they are read.
  using Plain = EventDecoder::Plain;
  const bool within_size = WithinSize(event_json, result.reason);
  Plain plain = Plain::kNotPlain;
  if (within_size && options_.max_json_depth >= 2) {
    plain = decoder_.TryPlain(event_json, event_, result.reason);
  }
  if (!within_size || (plain == Plain::kNotPlain && !WithinDepth(event_json, result.reason))) {
    // Too large or too deep to read: malformed, with nothing read from it, and only its first
    // bytes logged, so that one huge event cannot fill the database.
    result.event_id.clear();
    result.outcome = Outcome::kMalformed;
    ++stats_.malformed;
    return store_ != nullptr ? Record(LoggedPrefix(event_json), nullptr, result) : Status();
  }
  if (plain == Plain::kNotPlain ? !decoder_.DecodeGeneral(event_json, event_, result.reason)
                                : plain == Plain::kRefused) {
    // A malformed event's id is not remembered: a valid re-send of it is accepted.
    result.event_id.assign(event_.id.data(), event_.id.size());
    result.outcome = Outcome::kMalformed;
    ++stats_.malformed;
    return store_ != nullptr ? Record(event_json, nullptr, result) : Status();
  }
  result.event_id.assign(event_.id.data(), event_.id.size());
  Result<Outcome> outcome = Apply(event_, event_json, result);
  if (!outcome.ok()) return outcome.status();
  result.outcome = outcome.value();
  Count(result);
  if (result.outcome != Outcome::kDuplicate) {
    TrackSequence(event_, result.outcome == Outcome::kApplied);
  }
  NameCommands(result);
  const int64_t ts = event_.ts;
  // Event time moves with events that passed the checks and were applied; a held one moves it
  // when it is released.
  const bool checked =
      result.outcome != Outcome::kDuplicate && result.outcome != Outcome::kOwnershipViolation;
  if (store_ != nullptr) TAKT_RETURN_IF_ERROR(Record(event_json, &event_, result));
  if (checked && result.outcome != Outcome::kHeld) clock_ = std::max(clock_, ts);
  if (reorder_.held() > 0 && checked) TAKT_RETURN_IF_ERROR(ReleaseHeld(clock_, result));
  return Status();
}

void Pipeline::Count(const SubmitResult& result) {
  switch (result.outcome) {
    case Outcome::kApplied: ++stats_.accepted; break;
    case Outcome::kDuplicate: ++stats_.duplicates; break;
    case Outcome::kOwnershipViolation: ++stats_.ownership_violations; break;
    case Outcome::kOutOfSequence: ++stats_.out_of_sequence; break;
    case Outcome::kMalformed: ++stats_.malformed; break;
    case Outcome::kHeld: ++stats_.held; break;
  }
  stats_.commands += result.commands.size();
}

Status Pipeline::ReleaseHeld(int64_t now, SubmitResult& result) {
  ready_.clear();
  moved_keys_.clear();
  reorder_.TakeReady(now, ready_, moved_keys_);
  for (const std::string& key : moved_keys_) {  // their next expected seq is stored with them
    TAKT_RETURN_IF_ERROR(sequences_.NextMoved(key));
  }
  for (const HeldEvent& held : ready_) {
    SubmitResult& r = result.released.emplace_back();
    r.position = held.pos;
    r.event_id = held.id;
    std::string error;
    if (!decoder_.Decode(held.body, event_, error)) {  // it decoded when it arrived
      return Status::Corruption("held event " + held.id + " no longer decodes: " + error);
    }
    effects_.Start(static_cast<int64_t>(position_), r.commands);
    Result<Outcome> outcome = ApplyAccepted(event_, held.body, r);
    if (!outcome.ok()) return outcome.status();
    r.outcome = outcome.value();
    if (r.outcome == Outcome::kApplied) TrackAccepted(event_.source, event_.key, event_.seq);
    clock_ = std::max(clock_, held.ts);
    --stats_.held;
    Count(r);
    NameCommands(r);
    if (store_ != nullptr) TAKT_RETURN_IF_ERROR(RecordRelease(held, event_, r));
  }
  return Status();
}

bool Pipeline::WithinSize(std::string_view json, std::string& reason) const {
  if (json.size() <= options_.max_event_bytes) return true;
  reason = "event of " + std::to_string(json.size()) + " bytes is over the limit of " +
           std::to_string(options_.max_event_bytes) + " bytes (max_event_bytes)";
  return false;
}

bool Pipeline::WithinDepth(std::string_view json, std::string& reason) const {
  // Nested deeper than the limit only if it opens more objects and arrays than the limit. An
  // event opens two or three: memchr (SIMD in the C library) finds them in a few calls, where
  // a loop over every byte cost 3% of an in-memory run; the exact walk, which must skip
  // strings, runs only past the limit.
  size_t opens = 0;
  for (const char open : {'{', '['}) {
    const char* at = json.data();
    const char* const end = json.data() + json.size();
    while (opens <= options_.max_json_depth &&
           (at = static_cast<const char*>(std::memchr(at, open, static_cast<size_t>(end - at)))) !=
               nullptr) {
      ++opens;
      ++at;
    }
  }
  if (opens <= options_.max_json_depth) return true;
  uint32_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > options_.max_json_depth) {
        reason = "JSON nested deeper than " + std::to_string(options_.max_json_depth) +
                 " objects and arrays (max_json_depth), at byte " + std::to_string(i + 1);
        return false;
      }
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return true;
}

std::string_view Pipeline::LoggedPrefix(std::string_view json) {
  constexpr size_t kLogged = 256;
  if (json.size() <= kLogged) return json;
  size_t end = kLogged;
  // Not in the middle of a UTF-8 sequence: back over continuation bytes.
  while (end > 0 && (static_cast<unsigned char>(json[end]) & 0xc0) == 0x80) --end;
  return json.substr(0, end);
}

Result<bool> Pipeline::Remember(std::string_view id) {
  if (store_ != nullptr) return store_->RememberId(id, static_cast<int64_t>(position_));
  return seen_ids_.Insert(id);
}

bool Pipeline::IsMonotonic(std::string_view source) const {
  return std::find(options_.monotonic.begin(), options_.monotonic.end(), source) !=
         options_.monotonic.end();
}

void Pipeline::TrackAccepted(std::string_view source, std::string_view key, int64_t seq) {
  const SequencePositions::Position* p = sequences_.Find(source, key);
  if (p != nullptr && seq <= p->last_accepted) return;
  sequences_.Change(source, key).last_accepted = seq;
}

void Pipeline::TrackSequence(const Event& event, bool applied) {
  SequencePositions::Position& s = sequences_.Change(event.source, event.key);
  if (event.seq > s.last_seq + 1) {
    ++s.gaps;
    ++stats_.sequence_gaps;
  } else if (event.seq <= s.last_seq) {
    ++s.late;
    ++stats_.late_events;
  }
  s.last_seq = std::max(s.last_seq, event.seq);
  if (applied) s.last_accepted = std::max(s.last_accepted, event.seq);
}

namespace {

// "workflow production_order" -> "workflow:production_order"; "rule NAME@VERSION" -> "rule:NAME".
// Without the version: a replay on a newer rule gives the same ids.
std::string_view Emitter(std::string_view emitted_by) {
  return emitted_by.substr(0, emitted_by.find('@'));
}

}  // namespace

void Pipeline::NameCommands(SubmitResult& result) const {
  // n counts per cause (the event, or a timer it let fire) and emitter, so that one emitter's
  // ids do not depend on what another emitted before it.
  for (size_t i = 0; i < result.commands.size(); ++i) {
    Command& c = result.commands[i];
    const std::string_view emitter = Emitter(c.emitted_by);
    size_t n = 0;
    for (size_t j = 0; j < i; ++j) {
      const Command& other = result.commands[j];
      n += other.caused_by == c.caused_by && Emitter(other.emitted_by) == emitter;
    }
    c.id = c.caused_by;
    c.id += '/';
    c.id += emitter;
    c.id[c.caused_by.size() + 1 + emitter.find(' ')] = ':';
    c.id += '/';
    c.id += std::to_string(n);
  }
}

Result<Outcome> Pipeline::Apply(const Event& event, std::string_view body,
                                  SubmitResult& result) {
  // Whatever its outcome, the event counts in its (source, key)'s sequence position, or (a
  // duplicate) is chained through it in the log: read it back if it was evicted.
  TAKT_RETURN_IF_ERROR(sequences_.Load(event.source, event.key));
  // Every well-formed id is remembered, so a re-delivery of a rejected event is a duplicate.
  Result<bool> first = Remember(event.id);
  if (!first.ok()) return first.status();
  if (!first.value()) {
    result.reason = "id " + std::string(event.id) + " was seen before";
    return Outcome::kDuplicate;
  }
  const dsl::EventDef& def = definitions_->catalog.events[static_cast<size_t>(event.type_id)];
  if (event.source != def.owner) {
    result.reason = "source " + std::string(event.source) + " does not own " + def.type +
                    " (its owner is " + def.owner + ")";
    return Outcome::kOwnershipViolation;
  }
  if (!options_.monotonic.empty() && IsMonotonic(event.source)) {
    const SequencePositions::Position* s = sequences_.Find(event.source, event.key);
    if (s != nullptr && event.seq <= s->last_accepted) {
      result.reason = "stale: seq " + std::to_string(event.seq) + " after " +
                      std::to_string(s->last_accepted);
      return Outcome::kOutOfSequence;
    }
  }
  int64_t next = 0;
  if (reorder_.PolicyFor(event.source) != nullptr &&
      !reorder_.Arrive(event.source, event.key, event.seq, next)) {
    result.reason = "seq " + std::to_string(event.seq) + " of " + std::string(event.source) +
                    "/" + std::string(event.key) + " is ahead of " + std::to_string(next) +
                    ": held back";
    reorder_.Hold(HeldEvent{position_, std::string(event.source), std::string(event.key),
                            std::string(event.id), std::string(body), event.seq, event.ts});
    return Outcome::kHeld;
  }
  return ApplyAccepted(event, body, result);
}

Result<Outcome> Pipeline::ApplyAccepted(const Event& event, std::string_view body,
                                          SubmitResult& result) {
  // Time has come this far: timers due by this event's time fire first, in due order.
  TAKT_RETURN_IF_ERROR(FireTimers(event.ts));
  const std::vector<WorkflowRunner*>& routes = routes_[static_cast<size_t>(event.type_id)];
  if (!routes.empty()) {  // no workflow reacting to it: valid, and nothing to change there
    bool applied = false;
    std::string reason;
    PinnedVersions& pinned_versions = instances_.pinned();
    for (WorkflowRunner* runner : routes) {
      if (instances_.evicted() > 0) {
        TAKT_RETURN_IF_ERROR(instances_.Load(runner->def().name, event.key).status());
      }
      PinnedVersions::Version* pinned =
          pinned_versions.empty() ? nullptr
                                  : pinned_versions.Holding(runner->def().name, event.key);
      if (pinned != nullptr ? pinned_versions.Apply(*pinned, body, effects_, reason)
                            : runner->Apply(event, effects_, reason)) {
        applied = true;
      } else if (result.reason.empty()) {
        result.reason = reason;
      }
    }
    if (!applied) return Outcome::kOutOfSequence;
    result.reason.clear();
  }
  // Rules see accepted events only: a rejected event changes no rule state either.
  if (rules_ != nullptr) TAKT_RETURN_IF_ERROR(RunRules(event, result));
  return Outcome::kApplied;
}

WorkflowRunner* Pipeline::NextDue(int64_t now) {
  WorkflowRunner* next = nullptr;
  std::pair<int64_t, uint64_t> first;
  instances_.ForEachRunner([&](WorkflowRunner& runner) {
    const auto due = runner.NextTimer();
    if (due && due->first <= now && (next == nullptr || *due < first)) {
      next = &runner;
      first = *due;
    }
  });
  return next;
}

Status Pipeline::FireTimers(int64_t now) {
  if (store_ != nullptr) TAKT_RETURN_IF_ERROR(instances_.LoadDue(now));
  while (WorkflowRunner* next = NextDue(now)) {
    next->FireNextTimer(effects_, timer_cause_);
    ++stats_.timers_fired;
  }
  instances_.ForEachRunner([&](WorkflowRunner& runner) { runner.set_now(now); });
  return Status();
}

namespace {

// What ctx.instance() and ctx.current() see: the engine's instances, read back from the store
// when they were evicted. A failed read stops the rule (it must not decide on a wrong nil) and
// is kept here, for the event to fail with it.
class RuleLookup final : public rules::InstanceLookup {
 public:
  explicit RuleLookup(InstanceCache& instances) : instances_(instances) {}
  Result<std::optional<rules::InstanceRef>> Find(std::string_view workflow,
                                                 std::string_view key) override {
    return Kept(instances_.Find(workflow, key));
  }
  Result<std::optional<rules::InstanceRef>> Current(std::string_view workflow,
                                                    std::string_view var,
                                                    const dsl::Value& value) override {
    return Kept(instances_.Current(workflow, var, value));
  }
  const Status& read_error() const { return read_error_; }

 private:
  Result<std::optional<rules::InstanceRef>> Kept(Result<std::optional<rules::InstanceRef>> r) {
    if (!r.ok() && read_error_.ok()) read_error_ = r.status();
    return r;
  }
  InstanceCache& instances_;
  Status read_error_;
};

}  // namespace

Status Pipeline::RunRules(const Event& event, SubmitResult& result) {
  RuleLookup lookup(instances_);
  for (const rules::LoadedRule* rule : rules_->RulesFor(event.type_id)) {
    if (!rule->when.Admits(event)) continue;  // not evaluated: no call, no state
    decisions_.clear();
    ++stats_.rule_evaluations;
    Status s = rules_->Evaluate(*rule, event, lookup, decisions_, store_ ? &state_key_ : nullptr);
    if (!lookup.read_error().ok()) return lookup.read_error();
    if (s.ok() && store_ != nullptr) {
      rule_state_id_.assign(rule->name);
      rule_state_id_ += '\0';
      rule_state_id_ += state_key_;
      auto [changed, first] = changed_rule_states_.try_emplace(rule_state_id_);
      if (first) changed->second = ChangedRuleState{rule->name, state_key_, 0};
      changed->second.pos = static_cast<int64_t>(position_);
    }
    if (!s.ok()) {
      ++stats_.rule_errors;
      if (s.code() == Code::kLimitExceeded) ++stats_.rule_budget_breaks;
      result.rule_errors.push_back(RuleError{rule->name, rule->version, s.message()});
      Log(LogLevel::kWarn, "rule " + rule->name + "@" + rule->version + " failed on event " +
                               std::string(event.id) + ": " + s.message());
      continue;
    }
    if (decisions_.empty()) continue;  // most evaluations decide nothing
    const std::string emitted_by = "rule " + rule->name + "@" + rule->version;
    for (const rules::RuleDecision& d : decisions_) {
      if (d.kind == rules::RuleDecision::Kind::kSignal) {
        TAKT_RETURN_IF_ERROR(Deliver(d, event, emitted_by, result));
        continue;
      }
      Command& command = result.commands.emplace_back();
      command.name = d.name;
      command.payload_json = d.payload_json;
      command.caused_by.assign(event.id.data(), event.id.size());
      command.emitted_by = emitted_by;
    }
  }
  return Status();
}

Status Pipeline::Deliver(const rules::RuleDecision& signal, const Event& event,
                           const std::string& emitted_by, SubmitResult& result) {
  WorkflowRunner* runner = instances_.Runner(signal.workflow);
  std::string key = signal.target_key;
  if (runner != nullptr && !signal.index_var.empty()) {
    Result<std::optional<rules::InstanceRef>> current =
        instances_.Current(signal.workflow, signal.index_var, signal.index_value);
    if (!current.ok()) return current.status();
    key = current.value() ? current.value()->instance->key.s : std::string();
  }
  if (runner != nullptr && !key.empty()) {
    Result<WorkflowRunner*> holding = instances_.Load(signal.workflow, key);
    if (!holding.ok()) return holding.status();
    runner = holding.value();
  }
  SignalRecord& record = result.signals.emplace_back();
  record.workflow = signal.workflow;
  record.name = signal.name;
  record.emitted_by = emitted_by;
  std::string reason;
  if (runner != nullptr && !key.empty() && runner->Find(key) != nullptr) record.key = key;
  if (!record.key.empty() &&
      runner->Signal(key, signal.name, event.id, effects_, reason)) {
    record.delivered = true;
    ++stats_.signals_delivered;
    return Status();
  }
  ++stats_.signals_ignored;
  const std::string why = runner == nullptr ? "no such workflow"
                          : reason.empty()   ? "no instance"
                                             : reason;
  Log(LogLevel::kDebug, "signal " + signal.name + " to " + signal.workflow + " from event " +
                            std::string(event.id) + " ignored: " + why);
  return Status();
}

void Pipeline::ForEachInstance(const std::function<void(const InstanceSummary&)>& visit) const {
  if (store_ != nullptr) {
    // Memory holds the open instances only; the database holds them all, as of the last commit,
    // which is all there is between batches.
    Status read = store_->ForEachInstance([&](const store::InstanceRow& row) {
      visit(InstanceSummary{row.workflow, row.key, row.state, row.final, row.overdue_since});
      return Status();
    });
    if (!read.ok()) Log(LogLevel::kError, "listing instances: " + read.message());
    return;
  }
  for (const WorkflowRunner& runner : instances_.runners()) {
    // The instances of every version of the workflow, in key order.
    std::vector<std::pair<const Instance*, const dsl::WorkflowDef*>> all;
    instances_.ForEachRunner([&](const WorkflowRunner& r) {
      if (r.def().name != runner.def().name) return;
      r.ForEach([&](const Instance& instance) { all.emplace_back(&instance, &r.def()); });
    });
    if (instances_.has_pinned()) {
      std::sort(all.begin(), all.end(),
                [](const auto& a, const auto& b) { return a.first->key.s < b.first->key.s; });
    }
    for (const auto& [instance, def] : all) {
      const dsl::StateDef& state = def->states[static_cast<size_t>(instance->state)];
      visit(InstanceSummary{def->name, instance->key.s, state.name, state.final,
                            instance->overdue_since});
    }
  }
}

Result<InstanceInfo> Pipeline::GetInstance(std::string_view workflow, std::string_view key) const {
  InstanceInfo info;
  const WorkflowRunner* runner = instances_.Holding(workflow, key);
  const Instance* instance = runner != nullptr ? runner->Find(key) : nullptr;
  if (instance != nullptr) {
    const dsl::StateDef& state = runner->def().states[static_cast<size_t>(instance->state)];
    info.workflow = runner->def().name;
    info.key = instance->key.s;
    info.state = state.name;
    info.final = state.final;
    info.variables_json = runner->VariablesJson(*instance);
    info.version = runner->version();
    info.overdue_since = instance->overdue_since;
  } else if (runner != nullptr && store_ != nullptr && instances_.evicted() > 0) {
    // Not in memory: as the store holds it, which is how memory would hold it read back.
    Result<bool> found = store_->LoadInstance(workflow, key, [&](const store::InstanceRow& row) {
      info.workflow = row.workflow;
      info.key = row.key;
      info.state = row.state;
      info.final = row.final;
      info.variables_json = row.variables;
      info.version = row.version;
      info.overdue_since = row.overdue_since;
      return Status();
    });
    if (!found.ok()) return found.status();
    if (!found.value()) info.key.clear();
  }
  if (info.key.empty()) {
    return Status::NotFound(std::string(workflow) + " instance " + std::string(key) + " not found");
  }
  info.lifecycle = info.final ? "completed" : "active";
  return info;
}

EngineStats Pipeline::stats() const {
  EngineStats s = stats_;
  s.active_instances = 0;
  s.instances = 0;
  instances_.ForEachRunner([&](const WorkflowRunner& runner) {
    s.active_instances += runner.active();
    s.instances += runner.size();
  });
  s.instances_in_memory = s.instances;
  s.instances += instances_.evicted();
  s.active_instances += instances_.evicted_open();
  return s;
}

std::vector<std::string> Pipeline::workflows() const {
  std::vector<std::string> names;
  for (const WorkflowRunner& runner : instances_.runners()) names.push_back(runner.def().name);
  return names;
}

void Pipeline::Log(LogLevel level, std::string_view message) const {
  if (options_.on_log) options_.on_log(level, message);
}

}  // namespace takt
