// Reading a takt database from outside the engine: the timeline of one instance, the audit
// chain's verification, and the check of new definitions against the instances running on the
// old ones. Each call opens the file itself; none of them writes.
#ifndef TAKT_STORE_H_
#define TAKT_STORE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "takt/definitions.h"
#include "takt/export.h"
#include "takt/status.h"

namespace takt {

struct AuditVerification {
  bool ok = false;
  uint64_t rows = 0;            // links verified: event rows and audit rows
  std::string head;             // hash of the last link: keep it elsewhere to detect truncation
  uint64_t first_bad_row = 0;   // when !ok: the first link that does not verify, from 1
  std::string problem;          // when !ok: which row, and what is wrong with it
};

// Recomputes the audit hash chain of the database at `db_path`: each event of the log in
// position order, each followed by the audit rows of what it caused.
TAKT_API Result<AuditVerification> VerifyAudit(const std::string& db_path);

// A point of the chain kept outside the database (takt audit head): the hash of link `rows`.
// A chain verifies whole even when its last rows were deleted; against an anchor it does not.
struct AuditHead {
  uint64_t rows = 0;
  std::string hash;
};
// "HASH:ROWS" as takt audit head prints it; kInvalidArgument for anything else.
TAKT_API Result<AuditHead> ParseAuditHead(std::string_view text);
// VerifyAudit(), and the chain must also reach `expected.rows` links with `expected.hash` as
// the hash of that link: fewer links (rows deleted from the end) or another hash (the chain
// rewritten) is a broken chain, with the problem saying which.
TAKT_API Result<AuditVerification> VerifyAudit(const std::string& db_path,
                                               const AuditHead& expected);

// What happened to instance `key` (of any workflow) and why: every event that touched it (sent
// to its key, or reaching it through a rule's signal) with its outcome, and all that event
// caused: transitions, signals and rule failures (with rule versions), commands with their
// delivery state. Readable text, or a JSON
// document when `json`. kNotFound when nothing in the database mentions `key`.
TAKT_API Result<std::string> TraceInstance(const std::string& db_path, std::string_view key, bool json);

// Instances in the database that the definitions of `options` would strand: their workflow is
// gone or their (non-final) state is. One line per workflow and state, with the number of
// instances; empty when none.
TAKT_API Result<std::vector<std::string>> StrandedInstances(const std::string& db_path,
                                                   const DefinitionOptions& options);

}  // namespace takt

#endif  // TAKT_STORE_H_
