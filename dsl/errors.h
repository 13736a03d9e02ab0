// One message per commit point of the grammar. must_if requires a message for every rule
// that can raise, so a commit point added to grammar.h without one here fails to compile.
#ifndef TAKT_DSL_ERRORS_H_
#define TAKT_DSL_ERRORS_H_

#include <string>

#include "dsl/grammar.h"

namespace takt::dsl {

namespace g = grammar;

template <typename Rule>
inline constexpr const char* kError = nullptr;

// Rules that cannot fail still need an entry because they sit behind a must<>.
template <> inline constexpr auto kError<g::ws> = "expected white space";
template <> inline constexpr auto kError<g::separator> = "expected white space or ';'";
template <> inline constexpr auto kError<g::string_body> = "expected the text of a string";
template <> inline constexpr auto kError<g::string_close> =
    "unterminated string: expected '\"' before the end of the line";

template <> inline constexpr auto kError<g::expression> = "expected an expression";
template <> inline constexpr auto kError<g::paren_close> = "expected ')' to close '('";
template <> inline constexpr auto kError<g::unary_operand> = "expected an operand after '-' or 'not'";
template <> inline constexpr auto kError<g::mul_operand> = "expected an operand after '*', '/' or '%'";
template <> inline constexpr auto kError<g::add_operand> = "expected an operand after '+' or '-'";
template <> inline constexpr auto kError<g::cmp_operand> = "expected an operand after the comparison";
template <> inline constexpr auto kError<g::and_operand> = "expected an operand after 'and'";
template <> inline constexpr auto kError<g::or_operand> = "expected an operand after 'or'";

template <> inline constexpr auto kError<g::set_target> = "expected a variable name after 'set'";
template <> inline constexpr auto kError<g::set_equals> = "expected '=' after the variable name";
template <> inline constexpr auto kError<g::set_value> = "expected an expression after '='";
template <> inline constexpr auto kError<g::command_name> =
    "expected a command name after 'emit' (for example odoo.production.done)";
template <> inline constexpr auto kError<g::emit_payload> = "expected the command's fields";
template <> inline constexpr auto kError<g::emit_field_list> = "expected 'name: expression'";
template <> inline constexpr auto kError<g::emit_field_colon> = "expected ':' after the field name";
template <> inline constexpr auto kError<g::emit_field_value> = "expected an expression after ':'";
template <> inline constexpr auto kError<g::emit_fields_close> =
    "expected ',' or '}' after a command field";

template <> inline constexpr auto kError<g::signal_name> = "expected a signal name after 'signal'";
template <> inline constexpr auto kError<g::trigger> =
    "expected an event type or 'signal NAME' after 'on'";
template <> inline constexpr auto kError<g::guard> = "expected a condition after 'when'";
template <> inline constexpr auto kError<g::transition_guard> = "expected 'when CONDITION'";
template <> inline constexpr auto kError<g::target_state> = "expected a target state after '->'";
template <> inline constexpr auto kError<g::transition_target> = "expected '-> STATE'";
template <> inline constexpr auto kError<g::transition_actions> = "expected '{ actions }'";
template <> inline constexpr auto kError<g::action_list> = "expected 'set' or 'emit'";
template <> inline constexpr auto kError<g::actions_close> = "expected 'set', 'emit' or '}'";
template <> inline constexpr auto kError<g::duration> =
    "expected a duration after 'after': a number and a unit, ms, s, m, h or d (for example 8h)";
template <> inline constexpr auto kError<g::block_items> = "expected 'on', 'after', 'set' or 'emit'";
template <> inline constexpr auto kError<g::block_close> =
    "expected 'on EVENT', 'after DURATION', 'set', 'emit' or '}' in a state block";
template <> inline constexpr auto kError<g::state_body> = "expected '{' to open the state block";
template <> inline constexpr auto kError<g::final_body> = "expected '{' or the next declaration";
template <> inline constexpr auto kError<g::state_list> =
    "expected a state name (or several, separated by ',')";

template <> inline constexpr auto kError<g::start_state> = "expected a state name after 'start'";
template <> inline constexpr auto kError<g::start_on> =
    "expected 'on EVENT' after the start state (start STATE on EVENT)";
template <> inline constexpr auto kError<g::start_event> = "expected an event type after 'on'";
template <> inline constexpr auto kError<g::start_actions> = "expected '{ actions }'";

template <> inline constexpr auto kError<g::type_name> =
    "expected a type: string, int, float or bool";
template <> inline constexpr auto kError<g::range_min> = "expected an integer after 'in'";
template <> inline constexpr auto kError<g::range_dots> = "expected '..' in the range (in 1..4)";
template <> inline constexpr auto kError<g::range_max> = "expected an integer after '..'";
template <> inline constexpr auto kError<g::var_name> = "expected a variable name after 'var'";
template <> inline constexpr auto kError<g::var_colon> =
    "expected ':' and a type after the variable name (var good: int = 0)";
template <> inline constexpr auto kError<g::var_init> = "expected '= VALUE'";
template <> inline constexpr auto kError<g::var_default> = "expected a value after '='";
template <> inline constexpr auto kError<g::key_name> = "expected a name after 'key'";
template <> inline constexpr auto kError<g::index_name> = "expected a variable name after 'index'";

template <> inline constexpr auto kError<g::workflow_name> = "expected a workflow name";
template <> inline constexpr auto kError<g::workflow_open> = "expected '{' after the workflow name";
template <> inline constexpr auto kError<g::workflow_items> = "expected a workflow item";
template <> inline constexpr auto kError<g::workflow_close> =
    "expected 'key', 'index', 'var', 'start', 'state', 'final' or '}' in a workflow";

template <> inline constexpr auto kError<g::field_colon> = "expected ':' after the field name";
template <> inline constexpr auto kError<g::field_optional> = "expected '?'";
template <> inline constexpr auto kError<g::field_range> = "expected 'in MIN..MAX'";
template <> inline constexpr auto kError<g::field_list> = "expected 'name: type'";
template <> inline constexpr auto kError<g::event_name> =
    "expected an event type after 'event' (for example order.released)";
template <> inline constexpr auto kError<g::event_open> = "expected '{' after the event type";
template <> inline constexpr auto kError<g::event_close> =
    "expected ',' or '}' after a field (fields look like 'name: type')";

template <> inline constexpr auto kError<g::source_name> = "expected a source name after 'source'";
template <> inline constexpr auto kError<g::source_owns> =
    "expected 'owns' after the source name (source odoo owns order.released)";
template <> inline constexpr auto kError<g::owned_events> =
    "expected the event types this source owns after 'owns'";
template <> inline constexpr auto kError<g::owned_event> = "expected an event type after ','";
template <> inline constexpr auto kError<g::import_path> =
    "expected a quoted name after 'import' (import \"plant\")";
template <> inline constexpr auto kError<g::declaration> =
    "expected 'import', 'source', 'event' or 'workflow'";

// Only must<> raises; a rule with a message may still fail quietly inside a sor<>.
struct ErrorMessages {
  template <typename Rule>
  static constexpr bool raise_on_failure = false;
  template <typename Rule>
  static constexpr auto message = kError<Rule>;
};

template <typename Rule>
using MessageControl = tao::pegtl::must_if<ErrorMessages>::control<Rule>;

// How deep parentheses and unary operators may nest in an expression. Parsing, reading and
// compiling an expression recurse once per level, so without a bound a file of nested
// parentheses would overflow the stack instead of being refused.
constexpr int kMaxExpressionNesting = 256;
// The nesting of the parse under way on this thread; ParseFile() sets it to 0 before each.
inline thread_local int expression_nesting = 0;

template <typename Rule>
struct Control : MessageControl<Rule> {};

// The rules that nest: each counts a level while it is matched. (A parenthesis is counted
// through the expression inside it: PEGTL calls no control for an if_must<> such as `paren`.)
template <typename Rule>
struct NestingControl : MessageControl<Rule> {
  template <typename Input, typename... States>
  static void start(const Input& in, States&&... st) {
    if (++expression_nesting > kMaxExpressionNesting) {
      throw tao::pegtl::parse_error("expression nested deeper than " +
                                        std::to_string(kMaxExpressionNesting) + " levels",
                                    in);
    }
    MessageControl<Rule>::start(in, st...);
  }
  template <typename Input, typename... States>
  static void success(const Input& in, States&&... st) {
    --expression_nesting;
    MessageControl<Rule>::success(in, st...);
  }
  template <typename Input, typename... States>
  static void failure(const Input& in, States&&... st) {
    --expression_nesting;
    MessageControl<Rule>::failure(in, st...);
  }
};
template <>
struct Control<g::expression> : NestingControl<g::expression> {};
template <>
struct Control<g::unary_operand> : NestingControl<g::unary_operand> {};

}  // namespace takt::dsl

#endif  // TAKT_DSL_ERRORS_H_
