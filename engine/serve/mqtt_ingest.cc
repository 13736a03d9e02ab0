#include "engine/serve/mqtt_ingest.h"

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "engine/serve/server.h"

namespace takt::serve {

using connect::MqttConnectOptions;
using connect::MqttMessage;
using connect::MqttSession;
using connect::TopicMatches;
namespace {

std::vector<std::string_view> Levels(std::string_view topic) {
  std::vector<std::string_view> levels;
  for (;;) {
    const size_t slash = topic.find('/');
    levels.push_back(topic.substr(0, slash));
    if (slash == std::string_view::npos) return levels;
    topic.remove_prefix(slash + 1);
  }
}

// The value a field spec names: payload.NAME, topic.N, or the spec itself.
bool Resolve(const std::string& spec, const nlohmann::json* payload,
             const std::vector<std::string_view>& levels, nlohmann::json& out,
             std::string& reason) {
  if (spec.rfind("payload.", 0) == 0) {
    const std::string name = spec.substr(8);
    if (payload == nullptr || !payload->is_object() || !payload->contains(name)) {
      reason = "payload has no field " + name;
      return false;
    }
    out = (*payload)[name];
    return true;
  }
  if (spec.rfind("topic.", 0) == 0) {
    const std::string index = spec.substr(6);
    const size_t n = static_cast<size_t>(std::strtoul(index.c_str(), nullptr, 10));
    if (n >= levels.size()) {
      reason = "topic has no level " + index;
      return false;
    }
    out = std::string(levels[n]);
    return true;
  }
  out = spec;
  return true;
}

bool AsInteger(nlohmann::json& value, const char* field, std::string& reason) {
  if (value.is_number_integer()) return true;
  if (value.is_string()) {
    const std::string text = value.get<std::string>();
    char* end = nullptr;
    const long long n = std::strtoll(text.c_str(), &end, 10);
    if (!text.empty() && end != nullptr && *end == '\0') {
      value = n;
      return true;
    }
  }
  reason = std::string(field) + ": expected an integer";
  return false;
}

}  // namespace

bool MapMessage(const MqttSubscription& s, const MqttMessage& message, std::string& event_json,
                std::string& reason) {
  // MQTT requires topics in UTF-8 and brokers check it, but a level may become the event's
  // key: one that is not would make the event impossible to write as JSON.
  if (!simdjson::validate_utf8(message.topic.data(), message.topic.size())) {
    reason = "topic is not UTF-8";
    return false;
  }
  nlohmann::json payload = nlohmann::json::parse(message.payload, nullptr, false);
  const nlohmann::json* p = payload.is_discarded() ? nullptr : &payload;
  const std::vector<std::string_view> levels = Levels(message.topic);
  nlohmann::json id, type, key, seq, ts, data;
  if (!Resolve(s.id, p, levels, id, reason) || !Resolve(s.type, p, levels, type, reason) ||
      !Resolve(s.key, p, levels, key, reason) || !Resolve(s.seq, p, levels, seq, reason) ||
      !Resolve(s.ts, p, levels, ts, reason)) {
    if (p == nullptr) reason = "payload is not JSON (" + reason + ")";
    return false;
  }
  if (s.data == "payload") {
    if (p == nullptr || !p->is_object()) {
      reason = "payload is not a JSON object";
      return false;
    }
    data = payload;
  } else if (!Resolve(s.data, p, levels, data, reason)) {
    return false;
  }
  if (!AsInteger(seq, "seq", reason) || !AsInteger(ts, "ts", reason)) return false;
  for (const auto& [name, value] : {std::pair<const char*, nlohmann::json*>{"id", &id},
                                    {"type", &type},
                                    {"key", &key}}) {
    if (!value->is_string()) {
      reason = std::string(name) + ": expected a string";
      return false;
    }
  }
  nlohmann::ordered_json event;
  event["id"] = id;
  event["source"] = s.source;
  event["type"] = type;
  event["key"] = key;
  event["seq"] = seq;
  event["ts"] = ts;
  event["data"] = data;
  event_json = event.dump();
  return true;
}

void MqttIngest::Start() {
  thread_ = std::thread([this] { Run(); });
}

void MqttIngest::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void MqttIngest::Run() {
  std::mt19937_64 random(std::random_device{}());
  int64_t backoff = options_.reconnect_min_ms;
  while (!stop_) {
    MqttSession session;
    MqttConnectOptions connect;
    connect.host = options_.host;
    connect.port = options_.port;
    connect.client_id = options_.client_id;
    connect.username = options_.username;
    connect.password = options_.password;
    connect.keepalive_s = options_.keepalive_s;
    connect.tls = options_.tls.enabled;
    connect.tls_ca = options_.tls.ca;
    connect.tls_cert = options_.tls.cert;
    connect.tls_key = options_.tls.key;
    connect.clean_session = false;  // the broker keeps what we did not acknowledge
    Status status = session.Connect(connect);
    if (status.ok()) {
      server_.metrics().SetMqttConnected(true);
      server_.Log(LogLevel::kInfo, "MQTT connected to " + options_.host + ":" +
                                       std::to_string(options_.port) +
                                       (options_.tls.enabled ? " over TLS" : ""));
      backoff = options_.reconnect_min_ms;
      status = Serve(session);
      server_.metrics().SetMqttConnected(false);
    }
    session.Close();
    if (stop_) break;
    server_.Log(LogLevel::kWarn, status.message() + "; reconnecting");
    server_.metrics().CountMqtt("reconnects");
    // Full jitter, so that many clients of one restarted broker do not come back together.
    const int64_t wait = std::uniform_int_distribution<int64_t>(0, backoff)(random);
    for (int64_t waited = 0; waited < wait && !stop_; waited += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    backoff = std::min(options_.reconnect_max_ms, backoff * 2);
  }
}

Status MqttIngest::Serve(MqttSession& session) {
  std::vector<std::string> filters;
  for (const MqttSubscription& s : options_.subscriptions) filters.push_back(s.filter);
  TAKT_RETURN_IF_ERROR(session.Subscribe(filters, 1));
  std::string list;
  for (const std::string& f : filters) list += (list.empty() ? "" : ", ") + f;
  server_.Log(LogLevel::kInfo, "MQTT subscribed to " + list + " at QoS 1");
  // Messages taken together: those that arrived while the last batch was committed.
  constexpr size_t kMaxBatch = 512;
  std::vector<MqttMessage> batch;
  std::vector<std::string> events;
  std::vector<const MqttSubscription*> subscriptions;
  while (!stop_) {
    batch.clear();
    Result<std::optional<MqttMessage>> next = session.Next(100);
    if (!next.ok()) return next.status();
    if (!next.value()) continue;
    batch.push_back(std::move(*next.value()));
    while (batch.size() < kMaxBatch) {
      Result<std::optional<MqttMessage>> more = session.Next(0);
      if (!more.ok()) return more.status();
      if (!more.value()) break;
      batch.push_back(std::move(*more.value()));
    }
    const auto received = std::chrono::steady_clock::now();
    // By source: each source's events are checked as that source's credential would be.
    events.assign(batch.size(), std::string());
    subscriptions.assign(batch.size(), nullptr);
    for (size_t i = 0; i < batch.size(); ++i) {
      const MqttMessage& m = batch[i];
      server_.metrics().CountMqtt("received");
      if (m.dup) server_.metrics().CountMqtt("redelivered");
      for (const MqttSubscription& s : options_.subscriptions) {
        if (TopicMatches(s.filter, m.topic)) {
          subscriptions[i] = &s;
          break;
        }
      }
      std::string reason = "no subscription matches topic " + m.topic;
      if (subscriptions[i] == nullptr ||
          !MapMessage(*subscriptions[i], m, events[i], reason)) {
        events[i].clear();
        server_.metrics().CountMqtt("unmapped");
        server_.Log(LogLevel::kWarn, "MQTT message on " + m.topic + " refused: " + reason);
      }
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (events[i].empty()) continue;
      // Consecutive messages of one source go together.
      size_t end = i;
      std::vector<std::string_view> group;
      while (end < batch.size() && (events[end].empty() ||
                                    subscriptions[end]->source == subscriptions[i]->source)) {
        if (!events[end].empty()) group.push_back(events[end]);
        ++end;
      }
      const Credential& who = server_.MqttCredential(subscriptions[i]->source);
      std::vector<EventAnswer> answers;
      std::string forbidden;
      ServerImpl::Hold hold = server_.Use();
      if (hold.engine == nullptr) return Status::IoError("the engine is not open");
      // A message whose type its source does not own is refused alone (logged and counted
      // by Ingest), not with the others.
      Status status = server_.ingest().Submit(*hold.engine, who, group, received, answers,
                                              forbidden, /*all_or_nothing=*/false);
      if (!status.ok()) return status;  // nothing acknowledged: the broker sends them again
      i = end - 1;
    }
    // Committed (or refused for good): now the broker may forget them, in the order they came.
    for (const MqttMessage& m : batch) {
      if (m.qos > 0) TAKT_RETURN_IF_ERROR(session.Ack(m.packet_id));
    }
  }
  return Status();
}

}  // namespace takt::serve
