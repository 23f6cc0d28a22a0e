#include "storage/storage_copy.hpp"

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <map>
#include <optional>
#include <set>

#include "storage/audit_store.hpp"
#include "storage/error_codes.hpp"
#include "storage/migrations.hpp"
#include "storage/schema_postgres.hpp"

namespace sb::storage {

namespace {

constexpr std::string_view kInUse = kCopySourceInUse;
constexpr std::string_view kNotFound = kCopySourceMissing;
constexpr std::string_view kTargetNotEmpty = kCopyTargetNotEmpty;
constexpr std::string_view kSchemaMismatch = kCopySchemaMismatch;
constexpr std::string_view kTypeMismatch = kCopyTypeMismatch;
constexpr std::string_view kWrongEngine = kCopyWrongEngine;

// PostgreSQL's own bookkeeping table (schema_postgres.hpp); SQLite keeps its version in
// the file header, so it has no counterpart to copy.
constexpr std::string_view kPostgresVersionTableName = "squadbox_schema";

// Rows per INSERT statement: one round trip per batch, under PostgreSQL's limit of 65535
// parameters per statement.
constexpr int64_t kMaxBatchRows = 500;
constexpr int64_t kMaxBatchParams = 30000;

// Copy-order edges that no foreign key states: PostgreSQL's trigger on namespaces inserts
// the new namespace's namespace_id_ranges row (ON CONFLICT DO NOTHING), so the ranges must
// be in before the namespaces, or the trigger would hand out fresh slots and the copied
// rows would collide with them. {table, must come after}.
constexpr std::pair<std::string_view, std::string_view> kTriggerOrder[] = {
    {"namespaces", "namespace_id_ranges"},
};

Error error(std::string_view code, std::string message) {
  return make_error(std::string(code), std::move(message));
}

// "name" as an SQL identifier (both engines quote alike). Names come from the schemas'
// catalogs, never from input; quoting keeps reserved words such as "trigger" safe.
std::string quote(std::string_view name) {
  std::string out = "\"";
  for (const char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string join_quoted(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + quote(n);
  return out;
}

std::string join_plain(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

Result<std::vector<std::string>> text_column(Database& db, std::string_view sql, std::string_view param = {}) {
  auto stmt = db.prepare(sql);
  if (!stmt) return stmt.error();
  if (!param.empty()) {
    if (auto st = stmt->bind(1, param); !st) return st.error();
  }
  std::vector<std::string> out;
  while (true) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(stmt->column_text(0));
  }
  stmt->reset();
  return out;
}

Result<int64_t> count_rows(Database& db, const std::string& table) {
  auto stmt = db.prepare("SELECT count(*) FROM " + quote(table));
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  const int64_t n = *row ? stmt->column_int64(0) : 0;
  stmt->reset();
  return n;
}

Result<std::string> current_schema(Database& to) {
  auto names = text_column(to, "SELECT COALESCE(current_schema(), '')");
  if (!names) return names.error();
  return names->empty() ? std::string() : names->front();
}

// Tables of the SQLite schema, without SQLite's own (sqlite_sequence, sqlite_stat1, ...).
Result<std::vector<std::string>> sqlite_tables(Database& from) {
  return text_column(from,
                     "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                     "ORDER BY name");
}

// Tables of the target schema (the session's current schema), without squadbox_schema.
Result<std::vector<std::string>> postgres_tables(Database& to) {
  auto names = text_column(to,
                           "SELECT c.relname FROM pg_catalog.pg_class c "
                           "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY c.relname");
  if (!names) return names.error();
  std::erase(*names, std::string(kPostgresVersionTableName));
  return names;
}

struct Column {
  std::string name;
  std::string pg_type;  // format_type(): bigint, integer, text, bytea, boolean, ...
};

Result<std::vector<Column>> postgres_columns(Database& to, const std::string& table) {
  auto stmt = to.prepare(
      "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a "
      "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = current_schema() AND c.relname = ?1 AND a.attnum > 0 AND NOT a.attisdropped "
      "ORDER BY a.attnum");
  if (!stmt) return stmt.error();
  if (auto st = stmt->bind(1, std::string_view(table)); !st) return st.error();
  std::vector<Column> out;
  while (true) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back({stmt->column_text(0), stmt->column_text(1)});
  }
  stmt->reset();
  return out;
}

// The tables `table` references by foreign key on SQLite (itself excluded).
Result<std::vector<std::string>> sqlite_references(Database& from, const std::string& table) {
  auto refs = text_column(from, "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?1)", table);
  if (!refs) return refs.error();
  std::erase(*refs, table);
  return refs;
}

// Referenced tables first (and kTriggerOrder); ties in name order, so the order is stable.
Result<std::vector<std::string>> copy_order(Database& from, const std::vector<std::string>& tables) {
  std::map<std::string, std::set<std::string>> after;  // table -> tables it must follow
  for (const auto& t : tables) {
    auto refs = sqlite_references(from, t);
    if (!refs) return refs.error();
    after[t].insert(refs->begin(), refs->end());
  }
  for (const auto& [table, first] : kTriggerOrder) {
    const std::string t(table), f(first);
    if (after.contains(t) && after.contains(f)) after[t].insert(f);
  }
  std::vector<std::string> order;
  std::set<std::string> placed;
  while (order.size() < tables.size()) {
    bool progressed = false;
    for (const auto& t : tables) {
      if (placed.contains(t)) continue;
      const bool ready = std::all_of(after[t].begin(), after[t].end(), [&](const std::string& dep) {
        return placed.contains(dep) || !after.contains(dep);  // a reference outside the schema fails at insert
      });
      if (!ready) continue;
      order.push_back(t);
      placed.insert(t);
      progressed = true;
      break;  // restart in name order
    }
    if (!progressed) return error(kSchemaMismatch, "the foreign keys between the tables form a cycle");
  }
  return order;
}

std::string insert_sql(const std::string& table, const std::vector<std::string>& columns, int64_t rows) {
  std::string sql = "INSERT INTO " + quote(table) + " (" + join_quoted(columns) + ") VALUES ";
  const auto n = columns.size();
  for (int64_t r = 0; r < rows; ++r) {
    sql += (r == 0 ? "(" : ", (");
    for (size_t c = 0; c < n; ++c) {
      if (c > 0) sql += ", ";
      sql += "?" + std::to_string(r * static_cast<int64_t>(n) + static_cast<int64_t>(c) + 1);
    }
    sql += ")";
  }
  return sql;
}

std::string value_type_name(ValueType t) {
  switch (t) {
    case ValueType::integer: return "integer";
    case ValueType::real: return "real";
    case ValueType::text: return "text";
    case ValueType::blob: return "blob";
    case ValueType::null: return "NULL";
  }
  return "unknown";
}

// The SQLite value in column `col` as the parameter for a PostgreSQL column of type
// `pg_type`: bound by the value's own type, converted only where the target's type says how
// (text into bytea keeps its bytes; 0/1 into boolean). Anything else would change the
// value, so it is an error naming the place.
Result<SqlParam> convert(Statement& src, int col, const std::string& pg_type, const std::string& table,
                         const std::string& column, int64_t rowid) {
  const ValueType vt = src.column_type(col);
  const bool is_bytea = pg_type == "bytea";
  const bool is_bool = pg_type == "boolean";
  const bool is_int = pg_type == "bigint" || pg_type == "integer" || pg_type == "smallint";
  const bool is_real = pg_type == "double precision" || pg_type == "real" || pg_type.starts_with("numeric");
  const bool is_text = pg_type == "text" || pg_type.starts_with("character");
  auto mismatch = [&] {
    return error(kTypeMismatch, "table " + table + ", column " + column + ", rowid " + std::to_string(rowid) + ": a " +
                                    value_type_name(vt) + " value cannot go into PostgreSQL's " + pg_type + " column");
  };
  switch (vt) {
    case ValueType::null: return SqlParam::null();
    case ValueType::integer: {
      const int64_t v = src.column_int64(col);
      if (is_bool) {
        if (v != 0 && v != 1) return mismatch();
        return SqlParam::of(std::string(v ? "true" : "false"));
      }
      if (is_int || is_real) return SqlParam::of(v);
      return mismatch();
    }
    case ValueType::real:
      if (is_real) return SqlParam::of(src.column_double(col));
      return mismatch();
    case ValueType::text:
      if (is_bytea) return SqlParam::blob_of(src.column_text(col));
      if (is_text) return SqlParam::of(src.column_text(col));
      return mismatch();
    case ValueType::blob:
      if (is_bytea) return SqlParam::blob_of(src.column_blob(col));
      return mismatch();
  }
  return mismatch();
}

Status copy_table(Database& from, Database& to, const std::string& table, const std::vector<Column>& columns,
                  int64_t total, const CopyProgressFn& progress) {
  std::vector<std::string> names;
  for (const auto& c : columns) names.push_back(c.name);
  const auto ncols = static_cast<int64_t>(columns.size());
  const int64_t batch_rows = std::clamp<int64_t>(kMaxBatchParams / std::max<int64_t>(ncols, 1), 1, kMaxBatchRows);

  auto select = from.prepare("SELECT " + join_quoted(names) + ", rowid FROM " + quote(table) + " ORDER BY rowid");
  if (!select) return select.error();
  std::optional<Statement> full;  // the statement of a whole batch, prepared once
  std::vector<SqlParam> params;
  params.reserve(static_cast<size_t>(batch_rows * ncols));
  int64_t done = 0, pending = 0;

  auto flush = [&]() -> Status {
    if (pending == 0) return {};
    Statement* stmt = nullptr;
    std::optional<Statement> tail;
    if (pending == batch_rows) {
      if (!full) {
        auto s = to.prepare(insert_sql(table, names, batch_rows));
        if (!s) return s.error();
        full.emplace(std::move(*s));
      }
      stmt = &*full;
    } else {
      auto s = to.prepare(insert_sql(table, names, pending));
      if (!s) return s.error();
      tail.emplace(std::move(*s));
      stmt = &*tail;
    }
    auto located = [&](Error e) {
      e.message = "copying " + table + " (rows " + std::to_string(done + 1) + "-" + std::to_string(done + pending) +
                  " in rowid order): " + e.message;
      return e;
    };
    for (size_t i = 0; i < params.size(); ++i) {
      if (auto st = stmt->bind_param(static_cast<int>(i) + 1, params[i]); !st) return located(st.error());
    }
    auto ran = stmt->step();
    stmt->reset();
    if (!ran) return located(ran.error());
    done += pending;
    pending = 0;
    params.clear();
    if (progress) progress({table, done, total});
    return {};
  };

  while (true) {
    auto row = select->step();
    if (!row) return row.error();
    if (!*row) break;
    const int64_t rowid = select->column_int64(static_cast<int>(ncols));
    for (int c = 0; c < ncols; ++c) {
      auto p = convert(*select, c, columns[static_cast<size_t>(c)].pg_type, table, columns[static_cast<size_t>(c)].name,
                       rowid);
      if (!p) return p.error();
      params.push_back(std::move(*p));
    }
    if (++pending == batch_rows) {
      if (auto st = flush(); !st) return st;
    }
  }
  select->reset();
  return flush();
}

// Moves each identity past the copied ids (schema_postgres.hpp); for SQLite's AUTOINCREMENT
// tables also past the highest id ever handed out (sqlite_sequence), which may be above
// the highest id still present: such ids are never handed out twice.
Status reset_identities(Database& from, Database& to) {
  std::map<std::string, int64_t> autoincrement;  // table -> sqlite_sequence.seq
  auto has_sequence =
      from.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'");
  if (!has_sequence) return has_sequence.error();
  auto row = has_sequence->step();
  if (!row) return row.error();
  const bool sequence_table = *row && has_sequence->column_int64(0) > 0;
  has_sequence->reset();
  if (sequence_table) {
    auto seqs = from.prepare("SELECT name, seq FROM sqlite_sequence");
    if (!seqs) return seqs.error();
    while (true) {
      auto r = seqs->step();
      if (!r) return r.error();
      if (!*r) break;
      autoincrement[seqs->column_text(0)] = seqs->column_int64(1);
    }
    seqs->reset();
  }
  for (const IdentityColumn& id : postgres_identity_columns()) {
    if (auto st = to.exec(postgres_reset_identity_sql(id)); !st) return st;
    const auto it = autoincrement.find(id.table);
    if (it == autoincrement.end()) continue;
    const std::string table = id.table, column = id.column;
    // Only ever moves the sequence forward: the larger of max(id) + 1 and seq + 1.
    const std::string sql = "SELECT setval(pg_get_serial_sequence('" + table + "', '" + column + "'), GREATEST(" +
                            std::to_string(it->second) + ", COALESCE((SELECT max(" + quote(column) + ") FROM " +
                            quote(table) + "), 0)) + 1, false)";
    if (auto st = to.exec(sql); !st) return st;
  }
  return {};
}

}  // namespace

bool CopyReport::counts_match() const {
  return std::all_of(tables.begin(), tables.end(), [](const TableCopy& t) { return t.source_rows == t.target_rows; });
}

bool CopyReport::chain_matches() const {
  return !target_chain.fault && !source_chain.fault && target_chain.records == source_chain.records &&
         target_chain.head == source_chain.head;
}

Result<Database> open_stopped_sqlite(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return error(kNotFound, "no SQLite database at " + path + " (wrong --data-dir?)");
  }
  OpenOptions o;
  o.busy_timeout_ms = 1000;  // a writer between two batches lets go within milliseconds
  auto db = Database::open(path, o);
  if (!db) return db.error();
  // EXCLUSIVE locking mode: the lock taken by the next write transaction is kept until the
  // connection closes. In WAL mode every other open connection (a running node's, even an
  // idle one) holds a shared lock on the file, so taking it fails with busy.
  if (auto st = db->exec("PRAGMA locking_mode = EXCLUSIVE"); !st) return st.error();
  if (auto st = db->exec("BEGIN EXCLUSIVE"); !st) {
    if (st.error().code == "sqlite.busy" || st.error().code == "sqlite.locked") {
      return error(kInUse, path +
                               " is open in another process: stop the node that runs on this data directory "
                               "(and any squadbox command reading it) first");
    }
    return st.error();
  }
  if (auto st = db->exec("COMMIT"); !st) return st.error();
  return db;
}

Status check_postgres_target_empty(Database& to) {
  if (to.engine() != Engine::postgres) return error(kWrongEngine, "the target is not a PostgreSQL database");
  auto schema = current_schema(to);
  if (!schema) return schema.error();
  auto tables = postgres_tables(to);
  if (!tables) return tables.error();
  for (const auto& t : *tables) {
    auto stmt = to.prepare("SELECT 1 FROM " + quote(t) + " LIMIT 1");
    if (!stmt) return stmt.error();
    auto row = stmt->step();
    if (!row) return row.error();
    stmt->reset();
    if (*row) {
      return error(kTargetNotEmpty, "the PostgreSQL schema \"" + *schema + "\" is not empty (table " + t +
                                        " has rows); migrate copies into an empty schema only: choose another "
                                        "--schema, or drop this one if its data is not needed");
    }
  }
  return {};
}

Result<CopyReport> copy_sqlite_to_postgres(Database& from, Database& to, const CopyProgressFn& progress) {
  if (from.engine() != Engine::sqlite) return error(kWrongEngine, "the source is not a SQLite database");
  if (to.engine() != Engine::postgres) return error(kWrongEngine, "the target is not a PostgreSQL database");
  const int from_version = schema_version(from), to_version = schema_version(to);
  if (from_version != kSchemaVersion || to_version != kSchemaVersion) {
    return error(kSchemaMismatch, "both databases must be at schema version " + std::to_string(kSchemaVersion) +
                                      " (run migrate() first): the source is at " + std::to_string(from_version) +
                                      ", the target at " + std::to_string(to_version));
  }
  CopyReport report;
  auto schema = current_schema(to);
  if (!schema) return schema.error();
  report.target_schema = *schema;

  // The same tables on both sides, and in each the same columns.
  auto source_tables = sqlite_tables(from);
  if (!source_tables) return source_tables.error();
  auto target_tables = postgres_tables(to);
  if (!target_tables) return target_tables.error();
  const std::set<std::string> src(source_tables->begin(), source_tables->end());
  const std::set<std::string> dst(target_tables->begin(), target_tables->end());
  std::set<std::string> only_source, only_target;
  std::set_difference(src.begin(), src.end(), dst.begin(), dst.end(), std::inserter(only_source, only_source.end()));
  std::set_difference(dst.begin(), dst.end(), src.begin(), src.end(), std::inserter(only_target, only_target.end()));
  if (!only_source.empty() || !only_target.empty()) {
    return error(kSchemaMismatch, "the schemas differ: tables only in SQLite: [" + join_plain(only_source) +
                                      "], only in PostgreSQL: [" + join_plain(only_target) + "]");
  }
  std::map<std::string, std::vector<Column>> columns;
  for (const auto& t : *source_tables) {
    auto names = text_column(from, "SELECT name FROM pragma_table_info(?1)", t);
    if (!names) return names.error();
    auto cols = postgres_columns(to, t);
    if (!cols) return cols.error();
    std::set<std::string> a(names->begin(), names->end()), b;
    for (const auto& c : *cols) b.insert(c.name);
    if (a != b) {
      std::set<std::string> x, y;
      std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(x, x.end()));
      std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::inserter(y, y.end()));
      return error(kSchemaMismatch, "table " + t + ": columns only in SQLite: [" + join_plain(x) +
                                        "], only in PostgreSQL: [" + join_plain(y) + "]");
    }
    columns[t] = std::move(*cols);
  }
  auto order = copy_order(from, *source_tables);
  if (!order) return order.error();
  for (const auto& t : *order) {
    auto n = count_rows(from, t);
    if (!n) return n.error();
    report.tables.push_back({t, *n, 0});
  }

  {
    auto tx = Transaction::begin(to);
    if (!tx) return tx.error();
    // Serialises with nodes migrating this schema and with a second copy into it; under the
    // lock, the target must still be empty.
    if (auto st = to.exec(kPostgresMigrationLock); !st) return st.error();
    if (auto st = check_postgres_target_empty(to); !st) return st.error();
    for (const auto& t : report.tables) {
      if (auto st = copy_table(from, to, t.table, columns[t.table], t.source_rows, progress); !st) return st.error();
      report.rows += t.source_rows;
    }
    if (auto st = reset_identities(from, to); !st) return st.error();
    if (auto st = tx->commit(); !st) return st.error();
  }

  // Read back after the commit.
  for (auto& t : report.tables) {
    auto n = count_rows(to, t.table);
    if (!n) return n.error();
    t.target_rows = *n;
  }
  auto source_chain = verify_audit_chain(from);
  if (!source_chain) return source_chain.error();
  report.source_chain = std::move(*source_chain);
  auto target_chain = verify_audit_chain(to);
  if (!target_chain) return target_chain.error();
  report.target_chain = std::move(*target_chain);
  return report;
}

}  // namespace sb::storage
