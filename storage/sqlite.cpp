#include "storage/sqlite.hpp"

#include <sqlite3.h>

namespace sb::storage {

namespace {

// Primary result code -> stable error code. Callers branch on these (e.g. the
// inbound path treats "sqlite.constraint" as "duplicate, already stored").
const char* code_name(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT: return "sqlite.constraint";
    case SQLITE_BUSY: return "sqlite.busy";
    case SQLITE_LOCKED: return "sqlite.locked";
    case SQLITE_READONLY: return "sqlite.readonly";
    case SQLITE_CANTOPEN: return "sqlite.cantopen";
    case SQLITE_CORRUPT: return "sqlite.corrupt";
    case SQLITE_NOTADB: return "sqlite.notadb";
    case SQLITE_FULL: return "sqlite.full";
    case SQLITE_IOERR: return "sqlite.ioerr";
    case SQLITE_NOMEM: return "sqlite.nomem";
    case SQLITE_INTERRUPT: return "sqlite.interrupt";
    case SQLITE_MISUSE: return "sqlite.misuse";
    case SQLITE_RANGE: return "sqlite.range";
    case SQLITE_MISMATCH: return "sqlite.mismatch";
    case SQLITE_TOOBIG: return "sqlite.toobig";
    case SQLITE_PERM: return "sqlite.perm";
    case SQLITE_AUTH: return "sqlite.auth";
    default: return "sqlite.error";
  }
}

bool is_memory_path(const std::string& path) {
  return path.empty() || path == ":memory:";
}

// SQLite treats a NULL data pointer as SQL NULL; an empty view must stay ''.
const char* non_null(std::string_view v) {
  return v.data() ? v.data() : "";
}

}  // namespace

Error sqlite_error(int rc, sqlite3* db) {
  // sqlite3_errmsg describes the most recent failure on the connection, which is
  // the one we are reporting; without a connection fall back to the generic text.
  std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return make_error(code_name(rc), std::move(message));
}

// ---------------------------------------------------------------- Statement

void Statement::Finalizer::operator()(sqlite3_stmt* s) const noexcept {
  sqlite3_finalize(s);
}

Status Statement::check(int rc) {
  if (rc == SQLITE_OK) return {};
  return sqlite_error(rc, sqlite3_db_handle(stmt_.get()));
}

Status Statement::bind(int idx, int64_t v) {
  return check(sqlite3_bind_int64(stmt_.get(), idx, v));
}

Status Statement::bind(int idx, double v) {
  return check(sqlite3_bind_double(stmt_.get(), idx, v));
}

Status Statement::bind(int idx, std::string_view text) {
  return check(sqlite3_bind_text64(stmt_.get(), idx, non_null(text), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}

Status Statement::bind(int idx, std::nullptr_t) {
  return check(sqlite3_bind_null(stmt_.get(), idx));
}

Status Statement::bind_blob(int idx, std::string_view bytes) {
  return check(sqlite3_bind_blob64(stmt_.get(), idx, non_null(bytes), bytes.size(), SQLITE_TRANSIENT));
}

Status Statement::bind_param(int idx, const SqlParam& p) {
  switch (p.kind) {
    case SqlParam::null_value: return bind(idx, nullptr);
    case SqlParam::integer: return bind(idx, p.i);
    case SqlParam::real: return bind(idx, p.d);
    case SqlParam::text: return bind(idx, std::string_view(p.s));
    case SqlParam::blob: return bind_blob(idx, p.s);
    default:
      // Reachable through a corrupt/foreign message, so an error, not an assert.
      return make_error("storage.bad_param",
                        "unknown SqlParam kind " + std::to_string(p.kind) + " for parameter " + std::to_string(idx));
  }
}

int Statement::parameter_count() const {
  return sqlite3_bind_parameter_count(stmt_.get());
}

Result<bool> Statement::step() {
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(rc, sqlite3_db_handle(stmt_.get()));
}

void Statement::reset() {
  // The return value repeats the last step's error, which step() already reported.
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

int64_t Statement::column_int64(int col) {
  return sqlite3_column_int64(stmt_.get(), col);
}

double Statement::column_double(int col) {
  return sqlite3_column_double(stmt_.get(), col);
}

std::string Statement::column_text(int col) {
  // Order matters: fetch the pointer first, then the byte count of that form.
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), col));
  const int n = sqlite3_column_bytes(stmt_.get(), col);
  return p ? std::string(p, static_cast<size_t>(n)) : std::string();
}

std::string Statement::column_blob(int col) {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_.get(), col));
  const int n = sqlite3_column_bytes(stmt_.get(), col);
  return p ? std::string(p, static_cast<size_t>(n)) : std::string();
}

bool Statement::column_is_null(int col) {
  return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL;
}

int Statement::column_count() const {
  return sqlite3_column_count(stmt_.get());
}

bool Statement::read_only() const {
  return sqlite3_stmt_readonly(stmt_.get()) != 0;
}

// ----------------------------------------------------------------- Database

void Database::Closer::operator()(sqlite3* db) const noexcept {
  // close_v2 defers the close until outstanding statements are finalized, so the
  // destruction order of a Database and its Statements cannot leak or crash.
  sqlite3_close_v2(db);
}

Result<Database> Database::open(const std::string& path, const OpenOptions& opts) {
  if (opts.synchronous != "FULL" && opts.synchronous != "NORMAL") {
    return make_error("storage.invalid_option", "synchronous must be FULL or NORMAL, got '" + opts.synchronous + "'");
  }
  const int flags =
      (opts.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  // SQLite hands out a handle even on failure; own it first so it is always closed.
  Database db(raw, path);
  if (rc != SQLITE_OK) {
    Error e = sqlite_error(rc, raw);
    e.message += " (" + path + ")";
    return e;
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, opts.busy_timeout_ms);

  if (auto st = db.exec("PRAGMA foreign_keys=ON"); !st) return st.error();

  if (opts.read_only) {
    // Opening is lazy; touch the header now so a missing/non-database file fails here.
    if (auto st = db.exec("PRAGMA schema_version"); !st) return st.error();
    return db;
  }

  // journal_mode answers with the mode actually in effect; a file system without
  // shared-memory support silently stays in rollback mode, which we refuse.
  auto stmt = db.prepare("PRAGMA journal_mode=WAL");
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  const std::string mode = *row ? stmt->column_text(0) : std::string();
  stmt->reset();
  if (mode != "wal" && !is_memory_path(path)) {
    return make_error("storage.wal_unavailable", "could not switch " + path + " to WAL (journal_mode=" + mode + ")");
  }
  if (auto st = db.exec("PRAGMA synchronous=" + opts.synchronous); !st) return st.error();
  return db;
}

Status Database::exec(std::string_view sql) {
  // sqlite3_exec needs a NUL-terminated string.
  const std::string text(sql);
  char* errmsg = nullptr;
  const int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &errmsg);
  const std::unique_ptr<char, decltype(&sqlite3_free)> owned(errmsg, &sqlite3_free);
  if (rc == SQLITE_OK) return {};
  Error e = sqlite_error(rc, db_.get());
  if (errmsg) e.message = errmsg;
  return e;
}

Result<Statement> Database::prepare(std::string_view sql, bool persistent) {
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  const unsigned flags = persistent ? SQLITE_PREPARE_PERSISTENT : 0;
  const int rc = sqlite3_prepare_v3(db_.get(), non_null(sql), static_cast<int>(sql.size()), flags, &raw, &tail);
  Statement stmt(raw);
  if (rc != SQLITE_OK) return sqlite_error(rc, db_.get());
  if (!raw) return make_error("sqlite.misuse", "empty SQL statement");

  // Anything after the first statement must be whitespace or comments: compiling
  // the rest yields no statement exactly in that case.
  const char* end = non_null(sql) + sql.size();
  if (tail && tail < end) {
    sqlite3_stmt* extra = nullptr;
    const int rc2 = sqlite3_prepare_v2(db_.get(), tail, static_cast<int>(end - tail), &extra, nullptr);
    Statement extra_owner(extra);
    if (rc2 != SQLITE_OK || extra) {
      return make_error("storage.multiple_statements",
                        "prepare() takes exactly one statement; use exec() for scripts: " + std::string(sql));
    }
  }
  return stmt;
}

int64_t Database::last_insert_rowid() {
  return sqlite3_last_insert_rowid(db_.get());
}

int64_t Database::changes() {
  return sqlite3_changes64(db_.get());
}

bool Database::in_transaction() {
  return sqlite3_get_autocommit(db_.get()) == 0;
}

// -------------------------------------------------------------- Transaction

Result<Transaction> Transaction::begin(Database& db, bool immediate) {
  if (auto st = db.exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED"); !st) {
    return st.error();
  }
  return Transaction(db);
}

Transaction& Transaction::operator=(Transaction&& other) noexcept {
  if (this != &other) {
    abandon();
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

Transaction::~Transaction() {
  abandon();
}

void Transaction::abandon() noexcept {
  if (db_ == nullptr) return;
  // Some errors (IOERR, FULL, ...) already rolled back; only roll back what is open.
  if (db_->in_transaction()) (void)db_->exec("ROLLBACK");
  db_ = nullptr;
}

Status Transaction::commit() {
  if (db_ == nullptr) return make_error("storage.no_transaction", "transaction is not active");
  if (auto st = db_->exec("COMMIT"); !st) {
    // A failed COMMIT (e.g. SQLITE_BUSY) leaves the transaction open; the
    // destructor (or a retry of commit()) decides its fate.
    if (!db_->in_transaction()) db_ = nullptr;
    return st;
  }
  db_ = nullptr;
  return {};
}

Status Transaction::rollback() {
  if (db_ == nullptr) return make_error("storage.no_transaction", "transaction is not active");
  Database* db = std::exchange(db_, nullptr);
  if (!db->in_transaction()) return {};
  return db->exec("ROLLBACK");
}

}  // namespace sb::storage
