// Power loss (power_loss_vfs.h): durable runs of the plant workload, with rules, lose power at a
// random write, sync or truncation of a commit or a checkpoint; the unsynced writes are undone
// or turned to garbage. Each time the database reopens sound (integrity_check, the audit
// chain); with FULL it holds every acknowledged event, with NORMAL at most the commits since the
// last sync are gone (docs/operations.md, "Durability"); and what it holds is a prefix of what
// was submitted, whole batches only: sent again from there, the run ends as one that never lost
// power. And no command is handed out of the outbox for a commit a power loss could take back.
// TAKT_POWER_LOSS_TRIALS sets the number of power losses per case (default 25).
#include <gtest/gtest.h>

#include <cstdlib>
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

int Trials() {
  const char* chosen = std::getenv("TAKT_POWER_LOSS_TRIALS");
  return chosen != nullptr ? std::atoi(chosen) : 25;
}

// Submits `events` from `from` in batches until one fails; the events acknowledged.
size_t SubmitUntilFailure(Engine& engine, const std::vector<std::string>& events, size_t from) {
  std::vector<SubmitResult> results;
  size_t acknowledged = from;
  while (acknowledged < events.size()) {
    std::vector<std::string_view> batch;
    for (size_t i = acknowledged; i < std::min(events.size(), acknowledged + kBatch); ++i) {
      batch.emplace_back(events[i]);
    }
    if (!engine.SubmitBatch(batch, results).ok()) break;
    acknowledged += batch.size();
  }
  return acknowledged;
}

class PowerLossTest : public testing::TestWithParam<Case> {};

TEST_P(PowerLossTest, TheDatabaseReopensSoundAndHoldsWhatItsDurabilityPromises) {
  test::InstallPowerLossVfs();
  const Case& c = GetParam();
  const std::vector<std::string> events = test::PlantEvents(30, 11);
  const std::string expected = test::Report(test::PlantOptions(""), events);
  EngineOptions options = test::PlantOptions("");
  options.durability = c.durability;

  // How many writes, syncs and truncations a whole run makes: the power goes at one of them.
  int64_t writes = 0;
  {
    test::TempDir dir(std::string("power-count-") + c.name);
    options.store_path = dir.File("t.db");
    test::RestorePower();
    const int64_t before = test::FileChanges();
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    ASSERT_EQ(SubmitUntilFailure(*engine.value(), events, 0), events.size());
    engine = Status::NotFound("closed");
    writes = test::FileChanges() - before;
  }
  ASSERT_GT(writes, 10);

  std::mt19937_64 random(42);
  int losses = 0;
  int lost_acknowledged = 0;
  for (int trial = 0; trial < Trials(); ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    test::TempDir dir(std::string("power-") + c.name);
    options.store_path = dir.File("t.db");
    test::RestorePower();
    const int64_t at = std::uniform_int_distribution<int64_t>(0, writes - 1)(random);
    size_t acknowledged = 0;
    {
      auto engine = Engine::Open(options);
      test::LosePowerAfter(at, c.how, random());
      if (engine.ok()) acknowledged = SubmitUntilFailure(*engine.value(), events, 0);
    }  // closed with the power off: nothing more reaches the disk
    if (!test::PowerWasLost()) continue;  // the run ended before its `at`-th write
    test::RestorePower();
    ++losses;

    ASSERT_EQ(test::IntegrityCheck(options.store_path), "ok");
    auto reopened = Engine::Open(options);
    ASSERT_TRUE(reopened.ok()) << reopened.status().message();
    const size_t held = reopened.value()->stats().events;
    EXPECT_EQ(held % kBatch == 0 || held == events.size(), true) << held << ": half a batch";
    EXPECT_LE(held, acknowledged + kBatch) << "more than was submitted";
    if (c.durability == Durability::kFull) {
      EXPECT_GE(held, acknowledged) << "an acknowledged event was lost";
    } else if (held < acknowledged) {
      ++lost_acknowledged;
    }
    EXPECT_TRUE(VerifyAudit(options.store_path).value().ok);
    // The sources send again what the database does not hold: the run ends as one that never
    // lost power.
    ASSERT_EQ(SubmitUntilFailure(*reopened.value(), events, held), events.size());
    Simulation sim(*reopened.value(), "events");
    EXPECT_EQ(sim.ReportJson().value(), expected);
  }
  EXPECT_GE(losses, Trials() / 2) << "the power went too seldom to mean anything";
  std::printf("%s: %d power losses", c.name, losses);
  if (c.durability == Durability::kNormal) {
    std::printf(", %d of them took back acknowledged commits", lost_acknowledged);
  }
  std::printf("\n");
}

// Submits `events` in batches and after each hands out what the outbox offers, as a dispatcher
// hands commands to its connectors, marking each delivered, until a call fails. The ids handed
// out go into `handed`.
void SubmitAndDeliverUntilFailure(Engine& engine, const std::vector<std::string>& events,
                                  std::set<std::string>& handed) {
  std::vector<SubmitResult> results;
  for (size_t from = 0; from < events.size(); from += kBatch) {
    std::vector<std::string_view> batch;
    for (size_t i = from; i < std::min(events.size(), from + kBatch); ++i) {
      batch.emplace_back(events[i]);
    }
    if (!engine.SubmitBatch(batch, results).ok()) return;
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

  int64_t writes = 0;
  size_t commands = 0;
  {
    test::TempDir dir(std::string("power-outbox-count-") + c.name);
    options.store_path = dir.File("t.db");
    test::RestorePower();
    const int64_t before = test::FileChanges();
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    std::set<std::string> handed;
    SubmitAndDeliverUntilFailure(*engine.value(), events, handed);
    engine = Status::NotFound("closed");
    writes = test::FileChanges() - before;
    commands = handed.size();
  }
  ASSERT_GT(commands, 10u) << "the workload makes too few commands to mean anything";

  std::mt19937_64 random(7);
  int losses = 0;
  size_t handed_in_all = 0;
  for (int trial = 0; trial < Trials(); ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    test::TempDir dir(std::string("power-outbox-") + c.name);
    options.store_path = dir.File("t.db");
    test::RestorePower();
    const int64_t at = std::uniform_int_distribution<int64_t>(0, writes - 1)(random);
    std::set<std::string> handed;
    {
      auto engine = Engine::Open(options);
      test::LosePowerAfter(at, c.how, random());
      if (engine.ok()) SubmitAndDeliverUntilFailure(*engine.value(), events, handed);
    }
    if (!test::PowerWasLost()) continue;
    test::RestorePower();
    ++losses;
    handed_in_all += handed.size();

    ASSERT_EQ(test::IntegrityCheck(options.store_path), "ok");
    auto reopened = Engine::Open(options);
    ASSERT_TRUE(reopened.ok()) << reopened.status().message();
    std::set<std::string> held;
    ASSERT_TRUE(reopened.value()
                    ->ForEachCommand([&](const Command& command) { held.insert(command.id); })
                    .ok());
    for (const std::string& id : handed) {
      EXPECT_EQ(held.count(id), 1u) << id << " was handed out, and the power took it back";
    }
  }
  EXPECT_GE(losses, Trials() / 2) << "the power went too seldom to mean anything";
  std::printf("%s: %d power losses, %zu commands handed out before them\n", c.name, losses,
              handed_in_all);
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
