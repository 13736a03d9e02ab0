// Golden files: every tests/data/dsl/errors/NAME.takt is checked and its diagnostics must equal
// NAME.expected, byte for byte. A new case needs a .takt and its .expected, no C++. Rewrite the
// expected files from the actual output with TAKT_UPDATE_GOLDEN=1 (and read the diff).
#include <gtest/gtest.h>

#include "support/test_support.h"
#include "takt/definitions.h"

namespace takt {
namespace {

const char* kDir = "tests/data/dsl/errors";

std::string CheckOutput(const std::string& path) {
  DefinitionOptions options;
  options.paths = {path};
  const CheckReport report = CheckDefinitions(options);
  std::string out;
  for (const Diagnostic& d : report.diagnostics) out += d.Format();
  return out;
}

class GoldenErrorTest : public testing::TestWithParam<std::string> {};

TEST_P(GoldenErrorTest, DiagnosticsMatchExpected) {
  const std::string takt = GetParam();
  const std::string expected_path = takt.substr(0, takt.size() - 5) + ".expected";
  const std::string actual = CheckOutput(takt);
  if (test::UpdateGolden()) test::WriteFile(expected_path, actual);
  EXPECT_FALSE(actual.empty()) << takt << " should produce diagnostics";
  EXPECT_EQ(actual, test::ReadFile(expected_path)) << "for " << takt;
}

std::vector<std::string> Cases() { return test::ListFiles(kDir, ".takt"); }

INSTANTIATE_TEST_SUITE_P(Errors, GoldenErrorTest, testing::ValuesIn(Cases()),
                         [](const testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param.substr(std::string(kDir).size() + 1);
                           return name.substr(0, name.size() - 5);
                         });

TEST(GoldenErrorSuite, HasAtLeastTwentyErrorCases) {
  size_t with_errors = 0;
  for (const std::string& takt : Cases()) {
    DefinitionOptions options;
    options.paths = {takt};
    if (CheckDefinitions(options).errors > 0) ++with_errors;
  }
  EXPECT_GE(with_errors, 20u);
}

TEST(GoldenErrorSuite, EveryErrorNamesFileLineAndColumn) {
  for (const std::string& takt : Cases()) {
    DefinitionOptions options;
    options.paths = {takt};
    for (const Diagnostic& d : CheckDefinitions(options).diagnostics) {
      EXPECT_GT(d.line, 0u) << takt << ": " << d.message;
      EXPECT_GT(d.column, 0u) << takt << ": " << d.message;
      EXPECT_FALSE(d.source_line.empty()) << takt << ": " << d.message;
    }
  }
}

TEST(GoldenErrorSuite, ShippedDefinitionsAreClean) {
  DefinitionOptions options;
  options.paths = {"workflows"};
  const CheckReport report = CheckDefinitions(options);
  EXPECT_EQ(report.errors, 0u);
  EXPECT_EQ(report.warnings, 0u);
  EXPECT_EQ(report.workflows, 1u);
}

}  // namespace
}  // namespace takt
