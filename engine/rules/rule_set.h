// A set of business rules loaded from a directory of .lua files, each rule in a sandbox of its
// own. Each rule subscribes to event types, keys its durable state (by default the event's
// key), and decides: it returns commands and signals, and changes its state. A failed
// evaluation leaves the state as it was before.
#ifndef TAKT_ENGINE_RULES_RULE_SET_H_
#define TAKT_ENGINE_RULES_RULE_SET_H_

#include <memory>
#include <string>
#include <vector>

#include "dsl/catalog.h"
#include "engine/event/event.h"
#include "engine/rules/chunk_locals.h"
#include "engine/rules/event_filter.h"
#include "engine/rules/event_tables.h"
#include "engine/rules/lua_bridge.h"
#include "engine/rules/owed_entries.h"
#include "engine/rules/rule_windows.h"
#include "engine/rules/sandbox.h"
#include "engine/rules/seen_tables.h"
#include "engine/rules/snapshot_cache.h"
#include "takt/status.h"

namespace takt::rules {

struct LoadedRule {
  std::string name;
  std::string file;
  std::string version;  // content hash of the file, 16 hex digits
  std::string text;     // the file, as loaded (the store keeps every version that ran)
  std::vector<int> on;  // event type indexes
  EventFilter when;     // its `when`: what the engine checks before the rule's Lua runs
  RuleWindows windows;  // its `windows` and `skip`: what the engine does before or instead of it
  // The commands it may emit, from its `commands` field: names, or prefixes ending in '*'.
  std::vector<std::string> commands;
  // The rule's own Lua state: its memory, its copies of the libraries and of the stdlib, its
  // garbage. What one rule holds or breaks there cannot starve or change another.
  std::unique_ptr<Sandbox> sandbox;
  std::unique_ptr<EventTables> event_tables;  // what decide and key get events in
  std::unique_ptr<SnapshotCache> snapshots;   // its states as their last evaluations left them
  std::unique_ptr<OwedEntries> owed;          // what skipped events owe its states' windows
  int decide_ref = -1;   // references in the sandbox's registry
  int key_ref = -1;      // -1: the event's key
  int states_ref = -1;   // key -> state table
  int ctx_ref = -1;      // the ctx table handed to decide
  // A table with room for one item: during an evaluation of a state that existed before it,
  // the state's key, so that a failed evaluation (one broken off by a Lua error too) puts the
  // state back.
  int pending_ref = -1;
  ChunkLocals chunk_locals;  // frozen at load; compared after each evaluation
};

struct RuleDecision {
  enum class Kind : uint8_t { kCommand, kSignal };
  Kind kind = Kind::kCommand;
  std::string name;          // command name, or signal name
  std::string payload_json;  // kCommand
  std::string workflow;      // kSignal
  std::string target_key;    // kSignal by key
  std::string index_var;     // kSignal through an index; empty when by key
  dsl::Value index_value;
};

class RuleSet {
 public:
  // Loads every *.lua file of `dir` (sorted by name: the order rules run in for one event).
  // kParseError with "file:line: message" for a file that does not compile, and kRuleError for
  // one that is not a valid rule (naming the file and what is wrong); all errors are reported.
  static Result<std::unique_ptr<RuleSet>> Load(const std::string& dir, const dsl::Catalog& catalog,
                                               const SandboxLimits& limits);
  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  // Rules subscribed to event type `type_id`, in run order.
  const std::vector<const LoadedRule*>& RulesFor(int type_id) const {
    return by_type_[static_cast<size_t>(type_id)];
  }
  const std::vector<std::unique_ptr<LoadedRule>>& rules() const { return rules_; }

  // Copies the state of every rule into the rule of the same name in `next` (a set loaded from
  // newer files), so that a reload keeps what rules remember. Rules that `next` lacks lose it.
  // Fails with kLimitExceeded when a rule's sandbox in `next` has no room for it.
  Status TransferStateTo(RuleSet& next);

  // Runs `rule` on `event`. On success appends its decisions; on failure returns kRuleError or
  // kLimitExceeded with the message, appends nothing, and the rule's state is unchanged. With
  // `state_key`, a success also checks that the new state can be stored (a state that cannot
  // fails the evaluation) and writes the state's key there, encoded (state_codec.h), for
  // EncodeStateOf() at the end of the batch. An event the rule's `when` turns away is not
  // evaluated: success, no decisions, the state not looked at, `state_key` left as it was
  // (callers that keep track of evaluations or states ask `rule.when.Admits(event)` first). An
  // event the rule's `skip` skips only joins the rule's windows (rule_windows.h): success, no
  // decisions, and `state_key` written as for an evaluation.
  Status Evaluate(const LoadedRule& rule, const Event& event, InstanceLookup& lookup,
                  std::vector<RuleDecision>& decisions, std::string* state_key = nullptr);
  // Encodes the state of rule `rule` for key `state_key` (as Evaluate() gave it) into `out`.
  Status EncodeStateOf(std::string_view rule, std::string_view state_key, std::string& out);

  // Puts back a state the store kept: `key` and `state` as Evaluate() encoded them. A rule
  // this set does not have is skipped (false); kLimitExceeded when its sandbox has no room,
  // kCorruption when the bytes do not decode.
  Result<bool> RestoreState(std::string_view rule, std::string_view key, std::string_view state);
  // Forgets every rule's state (before restoring all of it from the store again).
  void ClearStates();

 private:
  RuleSet(const dsl::Catalog& catalog, const SandboxLimits& limits);
  // Gives `rule` its sandbox: the rule API, require and the stdlib modules.
  Status MakeSandbox(LoadedRule& rule);
  Status LoadRule(const std::string& path);
  Status Decisions(const LoadedRule& rule, int first, int last, std::vector<RuleDecision>& out);
  // Evaluate()'s work, run inside a protected call (EvaluateProtected in rule_set.cc) so that
  // an allocation the engine makes for the rule (the event, its state) fails as a
  // rule error when the sandbox is full, never as an abort.
  Status EvaluateInLua(const LoadedRule& rule, const Event& event,
                       std::vector<RuleDecision>& decisions, std::string* state_key);
  static int EvaluateProtected(lua_State* L);
  // The event joins the windows of the state at `state` (of key `key`, with no metatable; new
  // unless `existed`; owed `owed`, null for a new state) and decide is skipped, as
  // RuleWindows::Skips() said; without a snapshot. The entry waits in `owed` when it may.
  Status FeedOnly(const LoadedRule& rule, const Event& event, int key, int state, bool existed,
                  RuleWindows::Deferred* owed, std::string* state_key);
  // Feeds the windows in an evaluation, inside the rule's budget: a metamethod of its state's
  // may run there.
  static int FeedInBudget(lua_State* L);
  // Keeps the state's key (a stack index; 0: forgets it) where Evaluate() finds it after a
  // failure.
  static void SetPending(const LoadedRule& rule, int key);
  // After a failed evaluation of a state that existed before it: puts *before_ back as the
  // state of the pending key, fed *refeed_ again. kLimitExceeded when the sandbox has no room for it.
  Status PutBackState(const LoadedRule& rule);
  // Puts back the chunk-level locals the call changed (chunk_locals.h): when it succeeded and
  // one changed, fails it naming the local.
  static Status CheckChunkLocals(const LoadedRule& rule, Status called);
  const LoadedRule* Find(std::string_view name) const;

  const dsl::Catalog& catalog_;
  SandboxLimits limits_;
  InstanceLookup* lookup_ = nullptr;  // set during Evaluate(), read by ctx's functions
  // The state before the evaluation under way (state_snapshot.h): kept in the rule's
  // SnapshotCache, or taken into snapshot_; and what its windows were fed since the kept one
  // was taken (null with snapshot_).
  const std::string* before_ = nullptr;
  const std::vector<RuleWindows::Fed>* refeed_ = nullptr;
  std::string snapshot_;
  std::string after_;      // the state after it, as the check wrote it
  std::string key_bytes_;  // its key, as SnapshotCache keeps it
  SeenTables seen_;        // the tables the check met, kept for its room
  std::vector<std::unique_ptr<LoadedRule>> rules_;
  std::vector<std::vector<const LoadedRule*>> by_type_;
};

// The .lua modules rules may require ("takt.window" ...), built into the binary.
struct EmbeddedModule {
  const char* name;
  const char* text;
};
const std::vector<EmbeddedModule>& EmbeddedLuaModules();

}  // namespace takt::rules

#endif  // TAKT_ENGINE_RULES_RULE_SET_H_
