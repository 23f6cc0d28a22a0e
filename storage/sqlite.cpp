#include "storage/sqlite.hpp"

#include <sqlite3.h>

#include <cassert>
#include <cctype>
#include <cstdio>

#include "storage/postgres/pg_connection.hpp"
#include "storage/sql_text.hpp"

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

// Locator values: '%', ';' and control characters percent-encoded, the rest as is.
std::string encode_field(std::string_view v) {
  std::string out;
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '%' || c == ';' || u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "%%%02X", u);
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> decode_field(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out.push_back(v[i]);
      continue;
    }
    const int hi = i + 2 < v.size() ? hex_value(v[i + 1]) : -1;
    const int lo = i + 2 < v.size() ? hex_value(v[i + 2]) : -1;
    if (hi < 0 || lo < 0) return make_error("storage.invalid_locator", "bad percent escape in a postgres: locator");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// Whether a PostgreSQL statement only reads: its first word (after blanks and comments) is
// SELECT, VALUES, SHOW, TABLE or EXPLAIN. A WITH may hide a write: it counts as a write,
// which only costs the group committer a changes() call.
bool pg_reads_only(std::string_view sql) {
  const std::string word = leading_keyword(sql);
  return word == "SELECT" || word == "VALUES" || word == "SHOW" || word == "TABLE" || word == "EXPLAIN";
}

}  // namespace

// ----------------------------------------------------------- PostgreSQL locator

std::string postgres_locator(std::string_view conninfo, std::string_view schema, std::string_view password_file) {
  std::string out(kPostgresLocatorPrefix);
  if (!schema.empty()) out += "schema=" + encode_field(schema) + ";";
  if (!password_file.empty()) out += "password_file=" + encode_field(password_file) + ";";
  out += "conninfo=" + encode_field(conninfo);
  return out;
}

bool is_postgres_locator(std::string_view target) {
  return target.starts_with(kPostgresLocatorPrefix);
}

Result<PostgresTarget> parse_postgres_locator(std::string_view locator) {
  if (!is_postgres_locator(locator)) {
    return make_error("storage.invalid_locator", "not a postgres: locator");
  }
  std::string_view rest = locator.substr(kPostgresLocatorPrefix.size());
  PostgresTarget t;
  bool has_conninfo = false;
  while (!rest.empty()) {
    const size_t end = rest.find(';');
    const std::string_view field = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    const size_t eq = field.find('=');
    if (eq == std::string_view::npos) {
      return make_error("storage.invalid_locator", "postgres: locator field without '=': " + std::string(field));
    }
    const std::string_view key = field.substr(0, eq);
    auto value = decode_field(field.substr(eq + 1));
    if (!value) return value.error();
    if (key == "conninfo") {
      t.conninfo = std::move(*value);
      has_conninfo = true;
    } else if (key == "schema") {
      t.schema = std::move(*value);
    } else if (key == "password_file") {
      t.password_file = std::move(*value);
    } else {
      return make_error("storage.invalid_locator", "unknown postgres: locator field '" + std::string(key) + "'");
    }
  }
  if (!has_conninfo) return make_error("storage.invalid_locator", "postgres: locator without conninfo");
  return t;
}

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

Statement::Statement(sqlite3_stmt* s) : stmt_(s) {}
Statement::Statement(std::unique_ptr<pg::PgStatement> s, bool read_only)
    : pg_(std::move(s)), pg_read_only_(read_only) {}
Statement::Statement(Statement&&) noexcept = default;
Statement& Statement::operator=(Statement&&) noexcept = default;
Statement::~Statement() = default;

Status Statement::check(int rc) {
  if (rc == SQLITE_OK) return {};
  return sqlite_error(rc, sqlite3_db_handle(stmt_.get()));
}

Status Statement::bind(int idx, int64_t v) {
  if (pg_) return pg_->bind(idx, v);
  return check(sqlite3_bind_int64(stmt_.get(), idx, v));
}

Status Statement::bind(int idx, double v) {
  if (pg_) return pg_->bind(idx, v);
  return check(sqlite3_bind_double(stmt_.get(), idx, v));
}

Status Statement::bind(int idx, std::string_view text) {
  if (pg_) return pg_->bind(idx, text);
  return check(sqlite3_bind_text64(stmt_.get(), idx, non_null(text), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}

Status Statement::bind(int idx, std::nullptr_t) {
  if (pg_) return pg_->bind(idx, nullptr);
  return check(sqlite3_bind_null(stmt_.get(), idx));
}

Status Statement::bind_blob(int idx, std::string_view bytes) {
  if (pg_) return pg_->bind_blob(idx, bytes);
  return check(sqlite3_bind_blob64(stmt_.get(), idx, non_null(bytes), bytes.size(), SQLITE_TRANSIENT));
}

Status Statement::bind_param(int idx, const SqlParam& p) {
  if (pg_) return pg_->bind_param(idx, p);
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
  if (pg_) return pg_->parameter_count();
  return sqlite3_bind_parameter_count(stmt_.get());
}

Result<bool> Statement::step() {
  if (pg_) return pg_->step();
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(rc, sqlite3_db_handle(stmt_.get()));
}

void Statement::reset() {
  if (pg_) {
    pg_->reset();
    return;
  }
  // The return value repeats the last step's error, which step() already reported.
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

int64_t Statement::column_int64(int col) {
  if (pg_) return pg_->column_int64(col);
  return sqlite3_column_int64(stmt_.get(), col);
}

double Statement::column_double(int col) {
  if (pg_) return pg_->column_double(col);
  return sqlite3_column_double(stmt_.get(), col);
}

std::string Statement::column_text(int col) {
  if (pg_) return pg_->column_text(col);
  // Order matters: fetch the pointer first, then the byte count of that form.
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), col));
  const int n = sqlite3_column_bytes(stmt_.get(), col);
  return p ? std::string(p, static_cast<size_t>(n)) : std::string();
}

std::string Statement::column_blob(int col) {
  if (pg_) return pg_->column_blob(col);
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_.get(), col));
  const int n = sqlite3_column_bytes(stmt_.get(), col);
  return p ? std::string(p, static_cast<size_t>(n)) : std::string();
}

bool Statement::column_is_null(int col) {
  if (pg_) return pg_->column_is_null(col);
  return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL;
}

ValueType Statement::column_type(int col) {
  if (pg_) return pg_->column_is_null(col) ? ValueType::null : ValueType::text;
  switch (sqlite3_column_type(stmt_.get(), col)) {
    case SQLITE_INTEGER: return ValueType::integer;
    case SQLITE_FLOAT: return ValueType::real;
    case SQLITE_TEXT: return ValueType::text;
    case SQLITE_BLOB: return ValueType::blob;
    default: return ValueType::null;
  }
}

int Statement::column_count() const {
  if (pg_) return pg_->column_count();
  return sqlite3_column_count(stmt_.get());
}

bool Statement::read_only() const {
  if (pg_) return pg_read_only_;
  return sqlite3_stmt_readonly(stmt_.get()) != 0;
}

// ----------------------------------------------------------------- Database

void Database::Closer::operator()(sqlite3* db) const noexcept {
  // close_v2 defers the close until outstanding statements are finalized, so the
  // destruction order of a Database and its Statements cannot leak or crash.
  sqlite3_close_v2(db);
}

Database::Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
Database::Database(std::unique_ptr<pg::PgDatabase> db, std::string locator)
    : pg_(std::move(db)), path_(std::move(locator)) {}
Database::Database(Database&&) noexcept = default;
Database& Database::operator=(Database&&) noexcept = default;
Database::~Database() = default;

Result<Database> Database::open_postgres(const std::string& locator, const OpenOptions& opts) {
  auto target = parse_postgres_locator(locator);
  if (!target) return target.error();
  pg::PgOptions o;
  o.conninfo = target->conninfo;
  o.schema = target->schema;
  o.password_file = target->password_file;
  auto db = pg::PgDatabase::open(o);
  if (!db) return db.error();
  auto owned = std::make_unique<pg::PgDatabase>(std::move(*db));
  // "No writes intended", enforced by the server rather than by convention. A reconnect()
  // starts a fresh session without it; the caller's intent does not change, only the net.
  if (opts.read_only) {
    if (auto st = owned->exec("SET default_transaction_read_only = on"); !st) return st.error();
  }
  return Database(std::move(owned), locator);
}

Result<Database> Database::open(const std::string& path, const OpenOptions& opts) {
  if (is_postgres_locator(path)) return open_postgres(path, opts);
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
  if (pg_) return pg_->exec(sql);
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
  if (pg_) {
    auto prepared = pg_->prepare(sql, persistent);
    if (!prepared) return prepared.error();
    return Statement(std::make_unique<pg::PgStatement>(std::move(*prepared)), pg_reads_only(sql));
  }
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
  assert(!pg_ && "PostgreSQL has no last_insert_rowid(): use INSERT ... RETURNING id");
  if (pg_) return 0;
  return sqlite3_last_insert_rowid(db_.get());
}

int64_t Database::changes() {
  if (pg_) return pg_->changes();
  return sqlite3_changes64(db_.get());
}

bool Database::in_transaction() {
  if (pg_) return pg_->in_transaction();
  return sqlite3_get_autocommit(db_.get()) == 0;
}

// -------------------------------------------------------------- Transaction

const char* Database::begin_sql(bool immediate) const {
  if (pg_) return "BEGIN";
  return immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED";
}

Result<Transaction> Transaction::begin(Database& db, bool immediate) {
  if (auto st = db.exec(db.begin_sql(immediate)); !st) {
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
