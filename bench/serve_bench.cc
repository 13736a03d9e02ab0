// takt serve under load, with its clients in the same process on loopback (a 2-core machine
// runs both): the server of a configuration on the shipped workflows and rules, durable FULL
// (TAKT_BENCH_DURABILITY=normal: NORMAL).
//   1. throughput: the plant workload posted over HTTP in batches of BATCH events, by CLIENTS
//      keep-alive connections, each event's (source, key) always on the same connection so that
//      each key's events keep their order; events per second to the last answer.
//   2. latency: single-event requests paced at RATE events per second for SECONDS; from each
//      request's scheduled time to its answer (after its commit): p50, p99, max. Here the
//      server is `takt serve` in a process of its own, whose resident memory is sampled every
//      10 s (flat over a long run, or not).
//   3. MQTT: alarms published at QoS 1 to a mosquitto broker this program starts (when
//      installed); messages per second to the last one committed.
//   4. flood: a trickle of 50 single events a second from one source, alone and then beside a
//      flood of one key from another (BATCH events a request on CLIENTS connections, as fast
//      as the server takes them), each for SECONDS: the trickle's p50 and p99, and how much
//      the flood moved them. `takt serve` in a process of its own, as in 2.
//   build/bench/takt_serve_bench [ORDERS] [BATCH] [CLIENTS] [RATE] [SECONDS]
//                                 (defaults 20000, 100, 4, 5000, 20)
//   TAKT_BENCH_PHASES=latency (or any of throughput,latency,flood,mqtt) runs only those; flood
//   runs only when asked for.
#include <httplib.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "engine/connect/mqtt_client.h"
#include "takt/config.h"
#include "takt/serve.h"
#include "takt/workload.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string SourceOf(const std::string& line) {
  const size_t at = line.find("\"source\":\"") + 10;
  return line.substr(at, line.find('"', at) - at);
}
std::string KeyOf(const std::string& line) {
  const size_t at = line.find("\"key\":\"") + 7;
  return line.substr(at, line.find('"', at) - at);
}

std::vector<std::string> Plant(int64_t orders, int64_t seed) {
  takt::PlantWorkloadOptions options;
  options.orders = orders;
  options.seed = seed;
  options.foreign_rate = 0;  // a foreign copy would make its whole batch 403
  std::vector<std::string> lines;
  (void)takt::GeneratePlantWorkload(options, [&](std::string_view l) { lines.emplace_back(l); });
  return lines;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

long ResidentKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// TAKT_BENCH_DURABILITY=normal runs the server on NORMAL instead of FULL.
std::string Durability() {
  const char* chosen = std::getenv("TAKT_BENCH_DURABILITY");
  return chosen != nullptr ? chosen : "full";
}

// The configuration of a server on `dir` listening on any free port, with a credential per
// source (token: the source's name) and "ops", an administrator; written to dir/takt.toml.
std::string WriteServerConfig(const std::string& dir, const std::string& mqtt) {
  std::string toml = "[engine]\nworkflows = [\"" + std::string(TAKT_SOURCE_DIR) +
                     "/workflows\"]\nrules = \"" + std::string(TAKT_SOURCE_DIR) +
                     "/rules\"\ndatabase = \"" + dir + "/serve.db\"\ndurability = \"" +
                     Durability() + "\"\n"
                     "[serve]\nport = 0\nmax_connections = 64\n";
  for (const char* source : {"odoo", "mes", "scada", "qms"}) {
    toml += "[[credential]]\nname = \"" + std::string(source) + "\"\nsource = \"" + source +
            "\"\ntoken_sha256 = \"" + takt::HashToken(source) + "\"\n";
  }
  toml += "[[credential]]\nname = \"ops\"\nadmin = true\ntoken_sha256 = \"" +
          takt::HashToken("ops") + "\"\n" + mqtt;
  std::ofstream(dir + "/takt.toml") << toml;
  return dir + "/takt.toml";
}

// A server on `dir` (WriteServerConfig), running on a thread until the object goes.
struct RunningServer {
  std::unique_ptr<takt::Server> server;
  std::thread thread;
  RunningServer(const std::string& dir, const std::string& mqtt) {
    WriteServerConfig(dir, mqtt);
    takt::Result<takt::Config> config = takt::LoadConfig(dir + "/takt.toml");
    if (!config.ok()) {
      std::fprintf(stderr, "%s\n", config.status().message().c_str());
      std::exit(2);
    }
    auto opened = takt::Server::Open(config.value(), [](const takt::LogLine& line) {
      if (line.level >= takt::LogLevel::kWarn && line.event_id.empty()) {
        std::fprintf(stderr, "serve: %.*s\n", static_cast<int>(line.message.size()),
                     line.message.data());
      }
    });
    if (!opened.ok()) {
      std::fprintf(stderr, "%s\n", opened.status().message().c_str());
      std::exit(2);
    }
    server = std::move(opened).value();
    thread = std::thread([this] { (void)server->Run(); });
  }
  ~RunningServer() {
    server->Stop();
    thread.join();
  }
  double Metric(const std::string& family, const std::string& labels) {
    httplib::Client client("127.0.0.1", server->port());
    auto res = client.Get("/metrics", {{"Authorization", "Bearer ops"}});
    double sum = 0;
    if (!res) return sum;
    size_t at = 0;
    const std::string& m = res->body;
    while ((at = m.find(family, at)) != std::string::npos) {
      const size_t end = m.find('\n', at);
      const std::string line = m.substr(at, end - at);
      at = end;
      const char next = line.size() > family.size() ? line[family.size()] : ' ';
      if ((next == '{' || next == ' ') && line.find(labels) != std::string::npos) {
        sum += std::atof(line.c_str() + line.rfind(' ') + 1);
      }
    }
    return sum;
  }
};

// `takt serve` in a process of its own on `dir` (WriteServerConfig), so that its resident
// memory is the server's alone; stopped with SIGTERM when the object goes.
struct ServeProcess {
  pid_t pid = -1;
  uint16_t port = 0;
  explicit ServeProcess(const std::string& dir) {
    const std::string config = WriteServerConfig(dir, "");
    const std::string log = dir + "/serve.log";
    pid = fork();
    if (pid == 0) {
      (void)!std::freopen(log.c_str(), "w", stdout);
      (void)!std::freopen(log.c_str(), "a", stderr);
      execl(TAKT_BINARY, TAKT_BINARY, "serve", "--config", config.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    // It listens on a free port, which its first log line names ("http://127.0.0.1:PORT").
    for (int tries = 0; tries < 300 && port == 0; ++tries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::ifstream in(log);
      const std::string text((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
      const std::string_view listening = "http://127.0.0.1:";
      const size_t at = text.find(listening);
      if (at == std::string::npos) continue;
      port = static_cast<uint16_t>(std::atoi(text.c_str() + at + listening.size()));
    }
    httplib::Client client("127.0.0.1", port);
    for (int tries = 0; port != 0 && tries < 300; ++tries) {
      auto res = client.Get("/v1/health");
      if (res && res->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::fprintf(stderr, "takt serve did not become ready; see %s\n", log.c_str());
    std::exit(2);
  }
  ~ServeProcess() {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
};

void Throughput(const std::string& dir, int64_t orders, size_t batch, size_t clients) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::vector<std::string> lines = Plant(orders, 1);
  // Each connection's requests: events of one source, at most `batch` of them, in order.
  std::vector<std::vector<std::pair<std::string, std::string>>> requests(clients);
  std::vector<std::map<std::string, std::string>> open(clients);
  std::vector<std::map<std::string, size_t>> counts(clients);
  for (const std::string& line : lines) {
    const std::string source = SourceOf(line);
    const size_t c = std::hash<std::string>()(source + "/" + KeyOf(line)) % clients;
    std::string& body = open[c][source];
    body += line + "\n";
    if (++counts[c][source] == batch) {
      requests[c].emplace_back(source, std::move(body));
      body.clear();
      counts[c][source] = 0;
    }
  }
  for (size_t c = 0; c < clients; ++c) {
    for (auto& [source, body] : open[c]) {
      if (!body.empty()) requests[c].emplace_back(source, body);
    }
  }
  RunningServer running(dir, "");
  std::atomic<size_t> failed{0};
  const double cpu_before = CpuSeconds();
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (size_t c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", running.server->port());
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      for (const auto& [source, body] : requests[c]) {
        auto res = client.Post("/v1/events", {{"Authorization", "Bearer " + source}}, body,
                               "application/x-ndjson");
        if (!res || res->status != 200) ++failed;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = CpuSeconds() - cpu_before;
  size_t total = 0;
  for (const auto& r : requests) total += r.size();
  std::printf("HTTP throughput: %zu events in %zu requests of up to %zu, %zu connections, "
              "durable %s: %.2f s = %.0f events/s; CPU %.2f s (server and client); "
              "%zu requests failed; commits %.0f\n",
              lines.size(), total, batch, clients, Durability().c_str(), seconds,
              static_cast<double>(lines.size()) / seconds, cpu, failed.load(),
              running.Metric("takt_commits_total", ""));
}

void Latency(const std::string& dir, double rate, double duration) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::vector<std::string> lines =
      Plant(static_cast<int64_t>(rate * duration / 20) + 100, 2);
  ServeProcess running(dir);
  constexpr size_t kSenders = 16;
  std::vector<std::vector<double>> latencies(kSenders);
  std::atomic<size_t> failed{0};
  const auto start = Clock::now() + std::chrono::milliseconds(100);
  const auto total = std::min(lines.size(), static_cast<size_t>(rate * duration));
  std::atomic<bool> done{false};
  std::thread memory([&] {
    int tick = 0;
    while (!done) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      if (++tick % 40 == 0) {
        std::printf("  at %3.0f s: takt serve resident %ld KiB\n",
                    std::chrono::duration<double>(Clock::now() - start).count(),
                    ResidentKiB(running.pid));
        std::fflush(stdout);
      }
    }
  });
  std::vector<std::thread> threads;
  for (size_t s = 0; s < kSenders; ++s) {
    threads.emplace_back([&, s] {
      httplib::Client client("127.0.0.1", running.port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      // Sender s takes the events whose key hashes to it: each key's events stay in order.
      for (size_t i = 0; i < total; ++i) {
        if (std::hash<std::string>()(KeyOf(lines[i])) % kSenders != s) continue;
        const auto due = start + std::chrono::microseconds(static_cast<int64_t>(
                                     static_cast<double>(i) * 1e6 / rate));
        std::this_thread::sleep_until(due);
        auto res = client.Post("/v1/events", {{"Authorization", "Bearer " + SourceOf(lines[i])}},
                               lines[i], "application/json");
        if (!res || res->status != 200) ++failed;
        // From the time it was due, so that a late sender does not hide the wait.
        latencies[s].push_back(std::chrono::duration<double, std::milli>(Clock::now() - due)
                                   .count());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  done = true;
  memory.join();
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::printf("HTTP latency at %.0f events/s for %.0f s, single-event requests, durable %s: "
              "p50 %.2f ms, p99 %.2f ms, max %.2f ms over %zu events; %zu failed; resident "
              "%ld KiB at the end (takt serve's own process)\n",
              rate, duration, Durability().c_str(), Percentile(all, 0.5), Percentile(all, 0.99),
              Percentile(all, 1.0),
              all.size(), failed.load(), ResidentKiB(running.pid));
}

void Mqtt(const std::string& dir, size_t messages, int inflight) {
  const char* broker = "/usr/sbin/mosquitto";
  if (!std::filesystem::exists(broker)) {
    std::printf("MQTT: skipped, mosquitto is not installed\n");
    return;
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const uint16_t port = 18000 + static_cast<uint16_t>(getpid() % 1000);
  // The broker's settings that decide the rate: how many unacknowledged messages it sends a
  // client at once (takt acknowledges a batch after its commit), and no Nagle on its side.
  std::ofstream(dir + "/mosquitto.conf")
      << "listener " << port << " 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n"
      << "max_inflight_messages " << inflight << "\nmax_queued_messages 0\n";
  const pid_t pid = fork();
  if (pid == 0) {
    std::freopen("/dev/null", "w", stderr);
    const std::string conf = dir + "/mosquitto.conf";
    execl(broker, broker, "-c", conf.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  {
    RunningServer running(dir, "[mqtt]\nhost = \"127.0.0.1\"\nport = " + std::to_string(port) +
                                   "\nclient_id = \"takt-bench\"\n[[mqtt.subscription]]\n"
                                   "filter = \"plant/+/+/alarm\"\nsource = \"scada\"\n"
                                   "type = \"alarm\"\nkey = \"topic.2\"\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    // Two publishers, each waiting for the broker's PUBACK of every message (QoS 1).
    const auto start = Clock::now();
    std::vector<std::thread> publishers;
    for (size_t p = 0; p < 2; ++p) {
      publishers.emplace_back([&, p] {
        takt::connect::MqttSession session;
        takt::connect::MqttConnectOptions o;
        o.host = "127.0.0.1";
        o.port = port;
        o.client_id = "bench-publisher-" + std::to_string(p);
        o.clean_session = true;
        if (!session.Connect(o).ok()) return;
        for (size_t n = p; n < messages; n += 2) {
          const std::string asset = "A" + std::to_string(10 + n % 20);
          const std::string payload =
              R"({"id":"m-)" + std::to_string(n) + R"(","seq":)" + std::to_string(n / 20 + 1) +
              R"(,"ts":)" + std::to_string(1000 + n) + R"(,"data":{"asset":")" + asset +
              R"(","code":"VIB","severity":1}})";
          if (!session.Publish("plant/scada/" + asset + "/alarm", payload).ok()) return;
        }
      });
    }
    for (std::thread& t : publishers) t.join();
    const double published = std::chrono::duration<double>(Clock::now() - start).count();
    double committed = 0;
    while (committed < static_cast<double>(messages) &&
           std::chrono::duration<double>(Clock::now() - start).count() < 120) {
      committed = running.Metric("takt_events_total", "source=\"scada\"");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("MQTT QoS 1: %.0f of %zu messages committed in %.2f s = %.0f messages/s "
                "(published in %.2f s), broker max_inflight_messages %d, durable %s\n",
                committed, messages, seconds, committed / seconds, published, inflight,
                Durability().c_str());
    std::fflush(stdout);
  }
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
}

}  // namespace

// A trickle of single odoo events (each an order.released of a new order) at 50 a second,
// timed from when each was due to its answer: alone, then beside a flood of one key (telemetry
// of asset A01 in batches of `batch` on `clients` connections, as fast as the server takes
// them). The aim: the flood moves the trickle's latency by less than 2x.
void Flood(const std::string& dir, size_t batch, size_t clients, double seconds) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  ServeProcess running(dir);
  std::atomic<uint64_t> orders{0};
  const auto trickle = [&](double duration) {
    httplib::Client client("127.0.0.1", running.port);
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);
    std::vector<double> latencies;
    size_t failed = 0;
    const auto start = Clock::now();
    for (size_t i = 0; i < static_cast<size_t>(duration * 50); ++i) {
      const auto due = start + std::chrono::milliseconds(20 * i);
      std::this_thread::sleep_until(due);
      const std::string order = "MO-T" + std::to_string(++orders);
      const std::string event =
          R"({"id":")" + order + R"(","source":"odoo","type":"order.released","key":")" + order +
          R"(","seq":1,"ts":1795852800000,"data":{"order":")" + order +
          R"(","product":"P","qty":1,"asset":"A02"}})";
      auto res = client.Post("/v1/events", {{"Authorization", "Bearer odoo"}}, event,
                             "application/json");
      if (!res || res->status != 200) ++failed;
      latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - due).count());
    }
    return std::make_pair(latencies, failed);
  };
  const auto [alone, alone_failed] = trickle(seconds);
  std::atomic<bool> flooding{true};
  std::atomic<uint64_t> flooded{0};
  std::vector<std::thread> flood;
  for (size_t c = 0; c < clients; ++c) {
    flood.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", running.port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      for (uint64_t n = 0; flooding; ++n) {
        std::string body;
        for (size_t i = 0; i < batch; ++i) {
          const uint64_t k = (n * batch + i) * clients + c;
          body += R"({"id":"f)" + std::to_string(k) +
                  R"(","source":"scada","type":"telemetry","key":"A01","seq":1,"ts":)" +
                  std::to_string(1795852800000 + k) +
                  R"(,"data":{"asset":"A01","tag":"temp","value":20.5,"unit":"C"}})" + "\n";
        }
        auto res = client.Post("/v1/events", {{"Authorization", "Bearer scada"}}, body,
                               "application/x-ndjson");
        if (res && res->status == 200) flooded += batch;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));  // the flood under way
  const uint64_t flooded_before = flooded;
  const auto flood_start = Clock::now();
  const auto [beside, beside_failed] = trickle(seconds);
  const double flood_rate = static_cast<double>(flooded - flooded_before) /
                            std::chrono::duration<double>(Clock::now() - flood_start).count();
  flooding = false;
  for (std::thread& t : flood) t.join();
  const double p50 = Percentile(alone, 0.5), p99 = Percentile(alone, 0.99);
  const double p50_flood = Percentile(beside, 0.5), p99_flood = Percentile(beside, 0.99);
  std::printf("flood of one key: a trickle of 50 single events/s from another source, durable %s:"
              " alone p50 %.2f ms, p99 %.2f ms; beside %.0f events/s of one key (batches of %zu,"
              " %zu connections) p50 %.2f ms (%.1fx), p99 %.2f ms (%.1fx); %zu + %zu failed\n",
              Durability().c_str(), p50, p99, flood_rate, batch, clients, p50_flood,
              p50_flood / p50, p99_flood, p99_flood / p99, alone_failed, beside_failed);
}

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const int64_t orders = argc > 1 ? std::atoll(argv[1]) : 20000;
  const size_t batch = argc > 2 ? static_cast<size_t>(std::atoll(argv[2])) : 100;
  const size_t clients = argc > 3 ? static_cast<size_t>(std::atoll(argv[3])) : 4;
  const double rate = argc > 4 ? std::atof(argv[4]) : 5000;
  const double seconds = argc > 5 ? std::atof(argv[5]) : 20;
  const std::string dir = std::filesystem::temp_directory_path().string() + "/takt-serve-bench";
  const char* chosen = std::getenv("TAKT_BENCH_PHASES");
  const std::string phases = chosen != nullptr ? chosen : "throughput,latency,mqtt";
  if (phases.find("throughput") != std::string::npos) {
    Throughput(dir + "/throughput", orders, batch, clients);
    std::fflush(stdout);
  }
  if (phases.find("latency") != std::string::npos) {
    Latency(dir + "/latency", rate, seconds);
    std::fflush(stdout);
  }
  if (phases.find("flood") != std::string::npos) {
    Flood(dir + "/flood", batch, clients, seconds);
    std::fflush(stdout);
  }
  if (phases.find("mqtt") != std::string::npos) {
    Mqtt(dir + "/mqtt-20", 20'000, 20);  // mosquitto's default
    Mqtt(dir + "/mqtt-1000", 50'000, 1000);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
