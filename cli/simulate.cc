// takt simulate: replay recorded or generated events through the workflows and print the
// report (commands, final states, counts).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/terminal_text.h"
#include "takt/engine.h"
#include "takt/simulation.h"

namespace takt::cli {
namespace {

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warning";
    case LogLevel::kError: return "error";
  }
  return "?";
}

// "mes", "mes:32", "mes:32:120000".
Result<ReorderPolicy> ParseReorder(const std::string& spec) {
  ReorderPolicy policy;
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t colon; (colon = spec.find(':', start)) != std::string::npos; start = colon + 1) {
    parts.push_back(spec.substr(start, colon - start));
  }
  parts.push_back(spec.substr(start));
  if (parts.size() > 3 || parts[0].empty()) {
    return Status::InvalidArgument("expected SOURCE[:MAX_HELD[:MAX_WAIT_MS]]");
  }
  policy.source = parts[0];
  try {
    if (parts.size() > 1) policy.max_held = static_cast<uint32_t>(std::stoul(parts[1]));
    if (parts.size() > 2) policy.max_wait_ms = std::stoll(parts[2]);
  } catch (const std::exception&) {
    return Status::InvalidArgument("MAX_HELD and MAX_WAIT_MS are numbers");
  }
  if (policy.max_held == 0 || policy.max_wait_ms <= 0) {
    return Status::InvalidArgument("MAX_HELD and MAX_WAIT_MS must be more than 0");
  }
  return policy;
}

// One line on standard error: what became of every line read.
void PrintSummary(const SimulationSummary& s) {
  const EngineStats& e = s.events;
  std::cerr << "takt: " << s.lines << " lines";
  if (s.resumed > 0) std::cerr << " (" << s.resumed << " committed before, skipped)";
  std::cerr << ": " << e.events << " events, " << e.accepted << " accepted, " << e.duplicates
            << " duplicates, " << e.malformed << " malformed, " << e.out_of_sequence
            << " out of sequence, " << e.ownership_violations << " ownership violations";
  if (e.held > 0) std::cerr << ", " << e.held << " held";
  if (s.blank > 0) std::cerr << "; " << s.blank << " blank lines";
  if (s.unterminated_line > 0) {
    std::cerr << "; line " << s.unterminated_line << " left unread (no newline yet)";
  }
  std::cerr << "\n";
}

}  // namespace

Runner AddSimulate(CLI::App& app) {
  struct Args {
    std::vector<std::string> workflows;
    std::string rules;
    std::string db;
    std::string report;
    std::string stdlib;
    std::string events;
    std::string durability = "full";
    size_t batch = SimulationOptions{}.max_batch;
    int64_t batch_latency_ms = 50;
    uint64_t max_instances = 0;
    size_t max_event_bytes = size_t{1} << 20;
    std::vector<std::string> reorder;
    std::vector<std::string> monotonic;
    bool quiet = false;
    bool new_input = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("simulate", "Replay events through workflows; print a report");
  cmd->add_option("--workflows", args->workflows, ".takt files or directories")->required();
  cmd->add_option("--rules", args->rules, "directory of Lua rules");
  cmd->add_option("--db", args->db,
                  "SQLite database to keep state in; running again on the same events resumes");
  cmd->add_option("--durability", args->durability, "with --db: full (default) or normal")
      ->check(CLI::IsMember({"full", "normal"}));
  cmd->add_option("--batch", args->batch, "with --db: events per transaction (default 4096)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  cmd->add_option("--batch-latency-ms", args->batch_latency_ms,
                  "with --db: longest wait before a partly filled batch commits (default 50)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-instances", args->max_instances,
                  "with --db: most instances kept in memory; the rest are read back from the "
                  "database when needed (default 0: every open one)");
  cmd->add_option("--max-event-bytes", args->max_event_bytes,
                  "longest event line taken; a longer one is malformed (default 1048576)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 31));
  cmd->add_option("--reorder", args->reorder,
                  "SOURCE[:MAX_HELD[:MAX_WAIT_MS]]: put that source's events back in seq order "
                  "(default 16 events, 60000 ms of event time); repeatable");
  cmd->add_option("--monotonic", args->monotonic,
                  "SOURCE: reject that source's events whose seq is not above the last accepted "
                  "one of their key, as out of sequence (\"stale\"); repeatable");
  cmd->add_option("--report", args->report, "write the report to FILE instead of standard output");
  cmd->add_option("--stdlib", args->stdlib, "directory that overrides the built-in stdlib");
  cmd->add_flag("--new-input", args->new_input,
                "with --db: read the events from their first line even though lines of another "
                "input under the same name were committed; events seen before are duplicates");
  cmd->add_flag("--quiet,-q", args->quiet,
                "no progress line, no per-event warnings and no summary line");
  cmd->footer(
      "The summary line on standard error counts what became of every line read.\n"
      "Exit status: 0 every line was read (malformed events are counted, not fatal); 1 the\n"
      "workflows or rules have errors; 2 a usage error, a file that cannot be read or written,\n"
      "or a commit that failed; 3 with --db, the input is not the one whose lines the database\n"
      "committed under its name (see --new-input).");
  cmd->add_option("events", args->events, "JSON Lines file of events ('-': standard input)")
      ->required();
  return [args] {
    EngineOptions options;
    for (const std::string& spec : args->reorder) {
      Result<ReorderPolicy> policy = ParseReorder(spec);
      if (!policy.ok()) {
        std::cerr << "takt simulate: --reorder " << ForTerminal(spec) << ": " << policy.status().message()
                  << "\n";
        return 2;
      }
      options.reorder.push_back(policy.value());
    }
    options.monotonic = args->monotonic;
    options.store_path = args->db;
    options.durability = args->durability == "normal" ? Durability::kNormal : Durability::kFull;
    options.max_instances_in_memory = args->max_instances;
    options.max_event_bytes = args->max_event_bytes;
    options.workflow_paths = args->workflows;
    options.stdlib_dir = args->stdlib;
    options.rules_dir = args->rules;
    const bool quiet = args->quiet;
    options.on_log = [quiet](LogLevel level, std::string_view message) {
      if (quiet && level < LogLevel::kError) return;
      std::cerr << "takt: " << LevelName(level) << ": " << ForTerminal(message);
      if (message.empty() || message.back() != '\n') std::cerr << "\n";
    };
    Result<std::unique_ptr<Engine>> engine = Engine::Open(options);
    if (!engine.ok()) {
      std::cerr << ForTerminal(engine.status().message());
      if (engine.status().message().back() != '\n') std::cerr << "\n";
      const Code code = engine.status().code();
      return code == Code::kParseError || code == Code::kRuleError ? 1 : 2;
    }
    SimulationOptions sim_options;
    sim_options.max_batch = args->batch;
    sim_options.max_latency_ms = args->batch_latency_ms;
    sim_options.new_input = args->new_input;
    Simulation simulation(*engine.value(), args->events == "-" ? "<stdin>" : args->events,
                          sim_options);
    std::function<void(const SimulationProgress&)> progress;
    const bool show_progress = !args->quiet && isatty(STDERR_FILENO) == 1;
    if (show_progress) {
      progress = [](const SimulationProgress& p) {
        const double rate = p.seconds > 0 ? static_cast<double>(p.events) / p.seconds : 0;
        std::fprintf(stderr, "\r%llu events, %.0f events/s   ",
                     static_cast<unsigned long long>(p.events), rate);
      };
    }
    Status fed = simulation.FeedFile(args->events, progress);
    if (show_progress) std::fprintf(stderr, "\n");
    if (!args->quiet) PrintSummary(simulation.summary());
    if (!fed.ok()) {
      std::cerr << "takt simulate: " << ForTerminal(fed.message()) << "\n";
      return fed.code() == Code::kInvalidArgument ? 3 : 2;
    }
    std::ofstream file;
    if (!args->report.empty()) file.open(args->report, std::ios::binary);
    std::ostream& out = args->report.empty() ? std::cout : file;
    Status written = simulation.WriteReport(out);
    if (written.ok() && !out.flush()) written = Status::IoError("writing the report failed");
    if (!written.ok()) {
      std::cerr << "takt simulate: "
                << (args->report.empty() ? std::string() : "cannot write " + args->report + ": ")
                << written.message() << "\n";
      return 2;
    }
    return 0;
  };
}

}  // namespace takt::cli
