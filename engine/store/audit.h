// The audit chain runs through the event log and the audit table: for each position, the
// event's row, then the audit rows of what it caused. Each row carries SHA-256(the previous
// link's hash, the row's fields), so that editing or deleting a row breaks the chain there.
// Removing the newest rows leaves a valid shorter chain: whoever must detect that keeps the
// head (takt audit head: HASH:ROWS) somewhere else and verifies against it (--expect-head).
#ifndef TAKT_ENGINE_STORE_AUDIT_H_
#define TAKT_ENGINE_STORE_AUDIT_H_

#include <string>
#include <string_view>

#include "engine/event/hex.h"
#include "engine/store/sqlite.h"
#include "engine/store/store.h"
#include "takt/store.h"

namespace takt::store {

// The hash of audit row `seq` following the link whose hash is `prev` ("" for the first).
std::string AuditHash(std::string_view prev, int64_t seq, const AuditRow& row);
// The hash of an event's row following the link whose hash is `prev`.
std::string EventHash(std::string_view prev, const EventRow& row);

// Recomputes the chain of `db`; with an `expected` head (rows > 0), the chain must also pass
// through it.
Result<AuditVerification> VerifyChain(Database& db, const AuditHead& expected = {});

}  // namespace takt::store

#endif  // TAKT_ENGINE_STORE_AUDIT_H_
