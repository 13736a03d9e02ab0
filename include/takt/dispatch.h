// Delivering the outbox: a Dispatcher reads the commands an Engine committed and delivers each
// through the connector whose patterns match its name, with retries, backoff and dead letters.
// Every change of a command's delivery state is written to the engine's store before the next
// step (pending -> in_flight -> delivered | retry | dead), so a process stopped in the middle
// of a delivery sends that command again when it starts: receivers apply each command id once
// (Command::id is deterministic, and connectors pass it on as an idempotency key).
#ifndef TAKT_DISPATCH_H_
#define TAKT_DISPATCH_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "takt/engine.h"
#include "takt/export.h"
#include "takt/status.h"

namespace takt {

// When a failed delivery is tried again. The n-th retry waits a random time between 0 and
// min(max_backoff_ms, initial_backoff_ms * 2^(n-1)) ("full jitter", so that many commands
// failing together do not come back together), or what the receiver asked for (Retry-After),
// whichever is longer. After max_attempts deliveries, or once max_age_ms have passed since the
// first, a command that fails again is a dead letter.
struct RetryPolicy {
  int64_t initial_backoff_ms = 1000;
  int64_t max_backoff_ms = 100'000;
  uint32_t max_attempts = 10;
  int64_t max_age_ms = 24 * 3600 * 1000;
};

// takt as a TLS client (of an MQTT broker, an HTTPS receiver). The server's certificate must
// chain to an authority in `ca` (a PEM file; when empty, the system's authorities) and name the
// host connected to. `cert` and `key` (PEM, both or neither; the key not encrypted): takt's own
// certificate, for a server that asks its clients for one. `enabled` is read for MQTT
// ingestion only: a connector's url says whether it speaks TLS (https://, mqtts://).
struct TlsClient {
  bool enabled = false;
  std::string ca;
  std::string cert;
  std::string key;
};

// One way out of takt. Secrets come from the environment (the configuration names the
// variable); they are never logged, and no error message carries them.
struct ConnectorOptions {
  std::string name;                   // unique; names it in logs, counts and errors
  std::string kind;                   // "webhook", "odoo" or "mqtt"
  std::vector<std::string> commands;  // name patterns: "alert.*" (a final * matches any end)
  // webhook: where commands are POSTed; odoo: the server's base URL (http or https); mqtt: the
  // broker, mqtt://HOST[:PORT], or mqtts://HOST[:PORT] over TLS.
  std::string url;
  // webhook: the HMAC-SHA256 key of the signature; odoo: the password (jsonrpc) or API key
  // (json2); mqtt: the broker password (with login as the user name).
  std::string secret;
  // mqtt only: the topic each command is published to, at QoS 1 ("{name}": the command's
  // name), and the client id (default "takt-" and the connector's name).
  std::string topic = "takt/commands/{name}";
  std::string client_id;
  // The files of TLS, for an https:// url (webhook, odoo) or an mqtts://HOST[:PORT] one (mqtt,
  // port 8883 unless given).
  TlsClient tls;
  // odoo only: "jsonrpc" (Odoo 16 to 19) or "json2" (19 on); the database; the login
  // (jsonrpc; for mqtt the broker user name); the field of maintenance.equipment that holds
  // the asset's name.
  std::string protocol = "jsonrpc";
  std::string database;
  std::string login;
  std::string equipment_field = "name";
  // odoo only: the mrp.production field that holds takt's order key (its source document);
  // for an order closed with less than planned, "skip" (no backorder for the rest) or
  // "create" (a backorder for the rest).
  std::string order_field = "origin";
  std::string backorder = "skip";
  int64_t timeout_ms = 10'000;        // per request, connecting included
  RetryPolicy retry;
};

// One delivery attempt and what came of it, for an embedder's measurements (DispatchOptions::
// on_attempt). The views are valid during the call only.
struct DeliveryReport {
  std::string_view connector;
  std::string_view command;  // the command's name
  std::string_view result;   // "delivered", "retry" or "dead"
  uint32_t attempt = 1;      // this attempt's number, from 1
  double seconds = 0;        // the attempt's own duration (the connector's request)
};

struct DispatchOptions {
  std::vector<ConnectorOptions> connectors;
  // Deliveries under way at once, across keys; commands of one key go one at a time, in order.
  uint32_t max_in_flight = 8;
  // How often the outbox is read again when there is nothing to do.
  int64_t poll_interval_ms = 200;
  uint64_t jitter_seed = 0;  // 0: from the clock; else the same waits each run (tests)
  std::function<void(LogLevel, std::string_view)> on_log;
  // Called after each attempt's outcome is written to the store, from the dispatcher's thread.
  // May be empty.
  std::function<void(const DeliveryReport&)> on_attempt;
};

struct DispatchCounts {
  uint64_t delivered = 0;  // by this dispatcher
  uint64_t retried = 0;    // failed deliveries that will be tried again
  uint64_t dead = 0;       // commands this dispatcher gave up on
  // Commands waiting that no connector delivers (their names match no pattern), when the
  // dispatcher last looked.
  uint64_t unrouted = 0;
};

class TAKT_API Dispatcher {
 public:
  // kInvalidArgument for a connector without a name, with an unknown kind, a bad URL or
  // pattern, or a name given twice; kNotFound when the engine has no store (no outbox).
  static Result<std::unique_ptr<Dispatcher>> Create(Engine& engine, DispatchOptions options);
  virtual ~Dispatcher() = default;

  // Delivers until Stop(). With `until_idle`, returns once nothing is left that a connector
  // delivers (every such command delivered or dead), or, with `max_wait_ms` > 0, when that
  // much time has passed (kLimitExceeded, with the counts so far). Deliveries under way when
  // it stops are finished or, past their timeout, abandoned; an abandoned one is still
  // in_flight in the store and is sent again next time.
  virtual Status Run(bool until_idle, int64_t max_wait_ms) = 0;
  // Makes Run() return soon; callable from any thread.
  virtual void Stop() = 0;
  virtual DispatchCounts counts() const = 0;
};

}  // namespace takt

#endif  // TAKT_DISPATCH_H_
