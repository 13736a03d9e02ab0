// A faithful stand-in for Odoo 18 and 19 on a loopback port, for the Odoo connector's tests:
// JSON-RPC (POST /jsonrpc: common.login, object.execute_kw) and JSON-2 (POST
// /json/2/<model>/<method>), with the models the connector touches held in memory
// (maintenance.equipment, maintenance.request, ir.model.data, ir.model's search_count), the
// error shapes of each protocol, and `Connection: close` on every answer. What it answers is
// held to exchanges recorded from real Odoo servers (odoo_wire_test.cc). Faults are injected
// per call: an HTTP status, or an answer held back after the work is done (a timeout whose
// effect happened).
#ifndef TAKT_TESTS_CONNECT_FAKE_ODOO_H_
#define TAKT_TESTS_CONNECT_FAKE_ODOO_H_

#include <httplib.h>

#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace takt::test {

class FakeOdoo {
 public:
  static constexpr const char* kDatabase = "plant";
  static constexpr const char* kLogin = "admin";
  static constexpr const char* kPassword = "odoo-password-for-tests";
  static constexpr const char* kApiKey = "odoo-api-key-for-tests";

  // `series`: 18 or 19 (JSON-RPC's error code is 200 on 18, 0 on 19).
  explicit FakeOdoo(int series = 18);
  ~FakeOdoo();
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Down: the port refuses connections until Start(), which serves it again with every record
  // kept (a restart loses nothing Odoo committed).
  void Stop();
  void Start();

  // Records, as Odoo holds them.
  int64_t AddEquipment(const std::string& name, const std::string& serial);
  struct Request {
    int64_t id = 0;
    std::string name, priority, maintenance_type, description;
    int64_t equipment_id = 0;
  };
  std::vector<Request> requests() const;
  // Manufacturing orders: state draft, confirmed, progress, to_close, done.
  struct Production {
    int64_t id = 0;
    std::string name, origin, state = "draft";
    double product_qty = 0, qty_producing = 0, qty_produced = 0;
  };
  int64_t AddProduction(const std::string& origin, double product_qty);
  std::vector<Production> productions() const;
  // To-Do activities and chatter messages, as (res_id, summary or body).
  std::vector<std::pair<int64_t, std::string>> activities() const;
  std::vector<std::pair<int64_t, std::string>> messages() const;
  int calls(const std::string& model_method) const;  // "maintenance.request.load"

  // Faults, for the next `times` calls of "model.method": answer with HTTP `status` (and a
  // JSON-2 shaped body) before doing anything; or do the work, then hold the answer back for
  // `delay_ms` (longer than the client waits: its effect happened, the client never knew).
  void FailNext(const std::string& model_method, int times, int status,
                const std::string& name = "werkzeug.exceptions.ServiceUnavailable");
  void DelayNext(const std::string& model_method, int times, int delay_ms);

 private:
  struct OdooError {
    std::string name, message;
    int json2_status = 200;
  };
  using Json = nlohmann::ordered_json;
  // model.method with positional args and kwargs, as execute_kw has them: the result, or an
  // error in `error`.
  Json Dispatch(const std::string& model, const std::string& method, const Json& args,
                const Json& kwargs, bool json2, OdooError& error);
  Json Load(const Json& fields, const Json& data);
  // A draft order named as Odoo names them (WH/MO/00001); caller holds mu_.
  int64_t NewProduction(const std::string& origin, double product_qty);
  Json Mrp(const std::string& method, const Json& args, const Json& kwargs, bool json2,
           OdooError& error);
  static Json ProductionFields(const Production& p, const Json& fields);
  void JsonRpc(const httplib::Request& req, httplib::Response& res);
  void Json2(const httplib::Request& req, httplib::Response& res);
  bool Fault(const std::string& model_method, httplib::Response& res, int& delay_ms);

  void Serve(int port);

  int series_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = -1;
  std::thread thread_;
  mutable std::mutex mu_;
  struct Equipment {
    int64_t id;
    std::string name, serial;
  };
  std::vector<Equipment> equipment_;
  std::vector<Request> requests_;
  std::vector<Production> productions_;
  std::vector<std::pair<int64_t, std::string>> activities_, messages_;
  std::map<std::string, int64_t> activity_ids_;  // external id -> activity
  int64_t next_product_id_ = 1;
  std::map<std::string, int64_t> external_ids_;  // "takt_cmd.x" -> maintenance.request id
  int64_t next_request_id_ = 1;
  std::map<std::string, int> calls_;
  std::map<std::string, std::pair<int, int>> fail_;   // model.method -> (times, status)
  std::string fail_name_;
  std::map<std::string, std::pair<int, int>> delay_;  // model.method -> (times, ms)
};

}  // namespace takt::test

#endif  // TAKT_TESTS_CONNECT_FAKE_ODOO_H_
