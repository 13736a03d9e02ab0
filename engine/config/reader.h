// The configuration file's reader (toml++): every key is checked against what it may be, and
// every error names the file, the line and column of the key, and the key. config.cc reads the
// engine and the connectors, serve_config.cc what takt serve adds.
#ifndef TAKT_ENGINE_CONFIG_READER_H_
#define TAKT_ENGINE_CONFIG_READER_H_

#include <toml++/toml.h>

#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "takt/config.h"
#include "takt/serve.h"

namespace takt::config {

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

  // The value of the environment variable that `key` (e.g. secret_env) names, into `out`; an
  // error names the variable, never a value.
  Status Secret(const toml::table& t, const std::string& name, const char* key,
                std::string& out) const;

  Status ReadEngine(const toml::table& t, EngineOptions& engine) const;
  Status ReadDispatch(const toml::table& t, DispatchOptions& dispatch) const;
  Status ReadConnector(const toml::table& t, ConnectorOptions& connector) const;
  // tls_ca, tls_cert and tls_key of a [[connector]] or of [mqtt]: paths as Path() reads them,
  // the files there, the certificate and its key both or neither.
  Status TlsFiles(const toml::table& t, const std::string& name, TlsClient& tls) const;
  // serve_config.cc: [serve], [[credential]], [mqtt] and its [[mqtt.subscription]].
  Status ReadServe(const toml::table& t, ServeOptions& serve) const;
  Status ReadCredential(const toml::table& t, Credential& credential) const;
  Status ReadMqtt(const toml::table& t, MqttOptions& mqtt) const;

  std::string path_;
  EnvironmentLookup environment_;
};

}  // namespace takt::config

#endif  // TAKT_ENGINE_CONFIG_READER_H_
