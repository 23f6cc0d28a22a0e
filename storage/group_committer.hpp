#pragma once
// The pure core of group commit, with no actor inside: the database writer actor
// collects WriteOps from many senders and hands them here as one batch, so a
// whole batch costs one fsync instead of one per write.
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/sql_value.hpp"
#include "storage/sqlite.hpp"

namespace sb::storage {

class GroupCommitter {
 public:
  // `db` must outlive the committer; use one committer per connection.
  explicit GroupCommitter(Database& db);

  // Runs all ops in ONE transaction (BEGIN IMMEDIATE ... COMMIT). Each op runs
  // inside its own SAVEPOINT, so a failing op (e.g. a duplicate inbound message
  // hitting the UNIQUE key) is undone alone while the others commit. On PostgreSQL the
  // batch is pipelined (pg::run_batch) with the same contract: a failing op is left out.
  // A fenced op (WriteOp::fence) first checks its lease in the same transaction and
  // savepoint; a stale one fails the op alone with "cluster.fenced" (error_codes.hpp).
  // Result i belongs to ops[i]. ok == true means committed and, with
  // synchronous=FULL, on disk. If the transaction as a whole fails (BEGIN or
  // COMMIT fails, or SQLite aborts it) every outcome reports the failure.
  std::vector<WriteOutcome> commit_batch(const std::vector<WriteOp>& ops);

  // One transaction for one write: the reference group commit is measured against.
  WriteOutcome commit_single(const WriteOp& op);

  // Number of transactions committed successfully.
  uint64_t commits() const { return commits_; }

 private:
  // Statement for `sql`, prepared once and reused (reset between uses).
  Result<Statement*> statement(const std::string& sql);
  Status run_control(const std::string& sql);  // BEGIN/COMMIT/SAVEPOINT...
  WriteOutcome run_op(const WriteOp& op);      // expects an open transaction
  Status check_fence(const Fence& fence);      // SQLite; expects an open transaction
  void rollback_if_open();
  std::vector<WriteOutcome> commit_postgres(const std::vector<WriteOp>& ops);

  Database* db_;
  std::unordered_map<std::string, Statement> cache_;
  uint64_t commits_ = 0;
};

}  // namespace sb::storage
