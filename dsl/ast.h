// The syntax tree of a .takt file: plain structs, filled by parse.cc, read by compile.cc.
// Every node keeps where it came from so that the compiler's errors can point at it.
#ifndef TAKT_DSL_AST_H_
#define TAKT_DSL_AST_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace takt::dsl {

struct SourceFile;

struct Location {
  const SourceFile* file = nullptr;  // owned by the Loader that read it
  uint32_t line = 0;
  uint32_t column = 0;
};

struct Name {
  std::string text;
  Location where;
};

// Expressions: a small tree. `op` says which fields matter.
enum class ExprOp : uint8_t {
  kString, kInt, kFloat, kBool, kNull,  // literals: `text` holds the literal's value
  kEventField,                          // event.<text>
  kName,                                // an instance variable, or `key`
  kNot, kNeg,                           // one operand
  kAnd, kOr,
  kEq, kNe, kLt, kLe, kGt, kGe,
  kAdd, kSub, kMul, kDiv, kMod,
};

struct AstExpr {
  ExprOp op = ExprOp::kNull;
  std::string text;
  Location where;
  std::vector<AstExpr> args;
};

struct AstEmitField {
  Name name;
  AstExpr value;
};

struct AstAction {
  enum class Kind : uint8_t { kSet, kEmit };
  Kind kind = Kind::kSet;
  Location where;
  Name target;  // kSet: the variable; kEmit: the command name
  AstExpr value;  // kSet
  std::vector<AstEmitField> fields;  // kEmit
};

struct AstTransition {
  Location where;
  Name trigger;  // an event type, a signal name when `is_signal`, a duration when `is_timer`
  bool is_signal = false;
  bool is_timer = false;  // `after DURATION`
  bool has_guard = false;
  AstExpr guard;
  std::string guard_text;  // as written, to tell identical guards apart
  bool has_target = false;
  Name target;  // absent: stay in the current state
  std::vector<AstAction> actions;
};

// `state a, b { ... }` or `final c { ... }`: a block shared by the states it names.
struct AstStateBlock {
  Location where;
  bool is_final = false;
  std::vector<Name> states;
  std::vector<AstTransition> transitions;
  std::vector<AstAction> actions;  // entry actions (valid on final states only)
};

struct AstVar {
  Name name;
  Name type;
  bool has_default = false;
  AstExpr default_value;
};

struct AstStart {
  Location where;
  Name state;
  Name event;
  std::vector<AstAction> actions;
};

struct AstWorkflow {
  Name name;
  std::vector<Name> keys;     // `key order`; exactly one is valid
  std::vector<Name> indexes;  // `index asset`
  std::vector<AstVar> vars;
  std::vector<AstStart> starts;  // exactly one is valid
  std::vector<AstStateBlock> blocks;
};

struct AstField {
  Name name;
  Name type;  // string, int, float, bool
  bool optional = false;  // `name: type?`: may be missing or null
  bool has_range = false;
  int64_t min = 0;
  int64_t max = 0;
  Location range_where;
};

struct AstEvent {
  Name name;
  std::vector<AstField> fields;
};

struct AstSource {
  Name name;
  std::vector<Name> owns;
};

struct AstImport {
  Name path;  // as written, without quotes
};

// A top-level declaration lost to a syntax error: its keyword ("event", "source", "import",
// "workflow"; empty when not found) and the name after it, so that the compiler does not
// report what only its absence causes (an unknown event type it declared, say).
struct BrokenDeclaration {
  std::string keyword;
  std::string name;
};

struct AstFile {
  std::vector<AstImport> imports;
  std::vector<AstSource> sources;
  std::vector<AstEvent> events;
  std::vector<AstWorkflow> workflows;
  std::vector<BrokenDeclaration> broken;
};

}  // namespace takt::dsl

#endif  // TAKT_DSL_AST_H_
