// The Odoo connector against FakeOdoo, and FakeOdoo against real Odoo: the recorded exchanges
// in ../shared/odoo-wire (Odoo 18 and 19, JSON-RPC and JSON-2) are replayed on a fresh fake
// and each answer must be the recorded one (status, content type, body), except what depends
// on the database's history: record ids made by `load`, and the server's traceback.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "connect/fake_odoo.h"
#include "engine/connect/connector.h"
#include "engine/connect/odoo.h"
#include "store/store_support.h"
#include "support/test_support.h"
#include "takt/dispatch.h"

namespace takt {
namespace {

using Json = nlohmann::ordered_json;
using test::FakeOdoo;

// Drops the traceback and puts 0 for the ids `load` made.
Json Comparable(Json j) {
  if (j.is_object()) {
    j.erase("debug");
    if (j.contains("ids") && j["ids"].is_array()) {
      for (Json& id : j["ids"]) id = 0;
    }
    for (auto& [key, value] : j.items()) value = Comparable(value);
  } else if (j.is_array()) {
    for (Json& item : j) item = Comparable(item);
  }
  return j;
}

struct Replayed {
  std::string file;
  int status = 0;
  std::string content_type;
  Json body;
};

void Replay(int series, const std::string& dir, const std::vector<std::string>& numbers) {
  FakeOdoo odoo(series);
  httplib::Client client("127.0.0.1", std::stoi(odoo.url().substr(odoo.url().rfind(':') + 1)));
  for (const std::string& n : numbers) {
    std::string path;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().filename().string().rfind(n + "-", 0) == 0) path = entry.path().string();
    }
    ASSERT_FALSE(path.empty()) << dir << "/" << n;
    std::ifstream in(path);
    const Json pair = Json::parse(in);
    const Json& request = pair["request"];
    Json body = request["body"];
    httplib::Headers headers;
    for (const auto& [name, value] : request["headers"].items()) {
      if (name == "Host" || name == "Content-Length" || name == "Content-Type") continue;
      std::string v = value;
      if (v == "bearer <secret>") v = std::string("bearer ") + FakeOdoo::kApiKey;
      headers.emplace(name, v);
    }
    if (body.is_object() && body.contains("params")) {
      Json& args = body["params"]["args"];
      if (args.size() > 2 && args[2] == "<secret>") args[2] = FakeOdoo::kPassword;
    }
    auto answer = client.Post(request["path"].get<std::string>().c_str(), headers, body.dump(),
                              "application/json");
    ASSERT_TRUE(answer) << path;
    const Json& want = pair["response"];
    EXPECT_EQ(answer->status, want["status"].get<int>()) << path;
    EXPECT_EQ(answer->get_header_value("Content-Type"),
              want["headers"]["Content-Type"].get<std::string>())
        << path;
    EXPECT_EQ(answer->get_header_value("Connection"), "close") << path;
    EXPECT_EQ(Comparable(Json::parse(answer->body)), Comparable(want["body"])) << path;
  }
}

TEST(OdooWireTest, TheFakeAnswersTheRecordedExchangesAsOdooDid) {
  const std::string shared = test::SharedDir();
  if (shared.empty()) GTEST_SKIP() << "../shared is not beside the project: no recordings";
  const std::string wire = shared + "/odoo-wire";
  // Login, a wrong password, which models exist, equipment made and found, loads made,
  // repeated, refused; manufacturing orders found by origin, confirmed, their quantity written
  // and closed (in full, again when done, and partly without a backorder); the To-Do activity
  // type and mrp.production's model id, activities made and loaded twice. (Chatter messages
  // are left out: their ids count every message the database ever had.)
  const std::vector<std::string> jsonrpc = {
      "02", "03", "04", "05", "06", "07", "08", "09", "10", "13", "14", "16", "17", "19",
      "22", "23", "24", "25", "26", "27", "28", "29", "30", "31", "33", "34", "35", "40", "41",
      "42", "75", "76", "77", "79", "80"};
  Replay(18, wire + "/18", jsonrpc);
  Replay(19, wire + "/19", jsonrpc);
  Replay(19, wire + "/19/json2",
         {"01", "02", "03", "04", "06", "07", "08", "10", "11", "12", "13", "15", "16", "17", "18",
          "19", "20", "21", "22", "29", "30", "31"});
}

// The plant's commands, committed to a fresh database, and an Odoo with its 20 assets.
struct Plant {
  test::TempDir dir{"odoo"};
  std::unique_ptr<Engine> engine;
  std::vector<PendingCommand> maintenance;  // the odoo.maintenance.create commands

  explicit Plant(FakeOdoo& odoo, int64_t orders = 30, std::set<std::string> missing = {}) {
    for (int a = 1; a <= 20; ++a) {
      const std::string asset = (a < 10 ? "A0" : "A") + std::to_string(a);
      if (missing.count(asset) == 0) odoo.AddEquipment(asset, "SN-" + asset);
    }
    auto opened = Engine::Open(test::PlantOptions(dir.File("t.db")));
    EXPECT_TRUE(opened.ok());
    engine = std::move(opened).value();
    const std::vector<std::string> events = test::PlantEvents(orders, 9);
    std::vector<std::string_view> batch(events.begin(), events.end());
    std::vector<SubmitResult> results;
    EXPECT_TRUE(engine->SubmitBatch(batch, results).ok());
    Result<std::vector<PendingCommand>> waiting = engine->PendingCommands(100000);
    EXPECT_TRUE(waiting.ok());
    for (PendingCommand& p : waiting.value()) {
      if (p.command.name == "odoo.maintenance.create") maintenance.push_back(p);
    }
  }
};

DispatchOptions OdooOptions(const FakeOdoo& odoo, const std::string& protocol) {
  ConnectorOptions c;
  c.name = "odoo";
  c.kind = "odoo";
  c.commands = {"odoo.maintenance.create"};
  c.url = odoo.url();
  c.protocol = protocol;
  c.database = FakeOdoo::kDatabase;
  c.login = FakeOdoo::kLogin;
  c.secret = protocol == "json2" ? FakeOdoo::kApiKey : FakeOdoo::kPassword;
  c.timeout_ms = 2000;
  c.retry.initial_backoff_ms = 5;
  c.retry.max_backoff_ms = 40;
  DispatchOptions options;
  options.connectors = {c};
  options.max_in_flight = 4;
  options.poll_interval_ms = 20;
  options.jitter_seed = 3;
  return options;
}

class OdooConnectorTest : public testing::TestWithParam<std::string> {};

TEST_P(OdooConnectorTest, EachMaintenanceCommandMakesOneRequestEvenWhenAnAnswerIsLost) {
  FakeOdoo odoo(19);
  Plant plant(odoo);
  ASSERT_GT(plant.maintenance.size(), 5u);
  // The first load is done but its answer comes after the client gave up; a later one meets
  // a busy server. The retries find the records made the first time.
  odoo.DelayNext("maintenance.request.load", 1, 2500);
  odoo.FailNext("maintenance.equipment.search_read", 2, 503);
  DispatchOptions options = OdooOptions(odoo, GetParam());
  options.connectors[0].timeout_ms = 500;
  auto dispatcher = Dispatcher::Create(*plant.engine, options);
  ASSERT_TRUE(dispatcher.ok()) << dispatcher.status().message();
  ASSERT_TRUE(dispatcher.value()->Run(true, 30'000).ok());

  const std::vector<FakeOdoo::Request> made = odoo.requests();
  EXPECT_EQ(made.size(), plant.maintenance.size()) << "one record per command";
  EXPECT_EQ(odoo.calls("maintenance.request.load"),
            static_cast<int>(plant.maintenance.size()) + 1)
      << "the lost answer's load was sent again";
  EXPECT_EQ(dispatcher.value()->counts().delivered, plant.maintenance.size());
  EXPECT_EQ(dispatcher.value()->counts().retried, 3u);
  // What the first command became in Odoo.
  const Json data = Json::parse(plant.maintenance[0].command.payload_json);
  const std::string asset = data["asset"];
  const FakeOdoo::Request* first = nullptr;
  for (const FakeOdoo::Request& r : made) {
    if (r.name == data["reason"].get<std::string>() + " on " + asset) first = &r;
  }
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->priority, data["priority"] == "high" ? "3" : "2");
  EXPECT_EQ(first->maintenance_type, "corrective");
  EXPECT_EQ(first->description, "<p>cause " + plant.maintenance[0].command.caused_by +
                                    ", rule alarm_to_maintenance</p>");
  EXPECT_EQ(first->equipment_id, std::stoi(asset.substr(1)));
}

// Odoo goes down while commands flow and comes back with what it had committed: every command
// is delivered, and each maintenance request exists once.
TEST_P(OdooConnectorTest, OdooDownAndRestartedLosesNothingAndDoublesNothing) {
  FakeOdoo odoo(19);
  Plant plant(odoo, 60);
  DispatchOptions options = OdooOptions(odoo, GetParam());
  options.connectors[0].retry.max_attempts = 1000;
  auto dispatcher = Dispatcher::Create(*plant.engine, options);
  ASSERT_TRUE(dispatcher.ok());
  std::thread running([&] { EXPECT_TRUE(dispatcher.value()->Run(false, 0).ok()); });
  // Down once a few requests are made, for 300 ms, then up again on the same port.
  for (int i = 0; i < 2000 && odoo.requests().size() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  odoo.Stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  odoo.Start();
  for (int i = 0; i < 3000 && odoo.requests().size() < plant.maintenance.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  dispatcher.value()->Stop();
  running.join();
  EXPECT_EQ(odoo.requests().size(), plant.maintenance.size());
  EXPECT_GT(dispatcher.value()->counts().retried, 0u) << "the outage was not seen";
  EXPECT_EQ(dispatcher.value()->counts().dead, 0u);
  std::set<std::string> names;
  for (const FakeOdoo::Request& r : odoo.requests()) names.insert(r.name + "/" + r.description);
  EXPECT_EQ(names.size(), plant.maintenance.size()) << "no command made two records";
}

TEST_P(OdooConnectorTest, WhatOdooRefusesForGoodIsADeadLetterWithOdoosReason) {
  FakeOdoo odoo(19);
  Plant plant(odoo, 30, {"A05"});
  size_t on_a05 = 0;
  for (const PendingCommand& p : plant.maintenance) {
    on_a05 += Json::parse(p.command.payload_json)["asset"] == "A05";
  }
  ASSERT_GT(on_a05, 0u);
  auto dispatcher = Dispatcher::Create(*plant.engine, OdooOptions(odoo, GetParam()));
  ASSERT_TRUE(dispatcher.ok());
  ASSERT_TRUE(dispatcher.value()->Run(true, 30'000).ok());
  std::vector<PendingCommand> dead = plant.engine->DeadLetters(1000).value();
  ASSERT_EQ(dead.size(), on_a05);
  EXPECT_EQ(dead[0].last_error, "odoo: no maintenance.equipment has name A05");
  EXPECT_EQ(dead[0].attempts, 1u);
  EXPECT_EQ(odoo.requests().size(), plant.maintenance.size() - on_a05);
}

TEST_P(OdooConnectorTest, AWrongCredentialIsFinalAndAValueErrorIsNotRetried) {
  FakeOdoo odoo(19);
  Plant plant(odoo, 10);
  ASSERT_FALSE(plant.maintenance.empty());
  DispatchOptions wrong = OdooOptions(odoo, GetParam());
  wrong.connectors[0].secret = "not-the-password";
  auto refused = Dispatcher::Create(*plant.engine, wrong);
  ASSERT_TRUE(refused.ok());
  ASSERT_TRUE(refused.value()->Run(true, 30'000).ok());
  std::vector<PendingCommand> dead = plant.engine->DeadLetters(1000).value();
  ASSERT_EQ(dead.size(), plant.maintenance.size());
  EXPECT_EQ(dead[0].attempts, 1u);
  EXPECT_EQ(dead[0].last_error,
            GetParam() == "json2"
                ? "odoo: HTTP 401 werkzeug.exceptions.Unauthorized: Invalid apikey"
                : "odoo: Odoo refused the login of admin to database plant");
  EXPECT_EQ(odoo.requests().size(), 0u);

  // Odoo 19 answers a wrong selection value with HTTP 500 builtins.ValueError: final.
  for (const PendingCommand& p : dead) ASSERT_TRUE(plant.engine->ReviveDead(p.command.id).ok());
  odoo.FailNext("maintenance.request.load", 1, 500, "builtins.ValueError");
  auto dispatcher = Dispatcher::Create(*plant.engine, OdooOptions(odoo, GetParam()));
  ASSERT_TRUE(dispatcher.value()->Run(true, 30'000).ok());
  EXPECT_EQ(dispatcher.value()->counts().dead, 1u);
  EXPECT_EQ(dispatcher.value()->counts().retried, 0u);
  EXPECT_EQ(odoo.requests().size(), plant.maintenance.size() - 1);
}

INSTANTIATE_TEST_SUITE_P(Protocols, OdooConnectorTest, testing::Values("jsonrpc", "json2"),
                         [](const testing::TestParamInfo<std::string>& param) {
                           return param.param;
                         });

// odoo.production.done, one connector call at a time: the order found by its source document,
// confirmed if still a draft, its produced quantity written, and closed without a backorder.
class OdooProductionTest : public testing::TestWithParam<std::string> {
 protected:
  connect::Attempt Deliver(const std::string& order, int good) {
    Command c;
    c.id = "qms-0001/workflow:production_order/0";
    c.name = "odoo.production.done";
    c.payload_json = R"({"order":")" + order + R"(","good":)" + std::to_string(good) +
                     R"(,"scrap":1})";
    DispatchOptions options = OdooOptions(odoo_, GetParam());
    options.connectors[0].commands = {"odoo.production.done"};
    options.connectors[0].timeout_ms = 500;
    options.connectors[0].backorder = backorder_;
    auto connector = connect::MakeConnector(options.connectors[0]);
    EXPECT_TRUE(connector.ok()) << connector.status().message();
    return connector.value()->Deliver(c);
  }
  FakeOdoo odoo_{19};
  std::string backorder_ = "skip";
};

TEST_P(OdooProductionTest, AFinishedOrderIsClosedWithItsProducedQuantityOnce) {
  odoo_.AddProduction("MO-000042", 5);  // a draft
  odoo_.AddProduction("MO-000043", 5);
  EXPECT_EQ(Deliver("MO-000042", 5).kind, connect::Attempt::Kind::kDelivered);
  EXPECT_EQ(Deliver("MO-000043", 3).kind, connect::Attempt::Kind::kDelivered)
      << "less than planned: closed with what was made, no backorder";
  std::vector<FakeOdoo::Production> mos = odoo_.productions();
  ASSERT_EQ(mos.size(), 2u) << "no backorder made";
  EXPECT_EQ(mos[0].state, "done");
  EXPECT_EQ(mos[0].qty_produced, 5.0);
  EXPECT_EQ(mos[1].state, "done");
  EXPECT_EQ(mos[1].qty_produced, 3.0);

  // Sent again (a lost answer, a restart): already done, delivered, nothing written.
  const int writes = odoo_.calls("mrp.production.write");
  EXPECT_EQ(Deliver("MO-000042", 5).kind, connect::Attempt::Kind::kDelivered);
  EXPECT_EQ(odoo_.calls("mrp.production.write"), writes);
}

TEST_P(OdooProductionTest, WithBackordersTheRestIsLeftToABackorderAndAResendChangesNothing) {
  odoo_.AddProduction("MO-000045", 5);
  backorder_ = "create";
  ASSERT_EQ(Deliver("MO-000045", 3).kind, connect::Attempt::Kind::kDelivered);
  std::vector<FakeOdoo::Production> mos = odoo_.productions();
  ASSERT_EQ(mos.size(), 2u);
  EXPECT_EQ(mos[0].name, "WH/MO/00001-001");
  EXPECT_EQ(mos[0].state, "done");
  EXPECT_EQ(mos[0].qty_produced, 3.0);
  EXPECT_EQ(mos[1].name, "WH/MO/00001-002");
  EXPECT_EQ(mos[1].state, "confirmed");
  EXPECT_EQ(mos[1].product_qty, 2.0);
  // Sent again: the backorder stays open; it is not this command's to close.
  ASSERT_EQ(Deliver("MO-000045", 3).kind, connect::Attempt::Kind::kDelivered);
  EXPECT_EQ(odoo_.productions()[1].state, "confirmed");
}

TEST_P(OdooProductionTest, ALostAnswerOrAMissingOrderIsHandledByWhatItMeans) {
  odoo_.AddProduction("MO-000044", 5);
  // Closed, but the answer comes after the client gave up: a retry finds it done.
  odoo_.DelayNext("mrp.production.button_mark_done", 1, 1500);
  const connect::Attempt lost = Deliver("MO-000044", 5);
  EXPECT_EQ(lost.kind, connect::Attempt::Kind::kRetryable) << lost.error;
  EXPECT_EQ(odoo_.productions()[0].state, "done");
  EXPECT_EQ(Deliver("MO-000044", 5).kind, connect::Attempt::Kind::kDelivered);

  const connect::Attempt missing = Deliver("MO-999999", 5);
  EXPECT_EQ(missing.kind, connect::Attempt::Kind::kFinal);
  EXPECT_EQ(missing.error, "odoo: no mrp.production has origin MO-999999");
  const connect::Attempt nothing = Deliver("MO-000044", 0);
  EXPECT_EQ(nothing.kind, connect::Attempt::Kind::kFinal);
  EXPECT_NE(nothing.error.find("nothing produced"), std::string::npos) << nothing.error;
}

// odoo.quality.alert on Community: a To-Do activity on the order, made once through load, and a
// chatter message, posted at most once.
TEST_P(OdooProductionTest, AQualityAlertIsAnActivityOnTheOrderAndOneMessage) {
  const int64_t mo = odoo_.AddProduction("MO-000043", 5);
  Command c;
  c.id = "scada-000127/rule:alarm_to_quality_hold/0";
  c.name = "odoo.quality.alert";
  c.payload_json = R"({"asset":"A07","order":"MO-000043","reason":"COOLANT_LOW"})";
  c.caused_by = "scada-000127";
  c.emitted_by = "rule alarm_to_quality_hold@abc";
  DispatchOptions options = OdooOptions(odoo_, GetParam());
  options.connectors[0].commands = {"odoo.quality.alert"};
  options.connectors[0].timeout_ms = 500;
  auto connector = connect::MakeConnector(options.connectors[0]);
  ASSERT_TRUE(connector.ok());
  ASSERT_EQ(connector.value()->Deliver(c).kind, connect::Attempt::Kind::kDelivered);
  using Entry = std::pair<int64_t, std::string>;
  EXPECT_EQ(odoo_.activities(), (std::vector<Entry>{{mo, "Quality hold: COOLANT_LOW on A07"}}));
  EXPECT_EQ(odoo_.messages(),
            (std::vector<Entry>{
                {mo, "Quality hold: COOLANT_LOW on A07 (command " + c.id + ")"}}));
  // Sent again (its answer lost): the same activity, and no second message.
  ASSERT_EQ(connector.value()->Deliver(c).kind, connect::Attempt::Kind::kDelivered);
  EXPECT_EQ(odoo_.activities().size(), 1u);
  EXPECT_EQ(odoo_.messages().size(), 1u);
  // An order Odoo does not have.
  c.payload_json = R"({"order":"MO-404","reason":"X"})";
  const connect::Attempt missing = connector.value()->Deliver(c);
  EXPECT_EQ(missing.kind, connect::Attempt::Kind::kFinal);
  EXPECT_EQ(missing.error, "odoo: no mrp.production has origin MO-404");
}

INSTANTIATE_TEST_SUITE_P(Protocols, OdooProductionTest, testing::Values("jsonrpc", "json2"),
                         [](const testing::TestParamInfo<std::string>& param) {
                           return param.param;
                         });

TEST(OdooTest, ExternalIdsStayApartAndErrorsAreClassifiedByName) {
  EXPECT_EQ(connect::OdooExternalId("scada-000123/rule:r1/0").substr(0, 23),
            "scada_000123_rule_r1_0_");
  EXPECT_NE(connect::OdooExternalId("a-b/rule:r/0"), connect::OdooExternalId("a_b/rule:r/0"));
  EXPECT_TRUE(connect::OdooErrorIsFinal("odoo.exceptions.AccessDenied"));
  EXPECT_TRUE(connect::OdooErrorIsFinal("builtins.ValueError"));
  EXPECT_TRUE(connect::OdooErrorIsFinal("werkzeug.exceptions.NotFound"));
  EXPECT_FALSE(connect::OdooErrorIsFinal("psycopg2.errors.SerializationFailure"));
  EXPECT_FALSE(connect::OdooErrorIsFinal(""));
}

}  // namespace
}  // namespace takt

namespace takt {
namespace {

// Answers of a shape the connector was not written for (a name that is a number, records that
// are not objects, ids that are strings), and command data from a rule that is not what the
// command takes: each attempt ends final or retryable with a reason, never with an exception
// out of the delivery, which would end the process.
TEST(OdooTest, AnswersAndCommandDataOfAnotherShapeEndTheAttemptWithAReason) {
  ConnectorOptions options;
  options.name = "erp";
  options.kind = "odoo";
  options.url = "http://odoo.invalid";
  options.database = "plant";
  options.login = "takt";
  options.secret = "password";
  struct Case {
    const char* command;
    const char* data;
    std::vector<std::string> answers;  // after the login's
    connect::Attempt::Kind kind;
    const char* error;
  };
  const std::string login = R"({"jsonrpc":"2.0","id":1,"result":2})";
  const std::vector<Case> cases = {
      {"odoo.maintenance.create", R"({"asset":7,"priority":"high"})", {},
       connect::Attempt::Kind::kFinal, "erp: the command has no asset"},
      {"odoo.maintenance.create", R"({"asset":"A07","priority":["high"]})", {},
       connect::Attempt::Kind::kFinal, "erp: priority '' is not high, normal or low"},
      {"odoo.maintenance.create", R"({"asset":"A07","priority":"high"})",
       {R"({"jsonrpc":"2.0","id":2,"error":{"code":200,"message":5,"data":{"name":42}}})"},
       connect::Attempt::Kind::kRetryable, "erp: : error"},
      {"odoo.maintenance.create", R"({"asset":"A07","priority":"high"})",
       {R"({"jsonrpc":"2.0","id":2,"result":[7]})", R"({"jsonrpc":"2.0","id":3,"result":[1]})"},
       connect::Attempt::Kind::kFinal, "erp: load refused the request: "},
      {"odoo.maintenance.create", R"({"asset":"A07","priority":"high"})",
       {R"({"jsonrpc":"2.0","id":2,"result":[{"id":"1"}]})",
        R"({"jsonrpc":"2.0","id":3,"result":{"ids":false,"messages":[3,{"message":[]}]}})"},
       connect::Attempt::Kind::kFinal, "erp: load refused the request: ?; ?"},
      {"odoo.production.done", R"({"order":"MO-1","good":5})",
       {R"({"jsonrpc":"2.0","id":2,"result":[{"state":7,"name":[]}]})",
        R"({"jsonrpc":"2.0","id":3,"result":true})",
        R"({"jsonrpc":"2.0","id":4,"result":{"name":{"wizard":1}}})"},
       connect::Attempt::Kind::kFinal, "erp: mrp.production  was not closed: Odoo answered with "},
      {"odoo.quality.alert", R"({"order":"MO-1","reason":false})",
       {R"({"jsonrpc":"2.0","id":2,"result":[{"id":3}]})",
        R"({"jsonrpc":"2.0","id":3,"result":[{"res_id":4}]})",
        R"({"jsonrpc":"2.0","id":4,"result":["mrp.production"]})"},
       connect::Attempt::Kind::kFinal, "erp: Odoo has no model mrp.production"},
  };
  for (const Case& c : cases) {
    size_t next = 0;
    std::vector<std::string> answers = {login};
    answers.insert(answers.end(), c.answers.begin(), c.answers.end());
    auto post = [&](const std::string&, const std::vector<std::string>&, std::string_view,
                    int64_t) {
      connect::HttpAnswer a;
      a.sent = next < answers.size();
      a.status = 200;
      if (a.sent) a.body = answers[next++];
      a.transport_error = "no more answers";
      return a;
    };
    Command command;
    command.id = "cmd-1";
    command.name = c.command;
    command.payload_json = c.data;
    const connect::Attempt attempt = connect::MakeOdooConnector(options, post)->Deliver(command);
    EXPECT_EQ(attempt.kind, c.kind) << c.data << " " << attempt.error;
    EXPECT_EQ(attempt.error.rfind(c.error, 0), 0u) << attempt.error;
  }
}

}  // namespace
}  // namespace takt
