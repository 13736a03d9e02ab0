// Simulation: replays a JSON Lines stream of events through an engine and reports what
// happened, in the report format of the plant workload (commands, final_states, counts).
#ifndef TAKT_SIMULATION_H_
#define TAKT_SIMULATION_H_

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

#include "takt/engine.h"
#include "takt/export.h"

namespace takt {

struct SimulationProgress {
  uint64_t lines = 0;   // lines read so far
  uint64_t events = 0;  // events submitted so far (non-empty lines)
  double seconds = 0;   // since the first line
};

// Group commit, for an engine with a store: lines are submitted in batches of up to
// `max_batch` events, a batch closing early when `max_latency_ms` has passed since its first
// line was read (checked as lines arrive). Without a store every line is submitted alone.
struct SimulationOptions {
  size_t max_batch = 1024;
  int64_t max_latency_ms = 50;
};

class TAKT_API Simulation {
 public:
  // `engine` must outlive the simulation. `source_name` names the input in log lines and, with
  // a store, the cursor that records how many of its lines are committed: feeding the same
  // input again after an interruption skips those lines and goes on where the last commit
  // ended.
  Simulation(Engine& engine, std::string source_name, SimulationOptions options = {});
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  // Submits one line (without its newline); empty lines are skipped and not counted. A
  // malformed line is counted and logged through the engine's log with its line number. With
  // a store the line joins the current batch; a failed commit is returned (nothing of that
  // batch was accepted).
  Status FeedLine(std::string_view line);
  // Commits the current batch (with a store; nothing to do without).
  Status Flush();
  // Reads `path` ("-": standard input) to the end, calling `progress` about every 100,000
  // events when set. Fails with kNotFound or kIoError when the file cannot be read, and with
  // the engine's Status when a commit fails.
  Status FeedFile(const std::string& path,
                  const std::function<void(const SimulationProgress&)>& progress = {});

  // The report as one JSON object; the same events and definitions give the same bytes. With
  // a store it covers everything the database holds, earlier runs included.
  Result<std::string> ReportJson() const;
  // The same report written to `out` as it is made: memory stays small however many commands
  // and instances it lists. kIoError when `out` fails.
  Status WriteReport(std::ostream& out) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace takt

#endif  // TAKT_SIMULATION_H_
