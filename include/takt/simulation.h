// Simulation: replays a JSON Lines stream of events through an engine and reports what
// happened, in the report format of the plant workload (commands, final_states, counts).
#ifndef TAKT_SIMULATION_H_
#define TAKT_SIMULATION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "takt/engine.h"

namespace takt {

struct SimulationProgress {
  uint64_t lines = 0;   // lines read so far
  uint64_t events = 0;  // events submitted so far (non-empty lines)
  double seconds = 0;   // since the first line
};

class Simulation {
 public:
  // `engine` must outlive the simulation. `source_name` names the input in log lines.
  Simulation(Engine& engine, std::string source_name);
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  // Submits one line (without its newline); empty lines are skipped and not counted. A
  // malformed line is counted and logged through the engine's log with its line number.
  void FeedLine(std::string_view line);
  // Reads `path` ("-": standard input) to the end, calling `progress` about every 100,000
  // events when set. Fails with kNotFound or kIoError when the file cannot be read.
  Status FeedFile(const std::string& path,
                  const std::function<void(const SimulationProgress&)>& progress = {});

  // The report as one JSON object; the same events and definitions give the same bytes.
  std::string ReportJson() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace takt

#endif  // TAKT_SIMULATION_H_
