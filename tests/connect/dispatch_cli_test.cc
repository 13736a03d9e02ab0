// `takt dispatch` and `takt dlq` as an operator runs them, against a webhook receiver on a
// loopback port: the process is killed with SIGKILL in the middle of deliveries and started
// again, stopped with SIGTERM, and its dead letters are listed, retried and dropped. Nothing
// committed is lost, nothing is applied twice, and one key's commands arrive in order.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/connect/webhook.h"
#include "support/test_support.h"
#include "takt/engine.h"

namespace takt {
namespace {

constexpr const char* kSecret = "cli-test-secret";

// Applies each command id once, in arrival order; answers after `delay_ms`; rejects `reject`.
class Receiver {
 public:
  Receiver() {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string sig = req.get_header_value("X-Takt-Signature");
      const size_t comma = sig.find(",v1=");
      if (comma == std::string::npos ||
          connect::WebhookSignature(kSecret, std::stoll(sig.substr(2, comma - 2)), req.body) !=
              sig) {
        res.status = 401;
        bad_signatures_++;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
      const std::string id = req.get_header_value("Idempotency-Key");
      std::lock_guard<std::mutex> lock(mu_);
      ++requests_;
      if (id == reject_) {
        res.status = 400;
        res.set_content("unknown equipment", "text/plain");
        return;
      }
      if (seen_.insert(id).second) applied_.push_back(id);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<std::string> applied() {
    std::lock_guard<std::mutex> lock(mu_);
    return applied_;
  }
  int requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

  // The command id the receiver refuses (400); empty: none. Its handler threads read it.
  void Reject(std::string id) {
    std::lock_guard<std::mutex> lock(mu_);
    reject_ = std::move(id);
  }

  std::atomic<int> delay_ms{0};
  std::atomic<int> bad_signatures_{0};

 private:
  std::string reject_;  // guarded by mu_
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  std::mutex mu_;
  std::set<std::string> seen_;
  std::vector<std::string> applied_;
  int requests_ = 0;
};

class DispatchCliTest : public testing::Test {
 protected:
  void SetUp() override {
    setenv("TAKT_TEST_HOOK_SECRET", kSecret, 1);
    db_ = scratch_.dir + "/takt.db";
    // Commands to deliver: the plant workload, simulated into the database.
    const std::string events = scratch_.dir + "/plant.jsonl";
    test::CommandResult gen = test::RunCommand(
        test::Takt() + " generate plant --orders 60 --seed 5 --out " + events);
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    test::CommandResult sim = test::RunCommand(
        test::Takt() + " simulate --quiet --workflows workflows --rules rules --db " + db_ +
        " --report /dev/null " + events);
    ASSERT_EQ(sim.exit_code, 0) << sim.err;
    EngineOptions options;
    options.workflow_paths = {"workflows"};
    options.rules_dir = "rules";
    options.store_path = db_;
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    commands_ = engine.value()->PendingCommands(100000).value();
    ASSERT_GT(commands_.size(), 30u);
  }
  // The configuration for a receiver at `url`.
  std::string Config(const std::string& url, uint32_t in_flight = 4) {
    const std::string path = scratch_.dir + "/takt.toml";
    test::WriteFile(path, "[engine]\nworkflows = [\"" + std::string(TAKT_SOURCE_DIR) +
                              "/workflows\"]\nrules = \"" + TAKT_SOURCE_DIR + "/rules\"\n"
                              "database = \"takt.db\"\n\n[dispatch]\nmax_in_flight = " +
                              std::to_string(in_flight) + "\npoll_interval_ms = 20\n\n"
                              "[[connector]]\nname = \"hook\"\nkind = \"webhook\"\n"
                              "commands = [\"*\"]\nurl = \"" + url + "\"\n"
                              "secret_env = \"TAKT_TEST_HOOK_SECRET\"\ntimeout_ms = 5000\n"
                              "[connector.retry]\ninitial_backoff_ms = 5\nmax_backoff_ms = 50\n");
    return path;
  }
  // Starts `takt dispatch --config CONFIG` (no --until-idle) as a child process.
  pid_t Start(const std::string& config) {
    const pid_t pid = fork();
    if (pid == 0) {
      const std::string takt = TAKT_BINARY;
      execl(takt.c_str(), takt.c_str(), "dispatch", "--config", config.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    return pid;
  }
  void ExpectInOrderPerKey(const std::vector<std::string>& applied) {
    std::map<std::string, std::string> key_of;
    std::map<std::string, std::vector<std::string>> want, got;
    for (const PendingCommand& p : commands_) key_of[p.command.id] = p.key;
    const std::set<std::string> arrived(applied.begin(), applied.end());
    for (const PendingCommand& p : commands_) {
      if (arrived.count(p.command.id) != 0) want[p.key].push_back(p.command.id);
    }
    for (const std::string& id : applied) got[key_of[id]].push_back(id);
    EXPECT_EQ(got, want);
  }

  test::ScratchDir scratch_{"dispatch-cli"};
  std::string db_;
  std::vector<PendingCommand> commands_;
};

TEST_F(DispatchCliTest, KilledMidDeliveryItResendsAndEveryCommandIsAppliedOnceInOrder) {
  Receiver receiver;
  receiver.delay_ms = 30;
  const std::string config = Config(receiver.url());
  const pid_t pid = Start(config);
  // Killed with some deliveries done and some under way.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (receiver.requests() < 10 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  const size_t before = receiver.applied().size();
  ASSERT_GT(before, 0u);
  ASSERT_LT(before, commands_.size()) << "killed too late to mean anything";

  receiver.delay_ms = 0;
  test::CommandResult again =
      test::RunCommand(test::Takt() + " dispatch --until-idle --max-wait-ms 60000 --config " +
                       config);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find(" 0 dead"), std::string::npos) << again.err;
  EXPECT_EQ(receiver.applied().size(), commands_.size()) << "none lost, none applied twice";
  EXPECT_GE(static_cast<size_t>(receiver.requests()), commands_.size());
  EXPECT_EQ(receiver.bad_signatures_, 0);
  ExpectInOrderPerKey(receiver.applied());
}

TEST_F(DispatchCliTest, SigtermStopsItCleanlyAndItExitsZero) {
  Receiver receiver;
  receiver.delay_ms = 20;
  const pid_t pid = Start(Config(receiver.url(), 2));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (receiver.requests() < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto stopped = std::chrono::steady_clock::now();
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, std::chrono::seconds(5));
  // What it delivered is marked so: the rest is still waiting, none of it marked delivered.
  EngineOptions options;
  options.workflow_paths = {"workflows"};
  options.rules_dir = "rules";
  options.store_path = db_;
  auto engine = Engine::Open(options);
  ASSERT_TRUE(engine.ok());
  EXPECT_EQ(engine.value()->PendingCommands(100000).value().size() + receiver.applied().size(),
            commands_.size());
}

TEST_F(DispatchCliTest, DeadLettersAreListedShownRetriedAndDropped) {
  Receiver receiver;
  const std::string rejected = commands_.at(2).command.id;
  receiver.Reject(rejected);
  const std::string config = Config(receiver.url());
  test::CommandResult run =
      test::RunCommand(test::Takt() + " dispatch --until-idle --config " + config);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find(" 1 dead"), std::string::npos) << run.err;

  test::CommandResult list = test::RunCommand(test::Takt() + " dlq list --config " + config);
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out, rejected + "  " + commands_.at(2).command.name +
                          "  attempts 1  hook: HTTP 400: unknown equipment\n");
  test::CommandResult show =
      test::RunCommand(test::Takt() + " dlq show " + rejected + " --config " + config);
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("caused by:  " + commands_.at(2).command.caused_by), std::string::npos);

  // Retried: delivered by the next dispatcher, once the receiver takes it.
  receiver.Reject("");
  ASSERT_EQ(test::RunCommand(test::Takt() + " dlq retry --all --config " + config).exit_code, 0);
  ASSERT_EQ(test::RunCommand(test::Takt() + " dispatch --until-idle --config " + config).exit_code,
            0);
  EXPECT_EQ(receiver.applied().size(), commands_.size());
  EXPECT_EQ(test::RunCommand(test::Takt() + " dlq list --config " + config).out, "");
  // Neither retried nor dropped when it is not dead.
  test::CommandResult drop = test::RunCommand(test::Takt() + " dlq drop " +
                                              commands_.at(2).command.id + " --config " + config);
  EXPECT_EQ(drop.exit_code, 1);
  EXPECT_NE(drop.err.find("is delivered, not dead"), std::string::npos) << drop.err;
}

}  // namespace
}  // namespace takt
