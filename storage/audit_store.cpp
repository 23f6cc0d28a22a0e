#include "storage/audit_store.hpp"

#include <algorithm>

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
  auto stmt = db->prepare(std::string("SELECT ") + kColumns + " FROM audit_log ORDER BY seq");
  if (!stmt) return stmt.error();
  ChainVerifier verifier;
  while (true) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    if (!verifier.add(read_row(*stmt))) break;
  }
  return VerifyResult{verifier.records(), verifier.head(), verifier.fault()};
}

Result<std::optional<int64_t>> find_seq_by_hash(const std::string& db_path, const std::string& hash) {
  storage::OpenOptions o;
  o.read_only = true;
  auto db = storage::Database::open(db_path, o);
  if (!db) return db.error();
  auto stmt = db->prepare("SELECT seq FROM audit_log WHERE hash = ? ORDER BY seq LIMIT 1");
  if (!stmt) return stmt.error();
  if (auto st = stmt->bind_blob(1, hash); !st) return st.error();
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return std::optional<int64_t>();
  return std::optional<int64_t>(stmt->column_int64(0));
}

Result<std::vector<ChainRecord>> query_records(storage::Database& db, const AuditQuery& q) {
  const auto limit = static_cast<int64_t>(std::clamp<size_t>(q.limit, 1, kMaxQueryLimit));
  std::string where = " WHERE 1";
  if (q.after) where += " AND seq > :after";
  // json_extract on a non-JSON detail would fail the whole query: guard it per row.
  if (q.namespace_name) where += " AND CASE WHEN json_valid(detail) THEN json_extract(detail, '$.namespace') END = :ns";
  std::string sql;
  if (q.after) {
    sql = std::string("SELECT ") + kColumns + " FROM audit_log" + where + " ORDER BY seq LIMIT :limit";
  } else {
    sql = std::string("SELECT * FROM (SELECT ") + kColumns + " FROM audit_log" + where +
          " ORDER BY seq DESC LIMIT :limit) ORDER BY seq";
  }
  auto stmt = db.prepare(sql);
  if (!stmt) return stmt.error();
  int idx = 1;
  if (q.after)
    if (auto st = stmt->bind(idx++, *q.after); !st) return st.error();
  if (q.namespace_name)
    if (auto st = stmt->bind(idx++, std::string_view(*q.namespace_name)); !st) return st.error();
  if (auto st = stmt->bind(idx, limit); !st) return st.error();
  std::vector<ChainRecord> out;
  while (true) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(read_row(*stmt));
  }
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
      "VALUES(?,?,?,?,?,?,?,?)",
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
    op.sql += i == 0 ? "(?,?,?,?,?,?,?,?)" : ",(?,?,?,?,?,?,?,?)";
    for (auto& p : {SqlParam::of(r.fields.seq), SqlParam::of(r.fields.at_ms), SqlParam::of(r.fields.actor),
                    SqlParam::of(r.fields.event), SqlParam::of(r.fields.subject), SqlParam::of(r.fields.detail),
                    SqlParam::blob_of(r.prev_hash), SqlParam::blob_of(r.hash)})
      op.params.push_back(p);
  }
  return op;
}

}  // namespace sb::storage
