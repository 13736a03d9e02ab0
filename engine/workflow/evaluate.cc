// Tree-walking evaluation. Leaves (literals, fields, variables, the key) are read by reference
// so that a guard such as `event.decision == "release"` copies no string.
#include "engine/workflow/evaluate.h"

#include <cmath>

namespace takt {
namespace {

using dsl::Expr;
using dsl::ExprOp;
using dsl::Type;
using dsl::Value;

// The value of a leaf without copying it, or null for an operator.
const Value* Leaf(const Expr& e, const EvalContext& ctx) {
  switch (e.op) {
    case ExprOp::kString:
    case ExprOp::kInt:
    case ExprOp::kFloat:
    case ExprOp::kBool:
    case ExprOp::kNull: return &e.literal;
    case ExprOp::kEventField: return &(*ctx.fields)[static_cast<size_t>(e.slot)];
    case ExprOp::kName:
      return e.slot == Expr::kKeySlot ? ctx.key : &(*ctx.vars)[static_cast<size_t>(e.slot)];
    default: return nullptr;
  }
}

double AsDouble(const Value& v) { return v.type == Type::kInt ? static_cast<double>(v.i) : v.f; }

// Runs `fn` with a reference to the operand's value, evaluating into `scratch` if needed.
template <typename Fn>
auto WithValue(const Expr& e, const EvalContext& ctx, Fn&& fn) {
  if (const Value* leaf = Leaf(e, ctx)) return fn(*leaf);
  const Value scratch = Evaluate(e, ctx);
  return fn(scratch);
}

int Compare(const Value& a, const Value& b) {
  if (a.type == Type::kString) return a.s.compare(b.s);
  if (a.type == Type::kInt && b.type == Type::kInt) return a.i < b.i ? -1 : a.i > b.i ? 1 : 0;
  const double x = AsDouble(a);
  const double y = AsDouble(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

bool Relation(ExprOp op, const Value& a, const Value& b) {
  switch (op) {
    case ExprOp::kEq: return a == b;
    case ExprOp::kNe: return a != b;
    case ExprOp::kLt: return Compare(a, b) < 0;
    case ExprOp::kLe: return Compare(a, b) <= 0;
    case ExprOp::kGt: return Compare(a, b) > 0;
    default: return Compare(a, b) >= 0;
  }
}

Value Arithmetic(ExprOp op, Type result, const Value& a, const Value& b) {
  if (result == Type::kString) return Value::String(a.s + b.s);
  if (result == Type::kInt) {
    // Wrap on overflow rather than invoking undefined behaviour.
    const auto x = static_cast<uint64_t>(a.i);
    const auto y = static_cast<uint64_t>(b.i);
    switch (op) {
      case ExprOp::kAdd: return Value::Int(static_cast<int64_t>(x + y));
      case ExprOp::kSub: return Value::Int(static_cast<int64_t>(x - y));
      case ExprOp::kMul: return Value::Int(static_cast<int64_t>(x * y));
      default:  // kMod; x % 0 is 0, and INT64_MIN % -1 is 0, so evaluation stays total
        return Value::Int(b.i == 0 || b.i == -1 ? 0 : a.i % b.i);
    }
  }
  const double x = AsDouble(a);
  const double y = AsDouble(b);
  switch (op) {
    case ExprOp::kAdd: return Value::Float(x + y);
    case ExprOp::kSub: return Value::Float(x - y);
    case ExprOp::kMul: return Value::Float(x * y);
    case ExprOp::kDiv: return Value::Float(x / y);
    default: return Value::Float(std::fmod(x, y));
  }
}

}  // namespace

bool EvaluateBool(const Expr& e, const EvalContext& ctx) {
  switch (e.op) {
    case ExprOp::kAnd: return EvaluateBool(e.args[0], ctx) && EvaluateBool(e.args[1], ctx);
    case ExprOp::kOr: return EvaluateBool(e.args[0], ctx) || EvaluateBool(e.args[1], ctx);
    case ExprOp::kNot: return !EvaluateBool(e.args[0], ctx);
    case ExprOp::kEq:
    case ExprOp::kNe:
    case ExprOp::kLt:
    case ExprOp::kLe:
    case ExprOp::kGt:
    case ExprOp::kGe:
      return WithValue(e.args[0], ctx, [&](const Value& a) {
        return WithValue(e.args[1], ctx, [&](const Value& b) { return Relation(e.op, a, b); });
      });
    default: return WithValue(e, ctx, [](const Value& v) { return v.b; });
  }
}

Value Evaluate(const Expr& e, const EvalContext& ctx) {
  if (const Value* leaf = Leaf(e, ctx)) return *leaf;
  switch (e.op) {
    case ExprOp::kAnd:
    case ExprOp::kOr:
    case ExprOp::kNot:
    case ExprOp::kEq:
    case ExprOp::kNe:
    case ExprOp::kLt:
    case ExprOp::kLe:
    case ExprOp::kGt:
    case ExprOp::kGe: return Value::Bool(EvaluateBool(e, ctx));
    case ExprOp::kNeg: {
      Value v = Evaluate(e.args[0], ctx);
      if (v.type == Type::kInt) v.i = static_cast<int64_t>(0 - static_cast<uint64_t>(v.i));
      else v.f = -v.f;
      return v;
    }
    default:
      return WithValue(e.args[0], ctx, [&](const Value& a) {
        return WithValue(e.args[1], ctx,
                         [&](const Value& b) { return Arithmetic(e.op, e.type, a, b); });
      });
  }
}

}  // namespace takt
