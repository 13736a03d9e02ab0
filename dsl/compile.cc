// The compiler: resolves names, types expressions and checks workflows. It reports every
// problem it can find in one pass instead of stopping at the first.
#include "dsl/compile.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <set>

namespace takt::dsl {
namespace {

std::string At(const Location& where) {
  std::string s = where.file != nullptr ? where.file->name : "?";
  return s + ":" + std::to_string(where.line);
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out.empty() ? "none" : out;
}

bool ParseTypeName(const std::string& name, Type& type) {
  if (name == "string") type = Type::kString;
  else if (name == "int") type = Type::kInt;
  else if (name == "float") type = Type::kFloat;
  else if (name == "bool") type = Type::kBool;
  else return false;
  return true;
}

// What an expression may read where it stands.
struct Scope {
  const WorkflowDef* workflow = nullptr;  // variables and key; null: literals only
  const EventDef* event = nullptr;        // event.<field>; null: none
  const char* no_event_reason = "";       // why `event` is not available here
};

class ExprCompiler {
 public:
  ExprCompiler(const Scope& scope, Diagnostics& diagnostics)
      : scope_(scope), diagnostics_(diagnostics) {}

  // Returns false (and has reported why) when the expression is invalid.
  bool Compile(const AstExpr& in, Expr& out) {
    out.op = in.op;
    switch (in.op) {
      case ExprOp::kString:
        out.type = Type::kString;
        out.literal = Value::String(in.text);
        return true;
      case ExprOp::kInt: {
        errno = 0;
        const long long v = std::strtoll(in.text.c_str(), nullptr, 10);
        if (errno == ERANGE) {
          diagnostics_.Error(in.where, "integer literal " + in.text + " is out of range");
          return false;
        }
        out.type = Type::kInt;
        out.literal = Value::Int(v);
        return true;
      }
      case ExprOp::kFloat:
        out.type = Type::kFloat;
        out.literal = Value::Float(std::strtod(in.text.c_str(), nullptr));
        return true;
      case ExprOp::kBool:
        out.type = Type::kBool;
        out.literal = Value::Bool(in.text == "true");
        return true;
      case ExprOp::kNull:
        out.type = Type::kNull;
        out.nullable = true;
        return true;
      case ExprOp::kEventField: return EventField(in, out);
      case ExprOp::kName: return NameRef(in, out);
      default: return Operator(in, out);
    }
  }

 private:
  bool EventField(const AstExpr& in, Expr& out) {
    if (scope_.event == nullptr) {
      diagnostics_.Error(in.where, "'event." + in.text + "' cannot be used here: " +
                                       scope_.no_event_reason);
      return false;
    }
    const int slot = scope_.event->FieldIndex(in.text);
    if (slot < 0) {
      std::vector<std::string> names;
      for (const FieldDef& f : scope_.event->fields) names.push_back(f.name);
      diagnostics_.Error(in.where, "event type '" + scope_.event->type + "' has no field '" +
                                       in.text + "' (its fields: " + JoinNames(names) + ")");
      return false;
    }
    const FieldDef& field = scope_.event->fields[static_cast<size_t>(slot)];
    out.slot = slot;
    out.type = field.type;
    out.nullable = field.optional;
    return true;
  }

  bool NameRef(const AstExpr& in, Expr& out) {
    if (scope_.workflow == nullptr) {
      diagnostics_.Error(in.where, "'" + in.text + "' cannot be used here: only literals can");
      return false;
    }
    if (in.text == "key") {
      out.slot = Expr::kKeySlot;
      out.type = Type::kString;
      return true;
    }
    const int var = scope_.workflow->VarIndex(in.text);
    if (var < 0) {
      std::vector<std::string> names = {"key"};
      for (const VarDef& v : scope_.workflow->vars) names.push_back(v.name);
      diagnostics_.Error(in.where, "unknown variable '" + in.text + "' (known: " +
                                       JoinNames(names) + "; event fields are 'event.NAME')");
      return false;
    }
    out.slot = var;
    out.type = scope_.workflow->vars[static_cast<size_t>(var)].type;
    return true;
  }

  static const char* OpText(ExprOp op) {
    switch (op) {
      case ExprOp::kNot: return "not";
      case ExprOp::kNeg: return "-";
      case ExprOp::kAnd: return "and";
      case ExprOp::kOr: return "or";
      case ExprOp::kEq: return "==";
      case ExprOp::kNe: return "!=";
      case ExprOp::kLt: return "<";
      case ExprOp::kLe: return "<=";
      case ExprOp::kGt: return ">";
      case ExprOp::kGe: return ">=";
      case ExprOp::kAdd: return "+";
      case ExprOp::kSub: return "-";
      case ExprOp::kMul: return "*";
      case ExprOp::kDiv: return "/";
      case ExprOp::kMod: return "%";
      default: return "?";
    }
  }

  static std::string Describe(const Expr& e) {
    std::string s = TypeName(e.type);
    if (e.nullable && e.type != Type::kNull) s += " (may be null)";
    return s;
  }

  bool Operator(const AstExpr& in, Expr& out) {
    bool ok = true;
    out.args.resize(in.args.size());
    for (size_t i = 0; i < in.args.size(); ++i) ok = Compile(in.args[i], out.args[i]) && ok;
    if (!ok) return false;
    const std::string op = OpText(in.op);
    auto mismatch = [&](const std::string& what) {
      diagnostics_.Error(in.where, "type mismatch: " + what);
      return false;
    };
    if (in.op == ExprOp::kNot || in.op == ExprOp::kNeg) {
      const Expr& a = out.args[0];
      const bool want_bool = in.op == ExprOp::kNot;
      if (a.nullable || (want_bool ? a.type != Type::kBool : !IsNumber(a.type))) {
        return mismatch("'" + op + "' needs " + (want_bool ? "a bool" : "a number") + ", got " +
                        Describe(a));
      }
      out.type = a.type;
      return true;
    }
    const Expr& a = out.args[0];
    const Expr& b = out.args[1];
    const std::string pair = Describe(a) + " " + op + " " + Describe(b);
    switch (in.op) {
      case ExprOp::kAnd:
      case ExprOp::kOr:
        if (a.type != Type::kBool || b.type != Type::kBool || a.nullable || b.nullable) {
          return mismatch("'" + op + "' needs bool operands, got " + pair);
        }
        out.type = Type::kBool;
        return true;
      case ExprOp::kEq:
      case ExprOp::kNe:
        // Equal types, int with float, or anything with null.
        if (a.type != b.type && !(IsNumber(a.type) && IsNumber(b.type)) &&
            a.type != Type::kNull && b.type != Type::kNull) {
          return mismatch("cannot compare " + pair);
        }
        out.type = Type::kBool;
        return true;
      case ExprOp::kLt:
      case ExprOp::kLe:
      case ExprOp::kGt:
      case ExprOp::kGe:
        if (a.nullable || b.nullable ||
            !((IsNumber(a.type) && IsNumber(b.type)) ||
              (a.type == Type::kString && b.type == Type::kString))) {
          return mismatch("cannot order " + pair + " (numbers or strings only)");
        }
        out.type = Type::kBool;
        return true;
      case ExprOp::kAdd:
        if (!a.nullable && !b.nullable && a.type == Type::kString && b.type == Type::kString) {
          out.type = Type::kString;
          return true;
        }
        [[fallthrough]];
      case ExprOp::kSub:
      case ExprOp::kMul:
      case ExprOp::kMod:
      case ExprOp::kDiv:
        if (a.nullable || b.nullable || !IsNumber(a.type) || !IsNumber(b.type)) {
          return mismatch("'" + op + "' needs numbers, got " + pair);
        }
        if (in.op == ExprOp::kMod && (a.type != Type::kInt || b.type != Type::kInt)) {
          return mismatch("'%' needs ints, got " + pair);
        }
        out.type = in.op == ExprOp::kDiv || a.type == Type::kFloat || b.type == Type::kFloat
                       ? Type::kFloat
                       : Type::kInt;
        return true;
      default: return false;
    }
  }

  const Scope& scope_;
  Diagnostics& diagnostics_;
};

// Can a value of type `from` be stored where `to` is expected?
bool Assignable(const Expr& from, Type to) {
  if (from.nullable) return false;
  return from.type == to || (from.type == Type::kInt && to == Type::kFloat);
}

class Compiler {
 public:
  Compiler(const std::vector<const AstFile*>& files, Catalog& out, Diagnostics& diagnostics)
      : files_(files), out_(out), diagnostics_(diagnostics), errors_at_start_(diagnostics.errors()) {
    for (const AstFile* file : files_) {
      for (const BrokenDeclaration& broken : file->broken) {
        if (broken.keyword == "event") {
          broken_events_.insert(broken.name);
        } else if (broken.keyword == "source") {
          broken_source_ = true;
        } else if (broken.keyword != "workflow") {
          broken_import_ = true;  // or a declaration whose keyword was not found
        }
      }
    }
  }

  void Run() {
    Events();
    Sources();
    for (const EventDef& e : out_.events) {
      // A source declaration lost to a syntax error may have been its owner.
      if (e.owner.empty() && !broken_source_ && !broken_import_) {
        diagnostics_.Error(e.where, "event type '" + e.type +
                                        "' has no owner: name it in a 'source NAME owns " +
                                        e.type + "' declaration");
      }
    }
    std::map<std::string, Location> seen;
    for (const AstFile* file : files_) {
      for (const AstWorkflow& wf : file->workflows) {
        auto [it, inserted] = seen.emplace(wf.name.text, wf.name.where);
        if (!inserted) {
          diagnostics_.Error(wf.name.where, "workflow '" + wf.name.text +
                                                "' is already declared at " + At(it->second));
          continue;
        }
        out_.workflows.push_back(Workflow(wf));
      }
    }
    std::sort(out_.workflows.begin(), out_.workflows.end(),
              [](const WorkflowDef& a, const WorkflowDef& b) { return a.name < b.name; });
  }

 private:
  void Events() {
    for (const AstFile* file : files_) {
      for (const AstEvent& ev : file->events) {
        if (out_.event_ids.count(ev.name.text) != 0) {
          const EventDef& first = out_.events[static_cast<size_t>(out_.EventId(ev.name.text))];
          diagnostics_.Error(ev.name.where, "event type '" + ev.name.text +
                                                "' is already declared at " + At(first.where));
          continue;
        }
        EventDef def;
        def.type = ev.name.text;
        def.where = ev.name.where;
        for (const AstField& f : ev.fields) {
          FieldDef field;
          field.name = f.name.text;
          ParseTypeName(f.type.text, field.type);  // the grammar allows only valid names
          field.optional = f.optional;
          if (def.FieldIndex(field.name) >= 0) {
            diagnostics_.Error(f.name.where, "field '" + field.name +
                                                 "' appears twice in event type '" + def.type + "'");
            continue;
          }
          if (f.has_range) {
            if (field.type != Type::kInt) {
              diagnostics_.Error(f.range_where, "a range ('in MIN..MAX') needs an int field; '" +
                                                    field.name + "' is " + TypeName(field.type));
            } else if (f.min > f.max) {
              diagnostics_.Error(f.range_where, "empty range: " + std::to_string(f.min) +
                                                    " is greater than " + std::to_string(f.max));
            }
            field.has_range = true;
            field.min = f.min;
            field.max = f.max;
          }
          def.fields.push_back(std::move(field));
        }
        out_.event_ids.emplace(def.type, static_cast<int>(out_.events.size()));
        out_.events.push_back(std::move(def));
      }
    }
  }

  void Sources() {
    std::map<std::string, Location> owned_at;
    for (const AstFile* file : files_) {
      for (const AstSource& src : file->sources) {
        for (const Name& type : src.owns) {
          const int id = out_.EventId(type.text);
          if (id < 0) {
            UnknownEvent(type);
            continue;
          }
          EventDef& ev = out_.events[static_cast<size_t>(id)];
          if (!ev.owner.empty()) {
            if (ev.owner != src.name.text) {
              diagnostics_.Error(type.where, "event type '" + type.text + "' is already owned by '" +
                                                 ev.owner + "' (" + At(owned_at[type.text]) +
                                                 "); an event type has one owner");
            }
            continue;
          }
          ev.owner = src.name.text;
          owned_at[type.text] = type.where;
        }
      }
    }
  }

  void UnknownEvent(const Name& type) {
    // Declared, perhaps, by a declaration or an import lost to a syntax error: that error is
    // the one to fix.
    if (broken_import_ || broken_events_.count(type.text) != 0) return;
    std::vector<std::string> names;
    for (const EventDef& e : out_.events) names.push_back(e.type);
    diagnostics_.Error(type.where, "unknown event type '" + type.text + "' (declared: " +
                                       JoinNames(names) + "; is an import missing?)");
  }

  WorkflowDef Workflow(const AstWorkflow& wf) {
    WorkflowDef def;
    def.name = wf.name.text;
    def.where = wf.name.where;
    def.handles.assign(out_.events.size(), false);
    if (wf.keys.empty()) {
      diagnostics_.Error(wf.name.where, "workflow '" + def.name +
                                            "' has no key: say what identifies an instance "
                                            "(key order)");
    } else {
      def.key_name = wf.keys.front().text;
      for (size_t i = 1; i < wf.keys.size(); ++i) {
        diagnostics_.Error(wf.keys[i].where, "workflow '" + def.name + "' has one key; the first is '" +
                                                 def.key_name + "' at " + At(wf.keys[0].where));
      }
    }
    Vars(wf, def);
    for (const Name& index : wf.indexes) {
      const int var = def.VarIndex(index.text);
      if (var < 0) {
        diagnostics_.Error(index.where, "index '" + index.text + "' is not a variable of workflow '" +
                                            def.name + "' (declare it with 'var " + index.text +
                                            ": TYPE')");
      } else {
        def.indexes.push_back(var);
      }
    }
    States(wf, def);
    Start(wf, def);
    Blocks(wf, def);
    // Warnings only for definitions without errors: an error explains them better.
    if (diagnostics_.errors() == errors_at_start_) Warnings(def);
    return def;
  }

  void Vars(const AstWorkflow& wf, WorkflowDef& def) {
    for (const AstVar& v : wf.vars) {
      if (v.name.text == "key") {
        diagnostics_.Error(v.name.where, "'key' is reserved for the instance key");
        continue;
      }
      if (def.VarIndex(v.name.text) >= 0) {
        diagnostics_.Error(v.name.where, "variable '" + v.name.text + "' is already declared");
        continue;
      }
      VarDef var;
      var.name = v.name.text;
      ParseTypeName(v.type.text, var.type);
      switch (var.type) {  // the zero value of each type, unless a default is given
        case Type::kInt: var.initial = Value::Int(0); break;
        case Type::kFloat: var.initial = Value::Float(0); break;
        case Type::kBool: var.initial = Value::Bool(false); break;
        default: var.initial = Value::String("");
      }
      if (v.has_default) {
        Scope scope;
        scope.no_event_reason = "a default value is a literal";
        Expr e;
        if (ExprCompiler(scope, diagnostics_).Compile(v.default_value, e)) {
          if (!Assignable(e, var.type)) {
            diagnostics_.Error(v.default_value.where, "type mismatch: variable '" + var.name +
                                                          "' is " + TypeName(var.type) +
                                                          ", its default is " + TypeName(e.type));
          } else if (e.op == ExprOp::kNeg) {
            var.initial = e.args[0].literal;
            var.initial.i = -var.initial.i;
            var.initial.f = -var.initial.f;
          } else {
            var.initial = e.literal;
          }
          if (var.type == Type::kFloat && var.initial.type == Type::kInt) {
            var.initial = Value::Float(static_cast<double>(var.initial.i));
          }
        }
      }
      def.vars.push_back(std::move(var));
    }
  }

  // Declares every state named by a block. A state may be in several shared blocks, but in at
  // most one block of its own and at most one `final`.
  void States(const AstWorkflow& wf, WorkflowDef& def) {
    std::map<std::string, Location> single, finals;
    for (const AstStateBlock& block : wf.blocks) {
      std::set<std::string> in_block;
      for (const Name& name : block.states) {
        if (!in_block.insert(name.text).second) {
          diagnostics_.Error(name.where, "state '" + name.text + "' is listed twice in this block");
          continue;
        }
        auto& own = block.is_final ? finals : single;
        if (block.is_final || block.states.size() == 1) {
          auto [it, inserted] = own.emplace(name.text, name.where);
          if (!inserted) {
            diagnostics_.Error(name.where, "duplicate state '" + name.text + "': already declared at " +
                                               At(it->second));
            continue;
          }
        }
        int index = def.StateIndex(name.text);
        if (index < 0) {
          StateDef state;
          state.name = name.text;
          state.where = name.where;
          def.states.push_back(std::move(state));
          index = static_cast<int>(def.states.size()) - 1;
        }
        if (block.is_final) def.states[static_cast<size_t>(index)].final = true;
      }
    }
  }

  void Start(const AstWorkflow& wf, WorkflowDef& def) {
    if (wf.starts.empty()) {
      diagnostics_.Error(wf.name.where, "workflow '" + def.name +
                                            "' has no start: say which event creates an instance "
                                            "(start STATE on EVENT)");
      return;
    }
    for (size_t i = 1; i < wf.starts.size(); ++i) {
      diagnostics_.Error(wf.starts[i].where, "workflow '" + def.name +
                                                 "' has a second start; the first is at " +
                                                 At(wf.starts[0].where));
    }
    const AstStart& start = wf.starts.front();
    def.start_state = ResolveState(def, start.state);
    def.start_event = out_.EventId(start.event.text);
    if (def.start_event < 0) {
      UnknownEvent(start.event);
      return;
    }
    def.handles[static_cast<size_t>(def.start_event)] = true;
    Scope scope{&def, &out_.events[static_cast<size_t>(def.start_event)], ""};
    def.start_actions = Actions(start.actions, scope, def);
  }

  int ResolveState(const WorkflowDef& def, const Name& name) {
    const int index = def.StateIndex(name.text);
    if (index < 0) {
      std::vector<std::string> names;
      for (const StateDef& s : def.states) names.push_back(s.name);
      diagnostics_.Error(name.where, "unknown state '" + name.text + "' in workflow '" + def.name +
                                         "' (states: " + JoinNames(names) + ")");
    }
    return index;
  }

  void Blocks(const AstWorkflow& wf, WorkflowDef& def) {
    // The earlier transitions per (state, trigger), to find ones that can never fire.
    std::map<std::pair<int, std::string>, std::vector<const AstTransition*>> earlier;
    for (const AstStateBlock& block : wf.blocks) {
      std::vector<int> states;
      for (const Name& n : block.states) {
        const int s = def.StateIndex(n.text);
        if (s >= 0 && std::find(states.begin(), states.end(), s) == states.end()) states.push_back(s);
      }
      if (!block.actions.empty()) {
        if (block.is_final) {
          Scope scope{&def, nullptr,
                      "a final state's entry actions run for whichever event enters it"};
          std::vector<Action> actions = Actions(block.actions, scope, def);
          for (int s : states) {
            auto& on_enter = def.states[static_cast<size_t>(s)].on_enter;
            on_enter.insert(on_enter.end(), actions.begin(), actions.end());
          }
        } else {
          diagnostics_.Error(block.actions.front().where,
                             "only final states have entry actions; put this action inside an "
                             "'on EVENT { ... }' transition");
        }
      }
      for (const AstTransition& t : block.transitions) {
        bool out_of_final = false;
        for (int s : states) {
          const StateDef& state = def.states[static_cast<size_t>(s)];
          if (state.final) {
            diagnostics_.Error(t.where, "state '" + state.name +
                                            "' is final: no transition can leave it");
            out_of_final = true;
          }
        }
        if (out_of_final) continue;
        Transition compiled;
        int event_id = -1;
        if (!CompileTransition(t, def, compiled, event_id)) continue;
        for (int s : states) {
          const std::string trigger =
              (t.is_signal ? "signal " : t.is_timer ? "after " : "") + t.trigger.text;
          auto& before = earlier[{s, trigger}];
          for (const AstTransition* prior : before) {
            if (!prior->has_guard || (t.has_guard && Normalized(prior->guard_text) ==
                                                         Normalized(t.guard_text))) {
              diagnostics_.Error(
                  t.where, "this transition can never fire: the one at " + At(prior->where) +
                               " for '" + trigger + "' in state '" +
                               def.states[static_cast<size_t>(s)].name + "' comes first and " +
                               (prior->has_guard ? "has the same guard" : "has no guard"));
              break;
            }
          }
          before.push_back(&t);
          StateDef& state = def.states[static_cast<size_t>(s)];
          if (t.is_signal) {
            state.on_signal[t.trigger.text].push_back(compiled);
          } else if (t.is_timer) {
            state.on_timer[compiled.after_ms].push_back(compiled);
          } else {
            state.on_event[event_id].push_back(compiled);
          }
        }
      }
    }
  }

  // "90s" -> 90000; 0 when the number is too large to be sensible.
  static int64_t DurationMs(const std::string& text) {
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    const std::string unit = text.substr(digits);
    const int64_t per = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60'000
                      : unit == "h" ? 3'600'000 : 86'400'000;
    constexpr int64_t kMaxMs = int64_t{100} * 365 * 86'400'000;
    if (digits == 0 || digits > 13) return 0;
    const int64_t n = std::stoll(text.substr(0, digits));
    return n > kMaxMs / per ? 0 : n * per;
  }

  static std::string CollapseSpaces(const std::string& text) {
    std::string out;
    for (char c : text) {
      const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
      if (space && (out.empty() || out.back() == ' ')) continue;
      out += space ? ' ' : c;
    }
    if (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
  }

  static std::string Normalized(const std::string& text) {
    std::string out;
    for (char c : text) {
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') out += c;
    }
    return out;
  }

  bool CompileTransition(const AstTransition& t, WorkflowDef& def, Transition& out, int& event_id) {
    out.where = t.where;
    out.label = (t.is_signal ? "signal " : t.is_timer ? "after " : "") + t.trigger.text;
    if (t.has_guard) out.label += " when " + CollapseSpaces(t.guard_text);
    Scope scope{&def, nullptr,
                t.is_timer ? "a timer carries no event fields" : "a signal carries no event fields"};
    if (t.is_timer) {
      out.after_ms = DurationMs(t.trigger.text);
      if (out.after_ms <= 0) {
        diagnostics_.Error(t.trigger.where, "a timer's duration must be more than 0 and at most "
                                            "100 years, not '" + t.trigger.text + "'");
        return false;
      }
    } else if (!t.is_signal) {
      event_id = out_.EventId(t.trigger.text);
      if (event_id < 0) {
        UnknownEvent(t.trigger);
        return false;
      }
      def.handles[static_cast<size_t>(event_id)] = true;
      scope.event = &out_.events[static_cast<size_t>(event_id)];
    }
    bool ok = true;
    if (t.has_guard) {
      out.has_guard = true;
      if (ExprCompiler(scope, diagnostics_).Compile(t.guard, out.guard)) {
        if (out.guard.type != Type::kBool || out.guard.nullable) {
          diagnostics_.Error(t.guard.where, "type mismatch: a guard must be bool, this one is " +
                                                std::string(TypeName(out.guard.type)) +
                                                (out.guard.nullable ? " (may be null)" : ""));
          ok = false;
        }
      } else {
        ok = false;
      }
    }
    if (t.has_target) {
      out.target = ResolveState(def, t.target);
      ok = ok && out.target >= 0;
    }
    const uint32_t errors = diagnostics_.errors();
    out.actions = Actions(t.actions, scope, def);
    return ok && diagnostics_.errors() == errors;
  }

  std::vector<Action> Actions(const std::vector<AstAction>& in, const Scope& scope,
                              const WorkflowDef& def) {
    std::vector<Action> out;
    for (const AstAction& a : in) {
      Action action;
      action.kind = a.kind;
      ExprCompiler exprs(scope, diagnostics_);
      if (a.kind == AstAction::Kind::kSet) {
        action.var = def.VarIndex(a.target.text);
        if (action.var < 0) {
          std::vector<std::string> names;
          for (const VarDef& v : def.vars) names.push_back(v.name);
          diagnostics_.Error(a.target.where, "unknown variable '" + a.target.text +
                                                 "' (declare it with 'var " + a.target.text +
                                                 ": TYPE'; declared: " + JoinNames(names) + ")");
          continue;
        }
        if (!exprs.Compile(a.value, action.value)) continue;
        const VarDef& var = def.vars[static_cast<size_t>(action.var)];
        if (!Assignable(action.value, var.type)) {
          diagnostics_.Error(a.value.where,
                             "type mismatch: variable '" + var.name + "' is " + TypeName(var.type) +
                                 ", the value is " + TypeName(action.value.type) +
                                 (action.value.nullable ? " (may be null)" : ""));
          continue;
        }
      } else {
        action.command = a.target.text;
        std::set<std::string> names;
        for (const AstEmitField& f : a.fields) {
          if (!names.insert(f.name.text).second) {
            diagnostics_.Error(f.name.where, "field '" + f.name.text + "' appears twice in '" +
                                                 action.command + "'");
            continue;
          }
          EmitField field;
          field.name = f.name.text;
          if (exprs.Compile(f.value, field.value)) action.fields.push_back(std::move(field));
        }
      }
      out.push_back(std::move(action));
    }
    return out;
  }

  // Reachability from the start state, and states that are not final yet cannot be left.
  void Warnings(const WorkflowDef& def) {
    if (def.start_state < 0) return;
    std::vector<bool> reached(def.states.size(), false);
    std::vector<int> todo = {def.start_state};
    reached[static_cast<size_t>(def.start_state)] = true;
    auto visit = [&](const std::vector<Transition>& ts) {
      for (const Transition& t : ts) {
        if (t.target >= 0 && !reached[static_cast<size_t>(t.target)]) {
          reached[static_cast<size_t>(t.target)] = true;
          todo.push_back(t.target);
        }
      }
    };
    while (!todo.empty()) {
      const StateDef& s = def.states[static_cast<size_t>(todo.back())];
      todo.pop_back();
      for (const auto& [event, ts] : s.on_event) visit(ts);
      for (const auto& [signal, ts] : s.on_signal) visit(ts);
      for (const auto& [after, ts] : s.on_timer) visit(ts);
    }
    for (size_t i = 0; i < def.states.size(); ++i) {
      const StateDef& s = def.states[i];
      if (!reached[i]) {
        diagnostics_.Warning(s.where, "state '" + s.name + "' is unreachable from the start state '" +
                                          def.states[static_cast<size_t>(def.start_state)].name + "'");
      }
      if (s.final) continue;
      bool way_out = false;
      auto leaves = [&](const std::vector<Transition>& ts) {
        for (const Transition& t : ts) way_out |= t.target >= 0 && t.target != static_cast<int>(i);
      };
      for (const auto& [event, ts] : s.on_event) leaves(ts);
      for (const auto& [signal, ts] : s.on_signal) leaves(ts);
      for (const auto& [after, ts] : s.on_timer) leaves(ts);
      if (!way_out) {
        diagnostics_.Warning(s.where, "state '" + s.name +
                                          "' is not final and has no way out: instances that "
                                          "reach it stay there forever");
      }
    }
  }

  const std::vector<const AstFile*>& files_;
  Catalog& out_;
  Diagnostics& diagnostics_;
  const uint32_t errors_at_start_;
  std::set<std::string> broken_events_;  // event types whose declaration a syntax error broke
  bool broken_source_ = false;
  bool broken_import_ = false;
};

}  // namespace

int EventDef::FieldIndex(std::string_view name) const {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int WorkflowDef::StateIndex(std::string_view state) const {
  for (size_t i = 0; i < states.size(); ++i) {
    if (states[i].name == state) return static_cast<int>(i);
  }
  return -1;
}

int WorkflowDef::VarIndex(std::string_view var) const {
  for (size_t i = 0; i < vars.size(); ++i) {
    if (vars[i].name == var) return static_cast<int>(i);
  }
  return -1;
}

int Catalog::EventId(std::string_view type) const {
  auto it = event_ids.find(type);
  return it == event_ids.end() ? -1 : it->second;
}

void Compile(const std::vector<const AstFile*>& files, Catalog& out, Diagnostics& diagnostics) {
  Compiler(files, out, diagnostics).Run();
}

}  // namespace takt::dsl
