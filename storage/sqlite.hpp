#pragma once
// A small RAII wrapper over the SQLite C API. Expected failures (bad SQL, constraint
// violations, a busy database) come back as sb::Error values, never as exceptions.
//
// Threading: connections are opened in SQLite's multi-thread mode (no per-connection
// mutex), so one Database and its Statements must be used by one thread at a time.
// Moving them between threads (e.g. an actor migrating between scheduler threads)
// is fine; concurrent use is not.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "runtime/core/result.hpp"
#include "storage/sql_value.hpp"

// Forward declarations keep <sqlite3.h> out of every includer.
struct sqlite3;
struct sqlite3_stmt;

namespace sb::storage {

// The database file inside the node's data directory.
inline constexpr std::string_view kDatabaseFileName = "squadbox.db";

struct OpenOptions {
  int busy_timeout_ms = 5000;  // how long a writer waits for another writer's lock
  bool read_only = false;
  // "FULL": every committed transaction is fsync'ed (survives power loss).
  // "NORMAL": in WAL mode a power loss may drop the last commits (never corrupts).
  std::string synchronous = "FULL";
};

// Maps a SQLite result code to an Error: code from the primary result code
// ("sqlite.constraint", "sqlite.busy", ...), message from the connection if given.
Error sqlite_error(int rc, sqlite3* db);

class Statement {
 public:
  Statement(Statement&&) noexcept = default;
  Statement& operator=(Statement&&) noexcept = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() = default;

  // Parameter indices are 1-based (SQLite's convention: ?1 is index 1).
  Status bind(int idx, int64_t v);
  Status bind(int idx, int v) { return bind(idx, static_cast<int64_t>(v)); }
  Status bind(int idx, double v);
  Status bind(int idx, std::string_view text);  // copied; the view may die afterwards
  Status bind(int idx, const char* text) { return bind(idx, std::string_view(text)); }
  Status bind(int idx, std::nullptr_t);
  Status bind_blob(int idx, std::string_view bytes);  // copied
  Status bind_param(int idx, const SqlParam& p);
  int parameter_count() const;

  // true = a row is available; false = done. After an error, call reset().
  Result<bool> step();
  // Resets the statement and clears all bindings (back to NULL). Must be called
  // before re-use; also ends the implicit read a half-read SELECT keeps open.
  void reset();

  // Column indices are 0-based. Reading NULL gives 0 / 0.0 / "".
  int64_t column_int64(int col);
  double column_double(int col);
  std::string column_text(int col);  // exact byte length (embedded NULs kept)
  std::string column_blob(int col);
  bool column_is_null(int col);
  int column_count() const;

  bool read_only() const;  // true if the statement does not write the database
  sqlite3_stmt* handle() const { return stmt_.get(); }

 private:
  friend class Database;
  struct Finalizer {
    void operator()(sqlite3_stmt* s) const noexcept;
  };
  explicit Statement(sqlite3_stmt* s) : stmt_(s) {}
  Status check(int rc);

  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
};

class Database {
 public:
  // Opens (creating if read-write) the database file. Read-write connections are
  // switched to WAL, get the requested synchronous level and enforce foreign keys.
  // ":memory:" is accepted for tests (it cannot be WAL; that is not an error there).
  static Result<Database> open(const std::string& path, const OpenOptions& opts = {});

  Database(Database&&) noexcept = default;
  Database& operator=(Database&&) noexcept = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database() = default;

  // Runs one or more ';'-separated statements, discarding rows.
  Status exec(std::string_view sql);
  // Compiles exactly one statement; trailing extra statements are an error rather
  // than silently ignored. `persistent` hints SQLite that it will be reused a lot.
  Result<Statement> prepare(std::string_view sql, bool persistent = false);

  // SQLite only: the stores take ids from INSERT ... RETURNING id (docs/storage.md, "SQL
  // shared by both engines").
  int64_t last_insert_rowid();
  int64_t changes();  // rows changed by the last INSERT/UPDATE/DELETE
  bool in_transaction();
  sqlite3* handle() { return db_.get(); }
  const std::string& path() const { return path_; }

 private:
  struct Closer {
    void operator()(sqlite3* db) const noexcept;
  };
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  std::unique_ptr<sqlite3, Closer> db_;
  std::string path_;
};

// Scoped transaction: rolls back on destruction unless commit() succeeded.
class Transaction {
 public:
  // immediate = BEGIN IMMEDIATE: takes the write lock now, so a later write in the
  // transaction cannot fail with SQLITE_BUSY half-way (deadlock-free upgrades).
  static Result<Transaction> begin(Database& db, bool immediate = true);

  Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  Transaction& operator=(Transaction&& other) noexcept;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  Status commit();
  Status rollback();
  bool active() const { return db_ != nullptr; }

 private:
  explicit Transaction(Database& db) : db_(&db) {}
  void abandon() noexcept;

  Database* db_;  // null once committed, rolled back or moved from
};

}  // namespace sb::storage
