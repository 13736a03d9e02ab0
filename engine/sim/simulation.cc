// Simulation: JSON Lines in, the PLANT.md report out. The report is written by hand rather than
// through a JSON library so that command payloads (already JSON) are embedded as they are and
// the bytes are the same on every run: keys in a fixed order, instances sorted by key.
#include "takt/simulation.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <vector>

#include "dsl/value.h"

namespace takt {

struct Simulation::State {
  Engine* engine = nullptr;
  std::string source_name;
  uint64_t lines = 0;
  std::vector<Command> commands;  // every command, in emission order
  SubmitResult result;            // reused for every line
};

Simulation::Simulation(Engine& engine, std::string source_name)
    : state_(std::make_unique<State>()) {
  state_->engine = &engine;
  state_->source_name = std::move(source_name);
}

Simulation::~Simulation() = default;

void Simulation::FeedLine(std::string_view line) {
  State& s = *state_;
  ++s.lines;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return;
  Status status = s.engine->Submit(line, s.result);
  if (!status.ok()) {
    // The engine itself failed (not the event): there is no outcome to count.
    s.engine->Log(LogLevel::kError, s.source_name + ":" + std::to_string(s.lines) + ": " +
                                        status.message());
    return;
  }
  if (s.result.outcome == Outcome::kMalformed) {
    std::string message = s.source_name + ":" + std::to_string(s.lines) + ": malformed event";
    if (!s.result.event_id.empty()) message += " " + s.result.event_id;
    s.engine->Log(LogLevel::kWarn, message + ": " + s.result.reason);
  }
  for (Command& c : s.result.commands) s.commands.push_back(std::move(c));
}

Status Simulation::FeedFile(const std::string& path,
                            const std::function<void(const SimulationProgress&)>& progress) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) return Status::NotFound("cannot open events file " + path);
    in = &file;
  }
  const auto start = std::chrono::steady_clock::now();
  constexpr uint64_t kProgressEvery = 100'000;
  uint64_t next_progress = kProgressEvery;
  std::string line;
  while (std::getline(*in, line)) {
    FeedLine(line);
    if (progress && state_->lines >= next_progress) {
      next_progress += kProgressEvery;
      const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
      progress({state_->lines, state_->engine->stats().events, elapsed.count()});
    }
  }
  if (in->bad()) return Status::IoError("error reading " + path);
  if (progress) {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    progress({state_->lines, state_->engine->stats().events, elapsed.count()});
  }
  return Status();
}

std::string Simulation::ReportJson() const {
  const State& s = *state_;
  std::string out = "{\n  \"commands\": [";
  bool first = true;
  for (const Command& c : s.commands) {
    out += first ? "\n    " : ",\n    ";
    first = false;
    out += "{\"cmd\": ";
    dsl::AppendJsonString(out, c.name);
    out += ", \"cause\": ";
    dsl::AppendJsonString(out, c.caused_by);
    out += ", \"data\": ";
    out += c.payload_json;
    out += "}";
  }
  out += first ? "],\n" : "\n  ],\n";

  // One workflow: keyed by instance key, as PLANT.md shows. Several: "workflow/key".
  const bool qualify = s.engine->workflows().size() > 1;
  out += "  \"final_states\": {";
  first = true;
  s.engine->ForEachInstance([&](const InstanceSummary& instance) {
    out += first ? "\n    " : ",\n    ";
    first = false;
    std::string key = qualify ? std::string(instance.workflow) + "/" : std::string();
    key += instance.key;
    dsl::AppendJsonString(out, key);
    out += ": ";
    dsl::AppendJsonString(out, instance.state);
  });
  out += first ? "},\n" : "\n  },\n";

  const EngineStats stats = s.engine->stats();
  out += "  \"counts\": {\"events\": " + std::to_string(stats.events) +
         ", \"accepted\": " + std::to_string(stats.accepted) +
         ", \"duplicates\": " + std::to_string(stats.duplicates) +
         ", \"ownership_violations\": " + std::to_string(stats.ownership_violations) +
         ", \"out_of_sequence\": " + std::to_string(stats.out_of_sequence);
  if (stats.malformed > 0) out += ", \"malformed\": " + std::to_string(stats.malformed);
  out += "}\n}\n";
  return out;
}

}  // namespace takt
