// The grammar on its own: sound (PEGTL's analyze), and what it builds from valid text.
#include <gtest/gtest.h>

#include "dsl/errors.h"
#include "dsl/parse.h"

namespace takt::dsl {
namespace {

AstFile Parse(const std::string& text, Diagnostics& diagnostics) {
  SourceFile file;
  file.name = "test.takt";
  file.text = text;
  AstFile ast;
  ParseFile(file, ast, diagnostics);
  return ast;
}

TEST(GrammarTest, AnalyzeFindsNoProblems) { EXPECT_EQ(AnalyzeGrammar(), 0u); }

TEST(GrammarTest, ParsesDeclarationsOfEveryKind) {
  Diagnostics d;
  AstFile ast = Parse(R"(
import "plant"   # a comment
source mes owns a.b, c
event a.b { x: int?, y: int in -1..4, z: string }
workflow w {
  key order
  index asset
  var asset: string = "none"
  start s on a.b { set asset = "x"; emit cmd.one { n: 1 } }
  state s, t {
    on a.b when event.y > 1 and not (event.y == 3) -> t { emit cmd.two }
    on signal hold -> t
    on c
  }
  final t { emit done { k: key } }
}
)", d);
  ASSERT_EQ(d.errors(), 0u) << d.FormatAll();
  ASSERT_EQ(ast.imports.size(), 1u);
  EXPECT_EQ(ast.imports[0].path.text, "plant");
  ASSERT_EQ(ast.sources.size(), 1u);
  EXPECT_EQ(ast.sources[0].owns.size(), 2u);
  ASSERT_EQ(ast.events.size(), 1u);
  const AstEvent& ev = ast.events[0];
  ASSERT_EQ(ev.fields.size(), 3u);
  EXPECT_TRUE(ev.fields[0].optional);
  EXPECT_TRUE(ev.fields[1].has_range);
  EXPECT_EQ(ev.fields[1].min, -1);
  EXPECT_EQ(ev.fields[1].max, 4);
  ASSERT_EQ(ast.workflows.size(), 1u);
  const AstWorkflow& wf = ast.workflows[0];
  EXPECT_EQ(wf.keys.at(0).text, "order");
  EXPECT_EQ(wf.indexes.at(0).text, "asset");
  ASSERT_EQ(wf.starts.size(), 1u);
  EXPECT_EQ(wf.starts[0].actions.size(), 2u);
  ASSERT_EQ(wf.blocks.size(), 2u);
  EXPECT_EQ(wf.blocks[0].states.size(), 2u);
  ASSERT_EQ(wf.blocks[0].transitions.size(), 3u);
  const AstTransition& guarded = wf.blocks[0].transitions[0];
  EXPECT_TRUE(guarded.has_guard);
  EXPECT_EQ(guarded.guard.op, ExprOp::kAnd);
  EXPECT_EQ(guarded.guard_text, "event.y > 1 and not (event.y == 3)");
  EXPECT_TRUE(wf.blocks[0].transitions[1].is_signal);
  EXPECT_FALSE(wf.blocks[0].transitions[2].has_target);
  EXPECT_TRUE(wf.blocks[1].is_final);
  EXPECT_EQ(wf.blocks[1].actions.size(), 1u);
}

TEST(GrammarTest, OperatorPrecedenceAndAssociativity) {
  Diagnostics d;
  AstFile ast = Parse(R"(workflow w { var x: int = 1 - 2 - 3 * 4 })", d);
  ASSERT_EQ(d.errors(), 0u) << d.FormatAll();
  // ((1 - 2) - (3 * 4))
  const AstExpr& e = ast.workflows.at(0).vars.at(0).default_value;
  ASSERT_EQ(e.op, ExprOp::kSub);
  EXPECT_EQ(e.args[0].op, ExprOp::kSub);
  EXPECT_EQ(e.args[1].op, ExprOp::kMul);
}

// An operand of * / % may be negated: `a * -b` is a(-b), and it took `takt check` down once.
TEST(GrammarTest, AnOperandOfAProductMayBeNegated) {
  Diagnostics d;
  AstFile ast = Parse(R"(workflow w { var x: int = 1 * -2 - 3 % - - 4 / not true })", d);
  ASSERT_EQ(d.errors(), 0u) << d.FormatAll();
  // (1 * (-2)) - (((3 % (-(-4))) / (not true))
  const AstExpr& e = ast.workflows.at(0).vars.at(0).default_value;
  ASSERT_EQ(e.op, ExprOp::kSub);
  const AstExpr& product = e.args.at(0);
  ASSERT_EQ(product.op, ExprOp::kMul);
  EXPECT_EQ(product.args.at(0).op, ExprOp::kInt);
  ASSERT_EQ(product.args.at(1).op, ExprOp::kNeg);
  EXPECT_EQ(product.args.at(1).args.at(0).text, "2");
  const AstExpr& quotient = e.args.at(1);
  ASSERT_EQ(quotient.op, ExprOp::kDiv);
  EXPECT_EQ(quotient.args.at(1).op, ExprOp::kNot);
  const AstExpr& remainder = quotient.args.at(0);
  ASSERT_EQ(remainder.op, ExprOp::kMod);
  ASSERT_EQ(remainder.args.at(1).op, ExprOp::kNeg);
  EXPECT_EQ(remainder.args.at(1).args.at(0).op, ExprOp::kNeg);
}

// Parentheses and unary operators nest at most kMaxExpressionNesting deep; deeper is an error
// naming where, not a stack overflow (10,000 parentheses once took `takt check` down).
TEST(GrammarTest, AnExpressionNestedTooDeepIsRefusedWhereItGoesTooDeep) {
  for (const auto& [open, close] : {std::pair<std::string, std::string>{"(", ")"}, {"-", ""}}) {
    for (const int levels : {kMaxExpressionNesting - 1, 100000}) {
      std::string value;
      for (int i = 0; i < levels; ++i) value += open;
      value += "1";
      for (int i = 0; i < levels; ++i) value += close;
      Diagnostics d;
      Parse("workflow w { var x: int = " + value + " }", d);
      SCOPED_TRACE(open + " x" + std::to_string(levels));
      if (levels < kMaxExpressionNesting) {
        EXPECT_EQ(d.errors(), 0u) << d.FormatAll();
        continue;
      }
      ASSERT_EQ(d.errors(), 1u) << d.FormatAll().substr(0, 500);
      EXPECT_NE(d.FormatAll().find(":1:" + std::to_string(28 + kMaxExpressionNesting) +
                                   ": error: expression nested deeper than 256 levels"),
                std::string::npos)
          << d.FormatAll().substr(0, 500);
    }
  }
}

TEST(GrammarTest, ArrowIsNotMinus) {
  Diagnostics d;
  AstFile ast = Parse("workflow w { state a { on x when y > -1 -> b } }", d);
  ASSERT_EQ(d.errors(), 0u) << d.FormatAll();
  const AstTransition& t = ast.workflows.at(0).blocks.at(0).transitions.at(0);
  EXPECT_EQ(t.target.text, "b");
  EXPECT_EQ(t.guard.args.at(1).op, ExprOp::kNeg);
}

TEST(GrammarTest, StringEscapes) {
  Diagnostics d;
  AstFile ast = Parse(R"(workflow w { var s: string = "a\"b\\c\n" })", d);
  ASSERT_EQ(d.errors(), 0u) << d.FormatAll();
  EXPECT_EQ(ast.workflows.at(0).vars.at(0).default_value.text, "a\"b\\c\n");
}

TEST(GrammarTest, KeywordsAreNotPrefixes) {
  // "order" starts with "or", "notify" with "not", "events" with "event".
  Diagnostics d;
  AstFile ast = Parse("workflow w { var order: bool = notify or order }", d);
  ASSERT_EQ(d.errors(), 0u) << d.FormatAll();
  const AstExpr& e = ast.workflows.at(0).vars.at(0).default_value;
  EXPECT_EQ(e.op, ExprOp::kOr);
  EXPECT_EQ(e.args[0].text, "notify");
}

TEST(GrammarTest, RecoversAtTheNextTopLevelDeclaration) {
  Diagnostics d;
  AstFile ast = Parse("event a { x int }\nevent b { y: int }\nworkflow { }\nsource s owns b\n", d);
  EXPECT_EQ(d.errors(), 2u) << d.FormatAll();
  ASSERT_EQ(ast.events.size(), 1u);  // b survives the error in a
  EXPECT_EQ(ast.events[0].name.text, "b");
  EXPECT_EQ(ast.sources.size(), 1u);  // and s the error in the workflow
  EXPECT_EQ(d.list()[0].line, 1u);
  EXPECT_EQ(d.list()[0].column, 13u);
  EXPECT_EQ(d.list()[1].line, 3u);
}

TEST(GrammarTest, EmptyFileIsValid) {
  Diagnostics d;
  AstFile ast = Parse("  # nothing here\n", d);
  EXPECT_EQ(d.errors(), 0u);
  EXPECT_TRUE(ast.workflows.empty());
}

}  // namespace
}  // namespace takt::dsl
