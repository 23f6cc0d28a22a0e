#include "storage/audit_store.hpp"

#include <algorithm>
#include <limits>

#include "runtime/core/json.hpp"
#include "storage/error_codes.hpp"
#include "storage/group_committer.hpp"
#include "storage/sql_text.hpp"

namespace sb::storage {

using namespace security::audit;
namespace {

constexpr const char* kColumns = "seq, at, actor, event, subject, detail, prev_hash, hash";

ChainRecord read_row(storage::Statement& s) {
  ChainRecord r;
  r.fields.seq = s.column_int64(0);
  r.fields.at_ms = s.column_int64(1);
  r.fields.actor = s.column_text(2);
  r.fields.event = s.column_text(3);
  r.fields.subject = s.column_text(4);
  r.fields.detail = s.column_text(5);
  r.prev_hash = s.column_blob(6);
  r.hash = s.column_blob(7);
  return r;
}

}  // namespace

Result<VerifyResult> verify_database(const std::string& db_path) {
  storage::OpenOptions o;
  o.read_only = true;
  auto db = storage::Database::open(db_path, o);
  if (!db) return db.error();
  return verify_audit_chain(*db);
}

namespace {

// Records read per statement while verifying: bounds the client memory of one page.
constexpr int64_t kVerifyPage = 4096;

}  // namespace

Result<VerifyResult> verify_audit_chain(storage::Database& db) {
  // One snapshot for every page. SQLite: a deferred transaction keeps the snapshot of its
  // first read. PostgreSQL: REPEATABLE READ (READ COMMITTED would take one per statement).
  const bool own_transaction = !db.in_transaction();
  if (own_transaction) {
    const char* begin =
        db.engine() == Engine::postgres ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN DEFERRED";
    if (auto st = db.exec(begin); !st) return st.error();
  }
  struct EndRead {
    storage::Database& db;
    bool active;
    ~EndRead() {
      if (active && db.in_transaction()) (void)db.exec("ROLLBACK");  // read only: nothing to keep
    }
  } end_read{db, own_transaction};
  auto stmt = db.prepare(std::string("SELECT ") + kColumns + " FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  if (!stmt) return stmt.error();
  ChainVerifier verifier;
  int64_t after = std::numeric_limits<int64_t>::min();
  bool more = true;
  while (more) {
    stmt->reset();
    if (auto st = stmt->bind(1, after); !st) return st.error();
    if (auto st = stmt->bind(2, kVerifyPage); !st) return st.error();
    int64_t rows = 0;
    while (true) {
      auto row = stmt->step();
      if (!row) return row.error();
      if (!*row) break;
      ++rows;
      ChainRecord r = read_row(*stmt);
      after = r.fields.seq;
      if (!verifier.add(r)) {
        more = false;
        break;
      }
    }
    if (rows < kVerifyPage) more = false;
  }
  stmt->reset();
  return VerifyResult{verifier.records(), verifier.head(), verifier.fault()};
}

Result<std::optional<int64_t>> find_seq_by_hash(const std::string& db_path, const std::string& hash) {
  storage::OpenOptions o;
  o.read_only = true;
  auto db = storage::Database::open(db_path, o);
  if (!db) return db.error();
  auto stmt = db->prepare("SELECT seq FROM audit_log WHERE hash = ?1 ORDER BY seq LIMIT 1");
  if (!stmt) return stmt.error();
  if (auto st = stmt->bind_blob(1, hash); !st) return st.error();
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return std::optional<int64_t>();
  return std::optional<int64_t>(stmt->column_int64(0));
}

// Matches what json_extract(detail, '$.namespace') = ns matched on SQLite (a duplicated
// key counts by its first occurrence there and here). In C++ rather than SQL because the
// engines' JSON functions differ (json1 vs jsonb operators, and PostgreSQL fails the
// whole query on one malformed detail), and a LIKE on a JSON fragment would depend on how
// the writer spaced and escaped it.
bool detail_names_namespace(std::string_view detail, std::string_view ns) {
  rapidjson::Document doc;
  if (!json::parse(doc, detail) || !doc.IsObject()) return false;
  const auto it = doc.FindMember("namespace");
  return it != doc.MemberEnd() && it->value.IsString() && json::view(it->value) == ns;
}

namespace {

// Rows read per statement while a namespace filter skips records: bounds the memory of one
// read on either engine (a PostgreSQL result is held whole on the client).
constexpr int64_t kFilterPage = 512;

}  // namespace

Result<std::vector<ChainRecord>> query_records(storage::Database& db, const AuditQuery& q) {
  const auto limit = static_cast<int64_t>(std::clamp<size_t>(q.limit, 1, kMaxQueryLimit));
  // Oldest first from `after`, or newest first from the end (reversed at the end). Pages
  // continue by seq (keyset), so every page is one indexed range read; without a filter
  // the first page is the answer.
  const bool forward = q.after.has_value();
  const std::string sql = std::string("SELECT ") + kColumns + " FROM audit_log WHERE seq " + (forward ? ">" : "<") +
                          " ?1 ORDER BY seq " + (forward ? "ASC" : "DESC") + " LIMIT ?2";
  auto stmt = db.prepare(sql);
  if (!stmt) return stmt.error();
  const int64_t page = q.namespace_name ? kFilterPage : limit;
  int64_t from = forward ? *q.after : std::numeric_limits<int64_t>::max();
  std::vector<ChainRecord> out;
  while (static_cast<int64_t>(out.size()) < limit) {
    stmt->reset();
    if (auto st = stmt->bind(1, from); !st) return st.error();
    if (auto st = stmt->bind(2, page); !st) return st.error();
    int64_t rows = 0;
    while (static_cast<int64_t>(out.size()) < limit) {
      auto row = stmt->step();
      if (!row) return row.error();
      if (!*row) break;
      ++rows;
      ChainRecord r = read_row(*stmt);
      from = r.fields.seq;
      if (!q.namespace_name || detail_names_namespace(r.fields.detail, *q.namespace_name)) out.push_back(std::move(r));
    }
    if (rows < page) break;  // the log has no more rows (or the answer is complete)
  }
  stmt->reset();
  if (!forward) std::reverse(out.begin(), out.end());
  return out;
}

Result<std::optional<AuditHead>> read_audit_head(storage::Database& db) {
  auto stmt = db.prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return std::optional<AuditHead>{};
  return std::optional<AuditHead>(AuditHead{stmt->column_int64(0), stmt->column_blob(1)});
}

storage::WriteOp append_audit_record(const ChainRecord& r) {
  return {
      "INSERT INTO audit_log(seq, at, actor, event, subject, detail, prev_hash, hash) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
      {SqlParam::of(r.fields.seq), SqlParam::of(r.fields.at_ms), SqlParam::of(r.fields.actor),
       SqlParam::of(r.fields.event), SqlParam::of(r.fields.subject), SqlParam::of(r.fields.detail),
       SqlParam::blob_of(r.prev_hash), SqlParam::blob_of(r.hash)}};
}

storage::WriteOp writer_barrier() {
  return {"SELECT 1", {}};
}

storage::WriteOp append_audit_records(const std::vector<ChainRecord>& records) {
  storage::WriteOp op;
  op.sql = "INSERT INTO audit_log(seq, at, actor, event, subject, detail, prev_hash, hash) VALUES";
  op.params.reserve(records.size() * 8);
  for (size_t i = 0; i < records.size(); ++i) {
    const ChainRecord& r = records[i];
    op.sql += (i == 0 ? "(" : ",(") + numbered_placeholders(static_cast<int>(i * 8) + 1, 8) + ")";
    for (auto& p : {SqlParam::of(r.fields.seq), SqlParam::of(r.fields.at_ms), SqlParam::of(r.fields.actor),
                    SqlParam::of(r.fields.event), SqlParam::of(r.fields.subject), SqlParam::of(r.fields.detail),
                    SqlParam::blob_of(r.prev_hash), SqlParam::blob_of(r.hash)})
      op.params.push_back(p);
  }
  return op;
}

Status append_audit_now(storage::Database& db, const AuditRecord& record, int64_t at_ms) {
  GroupCommitter committer(db);
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto head = read_audit_head(db);
    if (!head) return head.error();
    const int64_t seq = *head ? (**head).seq + 1 : 1;
    const std::string prev = *head ? (**head).hash : std::string();
    security::audit::RecordFields fields{seq, at_ms, record.actor, record.event, record.subject, record.detail};
    std::string hash = security::audit::chain_hash(prev, fields);
    auto out = committer.commit_single(append_audit_record({std::move(fields), prev, std::move(hash)}));
    if (out.ok) return {};
    if (out.error_code != kConstraintViolation) return make_error(out.error_code, out.error_message);
  }
  return make_error("audit.contended", "the audit log's head kept moving; record not appended");
}

}  // namespace sb::storage
