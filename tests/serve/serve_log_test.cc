// takt serve's log, from the process's standard error: text from a request (an event's type,
// a claimed source) cannot begin a line of its own that reads as a record.
#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <sstream>
#include <string>

#include "serve/serve_process.h"
#include "serve/serve_support.h"
#include "store/store_support.h"
#include "support/test_support.h"

namespace takt {
namespace {

TEST(ServeLogTest, ALineBreakInAnEventIsEscapedAndForgesNoRecord) {
  test::ScratchDir scratch("serve-log");
  test::WriteFile(scratch.dir + "/takt.toml", test::ServeToml(scratch.dir));
  test::TaktServe serve(scratch.dir + "/takt.toml", scratch.dir + "/serve.log");
  ASSERT_TRUE(serve.Start()) << test::ReadFile(scratch.dir + "/serve.log");
  httplib::Client client("127.0.0.1", serve.port());
  const httplib::Headers scada{{"Authorization", "Bearer " + test::TokenOf("scada")}};
  // An unknown type, logged as malformed with its reason, and a source that is not the
  // credential's, logged as refused: both carry a line break and what would follow it.
  httplib::Result unknown = client.Post(
      "/v1/events", scada,
      R"({"id":"u-1","source":"scada","type":"x\n2026-12-05T00:00:00.000 info forged","key":"A01",)"
      R"("seq":1,"ts":1,"data":{}})",
      "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 200) << unknown->body;
  httplib::Result foreign = client.Post(
      "/v1/events", scada,
      R"({"id":"f-1","source":"odoo\nforged too","type":"alarm","key":"A01","seq":1,"ts":1,)"
      R"("data":{"asset":"A01","code":"OVERHEAT","severity":1}})",
      "application/json");
  ASSERT_TRUE(foreign);
  EXPECT_EQ(foreign->status, 403) << foreign->body;
  EXPECT_EQ(serve.Terminate(), 0);

  const std::string log = test::ReadFile(scratch.dir + "/serve.log");
  std::istringstream lines(log);
  int escaped = 0;
  for (std::string line; std::getline(lines, line);) {
    EXPECT_NE(line.rfind("2026-12-05T00:00:00.000 info forged", 0), 0u) << log;
    EXPECT_NE(line.rfind("forged too", 0), 0u) << log;
    if (line.find("x\\x0a2026-12-05T00:00:00.000 info forged") != std::string::npos ||
        line.find("odoo\\x0aforged too") != std::string::npos) {
      ++escaped;
    }
  }
  EXPECT_EQ(escaped, 2) << log;
}

}  // namespace
}  // namespace takt
