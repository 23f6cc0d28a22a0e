#pragma once
// The PostgreSQL engine: an RAII wrapper over libpq with the same shape as the SQLite
// wrapper (storage/sqlite.hpp), so that storage::Database can later become engine-neutral
// with two backends. Expected failures come back as sb::Error values with stable codes
// (storage/postgres/pg_error.hpp), never as exceptions.
//
// Differences from the SQLite wrapper that a store must know:
// * SQL keeps SQLite's placeholders (?1, ?2, bare ?): prepare() rewrites them to $1, $2
//   (storage/postgres/placeholders.hpp). Parameter types are inferred by the server from
//   the statement at prepare time; values travel as text, blobs as binary bytea.
// * There is no last_insert_rowid(): PostgreSQL has no connection-wide rowid. A store that
//   needs the new key writes `INSERT ... RETURNING id` and reads it with step().
// * step() reads rows from a result the server sent whole (PQexecPrepared); a SELECT of a
//   million rows holds them all in memory. The stores read small, bounded row sets.
// * Every call is a network round trip and may fail with postgres.unreachable when the
//   server goes away. The connection heals itself: the next command after a lost one opens
//   a new session (at most one attempt per 250 ms; prepared statements re-prepare on their
//   next use), so a store resumes by itself when the server returns. A transaction the loss
//   cut short stays failed until it is ended (ROLLBACK, COMMIT or BEGIN): its later
//   statements never run on the new session outside it. reconnect() forces a new session.
//
// Threading: one PgDatabase and its statements are used by one thread at a time (like
// libpq's PGconn itself). Moving them between threads is fine.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/core/result.hpp"
#include "storage/sql_value.hpp"

// Forward declarations keep <libpq-fe.h> out of every includer.
struct pg_conn;
struct pg_result;

namespace sb::storage::pg {

namespace detail {
struct PgSession;  // the PGconn and what every statement of the connection shares
}

struct PgOptions {
  // A libpq connection string ("host=127.0.0.1 port=5433 user=squadbox dbname=squadbox
  // sslmode=verify-full") or URI, without a password: sslmode, sslrootcert and every other
  // libpq keyword are honoured as given. libpq's own password mechanisms (PGPASSFILE,
  // ~/.pgpass, PGPASSWORD, peer auth on a unix socket) keep working.
  std::string conninfo;
  // Optional: a file whose first line is the password. It must be a regular file with no
  // group or other permission bits (0600 or 0400): anything else is refused with
  // postgres.password_file naming the file, before any connection is tried.
  std::string password_file;
  // Optional: the schema that holds squadbox's tables, created if missing and put first in
  // search_path (so several test nodes can share one database). Empty: the server's default.
  std::string schema;
  // How long to wait for a connection (all hosts of a multi-host string together), also
  // used by reconnect(). Zero waits forever.
  std::chrono::milliseconds connect_timeout{10'000};
};

class PgDatabase;

class PgStatement {
 public:
  PgStatement(PgStatement&&) noexcept;
  PgStatement& operator=(PgStatement&&) noexcept;
  PgStatement(const PgStatement&) = delete;
  PgStatement& operator=(const PgStatement&) = delete;
  ~PgStatement();  // DEALLOCATEs the server-side statement when the session still has it

  // Parameter indices are 1-based (?1 is index 1). Bound values are copied.
  Status bind(int idx, int64_t v);
  Status bind(int idx, int v) { return bind(idx, static_cast<int64_t>(v)); }
  Status bind(int idx, double v);
  Status bind(int idx, std::string_view text);
  Status bind(int idx, const char* text) { return bind(idx, std::string_view(text)); }
  Status bind(int idx, std::nullptr_t);
  Status bind_blob(int idx, std::string_view bytes);  // binary bytea; NULs kept
  Status bind_param(int idx, const SqlParam& p);
  int parameter_count() const { return nparams_; }

  // The first call runs the statement; it returns true while a row is available and false
  // when done (a statement without rows returns false at once). Like sqlite3_step, a call
  // after false runs the statement again with the same bindings. After an error, reset().
  Result<bool> step();
  // Drops the current result and clears all bindings (back to NULL).
  void reset();

  // Column indices are 0-based, on the current row. NULL reads as 0 / 0.0 / "".
  // column_int64 reads booleans as 1/0 and truncates reals (SQLite's conversions).
  int64_t column_int64(int col);
  double column_double(int col);
  std::string column_text(int col);  // bytea columns are decoded to their bytes
  std::string column_blob(int col);  // exact bytes of a bytea (embedded NULs kept)
  bool column_is_null(int col);
  int column_count() const { return ncolumns_; }

  // Rows changed by this statement's last run (INSERT/UPDATE/DELETE/MERGE, from
  // PQcmdTuples); 0 for reads and DDL.
  int64_t changes() const { return changes_; }

 private:
  friend class PgDatabase;
  struct ResultDeleter {
    void operator()(pg_result* r) const noexcept;
  };
  PgStatement(std::shared_ptr<detail::PgSession> s, std::string name, std::string sql, int nparams, int ncolumns,
              uint64_t generation);
  Status check_index(int idx) const;
  Status set(int idx, std::string_view value, bool null, int format);
  Status ensure_prepared();
  const char* value(int col) const;
  int length(int col) const;
  bool is_bytea(int col) const;
  void release() noexcept;

  std::shared_ptr<detail::PgSession> session_;
  std::string name_;             // server-side prepared statement name
  std::string sql_;              // translated text, kept to re-prepare after a reconnect
  std::vector<unsigned> types_;  // declared parameter type OIDs (0: inferred), ditto
  int nparams_ = 0;
  int ncolumns_ = 0;
  uint64_t generation_ = 0;  // the session generation it was prepared in
  std::vector<std::string> values_;
  std::vector<char> is_null_;
  std::vector<int> formats_;  // 0 text, 1 binary (blobs)
  std::unique_ptr<pg_result, ResultDeleter> result_;
  int row_ = -1;  // current row of result_
  int64_t changes_ = 0;
};

class PgDatabase {
 public:
  // Connects, applies `synchronous_commit = on` for the session and, if a schema is given,
  // creates it when missing and sets search_path to it.
  static Result<PgDatabase> open(const PgOptions& opts);

  PgDatabase(PgDatabase&&) noexcept = default;
  PgDatabase& operator=(PgDatabase&&) noexcept = default;
  PgDatabase(const PgDatabase&) = delete;
  PgDatabase& operator=(const PgDatabase&) = delete;
  ~PgDatabase();

  // Runs one or more ';'-separated statements (DDL, scripts) through the simple query
  // protocol, without parameters or placeholder translation; rows are discarded.
  Status exec(std::string_view sql);
  // Prepares exactly one statement on the server (a second one is
  // storage.multiple_statements). `persistent` is accepted for the SQLite wrapper's
  // signature; every PostgreSQL statement is prepared server-side.
  Result<PgStatement> prepare(std::string_view sql, bool persistent = false);

  int64_t changes() const;  // rows changed by the last command on this connection
  bool in_transaction() const;

  // A round trip to the server: ok, or postgres.unreachable.
  Status ping();
  // Whether libpq still holds a live session. It learns of a dead server only through I/O:
  // after a lost connection this turns false and every call returns postgres.unreachable.
  bool is_connected() const;
  // Re-establishes the session with the same settings (PQreset), then re-applies
  // synchronous_commit and search_path. Statements prepare themselves again on next use.
  Status reconnect();

  const std::string& schema() const;
  pg_conn* handle();

  // run_batch's named statements (pg_batch.cpp): the server-side name under which the
  // (translated) `sql` is, or is to be, prepared on the current session, and whether the
  // server confirmed it. Empty name: not cached (the session holds kMaxBatchStatements
  // already, e.g. texts built with varying IN lists); send it unnamed. A reconnect forgets
  // them all.
  struct BatchStatement {
    std::string name;
    bool prepared = false;
  };
  static constexpr size_t kMaxBatchStatements = 256;
  BatchStatement batch_statement(const std::string& sql);
  void batch_statement_prepared(const std::string& sql);

 private:
  explicit PgDatabase(std::shared_ptr<detail::PgSession> s) : session_(std::move(s)) {}
  std::shared_ptr<detail::PgSession> session_;
};

// Scoped transaction: rolls back on destruction unless commit() succeeded.
class PgTransaction {
 public:
  static Result<PgTransaction> begin(PgDatabase& db);

  PgTransaction(PgTransaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  PgTransaction& operator=(PgTransaction&& other) noexcept;
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;
  ~PgTransaction();

  // A transaction that an earlier statement aborted cannot commit: PostgreSQL turns the
  // COMMIT into a ROLLBACK, and commit() returns an error saying so.
  Status commit();
  Status rollback();
  bool active() const { return db_ != nullptr; }

 private:
  explicit PgTransaction(PgDatabase& db) : db_(&db) {}
  void abandon() noexcept;

  PgDatabase* db_;  // null once committed, rolled back or moved from
};

}  // namespace sb::storage::pg
