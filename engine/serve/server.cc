#include "engine/serve/server.h"

#include <chrono>
#include <utility>

#include "engine/serve/mqtt_ingest.h"
#include "engine/serve/read_clock.h"
#include "takt/definitions.h"

namespace takt {

Result<std::unique_ptr<Server>> Server::Open(const Config& config,
                                             std::function<void(const LogLine&)> on_log) {
  if (config.engine.store_path.empty()) {
    return Status::InvalidArgument(config.path +
                                   ": [engine] database is required to serve: every answer "
                                   "waits for its commit, and commands leave through its outbox");
  }
  if (config.serve.credentials.empty()) {
    return Status::InvalidArgument(config.path + ": no [[credential]]: nobody could publish");
  }
  if (config.serve.tls_cert.empty() != config.serve.tls_key.empty()) {
    return Status::InvalidArgument(config.path + ": [serve] tls_cert and tls_key go together");
  }
  Result<serve::AccessControl> access = serve::AccessControl::Create(config.serve.credentials);
  if (!access.ok()) return Status::InvalidArgument(config.path + ": " + access.status().message());
  if (!on_log) on_log = [](const LogLine&) {};
  auto server =
      std::make_unique<serve::ServerImpl>(config, std::move(on_log), std::move(access).value());
  TAKT_RETURN_IF_ERROR(server->Start());
  return std::unique_ptr<Server>(std::move(server));
}

namespace serve {

ServerImpl::ServerImpl(const Config& config, std::function<void(const LogLine&)> on_log,
                       AccessControl access)
    : config_(config),
      on_log_(std::move(on_log)),
      access_(std::move(access)),
      ingest_(access_, metrics_, on_log_) {
  config_.engine.on_log = [this](LogLevel level, std::string_view message) {
    Log(level, message);
  };
  config_.engine.on_command = nullptr;  // the dispatcher reads the outbox
  config_.engine.watch_rules = config_.engine.watch_rules || config_.serve.watch_definitions;
  if (config_.engine.rules_dir.empty()) config_.engine.watch_rules = false;
  config_.dispatch.on_log = config_.engine.on_log;
  config_.dispatch.on_attempt = [this](const DeliveryReport& r) {
    metrics_.ObserveDelivery(r.connector, r.result, r.attempt, r.seconds);
  };
}

ServerImpl::~ServerImpl() {
  Stop();
  if (clock_thread_.joinable()) clock_thread_.join();
  mqtt_.reset();
  if (http_ != nullptr) http_->stop();
  StopDispatcher();
  CloseEngine();
}

Status ServerImpl::Start() {
  TAKT_RETURN_IF_ERROR(OpenEngine());
  const ServeOptions& o = config_.serve;
  if (!o.tls_cert.empty()) {
    auto https = std::make_unique<httplib::SSLServer>(o.tls_cert.c_str(), o.tls_key.c_str());
    if (!https->is_valid()) {
      return Status::InvalidArgument(config_.path + ": [serve] tls_cert " + o.tls_cert +
                                     " and tls_key do not make a usable certificate and key");
    }
    http_ = std::move(https);
  } else {
    http_ = std::make_unique<httplib::Server>();
  }
  const uint32_t threads = o.max_connections;
  http_->new_task_queue = [threads] { return new TimedThreadPool(threads); };
  http_->set_logger([](const httplib::Request&, const httplib::Response&) {
    NoteAnswerWritten();
  });
  // An answer is written in more than one piece: without this, Nagle's algorithm holds the
  // last piece back until the client's delayed ACK (40 ms), for every request on a kept-alive
  // connection.
  http_->set_tcp_nodelay(true);
  http_->set_payload_max_length(o.max_body_bytes);
  http_->set_read_timeout(std::chrono::milliseconds(o.read_timeout_ms));
  http_->set_write_timeout(std::chrono::milliseconds(o.write_timeout_ms));
  http_->set_keep_alive_timeout(std::max<time_t>(1, o.read_timeout_ms / 1000));
  InstallRoutes();
  const int bound = o.port == 0 ? http_->bind_to_any_port(o.host)
                                : (http_->bind_to_port(o.host, o.port) ? o.port : -1);
  if (bound <= 0) {
    return Status::IoError("cannot listen on " + o.host + ":" + std::to_string(o.port));
  }
  port_ = static_cast<uint16_t>(bound);
  if (!o.mqtt.host.empty()) mqtt_ = std::make_unique<MqttIngest>(*this, o.mqtt);
  return Status();
}

Status ServerImpl::OpenEngine() {
  Result<std::unique_ptr<Engine>> engine = Engine::Open(config_.engine);
  if (!engine.ok()) return engine.status();
  std::unordered_map<std::string, std::string> owners;
  for (const EventTypeInfo& t : engine.value()->event_types()) owners[t.type] = t.owner;
  access_.SetOwners(std::move(owners));
  engine_ = std::move(engine).value();
  stamps_ = WorkflowStamps();
  StartDispatcher();
  ready_ = true;
  return Status();
}

void ServerImpl::CloseEngine() {
  ready_ = false;
  if (engine_ == nullptr) return;
  Status closed = engine_->Close();
  if (!closed.ok()) Log(LogLevel::kError, "closing the engine: " + closed.message());
  engine_.reset();
}

void ServerImpl::StartDispatcher() {
  if (config_.dispatch.connectors.empty()) return;
  Result<std::unique_ptr<Dispatcher>> dispatcher = Dispatcher::Create(*engine_, config_.dispatch);
  if (!dispatcher.ok()) {
    Log(LogLevel::kError, "the dispatcher did not start: " + dispatcher.status().message());
    return;
  }
  dispatcher_ = std::move(dispatcher).value();
  dispatch_thread_ = std::thread([this] {
    Status status = dispatcher_->Run(/*until_idle=*/false, 0);
    if (!status.ok()) Log(LogLevel::kError, "the dispatcher stopped: " + status.message());
  });
}

void ServerImpl::StopDispatcher() {
  if (dispatcher_ == nullptr) return;
  dispatcher_->Stop();
  if (dispatch_thread_.joinable()) dispatch_thread_.join();
  dispatcher_.reset();
}

ServerImpl::Hold ServerImpl::Use() const {
  Hold hold{std::shared_lock<std::shared_mutex>(engine_mu_), nullptr};
  hold.engine = engine_.get();
  return hold;
}

const Credential& ServerImpl::MqttCredential(const std::string& source) {
  std::lock_guard<std::mutex> lock(mqtt_credentials_mu_);
  Credential& c = mqtt_credentials_[source];
  c.name = "mqtt:" + source;
  c.source = source;
  return c;
}

Status ServerImpl::Run() {
  clock_thread_ = std::thread([this] { RunClock(); });
  if (mqtt_ != nullptr) mqtt_->Start();
  Log(LogLevel::kInfo, std::string(config_.serve.tls_cert.empty() ? "http" : "https") +
                           "://" + config_.serve.host + ":" + std::to_string(port_) +
                           " serving " + config_.engine.store_path);
  bool listened = true;
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    listened = stopping_;
  }
  if (!listened) listened = http_->listen_after_bind();
  listen_done_ = true;
  // Stopped: no new request is taken; those under way were answered (listen returns after its
  // workers end). Then MQTT, then the clock; the dispatcher ends its deliveries; the engine
  // commits what it has and closes.
  Stop();
  if (mqtt_ != nullptr) mqtt_->Stop();
  if (clock_thread_.joinable()) clock_thread_.join();
  StopDispatcher();
  std::unique_lock<std::shared_mutex> lock(engine_mu_);
  CloseEngine();
  if (!listened) return Status::IoError("the HTTP listener failed");
  Log(LogLevel::kInfo, "stopped");
  return Status();
}

void ServerImpl::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (http_ != nullptr) http_->stop();
}

void ServerImpl::Reload() {
  reload_requested_ = true;
  stop_cv_.notify_all();
}

void ServerImpl::RunClock() {
  using std::chrono::milliseconds;
  const int64_t interval = config_.serve.clock_interval_ms;
  int64_t since_stamp_check = 0;
  std::unique_lock<std::mutex> lock(stop_mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, milliseconds(interval > 0 ? std::min<int64_t>(interval, 1000) : 1000),
                      [this] { return stopping_ || reload_requested_.load(); });
    if (stopping_) break;
    lock.unlock();
    const bool asked = reload_requested_.exchange(false);
    since_stamp_check += 1;
    if (asked) {
      ReloadNow(/*rules=*/true, /*workflows=*/true);
    } else if (config_.serve.watch_definitions && WorkflowsChanged()) {
      ReloadNow(/*rules=*/false, /*workflows=*/true);
    }
    if (interval > 0) {
      const int64_t now = std::chrono::duration_cast<milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      Hold hold = Use();
      if (hold.engine != nullptr) {
        SubmitResult fired;
        Status status = hold.engine->AdvanceClock(now, fired);
        if (!status.ok()) {
          Log(LogLevel::kError, "firing the timers due: " + status.message());
        }
        for (const Command& c : fired.commands) {
          on_log_(LogLine{LogLevel::kInfo, "timer fired: " + c.name + " " + c.id, c.caused_by,
                          {}, {}});
        }
      }
    }
    lock.lock();
  }
  lock.unlock();
  // Stop() may have come before the listener ran: then stop it once it does.
  for (int i = 0; i < 100 && !listen_done_ && http_ != nullptr && !http_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (http_ != nullptr) http_->stop();
}

std::map<std::string, std::pair<std::filesystem::file_time_type, uintmax_t>>
ServerImpl::WorkflowStamps() const {
  namespace fs = std::filesystem;
  std::map<std::string, std::pair<fs::file_time_type, uintmax_t>> stamps;
  auto stamp = [&](const fs::path& p) {
    std::error_code error;
    const auto time = fs::last_write_time(p, error);
    const auto size = fs::file_size(p, error);
    if (!error) stamps[p.string()] = {time, size};
  };
  for (const std::string& path : config_.engine.workflow_paths) {
    std::error_code error;
    if (fs::is_directory(path, error)) {
      for (const auto& entry : fs::directory_iterator(path, error)) {
        if (entry.path().extension() == ".takt") stamp(entry.path());
      }
    } else {
      stamp(path);
    }
  }
  return stamps;
}

bool ServerImpl::WorkflowsChanged() { return WorkflowStamps() != stamps_; }

void ServerImpl::ReloadNow(bool rules, bool workflows) {
  if (rules && !config_.engine.rules_dir.empty()) {
    Hold hold = Use();
    if (hold.engine != nullptr) {
      Status reloaded = hold.engine->ReloadRules();
      metrics_.CountReload("rules", reloaded.ok());
      Log(reloaded.ok() ? LogLevel::kInfo : LogLevel::kError,
          reloaded.ok() ? "rules reloaded"
                        : "rules reload refused, the running rules stay: " + reloaded.message());
    }
  }
  if (!workflows || !WorkflowsChanged()) return;
  const auto stamps = WorkflowStamps();
  DefinitionOptions check;
  check.paths = config_.engine.workflow_paths;
  check.stdlib_dir = config_.engine.stdlib_dir;
  const CheckReport report = CheckDefinitions(check);
  if (!report.ok()) {
    std::string message = "workflow reload refused, the running workflows stay:";
    for (const Diagnostic& d : report.diagnostics) {
      if (d.severity == Diagnostic::Severity::kError) message += "\n" + d.Format();
    }
    metrics_.CountReload("workflows", false);
    Log(LogLevel::kError, message);
    stamps_ = stamps;  // refused once; looked at again when the files change again
    return;
  }
  // A new engine on the new definitions, on the same database: instances keep the version
  // they started on (pinned), new ones take the new one. Submissions wait meanwhile.
  std::unique_lock<std::shared_mutex> lock(engine_mu_);
  StopDispatcher();
  CloseEngine();
  Status opened = OpenEngine();
  metrics_.CountReload("workflows", opened.ok());
  if (!opened.ok()) {
    Log(LogLevel::kError, "workflow reload failed, not ready until the next one succeeds: " +
                              opened.message());
    stamps_ = stamps;
    return;
  }
  Log(LogLevel::kInfo, "workflows reloaded");
}

}  // namespace serve
}  // namespace takt
