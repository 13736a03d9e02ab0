// The grammar of .takt files: PEGTL rules only. Every commit point (a must<>) is its own
// named rule, so that errors.h can give each one a message. See docs/dsl.md for the language.
#ifndef TAKT_DSL_GRAMMAR_H_
#define TAKT_DSL_GRAMMAR_H_

#include <tao/pegtl.hpp>

namespace takt::dsl::grammar {

namespace p = tao::pegtl;

// Blanks, newlines and `#` comments.
struct comment : p::seq<p::one<'#'>, p::until<p::eolf>> {};
struct ws : p::star<p::sor<p::space, comment>> {};

template <typename Key>
struct keyword : p::seq<Key, p::not_at<p::identifier_other>> {};

struct str_import : TAO_PEGTL_STRING("import") {};
struct str_source : TAO_PEGTL_STRING("source") {};
struct str_owns : TAO_PEGTL_STRING("owns") {};
struct str_event : TAO_PEGTL_STRING("event") {};
struct str_workflow : TAO_PEGTL_STRING("workflow") {};
struct str_key : TAO_PEGTL_STRING("key") {};
struct str_index : TAO_PEGTL_STRING("index") {};
struct str_var : TAO_PEGTL_STRING("var") {};
struct str_start : TAO_PEGTL_STRING("start") {};
struct str_state : TAO_PEGTL_STRING("state") {};
struct str_final : TAO_PEGTL_STRING("final") {};
struct str_on : TAO_PEGTL_STRING("on") {};
struct str_signal : TAO_PEGTL_STRING("signal") {};
struct str_when : TAO_PEGTL_STRING("when") {};
struct str_after : TAO_PEGTL_STRING("after") {};
struct str_set : TAO_PEGTL_STRING("set") {};
struct str_emit : TAO_PEGTL_STRING("emit") {};
struct str_in : TAO_PEGTL_STRING("in") {};
struct str_and : TAO_PEGTL_STRING("and") {};
struct str_or : TAO_PEGTL_STRING("or") {};
struct str_not : TAO_PEGTL_STRING("not") {};
struct str_true : TAO_PEGTL_STRING("true") {};
struct str_false : TAO_PEGTL_STRING("false") {};
struct str_null : TAO_PEGTL_STRING("null") {};

struct kw_import : keyword<str_import> {};
struct kw_source : keyword<str_source> {};
struct kw_owns : keyword<str_owns> {};
struct kw_event : keyword<str_event> {};
struct kw_workflow : keyword<str_workflow> {};
struct kw_key : keyword<str_key> {};
struct kw_index : keyword<str_index> {};
struct kw_var : keyword<str_var> {};
struct kw_start : keyword<str_start> {};
struct kw_state : keyword<str_state> {};
struct kw_final : keyword<str_final> {};
struct kw_on : keyword<str_on> {};
struct kw_signal : keyword<str_signal> {};
struct kw_when : keyword<str_when> {};
struct kw_after : keyword<str_after> {};
struct kw_set : keyword<str_set> {};
struct kw_emit : keyword<str_emit> {};
struct kw_in : keyword<str_in> {};
struct kw_and : keyword<str_and> {};
struct kw_or : keyword<str_or> {};
struct kw_not : keyword<str_not> {};
struct kw_true : keyword<str_true> {};
struct kw_false : keyword<str_false> {};
struct kw_null : keyword<str_null> {};

// Words that cannot name a variable inside an expression.
struct reserved : p::sor<kw_and, kw_or, kw_not, kw_true, kw_false, kw_null, kw_when, kw_on> {};

struct identifier : p::identifier {};
struct dotted_name : p::list<p::identifier, p::one<'.'>> {};  // order.started

// "text" with \" \\ \n \t escapes, on one line.
struct escaped : p::seq<p::one<'\\'>, p::one<'"', '\\', 'n', 't'>> {};
struct string_char : p::sor<escaped, p::not_one<'"', '\\', '\n', '\r'>> {};
struct string_body : p::star<string_char> {};
struct string_close : p::one<'"'> {};
struct string_lit : p::if_must<p::one<'"'>, string_body, string_close> {};

struct digits : p::plus<p::digit> {};
struct float_lit : p::seq<digits, p::one<'.'>, digits> {};
struct int_lit : digits {};
struct signed_int : p::seq<p::opt<p::one<'-'>>, digits> {};

// ---- expressions, loosest binding first ----
struct expression;
struct true_lit : kw_true {};
struct false_lit : kw_false {};
struct null_lit : kw_null {};
struct event_field_name : p::identifier {};
struct event_ref : p::seq<TAO_PEGTL_STRING("event"), p::one<'.'>, event_field_name> {};
struct var_ref : p::seq<p::not_at<reserved>, p::identifier> {};
struct paren_close : p::one<')'> {};
struct paren : p::if_must<p::one<'('>, ws, expression, ws, paren_close> {};
struct primary
    : p::sor<string_lit, float_lit, int_lit, true_lit, false_lit, null_lit, event_ref, var_ref,
             paren> {};
struct operand : primary {};  // the commit point after an operator

struct neg_op : p::seq<p::one<'-'>, p::not_at<p::one<'>'>>> {};
struct not_op : kw_not {};
struct unary_operand;
struct unary : p::sor<p::if_must<neg_op, ws, unary_operand>, p::if_must<not_op, ws, unary_operand>,
                      primary> {};
struct unary_operand : unary {};

struct mul_op : p::one<'*', '/', '%'> {};
struct mul_operand : unary {};
struct mul_expr : p::seq<unary, p::star<ws, p::if_must<mul_op, ws, mul_operand>>> {};
struct add_op : p::sor<p::one<'+'>, p::seq<p::one<'-'>, p::not_at<p::one<'>'>>>> {};
struct add_operand : mul_expr {};
struct add_expr : p::seq<mul_expr, p::star<ws, p::if_must<add_op, ws, add_operand>>> {};
struct cmp_op : p::sor<TAO_PEGTL_STRING("=="), TAO_PEGTL_STRING("!="), TAO_PEGTL_STRING("<="),
                       TAO_PEGTL_STRING(">="), p::one<'<'>, p::seq<p::one<'>'>>> {};
struct cmp_operand : add_expr {};
struct cmp_expr : p::seq<add_expr, p::opt<ws, p::if_must<cmp_op, ws, cmp_operand>>> {};
struct and_op : kw_and {};
struct and_operand : cmp_expr {};
struct and_expr : p::seq<cmp_expr, p::star<ws, p::if_must<and_op, ws, and_operand>>> {};
struct or_op : kw_or {};
struct or_operand : and_expr {};
struct or_expr : p::seq<and_expr, p::star<ws, p::if_must<or_op, ws, or_operand>>> {};
struct expression : or_expr {};

// ---- actions ----
struct set_target : p::identifier {};
struct set_equals : p::one<'='> {};
struct set_value : expression {};
struct set_action : p::if_must<kw_set, ws, set_target, ws, set_equals, ws, set_value> {};

struct command_name : dotted_name {};
struct emit_field_colon : p::one<':'> {};
struct emit_field_value : expression {};
struct emit_field : p::if_must<identifier, ws, emit_field_colon, ws, emit_field_value> {};
struct emit_fields_close : p::one<'}'> {};
struct emit_field_list : p::opt<p::list<emit_field, p::seq<ws, p::one<','>, ws>>> {};
struct emit_fields : p::if_must<p::one<'{'>, ws, emit_field_list, ws, emit_fields_close> {};
struct emit_payload : p::opt<ws, emit_fields> {};
struct emit_action : p::if_must<kw_emit, ws, command_name, emit_payload> {};

struct action : p::sor<set_action, emit_action> {};
struct separator : p::seq<ws, p::opt<p::one<';'>>, ws> {};

// ---- transitions and state blocks ----
struct signal_name : p::identifier {};
struct signal_trigger : p::if_must<kw_signal, ws, signal_name> {};
struct event_trigger : dotted_name {};
struct trigger : p::sor<signal_trigger, event_trigger> {};
struct guard : expression {};
struct arrow : TAO_PEGTL_STRING("->") {};
struct target_state : p::identifier {};
struct block_close : p::one<'}'> {};
struct actions_close : p::one<'}'> {};
struct action_list : p::star<action, separator> {};
struct transition_body : p::if_must<p::one<'{'>, separator, action_list, actions_close> {};
struct transition_guard : p::opt<ws, p::if_must<kw_when, ws, guard>> {};
struct transition_target : p::opt<ws, p::if_must<arrow, ws, target_state>> {};
struct transition_actions : p::opt<ws, transition_body> {};
struct transition
    : p::if_must<kw_on, ws, trigger, transition_guard, transition_target, transition_actions> {};
// `after 8h -> executing { ... }`: fires when the instance has been in the state that long.
struct duration_unit : p::sor<TAO_PEGTL_STRING("ms"), p::one<'s', 'm', 'h', 'd'>> {};
struct duration : p::seq<p::plus<p::digit>, duration_unit, p::not_at<p::identifier_other>> {};
struct timer_transition
    : p::if_must<kw_after, ws, duration, transition_guard, transition_target, transition_actions> {};
struct block_item : p::sor<transition, timer_transition, action> {};
struct block_items : p::star<block_item, separator> {};
struct state_body : p::if_must<p::one<'{'>, separator, block_items, block_close> {};

struct state_name : p::identifier {};
struct state_list : p::list<state_name, p::seq<ws, p::one<','>, ws>> {};
struct state_block : p::if_must<kw_state, ws, state_list, ws, state_body> {};
struct final_body : p::opt<ws, state_body> {};
struct final_block : p::if_must<kw_final, ws, state_list, final_body> {};

struct start_state : p::identifier {};
struct start_on : kw_on {};
struct start_event : dotted_name {};
struct start_actions : p::opt<ws, transition_body> {};
struct start_decl
    : p::if_must<kw_start, ws, start_state, ws, start_on, ws, start_event, start_actions> {};

struct type_name : p::sor<keyword<TAO_PEGTL_STRING("string")>, keyword<TAO_PEGTL_STRING("int")>,
                          keyword<TAO_PEGTL_STRING("float")>, keyword<TAO_PEGTL_STRING("bool")>> {};
struct optional_mark : p::one<'?'> {};
struct range_dots : TAO_PEGTL_STRING("..") {};
struct range_min : signed_int {};
struct range_max : signed_int {};
struct int_range : p::if_must<kw_in, ws, range_min, ws, range_dots, ws, range_max> {};

struct var_name : p::identifier {};
struct var_colon : p::one<':'> {};
struct var_default : expression {};
struct var_init : p::opt<ws, p::if_must<p::one<'='>, ws, var_default>> {};
struct var_decl : p::if_must<kw_var, ws, var_name, ws, var_colon, ws, type_name, var_init> {};
struct key_name : p::identifier {};
struct key_decl : p::if_must<kw_key, ws, key_name> {};
struct index_name : p::identifier {};
struct index_decl : p::if_must<kw_index, ws, index_name> {};

struct workflow_item : p::sor<key_decl, index_decl, var_decl, start_decl, state_block, final_block> {};
struct workflow_name : p::identifier {};
struct workflow_close : p::one<'}'> {};
struct workflow_open : p::one<'{'> {};
struct workflow_items : p::star<workflow_item, ws> {};
struct workflow_decl : p::if_must<kw_workflow, ws, workflow_name, ws, workflow_open, ws,
                                  workflow_items, workflow_close> {};

// ---- declarations shared by workflows: sources, events, imports ----
struct field_name : p::identifier {};
struct field_colon : p::one<':'> {};
struct field_optional : p::opt<optional_mark> {};
struct field_range : p::opt<ws, int_range> {};
struct field_decl
    : p::if_must<field_name, ws, field_colon, ws, type_name, field_optional, field_range> {};
struct event_close : p::one<'}'> {};
struct event_open : p::one<'{'> {};
struct event_name : dotted_name {};
struct field_list : p::opt<p::list<field_decl, p::seq<ws, p::one<','>, ws>>> {};
struct event_decl
    : p::if_must<kw_event, ws, event_name, ws, event_open, ws, field_list, ws, event_close> {};

struct source_name : p::identifier {};
// A top-level keyword ends the list, so that a forgotten type does not swallow the next line.
struct top_keyword : p::sor<kw_import, kw_source, kw_event, kw_workflow> {};
struct owned_event : p::seq<p::not_at<top_keyword>, dotted_name> {};
struct source_owns : kw_owns {};
struct owned_events : p::list_must<owned_event, p::seq<ws, p::one<','>, ws>> {};
struct source_decl : p::if_must<kw_source, ws, source_name, ws, source_owns, ws, owned_events> {};

struct import_path : string_lit {};
struct import_decl : p::if_must<kw_import, ws, import_path> {};

// One top-level declaration, or the end of the file. The parser calls this repeatedly, so a
// syntax error loses only the declaration it is in.
struct declaration : p::sor<import_decl, source_decl, event_decl, workflow_decl> {};
struct end_of_file : p::eof {};
struct top_item : p::seq<ws, p::sor<end_of_file, p::must<declaration>>> {};

}  // namespace takt::dsl::grammar

#endif  // TAKT_DSL_GRAMMAR_H_
