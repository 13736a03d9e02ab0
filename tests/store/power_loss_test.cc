// Power loss (power_loss_vfs.h): durable runs of the plant workload, with rules, lose power at a
// random write, sync or truncation of a commit or a checkpoint; the unsynced writes are undone
// or turned to garbage. Each time the database reopens sound (integrity_check, the audit
// chain); with FULL it holds every acknowledged event, with NORMAL at most the commits since the
// last sync of the WAL are gone (docs/operations.md, "Durability"); and what it holds is a prefix of what
// was submitted, whole batches only: sent again from there, the run ends as one that never lost
// power. And no command is handed out of the outbox for a commit a power loss could take back.
// TAKT_POWER_LOSS_TRIALS sets the number of power losses per case: by default 250, or 25 in a
// sanitizer build, where each costs two to three times as much.
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "store/power_loss_vfs.h"
#include "store/store_support.h"
#include "takt/simulation.h"
#include "takt/store.h"

namespace takt {
namespace {

struct Case {
  const char* name;
  Durability durability;
  test::PowerLoss how;
};

std::ostream& operator<<(std::ostream& out, const Case& c) { return out << c.name; }

constexpr size_t kBatch = 25;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kDefaultTrials = 25;
#else
constexpr int kDefaultTrials = 250;
#endif

int Trials() {
  const char* chosen = std::getenv("TAKT_POWER_LOSS_TRIALS");
  return chosen != nullptr ? std::atoi(chosen) : kDefaultTrials;
}

// What a power-loss test does with an engine over a fresh database, until a call fails.
using EngineRun = std::function<void(Engine&)>;

// Opens an engine on a fresh database in `dir` and runs `run` on it, with the power going at
// the `at`-th write, sync or truncation after the engine opened (-1: never); the engine is
// closed with the power still off, so nothing more reaches the disk. Returns the writes, syncs
// and truncations made from the open to the close.
int64_t RunOnce(EngineOptions& options, const test::TempDir& dir, const EngineRun& run, int64_t at,
                const Case& c, uint64_t seed) {
  options.store_path = dir.File("t.db");
  test::RestorePower();
  auto engine = Engine::Open(options);
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  if (!engine.ok()) return 0;
  const int64_t before = test::FileChanges();
  if (at >= 0) test::LosePowerAfter(at, c.how, seed);
  run(*engine.value());
  engine = Status::NotFound("closed");
  return test::FileChanges() - before;
}

// What a power loss left: the database, and the WAL syncs made before the power went.
struct Loss {
  const EngineOptions& options;
  int64_t wal_syncs;
};

// Loses power Trials() times, each at a write, sync or truncation of `run` chosen at random
// among the `writes` a whole run makes, and calls `after` with the power back on. Returns how
// many times the power went (a run may end before its write).
int LosePowerDuringRuns(EngineOptions options, const Case& c, int64_t writes, uint64_t seed,
                        const EngineRun& run, const std::function<void(const Loss&)>& after) {
  std::mt19937_64 random(seed);
  int losses = 0;
  for (int trial = 0; trial < Trials() && !testing::Test::HasFatalFailure(); ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    test::TempDir dir(std::string("power-") + c.name);
    const int64_t at = std::uniform_int_distribution<int64_t>(0, writes - 1)(random);
    RunOnce(options, dir, run, at, c, random());
    if (!test::PowerWasLost()) continue;
    const int64_t wal_syncs = test::WalSyncs();  // before the checks below make their own
    test::RestorePower();
    ++losses;
    const std::string integrity = test::IntegrityCheck(options.store_path);
    EXPECT_EQ(integrity, "ok");
    if (integrity != "ok") break;
    after(Loss{options, wal_syncs});
  }
  EXPECT_GE(losses, Trials() * 9 / 10) << "the power went too seldom to mean anything";
  return losses;
}

// After each acknowledged batch: the events acknowledged so far, and the WAL syncs made by then.
struct Acknowledgement {
  size_t events;
  int64_t wal_syncs;
};

// Submits `events` from `from` in batches until a call fails; the events acknowledged. Each
// acknowledgement goes into `acknowledgements` when given. Every kBatchesPerPoll batches the
// outbox is read, as a dispatcher polls it; with NORMAL that syncs the WAL.
constexpr size_t kBatchesPerPoll = 4;
size_t SubmitUntilFailure(Engine& engine, const std::vector<std::string>& events, size_t from,
                          std::vector<Acknowledgement>* acknowledgements = nullptr) {
  std::vector<SubmitResult> results;
  size_t acknowledged = from;
  while (acknowledged < events.size()) {
    std::vector<std::string_view> batch;
    for (size_t i = acknowledged; i < std::min(events.size(), acknowledged + kBatch); ++i) {
      batch.emplace_back(events[i]);
    }
    if (!engine.SubmitBatch(batch, results).ok()) break;
    acknowledged += batch.size();
    if (acknowledgements != nullptr) {
      acknowledgements->push_back(Acknowledgement{acknowledged, test::WalSyncs()});
    }
    if (acknowledged / kBatch % kBatchesPerPoll == 0 && !engine.PendingCommands(1).ok()) break;
  }
  return acknowledged;
}

// The events acknowledged before the last WAL sync of a run that lost power: on disk,
// whatever the durability.
size_t SyncedBeforeTheLoss(const std::vector<Acknowledgement>& acknowledgements,
                           const Loss& loss) {
  size_t synced = 0;
  for (const Acknowledgement& a : acknowledgements) {
    if (a.wal_syncs < loss.wal_syncs) synced = a.events;
  }
  return synced;
}

class PowerLossTest : public testing::TestWithParam<Case> {};

TEST_P(PowerLossTest, TheDatabaseReopensSoundAndHoldsWhatItsDurabilityPromises) {
  test::InstallPowerLossVfs();
  const Case& c = GetParam();
  const std::vector<std::string> events = test::PlantEvents(30, 11);
  const std::string expected = test::Report(test::PlantOptions(""), events);
  EngineOptions options = test::PlantOptions("");
  options.durability = c.durability;

  size_t acknowledged = 0;
  std::vector<Acknowledgement> acknowledgements;
  const EngineRun run = [&](Engine& engine) {
    acknowledgements.clear();
    acknowledged = SubmitUntilFailure(engine, events, 0, &acknowledgements);
  };
  test::TempDir count_dir(std::string("power-count-") + c.name);
  const int64_t writes = RunOnce(options, count_dir, run, -1, c, 0);
  ASSERT_EQ(acknowledged, events.size());
  ASSERT_GT(writes, 10);

  int lost_acknowledged = 0;
  int after_a_sync = 0;  // losses after a WAL sync had put acknowledged events on disk
  const int losses = LosePowerDuringRuns(options, c, writes, 42, run, [&](const Loss& loss) {
    const EngineOptions& o = loss.options;
    const size_t synced = SyncedBeforeTheLoss(acknowledgements, loss);
    if (synced > 0) ++after_a_sync;
    auto reopened = Engine::Open(o);
    ASSERT_TRUE(reopened.ok()) << reopened.status().message();
    const size_t held = reopened.value()->stats().events;
    EXPECT_EQ(held % kBatch == 0 || held == events.size(), true) << held << ": half a batch";
    EXPECT_LE(held, acknowledged + kBatch) << "more than was submitted";
    // NORMAL loses at most the commits since the last sync; FULL syncs before it acknowledges.
    EXPECT_GE(held, synced) << "a commit that a sync had put on disk was lost";
    if (c.durability == Durability::kFull) {
      EXPECT_GE(held, acknowledged) << "an acknowledged event was lost";
    } else if (held < acknowledged) {
      ++lost_acknowledged;
    }
    EXPECT_TRUE(VerifyAudit(o.store_path).value().ok);
    // The sources send again what the database does not hold: the run ends as one that never
    // lost power.
    ASSERT_EQ(SubmitUntilFailure(*reopened.value(), events, held), events.size());
    Simulation sim(*reopened.value(), "events");
    EXPECT_EQ(sim.ReportJson().value(), expected);
  });
  std::printf("%s: %d power losses, %d after a sync of acknowledged events", c.name, losses,
              after_a_sync);
  if (c.durability == Durability::kNormal) {
    std::printf(", %d took back acknowledged commits", lost_acknowledged);
  }
  std::printf("\n");
}

// Submits `events` in batches and after each hands out what the outbox offers, as a dispatcher
// hands commands to its connectors, marking each delivered, until a call fails. The ids handed
// out go into `handed`.
void SubmitAndDeliverUntilFailure(Engine& engine, const std::vector<std::string>& events,
                                  std::set<std::string>& handed,
                                  std::vector<Acknowledgement>& acknowledgements) {
  std::vector<SubmitResult> results;
  for (size_t from = 0; from < events.size(); from += kBatch) {
    std::vector<std::string_view> batch;
    for (size_t i = from; i < std::min(events.size(), from + kBatch); ++i) {
      batch.emplace_back(events[i]);
    }
    if (!engine.SubmitBatch(batch, results).ok()) return;
    acknowledgements.push_back(Acknowledgement{from + batch.size(), test::WalSyncs()});
    Result<std::vector<PendingCommand>> pending = engine.PendingCommands(100'000);
    if (!pending.ok()) return;
    for (const PendingCommand& p : pending.value()) {
      handed.insert(p.command.id);
      if (!engine.MarkDelivered(p.command.id).ok()) return;
    }
  }
}

// What the outbox hands out was made by a commit already on disk, with either durability: after
// a power loss at any write, every command handed out is still in the database, so the state
// it came from is too. (With NORMAL, acknowledged commits may still go, as the test above
// counts; what a connector was given may not.)
TEST_P(PowerLossTest, NoCommandIsHandedOutForACommitThePowerCanTakeBack) {
  test::InstallPowerLossVfs();
  const Case& c = GetParam();
  const std::vector<std::string> events = test::PlantEvents(30, 11);
  EngineOptions options = test::PlantOptions("");
  options.durability = c.durability;

  std::set<std::string> handed;
  std::vector<Acknowledgement> acknowledgements;
  const EngineRun run = [&](Engine& engine) {
    handed.clear();
    acknowledgements.clear();
    SubmitAndDeliverUntilFailure(engine, events, handed, acknowledgements);
  };
  test::TempDir count_dir(std::string("power-outbox-count-") + c.name);
  const int64_t writes = RunOnce(options, count_dir, run, -1, c, 0);
  ASSERT_GT(handed.size(), 10u) << "the workload makes too few commands to mean anything";

  size_t handed_in_all = 0;
  int after_a_sync = 0;
  const int losses = LosePowerDuringRuns(options, c, writes, 7, run, [&](const Loss& loss) {
    const EngineOptions& o = loss.options;
    handed_in_all += handed.size();
    const size_t synced = SyncedBeforeTheLoss(acknowledgements, loss);
    if (synced > 0) ++after_a_sync;
    auto reopened = Engine::Open(o);
    ASSERT_TRUE(reopened.ok()) << reopened.status().message();
    // The outbox's reads sync the WAL with NORMAL too: what they followed is on disk.
    EXPECT_GE(reopened.value()->stats().events, synced)
        << "a commit that a sync had put on disk was lost";
    std::set<std::string> held;
    ASSERT_TRUE(reopened.value()
                    ->ForEachCommand([&](const Command& command) { held.insert(command.id); })
                    .ok());
    for (const std::string& id : handed) {
      EXPECT_EQ(held.count(id), 1u) << id << " was handed out, and the power took it back";
    }
  });
  std::printf("%s: %d power losses, %d after a sync of acknowledged events, %zu commands handed "
              "out before them\n", c.name, losses, after_a_sync, handed_in_all);
}

INSTANTIATE_TEST_SUITE_P(
    Durabilities, PowerLossTest,
    testing::Values(Case{"full_dropped", Durability::kFull, test::PowerLoss::kDropUnsynced},
                    Case{"full_garbled", Durability::kFull, test::PowerLoss::kGarbleUnsynced},
                    Case{"normal_dropped", Durability::kNormal, test::PowerLoss::kDropUnsynced},
                    Case{"normal_garbled", Durability::kNormal,
                         test::PowerLoss::kGarbleUnsynced}),
    [](const testing::TestParamInfo<Case>& c) { return std::string(c.param.name); });

}  // namespace
}  // namespace takt
