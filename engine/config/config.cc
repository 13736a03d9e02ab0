// Reading the configuration file with toml++ (header-only here, so that libtakt needs no
// library more at run time). Every key is checked against what it may be, and every error
// names the file, the line and column of the key, and the key, so that a typo is found, not
// silently ignored.
#include "takt/config.h"

#include <toml++/toml.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <utility>

namespace takt {
namespace {

namespace fs = std::filesystem;

class Reader {
 public:
  Reader(std::string path, EnvironmentLookup environment)
      : path_(std::move(path)), environment_(std::move(environment)) {}

  Status Read(const toml::table& root, Config& config);

 private:
  // "FILE:LINE:COLUMN: " for `node` (the table's position when the node has none).
  std::string Where(const toml::node* node) const {
    const toml::source_region& at = node != nullptr ? node->source() : toml::source_region{};
    return path_ + ":" + std::to_string(at.begin.line) + ":" + std::to_string(at.begin.column) +
           ": ";
  }
  Status Error(const toml::node* node, const std::string& what) const {
    return Status::ParseError(Where(node) + what);
  }
  // Every key of `table` (named `name`, as "[engine]") must be one of `known`.
  Status OnlyKnown(const toml::table& table, const std::string& name,
                   const std::set<std::string>& known) const {
    for (const auto& [key, node] : table) {
      if (known.count(std::string(key.str())) == 0) {
        std::string list;
        for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
        const toml::source_position at = key.source().begin;
        return Status::ParseError(path_ + ":" + std::to_string(at.line) + ":" +
                                  std::to_string(at.column) + ": " + name + " has no key '" +
                                  std::string(key.str()) + "' (it has: " + list + ")");
      }
    }
    return Status();
  }
  Status String(const toml::table& t, const std::string& name, const char* key,
                std::string& out) const {
    const toml::node* node = t.get(key);
    if (node == nullptr) return Status();
    if (!node->is_string()) return Error(node, name + " " + key + ": expected a string");
    out = node->as_string()->get();
    return Status();
  }
  Status Path(const toml::table& t, const std::string& name, const char* key,
              std::string& out) const {
    TAKT_RETURN_IF_ERROR(String(t, name, key, out));
    if (!out.empty()) out = Resolve(out);
    return Status();
  }
  Status Integer(const toml::table& t, const std::string& name, const char* key, int64_t min,
                 int64_t& out) const {
    const toml::node* node = t.get(key);
    if (node == nullptr) return Status();
    if (!node->is_integer()) return Error(node, name + " " + key + ": expected an integer");
    const int64_t value = node->as_integer()->get();
    if (value < min) {
      return Error(node, name + " " + key + ": " + std::to_string(value) + " is below " +
                             std::to_string(min));
    }
    out = value;
    return Status();
  }
  Status Boolean(const toml::table& t, const std::string& name, const char* key,
                 bool& out) const {
    const toml::node* node = t.get(key);
    if (node == nullptr) return Status();
    if (!node->is_boolean()) return Error(node, name + " " + key + ": expected true or false");
    out = node->as_boolean()->get();
    return Status();
  }
  Status Strings(const toml::table& t, const std::string& name, const char* key,
                 std::vector<std::string>& out) const {
    const toml::node* node = t.get(key);
    if (node == nullptr) return Status();
    if (node->is_string()) {  // one value may stand for a list of one
      out = {node->as_string()->get()};
      return Status();
    }
    const toml::array* list = node->as_array();
    if (list == nullptr) return Error(node, name + " " + key + ": expected a list of strings");
    out.clear();
    for (const toml::node& item : *list) {
      if (!item.is_string()) return Error(&item, name + " " + key + ": expected strings only");
      out.push_back(item.as_string()->get());
    }
    return Status();
  }
  std::string Resolve(const std::string& p) const {
    const fs::path path(p);
    if (path.is_absolute()) return p;
    return (fs::path(path_).parent_path() / path).lexically_normal().string();
  }

  Status ReadEngine(const toml::table& t, EngineOptions& engine) const;
  Status ReadDispatch(const toml::table& t, DispatchOptions& dispatch) const;
  Status ReadConnector(const toml::table& t, ConnectorOptions& connector) const;

  std::string path_;
  EnvironmentLookup environment_;
};

Status Reader::Read(const toml::table& root, Config& config) {
  TAKT_RETURN_IF_ERROR(OnlyKnown(root, "the file", {"engine", "dispatch", "connector"}));
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

Status Reader::ReadConnector(const toml::table& t, ConnectorOptions& c) const {
  std::string name = "[[connector]]";
  TAKT_RETURN_IF_ERROR(OnlyKnown(t, name, {"name", "kind", "commands", "url", "secret_env",
                                           "timeout_ms", "retry", "protocol", "database",
                                           "login", "equipment_field", "order_field",
                                           "backorder"}));
  TAKT_RETURN_IF_ERROR(String(t, name, "name", c.name));
  if (c.name.empty()) return Error(&t, name + " name: required");
  name = "connector " + c.name;
  TAKT_RETURN_IF_ERROR(String(t, name, "kind", c.kind));
  if (c.kind.empty()) return Error(&t, name + " kind: required (webhook or odoo)");
  TAKT_RETURN_IF_ERROR(Strings(t, name, "commands", c.commands));
  TAKT_RETURN_IF_ERROR(String(t, name, "url", c.url));
  TAKT_RETURN_IF_ERROR(String(t, name, "protocol", c.protocol));
  TAKT_RETURN_IF_ERROR(String(t, name, "database", c.database));
  TAKT_RETURN_IF_ERROR(String(t, name, "login", c.login));
  TAKT_RETURN_IF_ERROR(String(t, name, "equipment_field", c.equipment_field));
  TAKT_RETURN_IF_ERROR(String(t, name, "order_field", c.order_field));
  TAKT_RETURN_IF_ERROR(String(t, name, "backorder", c.backorder));
  TAKT_RETURN_IF_ERROR(Integer(t, name, "timeout_ms", 1, c.timeout_ms));
  std::string secret_env;
  TAKT_RETURN_IF_ERROR(String(t, name, "secret_env", secret_env));
  if (!secret_env.empty()) {
    std::optional<std::string> secret;
    if (environment_) {
      secret = environment_(secret_env);
    } else if (const char* value = std::getenv(secret_env.c_str())) {
      secret = value;
    }
    // Its name only: the value never goes into an error, a log or the configuration file.
    if (!secret || secret->empty()) {
      return Error(t.get("secret_env"), name + " secret_env: the environment variable " +
                                             secret_env + " is not set");
    }
    c.secret = *secret;
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

}  // namespace

Result<Config> LoadConfig(const std::string& path, const EnvironmentLookup& environment) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return Status::NotFound("no configuration file " + path);
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const toml::source_position at = e.source().begin;
    return Status::ParseError(path + ":" + std::to_string(at.line) + ":" +
                              std::to_string(at.column) + ": " + std::string(e.description()));
  }
  Config config;
  config.path = path;
  TAKT_RETURN_IF_ERROR(Reader(path, environment).Read(root, config));
  return config;
}

}  // namespace takt
