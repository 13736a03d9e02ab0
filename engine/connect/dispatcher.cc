// The dispatcher (include/takt/dispatch.h). One thread (the caller of Run()) reads the outbox,
// picks what may go now and writes every change of state; `max_in_flight` workers do the
// requests. Per key, only the first command not yet delivered nor dead may go: a later one
// waits for it, through its retries, so a receiver sees one key's commands in order.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <new>
#include <random>
#include <set>
#include <thread>
#include <unordered_set>
#include <utility>

#include "engine/connect/connector.h"
#include "engine/connect/delivery.h"
#include "engine/connect/http.h"
#include "takt/dispatch.h"

namespace takt {
namespace {

using connect::Attempt;
using connect::Connector;
using connect::DeliveryEvent;
using connect::DeliveryState;

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// How many waiting commands one look at the outbox reads: enough to find work past keys that
// wait for a retry, few enough to read often.
constexpr size_t kScan = 512;

class DispatcherImpl final : public Dispatcher {
 public:
  DispatcherImpl(Engine& engine, DispatchOptions options,
                 std::vector<std::unique_ptr<Connector>> connectors)
      : engine_(engine),
        options_(std::move(options)),
        connectors_(std::move(connectors)),
        random_(options_.jitter_seed != 0 ? options_.jitter_seed
                                          : static_cast<uint64_t>(WallMs())) {}
  ~DispatcherImpl() override { StopWorkers(); }

  Status Run(bool until_idle, int64_t max_wait_ms) override;
  void Stop() override {
    stop_ = true;
    std::lock_guard<std::mutex> lock(mu_);
    wake_.notify_all();
  }
  DispatchCounts counts() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return counts_;
  }

 private:
  struct Job {
    PendingCommand pending;
    Connector* connector = nullptr;
  };
  struct Done {
    Job job;
    Attempt attempt;
    double seconds = 0;  // the attempt's duration
  };
  // Tells options_.on_attempt, if any.
  void Report(const Done& done, std::string_view result) const;

  void StartWorkers();
  void StopWorkers();
  void Work();
  Connector* Route(std::string_view name) const;
  // Reads the outbox and starts what may go now. False when nothing a connector delivers is
  // left waiting (every such command delivered or dead) and nothing is under way.
  Result<bool> StartReady(int64_t now, int64_t& next_due);
  // Writes what a finished delivery came to, as the lifecycle allows.
  Status Finish(const Done& done);
  Status Change(const PendingCommand& p, DeliveryEvent event, const std::function<Status()>& write);
  int64_t Backoff(const RetryPolicy& policy, uint32_t attempt);
  void Log(LogLevel level, const std::string& message) const {
    if (options_.on_log) options_.on_log(level, message);
  }

  Engine& engine_;
  const DispatchOptions options_;
  const std::vector<std::unique_ptr<Connector>> connectors_;
  std::mt19937_64 random_;
  std::atomic<bool> stop_{false};

  mutable std::mutex mu_;
  std::condition_variable wake_;     // the Run() thread: a delivery ended, or Stop()
  std::condition_variable work_;     // the workers: a job, or the end
  std::deque<Job> jobs_;             // guarded by mu_
  std::vector<Done> done_;           // guarded by mu_
  bool workers_stop_ = false;        // guarded by mu_
  DispatchCounts counts_;            // guarded by mu_
  std::vector<std::thread> workers_;
  std::unordered_set<std::string> in_flight_;  // ids; the Run() thread's own
  std::set<std::string> unrouted_names_;       // logged once each
};

void DispatcherImpl::StartWorkers() {
  if (!workers_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers_stop_ = false;
  }
  for (uint32_t i = 0; i < std::max<uint32_t>(1, options_.max_in_flight); ++i) {
    workers_.emplace_back([this] { Work(); });
  }
}

void DispatcherImpl::StopWorkers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers_stop_ = true;
    work_.notify_all();
  }
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

namespace {

// One attempt, whatever the connector does: one that throws (a bug of its own, or an answer it
// was not written for) fails this command for good, saying so, instead of ending the process;
// the command waits among the dead letters until the connector is mended and it is retried.
Attempt DeliverOnce(Connector& connector, const Command& command) {
  try {
    return connector.Deliver(command);
  } catch (const std::bad_alloc&) {
    Attempt failed;
    failed.kind = Attempt::Kind::kRetryable;
    failed.error = connector.options().name + ": out of memory while delivering";
    return failed;
  } catch (const std::exception& e) {
    Attempt failed;
    failed.kind = Attempt::Kind::kFinal;
    failed.error = connector.options().name + ": the connector failed on this command: " +
                   connect::OneLine(e.what());
    return failed;
  }
}

}  // namespace

void DispatcherImpl::Work() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_.wait(lock, [&] { return workers_stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and nothing left to send
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    const auto start = std::chrono::steady_clock::now();
    Attempt attempt = DeliverOnce(*job.connector, job.pending.command);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::lock_guard<std::mutex> lock(mu_);
    done_.push_back(Done{std::move(job), std::move(attempt), seconds});
    wake_.notify_all();
  }
}

Connector* DispatcherImpl::Route(std::string_view name) const {
  for (const auto& c : connectors_) {
    if (c->Delivers(name)) return c.get();
  }
  return nullptr;
}

Status DispatcherImpl::Change(const PendingCommand& p, DeliveryEvent event,
                              const std::function<Status()>& write) {
  const std::optional<DeliveryState> from = connect::DeliveryStateByName(p.status);
  if (!from || !connect::NextDeliveryState(*from, event)) {
    return Status::InvalidArgument("command " + p.command.id + " is " + p.status +
                                   ": its delivery cannot move that way");
  }
  return write();
}

Result<bool> DispatcherImpl::StartReady(int64_t now, int64_t& next_due) {
  Result<std::vector<PendingCommand>> waiting = engine_.PendingCommands(kScan);
  if (!waiting.ok()) return waiting.status();
  std::unordered_set<std::string> keys_taken;  // a key whose first waiting command is seen
  uint64_t unrouted = 0;
  bool work_left = !in_flight_.empty();
  for (PendingCommand& p : waiting.value()) {
    Connector* connector = Route(p.command.name);
    if (connector == nullptr) {
      // Not ours: it waits for a connector that delivers it, and holds up nothing.
      ++unrouted;
      if (unrouted_names_.insert(p.command.name).second) {
        Log(LogLevel::kWarn, "no connector delivers " + p.command.name + " (command " +
                                 p.command.id + " waits in the outbox)");
      }
      continue;
    }
    work_left = true;
    if (!keys_taken.insert(p.key).second) continue;  // an earlier command of its key is first
    if (in_flight_.count(p.command.id) != 0) continue;
    if (p.status == "retry" && p.next_attempt_at_ms > now) {
      next_due = std::min(next_due, p.next_attempt_at_ms);
      continue;
    }
    if (in_flight_.size() >= std::max<uint32_t>(1, options_.max_in_flight)) continue;
    TAKT_RETURN_IF_ERROR(Change(p, DeliveryEvent::kSend, [&] {
      return engine_.MarkInFlight(p.command.id, now);
    }));
    if (p.first_attempt_at_ms == 0) p.first_attempt_at_ms = now;
    p.status = "in_flight";
    in_flight_.insert(p.command.id);
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(Job{std::move(p), connector});
    work_.notify_one();
  }
  std::lock_guard<std::mutex> lock(mu_);
  counts_.unrouted = unrouted;
  return work_left;
}

int64_t DispatcherImpl::Backoff(const RetryPolicy& policy, uint32_t attempt) {
  // Full jitter: uniform in [0, min(max, initial * 2^(attempt - 1))].
  int64_t cap = policy.initial_backoff_ms;
  for (uint32_t i = 1; i < attempt && cap < policy.max_backoff_ms; ++i) cap *= 2;
  cap = std::min(cap, policy.max_backoff_ms);
  return std::uniform_int_distribution<int64_t>(0, cap)(random_);
}

void DispatcherImpl::Report(const Done& done, std::string_view result) const {
  if (!options_.on_attempt) return;
  DeliveryReport report;
  report.connector = done.job.connector->options().name;
  report.command = done.job.pending.command.name;
  report.result = result;
  report.attempt = done.job.pending.attempts + 1;
  report.seconds = done.seconds;
  options_.on_attempt(report);
}

Status DispatcherImpl::Finish(const Done& done) {
  const PendingCommand& p = done.job.pending;
  const RetryPolicy& policy = done.job.connector->options().retry;
  in_flight_.erase(p.command.id);
  const Attempt& a = done.attempt;
  if (a.kind == Attempt::Kind::kDelivered) {
    TAKT_RETURN_IF_ERROR(Change(p, DeliveryEvent::kDelivered,
                                [&] { return engine_.MarkDelivered(p.command.id); }));
    Report(done, "delivered");
    std::lock_guard<std::mutex> lock(mu_);
    ++counts_.delivered;
    return Status();
  }
  const uint32_t attempts = p.attempts + 1;
  const int64_t now = WallMs();
  std::string give_up_why;
  if (a.kind == Attempt::Kind::kFinal) {
    give_up_why = "";  // the receiver's own answer says why
  } else if (attempts >= policy.max_attempts) {
    give_up_why = "gave up after " + std::to_string(attempts) + " attempts: ";
  } else if (now - p.first_attempt_at_ms >= policy.max_age_ms) {
    give_up_why = "gave up after " + std::to_string((now - p.first_attempt_at_ms) / 1000) +
                  " s: ";
  } else {
    const int64_t wait = std::max(Backoff(policy, attempts), a.retry_after_ms);
    TAKT_RETURN_IF_ERROR(Change(p, DeliveryEvent::kRetryable, [&] {
      return engine_.MarkRetry(p.command.id, a.error, now + wait);
    }));
    Report(done, "retry");
    std::lock_guard<std::mutex> lock(mu_);
    ++counts_.retried;
    return Status();
  }
  const std::string error = give_up_why + a.error;
  TAKT_RETURN_IF_ERROR(Change(p, DeliveryEvent::kFinal, [&] {
    return engine_.MarkFailed(p.command.id, error, /*give_up=*/true);
  }));
  Log(LogLevel::kWarn, "command " + p.command.id + " is a dead letter: " + error);
  Report(done, "dead");
  std::lock_guard<std::mutex> lock(mu_);
  ++counts_.dead;
  return Status();
}

Status DispatcherImpl::Run(bool until_idle, int64_t max_wait_ms) {
  stop_ = false;
  StartWorkers();
  const auto started = std::chrono::steady_clock::now();
  Status status;
  while (status.ok()) {
    std::vector<Done> done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      done.swap(done_);
    }
    for (const Done& d : done) {
      if (status.ok()) status = Finish(d);
    }
    if (!status.ok() || stop_) break;
    const int64_t now = WallMs();
    int64_t next_due = INT64_MAX;
    Result<bool> work_left = StartReady(now, next_due);
    if (!work_left.ok()) {
      status = work_left.status();
      break;
    }
    if (until_idle && !work_left.value()) break;
    const int64_t waited = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - started)
                               .count();
    if (max_wait_ms > 0 && waited >= max_wait_ms) {
      status = Status::LimitExceeded("commands still waiting after " +
                                     std::to_string(max_wait_ms) + " ms");
      break;
    }
    int64_t sleep = options_.poll_interval_ms;
    if (next_due != INT64_MAX) sleep = std::min(sleep, std::max<int64_t>(1, next_due - now));
    if (max_wait_ms > 0) sleep = std::min(sleep, std::max<int64_t>(1, max_wait_ms - waited));
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(sleep),
                   [&] { return stop_ || !done_.empty(); });
  }
  // Deliveries under way end (each within its timeout) and what they came to is written; jobs
  // not yet taken by a worker stay in_flight in the store and go again next time.
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.clear();
  }
  StopWorkers();
  for (const Done& d : done_) {
    Status finished = Finish(d);
    if (status.ok()) status = finished;
  }
  done_.clear();
  in_flight_.clear();
  return status;
}

}  // namespace

Result<std::unique_ptr<Dispatcher>> Dispatcher::Create(Engine& engine, DispatchOptions options) {
  if (!engine.durable()) {
    return Status::NotFound("the engine has no store, so no outbox to deliver from");
  }
  std::vector<std::unique_ptr<connect::Connector>> connectors;
  std::set<std::string> names;
  for (const ConnectorOptions& c : options.connectors) {
    if (!names.insert(c.name).second) {
      return Status::InvalidArgument("connector " + c.name + " is configured twice");
    }
    Result<std::unique_ptr<connect::Connector>> made = connect::MakeConnector(c);
    if (!made.ok()) return made.status();
    connectors.push_back(std::move(made).value());
  }
  if (options.max_in_flight == 0) return Status::InvalidArgument("max_in_flight must be >= 1");
  if (options.poll_interval_ms <= 0) {
    return Status::InvalidArgument("poll_interval_ms must be > 0");
  }
  return std::unique_ptr<Dispatcher>(
      std::make_unique<DispatcherImpl>(engine, std::move(options), std::move(connectors)));
}

}  // namespace takt
