#include "engine/harness/json_codec.h"

#include <nlohmann/json.hpp>

namespace takt::api {
namespace {

using Json = nlohmann::ordered_json;

// A JSON text the engine produced (a payload, an instance's variables) as a value.
Json Embedded(const std::string& text) {
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return value.is_discarded() ? Json(text) : value;
}

Json CommandValue(const Command& c) {
  Json j;
  j["id"] = c.id;
  j["name"] = c.name;
  j["payload"] = Embedded(c.payload_json);
  j["caused_by"] = c.caused_by;
  j["emitted_by"] = c.emitted_by;
  return j;
}

Json ResultValue(const SubmitResult& r) {
  Json j;
  j["outcome"] = OutcomeName(r.outcome);
  j["position"] = r.position;
  j["event_id"] = r.event_id;
  j["reason"] = r.reason;
  j["commands"] = Json::array();
  for (const Command& c : r.commands) j["commands"].push_back(CommandValue(c));
  j["signals"] = Json::array();
  for (const SignalRecord& s : r.signals) {
    j["signals"].push_back(Json{{"workflow", s.workflow}, {"key", s.key}, {"name", s.name},
                                {"delivered", s.delivered}, {"emitted_by", s.emitted_by}});
  }
  j["rule_errors"] = Json::array();
  for (const RuleError& e : r.rule_errors) {
    j["rule_errors"].push_back(Json{{"rule", e.rule}, {"version", e.version}, {"message", e.message}});
  }
  j["released"] = Json::array();
  for (const SubmitResult& released : r.released) j["released"].push_back(ResultValue(released));
  return j;
}

Status WrongType(const std::string& key, const char* expected) {
  return Status::InvalidArgument("options: \"" + key + "\" must be " + expected);
}

Status ReadReorder(const Json& value, std::vector<ReorderPolicy>& out) {
  if (!value.is_array()) return WrongType("reorder", "an array of {\"source\", \"max_held\", \"max_wait_ms\"}");
  for (const Json& item : value) {
    if (!item.is_object() || !item.contains("source") || !item["source"].is_string()) {
      return WrongType("reorder", "an array of objects, each with a \"source\" string");
    }
    ReorderPolicy policy;
    for (const auto& [key, v] : item.items()) {
      if (key == "source") {
        policy.source = v.get<std::string>();
      } else if (key == "max_held" && v.is_number_unsigned()) {
        policy.max_held = v.get<uint32_t>();
      } else if (key == "max_wait_ms" && v.is_number_integer()) {
        policy.max_wait_ms = v.get<int64_t>();
      } else {
        return Status::InvalidArgument("options: reorder: unknown key or wrong type: \"" + key + "\"");
      }
    }
    out.push_back(std::move(policy));
  }
  return Status();
}

}  // namespace

Result<EngineOptions> OptionsFromJson(std::string_view text) {
  const Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return Status::InvalidArgument("options: not a JSON object");
  }
  EngineOptions options;
  for (const auto& [key, value] : json.items()) {
    if (key == "workflows") {
      if (!value.is_array()) return WrongType(key, "an array of paths");
      options.workflow_paths.clear();
      for (const Json& path : value) {
        if (!path.is_string()) return WrongType(key, "an array of paths");
        options.workflow_paths.push_back(path.get<std::string>());
      }
    } else if (key == "stdlib_dir" || key == "rules_dir" || key == "store") {
      if (!value.is_string()) return WrongType(key, "a string");
      std::string& field = key == "stdlib_dir" ? options.stdlib_dir
                           : key == "rules_dir" ? options.rules_dir
                                                : options.store_path;
      field = value.get<std::string>();
    } else if (key == "durability") {
      if (value == "full") {
        options.durability = Durability::kFull;
      } else if (value == "normal") {
        options.durability = Durability::kNormal;
      } else {
        return WrongType(key, "\"full\" or \"normal\"");
      }
    } else if (key == "store_max_bytes" || key == "rule_max_memory_bytes") {
      if (!value.is_number_unsigned()) return WrongType(key, "a number of bytes");
      (key == "store_max_bytes" ? options.store_max_bytes : options.rule_max_memory_bytes) =
          value.get<uint64_t>();
    } else if (key == "max_event_bytes" || key == "max_json_depth") {
      if (!value.is_number_unsigned() || value.get<uint64_t>() == 0 ||
          value.get<uint64_t>() > (key == "max_json_depth" ? 100000u : uint64_t{1} << 31)) {
        return WrongType(key, key == "max_json_depth" ? "an integer from 1 to 100000"
                                                      : "a number of bytes from 1 to 2^31");
      }
      if (key == "max_event_bytes") {
        options.max_event_bytes = value.get<size_t>();
      } else {
        options.max_json_depth = value.get<uint32_t>();
      }
    } else if (key == "max_instances_in_memory") {
      if (!value.is_number_unsigned()) return WrongType(key, "a number of instances");
      options.max_instances_in_memory = value.get<uint64_t>();
    } else if (key == "rule_max_instructions" || key == "rule_timeout_ms") {
      if (!value.is_number_unsigned() || value.get<uint64_t>() == 0) {
        return WrongType(key, "a positive integer");
      }
      (key == "rule_max_instructions" ? options.rule_max_instructions : options.rule_timeout_ms) =
          value.get<int64_t>();
    } else if (key == "watch_rules") {
      if (!value.is_boolean()) return WrongType(key, "true or false");
      options.watch_rules = value.get<bool>();
    } else if (key == "reorder") {
      TAKT_RETURN_IF_ERROR(ReadReorder(value, options.reorder));
    } else if (key == "monotonic") {
      if (!value.is_array()) return WrongType(key, "an array of source names");
      for (const Json& source : value) {
        if (!source.is_string()) return WrongType(key, "an array of source names");
        options.monotonic.push_back(source.get<std::string>());
      }
    } else {
      return Status::InvalidArgument("options: unknown key \"" + key + "\"");
    }
  }
  return options;
}

std::string ResultJson(const SubmitResult& result) { return ResultValue(result).dump(); }

std::string ResultsJson(const std::vector<SubmitResult>& results) {
  Json array = Json::array();
  for (const SubmitResult& r : results) array.push_back(ResultValue(r));
  return array.dump();
}

std::string CommandJson(const Command& command) { return CommandValue(command).dump(); }

std::string PendingCommandsJson(const std::vector<PendingCommand>& pending) {
  Json array = Json::array();
  for (const PendingCommand& p : pending) {
    Json j = CommandValue(p.command);
    j["attempts"] = p.attempts;
    j["last_error"] = p.last_error;
    j["status"] = p.status;
    j["key"] = p.key;
    j["next_attempt_at_ms"] = p.next_attempt_at_ms;
    array.push_back(std::move(j));
  }
  return array.dump();
}

std::string InstanceJson(const InstanceInfo& i) {
  Json j;
  j["workflow"] = i.workflow;
  j["key"] = i.key;
  j["state"] = i.state;
  j["final"] = i.final;
  j["lifecycle"] = i.lifecycle;
  j["version"] = i.version;
  j["variables"] = Embedded(i.variables_json);
  if (i.overdue_since) j["overdue_since"] = *i.overdue_since;
  return j.dump();
}

std::string StatsJson(const EngineStats& s) {
  const Json j = {
      {"events", s.events},
      {"accepted", s.accepted},
      {"duplicates", s.duplicates},
      {"ownership_violations", s.ownership_violations},
      {"out_of_sequence", s.out_of_sequence},
      {"malformed", s.malformed},
      {"held", s.held},
      {"commands", s.commands},
      {"rule_evaluations", s.rule_evaluations},
      {"rule_errors", s.rule_errors},
      {"rule_budget_breaks", s.rule_budget_breaks},
      {"signals_delivered", s.signals_delivered},
      {"signals_ignored", s.signals_ignored},
      {"rule_reloads", s.rule_reloads},
      {"rule_reload_failures", s.rule_reload_failures},
      {"instances", s.instances},
      {"active_instances", s.active_instances},
      {"instances_in_memory", s.instances_in_memory},
      {"sequence_gaps", s.sequence_gaps},
      {"late_events", s.late_events},
      {"batches", s.batches},
      {"syncs", s.syncs},
      {"timers_fired", s.timers_fired},
  };
  return j.dump();
}

}  // namespace takt::api
