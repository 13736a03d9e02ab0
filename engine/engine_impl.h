// The engine behind include/takt/engine.h. Submit() is the path of one event:
//   decode + validate -> duplicate? -> owner? -> workflows (transition, or out of sequence)
//   -> rules on the accepted event (commands; signals delivered to workflows at once)
// The durable store will take the event, the changed instances, rule state and the commands in
// one transaction at the end of Submit(), before the result is returned.
#ifndef TAKT_ENGINE_ENGINE_IMPL_H_
#define TAKT_ENGINE_ENGINE_IMPL_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "dsl/catalog.h"
#include "engine/event/decode.h"
#include "engine/rules/reloader.h"
#include "engine/rules/rule_set.h"
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

  Status Submit(std::string_view event_json, SubmitResult& result) override;
  void ForEachInstance(const std::function<void(const InstanceSummary&)>& visit) const override;
  Result<InstanceInfo> GetInstance(std::string_view workflow, std::string_view key) const override;
  EngineStats stats() const override;
  std::vector<std::string> workflows() const override;
  void Log(LogLevel level, std::string_view message) const override;
  std::vector<RuleInfo> rules() const override;
  Status ReloadRules() override;

 private:
  Outcome Apply(const Event& event, SubmitResult& result);
  void RunRules(const Event& event, SubmitResult& result);
  void Deliver(const rules::RuleDecision& signal, const Event& event, const std::string& emitted_by,
               SubmitResult& result);
  WorkflowRunner* Runner(std::string_view workflow);
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
  std::unordered_set<std::string> seen_ids_;  // every well-formed id, whatever its outcome
  std::string id_;  // reused for seen_ids_ lookups
  EngineStats stats_;
};

}  // namespace takt

#endif  // TAKT_ENGINE_ENGINE_IMPL_H_
