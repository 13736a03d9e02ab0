// A way out of takt: one connector delivers the commands whose names match its patterns. What
// a delivery attempt came to is classified by what it means (connect/classify.h), so that the
// dispatcher retries what may succeed later and gives up at once on what never will.
#ifndef TAKT_ENGINE_CONNECT_CONNECTOR_H_
#define TAKT_ENGINE_CONNECT_CONNECTOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "takt/dispatch.h"
#include "takt/engine.h"

namespace takt::connect {

struct Attempt {
  enum class Kind : uint8_t { kDelivered, kRetryable, kFinal };
  Kind kind = Kind::kDelivered;
  std::string error;           // what failed, for the outbox's last_error; never a secret
  int64_t retry_after_ms = 0;  // the receiver's own wait (Retry-After), if it gave one
};

class Connector {
 public:
  virtual ~Connector() = default;
  const ConnectorOptions& options() const { return options_; }
  // Does this connector deliver commands named `name`?
  bool Delivers(std::string_view name) const;
  // One delivery attempt. Thread-safe: the dispatcher calls it from several workers at once.
  virtual Attempt Deliver(const Command& command) = 0;

 protected:
  explicit Connector(ConnectorOptions options) : options_(std::move(options)) {}

 private:
  ConnectorOptions options_;
};

// Checks `options` and makes its connector: kInvalidArgument naming the connector and what is
// wrong (an unknown kind, no URL, a pattern that is not a command name with an optional final
// `*`, no secret for a webhook).
Result<std::unique_ptr<Connector>> MakeConnector(const ConnectorOptions& options);

}  // namespace takt::connect

#endif  // TAKT_ENGINE_CONNECT_CONNECTOR_H_
