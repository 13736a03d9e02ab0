#include "connect/fake_odoo.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace takt::test {
namespace {

const char* const kPriorities[] = {"0", "1", "2", "3"};

// The "moreinfo" Odoo gives with a many2one value it cannot find.
nlohmann::ordered_json EquipmentMoreInfo() {
  return nlohmann::ordered_json::parse(
      R"({"name": "Possible Values", "type": "ir.actions.act_window", "target": "new",
          "view_mode": "list,form", "views": [[false, "list"], [false, "form"]],
          "context": {"create": false}, "help": "See all possible values",
          "res_model": "ir.model.data", "domain": [["model", "=", "maintenance.equipment"]]})");
}

nlohmann::ordered_json LoadError(const std::string& field, const std::string& field_name,
                                 const std::string& message, nlohmann::ordered_json moreinfo) {
  nlohmann::ordered_json m;
  m["rows"] = {{"from", 0}, {"to", 0}};
  m["type"] = "error";
  m["record"] = 0;
  m["field"] = field;
  m["message"] = message;
  m["moreinfo"] = std::move(moreinfo);
  m["field_name"] = field_name;
  return {{"ids", false}, {"messages", nlohmann::ordered_json::array({m})}, {"nextrow", 0}};
}

}  // namespace

FakeOdoo::FakeOdoo(int series) : series_(series) { Serve(0); }

FakeOdoo::~FakeOdoo() { Stop(); }

void FakeOdoo::Serve(int port) {
  server_ = std::make_unique<httplib::Server>();
  server_->Post("/jsonrpc", [this](const httplib::Request& req, httplib::Response& res) {
    JsonRpc(req, res);
    res.set_header("Connection", "close");
  });
  server_->Post(R"(/json/2/([^/]+)/([^/]+))",
                [this](const httplib::Request& req, httplib::Response& res) {
                  Json2(req, res);
                  res.set_header("Connection", "close");
                });
  if (port == 0) {
    port_ = server_->bind_to_any_port("127.0.0.1");
  } else {
    // The port was just given up: retry until the kernel lets it be bound again.
    for (int i = 0; i < 200 && !server_->bind_to_port("127.0.0.1", port); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  httplib::Server* server = server_.get();
  thread_ = std::thread([server] { server->listen_after_bind(); });
}

void FakeOdoo::Stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

void FakeOdoo::Start() {
  if (!thread_.joinable()) Serve(port_);
}

int64_t FakeOdoo::AddEquipment(const std::string& name, const std::string& serial) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t id = static_cast<int64_t>(equipment_.size()) + 1;
  equipment_.push_back(Equipment{id, name, serial});
  return id;
}

int64_t FakeOdoo::AddProduction(const std::string& origin, double product_qty) {
  std::lock_guard<std::mutex> lock(mu_);
  return NewProduction(origin, product_qty);
}

int64_t FakeOdoo::NewProduction(const std::string& origin, double product_qty) {
  Production p;
  p.id = static_cast<int64_t>(productions_.size()) + 1;
  char name[32];
  std::snprintf(name, sizeof name, "WH/MO/%05lld", static_cast<long long>(p.id));
  p.name = name;
  p.origin = origin;
  p.product_qty = product_qty;
  productions_.push_back(p);
  return p.id;
}

std::vector<FakeOdoo::Production> FakeOdoo::productions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return productions_;
}

FakeOdoo::Json FakeOdoo::ProductionFields(const Production& p, const Json& fields) {
  Json rec;
  rec["id"] = p.id;
  for (const Json& f : fields) {
    if (f == "name") rec["name"] = p.name;
    if (f == "state") rec["state"] = p.state;
    if (f == "origin") rec["origin"] = p.origin;
    if (f == "product_qty") rec["product_qty"] = p.product_qty;
    if (f == "qty_producing") rec["qty_producing"] = p.qty_producing;
    if (f == "qty_produced") rec["qty_produced"] = p.qty_produced;
    if (f == "backorder_sequence") rec["backorder_sequence"] = 0;
  }
  return rec;
}

FakeOdoo::Json FakeOdoo::Mrp(const std::string& method, const Json& args, const Json& kwargs,
                             bool json2, OdooError& error) {
  if (method == "create") {
    const Json& vals = args.at(0);
    Json ids = Json::array();
    for (const Json& one : vals.is_array() ? vals : Json::array({vals})) {
      ids.push_back(NewProduction(one.value("origin", ""), one.value("product_qty", 1.0)));
    }
    return vals.is_array() || json2 ? ids : ids[0];
  }
  if (method == "search_read") {
    Json out = Json::array();
    const Json fields = kwargs.value("fields", Json::array({"name"}));
    for (const Production& p : productions_) {
      bool match = true;
      for (const Json& term : args.at(0)) {
        match = match && term.at(0) == "origin" && p.origin == term.at(2);
      }
      if (match) out.push_back(ProductionFields(p, fields));
    }
    return out;
  }
  // Room for the backorders closing these may make, before pointers to them are taken.
  productions_.reserve(productions_.size() + args.at(0).size());
  std::vector<Production*> chosen;
  for (const Json& id : args.at(0)) {
    for (Production& p : productions_) {
      if (id == p.id) chosen.push_back(&p);
    }
  }
  if (chosen.size() != args.at(0).size()) {
    error = {"odoo.exceptions.MissingError", "Record does not exist or has been deleted.", 404};
    return nullptr;
  }
  if (method == "read") {
    Json out = Json::array();
    const Json fields = kwargs.value("fields", Json::array());
    for (Production* p : chosen) out.push_back(ProductionFields(*p, fields));
    return out;
  }
  if (method == "action_confirm") {
    for (Production* p : chosen) {
      if (p->state == "draft") p->state = "confirmed";
    }
    return true;
  }
  if (method == "write") {
    const Json& vals = args.at(1);
    for (Production* p : chosen) {
      if (vals.contains("qty_producing")) {
        p->qty_producing = vals["qty_producing"].get<double>();
        p->state = p->qty_producing >= p->product_qty ? "to_close" : "progress";
      }
    }
    return true;
  }
  if (method == "message_post") {
    // Not idempotent: every call posts another message.
    messages_.emplace_back(chosen.at(0)->id, kwargs.value("body", ""));
    const auto id = static_cast<int64_t>(messages_.size());
    return series_ == 18 && !json2 ? Json(id) : Json::array({id});
  }
  if (method == "button_mark_done") {
    const Json context = kwargs.value("context", Json::object());
    for (Production* p : chosen) {
      if (p->state == "done") continue;
      if (p->qty_producing == 0) p->qty_producing = p->product_qty;  // Odoo fills it in
      const Json backorder_of = context.value("mo_ids_to_backorder", Json::array());
      if (p->qty_producing < p->product_qty && context.value("skip_backorder", false) &&
          std::find(backorder_of.begin(), backorder_of.end(), Json(p->id)) != backorder_of.end()) {
        // Closed as ...-001, and a backorder ...-002 for the rest, confirmed.
        Production rest;
        rest.id = static_cast<int64_t>(productions_.size()) + 1;
        rest.name = p->name + "-002";
        rest.origin = p->origin;
        rest.state = "confirmed";
        rest.product_qty = p->product_qty - p->qty_producing;
        p->name += "-001";
        p->qty_produced = p->qty_producing;
        p->state = "done";
        const int64_t rest_id = rest.id;
        productions_.push_back(rest);  // p is not used after this
        Json action;
        action["type"] = "ir.actions.act_window";
        action["res_model"] = "mrp.production";
        action["res_id"] = rest_id;
        return action;
      }
      if (p->qty_producing < p->product_qty && !context.value("skip_backorder", false)) {
        // The backorder wizard; the order stays where it is.
        Json action;
        action["name"] = series_ == 18 ? "You produced less than initial demand"
                                       : "You produced less than the initial demand";
        action["type"] = "ir.actions.act_window";
        action["xml_id"] = "mrp.action_mrp_production_backorder";
        action["res_model"] = "mrp.production.backorder";
        action["target"] = "new";
        return action;
      }
      p->qty_produced = p->qty_producing;
      p->state = "done";
    }
    return true;
  }
  error = {"builtins.AttributeError",
           "The method 'mrp.production." + method + "' does not exist", 404};
  return nullptr;
}

std::vector<std::pair<int64_t, std::string>> FakeOdoo::activities() const {
  std::lock_guard<std::mutex> lock(mu_);
  return activities_;
}

std::vector<std::pair<int64_t, std::string>> FakeOdoo::messages() const {
  std::lock_guard<std::mutex> lock(mu_);
  return messages_;
}

std::vector<FakeOdoo::Request> FakeOdoo::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

int FakeOdoo::calls(const std::string& model_method) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = calls_.find(model_method);
  return it == calls_.end() ? 0 : it->second;
}

void FakeOdoo::FailNext(const std::string& model_method, int times, int status,
                        const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_[model_method] = {times, status};
  fail_name_ = name;
}

void FakeOdoo::DelayNext(const std::string& model_method, int times, int delay_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  delay_[model_method] = {times, delay_ms};
}

bool FakeOdoo::Fault(const std::string& model_method, httplib::Response& res, int& delay_ms) {
  ++calls_[model_method];
  auto d = delay_.find(model_method);
  if (d != delay_.end() && d->second.first > 0) {
    --d->second.first;
    delay_ms = d->second.second;
  }
  auto f = fail_.find(model_method);
  if (f == fail_.end() || f->second.first == 0) return false;
  --f->second.first;
  res.status = f->second.second;
  res.set_content(Json({{"name", fail_name_}, {"message", "injected"}}).dump(),
                  "application/json; charset=utf-8");
  return true;
}

FakeOdoo::Json FakeOdoo::Load(const Json& fields, const Json& data) {
  const Json& row = data.at(0);
  std::map<std::string, std::string> v;
  for (size_t i = 0; i < fields.size(); ++i) v[fields[i].get<std::string>()] = row[i];
  Request r;
  r.name = v["name"];
  r.priority = v.count("priority") ? v["priority"] : "0";
  r.maintenance_type = v.count("maintenance_type") ? v["maintenance_type"] : "corrective";
  r.description = "<p>" + v["description"] + "</p>";  // an HTML field
  bool known = false;
  for (const char* p : kPriorities) known = known || r.priority == p;
  if (!known) {
    return LoadError("priority", "Priority",
                     "Value '" + r.priority + "' not found in selection field 'Priority'",
                     Json::array({"Very Low", "Low", "Normal", "High"}));
  }
  if (v.count("equipment_id/.id")) {
    const std::string& id = v["equipment_id/.id"];
    for (const Equipment& e : equipment_) {
      if (std::to_string(e.id) == id) r.equipment_id = e.id;
    }
    if (r.equipment_id == 0) {
      return LoadError("equipment_id", "Equipment",
                       "No matching record found for database id '" + id +
                           "' in field 'Equipment'",
                       EquipmentMoreInfo());
    }
  } else if (v.count("equipment_id")) {
    for (const Equipment& e : equipment_) {
      if (e.name == v["equipment_id"]) r.equipment_id = e.id;
    }
  }
  // An external id makes the record once; an identical repeat returns the same id and makes
  // nothing; a repeat with other values overwrites it.
  const std::string xml_id = v.count("id") ? v["id"] : "";
  auto known_id = external_ids_.find(xml_id);
  if (!xml_id.empty() && known_id != external_ids_.end()) {
    for (Request& existing : requests_) {
      if (existing.id == known_id->second) {
        r.id = existing.id;
        existing = r;
      }
    }
  } else {
    r.id = next_request_id_++;
    requests_.push_back(r);
    if (!xml_id.empty()) external_ids_[xml_id] = r.id;
  }
  return {{"ids", Json::array({r.id})}, {"messages", Json::array()}, {"nextrow", 0}};
}

FakeOdoo::Json FakeOdoo::Dispatch(const std::string& model, const std::string& method,
                                  const Json& args, const Json& kwargs, bool json2,
                                  OdooError& error) {
  // The ids of a freshly installed database, as recorded: ir.model's mrp.production and the
  // To-Do activity type's ir.model.data row.
  const int64_t mrp_model_id = series_ == 18 ? 479 : 496;
  if (model == "ir.model" && method == "search") {
    return args.at(0).at(0).at(2) == "mrp.production" ? Json::array({mrp_model_id})
                                                      : Json::array();
  }
  if (model == "ir.model.data" && method == "search_read") {
    std::map<std::string, std::string> want;
    for (const Json& term : args.at(0)) want[term.at(0)] = term.at(2);
    const Json fields = kwargs.value("fields", Json::array());
    Json out = Json::array();
    auto row = [&](int64_t id, const std::string& module, const std::string& name,
                   const std::string& rmodel, int64_t res_id) {
      Json r;
      r["id"] = id;
      for (const Json& f : fields) {
        if (f == "module") r["module"] = module;
        if (f == "name") r["name"] = name;
        if (f == "model") r["model"] = rmodel;
        if (f == "res_id") r["res_id"] = res_id;
      }
      out.push_back(r);
    };
    if (want["module"] == "mail" && want["name"] == "mail_activity_data_todo") {
      row(series_ == 18 ? 11551 : 13556, "mail", "mail_activity_data_todo", "mail.activity.type",
          4);
    }
    for (const auto& [xml_id, res_id] : activity_ids_) {
      if (want["module"] == "takt_cmd" && "takt_cmd." + want["name"] == xml_id) {
        row(20000 + res_id, "takt_cmd", want["name"], "mail.activity", res_id);
      }
    }
    return out;
  }
  if (model == "mail.activity" && (method == "create" || method == "load")) {
    if (method == "create") {
      const Json& vals = args.at(0);
      Json ids = Json::array();
      for (const Json& one : vals.is_array() ? vals : Json::array({vals})) {
        activities_.emplace_back(one.value("res_id", int64_t{0}), one.value("summary", ""));
        ids.push_back(static_cast<int64_t>(activities_.size()));
      }
      return vals.is_array() || json2 ? ids : ids[0];
    }
    const Json& fields = args.at(0);
    const Json& row = args.at(1).at(0);
    std::map<std::string, std::string> v;
    for (size_t i = 0; i < fields.size(); ++i) v[fields[i].get<std::string>()] = row[i];
    auto known = activity_ids_.find(v["id"]);
    if (known != activity_ids_.end()) {
      activities_[static_cast<size_t>(known->second - 1)] = {std::stoll(v["res_id"]),
                                                             v["summary"]};
      return {{"ids", Json::array({known->second})}, {"messages", Json::array()}, {"nextrow", 0}};
    }
    activities_.emplace_back(std::stoll(v["res_id"]), v["summary"]);
    const auto id = static_cast<int64_t>(activities_.size());
    if (!v["id"].empty()) activity_ids_[v["id"]] = id;
    return {{"ids", Json::array({id})}, {"messages", Json::array()}, {"nextrow", 0}};
  }
  if (model == "ir.model" && method == "search_count") {
    const std::string wanted = args.at(0).at(0).at(2);
    return wanted == "mrp.production" || wanted == "maintenance.request" ? 1 : 0;
  }
  if (model == "maintenance.equipment" && method == "create") {
    const Json& vals = args.at(0);
    Json ids = Json::array();
    for (const Json& one : vals.is_array() ? vals : Json::array({vals})) {
      const int64_t id = static_cast<int64_t>(equipment_.size()) + 1;
      equipment_.push_back(Equipment{id, one.value("name", ""), one.value("serial_no", "")});
      ids.push_back(id);
    }
    return vals.is_array() || json2 ? ids : ids[0];
  }
  if (model == "maintenance.equipment" && method == "search_read") {
    const Json& domain = args.at(0);
    Json out = Json::array();
    const Json fields = kwargs.value("fields", Json::array({"id", "name"}));
    const size_t limit = kwargs.value("limit", size_t{0});
    for (const Equipment& e : equipment_) {
      bool match = true;
      for (const Json& term : domain) {
        const std::string field = term.at(0);
        const std::string value = term.at(2);
        match = match && ((field == "name" && e.name == value) ||
                          (field == "serial_no" && e.serial == value));
      }
      if (!match) continue;
      Json rec;
      for (const Json& f : fields) {
        if (f == "id") rec["id"] = e.id;
        if (f == "name") rec["name"] = e.name;
        if (f == "serial_no") rec["serial_no"] = e.serial;
        if (f == "display_name") rec["display_name"] = e.name + "/" + e.serial;
      }
      out.push_back(rec);
      if (limit != 0 && out.size() == limit) break;
    }
    return out;
  }
  if (model == "maintenance.request" && method == "load") return Load(args.at(0), args.at(1));
  if (model == "mrp.production") return Mrp(method, args, kwargs, json2, error);
  if (model == "product.product" && method == "create") {
    const Json& vals = args.at(0);
    Json ids = Json::array();
    const size_t count = vals.is_array() ? vals.size() : 1;
    for (size_t i = 0; i < count; ++i) ids.push_back(next_product_id_++);
    return vals.is_array() || json2 ? ids : ids[0];
  }
  if (model != "maintenance.equipment" && model != "maintenance.request" && model != "ir.model" &&
      model != "ir.model.data" && model != "mail.activity") {
    error = {json2 ? "werkzeug.exceptions.NotFound" : "odoo.exceptions.UserError",
             json2 ? "the model '" + model + "' does not exist"
                   : "Object " + model + " doesn't exist",
             404};
    return nullptr;
  }
  error = {"builtins.AttributeError",
           "The method '" + model + "." + method + "' does not exist", 404};
  return nullptr;
}

void FakeOdoo::JsonRpc(const httplib::Request& req, httplib::Response& res) {
  const auto reply = [&](const Json& body) {
    res.status = 200;
    res.set_content(body.dump(), "application/json; charset=utf-8");
  };
  if (req.get_header_value("Content-Type").find("application/json") == std::string::npos) {
    res.status = series_ == 18 ? 400 : 415;
    res.set_content("<p>Request inferred type is compatible with ['http']</p>", "text/html");
    return;
  }
  const Json request = Json::parse(req.body, nullptr, false);
  if (request.is_discarded()) {
    res.status = 400;
    res.set_content("Invalid JSON data", "text/html; charset=utf-8");
    return;
  }
  const Json& params = request["params"];
  const Json id = request.value("id", Json(nullptr));
  const std::string service = params.value("service", "");
  const std::string method = params.value("method", "");
  const Json& args = params["args"];
  int delay_ms = 0;
  Json body = {{"jsonrpc", "2.0"}, {"id", id}};
  OdooError error;
  if (service == "common" && method == "login") {
    body["result"] = args.at(1) == kLogin && args.at(2) == kPassword ? Json(2) : Json(false);
  } else if (service == "object" && method == "execute_kw") {
    std::lock_guard<std::mutex> lock(mu_);  // released before a delay below
    const std::string model = args.at(3);
    const std::string call = args.at(4);
    if (Fault(model + "." + call, res, delay_ms)) return;
    if (args.at(2) != kPassword) {
      error = {"odoo.exceptions.AccessDenied", "Access Denied", 401};
    } else {
      Json result = Dispatch(model, call, args.at(5), args.size() > 6 ? args[6] : Json::object(),
                             false, error);
      if (error.name.empty()) body["result"] = std::move(result);
    }
  } else {
    error = {"builtins.AttributeError", "no such service method", 404};
  }
  if (!error.name.empty()) {
    Json data;
    data["name"] = error.name;
    data["debug"] = "<traceback elided>";
    data["message"] = error.message;
    data["arguments"] = Json::array({error.message});
    data["context"] = Json::object();
    body["error"] = {{"code", series_ == 18 ? 200 : 0}, {"message", "Odoo Server Error"},
                     {"data", data}};
  }
  if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  reply(body);
}

void FakeOdoo::Json2(const httplib::Request& req, httplib::Response& res) {
  const auto error_reply = [&](int status, const std::string& name, const std::string& message) {
    Json body;
    body["name"] = name;
    body["message"] = message;
    body["arguments"] = Json::array({message, status});
    body["context"] = Json::object();
    body["debug"] = "<traceback elided>";
    res.status = status;
    res.set_content(body.dump(), "application/json; charset=utf-8");
  };
  const std::string auth = req.get_header_value("Authorization");
  if (auth.empty()) {
    return error_reply(401, "werkzeug.exceptions.Unauthorized",
                       "User not authenticated, use an API Key with a Bearer Authorization "
                       "header.");
  }
  if (auth != std::string("bearer ") + kApiKey) {
    return error_reply(401, "werkzeug.exceptions.Unauthorized", "Invalid apikey");
  }
  const Json body = Json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return error_reply(400, "werkzeug.exceptions.BadRequest", "Invalid JSON data");
  }
  const std::string model = req.matches[1];
  const std::string method = req.matches[2];
  // Keyword arguments, as the methods name them, back into execute_kw's positions.
  Json args = Json::array();
  Json kwargs = Json::object();
  if (method == "search_read" || method == "search_count") {
    args.push_back(body.value("domain", Json::array()));
    for (const char* k : {"fields", "limit"}) {
      if (body.contains(k)) kwargs[k] = body[k];
    }
  } else if (method == "search") {
    args.push_back(body.value("domain", Json::array()));
  } else if (method == "read" || method == "write" || method == "action_confirm" ||
             method == "button_mark_done" || method == "message_post") {
    args.push_back(body.value("ids", Json::array()));
    if (method == "write") args.push_back(body.value("vals", Json::object()));
    for (const char* k : {"fields", "context", "body", "message_type"}) {
      if (body.contains(k)) kwargs[k] = body[k];
    }
  } else if (method == "create") {
    args.push_back(body.value("vals_list", Json::array()));
  } else if (method == "load") {
    args.push_back(body.value("fields", Json::array()));
    args.push_back(body.value("data", Json::array()));
  }
  int delay_ms = 0;
  OdooError error;
  Json result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (Fault(model + "." + method, res, delay_ms)) return;
    result = Dispatch(model, method, args, kwargs, true, error);
  }
  if (!error.name.empty()) return error_reply(error.json2_status, error.name, error.message);
  if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  res.status = 200;
  res.set_content(result.dump(), "application/json; charset=utf-8");
}

}  // namespace takt::test
