// Events in plain JSON (decode_plain.h) are read by DecodePlain(); the rest by simdjson On
// Demand: one pass over the envelope; the data object is decoded against the schema of the
// event's type as soon as the type is known (PLANT.md's envelope puts "type" before "data";
// when it comes after, data is decoded in a second pass over its text).
#include "engine/event/decode.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <utility>

#include <simdjson.h>

#include "engine/event/decode_plain.h"
#include "engine/event/event_types.h"

namespace takt {
namespace {

constexpr size_t kMaxIdBytes = 256;
constexpr int64_t kMaxSeq = int64_t{1} << 53;
constexpr int64_t kMaxTs = 253402300799999;  // 9999-12-31T23:59:59.999Z

namespace od = simdjson::ondemand;

const char* JsonTypeName(od::json_type type) {
  switch (type) {
    case od::json_type::array: return "array";
    case od::json_type::object: return "object";
    case od::json_type::number: return "number";
    case od::json_type::string: return "string";
    case od::json_type::boolean: return "bool";
    case od::json_type::null: return "null";
  }
  return "?";
}

// "expected int, got string" for `value`.
std::string Mismatch(const char* expected, od::value& value) {
  od::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return std::string("expected ") + expected;
  std::string got = JsonTypeName(type);
  od::number_type number;
  if (type == od::json_type::number && std::string_view(expected) == "int" &&
      value.get_number_type().get(number) == simdjson::SUCCESS) {
    got = number == od::number_type::floating_point_number ? "a float" : "an integer out of range";
  }
  return std::string("expected ") + expected + ", got " + got;
}

// A float field that did not decode: a number too large for a double (1e999), a literal JSON
// does not have (NaN, Infinity), or another type.
bool NotAFloat(const dsl::FieldDef& def, od::value& value, std::string& error) {
  std::string_view token = value.raw_json_token();
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' ||
                            token.back() == '\r')) {
    token.remove_suffix(1);
  }
  const std::string shown(token.substr(0, 32));
  const std::string field = "field data." + def.name + ": ";
  std::string bare(token);
  if (!bare.empty() && (bare[0] == '-' || bare[0] == '+')) bare.erase(0, 1);
  for (char& c : bare) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (bare.rfind("nan", 0) == 0 || bare.rfind("inf", 0) == 0) {
    error = field + shown + " is not a finite number (JSON has no NaN or Infinity)";
    return false;
  }
  od::json_type type;
  if (value.type().get(type) == simdjson::SUCCESS && type == od::json_type::number) {
    error = field + shown + " is out of range for a float";
    return false;
  }
  error = field + Mismatch("float", value);
  return false;
}

// Whether any byte of `value` is a control character (below 0x20, or 0x7F): eight bytes at a
// time, as every id and key of every event is checked.
bool HasControlCharacter(std::string_view value) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  size_t at = 0;
  for (; at + 8 <= value.size(); at += 8) {
    uint64_t x;
    std::memcpy(&x, value.data() + at, 8);
    // A byte below 0x20, or one equal to 0x7F (zero once xored with it), sets its high bit in
    // `below`; a borrow may set more, but only above a byte that did.
    const uint64_t below = ((x - kOnes * 0x20) & ~x) | (((x ^ (kOnes * 0x7F)) - kOnes) &
                                                          ~(x ^ (kOnes * 0x7F)));
    if ((below & kHigh) != 0) return true;
  }
  for (; at < value.size(); ++at) {
    const auto u = static_cast<unsigned char>(value[at]);
    if (u < 0x20 || u == 0x7F) return true;
  }
  return false;
}

// An id or key: at most kMaxIdBytes, no control characters (they end up in logs, terminals and
// other systems' records). `plain`: read by DecodePlain(), which takes no string with one.
bool IsCleanName(std::string_view field, std::string_view value, bool plain,
                 std::string& error) {
  if (value.empty()) {
    error = "field " + std::string(field) + ": empty";
    return false;
  }
  if (value.size() > kMaxIdBytes) {
    error = "field " + std::string(field) + ": " + std::to_string(value.size()) +
            " bytes, over the limit of " + std::to_string(kMaxIdBytes);
    return false;
  }
  if (plain || !HasControlCharacter(value)) return true;
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      char code[8];
      std::snprintf(code, sizeof code, "\\x%02X", u);
      error = "field " + std::string(field) + ": holds the control character " + code;
      return false;
    }
  }
  return true;
}

// seq from 1 to 2^53 (the integers every JSON peer holds exactly, and far from overflow when
// the engine adds to it); ts from 1970 to the end of year 9999, in milliseconds.
bool EnvelopeInRange(const Event& e, bool plain, std::string& error) {
  if (!IsCleanName("id", e.id, plain, error) || !IsCleanName("key", e.key, plain, error)) {
    return false;
  }
  if (e.seq < 1 || e.seq > kMaxSeq) {
    error = "field seq: " + std::to_string(e.seq) + " is outside 1.." + std::to_string(kMaxSeq);
    return false;
  }
  if (e.ts < 0 || e.ts > kMaxTs) {
    error = "field ts: " + std::to_string(e.ts) + " is outside 0.." + std::to_string(kMaxTs) +
            " (milliseconds from 1970 to the end of 9999)";
    return false;
  }
  return true;
}

}  // namespace

struct EventDecoder::Impl {
  Impl(const dsl::Catalog& c, Paths p) : catalog(c), types(c), paths(p) {}

  const dsl::Catalog& catalog;
  const EventTypeIndex types;
  const Paths paths;
  Counts counts;
  od::parser parser;
  od::parser data_parser;  // the second pass, so that envelope strings stay valid
  std::string buffer;      // the event text plus simdjson's padding

  // `json` (the caller's text) copied into `buffer`, followed by simdjson's padding; the copy.
  std::string_view Pad(std::string_view json) {
    // Grown, never shrunk: most events fit what the buffer already holds, and a copy and a
    // fixed clear cost less than assign() and append() (which checked and filled byte by byte).
    const size_t padded = json.size() + simdjson::SIMDJSON_PADDING;
    if (buffer.size() < padded) buffer.resize(std::max(padded, 2 * buffer.size()));
    std::memcpy(buffer.data(), json.data(), json.size());  // json is the caller's, never buffer
    std::memset(buffer.data() + json.size(), 0, simdjson::SIMDJSON_PADDING);
    static_assert(simdjson::SIMDJSON_PADDING >= 16, "DecodePlain() reads 16 bytes past a stop");
    return std::string_view(buffer.data(), json.size());
  }

  Plain ReadPlain(std::string_view text, Event& out, std::string& error);
  bool DecodeGeneral(std::string_view json, Event& out, std::string& error);

  bool DecodeField(const dsl::FieldDef& def, od::value value, dsl::Value& out, std::string& error) {
    using dsl::Type;
    bool is_null = false;
    if (value.is_null().get(is_null) == simdjson::SUCCESS && is_null) {
      if (def.optional) {
        out = dsl::Value::Null();
        return true;
      }
      error = "field data." + def.name + ": expected " + dsl::TypeName(def.type) + ", got null";
      return false;
    }
    bool ok = true;
    std::string_view s;
    switch (def.type) {
      case Type::kString:
        ok = value.get_string().get(s) == simdjson::SUCCESS;
        if (ok) {
          out.type = Type::kString;
          out.s.assign(s.data(), s.size());
        }
        break;
      case Type::kInt:
        ok = value.get_int64().get(out.i) == simdjson::SUCCESS;
        out.type = Type::kInt;
        if (ok && def.has_range && (out.i < def.min || out.i > def.max)) {
          error = "field data." + def.name + ": " + std::to_string(out.i) + " is outside " +
                  std::to_string(def.min) + ".." + std::to_string(def.max);
          return false;
        }
        break;
      case Type::kFloat:
        ok = value.get_double().get(out.f) == simdjson::SUCCESS;
        out.type = Type::kFloat;
        if (!ok) return NotAFloat(def, value, error);
        break;
      case Type::kBool:
        ok = value.get_bool().get(out.b) == simdjson::SUCCESS;
        out.type = Type::kBool;
        break;
      case Type::kNull: break;
    }
    if (!ok) error = "field data." + def.name + ": " + Mismatch(dsl::TypeName(def.type), value);
    return ok;
  }

  bool DecodeData(od::object data, Event& out, std::string& error) {
    const dsl::EventDef& def = catalog.events[static_cast<size_t>(out.type_id)];
    out.fields.resize(def.fields.size());
    uint64_t seen = 0;  // bit i: field i was present (schemas have few fields)
    for (auto field : data) {
      std::string_view name;
      if (field.unescaped_key().get(name) != simdjson::SUCCESS) {
        error = "data: a field name is not a valid string";
        return false;
      }
      const int index = def.FieldIndex(name);
      if (index < 0 || index >= 64) continue;  // fields nobody reads are carried along unread
      od::value value;
      if (field.value().get(value) != simdjson::SUCCESS) {
        error = "field data." + std::string(name) + ": not valid JSON";
        return false;
      }
      const auto i = static_cast<size_t>(index);
      if ((seen >> i & 1) != 0) {
        error = "field data." + std::string(name) + " appears twice";
        return false;
      }
      if (!DecodeField(def.fields[i], value, out.fields[i], error)) return false;
      seen |= uint64_t{1} << i;
    }
    for (size_t i = 0; i < def.fields.size(); ++i) {
      if ((seen >> i & 1) != 0) continue;
      if (!def.fields[i].optional) {
        error = "missing field data." + def.fields[i].name + " (" +
                dsl::TypeName(def.fields[i].type) + ")";
        return false;
      }
      out.fields[i] = dsl::Value::Null();
    }
    return true;
  }
};

EventDecoder::EventDecoder(const dsl::Catalog& catalog, Paths paths)
    : impl_(std::make_unique<Impl>(catalog, paths)) {}
EventDecoder::~EventDecoder() = default;

const EventDecoder::Counts& EventDecoder::counts() const { return impl_->counts; }

bool EventDecoder::Decode(std::string_view json, Event& out, std::string& error) {
  Impl& m = *impl_;
  const std::string_view text = m.Pad(json);
  const Plain plain = m.ReadPlain(text, out, error);
  if (plain != Plain::kNotPlain) return plain == Plain::kDecoded;
  return m.DecodeGeneral(text, out, error);
}

EventDecoder::Plain EventDecoder::TryPlain(std::string_view json, Event& out,
                                           std::string& error) {
  return impl_->ReadPlain(impl_->Pad(json), out, error);
}

bool EventDecoder::DecodeGeneral(std::string_view json, Event& out, std::string& error) {
  return impl_->DecodeGeneral(impl_->Pad(json), out, error);
}

EventDecoder::Plain EventDecoder::Impl::ReadPlain(std::string_view text, Event& out,
                                                  std::string& error) {
  if (paths != Paths::kPlainFirst || !DecodePlain(text, catalog, types, out)) {
    return Plain::kNotPlain;
  }
  ++counts.plain;
  return EnvelopeInRange(out, /*plain=*/true, error) ? Plain::kDecoded : Plain::kRefused;
}

// `json` lies in `buffer`, padded.
bool EventDecoder::Impl::DecodeGeneral(std::string_view json, Event& out, std::string& error) {
  ++counts.general;
  out.id = out.source = out.type = out.key = {};
  out.type_id = -1;
  od::document doc;
  auto not_json = [&](simdjson::error_code code) {
    error = std::string("not valid JSON: ") + simdjson::error_message(code);
    return false;
  };
  if (auto code = parser.iterate(buffer.data(), json.size(), buffer.size()).get(doc)) {
    return not_json(code);
  }
  od::object object;
  if (auto code = doc.get_object().get(object)) {
    return code == simdjson::INCORRECT_TYPE ? (error = "not a JSON object", false) : not_json(code);
  }
  enum : unsigned { kId = 1, kSource = 2, kType = 4, kKey = 8, kSeq = 16, kTs = 32, kData = 64 };
  unsigned seen = 0;
  std::string_view deferred_data;  // data's text, when it came before the type
  for (auto field : object) {
    std::string_view name;
    if (auto code = field.unescaped_key().get(name)) return not_json(code);
    od::value value;
    if (auto code = field.value().get(value)) return not_json(code);
    // A field given twice could be read one way here and another by the next system.
    auto once = [&](unsigned bit) {
      if ((seen & bit) == 0) return true;
      error = "field " + std::string(name) + " appears twice";
      return false;
    };
    auto read_string = [&](unsigned bit, std::string_view& target) {
      if (!once(bit)) return false;
      if (value.get_string().get(target) != simdjson::SUCCESS) {
        error = "field " + std::string(name) + ": " + Mismatch("string", value);
        return false;
      }
      seen |= bit;
      return true;
    };
    auto read_int = [&](unsigned bit, int64_t& target) {
      if (!once(bit)) return false;
      if (value.get_int64().get(target) != simdjson::SUCCESS) {
        error = "field " + std::string(name) + ": " + Mismatch("int", value);
        return false;
      }
      seen |= bit;
      return true;
    };
    bool ok = true;
    if (name == "id") {
      ok = read_string(kId, out.id);
    } else if (name == "source") {
      ok = read_string(kSource, out.source);
    } else if (name == "type") {
      ok = read_string(kType, out.type);
    } else if (name == "key") {
      ok = read_string(kKey, out.key);
    } else if (name == "seq") {
      ok = read_int(kSeq, out.seq);
    } else if (name == "ts") {
      ok = read_int(kTs, out.ts);
    } else if (name == "data") {
      if (!once(kData)) return false;
      od::object data;
      if (value.get_object().get(data) != simdjson::SUCCESS) {
        error = "field data: " + Mismatch("object", value);
        return false;
      }
      seen |= kData;
      if ((seen & kType) != 0) {
        out.type_id = types.Find(out.type);
        if (out.type_id < 0) {
          error = "unknown event type '" + std::string(out.type) + "'";
          return false;
        }
        if (!DecodeData(data, out, error)) return false;
      } else if (data.raw_json().get(deferred_data) != simdjson::SUCCESS) {
        return not_json(simdjson::TAPE_ERROR);
      }
    }
    if (!ok) return false;
  }
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) != simdjson::OUT_OF_BOUNDS) {
    error = "not valid JSON: text after the object";
    return false;
  }
  static const std::pair<unsigned, const char*> kRequired[] = {
      {kId, "id (string)"},    {kSource, "source (string)"}, {kType, "type (string)"},
      {kKey, "key (string)"},  {kSeq, "seq (int)"},          {kTs, "ts (int)"},
      {kData, "data (object)"}};
  for (const auto& [bit, what] : kRequired) {
    if ((seen & bit) == 0) {
      error = std::string("missing field ") + what;
      return false;
    }
  }
  if (!EnvelopeInRange(out, /*plain=*/false, error)) return false;
  if (out.type_id >= 0) return true;
  out.type_id = types.Find(out.type);
  if (out.type_id < 0) {
    error = "unknown event type '" + std::string(out.type) + "'";
    return false;
  }
  // data came before type: decode it now from its text, which lies inside the padded buffer.
  const size_t offset = static_cast<size_t>(deferred_data.data() - buffer.data());
  od::document data_doc;
  od::object data;
  if (data_parser.iterate(deferred_data.data(), deferred_data.size(), buffer.size() - offset)
          .get(data_doc) != simdjson::SUCCESS ||
      data_doc.get_object().get(data) != simdjson::SUCCESS) {
    return not_json(simdjson::TAPE_ERROR);
  }
  return DecodeData(data, out, error);
}

}  // namespace takt
