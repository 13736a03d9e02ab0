// The server's own measurements, kept as Prometheus counters and histograms and written in its
// text exposition format (version 0.0.4). The engine's and the dispatcher's counts are added at
// each scrape (server.cc), not kept here.
#ifndef TAKT_ENGINE_SERVE_METRICS_H_
#define TAKT_ENGINE_SERVE_METRICS_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace takt::serve {

// Label values escaped for the exposition format: backslash, quote and newline.
std::string EscapeLabel(std::string_view value);
// A family's "# HELP" and "# TYPE" lines.
void AppendFamily(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help);

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)),
                                                   counts_(bounds_.size() + 1, 0) {}
  void Observe(double value);
  // The family's sample lines under `name`, with `labels` ("a=\"b\"", or empty) on each.
  void Render(std::string_view name, std::string_view labels, std::string& out) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative); the last one: above all bounds
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  // events by source, type and outcome ("accepted", "duplicate", "held", or the engine's
  // rejection: "malformed", "out_of_sequence", ...; "forbidden" and "unauthorized" for what
  // access control refused before the engine saw it).
  void CountEvent(std::string_view source, std::string_view type, std::string_view outcome,
                  uint64_t n = 1);
  void ObserveCommitLatency(double seconds, size_t events);
  void CountRequest(std::string_view endpoint, int status);
  void CountMqtt(std::string_view what, uint64_t n = 1);  // received, redelivered, unmapped
  void SetMqttConnected(bool connected);
  void CountReload(std::string_view what, bool ok);  // what: rules, workflows
  // A delivery attempt through `connector`: its duration, and its number, by result
  // ("delivered", "retry", "dead").
  void ObserveDelivery(std::string_view connector, std::string_view result, uint32_t attempt,
                       double seconds);

  // Everything above, in the exposition format.
  void Render(std::string& out) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> events_;    // by label set
  std::map<std::string, uint64_t> requests_;  // by label set
  std::map<std::string, uint64_t> mqtt_;
  std::map<std::string, uint64_t> reloads_;
  bool mqtt_connected_ = false;
  Histogram commit_latency_;
  Histogram submission_events_;
  std::map<std::string, Histogram> delivery_seconds_;   // by connector and result
  std::map<std::string, Histogram> delivery_attempts_;  // by connector and result
};

}  // namespace takt::serve

#endif  // TAKT_ENGINE_SERVE_METRICS_H_
