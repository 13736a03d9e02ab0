// takt simulate --db run again: an input is resumed only when it is the same bytes, another
// one is refused naming the first line that differs (or read as new with --new-input), and a
// last line without its newline waits for the run that sees it whole. Files and standard input
// alike.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "support/test_support.h"

namespace takt {
namespace {

using test::RunCommand;
using test::Takt;

// One order.released line per order, numbered from `first`.
std::string Orders(int first, int count) {
  std::string lines;
  for (int n = first; n < first + count; ++n) {
    const std::string key = "MO-" + std::to_string(n);
    lines += R"({"id":"odoo-)" + std::to_string(n) +
             R"(","source":"odoo","type":"order.released","key":")" + key +
             R"(","seq":1,"ts":)" + std::to_string(1000 + n) + R"(,"data":{"order":")" + key +
             R"(","product":"P-1","qty":10,"asset":"A1"}})" + "\n";
  }
  return lines;
}

// The "accepted" count of the report: every accepted event the database holds.
int Accepted(const std::string& report) {
  const std::string field = "\"accepted\": ";
  const size_t at = report.find(field);
  if (at == std::string::npos) return -1;
  return std::stoi(report.substr(at + field.size()));
}

std::string Simulate(const test::ScratchDir& scratch, const std::string& flags = "") {
  return Takt() + " simulate --workflows workflows --db " + scratch.dir + "/plant.db " + flags +
         " ";
}

TEST(ResumeTest, AnotherFileUnderTheSameNameIsRefusedNamingTheFirstLineThatDiffers) {
  test::ScratchDir scratch("resume-other-file");
  const std::string events = scratch.dir + "/events.jsonl";
  test::WriteFile(events, Orders(1, 7));
  auto first = RunCommand(Simulate(scratch) + events);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_EQ(Accepted(first.out), 7);

  // The same name, other content: the first 3 lines are the same orders, line 4 on are new.
  test::WriteFile(events, Orders(1, 3) + Orders(101, 10));
  auto second = RunCommand(Simulate(scratch) + events);
  EXPECT_EQ(second.exit_code, 3) << second.err;
  EXPECT_NE(second.err.find(events + ":4: this line differs from line 4 of the input"),
            std::string::npos)
      << second.err;
  EXPECT_NE(second.err.find("--new-input"), std::string::npos) << second.err;
  EXPECT_EQ(second.out, "");

  // Nothing of the refused input was read; asked, it is read whole as new events.
  auto third = RunCommand(Simulate(scratch, "--new-input") + events);
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_EQ(Accepted(third.out), 17);
  EXPECT_NE(third.err.find("13 lines: 13 events, 10 accepted, 3 duplicates"), std::string::npos)
      << third.err;

  // From then on that input is the one the name stands for, and resumes.
  test::WriteFile(events, Orders(1, 3) + Orders(101, 10) + Orders(201, 2));
  auto fourth = RunCommand(Simulate(scratch) + events);
  ASSERT_EQ(fourth.exit_code, 0) << fourth.err;
  EXPECT_EQ(Accepted(fourth.out), 19);
  EXPECT_NE(fourth.err.find("resuming after line 13"), std::string::npos) << fourth.err;
}

TEST(ResumeTest, AFileThatChangedWithinTheCommittedLinesOrShrankIsRefused) {
  test::ScratchDir scratch("resume-changed");
  const std::string events = scratch.dir + "/events.jsonl";
  test::WriteFile(events, Orders(1, 5));
  ASSERT_EQ(RunCommand(Simulate(scratch) + events).exit_code, 0);

  test::WriteFile(events, Orders(1, 4));
  auto shorter = RunCommand(Simulate(scratch) + events);
  EXPECT_EQ(shorter.exit_code, 3);
  EXPECT_NE(shorter.err.find("ends after 4 complete lines, before the 5 lines"), std::string::npos)
      << shorter.err;

  // One byte changed in line 2, the same length.
  std::string edited = Orders(1, 5);
  edited[edited.find("\"qty\":10", edited.find('\n'))] = ' ';
  test::WriteFile(events, edited);
  auto changed = RunCommand(Simulate(scratch) + events);
  EXPECT_EQ(changed.exit_code, 3);
  EXPECT_NE(changed.err.find(events + ":2: this line differs"), std::string::npos) << changed.err;
}

TEST(ResumeTest, StandardInputResumesTheSameEventsAndRefusesOthers) {
  test::ScratchDir scratch("resume-stdin");
  const std::string first_events = scratch.dir + "/first.jsonl";
  const std::string other = scratch.dir + "/other.jsonl";
  test::WriteFile(first_events, Orders(1, 7));
  test::WriteFile(other, Orders(101, 10));
  auto first = RunCommand("cat " + first_events + " | " + Simulate(scratch) + "-");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_EQ(Accepted(first.out), 7);

  // Ten new orders on standard input: not the events committed from it before.
  auto refused = RunCommand("cat " + other + " | " + Simulate(scratch) + "-");
  EXPECT_EQ(refused.exit_code, 3);
  EXPECT_NE(refused.err.find("<stdin>:1: this line differs"), std::string::npos) << refused.err;
  auto as_new = RunCommand("cat " + other + " | " + Simulate(scratch, "--new-input") + "-");
  ASSERT_EQ(as_new.exit_code, 0) << as_new.err;
  EXPECT_EQ(Accepted(as_new.out), 17);  // all ten applied

  // The same stream, grown: the committed lines are skipped, the new ones applied.
  auto resumed = RunCommand("cat " + other + " " + first_events + " | " + Simulate(scratch) + "-");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("17 lines (10 committed before, skipped): 7 events, 0 accepted, "
                             "7 duplicates"),
            std::string::npos)
      << resumed.err;
}

TEST(ResumeTest, ALastLineWithoutItsNewlineWaitsForTheRunThatSeesItWhole) {
  test::ScratchDir scratch("resume-partial");
  const std::string events = scratch.dir + "/events.jsonl";
  const std::string third = Orders(3, 1);
  const std::string half = third.substr(0, third.size() / 2);
  test::WriteFile(events, Orders(1, 2) + half);
  auto first = RunCommand(Simulate(scratch) + events);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(Accepted(first.out), 2);
  EXPECT_EQ(first.out.find("\"malformed\""), std::string::npos) << first.out;
  EXPECT_NE(first.err.find(events + ":3: the last line has no newline yet"), std::string::npos)
      << first.err;
  EXPECT_NE(first.err.find("line 3 left unread (no newline yet)"), std::string::npos)
      << first.err;

  // The writer finishes the line: the next run applies it, once.
  test::WriteFile(events, Orders(1, 3));
  auto second = RunCommand(Simulate(scratch) + events);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(Accepted(second.out), 3);
  EXPECT_NE(second.out.find("\"MO-3\": \"released\""), std::string::npos) << second.out;
  EXPECT_NE(second.err.find("resuming after line 2"), std::string::npos) << second.err;

  // Without a database the input is read whole, its last line as it is.
  test::WriteFile(events, Orders(1, 2) + third.substr(0, third.size() - 1));
  auto memory = RunCommand(Takt() + " simulate --workflows workflows " + events);
  ASSERT_EQ(memory.exit_code, 0) << memory.err;
  EXPECT_EQ(Accepted(memory.out), 3);
}

}  // namespace
}  // namespace takt
