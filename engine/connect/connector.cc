#include "engine/connect/connector.h"

#include "engine/connect/mqtt_publish.h"
#include "engine/connect/odoo.h"
#include "engine/connect/webhook.h"
#include "engine/event/command_names.h"

namespace takt::connect {

bool Connector::Delivers(std::string_view name) const {
  for (const std::string& pattern : options_.commands) {
    if (MatchesCommandPattern(pattern, name)) return true;
  }
  return false;
}

Result<std::unique_ptr<Connector>> MakeConnector(const ConnectorOptions& options) {
  const std::string who = "connector " + (options.name.empty() ? "(no name)" : options.name);
  if (!IsName(options.name)) {
    return Status::InvalidArgument(who + ": a name is 1 to 128 letters, digits, '_', '-', '.'");
  }
  if (options.commands.empty()) {
    return Status::InvalidArgument(who + ": no commands to deliver (commands = [\"alert.*\"])");
  }
  for (const std::string& pattern : options.commands) {
    if (!IsCommandPattern(pattern)) {
      return Status::InvalidArgument(who + ": '" + pattern +
                                     "' is not a command name or a name's beginning and '*'");
    }
  }
  if (options.timeout_ms <= 0) return Status::InvalidArgument(who + ": timeout_ms must be > 0");
  const RetryPolicy& r = options.retry;
  if (r.initial_backoff_ms <= 0 || r.max_backoff_ms < r.initial_backoff_ms ||
      r.max_attempts == 0 || r.max_age_ms <= 0) {
    return Status::InvalidArgument(who + ": the retry policy needs initial_backoff_ms > 0, "
                                         "max_backoff_ms >= it, max_attempts >= 1, "
                                         "max_age_ms > 0");
  }
  if (options.kind == "webhook") {
    if (options.url.rfind("http://", 0) != 0 && options.url.rfind("https://", 0) != 0) {
      return Status::InvalidArgument(who + ": a webhook's url starts with http:// or https://");
    }
    if (options.secret.empty()) {
      return Status::InvalidArgument(who + ": a webhook signs what it sends and needs a secret "
                                           "(secret_env names the variable that holds it)");
    }
    return MakeWebhookConnector(options);
  }
  if (options.kind == "odoo") {
    if (options.url.rfind("http://", 0) != 0 && options.url.rfind("https://", 0) != 0) {
      return Status::InvalidArgument(who + ": an odoo url starts with http:// or https://");
    }
    if (options.protocol != "jsonrpc" && options.protocol != "json2") {
      return Status::InvalidArgument(who + ": protocol '" + options.protocol +
                                     "' is neither jsonrpc nor json2");
    }
    if (options.database.empty()) return Status::InvalidArgument(who + ": database is required");
    if (options.protocol == "jsonrpc" && options.login.empty()) {
      return Status::InvalidArgument(who + ": jsonrpc needs a login");
    }
    if (options.secret.empty()) {
      return Status::InvalidArgument(who + ": odoo needs a password or API key (secret_env "
                                           "names the variable that holds it)");
    }
    if (options.backorder != "skip" && options.backorder != "create") {
      return Status::InvalidArgument(who + ": backorder '" + options.backorder +
                                     "' is neither skip nor create");
    }
    if (!IsName(options.equipment_field) || !IsName(options.order_field)) {
      return Status::InvalidArgument(who + ": equipment_field and order_field are field names");
    }
    return MakeOdooConnector(options);
  }
  if (options.kind == "mqtt") return MakeMqttConnector(options);
  return Status::InvalidArgument(who + ": unknown kind '" + options.kind +
                                 "' (known: webhook, odoo, mqtt)");
}

}  // namespace takt::connect
