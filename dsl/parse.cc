// Runs the PEGTL grammar, keeps a parse tree of the rules that carry meaning, and turns it into
// the plain structs of ast.h. PEGTL's exceptions stop here.
#include "dsl/parse.h"

#include <tao/pegtl.hpp>
#include <tao/pegtl/contrib/analyze.hpp>
#include <tao/pegtl/contrib/parse_tree.hpp>

#include "dsl/errors.h"
#include "dsl/grammar.h"

namespace takt::dsl {
namespace {

namespace p = tao::pegtl;
namespace pt = tao::pegtl::parse_tree;
using Node = pt::node;

// The rules that keep a node in the tree; the rest only shape it.
template <typename Rule>
using Selector = pt::selector<
    Rule,
    pt::store_content::on<
        g::import_decl, g::string_body, g::source_decl, g::source_name, g::owned_event,
        g::event_decl, g::event_name, g::field_decl, g::field_name, g::type_name,
        g::optional_mark, g::range_min, g::range_max, g::workflow_decl, g::workflow_name,
        g::key_decl, g::key_name, g::index_decl, g::index_name, g::var_decl, g::var_name,
        g::var_default, g::start_decl, g::start_state, g::start_event, g::state_block,
        g::final_block, g::state_name, g::transition, g::timer_transition, g::duration,
        g::event_trigger, g::signal_name, g::guard,
        g::target_state, g::set_action, g::set_target, g::set_value, g::emit_action,
        g::command_name, g::emit_field, g::identifier, g::emit_field_value,
        // expressions, by binding level
        g::expression, g::or_operand, g::and_expr, g::and_operand, g::cmp_expr, g::cmp_operand,
        g::add_expr, g::add_operand, g::mul_expr, g::mul_operand, g::unary, g::unary_operand,
        g::neg_op, g::not_op, g::mul_op, g::add_op, g::cmp_op, g::float_lit, g::int_lit,
        g::true_lit, g::false_lit, g::null_lit, g::event_field_name, g::var_ref>>;

class TreeReader {
 public:
  explicit TreeReader(const SourceFile& file) : file_(file) {}

  Location Where(const Node& n) const {
    const p::position pos = n.begin();
    return Location{&file_, static_cast<uint32_t>(pos.line), static_cast<uint32_t>(pos.column)};
  }
  Name NameOf(const Node& n) const { return Name{n.string(), Where(n)}; }

  void Declaration(const Node& n, AstFile& out) const {
    if (n.is_type<g::import_decl>()) {
      out.imports.push_back(AstImport{Name{Unescape(n.children.at(0)->string_view()), Where(n)}});
    } else if (n.is_type<g::source_decl>()) {
      AstSource source;
      source.name = NameOf(*n.children.at(0));
      for (size_t i = 1; i < n.children.size(); ++i) source.owns.push_back(NameOf(*n.children[i]));
      out.sources.push_back(std::move(source));
    } else if (n.is_type<g::event_decl>()) {
      out.events.push_back(Event(n));
    } else if (n.is_type<g::workflow_decl>()) {
      out.workflows.push_back(Workflow(n));
    }
  }

 private:
  static std::string Unescape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] != '\\' || i + 1 == text.size()) {
        out += text[i];
        continue;
      }
      const char c = text[++i];
      out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
    }
    return out;
  }

  AstEvent Event(const Node& n) const {
    AstEvent event;
    event.name = NameOf(*n.children.at(0));
    for (size_t i = 1; i < n.children.size(); ++i) {
      const Node& f = *n.children[i];
      AstField field;
      field.name = NameOf(*f.children.at(0));
      field.type = NameOf(*f.children.at(1));
      for (size_t j = 2; j < f.children.size(); ++j) {
        const Node& c = *f.children[j];
        if (c.is_type<g::optional_mark>()) field.optional = true;
        if (c.is_type<g::range_min>()) {
          field.has_range = true;
          field.range_where = Where(c);
          field.min = ParseInt(c.string_view());
        }
        if (c.is_type<g::range_max>()) field.max = ParseInt(c.string_view());
      }
      event.fields.push_back(std::move(field));
    }
    return event;
  }

  static int64_t ParseInt(std::string_view text) {
    // Saturates instead of overflowing; the compiler reports out-of-range literals.
    bool negative = !text.empty() && text.front() == '-';
    if (negative) text.remove_prefix(1);
    int64_t value = 0;
    for (char c : text) {
      if (value > (INT64_MAX - (c - '0')) / 10) return negative ? INT64_MIN : INT64_MAX;
      value = value * 10 + (c - '0');
    }
    return negative ? -value : value;
  }

  AstWorkflow Workflow(const Node& n) const {
    AstWorkflow wf;
    wf.name = NameOf(*n.children.at(0));
    for (size_t i = 1; i < n.children.size(); ++i) {
      const Node& item = *n.children[i];
      if (item.is_type<g::key_decl>()) {
        wf.keys.push_back(NameOf(*item.children.at(0)));
      } else if (item.is_type<g::index_decl>()) {
        wf.indexes.push_back(NameOf(*item.children.at(0)));
      } else if (item.is_type<g::var_decl>()) {
        AstVar var;
        var.name = NameOf(*item.children.at(0));
        var.type = NameOf(*item.children.at(1));
        if (item.children.size() > 2) {
          var.has_default = true;
          var.default_value = Expr(*item.children[2]);
        }
        wf.vars.push_back(std::move(var));
      } else if (item.is_type<g::start_decl>()) {
        AstStart start;
        start.where = Where(item);
        start.state = NameOf(*item.children.at(0));
        start.event = NameOf(*item.children.at(1));
        for (size_t j = 2; j < item.children.size(); ++j) {
          start.actions.push_back(Action(*item.children[j]));
        }
        wf.starts.push_back(std::move(start));
      } else {
        wf.blocks.push_back(Block(item));
      }
    }
    return wf;
  }

  AstStateBlock Block(const Node& n) const {
    AstStateBlock block;
    block.where = Where(n);
    block.is_final = n.is_type<g::final_block>();
    for (const auto& child : n.children) {
      if (child->is_type<g::state_name>()) {
        block.states.push_back(NameOf(*child));
      } else if (child->is_type<g::transition>() || child->is_type<g::timer_transition>()) {
        block.transitions.push_back(Transition(*child));
      } else {
        block.actions.push_back(Action(*child));
      }
    }
    return block;
  }

  AstTransition Transition(const Node& n) const {
    AstTransition t;
    t.where = Where(n);
    for (const auto& child : n.children) {
      const Node& c = *child;
      if (c.is_type<g::event_trigger>()) {
        t.trigger = NameOf(c);
      } else if (c.is_type<g::signal_name>()) {
        t.trigger = NameOf(c);
        t.is_signal = true;
      } else if (c.is_type<g::duration>()) {
        t.trigger = NameOf(c);
        t.is_timer = true;
      } else if (c.is_type<g::guard>()) {
        t.has_guard = true;
        t.guard = Expr(c);
        t.guard_text = c.string();
      } else if (c.is_type<g::target_state>()) {
        t.has_target = true;
        t.target = NameOf(c);
      } else {
        t.actions.push_back(Action(c));
      }
    }
    return t;
  }

  AstAction Action(const Node& n) const {
    AstAction a;
    a.where = Where(n);
    a.target = NameOf(*n.children.at(0));
    if (n.is_type<g::set_action>()) {
      a.kind = AstAction::Kind::kSet;
      a.value = Expr(*n.children.at(1));
      return a;
    }
    a.kind = AstAction::Kind::kEmit;
    for (size_t i = 1; i < n.children.size(); ++i) {
      const Node& f = *n.children[i];
      a.fields.push_back(AstEmitField{NameOf(*f.children.at(0)), Expr(*f.children.at(1))});
    }
    return a;
  }

  // Left-associative chain: operand (op operand)*, where `op` is fixed (and/or) or read from
  // the op node between operands.
  AstExpr Chain(const Node& n, ExprOp fixed_op, bool ops_in_tree) const {
    AstExpr left = Expr(*n.children.at(0));
    size_t i = 1;
    while (i < n.children.size()) {
      ExprOp op = fixed_op;
      Location where = Where(*n.children[i]);
      if (ops_in_tree) {
        op = BinaryOp(n.children[i]->string_view());
        ++i;
      }
      AstExpr combined;
      combined.op = op;
      combined.where = where;
      combined.args.push_back(std::move(left));
      combined.args.push_back(Expr(*n.children.at(i)));
      left = std::move(combined);
      ++i;
    }
    return left;
  }

  static ExprOp BinaryOp(std::string_view op) {
    if (op == "==") return ExprOp::kEq;
    if (op == "!=") return ExprOp::kNe;
    if (op == "<=") return ExprOp::kLe;
    if (op == ">=") return ExprOp::kGe;
    if (op == "<") return ExprOp::kLt;
    if (op == ">") return ExprOp::kGt;
    if (op == "+") return ExprOp::kAdd;
    if (op == "-") return ExprOp::kSub;
    if (op == "*") return ExprOp::kMul;
    if (op == "/") return ExprOp::kDiv;
    return ExprOp::kMod;
  }

  AstExpr Leaf(const Node& n, ExprOp op, std::string text) const {
    AstExpr e;
    e.op = op;
    e.text = std::move(text);
    e.where = Where(n);
    return e;
  }

  AstExpr Expr(const Node& n) const {
    if (n.is_type<g::expression>() || n.is_type<g::or_operand>() || n.is_type<g::guard>() ||
        n.is_type<g::set_value>() || n.is_type<g::var_default>() ||
        n.is_type<g::emit_field_value>()) {
      return Chain(n, ExprOp::kOr, false);
    }
    if (n.is_type<g::and_expr>() || n.is_type<g::and_operand>()) {
      return Chain(n, ExprOp::kAnd, false);
    }
    if (n.is_type<g::cmp_expr>() || n.is_type<g::cmp_operand>() || n.is_type<g::add_expr>() ||
        n.is_type<g::add_operand>() || n.is_type<g::mul_expr>()) {
      return Chain(n, ExprOp::kOr, true);
    }
    // An operand of * / % is a unary expression, not a chain: `a * -b`.
    if (n.is_type<g::unary>() || n.is_type<g::unary_operand>() || n.is_type<g::mul_operand>()) {
      const Node& first = *n.children.at(0);
      if (n.children.size() == 1) return Expr(first);
      AstExpr e = Leaf(first, first.is_type<g::neg_op>() ? ExprOp::kNeg : ExprOp::kNot, "");
      e.args.push_back(Expr(*n.children.at(1)));
      return e;
    }
    if (n.is_type<g::string_body>()) return Leaf(n, ExprOp::kString, Unescape(n.string_view()));
    if (n.is_type<g::float_lit>()) return Leaf(n, ExprOp::kFloat, n.string());
    if (n.is_type<g::int_lit>()) return Leaf(n, ExprOp::kInt, n.string());
    if (n.is_type<g::true_lit>()) return Leaf(n, ExprOp::kBool, "true");
    if (n.is_type<g::false_lit>()) return Leaf(n, ExprOp::kBool, "false");
    if (n.is_type<g::null_lit>()) return Leaf(n, ExprOp::kNull, "null");
    if (n.is_type<g::event_field_name>()) {
      AstExpr e = Leaf(n, ExprOp::kEventField, n.string());
      e.where.column -= 6;  // point at "event.", not at the field name
      return e;
    }
    return Leaf(n, ExprOp::kName, n.string());  // var_ref
  }

  const SourceFile& file_;
};

bool IsTopLevelKeyword(std::string_view line) {
  for (std::string_view kw : {"import", "source", "event", "workflow"}) {
    if (line.substr(0, kw.size()) == kw &&
        (line.size() == kw.size() || line[kw.size()] == ' ' || line[kw.size()] == '\t' ||
         line[kw.size()] == '"')) {
      return true;
    }
  }
  return false;
}

// Where parsing resumes after a syntax error at `byte`: the first line start at or after it
// whose line begins (column 1) with a top-level keyword, or npos. Declarations inside a
// workflow are indented, so this lands on the next top-level declaration. `line` is advanced
// to the line of the returned offset.
size_t ResyncPoint(const std::string& text, size_t byte, size_t last_start, uint32_t& line) {
  const bool at_line_start = byte == 0 || text[byte - 1] == '\n';
  if (at_line_start && byte != last_start &&
      IsTopLevelKeyword(std::string_view(text).substr(byte))) {
    return byte;  // the error is that the previous declaration ended early; this one is new
  }
  size_t pos = text.find('\n', byte);
  while (pos != std::string::npos) {
    ++pos;
    ++line;
    if (IsTopLevelKeyword(std::string_view(text).substr(pos))) return pos;
    pos = text.find('\n', pos);
  }
  return std::string::npos;
}

// The declaration that a syntax error at `error` broke, which began at or after `start`: the
// last line before the error that begins with a top-level keyword. (An error right at such a
// line is the previous declaration's: it ended early.)
BrokenDeclaration BrokenAt(const std::string& text, size_t start, size_t error) {
  BrokenDeclaration broken;
  size_t line = start;
  while (line != std::string::npos && (line < error || line == start) && line < text.size()) {
    const std::string_view rest = std::string_view(text).substr(line);
    const bool line_start = line == 0 || text[line - 1] == '\n';
    if (line_start && IsTopLevelKeyword(rest)) {
      const size_t keyword_end = rest.find_first_of(" \t\"");
      broken.keyword = std::string(rest.substr(0, keyword_end));
      const size_t name_start = rest.find_first_not_of(" \t\"", keyword_end);
      const size_t name_end =
          name_start == std::string_view::npos ? name_start : rest.find_first_of(" \t\"{\n", name_start);
      broken.name = name_start == std::string_view::npos
                        ? std::string()
                        : std::string(rest.substr(name_start, name_end - name_start));
    }
    const size_t next = text.find('\n', line);
    line = next == std::string::npos ? next : next + 1;
  }
  return broken;
}

}  // namespace

void ParseFile(const SourceFile& file, AstFile& out, Diagnostics& diagnostics) {
  const TreeReader reader(file);
  const std::string& text = file.text;
  size_t offset = 0;
  uint32_t line = 1;
  while (offset != std::string::npos) {
    p::memory_input in(text.data() + offset, text.data() + text.size(), file.name, offset, line,
                       1);
    size_t declaration_start = offset;
    try {
      while (true) {
        declaration_start = in.byte();
        expression_nesting = 0;  // a parse error may have left levels counted
        std::unique_ptr<Node> root = pt::parse<g::top_item, Selector, p::nothing, Control>(in);
        if (!root || root->children.empty()) return;  // end of file
        reader.Declaration(*root->children.front(), out);
      }
    } catch (const p::parse_error& e) {
      const p::position& pos = e.positions().front();
      diagnostics.Error(Location{&file, static_cast<uint32_t>(pos.line),
                                 static_cast<uint32_t>(pos.column)},
                        std::string(e.message()));
      out.broken.push_back(BrokenAt(text, declaration_start, pos.byte));
      line = static_cast<uint32_t>(pos.line);
      offset = ResyncPoint(text, pos.byte, offset, line);
    }
  }
}

size_t AnalyzeGrammar() { return p::analyze<g::top_item>(-1); }

}  // namespace takt::dsl
