// The plant generator: deterministic, valid, and, when the project's shared/ directory is
// beside it, byte-identical to the independent reference generator gen_plant.py.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_support.h"
#include "takt/workload.h"

namespace takt {
namespace {

std::string Generate(const PlantWorkloadOptions& options) {
  std::string out;
  Result<uint64_t> n = GeneratePlantWorkload(options, [&](std::string_view line) {
    out.append(line);
    out += '\n';
  });
  EXPECT_TRUE(n.ok());
  return out;
}

TEST(GeneratorTest, SameSeedSameBytesOtherSeedOtherBytes) {
  PlantWorkloadOptions o;
  o.orders = 50;
  const std::string a = Generate(o);
  EXPECT_EQ(a, Generate(o));
  o.seed = 2;
  EXPECT_NE(a, Generate(o));
}

TEST(GeneratorTest, EveryLineIsAnEventInThePlantFormat) {
  PlantWorkloadOptions o;
  o.orders = 100;
  const std::string text = Generate(o);
  size_t lines = 0;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    const auto ev = nlohmann::json::parse(text.substr(start, end - start));
    for (const char* field : {"id", "source", "type", "key", "seq", "ts", "data"}) {
      ASSERT_TRUE(ev.contains(field)) << field;
    }
    ++lines;
    start = end + 1;
  }
  EXPECT_GT(lines, 100u * 15);
}

TEST(GeneratorTest, RejectsOutOfRangeOptions) {
  PlantWorkloadOptions o;
  o.duplicate_rate = 1.5;
  EXPECT_EQ(ValidatePlantWorkload(o).code(), Code::kInvalidArgument);
  o = {};
  o.assets = 0;
  EXPECT_EQ(ValidatePlantWorkload(o).code(), Code::kInvalidArgument);
  o = {};
  o.orders = -1;
  EXPECT_FALSE(GeneratePlantWorkload(o, [](std::string_view) {}).ok());
}

TEST(GeneratorTest, ZeroOrdersHasNoOrderEvents) {
  PlantWorkloadOptions o;
  o.orders = 0;
  o.alarm_rate = 600;  // the plant runs until the last asset is free, up to 30 minutes
  const std::string text = Generate(o);
  EXPECT_EQ(text.find("order."), std::string::npos);
  EXPECT_NE(text.find("\"type\":\"alarm\""), std::string::npos);
}

// Cross-check against the reference generator in shared/workloads.
struct Variant {
  const char* name;
  const char* args;
  PlantWorkloadOptions options;
};

void PrintTo(const Variant& v, std::ostream* os) { *os << v.name << ": " << v.args; }

class ReferenceGeneratorTest : public testing::TestWithParam<Variant> {};

TEST_P(ReferenceGeneratorTest, ByteIdenticalToGenPlantPy) {
  const std::string shared = test::SharedDir();
  if (shared.empty()) {
    GTEST_SKIP() << "shared/workloads/gen_plant.py is not beside the project; the cross-check "
                    "against the reference generator runs only where it is (as in CI)";
  }
  const test::CommandResult py =
      test::RunCommand("python3 '" + shared + "/workloads/gen_plant.py' " + GetParam().args);
  ASSERT_EQ(py.exit_code, 0) << py.err;
  const std::string ours = Generate(GetParam().options);
  ASSERT_EQ(ours.size(), py.out.size());
  EXPECT_TRUE(ours == py.out);
}

PlantWorkloadOptions With(int64_t orders, int64_t seed, int64_t assets = 20, double dup = 0.01,
                          double delay = 0.01, double foreign = 0.002, double alarms = 6.0) {
  PlantWorkloadOptions o;
  o.orders = orders;
  o.seed = seed;
  o.assets = assets;
  o.duplicate_rate = dup;
  o.delay_rate = delay;
  o.foreign_rate = foreign;
  o.alarm_rate = alarms;
  return o;
}

INSTANTIATE_TEST_SUITE_P(
    Variants, ReferenceGeneratorTest,
    testing::Values(
        Variant{"defaults", "--orders 1000", With(1000, 1)},
        Variant{"seed7", "--orders 300 --seed 7", With(300, 7)},
        Variant{"big_seed", "--orders 200 --seed 123456789012", With(200, 123456789012)},
        Variant{"faulty", "--orders 300 --seed 3 --assets 7 --duplicate-rate 0.2 --delay-rate 0.2 "
                          "--foreign-rate 0.1 --alarm-rate 30",
                With(300, 3, 7, 0.2, 0.2, 0.1, 30)},
        Variant{"no_alarms", "--orders 100 --seed 5 --alarm-rate 0", With(100, 5, 20, 0.01, 0.01, 0.002, 0)},
        Variant{"many_assets", "--orders 400 --seed 9 --assets 120", With(400, 9, 120)}),
    [](const auto& param) { return std::string(param.param.name); });

}  // namespace
}  // namespace takt
