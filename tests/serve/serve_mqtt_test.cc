// takt serve as a process, with a real mosquitto broker (per-client passwords and access
// rules), both on loopback ports started by the test:
// - a message is acknowledged to the broker only after its event is committed: takt serve
//   killed (SIGKILL) while it holds messages it has not committed gets them again from the
//   broker, and nothing is lost;
// - the plant stream published half over HTTP and half over MQTT ends in the same instances
//   and commands as the simulation of the same events, through a broker restart and a SIGKILL
//   of takt serve in the middle, with no command twice; SIGTERM then exits 0;
// - an unmappable message is refused, counted and not sent again; commands leave over MQTT.
#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine/connect/mqtt_client.h"
#include "serve/serve_process.h"
#include "serve/serve_support.h"
#include "store/store_support.h"
#include "support/test_support.h"

namespace takt {
namespace {

using nlohmann::json;

// The sum of the samples of `family` whose labels contain `labels` ("" for all).
double Sample(const std::string& metrics, const std::string& family, const std::string& labels) {
  double sum = 0;
  size_t at = 0;
  while ((at = metrics.find("\n" + family, at)) != std::string::npos) {
    ++at;
    const size_t end = metrics.find('\n', at);
    const std::string line = metrics.substr(at, end - at);
    const char next = line.size() > family.size() ? line[family.size()] : ' ';
    if ((next == '{' || next == ' ') && line.find(labels) != std::string::npos) {
      sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return sum;
}

std::string Metrics(uint16_t port) {
  httplib::Client client("127.0.0.1", port);
  httplib::Result res =
      client.Get("/metrics", {{"Authorization", "Bearer " + test::TokenOf("admin")}});
  return res && res->status == 200 ? "\n" + res->body : "";
}

// An MQTT publisher that reconnects and publishes again when the broker goes away.
class Publisher {
 public:
  explicit Publisher(uint16_t port) {
    options_.host = "127.0.0.1";
    options_.port = port;
    options_.client_id = "scada-line";
    options_.username = "scada";
    options_.password = "scada-pw";
    options_.clean_session = true;
    options_.timeout_ms = 2000;
  }
  void Publish(const std::string& topic, const std::string& payload) {
    for (int attempt = 0; attempt < 200; ++attempt) {
      if (!session_.connected() && !session_.Connect(options_).ok()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      if (session_.Publish(topic, payload).ok()) return;
    }
    ADD_FAILURE() << "could not publish to " << topic;
  }

 private:
  connect::MqttConnectOptions options_;
  connect::MqttSession session_;
};

std::string MqttToml(uint16_t broker) {
  return "[mqtt]\nhost = \"127.0.0.1\"\nport = " + std::to_string(broker) +
         "\nclient_id = \"takt-plant\"\nusername = \"takt\"\npassword_env = "
         "\"TAKT_TEST_MQTT_PASSWORD\"\nreconnect_min_ms = 50\nreconnect_max_ms = 500\n\n"
         "[[mqtt.subscription]]\nfilter = \"plant/+/+/event\"\nsource = \"scada\"\n"
         "key = \"topic.2\"\n";
}

class ServeMqttTest : public testing::Test {
 protected:
  void SetUp() override {
    if (!test::Mosquitto::Installed()) {
      GTEST_SKIP() << test::Mosquitto::kMissing;
    }
    const testing::TestInfo* info = testing::UnitTest::GetInstance()->current_test_info();
    scratch_ = std::make_unique<test::ScratchDir>(std::string("serve-mqtt-") + info->name());
    dir_ = scratch_->dir;
    std::filesystem::create_directories(dir_ + "/broker");
    broker_ = std::make_unique<test::Mosquitto>(dir_ + "/broker");
    ASSERT_TRUE(broker_->Start()) << test::ReadFile(dir_ + "/broker/mosquitto.log");
    setenv("TAKT_TEST_MQTT_PASSWORD", "takt-pw", 1);
  }
  std::unique_ptr<test::ScratchDir> scratch_;
  std::string dir_;
  std::unique_ptr<test::Mosquitto> broker_;
};

std::string Alarm(int n, int64_t ts) {
  const std::string asset = "A0" + std::to_string(1 + n % 9);
  return R"({"id":"alarm-)" + std::to_string(n) + R"(","type":"alarm","key":")" + asset +
         R"(","seq":)" + std::to_string(n + 1) + R"(,"ts":)" + std::to_string(ts) +
         R"(,"data":{"asset":")" + asset + R"(","code":"VIB","severity":1}})";
}

TEST_F(ServeMqttTest, KilledBeforeItsCommitTheBrokerSendsAMessageAgainAndNothingIsLost) {
  // A rule that spends its whole budget on every alarm: each batch takes long, so the kill
  // below lands while takt serve holds messages it has received and not committed.
  std::filesystem::create_directories(dir_ + "/slow_rules");
  test::WriteFile(dir_ + "/slow_rules/slow.lua",
                  "return rule \"slow\" {\n  on = { \"alarm\" },\n"
                  "  decide = function(ev, state)\n    local n = 0\n"
                  "    while true do n = n + 1 end\n  end,\n}\n");
  std::string toml = test::WithProjectPath(test::ServeToml(dir_, MqttToml(broker_->port())),
                                          "rules", dir_ + "/slow_rules");
  // 100 ms an alarm, whatever the build's speed: a batch of the broker's 20 in flight takes
  // two seconds, far longer than between the look at the metrics and the kill.
  toml.insert(toml.find("durability"),
              "rule_max_instructions = 1000000000000\nrule_timeout_ms = 100\n");
  test::WriteFile(dir_ + "/takt.toml", toml);

  // The session exists before the messages are published, so the broker keeps them for it.
  test::TaktServe serve(dir_ + "/takt.toml", dir_ + "/serve.log");
  ASSERT_TRUE(serve.Start()) << test::ReadFile(dir_ + "/serve.log");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // subscribed
  constexpr int kMessages = 40;
  Publisher publisher(broker_->port());
  for (int n = 0; n < kMessages; ++n) {
    publisher.Publish("plant/scada/A0" + std::to_string(1 + n % 9) + "/event", Alarm(n, 1000 + n));
  }
  // Kill it in the middle: 40 alarms at 100 ms each take four seconds, in batches of up to the
  // broker's 20 in flight; between two batches there are milliseconds. At 1.5 s it is applying
  // a batch it has received and not committed (nor acknowledged). (Its /metrics cannot tell:
  // a scrape waits for the batch under way.)
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  serve.Kill();
  const std::string before = test::Dump(
      dir_ + "/plant.db", "SELECT count(*) FROM events WHERE outcome = 'applied'");
  ASSERT_LT(std::stoi(before), kMessages) << "killed after it had committed everything";

  ASSERT_TRUE(serve.Start()) << test::ReadFile(dir_ + "/serve.log");
  double redelivered = 0;
  std::string m;
  for (int i = 0; i < 1200; ++i) {
    m = Metrics(serve.port());
    redelivered = Sample(m, "takt_mqtt_messages_total", "what=\"redelivered\"");
    if (redelivered > 0 &&
        test::Dump(dir_ + "/plant.db", "SELECT count(*) FROM events WHERE outcome = 'applied'") ==
            std::to_string(kMessages) + "\n") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(serve.Terminate(), 0);
  // Every message became exactly one accepted event; the broker sent some of them again.
  EXPECT_EQ(test::Dump(dir_ + "/plant.db",
                       "SELECT count(DISTINCT id), count(*) FROM events WHERE outcome = 'applied'"),
            std::to_string(kMessages) + "|" + std::to_string(kMessages) + "\n");
  EXPECT_GT(redelivered, 0) << m;
}

TEST_F(ServeMqttTest, APlantStreamHalfOverHttpHalfOverMqttEndsAsTheSimulation) {
  const std::vector<std::string> events = test::PlantEvents(30, 5);
  test::WriteFile(dir_ + "/takt.toml", test::ServeToml(dir_, MqttToml(broker_->port())));
  auto serve = std::make_unique<test::TaktServe>(dir_ + "/takt.toml", dir_ + "/serve.log");
  ASSERT_TRUE(serve->Start()) << test::ReadFile(dir_ + "/serve.log");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Publisher publisher(broker_->port());
  double sent_since_start = 0;
  size_t over_mqtt = 0;
  bool broker_restarted = false, serve_killed = false;
  for (size_t i = 0; i < events.size();) {
    // Restart the broker a third of the way in, kill takt serve two thirds in: both between
    // runs, once the last run is committed.
    if (!broker_restarted && i > events.size() / 3) {
      broker_->Stop();
      ASSERT_TRUE(broker_->Start());
      broker_restarted = true;
    }
    if (!serve_killed && i > 2 * events.size() / 3) {
      serve->Kill();
      ASSERT_TRUE(serve->Start()) << test::ReadFile(dir_ + "/serve.log");
      sent_since_start = 0;
      serve_killed = true;
    }
    const bool mqtt = test::SourceOf(events[i]) == "scada";
    if (!mqtt) {  // one request per event, as its source's system
      httplib::Client client("127.0.0.1", serve->port());
      httplib::Result res =
          client.Post("/v1/events", {{"Authorization", "Bearer " +
                                                           test::TokenOf(test::SourceOf(events[i]))}},
                      events[i], "application/json");
      ASSERT_TRUE(res);
      ASSERT_TRUE(res->status == 200 || res->status == 403) << res->body;
      ++i;
      continue;
    }
    // A run of scada events over MQTT, then wait until takt serve has committed them.
    while (i < events.size() && test::SourceOf(events[i]) == "scada") {
      const json e = json::parse(events[i]);
      publisher.Publish("plant/scada/" + e["key"].get<std::string>() + "/event", events[i]);
      ++sent_since_start;
      ++over_mqtt;
      ++i;
    }
    for (int wait = 0; wait < 2000; ++wait) {
      const std::string m = Metrics(serve->port());
      const double done = Sample(m, "takt_events_total", "source=\"scada\"") -
                          Sample(m, "takt_mqtt_messages_total", "what=\"redelivered\"");
      if (done >= sent_since_start) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  EXPECT_GT(over_mqtt, events.size() / 3);
  EXPECT_LT(over_mqtt, events.size());
  EXPECT_EQ(serve->Terminate(), 0);  // SIGTERM: drained, committed, exit 0

  // The simulation of the same events.
  Result<std::unique_ptr<Engine>> engine = Engine::Open(test::PlantOptions(""));
  ASSERT_TRUE(engine.ok());
  std::set<std::string> expected_commands;
  for (const std::string& e : events) {
    Result<SubmitResult> r = engine.value()->Submit(e);
    ASSERT_TRUE(r.ok());
    for (const Command& c : r.value().commands) {
      expected_commands.insert(c.id + " " + c.name + " " + c.payload_json);
    }
  }
  std::string expected_states;
  engine.value()->ForEachInstance([&](const InstanceSummary& s) {
    expected_states += std::string(s.workflow) + "|" + std::string(s.key) + "|" +
                       std::string(s.state) + "\n";
  });
  const std::string db = dir_ + "/plant.db";
  EXPECT_EQ(test::Dump(db, "SELECT workflow, key, state FROM instances ORDER BY workflow, key"),
            expected_states);
  std::string expected;
  for (const std::string& c : expected_commands) expected += c + "\n";
  // Each command once (the outbox's ids are unique: a second one would have failed the commit,
  // so count the rows against the set as well).
  EXPECT_EQ(test::Dump(db, "SELECT id || ' ' || name || ' ' || payload FROM outbox ORDER BY 1"),
            expected);
  EXPECT_EQ(test::Dump(db, "SELECT count(*) FROM outbox"),
            std::to_string(expected_commands.size()) + "\n");
  EXPECT_EQ(test::IntegrityCheck(db), "ok");
}

TEST_F(ServeMqttTest, UnmappedMessagesAreRefusedAndCommandsLeaveOverMqtt) {
  const std::string connector =
      "[[connector]]\nname = \"mes-line\"\nkind = \"mqtt\"\ncommands = [\"odoo.maintenance.*\"]\n"
      "url = \"mqtt://127.0.0.1:" + std::to_string(broker_->port()) +
      "\"\ntopic = \"mes/commands/{name}\"\nlogin = \"takt\"\nsecret_env = "
      "\"TAKT_TEST_MQTT_PASSWORD\"\n";
  test::WriteFile(dir_ + "/takt.toml",
                  test::ServeToml(dir_, MqttToml(broker_->port()) + "\n" + connector));
  // The MES line's subscriber, before anything is published.
  connect::MqttSession mes;
  connect::MqttConnectOptions o;
  o.host = "127.0.0.1";
  o.port = broker_->port();
  o.client_id = "mes-line";
  o.username = "mes";
  o.password = "mes-pw";
  o.clean_session = true;
  ASSERT_TRUE(mes.Connect(o).ok());
  ASSERT_TRUE(mes.Subscribe({"mes/commands/#"}, 1).ok());

  test::TaktServe serve(dir_ + "/takt.toml", dir_ + "/serve.log");
  ASSERT_TRUE(serve.Start()) << test::ReadFile(dir_ + "/serve.log");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Publisher publisher(broker_->port());
  publisher.Publish("plant/scada/A01/event", "not json at all");
  publisher.Publish("plant/scada/A01/event", R"({"id":"x1","type":"alarm"})");  // no seq, ts
  const std::string severe =
      R"({"id":"s1","type":"alarm","key":"A01","seq":1,"ts":5000,)"
      R"("data":{"asset":"A01","code":"OVERTEMP","severity":3}})";
  publisher.Publish("plant/scada/A01/event", severe);

  Result<std::optional<connect::MqttMessage>> got = mes.Next(10'000);
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(got.value().has_value()) << test::ReadFile(dir_ + "/serve.log");
  const connect::MqttMessage& m = *got.value();
  EXPECT_EQ(m.topic, "mes/commands/odoo.maintenance.create");
  const json command = json::parse(m.payload);
  EXPECT_EQ(command["id"], "s1/rule:alarm_to_maintenance/0");
  EXPECT_EQ(command["data"]["asset"], "A01");
  if (m.qos > 0) {
    ASSERT_TRUE(mes.Ack(m.packet_id).ok());
  }

  std::string metrics;
  for (int i = 0; i < 200; ++i) {
    metrics = Metrics(serve.port());
    // The delivery's histogram is observed after the delivery is counted: wait for both.
    if (Sample(metrics, "takt_mqtt_messages_total", "what=\"unmapped\"") >= 2 &&
        Sample(metrics, "takt_deliveries_total", "") >= 1 &&
        Sample(metrics, "takt_delivery_seconds_count",
               "connector=\"mes-line\",result=\"delivered\"") >= 1) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(Sample(metrics, "takt_mqtt_messages_total", "what=\"unmapped\""), 2) << metrics;
  EXPECT_EQ(Sample(metrics, "takt_mqtt_connected", ""), 1);
  EXPECT_EQ(Sample(metrics, "takt_delivery_seconds_count",
                   "connector=\"mes-line\",result=\"delivered\""),
            1)
      << metrics;
  EXPECT_EQ(Sample(metrics, "takt_delivery_attempt_bucket",
                   "connector=\"mes-line\",result=\"delivered\",le=\"1\""),
            1);
  const std::string log = test::ReadFile(dir_ + "/serve.log");
  EXPECT_NE(log.find("payload is not JSON"), std::string::npos) << log;
  EXPECT_NE(log.find("payload has no field seq"), std::string::npos) << log;
  EXPECT_EQ(log.find("takt-pw"), std::string::npos) << "a secret in the log";
  // Refused for good: acknowledged, so a restart does not bring them back.
  EXPECT_EQ(serve.Terminate(), 0);
  ASSERT_TRUE(serve.Start());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  metrics = Metrics(serve.port());
  EXPECT_EQ(Sample(metrics, "takt_mqtt_messages_total", "what=\"received\""), 0) << metrics;
  EXPECT_EQ(serve.Terminate(), 0);
}

}  // namespace
}  // namespace takt
