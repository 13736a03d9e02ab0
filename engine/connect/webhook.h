// The webhook connector: each command is POSTed as JSON to one URL, over libcurl with its
// connections reused, signed so that the receiver can tell it came from takt and was not
// replayed, and keyed so that a delivery sent again is applied once:
//   Content-Type: application/json
//   Idempotency-Key: <command id>
//   X-Takt-Command: <command name>
//   X-Takt-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
// The body: {"id": ..., "name": ..., "caused_by": ..., "emitted_by": ..., "data": {...}}.
// docs/operations.md shows how a receiver verifies it.
#ifndef TAKT_ENGINE_CONNECT_WEBHOOK_H_
#define TAKT_ENGINE_CONNECT_WEBHOOK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/connect/connector.h"

namespace takt::connect {

std::unique_ptr<Connector> MakeWebhookConnector(const ConnectorOptions& options);

// The body a webhook posts for `command`.
std::string WebhookBody(const Command& command);
// The X-Takt-Signature value for `body` signed at `unix_seconds` with `secret`.
std::string WebhookSignature(std::string_view secret, int64_t unix_seconds, std::string_view body);


}  // namespace takt::connect

#endif  // TAKT_ENGINE_CONNECT_WEBHOOK_H_
