// The engine behind include/takt/engine.h. Submit() is the path of one event:
//   decode + validate -> duplicate? -> owner? -> workflows (transition, or out of sequence)
//   -> rules on the accepted event (commands; signals delivered to workflows at once)
// The durable store will take the event, the changed instances, rule state and the commands in
// one transaction at the end of Submit(), before the result is returned.
#ifndef TAKT_ENGINE_ENGINE_IMPL_H_
#define TAKT_ENGINE_ENGINE_IMPL_H_

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "dsl/catalog.h"
#include "engine/event/decode.h"
#include "engine/rules/rule_set.h"
#include "engine/workflow/runner.h"
#include "takt/engine.h"

namespace takt {

class EngineImpl final : public Engine, private rules::InstanceLookup {
 public:
  EngineImpl(EngineOptions options, std::unique_ptr<dsl::Definitions> definitions,
             std::unique_ptr<rules::RuleSet> rules);

  Status Submit(std::string_view event_json, SubmitResult& result) override;
  void ForEachInstance(const std::function<void(const InstanceSummary&)>& visit) const override;
  Result<InstanceInfo> GetInstance(std::string_view workflow, std::string_view key) const override;
  EngineStats stats() const override;
  std::vector<std::string> workflows() const override;
  void Log(LogLevel level, std::string_view message) const override;
  std::vector<RuleInfo> rules() const override;

 private:
  Outcome Apply(const Event& event, SubmitResult& result);
  void RunRules(const Event& event, SubmitResult& result);
  void Deliver(const rules::RuleDecision& signal, const Event& event, const std::string& emitted_by,
               SubmitResult& result);
  WorkflowRunner* Runner(std::string_view workflow);

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
  std::vector<rules::RuleDecision> decisions_;  // reused for every rule evaluation
  std::unordered_set<std::string> seen_ids_;  // every well-formed id, whatever its outcome
  std::string id_;  // reused for seen_ids_ lookups
  EngineStats stats_;
};

}  // namespace takt

#endif  // TAKT_ENGINE_ENGINE_IMPL_H_
