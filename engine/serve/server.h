// The server behind include/takt/serve.h. server.cc is the process around the engine: it opens
// the engine and the dispatcher, runs the clock, watches the definitions and swaps in a new
// engine when workflows change. http_api.cc is the HTTP API on top of it; mqtt_ingest.cc the
// MQTT subscriber.
#ifndef TAKT_ENGINE_SERVE_SERVER_H_
#define TAKT_ENGINE_SERVE_SERVER_H_

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

#include "engine/serve/access.h"
#include "engine/serve/ingest.h"
#include "engine/serve/metrics.h"
#include "takt/config.h"
#include "takt/dispatch.h"
#include "takt/engine.h"
#include "takt/serve.h"

namespace takt::serve {

class MqttIngest;

class ServerImpl final : public Server {
 public:
  ServerImpl(const Config& config, std::function<void(const LogLine&)> on_log,
             AccessControl access);
  ~ServerImpl() override;
  // Opens the engine and dispatcher, installs the routes, binds the socket.
  Status Start();

  Status Run() override;
  void Stop() override;
  void Reload() override;
  uint16_t port() const override { return port_; }
  bool ready() const override { return ready_.load(); }

  void Log(LogLevel level, std::string_view message) const {
    on_log_(LogLine{level, message, {}, {}, {}});
  }

  // The engine, held shared for as long as the hold lives: a workflow reload waits for every
  // hold to end before it swaps the engine. engine is null while there is none (not ready).
  struct Hold {
    std::shared_lock<std::shared_mutex> lock;
    Engine* engine = nullptr;
  };
  Hold Use() const;
  Ingest& ingest() { return ingest_; }
  Metrics& metrics() { return metrics_; }
  // The MQTT subscriber's events: `source` is its subscription's, checked like a credential's.
  const Credential& MqttCredential(const std::string& source);

 private:
  // http_api.cc
  void InstallRoutes();
  // server.cc
  Status OpenEngine();
  void CloseEngine();
  void StartDispatcher();
  void StopDispatcher();
  void RunClock();
  // Rules through the engine; workflows by opening a new engine on the new definitions when
  // they check clean. Either way a broken version is refused and the running one stays.
  void ReloadNow(bool rules, bool workflows);
  // Have the workflow files changed since they were loaded? (modification times and sizes)
  bool WorkflowsChanged();
  std::map<std::string, std::pair<std::filesystem::file_time_type, uintmax_t>> WorkflowStamps()
      const;
  std::string MetricsText();

  Config config_;
  std::function<void(const LogLine&)> on_log_;
  AccessControl access_;
  Metrics metrics_;
  Ingest ingest_;

  mutable std::shared_mutex engine_mu_;  // the engine pointer and what owns it
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::thread dispatch_thread_;
  std::map<std::string, std::pair<std::filesystem::file_time_type, uintmax_t>> stamps_;

  std::unique_ptr<httplib::Server> http_;
  uint16_t port_ = 0;
  std::unique_ptr<MqttIngest> mqtt_;
  std::mutex mqtt_credentials_mu_;
  std::map<std::string, Credential> mqtt_credentials_;

  std::atomic<bool> ready_{false};
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::atomic<bool> reload_requested_{false};
  std::atomic<bool> listen_done_{false};
  std::thread clock_thread_;
};

}  // namespace takt::serve

#endif  // TAKT_ENGINE_SERVE_SERVER_H_
