// What /metrics shows besides the server's own counts (metrics.h): the engine's, the outbox's
// and the dispatcher's, read at each scrape.
#include <chrono>
#include <map>
#include <string>

#include "engine/serve/server.h"

namespace takt::serve {
namespace {

void Gauge(std::string& out, const char* name, const char* type, const char* help,
           uint64_t value) {
  AppendFamily(out, name, type, help);
  out += std::string(name) + " " + std::to_string(value) + "\n";
}

}  // namespace

std::string ServerImpl::MetricsText() {
  std::string out;
  metrics_.Render(out);
  Gauge(out, "takt_ready", "gauge", "1 when the store is open and the definitions loaded.",
        ready_.load() ? 1 : 0);
  Hold hold = Use();
  if (hold.engine == nullptr) return out;
  Engine& engine = *hold.engine;
  const EngineStats s = engine.stats();
  Gauge(out, "takt_commits_total", "counter", "Transactions committed since the engine opened.",
        s.batches);
  Gauge(out, "takt_timers_fired_total", "counter",
        "Workflow timers (after DURATION: reminders, SLAs) that came due since the engine opened.",
        s.timers_fired);
  Gauge(out, "takt_commands_total", "counter", "Commands ever put in the outbox.", s.commands);
  Gauge(out, "takt_rule_evaluations_total", "counter", "Rule evaluations since the engine opened.",
        s.rule_evaluations);
  Gauge(out, "takt_rule_errors_total", "counter",
        "Rule evaluations that failed: an error, or a broken budget (instructions, memory, time).",
        s.rule_errors);
  Gauge(out, "takt_rule_budget_breaks_total", "counter",
        "Of the rule errors, evaluations stopped by a broken budget (instructions, memory, time).",
        s.rule_budget_breaks);
  Gauge(out, "takt_rule_reloads_total", "counter", "Rule sets swapped in after the first.",
        s.rule_reloads);
  Gauge(out, "takt_rule_reload_failures_total", "counter",
        "Rule reloads refused (the running rules stayed).", s.rule_reload_failures);
  Gauge(out, "takt_events_held", "gauge", "Events held back, waiting for their turn.", s.held);
  Gauge(out, "takt_instances_in_memory", "gauge", "Workflow instances held in memory.",
        s.instances_in_memory);

  std::map<std::string, uint64_t> by_state, overdue;
  engine.ForEachInstance([&](const InstanceSummary& i) {
    std::string labels = "workflow=\"" + EscapeLabel(i.workflow) + "\",state=\"" +
                         EscapeLabel(i.state) + "\"";
    if (i.overdue_since) ++overdue[labels];
    ++by_state[std::move(labels)];
  });
  AppendFamily(out, "takt_instances", "gauge", "Workflow instances by workflow and state.");
  for (const auto& [labels, n] : by_state) {
    out += "takt_instances{" + labels + "} " + std::to_string(n) + "\n";
  }
  AppendFamily(out, "takt_instances_overdue", "gauge",
               "Instances past their SLA: a timer of their state fired and they are still there.");
  for (const auto& [labels, n] : overdue) {
    out += "takt_instances_overdue{" + labels + "} " + std::to_string(n) + "\n";
  }

  std::map<std::string, uint64_t> by_status{{"pending", 0}, {"in_flight", 0}, {"retry", 0},
                                            {"dead", 0}};
  int64_t oldest_first_attempt = 0;
  uint64_t max_attempts = 0;
  constexpr size_t kCounted = 100'000;  // beyond that the depth is shown as this many
  Result<std::vector<PendingCommand>> pending = engine.PendingCommands(kCounted);
  if (pending.ok()) {
    for (const PendingCommand& p : pending.value()) {
      ++by_status[p.status];
      max_attempts = std::max<uint64_t>(max_attempts, p.attempts);
      if (p.first_attempt_at_ms > 0 &&
          (oldest_first_attempt == 0 || p.first_attempt_at_ms < oldest_first_attempt)) {
        oldest_first_attempt = p.first_attempt_at_ms;
      }
    }
  }
  Result<std::vector<PendingCommand>> dead = engine.DeadLetters(kCounted);
  if (dead.ok()) by_status["dead"] = dead.value().size();
  AppendFamily(out, "takt_outbox_commands", "gauge",
               "Commands in the outbox not delivered, by status.");
  for (const auto& [status, n] : by_status) {
    out += "takt_outbox_commands{status=\"" + status + "\"} " + std::to_string(n) + "\n";
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const double oldest =
      oldest_first_attempt == 0 ? 0.0 : static_cast<double>(now - oldest_first_attempt) / 1000.0;
  AppendFamily(out, "takt_outbox_oldest_undelivered_seconds", "gauge",
               "Since the first delivery attempt of the oldest command tried and not yet "
               "delivered (0: none).");
  out += "takt_outbox_oldest_undelivered_seconds " + std::to_string(oldest) + "\n";
  Gauge(out, "takt_outbox_max_attempts", "gauge",
        "The most failed attempts of a command still waiting.", max_attempts);
  if (dispatcher_ != nullptr) {
    const DispatchCounts c = dispatcher_->counts();
    Gauge(out, "takt_deliveries_total", "counter", "Commands delivered since the server started.",
          c.delivered);
    Gauge(out, "takt_delivery_retries_total", "counter",
          "Failed deliveries to be tried again, since the server started.", c.retried);
    Gauge(out, "takt_dead_letters_total", "counter",
          "Commands given up on since the server started.", c.dead);
    Gauge(out, "takt_commands_unrouted", "gauge",
          "Commands waiting that no connector delivers.", c.unrouted);
  }
  return out;
}

}  // namespace takt::serve
