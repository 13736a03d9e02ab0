// Every seed (tests/fuzz/corpus/TARGET/) and every input a fuzzer once broke a target with
// (tests/fuzz/regressions/TARGET/, kept after the fix) through its fuzz target, and mutations
// of them, in the normal and the sanitizer builds: a target that crashes, or aborts on an
// invariant, fails the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
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

std::string Read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// A smoke run in every build, in place of a fuzzer's: each target on 10,000 mutations of its
// seeds and kept inputs (bits flipped, bytes inserted, removed, repeated or set to an edge
// value, two inputs spliced), drawn from a fixed seed, so that a change that breaks a target
// on inputs near the ones it knows fails the test run, under the sanitizers too, and not only
// in a fuzzing session.
TEST_P(FuzzReplayTest, MutationsOfTheKnownInputsPass) {
  std::vector<std::string> inputs;
  for (const fs::path& path : InputsOf(GetParam().name)) inputs.push_back(Read(path));
  ASSERT_FALSE(inputs.empty()) << "no seeds for " << GetParam().name;
  std::mt19937_64 random(20261205);
  const auto below = [&](size_t n) {
    return n == 0 ? 0 : static_cast<size_t>(random() % n);
  };
  constexpr char kEdges[] = {'\0', '\xff', '\x7f', '\x80', '"', '\\', '\n', '{', '[', '9'};
  for (int round = 0; round < 10000; ++round) {
    std::string input = inputs[below(inputs.size())];
    const size_t mutations = 1 + below(4);
    for (size_t m = 0; m < mutations; ++m) {
      const size_t at = below(input.size() + 1);
      switch (below(6)) {
        case 0:
          if (at < input.size()) input[at] = static_cast<char>(input[at] ^ (1 << below(8)));
          break;
        case 1: input.insert(at, 1, static_cast<char>(random())); break;
        case 2: input.erase(at, 1 + below(8)); break;
        case 3: input.insert(at, input.substr(at, below(16))); break;
        case 4:
          if (at < input.size()) input[at] = kEdges[below(sizeof(kEdges))];
          break;
        default: {
          const std::string& other = inputs[below(inputs.size())];
          input = input.substr(0, at) + other.substr(below(other.size() + 1));
        }
      }
    }
    SCOPED_TRACE("round " + std::to_string(round));
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
