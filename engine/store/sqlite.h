// A thin RAII layer over the SQLite C API: a connection and prepared statements whose failures
// come back as Status values naming the statement and SQLite's message. Nothing here knows
// takt's schema; see store.h for that.
#ifndef TAKT_ENGINE_STORE_SQLITE_H_
#define TAKT_ENGINE_STORE_SQLITE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "takt/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace takt::store {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQL's ?1. Text is bound without a copy: the view must stay
  // valid until the statement has been stepped.
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, int64_t value);
  Statement& BindNull(int index);
  Statement& BindBlob(int index, std::string_view bytes);  // without a copy, as Bind(text)

  // Steps once: true with a row to read, false when done. Fails with SQLite's message.
  Result<bool> Step();
  // Steps to completion and resets, for statements that return no rows.
  Status Run();
  void Reset();

  std::string_view Text(int column) const;  // empty for NULL
  std::string_view Blob(int column) const;  // empty for NULL
  int64_t Int(int column) const;
  bool IsNull(int column) const;

 private:
  Status Error() const;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  Database() = default;
  ~Database();
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  enum class Mode : uint8_t {
    kCreate,     // read and write, created when missing
    kReadWrite,  // read and write an existing file
    kReadOnly,   // read an existing file, which may be read-only and in a read-only folder
  };
  // Opens the file at `path`. SQLite opens lazily: a file that is not a database is found by
  // the first statement, not here. Before SQLite tries, a missing folder, a missing file (not
  // kCreate) and, for writing, a read-only file or folder are errors that say so.
  static Result<Database> Open(const std::string& path, Mode mode);

  // Runs one or more statements that return no rows.
  Status Exec(std::string_view sql);
  Result<Statement> Prepare(std::string_view sql);
  // Runs `sql` (one row, one integer column) and returns that integer.
  Result<int64_t> QueryInt(std::string_view sql);
  // Runs `sql` and calls `visit` for each row, stopping at the first error (its or SQLite's).
  Status ForEachRow(std::string_view sql, const std::function<Status(const Statement&)>& visit);
  int64_t Changes() const;
  // No transaction is open: the last one ended, or SQLite rolled it back by itself (after a full
  // disk or an I/O error, some statements' failures roll the whole transaction back).
  bool Autocommit() const;
  // Rows changed through this connection since it opened.
  int64_t TotalChanges() const;
  // Changes whenever a commit reaches the main database, this connection's or another's (in
  // this process or another), as seen by this connection's last read.
  uint32_t DataVersion() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

  // Status from the connection's last error, prefixed with `what`.
  Status Error(std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace takt::store

#endif  // TAKT_ENGINE_STORE_SQLITE_H_
