// Synthetic workloads for tests, benchmarks and trying takt out. The plant workload is described
// in docs/workload.md: for the same options and seed it writes the same bytes on every machine
// (and the same as the workload's reference generator, which the tests compare it with).
#ifndef TAKT_WORKLOAD_H_
#define TAKT_WORKLOAD_H_

#include <cstdint>
#include <functional>
#include <string_view>

#include "takt/export.h"
#include "takt/status.h"

namespace takt {

struct PlantWorkloadOptions {
  int64_t orders = 1000;        // production orders to simulate
  int64_t assets = 20;          // A01, A02, ...
  int64_t seed = 1;
  double duplicate_rate = 0.01;  // probability that an event is delivered twice (same id)
  double delay_rate = 0.01;      // ... delivered after later events of its key
  double foreign_rate = 0.002;   // ... copied by a source that does not own its type
  double alarm_rate = 6.0;       // SCADA alarms per asset per simulated hour
};

// Fails with kInvalidArgument, naming the option, when one is out of range.
TAKT_API Status ValidatePlantWorkload(const PlantWorkloadOptions& options);

// Calls `line` once per event, in arrival order, with the JSON text (no newline). Returns the
// number of events written.
TAKT_API Result<uint64_t> GeneratePlantWorkload(const PlantWorkloadOptions& options,
                                       const std::function<void(std::string_view)>& line);

}  // namespace takt

#endif  // TAKT_WORKLOAD_H_
