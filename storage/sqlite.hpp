#pragma once
// The storage engine the stores talk to: one Database / Statement / Transaction API over
// two engines, an embedded SQLite file (the default) or a PostgreSQL server
// (storage/postgres/, docs/storage-postgres.md). Every method dispatches to the engine the
// Database was opened on, so nothing above storage/ knows which one runs; the stores' SQL
// is written for both (docs/storage.md, "SQL shared by both engines"). Expected failures
// (bad SQL, constraint violations, a busy or unreachable database) come back as sb::Error
// values, never as exceptions; a constraint violation has the same code on both engines
// (storage/error_codes.hpp).
//
// Naming a target: Database::open takes one string, so that every Store::open(db_path)
// keeps working. A file path opens SQLite; a locator built by postgres_locator() (it
// starts with "postgres:") opens PostgreSQL.
//
// Threading: SQLite connections are opened in multi-thread mode (no per-connection mutex)
// and a PostgreSQL session is one libpq connection, so one Database and its Statements
// must be used by one thread at a time. Moving them between threads (e.g. an actor
// migrating between scheduler threads) is fine; concurrent use is not.
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

namespace pg {
class PgDatabase;
class PgStatement;
}  // namespace pg

enum class Engine { sqlite, postgres };

// The type of one value in a result row. SQLite types values, not columns (a STRICT table
// still has NULLs), so a copy binds each value by the type it has.
enum class ValueType { integer, real, text, blob, null };

// ---------------------------------------------------------------- PostgreSQL locator
//
// "postgres:schema=<s>;password_file=<f>;conninfo=<libpq connection string>"
//
// Fields are separated by ';' and may come in any order; only conninfo is required. In a
// value, '%', ';' and control characters are percent-encoded (%25, %3B, %0A), so any
// conninfo, schema or file name round-trips. The password never appears in a locator: it
// comes from password_file (mode 0600) or libpq's own mechanisms, and a conninfo with a
// password is refused when the database is opened (locators end up in logs). A SQLite
// file whose relative path starts with "postgres:" must be written "./postgres:...".
inline constexpr std::string_view kPostgresLocatorPrefix = "postgres:";

struct PostgresTarget {
  std::string conninfo;       // libpq connection string or URI, without a password
  std::string schema;         // empty: the server's default search_path
  std::string password_file;  // empty: libpq's own password mechanisms
};

std::string postgres_locator(std::string_view conninfo, std::string_view schema = {},
                             std::string_view password_file = {});
bool is_postgres_locator(std::string_view target);
// Error "storage.invalid_locator" for a malformed locator or one without conninfo.
Result<PostgresTarget> parse_postgres_locator(std::string_view locator);

// The database file inside the node's data directory.
inline constexpr std::string_view kDatabaseFileName = "squadbox.db";

struct OpenOptions {
  int busy_timeout_ms = 5000;  // SQLite: how long a writer waits for another writer's lock
  // No writes intended. SQLite opens the file read-only; PostgreSQL sets the session's
  // default_transaction_read_only, so a stray write fails instead of landing.
  bool read_only = false;
  // SQLite only. "FULL": every committed transaction is fsync'ed (survives power loss).
  // "NORMAL": in WAL mode a power loss may drop the last commits (never corrupts).
  // PostgreSQL always commits with synchronous_commit = on (never weaker than FULL).
  std::string synchronous = "FULL";
};

// Maps a SQLite result code to an Error: code from the primary result code
// ("sqlite.constraint", "sqlite.busy", ...), message from the connection if given.
Error sqlite_error(int rc, sqlite3* db);

class Statement {
 public:
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

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
  // SQLite: the value's own (dynamic) type. PostgreSQL sends every value as text, so there
  // it is null or text (the column's declared type is in information_schema.columns).
  ValueType column_type(int col);
  int column_count() const;

  bool read_only() const;  // true if the statement does not write the database
  // SQLite's statement; null on PostgreSQL (guard before use).
  sqlite3_stmt* handle() const { return stmt_.get(); }

 private:
  friend class Database;
  struct Finalizer {
    void operator()(sqlite3_stmt* s) const noexcept;
  };
  explicit Statement(sqlite3_stmt* s);
  Statement(std::unique_ptr<pg::PgStatement> s, bool read_only);
  Status check(int rc);

  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;  // SQLite, or
  std::unique_ptr<pg::PgStatement> pg_;            // PostgreSQL
  bool pg_read_only_ = false;                      // PostgreSQL: from the statement's first word
};

class Database {
 public:
  // SQLite: opens (creating if read-write) the database file. Read-write connections are
  // switched to WAL, get the requested synchronous level and enforce foreign keys.
  // ":memory:" is accepted for tests (it cannot be WAL; that is not an error there).
  // PostgreSQL (`path` is a postgres_locator()): connects, creates the schema if missing
  // and makes it the search_path (pg::PgDatabase::open); errors carry the engine's codes
  // (postgres.unreachable, postgres.auth, ...).
  static Result<Database> open(const std::string& path, const OpenOptions& opts = {});

  Database(Database&&) noexcept;
  Database& operator=(Database&&) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  Engine engine() const { return pg_ ? Engine::postgres : Engine::sqlite; }

  // Runs one or more ';'-separated statements, discarding rows.
  Status exec(std::string_view sql);
  // Compiles exactly one statement; trailing extra statements are an error rather
  // than silently ignored. `persistent` hints SQLite that it will be reused a lot.
  Result<Statement> prepare(std::string_view sql, bool persistent = false);

  // SQLite only: the stores take ids from INSERT ... RETURNING id (docs/storage.md, "SQL
  // shared by both engines"). PostgreSQL has no connection-wide rowid: asserts, and
  // returns 0 in a release build.
  int64_t last_insert_rowid();
  int64_t changes();  // rows changed by the last INSERT/UPDATE/DELETE
  bool in_transaction();
  // The statement that opens a transaction on this engine. SQLite: BEGIN IMMEDIATE takes
  // the write lock now (a later write cannot fail with SQLITE_BUSY half-way), else BEGIN
  // DEFERRED. PostgreSQL: BEGIN either way (row locks, no database write lock).
  const char* begin_sql(bool immediate) const;
  // The engine's own handle, for storage/ code that needs it; each is null on the other
  // engine, so a caller guards before use.
  sqlite3* handle() { return db_.get(); }
  pg::PgDatabase* postgres() { return pg_.get(); }
  // The file path, or the PostgreSQL locator (which holds no password).
  const std::string& path() const { return path_; }

 private:
  struct Closer {
    void operator()(sqlite3* db) const noexcept;
  };
  Database(sqlite3* db, std::string path);
  Database(std::unique_ptr<pg::PgDatabase> db, std::string locator);
  static Result<Database> open_postgres(const std::string& locator, const OpenOptions& opts);

  std::unique_ptr<sqlite3, Closer> db_;  // SQLite, or
  std::unique_ptr<pg::PgDatabase> pg_;   // PostgreSQL
  std::string path_;
};

// Scoped transaction: rolls back on destruction unless commit() succeeded.
class Transaction {
 public:
  // immediate = BEGIN IMMEDIATE on SQLite: takes the write lock now, so a later write in
  // the transaction cannot fail with SQLITE_BUSY half-way (deadlock-free upgrades).
  // PostgreSQL: BEGIN (Database::begin_sql). Transactions do not nest on either engine.
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
