#include "engine/serve/metrics.h"

#include <cstdio>

namespace takt::serve {

std::string EscapeLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

std::string Number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", v);
  return buffer;
}

}  // namespace

void AppendFamily(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

namespace {

void Samples(std::string& out, std::string_view name,
             const std::map<std::string, uint64_t>& by_labels) {
  for (const auto& [labels, value] : by_labels) {
    out += name;
    out += '{';
    out += labels;
    out += "} ";
    out += std::to_string(value);
    out += '\n';
  }
}

}  // namespace

void Histogram::Observe(double value) {
  size_t bucket = 0;
  while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

void Histogram::Render(std::string_view name, std::string_view labels, std::string& out) const {
  const std::string prefix = labels.empty() ? "" : std::string(labels) + ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name;
    out += "_bucket{" + prefix + "le=\"" + (i < bounds_.size() ? Number(bounds_[i]) : "+Inf") +
           "\"} " + std::to_string(cumulative) + "\n";
  }
  const std::string braces = labels.empty() ? "" : "{" + std::string(labels) + "}";
  out += std::string(name) + "_sum" + braces + " " + Number(sum_) + "\n";
  out += std::string(name) + "_count" + braces + " " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : commit_latency_({0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}),
      submission_events_({1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000}) {}

void Metrics::CountEvent(std::string_view source, std::string_view type,
                         std::string_view outcome, uint64_t n) {
  std::string labels = "source=\"" + EscapeLabel(source) + "\",type=\"" + EscapeLabel(type) +
                       "\",outcome=\"" + EscapeLabel(outcome) + "\"";
  std::lock_guard<std::mutex> lock(mu_);
  events_[labels] += n;
}

void Metrics::ObserveCommitLatency(double seconds, size_t events) {
  std::lock_guard<std::mutex> lock(mu_);
  commit_latency_.Observe(seconds);
  submission_events_.Observe(static_cast<double>(events));
}

void Metrics::CountRequest(std::string_view endpoint, int status) {
  std::string labels =
      "endpoint=\"" + EscapeLabel(endpoint) + "\",code=\"" + std::to_string(status) + "\"";
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[labels];
}

void Metrics::CountMqtt(std::string_view what, uint64_t n) {
  std::string labels = "what=\"" + EscapeLabel(what) + "\"";
  std::lock_guard<std::mutex> lock(mu_);
  mqtt_[labels] += n;
}

void Metrics::SetMqttConnected(bool connected) {
  std::lock_guard<std::mutex> lock(mu_);
  mqtt_connected_ = connected;
}

void Metrics::CountReload(std::string_view what, bool ok) {
  std::string labels =
      "what=\"" + EscapeLabel(what) + "\",result=\"" + (ok ? "ok" : "refused") + "\"";
  std::lock_guard<std::mutex> lock(mu_);
  ++reloads_[labels];
}

void Metrics::ObserveDelivery(std::string_view connector, std::string_view result,
                              uint32_t attempt, double seconds) {
  const std::string labels = "connector=\"" + EscapeLabel(connector) + "\",result=\"" +
                             EscapeLabel(result) + "\"";
  std::lock_guard<std::mutex> lock(mu_);
  delivery_seconds_
      .try_emplace(labels, std::vector<double>{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                               1, 2.5, 5, 10})
      .first->second.Observe(seconds);
  delivery_attempts_.try_emplace(labels, std::vector<double>{1, 2, 3, 5, 10, 20, 50})
      .first->second.Observe(static_cast<double>(attempt));
}

void Metrics::Render(std::string& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  AppendFamily(out, "takt_events_total", "counter",
         "Events received, by source, type and outcome (since the server started).");
  Samples(out, "takt_events_total", events_);
  AppendFamily(out, "takt_commit_latency_seconds", "histogram",
         "From a submission's receipt to its commit (its answer).");
  commit_latency_.Render("takt_commit_latency_seconds", "", out);
  AppendFamily(out, "takt_submission_events", "histogram",
         "Events per submission (an HTTP request or an MQTT message), committed together.");
  submission_events_.Render("takt_submission_events", "", out);
  AppendFamily(out, "takt_http_requests_total", "counter", "HTTP requests by endpoint and status.");
  Samples(out, "takt_http_requests_total", requests_);
  AppendFamily(out, "takt_mqtt_messages_total", "counter",
         "MQTT messages: received, redelivered by the broker, unmapped (rejected).");
  Samples(out, "takt_mqtt_messages_total", mqtt_);
  AppendFamily(out, "takt_mqtt_connected", "gauge", "1 while connected to the MQTT broker.");
  out += "takt_mqtt_connected " + std::string(mqtt_connected_ ? "1" : "0") + "\n";
  AppendFamily(out, "takt_reloads_total", "counter", "Reloads of rules and workflows, ok or refused.");
  Samples(out, "takt_reloads_total", reloads_);
  AppendFamily(out, "takt_delivery_seconds", "histogram",
         "Each delivery attempt's duration, by connector and result (delivered, retry, dead).");
  for (const auto& [labels, h] : delivery_seconds_) h.Render("takt_delivery_seconds", labels, out);
  AppendFamily(out, "takt_delivery_attempt", "histogram",
         "The number of each delivery attempt (1: the first), by connector and result.");
  for (const auto& [labels, h] : delivery_attempts_) {
    h.Render("takt_delivery_attempt", labels, out);
  }
}

}  // namespace takt::serve
