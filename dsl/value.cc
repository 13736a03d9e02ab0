// Value comparison and JSON output. Output must be byte-identical run after run, so floats go
// through std::to_chars (shortest round-trip form), never through printf's locale.
#include "dsl/value.h"

#include <charconv>
#include <cmath>

namespace takt::dsl {

const char* TypeName(Type type) {
  switch (type) {
    case Type::kNull: return "null";
    case Type::kBool: return "bool";
    case Type::kInt: return "int";
    case Type::kFloat: return "float";
    case Type::kString: return "string";
  }
  return "?";
}

bool Value::operator==(const Value& o) const {
  if (type == Type::kInt && o.type == Type::kFloat) return static_cast<double>(i) == o.f;
  if (type == Type::kFloat && o.type == Type::kInt) return f == static_cast<double>(o.i);
  if (type != o.type) return false;
  switch (type) {
    case Type::kNull: return true;
    case Type::kBool: return b == o.b;
    case Type::kInt: return i == o.i;
    case Type::kFloat: return f == o.f;
    case Type::kString: return s == o.s;
  }
  return false;
}

void AppendJsonString(std::string& out, std::string_view text) {
  static const char kHex[] = "0123456789abcdef";
  out += '"';
  // Characters that need no escape are appended in runs, not one by one.
  size_t run = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u >= 0x20 && u != '"' && u != '\\') continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (u) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += kHex[u >> 4];
        out += kHex[u & 15];
    }
  }
  out.append(text.data() + run, text.size() - run);
  out += '"';
}

void Value::AppendJson(std::string& out) const {
  char buf[32];
  switch (type) {
    case Type::kNull: out += "null"; return;
    case Type::kBool: out += b ? "true" : "false"; return;
    case Type::kInt: {
      auto r = std::to_chars(buf, buf + sizeof buf, i);
      out.append(buf, r.ptr);
      return;
    }
    case Type::kFloat: {
      if (!std::isfinite(f)) {  // JSON has no NaN or infinity
        out += "null";
        return;
      }
      auto r = std::to_chars(buf, buf + sizeof buf, f);
      out.append(buf, r.ptr);
      return;
    }
    case Type::kString: AppendJsonString(out, s); return;
  }
}

}  // namespace takt::dsl
