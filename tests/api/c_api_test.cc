// The C API (include/takt/takt.h) called as a C program would: codes and messages for every
// failure, JSON documents for every answer, callbacks, and the outbox.
#include "takt/takt.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "store/store_support.h"
#include "support/test_support.h"

namespace takt {
namespace {

using Json = nlohmann::json;
using test::TempDir;

// A string returned by takt, freed when it goes out of scope.
struct Owned {
  char* text = nullptr;
  ~Owned() { takt_free(text); }
  Json json() const { return Json::parse(text); }
};

const char* kReleased =
    R"({"id":"e1","source":"odoo","type":"order.released","key":"MO-1","seq":1,"ts":1000,)"
    R"("data":{"asset":"A01"}})";

std::string OrderEvents() {
  return std::string(kReleased) + "\n" +
         R"({"id":"e2","source":"mes","type":"order.started","key":"MO-1","seq":1,"ts":1001,"data":{}})" "\n"
         R"({"id":"e3","source":"mes","type":"order.finished","key":"MO-1","seq":2,"ts":1002,"data":{"good":9,"scrap":1}})" "\n"
         "\n"
         R"({"id":"e4","source":"qms","type":"inspection.result","key":"MO-1","seq":1,"ts":1003,"data":{"critical":false}})" "\n"
         R"({"id":"e5","source":"qms","type":"disposition","key":"MO-1","seq":2,"ts":1004,"data":{"decision":"release"}})" "\n";
}

TEST(CApiTest, OpenReportsBadOptionsAndBrokenDefinitionsWithCodeAndMessage) {
  takt_engine* engine = reinterpret_cast<takt_engine*>(1);
  EXPECT_EQ(takt_open("{\"workflow\": []}", nullptr, &engine), TAKT_INVALID_ARGUMENT);
  EXPECT_EQ(engine, nullptr);
  EXPECT_NE(std::string(takt_last_error()).find("unknown key \"workflow\""), std::string::npos)
      << takt_last_error();
  EXPECT_EQ(takt_open("{\"durability\": \"sometimes\"}", nullptr, &engine), TAKT_INVALID_ARGUMENT);
  EXPECT_NE(std::string(takt_last_error()).find("durability"), std::string::npos);
  EXPECT_EQ(takt_open("{\"max_instances_in_memory\": -1}", nullptr, &engine),
            TAKT_INVALID_ARGUMENT);
  EXPECT_NE(std::string(takt_last_error()).find("max_instances_in_memory"), std::string::npos);
  EXPECT_EQ(takt_open("{\"monotonic\": \"mes\"}", nullptr, &engine), TAKT_INVALID_ARGUMENT);
  EXPECT_NE(std::string(takt_last_error()).find("\"monotonic\" must be an array of source names"),
            std::string::npos) << takt_last_error();
  EXPECT_EQ(takt_open("not json", nullptr, &engine), TAKT_INVALID_ARGUMENT);
  EXPECT_EQ(takt_open(nullptr, nullptr, &engine), TAKT_INVALID_ARGUMENT);

  const std::string options =
      R"({"workflows": [")" + std::string(TAKT_SOURCE_DIR) + R"(/tests/data/dsl/errors/unknown_target_state.takt"]})";
  EXPECT_EQ(takt_open(options.c_str(), nullptr, &engine), TAKT_PARSE_ERROR);
  EXPECT_NE(std::string(takt_last_error()).find("unknown_target_state.takt:"), std::string::npos)
      << takt_last_error();
  EXPECT_EQ(takt_open("{\"workflows\": [\"no/such/dir\"]}", nullptr, &engine), TAKT_NOT_FOUND);
  EXPECT_EQ(takt_close(nullptr), TAKT_OK);
  EXPECT_STREQ(takt_last_error(), "") << "a call that succeeds clears the last error";
}

TEST(CApiTest, TheCapOnInstancesInMemoryIsAnOption) {
  TempDir dir("c-api-cap");
  const std::string options = R"({"workflows": ["workflows"], "store": ")" + dir.File("t.db") +
                              R"(", "durability": "normal", "max_instances_in_memory": 1})";
  takt_engine* engine = nullptr;
  ASSERT_EQ(takt_open(options.c_str(), nullptr, &engine), TAKT_OK) << takt_last_error();
  std::string batch = std::string(kReleased) + "\n" + kReleased;
  const std::string second = "\"MO-2\"";
  batch.replace(batch.rfind("\"e1\""), 4, "\"e9\"");
  batch.replace(batch.rfind("\"MO-1\""), 6, second);
  Owned results;
  ASSERT_EQ(takt_submit_batch(engine, batch.data(), batch.size(), &results.text), TAKT_OK);
  ASSERT_EQ(results.json()[1]["outcome"], "applied") << results.json().dump();
  Owned stats;
  ASSERT_EQ(takt_stats(engine, &stats.text), TAKT_OK);
  EXPECT_EQ(stats.json()["active_instances"], 2);
  EXPECT_EQ(stats.json()["instances_in_memory"], 1);
  EXPECT_EQ(takt_close(engine), TAKT_OK);
}

TEST(CApiTest, SubmitsAnswerInJsonAndCommandsReachTheCallbackAfterCommit) {
  TempDir dir("c-api");
  struct Seen {
    std::vector<std::string> commands;
    std::vector<std::string> logs;
  } seen;
  takt_callbacks callbacks{};
  callbacks.context = &seen;
  callbacks.command = [](void* context, const char* json) {
    static_cast<Seen*>(context)->commands.emplace_back(json);
  };
  callbacks.log = [](void* context, int, const char* message) {
    static_cast<Seen*>(context)->logs.emplace_back(message);
  };
  const std::string options = R"({"workflows": ["workflows"], "store": ")" + dir.File("t.db") +
                              R"(", "durability": "normal"})";
  takt_engine* engine = nullptr;
  ASSERT_EQ(takt_open(options.c_str(), &callbacks, &engine), TAKT_OK) << takt_last_error();

  Owned result;
  ASSERT_EQ(takt_submit(engine, kReleased, std::strlen(kReleased), &result.text), TAKT_OK);
  EXPECT_EQ(result.json()["outcome"], "applied");
  EXPECT_EQ(result.json()["position"], 1);
  Owned again;
  ASSERT_EQ(takt_submit(engine, kReleased, std::strlen(kReleased), &again.text), TAKT_OK);
  EXPECT_EQ(again.json()["outcome"], "duplicate");
  EXPECT_NE(again.json()["reason"].get<std::string>().find("e1"), std::string::npos);

  const std::string batch = OrderEvents();
  Owned results;
  ASSERT_EQ(takt_submit_batch(engine, batch.data(), batch.size(), &results.text), TAKT_OK);
  const Json all = results.json();
  ASSERT_EQ(all.size(), 5u) << "one result per non-empty line";
  EXPECT_EQ(all[0]["outcome"], "duplicate");
  EXPECT_EQ(all[4]["outcome"], "applied");
  ASSERT_EQ(all[4]["commands"].size(), 1u);
  const Json done = all[4]["commands"][0];
  EXPECT_EQ(done["name"], "odoo.production.done");
  EXPECT_EQ(done["payload"], (Json{{"order", "MO-1"}, {"good", 9}, {"scrap", 1}}));
  EXPECT_EQ(done["id"], "e5/workflow:production_order/0");
  ASSERT_EQ(seen.commands.size(), 1u);
  EXPECT_EQ(Json::parse(seen.commands[0]), done);

  Owned instance;
  ASSERT_EQ(takt_get_instance(engine, "production_order", "MO-1", &instance.text), TAKT_OK);
  EXPECT_EQ(instance.json()["state"], "complete");
  EXPECT_EQ(instance.json()["variables"]["good"], 9);
  Owned missing;
  EXPECT_EQ(takt_get_instance(engine, "production_order", "MO-2", &missing.text), TAKT_NOT_FOUND);
  EXPECT_EQ(missing.text, nullptr);
  EXPECT_NE(std::string(takt_last_error()).find("MO-2"), std::string::npos);

  Owned stats;
  ASSERT_EQ(takt_stats(engine, &stats.text), TAKT_OK);
  EXPECT_EQ(stats.json()["events"], 7);
  EXPECT_EQ(stats.json()["duplicates"], 2);
  EXPECT_EQ(stats.json()["batches"], 3);

  // Delivery from the outbox.
  Owned pending;
  ASSERT_EQ(takt_pending_commands(engine, 10, &pending.text), TAKT_OK);
  ASSERT_EQ(pending.json().size(), 1u);
  EXPECT_EQ(pending.json()[0]["attempts"], 0);
  const std::string id = pending.json()[0]["id"];
  ASSERT_EQ(takt_mark_failed(engine, id.c_str(), "timeout", 0), TAKT_OK);
  ASSERT_EQ(takt_mark_delivered(engine, id.c_str()), TAKT_OK);
  Owned none;
  ASSERT_EQ(takt_pending_commands(engine, 10, &none.text), TAKT_OK);
  EXPECT_EQ(none.json(), Json::array());
  EXPECT_EQ(takt_mark_delivered(engine, "nope"), TAKT_NOT_FOUND);

  EXPECT_EQ(takt_reload_rules(engine), TAKT_INVALID_ARGUMENT) << "opened without rules";
  EXPECT_EQ(takt_close(engine), TAKT_OK);
}

// A C service delivers its outbox through the configured connectors, and handles a dead letter.
TEST(CApiTest, ADispatcherDeliversTheOutboxThroughTheConfiguredWebhook) {
  TempDir dir("c-api-dispatch");
  httplib::Server receiver;
  std::vector<std::string> arrived;
  std::mutex mu;
  receiver.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    arrived.push_back(req.get_header_value("Idempotency-Key"));
    res.status = arrived.size() == 1 ? 422 : 200;  // the first try is refused for good
  });
  const int port = receiver.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { receiver.listen_after_bind(); });

  const std::string options = R"({"workflows": ["workflows"], "store": ")" + dir.File("t.db") +
                              R"(", "durability": "normal"})";
  takt_engine* engine = nullptr;
  ASSERT_EQ(takt_open(options.c_str(), nullptr, &engine), TAKT_OK) << takt_last_error();
  const std::string batch = OrderEvents();
  Owned results;
  ASSERT_EQ(takt_submit_batch(engine, batch.data(), batch.size(), &results.text), TAKT_OK);

  setenv("TAKT_C_API_HOOK_SECRET", "c-secret", 1);
  const std::string config = dir.File("takt.toml");
  {
    std::ofstream out(config);
    out << "[engine]\nworkflows = [\"" << TAKT_SOURCE_DIR << "/workflows\"]\n"
        << "[[connector]]\nname = \"hook\"\nkind = \"webhook\"\ncommands = [\"odoo.*\"]\n"
        << "url = \"http://127.0.0.1:" << port << "/hook\"\n"
        << "secret_env = \"TAKT_C_API_HOOK_SECRET\"\n";
  }
  takt_dispatcher* dispatcher = nullptr;
  ASSERT_EQ(takt_dispatcher_open(engine, config.c_str(), &dispatcher), TAKT_OK)
      << takt_last_error();
  ASSERT_EQ(takt_dispatcher_run(dispatcher, 1, 10000), TAKT_OK) << takt_last_error();
  Owned counts;
  ASSERT_EQ(takt_dispatcher_counts(dispatcher, &counts.text), TAKT_OK);
  EXPECT_EQ(counts.json(), (Json{{"delivered", 0}, {"retried", 0}, {"dead", 1}, {"unrouted", 0}}));

  Owned dead;
  ASSERT_EQ(takt_dead_letters(engine, 10, &dead.text), TAKT_OK);
  ASSERT_EQ(dead.json().size(), 1u);
  EXPECT_EQ(dead.json()[0]["status"], "dead");
  EXPECT_EQ(dead.json()[0]["key"], "MO-1");
  EXPECT_EQ(dead.json()[0]["last_error"], "hook: HTTP 422");
  const std::string id = dead.json()[0]["id"];
  ASSERT_EQ(takt_revive_dead(engine, id.c_str()), TAKT_OK);
  ASSERT_EQ(takt_dispatcher_run(dispatcher, 1, 10000), TAKT_OK) << takt_last_error();
  EXPECT_EQ(arrived, (std::vector<std::string>{id, id}));
  EXPECT_EQ(takt_drop_dead(engine, id.c_str()), TAKT_INVALID_ARGUMENT) << "delivered, not dead";
  EXPECT_EQ(takt_dispatcher_close(dispatcher), TAKT_OK);

  takt_dispatcher* none = nullptr;
  EXPECT_EQ(takt_dispatcher_open(engine, dir.File("missing.toml").c_str(), &none),
            TAKT_NOT_FOUND);
  EXPECT_EQ(none, nullptr);
  EXPECT_EQ(takt_close(engine), TAKT_OK);
  receiver.stop();
  serving.join();
}

TEST(CApiTest, NullArgumentsAreErrorsNotCrashes) {
  char* out = nullptr;
  EXPECT_EQ(takt_submit(nullptr, "{}", 2, &out), TAKT_INVALID_ARGUMENT);
  EXPECT_EQ(takt_stats(nullptr, &out), TAKT_INVALID_ARGUMENT);
  EXPECT_NE(std::string(takt_last_error()).find("engine is NULL"), std::string::npos);
  takt_engine* engine = nullptr;
  ASSERT_EQ(takt_open("{\"workflows\": [\"workflows\"]}", nullptr, &engine), TAKT_OK);
  EXPECT_EQ(takt_submit(engine, nullptr, 0, &out), TAKT_INVALID_ARGUMENT);
  EXPECT_EQ(takt_submit(engine, "{}", 2, nullptr), TAKT_INVALID_ARGUMENT);
  EXPECT_EQ(takt_get_instance(engine, nullptr, "k", &out), TAKT_INVALID_ARGUMENT);
  EXPECT_EQ(takt_pending_commands(engine, 1, &out), TAKT_INVALID_ARGUMENT) << "no store";
  EXPECT_EQ(out, nullptr);
  EXPECT_EQ(takt_advance_clock(nullptr, 0, &out), TAKT_INVALID_ARGUMENT);
  EXPECT_EQ(takt_advance_clock(engine, 0, nullptr), TAKT_INVALID_ARGUMENT);
  ASSERT_EQ(takt_advance_clock(engine, 1000, &out), TAKT_OK);  // no timer is due: no command
  EXPECT_EQ(Json::parse(out)["commands"].size(), 0u);
  takt_free(out);
  out = nullptr;
  EXPECT_EQ(takt_close(engine), TAKT_OK);
  EXPECT_STREQ(takt_version(), "0.1.0");
}

}  // namespace
}  // namespace takt
