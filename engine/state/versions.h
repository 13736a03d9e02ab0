// The older versions of workflows that running instances are pinned to. An instance runs on
// the version of its workflow it started on until it ends, even after the definitions change;
// such a version is compiled again from the text the store kept of it, with its own catalog,
// event decoder and runner. The loaded version's runner is the engine's, not kept here.
#ifndef TAKT_ENGINE_STATE_VERSIONS_H_
#define TAKT_ENGINE_STATE_VERSIONS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/catalog.h"
#include "engine/event/decode.h"
#include "engine/store/store.h"
#include "engine/workflow/runner.h"
#include "takt/status.h"

namespace takt {

class PinnedVersions {
 public:
  struct Version {
    std::unique_ptr<dsl::Definitions> definitions;
    std::unique_ptr<EventDecoder> decoder;  // its own catalog's event types and fields
    std::unique_ptr<WorkflowRunner> runner;
  };

  // Every runner made here shares the engine's index clock.
  explicit PinnedVersions(uint64_t* index_clock) : index_clock_(index_clock) {}

  // Version `hash` of `workflow`, compiled from what `store` kept of it on first use.
  // kNotFound when the store has no such version, kParseError when it no longer compiles,
  // kCorruption when what was kept is damaged or lacks the workflow.
  Result<Version*> Get(store::Store& store, std::string_view workflow, std::string_view hash);
  // The version of `workflow` that holds instance `key`, or null (the loaded version may).
  Version* Holding(std::string_view workflow, std::string_view key) const;
  // Applies the event `body` to its instance in `version`, decoded with that version's own
  // catalog; false, with the reason, when that version does not know or take the event, or
  // the instance cannot take it in its state.
  bool Apply(Version& version, std::string_view body, WorkflowEffects& out, std::string& reason);

  bool empty() const { return versions_.empty(); }
  void Clear() { versions_.clear(); }
  template <typename Visit>
  void ForEachRunner(Visit visit) const {
    for (const auto& version : versions_) visit(*version->runner);
  }

 private:
  uint64_t* index_clock_;
  std::vector<std::unique_ptr<Version>> versions_;
  Event event_;  // decoded for a pinned version; reused
};

}  // namespace takt

#endif  // TAKT_ENGINE_STATE_VERSIONS_H_
