// [serve], [[credential]] and [mqtt]: what takt serve reads besides the engine and connectors.
#include <limits>

#include "engine/config/reader.h"

namespace takt::config {
namespace {

bool IsHexDigest(const std::string& text) {
  if (text.size() != 64) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

Status Reader::ReadServe(const toml::table& t, ServeOptions& s) const {
  const std::string name = "[serve]";
  TAKT_RETURN_IF_ERROR(OnlyKnown(t, name, {"listen", "port", "tls_cert", "tls_key",
                                           "max_body_bytes", "read_timeout_ms",
                                           "write_timeout_ms", "max_connections",
                                           "clock_interval_ms", "watch_definitions"}));
  TAKT_RETURN_IF_ERROR(String(t, name, "listen", s.host));
  int64_t port = s.port;
  TAKT_RETURN_IF_ERROR(Integer(t, name, "port", 0, port));
  if (port > 65535) return Error(t.get("port"), name + " port: at most 65535");
  s.port = static_cast<uint16_t>(port);
  TAKT_RETURN_IF_ERROR(Path(t, name, "tls_cert", s.tls_cert));
  TAKT_RETURN_IF_ERROR(Path(t, name, "tls_key", s.tls_key));
  if (s.tls_cert.empty() != s.tls_key.empty()) {
    return Error(&t, name + " tls_cert and tls_key: both or neither");
  }
  int64_t body = static_cast<int64_t>(s.max_body_bytes);
  TAKT_RETURN_IF_ERROR(Integer(t, name, "max_body_bytes", 1024, body));
  s.max_body_bytes = static_cast<size_t>(body);
  TAKT_RETURN_IF_ERROR(Integer(t, name, "read_timeout_ms", 1, s.read_timeout_ms));
  TAKT_RETURN_IF_ERROR(Integer(t, name, "write_timeout_ms", 1, s.write_timeout_ms));
  int64_t connections = s.max_connections;
  TAKT_RETURN_IF_ERROR(Integer(t, name, "max_connections", 1, connections));
  if (connections > 4096) {
    return Error(t.get("max_connections"), name + " max_connections: at most 4096");
  }
  s.max_connections = static_cast<uint32_t>(connections);
  TAKT_RETURN_IF_ERROR(Integer(t, name, "clock_interval_ms", 0, s.clock_interval_ms));
  return Boolean(t, name, "watch_definitions", s.watch_definitions);
}

Status Reader::ReadCredential(const toml::table& t, Credential& c) const {
  std::string name = "[[credential]]";
  TAKT_RETURN_IF_ERROR(OnlyKnown(t, name, {"name", "source", "admin", "token_sha256"}));
  TAKT_RETURN_IF_ERROR(String(t, name, "name", c.name));
  if (c.name.empty()) return Error(&t, name + " name: required");
  name = "credential " + c.name;
  TAKT_RETURN_IF_ERROR(String(t, name, "source", c.source));
  TAKT_RETURN_IF_ERROR(Boolean(t, name, "admin", c.admin));
  TAKT_RETURN_IF_ERROR(String(t, name, "token_sha256", c.token_sha256));
  if (!IsHexDigest(c.token_sha256)) {
    return Error(t.get("token_sha256") != nullptr ? t.get("token_sha256") : &t,
                 name + " token_sha256: required, the SHA-256 of the token in 64 lowercase hex "
                        "digits (takt serve --hash-token); never the token itself");
  }
  if (c.source.empty() && !c.admin) {
    return Error(&t, name + ": neither a source to publish as nor admin: it could do nothing");
  }
  return Status();
}

Status Reader::ReadMqtt(const toml::table& t, MqttOptions& m) const {
  const std::string name = "[mqtt]";
  TAKT_RETURN_IF_ERROR(OnlyKnown(t, name, {"host", "port", "client_id", "username",
                                           "password_env", "keepalive_s", "reconnect_min_ms",
                                           "reconnect_max_ms", "tls", "tls_ca", "tls_cert",
                                           "tls_key", "subscription"}));
  TAKT_RETURN_IF_ERROR(String(t, name, "host", m.host));
  if (m.host.empty()) return Error(&t, name + " host: required");
  TAKT_RETURN_IF_ERROR(Boolean(t, name, "tls", m.tls.enabled));
  TAKT_RETURN_IF_ERROR(TlsFiles(t, name, m.tls));
  if (!m.tls.enabled) {
    for (const char* key : {"tls_ca", "tls_cert", "tls_key"}) {
      if (t.get(key) != nullptr) {
        return Error(t.get(key), name + " " + key + ": only with tls = true");
      }
    }
  }
  int64_t port = m.tls.enabled ? 8883 : m.port;
  TAKT_RETURN_IF_ERROR(Integer(t, name, "port", 1, port));
  if (port > 65535) return Error(t.get("port"), name + " port: at most 65535");
  m.port = static_cast<uint16_t>(port);
  TAKT_RETURN_IF_ERROR(String(t, name, "client_id", m.client_id));
  if (m.client_id.empty()) return Error(t.get("client_id"), name + " client_id: not empty");
  TAKT_RETURN_IF_ERROR(String(t, name, "username", m.username));
  TAKT_RETURN_IF_ERROR(Secret(t, name, "password_env", m.password));
  int64_t keepalive = m.keepalive_s;
  TAKT_RETURN_IF_ERROR(Integer(t, name, "keepalive_s", 1, keepalive));
  if (keepalive > 65535) return Error(t.get("keepalive_s"), name + " keepalive_s: at most 65535");
  m.keepalive_s = static_cast<uint16_t>(keepalive);
  TAKT_RETURN_IF_ERROR(Integer(t, name, "reconnect_min_ms", 1, m.reconnect_min_ms));
  TAKT_RETURN_IF_ERROR(Integer(t, name, "reconnect_max_ms", 1, m.reconnect_max_ms));
  if (m.reconnect_max_ms < m.reconnect_min_ms) {
    return Error(t.get("reconnect_max_ms"), name + " reconnect_max_ms: below reconnect_min_ms");
  }
  const toml::node* subscriptions = t.get("subscription");
  const toml::array* list = subscriptions != nullptr ? subscriptions->as_array() : nullptr;
  if (list == nullptr || !list->is_array_of_tables() || list->empty()) {
    return Error(subscriptions != nullptr ? subscriptions : &t,
                 name + ": at least one [[mqtt.subscription]] is required");
  }
  for (const toml::node& node : *list) {
    const toml::table& s = *node.as_table();
    MqttSubscription& sub = m.subscriptions.emplace_back();
    std::string sn = "[[mqtt.subscription]]";
    TAKT_RETURN_IF_ERROR(OnlyKnown(s, sn, {"filter", "source", "id", "type", "key", "seq", "ts",
                                           "data"}));
    TAKT_RETURN_IF_ERROR(String(s, sn, "filter", sub.filter));
    if (sub.filter.empty()) return Error(&s, sn + " filter: required");
    sn = "subscription " + sub.filter;
    TAKT_RETURN_IF_ERROR(String(s, sn, "source", sub.source));
    if (sub.source.empty()) return Error(&s, sn + " source: required");
    for (const auto& [key, field] :
         {std::pair<const char*, std::string*>{"id", &sub.id}, {"type", &sub.type},
          {"key", &sub.key}, {"seq", &sub.seq}, {"ts", &sub.ts}, {"data", &sub.data}}) {
      TAKT_RETURN_IF_ERROR(String(s, sn, key, *field));
      if (field->empty()) return Error(s.get(key), sn + " " + key + ": not empty");
    }
    if (sub.data != "payload" && sub.data.rfind("payload.", 0) != 0) {
      return Error(s.get("data"), sn + " data: payload or payload.FIELD");
    }
  }
  return Status();
}

}  // namespace takt::config
