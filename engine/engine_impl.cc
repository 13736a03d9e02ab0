// Submit(): the checks run in the order PLANT.md fixes (well-formed, duplicate, owner,
// transition), and every event ends in exactly one outcome.
#include "engine/engine_impl.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <utility>

#include "dsl/load.h"
#include "dsl/source.h"
#include "engine/rule_tests.h"
#include "engine/store/sqlite_store.h"
#include "engine/store/write_behind_store.h"

namespace takt {

Result<SubmitResult> Engine::Submit(std::string_view event_json) {
  SubmitResult result;
  Status status = Submit(event_json, result);
  if (!status.ok()) return status;
  return result;
}

namespace {

// What Engine::rules() tells of a rule set: name, file and version of each rule, in run order.
std::vector<RuleInfo> InfosOf(const rules::RuleSet& set) {
  std::vector<RuleInfo> out;
  for (const auto& rule : set.rules()) out.push_back(RuleInfo{rule->name, rule->file, rule->version});
  return out;
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::Open(EngineOptions options) {
  return OpenEngineOnStore(std::move(options), nullptr, "");
}

namespace {

// An engine of `options` (its limits, policies and rules_dir) on definitions already loaded,
// with no store and no watcher yet.
Result<std::unique_ptr<EngineImpl>> NewEngine(EngineOptions options,
                                              std::shared_ptr<const dsl::Definitions> defs) {
  // Each rule's sandbox needs room for its own copies of the libraries and the stdlib (about
  // 40 KiB) before the rule allocates anything: below 1 MiB, loading could fail outside any
  // protected call.
  if (options.rule_max_memory_bytes < (1u << 20)) {
    return Status::InvalidArgument("rule_max_memory_bytes is " +
                                   std::to_string(options.rule_max_memory_bytes) +
                                   "; it must be at least 1048576 (1 MiB for each rule)");
  }
  if (options.rule_max_instructions <= 0 || options.rule_timeout_ms <= 0) {
    return Status::InvalidArgument("rule_max_instructions and rule_timeout_ms must be positive");
  }
  for (const std::string& source : options.monotonic) {
    for (const ReorderPolicy& policy : options.reorder) {
      if (policy.source == source) {
        return Status::InvalidArgument("source " + source +
                                       " has two ordering policies: reorder and monotonic");
      }
    }
  }
  std::unique_ptr<rules::RuleSet> rules;
  if (!options.rules_dir.empty()) {
    Result<std::unique_ptr<rules::RuleSet>> loaded =
        rules::RuleSet::Load(options.rules_dir, defs->catalog, RuleLimits(options));
    if (!loaded.ok()) return loaded.status();
    rules = std::move(loaded).value();
  }
  return std::make_unique<EngineImpl>(std::move(options), std::move(defs), std::move(rules));
}

}  // namespace

Result<std::unique_ptr<Engine>> OpenEngineOnStore(EngineOptions options,
                                                  std::unique_ptr<store::Store> store,
                                                  std::string where) {
  for (const std::string& path : options.workflow_paths) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      return Status::NotFound("workflow path " + path + " does not exist");
    }
  }
  DefinitionOptions load;
  load.paths = options.workflow_paths;
  load.stdlib_dir = options.stdlib_dir;
  std::shared_ptr<const dsl::Definitions> defs = dsl::LoadDefinitions(load);
  if (defs->diagnostics.errors() != 0) {
    return Status::ParseError(defs->diagnostics.FormatAll());
  }
  if (options.on_log) {
    for (const Diagnostic& d : defs->diagnostics.Sorted()) options.on_log(LogLevel::kWarn, d.Format());
  }
  Result<std::unique_ptr<EngineImpl>> made = NewEngine(std::move(options), std::move(defs));
  if (!made.ok()) return made.status();
  std::unique_ptr<EngineImpl> engine = std::move(made).value();
  if (store != nullptr) {
    TAKT_RETURN_IF_ERROR(engine->AttachStore(std::move(store), std::move(where)));
  } else {
    TAKT_RETURN_IF_ERROR(engine->OpenStore());
  }
  TAKT_RETURN_IF_ERROR(engine->StartWatching());
  return std::unique_ptr<Engine>(std::move(engine));
}

EngineImpl::EngineImpl(EngineOptions options, std::shared_ptr<const dsl::Definitions> definitions,
                       std::unique_ptr<rules::RuleSet> rules)
    : options_(std::move(options)),
      limits_(RuleLimits(options_)),
      pipeline_(options_, std::move(definitions), std::move(rules)),
      queue_(kMaxGroupEvents) {}

EngineImpl::~EngineImpl() { (void)Close(); }

Status EngineImpl::StartWatching() {
  if (!options_.watch_rules || options_.rules_dir.empty()) return Status();
  Result<std::unique_ptr<rules::RuleWatcher>> watcher =
      rules::RuleWatcher::Start(options_.rules_dir, [this] {
        Result<std::unique_ptr<rules::RuleSet>> next = PrepareRules();
        if (!next.ok()) {
          ++reload_failures_;
          Log(LogLevel::kError, "rules not reloaded, the active set stays: " + next.status().message());
          return;
        }
        std::lock_guard<std::mutex> lock(pending_mu_);
        pending_ = std::move(next).value();
        has_pending_ = true;
      });
  if (!watcher.ok()) return watcher.status();
  watcher_ = std::move(watcher).value();
  return Status();
}

Result<std::unique_ptr<rules::RuleSet>> EngineImpl::PrepareRules() const {
  Result<std::unique_ptr<rules::RuleSet>> next =
      rules::RuleSet::Load(options_.rules_dir, pipeline_.definitions()->catalog, limits_);
  if (!next.ok()) return next.status();
  std::error_code ec;
  if (!std::filesystem::is_directory(options_.rules_dir + "/tests", ec)) return next;
  RuleTestOptions tests;
  tests.rules_dir = options_.rules_dir;
  tests.workflow_paths = options_.workflow_paths;
  tests.stdlib_dir = options_.stdlib_dir;
  // The vectors must run on the files `next` holds: one changed in between fails the reload,
  // and its change triggers the next one.
  const std::vector<RuleInfo> loaded = InfosOf(*next.value());
  Result<RuleTestReport> report = RunRuleTestsOn(tests, &loaded, pipeline_.definitions());
  if (!report.ok()) return Status::RuleError("rule tests: " + report.status().message());
  if (report.value().failed == 0) return next;
  std::string failed;
  for (const RuleTestResult& r : report.value().results) {
    if (!r.passed) failed += "\n" + r.file + ": " + r.name + "\n" + r.diff;
  }
  return Status::RuleError(std::to_string(report.value().failed) + " rule test(s) failed:" + failed);
}

Status EngineImpl::SwapIn(std::unique_ptr<rules::RuleSet> next) {
  TAKT_RETURN_IF_ERROR(pipeline_.SwapRules(std::move(next)));
  std::string versions;
  for (const auto& rule : pipeline_.rules()->rules()) versions += " " + rule->name + "@" + rule->version;
  Log(LogLevel::kInfo, "rules reloaded:" + versions);
  return Status();
}

Status EngineImpl::ReloadRules() {
  std::lock_guard<std::mutex> lock(state_mu_);
  if (closed_) return Closed();
  if (pipeline_.rules() == nullptr) return Status::InvalidArgument("the engine was opened without rules");
  Result<std::unique_ptr<rules::RuleSet>> next = PrepareRules();
  if (!next.ok()) {
    ++reload_failures_;
    return next.status();
  }
  return SwapIn(std::move(next).value());
}

void EngineImpl::SwapInPending() {
  if (!has_pending_) return;
  std::unique_ptr<rules::RuleSet> next;
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    next = std::move(pending_);
    has_pending_ = false;
  }
  if (next == nullptr) return;
  Status swapped = SwapIn(std::move(next));
  if (!swapped.ok()) {
    ++reload_failures_;
    Log(LogLevel::kError, "rules not reloaded, the active set stays: " + swapped.message());
  }
}

Status EngineImpl::OpenStore() {
  if (options_.store_path.empty()) return Status();
  store::StoreOptions options;
  options.path = options_.store_path;
  options.durability = options_.durability;
  options.max_bytes = options_.store_max_bytes;
  Result<std::unique_ptr<store::SqliteStore>> opened = store::OpenSqliteStore(options);
  if (!opened.ok()) return opened.status();
  // The log's rows are written on a thread of their own while the engine goes on
  // (write_behind_store.h).
  return AttachStore(store::WriteBehind(std::move(opened).value()), options_.store_path);
}

Status EngineImpl::AttachStore(std::unique_ptr<store::Store> store, std::string where) {
  wal_sync_ = store->wal_sync();
  durable_ = true;
  TAKT_RETURN_IF_ERROR(pipeline_.AttachStore(std::move(store), std::move(where)));
  return WaitDurable(pipeline_.store()->DurabilityTicket());
}

Status EngineImpl::ApplyBatch(const std::vector<std::string_view>& events,
                              std::vector<SubmitResult>& results,
                              const std::vector<const InputCursor*>& cursors) {
  SwapInPending();  // between batches, so that a batch runs on one rule set
  return pipeline_.ApplyBatch(events, results, cursors);
}

std::vector<RuleInfo> EngineImpl::rules() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  const rules::RuleSet* set = pipeline_.rules();
  return set != nullptr ? InfosOf(*set) : std::vector<RuleInfo>();
}

void EngineImpl::ForEachInstance(const std::function<void(const InstanceSummary&)>& visit) const {
  std::lock_guard<std::mutex> lock(state_mu_);
  pipeline_.ForEachInstance(visit);
}

Result<InstanceInfo> EngineImpl::GetInstance(std::string_view workflow, std::string_view key) const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return pipeline_.GetInstance(workflow, key);
}

EngineStats EngineImpl::stats() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  EngineStats s = pipeline_.stats();
  s.rule_reload_failures = reload_failures_;
  s.syncs = wal_sync_ != nullptr ? wal_sync_->syncs() : 0;
  return s;
}

std::vector<std::string> EngineImpl::workflows() const { return pipeline_.workflows(); }

std::vector<EventTypeInfo> EngineImpl::event_types() const {
  std::vector<EventTypeInfo> types;
  for (const dsl::EventDef& e : pipeline_.definitions()->catalog.events) {
    types.push_back(EventTypeInfo{e.type, e.owner});
  }
  return types;
}

void EngineImpl::Log(LogLevel level, std::string_view message) const {
  pipeline_.Log(level, message);
}

}  // namespace takt
