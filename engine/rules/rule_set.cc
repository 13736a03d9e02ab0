// Loading and running rules. Each rule file runs in a sandbox of its own (its own Lua state,
// memory budget and copies of the libraries), so no rule can reach another's state, starve it
// of memory or change what it sees.
#include "engine/rules/rule_set.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <lauxlib.h>
#include <lua.h>
#include <sstream>

#include "dsl/source.h"
#include "engine/event/command_names.h"
#include "engine/rules/native_window.h"
#include "engine/rules/seen_tables.h"
#include "engine/rules/state_codec.h"
#include "engine/rules/state_snapshot.h"

namespace takt::rules {
namespace {

namespace fs = std::filesystem;

// The string field `name` of the table on the stack top, read raw; empty when absent.
std::string RawString(lua_State* L, const char* name) {
  lua_pushstring(L, name);
  lua_rawget(L, -2);
  size_t size = 0;
  const char* text = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &size) : nullptr;
  std::string value = text != nullptr ? std::string(text, size) : std::string();
  lua_pop(L, 1);
  return value;
}

// The decision at `index`, from the fields command() or signal() checked when it was made.
RuleDecision TakeDecision(lua_State* L, int index) {
  RuleDecision d;
  PushDecisionFields(L, index);
  d.name = RawString(L, "name");
  if (RawString(L, "kind") == "command") {
    d.kind = RuleDecision::Kind::kCommand;
    d.payload_json = RawString(L, "data");
  } else {
    d.kind = RuleDecision::Kind::kSignal;
    d.workflow = RawString(L, "workflow");
    d.target_key = RawString(L, "target");
    d.index_var = RawString(L, "index_var");
    if (!d.index_var.empty()) {
      lua_pushliteral(L, "index_value");
      lua_rawget(L, -2);
      (void)ToValue(L, -1, d.index_value);  // a scalar: signal() checked it
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  return d;
}

constexpr int kMaxDecisions = 64;

// Does one of the rule's `commands` patterns (command_names.h) select `command`?
bool Declares(const LoadedRule& rule, std::string_view command) {
  for (std::string_view pattern : rule.commands) {
    if (MatchesCommandPattern(pattern, command)) return true;
  }
  return false;
}

// require "takt.window": the built-in modules only, loaded once per sandbox.
int Require(lua_State* L) {
  const char* name = luaL_checkstring(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, "takt.modules");
  lua_getfield(L, -1, name);
  if (lua_isnil(L, -1)) {
    return luaL_error(L, "module '%s' not found: rules may require only the takt stdlib "
                         "(takt.window, takt.debounce, takt.hysteresis, takt.latch, takt.rate, "
                         "takt.alarm, takt.stats, takt.baseline, takt.cusum, takt.shewhart)",
                      name);
  }
  return 1;
}

// Pushes onto `to` a copy of the value at `index` of `from` (tables, strings, numbers,
// booleans). `seen` (a table on `to`) maps source tables, by address, to their copies.
void CopyAcross(lua_State* from, int index, lua_State* to, int seen) {
  index = lua_absindex(from, index);
  switch (lua_type(from, index)) {
    case LUA_TSTRING: {
      size_t len = 0;
      const char* s = lua_tolstring(from, index, &len);
      lua_pushlstring(to, s, len);
      return;
    }
    case LUA_TNUMBER:
      if (lua_isinteger(from, index) != 0) {
        lua_pushinteger(to, lua_tointeger(from, index));
      } else {
        lua_pushnumber(to, lua_tonumber(from, index));
      }
      return;
    case LUA_TBOOLEAN: lua_pushboolean(to, lua_toboolean(from, index)); return;
    case LUA_TTABLE: break;
    default: lua_pushnil(to); return;  // state holds only the above (TakeSnapshot)
  }
  lua_pushlightuserdata(to, const_cast<void*>(lua_topointer(from, index)));
  if (lua_rawget(to, seen) == LUA_TTABLE) return;
  lua_pop(to, 1);
  luaL_checkstack(from, 4, "moving rule state");
  luaL_checkstack(to, 6, "moving rule state");
  lua_newtable(to);
  lua_pushlightuserdata(to, const_cast<void*>(lua_topointer(from, index)));
  lua_pushvalue(to, -2);
  lua_rawset(to, seen);
  lua_pushnil(from);
  while (lua_next(from, index) != 0) {
    CopyAcross(from, -2, to, seen);
    CopyAcross(from, -1, to, seen);
    lua_rawset(to, -3);
    lua_pop(from, 1);
  }
}

std::string ReadFile(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  ok = static_cast<bool>(in) || in.eof();
  return s.str();
}

}  // namespace

RuleSet::RuleSet(const dsl::Catalog& catalog, const SandboxLimits& limits)
    : catalog_(catalog), limits_(limits), by_type_(catalog.events.size()) {}

RuleSet::~RuleSet() = default;

Result<std::unique_ptr<RuleSet>> RuleSet::Load(const std::string& dir, const dsl::Catalog& catalog,
                                               const SandboxLimits& limits) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::NotFound("rules directory " + dir + " not found");
  std::unique_ptr<RuleSet> set(new RuleSet(catalog, limits));
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".lua") {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  std::string errors;
  Code code = Code::kOk;
  for (const std::string& file : files) {
    Status s = set->LoadRule(file);
    if (s.ok()) continue;
    errors += (errors.empty() ? "" : "\n") + s.message();
    if (code == Code::kOk) code = s.code();
  }
  if (code == Code::kParseError) return Status::ParseError(errors);
  if (code != Code::kOk) return Status::RuleError(errors);
  for (const auto& rule : set->rules_) {
    for (int type : rule->on) set->by_type_[static_cast<size_t>(type)].push_back(rule.get());
  }
  return set;
}

Status RuleSet::MakeSandbox(LoadedRule& rule) {
  rule.sandbox = std::make_unique<Sandbox>(limits_);
  Sandbox* sandbox = rule.sandbox.get();
  lua_State* L = sandbox->state();
  rule.ctx_ref = InstallRuleApi(*sandbox, &lookup_);
  rule.event_tables = std::make_unique<EventTables>(L, catalog_.events);
  // As many bytes as its sandbox may hold: the snapshots are of states that fit there.
  rule.snapshots = std::make_unique<SnapshotCache>(limits_.max_memory_bytes);
  rule.owed = std::make_unique<OwedEntries>();
  lua_createtable(L, 1, 0);
  rule.pending_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushcfunction(L, Require);
  sandbox->AddGlobal("require");
  lua_newtable(L);
  PushNativeWindow(L);  // what takt.window keeps its entries with
  lua_setfield(L, -2, "takt.window.native");
  lua_setfield(L, LUA_REGISTRYINDEX, "takt.modules");
  // Modules may require the window module, so it loads first; the rest in name order.
  std::vector<EmbeddedModule> modules = EmbeddedLuaModules();
  std::stable_partition(modules.begin(), modules.end(), [](const EmbeddedModule& m) {
    return std::string_view(m.name) == "window";
  });
  for (const EmbeddedModule& module : modules) {
    const std::string name = std::string("takt.") + module.name;
    Status s = sandbox->LoadChunk("<stdlib>/takt/" + std::string(module.name) + ".lua", module.text);
    if (!s.ok()) return s;  // a broken stdlib is a build error; tests load every module
    if (lua_istable(L, -1)) sandbox->MakeReadOnly();
    lua_getfield(L, LUA_REGISTRYINDEX, "takt.modules");
    lua_insert(L, -2);
    lua_setfield(L, -2, name.c_str());
    lua_pop(L, 1);
  }
  return Status();
}

Status RuleSet::LoadRule(const std::string& path) {
  bool read_ok = false;
  const std::string text = ReadFile(path, read_ok);
  if (!read_ok) return Status::NotFound(path + ": cannot read the file");
  auto rule = std::make_unique<LoadedRule>();
  TAKT_RETURN_IF_ERROR(MakeSandbox(*rule));
  Sandbox* sandbox = rule->sandbox.get();
  lua_State* L = sandbox->state();
  const int top = lua_gettop(L);
  // The chunk is named by its file name, which Lua keeps whole in messages (it shortens long
  // paths); messages that start with it are given the full path back.
  const std::string file_name = fs::path(path).filename().string();
  Status s = sandbox->LoadChunk(file_name, text);
  if (!s.ok()) {
    const bool located = s.message().compare(0, file_name.size() + 1, file_name + ":") == 0;
    std::string message = located ? path + s.message().substr(file_name.size())
                                  : path + ": " + s.message();
    return s.code() == Code::kParseError ? Status::ParseError(message) : Status::RuleError(message);
  }
  auto fail = [&](const std::string& what) {
    lua_settop(L, top);
    return Status::RuleError(path + ": " + what);
  };
  // The spec is read raw: outside the sandbox's protected call, a metamethod of the rule's
  // (an __index that loops or raises) must not run.
  const auto field = [L](const char* name) {
    lua_pushstring(L, name);
    return lua_rawget(L, -2);
  };
  if (!lua_istable(L, -1) || field("name") != LUA_TSTRING) {
    return fail("the file must end with 'return rule \"NAME\" { on = ..., decide = ... }'");
  }
  rule->name = lua_tostring(L, -1);
  rule->file = path;
  rule->version = dsl::ContentHash(text);
  rule->text = text;
  lua_pop(L, 1);
  for (const auto& other : rules_) {
    if (other->name == rule->name) {
      return fail("rule '" + rule->name + "' is already defined in " + other->file);
    }
  }
  const std::string what = "rule '" + rule->name + "'";
  // on = "alarm" or on = {"alarm", "maintenance.done"}
  std::vector<std::string> types;
  const int on_type = field("on");
  if (on_type == LUA_TSTRING) {
    types.emplace_back(lua_tostring(L, -1));
  } else if (on_type == LUA_TTABLE) {
    for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TSTRING; ++i) {
      types.emplace_back(lua_tostring(L, -1));
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (types.empty()) return fail(what + ": 'on' must name an event type, or a list of them");
  for (const std::string& type : types) {
    const int id = catalog_.EventId(type);
    if (id < 0) return fail(what + ": 'on' names unknown event type '" + type + "'");
    rule->on.push_back(id);
  }
  // when = { severity = { ">=", 3 } }
  if (field("when") != LUA_TNIL) {
    const std::string wrong = rule->when.Read(L, -1, catalog_, rule->on);
    if (!wrong.empty()) return fail(what + ": " + wrong);
  }
  lua_pop(L, 1);
  // windows = { alarms = { on = "alarm", width = 600000 } }, skip = { alarm = "open" }
  field("windows");
  lua_pushvalue(L, -2);
  field("skip");
  lua_remove(L, -2);  // the spec, its windows, its skip
  {
    const std::string wrong = rule->windows.Read(L, -2, -1, catalog_, rule->on);
    if (!wrong.empty()) return fail(what + ": " + wrong);
  }
  lua_pop(L, 2);
  // commands = "odoo.maintenance.create" or {"odoo.maintenance.create", "alert.*"}
  const auto bad_commands = [&] {
    return fail(what + ": 'commands' must name the commands the rule may emit, or list them "
                       "(names of letters, digits, '_', '-' and '.'; a final '*' matches any "
                       "ending)");
  };
  // Takes the pattern on the stack top (a NUL in it is not a character a name may have).
  const auto take_pattern = [&] {
    size_t size = 0;
    const char* pattern = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &size) : nullptr;
    if (pattern == nullptr || !IsCommandPattern(std::string_view(pattern, size))) return false;
    rule->commands.emplace_back(pattern, size);
    return true;
  };
  const int commands_type = field("commands");
  if (commands_type == LUA_TSTRING) {
    if (!take_pattern()) return bad_commands();
  } else if (commands_type == LUA_TTABLE) {
    for (lua_Integer i = 1; lua_rawgeti(L, -1, i) != LUA_TNIL; ++i) {
      if (!take_pattern()) return bad_commands();
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  } else if (commands_type != LUA_TNIL) {
    return bad_commands();
  }
  lua_pop(L, 1);
  if (field("decide") != LUA_TFUNCTION) {
    return fail(what + ": 'decide' must be a function(event, state, ctx)");
  }
  rule->decide_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  const int key_type = field("key");
  if (key_type == LUA_TFUNCTION) {
    rule->key_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  } else if (key_type != LUA_TNIL) {
    return fail(what + ": 'key' must be a function(event) returning the state's key");
  } else {
    lua_pop(L, 1);
  }
  lua_newtable(L);
  rule->states_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, top);
  Status frozen =
      FreezeChunkLocals(*sandbox, {rule->decide_ref, rule->key_ref}, rule->chunk_locals);
  if (!frozen.ok()) return fail(what + ": " + frozen.message());
  rules_.push_back(std::move(rule));
  return Status();
}

namespace {

// Adds to the state at `state` what it is owed (owed_entries.h). They are the entries of events
// the rule took, each of which would have joined the window when it came: the sandbox's memory
// limit, which did not refuse them then, does not refuse them now. Lua errors (out of memory)
// propagate, leaving the state and `owed` as they were.
void Settle(const LoadedRule& rule, int state, RuleWindows::Deferred& owed) {
  if (owed.fed.empty()) return;
  struct Lifted {
    Sandbox& sandbox;
    ~Lifted() { sandbox.set_memory_limit_lifted(false); }
  } lifted{*rule.sandbox};
  lifted.sandbox.set_memory_limit_lifted(true);
  rule.windows.Settle(rule.sandbox->state(), state, owed);
}

// In a protected call: settles every state that the rule (argument 1) owes anything.
int SettleAllProtected(lua_State* L) {
  const auto* rule = static_cast<const LoadedRule*>(lua_touserdata(L, 1));
  lua_rawgeti(L, LUA_REGISTRYINDEX, rule->states_ref);
  const int states = lua_gettop(L);
  rule->owed->ForEachOwed([&](const std::string& key, RuleWindows::Deferred& owed) {
    SnapshotCache::PushKey(L, key);
    if (lua_rawget(L, states) == LUA_TTABLE) Settle(*rule, lua_gettop(L), owed);
    lua_settop(L, states);
  });
  return 0;
}

Status SettleAll(const LoadedRule& rule) {
  lua_State* L = rule.sandbox->state();
  lua_pushcfunction(L, SettleAllProtected);  // neither allocates
  lua_pushlightuserdata(L, const_cast<LoadedRule*>(&rule));
  if (lua_pcall(L, 1, 0, 0) == LUA_OK) return Status();
  std::string message = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "error";
  lua_pop(L, 1);
  return Status::LimitExceeded("rule " + rule.name + ": adding skipped events to its windows: " +
                               message);
}

struct Transfer {
  lua_State* from;
  int from_ref;
  int to_ref;
};

// Runs inside a protected call on the receiving state, so that running out of memory there is
// an error, not a crash.
int TransferStates(lua_State* to) {
  const auto* t = static_cast<const Transfer*>(lua_touserdata(to, 1));
  lua_newtable(to);  // seen
  const int seen = lua_gettop(to);
  const int from_top = lua_gettop(t->from);
  lua_rawgeti(t->from, LUA_REGISTRYINDEX, t->from_ref);
  CopyAcross(t->from, -1, to, seen);
  lua_settop(t->from, from_top);
  lua_rawseti(to, LUA_REGISTRYINDEX, t->to_ref);
  return 0;
}

}  // namespace

namespace {

struct Restore {
  const LoadedRule* rule;
  std::string_view key;
  std::string_view state;
  std::string error;
  std::string key_bytes;
};

// Inside a protected call, like TransferStates.
int RestoreOne(lua_State* L) {
  auto* r = static_cast<Restore*>(lua_touserdata(L, 1));
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->rule->states_ref);
  if (!DecodeState(L, r->key, r->error)) return 0;
  SnapshotCache::KeyOf(L, -1, r->key_bytes);
  r->rule->owed->Forget(r->key_bytes);  // the stored state replaces all of it
  if (!DecodeState(L, r->state, r->error)) return 0;
  lua_rawset(L, -3);
  return 0;
}

}  // namespace

const LoadedRule* RuleSet::Find(std::string_view name) const {
  for (const auto& rule : rules_) {
    if (rule->name == name) return rule.get();
  }
  return nullptr;
}

Result<bool> RuleSet::RestoreState(std::string_view rule, std::string_view key,
                                   std::string_view state) {
  const LoadedRule* target = Find(rule);
  if (target == nullptr) return false;
  target->snapshots->Clear();
  lua_State* L = target->sandbox->state();
  Restore restore{target, key, state, {}, {}};
  lua_pushcfunction(L, RestoreOne);
  lua_pushlightuserdata(L, &restore);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    std::string message = lua_tostring(L, -1) != nullptr ? lua_tostring(L, -1) : "error";
    lua_pop(L, 1);
    return Status::LimitExceeded("restoring the state of rule " + std::string(rule) + ": " + message);
  }
  if (!restore.error.empty()) {
    return Status::Corruption("the stored state of rule " + std::string(rule) + ": " + restore.error);
  }
  return true;
}

namespace {

struct EncodeFrame {
  const LoadedRule* rule;
  std::string_view key;
  std::string* out;
  std::string error;
  std::string key_bytes;
  bool key_decoded = false;
};

// Inside a protected call, like RestoreOne: decoding the key allocates, and encoding grows
// the Lua stack; either may fail for want of memory, which must be an error, not an abort.
// The state is settled first: what it is owed is part of it.
int EncodeOne(lua_State* L) {
  auto* e = static_cast<EncodeFrame*>(lua_touserdata(L, 1));
  lua_rawgeti(L, LUA_REGISTRYINDEX, e->rule->states_ref);
  if (!DecodeState(L, e->key, e->error)) return 0;
  e->key_decoded = true;
  SnapshotCache::KeyOf(L, -1, e->key_bytes);
  lua_rawget(L, -2);
  RuleWindows::Deferred* owed = e->rule->owed->Find(e->key_bytes);
  if (owed != nullptr && lua_istable(L, -1)) Settle(*e->rule, lua_gettop(L), *owed);
  if (!EncodeState(L, -1, *e->out, e->error)) return 0;
  e->error.clear();
  return 0;
}

}  // namespace

Status RuleSet::EncodeStateOf(std::string_view rule, std::string_view state_key,
                              std::string& out) {
  const LoadedRule* target = Find(rule);
  if (target == nullptr) return Status::NotFound("no rule " + std::string(rule));
  lua_State* L = target->sandbox->state();
  const int top = lua_gettop(L);
  out.clear();
  EncodeFrame frame{target, state_key, &out, {}, {}};
  lua_pushcfunction(L, EncodeOne);  // neither allocates
  lua_pushlightuserdata(L, &frame);
  const int rc = lua_pcall(L, 1, 0, 0);
  std::string message;
  if (rc != LUA_OK) message = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "error";
  lua_settop(L, top);
  if (rc != LUA_OK) {
    return Status::LimitExceeded("rule " + std::string(rule) + " state: " + message);
  }
  if (!frame.key_decoded) {
    return Status::Corruption("rule " + std::string(rule) + " state key: " + frame.error);
  }
  if (!frame.error.empty()) {
    return Status::RuleError("rule " + std::string(rule) + " state: " + frame.error);
  }
  return Status();
}

void RuleSet::ClearStates() {
  for (const auto& rule : rules_) {
    rule->snapshots->Clear();
    rule->owed->Clear();
    lua_State* L = rule->sandbox->state();
    lua_newtable(L);
    lua_rawseti(L, LUA_REGISTRYINDEX, rule->states_ref);
  }
}

Status RuleSet::TransferStateTo(RuleSet& next) {
  for (const auto& rule : rules_) {
    for (const auto& successor : next.rules_) {
      if (successor->name != rule->name) continue;
      TAKT_RETURN_IF_ERROR(SettleAll(*rule));
      lua_State* to = successor->sandbox->state();
      Transfer transfer{rule->sandbox->state(), rule->states_ref, successor->states_ref};
      lua_pushcfunction(to, TransferStates);
      lua_pushlightuserdata(to, &transfer);
      if (lua_pcall(to, 1, 0, 0) != LUA_OK) {
        std::string message = lua_tostring(to, -1) != nullptr ? lua_tostring(to, -1) : "error";
        lua_pop(to, 1);
        return Status::LimitExceeded("moving the state of rule " + rule->name + ": " + message);
      }
    }
  }
  return Status();
}

namespace {

struct EvaluationFrame {
  RuleSet* set;
  const LoadedRule* rule;
  const Event* event;
  std::vector<RuleDecision>* decisions;
  std::string* state_key;
  Status status;
};

}  // namespace

int RuleSet::EvaluateProtected(lua_State* L) {
  auto* frame = static_cast<EvaluationFrame*>(lua_touserdata(L, 1));
  lua_settop(L, 0);
  frame->status =
      frame->set->EvaluateInLua(*frame->rule, *frame->event, *frame->decisions, frame->state_key);
  return 0;
}

Status RuleSet::Evaluate(const LoadedRule& rule, const Event& event, InstanceLookup& lookup,
                         std::vector<RuleDecision>& decisions, std::string* state_key) {
  if (!rule.when.Admits(event)) return Status();
  lua_State* L = rule.sandbox->state();
  const int top = lua_gettop(L);
  lookup_ = &lookup;
  const size_t before = decisions.size();
  EvaluationFrame frame{this, &rule, &event, &decisions, state_key, Status()};
  lua_pushcfunction(L, &RuleSet::EvaluateProtected);  // neither allocates
  lua_pushlightuserdata(L, &frame);
  const int rc = lua_pcall(L, 1, 0, 0);
  lookup_ = nullptr;
  if (rc == LUA_OK && frame.status.ok()) {
    lua_settop(L, top);
    return frame.status;
  }
  // The evaluation failed: by its status, or broken off by a Lua error in the engine's own
  // work for the rule (out of memory, most likely, with the sandbox full). Its decisions go, and
  // the state goes back to the snapshot taken before it.
  const std::string message =
      rc != LUA_OK && lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "error";
  lua_settop(L, top);
  decisions.resize(before);
  const Status put_back = PutBackState(rule);
  Status failed = frame.status;
  if (rc != LUA_OK) {
    lua_gc(L, LUA_GCCOLLECT);  // give back what the failed evaluation allocated
    failed = rc == LUA_ERRMEM
                 ? Status::LimitExceeded("memory limit exceeded (" +
                                         std::to_string(limits_.max_memory_bytes >> 20) +
                                         " MiB) while the engine passed the event to the rule "
                                         "or kept its state")
                 : Status::RuleError(message);
  }
  if (!put_back.ok()) return Status::LimitExceeded(failed.message() + "; " + put_back.message());
  return failed;
}

namespace {

struct PutBackFrame {
  const std::string* snapshot;
  const std::vector<RuleWindows::Fed>* refeed;  // fed to the snapshot since; may be null
  const RuleWindows* windows;
  int states_ref;
};

// In a protected call, with the key on the stack: states[key] = the snapshot, rebuilt, with
// what the engine fed its windows since.
int PutBackProtected(lua_State* L) {
  const auto* frame = static_cast<const PutBackFrame*>(lua_touserdata(L, 1));
  lua_rawgeti(L, LUA_REGISTRYINDEX, frame->states_ref);
  lua_pushvalue(L, 2);
  PushSnapshot(L, *frame->snapshot);
  if (frame->refeed != nullptr) {
    const int state = lua_gettop(L);
    for (const RuleWindows::Fed& fed : *frame->refeed) frame->windows->Refeed(L, state, fed);
  }
  lua_rawset(L, -3);
  return 0;
}

}  // namespace

Status RuleSet::PutBackState(const LoadedRule& rule) {
  lua_State* L = rule.sandbox->state();
  const int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, rule.pending_ref);
  if (lua_rawgeti(L, -1, 1) == LUA_TNIL) {  // no state before the evaluation: none now either
    lua_settop(L, top);
    return Status();
  }
  const int key = lua_gettop(L);
  // First the changed state goes (removing an existing key allocates nothing).
  lua_rawgeti(L, LUA_REGISTRYINDEX, rule.states_ref);
  lua_pushvalue(L, key);
  lua_pushnil(L);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  PutBackFrame frame{before_, refeed_, &rule.windows, rule.states_ref};
  // The state was within the sandbox's limit before the evaluation, and the changed one is
  // gone: putting it back may not fail for want of room the garbage still holds.
  rule.sandbox->set_memory_limit_lifted(true);
  lua_pushcfunction(L, PutBackProtected);  // neither allocates
  lua_pushlightuserdata(L, &frame);
  lua_pushvalue(L, key);
  const int rc = lua_pcall(L, 2, 0, 0);
  rule.sandbox->set_memory_limit_lifted(false);
  SetPending(rule, 0);
  lua_settop(L, top);
  if (rc == LUA_OK) return Status();
  rule.snapshots->Clear();  // the key's state is gone, and its snapshot must go too
  return Status::LimitExceeded("the rule's state for its key could not be put back as it was "
                               "before the evaluation (out of memory): that state is now empty");
}

Status RuleSet::CheckChunkLocals(const LoadedRule& rule, Status called) {
  const std::string changed = RestoreChunkLocals(rule.sandbox->state(), rule.chunk_locals);
  if (changed.empty() || !called.ok()) return called;
  return Status::RuleError("the chunk-level local '" + changed + "' was changed; what lasts from "
                           "one event to the next belongs in the state table (a local is not "
                           "saved, so after a restart the rule would decide differently)");
}

void RuleSet::SetPending(const LoadedRule& rule, int key) {
  lua_State* L = rule.sandbox->state();
  lua_rawgeti(L, LUA_REGISTRYINDEX, rule.pending_ref);
  if (key == 0) {
    lua_pushnil(L);
  } else {
    lua_pushvalue(L, key);
  }
  lua_rawseti(L, -2, 1);  // the table has room for it: nothing is allocated
  lua_pop(L, 1);
}

Status RuleSet::EvaluateInLua(const LoadedRule& rule, const Event& event,
                              std::vector<RuleDecision>& decisions, std::string* state_key) {
  Sandbox& sandbox = *rule.sandbox;
  lua_State* L = sandbox.state();
  const int top = lua_gettop(L);
  const dsl::EventDef& def = catalog_.events[static_cast<size_t>(event.type_id)];

  // The state's key: key(event), or the event's key.
  if (rule.key_ref >= 0) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, rule.key_ref);
    rule.event_tables->Push(L, event, def);
    Status called = sandbox.Call(1);
    TAKT_RETURN_IF_ERROR(CheckChunkLocals(rule, called));
    if (lua_gettop(L) == top || (lua_type(L, top + 1) != LUA_TSTRING &&
                                 lua_type(L, top + 1) != LUA_TNUMBER)) {
      return Status::RuleError("key() must return a string or a number");
    }
    // NaN cannot index a table (raising outside any protected call), and infinities cannot be
    // kept: a state key is a string or a finite number.
    if (lua_type(L, top + 1) == LUA_TNUMBER && !lua_isinteger(L, top + 1) &&
        !std::isfinite(lua_tonumber(L, top + 1))) {
      return Status::RuleError("key() must return a string or a finite number, not " +
                               std::string(std::isnan(lua_tonumber(L, top + 1)) ? "NaN" : "an infinity"));
    }
    lua_settop(L, top + 1);
  } else {
    lua_pushlstring(L, event.key.data(), event.key.size());
  }
  const int key = top + 1;

  // The state, and a snapshot of it to put back if the evaluation fails.
  lua_rawgeti(L, LUA_REGISTRYINDEX, rule.states_ref);
  const int states = top + 2;
  lua_pushvalue(L, key);
  const bool existed = lua_rawget(L, states) == LUA_TTABLE;
  if (!existed) {
    lua_pop(L, 1);
    lua_newtable(L);
  }
  const int state = top + 3;
  std::string error;
  SnapshotCache::KeyOf(L, key, key_bytes_);
  // The rule's windows and skip (rule_windows.h). Without a metatable on the state no code of
  // the rule's runs in feeding its windows, and an event skipped before it joins them, with one
  // window to join, is fed without a snapshot (FeedOnly()), or owed (owed_entries.h).
  using Verdict = RuleWindows::Verdict;
  RuleWindows::Deferred* owed =
      existed && rule.windows.Any() ? &rule.owed->Of(key_bytes_) : nullptr;
  const bool feeds = rule.windows.Concerns(event.type_id);
  const bool plain = feeds && RuleWindows::FeedsWithoutRuleCode(L, state);
  Verdict verdict = feeds ? rule.windows.Skips(L, state, event, false, owed) : Verdict::kRun;
  if (verdict == Verdict::kSkip && plain && rule.windows.WindowsOf(event.type_id) <= 1) {
    return FeedOnly(rule, event, key, state, existed, owed, state_key);
  }
  if (owed != nullptr) Settle(rule, state, *owed);  // before anything else reads the state
  if (existed) {
    if (const SnapshotCache::Kept* kept = rule.snapshots->Find(key_bytes_)) {
      before_ = &kept->snapshot;
      refeed_ = &kept->fed;
    } else {
      if (!TakeSnapshot(L, state, snapshot_, error)) return Status::RuleError(error);
      before_ = &snapshot_;
      refeed_ = nullptr;
    }
    // Where Evaluate() finds the key when what follows fails, or is broken off by a Lua error.
    SetPending(rule, key);
  }

  if (plain) {  // the event joins the state's windows before decide sees it
    rule.windows.Feed(L, state, event);
  } else if (feeds) {  // ... where a metamethod of the state's may run: in the rule's budget
    lua_pushlightuserdata(L, const_cast<RuleWindows*>(&rule.windows));
    lua_pushlightuserdata(L, const_cast<Event*>(&event));
    lua_pushcclosure(L, &RuleSet::FeedInBudget, 2);
    lua_pushvalue(L, state);
    TAKT_RETURN_IF_ERROR(CheckChunkLocals(rule, sandbox.Call(1)));
  }
  if (verdict == Verdict::kAfterFeed) verdict = rule.windows.Skips(L, state, event, true, nullptr);
  const size_t before = decisions.size();
  Status called, extracted;
  if (verdict != Verdict::kSkip) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, rule.decide_ref);
    rule.event_tables->Push(L, event, def);
    lua_pushvalue(L, state);
    lua_rawgeti(L, LUA_REGISTRYINDEX, rule.ctx_ref);
    const int base = lua_gettop(L) - 3;
    called = CheckChunkLocals(rule, sandbox.Call(3));
    extracted = called.ok() ? Decisions(rule, base, lua_gettop(L), decisions) : Status();
  }
  // With a store or without: a state that could not be kept (or walked again) fails the
  // evaluation here, not the next one or the commit.
  if (called.ok() && extracted.ok()) {
    // The check writes the snapshot the next evaluation of the key starts from.
    if (!TakeSnapshot(L, state, after_, error, seen_) ||
        (state_key != nullptr && (state_key->clear(), !EncodeState(L, key, *state_key, error)))) {
      decisions.resize(before);
      extracted = Status::RuleError(error);
    }
  }
  if (!called.ok()) return called;  // Evaluate() puts the state back
  if (!extracted.ok()) return extracted;
  rule.event_tables->NoteKept(L, seen_);  // seen_: the state's tables
  lua_pushvalue(L, key);
  lua_pushvalue(L, state);
  lua_rawset(L, states);
  SetPending(rule, 0);
  rule.snapshots->Keep(key_bytes_, after_);
  return Status();
}

int RuleSet::FeedInBudget(lua_State* L) {
  const auto* windows = static_cast<const RuleWindows*>(lua_touserdata(L, lua_upvalueindex(1)));
  const auto* event = static_cast<const Event*>(lua_touserdata(L, lua_upvalueindex(2)));
  windows->Feed(L, 1, *event);
  return 0;
}

Status RuleSet::FeedOnly(const LoadedRule& rule, const Event& event, int key, int state,
                         bool existed, RuleWindows::Deferred* owed, std::string* state_key) {
  lua_State* L = rule.sandbox->state();
  // takt.window's add finds what could stop it, and makes what the window will hold, before it
  // changes anything: an error (out of the sandbox's memory too) leaves the state as it was, so
  // no snapshot is taken to put it back. The one kept, with this feed noted beside it, is still
  // what the state is: a failed evaluation of the key feeds the snapshot again. The state has no
  // metatable (no code of the rule's runs), so this is the engine's work, outside the rule's
  // instruction budget. Most skipped events' entries wait (RuleWindows::Deferred) and join the
  // window together, in one string of its newest entries instead of one string each.
  if (rule.windows.WindowsOf(event.type_id) > 0) {
    SnapshotCache::FeedGuard noted =
        rule.snapshots->NoteFed(key_bytes_, rule.windows.FedOf(event));
    using Owing = RuleWindows::Owing;
    const Owing owing =
        owed != nullptr ? rule.windows.Defer(L, state, event, *owed) : Owing::kNow;
    if (owing == Owing::kNow ||
        (owing == Owing::kJoins && !rule.windows.JoinWithOwed(L, state, event, *owed))) {
      if (owed != nullptr) Settle(rule, state, *owed);
      rule.windows.Feed(L, state, event);
    }
    noted.Fed();
  }
  if (!existed) {  // a new state: the windows made in it are its first content
    lua_rawgeti(L, LUA_REGISTRYINDEX, rule.states_ref);
    lua_pushvalue(L, key);
    lua_pushvalue(L, state);
    lua_rawset(L, -3);
    lua_pop(L, 1);
  }
  if (state_key == nullptr) return Status();
  std::string error;
  state_key->clear();
  if (!EncodeState(L, key, *state_key, error)) return Status::RuleError(error);
  return Status();
}

Status RuleSet::Decisions(const LoadedRule& rule, int first, int last,
                          std::vector<RuleDecision>& out) {
  // After the rule's budgeted call: nothing here may run rule code, so only raw reads of what
  // decide returned, and of the fields command() and signal() set.
  lua_State* L = rule.sandbox->state();
  const size_t start = out.size();
  auto fail = [&](std::string message) {
    out.resize(start);
    return Status::RuleError(std::move(message));
  };
  auto too_many = [&] {
    return fail("decide returned more than " + std::to_string(kMaxDecisions) + " decisions");
  };
  auto not_a_decision = [&](int index) {
    return fail(std::string("decide returned a ") + luaL_typename(L, index) +
                "; it returns command(...), signal(...), a list of them, or nothing");
  };
  // Takes the decision at `index`; a command the rule does not declare, or a signal to a
  // workflow the definitions do not have (a typo would otherwise go nowhere, every time),
  // fails the evaluation.
  auto take = [&](int index) {
    out.push_back(TakeDecision(L, index));
    const RuleDecision& d = out.back();
    if (d.kind == RuleDecision::Kind::kSignal) {
      std::string known;
      for (const dsl::WorkflowDef& wf : catalog_.workflows) {
        if (wf.name == d.workflow) return Status();
        known += (known.empty() ? "" : ", ") + wf.name;
      }
      return fail("signal '" + d.name + "' to workflow '" + d.workflow +
                  "', which the definitions do not have (" +
                  (known.empty() ? "none" : "they have " + known) + ")");
    }
    if (Declares(rule, d.name)) return Status();
    if (rule.commands.empty()) {
      return fail("command '" + d.name + "' is not declared: the rule declares no commands "
                  "(add commands = { \"" + d.name + "\" } to it)");
    }
    std::string declared;
    for (const std::string& c : rule.commands) declared += (declared.empty() ? "" : ", ") + c;
    return fail("command '" + d.name + "' is not declared: the rule may emit only " + declared);
  };
  // decide may return decisions one by one, or one list of them.
  for (int i = first; i <= last; ++i) {
    if (lua_isnil(L, i)) continue;
    if (IsDecision(L, i)) {
      if (out.size() - start >= static_cast<size_t>(kMaxDecisions)) return too_many();
      TAKT_RETURN_IF_ERROR(take(i));
      continue;
    }
    if (!lua_istable(L, i)) return not_a_decision(i);
    const auto n = static_cast<lua_Integer>(lua_rawlen(L, i));
    if (n > kMaxDecisions) return too_many();
    // A list has its n items and nothing else: count its entries (raw) up to one past n.
    lua_Integer entries = 0;
    lua_pushnil(L);
    while (entries <= n && lua_next(L, i) != 0) {
      lua_pop(L, 1);
      ++entries;
    }
    if (entries > n) {
      lua_pop(L, 1);  // the key where counting stopped
      return fail("decide returned a table with fields; it returns command(...), signal(...), "
                  "a list of them, or nothing");
    }
    for (lua_Integer j = 1; j <= n; ++j) {
      lua_rawgeti(L, i, j);  // one at a time: the stack holds one more slot, whatever n is
      if (!IsDecision(L, -1)) {
        const Status s = not_a_decision(lua_gettop(L));
        lua_pop(L, 1);
        return s;
      }
      if (out.size() - start >= static_cast<size_t>(kMaxDecisions)) {
        lua_pop(L, 1);
        return too_many();
      }
      const Status taken = take(lua_gettop(L));
      lua_pop(L, 1);
      TAKT_RETURN_IF_ERROR(taken);
    }
  }
  return Status();
}

}  // namespace takt::rules
