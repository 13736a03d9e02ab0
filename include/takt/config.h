// takt's configuration file: one TOML file for the engine (definitions, rules, database), the
// connectors commands leave through, and the server (takt serve). docs/operations.md describes
// every key, and examples/serve/takt.toml is a complete, commented one.
#ifndef TAKT_CONFIG_H_
#define TAKT_CONFIG_H_

#include <functional>
#include <optional>
#include <string>

#include "takt/dispatch.h"
#include "takt/engine.h"
#include "takt/serve.h"
#include "takt/export.h"
#include "takt/status.h"

namespace takt {

struct Config {
  std::string path;          // the file it was read from
  // [engine], when the file has one (takt dispatch needs it; an embedding service that opens
  // its engine itself may leave it out); relative paths are relative to the file's directory.
  EngineOptions engine;
  DispatchOptions dispatch;  // [dispatch] and each [[connector]]
  ServeOptions serve;        // [serve], each [[credential]], [mqtt] (takt serve)
};

// Reads a variable of the environment: the value, or none when it is not set.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Reads `path`. Fails with kNotFound when the file does not exist, and with kParseError, naming
// file:line:column, for TOML that does not parse and for a key that is unknown, of the wrong
// type or out of range, or missing where it is required. A connector's secret is read from the
// environment variable its `secret_env` names (through `environment`; default: the process's);
// an error names the variable, never its value.
TAKT_API Result<Config> LoadConfig(const std::string& path,
                                   const EnvironmentLookup& environment = nullptr);

}  // namespace takt

#endif  // TAKT_CONFIG_H_
