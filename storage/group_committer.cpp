#include "storage/group_committer.hpp"

#include <algorithm>

#include "storage/cluster_store.hpp"
#include "storage/error_codes.hpp"
#include "storage/postgres/pg_batch.hpp"

namespace sb::storage {

namespace {

// The transaction's first statement comes from the engine (Database::begin_sql): SQLite's
// BEGIN IMMEDIATE takes the write lock now. On PostgreSQL a batch does not come here at all:
// it goes out pipelined (pg::run_batch), one round trip instead of five per write.
// SAVEPOINT / RELEASE / ROLLBACK TO are SQL both engines share.
constexpr const char* kCommit = "COMMIT";
constexpr const char* kRollback = "ROLLBACK";
constexpr const char* kSavepoint = "SAVEPOINT sb_op";
constexpr const char* kRelease = "RELEASE sb_op";
constexpr const char* kRollbackTo = "ROLLBACK TO sb_op";

// The SQL texts come from code, so the set is small; the cap only guards against
// a caller that formats values into SQL instead of binding them.
constexpr size_t kMaxCachedStatements = 256;

WriteOutcome failure(const Error& e) {
  WriteOutcome o;
  o.error_code = e.code;
  o.error_message = e.message;
  return o;
}

// Resets a cached statement on every exit path so it never holds a read open
// or keeps stale bindings.
struct ResetGuard {
  Statement& stmt;
  ~ResetGuard() { stmt.reset(); }
};

}  // namespace

GroupCommitter::GroupCommitter(Database& db) : db_(&db) {}

Result<Statement*> GroupCommitter::statement(const std::string& sql) {
  if (auto it = cache_.find(sql); it != cache_.end()) return &it->second;
  auto prepared = db_->prepare(sql, /*persistent=*/true);
  if (!prepared) return prepared.error();
  if (cache_.size() >= kMaxCachedStatements) cache_.clear();
  auto [it, inserted] = cache_.emplace(sql, std::move(prepared).value());
  return &it->second;
}

Status GroupCommitter::run_control(const std::string& sql) {
  auto stmt = statement(sql);
  if (!stmt) return stmt.error();
  ResetGuard guard{**stmt};
  auto row = (*stmt)->step();
  if (!row) return row.error();
  return {};
}

// SQLite has one writer at a time and this transaction holds the write lock (BEGIN
// IMMEDIATE), so no takeover can commit between this check and the op's commit.
Status GroupCommitter::check_fence(const Fence& fence) {
  auto stmt_r = statement(fence_check_sql(Engine::sqlite));
  if (!stmt_r) return stmt_r.error();
  Statement& stmt = **stmt_r;
  ResetGuard guard{stmt};
  if (auto st = stmt.bind(1, std::string_view(fence.resource)); !st) return st.error();
  if (auto st = stmt.bind(2, std::string_view(fence.holder)); !st) return st.error();
  if (auto st = stmt.bind(3, fence.epoch); !st) return st.error();
  auto row = stmt.step();
  if (!row) return row.error();
  if (!*row) return fenced_error(fence);
  return {};
}

WriteOutcome GroupCommitter::run_op(const WriteOp& op) {
  if (!op.fence.empty()) {
    if (auto st = check_fence(op.fence); !st) return failure(st.error());
  }
  auto stmt_r = statement(op.sql);
  if (!stmt_r) return failure(stmt_r.error());
  Statement& stmt = **stmt_r;
  ResetGuard guard{stmt};

  // A count mismatch is a caller bug that would otherwise bind NULLs silently.
  if (static_cast<size_t>(stmt.parameter_count()) != op.params.size()) {
    return failure(make_error("storage.param_count", "statement takes " + std::to_string(stmt.parameter_count()) +
                                                         " parameters, got " + std::to_string(op.params.size()) + ": " +
                                                         op.sql));
  }
  for (size_t i = 0; i < op.params.size(); ++i) {
    if (auto st = stmt.bind_param(static_cast<int>(i) + 1, op.params[i]); !st) {
      return failure(st.error());
    }
  }
  // Step to completion, keeping what an INSERT ... RETURNING id gives back: the ids come
  // from the op's own rows, never from connection state such as SQLite's last rowid,
  // which PostgreSQL does not have.
  WriteOutcome o;
  for (;;) {
    auto row = stmt.step();
    if (!row) return failure(row.error());
    if (!*row) break;
    if (stmt.column_count() > 0) o.returned_ids.push_back(stmt.column_int64(0));
  }
  o.ok = true;
  // changes() keeps the value of the last DML, so a read-only op must report 0.
  o.changes = stmt.read_only() ? 0 : db_->changes();
  return o;
}

void GroupCommitter::rollback_if_open() {
  if (db_->in_transaction()) (void)run_control(kRollback);
}

std::vector<WriteOutcome> GroupCommitter::commit_postgres(const std::vector<WriteOp>& ops) {
  pg::PgDatabase& pg = *db_->postgres();
  // A server that went away and came back: try one new session before failing the batch,
  // so the writer resumes by itself once the database is back.
  if (!pg.is_connected()) (void)pg.reconnect();
  std::vector<WriteOutcome> out = pg::run_batch(pg, ops);
  if (std::any_of(out.begin(), out.end(), [](const WriteOutcome& o) { return o.ok; })) ++commits_;
  return out;
}

std::vector<WriteOutcome> GroupCommitter::commit_batch(const std::vector<WriteOp>& ops) {
  std::vector<WriteOutcome> out;
  if (ops.empty()) return out;
  if (db_->postgres()) return commit_postgres(ops);
  out.reserve(ops.size());

  // A failed BEGIN opened nothing; an already open transaction is someone else's
  // (misuse) and must not be rolled back from here.
  if (auto st = run_control(db_->begin_sql(/*immediate=*/true)); !st) {
    return std::vector<WriteOutcome>(ops.size(), failure(st.error()));
  }

  for (const WriteOp& op : ops) {
    if (auto st = run_control(kSavepoint); !st) {
      out.push_back(failure(st.error()));
    } else {
      WriteOutcome o = run_op(op);
      if (o.ok) {
        if (auto rel = run_control(kRelease); !rel) o = failure(rel.error());
      } else if (db_->in_transaction()) {
        // Undo just this op; RELEASE then pops the savepoint off the stack.
        (void)run_control(kRollbackTo);
        (void)run_control(kRelease);
      }
      out.push_back(std::move(o));
    }
    // Some errors (IOERR, FULL, NOMEM) roll back the whole transaction, and a stray
    // COMMIT/ROLLBACK inside an op ends it: the batch is no longer one atomic unit
    // we can vouch for, so no op may report ok.
    if (!db_->in_transaction()) {
      const Error lost =
          make_error(out.back().ok ? "storage.batch_aborted" : out.back().error_code,
                     "batch transaction aborted: " +
                         (out.back().ok ? std::string("transaction ended by an op") : out.back().error_message));
      return std::vector<WriteOutcome>(ops.size(), failure(lost));
    }
  }

  if (auto st = run_control(kCommit); !st) {
    rollback_if_open();
    return std::vector<WriteOutcome>(ops.size(), failure(st.error()));
  }
  ++commits_;
  return out;
}

WriteOutcome GroupCommitter::commit_single(const WriteOp& op) {
  if (db_->postgres()) return commit_postgres({op}).front();
  if (auto st = run_control(db_->begin_sql(/*immediate=*/true)); !st) return failure(st.error());
  WriteOutcome o = run_op(op);
  if (!o.ok) {
    rollback_if_open();
    return o;
  }
  if (auto st = run_control(kCommit); !st) {
    rollback_if_open();
    return failure(st.error());
  }
  ++commits_;
  return o;
}

}  // namespace sb::storage
