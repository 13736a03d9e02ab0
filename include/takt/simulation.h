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
// A commit writes every database page its batch changed, and an order's or a key's row is
// changed by events spread over the stream: batches of 4,096 write a page for several of them
// where batches of 1,024 wrote it again each time (docs/performance.md: a fifth to a quarter
// of a durable replay's time).
struct SimulationOptions {
  size_t max_batch = 4096;
  int64_t max_latency_ms = 50;
  // With a store, FeedFile() resumes an input only when the lines committed under its name
  // came from the same bytes, and refuses another input, naming the first line that differs.
  // Set, it reads the input from its first line as new events instead: those whose id was
  // seen before count as duplicates, and the cursor starts again from this input.
  bool new_input = false;
};

// What became of the lines a simulation read (Simulation::summary()).
struct SimulationSummary {
  uint64_t lines = 0;    // lines read, blank ones and resumed ones included
  uint64_t resumed = 0;  // committed by an earlier run from the same bytes, so not fed again
  uint64_t blank = 0;    // empty or only spaces and tabs: not events, not counted as events
  // The number of a last line that had no newline yet, and was left for a later run because
  // it may still be being written (with a store only; 0: none). It is not counted in `lines`.
  uint64_t unterminated_line = 0;
  // The events this simulation submitted and their outcomes: the engine's counts now, less
  // those it had when the simulation began. `held` is what is held now.
  EngineStats events;
};

class TAKT_API Simulation {
 public:
  // `engine` must outlive the simulation. `source_name` names the input in log lines and, with
  // a store, the cursor that records how many of its lines are committed, with their length
  // and SHA-256: FeedFile() on the same input again after an interruption checks that its
  // first lines are those bytes, skips them and goes on where the last commit ended.
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
  // events when set. With a store, on the first call of this simulation, lines committed
  // before under its name are skipped when the input starts with the same bytes; when it does
  // not, kInvalidArgument names the first line that differs and nothing is fed (see
  // SimulationOptions::new_input). A last line without a newline is left for a later run
  // with a store (it may still be being written; summary().unterminated_line) and read
  // without one. Fails with kNotFound or kIoError when the file cannot be read, and with the
  // engine's Status when a commit fails.
  Status FeedFile(const std::string& path,
                  const std::function<void(const SimulationProgress&)>& progress = {});

  SimulationSummary summary() const;

  // The report as one JSON object; the same events and definitions give the same bytes. With
  // a store it covers everything the database holds, earlier runs included.
  Result<std::string> ReportJson() const;
  // The same report written to `out` as it is made: memory stays small however many commands
  // and instances it lists. kIoError when `out` fails.
  Status WriteReport(std::ostream& out) const;

 private:
  // Reads the lines committed before under the source name from `in`, checking that they are
  // the same bytes.
  Status CheckCommittedPrefix(std::istream& in, const InputCursor& committed);

  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace takt

#endif  // TAKT_SIMULATION_H_
