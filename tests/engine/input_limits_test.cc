// Limits on one event's text: an event over the size or nesting limit is malformed with a reason
// that gives its size or depth, and only its first bytes reach the log.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "support/test_support.h"

namespace takt {
namespace {

std::string Released(const std::string& id, const std::string& product) {
  return R"({"id":")" + id + R"(","source":"odoo","type":"order.released","key":"MO-1","seq":1,)"
         R"("ts":0,"data":{"asset":"A1","product":")" + product + R"("}})";
}

// An order.released whose unread field `extra` holds `depth` arrays within one another.
std::string Nested(const std::string& id, size_t depth) {
  return R"({"id":")" + id + R"(","source":"odoo","type":"order.released","key":"MO-1","seq":1,)"
         R"("ts":0,"data":{"asset":"A1","extra":)" + std::string(depth, '[') +
         std::string(depth, ']') + "}}";
}

std::unique_ptr<Engine> Open(const std::string& db = "") {
  EngineOptions options;
  options.workflow_paths = {"workflows"};
  options.store_path = db;
  Result<std::unique_ptr<Engine>> engine = Engine::Open(options);
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  return engine.ok() ? std::move(engine).value() : nullptr;
}

TEST(InputLimitsTest, AnEventOverTheSizeLimitIsMalformedAndOnlyItsStartIsLogged) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("takt-limits-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "t.db").string();
  {
    auto engine = Open(db);
    const std::string huge = Released("big", std::string(1u << 20, 'x'));
    Result<SubmitResult> r = engine->Submit(huge);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().outcome, Outcome::kMalformed);
    EXPECT_EQ(r.value().reason, "event of " + std::to_string(huge.size()) +
                                    " bytes is over the limit of 1048576 bytes (max_event_bytes)");
    // The same order, small, is applied: nothing of the large one was taken.
    EXPECT_EQ(engine->Submit(Released("big", "P-1")).value().outcome, Outcome::kApplied);
  }
  // The log holds the event's first bytes, not the megabyte.
  EXPECT_LT(std::filesystem::file_size(db), 512u << 10);
  std::filesystem::remove_all(dir);
}

TEST(InputLimitsTest, TheSizeLimitIsConfigurable) {
  EngineOptions options;
  options.workflow_paths = {"workflows"};
  options.max_event_bytes = 100;
  auto engine = Engine::Open(options);
  ASSERT_TRUE(engine.ok());
  const std::string event = Released("o1", "P-1");
  ASSERT_GT(event.size(), 100u);
  EXPECT_EQ(engine.value()->Submit(event).value().outcome, Outcome::kMalformed);
}

TEST(InputLimitsTest, NestingPastTheLimitIsMalformedAtTheLimitItIsRead) {
  auto engine = Open();
  // The event's own object and data are two levels: 62 more make 64.
  SubmitResult at_limit = engine->Submit(Nested("n1", 62)).value();
  EXPECT_EQ(at_limit.outcome, Outcome::kApplied) << at_limit.reason;
  SubmitResult deep = engine->Submit(Nested("n2", 100000)).value();
  EXPECT_EQ(deep.outcome, Outcome::kMalformed);
  EXPECT_NE(deep.reason.find("JSON nested deeper than 64 objects and arrays (max_json_depth)"),
            std::string::npos)
      << deep.reason;
  // Brackets inside strings are text, not nesting.
  SubmitResult quoted = engine->Submit(Released("n3", std::string(500, '['))).value();
  EXPECT_NE(quoted.outcome, Outcome::kMalformed) << quoted.reason;
}

// Events in plain JSON skip the pass over their text that finds how deep they nest (they are
// two levels deep by what plain means): a limit below two still refuses them, as it refuses
// any other event.
TEST(InputLimitsTest, ALimitBelowTwoLevelsRefusesEvenAPlainEvent) {
  for (const uint32_t limit : {1u, 2u}) {
    EngineOptions options;
    options.workflow_paths = {"workflows"};
    options.max_json_depth = limit;
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok());
    const SubmitResult r = engine.value()->Submit(Released("p1", "P-1")).value();
    if (limit == 1) {
      EXPECT_EQ(r.outcome, Outcome::kMalformed);
      EXPECT_EQ(r.event_id, "");  // nothing of it was read
      EXPECT_NE(r.reason.find("JSON nested deeper than 1 objects and arrays (max_json_depth)"),
                std::string::npos)
          << r.reason;
    } else {
      EXPECT_EQ(r.outcome, Outcome::kApplied) << r.reason;
    }
  }
}

}  // namespace
}  // namespace takt
