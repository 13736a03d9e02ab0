// The JSON documents of the C API (include/takt/takt.h, docs/embedding.md): engine options in,
// results, commands, instances and stats out. Field order is fixed, so that the same values
// give the same bytes.
#ifndef TAKT_ENGINE_HARNESS_JSON_CODEC_H_
#define TAKT_ENGINE_HARNESS_JSON_CODEC_H_

#include <string>
#include <string_view>
#include <vector>

#include "takt/engine.h"

namespace takt::api {

// kInvalidArgument naming the key for an unknown key, a value of the wrong type, or text that
// is not a JSON object.
Result<EngineOptions> OptionsFromJson(std::string_view json);

std::string ResultJson(const SubmitResult& result);
std::string ResultsJson(const std::vector<SubmitResult>& results);
std::string CommandJson(const Command& command);
std::string PendingCommandsJson(const std::vector<PendingCommand>& pending);
std::string InstanceJson(const InstanceInfo& instance);
std::string StatsJson(const EngineStats& stats);

}  // namespace takt::api

#endif  // TAKT_ENGINE_HARNESS_JSON_CODEC_H_
