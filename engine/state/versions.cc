// Compiling a pinned version again from the store, and applying events to its instances.
#include "engine/state/versions.h"

#include <nlohmann/json.hpp>

#include "dsl/load.h"

namespace takt {

Result<PinnedVersions::Version*> PinnedVersions::Get(store::Store& store,
                                                     std::string_view workflow,
                                                     std::string_view hash) {
  for (const auto& version : versions_) {
    if (version->runner->def().name == workflow && version->runner->version() == hash) {
      return version.get();
    }
  }
  Result<store::StoredDefinition> stored = store.Definition(hash);
  if (!stored.ok()) return stored.status();
  std::vector<dsl::TextFile> imports;
  const nlohmann::json files = nlohmann::json::parse(stored.value().imports, nullptr, false);
  if (!files.is_array()) return Status::Corruption("stored imports of version " + std::string(hash));
  for (const nlohmann::json& f : files) {
    imports.push_back(dsl::TextFile{f.at(0).get<std::string>(), f.at(1).get<std::string>()});
  }
  auto version = std::make_unique<Version>();
  version->definitions = dsl::LoadDefinitionsFromText(
      dsl::TextFile{stored.value().file, stored.value().text}, imports);
  if (version->definitions->diagnostics.errors() != 0) {
    return Status::ParseError("stored version " + std::string(hash) + " of " +
                              std::string(workflow) + " does not compile: " +
                              version->definitions->diagnostics.FormatAll());
  }
  const dsl::Catalog& catalog = version->definitions->catalog;
  for (const dsl::WorkflowDef& def : catalog.workflows) {
    if (def.name == workflow) version->runner = std::make_unique<WorkflowRunner>(def);
  }
  if (version->runner == nullptr) {
    return Status::Corruption("stored version " + std::string(hash) + " has no workflow " +
                              std::string(workflow));
  }
  version->decoder = std::make_unique<EventDecoder>(catalog);
  version->runner->set_version(std::string(hash));
  version->runner->set_index_clock(index_clock_);
  versions_.push_back(std::move(version));
  return versions_.back().get();
}

PinnedVersions::Version* PinnedVersions::Holding(std::string_view workflow,
                                                 std::string_view key) const {
  for (const auto& version : versions_) {
    if (version->runner->def().name == workflow && version->runner->Find(key) != nullptr) {
      return version.get();
    }
  }
  return nullptr;
}

bool PinnedVersions::Apply(Version& version, std::string_view body, WorkflowEffects& out,
                           std::string& reason) {
  WorkflowRunner& runner = *version.runner;
  if (!version.decoder->Decode(body, event_, reason)) {
    reason = "not an event that version " + runner.version() + " of " + runner.def().name +
             " knows: " + reason;
    return false;
  }
  if (!runner.Handles(event_.type_id)) {
    reason = "version " + runner.version() + " of " + runner.def().name + " does not take " +
             std::string(event_.type);
    return false;
  }
  return runner.Apply(event_, out, reason);
}

}  // namespace takt
