// Helpers for the store tests: temporary databases, generated plant streams, reports from
// durable and in-memory engines, and dumps of database tables to compare runs by.
#ifndef TAKT_TESTS_STORE_STORE_SUPPORT_H_
#define TAKT_TESTS_STORE_STORE_SUPPORT_H_

#include <memory>
#include <string>
#include <vector>

#include "takt/engine.h"

namespace takt::test {

// A fresh directory under the system's temporary directory, removed by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& name);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The plant workload with `orders` orders and `seed`, one event per element.
std::vector<std::string> PlantEvents(int64_t orders, int64_t seed);

// Options for the shipped workflows and rules, on `db` ("" for memory).
EngineOptions PlantOptions(const std::string& db);

// The simulate report of `events` fed through an engine of `options` in batches of `batch`.
std::string Report(const EngineOptions& options, const std::vector<std::string>& events,
                   size_t batch = 256);

// Rows of `sql` in `db`, one line per row with columns separated by '|': what two runs are
// compared by.
std::string Dump(const std::string& db, const std::string& sql);
// Every table of `db` that says what a run did and left running (all but instance_index, which
// only a capped engine keeps), in a fixed order: two runs that must end alike compare equal.
std::string DumpAll(const std::string& db);
// PRAGMA integrity_check of `db`: "ok" when sound.
std::string IntegrityCheck(const std::string& db);
// Runs a statement that changes `db` from outside takt (to tamper with it in tests).
void Execute(const std::string& db, const std::string& sql);

}  // namespace takt::test

#endif  // TAKT_TESTS_STORE_STORE_SUPPORT_H_
