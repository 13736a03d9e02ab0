#include "engine/connect/mqtt_publish.h"

#include <mutex>
#include <utility>

#include "engine/connect/mqtt_client.h"
#include "engine/connect/webhook.h"

namespace takt::connect {
namespace {

class MqttConnector final : public Connector {
 public:
  MqttConnector(ConnectorOptions options, MqttConnectOptions connect)
      : Connector(std::move(options)), connect_(std::move(connect)) {}

  // One session, one publish at a time: the broker orders what one client publishes, and the
  // dispatcher already keeps each key's commands in order.
  Attempt Deliver(const Command& command) override {
    std::lock_guard<std::mutex> lock(mu_);
    Attempt attempt;
    if (!session_.connected()) {
      Status connected = session_.Connect(connect_);
      if (!connected.ok()) return Failed(connected);
    }
    Status published =
        session_.Publish(CommandTopic(options().topic, command.name), WebhookBody(command));
    if (!published.ok()) return Failed(published);
    return attempt;
  }

 private:
  Attempt Failed(const Status& status) {
    session_.Close();
    Attempt attempt;
    attempt.kind = Attempt::Kind::kRetryable;
    attempt.error = options().name + ": " + status.message();
    return attempt;
  }

  MqttConnectOptions connect_;
  std::mutex mu_;
  MqttSession session_;
};

}  // namespace

std::string CommandTopic(const std::string& pattern, const std::string& name) {
  std::string topic = pattern;
  for (size_t at = topic.find("{name}"); at != std::string::npos; at = topic.find("{name}")) {
    topic.replace(at, 6, name);
  }
  return topic;
}

Result<std::unique_ptr<Connector>> MakeMqttConnector(const ConnectorOptions& options) {
  const std::string who = "connector " + options.name;
  constexpr std::string_view kPlain = "mqtt://", kTls = "mqtts://";
  const std::string bad_url = who + ": an mqtt url is mqtt://HOST[:PORT] or mqtts://HOST[:PORT]";
  const bool tls_url = options.url.rfind(kTls, 0) == 0;
  if (!tls_url && options.url.rfind(kPlain, 0) != 0) return Status::InvalidArgument(bad_url);
  std::string authority = options.url.substr(tls_url ? kTls.size() : kPlain.size());
  if (!authority.empty() && authority.back() == '/') authority.pop_back();
  MqttConnectOptions connect;
  connect.tls = tls_url;  // the url says (TlsClient::enabled is for takt serve's [mqtt])
  if (connect.tls) connect.port = 8883;
  if (!connect.tls && (!options.tls.ca.empty() || !options.tls.cert.empty())) {
    return Status::InvalidArgument(who + ": a certificate file is for TLS: the url is then "
                                         "mqtts://HOST[:PORT]");
  }
  if (options.tls.cert.empty() != options.tls.key.empty()) {
    return Status::InvalidArgument(who + ": tls_cert and tls_key: both or neither");
  }
  connect.tls_ca = options.tls.ca;
  connect.tls_cert = options.tls.cert;
  connect.tls_key = options.tls.key;
  const size_t colon = authority.rfind(':');
  connect.host = authority.substr(0, colon);
  if (colon != std::string::npos) {
    const std::string port = authority.substr(colon + 1);
    char* end = nullptr;
    const unsigned long n = std::strtoul(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || n == 0 || n > 65535) {
      return Status::InvalidArgument(who + ": bad port in " + options.url);
    }
    connect.port = static_cast<uint16_t>(n);
  }
  if (connect.host.empty() || connect.host.find('/') != std::string::npos) {
    return Status::InvalidArgument(bad_url);
  }
  if (options.topic.empty() || options.topic.find_first_of("+#") != std::string::npos) {
    return Status::InvalidArgument(who + ": topic is required and has no wildcard");
  }
  connect.client_id = options.client_id.empty() ? "takt-" + options.name : options.client_id;
  connect.username = options.login;
  connect.password = options.secret;
  connect.clean_session = true;  // nothing to resume: the outbox keeps what was not acknowledged
  connect.timeout_ms = options.timeout_ms;
  return std::unique_ptr<Connector>(std::make_unique<MqttConnector>(options, std::move(connect)));
}

}  // namespace takt::connect
