// Webhook delivery, over the connectors' pooled HTTP client (http.h), so connections to the
// receiver are reused across commands (keep-alive).
#include "engine/connect/webhook.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <cstdlib>
#include <utility>

#include <nlohmann/json.hpp>

#include "engine/connect/http.h"
#include "engine/event/hex.h"

namespace takt::connect {
namespace {

class WebhookConnector final : public Connector {
 public:
  explicit WebhookConnector(ConnectorOptions options)
      : Connector(std::move(options)), http_(this->options().tls) {}

  Attempt Deliver(const Command& command) override {
    const ConnectorOptions& o = options();
    const std::string body = WebhookBody(command);
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const HttpAnswer answer =
        http_.Post(o.url,
                   {"Content-Type: application/json", "Idempotency-Key: " + command.id,
                    "X-Takt-Command: " + command.name,
                    "X-Takt-Signature: " + WebhookSignature(o.secret, now, body)},
                   body, o.timeout_ms);
    return Classify(answer, o.name);
  }

 private:
  HttpClient http_;
};

}  // namespace

std::unique_ptr<Connector> MakeWebhookConnector(const ConnectorOptions& options) {
  return std::make_unique<WebhookConnector>(options);
}

std::string WebhookBody(const Command& command) {
  // The payload is JSON text already: it goes in as it is, so the receiver sees the bytes the
  // outbox holds. The other fields are strings, escaped by nlohmann.
  std::string body = "{\"id\":" + nlohmann::json(command.id).dump() +
                     ",\"name\":" + nlohmann::json(command.name).dump() +
                     ",\"caused_by\":" + nlohmann::json(command.caused_by).dump() +
                     ",\"emitted_by\":" + nlohmann::json(command.emitted_by).dump() +
                     ",\"data\":" + (command.payload_json.empty() ? "{}" : command.payload_json) +
                     "}";
  return body;
}

std::string WebhookSignature(std::string_view secret, int64_t unix_seconds,
                             std::string_view body) {
  const std::string t = std::to_string(unix_seconds);
  std::string signed_text = t + "." + std::string(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac,
       &length);
  return "t=" + t + ",v1=" + HexOf(mac, length);
}

}  // namespace takt::connect
