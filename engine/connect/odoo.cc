// The Odoo connector, built on what recorded exchanges with Odoo 18 and 19 show: JSON-RPC
// answers every call with HTTP 200 and tells errors by `error.data.name`; JSON-2 answers with
// an HTTP status and a body naming the exception; `load` answers bad data with `ids: false`
// and messages instead of an error, and two identical loads with one external id make one
// record.
#include "engine/connect/odoo.h"

#include <openssl/sha.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

#include "engine/connect/http.h"

namespace takt::connect {
namespace {

// Ordered: arguments go to JSON-RPC's execute_kw by position, in the order they were named.
using Json = nlohmann::ordered_json;

// What one call to Odoo came to: its result, or an attempt that failed.
struct Call {
  std::optional<Json> result;
  Attempt failed;
};

Call Failed(Attempt::Kind kind, std::string error, int64_t retry_after_ms = 0) {
  Call c;
  c.failed.kind = kind;
  c.failed.error = std::move(error);
  c.failed.retry_after_ms = retry_after_ms;
  return c;
}

std::string Shorten(std::string text) {
  if (text.size() > 300) text.resize(300);
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return text;
}

class OdooConnector final : public Connector {
 public:
  explicit OdooConnector(ConnectorOptions options) : Connector(std::move(options)) {
    base_ = this->options().url;
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
  }

  Attempt Deliver(const Command& command) override {
    if (command.name == "odoo.maintenance.create") return MaintenanceRequest(command);
    Attempt a;
    a.kind = Attempt::Kind::kFinal;
    a.error = options().name + ": the odoo connector does not deliver " + command.name +
              " (it delivers odoo.maintenance.create)";
    return a;
  }

 private:
  Attempt MaintenanceRequest(const Command& command);
  // model.method with its arguments by name; the first `positional` of them are positional
  // in JSON-RPC's execute_kw, the rest its kwargs.
  Call Execute(const std::string& model, const std::string& method, const Json& named,
               size_t positional);
  Call JsonRpc(const Json& params);
  std::optional<int64_t> Uid(Attempt& failed);
  Call FromHttp(const HttpAnswer& answer);
  std::string Who() const { return options().name; }

  HttpClient http_;
  std::string base_;
  std::atomic<int64_t> request_id_{0};
  std::mutex uid_mu_;
  std::optional<int64_t> uid_;  // guarded by uid_mu_: JSON-RPC's user id, from common.login
};

Call OdooConnector::FromHttp(const HttpAnswer& answer) {
  if (!answer.sent) {
    return Failed(answer.retryable ? Attempt::Kind::kRetryable : Attempt::Kind::kFinal,
                  Who() + ": " + answer.transport_error);
  }
  const Json body = Json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
  const bool json2 = options().protocol == "json2";
  if (answer.status == 200 && !body.is_discarded()) {
    if (json2) return Call{body, {}};
    if (body.contains("error")) {
      const Json& e = body["error"];
      const Json data = e.is_object() && e.contains("data") && e["data"].is_object()
                            ? e["data"]
                            : Json::object();
      const std::string name = data.value("name", std::string());
      const std::string message =
          data.value("message", e.is_object() ? e.value("message", std::string("error"))
                                              : std::string("error"));
      return Failed(OdooErrorIsFinal(name) ? Attempt::Kind::kFinal : Attempt::Kind::kRetryable,
                    Who() + ": " + name + ": " + Shorten(message));
    }
    if (body.contains("result")) return Call{body["result"], {}};
    return Failed(Attempt::Kind::kRetryable, Who() + ": an answer without result or error");
  }
  // An HTTP error. JSON-2 names the exception in the body; a JSON-RPC endpoint answers HTML.
  std::string name, message;
  if (!body.is_discarded() && body.is_object()) {
    name = body.value("name", std::string());
    message = body.value("message", std::string());
  }
  Attempt a = ClassifyHttp(answer.status, message.empty() ? answer.body : message,
                           answer.retry_after, Who());
  // Odoo 19 answers a wrong value with HTTP 500 builtins.ValueError: retrying never fixes it.
  if (answer.status == 500 && OdooErrorIsFinal(name)) a.kind = Attempt::Kind::kFinal;
  if (!name.empty()) a.error = Who() + ": HTTP " + std::to_string(answer.status) + " " + name +
                               ": " + Shorten(message);
  Call c;
  c.failed = std::move(a);
  return c;
}

Call OdooConnector::JsonRpc(const Json& params) {
  const Json request = {{"jsonrpc", "2.0"}, {"method", "call"}, {"params", params},
                        {"id", ++request_id_}};
  return FromHttp(http_.Post(base_ + "/jsonrpc", {"Content-Type: application/json"},
                             request.dump(), options().timeout_ms));
}

std::optional<int64_t> OdooConnector::Uid(Attempt& failed) {
  std::lock_guard<std::mutex> lock(uid_mu_);
  if (uid_) return uid_;
  const ConnectorOptions& o = options();
  Call login = JsonRpc({{"service", "common"},
                        {"method", "login"},
                        {"args", Json::array({o.database, o.login, o.secret})}});
  if (!login.result) {
    failed = login.failed;
    return std::nullopt;
  }
  if (!login.result->is_number_integer()) {  // `false`: login or password refused
    failed.kind = Attempt::Kind::kFinal;
    failed.error = Who() + ": Odoo refused the login of " + o.login + " to database " +
                   o.database;
    return std::nullopt;
  }
  uid_ = login.result->get<int64_t>();
  return uid_;
}

Call OdooConnector::Execute(const std::string& model, const std::string& method,
                            const Json& named, size_t positional) {
  const ConnectorOptions& o = options();
  if (o.protocol == "json2") {
    return FromHttp(http_.Post(base_ + "/json/2/" + model + "/" + method,
                               {"Content-Type: application/json",
                                "Authorization: bearer " + o.secret,
                                "X-Odoo-Database: " + o.database},
                               named.dump(), o.timeout_ms));
  }
  Attempt failed;
  std::optional<int64_t> uid = Uid(failed);
  if (!uid) return Call{std::nullopt, failed};
  Json args = Json::array();
  Json kwargs = Json::object();
  size_t i = 0;
  for (const auto& [key, value] : named.items()) {
    if (i++ < positional) {
      args.push_back(value);
    } else {
      kwargs[key] = value;
    }
  }
  const Json call = Json::array({o.database, *uid, o.secret, model, method, args, kwargs});
  return JsonRpc({{"service", "object"}, {"method", "execute_kw"}, {"args", call}});
}

Attempt OdooConnector::MaintenanceRequest(const Command& command) {
  const Json data = Json::parse(command.payload_json, nullptr, false);
  const std::string asset = data.is_object() ? data.value("asset", std::string()) : "";
  const std::string priority = data.is_object() ? data.value("priority", std::string()) : "";
  const std::string reason = data.is_object() ? data.value("reason", std::string()) : "";
  auto final_error = [&](const std::string& why) {
    Attempt a;
    a.kind = Attempt::Kind::kFinal;
    a.error = Who() + ": " + why;
    return a;
  };
  if (asset.empty()) return final_error("the command has no asset");
  // Odoo's selection: "0" very low .. "3" high.
  const char* odoo_priority = priority == "high" ? "3" : priority == "normal" ? "2"
                              : priority == "low" ? "1" : nullptr;
  if (odoo_priority == nullptr) {
    return final_error("priority '" + priority + "' is not high, normal or low");
  }

  // The equipment, by the field that names assets in this plant's Odoo.
  Json named = Json::object();
  named["domain"] = Json::array({Json::array({options().equipment_field, "=", asset})});
  named["fields"] = Json::array({"id"});
  named["limit"] = 1;
  Call found = Execute("maintenance.equipment", "search_read", named, 1);
  if (!found.result) return found.failed;
  if (!found.result->is_array() || found.result->empty()) {
    return final_error("no maintenance.equipment has " + options().equipment_field + " " + asset);
  }
  const int64_t equipment = (*found.result)[0].value("id", int64_t{0});

  // One record per command, whatever the number of deliveries: load finds the external id.
  std::string emitter = command.emitted_by.substr(0, command.emitted_by.find('@'));
  Json row = Json::array({"takt_cmd." + OdooExternalId(command.id), reason + " on " + asset,
                          std::to_string(equipment), odoo_priority, "corrective",
                          "cause " + command.caused_by + ", " + emitter});
  Json load = Json::object();
  load["fields"] = Json::array(
      {"id", "name", "equipment_id/.id", "priority", "maintenance_type", "description"});
  load["data"] = Json::array({row});
  Call made = Execute("maintenance.request", "load", load, 2);
  if (!made.result) return made.failed;
  const Json& ids = (*made.result)["ids"];
  if (ids.is_array() && !ids.empty()) return Attempt{};
  std::string messages;
  for (const Json& m : made.result->value("messages", Json::array())) {
    messages += (messages.empty() ? "" : "; ") + m.value("message", std::string("?"));
  }
  return final_error("load refused the request: " + Shorten(messages));
}

}  // namespace

std::unique_ptr<Connector> MakeOdooConnector(const ConnectorOptions& options) {
  return std::make_unique<OdooConnector>(options);
}

std::string OdooExternalId(std::string_view command_id) {
  std::string name;
  for (char c : command_id) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    name += plain ? c : '_';
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(command_id.data()), command_id.size(), digest);
  static const char* const kHex = "0123456789abcdef";
  name += '_';
  for (int i = 0; i < 4; ++i) {
    name += kHex[digest[i] >> 4];
    name += kHex[digest[i] & 15];
  }
  return name;
}

bool OdooErrorIsFinal(std::string_view name) {
  return name.rfind("odoo.exceptions.", 0) == 0 || name.rfind("builtins.", 0) == 0 ||
         name.rfind("werkzeug.exceptions.", 0) == 0;
}

}  // namespace takt::connect
