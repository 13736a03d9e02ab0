// Every seed (tests/fuzz/corpus/TARGET/) and every input a fuzzer once broke a target with
// (tests/fuzz/regressions/TARGET/, kept after the fix) through its fuzz target, in the normal
// and the sanitizer builds: a target that crashes, or aborts on an invariant, fails the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz/fuzz_targets.h"

namespace takt::fuzz {
namespace {

namespace fs = std::filesystem;

struct Target {
  const char* name;
  int (*run)(const uint8_t*, size_t);
};

std::ostream& operator<<(std::ostream& out, const Target& t) { return out << t.name; }

class FuzzReplayTest : public testing::TestWithParam<Target> {};

std::vector<fs::path> InputsOf(const std::string& name) {
  std::vector<fs::path> inputs;
  for (const char* kind : {"corpus", "regressions"}) {
    const fs::path dir = fs::path("tests/fuzz") / kind / name;
    if (!fs::is_directory(dir)) continue;
    for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
      if (e.is_regular_file()) inputs.push_back(e.path());
    }
  }
  std::sort(inputs.begin(), inputs.end());
  return inputs;
}

TEST_P(FuzzReplayTest, EverySeedAndRegressionInputPasses) {
  const std::vector<fs::path> inputs = InputsOf(GetParam().name);
  ASSERT_FALSE(inputs.empty()) << "no seeds for " << GetParam().name;
  for (const fs::path& path : inputs) {
    SCOPED_TRACE(path.string());
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    const std::string input = bytes.str();
    EXPECT_EQ(GetParam().run(reinterpret_cast<const uint8_t*>(input.data()), input.size()), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzReplayTest,
                         testing::Values(Target{"dsl", FuzzDsl}, Target{"event", FuzzEvent},
                                         Target{"config", FuzzConfig},
                                         Target{"rule_state", FuzzRuleState},
                                         Target{"mqtt_mapping", FuzzMqttMapping},
                                         Target{"lua_bridge", FuzzLuaBridge},
                                         Target{"http_ingest", FuzzHttpIngest},
                                         Target{"odoo_answers", FuzzOdooAnswers}),
                         [](const testing::TestParamInfo<Target>& target) {
                           return std::string(target.param.name);
                         });

}  // namespace
}  // namespace takt::fuzz
