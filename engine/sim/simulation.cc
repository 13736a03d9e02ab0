// Simulation: JSON Lines in, the PLANT.md report out. The report is written by hand rather than
// through a JSON library so that command payloads (already JSON) are embedded as they are and
// the bytes are the same on every run: keys in a fixed order, instances sorted by key.
#include "takt/simulation.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "dsl/value.h"

namespace takt {

struct Simulation::State {
  Engine* engine = nullptr;
  std::string source_name;
  SimulationOptions options;
  uint64_t lines = 0;             // read, including those skipped on resume
  std::vector<Command> commands;  // without a store: every command, in emission order
  SubmitResult result;            // reused for every line

  // With a store: the batch being gathered, line numbers alongside for messages.
  std::string batch_text;
  std::vector<size_t> batch_offsets;  // into batch_text, one per event, plus the end
  std::vector<uint64_t> batch_lines;
  std::vector<std::string_view> batch_events;
  std::vector<SubmitResult> batch_results;
  std::chrono::steady_clock::time_point batch_started;

  void LogMalformed(uint64_t line, const SubmitResult& r) const {
    std::string message = source_name + ":" + std::to_string(line) + ": malformed event";
    if (!r.event_id.empty()) message += " " + r.event_id;
    engine->Log(LogLevel::kWarn, message + ": " + r.reason);
  }
};

Simulation::Simulation(Engine& engine, std::string source_name, SimulationOptions options)
    : state_(std::make_unique<State>()) {
  state_->engine = &engine;
  state_->source_name = std::move(source_name);
  state_->options = options;
  if (state_->options.max_batch == 0) state_->options.max_batch = 1;
}

Simulation::~Simulation() = default;

Status Simulation::FeedLine(std::string_view line) {
  State& s = *state_;
  ++s.lines;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return Status();
  if (s.engine->durable()) {
    if (s.batch_lines.empty()) {
      s.batch_started = std::chrono::steady_clock::now();
      s.batch_text.clear();
      s.batch_offsets.assign(1, 0);
    }
    s.batch_text.append(line.data(), line.size());
    s.batch_offsets.push_back(s.batch_text.size());
    s.batch_lines.push_back(s.lines);
    const auto waited = std::chrono::steady_clock::now() - s.batch_started;
    if (s.batch_lines.size() >= s.options.max_batch ||
        waited >= std::chrono::milliseconds(s.options.max_latency_ms)) {
      return Flush();
    }
    return Status();
  }
  Status status = s.engine->Submit(line, s.result);
  if (!status.ok()) {
    // The engine itself failed (not the event): there is no outcome to count.
    s.engine->Log(LogLevel::kError, s.source_name + ":" + std::to_string(s.lines) + ": " +
                                        status.message());
    return Status();
  }
  if (s.result.outcome == Outcome::kMalformed) s.LogMalformed(s.lines, s.result);
  for (Command& c : s.result.commands) s.commands.push_back(std::move(c));
  for (SubmitResult& released : s.result.released) {
    for (Command& c : released.commands) s.commands.push_back(std::move(c));
  }
  return Status();
}

Status Simulation::Flush() {
  State& s = *state_;
  if (!s.engine->durable()) return Status();
  // The cursor counts every line read, blank ones too, so a resume skips exactly these.
  const InputCursor cursor{s.source_name, s.lines};
  s.batch_events.clear();
  for (size_t i = 0; i + 1 < s.batch_offsets.size(); ++i) {
    s.batch_events.emplace_back(s.batch_text.data() + s.batch_offsets[i],
                                s.batch_offsets[i + 1] - s.batch_offsets[i]);
  }
  Status status = s.engine->SubmitBatch(s.batch_events, s.batch_results, &cursor);
  if (!status.ok()) {
    const uint64_t first = s.batch_lines.empty() ? s.lines : s.batch_lines.front();
    return Status::IoError(s.source_name + ": lines " + std::to_string(first) + " to " +
                           std::to_string(s.lines) + " not committed: " + status.message());
  }
  for (size_t i = 0; i < s.batch_results.size(); ++i) {
    if (s.batch_results[i].outcome == Outcome::kMalformed) {
      s.LogMalformed(s.batch_lines[i], s.batch_results[i]);
    }
  }
  s.batch_lines.clear();
  s.batch_offsets.assign(1, 0);
  s.batch_text.clear();
  return Status();
}

Status Simulation::FeedFile(const std::string& path,
                            const std::function<void(const SimulationProgress&)>& progress) {
  State& s = *state_;
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) return Status::NotFound("cannot open events file " + path);
    in = &file;
  }
  Result<uint64_t> committed = s.engine->CursorPosition(s.source_name);
  if (!committed.ok()) return committed.status();
  uint64_t skip = committed.value() > s.lines ? committed.value() - s.lines : 0;
  if (skip > 0) {
    s.engine->Log(LogLevel::kInfo, s.source_name + ": resuming after line " +
                                       std::to_string(committed.value()) + ", committed before");
  }
  const auto start = std::chrono::steady_clock::now();
  constexpr uint64_t kProgressEvery = 100'000;
  uint64_t next_progress = s.lines + kProgressEvery;
  std::string line;
  while (std::getline(*in, line)) {
    if (skip > 0) {
      --skip;
      ++s.lines;
      continue;
    }
    TAKT_RETURN_IF_ERROR(FeedLine(line));
    if (progress && s.lines >= next_progress) {
      next_progress += kProgressEvery;
      const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
      progress({s.lines, s.engine->stats().events, elapsed.count()});
    }
  }
  if (in->bad()) return Status::IoError("error reading " + path);
  if (skip > 0) {
    return Status::InvalidArgument(s.source_name + " has fewer lines than the " +
                                   std::to_string(committed.value()) +
                                   " the database has committed from it: not the same input");
  }
  TAKT_RETURN_IF_ERROR(Flush());
  if (progress) {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    progress({s.lines, s.engine->stats().events, elapsed.count()});
  }
  return Status();
}

Result<std::string> Simulation::ReportJson() const {
  std::ostringstream out;
  TAKT_RETURN_IF_ERROR(WriteReport(out));
  return std::move(out).str();
}

Status Simulation::WriteReport(std::ostream& sink) const {
  const State& s = *state_;
  std::string out = "{\n  \"commands\": [";
  // Written out in pieces of about 64 KiB.
  auto spill = [&] {
    if (out.size() < (64u << 10)) return;
    sink.write(out.data(), static_cast<std::streamsize>(out.size()));
    out.clear();
  };
  bool first = true;
  auto add_command = [&](const Command& c) {
    spill();
    out += first ? "\n    " : ",\n    ";
    first = false;
    out += "{\"cmd\": ";
    dsl::AppendJsonString(out, c.name);
    out += ", \"cause\": ";
    dsl::AppendJsonString(out, c.caused_by);
    out += ", \"data\": ";
    out += c.payload_json;
    out += "}";
  };
  if (s.engine->durable()) {
    TAKT_RETURN_IF_ERROR(s.engine->ForEachCommand(add_command));
  } else {
    for (const Command& c : s.commands) add_command(c);
  }
  out += first ? "],\n" : "\n  ],\n";

  // One workflow: keyed by instance key, as PLANT.md shows. Several: "workflow/key".
  const bool qualify = s.engine->workflows().size() > 1;
  out += "  \"final_states\": {";
  first = true;
  s.engine->ForEachInstance([&](const InstanceSummary& instance) {
    spill();
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
  if (stats.held > 0) out += ", \"held\": " + std::to_string(stats.held);
  out += "}\n}\n";
  sink.write(out.data(), static_cast<std::streamsize>(out.size()));
  if (!sink) return Status::IoError("writing the report failed");
  return Status();
}

}  // namespace takt
