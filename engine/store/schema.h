// The database schema and its migrations. A database records its schema version in
// PRAGMA user_version and that it is takt's in PRAGMA application_id; Migrate() brings an older
// one up to date in one transaction and refuses files that are not takt's or are newer.
#ifndef TAKT_ENGINE_STORE_SCHEMA_H_
#define TAKT_ENGINE_STORE_SCHEMA_H_

#include "engine/store/sqlite.h"

namespace takt::store {

constexpr int kApplicationId = 0x74616b74;  // "takt"
constexpr int kSchemaVersion = 8;

Status Migrate(Database& db);

}  // namespace takt::store

#endif  // TAKT_ENGINE_STORE_SCHEMA_H_
