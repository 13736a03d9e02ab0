#include "engine/rules/event_filter.h"

#include <lua.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>

namespace takt::rules {
namespace {

using Op = FieldCondition::Op;

constexpr std::string_view kOps[] = {"==", "~=", "<", "<=", ">", ">="};

// Reads the value at `index`; empty when it is one, else why not.
std::string ReadValue(lua_State* L, int index, dsl::Value& out) {
  switch (lua_type(L, index)) {
    case LUA_TBOOLEAN: out = dsl::Value::Bool(lua_toboolean(L, index) != 0); return "";
    case LUA_TSTRING: {
      size_t size = 0;
      const char* s = lua_tolstring(L, index, &size);
      out = dsl::Value::String(std::string_view(s, size));
      return "";
    }
    case LUA_TNUMBER:
      if (lua_isinteger(L, index) != 0) {
        out = dsl::Value::Int(lua_tointeger(L, index));
        return "";
      }
      out = dsl::Value::Float(lua_tonumber(L, index));
      return std::isfinite(out.f) ? "" : "a number that is not finite";
    default: return std::string("a ") + lua_typename(L, lua_type(L, index));
  }
}

// Lua's order between two numbers, exact between integers and floats: long double holds
// every int64 and every double exactly.
static_assert(std::numeric_limits<long double>::digits >= 64,
              "comparing an int64 with a double exactly needs a 64-bit mantissa");
int CompareNumbers(const dsl::Value& a, const dsl::Value& b) {
  const auto wide = [](const dsl::Value& v) {
    return v.type == dsl::Type::kInt ? static_cast<long double>(v.i)
                                     : static_cast<long double>(v.f);
  };
  const long double x = wide(a), y = wide(b);
  return x < y ? -1 : (x > y ? 1 : 0);
}

}  // namespace

bool EventFilter::Holds(const FieldCondition& c, const dsl::Value& v) {
  // A field the event does not have is nil in Lua: equal to nothing, and in no order.
  if (v.type == dsl::Type::kNull) return c.op == Op::kNe;
  int order = 0;
  if (v.type == dsl::Type::kBool) {
    order = v.b == c.value.b ? 0 : 1;  // only == and ~= are allowed on a bool
  } else if (v.type == dsl::Type::kString) {
    order = v.s.compare(c.value.s);  // byte order, as Lua compares in the C locale
  } else {
    order = CompareNumbers(v, c.value);
  }
  switch (c.op) {
    case Op::kEq: return order == 0;
    case Op::kNe: return order != 0;
    case Op::kLt: return order < 0;
    case Op::kLe: return order <= 0;
    case Op::kGt: return order > 0;
    case Op::kGe: return order >= 0;
  }
  return false;
}

std::string EventFilter::ReadCondition(lua_State* L, int index, FieldCondition& c) {
  index = lua_absindex(L, index);
  std::string wrong;
  if (lua_type(L, index) == LUA_TTABLE) {  // { op, value }
    const bool pair = lua_rawlen(L, index) == 2;
    lua_rawgeti(L, index, 1);
    size_t size = 0;
    const char* op = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &size) : nullptr;
    const auto* found =
        op == nullptr ? std::end(kOps)
                      : std::find(std::begin(kOps), std::end(kOps), std::string_view(op, size));
    lua_pop(L, 1);
    if (!pair || found == std::end(kOps)) {
      return ": a condition is a value, or { OP, value } with OP one of ==, ~=, <, <=, >, >=";
    }
    c.op = static_cast<Op>(found - std::begin(kOps));
    lua_rawgeti(L, index, 2);
    wrong = ReadValue(L, -1, c.value);
    lua_pop(L, 1);
  } else {
    c.op = Op::kEq;
    wrong = ReadValue(L, index, c.value);
  }
  if (wrong.empty()) return "";
  return " is compared with " + wrong + "; it takes a boolean, a number or a string";
}

std::string EventFilter::Read(lua_State* L, int index, const dsl::Catalog& catalog,
                              const std::vector<int>& on, const std::string& name) {
  const int when = lua_absindex(L, index);
  if (!lua_istable(L, when)) {
    return "'" + name + "' must be a table of data fields and their conditions, "
           "like { severity = { \">=\", 3 } }";
  }
  std::vector<FieldCondition> conditions;
  lua_pushnil(L);
  while (lua_next(L, when) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      lua_pop(L, 2);
      return "'" + name + "' has a key that is not a field name";
    }
    FieldCondition& c = conditions.emplace_back();
    c.field = lua_tostring(L, -2);
    const std::string wrong = ReadCondition(L, -1, c);
    lua_pop(L, 1);
    if (!wrong.empty()) {
      lua_pop(L, 1);
      return "'" + name + "' field '" + c.field + "'" + wrong;
    }
  }
  // Checked in name order, so that the same file always gives the same first complaint.
  std::sort(conditions.begin(), conditions.end(),
            [](const FieldCondition& a, const FieldCondition& b) { return a.field < b.field; });
  by_type_.assign(catalog.events.size(), {});
  for (const int type : on) {
    const dsl::EventDef& def = catalog.events[static_cast<size_t>(type)];
    for (FieldCondition c : conditions) {
      const std::string what = "'" + name + "' field '" + c.field + "'";
      c.index = def.FieldIndex(c.field);
      if (c.index < 0) {
        std::string fields;
        for (const dsl::FieldDef& f : def.fields) fields += (fields.empty() ? "" : ", ") + f.name;
        return what + " is not a field of event type '" + def.type + "' (it has: " +
               (fields.empty() ? "none" : fields) + ")";
      }
      const dsl::Type field = def.fields[static_cast<size_t>(c.index)].type;
      const dsl::Type value = c.value.type;
      const bool same_kind = field == value || (dsl::IsNumber(field) && dsl::IsNumber(value));
      if (!same_kind) {
        const char* given = value == dsl::Type::kString ? "a string"
                            : value == dsl::Type::kBool ? "a boolean"
                                                        : "a number";
        return what + " (" + dsl::TypeName(field) + " in event type '" + def.type +
               "') is compared with " + given;
      }
      if (field == dsl::Type::kBool && c.op != Op::kEq && c.op != Op::kNe) {
        return what + " is a bool: it takes == or ~=, not an order";
      }
      by_type_[static_cast<size_t>(type)].push_back(std::move(c));
    }
  }
  return "";
}

bool EventFilter::AdmitsSlow(const Event& event) const {
  static const dsl::Value kAbsent;
  for (const FieldCondition& c : by_type_[static_cast<size_t>(event.type_id)]) {
    const size_t at = static_cast<size_t>(c.index);
    if (!Holds(c, at < event.fields.size() ? event.fields[at] : kAbsent)) return false;
  }
  return true;
}

}  // namespace takt::rules
