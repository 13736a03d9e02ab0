// Expression evaluation: operators over compiled expressions, and through emitted commands.
#include <gtest/gtest.h>

#include "engine/workflow/evaluate.h"
#include "support/test_support.h"

namespace takt {
namespace {

using dsl::Expr;
using dsl::ExprOp;
using dsl::Type;
using dsl::Value;

Expr Lit(Value v) {
  Expr e;
  e.type = v.type;
  e.op = v.type == Type::kInt ? ExprOp::kInt
         : v.type == Type::kFloat ? ExprOp::kFloat
         : v.type == Type::kString ? ExprOp::kString
         : v.type == Type::kBool ? ExprOp::kBool
                                 : ExprOp::kNull;
  e.literal = std::move(v);
  return e;
}

Expr Op(ExprOp op, Type type, Expr a, Expr b) {
  Expr e;
  e.op = op;
  e.type = type;
  e.args.push_back(std::move(a));
  e.args.push_back(std::move(b));
  return e;
}

Expr Field(int slot, Type type) {
  Expr e;
  e.op = ExprOp::kEventField;
  e.slot = slot;
  e.type = type;
  return e;
}

const EvalContext kNoContext{};

TEST(EvaluateTest, IntegerArithmetic) {
  EXPECT_EQ(Evaluate(Op(ExprOp::kAdd, Type::kInt, Lit(Value::Int(2)), Lit(Value::Int(3))), kNoContext),
            Value::Int(5));
  EXPECT_EQ(Evaluate(Op(ExprOp::kSub, Type::kInt, Lit(Value::Int(2)), Lit(Value::Int(3))), kNoContext),
            Value::Int(-1));
  EXPECT_EQ(Evaluate(Op(ExprOp::kMod, Type::kInt, Lit(Value::Int(7)), Lit(Value::Int(3))), kNoContext),
            Value::Int(1));
  EXPECT_EQ(Evaluate(Op(ExprOp::kMod, Type::kInt, Lit(Value::Int(7)), Lit(Value::Int(0))), kNoContext),
            Value::Int(0));
  // Overflow wraps instead of being undefined.
  EXPECT_EQ(Evaluate(Op(ExprOp::kAdd, Type::kInt, Lit(Value::Int(INT64_MAX)), Lit(Value::Int(1))),
                     kNoContext),
            Value::Int(INT64_MIN));
}

TEST(EvaluateTest, DivisionIsFloatAndMixedArithmeticPromotes) {
  const Value q = Evaluate(Op(ExprOp::kDiv, Type::kFloat, Lit(Value::Int(7)), Lit(Value::Int(2))),
                           kNoContext);
  EXPECT_EQ(q.type, Type::kFloat);
  EXPECT_EQ(q.f, 3.5);
  const Value m = Evaluate(Op(ExprOp::kMul, Type::kFloat, Lit(Value::Int(3)), Lit(Value::Float(0.5))),
                           kNoContext);
  EXPECT_EQ(m.f, 1.5);
}

TEST(EvaluateTest, StringConcatenationAndComparison) {
  EXPECT_EQ(Evaluate(Op(ExprOp::kAdd, Type::kString, Lit(Value::String("MO-")),
                        Lit(Value::String("1"))),
                     kNoContext),
            Value::String("MO-1"));
  EXPECT_TRUE(EvaluateBool(Op(ExprOp::kLt, Type::kBool, Lit(Value::String("a")),
                              Lit(Value::String("b"))),
                           kNoContext));
  EXPECT_FALSE(EvaluateBool(Op(ExprOp::kEq, Type::kBool, Lit(Value::String("a")),
                               Lit(Value::String("b"))),
                            kNoContext));
}

TEST(EvaluateTest, ComparisonsAcrossIntAndFloatAndWithNull) {
  EXPECT_TRUE(EvaluateBool(Op(ExprOp::kEq, Type::kBool, Lit(Value::Int(2)), Lit(Value::Float(2.0))),
                           kNoContext));
  EXPECT_TRUE(EvaluateBool(Op(ExprOp::kGe, Type::kBool, Lit(Value::Float(2.5)), Lit(Value::Int(2))),
                           kNoContext));
  std::vector<Value> fields = {Value::Null(), Value::String("CRACK")};
  const EvalContext ctx{nullptr, nullptr, &fields};
  EXPECT_TRUE(EvaluateBool(Op(ExprOp::kEq, Type::kBool, Field(0, Type::kString), Lit(Value::Null())), ctx));
  EXPECT_TRUE(EvaluateBool(Op(ExprOp::kNe, Type::kBool, Field(1, Type::kString), Lit(Value::Null())), ctx));
}

TEST(EvaluateTest, AndOrShortCircuit) {
  // The right side reads a field slot that does not exist: reached, it would crash under ASan.
  std::vector<Value> fields = {Value::Bool(false)};
  const EvalContext ctx{nullptr, nullptr, &fields};
  EXPECT_FALSE(EvaluateBool(Op(ExprOp::kAnd, Type::kBool, Field(0, Type::kBool), Field(99, Type::kBool)), ctx));
  EXPECT_TRUE(EvaluateBool(Op(ExprOp::kOr, Type::kBool, Lit(Value::Bool(true)), Field(99, Type::kBool)), ctx));
}

TEST(EvaluateTest, ThroughAWorkflow) {
  auto engine = test::OpenEngineOnText(R"(
source s owns made, tick
event made { n: int, f: float, name: string }
event tick { }
workflow w {
  key k
  var total: float = 0.5
  start on_made on made {
    set total = total + event.n * 2 - event.f / 4
    emit out { k: key, total: total, neg: -event.n, big: event.n > 10 and not (event.name == "x"),
               label: "n=" + event.name, pct: event.n % 3, flipped: 2 * -event.n % - 4 }
  }
  state on_made { on tick -> on_made }
})");
  ASSERT_NE(engine, nullptr);
  Result<SubmitResult> r = engine->Submit(
      R"({"id":"1","source":"s","type":"made","key":"K","seq":1,"ts":1,"data":{"n":11,"f":2,"name":"y"}})");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.value().commands.size(), 1u);
  EXPECT_EQ(r.value().commands[0].payload_json,
            R"({"k":"K","total":22,"neg":-11,"big":true,"label":"n=y","pct":2,"flipped":-2})");
}

}  // namespace
}  // namespace takt
