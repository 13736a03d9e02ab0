// The embedding API: open an engine on compiled definitions, submit events, receive the
// commands they cause after they are committed, deliver them. The takt command uses nothing
// else; include/takt/takt.h is the same API for C. See docs/embedding.md.
#ifndef TAKT_ENGINE_H_
#define TAKT_ENGINE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "takt/export.h"
#include "takt/status.h"

namespace takt {

// What became of one submitted event. Every event gets exactly one.
enum class Outcome : uint8_t {
  kApplied,             // accepted: it changed state, or was valid and had nothing to change
  kDuplicate,           // its id was seen before; ignored
  kOwnershipViolation,  // its source does not own its type (system of record); ignored
  kOutOfSequence,       // no transition from the instance's current state; ignored
  kMalformed,           // not JSON, a missing or mistyped field, an unknown type
  kHeld,                // from a `reorder` source, ahead of its sequence: kept until the
                        // missing ones arrive or a limit is reached, then applied (see
                        // SubmitResult::released)
};
// "applied", "duplicate", "ownership_violation", "out_of_sequence", "malformed", "held".
TAKT_API const char* OutcomeName(Outcome outcome);

// A command for another system, e.g. odoo.production.done {order, good, scrap}.
struct Command {
  // Deterministic: "<causing event id>/<emitter>/<n>", emitter "workflow:NAME" or "rule:NAME",
  // n counting that emitter's commands for that event from 0. A replay or a retry of the event
  // gives the same id, so a receiver can apply each command once.
  std::string id;
  std::string name;
  std::string payload_json;  // a JSON object: a workflow's fields in the order it emits them,
                             // a rule's sorted by name
  std::string caused_by;     // id of the event that caused it, or of the timer that fired:
                             // "timer:WORKFLOW/KEY/DURATION@DUE"
  std::string emitted_by;    // "workflow production_order" or "rule NAME@VERSION"
};

// A command waiting in the outbox for its delivery (Engine::PendingCommands).
struct PendingCommand {
  Command command;
  uint32_t attempts = 0;   // deliveries that failed so far
  std::string last_error;  // the last failure's message, as given to MarkFailed()
  // Where it is in its delivery: "pending" (not tried, or failed without a retry time),
  // "in_flight" (a delivery began and did not end: the process stopped meanwhile), "retry"
  // (failed; not before next_attempt_at_ms), or, among DeadLetters(), "dead".
  std::string status;
  // Commands with the same key are delivered in order: a workflow command has its instance's
  // key, a rule command the key of the event it decided on.
  std::string key;
  int64_t next_attempt_at_ms = 0;   // wall clock, ms since the epoch; 0: now
  int64_t first_attempt_at_ms = 0;  // when its first delivery began; 0: none yet
};

// An event given as fields instead of JSON text (Engine::Submit(const EventInput&)). The engine
// writes it as the JSON object it would have received, so both forms behave the same.
struct EventInput {
  std::string id;      // unique per message: a re-delivery with the same id is a duplicate
  std::string source;  // the system that sent it: must own the type
  std::string type;    // e.g. "order.started"
  std::string key;     // the instance key, e.g. the order
  int64_t seq = 0;     // per (source, key), from 1
  int64_t ts = 0;      // event time: milliseconds since the Unix epoch, UTC
  std::string data_json = "{}";  // a JSON object holding the type's fields
};

// A rule that failed on an event: it raised an error or broke a limit. The event and the other
// rules went on; the rule's state is as it was before the event.
struct RuleError {
  std::string rule;
  std::string version;  // content hash of the rule's file
  std::string message;
};

// A signal a rule sent to a workflow instance.
struct SignalRecord {
  std::string workflow;
  std::string key;         // the instance it reached; empty when none was found
  std::string name;
  bool delivered = false;  // it fired a transition
  std::string emitted_by;  // "rule NAME@VERSION"
};

// An event type of the loaded definitions and the source that owns it (system of record).
struct EventTypeInfo {
  std::string type;
  std::string owner;
};

// A loaded rule.
struct RuleInfo {
  std::string name;
  std::string file;
  std::string version;  // content hash of the file, 16 hex digits
};

struct SubmitResult {
  Outcome outcome = Outcome::kApplied;
  uint64_t position = 0;         // the event's place in the log: 1, 2, ... in submission order
  std::string event_id;          // empty when the event was too malformed to have one
  std::string reason;            // why it was rejected; empty when applied
  std::vector<Command> commands;  // in emission order
  std::vector<SignalRecord> signals;  // in the order rules sent them
  std::vector<RuleError> rule_errors;
  // Events held back earlier that this one let go (it filled their gap, or moved event time
  // past their wait): each applied now, in seq order, with its own outcome and commands.
  std::vector<SubmitResult> released;
};

enum class LogLevel : uint8_t { kDebug, kInfo, kWarn, kError };

// How hard a commit pushes data to disk (SQLite's synchronous setting, in WAL mode). See
// docs/operations.md for what each can lose.
enum class Durability : uint8_t {
  kFull,    // every commit is on disk before it is acknowledged (the WAL synced after it,
            // while the next commit is prepared: see docs/operations.md)
  kNormal,  // commits survive a process crash; the last ones may be lost on power loss
};

// Ordering policy `reorder` for one source (the default, `strict`, applies every event on
// arrival): an event whose seq is ahead of the next one expected for its (source, key) is held
// back until the missing ones arrive; at most `max_held` per (source, key) and for at most
// `max_wait_ms` of event time, after which the held events are applied in seq order and the gap
// is counted.
struct ReorderPolicy {
  std::string source;
  uint32_t max_held = 16;
  int64_t max_wait_ms = 60'000;
};

// How far an input has been consumed, committed with the events it accounts for (a file's
// lines, a broker's offset), so that a restart resumes exactly where the last commit ended.
// An input read by content (a file, standard input) also carries what identifies the consumed
// prefix, so that a resume can tell the same input from another one under the same name
// before it skips anything (takt::Simulation does this).
struct InputCursor {
  static constexpr size_t kLineCheckBytes = 8;  // per line in line_checks

  std::string name;
  uint64_t position = 0;  // lines (or messages) consumed, counted from 1
  uint64_t bytes = 0;     // bytes consumed: the first `position` lines with their newlines
  std::string sha256;     // of those bytes, 64 lowercase hex digits; empty: not recorded
  // 8 bytes per line, a check value of each line in order, to name the first line of another
  // input that differs. Given to SubmitBatch(): those of the lines since the previous commit
  // of this cursor, that is, lines position - size/8 + 1 to position (a cursor that starts
  // again at line 1 replaces every earlier one). Read back by Engine::Cursor(): all of them.
  std::string line_checks;
};

struct EngineStats {
  uint64_t events = 0;  // submitted; the sum of the six outcome counts below (a held event
                        // counts as held until it is released, then under its outcome)
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  uint64_t ownership_violations = 0;
  uint64_t out_of_sequence = 0;
  uint64_t malformed = 0;
  uint64_t held = 0;               // held back now, waiting for their turn
  uint64_t commands = 0;
  uint64_t rule_evaluations = 0;
  uint64_t rule_errors = 0;
  uint64_t rule_budget_breaks = 0;  // of rule_errors: a budget broken (instructions, time, memory)
  uint64_t signals_delivered = 0;  // signals from rules that fired a transition
  uint64_t signals_ignored = 0;    // signals with no instance, or no transition for them
  uint64_t rule_reloads = 0;         // rule sets swapped in after the first
  uint64_t rule_reload_failures = 0; // reloads refused: the old set stayed active
  uint64_t instances = 0;          // all there are (with a store: in the database)
  uint64_t active_instances = 0;   // not in a final state
  // Held in memory. Without a store, all of them. With one, the active ones and any final one
  // read back since the last batch: final instances are kept in the database only, and read
  // from it when an event, a rule or GetInstance() asks for one.
  uint64_t instances_in_memory = 0;
  uint64_t sequence_gaps = 0;      // well-formed events whose seq skipped ahead for (source, key)
  uint64_t late_events = 0;        // well-formed events whose seq was not above the last one
  uint64_t batches = 0;            // transactions committed (with a store)
  // Syncs of the WAL since Open(), with Durability::kFull: one at open, then one per commit or
  // fewer, when commits from several threads are synced together.
  uint64_t syncs = 0;
  uint64_t timers_fired = 0;       // `after DURATION` timers that came due
};
// With a store, the outcome counts and `commands` cover the whole database; the rule and signal
// counts cover the time since Open().

// One workflow instance as seen from outside. The views are valid during the callback only.
struct InstanceSummary {
  std::string_view workflow;
  std::string_view key;
  std::string_view state;
  bool final = false;
  // Event time (ms) since which it is overdue: a timer of its current state fired a
  // transition that kept it there (`after 4h { emit ... }`, an SLA). None once it moves on.
  std::optional<int64_t> overdue_since;
};

struct InstanceInfo {
  std::string workflow;
  std::string key;
  std::string state;
  bool final = false;
  std::string lifecycle;       // "active" or "completed"
  std::string version;         // content hash of the workflow version it runs on
  std::string variables_json;  // a JSON object of the instance variables
  std::optional<int64_t> overdue_since;  // as in InstanceSummary
};

struct EngineOptions {
  // .takt files, or directories whose *.takt files are all loaded, compiled at Open().
  std::vector<std::string> workflow_paths = {"workflows"};
  // Overrides the stdlib built into the binary (`import "plant"`); empty: built in only.
  std::string stdlib_dir;
  // Directory of Lua business rules (*.lua, run in file name order); empty: no rules.
  std::string rules_dir;
  // Limits of one rule evaluation. Memory is each rule's sandbox's: its code, state, garbage.
  int64_t rule_max_instructions = 1'000'000;
  size_t rule_max_memory_bytes = 64u << 20;
  int64_t rule_timeout_ms = 100;
  // Watch rules_dir (inotify) and reload the rules when a file changes: the new set is loaded
  // and tested on a thread of the engine's, and swapped in before the next event. on_log hears
  // how each reload went, from that thread.
  bool watch_rules = false;
  // SQLite database holding every accepted event, instance, rule state, command and decision;
  // created when missing, resumed when it exists. Empty: state lives in memory only.
  std::string store_path;
  Durability durability = Durability::kFull;
  // Largest size the database may grow to (0: no limit but the disk's). A batch that would
  // pass it fails like one on a full disk: nothing of it is accepted, and the engine goes on.
  uint64_t store_max_bytes = 0;
  // With a store: the most instances memory holds (0: every open one). After a commit that
  // leaves more, the least recently changed are forgotten down to nine tenths of it, and read
  // back from the database when an event, a signal, a rule, a due timer or GetInstance() needs
  // one; the results are the same as with every instance in memory. Without a store every
  // instance stays in memory.
  uint64_t max_instances_in_memory = 0;
  // Sources whose events are put back in seq order (see ReorderPolicy).
  std::vector<ReorderPolicy> reorder;
  // Ordering policy `monotonic` for these sources: an event whose seq is not above the last
  // accepted seq of its (source, key) is rejected as out of sequence ("stale: seq 2 after 3"),
  // so that a late update never overwrites a newer one. A source is in at most one of `reorder`
  // and `monotonic`; the others are strict (seq decides nothing).
  std::vector<std::string> monotonic;
  // Limits on one event's text: over either it is malformed, its reason giving the size or
  // depth, and only its first bytes are logged (docs/operations.md, Limits on input).
  size_t max_event_bytes = 1u << 20;
  uint32_t max_json_depth = 64;  // objects and arrays within one another, the event's own included
  // Receives what the engine has to say; takt never prints on its own. May be empty.
  std::function<void(LogLevel, std::string_view)> on_log;
  // Called once for each command after what caused it is committed (without a store: applied;
  // with kFull: on disk; with kNormal: written, not synced, so a power loss may still take it
  // back: deliver from PendingCommands(), which waits for the sync), in emission order, before
  // the submitters concerned return. Calls come from one thread at a time, one of the
  // submitting threads. It may query the engine and mark commands delivered, but not submit
  // (that fails with kInvalidArgument). May be empty.
  std::function<void(const Command&)> on_command;
};

// Applies events to workflow instances and runs business rules on them.
//
// Threads: every method may be called from any thread. Events are applied one at a time, by
// one writer, in the order their submissions arrive; a submission's own events stay in their
// order, so events of one key submitted from one thread are applied in that order. With a
// store, submissions that arrive while a commit is under way are committed together in the
// next transaction (group commit), and each returns after that commit with its own results.
// With Durability::kFull the next group is applied while the last one's commit is synced, so a
// read (GetInstance(), stats()) may show a commit whose sync is still under way; PendingCommands
// and the submitters' results wait for it. on_log and on_command are called one at a time.
class TAKT_API Engine {
 public:
  // Fails with kParseError (all diagnostics, formatted) when a definition or a rule does not
  // compile, kRuleError when a rule file is not a valid rule, and kNotFound when a path does
  // not exist.
  static Result<std::unique_ptr<Engine>> Open(EngineOptions options);

  Engine() = default;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  virtual ~Engine() = default;

  // Applies one event, a JSON object in the format of the plant workload: id, source, type,
  // key, seq, ts, data. Workflow timers (`after DURATION`) due at or before the event's ts fire
  // first, once the event is known to be well-formed, new and from its type's owner: event time
  // is the engine's clock, and their commands come first in the result. An accepted event then
  // goes to the rules subscribed to its type, in order; their commands follow the workflow's,
  // and their signals are delivered at once. `result` is overwritten (its buffers are reused, so
  // a caller that keeps one SubmitResult allocates little per event). Rejections are outcomes,
  // not errors: the returned Status is reserved for failures of the engine itself.
  // With a store, Submit() is a batch of one, or joins the next group commit when other
  // threads are submitting too; it returns after that commit.
  virtual Status Submit(std::string_view event_json, SubmitResult& result) = 0;
  Result<SubmitResult> Submit(std::string_view event_json);
  // The same for an event given as fields.
  Status Submit(const EventInput& event, SubmitResult& result);

  // Applies `events` in order as one unit: with a store, in one transaction, committed before
  // this returns (group commit), together with `cursor` when given. `results` gets one entry
  // per event. Nothing is acknowledged before the commit: when it fails (the disk is full, an
  // I/O error), the engine goes back to its last committed state, `results` is cleared, and the
  // Status says why; submitting the same events again later is safe.
  virtual Status SubmitBatch(const std::vector<std::string_view>& events,
                             std::vector<SubmitResult>& results,
                             const InputCursor* cursor = nullptr) = 0;
  // Fires every workflow timer (`after DURATION`) due at or before `now_ms` with no event
  // needed: how a server moves timers on the wall clock (takt serve calls it every second).
  // With a store, in one transaction committed before this returns, its commands in the outbox
  // and handed to on_command; a timer that fired is spent in that commit, so across restarts it
  // fires once (one due while the process was down fires at the first call). `result` gets the
  // commands, caused by "timer:...", with the last event's position and no event id. Timers due
  // by an event's ts still fire before that event, as without this call.
  virtual Status AdvanceClock(int64_t now_ms, SubmitResult& result) = 0;
  // The committed position of cursor `name`; 0 when it was never set or there is no store.
  virtual Result<uint64_t> CursorPosition(std::string_view name) = 0;
  // The committed cursor `name` whole, with the check value of every line it consumed;
  // position 0 when it was never set or there is no store. A cursor committed by an earlier
  // takt (database schema 5 or older) has a position but no sha256.
  virtual Result<InputCursor> Cursor(std::string_view name) = 0;
  // Is state kept in a database?
  virtual bool durable() const = 0;
  // Every command in the outbox, in emission order (with a store only: kInvalidArgument
  // without one, where the caller keeps what Submit() returned). A read like GetInstance():
  // with kFull it may list commands whose commit is still being synced. To deliver, use
  // PendingCommands(), which waits for the sync.
  virtual Status ForEachCommand(const std::function<void(const Command&)>& visit) = 0;

  // Delivering commands from the outbox (with a store only; kInvalidArgument without one).
  // The first `max` commands not yet delivered nor given up on, in emission order: those of a
  // failed delivery stay first in line, so a receiver gets one connector's commands in order.
  // With either durability it returns once the commits that made them are on disk (with
  // kNormal this syncs the WAL when something was committed since the last call), so no power
  // loss can take back the state a delivered command came from.
  virtual Result<std::vector<PendingCommand>> PendingCommands(size_t max) = 0;
  // The command reached its receiver; it is not offered again. Marking it twice is fine.
  // Between delivery and this mark a crash makes the command be offered again: receivers
  // apply each command id once (Command::id is deterministic).
  virtual Status MarkDelivered(std::string_view command_id) = 0;
  // A delivery failed: the attempt and `error` are recorded, and the command stays pending, or
  // with `give_up` becomes a dead letter, kept in the outbox and never offered again.
  // kNotFound for an unknown id, kInvalidArgument for a command that is not pending.
  virtual Status MarkFailed(std::string_view command_id, std::string_view error,
                            bool give_up) = 0;
  // A delivery of the command begins (`now_ms`: wall clock, ms since the epoch): in_flight
  // until it is marked delivered or failed. The first one starts the command's age.
  virtual Status MarkInFlight(std::string_view command_id, int64_t now_ms) = 0;
  // A delivery failed and is to be tried again, not before `retry_at_ms`: status retry.
  virtual Status MarkRetry(std::string_view command_id, std::string_view error,
                           int64_t retry_at_ms) = 0;
  // The dead letters, in emission order (at most `max`); one put back for a new round of
  // deliveries (pending again, its age starting anew); one dropped for good (kept as
  // "dropped"). kInvalidArgument for a command that is not dead.
  virtual Result<std::vector<PendingCommand>> DeadLetters(size_t max) = 0;
  virtual Status ReviveDead(std::string_view command_id) = 0;
  virtual Status DropDead(std::string_view command_id) = 0;

  // Calls `visit` for every instance, ordered by workflow name, then key. The engine is held
  // meanwhile: `visit` must not call it.
  virtual void ForEachInstance(const std::function<void(const InstanceSummary&)>& visit) const = 0;
  // Fails with kNotFound when `workflow` has no instance `key`.
  virtual Result<InstanceInfo> GetInstance(std::string_view workflow,
                                           std::string_view key) const = 0;
  virtual EngineStats stats() const = 0;
  // Names of the compiled workflows, sorted.
  virtual std::vector<std::string> workflows() const = 0;
  // The declared event types with their owners, in declaration order.
  virtual std::vector<EventTypeInfo> event_types() const = 0;
  // The loaded rules, in the order they run.
  virtual std::vector<RuleInfo> rules() const = 0;
  // Loads rules_dir into a new rule set, each rule in a fresh sandbox, runs the test vectors
  // beside it (rules_dir/tests, see docs/rules.md) on those same files, and only when both
  // succeed swaps it in, carrying the state of every rule over to the rule of the same name.
  // Otherwise the active set stays and the Status says why: kParseError or kRuleError with
  // file:line and Lua's message, kRuleError listing the failing vectors, or kRuleError when a
  // rule file changed while the vectors ran. Also fails with kInvalidArgument when the engine
  // was opened without rules. A reload waits for the batch under way and applies from the next.
  virtual Status ReloadRules() = 0;
  // Passes `message` to the on_log of the options (nothing happens when there is none), so that
  // what runs on top of the engine logs where the embedder wants it.
  virtual void Log(LogLevel level, std::string_view message) const = 0;

  // Waits for the batch under way, stops watching the rules, and with a store folds the
  // write-ahead log back into the database file and closes it. Afterwards submitting (also a
  // submission still waiting for its turn), reloading and the outbox calls fail with
  // kInvalidArgument; the instances and stats can still be read.
  // The destructor closes an engine that was not closed. Closing twice is fine.
  virtual Status Close() = 0;
};

}  // namespace takt

#endif  // TAKT_ENGINE_H_
