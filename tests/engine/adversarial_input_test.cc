// Hostile and broken events, table-driven: each is refused with a reason that names the field
// (or the limit) and, once its id could be read, the id; nothing of it reaches the state, the
// engine goes on, and every event accepted before and after it is still there after a restart.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/store_support.h"
#include "support/test_support.h"
#include "takt/engine.h"

namespace takt {
namespace {

// An order.released for MO-`n` with `envelope` and `data` spliced in (JSON text, may be empty).
std::string Released(int n, const std::string& envelope = "", const std::string& data = "") {
  const std::string id = "e" + std::to_string(n);
  const std::string key = "MO-" + std::to_string(n);
  std::string e = R"({"id":")" + id + R"(","source":"odoo","type":"order.released","key":")" +
                  key + R"(","seq":1,"ts":1000)";
  if (!envelope.empty()) e += "," + envelope;
  e += R"(,"data":{"order":")" + key + R"(","product":"P","qty":5,"asset":"A1")";
  if (!data.empty()) e += "," + data;
  return e + "}}";
}

// Replaces the first `from` in `text` by `to`.
std::string With(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

struct Hostile {
  const char* name;
  std::string event;
  const char* reason;  // what the refusal must say
};

std::vector<Hostile> Table() {
  const std::string ten_kb(10 * 1024, 'x');
  return {
      {"oversized_field", Released(1, "", R"("note":")" + std::string(2u << 20, 'x') + "\""),
       "over the limit of 1048576 bytes (max_event_bytes)"},
      {"deeply_nested", Released(2, "", R"("x":)" + std::string(10000, '[') +
                                            std::string(10000, ']')),
       "nested deeper than 64"},
      {"invalid_utf8", With(Released(3), "\"P\"", "\"P\xff\""), "not valid UTF-8"},
      {"integer_too_large", With(Released(4), "\"qty\":5", "\"qty\":99999999999999999999"),
       "field data.qty: expected int, got an integer out of range"},
      {"float_for_int", With(Released(5), "\"qty\":5", "\"qty\":1e300"),
       "field data.qty: expected int"},
      {"nan", With(Released(6), "\"qty\":5", "\"qty\":NaN"), "field data.qty"},
      {"infinity", With(Released(7), "\"qty\":5", "\"qty\":Infinity"), "field data.qty"},
      {"duplicate_envelope_key", With(Released(8), "\"seq\":1", "\"seq\":1,\"seq\":2"),
       "field seq appears twice"},
      {"duplicate_data_key", With(Released(9), "\"qty\":5", "\"qty\":5,\"qty\":6"),
       "field data.qty appears twice"},
      {"control_character_in_id", With(Released(10), "\"e10\"", "\"e10\\u001b[31m\""),
       "field id: holds the control character \\x1B"},
      {"control_character_in_key", With(Released(11), "\"key\":\"MO-11\"",
                                        "\"key\":\"MO-\\u0000-11\""),
       "field key: holds the control character \\x00"},
      {"id_10kb", With(Released(12), "\"e12\"", "\"" + ten_kb + "\""),
       "field id: 10240 bytes, over the limit of 256"},
      {"key_10kb", With(Released(13), "\"key\":\"MO-13\"", "\"key\":\"" + ten_kb + "\""),
       "field key: 10240 bytes, over the limit of 256"},
      {"empty_id", With(Released(14), "\"e14\"", "\"\""), "field id: empty"},
      {"ts_before_1970", With(Released(15), "\"ts\":1000", "\"ts\":-1"),
       "field ts: -1 is outside 0..253402300799999"},
      {"ts_after_9999", With(Released(16), "\"ts\":1000", "\"ts\":253402300800000"),
       "field ts: 253402300800000 is outside"},
      {"seq_zero", With(Released(17), "\"seq\":1", "\"seq\":0"),
       "field seq: 0 is outside 1..9007199254740992"},
      {"seq_negative", With(Released(18), "\"seq\":1", "\"seq\":-5"), "field seq: -5 is outside"},
      {"seq_int64_max", With(Released(19), "\"seq\":1", "\"seq\":9223372036854775807"),
       "field seq: 9223372036854775807 is outside"},
      {"seq_past_int64", With(Released(20), "\"seq\":1", "\"seq\":9223372036854775808"),
       "field seq: expected int, got an integer out of range"},
      {"unknown_type", With(Released(21), "order.released", "order.exploded"),
       "unknown event type 'order.exploded'"},
  };
}

TEST(AdversarialInputTest, EachIsRefusedNamingItsFieldAndNothingAcceptedIsLost) {
  const test::ScratchDir scratch("adversarial");
  const std::string db = scratch.dir + "/t.db";
  EngineOptions options;
  options.workflow_paths = {"workflows"};
  options.store_path = db;
  uint64_t accepted = 0;
  {
    Result<std::unique_ptr<Engine>> engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    int n = 1000;
    for (const Hostile& h : Table()) {
      SCOPED_TRACE(h.name);
      // A good event before each hostile one: all of them must survive.
      Result<SubmitResult> good = engine.value()->Submit(Released(++n));
      ASSERT_TRUE(good.ok()) << good.status().message();
      ASSERT_EQ(good.value().outcome, Outcome::kApplied) << good.value().reason;
      ++accepted;
      Result<SubmitResult> r = engine.value()->Submit(h.event);
      ASSERT_TRUE(r.ok()) << r.status().message();
      EXPECT_EQ(r.value().outcome, Outcome::kMalformed);
      EXPECT_NE(r.value().reason.find(h.reason), std::string::npos)
          << "reason: " << r.value().reason;
      EXPECT_TRUE(r.value().commands.empty());
    }
    EXPECT_EQ(engine.value()->stats().accepted, accepted);
    EXPECT_EQ(engine.value()->stats().malformed, Table().size());
  }
  // After a restart, every accepted order is there, and none of the refused ones.
  Result<std::unique_ptr<Engine>> again = Engine::Open(options);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again.value()->stats().instances, accepted);
  for (int n = 1; n <= 21; ++n) {
    EXPECT_FALSE(again.value()->GetInstance("production_order", "MO-" + std::to_string(n)).ok())
        << n;
  }
}

}  // namespace
}  // namespace takt
