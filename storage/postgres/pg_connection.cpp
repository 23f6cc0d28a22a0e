#include "storage/postgres/pg_connection.hpp"

#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <unordered_map>

#include "storage/postgres/pg_error.hpp"
#include "storage/postgres/pg_internal.hpp"
#include "storage/postgres/placeholders.hpp"

namespace sb::storage::pg {

using internal::changes_of;
using internal::result_error;
using internal::ResultPtr;
using internal::trimmed;

namespace {

// Type OIDs from the server's catalog (pg_type.dat); stable across versions, and
// <catalog/pg_type_d.h> is a server header that libpq-dev does not ship.
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kTextOid = 25;
// PostgreSQL's limit on the parameters of one statement (the protocol's Int16 count).
constexpr int kMaxParameters = 65535;

// The largest password file we read: a password is a line, not a document.
constexpr size_t kMaxPasswordFile = 64 * 1024;

// Why a connection attempt (PQconnectPoll/PQresetPoll) failed, without reading the
// translated text: libpq's own flag for a missing password, else the SQLSTATE the
// server sent during start-up (written in front of the text because the connection runs
// with PQERRORS_VERBOSE until it is up), else no server ever answered.
Error connect_error(PGconn* conn) {
  std::string msg = trimmed(PQerrorMessage(conn));
  // The verbose form adds the server's source location: noise for an operator.
  for (size_t at; (at = msg.find("\nLOCATION:  ")) != std::string::npos;) {
    const size_t eol = msg.find('\n', at + 1);
    msg.erase(at, eol == std::string::npos ? std::string::npos : eol - at);
  }
  if (PQconnectionNeedsPassword(conn)) {
    return make_error(std::string(kAuth),
                      "the server asks for a password and none was given (password_file, PGPASSFILE or "
                      "PGPASSWORD): " +
                          msg);
  }
  const std::string state = startup_sqlstate(msg);
  if (state.empty()) return make_error(std::string(kUnreachable), msg);
  return error_for_sqlstate(state, msg);
}

// Drives PQconnectPoll or PQresetPoll to the end, waiting on the socket with poll(2) so
// that the whole attempt (every host of a multi-host string) keeps one deadline: libpq
// ignores connect_timeout in its non-blocking API.
Status drive(PGconn* conn, PostgresPollingStatusType (*poll_fn)(PGconn*), std::chrono::milliseconds timeout) {
  using clock = std::chrono::steady_clock;
  const bool forever = timeout.count() <= 0;
  const auto deadline = clock::now() + timeout;
  // Before the first poll the documented state is "as if it returned WRITING".
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  for (;;) {
    if (st == PGRES_POLLING_OK) return {};
    if (st == PGRES_POLLING_FAILED) return connect_error(conn);
    // The socket can change between calls (libpq moves on to the next address or host).
    const int fd = PQsocket(conn);
    if (fd < 0) return connect_error(conn);
    int wait_ms = -1;
    if (!forever) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
      if (left <= 0) {
        return make_error(std::string(kUnreachable),
                          "no connection to the PostgreSQL server within " + std::to_string(timeout.count()) + " ms");
      }
      wait_ms = static_cast<int>(std::min<int64_t>(left, std::numeric_limits<int>::max()));
    }
    pollfd p{fd, static_cast<short>(st == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
    const int rc = ::poll(&p, 1, wait_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) {
      return make_error(std::string(kUnreachable), std::string("poll on the PostgreSQL socket: ") + strerror(errno));
    }
    if (rc == 0) continue;  // the deadline check above reports it
    st = poll_fn(conn);
  }
}

// The password file: a regular file without group/other permission bits, first line.
// Checked on the open descriptor, so the file that is checked is the file that is read.
Result<std::string> read_password_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return make_error(std::string(kPasswordFile), "cannot open the password file " + path + ": " + strerror(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    return make_error(std::string(kPasswordFile), "cannot stat the password file " + path + ": " + strerror(errno));
  }
  if (!S_ISREG(info.st_mode)) {
    return make_error(std::string(kPasswordFile), "the password file " + path + " is not a regular file");
  }
  if ((info.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    return make_error(std::string(kPasswordFile), "the password file " + path + " has mode " + mode +
                                                      ": it must not be accessible by group or others "
                                                      "(chmod 600 " +
                                                      path + ")");
  }
  std::string content;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return make_error(std::string(kPasswordFile), "cannot read the password file " + path + ": " + strerror(errno));
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
    if (content.size() > kMaxPasswordFile) {
      explicit_bzero(content.data(), content.size());
      return make_error(std::string(kPasswordFile), "the password file " + path + " is larger than 64 KiB");
    }
  }
  explicit_bzero(buf, sizeof buf);
  const size_t eol = content.find_first_of("\r\n");
  std::string password = content.substr(0, eol);
  explicit_bzero(content.data(), content.size());
  if (password.empty()) {
    return make_error(std::string(kPasswordFile), "the password file " + path + " is empty");
  }
  return password;
}

void ignore_notice(void*, const char*) {}

// The pause between two attempts to replace a lost connection.
constexpr std::chrono::milliseconds kReconnectPause{250};

}  // namespace

namespace detail {

struct PgSession {
  PGconn* conn = nullptr;
  std::string schema;
  std::chrono::milliseconds connect_timeout{0};
  uint64_t generation = 1;  // +1 per reconnect: server-side statements of older ones are gone
  uint64_t next_statement = 0;
  int64_t last_changes = 0;
  // Statements destroyed while the transaction was aborted (DEALLOCATE would fail there).
  std::vector<std::string> to_deallocate;
  // run_batch's statements on this session: translated SQL -> name, prepared yet.
  std::unordered_map<std::string, PgDatabase::BatchStatement> batch_statements;
  // Whether the server had a transaction open after the last command that reached it. A
  // connection lost inside a transaction is not replaced until that transaction is ended
  // (ROLLBACK, COMMIT or a new BEGIN): its later statements must fail, not autocommit on a
  // new session.
  bool transaction_open = false;
  // No new session is tried before this time: a server that is down costs one connection
  // attempt per kReconnectPause, not one per statement.
  std::chrono::steady_clock::time_point next_reconnect{};

  PgSession() = default;
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;
  ~PgSession() {
    if (conn) PQfinish(conn);
  }

  bool connected() const { return conn && PQstatus(conn) == CONNECTION_OK; }

  // Records what the server said about the transaction after a command it received.
  void note_transaction_state() {
    if (connected()) transaction_open = PQtransactionStatus(conn) != PQTRANS_IDLE;
  }

  // A new server session with the same settings (PQreset), then the session settings again.
  // Statements prepare themselves again on next use (the generation moves).
  Status reset() {
    PQsetErrorVerbosity(conn, PQERRORS_VERBOSE);
    if (!PQresetStart(conn)) return connect_error(conn);
    if (auto st = drive(conn, &PQresetPoll, connect_timeout); !st) return st;
    PQsetErrorVerbosity(conn, PQERRORS_DEFAULT);
    // A new server session: no prepared statements, session settings back to defaults.
    ++generation;
    to_deallocate.clear();
    batch_statements.clear();
    last_changes = 0;
    transaction_open = false;
    return setup();
  }

  // Ready for a command: connected, or connected again. A server that went away and came
  // back is picked up by the next command after a pause, so every store resumes by itself
  // once the database returns (docs/storage-postgres.md, "When the database is
  // unreachable"); while it is away every command fails fast with postgres.unreachable.
  Status live() {
    if (!conn) return make_error(std::string(kUnreachable), "no PostgreSQL connection (moved from)");
    if (PQstatus(conn) == CONNECTION_OK) return {};
    const std::string lost = "the PostgreSQL connection was lost (" + trimmed(PQerrorMessage(conn)) + ")";
    if (transaction_open) return make_error(std::string(kUnreachable), lost + " inside a transaction");
    const auto now = std::chrono::steady_clock::now();
    if (now < next_reconnect) return make_error(std::string(kUnreachable), lost);
    next_reconnect = now + kReconnectPause;
    if (auto st = reset(); !st) return st;
    next_reconnect = {};
    return {};
  }

  // A command through the simple query protocol (several statements allowed).
  Status exec(const std::string& sql) {
    if (!connected() && transaction_open) {
      // The transaction died with the connection. Ending it is what the caller wants
      // (ROLLBACK: done; COMMIT: outcome unknown, so an error), and a new BEGIN starts over.
      if (sql == "ROLLBACK") {
        transaction_open = false;
        return {};
      }
      if (sql == "COMMIT") {
        // The server rolls back a transaction whose session ends before COMMIT arrives.
        transaction_open = false;
        return make_error(std::string(kUnreachable),
                          "the PostgreSQL connection was lost inside the transaction; nothing of it was committed");
      }
      if (sql == "BEGIN") transaction_open = false;
    }
    if (auto st = live(); !st) return st;
    ResultPtr r(PQexec(conn, sql.c_str()));
    note_transaction_state();
    const ExecStatusType s = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY) {
      last_changes = changes_of(r.get());
      return {};
    }
    return result_error(conn, r.get());
  }

  // DEALLOCATEs what destroyed statements left behind, once the session can run it.
  void flush_deallocations() {
    if (to_deallocate.empty() || !connected()) return;
    if (PQtransactionStatus(conn) == PQTRANS_INERROR) return;
    std::string sql;
    for (const auto& name : to_deallocate) sql += "DEALLOCATE " + name + ";";
    to_deallocate.clear();
    (void)exec(sql);
  }

  // What every session of this connection runs first: durable commits and the schema.
  Status setup() {
    // The server default may have been relaxed by an administrator; a squadbox commit is
    // durable on return (the webhook's 2xx depends on it), so the session insists.
    if (auto st = exec("SET synchronous_commit = on"); !st) return st;
    if (schema.empty()) return {};
    char* quoted = PQescapeIdentifier(conn, schema.c_str(), schema.size());
    if (!quoted) return make_error(std::string(kInvalidOption), "schema name: " + trimmed(PQerrorMessage(conn)));
    const std::string ident = quoted;
    PQfreemem(quoted);
    // Look before creating: a role may own its schema without CREATE on the database.
    const char* values[1] = {schema.c_str()};
    ResultPtr r(PQexecParams(conn, "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", 1, nullptr, values,
                             nullptr, nullptr, 0));
    if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) return result_error(conn, r.get());
    if (PQntuples(r.get()) == 0) {
      auto st = exec("CREATE SCHEMA IF NOT EXISTS " + ident);
      // Two sessions creating the same schema at once: the loser's IF NOT EXISTS does not
      // see the winner's uncommitted row and fails on pg_namespace's unique index. The
      // schema exists either way.
      if (!st && st.error().code != kConstraintViolation) return st;
    }
    return exec("SET search_path = " + ident);
  }
};

}  // namespace detail

// ---------------------------------------------------------------- PgStatement

void PgStatement::ResultDeleter::operator()(pg_result* r) const noexcept {
  PQclear(r);
}

PgStatement::PgStatement(std::shared_ptr<detail::PgSession> s, std::string name, std::string sql, int nparams,
                         int ncolumns, uint64_t generation)
    : session_(std::move(s)),
      name_(std::move(name)),
      sql_(std::move(sql)),
      nparams_(nparams),
      ncolumns_(ncolumns),
      generation_(generation),
      values_(static_cast<size_t>(nparams)),
      is_null_(static_cast<size_t>(nparams), 1),
      formats_(static_cast<size_t>(nparams), 0) {}

PgStatement::PgStatement(PgStatement&&) noexcept = default;

PgStatement& PgStatement::operator=(PgStatement&& other) noexcept {
  if (this != &other) {
    release();
    session_ = std::move(other.session_);
    name_ = std::move(other.name_);
    sql_ = std::move(other.sql_);
    types_ = std::move(other.types_);
    nparams_ = other.nparams_;
    ncolumns_ = other.ncolumns_;
    generation_ = other.generation_;
    values_ = std::move(other.values_);
    is_null_ = std::move(other.is_null_);
    formats_ = std::move(other.formats_);
    result_ = std::move(other.result_);
    row_ = other.row_;
    changes_ = other.changes_;
  }
  return *this;
}

PgStatement::~PgStatement() {
  release();
}

void PgStatement::release() noexcept {
  result_.reset();
  auto s = std::move(session_);
  session_.reset();
  if (!s || name_.empty() || !s->connected() || generation_ != s->generation) return;
  // Prepared statements live as long as the session unless deallocated. In an aborted
  // transaction DEALLOCATE itself would fail: leave it to the next prepare().
  if (PQtransactionStatus(s->conn) == PQTRANS_INERROR) {
    s->to_deallocate.push_back(name_);
    return;
  }
  const std::string sql = "DEALLOCATE " + name_;
  ResultPtr r(PQexec(s->conn, sql.c_str()));
}

Status PgStatement::check_index(int idx) const {
  if (idx < 1 || idx > nparams_) {
    return make_error(std::string(kRange),
                      "parameter index " + std::to_string(idx) + " outside 1.." + std::to_string(nparams_));
  }
  return {};
}

Status PgStatement::set(int idx, std::string_view value, bool null, int format) {
  if (auto st = check_index(idx); !st) return st;
  const auto i = static_cast<size_t>(idx - 1);
  values_[i].assign(value.data() ? value.data() : "", value.size());
  is_null_[i] = null ? 1 : 0;
  formats_[i] = format;
  return {};
}

Status PgStatement::bind(int idx, int64_t v) {
  return set(idx, std::to_string(v), false, 0);
}

Status PgStatement::bind(int idx, double v) {
  return set(idx, internal::double_text(v), false, 0);
}

Status PgStatement::bind(int idx, std::string_view text) {
  // Text parameters travel NUL-terminated and PostgreSQL's text cannot hold a NUL: the
  // value would be cut short silently. SQLite keeps it, so say so instead.
  if (text.find('\0') != std::string_view::npos) {
    return make_error(std::string(kBadParam), "text parameter " + std::to_string(idx) +
                                                  " contains a NUL byte, which PostgreSQL text cannot hold "
                                                  "(bind_blob for bytes)");
  }
  return set(idx, text, false, 0);
}

Status PgStatement::bind(int idx, std::nullptr_t) {
  return set(idx, {}, true, 0);
}

// Binary format: bytea's binary form is the bytes themselves (no escaping, NULs kept).
Status PgStatement::bind_blob(int idx, std::string_view bytes) {
  return set(idx, bytes, false, 1);
}

Status PgStatement::bind_param(int idx, const SqlParam& p) {
  switch (p.kind) {
    case SqlParam::null_value: return bind(idx, nullptr);
    case SqlParam::integer: return bind(idx, p.i);
    case SqlParam::real: return bind(idx, p.d);
    case SqlParam::text: return bind(idx, std::string_view(p.s));
    case SqlParam::blob: return bind_blob(idx, p.s);
    default:
      // Reachable through a corrupt/foreign message, so an error, not an assert.
      return make_error(std::string(kBadParam),
                        "unknown SqlParam kind " + std::to_string(p.kind) + " for parameter " + std::to_string(idx));
  }
}

Status PgStatement::ensure_prepared() {
  if (generation_ == session_->generation) return {};
  // A reconnect started a new server session, which has none of the old statements.
  ResultPtr r(PQprepare(session_->conn, name_.c_str(), sql_.c_str(), static_cast<int>(types_.size()),
                        types_.empty() ? nullptr : types_.data()));
  if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) return result_error(session_->conn, r.get());
  generation_ = session_->generation;
  return {};
}

Result<bool> PgStatement::step() {
  if (result_) {
    if (row_ + 1 < PQntuples(result_.get())) {
      ++row_;
      return true;
    }
    // Done: the next step() runs the statement again (sqlite3_step's auto-reset).
    result_.reset();
    row_ = -1;
    return false;
  }
  if (!session_) return make_error(std::string(kUnreachable), "statement was moved from");
  if (auto st = session_->live(); !st) return st.error();
  if (auto st = ensure_prepared(); !st) return st.error();
  std::vector<const char*> values(static_cast<size_t>(nparams_));
  std::vector<int> lengths(static_cast<size_t>(nparams_));
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = is_null_[i] ? nullptr : values_[i].c_str();
    lengths[i] = static_cast<int>(values_[i].size());
  }
  ResultPtr r(PQexecPrepared(session_->conn, name_.c_str(), nparams_, values.data(), lengths.data(), formats_.data(),
                             /*resultFormat=*/0));
  session_->note_transaction_state();
  const ExecStatusType s = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK || s == PGRES_EMPTY_QUERY) {
    changes_ = changes_of(r.get());
    session_->last_changes = changes_;
    if (s == PGRES_TUPLES_OK && PQntuples(r.get()) > 0) {
      result_.reset(r.release());
      row_ = 0;
      return true;
    }
    return false;
  }
  return result_error(session_->conn, r.get());
}

void PgStatement::reset() {
  result_.reset();
  row_ = -1;
  for (size_t i = 0; i < values_.size(); ++i) {
    values_[i].clear();
    is_null_[i] = 1;
    formats_[i] = 0;
  }
}

const char* PgStatement::value(int col) const {
  if (!result_ || col < 0 || col >= PQnfields(result_.get())) return nullptr;
  if (PQgetisnull(result_.get(), row_, col)) return nullptr;
  return PQgetvalue(result_.get(), row_, col);
}

int PgStatement::length(int col) const {
  return PQgetlength(result_.get(), row_, col);
}

bool PgStatement::is_bytea(int col) const {
  return PQftype(result_.get(), col) == kByteaOid;
}

int64_t PgStatement::column_int64(int col) {
  const char* v = value(col);
  if (!v) return 0;
  if (PQftype(result_.get(), col) == kBoolOid) return v[0] == 't' ? 1 : 0;
  const char* end = v + length(col);
  int64_t i = 0;
  if (auto r = std::from_chars(v, end, i); r.ec == std::errc() && r.ptr == end) return i;
  // numeric/real text: SQLite truncates toward zero and saturates at the int64 range.
  double d = 0;
  if (auto r = std::from_chars(v, end, d); r.ec != std::errc() || std::isnan(d)) return 0;
  if (d >= 9.2233720368547758e18) return std::numeric_limits<int64_t>::max();
  if (d <= -9.2233720368547758e18) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(d);
}

double PgStatement::column_double(int col) {
  const char* v = value(col);
  if (!v) return 0;
  if (PQftype(result_.get(), col) == kBoolOid) return v[0] == 't' ? 1 : 0;
  // from_chars reads float8out's "Infinity", "-Infinity" and "NaN" too.
  double d = 0;
  std::from_chars(v, v + length(col), d);
  return d;
}

std::string PgStatement::column_blob(int col) {
  const char* v = value(col);
  if (!v) return {};
  if (!is_bytea(col)) return std::string(v, static_cast<size_t>(length(col)));
  // Text-format bytea arrives as "\x48656c6c6f" (bytea_output=hex, the default).
  size_t n = 0;
  unsigned char* bytes = PQunescapeBytea(reinterpret_cast<const unsigned char*>(v), &n);
  if (!bytes) return {};
  std::string out(reinterpret_cast<const char*>(bytes), n);
  PQfreemem(bytes);
  return out;
}

std::string PgStatement::column_text(int col) {
  return column_blob(col);
}

bool PgStatement::column_is_null(int col) {
  return value(col) == nullptr;
}

// ----------------------------------------------------------------- PgDatabase

Result<PgDatabase> PgDatabase::open(const PgOptions& opts) {
  if (opts.connect_timeout.count() < 0) {
    return make_error(std::string(kInvalidOption), "connect_timeout must not be negative");
  }
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(opts.conninfo.c_str(), &parse_error);
  if (!parsed) {
    std::string why = parse_error ? trimmed(parse_error) : "out of memory";
    PQfreemem(parse_error);
    return make_error(std::string(kInvalidOption), "PostgreSQL connection string: " + why);
  }
  const std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> owned(parsed, &PQconninfoFree);

  std::vector<const char*> keys, values;
  bool has_app = false, has_encoding = false;
  for (const PQconninfoOption* o = parsed; o->keyword; ++o) {
    if (!o->val) continue;
    const std::string_view key = o->keyword;
    if (key == "password") {
      // The connection string ends up in configuration files and process listings.
      return make_error(std::string(kInvalidOption),
                        "the PostgreSQL connection string must not contain a password: use a password file "
                        "(mode 0600), PGPASSFILE or PGPASSWORD");
    }
    has_app = has_app || key == "application_name" || key == "fallback_application_name";
    has_encoding = has_encoding || key == "client_encoding";
    keys.push_back(o->keyword);
    values.push_back(o->val);
  }
  std::string password;
  if (!opts.password_file.empty()) {
    auto p = read_password_file(opts.password_file);
    if (!p) return p.error();
    password = std::move(*p);
    keys.push_back("password");
    values.push_back(password.c_str());
  }
  if (!has_app) {
    keys.push_back("fallback_application_name");
    values.push_back("squadbox");
  }
  if (!has_encoding) {  // the stores read and write UTF-8
    keys.push_back("client_encoding");
    values.push_back("UTF8");
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);

  auto session = std::make_shared<detail::PgSession>();
  session->schema = opts.schema;
  session->connect_timeout = opts.connect_timeout;
  session->conn = PQconnectStartParams(keys.data(), values.data(), /*expand_dbname=*/0);
  if (!password.empty()) explicit_bzero(password.data(), password.size());  // libpq has its copy
  if (!session->conn) return make_error(std::string(kError), "out of memory creating a PostgreSQL connection");
  // Notices ("schema already exists, skipping") would go to stderr by default.
  PQsetNoticeProcessor(session->conn, &ignore_notice, nullptr);
  if (PQstatus(session->conn) == CONNECTION_BAD) return connect_error(session->conn);
  PQsetErrorVerbosity(session->conn, PQERRORS_VERBOSE);  // start-up errors carry the SQLSTATE
  if (auto st = drive(session->conn, &PQconnectPoll, opts.connect_timeout); !st) return st.error();
  PQsetErrorVerbosity(session->conn, PQERRORS_DEFAULT);
  if (auto st = session->setup(); !st) return st.error();
  return PgDatabase(std::move(session));
}

PgDatabase::~PgDatabase() = default;

Status PgDatabase::exec(std::string_view sql) {
  if (!session_) return make_error(std::string(kUnreachable), "database was moved from");
  session_->flush_deallocations();
  return session_->exec(std::string(sql));
}

Result<PgStatement> PgDatabase::prepare(std::string_view sql, bool /*persistent*/) {
  if (!session_) return make_error(std::string(kUnreachable), "database was moved from");
  if (auto st = session_->live(); !st) return st.error();
  TranslatedSql t = translate_sql(sql);
  if (t.multiple_statements) {
    return make_error(std::string(kMultipleStatements),
                      "prepare() takes exactly one statement; use exec() for scripts: " + std::string(sql));
  }
  session_->flush_deallocations();
  PGconn* conn = session_->conn;
  std::string name = "sb_" + std::to_string(++session_->next_statement);
  // SQLite accepts numbers that the text never uses (?2 without ?1); PostgreSQL cannot infer
  // a type for such a parameter and refuses the statement. Declare the unused ones as text
  // (binding them stays possible and harmless); the server infers every used one.
  std::vector<unsigned> types;  // Oid is unsigned int
  if (t.max_parameter > 0 && t.max_parameter <= kMaxParameters) {
    types.assign(static_cast<size_t>(t.max_parameter), 0);
    for (size_t n = 1; n <= types.size(); ++n) {
      if (n >= t.used.size() || !t.used[n]) types[n - 1] = kTextOid;
    }
  }
  ResultPtr r(PQprepare(conn, name.c_str(), t.sql.c_str(), static_cast<int>(types.size()),
                        types.empty() ? nullptr : types.data()));
  if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) return result_error(conn, r.get());
  // From here the statement owns the server-side name (its destructor deallocates it).
  PgStatement stmt(session_, name, std::move(t.sql), 0, 0, session_->generation);
  stmt.types_ = std::move(types);
  ResultPtr d(PQdescribePrepared(conn, name.c_str()));
  if (!d || PQresultStatus(d.get()) != PGRES_COMMAND_OK) return result_error(conn, d.get());
  const int nparams = PQnparams(d.get());
  stmt.nparams_ = nparams;
  stmt.ncolumns_ = PQnfields(d.get());
  stmt.values_.assign(static_cast<size_t>(nparams), std::string());
  stmt.is_null_.assign(static_cast<size_t>(nparams), 1);
  stmt.formats_.assign(static_cast<size_t>(nparams), 0);
  return stmt;
}

int64_t PgDatabase::changes() const {
  return session_ ? session_->last_changes : 0;
}

bool PgDatabase::in_transaction() const {
  if (!session_ || !session_->conn) return false;
  // Lost with the connection: still open for the caller until it ends it (exec above).
  if (!session_->connected()) return session_->transaction_open;
  const PGTransactionStatusType t = PQtransactionStatus(session_->conn);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

Status PgDatabase::ping() {
  if (!session_) return make_error(std::string(kUnreachable), "database was moved from");
  // The empty query: a round trip the server answers without parsing anything.
  return session_->exec("");
}

bool PgDatabase::is_connected() const {
  return session_ && session_->connected();
}

Status PgDatabase::reconnect() {
  if (!session_ || !session_->conn) return make_error(std::string(kUnreachable), "database was moved from");
  return session_->reset();
}

const std::string& PgDatabase::schema() const {
  static const std::string none;
  return session_ ? session_->schema : none;
}

pg_conn* PgDatabase::handle() {
  return session_ ? session_->conn : nullptr;
}

PgDatabase::BatchStatement PgDatabase::batch_statement(const std::string& sql) {
  if (!session_) return {};
  auto& cache = session_->batch_statements;
  if (auto it = cache.find(sql); it != cache.end()) return it->second;
  if (cache.size() >= kMaxBatchStatements) return {};
  // Its own prefix: PgStatement names its statements sb_N from the same counter.
  BatchStatement entry{"sbb_" + std::to_string(++session_->next_statement), false};
  cache.emplace(sql, entry);
  return entry;
}

void PgDatabase::batch_statement_prepared(const std::string& sql) {
  if (!session_) return;
  if (auto it = session_->batch_statements.find(sql); it != session_->batch_statements.end())
    it->second.prepared = true;
}

// -------------------------------------------------------------- PgTransaction

Result<PgTransaction> PgTransaction::begin(PgDatabase& db) {
  // PostgreSQL only warns about a nested BEGIN and carries on; SQLite refuses it. Refuse
  // it here too: the inner scope's commit would otherwise commit the outer one's work.
  if (db.in_transaction()) return make_error(std::string(kError), "a transaction is already open on this connection");
  if (auto st = db.exec("BEGIN"); !st) return st.error();
  return PgTransaction(db);
}

PgTransaction& PgTransaction::operator=(PgTransaction&& other) noexcept {
  if (this != &other) {
    abandon();
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

PgTransaction::~PgTransaction() {
  abandon();
}

void PgTransaction::abandon() noexcept {
  if (db_ == nullptr) return;
  // A lost connection already ended it on the server; exec("ROLLBACK") then only says so.
  if (db_->in_transaction()) (void)db_->exec("ROLLBACK");
  db_ = nullptr;
}

Status PgTransaction::commit() {
  if (db_ == nullptr) return make_error(std::string(kNoTransaction), "transaction is not active");
  PgDatabase* db = std::exchange(db_, nullptr);
  if (db->is_connected() && PQtransactionStatus(db->handle()) == PQTRANS_INERROR) {
    (void)db->exec("ROLLBACK");
    return make_error(std::string(kError), "the transaction was aborted by an earlier error and has been rolled back");
  }
  // Whatever COMMIT answers, the transaction is over: committed, rolled back by the server
  // (a deferred constraint, a serialization failure), or, if the connection is lost, of
  // unknown outcome; postgres.unreachable from here means "may or may not have committed".
  return db->exec("COMMIT");
}

Status PgTransaction::rollback() {
  if (db_ == nullptr) return make_error(std::string(kNoTransaction), "transaction is not active");
  PgDatabase* db = std::exchange(db_, nullptr);
  if (!db->in_transaction()) return {};
  return db->exec("ROLLBACK");
}

}  // namespace sb::storage::pg
