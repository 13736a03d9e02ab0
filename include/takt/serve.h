// takt serve: the engine as the plant's integration server. A Server opens the engine of a
// configuration (takt/config.h), takes events over HTTP (and MQTT, takt/serve.h's MqttOptions),
// answers each only after its commit, moves workflow timers on the wall clock, delivers the
// outbox through the configured connectors, reloads rules and workflows while events flow, and
// exposes its health in Prometheus' text format. docs/operations.md describes every key of
// [serve], [[credential]] and [mqtt]; docs/openapi.yaml the HTTP API.
#ifndef TAKT_SERVE_H_
#define TAKT_SERVE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "takt/dispatch.h"
#include "takt/engine.h"
#include "takt/export.h"
#include "takt/status.h"

namespace takt {

struct Config;

// Who may call the server. A bearer token is never configured itself, only its SHA-256 (64 hex
// digits), so the configuration file holds nothing that lets anyone in; `takt serve
// --hash-token` prints the hash of a token read from standard input (HashToken() below).
struct Credential {
  std::string name;          // names the caller in logs and metrics, never the token
  std::string source;        // the only source it may publish as (empty: none, admin only)
  bool admin = false;        // may use the administrative endpoints
  std::string token_sha256;  // lowercase hex
};

// How an MQTT message becomes an event. Each field is taken from `payload.NAME` (a field of
// the JSON payload), `topic.N` (the N-th level of the topic, from 0), or is the text itself (a
// constant); `data` is `payload` (the whole payload) or `payload.NAME`.
struct MqttSubscription {
  std::string filter;  // e.g. "plant/+/alarm"; subscribed at QoS 1
  std::string source;  // every event from this filter has this source
  std::string id = "payload.id";
  std::string type = "payload.type";
  std::string key = "payload.key";
  std::string seq = "payload.seq";
  std::string ts = "payload.ts";
  std::string data = "payload.data";
};

struct MqttOptions {
  std::string host;  // empty: no MQTT
  uint16_t port = 1883;
  // The broker keeps the session of this client id (clean session off): what it sent and was
  // not acknowledged is sent again after a reconnect, or after takt restarts.
  std::string client_id = "takt";
  std::string username;
  std::string password;  // from the environment variable the configuration names
  uint16_t keepalive_s = 30;
  TlsClient tls;  // the connection to the broker over TLS (its port is then usually 8883)
  int64_t reconnect_min_ms = 200;
  int64_t reconnect_max_ms = 30'000;
  std::vector<MqttSubscription> subscriptions;
};

struct ServeOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (Server::port() tells which)
  // Both or neither: HTTPS with this PEM certificate (chain) and key.
  std::string tls_cert;
  std::string tls_key;
  size_t max_body_bytes = 8u << 20;  // larger bodies are refused with 413
  // A request whose headers or body do not arrive within this long is refused (408 when the
  // body is late; the connection is closed when the headers are).
  int64_t read_timeout_ms = 10'000;
  int64_t write_timeout_ms = 10'000;
  uint32_t max_connections = 64;  // served at once; more wait for the listen queue
  std::vector<Credential> credentials;
  // Workflow timers fire on the wall clock, checked this often (0: on event time only, as in
  // takt simulate).
  int64_t clock_interval_ms = 1000;
  // Rule and workflow files are watched and reloaded when they change (also on Reload()).
  bool watch_definitions = true;
  MqttOptions mqtt;
};

// One line of the server's log: the message and, for a line about an event, its id and key.
struct LogLine {
  LogLevel level = LogLevel::kInfo;
  std::string_view message;
  std::string_view event_id;
  std::string_view key;
  std::string_view source;
};

class TAKT_API Server {
 public:
  // Opens the engine of config.engine (a database is required: the outbox and every answer
  // depend on it), the dispatcher of config.dispatch, and binds the listening socket.
  // kInvalidArgument for a configuration it cannot serve (no database, no credential, a
  // certificate without a key), kIoError when the address cannot be bound.
  static Result<std::unique_ptr<Server>> Open(const Config& config,
                                              std::function<void(const LogLine&)> on_log);
  virtual ~Server() = default;

  // Serves until Stop(): HTTP, MQTT, the clock and the dispatcher. On Stop, ingestion stops
  // first, submissions under way are committed and answered, then the dispatcher ends its
  // deliveries and the engine closes.
  virtual Status Run() = 0;
  // Callable from any thread, once Run() started or before.
  virtual void Stop() = 0;
  // Reloads rules and workflows between events: a broken new version is refused and logged,
  // and the running one stays. Callable from any thread.
  virtual void Reload() = 0;
  virtual uint16_t port() const = 0;
  // /v1/health's answer: the store is open and the definitions loaded.
  virtual bool ready() const = 0;
};

// The SHA-256 of `token`, in lowercase hex, as Credential::token_sha256 wants it.
TAKT_API std::string HashToken(std::string_view token);

}  // namespace takt

#endif  // TAKT_SERVE_H_
