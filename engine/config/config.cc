// Reading the configuration file with toml++ (header-only here, so that libtakt needs no
// library more at run time). Every key is checked against what it may be, and every error
// names the file, the line and column of the key, and the key, so that a typo is found, not
// silently ignored.
#include "takt/config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "engine/config/reader.h"
#include "engine/config/toml_guard.h"

namespace takt {
namespace config {

Status Reader::Read(const toml::table& root, Config& config) {
  TAKT_RETURN_IF_ERROR(OnlyKnown(root, "the file", {"engine", "dispatch", "connector", "serve",
                                                    "credential", "mqtt"}));
  // Without [engine], the file configures delivery only (an embedding service that opens its
  // engine itself); takt dispatch and takt dlq need it, for the database.
  if (const toml::node* engine = root.get("engine")) {
    if (!engine->is_table()) return Error(engine, "[engine] must be a table");
    TAKT_RETURN_IF_ERROR(ReadEngine(*engine->as_table(), config.engine));
  }
  if (const toml::node* dispatch = root.get("dispatch")) {
    if (!dispatch->is_table()) return Error(dispatch, "[dispatch] must be a table");
    TAKT_RETURN_IF_ERROR(ReadDispatch(*dispatch->as_table(), config.dispatch));
  }
  if (const toml::node* serve = root.get("serve")) {
    if (!serve->is_table()) return Error(serve, "[serve] must be a table");
    TAKT_RETURN_IF_ERROR(ReadServe(*serve->as_table(), config.serve));
  }
  if (const toml::node* mqtt = root.get("mqtt")) {
    if (!mqtt->is_table()) return Error(mqtt, "[mqtt] must be a table");
    TAKT_RETURN_IF_ERROR(ReadMqtt(*mqtt->as_table(), config.serve.mqtt));
  }
  if (const toml::node* credentials = root.get("credential")) {
    const toml::array* list = credentials->as_array();
    if (list == nullptr || !list->is_array_of_tables()) {
      return Error(credentials, "credentials are [[credential]] tables");
    }
    std::set<std::string> names;
    for (const toml::node& node : *list) {
      Credential& c = config.serve.credentials.emplace_back();
      TAKT_RETURN_IF_ERROR(ReadCredential(*node.as_table(), c));
      if (!names.insert(c.name).second) {
        return Error(&node, "credential " + c.name + " is configured twice");
      }
    }
  }
  if (const toml::node* connectors = root.get("connector")) {
    const toml::array* list = connectors->as_array();
    if (list == nullptr || !list->is_array_of_tables()) {
      return Error(connectors, "connectors are [[connector]] tables");
    }
    std::set<std::string> names;
    for (const toml::node& node : *list) {
      ConnectorOptions& c = config.dispatch.connectors.emplace_back();
      TAKT_RETURN_IF_ERROR(ReadConnector(*node.as_table(), c));
      if (!names.insert(c.name).second) {
        return Error(&node, "connector " + c.name + " is configured twice");
      }
    }
  }
  return Status();
}

Status Reader::Secret(const toml::table& t, const std::string& name, const char* key,
                      std::string& out) const {
  std::string variable;
  TAKT_RETURN_IF_ERROR(String(t, name, key, variable));
  if (variable.empty()) return Status();
  std::optional<std::string> value;
  if (environment_) {
    value = environment_(variable);
  } else if (const char* v = std::getenv(variable.c_str())) {
    value = v;
  }
  // Its name only: the value never goes into an error, a log or the configuration file.
  if (!value || value->empty()) {
    return Error(t.get(key), name + " " + key + ": the environment variable " + variable +
                                 " is not set");
  }
  out = *value;
  return Status();
}

Status Reader::ReadEngine(const toml::table& t, EngineOptions& engine) const {
  const std::string name = "[engine]";
  TAKT_RETURN_IF_ERROR(OnlyKnown(t, name,
                                 {"workflows", "rules", "stdlib", "database", "durability",
                                  "watch_rules", "max_instances_in_memory", "rule_max_instructions",
                                  "rule_max_memory_bytes", "rule_timeout_ms", "monotonic"}));
  TAKT_RETURN_IF_ERROR(Strings(t, name, "workflows", engine.workflow_paths));
  if (t.get("workflows") == nullptr || engine.workflow_paths.empty()) {
    return Error(&t, name + " workflows: required, the .takt files or directories to load");
  }
  for (std::string& p : engine.workflow_paths) p = Resolve(p);
  TAKT_RETURN_IF_ERROR(Path(t, name, "rules", engine.rules_dir));
  TAKT_RETURN_IF_ERROR(Path(t, name, "stdlib", engine.stdlib_dir));
  TAKT_RETURN_IF_ERROR(Path(t, name, "database", engine.store_path));
  std::string durability = "full";
  TAKT_RETURN_IF_ERROR(String(t, name, "durability", durability));
  if (durability == "full") {
    engine.durability = Durability::kFull;
  } else if (durability == "normal") {
    engine.durability = Durability::kNormal;
  } else {
    return Error(t.get("durability"), name + " durability: '" + durability +
                                          "' is neither full nor normal");
  }
  TAKT_RETURN_IF_ERROR(Boolean(t, name, "watch_rules", engine.watch_rules));
  int64_t cap = static_cast<int64_t>(engine.max_instances_in_memory);
  TAKT_RETURN_IF_ERROR(Integer(t, name, "max_instances_in_memory", 0, cap));
  engine.max_instances_in_memory = static_cast<uint64_t>(cap);
  TAKT_RETURN_IF_ERROR(Integer(t, name, "rule_max_instructions", 1, engine.rule_max_instructions));
  int64_t memory = static_cast<int64_t>(engine.rule_max_memory_bytes);
  TAKT_RETURN_IF_ERROR(Integer(t, name, "rule_max_memory_bytes", 1 << 20, memory));
  engine.rule_max_memory_bytes = static_cast<size_t>(memory);
  int64_t timeout = engine.rule_timeout_ms;
  TAKT_RETURN_IF_ERROR(Integer(t, name, "rule_timeout_ms", 1, timeout));
  engine.rule_timeout_ms = timeout;
  TAKT_RETURN_IF_ERROR(Strings(t, name, "monotonic", engine.monotonic));
  return Status();
}

Status Reader::ReadDispatch(const toml::table& t, DispatchOptions& dispatch) const {
  const std::string name = "[dispatch]";
  TAKT_RETURN_IF_ERROR(OnlyKnown(t, name, {"max_in_flight", "poll_interval_ms"}));
  int64_t in_flight = dispatch.max_in_flight;
  TAKT_RETURN_IF_ERROR(Integer(t, name, "max_in_flight", 1, in_flight));
  if (in_flight > 1024) return Error(t.get("max_in_flight"), name + " max_in_flight: at most 1024");
  dispatch.max_in_flight = static_cast<uint32_t>(in_flight);
  return Integer(t, name, "poll_interval_ms", 1, dispatch.poll_interval_ms);
}

Status Reader::TlsFiles(const toml::table& t, const std::string& name, TlsClient& tls) const {
  TAKT_RETURN_IF_ERROR(Path(t, name, "tls_ca", tls.ca));
  TAKT_RETURN_IF_ERROR(Path(t, name, "tls_cert", tls.cert));
  TAKT_RETURN_IF_ERROR(Path(t, name, "tls_key", tls.key));
  if (tls.cert.empty() != tls.key.empty()) {
    return Error(t.get(tls.cert.empty() ? "tls_key" : "tls_cert"),
                 name + " tls_cert and tls_key: both or neither");
  }
  // A file that is not there fails here, with its line, rather than at every connection.
  for (const auto& [key, path] : {std::pair<const char*, const std::string*>{"tls_ca", &tls.ca},
                                  {"tls_cert", &tls.cert}, {"tls_key", &tls.key}}) {
    std::error_code ec;
    if (!path->empty() && !fs::is_regular_file(*path, ec)) {
      return Error(t.get(key), name + " " + key + ": no file " + *path);
    }
  }
  return Status();
}

Status Reader::ReadConnector(const toml::table& t, ConnectorOptions& c) const {
  std::string name = "[[connector]]";
  TAKT_RETURN_IF_ERROR(OnlyKnown(t, name, {"name", "kind", "commands", "url", "secret_env",
                                           "timeout_ms", "retry", "protocol", "database",
                                           "login", "equipment_field", "order_field",
                                           "backorder", "topic", "client_id", "tls_ca",
                                           "tls_cert", "tls_key"}));
  TAKT_RETURN_IF_ERROR(String(t, name, "name", c.name));
  if (c.name.empty()) return Error(&t, name + " name: required");
  name = "connector " + c.name;
  TAKT_RETURN_IF_ERROR(String(t, name, "kind", c.kind));
  if (c.kind.empty()) return Error(&t, name + " kind: required (webhook, odoo or mqtt)");
  TAKT_RETURN_IF_ERROR(Strings(t, name, "commands", c.commands));
  TAKT_RETURN_IF_ERROR(String(t, name, "url", c.url));
  TAKT_RETURN_IF_ERROR(String(t, name, "protocol", c.protocol));
  TAKT_RETURN_IF_ERROR(String(t, name, "database", c.database));
  TAKT_RETURN_IF_ERROR(String(t, name, "login", c.login));
  TAKT_RETURN_IF_ERROR(String(t, name, "equipment_field", c.equipment_field));
  TAKT_RETURN_IF_ERROR(String(t, name, "order_field", c.order_field));
  TAKT_RETURN_IF_ERROR(String(t, name, "backorder", c.backorder));
  TAKT_RETURN_IF_ERROR(Integer(t, name, "timeout_ms", 1, c.timeout_ms));
  TAKT_RETURN_IF_ERROR(Secret(t, name, "secret_env", c.secret));
  TAKT_RETURN_IF_ERROR(String(t, name, "topic", c.topic));
  TAKT_RETURN_IF_ERROR(String(t, name, "client_id", c.client_id));
  TAKT_RETURN_IF_ERROR(TlsFiles(t, name, c.tls));
  if ((!c.tls.ca.empty() || !c.tls.cert.empty()) && c.url.rfind("mqtts://", 0) != 0 &&
      c.url.rfind("https://", 0) != 0) {
    const char* key = c.tls.ca.empty() ? "tls_cert" : "tls_ca";
    return Error(t.get(key), name + " " + key + ": only for an https:// or mqtts:// url");
  }
  if (const toml::node* retry = t.get("retry")) {
    const toml::table* r = retry->as_table();
    if (r == nullptr) return Error(retry, name + " retry: expected a table");
    const std::string rn = "[connector.retry] of " + c.name;
    TAKT_RETURN_IF_ERROR(OnlyKnown(
        *r, rn, {"initial_backoff_ms", "max_backoff_ms", "max_attempts", "max_age_ms"}));
    TAKT_RETURN_IF_ERROR(Integer(*r, rn, "initial_backoff_ms", 1, c.retry.initial_backoff_ms));
    TAKT_RETURN_IF_ERROR(Integer(*r, rn, "max_backoff_ms", 1, c.retry.max_backoff_ms));
    int64_t attempts = c.retry.max_attempts;
    TAKT_RETURN_IF_ERROR(Integer(*r, rn, "max_attempts", 1, attempts));
    c.retry.max_attempts = static_cast<uint32_t>(std::min<int64_t>(attempts, UINT32_MAX));
    TAKT_RETURN_IF_ERROR(Integer(*r, rn, "max_age_ms", 1, c.retry.max_age_ms));
    if (c.retry.max_backoff_ms < c.retry.initial_backoff_ms) {
      return Error(r->get("max_backoff_ms"), rn + " max_backoff_ms: below initial_backoff_ms");
    }
  }
  return Status();
}

}  // namespace config

Result<Config> LoadConfig(const std::string& path, const EnvironmentLookup& environment) {
  std::error_code ec;
  if (!config::fs::exists(path, ec)) return Status::NotFound("no configuration file " + path);
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (!in && !in.eof()) return Status::IoError("cannot read the configuration file " + path);
    text = bytes.str();
  }
  const std::string unreadable = config::FindCharacterTomlCannotRead(text);
  if (!unreadable.empty()) return Status::ParseError(path + ":" + unreadable);
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    const toml::source_position at = e.source().begin;
    return Status::ParseError(path + ":" + std::to_string(at.line) + ":" +
                              std::to_string(at.column) + ": " + std::string(e.description()));
  }
  Config config;
  config.path = path;
  TAKT_RETURN_IF_ERROR(config::Reader(path, environment).Read(root, config));
  return config;
}

}  // namespace takt
