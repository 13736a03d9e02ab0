#include "engine/store/sqlite.h"

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <utility>

namespace takt::store {
namespace {

// Full disk and broken files are what an operator must act on; name them so.
Status FromSqlite(int code, std::string message) {
  switch (code & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Status::Corruption(std::move(message));
    case SQLITE_CONSTRAINT: return Status::AlreadyExists(std::move(message));
    default: return Status::IoError(std::move(message));
  }
}

std::string ParentFolder(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

// `path` for a file: URI, with the characters a URI gives a meaning escaped.
std::string UriPath(const std::string& path) {
  std::string out;
  for (const char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      static const char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[(static_cast<unsigned char>(c) >> 4) & 0xf];
      out += kHex[static_cast<unsigned char>(c) & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

// SQLite's own word for these is "unable to open database file" or, later and from whichever
// statement first writes, "attempt to write a readonly database": this says which file or
// folder and why, before SQLite is asked. (As root every file is writable, and this passes.)
Status CheckAccess(const std::string& path, Database::Mode mode) {
  namespace fs = std::filesystem;
  const fs::path file(path);
  const std::string folder = ParentFolder(path);
  const fs::path parent(folder);
  std::error_code ec;
  if (!fs::is_directory(parent, ec)) {
    return Status::NotFound("cannot open database " + path + ": the folder " + folder +
                            (fs::exists(parent, ec) ? " is not a folder" : " does not exist"));
  }
  const bool exists = fs::exists(file, ec);
  if (!exists && mode != Database::Mode::kCreate) {
    return Status::NotFound("cannot open database " + path + ": there is no such file");
  }
  if (exists && fs::is_directory(file, ec)) {
    return Status::InvalidArgument("cannot open database " + path + ": it is a folder");
  }
  if (mode == Database::Mode::kReadOnly) {
    if (::access(path.c_str(), R_OK) != 0) {
      return Status::IoError("cannot read database " + path + ": permission denied");
    }
    return Status();
  }
  if (exists && ::access(path.c_str(), W_OK) != 0) {
    return Status::IoError("database " + path +
                           " is read-only: takt needs to write to it (takt trace and takt audit "
                           "verify read a read-only database)");
  }
  const auto writable = [](const std::string& p) { return ::access(p.c_str(), W_OK) == 0; };
  if (!writable(folder) && !(exists && writable(path + "-wal") && writable(path + "-shm"))) {
    return Status::IoError(
        "cannot " + std::string(exists ? "write to" : "create") + " database " + path +
        ": the folder " + folder + " is read-only, and SQLite keeps its write-ahead log (" +
        file.filename().string() + "-wal) and index (-shm) beside the database");
  }
  return Status();
}

}  // namespace

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::BindBlob(int index, std::string_view bytes) {
  sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
  return *this;
}

Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status error = Error();
  sqlite3_reset(stmt_);
  return error;
}

Status Statement::Run() {
  Result<bool> stepped = Step();
  while (stepped.ok() && stepped.value()) stepped = Step();
  Reset();
  return stepped.ok() ? Status() : stepped.status();
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string_view Statement::Text(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (text == nullptr) return {};
  return {text, static_cast<size_t>(sqlite3_column_bytes(stmt_, column))};
}

std::string_view Statement::Blob(int column) const {
  const auto* bytes = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  if (bytes == nullptr) return {};
  return {bytes, static_cast<size_t>(sqlite3_column_bytes(stmt_, column))};
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Status Statement::Error() const {
  const char* sql = sqlite3_sql(stmt_);
  std::string what = sql == nullptr ? "statement" : std::string(sql).substr(0, 60);
  return FromSqlite(sqlite3_extended_errcode(db_),
                    std::string(sqlite3_errmsg(db_)) + " (in: " + what + ")");
}

Database::~Database() { sqlite3_close_v2(db_); }

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

Result<Database> Database::Open(const std::string& path, Mode mode) {
  TAKT_RETURN_IF_ERROR(CheckAccess(path, mode));
  Database db;
  db.path_ = path;
  int flags = SQLITE_OPEN_NOMUTEX;
  flags |= mode == Mode::kReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (mode == Mode::kCreate) flags |= SQLITE_OPEN_CREATE;
  std::string name = path;
  if (mode == Mode::kReadOnly && ::access(ParentFolder(path).c_str(), W_OK) != 0 &&
      ::access((path + "-shm").c_str(), F_OK) != 0) {
    // A WAL database is read through its -shm index, which SQLite cannot create in a
    // read-only folder. With none there, no writer has the database open (a writer keeps one
    // until it closes), so the file is all there is and can be read as immutable.
    flags |= SQLITE_OPEN_URI;
    name = "file:" + UriPath(path) + "?immutable=1";
  }
  const int rc = sqlite3_open_v2(name.c_str(), &db.db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db.db_ != nullptr ? sqlite3_errmsg(db.db_) : sqlite3_errstr(rc);
    return rc == SQLITE_CANTOPEN ? Status::NotFound("cannot open database " + path + ": " + message)
                                 : FromSqlite(rc, "cannot open database " + path + ": " + message);
  }
  sqlite3_extended_result_codes(db.db_, 1);
  return db;
}

Status Database::Exec(std::string_view sql) {
  const std::string text(sql);
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Status();
  std::string error = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return FromSqlite(rc, error + " (in: " + text.substr(0, 60) + ")");
}

Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    return FromSqlite(rc, std::string(sqlite3_errmsg(db_)) + " (preparing: " +
                              std::string(sql.substr(0, 60)) + ")");
  }
  return Statement(db_, stmt);
}

Result<int64_t> Database::QueryInt(std::string_view sql) {
  Result<Statement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt.value().Step();
  if (!row.ok()) return row.status();
  if (!row.value()) return Status::NotFound("no row from: " + std::string(sql));
  return stmt.value().Int(0);
}

Status Database::ForEachRow(std::string_view sql,
                            const std::function<Status(const Statement&)>& visit) {
  Result<Statement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  for (;;) {
    Result<bool> row = stmt.value().Step();
    if (!row.ok()) return row.status();
    if (!row.value()) return Status();
    TAKT_RETURN_IF_ERROR(visit(stmt.value()));
  }
}

int64_t Database::Changes() const { return sqlite3_changes64(db_); }

bool Database::Autocommit() const { return sqlite3_get_autocommit(db_) != 0; }

int64_t Database::TotalChanges() const { return sqlite3_total_changes64(db_); }

uint32_t Database::DataVersion() const {
  unsigned int version = 0;
  sqlite3_file_control(db_, "main", SQLITE_FCNTL_DATA_VERSION, &version);
  return version;
}

Status Database::Error(std::string_view what) const {
  return FromSqlite(sqlite3_extended_errcode(db_),
                    std::string(what) + ": " + sqlite3_errmsg(db_));
}

}  // namespace takt::store
