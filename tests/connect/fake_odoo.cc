#include "connect/fake_odoo.h"

#include <chrono>

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

FakeOdoo::FakeOdoo(int series) : series_(series) {
  server_.Post("/jsonrpc", [this](const httplib::Request& req, httplib::Response& res) {
    JsonRpc(req, res);
    res.set_header("Connection", "close");
  });
  server_.Post(R"(/json/2/([^/]+)/([^/]+))",
               [this](const httplib::Request& req, httplib::Response& res) {
                 Json2(req, res);
                 res.set_header("Connection", "close");
               });
  port_ = server_.bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
}

FakeOdoo::~FakeOdoo() {
  server_.stop();
  thread_.join();
}

int64_t FakeOdoo::AddEquipment(const std::string& name, const std::string& serial) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t id = static_cast<int64_t>(equipment_.size()) + 1;
  equipment_.push_back(Equipment{id, name, serial});
  return id;
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
  if (model != "maintenance.equipment" && model != "maintenance.request" && model != "ir.model") {
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
