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
#include "engine/harness/input_fingerprint.h"
#include "engine/harness/line_reader.h"

namespace takt {
namespace {

// One command's entry in the report's "commands" array, after `separator`.
void AppendCommandEntry(std::string& out, const char* separator, const Command& c) {
  out += separator;
  out += "{\"cmd\": ";
  dsl::AppendJsonString(out, c.name);
  out += ", \"cause\": ";
  dsl::AppendJsonString(out, c.caused_by);
  out += ", \"data\": ";
  out += c.payload_json;
  out += "}";
}

constexpr const char* kFirstEntry = "\n    ";
constexpr const char* kNextEntry = ",\n    ";

// Without a store, the report's command entries as they will be written, kept from the moment
// each command is emitted: about 130 bytes a command where the Command itself, with its five
// strings, took about 350, and in chunks of 1 MiB that are never copied to grow.
class CommandEntries {
 public:
  void Add(const Command& c) {
    if (chunks_.empty() || chunks_.back().size() + kChunkBytes / 16 > kChunkBytes) {
      chunks_.emplace_back().reserve(kChunkBytes);
    }
    AppendCommandEntry(chunks_.back(), count_ == 0 ? kFirstEntry : kNextEntry, c);
    ++count_;
  }
  uint64_t count() const { return count_; }
  template <typename Visit>
  void ForEachChunk(Visit visit) const {
    for (const std::string& chunk : chunks_) visit(chunk);
  }

 private:
  static constexpr size_t kChunkBytes = 1u << 20;
  std::vector<std::string> chunks_;
  uint64_t count_ = 0;
};

}  // namespace

struct Simulation::State {
  Engine* engine = nullptr;
  std::string source_name;
  SimulationOptions options;
  uint64_t lines = 0;             // read, including those skipped on resume
  uint64_t blank = 0;
  uint64_t resumed = 0;
  uint64_t unterminated_line = 0;
  EngineStats before;             // the engine's counts when the simulation began
  bool fed_file = false;          // FeedFile() ran: only the first one may resume

  // With a store: what identifies the lines read so far (input_fingerprint.h), and the check
  // values of those read since the last commit.
  std::unique_ptr<sim::PrefixDigest> prefix;
  std::string line_checks;
  CommandEntries commands;        // without a store: every command, in emission order
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
  state_->before = engine.stats();
  if (engine.durable()) state_->prefix = std::make_unique<sim::PrefixDigest>();
}

Simulation::~Simulation() = default;

Status Simulation::FeedLine(std::string_view line) {
  State& s = *state_;
  ++s.lines;
  if (s.prefix) {
    s.prefix->UpdateLine(line);
    sim::AppendLineCheck(s.line_checks, line);
  }
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) {
    ++s.blank;
    return Status();
  }
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
  for (const Command& c : s.result.commands) s.commands.Add(c);
  for (const SubmitResult& released : s.result.released) {
    for (const Command& c : released.commands) s.commands.Add(c);
  }
  return Status();
}

Status Simulation::Flush() {
  State& s = *state_;
  if (!s.engine->durable()) return Status();
  // The cursor counts every line read, blank ones too, so a resume skips exactly these.
  InputCursor cursor{s.source_name, s.lines, s.prefix->bytes(), s.prefix->Hex(), {}};
  cursor.line_checks.swap(s.line_checks);
  s.batch_events.clear();
  for (size_t i = 0; i + 1 < s.batch_offsets.size(); ++i) {
    s.batch_events.emplace_back(s.batch_text.data() + s.batch_offsets[i],
                                s.batch_offsets[i + 1] - s.batch_offsets[i]);
  }
  Status status = s.engine->SubmitBatch(s.batch_events, s.batch_results, &cursor);
  // The checks go back: kept for a retry of a failed commit (the cursor's lines must stay
  // contiguous), emptied after a good one with the buffer kept.
  s.line_checks.swap(cursor.line_checks);
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
  s.line_checks.clear();
  return Status();
}

namespace {

// How to go on from an input that is not the one committed under the same name.
const char kOtherInputHint[] =
    ". Nothing of it was read. To read it as new events (those whose id was seen before count "
    "as duplicates), run again with --new-input; to start afresh, use another database";

}  // namespace

Status Simulation::CheckCommittedPrefix(std::istream& in, const InputCursor& committed) {
  State& s = *state_;
  const std::string& name = s.source_name;
  const std::string described = std::to_string(committed.position) + " lines (" +
                                std::to_string(committed.bytes) + " bytes) committed under " +
                                "this name";
  if (committed.sha256.empty()) {
    return Status::InvalidArgument(
        name + ": the database has " + std::to_string(committed.position) +
        " lines committed under this name by an earlier takt, which did not record their "
        "content, so whether this is the same input cannot be told" + kOtherInputHint);
  }
  const uint64_t checked_lines = committed.line_checks.size() / sim::kLineCheckBytes;
  const uint64_t first_checked = committed.position - checked_lines + 1;
  std::string line;
  while (s.lines < committed.position) {
    if (!std::getline(in, line) || in.eof()) {
      if (in.bad()) return Status::IoError("error reading " + name);
      return Status::InvalidArgument(name + " ends after " + std::to_string(s.lines) +
                                     " complete lines, before the " + described +
                                     ": not the same input" + kOtherInputHint);
    }
    ++s.lines;
    s.prefix->UpdateLine(line);
    if (s.lines >= first_checked &&
        sim::LineCheck(line) != sim::LineCheckAt(committed.line_checks,
                                                  s.lines - first_checked + 1)) {
      return Status::InvalidArgument(name + ":" + std::to_string(s.lines) +
                                     ": this line differs from line " + std::to_string(s.lines) +
                                     " of the input whose " + described +
                                     ": not the same input" + kOtherInputHint);
    }
  }
  if (s.prefix->bytes() != committed.bytes || s.prefix->Hex() != committed.sha256) {
    return Status::InvalidArgument(name + ": its first " + std::to_string(committed.position) +
                                   " lines differ from the " + described +
                                   " (their SHA-256 does not match): not the same input" +
                                   kOtherInputHint);
  }
  s.resumed = s.lines;
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
  const bool may_resume = s.prefix != nullptr && !s.fed_file && s.lines == 0;
  s.fed_file = true;
  if (may_resume) {
    Result<InputCursor> committed = s.engine->Cursor(s.source_name);
    if (!committed.ok()) return committed.status();
    if (committed.value().position > 0 && s.options.new_input) {
      s.engine->Log(LogLevel::kInfo,
                    s.source_name + ": read as a new input from line 1 (" +
                        std::to_string(committed.value().position) +
                        " lines of an input under this name were committed before; events "
                        "seen before count as duplicates)");
    } else if (committed.value().position > 0) {
      TAKT_RETURN_IF_ERROR(CheckCommittedPrefix(*in, committed.value()));
      s.engine->Log(LogLevel::kInfo, s.source_name + ": resuming after line " +
                                         std::to_string(s.lines) +
                                         ", committed before from the same bytes");
    }
  }
  const auto start = std::chrono::steady_clock::now();
  constexpr uint64_t kProgressEvery = 100'000;
  uint64_t next_progress = s.lines + kProgressEvery;
  sim::LineReader lines(*in, in == &std::cin ? sim::LineReader::Reads::kLineByLine
                                              : sim::LineReader::Reads::kWhole);
  std::string_view line;
  bool unterminated = false;
  while (lines.Next(line, unterminated)) {
    if (unterminated) {
      // The last line has no newline. Read whole, the input has ended and the line is read as
      // it is; with a store the input may still be being written, so the line waits for a
      // later run that sees it complete, rather than be committed half and then skipped.
      if (s.prefix != nullptr) {
        s.unterminated_line = s.lines + 1;
        s.engine->Log(LogLevel::kWarn,
                      s.source_name + ":" + std::to_string(s.unterminated_line) +
                          ": the last line has no newline yet, so it may be incomplete: left "
                          "unread; a later run on this input reads it once it ends with one");
        break;
      }
    }
    TAKT_RETURN_IF_ERROR(FeedLine(line));
    if (progress && s.lines >= next_progress) {
      next_progress += kProgressEvery;
      const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
      progress({s.lines, s.engine->stats().events, elapsed.count()});
    }
  }
  if (lines.bad()) return Status::IoError("error reading " + path);
  TAKT_RETURN_IF_ERROR(Flush());
  if (progress) {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    progress({s.lines, s.engine->stats().events, elapsed.count()});
  }
  return Status();
}

SimulationSummary Simulation::summary() const {
  const State& s = *state_;
  SimulationSummary summary;
  summary.lines = s.lines;
  summary.resumed = s.resumed;
  summary.blank = s.blank;
  summary.unterminated_line = s.unterminated_line;
  const EngineStats now = s.engine->stats();
  summary.events.events = now.events - s.before.events;
  summary.events.accepted = now.accepted - s.before.accepted;
  summary.events.duplicates = now.duplicates - s.before.duplicates;
  summary.events.ownership_violations = now.ownership_violations - s.before.ownership_violations;
  summary.events.out_of_sequence = now.out_of_sequence - s.before.out_of_sequence;
  summary.events.malformed = now.malformed - s.before.malformed;
  summary.events.held = now.held;
  summary.events.commands = now.commands - s.before.commands;
  return summary;
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
  if (s.engine->durable()) {
    TAKT_RETURN_IF_ERROR(s.engine->ForEachCommand([&](const Command& c) {
      spill();
      AppendCommandEntry(out, first ? kFirstEntry : kNextEntry, c);
      first = false;
    }));
  } else {
    sink.write(out.data(), static_cast<std::streamsize>(out.size()));
    out.clear();
    s.commands.ForEachChunk([&](const std::string& chunk) {
      sink.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    });
    first = s.commands.count() == 0;
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
