// The read-only questions asked of a database from outside an engine (include/takt/store.h):
// takt trace, takt audit verify, takt check --db.
#include <algorithm>
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

#include "dsl/load.h"
#include "engine/store/audit.h"
#include "engine/store/schema.h"
#include "engine/store/sqlite.h"
#include "takt/store.h"

namespace takt {
namespace {

// Opens an existing takt database without changing it.
Result<store::Database> OpenExisting(const std::string& path) {
  Result<store::Database> db = store::Database::Open(path, store::Database::Mode::kReadOnly);
  if (!db.ok()) return db.status();
  Result<int64_t> app = db.value().QueryInt("PRAGMA application_id");
  if (!app.ok()) {
    return Status::Corruption("cannot read " + path + " as a takt database: " + app.status().message());
  }
  if (app.value() != store::kApplicationId) {
    return Status::InvalidArgument(path + " is not a takt database");
  }
  return db;
}

// Event time (milliseconds since the epoch) as ISO 8601 UTC: 2026-11-23T09:41:07.123Z.
std::string IsoTime(int64_t ms) {
  const time_t seconds = static_cast<time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(((ms % 1000) + 1000) % 1000));
  return buf;
}

}  // namespace

Result<AuditVerification> VerifyAudit(const std::string& db_path) {
  return VerifyAudit(db_path, AuditHead{});
}

Result<AuditVerification> VerifyAudit(const std::string& db_path, const AuditHead& expected) {
  Result<store::Database> db = OpenExisting(db_path);
  if (!db.ok()) return db.status();
  return store::VerifyChain(db.value(), expected);
}

Result<AuditHead> ParseAuditHead(std::string_view text) {
  const size_t colon = text.find(':');
  const std::string_view hash = text.substr(0, colon);
  const std::string_view rows = colon == std::string_view::npos ? "" : text.substr(colon + 1);
  const bool hex = hash.size() == 64 && hash.find_first_not_of("0123456789abcdef") ==
                                            std::string_view::npos;
  const bool digits = !rows.empty() && rows.size() <= 19 &&
                      rows.find_first_not_of("0123456789") == std::string_view::npos;
  const uint64_t count = hex && digits ? std::stoull(std::string(rows)) : 0;
  if (count == 0) {
    return Status::InvalidArgument(
        "expected HASH:ROWS as takt audit head prints it (64 lowercase hex digits, a colon, a "
        "row count of 1 or more)");
  }
  return AuditHead{count, std::string(hash)};
}

Result<std::string> TraceInstance(const std::string& db_path, std::string_view key, bool json) {
  Result<store::Database> db = OpenExisting(db_path);
  if (!db.ok()) return db.status();
  // Every event that touched the key (sent to it, or reaching it through a signal) with all it
  // caused (so an alarm that held an order shows with its commands), in the order they
  // happened, with the delivery state of commands.
  Result<int64_t> version = db.value().QueryInt("PRAGMA user_version");
  if (!version.ok()) return version.status();
  // The events sent to the key: from schema 4 on, the chain of each (source, key) from its
  // last event back (the sources found by skipping through the sequences' primary key);
  // before, the index of the log by key, which schema 4 dropped.
  const char* const sent =
      version.value() >= 4
          ? "WITH RECURSIVE "
            "sources(source) AS (SELECT min(source) FROM sequences UNION ALL "
            "  SELECT (SELECT min(s.source) FROM sequences s WHERE s.source > sources.source) "
            "  FROM sources WHERE sources.source IS NOT NULL), "
            "chain(pos) AS (SELECT q.last_pos FROM sources "
            "  JOIN sequences q ON q.source = sources.source AND q.key = ?1 WHERE q.last_pos > 0 "
            "  UNION ALL SELECT e.prev_pos FROM chain JOIN events e ON e.pos = chain.pos "
            "  WHERE e.prev_pos IS NOT NULL), "
            "p(pos) AS (SELECT pos FROM chain UNION SELECT pos FROM audit WHERE key = ?1 "
            "  AND event_id IS NOT 'timer') "
          : "WITH p(pos) AS (SELECT pos FROM events WHERE key = ?1 "
            "                UNION SELECT pos FROM audit WHERE key = ?1) ";
  Result<store::Statement> rows = db.value().Prepare(std::string(sent) +
      "SELECT 0, e.pos, 0, e.ts, e.id, e.source, 'event', e.workflow, "
      "  coalesce(e.type, '?') || ' ' || e.outcome || coalesce(': ' || e.reason, '') || "
      "  coalesce(': ' || e.effect, ''), e.version, NULL, NULL, NULL, NULL "
      "FROM p JOIN events e ON e.pos = p.pos "
      "UNION ALL "
      "SELECT 1, a.pos, a.seq, a.at, a.event_id, a.source, a.kind, a.workflow, a.detail, "
      "  a.version, o.id, o.status, o.attempts, o.last_error "
      // What an event at one of the positions caused (by audit_by_pos), and what a timer of
      // this key did (by audit_by_key): a timer fired on the clock has no event, and its rows
      // carry the last event's position, whichever key that event was for.
      "FROM (SELECT a.* FROM p JOIN audit a ON a.pos = p.pos WHERE a.event_id IS NOT 'timer' "
      "      UNION ALL SELECT * FROM audit WHERE key = ?1 AND event_id = 'timer') a "
      "LEFT JOIN outbox o ON a.kind = 'command' "
      "  AND o.id = substr(a.detail, 1, instr(a.detail, ' ') - 1) "
      "ORDER BY 2, 1, 3");
  if (!rows.ok()) return rows.status();
  store::Statement& s = rows.value();
  s.Bind(1, key);
  nlohmann::json timeline = nlohmann::json::array();
  std::string text;
  for (;;) {
    Result<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!row.value()) break;
    nlohmann::json entry;
    entry["position"] = s.Int(1);
    entry["ts"] = s.Int(3);
    entry["event"] = std::string(s.Text(4));
    entry["source"] = std::string(s.Text(5));
    entry["kind"] = std::string(s.Text(6));
    if (!s.IsNull(7)) entry["workflow"] = std::string(s.Text(7));
    entry["detail"] = std::string(s.Text(8));
    if (!s.IsNull(9)) entry["version"] = std::string(s.Text(9));
    if (!s.IsNull(10)) {
      entry["command"] = std::string(s.Text(10));
      entry["delivery"] = std::string(s.Text(11));
      entry["attempts"] = s.Int(12);
      if (!s.IsNull(13)) entry["last_error"] = std::string(s.Text(13));
    }
    // time  event  kind  detail  (workflow@version)  [delivery]
    std::string kind(s.Text(6));
    kind.resize(std::max<size_t>(kind.size(), 10), ' ');
    text += IsoTime(s.Int(3)) + "  " + std::string(s.Text(4)) + "  " + kind + "  " +
            std::string(s.Text(8));
    if (!s.IsNull(7)) {
      text += "  (" + std::string(s.Text(7));
      if (!s.IsNull(9)) text += "@" + std::string(s.Text(9));
      text += ")";
    }
    if (!s.IsNull(10)) text += "  [" + std::string(s.Text(11)) + "]";
    text += "\n";
    timeline.push_back(std::move(entry));
  }
  if (timeline.empty()) return Status::NotFound("nothing in " + db_path + " about " + std::string(key));
  if (!json) return "trace of " + std::string(key) + "\n" + text;
  // The instances of that key as they are now.
  nlohmann::json instances = nlohmann::json::array();
  Result<store::Statement> inst = db.value().Prepare(
      "SELECT workflow, version, state, final, variables FROM instances WHERE key = ?1 "
      "ORDER BY workflow");
  if (!inst.ok()) return inst.status();
  inst.value().Bind(1, key);
  for (;;) {
    Result<bool> row = inst.value().Step();
    if (!row.ok()) return row.status();
    if (!row.value()) break;
    const store::Statement& r = inst.value();
    instances.push_back({{"workflow", std::string(r.Text(0))},
                         {"version", std::string(r.Text(1))},
                         {"state", std::string(r.Text(2))},
                         {"final", r.Int(3) != 0},
                         {"variables", nlohmann::json::parse(r.Text(4), nullptr, false)}});
  }
  nlohmann::json doc = {{"key", std::string(key)}, {"instances", instances}, {"timeline", timeline}};
  return doc.dump(2) + "\n";
}

Result<std::vector<std::string>> StrandedInstances(const std::string& db_path,
                                                   const DefinitionOptions& options) {
  std::unique_ptr<dsl::Definitions> defs = dsl::LoadDefinitions(options);
  if (defs->diagnostics.errors() != 0) return Status::ParseError(defs->diagnostics.FormatAll());
  Result<store::Database> db = OpenExisting(db_path);
  if (!db.ok()) return db.status();
  Result<store::Statement> rows = db.value().Prepare(
      "SELECT workflow, state, count(*) FROM instances WHERE final = 0 "
      "GROUP BY workflow, state ORDER BY workflow, state");
  if (!rows.ok()) return rows.status();
  std::vector<std::string> stranded;
  for (;;) {
    Result<bool> row = rows.value().Step();
    if (!row.ok()) return row.status();
    if (!row.value()) break;
    const std::string workflow(rows.value().Text(0));
    const std::string state(rows.value().Text(1));
    const std::string count = std::to_string(rows.value().Int(2));
    const dsl::WorkflowDef* def = nullptr;
    for (const dsl::WorkflowDef& wf : defs->catalog.workflows) {
      if (wf.name == workflow) def = &wf;
    }
    if (def == nullptr) {
      stranded.push_back(count + " running " + workflow + " instance(s) in state " + state +
                         ": the new definitions have no workflow " + workflow);
    } else if (def->StateIndex(state) < 0) {
      stranded.push_back(count + " running " + workflow + " instance(s) in state " + state +
                         ": the new " + workflow + " has no state " + state);
    }
  }
  return stranded;
}

}  // namespace takt
