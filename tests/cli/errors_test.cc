// Errors that explain themselves: a database that cannot be created or written says which file
// or folder and why; takt trace and takt audit verify read a database they cannot write; numbers
// out of range name the field; input bytes reach the terminal escaped.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "support/test_support.h"

namespace takt {
namespace {

using test::RunCommand;
using test::Takt;

// Runs `command` as a user who may not write what the test made read-only: as root, whom
// permissions do not stop, through setpriv as nobody; otherwise as the user running the test.
std::string AsReader(const std::string& command) {
  if (::geteuid() != 0) return command;
  return "setpriv --reuid=65534 --regid=65534 --clear-groups " + command;
}

// Makes `path` readable and not writable by whoever AsReader() runs as.
void MakeReadOnly(const std::string& path) {
  namespace fs = std::filesystem;
  const bool folder = fs::is_directory(path);
  fs::permissions(path,
                  fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read |
                      (folder ? fs::perms::owner_exec | fs::perms::group_exec |
                                    fs::perms::others_exec
                              : fs::perms::none),
                  fs::perm_options::replace);
}

std::string SimulateInto(const std::string& db) {
  return Takt() + " simulate --workflows workflows --db " + db + " examples/plant/events.jsonl";
}

TEST(ErrorsTest, ADatabaseInAFolderThatDoesNotExistSaysSo) {
  test::ScratchDir scratch("errors-nodir");
  auto r = RunCommand(SimulateInto(scratch.dir + "/missing/plant.db"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot open database " + scratch.dir +
                       "/missing/plant.db: the folder " + scratch.dir +
                       "/missing does not exist"),
            std::string::npos)
      << r.err;
  auto trace = RunCommand(Takt() + " trace --db " + scratch.dir + "/none.db MO-1");
  EXPECT_NE(trace.err.find("cannot open database " + scratch.dir + "/none.db: there is no such file"),
            std::string::npos)
      << trace.err;
}

TEST(ErrorsTest, AReadOnlyDatabaseIsNamedAndStillReadByTraceAndAudit) {
  test::ScratchDir scratch("errors-ro");
  // The scratch folder is the test's, readable by all; the reader below may not write in it.
  std::filesystem::permissions(scratch.dir, std::filesystem::perms::all,
                               std::filesystem::perm_options::replace);
  const std::string folder = scratch.dir + "/plant";
  std::filesystem::create_directories(folder);
  const std::string db = folder + "/plant.db";
  ASSERT_EQ(RunCommand(SimulateInto(db)).exit_code, 0);
  MakeReadOnly(db);
  MakeReadOnly(folder);

  auto write = RunCommand(AsReader(SimulateInto(db)));
  EXPECT_EQ(write.exit_code, 2);
  EXPECT_NE(write.err.find("database " + db + " is read-only: takt needs to write to it"),
            std::string::npos)
      << write.err;
  auto create = RunCommand(AsReader(SimulateInto(folder + "/new.db")));
  EXPECT_EQ(create.exit_code, 2);
  EXPECT_NE(create.err.find("cannot create database " + folder + "/new.db: the folder " + folder +
                            " is read-only"),
            std::string::npos)
      << create.err;

  auto trace = RunCommand(AsReader(Takt() + " trace --db " + db + " MO-000001"));
  EXPECT_EQ(trace.exit_code, 0) << trace.err;
  EXPECT_NE(trace.out.find("order.released applied"), std::string::npos) << trace.out;
  auto audit = RunCommand(AsReader(Takt() + " audit verify --db " + db));
  EXPECT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_NE(audit.out.find("audit chain ok"), std::string::npos) << audit.out;
  EXPECT_FALSE(std::filesystem::exists(db + "-shm"));  // read as it is, nothing written beside
}

TEST(ErrorsTest, FloatsOutOfRangeOrNotFiniteNameTheFieldAndInputIsShownEscaped) {
  test::ScratchDir scratch("errors-numbers");
  const std::string events = scratch.dir + "/bad.jsonl";
  const std::string head = R"({"source":"scada","type":"telemetry","key":"A1","ts":1,)";
  test::WriteFile(events,
                  R"({"id":"t1","seq":1,)" + head.substr(1) + R"("data":{"value":1e999}})" "\n" +
                  R"({"id":"t2","seq":2,)" + head.substr(1) + R"("data":{"value":NaN}})" "\n" +
                  R"({"id":"t3","seq":3,)" + head.substr(1) + R"("data":{"value":-Infinity}})" "\n" +
                  // An id that would turn the terminal red, and a type with a raw control byte.
                  R"({"id":"t4\u001b[31m","seq":4,)" + head.substr(1) + R"("data":{"value":"x"}})" "\n" +
                  "{\"id\":\"t5\",\"seq\":5,\"source\":\"scada\",\"type\":\"tele\x01metry\"}\n");
  auto r = RunCommand(Takt() + " simulate --workflows workflows " + events);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(":1: malformed event t1: field data.value: 1e999 is out of range for a float"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(":2: malformed event t2: field data.value: NaN is not a finite number"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(":3: malformed event t3: field data.value: -Infinity is not a finite number"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("malformed event t4\\x1b[31m: field data.value"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << "a raw escape reached the terminal";
  EXPECT_EQ(r.err.find('\x01'), std::string::npos) << "a raw control byte reached the terminal";
}

TEST(ErrorsTest, AnEventOverTheSizeLimitIsNamedByLineAndSize) {
  test::ScratchDir scratch("errors-size");
  const std::string events = scratch.dir + "/big.jsonl";
  const std::string big = R"({"id":"o2","source":"odoo","type":"order.released","key":"MO-2",)"
                          R"("seq":1,"ts":0,"data":{"asset":"A1","product":")" +
                          std::string(2000, 'x') + "\"}}";
  test::WriteFile(events, R"({"id":"o1","source":"odoo","type":"order.released","key":"MO-1","seq":1,"ts":0,"data":{"asset":"A1"}})"
                  "\n" + big + "\n");
  auto r = RunCommand(Takt() + " simulate --workflows workflows --max-event-bytes 1000 " + events);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(events + ":2: malformed event: event of " + std::to_string(big.size()) +
                       " bytes is over the limit of 1000 bytes"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("1 accepted, 0 duplicates, 1 malformed"), std::string::npos) << r.err;
}

TEST(ErrorsTest, CheckShowsBytesThatAreNotUtf8Escaped) {
  test::ScratchDir scratch("errors-utf8");
  const std::string file = scratch.dir + "/bad.takt";
  test::WriteFile(file, "workflow w {\n  key order\n  start a on order.released\n  state \xff\xfe {}\n}\n");
  auto r = RunCommand(Takt() + " check " + file);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("\\xff\\xfe"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\xff'), std::string::npos) << "a byte that is not UTF-8 reached the terminal";
}

}  // namespace
}  // namespace takt
