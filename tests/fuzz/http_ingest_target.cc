#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/serve/access.h"
#include "engine/serve/ingest.h"
#include "engine/serve/metrics.h"
#include "fuzz/fuzz_targets.h"
#include "takt/engine.h"

namespace takt::fuzz {
namespace {

// What POST /v1/events does with a request once its credential is known: the body split as its
// Content-Type says, each envelope checked against who sends it, the batch submitted, the
// answer written.
class Server {
 public:
  Server() : access_(MakeAccess()), ingest_(access_, metrics_, [](const LogLine&) {}) {}

  Engine& engine() {
    // Opened again now and then: an engine remembers every event id it was given.
    if (engine_ == nullptr || ++uses_ % 20000 == 0) {
      EngineOptions options;
      options.workflow_paths = {std::string(TAKT_SOURCE_DIR) + "/workflows"};
      Result<std::unique_ptr<Engine>> opened = Engine::Open(options);
      Require(opened.ok(), "the shipped workflows load");
      engine_ = std::move(opened).value();
      std::unordered_map<std::string, std::string> owners;
      for (const EventTypeInfo& t : engine_->event_types()) owners[t.type] = t.owner;
      access_.SetOwners(std::move(owners));
    }
    return *engine_;
  }
  const Credential& publisher(uint8_t which) const { return publishers_[which % 3]; }
  serve::Ingest& ingest() { return ingest_; }

 private:
  serve::AccessControl MakeAccess() {
    const std::string hash(64, '0');
    publishers_ = {Credential{"scada-gateway", "scada", false, hash},
                   Credential{"erp", "odoo", false, std::string(63, '0') + "1"},
                   Credential{"lab", "qms", false, std::string(63, '0') + "2"}};
    Result<serve::AccessControl> access = serve::AccessControl::Create(publishers_);
    Require(access.ok(), "the credentials are valid");
    return std::move(access).value();
  }

  std::vector<Credential> publishers_;
  serve::AccessControl access_;
  serve::Metrics metrics_;
  serve::Ingest ingest_;
  std::unique_ptr<Engine> engine_;
  uint64_t uses_ = 0;
};

}  // namespace

int FuzzHttpIngest(const uint8_t* data, size_t size) {
  static Server server;
  if (size == 0) return 0;
  // The first byte chooses the Content-Type, the credential, and whether one forbidden event
  // refuses the whole request (the HTTP API) or only itself (MQTT); the rest is the body.
  const uint8_t mode = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const char* content_type = (mode & 1) != 0 ? "application/json" : "application/x-ndjson";
  const Credential& who = server.publisher(static_cast<uint8_t>(mode >> 1));
  const bool all_or_nothing = (mode & 0x80) == 0;
  const std::vector<std::string_view> events = serve::Ingest::SplitBody(body, content_type);
  if (events.empty()) return 0;
  std::vector<serve::EventAnswer> answers;
  std::string forbidden;
  const Status status = server.ingest().Submit(server.engine(), who, events,
                                               std::chrono::steady_clock::now(), answers,
                                               forbidden, all_or_nothing);
  Require(status.ok(), "an engine in memory commits whatever batch it is given");
  if (!forbidden.empty()) {
    Require(all_or_nothing && answers.empty(), "a forbidden request submits nothing");
    return 0;
  }
  Require(answers.size() == events.size(), "every event of the body is answered");
  for (const serve::EventAnswer& answer : answers) {
    Require(!answer.outcome.empty(), "every answer has an outcome");
    Require(answer.outcome != "rejected" || !answer.reason.empty(), "a rejection says why");
  }
  Require(nlohmann::json::accept(serve::Ingest::AnswerJson(answers)), "the answer is JSON");
  return 0;
}

}  // namespace takt::fuzz
