// Event decoding and schema validation: what is malformed, and that the reason names the field.
#include <gtest/gtest.h>

#include "dsl/load.h"
#include "engine/event/decode.h"

namespace takt {
namespace {

class DecodeTest : public testing::Test {
 protected:
  void SetUp() override {
    DefinitionOptions options;
    options.paths = {"workflows"};
    defs_ = dsl::LoadDefinitions(options);
    ASSERT_EQ(defs_->diagnostics.errors(), 0u);
    decoder_ = std::make_unique<EventDecoder>(defs_->catalog);
  }
  // The error for `json`, or "" when it decodes.
  std::string Error(const std::string& json) {
    std::string error;
    return decoder_->Decode(json, event_, error) ? "" : error;
  }

  std::unique_ptr<dsl::Definitions> defs_;
  std::unique_ptr<EventDecoder> decoder_;
  Event event_;
};

const char* kAlarm =
    R"({"id":"scada-000123","source":"scada","type":"alarm","key":"A07","seq":123,)"
    R"("ts":1795852800123,"data":{"asset":"A07","code":"OVERTEMP","severity":2}})";

TEST_F(DecodeTest, DecodesEnvelopeAndDataBySchemaSlot) {
  ASSERT_EQ(Error(kAlarm), "");
  EXPECT_EQ(event_.id, "scada-000123");
  EXPECT_EQ(event_.source, "scada");
  EXPECT_EQ(event_.type, "alarm");
  EXPECT_EQ(event_.key, "A07");
  EXPECT_EQ(event_.seq, 123);
  EXPECT_EQ(event_.ts, 1795852800123);
  const dsl::EventDef& def = defs_->catalog.events[static_cast<size_t>(event_.type_id)];
  EXPECT_EQ(event_.fields[static_cast<size_t>(def.FieldIndex("severity"))], dsl::Value::Int(2));
  EXPECT_EQ(event_.fields[static_cast<size_t>(def.FieldIndex("code"))],
            dsl::Value::String("OVERTEMP"));
}

TEST_F(DecodeTest, FieldOrderDoesNotMatter) {
  ASSERT_EQ(Error(R"({"data":{"severity":4,"code":"X"},"ts":1,"seq":1,"key":"A1",)"
                  R"("type":"alarm","source":"scada","id":"s-1"})"),
            "");
  EXPECT_EQ(event_.id, "s-1");
  const dsl::EventDef& def = defs_->catalog.events[static_cast<size_t>(event_.type_id)];
  EXPECT_EQ(event_.fields[static_cast<size_t>(def.FieldIndex("severity"))], dsl::Value::Int(4));
  EXPECT_EQ(event_.fields[static_cast<size_t>(def.FieldIndex("asset"))], dsl::Value::Null());
}

TEST_F(DecodeTest, NotJsonAndNotAnObject) {
  EXPECT_NE(Error("{not json").find("not valid JSON"), std::string::npos);
  EXPECT_EQ(Error("[1,2]"), "not a JSON object");
  EXPECT_EQ(Error("42"), "not a JSON object");
  EXPECT_NE(Error(std::string(kAlarm) + " trailing").find("not valid JSON"), std::string::npos);
}

TEST_F(DecodeTest, EnvelopeFieldsMissingOrMistyped) {
  EXPECT_EQ(Error(R"({"source":"scada","type":"alarm","key":"A","seq":1,"ts":1,"data":{"code":"X","severity":1}})"),
            "missing field id (string)");
  EXPECT_EQ(Error(R"({"id":7,"source":"scada","type":"alarm","key":"A","seq":1,"ts":1,"data":{}})"),
            "field id: expected string, got number");
  EXPECT_EQ(Error(R"({"id":"x","source":"scada","type":"alarm","key":"A","seq":"1","ts":1,"data":{}})"),
            "field seq: expected int, got string");
  EXPECT_EQ(Error(R"({"id":"x","source":"scada","type":"alarm","key":"A","seq":1,"ts":1.5,"data":{}})"),
            "field ts: expected int, got a float");
  EXPECT_EQ(Error(R"({"id":"x","source":"scada","type":"alarm","key":"A","seq":1,"ts":1,"data":[]})"),
            "field data: expected object, got array");
  EXPECT_EQ(Error(R"({"id":"x","source":"scada","type":"alarm","key":"A","seq":1,"ts":1})"),
            "missing field data (object)");
}

TEST_F(DecodeTest, IdIsKnownEvenWhenTheRestIsMalformed) {
  EXPECT_NE(Error(R"({"id":"odoo-9","source":"odoo","type":"nope","key":"A","seq":1,"ts":1,"data":{}})"),
            "");
  EXPECT_EQ(event_.id, "odoo-9");
}

TEST_F(DecodeTest, UnknownTypeIsMalformed) {
  EXPECT_EQ(Error(R"({"id":"x","source":"scada","type":"alarm.raised","key":"A","seq":1,"ts":1,"data":{}})"),
            "unknown event type 'alarm.raised'");
}

TEST_F(DecodeTest, EveryTypeOfTheCatalogIsFoundByItsNameAndNoOther) {
  for (const dsl::EventDef& def : defs_->catalog.events) {
    SCOPED_TRACE(def.type);
    const std::string prefix =
        R"({"id":"e1","source":")" + def.owner + R"(","type":")" + def.type +
        R"(","key":"K","seq":1,"ts":1,"data":{)";
    std::string error;
    decoder_->Decode(prefix + "}}", event_, error);  // its required fields may be missing
    EXPECT_EQ(event_.type_id, defs_->catalog.EventId(def.type));
    // The same length, one letter changed; one letter more; one less.
    std::string other = def.type;
    other.back() = other.back() == 'x' ? 'y' : 'x';
    const std::string shorter = def.type.substr(0, def.type.size() - 1);
    for (const std::string& name : {other, def.type + "s", shorter}) {
      EXPECT_EQ(Error(R"({"id":"e1","source":"s","type":")" + name +
                      R"(","key":"K","seq":1,"ts":1,"data":{}})"),
                "unknown event type '" + name + "'");
    }
  }
}

TEST_F(DecodeTest, AControlCharacterAnywhereInAnIdIsRefused) {
  // Ids of every length up to 20 bytes, with the character at every place: in the eight bytes
  // checked at a time and in the rest. DEL (0x7F) too; UTF-8's bytes above it are not control
  // characters.
  const auto alarm = [](const std::string& id) {
    return R"({"id":")" + id +
           R"(","source":"scada","type":"alarm","key":"A1","seq":1,"ts":1,)"
           R"("data":{"code":"X","severity":1}})";
  };
  for (size_t length = 1; length <= 20; ++length) {
    EXPECT_EQ(Error(alarm(std::string(length, 'a'))), "") << length;
    EXPECT_EQ(Error(alarm(std::string(length, '~'))), "") << length;  // 0x7E
    for (size_t at = 0; at < length; ++at) {
      for (const char* c : {"\\u0001", "\\u001f", "\\u007f"}) {
        std::string id(length, 'a');
        id.replace(at, 1, c);
        EXPECT_NE(Error(alarm(id)).find("field id: holds the control character"),
                  std::string::npos)
            << length << " " << at << " " << c;
      }
      std::string utf8(length, ' ');
      utf8.replace(at, 1, "\xc3\xa9");  // é
      EXPECT_EQ(Error(alarm(utf8)), "") << length << " " << at;
    }
  }
}

TEST_F(DecodeTest, DataFieldsMissingMistypedOrNull) {
  EXPECT_EQ(Error(R"({"id":"x","source":"scada","type":"alarm","key":"A","seq":1,"ts":1,"data":{"code":"X"}})"),
            "missing field data.severity (int)");
  EXPECT_EQ(Error(R"({"id":"x","source":"scada","type":"alarm","key":"A","seq":1,"ts":1,"data":{"code":"X","severity":"high"}})"),
            "field data.severity: expected int, got string");
  EXPECT_EQ(Error(R"({"id":"x","source":"scada","type":"alarm","key":"A","seq":1,"ts":1,"data":{"code":"X","severity":2.5}})"),
            "field data.severity: expected int, got a float");
  EXPECT_EQ(Error(R"({"id":"x","source":"scada","type":"alarm","key":"A","seq":1,"ts":1,"data":{"code":null,"severity":2}})"),
            "field data.code: expected string, got null");
  EXPECT_EQ(Error(R"({"id":"x","source":"qms","type":"inspection.result","key":"MO-1","seq":1,"ts":1,"data":{"critical":"yes"}})"),
            "field data.critical: expected bool, got string");
  EXPECT_EQ(Error(R"({"id":"x","source":"odoo","type":"order.released","key":"MO-1","seq":1,"ts":1,"data":{"order":"MO-1"}})"),
            "missing field data.asset (string)");
}

TEST_F(DecodeTest, OptionalFieldsMayBeNullOrAbsentAndUnknownFieldsAreIgnored) {
  EXPECT_EQ(Error(R"({"id":"x","source":"qms","type":"inspection.result","key":"MO-1","seq":1,"ts":1,)"
                  R"("data":{"critical":true,"defect":null,"extra":{"nested":[1,2]}}})"),
            "");
  EXPECT_EQ(Error(R"({"id":"x","source":"scada","type":"telemetry","key":"A","seq":1,"ts":1,)"
                  R"("data":{"asset":"A","tag":"T","value":3,"unit":"C"}})"),
            "");
  const dsl::EventDef& def = defs_->catalog.events[static_cast<size_t>(event_.type_id)];
  EXPECT_EQ(event_.fields[static_cast<size_t>(def.FieldIndex("value"))].type, dsl::Type::kFloat);
}

TEST_F(DecodeTest, StringsAreUnescaped) {
  ASSERT_EQ(Error(R"({"id":"a\"b","source":"scada","type":"alarm","key":"A\u0030","seq":1,"ts":1,)"
                  R"("data":{"code":"X\nY","severity":1}})"),
            "");
  EXPECT_EQ(event_.id, "a\"b");
  EXPECT_EQ(event_.key, "A0");
}

TEST_F(DecodeTest, BuffersAreReusedAcrossEvents) {
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(Error(kAlarm), "");
  EXPECT_NE(Error("{"), "");
  EXPECT_EQ(Error(kAlarm), "");
  EXPECT_EQ(event_.key, "A07");
}

}  // namespace
}  // namespace takt
