// The database schema and its migrations. A database records its schema version in
// PRAGMA user_version and that it is takt's in PRAGMA application_id; Migrate() brings an older
// one up to date in one transaction and refuses files that are not takt's or are newer.
#ifndef TAKT_ENGINE_STORE_SCHEMA_H_
#define TAKT_ENGINE_STORE_SCHEMA_H_

#include "engine/store/sqlite.h"

namespace takt::store {

constexpr int kApplicationId = 0x74616b74;  // "takt"
constexpr int kSchemaVersion = 9;

// The condition of the partial index outbox_undelivered, word for word: a query that reads
// through the index says the same, or SQLite does not use it. A macro, so that it joins the
// string literals of the statements.
#define TAKT_OUTBOX_UNDELIVERED "(status = 'pending' OR status = 'in_flight' OR status = 'retry')"

Status Migrate(Database& db);

}  // namespace takt::store

#endif  // TAKT_ENGINE_STORE_SCHEMA_H_
