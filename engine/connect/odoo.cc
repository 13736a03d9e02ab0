// The Odoo connector, built on what recorded exchanges with Odoo 18 and 19 show: JSON-RPC
// answers every call with HTTP 200 and tells errors by `error.data.name`; JSON-2 answers with
// an HTTP status and a body naming the exception; `load` answers bad data with `ids: false`
// and messages instead of an error, and two identical loads with one external id make one
// record.
#include "engine/connect/odoo.h"

#include <openssl/sha.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/connect/http.h"
#include "engine/event/hex.h"

namespace takt::connect {
namespace {

// Ordered: arguments go to JSON-RPC's execute_kw by position, in the order they were named.
using Json = nlohmann::ordered_json;

// What one call to Odoo came to: its result, or an attempt that failed.
struct Call {
  std::optional<Json> result;
  Attempt failed;
};

// Odoo's answers, and the data of the commands rules make, are read without trusting their
// shape: a field that is missing, or holds another type, reads as the fallback. (nlohmann's
// value() and get() throw on a wrong type, and an exception in a delivery would end the
// process; the odoo_answers fuzz target holds the connector to this.)
const Json& Field(const Json& object, const char* key) {
  static const Json kNull;
  if (!object.is_object()) return kNull;
  const auto found = object.find(key);
  return found == object.end() ? kNull : *found;
}

std::string StringField(const Json& object, const char* key, std::string fallback = "") {
  const Json& value = Field(object, key);
  return value.is_string() ? value.get<std::string>() : fallback;
}

// 0 when missing or not an integer: no Odoo record has id 0.
int64_t IntegerField(const Json& object, const char* key) {
  const Json& value = Field(object, key);
  return value.is_number_integer() ? value.get<int64_t>() : 0;
}

// The first item of a list Odoo answered (search_read's records), or null.
const Json& FirstOf(const Json& list) {
  static const Json kNull;
  return list.is_array() && !list.empty() ? list[0] : kNull;
}

Call Failed(Attempt::Kind kind, std::string error) {
  Call c;
  c.failed.kind = kind;
  c.failed.error = std::move(error);
  return c;
}

class OdooConnector final : public Connector {
 public:
  OdooConnector(ConnectorOptions options, HttpPost post)
      : Connector(std::move(options)), post_(std::move(post)) {
    if (!post_) {
      http_ = std::make_unique<HttpClient>(this->options().tls);
      post_ = [client = http_.get()](const std::string& url,
                                     const std::vector<std::string>& headers,
                                     std::string_view body, int64_t timeout_ms) {
        return client->Post(url, headers, body, timeout_ms);
      };
    }
    base_ = this->options().url;
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
  }

  Attempt Deliver(const Command& command) override {
    if (command.name == "odoo.maintenance.create") return MaintenanceRequest(command);
    if (command.name == "odoo.production.done") return ProductionDone(command);
    if (command.name == "odoo.quality.alert") return QualityAlert(command);
    Attempt a;
    a.kind = Attempt::Kind::kFinal;
    a.error = options().name + ": the odoo connector does not deliver " + command.name +
              " (it delivers odoo.maintenance.create, odoo.production.done and "
              "odoo.quality.alert)";
    return a;
  }

 private:
  Attempt MaintenanceRequest(const Command& command);
  Attempt ProductionDone(const Command& command);
  Attempt QualityAlert(const Command& command);
  // The manufacturing orders whose order_field is `order`, with `fields`.
  Call Productions(const std::string& order, const Json& fields) {
    Json named = Json::object();
    named["domain"] = Json::array({Json::array({options().order_field, "=", order})});
    named["fields"] = fields;
    return Execute("mrp.production", "search_read", named, 1);
  }
  // The first record's `field` of a search_read of `model` over `domain`; none when nothing
  // matches.
  Call First(const std::string& model, const Json& domain, const std::string& field);
  Attempt Final(const std::string& why) const {
    Attempt a;
    a.kind = Attempt::Kind::kFinal;
    a.error = Who() + ": " + why;
    return a;
  }
  // A `load` that made nothing (ids: false): final, with Odoo's messages.
  Attempt LoadRefused(const Json& result, const std::string& what) const {
    std::string messages;
    const Json& list = Field(result, "messages");
    if (list.is_array()) {
      for (const Json& m : list) {
        messages += (messages.empty() ? "" : "; ") + StringField(m, "message", "?");
      }
    }
    return Final("load refused " + what + ": " + OneLine(messages));
  }
  // model.method with its arguments by name; the first `positional` of them are positional
  // in JSON-RPC's execute_kw, the rest its kwargs.
  Call Execute(const std::string& model, const std::string& method, const Json& named,
               size_t positional);
  Call JsonRpc(const Json& params);
  std::optional<int64_t> Uid(Attempt& failed);
  Call FromHttp(const HttpAnswer& answer);
  std::string Who() const { return options().name; }

  std::unique_ptr<HttpClient> http_;  // when no other transport was given
  HttpPost post_;
  std::string base_;
  std::atomic<int64_t> request_id_{0};
  std::mutex uid_mu_;
  std::optional<int64_t> uid_;  // guarded by uid_mu_: JSON-RPC's user id, from common.login
};

Call OdooConnector::FromHttp(const HttpAnswer& answer) {
  if (!answer.sent) return Call{std::nullopt, Classify(answer, Who())};
  const Json body = Json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
  const bool json2 = options().protocol == "json2";
  if (answer.status == 200 && !body.is_discarded()) {
    if (json2) return Call{body, {}};
    if (body.contains("error")) {
      const Json& e = Field(body, "error");
      const Json& data = Field(e, "data");
      const std::string name = StringField(data, "name");
      const std::string message = StringField(data, "message", StringField(e, "message", "error"));
      return Failed(OdooErrorIsFinal(name) ? Attempt::Kind::kFinal : Attempt::Kind::kRetryable,
                    Who() + ": " + name + ": " + OneLine(message));
    }
    if (body.contains("result")) return Call{Field(body, "result"), {}};
    return Failed(Attempt::Kind::kRetryable, Who() + ": an answer without result or error");
  }
  // An HTTP error. JSON-2 names the exception in the body; a JSON-RPC endpoint answers HTML.
  std::string name, message;
  if (!body.is_discarded()) {
    name = StringField(body, "name");
    message = StringField(body, "message");
  }
  Attempt a = ClassifyHttp(answer.status, message.empty() ? answer.body : message,
                           answer.retry_after, Who());
  // Odoo 19 answers a wrong value with HTTP 500 builtins.ValueError: retrying never fixes it.
  if (answer.status == 500 && OdooErrorIsFinal(name)) a.kind = Attempt::Kind::kFinal;
  if (!name.empty()) a.error = Who() + ": HTTP " + std::to_string(answer.status) + " " + name +
                               ": " + OneLine(message);
  Call c;
  c.failed = std::move(a);
  return c;
}

Call OdooConnector::JsonRpc(const Json& params) {
  const Json request = {{"jsonrpc", "2.0"}, {"method", "call"}, {"params", params},
                        {"id", ++request_id_}};
  return FromHttp(post_(base_ + "/jsonrpc", {"Content-Type: application/json"},
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
    return FromHttp(post_(base_ + "/json/2/" + model + "/" + method,
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
  const std::string asset = StringField(data, "asset");
  const std::string priority = StringField(data, "priority");
  const std::string reason = StringField(data, "reason");
  if (asset.empty()) return Final("the command has no asset");
  // Odoo's selection: "0" very low .. "3" high.
  const char* odoo_priority = priority == "high" ? "3" : priority == "normal" ? "2"
                              : priority == "low" ? "1" : nullptr;
  if (odoo_priority == nullptr) {
    return Final("priority '" + priority + "' is not high, normal or low");
  }

  // The equipment, by the field that names assets in this plant's Odoo.
  Json named = Json::object();
  named["domain"] = Json::array({Json::array({options().equipment_field, "=", asset})});
  named["fields"] = Json::array({"id"});
  named["limit"] = 1;
  Call found = Execute("maintenance.equipment", "search_read", named, 1);
  if (!found.result) return found.failed;
  if (!found.result->is_array() || found.result->empty()) {
    return Final("no maintenance.equipment has " + options().equipment_field + " " + asset);
  }
  const int64_t equipment = IntegerField(FirstOf(*found.result), "id");

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
  const Json& ids = Field(*made.result, "ids");
  if (ids.is_array() && !ids.empty()) return Attempt{};
  return LoadRefused(*made.result, "the request");
}

Attempt OdooConnector::ProductionDone(const Command& command) {
  const Json data = Json::parse(command.payload_json, nullptr, false);
  if (!data.is_object() || !data.contains("order") || !data["order"].is_string()) {
    return Final("the command has no order");
  }
  const std::string order = data["order"];
  const Json good = data.value("good", Json(0));
  if (!good.is_number() || good.get<double>() <= 0) {
    return Final("order " + order + " reports nothing produced (good " + good.dump() + ")");
  }
  // The manufacturing order whose source document is ours: the first one not done, else a
  // done one (this command, delivered before).
  Call found = Productions(order, Json::array({"id", "name", "state", "product_qty"}));
  if (!found.result) return found.failed;
  if (!found.result->is_array() || found.result->empty()) {
    return Final("no mrp.production has " + options().order_field + " " + order);
  }
  // One done already: this command's effect happened (a resend after a lost answer); an open
  // order beside it is the backorder that closing it made.
  const Json* open = nullptr;
  for (const Json& mo : *found.result) {
    const std::string state = StringField(mo, "state");
    if (state == "done") return Attempt{};
    if (state != "cancel" && open == nullptr) open = &mo;
  }
  if (open == nullptr) {
    return Final("mrp.production " + StringField(FirstOf(*found.result), "name") +
                 " is cancelled");
  }
  const Json ids = Json::array({IntegerField(*open, "id")});
  const std::string name = StringField(*open, "name");
  if (StringField(*open, "state") == "draft") {
    Call confirmed = Execute("mrp.production", "action_confirm", Json{{"ids", ids}}, 1);
    if (!confirmed.result) return confirmed.failed;
  }
  Json write = Json::object();
  write["ids"] = ids;
  write["vals"] = Json{{"qty_producing", good}};
  Call written = Execute("mrp.production", "write", write, 2);
  if (!written.result) return written.failed;
  // Closed with what was produced, components consumed as written (Odoo's consumption warning
  // skipped), and for the rest no backorder, or with `backorder = "create"` a backorder.
  Json context = Json{{"skip_backorder", true}, {"skip_consumption", true}};
  if (options().backorder == "create") context["mo_ids_to_backorder"] = ids;
  Json done = Json::object();
  done["ids"] = ids;
  done["context"] = context;
  Call marked = Execute("mrp.production", "button_mark_done", done, 1);
  if (!marked.result) return marked.failed;
  if (*marked.result == true) return Attempt{};
  // With a backorder Odoo answers with a window on it: the order was closed.
  if (options().backorder == "create" &&
      StringField(*marked.result, "res_model") == "mrp.production") {
    return Attempt{};
  }
  // A wizard after all: nothing was closed; what it is says why.
  return Final("mrp.production " + name + " was not closed: Odoo answered with " +
               OneLine(StringField(*marked.result, "name", marked.result->dump())));
}

Call OdooConnector::First(const std::string& model, const Json& domain,
                           const std::string& field) {
  Json named = Json::object();
  named["domain"] = domain;
  named["fields"] = Json::array({field});
  Call found = Execute(model, "search_read", named, 1);
  if (!found.result) return found;
  if (!found.result->is_array() || found.result->empty()) return Call{Json(nullptr), {}};
  return Call{Field(FirstOf(*found.result), field.c_str()), {}};
}

Attempt OdooConnector::QualityAlert(const Command& command) {
  // Community has no quality.alert (it is Enterprise's): the alert is a To-Do activity on the
  // manufacturing order, and a message in its chatter.
  const Json data = Json::parse(command.payload_json, nullptr, false);
  if (!data.is_object() || !data.contains("order") || !data["order"].is_string()) {
    return Final("the command has no order");
  }
  const std::string order = data["order"];
  const std::string reason = StringField(data, "reason", "quality alert");
  const std::string asset = StringField(data, "asset");
  const std::string summary = "Quality hold: " + reason + (asset.empty() ? "" : " on " + asset);
  const std::string emitter = command.emitted_by.substr(0, command.emitted_by.find('@'));

  Call mo = Productions(order, Json::array({"id"}));
  if (!mo.result) return mo.failed;
  if (!mo.result->is_array() || mo.result->empty()) {
    return Final("no mrp.production has " + options().order_field + " " + order);
  }
  const int64_t mo_id = IntegerField(FirstOf(*mo.result), "id");
  Call todo = First("ir.model.data",
                    Json::array({Json::array({"module", "=", "mail"}),
                                 Json::array({"name", "=", "mail_activity_data_todo"})}),
                    "res_id");
  if (!todo.result) return todo.failed;
  if (!todo.result->is_number_integer()) return Final("Odoo has no To-Do activity type");
  Json model_search = Json::object();
  model_search["domain"] = Json::array({Json::array({"model", "=", "mrp.production"})});
  Call model = Execute("ir.model", "search", model_search, 1);
  if (!model.result) return model.failed;
  const Json& model_id = FirstOf(*model.result);
  if (!model_id.is_number_integer()) return Final("Odoo has no model mrp.production");
  // Whether an earlier delivery made the activity already: then it posted its message, or
  // was stopped just before, and the message is not posted twice (at most once: a chatter
  // message cannot be made idempotent).
  const std::string external = OdooExternalId(command.id);
  Call earlier = First("ir.model.data",
                       Json::array({Json::array({"module", "=", "takt_cmd"}),
                                    Json::array({"name", "=", external})}),
                       "res_id");
  if (!earlier.result) return earlier.failed;

  Json load = Json::object();
  load["fields"] = Json::array(
      {"id", "res_model_id/.id", "res_id", "activity_type_id/.id", "summary", "note"});
  load["data"] = Json::array({Json::array(
      {"takt_cmd." + external, std::to_string(model_id.get<int64_t>()),
       std::to_string(mo_id), std::to_string(todo.result->get<int64_t>()), summary,
       "cause " + command.caused_by + ", " + emitter})});
  Call made = Execute("mail.activity", "load", load, 2);
  if (!made.result) return made.failed;
  const Json& ids = Field(*made.result, "ids");
  if (!ids.is_array() || ids.empty()) return LoadRefused(*made.result, "the activity");
  if (!earlier.result->is_null()) return Attempt{};
  // Last, since it is the one step that is not idempotent.
  Json post = Json::object();
  post["ids"] = Json::array({mo_id});
  post["body"] = summary + " (command " + command.id + ")";
  post["message_type"] = "comment";
  Call posted = Execute("mrp.production", "message_post", post, 1);
  if (!posted.result) return posted.failed;
  return Attempt{};
}

}  // namespace

std::unique_ptr<Connector> MakeOdooConnector(const ConnectorOptions& options, HttpPost post) {
  return std::make_unique<OdooConnector>(options, std::move(post));
}

std::string OdooExternalId(std::string_view command_id) {
  std::string name;
  for (char c : command_id) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    name += plain ? c : '_';
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(command_id.data()), command_id.size(), digest);
  return name + "_" + HexOf(digest, 4);
}

bool OdooErrorIsFinal(std::string_view name) {
  return name.rfind("odoo.exceptions.", 0) == 0 || name.rfind("builtins.", 0) == 0 ||
         name.rfind("werkzeug.exceptions.", 0) == 0;
}

}  // namespace takt::connect
