// Delivery throughput and latency, against a webhook receiver in this process on a loopback
// port (cpp-httplib, which answers 200 at once):
//   1. throughput: an outbox of the plant workload's commands (ORDERS orders, committed before
//      the clock starts) delivered with --until-idle; commands per second.
//   2. latency: the plant workload submitted in batches of 64 events, paced, while a dispatcher
//      runs; for each command, the time from the commit that made it (SubmitBatch returning) to
//      its arrival at the receiver; p50, p99 and the largest.
//   build/bench/takt_dispatch_bench [ORDERS] [MAX_IN_FLIGHT]      (defaults 2000, 8)
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "takt/dispatch.h"
#include "takt/engine.h"
#include "takt/workload.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Receiver {
  httplib::Server server;
  int port = 0;
  std::thread thread;
  std::mutex mu;
  std::map<std::string, Clock::time_point> arrived;

  Receiver() {
    // A worker per connection the dispatcher may keep open: cpp-httplib holds a thread for each
    // kept-alive connection, and with fewer threads than connections some wait out its
    // keep-alive timeout (5 s).
    server.new_task_queue = [] { return new httplib::ThreadPool(64); };
    server.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      const auto now = Clock::now();
      std::lock_guard<std::mutex> lock(mu);
      arrived.emplace(req.get_header_value("Idempotency-Key"), now);
      res.status = 200;
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
  }
  ~Receiver() {
    server.stop();
    thread.join();
  }
};

std::vector<std::string> Plant(int64_t orders) {
  takt::PlantWorkloadOptions options;
  options.orders = orders;
  options.seed = 1;
  std::vector<std::string> lines;
  (void)takt::GeneratePlantWorkload(options,
                                    [&](std::string_view l) { lines.emplace_back(l); });
  return lines;
}

std::unique_ptr<takt::Engine> Open(const std::string& db) {
  takt::EngineOptions options;
  options.workflow_paths = {std::string(TAKT_SOURCE_DIR) + "/workflows"};
  options.rules_dir = std::string(TAKT_SOURCE_DIR) + "/rules";
  options.store_path = db;
  options.durability = takt::Durability::kNormal;
  auto engine = takt::Engine::Open(options);
  if (!engine.ok()) {
    std::fprintf(stderr, "%s\n", engine.status().message().c_str());
    std::exit(2);
  }
  return std::move(engine).value();
}

takt::DispatchOptions Options(int port, uint32_t in_flight) {
  takt::DispatchOptions options;
  takt::ConnectorOptions hook;
  hook.name = "bench";
  hook.kind = "webhook";
  hook.commands = {"*"};
  hook.url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  hook.secret = "bench";
  options.connectors = {hook};
  options.max_in_flight = in_flight;
  options.poll_interval_ms = 5;
  return options;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t orders = argc > 1 ? std::atoll(argv[1]) : 2000;
  const auto in_flight = static_cast<uint32_t>(argc > 2 ? std::atoi(argv[2]) : 8);
  const std::string dir = std::filesystem::temp_directory_path().string() + "/takt-dispatch-bench";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::vector<std::string> lines = Plant(orders);

  {  // 1. throughput
    Receiver receiver;
    auto engine = Open(dir + "/throughput.db");
    std::vector<std::string_view> batch(lines.begin(), lines.end());
    std::vector<takt::SubmitResult> results;
    if (!engine->SubmitBatch(batch, results).ok()) return 2;
    const size_t commands = engine->PendingCommands(SIZE_MAX).value().size();
    auto dispatcher = takt::Dispatcher::Create(*engine, Options(receiver.port, in_flight));
    const auto start = Clock::now();
    const takt::Status run = dispatcher.value()->Run(true, 0);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (!run.ok() || dispatcher.value()->counts().delivered != commands) {
      std::fprintf(stderr, "throughput run failed: %s\n", run.message().c_str());
      return 1;
    }
    std::printf("throughput: %zu commands in %.2f s = %.0f commands/s (max_in_flight %u)\n",
                commands, seconds, static_cast<double>(commands) / seconds, in_flight);
  }

  {  // 2. latency from commit
    Receiver receiver;
    auto engine = Open(dir + "/latency.db");
    auto dispatcher = takt::Dispatcher::Create(*engine, Options(receiver.port, in_flight));
    std::thread run([&] { (void)dispatcher.value()->Run(false, 0); });
    std::map<std::string, Clock::time_point> committed;
    std::vector<takt::SubmitResult> results;
    for (size_t i = 0; i < lines.size(); i += 64) {
      std::vector<std::string_view> batch;
      for (size_t j = i; j < std::min(lines.size(), i + 64); ++j) batch.emplace_back(lines[j]);
      if (!engine->SubmitBatch(batch, results).ok()) return 2;
      const auto now = Clock::now();
      for (const takt::SubmitResult& r : results) {
        for (const takt::Command& c : r.commands) committed.emplace(c.id, now);
        for (const takt::SubmitResult& released : r.released) {
          for (const takt::Command& c : released.commands) committed.emplace(c.id, now);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a plant's pace, not a flood
    }
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(receiver.mu);
        if (receiver.arrived.size() >= committed.size() || Clock::now() > deadline) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    dispatcher.value()->Stop();
    run.join();
    std::vector<double> ms;
    std::lock_guard<std::mutex> lock(receiver.mu);
    for (const auto& [id, at] : committed) {
      auto it = receiver.arrived.find(id);
      if (it != receiver.arrived.end()) {
        ms.push_back(std::chrono::duration<double, std::milli>(it->second - at).count());
      }
    }
    const size_t delivered = ms.size();
    std::printf("latency from commit: %zu of %zu commands, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                delivered, committed.size(), Percentile(ms, 0.50), Percentile(ms, 0.99),
                Percentile(ms, 1.0));
  }
  std::filesystem::remove_all(dir);
  return 0;
}
