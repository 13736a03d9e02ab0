// The plain reader (engine/event/decode_plain.h) against simdjson's: whichever takes an event,
// it decodes to the same Event or fails with the same error. And the events takt's generator
// writes are all plain, so that the plain reader is the one that runs.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "dsl/load.h"
#include "engine/event/decode.h"
#include "store/store_support.h"

namespace takt {
namespace {

// Readings with every kind of field: a ranged int, a float, a bool, optional ones.
const char* kReadings = R"(
source meter owns reading
event reading { n: int in 1..5, x: float, ok: bool, label: string?, extra: int? }
)";

class DecodePlainTest : public testing::Test {
 protected:
  void SetUp() override {
    DefinitionOptions options;
    options.paths = {"workflows"};
    plant_ = dsl::LoadDefinitions(options);
    ASSERT_EQ(plant_->diagnostics.errors(), 0u);
    readings_ = dsl::LoadDefinitionsFromText({"readings.takt", kReadings}, {});
    ASSERT_EQ(readings_->diagnostics.errors(), 0u);
  }

  // Decodes `line` with both readers of `catalog` and expects the same outcome.
  void ExpectSame(const dsl::Catalog& catalog, const std::string& line) {
    EventDecoder either(catalog);
    EventDecoder general(catalog, EventDecoder::Paths::kGeneralOnly);
    Event a, b;
    std::string error_a, error_b;
    const bool ok_a = either.Decode(line, a, error_a);
    const bool ok_b = general.Decode(line, b, error_b);
    plain_ += either.counts().plain;
    ASSERT_EQ(ok_a, ok_b) << line << "\n" << error_a << "\n" << error_b;
    EXPECT_EQ(a.id, b.id) << line;
    if (!ok_a) {
      EXPECT_EQ(error_a, error_b) << line;
      return;
    }
    ++decoded_;
    EXPECT_EQ(a.source, b.source) << line;
    EXPECT_EQ(a.type, b.type) << line;
    EXPECT_EQ(a.key, b.key) << line;
    EXPECT_EQ(a.seq, b.seq) << line;
    EXPECT_EQ(a.ts, b.ts) << line;
    ASSERT_EQ(a.type_id, b.type_id) << line;
    ASSERT_EQ(a.fields.size(), b.fields.size()) << line;
    for (size_t i = 0; i < a.fields.size(); ++i) {
      const dsl::Value& x = a.fields[i];
      const dsl::Value& y = b.fields[i];
      ASSERT_EQ(x.type, y.type) << line << " field " << i;
      switch (x.type) {
        case dsl::Type::kNull: break;
        case dsl::Type::kBool: EXPECT_EQ(x.b, y.b) << line; break;
        case dsl::Type::kInt: EXPECT_EQ(x.i, y.i) << line; break;
        case dsl::Type::kString: EXPECT_EQ(x.s, y.s) << line; break;
        case dsl::Type::kFloat:  // bit for bit: -0.0 is not 0.0 here
          EXPECT_EQ(std::memcmp(&x.f, &y.f, sizeof x.f), 0) << line << " " << x.f << " " << y.f;
          break;
      }
    }
  }

  std::unique_ptr<dsl::Definitions> plant_;
  std::unique_ptr<dsl::Definitions> readings_;
  uint64_t plain_ = 0;    // events the plain reader took
  uint64_t decoded_ = 0;  // events that decoded
};

std::string Reading(const std::string& data) {
  return R"({"id":"m-1","source":"meter","type":"reading","key":"M1","seq":1,"ts":1,"data":)" +
         data + "}";
}

TEST_F(DecodePlainTest, ThePlantWorkloadIsReadByThePlainReaderAlone) {
  EventDecoder decoder(plant_->catalog);
  Event event;
  std::string error;
  const std::vector<std::string> lines = test::PlantEvents(300, 1);
  for (const std::string& line : lines) {
    ASSERT_TRUE(decoder.Decode(line, event, error)) << line << ": " << error;
    ExpectSame(plant_->catalog, line);
  }
  EXPECT_EQ(decoder.counts().plain, lines.size());
  EXPECT_EQ(decoder.counts().general, 0u);
}

TEST_F(DecodePlainTest, WhatIsNotPlainGoesToTheGeneralReaderAndDecodesTheSame) {
  EventDecoder decoder(readings_->catalog);
  Event event;
  std::string error;
  const std::vector<std::string> not_plain = {
      Reading(R"({"n":1,"x":1.5,"ok":true,"label":"caf\u00e9"})"),      // an escape
      Reading(R"({"n":1,"x":1.5,"ok":true,"label":"café"})"),            // UTF-8
      Reading(R"({"n":1,"x":1.5,"ok":true,"more":{"a":[1,2]}})"),        // a nested unread value
      R"({"data":{"n":2,"x":0,"ok":false},"id":"m-2","source":"meter","type":"reading",)"
      R"("key":"M1","seq":2,"ts":2})",                                    // data before type
      R"({"id":"m-3","source":"meter","type":"reading","key":"M1","seq":3,"ts":3,"note":1,)"
      R"("data":{"n":3,"x":0,"ok":true}})",                               // another field
      Reading(R"({"n":1234567890123456789,"x":1,"ok":true})"),           // 19 digits
  };
  for (const std::string& line : not_plain) {
    EXPECT_TRUE(decoder.Decode(line, event, error) || !error.empty()) << line;
    ExpectSame(readings_->catalog, line);
  }
  EXPECT_EQ(decoder.counts().plain, 0u);
  EXPECT_EQ(decoder.counts().general, not_plain.size());
}

TEST_F(DecodePlainTest, NumbersReadAsSimdjsonReadsThem) {
  const char* floats[] = {"0", "-0", "0.1", "1e5", "1E+5", "2.5e-3", "-12.75", "123456789012345678",
                          "1.7976931348623157e308", "4.9e-324", "2.2250738585072014e-308",
                          "0.30000000000000004", "9007199254740993", "1e400", "1e-400", "01",
                          "1.", ".5", "-", "+1", "1e", "--1", "0x10", "NaN", "Infinity", "1.5e+",
                          "\"1\"", "true", "null", "[1]"};
  for (const char* x : floats) {
    ExpectSame(readings_->catalog, Reading(std::string(R"({"n":1,"ok":true,"x":)") + x + "}"));
  }
  const char* ints[] = {"0", "-0", "1", "5", "6", "-1", "3.0", "3e0", "007", "1 ", "2x", "",
                        "999999999999999999", "-999999999999999999", "9223372036854775807",
                        "9223372036854775808", "-9223372036854775808", "\"3\"", "null", "true",
                        // read eight digits at a time: at, across and past the steps
                        "12345678", "-12345678", "99999999", "10000000", "00000000", "01234567",
                        "123456789", "1234567x", "12345678x", "12345678.5", "1234567890123456",
                        "12345678901234567", "1234567890123456e1", "-123456789012345678"};
  for (const char* n : ints) {
    ExpectSame(readings_->catalog, Reading(std::string(R"({"x":1,"ok":true,"n":)") + n + "}"));
    ExpectSame(readings_->catalog,
               Reading(std::string(R"({"x":1,"ok":true,"n":1,"extra":)") + n + "}"));
  }
  const char* envelopes[] = {"0", "1", "-1", "9007199254740992", "9007199254740993", "1.0", "1e3",
                             "253402300799999", "253402300800000", "\"1\"", "1795852839606",
                             "0000000000000", "17958528396060000"};
  for (const char* v : envelopes) {
    const std::string data = R"("data":{"n":1,"x":1,"ok":true}})";
    ExpectSame(readings_->catalog,
               std::string(R"({"id":"m","source":"meter","type":"reading","key":"M","seq":)") + v +
                   R"(,"ts":1,)" + data);
    ExpectSame(readings_->catalog,
               std::string(R"({"id":"m","source":"meter","type":"reading","key":"M","seq":1,)") +
                   R"("ts":)" + v + "," + data);
  }
  EXPECT_GE(plain_, 40u);  // the valid numbers among them
}

TEST_F(DecodePlainTest, RefusalsAndOdditiesAreReadAlike) {
  const std::vector<std::string> lines = {
      "", " ", "{}", "[]", "{", "}", "null", "{\"id\":\"a\"}",
      Reading(R"({"n":9,"x":1,"ok":true})"),                   // out of range
      Reading(R"({"n":1,"x":1,"ok":true,"n":2})"),             // twice
      Reading(R"({"n":1,"x":1})"),                             // missing
      Reading(R"({"n":1,"x":1,"ok":null})"),                   // null, not optional
      Reading(R"({"n":1,"x":1,"ok":true,"label":null})"),      // null, optional
      Reading(R"({"n":1,"x":1,"ok":1})"),                      // wrong type
      Reading(R"({"n":1,"x":1,"ok":true,"label":7})"),
      Reading(R"({"n":1,"x":1,"ok":true,"label":"a\tb"})"),    // a raw control character
      Reading(R"({"n":1,"x":1,"ok":true,"label":"a)" "\x7f" R"(b"})"),  // DEL
      Reading(R"({"n":1,"x":1,"ok":true,"unknown":"x","unknown":"y"})"),
      Reading(R"({"n":1,"x":1,"ok":true,"label":"a"} )") + " x",
      Reading(R"({"n":1,"x":1,"ok":tru})"),
      Reading(R"({"n":1,"x":1,"ok":true,})"),
      Reading(R"( { "n" : 1 , "x" : 1 , "ok" : true } )") + "\n",
      Reading("[]"),
      R"({"id":"m-1","source":"meter","type":"nothing","key":"M1","seq":1,"ts":1,"data":{}})",
      R"({"id":"","source":"meter","type":"reading","key":"M1","seq":1,"ts":1,"data":{}})",
      R"({"id":"m)" "\x7f" R"(","source":"meter","type":"reading","key":"M","seq":1,"ts":1,)"
      R"("data":{"n":1,"x":1,"ok":true}})",
      R"({"id":"m","id":"n","source":"meter","type":"reading","key":"M","seq":1,"ts":1,)"
      R"("data":{"n":1,"x":1,"ok":true}})",
      R"({"id":"m","source":"meter","type":"reading","key":"M","seq":1,"ts":1,)"
      R"("data":{"n":1,"x":1,"ok":true},"type":"reading"})",
      R"({"id":"m","source":"meter","type":"reading","key":"M","seq":1,"ts":1,)"
      R"("data":{"n":1,"x":1,"ok":true}}{})",
      std::string(R"({"id":"m","source":"meter","type":"reading","key":"M","seq":1,"ts":1,)"
                  R"("data":{"n":1,"x":1,"ok":true}})") + std::string(1, '\0'),
  };
  for (const std::string& line : lines) ExpectSame(readings_->catalog, line);
}

// Plant events with bytes deleted, inserted, replaced and repeated: a deterministic sample of
// what the event fuzz target explores without end.
TEST_F(DecodePlainTest, DamagedPlantEventsDecodeOrFailAlikeInBothReaders) {
  const std::vector<std::string> lines = test::PlantEvents(40, 1);
  const std::string alphabet = "{}[]\":,\\ 0123456789.eE+-tfnulx\x01\x7f\xc3\xa9";
  std::mt19937 random(20261206);
  auto pick = [&](size_t n) { return static_cast<size_t>(random() % n); };
  uint64_t cases = 0;
  for (const std::string& original : lines) {
    for (int round = 0; round < 40; ++round) {
      std::string line = original;
      for (int edits = 1 + static_cast<int>(pick(2)); edits > 0; --edits) {
        const size_t at = pick(line.size() + 1);
        switch (pick(4)) {
          case 0: if (at < line.size()) line.erase(at, 1); break;
          case 1: line.insert(at, 1, alphabet[pick(alphabet.size())]); break;
          case 2: if (at < line.size()) line[at] = alphabet[pick(alphabet.size())]; break;
          default: line.insert(at, line.substr(pick(line.size()), 1 + pick(8))); break;
        }
      }
      ExpectSame(plant_->catalog, line);
      if (HasFatalFailure()) return;
      ++cases;
    }
  }
  EXPECT_EQ(cases, lines.size() * 40);
  // Both outcomes and both readers were exercised.
  EXPECT_GT(decoded_, cases / 20);
  EXPECT_LT(decoded_, cases);
  EXPECT_GT(plain_, cases / 20);
}

}  // namespace
}  // namespace takt
