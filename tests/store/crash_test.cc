// Crash safety: `takt simulate --db` (rules, and the reorder policy on two sources, so that held
// events are in flight too) over a stream of more than 200,000 events, killed with
// SIGKILL at named points inside the commit path and at random instants, restarted each time
// on the same database and input, ends with the same report and the same database as a run
// that was never interrupted: nothing accepted is lost, no command appears twice.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "store/store_support.h"
#include "support/test_support.h"
#include "takt/store.h"
#include "takt/workload.h"

namespace takt {
namespace {

using test::Dump;

struct Exit {
  bool killed = false;  // by SIGKILL (ours or the crash hook's)
  int code = -1;
};

// Runs takt simulate on `db`, killing it after `kill_after` when that is set. In batches of
// 1,024 events (not the default 4,096): about 200 commits for the named points and the random
// kills to land between.
Exit RunSimulate(const std::string& db, const std::string& events, const std::string& report,
                 const std::string& crash_at = "",
                 std::chrono::milliseconds kill_after = std::chrono::milliseconds::zero()) {
  std::string binary = TAKT_BINARY;
  const std::vector<std::string> args = {binary, "simulate", "--quiet", "--workflows", "workflows",
                                         "--rules", "rules", "--reorder", "mes", "--reorder",
                                         "qms", "--db", db, "--durability", "normal",
                                         "--batch", "1024",
                                         "--report", report, events};
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_RDWR);
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    if (!crash_at.empty()) setenv("TAKT_CRASH_AT", crash_at.c_str(), 1);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  if (kill_after.count() > 0) {
    std::this_thread::sleep_for(kill_after);
    kill(pid, SIGKILL);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  Exit exit;
  exit.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  exit.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return exit;
}

TEST(CrashTest, KilledAtAnyPointARunEndsAsIfNeverInterrupted) {
  test::TempDir dir("crash");
  const std::string events = dir.File("events.jsonl");
  double total_lines = 0;
  {
    std::ofstream out(events, std::ios::binary);
    PlantWorkloadOptions options;
    options.orders = 10'000;  // about 21 events per order: 207,982 events
    options.seed = 11;
    ASSERT_TRUE(GeneratePlantWorkload(options, [&](std::string_view line) {
                  out << line << '\n';
                  ++total_lines;
                }).ok());
  }
  const std::string reference_db = dir.File("reference.db");
  const std::string reference_report = dir.File("reference.json");
  const auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(RunSimulate(reference_db, events, reference_report).code, 0);
  const auto run_time = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  ASSERT_GE(Dump(reference_db, "SELECT count(*) >= 200000 FROM events"), "1\n");

  const std::string db = dir.File("crashed.db");
  const std::string report = dir.File("crashed.json");
  // The named points of the commit path first, each at a few depths into the run.
  int kills = 0;
  for (const std::string point :
       {"in_transaction:2", "mid_outbox:1", "after_commit:5", "in_transaction:40",
        "mid_outbox:3000", "after_commit:90"}) {
    const Exit exit = RunSimulate(db, events, report, point);
    EXPECT_TRUE(exit.killed) << point << " was never reached (exit " << exit.code << ")";
    kills += exit.killed ? 1 : 0;
  }
  // Then SIGKILL at random instants: each run gets a random share of the time the rest of the
  // input would take at the uninterrupted run's pace (a restart also spends some of it
  // reloading), small enough that 20 kills land before the end even if this run goes faster.
  std::mt19937 random(20261123);
  std::uniform_real_distribution<double> share(0.2, 1.0);
  int random_kills = 0;
  int finished_early = 0;
  while (random_kills < 20 && finished_early < 3) {
    const std::string done = Dump(db, "SELECT coalesce(max(position), 0) FROM cursors");
    const double remaining = std::max(0.05, 1.0 - std::stod(done) / total_lines);
    const auto slice = std::chrono::milliseconds(static_cast<int64_t>(
        share(random) * static_cast<double>(run_time.count()) * remaining / (20 - random_kills + 2)) + 5);
    const Exit exit = RunSimulate(db, events, report, "", slice);
    if (exit.killed) {
      ++random_kills;
    } else {
      ASSERT_EQ(exit.code, 0);
      ++finished_early;
    }
  }
  EXPECT_EQ(random_kills, 20) << "the run finished before 20 kills";
  kills += random_kills;
  // The last run goes to the end.
  ASSERT_EQ(RunSimulate(db, events, report).code, 0);

  EXPECT_EQ(test::ReadFile(report), test::ReadFile(reference_report));
  EXPECT_EQ(test::IntegrityCheck(db), "ok");
  EXPECT_EQ(Dump(db, "SELECT count(*) = count(DISTINCT id) FROM outbox"), "1\n");
  EXPECT_TRUE(VerifyAudit(db).value().ok);
  const std::string crashed = test::DumpAll(db);
  const std::string reference = test::DumpAll(reference_db);
  EXPECT_TRUE(crashed == reference) << "the databases differ after " << kills << " kills";
  std::string events_count = Dump(db, "SELECT count(*) FROM events");
  events_count.pop_back();
  std::cout << "[ crash    ] " << kills << " kills over " << events_count
            << " events; the uninterrupted run took " << run_time.count() << " ms\n";
}

}  // namespace
}  // namespace takt
