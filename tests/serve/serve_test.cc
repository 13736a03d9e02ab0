// takt serve's HTTP API, in process, on a loopback port: each event answered after its commit
// with its outcome; who may call what (every endpoint x no credential, a wrong one, another
// source's, an administrator's); nothing refused reaching the store; bounded bodies and JSON
// errors; HTTPS with a certificate the test makes; timers on the wall clock; reloads refused
// when broken; metrics.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "serve/serve_support.h"
#include "store/store_support.h"
#include "support/test_support.h"
#include "takt/config.h"
#include "takt/serve.h"

namespace takt {
namespace {

using nlohmann::json;

class RunningServer {
 public:
  // Opens the server of `toml` (written to dir/takt.toml) and runs it on a thread.
  RunningServer(const std::string& dir, const std::string& toml) {
    test::WriteFile(dir + "/takt.toml", toml);
    Result<Config> config = LoadConfig(dir + "/takt.toml");
    EXPECT_TRUE(config.ok()) << config.status().message();
    if (!config.ok()) return;
    Result<std::unique_ptr<Server>> server =
        Server::Open(config.value(), [this](const LogLine& line) {
          std::lock_guard<std::mutex> lock(mu_);
          log_ += std::string(line.message) + " id=" + std::string(line.event_id) + "\n";
        });
    EXPECT_TRUE(server.ok()) << server.status().message();
    if (!server.ok()) return;
    server_ = std::move(server).value();
    thread_ = std::thread([this] { run_ = server_->Run(); });
  }
  ~RunningServer() { (void)Stop(); }
  Status Stop() {
    if (server_ != nullptr) {
      server_->Stop();
      if (thread_.joinable()) thread_.join();
    }
    return run_;
  }
  Server* server() { return server_.get(); }
  uint16_t port() const { return server_->port(); }
  std::string log() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }

 private:
  std::unique_ptr<Server> server_;
  std::thread thread_;
  Status run_;
  std::mutex mu_;
  std::string log_;
};

httplib::Headers Bearer(const std::string& token) {
  return token.empty() ? httplib::Headers{} : httplib::Headers{{"Authorization", "Bearer " + token}};
}

// Posts `events` (JSON Lines) as `source`'s system; the answer's body.
httplib::Result Post(httplib::Client& client, const std::string& token,
                     const std::vector<std::string>& events) {
  std::string body;
  for (const std::string& e : events) body += e + "\n";
  return client.Post("/v1/events", Bearer(token), body, "application/x-ndjson");
}

class ServeTest : public testing::Test {
 protected:
  void SetUp() override {
    const testing::TestInfo* info = testing::UnitTest::GetInstance()->current_test_info();
    scratch_ = std::make_unique<test::ScratchDir>(std::string("serve-") + info->name());
    dir_ = scratch_->dir;
  }
  std::unique_ptr<test::ScratchDir> scratch_;
  std::string dir_;
};

TEST_F(ServeTest, EachEventIsAnsweredWithItsOutcomeAndTheStateIsTheSimulations) {
  const std::vector<std::string> events = test::PlantEvents(20, 7);
  std::string final_states;
  {
    RunningServer running(dir_, test::ServeToml(dir_));
    ASSERT_NE(running.server(), nullptr);
    httplib::Client client("127.0.0.1", running.port());
    std::map<std::string, int> outcomes;
    // Consecutive events of one source go in one request, as that source's system.
    for (size_t i = 0; i < events.size();) {
      const std::string source = test::SourceOf(events[i]);
      std::vector<std::string> batch;
      while (i < events.size() && test::SourceOf(events[i]) == source) batch.push_back(events[i++]);
      httplib::Result res = Post(client, test::TokenOf(source), batch);
      ASSERT_TRUE(res);
      if (res->status == 403) {  // the generator's foreign copies: not this source's type
        outcomes["forbidden"] += static_cast<int>(batch.size());
        continue;
      }
      ASSERT_EQ(res->status, 200) << res->body;
      const json answer = json::parse(res->body);
      ASSERT_EQ(answer["results"].size(), batch.size());
      for (const json& r : answer["results"]) ++outcomes[r["outcome"].get<std::string>()];
    }
    EXPECT_GT(outcomes["accepted"], 300);
    EXPECT_GT(outcomes["duplicate"], 0);  // the generator's duplicate deliveries
    // Sent again, every accepted event is a duplicate.
    std::string released;
    for (const std::string& e : events) {
      if (released.empty() && e.find("\"order.released\"") != std::string::npos &&
          test::SourceOf(e) == "odoo") {
        released = e;
      }
    }
    httplib::Result again = Post(client, test::TokenOf("odoo"), {released});
    ASSERT_TRUE(again);
    EXPECT_EQ(json::parse(again->body)["results"][0]["outcome"], "duplicate");

    httplib::Result listed = client.Get("/v1/instances?limit=1000", Bearer(test::TokenOf("mes")));
    ASSERT_TRUE(listed);
    ASSERT_EQ(listed->status, 200) << listed->body;
    const json instances = json::parse(listed->body)["instances"];
    for (const json& i : instances) {
      final_states += i["workflow"].get<std::string>() + "/" + i["key"].get<std::string>() +
                      " " + i["state"].get<std::string>() + "\n";
    }
    EXPECT_TRUE(running.Stop().ok());
  }
  // The same events straight into an engine (what takt simulate does), less those refused at
  // the door as another source's: the same final states.
  std::vector<std::string> admitted;
  Result<std::unique_ptr<Engine>> probe = Engine::Open(test::PlantOptions(""));
  ASSERT_TRUE(probe.ok());
  std::map<std::string, std::string> owner;
  for (const EventTypeInfo& t : probe.value()->event_types()) owner[t.type] = t.owner;
  std::unique_ptr<Engine>& engine = probe.value();
  for (size_t i = 0; i < events.size();) {
    const std::string source = test::SourceOf(events[i]);
    std::vector<std::string> batch;
    bool foreign = false;
    while (i < events.size() && test::SourceOf(events[i]) == source) {
      const json e = json::parse(events[i]);
      foreign = foreign || owner[e["type"].get<std::string>()] != source;
      batch.push_back(events[i++]);
    }
    if (foreign) continue;
    for (const std::string& e : batch) ASSERT_TRUE(engine->Submit(e).ok());
  }
  std::string expected;
  engine->ForEachInstance([&](const InstanceSummary& s) {
    expected += std::string(s.workflow) + "/" + std::string(s.key) + " " + std::string(s.state) +
                "\n";
  });
  EXPECT_EQ(final_states, expected);
  EXPECT_FALSE(expected.empty());
}

// Every endpoint x every kind of caller: the status each must get.
TEST_F(ServeTest, AccessControlHoldsForEveryEndpointAndCaller) {
  RunningServer running(dir_, test::ServeToml(dir_));
  ASSERT_NE(running.server(), nullptr);
  httplib::Client client("127.0.0.1", running.port());
  const std::string odoo_event =
      R"({"id":"e1","source":"odoo","type":"order.released","key":"MO-1","seq":1,"ts":1000,)"
      R"("data":{"order":"MO-1","product":"P","qty":5,"asset":"A01"}})";
  struct Endpoint {
    const char* name;
    std::function<httplib::Result(const httplib::Headers&)> call;
    // Expected status for: none, wrong, another source's, admin, the owner's.
    std::array<int, 5> expected;
  };
  const std::vector<Endpoint> endpoints = {
      {"POST /v1/events",
       [&](const httplib::Headers& h) {
         return client.Post("/v1/events", h, odoo_event, "application/json");
       },
       {401, 401, 403, 403, 200}},
      {"GET /v1/instances/{workflow}/{key}",
       [&](const httplib::Headers& h) {
         return client.Get("/v1/instances/production_order/MO-404", h);
       },
       {401, 401, 404, 404, 404}},
      {"GET /v1/instances",
       [&](const httplib::Headers& h) { return client.Get("/v1/instances", h); },
       {401, 401, 200, 200, 200}},
      {"GET /v1/commands",
       [&](const httplib::Headers& h) { return client.Get("/v1/commands?status=dead", h); },
       {401, 401, 200, 200, 200}},
      {"POST /v1/commands/{id}/retry",
       [&](const httplib::Headers& h) { return client.Post("/v1/commands/c1/retry", h, "", ""); },
       {401, 401, 403, 404, 403}},
      {"POST /v1/commands/{id}/drop",
       [&](const httplib::Headers& h) { return client.Post("/v1/commands/c1/drop", h, "", ""); },
       {401, 401, 403, 404, 403}},
      {"POST /v1/reload",
       [&](const httplib::Headers& h) { return client.Post("/v1/reload", h, "", ""); },
       {401, 401, 403, 202, 403}},
      {"GET /metrics", [&](const httplib::Headers& h) { return client.Get("/metrics", h); },
       {401, 401, 200, 200, 200}},
      {"GET /v1/health", [&](const httplib::Headers& h) { return client.Get("/v1/health", h); },
       {200, 200, 200, 200, 200}},
  };
  const std::array<httplib::Headers, 5> callers = {
      httplib::Headers{}, Bearer("not-a-token"), Bearer(test::TokenOf("mes")),
      Bearer(test::TokenOf("admin")), Bearer(test::TokenOf("odoo"))};
  const char* caller_names[] = {"no credential", "wrong credential", "another source's",
                                "admin", "the owner's"};
  for (const Endpoint& e : endpoints) {
    for (size_t c = 0; c < callers.size(); ++c) {
      if (e.expected[c] == 200 && std::string(e.name) == "POST /v1/events") continue;  // below
      httplib::Result res = e.call(callers[c]);
      ASSERT_TRUE(res) << e.name;
      EXPECT_EQ(res->status, e.expected[c]) << e.name << " with " << caller_names[c] << ": "
                                            << res->body;
      if (std::string(e.name) != "GET /metrics") {
        EXPECT_TRUE(json::accept(res->body)) << e.name << ": " << res->body;
      }
      if (res->status == 401) {
        EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Bearer");
      }
    }
  }
  // Nothing refused reached the store: the owner's event is the first the log holds.
  httplib::Result accepted = client.Post("/v1/events", Bearer(test::TokenOf("odoo")), odoo_event,
                                         "application/json");
  ASSERT_TRUE(accepted);
  ASSERT_EQ(accepted->status, 200);
  const json r = json::parse(accepted->body)["results"][0];
  EXPECT_EQ(r["outcome"], "accepted");
  EXPECT_EQ(r["position"], 1);
  // A credential's own source with a type that source does not own: 403 too.
  httplib::Result foreign = client.Post(
      "/v1/events", Bearer(test::TokenOf("mes")),
      R"({"id":"e2","source":"mes","type":"order.released","key":"MO-2","seq":1,"ts":1,"data":{}})",
      "application/json");
  ASSERT_TRUE(foreign);
  EXPECT_EQ(foreign->status, 403);
  EXPECT_NE(foreign->body.find("owned by odoo"), std::string::npos) << foreign->body;
  httplib::Result one = client.Get("/v1/instances/production_order/MO-1", Bearer("odoo-token"));
  ASSERT_TRUE(one);
  EXPECT_EQ(json::parse(one->body)["state"], "released");
  // No token appears in the log.
  EXPECT_EQ(running.log().find("-token"), std::string::npos) << running.log();
}

TEST_F(ServeTest, BodiesAreBoundedAndErrorsAreJson) {
  RunningServer running(dir_, test::ServeToml(dir_, "")  // max_body_bytes in [serve]
                                  .replace(test::ServeToml(dir_).find("clock_interval_ms"), 0,
                                           "max_body_bytes = 4096\n"));
  ASSERT_NE(running.server(), nullptr);
  httplib::Client client("127.0.0.1", running.port());
  httplib::Result big = client.Post("/v1/events", Bearer(test::TokenOf("mes")),
                                    std::string(5000, ' '), "application/x-ndjson");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_TRUE(json::accept(big->body)) << big->body;
  httplib::Result none = client.Get("/v1/nothing", Bearer(test::TokenOf("mes")));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 404);
  EXPECT_EQ(json::parse(none->body)["error"], "no such endpoint");
  httplib::Result empty =
      client.Post("/v1/events", Bearer(test::TokenOf("mes")), "\n\n", "application/x-ndjson");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 400);
  httplib::Result garbage = client.Post("/v1/events", Bearer(test::TokenOf("mes")),
                                        "{not json\n", "application/x-ndjson");
  ASSERT_TRUE(garbage);
  ASSERT_EQ(garbage->status, 200);
  EXPECT_EQ(json::parse(garbage->body)["results"][0]["detail"], "malformed");
  httplib::Result health = client.Get("/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body)["ready"], true);
}

// On one new loopback connection to `port`, sends each of `requests` once the answer to the one
// before came, and returns the status lines of the answers ("\n" after each). It waits up to
// 10 s for an answer.
std::string StatusLinesOf(uint16_t port, const std::vector<std::string>& requests) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return "cannot connect";
  }
  timeval wait{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  std::string lines;
  std::string received;
  for (const std::string& request : requests) {
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    char buffer[4096];
    ssize_t got = 0;
    size_t at = 0;
    while (((at = received.find("HTTP/1.1 ")) == std::string::npos ||
            received.find("\r\n", at) == std::string::npos) &&
           (got = ::recv(fd, buffer, sizeof buffer, 0)) > 0) {
      received.append(buffer, static_cast<size_t>(got));
    }
    if (got < 0 || at == std::string::npos) break;
    const size_t end = received.find("\r\n", at);
    lines += received.substr(at, end - at) + "\n";
    received.erase(0, end);
  }
  ::close(fd);
  return lines;
}

// A flood of made-up event types: each is refused naming its type, an event of a declared
// type beside them is accepted, and the metrics count them under no type, so that they add no
// series (each would stay in memory and in every scrape).
TEST_F(ServeTest, AFloodOfUnknownTypesIsRefusedAndAddsNoMetricSeries) {
  RunningServer running(dir_, test::ServeToml(dir_));
  ASSERT_NE(running.server(), nullptr);
  httplib::Client client("127.0.0.1", running.port());
  std::vector<std::string> batch;
  for (int i = 0; i < 500; ++i) {
    batch.push_back(R"({"id":"u-)" + std::to_string(i) + R"(","source":"scada","type":"made.up-)" +
                    std::to_string(i) + R"(","key":"A01","seq":1,"ts":1,"data":{}})");
  }
  batch.push_back(R"({"id":"a-1","source":"scada","type":"alarm","key":"A01","seq":1,"ts":1,)"
                  R"("data":{"asset":"A01","code":"OVERHEAT","severity":1}})");
  httplib::Result res = Post(client, test::TokenOf("scada"), batch);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json results = json::parse(res->body)["results"];
  ASSERT_EQ(results.size(), batch.size());
  for (size_t i = 0; i < 500; ++i) {
    EXPECT_EQ(results[i]["outcome"], "rejected");
    EXPECT_EQ(results[i]["reason"], "unknown event type 'made.up-" + std::to_string(i) + "'");
  }
  EXPECT_EQ(results[500]["outcome"], "accepted");

  httplib::Result metrics = client.Get("/metrics", Bearer(test::TokenOf("admin")));
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->body.find("made.up"), std::string::npos);
  EXPECT_NE(metrics->body.find(
                "takt_events_total{source=\"scada\",type=\"\",outcome=\"malformed\"} 500\n"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find(
                "takt_events_total{source=\"scada\",type=\"alarm\",outcome=\"applied\"} 1\n"),
            std::string::npos)
      << metrics->body;
}

TEST_F(ServeTest, ARequestThatStopsArrivingIs408AndABrokenOne400) {
  std::string toml = test::ServeToml(dir_);
  toml.replace(toml.find("clock_interval_ms"), 0, "read_timeout_ms = 300\n");
  RunningServer running(dir_, toml);
  ASSERT_NE(running.server(), nullptr);
  const std::string kHealth = "GET /v1/health HTTP/1.1\r\nHost: a\r\n";
  // Headers that stop halfway: on a new connection, and after an answer on a kept-alive one.
  EXPECT_EQ(StatusLinesOf(running.port(), {kHealth}), "HTTP/1.1 408 Request Timeout\n");
  EXPECT_EQ(StatusLinesOf(running.port(), {kHealth + "\r\n", kHealth}),
            "HTTP/1.1 200 OK\nHTTP/1.1 408 Request Timeout\n");
  // A body shorter than its Content-Length: a whole event, but not all the body announced.
  const std::string event =
      R"({"id":"e0","source":"odoo","type":"order.released","key":"MO-0","seq":1,"ts":1000,)"
      R"("data":{"order":"MO-0","product":"P","qty":5,"asset":"A01"}})"
      "\n";
  EXPECT_EQ(StatusLinesOf(running.port(),
                          {"POST /v1/events HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " +
                           test::TokenOf("odoo") +
                           "\r\nContent-Type: application/x-ndjson\r\nContent-Length: " +
                           std::to_string(event.size() + 10) + "\r\n\r\n" + event}),
            "HTTP/1.1 408 Request Timeout\n");
  // A request line that is no request line is answered at once, and as broken.
  const auto before = std::chrono::steady_clock::now();
  EXPECT_EQ(StatusLinesOf(running.port(), {"NONSENSE\r\n\r\n"}),
            "HTTP/1.1 400 Bad Request\n");
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(300));
  // Nothing of the late body reached the store: the same event, sent whole, is the first.
  httplib::Client client("127.0.0.1", running.port());
  httplib::Result whole = Post(client, test::TokenOf("odoo"), {event.substr(0, event.size() - 1)});
  ASSERT_TRUE(whole);
  ASSERT_EQ(whole->status, 200) << whole->body;
  const json r = json::parse(whole->body)["results"][0];
  EXPECT_EQ(r["outcome"], "accepted") << whole->body;
  EXPECT_EQ(r["position"], 1);
}

TEST_F(ServeTest, HttpsWithACertificateTheTestMade) {
  test::MakeSelfSignedCertificate(dir_);
  const std::string tls = "tls_cert = \"" + dir_ + "/cert.pem\"\ntls_key = \"" + dir_ +
                          "/key.pem\"\n";
  std::string toml = test::ServeToml(dir_);
  toml.insert(toml.find("clock_interval_ms"), tls);
  RunningServer running(dir_, toml);
  ASSERT_NE(running.server(), nullptr);
  httplib::SSLClient client("127.0.0.1", running.port());
  client.set_ca_cert_path((dir_ + "/cert.pem").c_str());
  client.enable_server_certificate_verification(true);
  httplib::Result res = client.Get("/v1/instances", Bearer(test::TokenOf("mes")));
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  httplib::Client plain("127.0.0.1", running.port());
  plain.set_read_timeout(std::chrono::seconds(2));
  httplib::Result refused = plain.Get("/v1/health");
  EXPECT_TRUE(!refused || refused->status != 200);
}

TEST_F(ServeTest, TimersFireOnTheWallClockWithNoEvent) {
  test::WriteFile(dir_ + "/sla.takt", R"(import "plant"

workflow sla {
  key order
  start released on order.released
  state released {
    on order.started -> done
    after 300ms { emit alert.not_started { order: key } }
  }
  final done
}
)");
  std::string toml = test::WithProjectPath(test::ServeToml(dir_), "workflows", dir_ + "/sla.takt");
  toml.replace(toml.find("rules = "), toml.find('\n', toml.find("rules = ")) -
                                          toml.find("rules = ") + 1, "");
  RunningServer running(dir_, toml);
  ASSERT_NE(running.server(), nullptr);
  httplib::Client client("127.0.0.1", running.port());
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  httplib::Result posted = client.Post(
      "/v1/events", Bearer(test::TokenOf("odoo")),
      R"({"id":"r1","source":"odoo","type":"order.released","key":"MO-9","seq":1,"ts":)" +
          std::to_string(now) + R"(,"data":{"order":"MO-9","product":"P","qty":1,"asset":"A1"}})",
      "application/json");
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 200) << posted->body;
  json commands;
  for (int i = 0; i < 100 && commands.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    httplib::Result listed = client.Get("/v1/commands", Bearer(test::TokenOf("admin")));
    ASSERT_TRUE(listed);
    commands = json::parse(listed->body)["commands"];
  }
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0]["name"], "alert.not_started");
  EXPECT_EQ(commands[0]["caused_by"].get<std::string>().rfind("timer:sla/MO-9/300ms@", 0), 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // it fires once
  httplib::Result listed = client.Get("/v1/commands", Bearer(test::TokenOf("admin")));
  EXPECT_EQ(json::parse(listed->body)["commands"].size(), 1u);
  httplib::Result metrics = client.Get("/metrics", Bearer(test::TokenOf("admin")));
  EXPECT_NE(metrics->body.find("takt_timers_fired_total 1\n"), std::string::npos);
  // Past its SLA and still there: the gauge, the instance and the list say so.
  EXPECT_NE(metrics->body.find("takt_instances_overdue{workflow=\"sla\",state=\"released\"} 1\n"),
            std::string::npos)
      << metrics->body;
  httplib::Result instance = client.Get("/v1/instances/sla/MO-9", Bearer(test::TokenOf("mes")));
  ASSERT_TRUE(instance);
  EXPECT_EQ(json::parse(instance->body)["overdue_since"], now + 300) << instance->body;
  httplib::Result overdue = client.Get("/v1/instances?overdue=true", Bearer(test::TokenOf("mes")));
  ASSERT_TRUE(overdue);
  EXPECT_EQ(json::parse(overdue->body)["instances"].size(), 1u) << overdue->body;
  // Once it moves on, it is no longer overdue.
  posted = client.Post(
      "/v1/events", Bearer(test::TokenOf("mes")),
      R"({"id":"s1","source":"mes","type":"order.started","key":"MO-9","seq":1,"ts":)" +
          std::to_string(now + 1000) + R"(,"data":{"order":"MO-9"}})",
      "application/json");
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 200) << posted->body;
  metrics = client.Get("/metrics", Bearer(test::TokenOf("admin")));
  EXPECT_EQ(metrics->body.find("takt_instances_overdue{"), std::string::npos) << metrics->body;
  overdue = client.Get("/v1/instances?overdue=true", Bearer(test::TokenOf("mes")));
  EXPECT_EQ(json::parse(overdue->body)["instances"].size(), 0u) << overdue->body;
}

TEST_F(ServeTest, ABrokenRuleIsRefusedAndTheRunningRulesStay) {
  std::filesystem::copy("rules", dir_ + "/rules", std::filesystem::copy_options::recursive);
  const std::string toml = test::WithProjectPath(test::ServeToml(dir_), "rules", dir_ + "/rules");
  RunningServer running(dir_, toml);
  ASSERT_NE(running.server(), nullptr);
  httplib::Client client("127.0.0.1", running.port());
  test::WriteFile(dir_ + "/rules/zz_broken.lua", "this is not lua");
  httplib::Result asked = client.Post("/v1/reload", Bearer(test::TokenOf("admin")), "", "");
  ASSERT_TRUE(asked);
  EXPECT_EQ(asked->status, 202);
  std::string metrics;
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    metrics = client.Get("/metrics", Bearer(test::TokenOf("admin")))->body;
    if (metrics.find("what=\"rules\",result=\"refused\"") != std::string::npos) break;
  }
  EXPECT_NE(metrics.find("takt_reloads_total{what=\"rules\",result=\"refused\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(running.log().find("zz_broken.lua"), std::string::npos) << running.log();
  // Events still flow, on the old rules.
  httplib::Result posted = client.Post(
      "/v1/events", Bearer(test::TokenOf("scada")),
      R"({"id":"a1","source":"scada","type":"alarm","key":"A01","seq":1,"ts":1,)"
      R"("data":{"asset":"A01","code":"OVERTEMP","severity":2}})",
      "application/json");
  ASSERT_TRUE(posted);
  EXPECT_EQ(json::parse(posted->body)["results"][0]["outcome"], "accepted");
}

TEST_F(ServeTest, AChangedWorkflowIsReloadedWithInstancesPinnedAndABrokenOneRefused) {
  std::filesystem::copy("workflows", dir_ + "/workflows");
  const std::string toml = test::WithProjectPath(test::ServeToml(dir_), "workflows",
                                                   dir_ + "/workflows");
  RunningServer running(dir_, toml);
  ASSERT_NE(running.server(), nullptr);
  httplib::Client client("127.0.0.1", running.port());
  auto release = [&](const std::string& order) {
    return client.Post("/v1/events", Bearer(test::TokenOf("odoo")),
                       R"({"id":"r-)" + order + R"(","source":"odoo","type":"order.released",)"
                       R"("key":")" + order + R"(","seq":1,"ts":1,"data":{"order":")" + order +
                           R"(","product":"P","qty":5,"asset":"A01"}})",
                       "application/json");
  };
  auto version = [&](const std::string& order) {
    httplib::Result r = client.Get("/v1/instances/production_order/" + order,
                                   Bearer(test::TokenOf("odoo")));
    return r && r->status == 200 ? json::parse(r->body)["version"].get<std::string>() : "";
  };
  auto reloads = [&](const std::string& result) {
    httplib::Result m = client.Get("/metrics", Bearer(test::TokenOf("admin")));
    const std::string line = "takt_reloads_total{what=\"workflows\",result=\"" + result + "\"} ";
    const size_t at = m ? m->body.find(line) : std::string::npos;
    return at == std::string::npos ? 0 : std::stoi(m->body.substr(at + line.size()));
  };
  auto wait_for = [&](const std::function<bool()>& done) {
    for (int i = 0; i < 200 && !done(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return done();
  };
  ASSERT_EQ(release("MO-1")->status, 200);
  const std::string first = version("MO-1");
  ASSERT_FALSE(first.empty());
  const std::string file = dir_ + "/workflows/production_order.takt";
  const std::string text = test::ReadFile(file);

  test::WriteFile(file, text + "\nworkflow broken {\n");  // does not parse
  ASSERT_EQ(client.Post("/v1/reload", Bearer(test::TokenOf("admin")), "", "")->status, 202);
  ASSERT_TRUE(wait_for([&] { return reloads("refused") == 1; })) << running.log();
  EXPECT_NE(running.log().find("production_order.takt:"), std::string::npos) << running.log();
  ASSERT_EQ(release("MO-2")->status, 200);  // the running workflows stay
  EXPECT_EQ(version("MO-2"), first);

  test::WriteFile(file, text + "\n# a new version\n");
  ASSERT_EQ(client.Post("/v1/reload", Bearer(test::TokenOf("admin")), "", "")->status, 202);
  ASSERT_TRUE(wait_for([&] { return reloads("ok") == 1; })) << running.log();
  ASSERT_EQ(release("MO-3")->status, 200);
  EXPECT_NE(version("MO-3"), first) << "a new instance takes the new version";
  EXPECT_EQ(version("MO-1"), first) << "a running instance keeps its version";
}

}  // namespace
}  // namespace takt
