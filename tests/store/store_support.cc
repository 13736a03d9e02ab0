#include "store/store_support.h"

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "takt/simulation.h"
#include "takt/workload.h"

namespace takt::test {

TempDir::TempDir(const std::string& name) {
  path_ = (std::filesystem::temp_directory_path() /
           ("takt-" + name + "-" + std::to_string(::getpid())))
              .string();
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<std::string> PlantEvents(int64_t orders, int64_t seed) {
  PlantWorkloadOptions options;
  options.orders = orders;
  options.seed = seed;
  std::vector<std::string> events;
  Result<uint64_t> n =
      GeneratePlantWorkload(options, [&](std::string_view line) { events.emplace_back(line); });
  EXPECT_TRUE(n.ok());
  return events;
}

EngineOptions PlantOptions(const std::string& db) {
  EngineOptions options;
  options.workflow_paths = {"workflows"};
  options.rules_dir = "rules";
  options.store_path = db;
  options.durability = Durability::kNormal;  // the tests kill processes, not machines
  return options;
}

std::string Report(const EngineOptions& options, const std::vector<std::string>& events,
                   size_t batch) {
  Result<std::unique_ptr<Engine>> engine = Engine::Open(options);
  if (!engine.ok()) {
    ADD_FAILURE() << engine.status().message();
    return "";
  }
  SimulationOptions sim_options;
  sim_options.max_batch = batch;
  sim_options.max_latency_ms = 1'000'000;
  Simulation sim(*engine.value(), "events", sim_options);
  for (const std::string& e : events) {
    Status fed = sim.FeedLine(e);
    if (!fed.ok()) {
      ADD_FAILURE() << fed.message();
      return "";
    }
  }
  EXPECT_TRUE(sim.Flush().ok());
  Result<std::string> report = sim.ReportJson();
  EXPECT_TRUE(report.ok());
  return report.ok() ? report.value() : "";
}

namespace {

sqlite3* OpenRaw(const std::string& db) {
  sqlite3* handle = nullptr;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << db;
  }
  return handle;
}

}  // namespace

std::string Dump(const std::string& db, const std::string& sql) {
  sqlite3* handle = OpenRaw(db);
  std::string out;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(handle, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sqlite3_errmsg(handle) << " in " << sql;
  }
  while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      if (i > 0) out += '|';
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
      out += text == nullptr ? "NULL" : text;
    }
    out += '\n';
  }
  sqlite3_finalize(stmt);
  sqlite3_close(handle);
  return out;
}

std::string DumpAll(const std::string& db) {
  std::string out;
  for (const char* sql : {
           "SELECT * FROM events ORDER BY pos",
           "SELECT * FROM inbox ORDER BY id",
           "SELECT * FROM sequences ORDER BY source, key",
           "SELECT * FROM instances ORDER BY workflow, key",
           "SELECT * FROM rule_state ORDER BY rule, key",
           "SELECT * FROM outbox ORDER BY seq",
           "SELECT * FROM audit ORDER BY seq",
           "SELECT hash, kind, name, first_pos FROM definitions ORDER BY hash",
           "SELECT * FROM cursors ORDER BY name",
           "SELECT * FROM held ORDER BY pos",
       }) {
    out += std::string("== ") + sql + "\n" + Dump(db, sql);
  }
  return out;
}

std::string IntegrityCheck(const std::string& db) {
  std::string result = Dump(db, "PRAGMA integrity_check");
  if (!result.empty() && result.back() == '\n') result.pop_back();
  return result;
}

void Execute(const std::string& db, const std::string& sql) {
  sqlite3* handle = OpenRaw(db);
  char* error = nullptr;
  if (sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    ADD_FAILURE() << (error != nullptr ? error : "error") << " in " << sql;
    sqlite3_free(error);
  }
  sqlite3_close(handle);
}

}  // namespace takt::test
