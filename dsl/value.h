// Runtime values of the expression language: what event fields, instance variables and
// literals hold. Types are checked when a definition is compiled, so evaluation never meets a
// mismatch it has to report.
#ifndef TAKT_DSL_VALUE_H_
#define TAKT_DSL_VALUE_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace takt::dsl {

enum class Type : uint8_t { kNull, kBool, kInt, kFloat, kString };

// "null", "bool", "int", "float", "string".
const char* TypeName(Type type);

// An int or a float: the types that compare and compute as numbers with each other.
inline bool IsNumber(Type type) { return type == Type::kInt || type == Type::kFloat; }

struct Value {
  Type type = Type::kNull;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;

  static Value Null() { return Value{}; }
  static Value Bool(bool v) { Value x; x.type = Type::kBool; x.b = v; return x; }
  static Value Int(int64_t v) { Value x; x.type = Type::kInt; x.i = v; return x; }
  static Value Float(double v) { Value x; x.type = Type::kFloat; x.f = v; return x; }
  static Value String(std::string_view v) {
    Value x;
    x.type = Type::kString;
    x.s.assign(v.data(), v.size());
    return x;
  }

  bool operator==(const Value& o) const;
  bool operator!=(const Value& o) const { return !(*this == o); }

  // Appends this value as JSON text: strings escaped, floats in their shortest exact form.
  void AppendJson(std::string& out) const;
};

// Appends `text` as a JSON string literal, quotes included.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace takt::dsl

#endif  // TAKT_DSL_VALUE_H_
