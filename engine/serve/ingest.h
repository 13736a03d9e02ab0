// The one way events come into the server, for HTTP and MQTT alike: each event's envelope is
// read and checked against who sends it (its source, and the types that source owns) before
// anything is submitted; then the events go to the engine as one batch, and the answer comes
// only after their commit.
#ifndef TAKT_ENGINE_SERVE_INGEST_H_
#define TAKT_ENGINE_SERVE_INGEST_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/serve/access.h"
#include "engine/serve/metrics.h"
#include "takt/engine.h"
#include "takt/serve.h"

namespace takt::serve {

// What became of one event, as the HTTP answer lists it.
struct EventAnswer {
  std::string id;
  std::string key;
  // "accepted" (durable: applied, or held for its turn), "duplicate", or "rejected" (detail:
  // the engine's outcome, e.g. "out_of_sequence", or "malformed" for an unreadable envelope).
  std::string outcome;
  std::string detail;
  std::string reason;
  uint64_t position = 0;  // in the event log; 0 when it was not logged
};

class Ingest {
 public:
  Ingest(const AccessControl& access, Metrics& metrics, std::function<void(const LogLine&)> log)
      : access_(access), metrics_(metrics), log_(std::move(log)) {}

  // The events as `who` publishes them. When one of them is not `who`'s to publish, `forbidden`
  // says why and, `all_or_nothing`, nothing is submitted (HTTP's 403); otherwise that one is
  // answered "rejected" (detail "forbidden") and the others go on. `answers` gets one entry per
  // event, in order, once they are committed. A failed commit (Status) leaves nothing accepted.
  Status Submit(Engine& engine, const Credential& who, const std::vector<std::string_view>& events,
                std::chrono::steady_clock::time_point received, std::vector<EventAnswer>& answers,
                std::string& forbidden, bool all_or_nothing = true);

  // The events of a request's body: its lines (JSON Lines; blank ones skipped), or the whole
  // body as one event when `content_type` is application/json.
  static std::vector<std::string_view> SplitBody(std::string_view body,
                                                 std::string_view content_type);

  // JSON: {"results":[{"id":..,"outcome":..,...}, ...]}.
  static std::string AnswerJson(const std::vector<EventAnswer>& answers);

 private:
  const AccessControl& access_;
  Metrics& metrics_;
  std::function<void(const LogLine&)> log_;
};

}  // namespace takt::serve

#endif  // TAKT_ENGINE_SERVE_INGEST_H_
