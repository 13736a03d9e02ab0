// Compiled definitions: what the engine runs. Names are resolved to indexes and expressions are
// typed, so that applying an event does no string lookups beyond the event type and key.
#ifndef TAKT_DSL_CATALOG_H_
#define TAKT_DSL_CATALOG_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/ast.h"
#include "dsl/source.h"
#include "dsl/value.h"

namespace takt::dsl {

struct FieldDef {
  std::string name;
  Type type = Type::kString;
  bool optional = false;  // may be missing or null
  bool has_range = false;
  int64_t min = 0;  // inclusive, when has_range
  int64_t max = 0;
};

struct EventDef {
  std::string type;  // order.released
  std::string owner;  // the only source that may publish it
  std::vector<FieldDef> fields;
  Location where;

  // Index of field `name`, or -1.
  int FieldIndex(std::string_view name) const;
};

// A typed expression. Event fields and variables are read by slot.
struct Expr {
  static constexpr int kKeySlot = -2;  // kName reading the instance key

  ExprOp op = ExprOp::kNull;
  Type type = Type::kNull;
  bool nullable = false;
  Value literal;  // literals
  int slot = -1;  // kEventField: field index; kName: variable index or kKeySlot
  std::vector<Expr> args;
};

struct EmitField {
  std::string name;
  Expr value;
};

struct Action {
  AstAction::Kind kind = AstAction::Kind::kSet;
  int var = -1;  // kSet
  Expr value;    // kSet
  std::string command;  // kEmit
  std::vector<EmitField> fields;  // kEmit
};

struct Transition {
  bool has_guard = false;
  Expr guard;
  int target = -1;  // state index; -1: stay where it is (no exit, no entry)
  std::vector<Action> actions;
  Location where;
  std::string label;  // "inspection.result when event.critical", for graphs
  int64_t after_ms = 0;  // a timer's duration
};

struct StateDef {
  std::string name;
  bool final = false;
  std::vector<Action> on_enter;  // final states only
  // Transitions by event type index, tried in order; the first whose guard holds fires.
  std::map<int, std::vector<Transition>> on_event;
  std::map<std::string, std::vector<Transition>, std::less<>> on_signal;
  // `after DURATION` transitions by duration in milliseconds: each duration is one timer, armed
  // when the instance enters the state and fired once, by event time, unless it leaves first.
  std::map<int64_t, std::vector<Transition>> on_timer;
  Location where;  // first declaration
};

struct VarDef {
  std::string name;
  Type type = Type::kString;
  Value initial;
};

struct WorkflowDef {
  std::string name;
  std::string key_name;  // what the key is: "order"
  std::vector<int> indexes;  // variables that rules may look instances up by
  std::vector<VarDef> vars;
  std::vector<StateDef> states;
  int start_state = -1;
  int start_event = -1;
  std::vector<Action> start_actions;
  std::vector<bool> handles;  // by event type index: does any transition or the start use it
  Location where;

  int StateIndex(std::string_view name) const;
  int VarIndex(std::string_view name) const;
};

struct Catalog {
  std::vector<EventDef> events;
  std::map<std::string, int, std::less<>> event_ids;
  std::vector<WorkflowDef> workflows;  // sorted by name

  // Index of event type `type`, or -1.
  int EventId(std::string_view type) const;
};

// Everything loaded from a set of paths: the files (which locations point into), what they
// compiled to, and what was found wrong with them. `catalog` is complete only when
// `diagnostics.errors() == 0`.
struct Definitions {
  std::vector<std::unique_ptr<SourceFile>> files;
  Catalog catalog;
  Diagnostics diagnostics;
};

}  // namespace takt::dsl

#endif  // TAKT_DSL_CATALOG_H_
