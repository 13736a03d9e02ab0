// The dispatcher against a real HTTP receiver on a loopback port (cpp-httplib), which checks
// every signature and can answer as a troubled system does: slow, refusing, overloaded, or
// rejecting a command for good. What must hold: each command reaches the receiver, is applied
// once (by its idempotency key), in order per key, and what cannot be delivered is a dead
// letter with the receiver's reason.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/connect/delivery.h"
#include "engine/connect/http.h"
#include "engine/connect/webhook.h"
#include "store/store_support.h"
#include "takt/dispatch.h"

namespace takt {
namespace {

constexpr const char* kSecret = "s3cret-for-tests-only";

// A webhook receiver: verifies each request's signature, applies each command id once, and
// answers what `answer` decides (200 when it is not set).
class Receiver {
 public:
  using Answer = std::function<void(const std::string& id, int attempt, httplib::Response&)>;

  explicit Receiver(Answer answer = nullptr, int port = 0) : answer_(std::move(answer)) {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      Handle(req, res);
    });
    port_ = port == 0 ? server_.bind_to_any_port("127.0.0.1")
                      : (server_.bind_to_port("127.0.0.1", port) ? port : -1);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (port_ > 0 && !server_.is_running()) std::this_thread::yield();
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }

  std::vector<std::string> applied() const {  // command ids, in the order first applied
    std::lock_guard<std::mutex> lock(mu_);
    return applied_;
  }
  int requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  int bad_signatures() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bad_signatures_;
  }

 private:
  void Handle(const httplib::Request& req, httplib::Response& res) {
    const std::string signature = req.get_header_value("X-Takt-Signature");
    const std::string id = req.get_header_value("Idempotency-Key");
    int attempt = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++requests_;
      attempt = ++attempts_[id];
      // t=<seconds>,v1=<hex>: recomputed over "<t>.<body>" with the shared secret.
      const size_t comma = signature.find(",v1=");
      const std::string t = signature.substr(2, comma == std::string::npos ? 0 : comma - 2);
      const bool ok = signature.rfind("t=", 0) == 0 && comma != std::string::npos &&
                      connect::WebhookSignature(kSecret, std::stoll(t), req.body) == signature;
      if (!ok) {
        ++bad_signatures_;
        res.status = 401;
        return;
      }
      const nlohmann::json body = nlohmann::json::parse(req.body);
      EXPECT_EQ(body["id"], id);
      EXPECT_EQ(body["name"], req.get_header_value("X-Takt-Command"));
    }
    res.status = 200;
    if (answer_) answer_(id, attempt, res);
    if (res.status / 100 != 2) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (seen_.insert(id).second) applied_.push_back(id);
  }

  Answer answer_;
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<std::string, int> attempts_;
  std::set<std::string> seen_;
  std::vector<std::string> applied_;
  int requests_ = 0;
  int bad_signatures_ = 0;
};

// The plant's commands, committed to a fresh database: what a dispatcher finds.
struct Outbox {
  test::TempDir dir{"dispatch"};
  std::unique_ptr<Engine> engine;
  std::vector<PendingCommand> commands;  // in emission order

  explicit Outbox(int64_t orders) {
    auto opened = Engine::Open(test::PlantOptions(dir.File("t.db")));
    EXPECT_TRUE(opened.ok()) << opened.status().message();
    engine = std::move(opened).value();
    const std::vector<std::string> events = test::PlantEvents(orders, 3);
    std::vector<std::string_view> batch(events.begin(), events.end());
    std::vector<SubmitResult> results;
    EXPECT_TRUE(engine->SubmitBatch(batch, results).ok());
    commands = engine->PendingCommands(100000).value();
  }
  // status of each command by id, as the store has it now
  std::map<std::string, PendingCommand> Waiting() {
    std::map<std::string, PendingCommand> out;
    Result<std::vector<PendingCommand>> waiting = engine->PendingCommands(100000);
    EXPECT_TRUE(waiting.ok());
    for (PendingCommand& p : waiting.value()) out[p.command.id] = p;
    return out;
  }
};

DispatchOptions Options(const std::string& url) {
  DispatchOptions options;
  ConnectorOptions hook;
  hook.name = "plant-hook";
  hook.kind = "webhook";
  hook.commands = {"odoo.*"};
  hook.url = url;
  hook.secret = kSecret;
  hook.timeout_ms = 2000;
  hook.retry.initial_backoff_ms = 5;
  hook.retry.max_backoff_ms = 40;
  hook.retry.max_attempts = 6;
  options.connectors = {hook};
  options.max_in_flight = 4;
  options.poll_interval_ms = 20;
  options.jitter_seed = 7;
  return options;
}

// For each key, the order its commands were applied in must be the order they were emitted
// (of those applied: a dead letter is not).
void ExpectOrderPerKey(const std::vector<PendingCommand>& emitted,
                       const std::vector<std::string>& applied) {
  const std::set<std::string> arrived(applied.begin(), applied.end());
  std::map<std::string, std::string> key_of;
  std::map<std::string, std::vector<std::string>> want, got;
  for (const PendingCommand& p : emitted) {
    key_of[p.command.id] = p.key;
    if (arrived.count(p.command.id) != 0) want[p.key].push_back(p.command.id);
  }
  for (const std::string& id : applied) got[key_of[id]].push_back(id);
  for (const auto& [key, ids] : got) EXPECT_EQ(ids, want[key]) << "key " << key;
}

TEST(DeliveryLifecycleTest, OnlyTheLifecyclesMovesAreAllowed) {
  using connect::DeliveryEvent;
  using connect::DeliveryState;
  using connect::NextDeliveryState;
  EXPECT_EQ(NextDeliveryState(DeliveryState::kPending, DeliveryEvent::kSend),
            DeliveryState::kInFlight);
  EXPECT_EQ(NextDeliveryState(DeliveryState::kInFlight, DeliveryEvent::kRetryable),
            DeliveryState::kRetry);
  EXPECT_EQ(NextDeliveryState(DeliveryState::kRetry, DeliveryEvent::kSend),
            DeliveryState::kInFlight);
  EXPECT_EQ(NextDeliveryState(DeliveryState::kInFlight, DeliveryEvent::kSend),
            DeliveryState::kInFlight)
      << "a delivery a stopped process did not see end is sent again";
  EXPECT_EQ(NextDeliveryState(DeliveryState::kInFlight, DeliveryEvent::kFinal),
            DeliveryState::kDead);
  EXPECT_EQ(NextDeliveryState(DeliveryState::kDead, DeliveryEvent::kRevive),
            DeliveryState::kPending);
  EXPECT_EQ(NextDeliveryState(DeliveryState::kDead, DeliveryEvent::kDrop),
            DeliveryState::kDropped);
  // Never: a dead command delivered, a delivered one sent again, a pending one dead unsent.
  EXPECT_FALSE(NextDeliveryState(DeliveryState::kDead, DeliveryEvent::kSend));
  EXPECT_FALSE(NextDeliveryState(DeliveryState::kDelivered, DeliveryEvent::kSend));
  EXPECT_FALSE(NextDeliveryState(DeliveryState::kPending, DeliveryEvent::kFinal));
  EXPECT_FALSE(NextDeliveryState(DeliveryState::kDropped, DeliveryEvent::kRevive));
}

TEST(WebhookTest, AnswersAreClassifiedByWhatTheyMean) {
  using Kind = connect::Attempt::Kind;
  EXPECT_EQ(connect::ClassifyHttp(204, "", "", "h").kind, Kind::kDelivered);
  for (long status : {408L, 425L, 429L, 500L, 502L, 503L, 504L}) {
    EXPECT_EQ(connect::ClassifyHttp(status, "", "", "h").kind, Kind::kRetryable) << status;
  }
  for (long status : {400L, 401L, 403L, 404L, 409L, 422L, 501L}) {
    EXPECT_EQ(connect::ClassifyHttp(status, "", "", "h").kind, Kind::kFinal) << status;
  }
  const connect::Attempt busy = connect::ClassifyHttp(429, "slow down\n", "7", "h");
  EXPECT_EQ(busy.retry_after_ms, 7000);
  EXPECT_EQ(busy.error, "h: HTTP 429: slow down ");
  EXPECT_EQ(connect::ClassifyHttp(503, "", "Wed, 21 Oct 2026 07:28:00 GMT", "h").retry_after_ms,
            0)
      << "a date is left to the backoff";
}

TEST(DispatcherTest, EveryCommandArrivesOnceSignedAndInOrderPerKey) {
  Outbox outbox(40);
  ASSERT_GT(outbox.commands.size(), 20u);
  Receiver receiver;
  auto dispatcher = Dispatcher::Create(*outbox.engine, Options(receiver.url()));
  ASSERT_TRUE(dispatcher.ok()) << dispatcher.status().message();
  ASSERT_TRUE(dispatcher.value()->Run(/*until_idle=*/true, 20'000).ok());

  EXPECT_EQ(receiver.bad_signatures(), 0);
  EXPECT_EQ(receiver.applied().size(), outbox.commands.size());
  EXPECT_EQ(static_cast<size_t>(receiver.requests()), outbox.commands.size())
      << "nothing sent twice when nothing failed";
  EXPECT_EQ(dispatcher.value()->counts().delivered, outbox.commands.size());
  EXPECT_TRUE(outbox.Waiting().empty());
  ExpectOrderPerKey(outbox.commands, receiver.applied());
}

TEST(DispatcherTest, RetriesWhatMaySucceedAndDeadLettersWhatNeverWill) {
  Outbox outbox(40);
  const std::string rejected = outbox.commands.at(3).command.id;
  // Each command is refused twice as overloaded (one with Retry-After), then taken; one is
  // rejected as invalid, which no retry fixes.
  Receiver receiver([&](const std::string& id, int attempt, httplib::Response& res) {
    if (id == rejected) {
      res.status = 422;
      res.set_content("equipment A99 does not exist", "text/plain");
    } else if (attempt == 1) {
      res.status = 503;
    } else if (attempt == 2) {
      res.status = 429;
      res.set_header("Retry-After", "0");
    }
  });
  DispatchOptions options = Options(receiver.url());
  std::map<std::string, int> reports;  // "result attempt" -> how many
  options.on_attempt = [&](const DeliveryReport& r) {
    EXPECT_EQ(r.connector, "plant-hook");
    EXPECT_GE(r.seconds, 0.0);
    ++reports[std::string(r.result) + " " + std::to_string(r.attempt)];
  };
  auto dispatcher = Dispatcher::Create(*outbox.engine, options);
  ASSERT_TRUE(dispatcher.ok());
  ASSERT_TRUE(dispatcher.value()->Run(true, 30'000).ok());
  const int taken = static_cast<int>(outbox.commands.size()) - 1;
  EXPECT_EQ(reports, (std::map<std::string, int>{
                         {"retry 1", taken}, {"retry 2", taken}, {"delivered 3", taken},
                         {"dead 1", 1}}));

  EXPECT_EQ(receiver.applied().size(), outbox.commands.size() - 1);
  const DispatchCounts counts = dispatcher.value()->counts();
  EXPECT_EQ(counts.delivered, outbox.commands.size() - 1);
  EXPECT_EQ(counts.dead, 1u);
  EXPECT_EQ(counts.retried, 2 * (outbox.commands.size() - 1));
  std::vector<PendingCommand> dead = outbox.engine->DeadLetters(10).value();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].command.id, rejected);
  EXPECT_EQ(dead[0].last_error, "plant-hook: HTTP 422: equipment A99 does not exist");
  EXPECT_EQ(dead[0].attempts, 1u) << "a final answer is not retried";
  // The rejected command's key is not held up for good: its later commands went through.
  ExpectOrderPerKey(outbox.commands, receiver.applied());

  // The operator fixes the cause and sends it again.
  ASSERT_TRUE(outbox.engine->ReviveDead(rejected).ok());
  Receiver fixed;
  auto again = Dispatcher::Create(*outbox.engine, Options(fixed.url()));
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(again.value()->Run(true, 10'000).ok());
  EXPECT_EQ(fixed.applied(), std::vector<std::string>{rejected});
  EXPECT_TRUE(outbox.engine->DeadLetters(10).value().empty());
}

TEST(DispatcherTest, AReceiverThatIsDownIsWaitedForAndNothingIsLostOrDoubled) {
  Outbox outbox(20);
  // A port nobody listens on: every attempt is refused.
  int port = 0;
  {
    Receiver probe;
    port = probe.port();
  }
  DispatchOptions options = Options("http://127.0.0.1:" + std::to_string(port) + "/hook");
  options.connectors[0].retry.max_attempts = 1000;
  auto dispatcher = Dispatcher::Create(*outbox.engine, options);
  ASSERT_TRUE(dispatcher.ok());
  Status waited = dispatcher.value()->Run(true, 300);
  EXPECT_EQ(waited.code(), Code::kLimitExceeded) << waited.message();
  EXPECT_GT(dispatcher.value()->counts().retried, 0u);
  EXPECT_EQ(dispatcher.value()->counts().dead, 0u);
  std::map<std::string, PendingCommand> waiting = outbox.Waiting();
  EXPECT_EQ(waiting.size(), outbox.commands.size());
  const PendingCommand& first = waiting.at(outbox.commands[0].command.id);
  // Waiting for its next attempt, or taken for it when the wait ran out (and then sent again
  // by the next run, as below).
  EXPECT_TRUE(first.status == "retry" || first.status == "in_flight") << first.status;
  EXPECT_GT(first.attempts, 0u);
  EXPECT_NE(first.last_error.find("Couldn't connect"), std::string::npos) << first.last_error;

  // The receiver comes up on that port: everything goes through, once, in order per key.
  Receiver receiver(nullptr, port);
  ASSERT_EQ(receiver.port(), port);
  ASSERT_TRUE(dispatcher.value()->Run(true, 20'000).ok());
  EXPECT_EQ(receiver.applied().size(), outbox.commands.size());
  EXPECT_EQ(static_cast<size_t>(receiver.requests()), outbox.commands.size());
  ExpectOrderPerKey(outbox.commands, receiver.applied());
}

TEST(DispatcherTest, ACommandOutOfAttemptsIsADeadLetterSayingSo) {
  Outbox outbox(10);
  Receiver receiver([](const std::string&, int, httplib::Response& res) { res.status = 502; });
  DispatchOptions options = Options(receiver.url());
  options.connectors[0].retry.max_attempts = 3;
  auto dispatcher = Dispatcher::Create(*outbox.engine, options);
  ASSERT_TRUE(dispatcher.ok());
  ASSERT_TRUE(dispatcher.value()->Run(true, 20'000).ok());
  std::vector<PendingCommand> dead = outbox.engine->DeadLetters(1000).value();
  ASSERT_EQ(dead.size(), outbox.commands.size());
  EXPECT_EQ(dead[0].attempts, 3u);
  EXPECT_EQ(dead[0].last_error, "gave up after 3 attempts: plant-hook: HTTP 502");
  EXPECT_EQ(receiver.requests(), static_cast<int>(3 * outbox.commands.size()));
  // Dropped for good: not offered again, not a dead letter any more.
  ASSERT_TRUE(outbox.engine->DropDead(dead[0].command.id).ok());
  EXPECT_EQ(outbox.engine->DeadLetters(1000).value().size(), outbox.commands.size() - 1);
}

// A receiver that takes the connection and closes it without a word: retried, as a connection
// closed in the middle of an answer would be, until the attempts run out.
TEST(DispatcherTest, AConnectionClosedWithoutAnAnswerIsRetried) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(listener, 16), 0);
  socklen_t length = sizeof address;
  getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  std::atomic<int> closed{0};
  std::thread closer([&] {
    for (;;) {
      const int connection = accept(listener, nullptr, nullptr);
      if (connection < 0) return;  // the listener was shut down
      char buffer[4096];
      (void)recv(connection, buffer, sizeof buffer, 0);  // the request's first bytes
      close(connection);
      ++closed;
    }
  });
  Outbox outbox(2);
  ASSERT_FALSE(outbox.commands.empty());
  DispatchOptions options =
      Options("http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/hook");
  options.connectors[0].retry.max_attempts = 2;
  auto dispatcher = Dispatcher::Create(*outbox.engine, options);
  ASSERT_TRUE(dispatcher.ok());
  ASSERT_TRUE(dispatcher.value()->Run(true, 20'000).ok());
  shutdown(listener, SHUT_RDWR);
  close(listener);
  closer.join();
  std::vector<PendingCommand> dead = outbox.engine->DeadLetters(1000).value();
  ASSERT_EQ(dead.size(), outbox.commands.size());
  EXPECT_EQ(dead[0].attempts, 2u) << "retried once before giving up";
  EXPECT_EQ(dead[0].last_error.rfind("gave up after 2 attempts: plant-hook: ", 0), 0u)
      << dead[0].last_error;
  EXPECT_EQ(closed.load(), static_cast<int>(2 * outbox.commands.size()));
}

TEST(DispatcherTest, ABadConnectorIsRefusedNamingIt) {
  Outbox outbox(1);
  DispatchOptions options = Options("ftp://example/");
  auto made = Dispatcher::Create(*outbox.engine, options);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().message(),
            "connector plant-hook: a webhook's url starts with http:// or https://");
  options = Options("http://127.0.0.1:9/hook");
  options.connectors[0].secret.clear();
  EXPECT_NE(Dispatcher::Create(*outbox.engine, options).status().message().find("secret"),
            std::string::npos);
  options = Options("http://127.0.0.1:9/hook");
  options.connectors[0].commands = {"odoo.*.create"};
  EXPECT_EQ(Dispatcher::Create(*outbox.engine, options).status().code(), Code::kInvalidArgument);
  auto memory = Engine::Open(test::PlantOptions(""));
  EXPECT_EQ(Dispatcher::Create(*memory.value(), Options("http://127.0.0.1:9/hook"))
                .status()
                .code(),
            Code::kNotFound);
}

}  // namespace
}  // namespace takt
