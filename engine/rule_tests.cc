// Rule test vectors. A test file:
//   {"description": "...",
//    "events": [ {event}, ... ],
//    "commands": [ {"cmd": ..., "cause": ..., "data": {...}}, ... ],      (all of them, in order)
//    "signals": [ {"workflow": ..., "key": ..., "signal": ...}, ... ],   (optional)
//    "final_states": { "KEY": "state", ... } }                           (optional)
// Expected and actual are compared as parsed JSON, and a failure shows both as lines.
#include "engine/rule_tests.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dsl/load.h"
#include "engine/core/pipeline.h"
#include "takt/engine.h"

namespace takt {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Lines of `a` not in `b` as "- line", of `b` not in `a` as "+ line", in order: a readable diff
// for short lists.
std::string LineDiff(const std::vector<std::string>& expected, const std::vector<std::string>& actual) {
  std::string out;
  size_t i = 0;
  size_t j = 0;
  while (i < expected.size() || j < actual.size()) {
    if (i < expected.size() && j < actual.size() && expected[i] == actual[j]) {
      out += "    " + expected[i] + "\n";
      ++i, ++j;
    } else if (i < expected.size() &&
               std::find(actual.begin() + static_cast<std::ptrdiff_t>(j), actual.end(), expected[i]) ==
                   actual.end()) {
      out += "  - " + expected[i++] + "\n";
    } else if (j < actual.size()) {
      out += "  + " + actual[j++] + "\n";
    } else {
      out += "  - " + expected[i++] + "\n";
    }
  }
  return out;
}

std::vector<std::string> Lines(const json& list) {
  std::vector<std::string> out;
  for (const json& item : list) out.push_back(item.dump());
  return out;
}

// Whether two loads found the same rules: names and versions, in order.
bool SameRules(const std::vector<RuleInfo>& a, const std::vector<RuleInfo>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const RuleInfo& x, const RuleInfo& y) {
                      return x.name == y.name && x.version == y.version;
                    });
}

// A pipeline of its own for a vector, with the options it reads.
struct VectorPipeline {
  EngineOptions options;
  std::unique_ptr<Pipeline> pipeline;
  std::vector<RuleInfo> rules;  // as loaded, in run order
};

// A fresh pipeline in memory on `definitions` and the rules under test, whose state starts
// empty. The rules are read from their files again: with `expected`, they must be those.
Result<std::unique_ptr<VectorPipeline>> OpenPipeline(
    const RuleTestOptions& options, const std::vector<RuleInfo>* expected,
    const std::shared_ptr<const dsl::Definitions>& definitions) {
  auto vector = std::make_unique<VectorPipeline>();
  vector->options.workflow_paths = options.workflow_paths;
  vector->options.stdlib_dir = options.stdlib_dir;
  vector->options.rules_dir = options.rules_dir;
  Result<std::unique_ptr<rules::RuleSet>> set = rules::RuleSet::Load(
      options.rules_dir, definitions->catalog, RuleLimits(vector->options));
  if (!set.ok()) return set.status();
  for (const auto& rule : set.value()->rules()) {
    vector->rules.push_back(RuleInfo{rule->name, rule->file, rule->version});
  }
  vector->pipeline =
      std::make_unique<Pipeline>(vector->options, definitions, std::move(set).value());
  if (expected == nullptr) return vector;
  const std::vector<RuleInfo>& loaded = vector->rules;
  if (SameRules(loaded, *expected)) return vector;
  std::string changed;
  for (const RuleInfo& rule : loaded) {
    const bool same = std::any_of(expected->begin(), expected->end(), [&](const RuleInfo& e) {
      return e.name == rule.name && e.version == rule.version;
    });
    if (!same) changed += (changed.empty() ? "" : ", ") + rule.name;
  }
  return Status::RuleError("the rules changed while their tests ran" +
                           (changed.empty() ? std::string() : " (" + changed + ")") +
                           "; the tests run again on the next change");
}

Status RunOne(const RuleTestOptions& options, const std::vector<RuleInfo>& rules,
              const std::shared_ptr<const dsl::Definitions>& definitions,
              const std::string& file, RuleTestResult& result) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  json test;
  try {
    test = json::parse(text.str());
  } catch (const json::parse_error& e) {
    return Status::ParseError(file + ": " + e.what());
  }
  if (!test.is_object() || !test.contains("events") || !test["events"].is_array()) {
    return Status::InvalidArgument(file + ": a test is an object with an \"events\" list");
  }
  result.file = file;
  result.name = test.value("description", fs::path(file).filename().string());

  Result<std::unique_ptr<VectorPipeline>> opened = OpenPipeline(options, &rules, definitions);
  if (!opened.ok()) return opened.status();
  Pipeline& pipeline = *opened.value()->pipeline;

  json commands = json::array();
  json signals = json::array();
  std::string errors;
  SubmitResult submitted;
  for (const json& event : test["events"]) {
    TAKT_RETURN_IF_ERROR(pipeline.ApplyOne(event.dump(), submitted));
    for (const Command& c : submitted.commands) {
      commands.push_back({{"cmd", c.name}, {"cause", c.caused_by}, {"data", json::parse(c.payload_json)}});
    }
    for (const SignalRecord& s : submitted.signals) {
      signals.push_back({{"workflow", s.workflow}, {"key", s.key}, {"signal", s.name}});
    }
    for (const RuleError& e : submitted.rule_errors) {
      errors += "  rule " + e.rule + " failed on " + submitted.event_id + ": " + e.message + "\n";
    }
  }
  std::string diff;
  const json expected_commands = test.value("commands", json::array());
  if (expected_commands != commands) {
    diff += "commands differ:\n" + LineDiff(Lines(expected_commands), Lines(commands));
  }
  if (test.contains("signals") && test["signals"] != signals) {
    diff += "signals differ:\n" + LineDiff(Lines(test["signals"]), Lines(signals));
  }
  if (test.contains("final_states")) {
    json states = json::object();
    pipeline.ForEachInstance(
        [&](const InstanceSummary& s) { states[std::string(s.key)] = std::string(s.state); });
    json expected_states = test["final_states"];
    if (expected_states != states) {
      std::vector<std::string> e;
      std::vector<std::string> a;
      for (const auto& [k, v] : expected_states.items()) e.push_back(k + ": " + v.dump());
      for (const auto& [k, v] : states.items()) a.push_back(k + ": " + v.dump());
      diff += "final states differ:\n" + LineDiff(e, a);
    }
  }
  if (!errors.empty()) diff += "rule errors:\n" + errors;
  result.passed = diff.empty();
  result.diff = diff;
  return Status();
}

}  // namespace

Result<RuleTestReport> RunRuleTests(const RuleTestOptions& options) {
  return RunRuleTestsOn(options, nullptr);
}

Result<RuleTestReport> RunRuleTestsOn(const RuleTestOptions& options,
                                      const std::vector<RuleInfo>* expected,
                                      std::shared_ptr<const dsl::Definitions> definitions) {
  const fs::path dir = fs::path(options.rules_dir) / "tests";
  std::error_code ec;
  if (!fs::is_directory(options.rules_dir, ec)) {
    return Status::NotFound("no rules directory " + options.rules_dir);
  }
  if (definitions == nullptr) {
    for (const std::string& path : options.workflow_paths) {
      if (!fs::exists(path, ec)) return Status::NotFound("workflow path " + path + " does not exist");
    }
    DefinitionOptions load;
    load.paths = options.workflow_paths;
    load.stdlib_dir = options.stdlib_dir;
    definitions = dsl::LoadDefinitions(load);
    if (definitions->diagnostics.errors() != 0) {
      return Status::ParseError(definitions->diagnostics.FormatAll());
    }
  }
  // The rules are loaded even when no vector would load them, so that their errors show; every
  // vector then runs on these same files.
  Result<std::unique_ptr<VectorPipeline>> loaded = OpenPipeline(options, expected, definitions);
  if (!loaded.ok()) return loaded.status();
  const std::vector<RuleInfo> rules = loaded.value()->rules;
  RuleTestReport report;
  report.tests_dir = dir.string();
  if (!fs::is_directory(dir, ec)) return report;
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.size() > 10 &&
        name.compare(name.size() - 10, 10, ".test.json") == 0) {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  for (const std::string& file : files) {
    RuleTestResult result;
    TAKT_RETURN_IF_ERROR(RunOne(options, rules, definitions, file, result));
    (result.passed ? report.passed : report.failed)++;
    report.results.push_back(std::move(result));
  }
  return report;
}

}  // namespace takt
